//! Evaluation periods: their windows and settings, which set applies to which group, the units
//! taking part (extensions, submission, reopening), and the self-assessment leaf entries.

use parindex_domain::appraisal::{Rounds, Stage};
use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A period as stored. Serialised (into audit records) with the stored shape: `stage` and
/// `stage_round` as text and number, `appraisal_rounds` as a number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Period {
    pub id: i64,
    pub year: i64,
    pub name: String,
    pub self_open_at: i64,
    pub self_close_at: i64,
    pub explanation_due_at: Option<i64>,
    pub appraisal_open_at: Option<i64>,
    pub appraisal_close_at: Option<i64>,
    pub bonus_cap_milli: i64,
    pub penalty_cap_milli: i64,
    pub band_good_milli: i64,
    pub band_fair_milli: i64,
    pub band_average_milli: i64,
    pub version: i64,
    /// Appraisal rounds (default 2).
    #[serde(serialize_with = "serialize_rounds")]
    pub appraisal_rounds: Rounds,
    /// Where the period stands, read from the stored pair (`stage`, `stage_round`).
    #[serde(flatten, serialize_with = "serialize_stage")]
    pub stage: Stage,
    /// The approval decision (số quyết định, ngày ký dd/mm/yyyy, the signed PDF).
    pub decision_number: Option<String>,
    pub decision_date: Option<String>,
    pub decision_sha256: Option<String>,
    pub decision_file_name: Option<String>,
    pub decision_file_size: Option<i64>,
    pub published_at: Option<i64>,
    /// The survey's collection window, minimum sample, and whether groups are weighted.
    pub survey_open_at: Option<i64>,
    pub survey_close_at: Option<i64>,
    pub survey_min_sample: i64,
    pub survey_weighted: bool,
}

/// What the secretariat sets for a period.
#[derive(Debug, Clone)]
pub struct PeriodSettings {
    pub year: i64,
    pub name: String,
    pub self_open_at: i64,
    pub self_close_at: i64,
    pub explanation_due_at: Option<i64>,
    pub appraisal_open_at: Option<i64>,
    pub appraisal_close_at: Option<i64>,
    pub bonus_cap_milli: i64,
    pub penalty_cap_milli: i64,
    pub band_good_milli: i64,
    pub band_fair_milli: i64,
    pub band_average_milli: i64,
    pub appraisal_rounds: i64,
}

/// A unit's place in a period.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PeriodUnit {
    pub period_id: i64,
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub group_code: String,
    pub extension_until: Option<i64>,
    pub extension_reason: Option<String>,
    pub submitted_at: Option<i64>,
    pub submitted_by: Option<i64>,
    pub last_activity_at: Option<i64>,
    pub version: i64,
    /// The last explanation round the unit submitted (0: none).
    pub explanation_submitted_round: i64,
    pub explanation_submitted_at: Option<i64>,
    /// Set while the published unit is reopened for a correction.
    pub correction_reason: Option<String>,
    pub correction_opened_at: Option<i64>,
}

/// One saved leaf of a unit's self-assessment.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LeafEntry {
    pub leaf_code: String,
    pub input_json: String,
    /// Thousandths of a point; None when not applicable.
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub explanation: String,
    pub note: String,
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_at: i64,
}

/// A leaf entry to save: the facts, the server's score and explanation, the unit's note.
#[derive(Debug, Clone)]
pub struct LeafEntryWrite {
    pub input_json: String,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub explanation: String,
    pub note: String,
}

const PERIOD_SELECT: &str = "SELECT id, year, name, self_open_at, self_close_at, explanation_due_at, appraisal_open_at, appraisal_close_at, \
     bonus_cap_milli, penalty_cap_milli, band_good_milli, band_fair_milli, band_average_milli, version, \
     appraisal_rounds, stage, stage_round, decision_number, decision_date, decision_sha256, decision_file_name, decision_file_size, published_at, \
     survey_open_at, survey_close_at, survey_min_sample, survey_weighted FROM periods";

fn serialize_rounds<S: serde::Serializer>(rounds: &Rounds, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_i64(i64::from(rounds.get()))
}

fn serialize_stage<S: serde::Serializer>(stage: &Stage, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let (code, round) = stage.stored();
    let mut map = s.serialize_map(Some(2))?;
    map.serialize_entry("stage", code)?;
    map.serialize_entry("stage_round", &round)?;
    map.end()
}

