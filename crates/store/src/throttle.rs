//! Login throttling: attempts per account and per IP address, kept in the database so that
//! every instance sees the same counts.
//!
//! The rule is a growing delay, never a lockout: a key (an account, an address) may fail
//! `free` times within the window; after that each attempt must wait after the last one a
//! delay that doubles with every further failure, up to a cap ([`DelayPolicy`]). The right
//! password, tried once the delay has passed, always works, so an attacker guessing an
//! account's password can slow its owner down but never lock them out.
//!
//! An attempt is recorded *before* the password is checked (`reserve_login_attempt`), in a
//! transaction that first serializes every reservation: counting, then recording only after
//! the slow argon2 check, let parallel requests all see the same low count and all reach the
//! check. SQLite serializes through its write lock (BEGIN IMMEDIATE); PostgreSQL through a
//! self-conflicting table lock, held only for the count and the insert, never during the
//! password check. A refused attempt records nothing, so hammering a throttled account does
//! not extend its delay.

use sqlx::Row;

use crate::error::StoreError;
use crate::{Backend, Store};

/// One throttle key and how many failures it may have within the window before delays start.
#[derive(Debug, Clone)]
pub struct ThrottleKey {
    /// e.g. `user:thuky`, `ip:127.0.0.1`.
    pub key: String,
    pub limit: i64,
}

/// How long a throttled key waits: `base_ms` after the first failure past the free ones,
/// doubling with each further failure, never more than `max_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelayPolicy {
    pub base_ms: i64,
    pub max_ms: i64,
}

impl DelayPolicy {
    /// The wait after the last attempt, for a key with `failures` recorded and `free` allowed:
    /// 0 while failures < free, then base, 2 × base, 4 × base, … capped.
    pub fn delay_ms(self, failures: i64, free: i64) -> i64 {
        if failures < free {
            return 0;
        }
        let doublings = u32::try_from(failures - free).unwrap_or(u32::MAX).min(40);
        self.base_ms
            .max(0)
            .saturating_mul(1_i64 << doublings)
            .min(self.max_ms.max(0))
    }
}

/// An attempt that passed the throttle: its rows stay as failures unless the login succeeds.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    /// (key, row id) of each recorded row.
    rows: Vec<(String, i64)>,
}

/// What a reservation gives: the attempt may go ahead, or must wait this long.
#[derive(Debug, Clone)]
pub enum Reservation {
    Allowed(LoginAttempt),
    /// Milliseconds until the next attempt is allowed.
    Wait(i64),
}

impl Store {
    /// Checks each key's failures since `since` (milliseconds) against its free allowance
    /// and, past it, the time since its last attempt against the policy's delay; if every key
    /// may go ahead, records one attempt for each key, as one serialized step. `Wait`: too
    /// early, nothing recorded; the caller refuses without checking the password.
    pub async fn reserve_login_attempt(
        &self,
        keys: &[ThrottleKey],
        policy: DelayPolicy,
        now: i64,
        since: i64,
    ) -> Result<Reservation, StoreError> {
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
        let mut wait = 0_i64;
        for k in keys {
            let row = sqlx::query(
                "SELECT COUNT(*) AS failures, CAST(COALESCE(MAX(at), 0) AS BIGINT) AS last_at FROM login_failures WHERE key = $1 AND at >= $2",
            )
            .bind(&k.key)
            .bind(since)
            .fetch_one(&mut *tx)
            .await?;
            let count: i64 = row.try_get("failures")?;
            let last: i64 = row.try_get("last_at")?;
            let allowed_at = last.saturating_add(policy.delay_ms(count, k.limit));
            wait = wait.max(allowed_at - now);
        }
        if wait > 0 {
            tx.rollback().await?;
            return Ok(Reservation::Wait(wait));
        }
        let mut rows = Vec::with_capacity(keys.len());
        for k in keys {
            let id: i64 =
                sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2) RETURNING id")
                    .bind(&k.key)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("id")?;
            rows.push((k.key.clone(), id));
        }
        tx.commit().await?;
        Ok(Reservation::Allowed(LoginAttempt { rows }))
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

    /// When `key` may next try, by the policy (milliseconds; 0 when it may try at once).
    pub async fn login_allowed_at(
        &self,
        key: &str,
        limit: i64,
        policy: DelayPolicy,
        since: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS failures, CAST(COALESCE(MAX(at), 0) AS BIGINT) AS last_at FROM login_failures WHERE key = $1 AND at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_one(self.pool())
        .await?;
        let count: i64 = row.try_get("failures")?;
        let last: i64 = row.try_get("last_at")?;
        let delay = policy.delay_ms(count, limit);
        Ok(if delay == 0 { 0 } else { last + delay })
    }

    /// Attempts recorded for `key` since `since` (milliseconds).
    pub async fn login_failures_since(&self, key: &str, since: i64) -> Result<i64, StoreError> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM login_failures WHERE key = $1 AND at >= $2")
                .bind(key)
                .bind(since)
                .fetch_one(self.pool())
                .await?;
        Ok(row.try_get("n")?)
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
