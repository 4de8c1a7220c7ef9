//! Reads the sheet and explanation use cases make inside their own write transaction, so that
//! a stage, deadline or submission that changed after the early check still refuses the write.

use sqlx::Row;

use crate::WriteTx;
use crate::error::StoreError;

/// What an explanation write (an answer, supplementary evidence) is checked against, read
/// inside the write's transaction after the unit's row was touched (locked on PostgreSQL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplanationClaim {
    /// The period's stage code and round as stored (`explanation`, 1).
    pub stage: String,
    pub stage_round: i64,
    /// The period's default deadline (round 1 falls back on it).
    pub period_due_at: Option<i64>,
    /// The deadline the secretariat set for the open round, if any.
    pub round_due_at: Option<i64>,
    /// The unit's extension of the open round, if any.
    pub extension_until: Option<i64>,
    /// The last round whose explanations the unit submitted.
    pub submitted_round: i64,
    /// Whether the leaf was flagged "needs explanation" in the open round.
    pub flagged: bool,
}

impl WriteTx {
    /// Claims a unit's explanation of `leaf_code` for a write inside this transaction: touches
    /// the unit's row (which waits for a concurrent submission on PostgreSQL; SQLite has one
    /// writer), then reads the stage, the deadlines, the submission and the flag again.
    pub async fn claim_explanation(
        &mut self,
        period_id: i64,
        unit_id: i64,
        leaf_code: &str,
    ) -> Result<ExplanationClaim, StoreError> {
        let touched = sqlx::query(
            "UPDATE period_units SET last_activity_at = $1 WHERE period_id = $2 AND unit_id = $3",
        )
        .bind(crate::now_ms())
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if touched != 1 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query(
            "SELECT p.stage AS stage, p.stage_round AS stage_round, p.explanation_due_at AS period_due_at, \
             pu.explanation_submitted_round AS submitted_round \
             FROM period_units pu JOIN periods p ON p.id = pu.period_id WHERE pu.period_id = $1 AND pu.unit_id = $2",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let stage: String = row.try_get("stage")?;
        let stage_round: i64 = row.try_get("stage_round")?;
        let period_due_at: Option<i64> = row.try_get("period_due_at")?;
        let submitted_round: i64 = row.try_get("submitted_round")?;
        let round_due_at: Option<i64> = sqlx::query(
            "SELECT due_at FROM explanation_deadlines WHERE period_id = $1 AND round = $2",
        )
        .bind(period_id)
        .bind(stage_round)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| r.try_get("due_at"))
        .transpose()?;
        let extension_until: Option<i64> = sqlx::query(
            "SELECT until_at FROM explanation_extensions WHERE period_id = $1 AND unit_id = $2 AND round = $3",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(stage_round)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| r.try_get("until_at"))
        .transpose()?;
        let flagged: Option<i64> = sqlx::query(
            "SELECT needs_explanation FROM appraisals WHERE period_id = $1 AND unit_id = $2 AND leaf_code = $3 AND round = $4",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(leaf_code)
        .bind(stage_round)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| r.try_get("needs_explanation"))
        .transpose()?;
        Ok(ExplanationClaim {
            stage,
            stage_round,
            period_due_at,
            round_due_at,
            extension_until,
            submitted_round,
            flagged: flagged.unwrap_or(0) != 0,
        })
    }
}
