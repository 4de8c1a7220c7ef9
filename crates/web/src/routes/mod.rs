//! The router: every route of the application, grouped by area, and the middleware stack.

pub mod account;
pub mod api;
pub mod appraisal;
pub mod assets;
pub mod audit;
pub mod evidence;
pub mod external;
pub mod health;
pub mod home;
pub mod index_sets;
pub mod notifications;
pub mod periods;
pub mod public;
pub mod results;
pub mod self_assessment;
pub mod survey_collect;
pub mod survey_import;
pub mod survey_review;
pub mod survey_setup;
pub mod units;
pub mod users;
pub mod workflow;

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::auth::RequestCtx;
use crate::error::WebError;
use crate::page::Page;

/// All routes with their middleware. Layers run outside-in: request id, trace, timeout,
/// security headers, body limit, then the session layer (which also checks CSRF).
pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(home::show))
        .route("/login", get(account::login_page).post(account::login))
        .route("/logout", post(account::logout))
        .route("/locale/{code}", get(account::set_locale))
        .route("/account", get(account::show))
        .route(
            "/account/password",
            get(account::password_page).post(account::change_password),
        )
        .route("/account/role", post(account::switch_role))
        .route("/account/logout-all", post(account::logout_all))
        .route("/units", get(units::list).post(units::create))
        .route("/units/new", get(units::new_form))
        .route(
            "/units/import",
            get(units::import_page).post(units::import_upload),
        )
        .route(
            "/units/import/{stash_id}/confirm",
            post(units::import_confirm),
        )
        .route("/units/{id}", get(units::show).post(units::update))
        .route("/units/{id}/edit", get(units::edit_form))
        .route("/units/{id}/deactivate", post(units::deactivate))
        .route("/units/{id}/reactivate", post(units::reactivate))
        .route("/unit-groups", get(units::groups).post(units::create_group))
        .route("/users", get(users::list).post(users::create))
        .route("/users/new", get(users::new_form))
        .route("/users/{id}", get(users::show))
        .route("/users/{id}/roles", post(users::grant_role))
        .route(
            "/users/{id}/roles/{grant_id}/delete",
            post(users::revoke_role),
        )
        .route("/users/{id}/reset-password", post(users::reset_password))
        .route("/users/{id}/disable", post(users::disable))
        .route("/users/{id}/enable", post(users::enable))
        .route("/audit", get(audit::list))
        .route("/periods", get(periods::list).post(periods::create))
        .route("/periods/{id}", get(periods::show))
        .route("/periods/{id}/board.xlsx", get(periods::board_xlsx))
        .route("/results", get(results::periods))
        .route("/periods/{id}/ranking", get(results::ranking))
        .route("/periods/{id}/ranking.xlsx", get(results::ranking_xlsx))
        .route("/periods/{id}/ranking.pdf", get(results::ranking_pdf))
        .route("/periods/{id}/matrix", get(results::matrix))
        .route(
            "/periods/{id}/units/{unit_id}/scorecard",
            get(results::unit_scorecard),
        )
        .route(
            "/periods/{id}/units/{unit_id}/scorecard.pdf",
            get(results::unit_scorecard_pdf),
        )
        .route("/periods/{id}/results.csv", get(results::results_csv))
        .route("/periods/{id}/results.json", get(results::results_json))
        .route("/public", get(public::index))
        .route("/public/periods/{id}", get(public::period))
        .route("/public/periods/{id}/units/{unit_id}", get(public::unit))
        .route("/public/periods/{id}/results.csv", get(public::results_csv))
        .route(
            "/public/periods/{id}/results.json",
            get(public::results_json),
        )
        .route("/periods/{id}/survey/scores", get(survey_review::scores))
        .route("/periods/{id}/survey/report", get(survey_review::report))
        .route(
            "/periods/{id}/survey/report.xlsx",
            get(survey_review::report_xlsx),
        )
        .route("/periods/{id}/survey/quality", get(survey_review::quality))
        .route(
            "/survey-responses/{rid}/exclude",
            post(survey_review::exclude),
        )
        .route(
            "/survey-responses/{rid}/include",
            post(survey_review::include),
        )
        .route(
            "/periods/{id}/units/{unit_id}/extension",
            post(periods::extension),
        )
        .route(
            "/periods/{id}/units/{unit_id}/reopen",
            post(periods::reopen),
        )
        .route(
            "/periods/{id}/units/{unit_id}/sheet",
            get(self_assessment::show),
        )
        .route(
            "/periods/{id}/units/{unit_id}/leaves/{code}",
            post(self_assessment::save_leaf),
        )
        .route(
            "/periods/{id}/units/{unit_id}/submit",
            post(self_assessment::submit),
        )
        .route(
            "/periods/{id}/units/{unit_id}/report/{format}",
            get(self_assessment::report),
        )
        .route("/self-assessment", get(self_assessment::mine))
        .route("/appraisal", get(appraisal::worklist))
        .route(
            "/periods/{id}/units/{unit_id}/appraisal",
            get(appraisal::show),
        )
        .route(
            "/periods/{id}/units/{unit_id}/appraisal/{code}",
            post(appraisal::save),
        )
        .route(
            "/periods/{id}/units/{unit_id}/adjustments",
            post(appraisal::add_adjustment),
        )
        .route(
            "/periods/{id}/units/{unit_id}/adjustments/{adj_id}/remove",
            post(appraisal::remove_adjustment),
        )
        .route(
            "/periods/{id}/units/{unit_id}/explanation",
            get(appraisal::explanation),
        )
        .route(
            "/periods/{id}/units/{unit_id}/explanation/submit",
            post(appraisal::submit_explanations),
        )
        .route(
            "/periods/{id}/units/{unit_id}/explanation/{code}",
            post(appraisal::save_explanation),
        )
        .route(
            "/periods/{id}/units/{unit_id}/leaves/{code}/comments",
            post(appraisal::comment),
        )
        .route(
            "/periods/{id}/units/{unit_id}/history",
            get(appraisal::history),
        )
        .route(
            "/periods/{id}/units/{unit_id}/leaves/{code}/cite",
            post(evidence::cite),
        )
        .route(
            "/periods/{id}/units/{unit_id}/citations/{citation_id}/delete",
            post(evidence::uncite),
        )
        .route("/evidence/{id}", get(evidence::download))
        .route("/external", get(external::periods))
        .route("/periods/{id}/external", get(external::matrix))
        .route(
            "/periods/{id}/external/import/{token}/confirm",
            post(external::confirm),
        )
        .route(
            "/periods/{id}/external/{unit_id}/{code}",
            post(external::save_direct),
        )
        .route("/questionnaires/{qid}/import", get(survey_import::show))
        .route(
            "/questionnaires/{qid}/import/{sha256}/start",
            post(survey_import::start),
        )
        .route("/import-jobs/{id}", get(survey_import::job))
        .route("/notifications", get(notifications::list))
        .route("/notifications/read-all", post(notifications::read_all))
        .route("/notifications/{id}/read", post(notifications::read))
        .route(
            "/periods/{id}/assignments",
            get(workflow::assignments).post(workflow::assign),
        )
        .route(
            "/periods/{id}/assignments/{assignment_id}/remove",
            post(workflow::unassign),
        )
        .route("/periods/{id}/stage", post(workflow::change_stage))
        .route(
            "/periods/{id}/explanation-deadline",
            post(workflow::explanation_deadline),
        )
        .route(
            "/periods/{id}/units/{unit_id}/explanation-extension",
            post(workflow::explanation_extension),
        )
        .route("/periods/{id}/results", get(workflow::results))
        .route("/periods/{id}/decision.pdf", get(workflow::decision_pdf))
        .route("/periods/{id}/publish", post(workflow::publish))
        .route(
            "/periods/{id}/units/{unit_id}/corrections",
            post(workflow::correct),
        )
        .route(
            "/periods/{id}/units/{unit_id}/corrections/{code}",
            post(workflow::correct_leaf),
        )
        .route(
            "/periods/{id}/units/{unit_id}/republish",
            post(workflow::republish),
        )
        .route("/survey", get(survey_setup::periods))
        .route("/periods/{id}/survey", get(survey_setup::show))
        .route(
            "/periods/{id}/survey/settings",
            post(survey_setup::save_settings),
        )
        .route(
            "/periods/{id}/survey/groups",
            post(survey_setup::save_group),
        )
        .route(
            "/periods/{id}/survey/questionnaires",
            post(survey_setup::create_questionnaire),
        )
        .route(
            "/questionnaires/{qid}",
            get(survey_setup::questionnaire).post(survey_setup::update_questionnaire),
        )
        .route(
            "/questionnaires/{qid}/questions",
            post(survey_setup::add_question),
        )
        .route(
            "/questionnaires/{qid}/questions/{code}/remove",
            post(survey_setup::remove_question),
        )
        .route(
            "/questionnaires/{qid}/status",
            post(survey_setup::set_status),
        )
        .route(
            "/questionnaires/{qid}/new-version",
            post(survey_setup::new_version),
        )
        .route("/questionnaires/{qid}/print", get(survey_setup::print))
        .route(
            "/index-sets",
            get(index_sets::list).post(index_sets::create),
        )
        .route("/index-sets/import", post(index_sets::import))
        .route("/index-sets/shipped", post(index_sets::load_shipped))
        .route("/index-sets/format", get(index_sets::format_doc))
        .route("/index-sets/diff", get(index_sets::diff))
        .route("/index-sets/{id}", get(index_sets::show))
        .route("/index-sets/{id}/publish", post(index_sets::publish))
        .route("/index-sets/{id}/clone", post(index_sets::clone))
        .route("/index-sets/{id}/delete", post(index_sets::delete))
        .route("/index-sets/{id}/mapping", post(index_sets::save_mapping))
        .route("/index-sets/{id}/nodes", post(index_sets::node_add))
        .route(
            "/index-sets/{id}/meta",
            get(index_sets::meta_form).post(index_sets::meta_save),
        )
        .route(
            "/index-sets/{id}/adjustments",
            post(index_sets::adjustment_add),
        )
        .route(
            "/index-sets/{id}/adjustments/{code}/delete",
            post(index_sets::adjustment_delete),
        )
        .route(
            "/index-sets/{id}/nodes/{code}",
            get(index_sets::node_form).post(index_sets::node_save),
        )
        .route(
            "/index-sets/{id}/nodes/{code}/delete",
            post(index_sets::node_delete),
        )
        .route("/index-sets/{id}/export/{format}", get(index_sets::export))
        .route(
            "/questionnaires/{qid}/links",
            get(survey_collect::links).post(survey_collect::generate),
        )
        .route(
            "/questionnaires/{qid}/paper",
            get(survey_collect::paper).post(survey_collect::paper_save),
        )
        .route(
            "/questionnaires/{qid}/paper/mismatches",
            get(survey_collect::mismatches),
        )
        .route(
            "/s/{token}",
            get(survey_collect::public_form).post(survey_collect::public_save),
        )
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware::session_layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ));

    // Evidence uploads: a body as large as the configured file limit, and a long timeout, since a
    // 100 MB file over an office link takes minutes; everything else keeps the short one.
    let uploads = Router::new()
        .route(
            "/periods/{id}/units/{unit_id}/leaves/{code}/evidence",
            post(evidence::upload),
        )
        .route("/periods/{id}/external/import", post(external::import))
        .route(
            "/periods/{id}/units/{unit_id}/explanation/{code}/evidence",
            post(appraisal::upload_evidence),
        )
        .route("/periods/{id}/decision", post(workflow::decision))
        .route("/questionnaires/{qid}/import", post(survey_import::upload))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::auth::middleware::session_layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            usize::try_from(state.config.max_upload_bytes)
                .unwrap_or(usize::MAX)
                .saturating_add(1024 * 1024),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            state.config.upload_timeout.max(Duration::from_secs(1)),
        ));
    let pages = pages.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        state.config.request_timeout.max(Duration::from_secs(1)),
    ));

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/{file}", get(assets::serve))
        .route("/survey.css", get(survey_collect::stylesheet))
        .route("/api/v1/openapi.json", get(api::openapi))
        .route("/api/v1/periods", get(api::periods))
        .route("/api/v1/periods/{id}/results", get(api::period_results))
        .route("/api/v1/index-sets", get(api::index_sets))
        .route("/api/v1/index-sets/{id}", get(api::index_set))
        .merge(uploads)
        .merge(pages)
        .layer(axum::middleware::from_fn(crate::json_refusals::layer))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::headers_layer,
        ))
        .layer(axum::middleware::from_fn(survey_collect::public_headers))
        .layer(TraceLayer::new_for_http().make_span_with(survey_collect::RedactedSpan))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> WebError {
    WebError::NotFound
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    p: Page,
    message: String,
}

