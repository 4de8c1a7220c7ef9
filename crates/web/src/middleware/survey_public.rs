//! The respondent pages (`/s/{token}`) carry a secret in their path: these layers keep it out
//! of referrers, search engines and the request log.

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// Respondent pages carry their token in the path: no referrer may leave them, and search
/// engines are asked not to index them. Runs outside the general security headers.
pub async fn public_headers(request: Request, next: Next) -> Response {
    let public = is_public_path(request.uri().path());
    let mut response = next.run(request).await;
    if public {
        let h = response.headers_mut();
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    response
}

fn is_public_path(path: &str) -> bool {
    path.starts_with("/s/")
}

/// The request span of the trace layer, with respondent tokens cut out of the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactedSpan;

impl<B> tower_http::trace::MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> tracing::Span {
        let path = request.uri().path();
        let uri = if is_public_path(path) {
            "/s/[redacted]".to_owned()
        } else {
            request.uri().to_string()
        };
        tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %uri,
            version = ?request.version(),
        )
    }
}
