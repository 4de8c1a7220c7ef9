//! The external values' handlers: parse, call one use case, render.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_app::external::ImportPreview;

use super::forms::{DirectForm, OkQuery, read_import};
use super::views::{PeriodRow, PeriodsPage, PreviewPage, matrix_page};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::app_error::{caller, problems_text};

/// The periods to enter external values for.
pub async fn periods(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let periods = state.external_periods(&caller(&user)?).await?;
    render(&PeriodsPage {
        p: Page::for_user(&state, &user, "external.title"),
        periods: periods
            .into_iter()
            .map(|(p, stage)| PeriodRow {
                id: p.id,
                name: p.name,
                stage: stage.map(|s| s.label_vi()).unwrap_or_default(),
            })
            .collect(),
    })
}

/// The matrix of units × external leaves with values, provenance and direct-entry forms.
pub async fn matrix(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(period_id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let matrix = state.external_matrix(&caller(&user)?, period_id).await?;
    let mut p = Page::for_user(&state, &user, "external.title").with_notice(q.ok.as_deref());
    p.title = format!("{} — {}", p.title, matrix.period.name);
    render(&matrix_page(p, matrix))
}

/// A refusal of checked values: every problem, in the user's language.
fn problems(user: &CurrentUser, err: AppError) -> WebError {
    match err {
        AppError::Invalid { message, fields } if !fields.is_empty() => {
            let joined = problems_text(user.ctx.lang, &fields);
            WebError::BadRequest(user.ctx.lang.message(&message.arg("problems", joined)))
        }
        other => other.into(),
    }
}

/// Saves one value typed on the matrix page.
pub async fn save_direct(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<DirectForm>,
) -> Result<Response, WebError> {
    state
        .save_external_value(
            &caller(&user)?,
            period_id,
            unit_id,
            &code,
            &form.points,
            &form.note,
        )
        .await
        .map_err(|e| problems(&user, e))?;
    Ok(Redirect::to(&format!("/periods/{period_id}/external?ok=saved")).into_response())
}

/// Receives a file, checks every row and shows the preview; nothing is saved here. A clean
/// file is kept as a pending import until the user confirms.
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(period_id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let caller = caller(&user)?;
    let period = state.check_external_import(&caller, period_id).await?;
    let lang = user.ctx.lang;
    let page = Page::for_user(&state, &user, "external.preview_title");
    let id = (period_id, period.name);
    let file = match read_import(lang, &mut multipart).await {
        Ok(Some(file)) => file,
        Ok(None) => {
            let message = lang.t("external.no_file").to_owned();
            let refused = PreviewPage::refused(page, id, String::new(), message);
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &refused);
        }
        Err((status, name, message)) => {
            return render_status(status, &PreviewPage::refused(page, id, name, message));
        }
    };
    let checked = state
        .preview_external_import(&caller, period_id, &file.name, &file.bytes)
        .await;
    preview(page, id, file.name, checked)
}

/// The preview of a checked file (422 when a row has a problem), or why it was not read.
fn preview(
    page: Page,
    id: (i64, String),
    file_name: String,
    checked: Result<ImportPreview, AppError>,
) -> Result<Response, WebError> {
    match checked {
        Ok(preview) => {
            let status = if preview.bad == 0 {
                StatusCode::OK
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render_status(status, &PreviewPage::checked(page, id, file_name, preview))
        }
        Err(AppError::Invalid { message, .. }) => {
            let message = page.lang.message(&message);
            let refused = PreviewPage::refused(page, id, file_name, message);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &refused)
        }
        Err(e) => Err(e.into()),
    }
}

/// Saves a checked import: every row in one transaction, or nothing.
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, token)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    state
        .confirm_external_import(&caller(&user)?, period_id, token)
        .await
        .map_err(|e| problems(&user, e))?;
    Ok(Redirect::to(&format!("/periods/{period_id}/external?ok=imported")).into_response())
}
