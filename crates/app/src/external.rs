//! External values (điểm do cơ quan khác cung cấp): the matrix of units × external leaves,
//! direct entry per cell, and the file import that is checked row by row, kept as a pending
//! import, and saved only when every row is good and the user confirms, in one transaction.

use std::collections::HashMap;
use std::sync::Arc;

use parindex_domain::appraisal::{Stage, check_external_write};
use parindex_domain::authz::provider_is_agency;
use parindex_domain::{Action, Points, Role};
use parindex_formats::external_import::{ExternalRow, parse_external_import};
use parindex_store::appraisal::{ExternalValue, ExternalWrite};
use parindex_store::periods::{Period, PeriodUnit};

use crate::App;
use crate::error::{AppError, Message};
use crate::evaluation::{LoadedSet, external_provider, stage_of};
use crate::sheet::Caller;

/// The provenance source of a value typed on the matrix page.
pub const DIRECT_SOURCE: &str = "Nhập trực tiếp";
/// Kind of the pending import row.
const IMPORT_KIND: &str = "external";
/// Longest note kept.
const MAX_NOTE_CHARS: usize = 2000;

/// The agency an external data provider's grant names: it writes only the leaves whose
/// provider (in the index set) is this agency.
struct Agency {
    code: String,
    name: String,
}

/// A period with what checking external values needs: its units, each group's set, and
/// (for a provider) the agency whose leaves the user may write.
struct Context {
    period: Period,
    stage: Stage,
    units: Vec<PeriodUnit>,
    sets: HashMap<String, Arc<LoadedSet>>,
    /// None: every external leaf (the secretariat, the administrator).
    agency: Option<Agency>,
}

/// An external leaf of a group's set.
#[derive(Debug, Clone)]
pub struct ExternalLeaf {
    pub code: String,
    pub title: String,
    pub max: Points,
    pub provider: String,
}

/// One cell of the matrix.
pub struct Cell {
    pub unit_id: i64,
    pub code: String,
    pub value: Option<ExternalValue>,
    /// Whether the reader may write the cell (a provider writes its agency's leaves only).
    pub editable: bool,
}

/// A group of the matrix: its external leaves and a row per unit.
pub struct MatrixGroup {
    pub group: String,
    pub leaves: Vec<ExternalLeaf>,
    pub units: Vec<(PeriodUnit, Vec<Cell>)>,
}

/// The matrix of a period.
pub struct Matrix {
    pub period: Period,
    pub stage: Stage,
    /// Why nothing may be written now, if so.
    pub refusal: Option<Message>,
    pub groups: Vec<MatrixGroup>,
}

/// One row of a file checked against the period.
#[derive(Debug, Clone)]
pub struct CheckedRow {
    pub row: ExternalRow,
    pub unit_name: String,
    /// Set when the row is good.
    pub write: Option<ExternalWrite>,
    pub problems: Vec<Message>,
}

/// A checked file: every row, and the token to confirm it with when every row is good.
pub struct ImportPreview {
    /// The file's text encoding (None: an Excel workbook).
    pub encoding: Option<&'static str>,
    pub rows: Vec<CheckedRow>,
    pub bad: usize,
    pub token: Option<i64>,
}

impl Context {
    /// Why this user may not write a leaf that `provider` provides, if so.
    fn agency_refusal(&self, leaf_code: &str, provider: &str) -> Option<Message> {
        let agency = self.agency.as_ref()?;
        if provider_is_agency(provider, &agency.code, &agency.name) {
            return None;
        }
        Some(if agency.name.is_empty() {
            Message::key("external.no_agency")
                .arg("code", leaf_code)
                .arg("provider", provider)
        } else {
            Message::key("external.other_agency")
                .arg("code", leaf_code)
                .arg("provider", provider)
                .arg("agency", agency.name.clone())
        })
    }

    /// The writes are refused outside the stages that take external values.
    fn write_check(&self) -> Result<(), AppError> {
        check_external_write(self.stage).map_err(|r| AppError::forbidden(r.to_string()))
    }

