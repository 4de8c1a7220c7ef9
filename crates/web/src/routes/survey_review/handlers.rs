//! The handlers of the survey review: parse, call one use case, render.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};

use super::forms::{OkQuery, ReasonForm};
use super::views::{QualityPage, ReportPage, ScoresPage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::routes::render;

/// `GET /periods/{id}/survey/scores`.
pub async fn scores(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let results = state.survey_results(&user.actor()?, id).await?;
    render(&ScoresPage::new(&state, &user, results))
}

/// `GET /periods/{id}/survey/report`.
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let results = state.survey_results(&user.actor()?, id).await?;
    render(&ReportPage::new(&state, &user, results))
}

/// `GET /periods/{id}/survey/report.xlsx`: the same figures as a workbook.
pub async fn report_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let province = state.config.province_name.clone();
    let bytes = state
        .survey_report_xlsx(&user.actor()?, id, &province)
        .await?;
    let disposition = format!("attachment; filename=\"dieu-tra-xhh-ky-{id}.xlsx\"");
    let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let headers = [
        (header::CONTENT_TYPE, xlsx.to_owned()),
        (header::CONTENT_DISPOSITION, disposition),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        (header::CACHE_CONTROL, "private, no-store".to_owned()),
    ];
    Ok((headers, bytes).into_response())
}

/// `GET /periods/{id}/survey/quality`.
pub async fn quality(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let report = state.survey_quality(&user.actor()?, id).await?;
    render(&QualityPage::new(&state, &user, report, q.ok.as_deref()))
}

/// `POST /survey-responses/{rid}/exclude`: leaves the response out of every score.
pub async fn exclude(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(rid): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let period_id = state
        .exclude_survey_response(&user.actor()?, &user.audit_actor(), rid, &form.reason)
        .await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/survey/quality?ok=saved")).into_response())
}

/// `POST /survey-responses/{rid}/include`: counts an excluded response again.
pub async fn include(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(rid): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    let period_id = state
        .include_survey_response(&user.actor()?, &user.audit_actor(), rid, &form.reason)
        .await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/survey/quality?ok=saved")).into_response())
}
