//! The HTTP face of parindex: the axum router, thin handlers grouped by area, server-side
//! sessions and CSRF, templates, translations and static assets.
//!
//! A request flows: security headers → session loading → CSRF check → handler (parse, call
//! one use case of `parindex_app`, render).

pub mod auth;
pub mod client_ip;
pub mod config;
pub mod error;
pub mod extract;
pub mod guard;
pub mod i18n;
pub mod json_refusals;
pub mod page;
pub mod routes;
pub mod security;
pub mod server;
pub mod views;

use std::sync::Arc;

pub use config::WebConfig;
pub use error::WebError;
use parindex_app::App;
use parindex_store::Store;

/// Everything a handler needs, shared by all requests: the application (use cases, the
/// store behind them, caches) and the web settings. It derefs to [`App`].
#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub config: Arc<WebConfig>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("app", &self.app)
            .finish_non_exhaustive()
    }
}

impl std::ops::Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}

impl AppState {
    pub fn new(
        store: Store,
        config: WebConfig,
        evidence: parindex_store::evidence::EvidenceStore,
    ) -> Self {
        AppState::from_app(App::new(store, evidence), config)
    }

    pub fn from_app(app: App, config: WebConfig) -> Self {
        AppState {
            app,
            config: Arc::new(config),
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
