//! The web layer's one error type. Policy: user errors carry a status and a Vietnamese message
//! and are shown as such; anything else is logged with its cause and shown as a generic 500.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_store::StoreError;

use crate::i18n::Lang;

/// What can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not logged in: go to the login page, then come back.
    #[error("login required")]
    LoginRequired { next: String, expired: bool },
    /// The user must set a new password before anything else.
    #[error("password change required")]
    PasswordChangeRequired,
    #[error("forbidden")]
    Forbidden,
    /// Refused for a reason the user should read (a deadline, a submission).
    #[error("{0}")]
    ForbiddenBecause(String),
    /// Also used for objects outside the user's scope, so their existence is not revealed.
    #[error("not found")]
    NotFound,
    #[error("csrf")]
    Csrf,
    /// Bad input: the message says what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// Someone else saved first.
    #[error("{0}")]
    Conflict(String),
    #[error("too many requests")]
    TooManyRequests(String),
    /// The database cannot be reached or is too busy for now: 503 with `Retry-After`.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The disk (or the database's quota) is full: 507; nothing was saved.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// A request refused with another 4xx (413 too large, 415 wrong type, 400 unreadable),
    /// with the message saying what to fix.
    #[error("{1}")]
    Rejected(StatusCode, String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Seconds a client is asked to wait (`Retry-After`) when the database is unavailable.
pub const RETRY_AFTER_SECONDS: &str = "5";

impl From<StoreError> for WebError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => WebError::NotFound,
            StoreError::Duplicate { message, .. } => WebError::BadRequest(message),
            StoreError::Invalid(message) => WebError::BadRequest(message),
            StoreError::Stale => WebError::Conflict(Lang::Vi.t("error.stale").into()),
            other if other.is_storage_full() => WebError::StorageFull(other.to_string()),
            other if other.is_unavailable() => WebError::Unavailable(other.to_string()),
            other => WebError::Internal(other.to_string()),
        }
    }
}

impl From<parindex_store::evidence::EvidenceError> for WebError {
    fn from(err: parindex_store::evidence::EvidenceError) -> Self {
        use parindex_store::evidence::EvidenceError;
        match err {
            EvidenceError::StorageFull => WebError::StorageFull(err.to_string()),
            err if err.is_internal() => WebError::Internal(err.to_string()),
            err => WebError::BadRequest(err.to_string()),
        }
    }
}

