//! Reads the workflow's use cases make inside their own write transaction, so that what they
//! decide on is what they write against.

use sqlx::Row;

use crate::WriteTx;
use crate::db::Backend;
use crate::error::StoreError;

impl WriteTx {
    /// The period's stage and round as this transaction sees them. On PostgreSQL the period's
    /// row stays locked until the transaction ends, so a concurrent stage change waits; on
    /// SQLite the write transaction already holds the database's write lock.
    pub async fn lock_period_stage(&mut self, period_id: i64) -> Result<(String, i64), StoreError> {
        let sql = match self.backend() {
            Backend::Sqlite => "SELECT stage, stage_round FROM periods WHERE id = $1",
            Backend::Postgres => "SELECT stage, stage_round FROM periods WHERE id = $1 FOR UPDATE",
        };
        let row = sqlx::query(sql)
            .bind(period_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("stage")?, row.try_get("stage_round")?))
    }

    /// The next publication number of one unit's result (1 for the first).
    pub async fn next_publication(
        &mut self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(MAX(publication), 0) AS BIGINT) AS last FROM published_results WHERE period_id = $1 AND unit_id = $2",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(row.try_get::<i64, _>("last")? + 1)
    }
}