/// The stored stage pair as a [`Stage`]; an unknown pair is a decoding error, not a default.
pub(crate) fn decode_stage(code: String, round: i64) -> Result<Stage, sqlx::Error> {
    Stage::from_stored(&code, round)
        .ok_or_else(|| sqlx::Error::Decode(format!("unknown period stage {code}/{round}").into()))
}

/// The stored number of appraisal rounds as [`Rounds`]; out of range is a decoding error.
pub(crate) fn decode_rounds(n: i64) -> Result<Rounds, sqlx::Error> {
    Rounds::parse(n)
        .map_err(|_| sqlx::Error::Decode(format!("appraisal rounds out of range: {n}").into()))
}

fn period_from_row(row: &sqlx::any::AnyRow) -> Result<Period, sqlx::Error> {
    Ok(Period {
        id: row.try_get("id")?,
        year: row.try_get("year")?,
        name: row.try_get("name")?,
        self_open_at: row.try_get("self_open_at")?,
        self_close_at: row.try_get("self_close_at")?,
        explanation_due_at: row.try_get("explanation_due_at")?,
        appraisal_open_at: row.try_get("appraisal_open_at")?,
        appraisal_close_at: row.try_get("appraisal_close_at")?,
        bonus_cap_milli: row.try_get("bonus_cap_milli")?,
        penalty_cap_milli: row.try_get("penalty_cap_milli")?,
        band_good_milli: row.try_get("band_good_milli")?,
        band_fair_milli: row.try_get("band_fair_milli")?,
        band_average_milli: row.try_get("band_average_milli")?,
        version: row.try_get("version")?,
        appraisal_rounds: decode_rounds(row.try_get("appraisal_rounds")?)?,
        stage: decode_stage(row.try_get("stage")?, row.try_get("stage_round")?)?,
        decision_number: row.try_get("decision_number")?,
        decision_date: row.try_get("decision_date")?,
        decision_sha256: row.try_get("decision_sha256")?,
        decision_file_name: row.try_get("decision_file_name")?,
        decision_file_size: row.try_get("decision_file_size")?,
        published_at: row.try_get("published_at")?,
        survey_open_at: row.try_get("survey_open_at")?,
        survey_close_at: row.try_get("survey_close_at")?,
        survey_min_sample: row.try_get("survey_min_sample")?,
        survey_weighted: row.try_get::<i64, _>("survey_weighted")? != 0,
    })
}

const PERIOD_UNIT_SELECT: &str = "SELECT pu.period_id, pu.unit_id, u.code AS unit_code, u.name_vi AS unit_name, g.code AS group_code, pu.extension_until, pu.extension_reason, pu.submitted_at, \
     pu.submitted_by, pu.last_activity_at, pu.version, pu.explanation_submitted_round, pu.explanation_submitted_at, pu.correction_reason, pu.correction_opened_at \
     FROM period_units pu JOIN units u ON u.id = pu.unit_id JOIN unit_groups g ON g.id = u.group_id";

fn period_unit_from_row(row: &sqlx::any::AnyRow) -> Result<PeriodUnit, sqlx::Error> {
    Ok(PeriodUnit {
        period_id: row.try_get("period_id")?,
        unit_id: row.try_get("unit_id")?,
        unit_code: row.try_get("unit_code")?,
        unit_name: row.try_get("unit_name")?,
        group_code: row.try_get("group_code")?,
        extension_until: row.try_get("extension_until")?,
        extension_reason: row.try_get("extension_reason")?,
        submitted_at: row.try_get("submitted_at")?,
        submitted_by: row.try_get("submitted_by")?,
        last_activity_at: row.try_get("last_activity_at")?,
        version: row.try_get("version")?,
        explanation_submitted_round: row.try_get("explanation_submitted_round")?,
        explanation_submitted_at: row.try_get("explanation_submitted_at")?,
        correction_reason: row.try_get("correction_reason")?,
        correction_opened_at: row.try_get("correction_opened_at")?,
    })
}

const ENTRY_SELECT: &str = "SELECT leaf_code, input_json, score_milli, not_applicable, explanation, note, version, updated_by, updated_at FROM leaf_entries";

