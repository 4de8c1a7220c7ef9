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
    /// A migration file differs from the one applied to this database: the schema the code
    /// expects is not the schema the database has, so the store refuses to start.
    #[error(
        "migration {file} was changed after it was applied (applied sha256 {applied}, file now {current}); \
         restore the file and put the change in a new migration"
    )]
    MigrationChanged {
        file: String,
        applied: String,
        current: String,
    },
}

impl StoreError {
    /// True when the database has no room for the write (SQLite `SQLITE_FULL`, PostgreSQL
    /// `disk_full`): the user is told so (507), and the write works again once space is freed.
    pub fn is_storage_full(&self) -> bool {
        match self.database_code() {
            Some(DbCode::Sqlite(code)) => code & 0xff == 13,
            Some(DbCode::Postgres(state)) => state == "53100",
            None => false,
        }
    }

    /// True when the database cannot be reached or is too busy for now: no connection within
    /// the pool's wait, a broken connection, a lock held too long, a server shutting down or
    /// in recovery. The request is answered 503 with `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        let StoreError::Database(err) = self else {
            return false;
        };
        match err {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::BeginFailed => true,
            sqlx::Error::Database(_) => match self.database_code() {
                // SQLITE_BUSY, SQLITE_LOCKED (with their extended codes).
                Some(DbCode::Sqlite(code)) => matches!(code & 0xff, 5 | 6),
                // Connection exceptions, too many connections, shutdown, recovery, read-only.
                Some(DbCode::Postgres(state)) => {
                    state.starts_with("08")
                        || matches!(
                            state.as_str(),
                            "53300" | "57P01" | "57P02" | "57P03" | "25006"
                        )
                }
                None => false,
            },
            _ => false,
        }
    }

    fn database_code(&self) -> Option<DbCode> {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return None;
        };
        let code = db.code()?;
        // SQLite reports its (extended) result code as a number, PostgreSQL a SQLSTATE.
        Some(match code.parse::<i64>() {
            Ok(n) if code.len() != 5 => DbCode::Sqlite(n),
            _ => DbCode::Postgres(code.into_owned()),
        })
    }

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

enum DbCode {
    Sqlite(i64),
    Postgres(String),
}
