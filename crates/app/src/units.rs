//! The unit registry: list and search, create, edit, deactivate, unit groups, and the import
//! from Excel or CSV, checked row by row and kept until confirmed.

use std::collections::{HashMap, HashSet};

use parindex_domain::text::{format_date_iso, parse_date_vi};
use parindex_domain::unit::{ImportCandidate, ImportProblem, check_import_references, parse_name};
use parindex_domain::{Action, GroupCode, UnitCode, UnitDraft, UnitName};
use parindex_formats::{ImportLimits, parse_unit_import};
use parindex_store::StoreError;
use parindex_store::units::{Unit, UnitFilter, UnitGroup};
use serde::{Deserialize, Serialize};

use crate::error::{FieldError, Message};
use crate::sessions::SessionInfo;
use crate::{App, AppError};

/// A unit as typed in its form: every field text, so a bad value can be shown back as typed.
#[derive(Debug, Clone, Default)]
pub struct UnitInput {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub group_id: String,
    pub parent_code: String,
    /// dd/mm/yyyy.
    pub valid_from: String,
    pub valid_to: String,
    pub successor_code: String,
}

/// A unit group as typed.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub code: String,
    pub name_vi: String,
    pub name_en: String,
    pub sort_order: String,
}

/// The list page's filter.
#[derive(Debug, Clone, Default)]
pub struct UnitSearch {
    pub text: Option<String>,
    pub group_id: Option<i64>,
    pub include_inactive: bool,
}

/// A unit with the parent and successor it refers to.
#[derive(Debug, Clone)]
pub struct UnitDetail {
    pub unit: Unit,
    pub parent: Option<Unit>,
    pub successor: Option<Unit>,
}

/// What the unit form offers: the groups and every unit's (code, name) to pick from.
#[derive(Debug, Clone)]
pub struct UnitFormChoices {
    pub groups: Vec<UnitGroup>,
    pub all_codes: Vec<(String, String)>,
}

/// A row ready to be created, as kept between the report and the confirmation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportRow {
    pub line: usize,
    pub code: String,
    pub name_vi: String,
    pub name_en: Option<String>,
    pub group_code: String,
    pub parent_code: Option<String>,
    pub valid_from: String,
    pub valid_to: Option<String>,
    pub successor_code: Option<String>,
}

/// The row-by-row report of an uploaded file; nothing is saved to the registry yet.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub rows: Vec<ImportRow>,
    pub problems: Vec<ImportProblem>,
    /// The text encoding of a CSV file (None for Excel).
    pub encoding: Option<String>,
    /// Set when the file is clean: the stash to confirm.
    pub stash_id: Option<i64>,
}

const STASH_KIND: &str = "units";

/// A store refusal of a unit as a form error: the duplicate's field, or the form as a whole;
/// a stale version is a conflict.
fn unit_refusal(err: StoreError) -> AppError {
    match err {
        StoreError::Duplicate { field, message } => {
            AppError::invalid_field(field, Message::Text(message))
        }
        StoreError::Invalid(message) => AppError::invalid(message),
        StoreError::Stale => AppError::Conflict {
            message: Message::key("units.stale"),
            current_version: None,
        },
        other => other.into(),
    }
}

impl App {
    /// The units the actor may see (a unit-bound role sees only its own), and the groups.
    pub async fn list_units(
        &self,
        session: &SessionInfo,
        search: UnitSearch,
    ) -> Result<(Vec<Unit>, Vec<UnitGroup>), AppError> {
        let actor = session.require(Action::ListUnits)?;
        let units = self
            .store
            .list_units(&UnitFilter {
                group_id: search.group_id,
                include_inactive: search.include_inactive,
                search: search.text,
                only_unit_id: actor.unit_restriction(),
            })
            .await?;
        Ok((units, self.store.list_groups().await?))
    }

