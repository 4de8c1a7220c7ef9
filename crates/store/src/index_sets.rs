//! Index sets as stored: the canonical JSON document with its metadata, the draft → published
//! lifecycle (a published set is immutable, enforced in SQL), and old → new code mappings.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// Where a set is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SetStatus {
    Draft,
    Published,
}

impl SetStatus {
    pub fn code(self) -> &'static str {
        match self {
            SetStatus::Draft => "draft",
            SetStatus::Published => "published",
        }
    }
    fn parse(code: &str) -> Result<SetStatus, StoreError> {
        match code {
            "draft" => Ok(SetStatus::Draft),
            "published" => Ok(SetStatus::Published),
            other => Err(StoreError::Corrupt(format!(
                "unknown index set status {other}"
            ))),
        }
    }
}

/// A stored index set. `definition` is the canonical JSON of the set document.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct StoredIndexSet {
    pub id: i64,
    pub code: String,
    pub year: i64,
    pub unit_group: String,
    pub title: String,
    pub illustrative: bool,
    pub status: SetStatus,
    #[serde(skip)]
    pub definition: String,
    pub node_count: i64,
    pub cloned_from: Option<i64>,
    pub version: i64,
    pub created_at: i64,
    pub updated_at: i64,
    pub published_at: Option<i64>,
}

/// The metadata and document of a set to create or save.
#[derive(Debug, Clone)]
pub struct IndexSetContent {
    pub code: String,
    pub year: i64,
    pub unit_group: String,
    pub title: String,
    pub illustrative: bool,
    pub definition: String,
    pub node_count: i64,
}

const SELECT: &str = "SELECT id, code, year, unit_group, title, illustrative, status, definition, node_count, cloned_from, version, created_at, updated_at, published_at FROM index_sets";

fn from_row(row: &sqlx::any::AnyRow) -> Result<StoredIndexSet, StoreError> {
    let status: String = row.try_get("status")?;
    Ok(StoredIndexSet {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        year: row.try_get("year")?,
        unit_group: row.try_get("unit_group")?,
        title: row.try_get("title")?,
        illustrative: row.try_get::<i64, _>("illustrative")? != 0,
        status: SetStatus::parse(&status)?,
        definition: row.try_get("definition")?,
        node_count: row.try_get("node_count")?,
        cloned_from: row.try_get("cloned_from")?,
        version: row.try_get("version")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        published_at: row.try_get("published_at")?,
    })
}

/// The audit view of a set: its metadata, and a digest of the document rather than the whole
/// tree (the document itself is kept in the row; its SHA-256 proves which content it was).
fn audit_view(set: &StoredIndexSet) -> serde_json::Value {
    use sha2::{Digest, Sha256};
    let mut value = serde_json::to_value(set).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert(
            "definition_sha256".into(),
            serde_json::Value::String(hex::encode(Sha256::digest(set.definition.as_bytes()))),
        );
    }
    value
}

impl Store {
    /// Every set, newest year first.
    pub async fn list_index_sets(&self) -> Result<Vec<StoredIndexSet>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} ORDER BY year DESC, unit_group, code"
        )))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn get_index_set(&self, id: i64) -> Result<StoredIndexSet, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    pub async fn find_index_set_by_code(
        &self,
        code: &str,
    ) -> Result<Option<StoredIndexSet>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE code = $1")))
            .bind(code)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// The old → new code pairs recorded for set `to_set_id`, with the old set's id.
    pub async fn code_mappings(
        &self,
        to_set_id: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT from_set_id, from_code, to_code FROM index_set_code_mappings WHERE to_set_id = $1 ORDER BY id",
        )
        .bind(to_set_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("from_set_id")?,
                    r.try_get("from_code")?,
                    r.try_get("to_code")?,
                ))
            })
            .collect::<Result<_, sqlx::Error>>()?)
    }
}

