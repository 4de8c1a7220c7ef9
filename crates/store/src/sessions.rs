//! Server-side sessions, stored in the database so that any instance can serve any request.
//! The cookie carries a random token; only its SHA-256 is stored, so a database leak does not
//! leak live sessions.

use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A live session.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub active_role_id: Option<i64>,
    pub locale: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: i64,
    pub last_seen_at: i64,
}

fn session_from_row(row: &sqlx::any::AnyRow) -> Result<SessionRecord, sqlx::Error> {
    Ok(SessionRecord {
        token_hash: row.try_get("token_hash")?,
        user_id: row.try_get("user_id")?,
        csrf_token: row.try_get("csrf_token")?,
        active_role_id: row.try_get("active_role_id")?,
        locale: row.try_get("locale")?,
        ip: row.try_get("ip")?,
        user_agent: row.try_get("user_agent")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

const SESSION_SELECT: &str = "SELECT token_hash, user_id, csrf_token, active_role_id, locale, ip, user_agent, created_at, last_seen_at FROM sessions";

impl Store {
    pub async fn get_session(&self, token_hash: &str) -> Result<Option<SessionRecord>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SESSION_SELECT} WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(session_from_row).transpose()?)
    }

    pub async fn user_sessions(&self, user_id: i64) -> Result<Vec<SessionRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SESSION_SELECT} WHERE user_id = $1 ORDER BY last_seen_at DESC"
        )))
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(session_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// Records activity. Not audited: it is bookkeeping, not a change anyone made. Only
    /// written when the stored value is older than `min_interval_ms`, to spare the database.
    pub async fn touch_session(
        &self,
        token_hash: &str,
        now: i64,
        min_interval_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2 AND last_seen_at < $3",
        )
        .bind(now)
        .bind(token_hash)
        .bind(now - min_interval_ms)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes an expired session (bookkeeping, not audited).
    pub async fn expire_session(&self, token_hash: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Deletes sessions idle or older than the limits (housekeeping).
    pub async fn purge_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2")
            .bind(idle_before)
            .bind(created_before)
            .execute(self.pool())
            .await?;
        Ok(result.rows_affected())
    }
}

impl WriteTx {
    /// Starts a session (a login); audited as `session.login`.
    pub async fn create_session(&mut self, record: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, active_role_id, locale, ip, user_agent, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&record.token_hash)
        .bind(record.user_id)
        .bind(&record.csrf_token)
        .bind(record.active_role_id)
        .bind(&record.locale)
        .bind(record.ip.as_deref())
        .bind(record.user_agent.as_deref())
        .bind(record.created_at)
        .bind(record.last_seen_at)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "session.login",
            "user",
            record.user_id,
            None,
            Some(serde_json::json!({ "ip": record.ip, "session": &record.token_hash[..12] })),
        )
        .await?;
        Ok(())
    }

    /// Ends one session (logout).
    pub async fn delete_session(
        &mut self,
        user_id: i64,
        token_hash: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1 AND user_id = $2")
            .bind(token_hash)
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(
            "session.logout",
            "user",
            user_id,
            Some(serde_json::json!({ "session": &token_hash[..token_hash.len().min(12)] })),
            None,
        )
        .await?;
        Ok(())
    }

    /// Ends every session of a user ("log out all my sessions").
    pub async fn delete_all_sessions(&mut self, user_id: i64) -> Result<u64, StoreError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(
            "session.logout_all",
            "user",
            user_id,
            None,
            Some(serde_json::json!({ "ended": result.rows_affected() })),
        )
        .await?;
        Ok(result.rows_affected())
    }

    /// Switches the role grant a session acts with.
    pub async fn set_session_role(
        &mut self,
        token_hash: &str,
        user_id: i64,
        grant_id: i64,
    ) -> Result<(), StoreError> {
        let owned = sqlx::query("SELECT id FROM user_roles WHERE id = $1 AND user_id = $2")
            .bind(grant_id)
            .bind(user_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        if owned.is_none() {
            return Err(StoreError::NotFound);
        }
        sqlx::query(
            "UPDATE sessions SET active_role_id = $1 WHERE token_hash = $2 AND user_id = $3",
        )
        .bind(grant_id)
        .bind(token_hash)
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "session.switch_role",
            "user",
            user_id,
            None,
            Some(serde_json::json!({ "grant_id": grant_id })),
        )
        .await?;
        Ok(())
    }
}