fn entry_from_row(row: &sqlx::any::AnyRow) -> Result<LeafEntry, sqlx::Error> {
    Ok(LeafEntry {
        leaf_code: row.try_get("leaf_code")?,
        input_json: row.try_get("input_json")?,
        score_milli: row.try_get("score_milli")?,
        not_applicable: row.try_get::<i64, _>("not_applicable")? != 0,
        explanation: row.try_get("explanation")?,
        note: row.try_get("note")?,
        version: row.try_get("version")?,
        updated_by: row.try_get("updated_by")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn list_periods(&self) -> Result<Vec<Period>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERIOD_SELECT} ORDER BY year DESC, id DESC"
        )))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(period_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn get_period(&self, id: i64) -> Result<Period, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERIOD_SELECT} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(period_from_row(&row)?)
    }

    /// (unit group, index set id) pairs of a period.
    pub async fn period_sets(&self, period_id: i64) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query("SELECT unit_group, index_set_id FROM period_sets WHERE period_id = $1 ORDER BY unit_group")
            .bind(period_id)
            .fetch_all(self.pool())
            .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("unit_group")?, r.try_get("index_set_id")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    pub async fn period_units(&self, period_id: i64) -> Result<Vec<PeriodUnit>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERIOD_UNIT_SELECT} WHERE pu.period_id = $1 ORDER BY g.sort_order, g.code, u.code"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(period_unit_from_row)
            .collect::<Result<_, _>>()?)
    }

    pub async fn period_unit(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<PeriodUnit, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERIOD_UNIT_SELECT} WHERE pu.period_id = $1 AND pu.unit_id = $2"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(period_unit_from_row(&row)?)
    }

    /// The periods a unit takes part in, newest first.
    pub async fn periods_of_unit(&self, unit_id: i64) -> Result<Vec<Period>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PERIOD_SELECT} WHERE id IN (SELECT period_id FROM period_units WHERE unit_id = $1) ORDER BY year DESC, id DESC"
        )))
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(period_from_row).collect::<Result<_, _>>()?)
    }

    pub async fn leaf_entries(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<LeafEntry>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE period_id = $1 AND unit_id = $2 ORDER BY leaf_code"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
    }

    /// Every leaf entry of a period, as (unit id, entry), for computing all results at once.
    pub async fn period_leaf_entries(
        &self,
        period_id: i64,
    ) -> Result<Vec<(i64, LeafEntry)>, StoreError> {
        let select = ENTRY_SELECT.replace(" FROM leaf_entries", ", unit_id FROM leaf_entries");
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{select} WHERE period_id = $1 ORDER BY unit_id, leaf_code"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>("unit_id")?, entry_from_row(r)?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    pub async fn leaf_entry(
        &self,
        period_id: i64,
        unit_id: i64,
        code: &str,
    ) -> Result<Option<LeafEntry>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE period_id = $1 AND unit_id = $2 AND leaf_code = $3"
        )))
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(entry_from_row).transpose()?)
    }
}