    /// The external leaves of a group's set that apply to the group.
    fn external_leaves(&self, group: &str) -> Vec<ExternalLeaf> {
        let Some(set) = self.sets.get(group) else {
            return Vec::new();
        };
        set.leaves()
            .filter(|leaf| {
                set.index_of(&leaf.code)
                    .is_some_and(|i| set.applies_to_group(i, group))
            })
            .filter_map(|leaf| {
                external_provider(leaf).map(|provider| ExternalLeaf {
                    code: leaf.code.clone(),
                    title: leaf.title.clone(),
                    max: leaf.max,
                    provider: provider.to_owned(),
                })
            })
            .collect()
    }

    /// Checks one value for a unit and leaf; the write when good, or the problems.
    fn check_value(
        &self,
        unit: &PeriodUnit,
        leaf_code: &str,
        points_text: &str,
        note: &str,
        source: &str,
    ) -> Result<ExternalWrite, Vec<Message>> {
        let mut problems = Vec::new();
        let group = &unit.group_code;
        let node = match self.sets.get(group) {
            None => {
                problems.push(Message::key("external.group_without_set").arg("group", group));
                None
            }
            Some(set) => match set.node(leaf_code) {
                None if leaf_code.is_empty() => {
                    problems.push(Message::key("external.no_leaf_code"));
                    None
                }
                None => {
                    problems.push(
                        Message::key("external.unknown_leaf")
                            .arg("code", leaf_code)
                            .arg("group", group),
                    );
                    None
                }
                Some(node) => match external_provider(node) {
                    None => {
                        problems.push(Message::key("external.not_external").arg("code", leaf_code));
                        None
                    }
                    Some(_)
                        if !set
                            .index_of(leaf_code)
                            .is_some_and(|i| set.applies_to_group(i, group)) =>
                    {
                        problems.push(
                            Message::key("external.not_for_group")
                                .arg("code", leaf_code)
                                .arg("group", group),
                        );
                        None
                    }
                    Some(provider) => {
                        if let Some(refusal) = self.agency_refusal(leaf_code, provider) {
                            problems.push(refusal);
                        }
                        Some((node.max, provider.to_owned()))
                    }
                },
            },
        };
        let points = if points_text.trim().is_empty() {
            problems.push(Message::key("external.no_points"));
            None
        } else {
            match Points::parse(points_text) {
                None => {
                    problems
                        .push(Message::key("external.points_not_number").arg("text", points_text));
                    None
                }
                Some(p) if p.is_negative() => {
                    problems.push(Message::key("external.points_negative"));
                    None
                }
                Some(p) if p.decimal_places() > 3 => {
                    problems.push(Message::key("external.points_too_precise"));
                    None
                }
                Some(p) => Some(p),
            }
        };
        if let (Some(points), Some((max, _))) = (points, &node)
            && points > *max
        {
            problems.push(
                Message::key("external.points_over_max")
                    .arg("points", points.exact_vi())
                    .arg("max", max.exact_vi())
                    .arg("code", leaf_code),
            );
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let (Some(points), Some((_, provider))) = (points, node) else {
            return Err(vec![Message::key("external.invalid_value")]);
        };
        let Some(score_milli) = points.to_millipoints() else {
            return Err(vec![Message::key("external.points_too_precise")]);
        };
        Ok(ExternalWrite {
            unit_id: unit.unit_id,
            leaf_code: leaf_code.to_owned(),
            score_milli,
            provider,
            source: source.to_owned(),
            note: note.chars().take(MAX_NOTE_CHARS).collect(),
        })
    }

    /// Checks every row of a file against the period (all problems of every row).
    fn check_rows(&self, rows: &[ExternalRow], source: &str) -> Vec<CheckedRow> {
        let units: HashMap<&str, &PeriodUnit> = self
            .units
            .iter()
            .map(|u| (u.unit_code.as_str(), u))
            .collect();
        let mut first_row: HashMap<(String, String), usize> = HashMap::new();
        rows.iter()
            .map(|row| {
                let mut problems = Vec::new();
                let key = (row.unit_code.clone(), row.leaf_code.clone());
                if let Some(first) = first_row.get(&key) {
                    problems.push(
                        Message::key("external.duplicate_row")
                            .arg("unit", row.unit_code.clone())
                            .arg("code", row.leaf_code.clone())
                            .arg("row", first.to_string()),
                    );
                } else {
                    first_row.insert(key, row.row_number);
                }
                let unit = units.get(row.unit_code.as_str());
                let mut write = None;
                match unit {
                    None if row.unit_code.is_empty() => {
                        problems.push(Message::key("external.no_unit_code"))
                    }
                    None => problems.push(
                        Message::key("external.unknown_unit").arg("unit", row.unit_code.clone()),
                    ),
                    Some(unit) => match self.check_value(
                        unit,
                        &row.leaf_code,
                        &row.points_text,
                        &row.note,
                        source,
                    ) {
                        Ok(w) => write = Some(w),
                        Err(mut p) => problems.append(&mut p),
                    },
                }
                CheckedRow {
                    row: row.clone(),
                    unit_name: unit.map(|u| u.unit_name.clone()).unwrap_or_default(),
                    write: if problems.is_empty() { write } else { None },
                    problems,
                }
            })
            .collect()
    }
}

impl App {
    /// The agency of a provider's grant; None for the roles that write every external leaf.
    /// A provider grant that names no unit (granted before agencies were required) names an
    /// agency that provides nothing, so it writes nothing.
    async fn agency_of(&self, caller: &Caller) -> Result<Option<Agency>, AppError> {
        if caller.role() != Role::ExternalProvider {
            return Ok(None);
        }
        Ok(Some(match caller.actor.grant.unit_id {
            Some(unit_id) => {
                let unit = self.store.get_unit(unit_id).await?;
                Agency {
                    code: unit.code,
                    name: unit.name_vi,
                }
            }
            None => Agency {
                code: String::new(),
                name: String::new(),
            },
        }))
    }

