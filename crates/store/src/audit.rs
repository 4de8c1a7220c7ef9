//! The append-only, hash-chained audit log: every state change says who (with which role),
//! when, what, on which object, and before → after. Each record's hash covers its content and
//! the previous record's hash, so a changed or deleted row breaks the chain.

use parindex_domain::Role;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};

use crate::Store;
use crate::error::StoreError;

/// The role an audit record names: one of the user's [`Role`]s, or no role at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditRole {
    /// A user acting in one of their roles (stored by the role's code).
    Role(Role),
    /// A user acting before any role is in use, such as signing in without a grant ("none").
    NoRole,
    /// The system acting on its own: seeding, the CLI, background jobs ("system").
    System,
}

impl AuditRole {
    /// The stored text, which the record's hash also covers.
    pub fn code(self) -> &'static str {
        match self {
            AuditRole::Role(role) => role.code(),
            AuditRole::NoRole => "none",
            AuditRole::System => "system",
        }
    }

    /// Reads the stored text back.
    pub fn from_code(code: &str) -> Option<AuditRole> {
        match code {
            "none" => Some(AuditRole::NoRole),
            "system" => Some(AuditRole::System),
            other => Role::from_code(other).map(AuditRole::Role),
        }
    }

    /// The role in use, when there is one.
    pub fn role(self) -> Option<Role> {
        match self {
            AuditRole::Role(role) => Some(role),
            AuditRole::NoRole | AuditRole::System => None,
        }
    }
}

impl From<Role> for AuditRole {
    fn from(role: Role) -> AuditRole {
        AuditRole::Role(role)
    }
}

impl From<Option<Role>> for AuditRole {
    fn from(role: Option<Role>) -> AuditRole {
        role.map_or(AuditRole::NoRole, AuditRole::Role)
    }
}