impl WriteTx {
    async fn index_set_in_tx(&mut self, id: i64) -> Result<StoredIndexSet, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        from_row(&row)
    }

    /// Creates a draft set (from scratch, an import or a clone).
    pub async fn create_index_set(
        &mut self,
        content: &IndexSetContent,
        cloned_from: Option<i64>,
    ) -> Result<StoredIndexSet, StoreError> {
        let now = crate::now_ms();
        let row = sqlx::query(
            "INSERT INTO index_sets (code, year, unit_group, title, illustrative, status, definition, node_count, cloned_from, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $8, 1, $9, $9) RETURNING id",
        )
        .bind(&content.code)
        .bind(content.year)
        .bind(&content.unit_group)
        .bind(&content.title)
        .bind(i64::from(content.illustrative))
        .bind(&content.definition)
        .bind(content.node_count)
        .bind(cloned_from)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| StoreError::unique_as(e, "code", format!("Mã bộ chỉ số «{}» đã tồn tại", content.code)))?;
        let id: i64 = row.try_get("id")?;
        let set = self.index_set_in_tx(id).await?;
        let action = if cloned_from.is_some() {
            "index_set.clone"
        } else {
            "index_set.create"
        };
        self.audit(action, "index_set", id, None, Some(audit_view(&set)))
            .await?;
        Ok(set)
    }

    /// Saves a new version of a draft. A published set, or a stale version, is refused.
    pub async fn save_index_set(
        &mut self,
        id: i64,
        expected_version: i64,
        content: &IndexSetContent,
    ) -> Result<StoredIndexSet, StoreError> {
        let before = self.index_set_in_tx(id).await?;
        if before.status != SetStatus::Draft {
            return Err(StoreError::Invalid(
                "Bộ chỉ số đã ban hành thì không được sửa; hãy nhân bản thành bản nháp mới".into(),
            ));
        }
        let result = sqlx::query(
            "UPDATE index_sets SET code = $1, year = $2, unit_group = $3, title = $4, illustrative = $5, definition = $6, node_count = $7, \
             version = version + 1, updated_at = $8 WHERE id = $9 AND version = $10 AND status = 'draft'",
        )
        .bind(&content.code)
        .bind(content.year)
        .bind(&content.unit_group)
        .bind(&content.title)
        .bind(i64::from(content.illustrative))
        .bind(&content.definition)
        .bind(content.node_count)
        .bind(crate::now_ms())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| StoreError::unique_as(e, "code", format!("Mã bộ chỉ số «{}» đã tồn tại", content.code)))?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        let after = self.index_set_in_tx(id).await?;
        self.audit(
            "index_set.save",
            "index_set",
            id,
            Some(audit_view(&before)),
            Some(audit_view(&after)),
        )
        .await?;
        Ok(after)
    }

    /// Publishes a draft (after the caller validated it); from then on it is immutable.
    pub async fn publish_index_set(
        &mut self,
        id: i64,
        expected_version: i64,
    ) -> Result<StoredIndexSet, StoreError> {
        let before = self.index_set_in_tx(id).await?;
        let now = crate::now_ms();
        let result = sqlx::query(
            "UPDATE index_sets SET status = 'published', published_at = $1, version = version + 1, updated_at = $1 \
             WHERE id = $2 AND version = $3 AND status = 'draft'",
        )
        .bind(now)
        .bind(id)
        .bind(expected_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(if before.status == SetStatus::Published {
                StoreError::Invalid("Bộ chỉ số này đã được ban hành".into())
            } else {
                StoreError::Stale
            });
        }
        let after = self.index_set_in_tx(id).await?;
        self.audit(
            "index_set.publish",
            "index_set",
            id,
            Some(serde_json::json!({ "status": "draft" })),
            Some(audit_view(&after)),
        )
        .await?;
        Ok(after)
    }

    /// Deletes a draft nobody needs. Published sets are never deleted.
    pub async fn delete_draft_index_set(
        &mut self,
        id: i64,
        expected_version: i64,
    ) -> Result<(), StoreError> {
        let before = self.index_set_in_tx(id).await?;
        if before.status != SetStatus::Draft {
            return Err(StoreError::Invalid(
                "Không được xóa bộ chỉ số đã ban hành".into(),
            ));
        }
        sqlx::query("DELETE FROM index_set_code_mappings WHERE to_set_id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        sqlx::query("UPDATE index_sets SET cloned_from = NULL WHERE cloned_from = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        let result = sqlx::query(
            "DELETE FROM index_sets WHERE id = $1 AND version = $2 AND status = 'draft'",
        )
        .bind(id)
        .bind(expected_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.audit(
            "index_set.delete_draft",
            "index_set",
            id,
            Some(audit_view(&before)),
            None,
        )
        .await?;
        Ok(())
    }

    /// Replaces the old → new code mapping of draft set `to_set_id` from set `from_set_id`.
    pub async fn set_code_mapping(
        &mut self,
        to_set_id: i64,
        from_set_id: i64,
        pairs: &[(String, String)],
    ) -> Result<(), StoreError> {
        let target = self.index_set_in_tx(to_set_id).await?;
        if target.status != SetStatus::Draft {
            return Err(StoreError::Invalid(
                "Chỉ sửa được bảng đối chiếu mã của bản nháp".into(),
            ));
        }
        self.index_set_in_tx(from_set_id).await?;
        let before: Vec<(String, String)> = sqlx::query(
            "SELECT from_code, to_code FROM index_set_code_mappings WHERE to_set_id = $1 ORDER BY id",
        )
        .bind(to_set_id)
        .fetch_all(&mut *self.tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("from_code")?, r.try_get("to_code")?)))
        .collect::<Result<_, sqlx::Error>>()?;
        sqlx::query("DELETE FROM index_set_code_mappings WHERE to_set_id = $1")
            .bind(to_set_id)
            .execute(&mut *self.tx)
            .await?;
        for (from_code, to_code) in pairs {
            sqlx::query(
                "INSERT INTO index_set_code_mappings (to_set_id, from_set_id, from_code, to_code) VALUES ($1, $2, $3, $4)",
            )
            .bind(to_set_id)
            .bind(from_set_id)
            .bind(from_code)
            .bind(to_code)
            .execute(&mut *self.tx)
            .await?;
        }
        self.audit(
            "index_set.code_mapping",
            "index_set",
            to_set_id,
            Some(serde_json::json!({ "pairs": before })),
            Some(serde_json::json!({ "from_set_id": from_set_id, "pairs": pairs })),
        )
        .await?;
        Ok(())
    }
}
