//! Accounts and their role grants. Password hashes are computed by the caller (argon2id in
//! the web layer); the store never sees a plaintext password.

use parindex_domain::{Role, RoleGrant, Username};
use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A user account as stored (without the password hash, which has its own accessor).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub must_change_password: bool,
    pub disabled: bool,
    pub version: i64,
}

/// A role grant as stored, with the unit's code and name for display.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredGrant {
    pub id: i64,
    pub user_id: i64,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub unit_code: Option<String>,
    pub unit_name_vi: Option<String>,
}

impl StoredGrant {
    pub fn grant(&self) -> RoleGrant {
        RoleGrant {
            role: self.role,
            unit_id: self.unit_id,
        }
    }
}

const USER_SELECT: &str =
    "SELECT id, username, full_name, email, must_change_password, disabled, version FROM users";

fn user_from_row(row: &sqlx::any::AnyRow) -> Result<User, sqlx::Error> {
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        full_name: row.try_get("full_name")?,
        email: row.try_get("email")?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        version: row.try_get("version")?,
    })
}

impl Store {
    pub async fn list_users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{USER_SELECT} ORDER BY username"
        )))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(user_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_user(&self, id: i64) -> Result<User, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{USER_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(user_from_row(&row)?)
    }

    /// The account and its password hash, for logging in.
    pub async fn user_for_login(
        &self,
        username: &str,
    ) -> Result<Option<(User, String)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, username, full_name, email, must_change_password, disabled, version, password_hash FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        match row {
            Some(row) => Ok(Some((user_from_row(&row)?, row.try_get("password_hash")?))),
            None => Ok(None),
        }
    }

    pub async fn password_hash(&self, user_id: i64) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("password_hash")?)
    }

    /// The roles a user holds, in a stable order.
    pub async fn user_grants(&self, user_id: i64) -> Result<Vec<StoredGrant>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.id, r.user_id, r.role, r.unit_id, u.code AS unit_code, u.name_vi AS unit_name_vi FROM user_roles r LEFT JOIN units u ON u.id = r.unit_id \
             WHERE r.user_id = $1 ORDER BY r.id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let code: String = row.try_get("role")?;
                Ok(StoredGrant {
                    id: row.try_get("id")?,
                    user_id: row.try_get("user_id")?,
                    role: Role::from_code(&code)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown role {code}")))?,
                    unit_id: row.try_get("unit_id")?,
                    unit_code: row.try_get("unit_code")?,
                    unit_name_vi: row.try_get("unit_name_vi")?,
                })
            })
            .collect()
    }
}

/// What a new account starts with.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub full_name: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub must_change_password: bool,
}

impl WriteTx {
    async fn user_in_tx(&mut self, id: i64) -> Result<User, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{USER_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(user_from_row(&row)?)
    }