impl std::fmt::Display for AuditRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// Serialised as its stored code, as the string field it replaces was.
impl Serialize for AuditRole {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Who acts: the user (None for the system itself, e.g. the demo seeder) and the role in use.
#[derive(Debug, Clone, Serialize)]
pub struct AuditActor {
    pub user_id: Option<i64>,
    pub username: String,
    pub role: AuditRole,
}

impl AuditActor {
    /// The system acting on its own (migrations, demo seeding, the CLI run by an operator).
    pub fn system(what: &str) -> AuditActor {
        AuditActor {
            user_id: None,
            username: format!("system:{what}"),
            role: AuditRole::System,
        }
    }
}

/// One record of the log.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: i64,
    pub actor_user_id: Option<i64>,
    pub actor_username: String,
    pub actor_role: AuditRole,
    pub action: String,
    pub object_type: String,
    pub object_id: String,
    pub before_json: Option<String>,
    pub after_json: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The hash this record must carry: SHA-256 over every field, each length-prefixed so
    /// that no two different records serialise alike.
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        let user = self
            .actor_user_id
            .map(|id| id.to_string())
            .unwrap_or_default();
        let fields: [&str; 11] = [
            &self.seq.to_string(),
            &self.at.to_string(),
            &user,
            &self.actor_username,
            self.actor_role.code(),
            &self.action,
            &self.object_type,
            &self.object_id,
            self.before_json.as_deref().unwrap_or("\u{0}"),
            self.after_json.as_deref().unwrap_or("\u{0}"),
            &self.prev_hash,
        ];
        for field in fields {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

pub(crate) async fn append(
    conn: &mut AnyConnection,
    actor: &AuditActor,
    action: &str,
    object_type: &str,
    object_id: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) -> Result<AuditEntry, StoreError> {
    // Incrementing the head first takes its row lock (PostgreSQL), so concurrent appenders
    // from any instance queue here and the chain never forks.
    let head =
        sqlx::query("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, last_hash")
            .fetch_one(&mut *conn)
            .await?;
    let seq: i64 = head.try_get("seq")?;
    let prev_hash: String = head.try_get("last_hash")?;
    let mut entry = AuditEntry {
        seq,
        at: crate::now_ms(),
        actor_user_id: actor.user_id,
        actor_username: actor.username.clone(),
        actor_role: actor.role,
        action: action.to_owned(),
        object_type: object_type.to_owned(),
        object_id: object_id.to_owned(),
        before_json: before.map(|v| v.to_string()),
        after_json: after.map(|v| v.to_string()),
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    sqlx::query(
        "INSERT INTO audit_log (seq, at, actor_user_id, actor_username, actor_role, action, object_type, object_id, before_json, after_json, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(entry.seq)
    .bind(entry.at)
    .bind(entry.actor_user_id)
    .bind(&entry.actor_username)
    .bind(entry.actor_role.code())
    .bind(&entry.action)
    .bind(&entry.object_type)
    .bind(&entry.object_id)
    .bind(&entry.before_json)
    .bind(&entry.after_json)
    .bind(&entry.prev_hash)
    .bind(&entry.hash)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE audit_head SET last_hash = $1 WHERE id = 1")
        .bind(&entry.hash)
        .execute(&mut *conn)
        .await?;
    Ok(entry)
}

const ENTRY_COLUMNS: &str = "seq, at, actor_user_id, actor_username, actor_role, action, object_type, object_id, before_json, after_json, prev_hash, hash";

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<AuditEntry, sqlx::Error> {
    Ok(AuditEntry {
        seq: row.try_get("seq")?,
        at: row.try_get("at")?,
        actor_user_id: row.try_get("actor_user_id")?,
        actor_username: row.try_get("actor_username")?,
        actor_role: {
            let code: String = row.try_get("actor_role")?;
            AuditRole::from_code(&code)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown audit role {code}").into()))?
        },
        action: row.try_get("action")?,
        object_type: row.try_get("object_type")?,
        object_id: row.try_get("object_id")?,
        before_json: row.try_get("before_json")?,
        after_json: row.try_get("after_json")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// Filters for browsing the log; every field optional.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub object_type: Option<String>,
    pub object_id: Option<String>,
    pub username: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Show records with seq below this (paging backwards from the newest).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// The outcome of checking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainReport {
    /// Every record links to the previous one and hashes to what it claims.
    Intact { records: i64 },
    /// The first record (by sequence number) where the chain is broken, and why.
    Broken { seq: i64, reason: String },
}

impl Store {
    /// The newest records matching `filter`, newest first.
    pub async fn audit_list(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>, StoreError> {
        // Placeholders are numbered as conditions are added; values are always bound.
        let mut sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE 1 = 1");
        let mut binds: Vec<BindValue> = Vec::new();
        let mut add = |cond: &str, value: BindValue, sql: &mut String| {
            binds.push(value);
            sql.push_str(&format!(" AND {cond} ${}", binds.len()));
        };
        if let Some(v) = &filter.action {
            add("action =", BindValue::Text(v.clone()), &mut sql);
        }
        if let Some(v) = &filter.object_type {
            add("object_type =", BindValue::Text(v.clone()), &mut sql);
        }
        if let Some(v) = &filter.object_id {
            add("object_id =", BindValue::Text(v.clone()), &mut sql);
        }
        if let Some(v) = &filter.username {
            add("actor_username =", BindValue::Text(v.clone()), &mut sql);
        }
        if let Some(v) = filter.from_ms {
            add("at >=", BindValue::Int(v), &mut sql);
        }
        if let Some(v) = filter.to_ms {
            add("at <", BindValue::Int(v), &mut sql);
        }
        if let Some(v) = filter.before_seq {
            add("seq <", BindValue::Int(v), &mut sql);
        }
        sql.push_str(&format!(
            " ORDER BY seq DESC LIMIT {}",
            filter.limit.clamp(1, 1000)
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for b in binds {
            query = match b {
                BindValue::Text(s) => query.bind(s),
                BindValue::Int(i) => query.bind(i),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
    }

    /// The distinct action names, for the filter drop-down.
    pub async fn audit_actions(&self) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query("SELECT DISTINCT action FROM audit_log ORDER BY action")
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("action"))
            .collect::<Result<_, _>>()?)
    }

    /// Walks the whole chain in order and reports the first broken link.
    pub async fn audit_verify(&self) -> Result<ChainReport, StoreError> {
        let head = sqlx::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(self.pool())
            .await?;
        let head_seq: i64 = head.try_get("seq")?;
        let head_hash: String = head.try_get("last_hash")?;
        let mut expected_prev = "0".repeat(64);
        let mut expected_seq = 1_i64;
        let page = 5000_i64;
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT {page}"
            )))
            .bind(expected_seq)
            .fetch_all(self.pool())
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                let entry = entry_from_row(row)?;
                if entry.seq != expected_seq {
                    return Ok(ChainReport::Broken {
                        seq: expected_seq,
                        reason: format!("record {expected_seq} is missing (next is {})", entry.seq),
                    });
                }
                if entry.prev_hash != expected_prev {
                    return Ok(ChainReport::Broken {
                        seq: entry.seq,
                        reason: "prev_hash does not match the previous record".into(),
                    });
                }
                if entry.compute_hash() != entry.hash {
                    return Ok(ChainReport::Broken {
                        seq: entry.seq,
                        reason: "content does not match its hash (the record was changed)".into(),
                    });
                }
                expected_prev = entry.hash;
                expected_seq += 1;
            }
        }
        let records = expected_seq - 1;
        if records != head_seq || (records > 0 && expected_prev != head_hash) {
            return Ok(ChainReport::Broken {
                seq: records + 1,
                reason: format!(
                    "the chain ends at record {records} but the head says {head_seq} (records were removed from the end)"
                ),
            });
        }
        Ok(ChainReport::Intact { records })
    }
}

enum BindValue {
    Text(String),
    Int(i64),
}
