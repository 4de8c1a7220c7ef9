//! The extractors handlers use instead of axum's own (`Form`, `FormList`, `Query`, `Path`,
//! `Multipart`), so that every refusal of bad input happens in one place and reads the same:
//! a 4xx with a Vietnamese message saying what to fix, as JSON when JSON was asked for
//! (an `Accept: application/json` request or an `/api/` path), never axum's English text.
//!
//! What they refuse, for every form and query of the application:
//! - control characters (NUL and the rest of C0, DEL, C1), except tab, line feed and carriage
//!   return, which long texts (notes, explanations) may hold; names refuse those too, in
//!   fields that hold a name or a title (see `NAME_FIELDS`), and
//!   `parindex_domain::unit::parse_name` for names from imported files. PostgreSQL cannot store NUL at all, and SQLite would
//!   store it silently;
//! - in `Form`, a field sent more than once (`value=yes&value=no`): which of the two the
//!   server would take is a guess, so neither is taken. `FormList` is for the few forms whose
//!   fields repeat on purpose (a list of checkboxes);
//! - a body over the limit: 413;
//! - a path whose id is not a number, or holds a control character: 404, as for any object
//!   that does not exist.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::AppState;
use crate::error::WebError;

/// True when the client asked for JSON: the autosave script, the API.
pub fn wants_json(headers: &HeaderMap, path: &str) -> bool {
    path.starts_with("/api/")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("application/json"))
}

/// A refused request: the error, shown as JSON or as the error page.
#[derive(Debug)]
pub struct Refusal {
    pub error: WebError,
    pub json: bool,
}

impl Refusal {
    fn new(error: WebError, json: bool) -> Refusal {
        Refusal { error, json }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        if self.json {
            json_error(&self.error, crate::i18n::Lang::default())
        } else {
            self.error.into_response()
        }
    }
}

/// An error as JSON: `{"ok": false, "error": "…"}` with its status.
pub fn json_error(error: &WebError, lang: crate::i18n::Lang) -> Response {
    if let WebError::Internal(cause) = error {
        tracing::error!(%cause, "internal error");
    }
    // One JSON shape for every error, with its headers (`Retry-After` on a 503).
    error.json_response(lang)
}

/// The fields that hold a name or a title (units, groups, people, sets, criteria, periods,
/// questionnaires): one line of visible text, so no tab, no line break, no invisible format
/// character either.
const NAME_FIELDS: &[&str] = &[
    "name",
    "name_vi",
    "name_en",
    "full_name",
    "title",
    "title_en",
];

/// A character no form or query field may hold.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// Refuses a text read outside these extractors (a multipart field) that holds a control
/// character other than tab and line breaks.
pub fn refuse_controls(field: &str, value: &str) -> Result<(), WebError> {
    if value.chars().any(is_forbidden_control) {
        return Err(WebError::BadRequest(control_message(field)));
    }
    Ok(())
}

/// The message for a field holding a control character.
fn control_message(field: &str) -> String {
    format!(
        "Ô «{}» chứa ký tự điều khiển không được phép (ví dụ ký tự NUL). Hãy xoá ký tự đó rồi gửi lại.",
        shown(field)
    )
}

/// A field name as quoted back to the user: printable and short.
fn shown(field: &str) -> String {
    field.chars().filter(|c| !c.is_control()).take(40).collect()
}

/// Checks the pairs of a form or query: no control characters, and (for `unique`) no field
/// sent twice.
fn check_pairs(raw: &[u8], unique: bool) -> Result<(), WebError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw).unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    for (key, value) in &pairs {
        if key.chars().chain(value.chars()).any(is_forbidden_control) {
            return Err(WebError::BadRequest(control_message(key)));
        }
        if NAME_FIELDS.contains(&key.as_str())
            && let Some(problem) = parindex_domain::text::name_problem(value.trim())
        {
            return Err(WebError::BadRequest(format!(
                "Ô «{}»: {problem}. Hãy gõ lại tên rồi gửi.",
                shown(key)
            )));
        }
        if unique && !seen.insert(key.as_str()) {
            return Err(WebError::BadRequest(format!(
                "Ô «{}» được gửi nhiều lần; mỗi ô chỉ được có một giá trị. Hãy tải lại trang rồi gửi lại.",
                shown(key)
            )));
        }
    }
    Ok(())
}

