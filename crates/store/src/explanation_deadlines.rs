//! The deadlines of the explanation rounds: one per round of a period, and a unit's extension
//! of one round with its reason. Which one applies is decided by
//! `parindex_domain::appraisal::explanation_due`.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A unit's extension of one explanation round.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExplanationExtension {
    pub unit_id: i64,
    pub round: i64,
    pub until_at: i64,
    pub reason: String,
}

impl Store {
    /// Round → deadline, for the rounds the secretariat set one.
    pub async fn explanation_deadlines(
        &self,
        period_id: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT round, due_at FROM explanation_deadlines WHERE period_id = $1 ORDER BY round",
        )
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("round")?, r.try_get("due_at")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    /// Every unit extension of the period's explanation rounds.
    pub async fn explanation_extensions(
        &self,
        period_id: i64,
    ) -> Result<Vec<ExplanationExtension>, StoreError> {
        let rows = sqlx::query(
            "SELECT unit_id, round, until_at, reason FROM explanation_extensions WHERE period_id = $1 ORDER BY unit_id, round",
        )
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExplanationExtension {
                    unit_id: r.try_get("unit_id")?,
                    round: r.try_get("round")?,
                    until_at: r.try_get("until_at")?,
                    reason: r.try_get("reason")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }
}

impl WriteTx {
    /// Sets (or moves) the deadline of explanation round `round`, audited with the old value.
    pub async fn set_explanation_deadline(
        &mut self,
        period_id: i64,
        round: i64,
        due_at: i64,
    ) -> Result<(), StoreError> {
        let before: Option<i64> = sqlx::query(
            "SELECT due_at FROM explanation_deadlines WHERE period_id = $1 AND round = $2",
        )
        .bind(period_id)
        .bind(round)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| r.try_get("due_at"))
        .transpose()?;
        sqlx::query(
            "INSERT INTO explanation_deadlines (period_id, round, due_at, set_by, set_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (period_id, round) DO UPDATE SET due_at = excluded.due_at, set_by = excluded.set_by, set_at = excluded.set_at",
        )
        .bind(period_id)
        .bind(round)
        .bind(due_at)
        .bind(self.actor().user_id)
        .bind(crate::now_ms())
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "explanation.deadline",
            "period",
            period_id,
            Some(serde_json::json!({ "round": round, "due_at": before })),
            Some(serde_json::json!({ "round": round, "due_at": due_at })),
        )
        .await?;
        Ok(())
    }

    /// Grants (or, with `until = None`, withdraws) a unit's extension of round `round`.
    pub async fn set_explanation_extension(
        &mut self,
        period_id: i64,
        unit_id: i64,
        round: i64,
        until: Option<i64>,
        reason: &str,
    ) -> Result<(), StoreError> {
        let before = sqlx::query(
            "SELECT until_at, reason FROM explanation_extensions WHERE period_id = $1 AND unit_id = $2 AND round = $3",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(round)
        .fetch_optional(&mut *self.tx)
        .await?
        .map(|r| -> Result<serde_json::Value, sqlx::Error> {
            let until: i64 = r.try_get("until_at")?;
            let reason: String = r.try_get("reason")?;
            Ok(serde_json::json!({ "round": round, "until": until, "reason": reason }))
        })
        .transpose()?;
        match until {
            Some(until) => {
                sqlx::query(
                    "INSERT INTO explanation_extensions (period_id, unit_id, round, until_at, reason, set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (period_id, unit_id, round) DO UPDATE SET until_at = excluded.until_at, reason = excluded.reason, \
                     set_by = excluded.set_by, set_at = excluded.set_at",
                )
                .bind(period_id)
                .bind(unit_id)
                .bind(round)
                .bind(until)
                .bind(reason)
                .bind(self.actor().user_id)
                .bind(crate::now_ms())
                .execute(&mut *self.tx)
                .await?;
            }
            None => {
                sqlx::query(
                    "DELETE FROM explanation_extensions WHERE period_id = $1 AND unit_id = $2 AND round = $3",
                )
                .bind(period_id)
                .bind(unit_id)
                .bind(round)
                .execute(&mut *self.tx)
                .await?;
            }
        }
        self.audit(
            "explanation.extension",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            before,
            Some(serde_json::json!({ "round": round, "until": until, "reason": reason })),
        )
        .await?;
        Ok(())
    }
}
