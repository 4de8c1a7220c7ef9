//! Login throttling: attempts per account and per IP address, kept in the database so that
//! every instance sees the same counts.
//!
//! An attempt is recorded *before* the password is checked (`reserve_login_attempt`), in a
//! transaction that first serializes every reservation: counting, then recording only after
//! the slow argon2 check, let parallel requests all see the same low count and all reach the
//! check. SQLite serializes through its write lock (BEGIN IMMEDIATE); PostgreSQL through a
//! self-conflicting table lock, held only for the count and the insert, never during the
//! password check. A refused attempt records nothing, so hammering a locked account does not
//! extend its lockout.

use sqlx::Row;

use crate::error::StoreError;
use crate::{Backend, Store};

/// One throttle key and how many attempts it allows within the window.
#[derive(Debug, Clone)]
pub struct ThrottleKey {
    /// e.g. `user:thuky`, `ip:127.0.0.1`.
    pub key: String,
    pub limit: i64,
}

/// An attempt that passed the throttle: its rows stay as failures unless the login succeeds.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// (key, row id) of each recorded row.
    rows: Vec<(String, i64)>,
}

impl Store {
    /// Checks each key's attempts since `since` (milliseconds) against its limit and, if all
    /// are under it, records one attempt for each key, as one serialized step. `None`: over a
    /// limit, nothing recorded; the caller refuses the login without checking the password.
    pub async fn reserve_login_attempt(
        &self,
        keys: &[ThrottleKey],
        now: i64,
        since: i64,
    ) -> Result<Option<LoginAttempt>, StoreError> {
        let _writer = self.lock_writer().await;
        let mut tx = match self.backend() {
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => {
                let mut tx = self.pool().begin().await?;
                // SHARE ROW EXCLUSIVE conflicts with itself and with writers, not with plain
                // reads: reservations queue up, the rest of the application is unaffected.
                sqlx::query("LOCK TABLE login_failures IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *tx)
                    .await?;
                tx
            }
        };
        for k in keys {
            let count: i64 =
                sqlx::query("SELECT COUNT(*) FROM login_failures WHERE key = $1 AND at >= $2")
                    .bind(&k.key)
                    .bind(since)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            if count >= k.limit {
                tx.rollback().await?;
                return Ok(None);
            }
        }
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            let id: i64 =
                sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id")
                    .bind(&k.key)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            rows.push((k.key.clone(), id));
        }
        tx.commit().await?;
        Ok(Some(LoginAttempt { rows }))
    }

    /// A successful login: forgets the account's failures (and old rows of every key), and
    /// withdraws this attempt's own rows, since a success is not a failure of the IP either.
    pub async fn login_succeeded(
        &self,
        attempt: &LoginAttempt,
        account_key: &str,
        older_than: i64,
    ) -> Result<(), StoreError> {
        self.withdraw_rows(attempt).await?;
        self.clear_login_failures(account_key, older_than).await
    }

    async fn withdraw_rows(&self, attempt: &LoginAttempt) -> Result<(), StoreError> {
        for (_, id) in &attempt.rows {
            sqlx::query("DELETE FROM login_failures WHERE id = $1")
                .bind(id)
                .execute(self.pool())
                .await?;
        }
        Ok(())
    }

    /// Records one failed login for each key, without a throttle check (tests and tools).
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

    /// Attempts recorded for `key` since `since` (milliseconds).
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
