//! The unit registry: unit groups and units, with validity dates, parents and successors.

use parindex_domain::text::{fold_for_search, format_date_iso};
use parindex_domain::{GroupCode, UnitDraft};
use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A group of units ranked together (sở/ban/ngành, huyện, xã, …).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UnitGroup {
    pub id: i64,
    pub code: String,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub sort_order: i64,
}

/// A unit as stored, with its group's code and name for display.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Unit {
    pub id: i64,
    pub code: String,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub group_id: i64,
    pub group_code: String,
    pub group_name_vi: String,
    pub parent_id: Option<i64>,
    /// ISO dates (yyyy-mm-dd); shown as dd/mm/yyyy.
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_id: Option<i64>,
    pub active: bool,
    pub version: i64,
}

/// What the unit list shows.
#[derive(Debug, Clone, Default)]
pub struct UnitFilter {
    pub group_id: Option<i64>,
    pub include_inactive: bool,
    /// Diacritic-insensitive search over code and names ("danh gia" finds "đánh giá").
    pub search: Option<String>,
    /// Restrict to one unit (unit-bound roles).
    pub only_unit_id: Option<i64>,
}

const UNIT_SELECT: &str = "SELECT u.id, u.code, u.name_vi, u.name_en, u.group_id, g.code AS group_code, g.name_vi AS group_name_vi, u.parent_id, u.valid_from, u.valid_to, u.successor_id, u.active, u.version \
     FROM units u JOIN unit_groups g ON g.id = u.group_id";

fn unit_from_row(row: &sqlx::any::AnyRow) -> Result<Unit, sqlx::Error> {
    Ok(Unit {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name_vi: row.try_get("name_vi")?,
        name_en: row.try_get("name_en")?,
        group_id: row.try_get("group_id")?,
        group_code: row.try_get("group_code")?,
        group_name_vi: row.try_get("group_name_vi")?,
        parent_id: row.try_get("parent_id")?,
        valid_from: row.try_get("valid_from")?,
        valid_to: row.try_get("valid_to")?,
        successor_id: row.try_get("successor_id")?,
        active: row.try_get::<i64, _>("active")? != 0,
        version: row.try_get("version")?,
    })
}

fn group_from_row(row: &sqlx::any::AnyRow) -> Result<UnitGroup, sqlx::Error> {
    Ok(UnitGroup {
        id: row.try_get("id")?,
        code: row.try_get("code")?,
        name_vi: row.try_get("name_vi")?,
        name_en: row.try_get("name_en")?,
        sort_order: row.try_get("sort_order")?,
    })
}

fn search_text(code: &str, name_vi: &str, name_en: Option<&str>) -> String {
    fold_for_search(&format!("{code} {name_vi} {}", name_en.unwrap_or("")))
}

impl Store {
    pub async fn list_groups(&self) -> Result<Vec<UnitGroup>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, code, name_vi, name_en, sort_order FROM unit_groups ORDER BY sort_order, code",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(group_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn list_units(&self, filter: &UnitFilter) -> Result<Vec<Unit>, StoreError> {
        let mut sql = format!("{UNIT_SELECT} WHERE 1 = 1");
        let mut n = 0;
        let mut next = || {
            n += 1;
            format!("${n}")
        };
        if filter.group_id.is_some() {
            sql.push_str(&format!(" AND u.group_id = {}", next()));
        }
        if !filter.include_inactive {
            sql.push_str(" AND u.active = 1");
        }
        let needle = filter
            .search
            .as_deref()
            .map(fold_for_search)
            .filter(|s| !s.is_empty());
        if needle.is_some() {
            sql.push_str(&format!(" AND u.search_text LIKE {} ESCAPE '\\'", next()));
        }
        if filter.only_unit_id.is_some() {
            sql.push_str(&format!(" AND u.id = {}", next()));
        }
        sql.push_str(" ORDER BY g.sort_order, g.code, u.code");
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        if let Some(g) = filter.group_id {
            query = query.bind(g);
        }
        if let Some(needle) = needle {
            let escaped = needle
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            query = query.bind(format!("%{escaped}%"));
        }
        if let Some(id) = filter.only_unit_id {
            query = query.bind(id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        Ok(rows.iter().map(unit_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_unit(&self, id: i64) -> Result<Unit, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNIT_SELECT} WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(unit_from_row(&row)?)
    }

    pub async fn find_unit_by_code(&self, code: &str) -> Result<Option<Unit>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNIT_SELECT} WHERE u.code = $1"
        )))
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(unit_from_row).transpose()?)
    }

    pub async fn count_units(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM units")
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }
}