    /// One unit with its parent and successor.
    pub async fn unit_detail(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<UnitDetail, AppError> {
        session.require(Action::ViewUnit { unit_id: id })?;
        let unit = self.store.get_unit(id).await?;
        let parent = match unit.parent_id {
            Some(id) => Some(self.store.get_unit(id).await?),
            None => None,
        };
        let successor = match unit.successor_id {
            Some(id) => Some(self.store.get_unit(id).await?),
            None => None,
        };
        Ok(UnitDetail {
            unit,
            parent,
            successor,
        })
    }

    /// A unit to edit (the manager's view of [`App::unit_detail`]).
    pub async fn unit_for_edit(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<UnitDetail, AppError> {
        session.require(Action::ViewUnit { unit_id: id })?;
        session.require(Action::ManageUnits)?;
        self.unit_detail(session, id).await
    }

    /// The groups and units the unit form offers.
    pub async fn unit_form_choices(
        &self,
        session: &SessionInfo,
    ) -> Result<UnitFormChoices, AppError> {
        session.require(Action::ManageUnits)?;
        let all_codes = self
            .store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|u| (u.code, u.name_vi))
            .collect();
        Ok(UnitFormChoices {
            groups: self.store.list_groups().await?,
            all_codes,
        })
    }

    /// Parses the form into a draft, collecting every problem at once.
    async fn parse_unit(&self, form: &UnitInput) -> Result<UnitDraft, AppError> {
        let mut fields: Vec<FieldError> = Vec::new();
        let mut err = |field: &str, message: Message| {
            fields.push(FieldError {
                field: field.to_owned(),
                message,
            })
        };
        let code = UnitCode::parse(&form.code)
            .map_err(|e| err("code", e.message.into()))
            .ok();
        let name_vi = UnitName::parse(&form.name_vi)
            .map_err(|e| err("name_vi", e.message.into()))
            .ok();
        let name_en = if form.name_en.trim().is_empty() {
            None
        } else {
            parse_name(&form.name_en, "name_en")
                .map_err(|e| err("name_en", e.message.into()))
                .ok()
        };
        let group_id = form.group_id.parse::<i64>().ok();
        if group_id.is_none() {
            err("group_id", Message::key("units.pick_group"));
        }
        let valid_from = parse_date_vi(&form.valid_from);
        if valid_from.is_none() {
            err("valid_from", Message::key("units.bad_date"));
        }
        let valid_to = if form.valid_to.trim().is_empty() {
            None
        } else {
            let d = parse_date_vi(&form.valid_to);
            if d.is_none() {
                err("valid_to", Message::key("units.bad_date"));
            }
            d
        };
        let parent_id = self
            .resolve_code(
                &mut fields,
                "parent_code",
                &form.parent_code,
                "units.no_parent",
            )
            .await?;
        let successor_id = self
            .resolve_code(
                &mut fields,
                "successor_code",
                &form.successor_code,
                "units.no_successor",
            )
            .await?;
        let (Some(code), Some(name_vi), Some(group_id), Some(valid_from), true) =
            (code, name_vi, group_id, valid_from, fields.is_empty())
        else {
            return Err(AppError::Invalid {
                message: Message::key("form.fix_errors"),
                fields,
            });
        };
        let draft = UnitDraft {
            code,
            name_vi,
            name_en,
            group_id,
            parent_id,
            valid_from,
            valid_to,
            successor_id,
        };
        draft.check()?;
        Ok(draft)
    }

    /// The id of the unit a form field names by code; a missing one is a field error.
    async fn resolve_code(
        &self,
        fields: &mut Vec<FieldError>,
        field: &str,
        code: &str,
        missing_key: &'static str,
    ) -> Result<Option<i64>, AppError> {
        let code = code.trim().to_uppercase();
        if code.is_empty() {
            return Ok(None);
        }
        match self.store.find_unit_by_code(&code).await? {
            Some(u) => Ok(Some(u.id)),
            None => {
                fields.push(FieldError {
                    field: field.to_owned(),
                    message: Message::key(missing_key).arg("code", code),
                });
                Ok(None)
            }
        }
    }

    /// Creates a unit.
    pub async fn create_unit(
        &self,
        session: &SessionInfo,
        form: &UnitInput,
    ) -> Result<Unit, AppError> {
        session.require(Action::ManageUnits)?;
        let draft = self.parse_unit(form).await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        let unit = tx.create_unit(&draft).await.map_err(unit_refusal)?;
        tx.commit().await?;
        Ok(unit)
    }

    /// Saves a unit's form over `version`.
    pub async fn update_unit(
        &self,
        session: &SessionInfo,
        id: i64,
        version: Option<i64>,
        form: &UnitInput,
    ) -> Result<(), AppError> {
        session.require(Action::ViewUnit { unit_id: id })?;
        session.require(Action::ManageUnits)?;
        self.store.get_unit(id).await?;
        let version = version.ok_or_else(|| AppError::invalid(Message::key("units.no_version")))?;
        let draft = self.parse_unit(form).await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.update_unit(id, version, &draft)
            .await
            .map_err(unit_refusal)?;
        tx.commit().await?;
        Ok(())
    }

    /// Deactivates or reactivates a unit (it stays in the registry and in past periods).
    pub async fn set_unit_active(
        &self,
        session: &SessionInfo,
        id: i64,
        version: i64,
        active: bool,
    ) -> Result<(), AppError> {
        session.require(Action::ViewUnit { unit_id: id })?;
        session.require(Action::ManageUnits)?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_unit_active(id, version, active).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The unit groups.
    pub async fn unit_groups(&self, session: &SessionInfo) -> Result<Vec<UnitGroup>, AppError> {
        session.require(Action::ListUnits)?;
        Ok(self.store.list_groups().await?)
    }

    /// Creates a unit group.
    pub async fn create_group(
        &self,
        session: &SessionInfo,
        form: &GroupInput,
    ) -> Result<(), AppError> {
        session.require(Action::ManageUnits)?;
        let code = GroupCode::parse(&form.code)?;
        let name = parse_name(&form.name_vi, "name_vi")?;
        let name_en = if form.name_en.trim().is_empty() {
            None
        } else {
            Some(parse_name(&form.name_en, "name_en")?)
        };
        let sort_order = form.sort_order.trim().parse::<i64>().unwrap_or(0);
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.create_group(&code, &name, name_en.as_deref(), sort_order)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Parses and checks every row of an uploaded file. Nothing is saved to the registry; a
    /// clean file is kept (per user) until confirmed.
    pub async fn check_unit_import(
        &self,
        session: &SessionInfo,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportReport, AppError> {
        session.require(Action::ManageUnits)?;
        let parsed = parse_unit_import(bytes, &ImportLimits::default())
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let today = format_date_iso(time::OffsetDateTime::now_utc().date());
        let rows: Vec<ImportRow> = parsed
            .rows
            .iter()
            .map(|r| ImportRow {
                line: r.line,
                code: r.code.clone(),
                name_vi: r.name_vi.clone(),
                name_en: r.name_en.clone(),
                group_code: r.group_code.to_uppercase(),
                parent_code: r.parent_code.as_ref().map(|c| c.to_uppercase()),
                valid_from: r
                    .valid_from
                    .map(format_date_iso)
                    .unwrap_or_else(|| today.clone()),
                valid_to: r.valid_to.map(format_date_iso),
                successor_code: r.successor_code.as_ref().map(|c| c.to_uppercase()),
            })
            .collect();
        let mut problems: Vec<ImportProblem> = parsed
            .problems
            .iter()
            .map(|p| ImportProblem {
                line: p.line,
                column: p.column.clone(),
                message: p.message.clone(),
            })
            .collect();
        problems.extend(self.check_import_rows(&rows).await?);
        problems.sort_by_key(|p| p.line);
        if rows.is_empty() && problems.is_empty() {
            return Err(AppError::invalid(Message::key("import.empty")));
        }
        let stash_id = if problems.is_empty() {
            let payload = serde_json::to_string(&rows).map_err(AppError::internal)?;
            Some(
                self.store
                    .stash_import(session.user.id, STASH_KIND, file_name, &payload)
                    .await?,
            )
        } else {
            None
        };
        Ok(ImportReport {
            rows,
            problems,
            encoding: parsed.encoding.map(|e| e.label_vi().to_owned()),
            stash_id,
        })
    }

    /// Checks rows against the registry as it is now.
    async fn check_import_rows(&self, rows: &[ImportRow]) -> Result<Vec<ImportProblem>, AppError> {
        let existing: HashSet<String> = self
            .store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..Default::default()
            })
            .await?
            .into_iter()
            .map(|u| u.code)
            .collect();
        let groups: HashSet<String> = self
            .store
            .list_groups()
            .await?
            .into_iter()
            .map(|g| g.code)
            .collect();
        let candidates: Vec<ImportCandidate<'_>> = rows
            .iter()
            .map(|r| ImportCandidate {
                line: r.line,
                code: &r.code,
                group_code: &r.group_code,
                parent_code: r.parent_code.as_deref(),
                successor_code: r.successor_code.as_deref(),
            })
            .collect();
        Ok(check_import_references(&candidates, &existing, &groups))
    }

    /// Saves a checked import: every row in one transaction, or nothing. Returns how many
    /// units were created.
    pub async fn confirm_unit_import(
        &self,
        session: &SessionInfo,
        stash_id: i64,
    ) -> Result<usize, AppError> {
        session.require(Action::ManageUnits)?;
        let (_file_name, payload) = self
            .store
            .take_import(stash_id, session.user.id, STASH_KIND)
            .await?;
        let rows: Vec<ImportRow> = serde_json::from_str(&payload).map_err(AppError::internal)?;
        // The registry may have changed since the report: check again.
        if let Some(first) = self.check_import_rows(&rows).await?.first() {
            return Err(AppError::invalid(
                Message::key("import.changed_since_line")
                    .arg("line", first.line.to_string())
                    .arg("message", first.message.clone()),
            ));
        }
        let groups = self.store.list_groups().await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        let mut created: HashMap<String, i64> = HashMap::new();
        for row in &rows {
            let line = row.line.to_string();
            let invalid = |m: String| {
                AppError::invalid(
                    Message::key("import.row_problem")
                        .arg("line", line.clone())
                        .arg("message", m),
                )
            };
            let row_key =
                |key: &'static str| AppError::invalid(Message::key(key).arg("line", line.clone()));
            let find = async |code: &Option<String>,
                              created: &HashMap<String, i64>|
                   -> Result<Option<i64>, AppError> {
                match code {
                    None => Ok(None),
                    Some(c) => match created.get(c) {
                        Some(id) => Ok(Some(*id)),
                        None => Ok(self.store.find_unit_by_code(c).await?.map(|u| u.id)),
                    },
                }
            };
            let draft = UnitDraft {
                code: UnitCode::parse(&row.code).map_err(|e| invalid(e.message))?,
                name_vi: UnitName::parse(&row.name_vi).map_err(|e| invalid(e.message))?,
                name_en: row.name_en.clone(),
                group_id: groups
                    .iter()
                    .find(|g| g.code == row.group_code)
                    .map(|g| g.id)
                    .ok_or_else(|| row_key("import.row_no_group"))?,
                parent_id: find(&row.parent_code, &created).await?,
                valid_from: parse_date_vi(&row.valid_from)
                    .ok_or_else(|| row_key("import.row_bad_date"))?,
                valid_to: row.valid_to.as_deref().and_then(parse_date_vi),
                successor_id: find(&row.successor_code, &created).await?,
            };
            draft.check().map_err(|e| invalid(e.message))?;
            let unit = tx.create_unit(&draft).await?;
            created.insert(unit.code.clone(), unit.id);
        }
        tx.commit().await?;
        self.store.drop_import(stash_id).await?;
        Ok(rows.len())
    }
}
