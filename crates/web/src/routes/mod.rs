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
pub mod table;
pub mod units;
pub mod users;
pub mod workflow;

use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::AppState;
use crate::error::WebError;
use table::Routes;

/// Every route of every area, with its list (see [`table::Routes`]).
pub fn all() -> Routes {
    Routes::new()
        .merge(home::router())
        .merge(account::router())
        .merge(units::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(periods::router())
        .merge(results::router())
        .merge(public::router())
        .merge(survey_review::router())
        .merge(self_assessment::router())
        .merge(appraisal::router())
        .merge(evidence::router())
        .merge(external::router())
        .merge(survey_import::router())
        .merge(notifications::router())
        .merge(workflow::router())
        .merge(survey_setup::router())
        .merge(index_sets::router())
        .merge(survey_collect::router())
        .merge(health::router())
        .merge(assets::router())
        .merge(api::router())
}

/// All routes with their middleware. Layers run outside-in: request id, trace, gzip, security
/// headers, catch-panic, timeout, body limit, then the session layer (which also checks CSRF).
pub fn router(state: AppState) -> Router {
    let (pages, uploads, open) = all().into_routers();
    let pages = pages
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::session::session_layer,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ));

    // Evidence uploads: a body as large as the configured file limit, and a long timeout, since a
    // 100 MB file over an office link takes minutes; everything else keeps the short one.
    let uploads = uploads
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::middleware::session::session_layer,
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

    open.merge(uploads)
        .merge(pages)
        .layer(crate::middleware::layers::catch_panic())
        .layer(axum::middleware::from_fn(crate::json_refusals::layer))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::security::headers_layer,
        ))
        .layer(axum::middleware::from_fn(
            crate::middleware::survey_public::public_headers,
        ))
        .layer(crate::middleware::layers::compression())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(crate::middleware::survey_public::RedactedSpan),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

async fn not_found() -> WebError {
    WebError::NotFound
}

pub use crate::error::render_error;

/// Renders a template into a 200 page, or an internal error.
pub fn render<T: Template>(template: &T) -> Result<Response, WebError> {
    Ok(Html(template.render()?).into_response())
}

/// Renders a template with another status (a form with errors answers 422, not 200).
pub fn render_status<T: Template>(status: StatusCode, template: &T) -> Result<Response, WebError> {
    Ok((status, Html(template.render()?)).into_response())
}
