//! Survey reads that run inside a write transaction, so a use case decides on what it is
//! about to change and nobody can move it in between.

use sqlx::Row;

use crate::WriteTx;
use crate::db::Backend;
use crate::error::StoreError;

impl WriteTx {
    /// The stored stage and round of a period, read in this transaction. On PostgreSQL the
    /// row is locked until commit, so a concurrent stage change waits for this write; SQLite
    /// already holds the database's write lock (`BEGIN IMMEDIATE`).
    pub async fn survey_period_stage(
        &mut self,
        period_id: i64,
    ) -> Result<(String, i64), StoreError> {
        let sql = match self.backend() {
            Backend::Postgres => "SELECT stage, stage_round FROM periods WHERE id = $1 FOR UPDATE",
            _ => "SELECT stage, stage_round FROM periods WHERE id = $1",
        };
        let row = sqlx::query(sql)
            .bind(period_id)
            .fetch_optional(self.conn())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("stage")?, row.try_get("stage_round")?))
    }
}
