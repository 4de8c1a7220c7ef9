//! Handlers of the periods area: parse, call one use case, render.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;

use super::forms::{BoardQuery, ExtensionForm, PeriodForm, ReopenForm};
use super::views::{ListPage, ShowPage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::acting::acting;
use crate::views::notice::OkQuery;

/// The refusals a page shows in place (with the status they answer); others go to the
/// error page.
fn shown_on_page(err: AppError, user: &CurrentUser) -> Result<(StatusCode, String), WebError> {
    let lang = user.ctx.lang;
    match err {
        AppError::Invalid { message, .. } | AppError::Conflict { message, .. } => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, lang.message(&message)))
        }
        AppError::Forbidden(Some(reason)) => Ok((StatusCode::FORBIDDEN, lang.message(&reason))),
        other => Err(other.into()),
    }
}

/// The board page again with the reason a change was refused.
async fn board_refusal(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    err: AppError,
) -> Result<Response, WebError> {
    let (status, message) = shown_on_page(err, user)?;
    let board = state.period_board(&acting(user)?, id, "", "").await?;
    let p = Page::for_user(state, user, "periods.show_title");
    render_status(status, &ShowPage::new(p, board, "", Some(message)))
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let data = state.period_list(&acting(&user)?).await?;
    let p = Page::for_user(&state, &user, "periods.title").with_notice(q.ok.as_deref());
    render(&ListPage::new(p, data, None))
}

/// Creates a period; a refusal shows the list again with the reason.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<PeriodForm>,
) -> Result<Response, WebError> {
    let by = acting(&user)?;
    match state.create_period(&by, &form.input()).await {
        Ok(created) => {
            let notice = if created.skipped.is_empty() {
                String::new()
            } else {
                let codes = crate::page::url_encode(&created.skipped.join(","));
                format!("&skipped={codes}")
            };
            let to = format!("/periods/{}?ok=created{notice}", created.period_id);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => {
            let (status, message) = shown_on_page(err, &user)?;
            let data = state.period_list(&by).await?;
            let p = Page::for_user(&state, &user, "periods.title");
            render_status(status, &ListPage::new(p, data, Some(message)))
        }
    }
}

/// The progress board: every unit with its stage, % complete, last activity and submission.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, WebError> {
    let board = state
        .period_board(&acting(&user)?, id, &q.group, &q.skipped)
        .await?;
    let p = Page::for_user(&state, &user, "periods.show_title").with_notice(q.ok.as_deref());
    render(&ShowPage::new(p, board, &q.group, None))
}

/// Grants a unit an extension to a date, with a reason (an empty date withdraws it).
pub async fn extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ExtensionForm>,
) -> Result<Response, WebError> {
    let by = acting(&user)?;
    match state
        .extend_self_assessment(&by, id, unit_id, &form.until, &form.reason)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response()),
        Err(err) => board_refusal(&state, &user, id, err).await,
    }
}

/// Reopens a unit's submitted self-assessment (or, once published, its result for a
/// correction), with a reason (audited).
pub async fn reopen(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ReopenForm>,
) -> Result<Response, WebError> {
    let by = acting(&user)?;
    match state.reopen_unit(&by, id, unit_id, &form.reason).await {
        Ok(true) => Ok(
            Redirect::to(&format!("/periods/{id}/results?ok=reopened#unit-{unit_id}"))
                .into_response(),
        ),
        Ok(false) => Ok(Redirect::to(&format!("/periods/{id}?ok=reopened")).into_response()),
        Err(err) => board_refusal(&state, &user, id, err).await,
    }
}

/// The progress board as an Excel workbook (same filter as the page).
pub async fn board_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<BoardQuery>,
) -> Result<Response, WebError> {
    let board = state
        .period_board(&acting(&user)?, id, &q.group, "")
        .await?;
    let bytes = super::export::progress_workbook(&state, &board, user.ctx.lang)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"tien-do-ky-{id}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