impl WriteTx {
    /// Creates a period with its sets and participating units.
    pub async fn create_period(
        &mut self,
        settings: &PeriodSettings,
        sets: &[(String, i64)],
        unit_ids: &[i64],
    ) -> Result<Period, StoreError> {
        let now = crate::now_ms();
        let row = sqlx::query(
            "INSERT INTO periods (year, name, self_open_at, self_close_at, explanation_due_at, appraisal_open_at, appraisal_close_at, \
             bonus_cap_milli, penalty_cap_milli, band_good_milli, band_fair_milli, band_average_milli, appraisal_rounds, version, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 1, $14, $14) RETURNING id",
        )
        .bind(settings.year)
        .bind(&settings.name)
        .bind(settings.self_open_at)
        .bind(settings.self_close_at)
        .bind(settings.explanation_due_at)
        .bind(settings.appraisal_open_at)
        .bind(settings.appraisal_close_at)
        .bind(settings.bonus_cap_milli)
        .bind(settings.penalty_cap_milli)
        .bind(settings.band_good_milli)
        .bind(settings.band_fair_milli)
        .bind(settings.band_average_milli)
        .bind(settings.appraisal_rounds)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| StoreError::unique_as(e, "name", format!("Kỳ đánh giá «{}» đã tồn tại", settings.name)))?;
        let id: i64 = row.try_get("id")?;
        for (group, set_id) in sets {
            let published =
                sqlx::query("SELECT id FROM index_sets WHERE id = $1 AND status = 'published'")
                    .bind(set_id)
                    .fetch_optional(&mut *self.tx)
                    .await?;
            if published.is_none() {
                return Err(StoreError::Invalid(format!(
                    "Nhóm {group}: chỉ dùng được bộ chỉ số đã ban hành"
                )));
            }
            sqlx::query(
                "INSERT INTO period_sets (period_id, unit_group, index_set_id) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(group)
            .bind(set_id)
            .execute(&mut *self.tx)
            .await?;
        }
        for unit_id in unit_ids {
            sqlx::query(
                "INSERT INTO period_units (period_id, unit_id, version) VALUES ($1, $2, 1)",
            )
            .bind(id)
            .bind(unit_id)
            .execute(&mut *self.tx)
            .await?;
        }
        let period = {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{PERIOD_SELECT} WHERE id = $1"
            )))
            .bind(id)
            .fetch_one(&mut *self.tx)
            .await?;
            period_from_row(&row)?
        };
        self.audit(
            "period.create",
            "period",
            id,
            None,
            Some(serde_json::json!({ "period": &period, "sets": sets, "units": unit_ids })),
        )
        .await?;
        Ok(period)
    }

    /// Grants (or withdraws, with `until = None`) a unit's extension, with its reason.
    pub async fn set_extension(
        &mut self,
        period_id: i64,
        unit_id: i64,
        until: Option<i64>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let before = sqlx::query("SELECT extension_until, extension_reason FROM period_units WHERE period_id = $1 AND unit_id = $2")
            .bind(period_id)
            .bind(unit_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let old_until: Option<i64> = before.try_get("extension_until")?;
        let old_reason: Option<String> = before.try_get("extension_reason")?;
        sqlx::query(
            "UPDATE period_units SET extension_until = $1, extension_reason = $2, version = version + 1 WHERE period_id = $3 AND unit_id = $4",
        )
        .bind(until)
        .bind(until.map(|_| reason))
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "period_unit.extension",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            Some(serde_json::json!({ "until": old_until, "reason": old_reason })),
            Some(serde_json::json!({ "until": until, "reason": reason })),
        )
        .await?;
        Ok(())
    }

    /// Claims a unit's sheet for a self-assessment write inside this transaction, and says
    /// whether the write may go ahead (`Ok(Err(_))`: refused, roll back). The handler checked
    /// the same rule before reading the body; this re-reads the submission, the extension,
    /// the window and the stage in the write's own transaction, after touching the unit's row
    /// (which locks it on PostgreSQL and waits for a concurrent submission; SQLite has one
    /// writer), so a submission or a deadline between the check and the write cannot slip
    /// through. A write after submission is refused even if the handler's check raced.
    pub async fn claim_self_assessment(
        &mut self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Result<(), parindex_domain::workflow::SelfWriteRefusal>, StoreError> {
        let now = crate::now_ms();
        let touched = sqlx::query(
            "UPDATE period_units SET last_activity_at = $1 WHERE period_id = $2 AND unit_id = $3",
        )
        .bind(now)
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if touched != 1 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query(
            "SELECT p.stage, p.stage_round, p.self_open_at AS opens_at, p.self_close_at AS closes_at, pu.extension_until, pu.submitted_at \
             FROM period_units pu JOIN periods p ON p.id = pu.period_id WHERE pu.period_id = $1 AND pu.unit_id = $2",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let stage_code: String = row.try_get("stage")?;
        let stage_round: i64 = row.try_get("stage_round")?;
        let stage = parindex_domain::appraisal::Stage::from_stored(&stage_code, stage_round)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("period stage {stage_code}/{stage_round}"))
            })?;
        let window = parindex_domain::workflow::SelfAssessmentWindow {
            opens_at: row.try_get("opens_at")?,
            closes_at: row.try_get("closes_at")?,
            extension_until: row.try_get("extension_until")?,
            submitted_at: row.try_get("submitted_at")?,
        };
        Ok(parindex_domain::workflow::check_self_write(
            stage, &window, now,
        ))
    }

    /// Saves one leaf if nobody saved it since `expected_version` (0 for a first save).
    /// On a conflict returns `Stale`; the caller shows the current value.
    pub async fn save_leaf_entry(
        &mut self,
        period_id: i64,
        unit_id: i64,
        code: &str,
        expected_version: i64,
        entry: &LeafEntryWrite,
    ) -> Result<i64, StoreError> {
        let user = self.actor().user_id;
        let now = crate::now_ms();
        let before = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ENTRY_SELECT} WHERE period_id = $1 AND unit_id = $2 AND leaf_code = $3"
        )))
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(entry_from_row)
        .transpose()?;
        let new_version = match &before {
            None if expected_version == 0 => {
                sqlx::query(
                    "INSERT INTO leaf_entries (period_id, unit_id, leaf_code, input_json, score_milli, not_applicable, explanation, note, version, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10) ON CONFLICT (period_id, unit_id, leaf_code) DO NOTHING",
                )
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(&entry.input_json)
                .bind(entry.score_milli)
                .bind(i64::from(entry.not_applicable))
                .bind(&entry.explanation)
                .bind(&entry.note)
                .bind(user)
                .bind(now)
                .execute(&mut *self.tx)
                .await?
                .rows_affected()
                .eq(&1)
                .then_some(1)
                .ok_or(StoreError::Stale)?
            }
            Some(current) if current.version == expected_version => {
                let result = sqlx::query(
                    "UPDATE leaf_entries SET input_json = $1, score_milli = $2, not_applicable = $3, explanation = $4, note = $5, version = version + 1, \
                     updated_by = $6, updated_at = $7 WHERE period_id = $8 AND unit_id = $9 AND leaf_code = $10 AND version = $11",
                )
                .bind(&entry.input_json)
                .bind(entry.score_milli)
                .bind(i64::from(entry.not_applicable))
                .bind(&entry.explanation)
                .bind(&entry.note)
                .bind(user)
                .bind(now)
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(expected_version)
                .execute(&mut *self.tx)
                .await?;
                if result.rows_affected() != 1 {
                    return Err(StoreError::Stale);
                }
                expected_version + 1
            }
            _ => return Err(StoreError::Stale),
        };
        sqlx::query(
            "UPDATE period_units SET last_activity_at = $1 WHERE period_id = $2 AND unit_id = $3",
        )
        .bind(now)
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?;
        let view = |e: &LeafEntryWrite| {
            serde_json::json!({ "input": serde_json::from_str::<serde_json::Value>(&e.input_json).unwrap_or_default(),
                "score_milli": e.score_milli, "not_applicable": e.not_applicable, "note": e.note })
        };
        let before_view = before.as_ref().map(|b| {
            serde_json::json!({ "input": serde_json::from_str::<serde_json::Value>(&b.input_json).unwrap_or_default(),
                "score_milli": b.score_milli, "not_applicable": b.not_applicable, "note": b.note, "version": b.version })
        });
        crate::appraisal::append_history(
            self,
            crate::appraisal::HistoryRow {
                period_id,
                unit_id,
                leaf_code: code,
                stage: "self",
                round: 0,
                score_milli: entry.score_milli,
                not_applicable: entry.not_applicable,
                detail: &entry.explanation,
                reason: &entry.note,
            },
        )
        .await?;
        self.audit(
            "self_assessment.save_leaf",
            "leaf_entry",
            format!("{period_id}/{unit_id}/{code}"),
            before_view,
            Some(view(entry)),
        )
        .await?;
        Ok(new_version)
    }

    /// Records the unit's submission (chốt điểm tự chấm); refused if already submitted.
    pub async fn submit_self_assessment(
        &mut self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let result = sqlx::query(
            "UPDATE period_units SET submitted_at = $1, submitted_by = $2, version = version + 1 WHERE period_id = $3 AND unit_id = $4 AND submitted_at IS NULL",
        )
        .bind(now)
        .bind(self.actor().user_id)
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Invalid("Đơn vị đã nộp điểm tự chấm rồi".into()));
        }
        self.audit(
            "self_assessment.submit",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            Some(serde_json::json!({ "submitted_at": null })),
            Some(serde_json::json!({ "submitted_at": now })),
        )
        .await?;
        Ok(())
    }

    /// Reopens a submitted unit, with the secretariat's reason (audited).
    pub async fn reopen_self_assessment(
        &mut self,
        period_id: i64,
        unit_id: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let before = sqlx::query(
            "SELECT submitted_at FROM period_units WHERE period_id = $1 AND unit_id = $2",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let submitted_at: Option<i64> = before.try_get("submitted_at")?;
        if submitted_at.is_none() {
            return Err(StoreError::Invalid(
                "Đơn vị chưa nộp nên không cần mở lại".into(),
            ));
        }
        sqlx::query(
            "UPDATE period_units SET submitted_at = NULL, submitted_by = NULL, version = version + 1 WHERE period_id = $1 AND unit_id = $2",
        )
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "self_assessment.reopen",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            Some(serde_json::json!({ "submitted_at": submitted_at })),
            Some(serde_json::json!({ "submitted_at": null, "reason": reason })),
        )
        .await?;
        Ok(())
    }
}
