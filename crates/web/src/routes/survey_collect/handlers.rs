//! The operators' handlers of the survey collection (links, paper entry): parse, call one use
//! case, render.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_app::error::Message;
use parindex_app::survey_collect::PaperSave;
use parindex_domain::survey::ResponseAnswers;

use super::forms::{EntryNo, GenerateForm, LinkFormat, PaperQuery, paper_input};
use super::views::{
    LinksPage, MismatchPage, PaperPage, PaperState, PrintPage, link_urls, links_csv,
};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, FormList, Path, Query};
use crate::routes::{render, render_status};

/// `GET /questionnaires/{qid}/links`.
pub async fn links(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    let links = state.survey_links(&user.actor()?, qid).await?;
    render(&LinksPage::new(
        &state,
        &user,
        links,
        &GenerateForm::default(),
        Vec::new(),
    ))
}

/// `POST /questionnaires/{qid}/links`: generates a batch of links. The tokens exist only in
/// this response: a printable page with a QR code per link, or a CSV attachment.
pub async fn generate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Result<Response, WebError> {
    let actor = user.actor()?;
    let more = match form.format {
        LinkFormat::Unknown => vec![Message::key("survey_collect.bad_format")],
        LinkFormat::Page | LinkFormat::Csv => Vec::new(),
    };
    let generated = state
        .generate_survey_links(&actor, &user.audit_actor(), qid, &form.request(), more)
        .await;
    let links = match generated {
        Ok(links) => links,
        Err(AppError::Invalid { fields, .. }) => {
            let errors = fields
                .iter()
                .map(|f| user.ctx.lang.message(&f.message))
                .collect();
            let overview = state.survey_links(&actor, qid).await?;
            let page = LinksPage::new(&state, &user, overview, &form, errors);
            return render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(other) => return Err(other.into()),
    };
    let urls = link_urls(&state, &headers, &links);
    if form.format == LinkFormat::Csv {
        return Ok(links_csv(&links, &urls));
    }
    render(&PrintPage::new(&state, &user, links, urls))
}

/// `GET /questionnaires/{qid}/paper`.
pub async fn paper(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Query(query): Query<PaperQuery>,
) -> Result<Response, WebError> {
    let entry = state.paper_entry(&user.actor()?, qid).await?;
    let entry_no = query.entry.unwrap_or(EntryNo::First).number();
    let done = query.done.map(|r| {
        user.ctx.lang.format(
            "survey_collect.paper_done",
            &[("paper_ref", r), ("entry_no", entry_no.to_owned())],
        )
    });
    let form = PaperState {
        answers: ResponseAnswers::default(),
        paper_ref: String::new(),
        entry_no: entry_no.to_owned(),
        errors: Vec::new(),
        done,
    };
    render(&PaperPage::new(&state, &user, entry, form))
}

/// `POST /questionnaires/{qid}/paper`: one keyed paper form.
pub async fn paper_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    let input = paper_input(fields);
    let saved = state
        .save_paper_form(&user.actor()?, &user.audit_actor(), qid, &input)
        .await?;
    let (entry, answers, problems, duplicate) = match saved {
        PaperSave::Saved {
            paper_ref,
            entry_no,
        } => {
            let done = crate::page::url_encode(&paper_ref);
            let to = format!("/questionnaires/{qid}/paper?done={done}&entry={entry_no}");
            return Ok(Redirect::to(&to).into_response());
        }
        PaperSave::Refused {
            entry,
            answers,
            problems,
            duplicate,
        } => (entry, answers, problems, duplicate),
    };
    let form = PaperState {
        answers,
        paper_ref: input.paper_ref,
        entry_no: input.entry_no,
        errors: problems.iter().map(|m| user.ctx.lang.message(m)).collect(),
        done: None,
    };
    let status = if duplicate {
        StatusCode::CONFLICT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(status, &PaperPage::new(&state, &user, *entry, form))
}

/// `GET /questionnaires/{qid}/paper/mismatches`: the double-entry report.
pub async fn mismatches(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    let report = state.paper_mismatches(&user.actor()?, qid).await?;
    render(&MismatchPage::new(&state, &user, report))
}
