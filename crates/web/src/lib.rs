//! The HTTP face of parindex: the axum router, thin handlers grouped by area, server-side
//! sessions and CSRF, templates, translations and static assets.
//!
//! A request flows: security headers → session loading → CSRF check → handler (parse,
//! authorize with `parindex_domain::authz`, call the store, render).

pub mod auth;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod evaluation;
pub mod extract;
pub mod guard;
pub mod i18n;
pub mod json_refusals;
pub mod maintenance;
pub mod notify;
pub mod page;
pub mod password;
pub mod results;
pub mod routes;
pub mod security;
pub mod server;
pub mod shipped;
pub mod survey_jobs;
pub mod survey_scoring;

use std::sync::Arc;

pub use config::WebConfig;
pub use error::WebError;
use parindex_store::Store;

/// Everything a handler needs, shared by all requests.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<WebConfig>,
    /// Where evidence files live: a local folder or an S3 bucket.
    pub evidence: Arc<parindex_store::evidence::EvidenceStore>,
    /// Published index sets, parsed once (they never change).
    pub sets: Arc<evaluation::SetCache>,
    /// Survey scores per period, recomputed when the survey's data changes.
    pub survey: Arc<survey_scoring::SurveyCache>,
    /// Progress of the survey import jobs running in this process.
    pub jobs: Arc<survey_jobs::JobProgress>,
    /// Results per period, recomputed when the period's data changes.
    pub results: Arc<results::ResultsCache>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn new(
        store: Store,
        config: WebConfig,
        evidence: parindex_store::evidence::EvidenceStore,
    ) -> Self {
        AppState {
            store,
            config: Arc::new(config),
            evidence: Arc::new(evidence),
            sets: Arc::default(),
            survey: Arc::default(),
            jobs: Arc::default(),
            results: Arc::default(),
        }
    }
}

/// Builds the whole application: routes plus the middleware stack.
pub fn app(state: AppState) -> axum::Router {
    routes::router(state)
}

/// Serves `app` on `listener` with the default [`server::ServerLimits`] until `shutdown`
/// resolves, then lets requests in flight finish (within the shutdown deadline).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, server::ServerLimits::default(), shutdown).await
}

/// [`serve`] with explicit timeouts and limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: AppState,
    limits: server::ServerLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, app(state), limits, shutdown).await
}
