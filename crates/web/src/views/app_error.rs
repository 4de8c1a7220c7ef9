//! The caller of a use case from the session, and a use case's refusal as a message on the
//! page the user was on (a form with an error), rather than as an error page.

use axum::http::StatusCode;
use parindex_app::AppError;
use parindex_app::sheet::Caller;

use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::i18n::Lang;

/// The session's user as a use case's caller.
pub fn caller(user: &CurrentUser) -> Result<Caller, WebError> {
    Ok(Caller {
        actor: user.actor()?,
        audit: user.audit_actor(),
    })
}

/// A refusal the user can act on (bad input, a reason it is not allowed now, someone saved
/// first) as the status and the message to show on the page; anything else stays an error.
pub fn on_page(lang: Lang, err: AppError) -> Result<(StatusCode, String), WebError> {
    match err {
        AppError::Invalid { message, fields } => {
            let mut text = lang.message(&message);
            for f in &fields {
                text.push_str("; ");
                text.push_str(&lang.message(&f.message));
            }
            Ok((StatusCode::UNPROCESSABLE_ENTITY, text))
        }
        AppError::Forbidden(Some(reason)) => Ok((StatusCode::FORBIDDEN, lang.message(&reason))),
        AppError::Conflict { message, .. } => Ok((StatusCode::CONFLICT, lang.message(&message))),
        other => Err(other.into()),
    }
}

/// The problems of an input as one line ("a; b"), each in the user's language.
pub fn problems_text(lang: Lang, fields: &[parindex_app::FieldError]) -> String {
    fields
        .iter()
        .map(|f| lang.message(&f.message))
        .collect::<Vec<_>>()
        .join("; ")
}
