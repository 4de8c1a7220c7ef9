//! The store's one error type. Policy: `NotFound`, `Duplicate` and `Stale` are the caller's
//! business (they become 404 / a field error / a conflict message); `Database` is a bug or an
//! outage and becomes a logged 500.

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("không tìm thấy")]
    NotFound,
    /// A unique constraint refused the write; `field` names what is duplicated.
    #[error("{message}")]
    Duplicate {
        field: &'static str,
        message: String,
    },
    /// Optimistic concurrency: someone else saved first. The caller shows the current value.
    #[error("dữ liệu đã được người khác thay đổi")]
    Stale,
    /// A reference to another row that does not exist (or is not allowed).
    #[error("{0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("a state change must write its audit record before it commits")]
    MissingAudit,
}

impl StoreError {
    /// Maps a unique-constraint violation to a field error, leaving other errors alone.
    pub(crate) fn unique_as(err: sqlx::Error, field: &'static str, message: String) -> StoreError {
        if let sqlx::Error::Database(db) = &err
            && db.is_unique_violation()
        {
            return StoreError::Duplicate { field, message };
        }
        StoreError::Database(err)
    }
}