/// A serde error of a form, in Vietnamese.
fn form_error_vi(error: &str) -> String {
    if let Some(rest) = error.strip_prefix("missing field `")
        && let Some(field) = rest.split('`').next()
    {
        return format!(
            "Biểu mẫu thiếu ô «{}». Hãy tải lại trang rồi gửi lại.",
            shown(field)
        );
    }
    "Biểu mẫu có ô với giá trị không hợp lệ (ví dụ chữ ở chỗ cần một số). Hãy kiểm tra lại rồi gửi."
        .to_owned()
}

/// A body over `limit` bytes: 413, saying the limit.
pub fn too_large(limit: usize) -> WebError {
    let mb = limit.div_ceil(1024 * 1024);
    WebError::Rejected(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "Dữ liệu gửi lên quá lớn (tối đa {mb} MB). Hãy gửi ít dữ liệu hơn hoặc chia thành nhiều lần."
        ),
    )
}

/// Reads an urlencoded body (or, for GET, the query), refusing another content type and an
/// oversized body.
async fn form_bytes(req: Request, state: &AppState, json: bool) -> Result<Bytes, Refusal> {
    if matches!(*req.method(), Method::GET | Method::HEAD) {
        return Ok(Bytes::copy_from_slice(
            req.uri().query().unwrap_or("").as_bytes(),
        ));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(Refusal::new(
            WebError::Rejected(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Biểu mẫu phải được gửi từ trang của hệ thống (application/x-www-form-urlencoded)."
                    .into(),
            ),
            json,
        ));
    }
    Bytes::from_request(req, state).await.map_err(|rejection| {
        let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large(state.config.max_body_bytes)
        } else {
            WebError::Rejected(
                StatusCode::BAD_REQUEST,
                "Không đọc được dữ liệu gửi lên. Hãy gửi lại.".into(),
            )
        };
        Refusal::new(error, json)
    })
}

/// An urlencoded form whose every field appears at most once.
#[derive(Debug, Clone, Copy, Default)]
pub struct Form<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for Form<T> {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = wants_json(req.headers(), req.uri().path());
        let bytes = form_bytes(req, state, json).await?;
        check_pairs(&bytes, true).map_err(|e| Refusal::new(e, json))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(Form)
            .map_err(|e| Refusal::new(WebError::BadRequest(form_error_vi(&e.to_string())), json))
    }
}

/// An urlencoded form as its pairs in order, where a field may repeat (checkbox lists).
#[derive(Debug, Clone, Default)]
pub struct FormList(pub Vec<(String, String)>);

impl FromRequest<AppState> for FormList {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let json = wants_json(req.headers(), req.uri().path());
        let bytes = form_bytes(req, state, json).await?;
        check_pairs(&bytes, false).map_err(|e| Refusal::new(e, json))?;
        serde_urlencoded::from_bytes(&bytes)
            .map(FormList)
            .map_err(|e| Refusal::new(WebError::BadRequest(form_error_vi(&e.to_string())), json))
    }
}

/// The query string.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let json = wants_json(&parts.headers, parts.uri.path());
        let query = parts.uri.query().unwrap_or("");
        check_pairs(query.as_bytes(), false).map_err(|e| Refusal::new(e, json))?;
        serde_urlencoded::from_str(query).map(Query).map_err(|_| {
            Refusal::new(
                WebError::Rejected(
                    StatusCode::BAD_REQUEST,
                    "Địa chỉ có tham số không hợp lệ (ví dụ chữ ở chỗ cần một số). Hãy mở lại trang từ danh mục."
                        .into(),
                ),
                json,
            )
        })
    }
}

/// The parameters of the path. One that does not parse (`/periods/abc`, an id past the range
/// of a number) or holds a control character names nothing: 404.
#[derive(Debug, Clone, Copy, Default)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let json = wants_json(&parts.headers, parts.uri.path());
        let not_found = || Refusal::new(WebError::NotFound, json);
        let raw = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| not_found())?;
        if raw.iter().any(|(_, v)| v.chars().any(char::is_control)) {
            return Err(not_found());
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|_| not_found())
    }
}

/// A multipart upload; a request that is not one is refused in Vietnamese.
pub struct Multipart(pub axum::extract::Multipart);

impl std::ops::Deref for Multipart {
    type Target = axum::extract::Multipart;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Multipart {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<S: Send + Sync> FromRequest<S> for Multipart {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = wants_json(req.headers(), req.uri().path());
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(Multipart)
            .map_err(|_| {
                Refusal::new(
                    WebError::Rejected(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        "Tệp phải được gửi bằng biểu mẫu tải lên của hệ thống (multipart/form-data)."
                            .into(),
                    ),
                    json,
                )
            })
    }
}
