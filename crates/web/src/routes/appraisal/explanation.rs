//! The unit's side of the appraisal: the explanation round (answers and their submission)
//! and the comment threads. Parse, call one use case, render.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_app::evidence::LeafRef;

use super::forms::{Back, CommentForm, ExplanationForm, OkQuery};
use super::views::explanation_page;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::routes::{render, render_status};
use crate::views::app_error::{caller, on_page};

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let sheet = state
        .load_explanation(&caller(&user)?, period_id, unit_id, true)
        .await?;
    render(&explanation_page(
        &state,
        &user,
        &sheet,
        q.ok.as_deref(),
        None,
    ))
}

/// The explanation page again with a refusal the user can act on.
async fn rerender(
    state: &AppState,
    user: &CurrentUser,
    (period_id, unit_id): (i64, i64),
    leaf: Option<&str>,
    err: AppError,
) -> Result<Response, WebError> {
    let (status, message) = on_page(user.ctx.lang, err)?;
    let message = match leaf {
        Some(code) => format!("{code}: {message}"),
        None => message,
    };
    let sheet = state
        .load_explanation(&caller(user)?, period_id, unit_id, false)
        .await?;
    render_status(
        status,
        &explanation_page(state, user, &sheet, None, Some(message)),
    )
}

pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<ExplanationForm>,
) -> Result<Response, WebError> {
    let version = form.version.trim().parse::<i64>().ok();
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    match state
        .save_explanation(&caller(&user)?, &leaf, version, &form.response)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/periods/{period_id}/units/{unit_id}/explanation?ok=saved#leaf-{}",
            leaf.code
        ))
        .into_response()),
        Err(err) => rerender(&state, &user, (period_id, unit_id), Some(&leaf.code), err).await,
    }
}

/// The unit head submits the round's explanations, once every flagged leaf has an answer.
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    match state
        .submit_explanations(&caller(&user)?, period_id, unit_id)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/periods/{period_id}/units/{unit_id}/explanation?ok=saved"
        ))
        .into_response()),
        Err(err) => rerender(&state, &user, (period_id, unit_id), None, err).await,
    }
}

/// Adds a message to a leaf's thread and goes back to the page it was written on.
pub async fn comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, WebError> {
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    state.comment(&caller(&user)?, &leaf, &form.body).await?;
    let page = match form.back {
        Back::Explanation => "explanation",
        Back::Appraisal => "appraisal",
    };
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/{page}?ok=saved#leaf-{}",
        leaf.code
    ))
    .into_response())
}
