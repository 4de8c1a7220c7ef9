//! Liveness and readiness probes for load balancers and operators.

use crate::routes::table::Routes;

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use parindex_store::Readiness;

use crate::AppState;

/// How long `/readyz` may take: a probe must answer within 2 s, even during an outage.
const READY_DEADLINE: Duration = Duration::from_millis(1500);

/// The process is up.
pub async fn healthz() -> &'static str {
    "ok"
}

/// A write can happen now: a write transaction starts (and, on SQLite, finds room) within
/// 1.5 s. Otherwise 503, so a load balancer stops sending users to an instance that would
/// refuse their saves.
pub async fn readyz(State(state): State<AppState>) -> Response {
    match state.readiness(READY_DEADLINE).await {
        Readiness::Ready => (StatusCode::OK, "ready").into_response(),
        Readiness::StorageFull => {
            tracing::warn!("readyz: storage full");
            (StatusCode::SERVICE_UNAVAILABLE, "storage full").into_response()
        }
        Readiness::Unavailable(reason) => {
            tracing::warn!(%reason, "readyz: database unavailable");
            let mut response =
                (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(crate::error::RETRY_AFTER_SECONDS),
            );
            response
        }
    }
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .open_get("/healthz", healthz)
        .open_get("/readyz", readyz)
}
