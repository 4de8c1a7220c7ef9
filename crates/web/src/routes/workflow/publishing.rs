//! Handlers of the results, the decision, publication and corrections: parse, call one use
//! case, render.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;

use super::forms::{CorrectionForm, read_decision};
use super::views::ResultsPage;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::Page;
use crate::routes::render;
use crate::views::acting::acting;
use crate::views::notice::OkQuery;

/// The results of every unit: provisional until published, then the published snapshot, with
/// every publication of the unit kept as history.
pub async fn results(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let data = state.period_results(&acting(&user)?, id).await?;
    let p = Page::for_user(&state, &user, "workflow.results_title").with_notice(q.ok.as_deref());
    render(&ResultsPage::new(p, data, None))
}

/// Records the approval decision (number, date, signed PDF) and moves the period to approved.
pub async fn decision(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let by = acting(&user)?;
    let lang = user.ctx.lang;
    // Refused before the file is read, so a refused decision stores nothing.
    state
        .may_record_decision(&by, id)
        .await
        .map_err(|e| WebError::from_app(e, lang))?;
    let max_bytes = state.config.max_upload_bytes;
    let input = read_decision(&state, &mut multipart, max_bytes, lang).await?;
    state
        .record_decision(&by, id, input)
        .await
        .map_err(|e| WebError::from_app(e, lang))?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=saved")).into_response())
}

/// The signed decision PDF, with safe headers.
pub async fn decision_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let download = state.decision_pdf(&acting(&user)?, id).await?;
    let stream = download.stream.map_err(std::io::Error::other);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_LENGTH, download.size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quyet-dinh-ky-{id}.pdf\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Publishes every unit's result, freezes the period and tells everyone concerned.
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    state.publish(&acting(&user)?, id).await?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=published")).into_response())
}

/// A corrected leaf value of a reopened unit (code in the path).
pub async fn correct_leaf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, WebError> {
    save_correction(&state, &user, id, unit_id, &code, &form).await
}

/// A corrected leaf value of a reopened unit (code in the form, for the plain HTML form).
pub async fn correct(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, WebError> {
    let code = form.code.trim().to_owned();
    save_correction(&state, &user, id, unit_id, &code, &form).await
}

async fn save_correction(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    unit_id: i64,
    code: &str,
    form: &CorrectionForm,
) -> Result<Response, WebError> {
    state
        .correct_leaf(&acting(user)?, id, unit_id, code, &form.input())
        .await
        .map_err(|e| WebError::from_app(e, user.ctx.lang))?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=saved#unit-{unit_id}")).into_response())
}

/// Publishes a reopened unit again (a new publication; the earlier one stays).
pub async fn republish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    state.republish(&acting(&user)?, id, unit_id).await?;
    Ok(Redirect::to(&format!(
        "/periods/{id}/results?ok=published#unit-{unit_id}"
    ))
    .into_response())
}
