//! Persistence for parindex: one portable SQL layer over SQLite (embedded default) and
//! PostgreSQL, the migrations, the repositories and the hash-chained audit log.
//!
//! Reads go through [`Store`]; every state change goes through a [`WriteTx`], which writes its
//! audit record in the same transaction and refuses to commit without one.

pub mod appraisal;
pub mod audit;
pub mod cycle_queries;
pub mod db;
pub mod error;
pub mod evidence;
pub mod evidence_library;
pub mod explanation_deadlines;
pub mod imports;
pub mod index_sets;
pub mod jobs;
pub mod periods;
pub mod sessions;
pub mod sheet_queries;
pub mod survey;
pub mod survey_queries;
#[cfg(feature = "testing")]
pub mod testing;
pub mod throttle;
pub mod units;
pub mod users;

pub use audit::{AuditActor, AuditEntry, AuditFilter, AuditRole, ChainReport};
pub use db::{Backend, Readiness, SqliteSync, Store, StoreOptions, WriteTx};
pub use error::StoreError;

/// Milliseconds since the Unix epoch: the one clock of the store.
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1_000_000) as i64
}
