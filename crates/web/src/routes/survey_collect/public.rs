//! The public form behind a link (`/s/{token}`): no login. Vietnamese first, like the paper
//! form it replaces.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use parindex_app::survey_collect::{LinkForm, LinkRefusal, LinkSave};

use super::forms::{PublicAction, PublicQuery};
use super::views::{PublicForm, PublicMessage, blocks};
use crate::AppState;
use crate::auth::RequestCtx;
use crate::error::WebError;
use crate::extract::{FormList, Path, Query};
use crate::routes::render_status;

/// The page that says why a link cannot be answered (or thanks the respondent).
fn message(state: &AppState, ctx: &RequestCtx, status: StatusCode, key: &'static str) -> Response {
    let page = PublicMessage {
        lang: ctx.lang,
        province: state.config.province_name.clone(),
        title: ctx.lang.t(&format!("survey_collect.{key}_title")),
        message: ctx.lang.t(&format!("survey_collect.{key}_text")),
        testid: key,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

fn refused(state: &AppState, ctx: &RequestCtx, refusal: LinkRefusal) -> Response {
    let (status, key) = match refusal {
        LinkRefusal::Invalid => (StatusCode::NOT_FOUND, "invalid"),
        LinkRefusal::Used => (StatusCode::GONE, "used"),
        LinkRefusal::Closed => (StatusCode::GONE, "closed"),
        LinkRefusal::NotYet => (StatusCode::FORBIDDEN, "not_yet"),
    };
    message(state, ctx, status, key)
}

/// `GET /s/{token}`: the form, with the answers saved so far.
pub async fn form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    Query(query): Query<PublicQuery>,
) -> Result<Response, WebError> {
    let (open, answers) = match state.survey_link_form(&token).await? {
        LinkForm::Open { open, answers } => (open, answers),
        LinkForm::Refused(refusal) => return Ok(refused(&state, &ctx, refusal)),
    };
    let blocks = blocks(&open.survey.doc, &open.units, &answers, false);
    let page = PublicForm::new(
        &state,
        &ctx,
        &open.survey,
        blocks,
        Vec::new(),
        query.saved.is_some(),
    );
    render_status(StatusCode::OK, &page)
}

/// `POST /s/{token}`: saves a draft ("Lưu để làm tiếp") or submits ("Gửi phiếu": every
/// question answered for every unit).
pub async fn save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    let submit = PublicAction::of(&fields).map(|a| a == PublicAction::Submit);
    let outcome = state.save_survey_link(&token, &fields, submit).await?;
    match outcome {
        LinkSave::Saved => Ok(Redirect::to(&format!("/s/{token}?saved=1")).into_response()),
        LinkSave::Submitted => Ok(message(&state, &ctx, StatusCode::OK, "thanks")),
        LinkSave::Refused(refusal) => Ok(refused(&state, &ctx, refusal)),
        LinkSave::Problems {
            open,
            answers,
            problems,
            missing,
        } => {
            let errors = problems.iter().map(|m| ctx.lang.message(m)).collect();
            let blocks = blocks(&open.survey.doc, &open.units, &answers, missing);
            let page = PublicForm::new(&state, &ctx, &open.survey, blocks, errors, false);
            render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
    }
}