    pub async fn create_user(&mut self, new: &NewUser) -> Result<User, StoreError> {
        let now = crate::now_ms();
        let row = sqlx::query(
            "INSERT INTO users (username, full_name, email, password_hash, must_change_password, disabled, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 0, 1, $6, $6) RETURNING id",
        )
        .bind(new.username.as_str())
        .bind(&new.full_name)
        .bind(new.email.as_deref())
        .bind(&new.password_hash)
        .bind(i64::from(new.must_change_password))
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| {
            StoreError::unique_as(
                e,
                "username",
                format!("Tên đăng nhập «{}» đã tồn tại", new.username.as_str()),
            )
        })?;
        let id: i64 = row.try_get("id")?;
        let user = self.user_in_tx(id).await?;
        self.audit(
            "user.create",
            "user",
            id,
            None,
            Some(serde_json::to_value(&user).unwrap_or_default()),
        )
        .await?;
        Ok(user)
    }

    /// Grants a role; refuses a grant whose unit does not exist or that the user already has.
    pub async fn grant_role(&mut self, user_id: i64, grant: &RoleGrant) -> Result<i64, StoreError> {
        grant
            .validate()
            .map_err(|e| StoreError::Invalid(e.message))?;
        self.user_in_tx(user_id).await?;
        if let Some(unit_id) = grant.unit_id {
            let exists = sqlx::query("SELECT id FROM units WHERE id = $1")
                .bind(unit_id)
                .fetch_optional(&mut *self.tx)
                .await?;
            if exists.is_none() {
                return Err(StoreError::Invalid("Đơn vị không tồn tại".into()));
            }
        }
        // NULL never equals NULL in a UNIQUE index, so the duplicate check is done here.
        let dup = sqlx::query(
            "SELECT id FROM user_roles WHERE user_id = $1 AND role = $2 AND COALESCE(unit_id, 0) = COALESCE($3, 0)",
        )
        .bind(user_id)
        .bind(grant.role.code())
        .bind(grant.unit_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        if dup.is_some() {
            return Err(StoreError::Duplicate {
                field: "role",
                message: "Người dùng đã có vai trò này".into(),
            });
        }
        let row = sqlx::query(
            "INSERT INTO user_roles (user_id, role, unit_id, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(user_id)
        .bind(grant.role.code())
        .bind(grant.unit_id)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.audit(
            "user.grant_role",
            "user",
            user_id,
            None,
            Some(serde_json::json!({ "grant_id": id, "role": grant.role.code(), "unit_id": grant.unit_id })),
        )
        .await?;
        Ok(id)
    }

    pub async fn revoke_role(&mut self, user_id: i64, grant_id: i64) -> Result<(), StoreError> {
        let row =
            sqlx::query("SELECT role, unit_id FROM user_roles WHERE id = $1 AND user_id = $2")
                .bind(grant_id)
                .bind(user_id)
                .fetch_optional(&mut *self.tx)
                .await?
                .ok_or(StoreError::NotFound)?;
        let role: String = row.try_get("role")?;
        let unit_id: Option<i64> = row.try_get("unit_id")?;
        sqlx::query("DELETE FROM user_roles WHERE id = $1")
            .bind(grant_id)
            .execute(&mut *self.tx)
            .await?;
        // A session using the revoked grant falls back to the user's first remaining grant.
        sqlx::query("UPDATE sessions SET active_role_id = NULL WHERE active_role_id = $1")
            .bind(grant_id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(
            "user.revoke_role",
            "user",
            user_id,
            Some(serde_json::json!({ "grant_id": grant_id, "role": role, "unit_id": unit_id })),
            None,
        )
        .await?;
        Ok(())
    }

    /// Sets a new password hash. `must_change` is true after an administrator's reset.
    /// Every other session of the user is ended, so a stolen session dies with the old password.
    pub async fn set_password(
        &mut self,
        user_id: i64,
        password_hash: &str,
        must_change: bool,
        keep_session_hash: Option<&str>,
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2, version = version + 1, updated_at = $3 WHERE id = $4",
        )
        .bind(password_hash)
        .bind(i64::from(must_change))
        .bind(crate::now_ms())
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep_session_hash.unwrap_or(""))
            .execute(&mut *self.tx)
            .await?;
        let action = if must_change {
            "user.reset_password"
        } else {
            "user.change_password"
        };
        // The hash itself is never written to the log.
        self.audit(
            action,
            "user",
            user_id,
            None,
            Some(serde_json::json!({ "must_change_password": must_change })),
        )
        .await?;
        Ok(())
    }

    /// Disables or re-enables an account; disabling ends all its sessions at once.
    pub async fn set_user_disabled(
        &mut self,
        user_id: i64,
        disabled: bool,
    ) -> Result<User, StoreError> {
        let before = self.user_in_tx(user_id).await?;
        sqlx::query(
            "UPDATE users SET disabled = $1, version = version + 1, updated_at = $2 WHERE id = $3",
        )
        .bind(i64::from(disabled))
        .bind(crate::now_ms())
        .bind(user_id)
        .execute(&mut *self.tx)
        .await?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?;
        }
        let after = self.user_in_tx(user_id).await?;
        let action = if disabled {
            "user.disable"
        } else {
            "user.enable"
        };
        self.audit(
            action,
            "user",
            user_id,
            Some(serde_json::json!({ "disabled": before.disabled })),
            Some(serde_json::json!({ "disabled": after.disabled })),
        )
        .await?;
        Ok(after)
    }
}
