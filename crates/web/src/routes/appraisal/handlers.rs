//! The appraiser's handlers: the worklist, a unit's appraisal page, saving an appraised value,
//! bonus and penalty items, and a leaf's history. Parse, call one use case, render.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;

use super::forms::{AdjustmentForm, HistoryQuery, OkQuery, RemoveForm, appraisal_save};
use super::views::{WorklistPage, appraisal_page, history_page, work_period};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::app_error::{caller, on_page};

/// The logged-in appraiser's worklist: every (unit, leaf) pair assigned to them, by period.
pub async fn worklist(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let periods = state.worklist(&caller(&user)?).await?;
    render(&WorklistPage {
        p: Page::for_user(&state, &user, "appraisal.worklist_title"),
        periods: periods.into_iter().map(work_period).collect(),
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let sheet = state
        .load_appraisal(&caller(&user)?, period_id, unit_id, true)
        .await?;
    render(&appraisal_page(
        &state,
        &user,
        &sheet,
        q.ok.as_deref(),
        None,
    ))
}

/// The appraisal page again with a refusal the user can act on (prefixed by the leaf when
/// it concerns one); other errors stay errors.
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
        .load_appraisal(&caller(user)?, period_id, unit_id, false)
        .await?;
    render_status(
        status,
        &appraisal_page(state, user, &sheet, None, Some(message)),
    )
}

/// Saves an appraised value of the open round (the same use case as the sheet's save).
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    let save = appraisal_save(period_id, unit_id, code.clone(), fields);
    match state.save_leaf(&caller(&user)?, save).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/periods/{period_id}/units/{unit_id}/appraisal?ok=saved#leaf-{code}"
        ))
        .into_response()),
        Err(err) => rerender(&state, &user, (period_id, unit_id), Some(&code), err).await,
    }
}

fn adjustments_url(period_id: i64, unit_id: i64) -> String {
    format!("/periods/{period_id}/units/{unit_id}/appraisal?ok=saved#adjustments")
}

pub async fn add_adjustment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<AdjustmentForm>,
) -> Result<Response, WebError> {
    let input = form.input()?;
    match state
        .add_unit_adjustment(&caller(&user)?, period_id, unit_id, &input)
        .await
    {
        Ok(()) => Ok(Redirect::to(&adjustments_url(period_id, unit_id)).into_response()),
        Err(err) => rerender(&state, &user, (period_id, unit_id), None, err).await,
    }
}

pub async fn remove_adjustment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, id)): Path<(i64, i64, i64)>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, WebError> {
    match state
        .remove_adjustment(&caller(&user)?, period_id, unit_id, id, &form.reason)
        .await
    {
        Ok(()) => Ok(Redirect::to(&adjustments_url(period_id, unit_id)).into_response()),
        Err(err) => rerender(&state, &user, (period_id, unit_id), None, err).await,
    }
}

pub async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, WebError> {
    let history = state
        .leaf_history(&caller(&user)?, period_id, unit_id, q.leaf.as_deref())
        .await?;
    render(&history_page(&state, &user, history))
}
