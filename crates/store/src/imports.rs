//! Pending imports: a parsed file waiting, between the validation report and the user's
//! confirmation, in the database (not in one instance's memory).

use sqlx::Row;

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// Keeps a validated import for `user_id` until confirmed; returns its id. Not audited:
    /// nothing in the registry changes until the import is confirmed.
    pub async fn stash_import(
        &self,
        user_id: i64,
        kind: &str,
        file_name: &str,
        payload: &str,
    ) -> Result<i64, StoreError> {
        // Old stashes are dropped as new ones arrive; an hour is plenty between report and confirm.
        sqlx::query("DELETE FROM pending_imports WHERE created_at < $1")
            .bind(crate::now_ms() - 3_600_000)
            .execute(self.pool())
            .await?;
        let row = sqlx::query(
            "INSERT INTO pending_imports (user_id, kind, file_name, payload, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(kind)
        .bind(file_name)
        .bind(payload)
        .bind(crate::now_ms())
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("id")?)
    }

    /// The stashed payload, only for the user who uploaded it.
    pub async fn take_import(
        &self,
        id: i64,
        user_id: i64,
        kind: &str,
    ) -> Result<(String, String), StoreError> {
        let row = sqlx::query("SELECT file_name, payload FROM pending_imports WHERE id = $1 AND user_id = $2 AND kind = $3")
            .bind(id)
            .bind(user_id)
            .bind(kind)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("file_name")?, row.try_get("payload")?))
    }

    /// The file name of the newest stash of `kind` with exactly `payload` kept for
    /// `user_id`, if any: how an upload is bound to the user who made it (a survey file to
    /// its uploader and questionnaire), so nobody starts work on content they never sent.
    pub async fn stashed_by(
        &self,
        user_id: i64,
        kind: &str,
        payload: &str,
    ) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT file_name FROM pending_imports WHERE user_id = $1 AND kind = $2 AND payload = $3 \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(kind)
        .bind(payload)
        .fetch_optional(self.pool())
        .await?;
        Ok(match row {
            Some(r) => Some(r.try_get("file_name")?),
            None => None,
        })
    }

    pub async fn drop_import(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pending_imports WHERE id = $1")
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