    async fn external_context(&self, caller: &Caller, period_id: i64) -> Result<Context, AppError> {
        caller.require(Action::EnterExternalValues)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        let units = self.store.period_units(period_id).await?;
        let mut sets = HashMap::new();
        for (group, set_id) in self.store.period_sets(period_id).await? {
            sets.insert(group, self.published_set(set_id).await?);
        }
        Ok(Context {
            period,
            stage,
            units,
            sets,
            agency: self.agency_of(caller).await?,
        })
    }

    /// The periods to enter external values for, with their stage (None if unreadable).
    pub async fn external_periods(
        &self,
        caller: &Caller,
    ) -> Result<Vec<(Period, Option<Stage>)>, AppError> {
        caller.require(Action::EnterExternalValues)?;
        Ok(self
            .store
            .list_periods()
            .await?
            .into_iter()
            .map(|p| {
                let stage = stage_of(&p).ok().map(|(s, _)| s);
                (p, stage)
            })
            .collect())
    }

    /// The matrix of units × external leaves with values and provenance.
    pub async fn external_matrix(
        &self,
        caller: &Caller,
        period_id: i64,
    ) -> Result<Matrix, AppError> {
        let ctx = self.external_context(caller, period_id).await?;
        let mut values: HashMap<(i64, String), ExternalValue> = self
            .store
            .external_values(period_id, None)
            .await?
            .into_iter()
            .map(|v| ((v.unit_id, v.leaf_code.clone()), v))
            .collect();
        let mut group_codes: Vec<&String> = ctx.sets.keys().collect();
        group_codes.sort();
        let groups = group_codes
            .into_iter()
            .map(|group| {
                let leaves = ctx.external_leaves(group);
                let units = ctx
                    .units
                    .iter()
                    .filter(|u| &u.group_code == group)
                    .map(|u| {
                        let cells = leaves
                            .iter()
                            .map(|leaf| Cell {
                                unit_id: u.unit_id,
                                code: leaf.code.clone(),
                                value: values.remove(&(u.unit_id, leaf.code.clone())),
                                editable: ctx.agency_refusal(&leaf.code, &leaf.provider).is_none(),
                            })
                            .collect();
                        (u.clone(), cells)
                    })
                    .collect();
                MatrixGroup {
                    group: group.clone(),
                    leaves,
                    units,
                }
            })
            .collect();
        Ok(Matrix {
            refusal: match ctx.write_check() {
                Err(AppError::Forbidden(Some(reason))) => Some(reason),
                _ => None,
            },
            period: ctx.period,
            stage: ctx.stage,
            groups,
        })
    }

