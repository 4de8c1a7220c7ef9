//! The sheet's handlers: parse, call one use case, render.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use parindex_app::AppError;
use parindex_app::sheet::{SheetReport, Submission};

use super::forms::{self, OkQuery, ReportFormat};
use super::views::{conflict_text, refused_json, saved_json, sheet_page};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::routes::{render, render_status};
use crate::views::app_error::{caller, on_page};

/// Where a unit user starts: their newest period's sheet.
pub async fn mine(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let target = match state.my_sheet(&caller(&user)?).await {
        Ok(Some((period_id, unit_id))) => format!("/periods/{period_id}/units/{unit_id}/sheet"),
        Ok(None) => "/periods".to_owned(),
        Err(AppError::Invalid { message, .. }) => {
            return Err(WebError::BadRequest(user.ctx.lang.message(&message)));
        }
        Err(e) => return Err(e.into()),
    };
    Ok(Redirect::to(&target).into_response())
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let sheet = state
        .load_sheet(&caller(&user)?, period_id, unit_id)
        .await?;
    render(&sheet_page(
        &state,
        &user,
        &sheet,
        q.ok.as_deref(),
        None,
        None,
    ))
}

/// Saves one leaf (the use case checks the role, the window, the rule's input and the
/// version); answers JSON to the autosave script, a redirect or the sheet with its error to a
/// plain form.
pub async fn save_leaf(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    let caller = caller(&user)?;
    let json_reply = forms::wants_json(&headers);
    let save = forms::leaf_save(period_id, unit_id, code.clone(), fields);
    match state.save_leaf(&caller, save).await {
        Ok(saved) if json_reply => {
            let sheet = state.load_sheet(&caller, period_id, unit_id).await?;
            Ok(Json(saved_json(user.ctx.lang, &sheet, &code, &saved)).into_response())
        }
        Ok(_) => Ok(Redirect::to(&format!(
            "/periods/{period_id}/units/{unit_id}/sheet?ok=saved#leaf-{code}"
        ))
        .into_response()),
        Err(err) => save_refused(&state, &user, (period_id, unit_id, &code), json_reply, err).await,
    }
}

/// A refused save: the message (after a conflict, with what the other officer saved), as
/// JSON or on the sheet.
async fn save_refused(
    state: &AppState,
    user: &CurrentUser,
    (period_id, unit_id, code): (i64, i64, &str),
    json_reply: bool,
    err: AppError,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let caller = caller(user)?;
    let conflict = matches!(err, AppError::Conflict { .. });
    let (status, mut message) = on_page(lang, err)?;
    let current = if conflict {
        let current = state
            .current_leaf(&caller, period_id, unit_id, code)
            .await?;
        message = conflict_text(lang, current.as_ref());
        current
    } else {
        None
    };
    if json_reply {
        return Ok((status, Json(refused_json(lang, &message, current.as_ref()))).into_response());
    }
    let sheet = state.load_sheet(&caller, period_id, unit_id).await?;
    let error = Some(format!("{code}: {message}"));
    render_status(status, &sheet_page(state, user, &sheet, None, error, None))
}

/// The unit head approves and submits (chốt điểm tự chấm), once everything is there.
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let caller = caller(&user)?;
    let (status, message, missing) = match state
        .submit_self_assessment(&caller, period_id, unit_id)
        .await
    {
        Ok(Submission::Submitted) => {
            let to = format!("/periods/{period_id}/units/{unit_id}/sheet?ok=submitted");
            return Ok(Redirect::to(&to).into_response());
        }
        Ok(Submission::Incomplete(missing)) => {
            let message = user.ctx.lang.t("sheet.incomplete").to_owned();
            (StatusCode::UNPROCESSABLE_ENTITY, message, Some(missing))
        }
        Err(AppError::Forbidden(Some(reason))) => {
            (StatusCode::FORBIDDEN, user.ctx.lang.message(&reason), None)
        }
        Err(e) => return Err(e.into()),
    };
    let sheet = state.load_sheet(&caller, period_id, unit_id).await?;
    render_status(
        status,
        &sheet_page(&state, &user, &sheet, None, Some(message), missing),
    )
}

/// Downloads the self-assessment report as Excel (`xlsx`) or PDF (`pdf`).
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, format)): Path<(i64, i64, String)>,
) -> Result<Response, WebError> {
    let province = state.config.province_name.clone();
    let SheetReport { stem, report } = state
        .self_assessment_report(&caller(&user)?, period_id, unit_id, &province)
        .await?;
    let internal = |e: &dyn std::fmt::Display| WebError::Internal(e.to_string());
    let (bytes, content_type, ext) = match ReportFormat::parse(&format) {
        Some(ReportFormat::Xlsx) => (
            parindex_formats::report::write_report_xlsx(&report).map_err(|e| internal(&e))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        // Typesetting is CPU work: keep it off the async workers.
        Some(ReportFormat::Pdf) => (
            tokio::task::spawn_blocking(move || {
                parindex_formats::report::write_report_pdf(&report)
            })
            .await
            .map_err(|e| internal(&e))?
            .map_err(|e| internal(&e))?,
            "application/pdf",
            "pdf",
        ),
        None => return Err(WebError::NotFound),
    };
    let disposition = format!("attachment; filename=\"{}.{ext}\"", stem);
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
