//! The handlers of the survey setup: parse, call one use case, render. A refused change shows
//! its page again with the message.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;

use super::forms::{
    GroupForm, OkOnly, PeriodQuery, QuestionForm, SettingsForm, StatusForm, TitleUnitsForm,
};
use super::views::{PeriodPage, PeriodsPage, PrintPage, QuestionnairePage, Refusal};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, FormList, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};

fn to_period(id: i64) -> Response {
    Redirect::to(&format!("/periods/{id}/survey?ok=saved")).into_response()
}

fn to_questionnaire(qid: i64, ok: &str) -> Response {
    Redirect::to(&format!("/questionnaires/{qid}?ok={ok}")).into_response()
}

/// `GET /survey`.
pub async fn periods(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let periods = state.survey_periods(&user.actor()?).await?;
    render(&PeriodsPage {
        p: Page::for_user(&state, &user, "survey_setup.title"),
        periods,
    })
}

/// `GET /periods/{id}/survey`.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, WebError> {
    let overview = state.survey_setup(&user.actor()?, id).await?;
    render(&PeriodPage::new(&state, &user, overview, &q, None))
}

/// Answers a change of the period's setup: to the page on success; on a refusal the page
/// again, with the message, as 422.
async fn period_outcome(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    outcome: Result<Response, AppError>,
) -> Result<Response, WebError> {
    let message = match outcome {
        Ok(response) => return Ok(response),
        Err(AppError::Invalid { message, .. } | AppError::Conflict { message, .. }) => message,
        Err(other) => return Err(other.into()),
    };
    let error = Some(user.ctx.lang.message(&message));
    let overview = state.survey_setup(&user.actor()?, id).await?;
    let page = PeriodPage::new(state, user, overview, &PeriodQuery::default(), error);
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

/// `POST /periods/{id}/survey/settings`.
pub async fn save_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, WebError> {
    let saved = state
        .save_survey_settings(&user.actor()?, &user.audit_actor(), id, &form.input())
        .await;
    period_outcome(&state, &user, id, saved.map(|()| to_period(id))).await
}

/// `POST /periods/{id}/survey/groups`.
pub async fn save_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<GroupForm>,
) -> Result<Response, WebError> {
    let saved = state
        .save_survey_group(&user.actor()?, &user.audit_actor(), id, &form.input())
        .await;
    period_outcome(&state, &user, id, saved.map(|()| to_period(id))).await
}

/// `POST /periods/{id}/survey/questionnaires`.
pub async fn create_questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormList(form): FormList,
) -> Result<Response, WebError> {
    let form = TitleUnitsForm::of(&form);
    let created = state
        .create_questionnaire(
            &user.actor()?,
            &user.audit_actor(),
            id,
            &form.group,
            &form.input,
        )
        .await;
    let outcome = created.map(|qid| to_questionnaire(qid, "created"));
    period_outcome(&state, &user, id, outcome).await
}

/// `GET /questionnaires/{qid}`.
pub async fn questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Query(q): Query<OkOnly>,
) -> Result<Response, WebError> {
    let setup = state.questionnaire_setup(&user.actor()?, qid).await?;
    let page = QuestionnairePage::new(&state, &user, setup, q.ok.as_deref(), Refusal::default());
    render(&page)
}

/// Answers a change of a questionnaire: to its page on success; on a refusal the page again
/// with the message and its problems (422, or 409 when someone changed it first).
async fn questionnaire_outcome(
    state: &AppState,
    user: &CurrentUser,
    qid: i64,
    outcome: Result<Response, AppError>,
    draft: Option<QuestionForm>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let (status, message, fields) = match outcome {
        Ok(response) => return Ok(response),
        Err(AppError::Invalid { message, fields }) => {
            (StatusCode::UNPROCESSABLE_ENTITY, message, fields)
        }
        Err(AppError::Conflict { message, .. }) => (StatusCode::CONFLICT, message, Vec::new()),
        Err(other) => return Err(other.into()),
    };
    let refusal = Refusal {
        error: Some(lang.message(&message)),
        problems: fields.iter().map(|f| lang.message(&f.message)).collect(),
        draft,
    };
    let setup = state.questionnaire_setup(&user.actor()?, qid).await?;
    render_status(
        status,
        &QuestionnairePage::new(state, user, setup, None, refusal),
    )
}

/// `POST /questionnaires/{qid}: title and units.
pub async fn update_questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    FormList(form): FormList,
) -> Result<Response, WebError> {
    let form = TitleUnitsForm::of(&form);
    let saved = state
        .update_questionnaire(&user.actor()?, &user.audit_actor(), qid, &form.input)
        .await;
    let outcome = saved.map(|()| to_questionnaire(qid, "saved"));
    questionnaire_outcome(&state, &user, qid, outcome, None).await
}

/// `POST /questionnaires/{qid}/questions`.
pub async fn add_question(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Form(form): Form<QuestionForm>,
) -> Result<Response, WebError> {
    let saved = state
        .add_question(&user.actor()?, &user.audit_actor(), qid, &form.input())
        .await;
    let outcome = saved.map(|()| to_questionnaire(qid, "saved"));
    questionnaire_outcome(&state, &user, qid, outcome, Some(form)).await
}

/// `POST /questionnaires/{qid}/questions/{code}/remove`.
pub async fn remove_question(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((qid, code)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let saved = state
        .remove_question(&user.actor()?, &user.audit_actor(), qid, &code)
        .await;
    let outcome = saved.map(|()| to_questionnaire(qid, "saved"));
    questionnaire_outcome(&state, &user, qid, outcome, None).await
}

/// `POST /questionnaires/{qid}/status`: open, close or reopen.
pub async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, WebError> {
    let saved = state
        .set_questionnaire_status(&user.actor()?, &user.audit_actor(), qid, form.change())
        .await;
    let outcome = saved.map(|()| to_questionnaire(qid, "saved"));
    questionnaire_outcome(&state, &user, qid, outcome, None).await
}

/// `POST /questionnaires/{qid}/new-version`.
pub async fn new_version(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    let new_id = state
        .new_questionnaire_version(&user.actor()?, &user.audit_actor(), qid)
        .await?;
    Ok(to_questionnaire(new_id, "created"))
}

/// `GET /questionnaires/{qid}/print`.
pub async fn print(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    let setup = state.questionnaire_setup(&user.actor()?, qid).await?;
    render(&PrintPage::new(&state, &user, setup))
}