/// Renders an error as a page in the user's language, keeping its status.
pub fn render_error(state: &AppState, ctx: &RequestCtx, err: &WebError) -> Response {
    let title_key = match err {
        WebError::NotFound => "error.not_found_title",
        WebError::Forbidden | WebError::ForbiddenBecause(_) => "error.forbidden_title",
        WebError::Csrf => "error.csrf_title",
        WebError::Conflict(_) => "error.conflict_title",
        WebError::TooManyRequests(_) => "error.too_many_title",
        WebError::Internal(_) => "error.internal_title",
        WebError::Unavailable(_) => "error.unavailable_title",
        WebError::StorageFull(_) => "error.storage_full_title",
        _ => "error.bad_request_title",
    };
    let page = ErrorPage {
        p: Page::anonymous(state, ctx, title_key),
        message: err.message(ctx.lang),
    };
    let mut response = match page.render() {
        Ok(html) => (err.status(), Html(html)).into_response(),
        Err(_) => (err.status(), err.message(ctx.lang)).into_response(),
    };
    err.add_headers(response.headers_mut());
    response
}

/// Renders a template into a 200 page, or an internal error.
pub fn render<T: Template>(template: &T) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with another status (a form with errors answers 422, not 200).
pub fn render_status<T: Template>(status: StatusCode, template: &T) -> Result<Response, WebError> {
    Ok((status, Html(template.render()?)).into_response())
}
