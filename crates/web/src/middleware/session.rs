//! The session middleware: turns the cookie into a session (checking its idle and absolute
//! timeouts), loads the user and the role in use, checks the CSRF token of every
//! state-changing request, and renders error pages in the user's language. The session itself
//! is loaded by the application (`parindex_app::sessions`); this layer only speaks HTTP.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use parindex_app::sessions::{SessionLookup, SessionTimeouts};

use crate::AppState;
use crate::auth::cookies;
use crate::error::{ErrorMessage, WebError};
use crate::i18n::Lang;

pub use parindex_app::sessions::SessionInfo;

/// Per-request context every handler and template can use.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub lang: Lang,
    /// The CSRF token forms of this page must carry.
    pub csrf: String,
    pub session: Option<Arc<SessionInfo>>,
    /// True when the request carried a session cookie that had expired.
    pub session_expired: bool,
    /// Path and query, to come back to after logging in.
    pub path_and_query: String,
}

/// Paths a user who must change their password may still reach.
fn allowed_before_password_change(path: &str) -> bool {
    path == "/account/password"
        || path == "/logout"
        || path.starts_with("/static/")
        || path.starts_with("/locale/")
        || path == "/healthz"
        || path == "/readyz"
}

pub async fn session_layer(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let headers = request.headers().clone();
    let lang = cookies::get(&headers, cookies::LANG)
        .and_then(|c| Lang::from_code(&c))
        .unwrap_or_default();
    let secure = state.config.secure_cookies;
    let mut set_cookies: Vec<String> = Vec::new();

    let wants_json = crate::extract::wants_json(&headers, request.uri().path());
    let (session, session_expired) = match load_session(&state, &headers).await {
        Ok(result) => result,
        Err(err @ (WebError::Unavailable(_) | WebError::StorageFull(_))) if wants_json => {
            return err.json_response(lang);
        }
        Err(err) => return err.into_response(),
    };
    if session_expired {
        set_cookies.push(cookies::clear(cookies::SESSION, secure));
    }

    let csrf = csrf_token(session.as_deref(), &headers, secure, &mut set_cookies);
    let path = request.uri().path().to_owned();
    let ctx = RequestCtx {
        lang,
        csrf: csrf.clone(),
        session: session.clone(),
        session_expired,
        path_and_query: (request.uri().path_and_query())
            .map(|pq| pq.as_str().to_owned())
            .unwrap_or_else(|| "/".into()),
    };

    let mut response = match pass_guards(&state, session.as_deref(), request, &csrf, &path).await {
        Ok(mut request) => {
            request.extensions_mut().insert(ctx.clone());
            next.run(request).await
        }
        Err(refused) => refused.into_response(),
    };

    if let Some(ErrorMessage(err)) = response.extensions().get::<ErrorMessage>().cloned() {
        response = if crate::extract::wants_json(&headers, &path) {
            crate::extract::json_error(&err, ctx.lang)
        } else {
            crate::error::render_error(&state, &ctx, &err)
        };
    }
    add_cookies(response, set_cookies)
}

fn add_cookies(mut response: Response, set_cookies: Vec<String>) -> Response {
    let response_headers = response.headers_mut();
    for cookie in set_cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response_headers.append(header::SET_COOKIE, value);
        }
    }
    response
}

/// The CSRF token forms of this page must carry: the session's, or before login one kept in
/// a cookie of its own (set here the first time).
fn csrf_token(
    session: Option<&SessionInfo>,
    headers: &axum::http::HeaderMap,
    secure: bool,
    set_cookies: &mut Vec<String>,
) -> String {
    if let Some(s) = session {
        return s.record.csrf_token.clone();
    }
    match cookies::get(headers, cookies::PRE_SESSION_CSRF).filter(|t| t.len() == 64) {
        Some(token) => token,
        None => {
            let token = crate::auth::random_token();
            set_cookies.push(cookies::set(
                cookies::PRE_SESSION_CSRF,
                &token,
                secure,
                None,
            ));
            token
        }
    }
}

/// What a request must pass before its handler: a forced password change, and for a
/// state-changing request the CSRF check and the route guard.
async fn pass_guards(
    state: &AppState,
    session: Option<&SessionInfo>,
    request: Request,
    csrf: &str,
    path: &str,
) -> Result<Request, WebError> {
    if let Some(s) = session
        && s.user.must_change_password
        && !allowed_before_password_change(path)
    {
        return Err(WebError::PasswordChangeRequired);
    }
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return Ok(request);
    }
    let request = check_csrf(request, csrf, state.config.max_body_bytes).await?;
    // Authorization before the form is read: a role that may never do what the route does
    // is refused here, whatever its body holds (see crate::guard).
    if let Some(s) = session {
        crate::guard::check(request.method(), path, s)?;
    }
    Ok(request)
}

/// Loads the session named by the cookie; (None, true) when it existed but expired.
async fn load_session(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<(Option<Arc<SessionInfo>>, bool), WebError> {
    let Some(token) = cookies::get(headers, cookies::SESSION).filter(|t| !t.is_empty()) else {
        return Ok((None, false));
    };
    let timeouts = SessionTimeouts {
        idle_ms: state.config.session_idle_timeout.as_millis() as i64,
        absolute_ms: state.config.session_absolute_timeout.as_millis() as i64,
    };
    match state
        .app
        .load_session(&crate::auth::token_hash(&token), timeouts)
        .await?
    {
        SessionLookup::Active(session) => Ok((Some(Arc::from(session)), false)),
        SessionLookup::Expired => Ok((None, true)),
    }
}

/// Checks the CSRF token of a state-changing request. The token may come in the
/// `X-CSRF-Token` header (scripts), the `csrf` field of an urlencoded form, which is buffered
/// and handed on intact, or, for multipart uploads only, the `csrf` query parameter (the
/// upload is streamed, so its body cannot be read first). A token in the query of any other
/// request is not taken: a URL ends up in logs, histories and Referer headers, and a form
/// must carry its token in its body. A body over `limit` is refused as too large (413), not
/// as an expired form.
async fn check_csrf(request: Request, expected: &str, limit: usize) -> Result<Request, WebError> {
    let refused = || Err(WebError::Csrf);
    if let Some(token) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if crate::auth::same_secret(token, expected) {
            Ok(request)
        } else {
            refused()
        };
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        let query = request.uri().query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let ok = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .is_some_and(|(_, token)| crate::auth::same_secret(token, expected));
        return if ok { Ok(request) } else { refused() };
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return refused();
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(crate::extract::too_large(limit));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
        return Err(crate::extract::too_large(limit));
    };
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes).unwrap_or_default();
    let ok = pairs
        .iter()
        .find(|(k, _)| k == "csrf")
        .is_some_and(|(_, token)| crate::auth::same_secret(token, expected));
    if ok {
        Ok(Request::from_parts(parts, Body::from(bytes)))
    } else {
        refused()
    }
}