impl WriteTx {
    async fn unit_in_tx(&mut self, id: i64) -> Result<Unit, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{UNIT_SELECT} WHERE u.id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(unit_from_row(&row)?)
    }

    /// Creates a unit group.
    pub async fn create_group(
        &mut self,
        code: &GroupCode,
        name_vi: &str,
        name_en: Option<&str>,
        sort_order: i64,
    ) -> Result<UnitGroup, StoreError> {
        let row = sqlx::query(
            "INSERT INTO unit_groups (code, name_vi, name_en, sort_order, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(code.as_str())
        .bind(name_vi)
        .bind(name_en)
        .bind(sort_order)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| {
            StoreError::unique_as(e, "code", format!("Mã nhóm «{}» đã tồn tại", code.as_str()))
        })?;
        let group = UnitGroup {
            id: row.try_get("id")?,
            code: code.as_str().to_owned(),
            name_vi: name_vi.to_owned(),
            name_en: name_en.map(str::to_owned),
            sort_order,
        };
        self.audit(
            "unit_group.create",
            "unit_group",
            group.id,
            None,
            Some(serde_json::to_value(&group).unwrap_or_default()),
        )
        .await?;
        Ok(group)
    }

    /// Checks references a draft makes: the group exists, parent and successor exist and are
    /// not the unit itself.
    async fn check_references(
        &mut self,
        draft: &UnitDraft,
        own_id: Option<i64>,
    ) -> Result<(), StoreError> {
        let group = sqlx::query("SELECT id FROM unit_groups WHERE id = $1")
            .bind(draft.group_id)
            .fetch_optional(&mut *self.tx)
            .await?;
        if group.is_none() {
            return Err(StoreError::Invalid("Nhóm đơn vị không tồn tại".into()));
        }
        for (id, what) in [
            (draft.parent_id, "Đơn vị cha"),
            (draft.successor_id, "Đơn vị kế thừa"),
        ] {
            if let Some(id) = id {
                if Some(id) == own_id {
                    return Err(StoreError::Invalid(format!(
                        "{what} không thể là chính đơn vị này"
                    )));
                }
                let exists = sqlx::query("SELECT id FROM units WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
                if exists.is_none() {
                    return Err(StoreError::Invalid(format!("{what} không tồn tại")));
                }
            }
        }
        Ok(())
    }

    /// Creates a unit.
    pub async fn create_unit(&mut self, draft: &UnitDraft) -> Result<Unit, StoreError> {
        self.check_references(draft, None).await?;
        let now = crate::now_ms();
        let row = sqlx::query(
            "INSERT INTO units (code, name_vi, name_en, search_text, group_id, parent_id, valid_from, valid_to, successor_id, active, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, 1, $10, $10) RETURNING id",
        )
        .bind(draft.code.as_str())
        .bind(draft.name_vi.as_str())
        .bind(draft.name_en.as_deref())
        .bind(search_text(draft.code.as_str(), draft.name_vi.as_str(), draft.name_en.as_deref()))
        .bind(draft.group_id)
        .bind(draft.parent_id)
        .bind(format_date_iso(draft.valid_from))
        .bind(draft.valid_to.map(format_date_iso))
        .bind(draft.successor_id)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| {
            StoreError::unique_as(e, "code", format!("Mã đơn vị «{}» đã tồn tại", draft.code.as_str()))
        })?;
        let id: i64 = row.try_get("id")?;
        let unit = self.unit_in_tx(id).await?;
        self.audit(
            "unit.create",
            "unit",
            id,
            None,
            Some(serde_json::to_value(&unit).unwrap_or_default()),
        )
        .await?;
        Ok(unit)
    }

    /// Updates a unit if nobody changed it since `expected_version` was read.
    pub async fn update_unit(
        &mut self,
        id: i64,
        expected_version: i64,
        draft: &UnitDraft,
    ) -> Result<Unit, StoreError> {
        let before = self.unit_in_tx(id).await?;
        if before.version != expected_version {
            return Err(StoreError::Stale);
        }
        self.check_references(draft, Some(id)).await?;
        let result = sqlx::query(
            "UPDATE units SET code = $1, name_vi = $2, name_en = $3, search_text = $4, group_id = $5, parent_id = $6, valid_from = $7, valid_to = $8, successor_id = $9, \
             version = version + 1, updated_at = $10 WHERE id = $11 AND version = $12",
        )
        .bind(draft.code.as_str())
        .bind(draft.name_vi.as_str())
        .bind(draft.name_en.as_deref())
        .bind(search_text(draft.code.as_str(), draft.name_vi.as_str(), draft.name_en.as_deref()))
        .bind(draft.group_id)
        .bind(draft.parent_id)
        .bind(format_date_iso(draft.valid_from))
        .bind(draft.valid_to.map(format_date_iso))
        .bind(draft.successor_id)
        .bind(crate::now_ms())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| {
            StoreError::unique_as(e, "code", format!("Mã đơn vị «{}» đã tồn tại", draft.code.as_str()))
        })?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        let after = self.unit_in_tx(id).await?;
        self.audit(
            "unit.update",
            "unit",
            id,
            Some(serde_json::to_value(&before).unwrap_or_default()),
            Some(serde_json::to_value(&after).unwrap_or_default()),
        )
        .await?;
        Ok(after)
    }

    /// Deactivates (or reactivates) a unit. Units are never deleted: scores refer to them.
    pub async fn set_unit_active(
        &mut self,
        id: i64,
        expected_version: i64,
        active: bool,
    ) -> Result<Unit, StoreError> {
        let before = self.unit_in_tx(id).await?;
        let result = sqlx::query(
            "UPDATE units SET active = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4",
        )
        .bind(i64::from(active))
        .bind(crate::now_ms())
        .bind(id)
        .bind(expected_version)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        let after = self.unit_in_tx(id).await?;
        let action = if active {
            "unit.reactivate"
        } else {
            "unit.deactivate"
        };
        self.audit(
            action,
            "unit",
            id,
            Some(serde_json::json!({ "active": before.active })),
            Some(serde_json::json!({ "active": after.active })),
        )
        .await?;
        Ok(after)
    }
}
