//! A refusal asked for as JSON is answered as JSON even where the handler re-renders its form.
//!
//! Most refusals go through `WebError` or the extractors, which already answer JSON to an
//! `Accept: application/json` request. The forms that re-render themselves with their errors
//! (login, password change, units, users, periods, ...) answer HTML; this layer turns such a
//! 4xx page into `{"ok": false, "error": …, "fields": […]}` with the page's own Vietnamese
//! message (the `role="alert"` paragraph) and its field errors, keeping the status and the
//! other headers (`Retry-After`).

use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// A re-rendered form page is small; a larger body is passed on untouched.
const MAX_PAGE_BYTES: usize = 4 * 1024 * 1024;

pub async fn layer(request: Request, next: Next) -> Response {
    let json = crate::extract::wants_json(request.headers(), request.uri().path());
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if !json || !response.status().is_client_error() || !is_html {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_PAGE_BYTES).await else {
        // Too large to be a form page: nothing sensible to rewrite.
        return (parts.status, "").into_response();
    };
    let page = String::from_utf8_lossy(&bytes);
    let Some(error) = texts_of(&page, "role=\"alert\"").into_iter().next() else {
        return Response::from_parts(parts, axum::body::Body::from(bytes));
    };
    let fields = texts_of(&page, "class=\"field-error\"");
    let body = serde_json::json!({ "ok": false, "error": error, "fields": fields });
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, axum::body::Body::from(body.to_string()))
}

/// The text of every element whose opening tag holds `marker`, tags stripped and the
/// entities askama escapes decoded.
fn texts_of(page: &str, marker: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(at) = rest.find(marker) {
        // The element's own closing tag: a `<div>` of errors holds a list of them.
        let tag: String = rest[..at]
            .rsplit('<')
            .next()
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect();
        let after = &rest[at..];
        let Some(open_end) = after.find('>') else {
            break;
        };
        let inner = &after[open_end + 1..];
        let end = inner.find(&format!("</{tag}>")).unwrap_or(inner.len());
        let text = strip_tags(&inner[..end]);
        let text = unescape(&text.split_whitespace().collect::<Vec<_>>().join(" "));
        if !text.is_empty() {
            out.push(text);
        }
        rest = &inner[end..];
    }
    out
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                // Items of a list read as separate sentences.
                out.push(' ');
            }
            '>' => in_tag = false,
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
