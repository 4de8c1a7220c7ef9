//! The application layer's one error type. It says what went wrong in the use case's terms;
//! the web layer chooses the status code and the page, the CLI the exit message.

use std::fmt;

use parindex_store::StoreError;
use parindex_store::evidence::EvidenceError;

/// A text shown to the user: a catalogue key (with named placeholders) or, for messages
/// produced by the domain, text already in Vietnamese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A key of the web catalogue (`locales/*.tsv`); `{name}` placeholders take `args`.
    Key {
        key: &'static str,
        args: Vec<(&'static str, String)>,
    },
    /// Text as it is (the domain's own Vietnamese explanations).
    Text(String),
}

impl Message {
    pub fn key(key: &'static str) -> Message {
        Message::Key {
            key,
            args: Vec::new(),
        }
    }

    /// Adds a placeholder value to a key (no effect on [`Message::Text`]).
    pub fn arg(mut self, name: &'static str, value: impl Into<String>) -> Message {
        if let Message::Key { args, .. } = &mut self {
            args.push((name, value.into()));
        }
        self
    }
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Key { key, .. } => f.write_str(key),
            Message::Text(text) => f.write_str(text),
        }
    }
}

impl From<String> for Message {
    fn from(text: String) -> Self {
        Message::Text(text)
    }
}

impl From<&str> for Message {
    fn from(text: &str) -> Self {
        Message::Text(text.to_owned())
    }
}

/// What is wrong with one field of the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The form field's name (`score`, `self_close_at`); empty for the input as a whole.
    pub field: String,
    pub message: Message,
}

/// What can go wrong in a use case.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The object does not exist, or lies outside the actor's scope (so its existence is not
    /// revealed).
    #[error("not found")]
    NotFound,
    /// The actor may not do this; the reason, when there is one the user should read (a
    /// deadline passed, the sheet submitted).
    #[error("forbidden{}", .0.as_ref().map(|m| format!(": {m}")).unwrap_or_default())]
    Forbidden(Option<Message>),
    /// The input is wrong: a message for the whole, and one per field.
    #[error("invalid: {message}")]
    Invalid {
        message: Message,
        fields: Vec<FieldError>,
    },
    /// Someone else changed the object first; `current_version` is what it is now.
    #[error("conflict: {message}")]
    Conflict {
        message: Message,
        current_version: Option<i64>,
    },
    /// The database (or another service) cannot be reached or is too busy for now.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The disk or the database's quota is full; nothing was saved. Kept apart from
    /// [`AppError::Unavailable`] because waiting does not help: an operator must act.
    #[error("storage full: {0}")]
    StorageFull(String),
    /// Too many attempts (logins); the next one is allowed after this many seconds. Kept apart
    /// because the user must be told to wait, not to fix anything.
    #[error("too many attempts, retry after {retry_after_secs}s")]
    TooManyAttempts { retry_after_secs: u64 },
    /// A bug or a broken invariant; the source chain is kept for the log.
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    /// An internal error from a description (an invariant that did not hold).
    pub fn internal(description: impl fmt::Display) -> AppError {
        AppError::Internal(description.to_string().into())
    }

    /// Refused, with a reason the user should read.
    pub fn forbidden(reason: impl Into<Message>) -> AppError {
        AppError::Forbidden(Some(reason.into()))
    }

    /// Bad input as a whole.
    pub fn invalid(message: impl Into<Message>) -> AppError {
        AppError::Invalid {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// Bad input in one field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<Message>) -> AppError {
        let message = message.into();
        AppError::Invalid {
            fields: vec![FieldError {
                field: field.into(),
                message: message.clone(),
            }],
            message,
        }
    }

    /// Someone saved first.
    pub fn conflict(current_version: Option<i64>) -> AppError {
        AppError::Conflict {
            message: Message::key("error.stale"),
            current_version,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Duplicate { message, .. } => AppError::invalid(message),
            StoreError::Invalid(message) => AppError::invalid(message),
            StoreError::Stale => AppError::conflict(None),
            other if other.is_storage_full() => AppError::StorageFull(other.to_string()),
            other if other.is_unavailable() => AppError::Unavailable(other.to_string()),
            other => AppError::Internal(Box::new(other)),
        }
    }
}

impl From<EvidenceError> for AppError {
    fn from(err: EvidenceError) -> Self {
        match err {
            EvidenceError::StorageFull => AppError::StorageFull(err.to_string()),
            err if err.is_internal() => AppError::Internal(Box::new(err)),
            err => AppError::invalid(err.to_string()),
        }
    }
}

impl From<parindex_domain::InvalidInput> for AppError {
    fn from(err: parindex_domain::InvalidInput) -> Self {
        AppError::invalid_field(err.field.to_string(), err.message.to_string())
    }
}
