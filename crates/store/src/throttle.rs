//! Login throttling: failed attempts per account and per IP address, kept in the database so
//! that every instance sees the same counts.

use sqlx::Row;

use crate::Store;
use crate::error::StoreError;

impl Store {
    /// Records one failed login for each key (e.g. `user:thuky`, `ip:127.0.0.1`).
    pub async fn record_login_failure(&self, keys: &[String], now: i64) -> Result<(), StoreError> {
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(key)
                .bind(now)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Failures for `key` since `since` (milliseconds).
    pub async fn login_failures_since(&self, key: &str, since: i64) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2")
            .bind(key)
            .bind(since)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get(0)?)
    }

    /// Forgets an account's failures after a successful login, and old rows of every key.
    pub async fn clear_login_failures(&self, key: &str, older_than: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1 OR at < $2")
            .bind(key)
            .bind(older_than)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}