impl From<parindex_app::AppError> for WebError {
    fn from(err: parindex_app::AppError) -> Self {
        use parindex_app::AppError;
        // Messages are resolved in Vietnamese here; the error page re-renders the generic
        // ones (not found, forbidden, unavailable) in the request's language.
        let vi = |m: &parindex_app::error::Message| Lang::Vi.message(m);
        match err {
            AppError::NotFound => WebError::NotFound,
            AppError::Forbidden(None) => WebError::Forbidden,
            AppError::Forbidden(Some(reason)) => WebError::ForbiddenBecause(vi(&reason)),
            AppError::Invalid { message, .. } => WebError::BadRequest(vi(&message)),
            AppError::Conflict { message, .. } => WebError::Conflict(vi(&message)),
            AppError::Unavailable(cause) => WebError::Unavailable(cause),
            AppError::StorageFull(cause) => WebError::StorageFull(cause),
            AppError::TooManyAttempts { retry_after_secs } => {
                WebError::TooManyRequests(Lang::Vi.format(
                    "error.too_many_attempts",
                    &[("seconds", retry_after_secs.to_string())],
                ))
            }
            AppError::Internal(source) => {
                let mut chain = source.to_string();
                let mut next = source.source();
                while let Some(cause) = next {
                    chain.push_str(": ");
                    chain.push_str(&cause.to_string());
                    next = cause.source();
                }
                WebError::Internal(chain)
            }
        }
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        WebError::Internal(format!("template: {err}"))
    }
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::LoginRequired { .. } | WebError::PasswordChangeRequired => {
                StatusCode::SEE_OTHER
            }
            WebError::Forbidden | WebError::Csrf | WebError::ForbiddenBecause(_) => {
                StatusCode::FORBIDDEN
            }
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::BadRequest(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::StorageFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            WebError::Rejected(status, _) => *status,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message shown to the user, in their language.
    pub fn message(&self, lang: Lang) -> String {
        match self {
            WebError::BadRequest(m)
            | WebError::Conflict(m)
            | WebError::TooManyRequests(m)
            | WebError::ForbiddenBecause(m)
            | WebError::Rejected(_, m) => m.clone(),
            WebError::Forbidden => lang.t("error.forbidden").into(),
            WebError::NotFound => lang.t("error.not_found").into(),
            WebError::Csrf => lang.t("error.csrf").into(),
            WebError::Internal(_) => lang.t("error.internal").into(),
            WebError::Unavailable(_) => lang.t("error.unavailable").into(),
            WebError::StorageFull(_) => lang.t("error.storage_full").into(),
            WebError::LoginRequired { .. } | WebError::PasswordChangeRequired => String::new(),
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match &self {
            WebError::LoginRequired { next, expired } => {
                let mut target = String::from("/login");
                let mut sep = '?';
                if *expired {
                    target.push_str("?expired=1");
                    sep = '&';
                }
                if !next.is_empty() && next != "/" {
                    target.push_str(&format!("{sep}next={}", crate::page::url_encode(next)));
                }
                return Redirect::to(&target).into_response();
            }
            WebError::PasswordChangeRequired => {
                return Redirect::to("/account/password").into_response();
            }
            WebError::Internal(cause) => tracing::error!(%cause, "internal error"),
            // Outages are the operator's business, logged once per request, but not bugs.
            WebError::Unavailable(cause) => tracing::warn!(%cause, "database unavailable"),
            WebError::StorageFull(cause) => tracing::error!(%cause, "storage full"),
            _ => {}
        }
        // The error page is rendered by the `error_pages` middleware, which knows the
        // request's language and user; here only the status and message are carried.
        let mut response = match &self {
            // Answered with their message even where no error page is rendered (probes, the
            // API, a session that could not be loaded).
            WebError::Unavailable(_) | WebError::StorageFull(_) => {
                (self.status(), self.message(Lang::Vi)).into_response()
            }
            _ => self.status().into_response(),
        };
        self.add_headers(response.headers_mut());
        response.extensions_mut().insert(ErrorMessage::from(self));
        response
    }
}

impl WebError {
    /// Headers an error response carries whatever its body: `Retry-After` on a 503.
    pub fn add_headers(&self, headers: &mut axum::http::HeaderMap) {
        if matches!(self, WebError::Unavailable(_)) {
            headers.insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
    }

    /// The error as JSON (`{"ok": false, "error": …}`), for a request that asked for JSON.
    pub fn json_response(&self, lang: Lang) -> Response {
        let body = serde_json::json!({ "ok": false, "error": self.message(lang) });
        let mut response = (self.status(), axum::Json(body)).into_response();
        self.add_headers(response.headers_mut());
        response
    }
}

/// Carried from a failing handler to the error-page renderer.
#[derive(Debug, Clone)]
pub struct ErrorMessage(pub std::sync::Arc<WebError>);

impl From<WebError> for ErrorMessage {
    fn from(e: WebError) -> Self {
        ErrorMessage(std::sync::Arc::new(e))
    }
}

// ----- the error page -----

#[derive(askama::Template)]
#[template(path = "error.html")]
struct ErrorPage {
    p: crate::page::Page,
    message: String,
}

/// Renders an error as a page in the user's language, keeping its status.
pub fn render_error(
    state: &crate::AppState,
    ctx: &crate::auth::RequestCtx,
    err: &WebError,
) -> Response {
    use askama::Template;
    use axum::response::Html;
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
        p: crate::page::Page::anonymous(state, ctx, title_key),
        message: err.message(ctx.lang),
    };
    let mut response = match page.render() {
        Ok(html) => (err.status(), Html(html)).into_response(),
        Err(_) => (err.status(), err.message(ctx.lang)).into_response(),
    };
    err.add_headers(response.headers_mut());
    response
}
