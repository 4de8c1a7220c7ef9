//! Handlers of assignments and stage changes: parse, call one use case, render.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::workflow::StageOutcome;

use super::forms::{AssignForm, DeadlineForm, ExplanationExtensionForm, StageForm};
use super::views::{AssignmentsPage, OverridePage, PendingPage, WaitingRow, override_heading};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, FormList, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::acting::acting;
use crate::views::notice::OkQuery;

/// The assignments of a period, the appraisers' workload, and the bulk assignment form.
pub async fn assignments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let data = state.assignments(&acting(&user)?, id).await?;
    let p =
        Page::for_user(&state, &user, "workflow.assignments_title").with_notice(q.ok.as_deref());
    render(&AssignmentsPage::new(p, data, Vec::new(), Vec::new()))
}

/// Bulk assignment: nothing is saved when the form names something wrong (the page lists
/// why); pairs left out automatically are listed on the page after saving.
pub async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    let by = acting(&user)?;
    let AssignForm(input) = AssignForm::from_pairs(fields);
    let outcome = state.assign(&by, id, &input).await?;
    if outcome.errors.is_empty() && outcome.skipped.is_empty() {
        return Ok(Redirect::to(&format!("/periods/{id}/assignments?ok=saved")).into_response());
    }
    let lang = user.ctx.lang;
    let errors: Vec<String> = outcome.errors.iter().map(|m| lang.message(m)).collect();
    let skipped = outcome.skipped.iter().map(|m| lang.message(m)).collect();
    let data = state.assignments(&by, id).await?;
    let saved = errors.is_empty();
    let p = Page::for_user(&state, &user, "workflow.assignments_title")
        .with_notice(saved.then_some("saved"));
    let page = AssignmentsPage::new(p, data, errors, skipped);
    if saved {
        render(&page)
    } else {
        render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
    }
}

/// Removes one assignment.
pub async fn unassign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, assignment_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    state.unassign(&acting(&user)?, id, assignment_id).await?;
    Ok(Redirect::to(&format!("/periods/{id}/assignments?ok=deleted")).into_response())
}

/// Moves the period to its next stage, if the guard allows; a round that cannot close lists
/// every pending item, and a guard that may be overridden asks for a reason.
pub async fn change_stage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<StageForm>,
) -> Result<Response, WebError> {
    match state
        .change_stage(&acting(&user)?, id, &form.change())
        .await?
    {
        StageOutcome::Moved => Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response()),
        StageOutcome::Pending {
            period,
            message,
            items,
        } => {
            let p = Page::for_user(&state, &user, "workflow.pending_title");
            let page = PendingPage {
                p,
                period,
                message,
                pending: items,
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        StageOutcome::NeedsOverride {
            period,
            guard,
            message,
            units,
            error,
        } => {
            let heading = override_heading(guard);
            let page = OverridePage {
                p: Page::for_user(&state, &user, heading),
                period,
                heading,
                message,
                units: units
                    .into_iter()
                    .map(|u| WaitingRow {
                        code: u.code,
                        name: u.name,
                        deadline: u.deadline.unwrap_or_default(),
                    })
                    .collect(),
                action: form.action.value(),
                explanation_due: form.explanation_due.clone(),
                error: error.map(|m| user.ctx.lang.message(&m)),
            };
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}

/// Sets or extends the deadline of the explanation round.
pub async fn explanation_deadline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DeadlineForm>,
) -> Result<Response, WebError> {
    state
        .set_explanation_deadline(&acting(&user)?, id, &form.due)
        .await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}

/// Grants one unit more time to answer the open explanation round (an empty date withdraws
/// the extension).
pub async fn explanation_extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ExplanationExtensionForm>,
) -> Result<Response, WebError> {
    state
        .extend_explanation(&acting(&user)?, id, unit_id, &form.until, &form.reason)
        .await
        .map_err(|e| WebError::from_app(e, user.ctx.lang))?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}
