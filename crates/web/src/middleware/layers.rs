//! tower-http layers of the whole router: gzip for text responses, and a panicking handler
//! turned into a 500 page instead of a dropped connection.

use std::any::Any;

use axum::body::Body;
use axum::http::{Extensions, HeaderMap, HeaderValue, Response, StatusCode, Version, header};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{Predicate, SizeAbove};

use crate::i18n::Lang;

/// Responses smaller than this gain nothing from gzip.
const MIN_COMPRESSED_BYTES: u16 = 256;

/// Gzip for pages, JSON, CSS, JS and CSV when the client accepts it. Downloads that are
/// already compressed (PDF, xlsx and docx, images, ZIP) are sent as they are: their content
/// type is not text.
pub fn compression() -> CompressionLayer<impl Predicate> {
    CompressionLayer::new()
        .gzip(true)
        .compress_when(SizeAbove::new(MIN_COMPRESSED_BYTES).and(is_text))
}

fn is_text(_: StatusCode, _: Version, headers: &HeaderMap, _: &Extensions) -> bool {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type.starts_with("application/javascript")
        || content_type.starts_with("image/svg+xml");
    // A stream is flushed event by event; gzip would hold the events back.
    text && !content_type.starts_with("text/event-stream")
}

/// What turns a caught panic into a response.
pub type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response<Body>;

/// A handler that panics answers a 500 error page; the process keeps serving the others.
pub fn catch_panic() -> CatchPanicLayer<PanicHandler> {
    CatchPanicLayer::custom(panic_page as PanicHandler)
}

/// The page of a panic: self-contained, since whatever panicked (a template, the store) must
/// not be needed to say so. The request is gone by now, so it is in the default language.
fn panic_page(panic: Box<dyn Any + Send + 'static>) -> Response<Body> {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    tracing::error!(panic = %detail, "handler panicked");
    let lang = Lang::default();
    let title = lang.t("error.internal_title");
    let message = lang.t("error.internal");
    let html = format!(
        "<!doctype html>\n<html lang=\"vi\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         </head><body><main><h1>{title}</h1><p role=\"alert\">{message}</p>\
         <p><a href=\"/\">parindex</a></p></main></body></html>\n"
    );
    let mut response = Response::new(Body::from(html));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    async fn send(router: &Router, path: &str, gzip: bool) -> Response<Body> {
        let mut request = Request::get(path);
        if gzip {
            request = request.header(header::ACCEPT_ENCODING, "gzip");
        }
        router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn encoding(response: &Response<Body>) -> Option<&str> {
        response
            .headers()
            .get(header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
    }

    #[tokio::test]
    async fn text_is_gzipped_downloads_are_not() {
        let page = "<p>Sở Tư pháp</p>".repeat(100);
        let router = Router::new()
            .route(
                "/page",
                get(move || async move { axum::response::Html(page) }),
            )
            .route(
                "/report.xlsx",
                get(|| async {
                    (
                        [(
                            header::CONTENT_TYPE,
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        )],
                        vec![b'P'; 4096],
                    )
                }),
            )
            .layer(compression());
        assert_eq!(encoding(&send(&router, "/page", true).await), Some("gzip"));
        assert_eq!(encoding(&send(&router, "/page", false).await), None);
        assert_eq!(encoding(&send(&router, "/report.xlsx", true).await), None);
    }

    #[tokio::test]
    async fn a_panic_is_a_500_page_and_serving_goes_on() {
        async fn boom() -> &'static str {
            panic!("bug in a handler")
        }
        let router = Router::new()
            .route("/boom", get(boom))
            .route("/ok", get(|| async { "ok" }))
            .layer(catch_panic());
        let response = send(&router, "/boom", false).await;
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains(Lang::default().t("error.internal_title")),
            "{body}"
        );
        for _ in 0..2 {
            assert_eq!(send(&router, "/ok", false).await.status(), StatusCode::OK);
        }
    }
}
