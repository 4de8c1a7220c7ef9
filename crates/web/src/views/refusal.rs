//! A use case's refusal shown on the form it came from: the message and field errors of an
//! [`AppError::Invalid`] (or a conflict, or a reason to refuse) in the user's language, with the
//! status the page answers with. Anything else is not the user's to fix and goes to the error
//! page.

use axum::http::StatusCode;
use parindex_app::AppError;
use parindex_app::error::FieldError;
use serde::Deserialize;

use crate::error::WebError;
use crate::i18n::Lang;

/// The `?ok=` confirmation key a redirect carries (shown by `Page::with_notice`).
#[derive(Debug, Default, Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

/// What a form page shows after a refusal.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
    /// (field, message) pairs; the field is empty for the input as a whole.
    pub fields: Vec<(String, String)>,
}

impl Refusal {
    /// The refusal of bad input, a conflict or a stated reason; other errors are handed back
    /// as the web error they become.
    pub fn of(err: AppError, lang: Lang) -> Result<Refusal, WebError> {
        let fields_of = |fields: &[FieldError]| {
            fields
                .iter()
                .map(|f| (f.field.clone(), lang.message(&f.message)))
                .collect()
        };
        match err {
            AppError::Invalid { message, fields } => Ok(Refusal {
                status: StatusCode::UNPROCESSABLE_ENTITY,
                message: lang.message(&message),
                fields: fields_of(&fields),
            }),
            AppError::Conflict { message, .. } => Ok(Refusal {
                status: StatusCode::CONFLICT,
                message: lang.message(&message),
                fields: Vec::new(),
            }),
            AppError::Forbidden(Some(reason)) => Ok(Refusal {
                status: StatusCode::FORBIDDEN,
                message: lang.message(&reason),
                fields: Vec::new(),
            }),
            other => Err(other.into()),
        }
    }

    /// Only bad input is shown on the form; a conflict or a refusal goes to the error page.
    pub fn of_invalid(err: AppError, lang: Lang) -> Result<Refusal, WebError> {
        match err {
            err @ AppError::Invalid { .. } => Refusal::of(err, lang),
            other => Err(web_error(other, lang)),
        }
    }
}

/// A use case's error as a web error, its message in the user's language.
pub fn web_error(err: AppError, lang: Lang) -> WebError {
    match err {
        AppError::Invalid { message, .. } => WebError::BadRequest(lang.message(&message)),
        AppError::Conflict { message, .. } => WebError::Conflict(lang.message(&message)),
        AppError::Forbidden(Some(reason)) => WebError::ForbiddenBecause(lang.message(&reason)),
        other => other.into(),
    }
}