    /// Saves one value typed on the matrix page.
    pub async fn save_external_value(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        code: &str,
        points: &str,
        note: &str,
    ) -> Result<(), AppError> {
        let ctx = self.external_context(caller, period_id).await?;
        ctx.write_check()?;
        let unit = ctx
            .units
            .iter()
            .find(|u| u.unit_id == unit_id)
            .ok_or(AppError::NotFound)?;
        // Another agency's leaf is not this provider's to write: refused, not bad input.
        if let Some(refusal) = ctx
            .sets
            .get(&unit.group_code)
            .and_then(|set| set.node(code))
            .and_then(external_provider)
            .and_then(|provider| ctx.agency_refusal(code, provider))
        {
            return Err(AppError::forbidden(refusal));
        }
        let write = ctx
            .check_value(unit, code, points, note.trim(), DIRECT_SOURCE)
            .map_err(|problems| AppError::Invalid {
                message: Message::key("external.problems")
                    .arg("problems", problems.len().to_string()),
                fields: problems
                    .into_iter()
                    .map(|message| crate::FieldError {
                        field: String::new(),
                        message,
                    })
                    .collect(),
            })?;
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        tx.save_external_values(period_id, &[write]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The early check of an import, before the file is read; the period.
    pub async fn check_external_import(
        &self,
        caller: &Caller,
        period_id: i64,
    ) -> Result<Period, AppError> {
        let ctx = self.external_context(caller, period_id).await?;
        ctx.write_check()?;
        Ok(ctx.period)
    }

    /// Checks every row of a file; nothing is saved. A clean file is kept as a pending
    /// import until the user confirms it.
    pub async fn preview_external_import(
        &self,
        caller: &Caller,
        period_id: i64,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<ImportPreview, AppError> {
        let ctx = self.external_context(caller, period_id).await?;
        ctx.write_check()?;
        let parsed = parse_external_import(bytes).map_err(|e| AppError::invalid(e.to_string()))?;
        if parsed.rows.is_empty() {
            return Err(AppError::invalid(Message::key("external.empty")));
        }
        let rows = ctx.check_rows(&parsed.rows, file_name);
        let bad = rows.iter().filter(|c| !c.problems.is_empty()).count();
        let token = if bad == 0 {
            let payload = serde_json::to_string(&parsed.rows).map_err(AppError::internal)?;
            Some(
                self.store
                    .stash_import(caller.user_id(), IMPORT_KIND, file_name, &payload)
                    .await?,
            )
        } else {
            None
        };
        Ok(ImportPreview {
            encoding: parsed.encoding.map(|e| e.label_vi()),
            rows,
            bad,
            token,
        })
    }

    /// Saves a checked import: every row in one transaction, or nothing. The period may
    /// have changed since the preview, so every row is checked again.
    pub async fn confirm_external_import(
        &self,
        caller: &Caller,
        period_id: i64,
        token: i64,
    ) -> Result<(), AppError> {
        let ctx = self.external_context(caller, period_id).await?;
        ctx.write_check()?;
        let (file_name, payload) = self
            .store
            .take_import(token, caller.user_id(), IMPORT_KIND)
            .await?;
        let rows: Vec<ExternalRow> = serde_json::from_str(&payload).map_err(AppError::internal)?;
        let checked = ctx.check_rows(&rows, &file_name);
        if let Some(bad) = checked.iter().find(|c| !c.problems.is_empty()) {
            return Err(AppError::Invalid {
                message: Message::key("external.changed_since_row")
                    .arg("row", bad.row.row_number.to_string()),
                fields: bad
                    .problems
                    .iter()
                    .cloned()
                    .map(|message| crate::FieldError {
                        field: String::new(),
                        message,
                    })
                    .collect(),
            });
        }
        let writes: Vec<ExternalWrite> = checked.into_iter().filter_map(|c| c.write).collect();
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        tx.save_external_values(period_id, &writes).await?;
        tx.commit().await?;
        self.store.drop_import(token).await?;
        Ok(())
    }
}
