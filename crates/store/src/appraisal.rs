//! The appraisal's persistence: the period's stage, assignments, appraised values per round,
//! explanations, comment threads with read markers, external values, corrections, bonus and
//! penalty, the approval decision, published snapshots, and the append-only leaf history.
//!
//! The guards (which stage allows what) live in `parindex_domain::appraisal`; this layer
//! stores, and re-checks only what a race could break: versions and the current stage.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// An appraiser's assignment to a node (and everything under it) of a unit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub appraiser_id: i64,
    pub appraiser_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub node_code: String,
    pub created_at: i64,
}

/// The appraised value of a leaf in one round.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Appraisal {
    pub unit_id: i64,
    pub leaf_code: String,
    pub round: i64,
    pub input_json: String,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub explanation: String,
    pub remark: String,
    pub needs_explanation: bool,
    pub version: i64,
    pub appraiser_id: Option<i64>,
    pub appraiser_name: Option<String>,
    pub updated_at: i64,
}

/// What an appraiser saves.
#[derive(Debug, Clone)]
pub struct AppraisalWrite {
    pub input_json: String,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub explanation: String,
    pub remark: String,
    pub needs_explanation: bool,
}

/// The unit's answer to a flagged leaf.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Explanation {
    pub leaf_code: String,
    pub round: i64,
    pub response: String,
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_at: i64,
}

/// One message of a leaf's thread.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Comment {
    pub id: i64,
    pub leaf_code: String,
    pub author_id: i64,
    pub author_name: String,
    /// `unit`, `appraiser` or `secretariat`.
    pub side: String,
    pub body: String,
    pub created_at: i64,
}

/// A provider's value for an external leaf.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ExternalValue {
    pub unit_id: i64,
    pub leaf_code: String,
    pub score_milli: i64,
    pub provider: String,
    /// Where it came from: a file name, or "nhập trực tiếp".
    pub source: String,
    pub note: String,
    pub version: i64,
    pub updated_by: Option<i64>,
    pub updated_by_name: Option<String>,
    pub updated_at: i64,
}

/// One row to write for an external leaf.
#[derive(Debug, Clone)]
pub struct ExternalWrite {
    pub unit_id: i64,
    pub leaf_code: String,
    pub score_milli: i64,
    pub provider: String,
    pub source: String,
    pub note: String,
}

/// The secretariat's correction of a leaf of a reopened unit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Correction {
    pub leaf_code: String,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub reason: String,
    pub updated_by: Option<i64>,
    pub updated_at: i64,
}

/// A bonus or penalty item given to a unit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Adjustment {
    pub id: i64,
    pub unit_id: i64,
    pub item_code: String,
    /// `bonus` or `penalty`.
    pub kind: String,
    pub points_milli: i64,
    pub reason: String,
    pub evidence_id: Option<i64>,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub removed_at: Option<i64>,
}

/// A new bonus or penalty item.
#[derive(Debug, Clone)]
pub struct NewAdjustment {
    pub unit_id: i64,
    pub item_code: String,
    pub kind: String,
    pub points_milli: i64,
    pub reason: String,
    pub evidence_id: Option<i64>,
}

/// One value a leaf took, as kept in the append-only history.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct HistoryEntry {
    pub id: i64,
    pub leaf_code: String,
    /// `self`, `round`, `explanation`, `external`, `correction`.
    pub stage: String,
    pub round: i64,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub detail: String,
    pub reason: String,
    pub actor_id: Option<i64>,
    pub actor_name: Option<String>,
    pub at: i64,
}

/// A unit's result as published.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PublishedResult {
    pub unit_id: i64,
    pub publication: i64,
    pub total_milli: i64,
    pub applicable_max_milli: i64,
    pub result_json: String,
    pub reason: String,
    pub published_by: Option<i64>,
    pub published_at: i64,
}

/// A unit's result to publish.
#[derive(Debug, Clone)]
pub struct ResultToPublish {
    pub unit_id: i64,
    pub total_milli: i64,
    pub applicable_max_milli: i64,
    pub result_json: String,
}

/// An in-app notification.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub link: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A notification to send to several users.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub kind: &'a str,
    /// Keeps one notification per user and key (reminders run again and again).
    pub dedupe_key: Option<String>,
    pub title: String,
    pub body: String,
    pub link: String,
}

/// A user to notify by e-mail, with the pending notification.
#[derive(Debug, Clone)]
pub struct PendingEmail {
    pub notification_id: i64,
    pub email: String,
    pub title: String,
    pub body: String,
    pub link: String,
}

pub(crate) struct HistoryRow<'a> {
    pub period_id: i64,
    pub unit_id: i64,
    pub leaf_code: &'a str,
    pub stage: &'a str,
    pub round: i64,
    pub score_milli: Option<i64>,
    pub not_applicable: bool,
    pub detail: &'a str,
    pub reason: &'a str,
}

/// Appends one value to a leaf's history, in the caller's transaction.
pub(crate) async fn append_history(
    tx: &mut WriteTx,
    row: HistoryRow<'_>,
) -> Result<(), StoreError> {
    let actor = tx.actor().user_id;
    sqlx::query(
        "INSERT INTO leaf_history (period_id, unit_id, leaf_code, stage, round, score_milli, not_applicable, detail, reason, actor_id, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(row.period_id)
    .bind(row.unit_id)
    .bind(row.leaf_code)
    .bind(row.stage)
    .bind(row.round)
    .bind(row.score_milli)
    .bind(i64::from(row.not_applicable))
    .bind(row.detail)
    .bind(row.reason)
    .bind(actor)
    .bind(crate::now_ms())
    .execute(&mut *tx.tx)
    .await?;
    Ok(())
}

const ASSIGNMENT_SELECT: &str = "SELECT a.id, a.appraiser_id, us.full_name AS appraiser_name, a.unit_id, un.name_vi AS unit_name, a.node_code, a.created_at \
     FROM appraisal_assignments a JOIN users us ON us.id = a.appraiser_id JOIN units un ON un.id = a.unit_id";

fn assignment_from_row(r: &sqlx::any::AnyRow) -> Result<Assignment, sqlx::Error> {
    Ok(Assignment {
        id: r.try_get("id")?,
        appraiser_id: r.try_get("appraiser_id")?,
        appraiser_name: r.try_get("appraiser_name")?,
        unit_id: r.try_get("unit_id")?,
        unit_name: r.try_get("unit_name")?,
        node_code: r.try_get("node_code")?,
        created_at: r.try_get("created_at")?,
    })
}

const APPRAISAL_SELECT: &str = "SELECT a.unit_id, a.leaf_code, a.round, a.input_json, a.score_milli, a.not_applicable, a.explanation, a.remark, \
     a.needs_explanation, a.version, a.appraiser_id, us.full_name AS appraiser_name, a.updated_at FROM appraisals a LEFT JOIN users us ON us.id = a.appraiser_id";

fn appraisal_from_row(r: &sqlx::any::AnyRow) -> Result<Appraisal, sqlx::Error> {
    Ok(Appraisal {
        unit_id: r.try_get("unit_id")?,
        leaf_code: r.try_get("leaf_code")?,
        round: r.try_get("round")?,
        input_json: r.try_get("input_json")?,
        score_milli: r.try_get("score_milli")?,
        not_applicable: r.try_get::<i64, _>("not_applicable")? != 0,
        explanation: r.try_get("explanation")?,
        remark: r.try_get("remark")?,
        needs_explanation: r.try_get::<i64, _>("needs_explanation")? != 0,
        version: r.try_get("version")?,
        appraiser_id: r.try_get("appraiser_id")?,
        appraiser_name: r.try_get("appraiser_name")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const EXTERNAL_SELECT: &str = "SELECT e.unit_id, e.leaf_code, e.score_milli, e.provider, e.source, e.note, e.version, e.updated_by, us.full_name AS updated_by_name, e.updated_at \
     FROM external_values e LEFT JOIN users us ON us.id = e.updated_by";

fn external_from_row(r: &sqlx::any::AnyRow) -> Result<ExternalValue, sqlx::Error> {
    Ok(ExternalValue {
        unit_id: r.try_get("unit_id")?,
        leaf_code: r.try_get("leaf_code")?,
        score_milli: r.try_get("score_milli")?,
        provider: r.try_get("provider")?,
        source: r.try_get("source")?,
        note: r.try_get("note")?,
        version: r.try_get("version")?,
        updated_by: r.try_get("updated_by")?,
        updated_by_name: r.try_get("updated_by_name")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const ADJUSTMENT_SELECT: &str = "SELECT id, unit_id, item_code, kind, points_milli, reason, evidence_id, created_by, created_at, removed_at FROM unit_adjustments";

fn adjustment_from_row(r: &sqlx::any::AnyRow) -> Result<Adjustment, sqlx::Error> {
    Ok(Adjustment {
        id: r.try_get("id")?,
        unit_id: r.try_get("unit_id")?,
        item_code: r.try_get("item_code")?,
        kind: r.try_get("kind")?,
        points_milli: r.try_get("points_milli")?,
        reason: r.try_get("reason")?,
        evidence_id: r.try_get("evidence_id")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        removed_at: r.try_get("removed_at")?,
    })
}

const PUBLISHED_SELECT: &str = "SELECT unit_id, publication, total_milli, applicable_max_milli, result_json, reason, published_by, published_at FROM published_results";

fn published_from_row(r: &sqlx::any::AnyRow) -> Result<PublishedResult, sqlx::Error> {
    Ok(PublishedResult {
        unit_id: r.try_get("unit_id")?,
        publication: r.try_get("publication")?,
        total_milli: r.try_get("total_milli")?,
        applicable_max_milli: r.try_get("applicable_max_milli")?,
        result_json: r.try_get("result_json")?,
        reason: r.try_get("reason")?,
        published_by: r.try_get("published_by")?,
        published_at: r.try_get("published_at")?,
    })
}

fn collect<T>(
    rows: &[sqlx::any::AnyRow],
    f: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

impl Store {
    /// Every assignment of a period.
    pub async fn assignments(&self, period_id: i64) -> Result<Vec<Assignment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ASSIGNMENT_SELECT} WHERE a.period_id = $1 ORDER BY un.code, a.node_code, us.full_name"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, assignment_from_row)
    }

    /// The assignments of one appraiser in a period.
    pub async fn assignments_of(
        &self,
        period_id: i64,
        appraiser_id: i64,
    ) -> Result<Vec<Assignment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ASSIGNMENT_SELECT} WHERE a.period_id = $1 AND a.appraiser_id = $2 ORDER BY un.code, a.node_code"
        )))
        .bind(period_id)
        .bind(appraiser_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, assignment_from_row)
    }

    /// The units a person belongs to: the units of every grant they hold, whatever the role
    /// (an appraiser from one unit who is also an officer of another belongs to both, and is
    /// assigned to neither).
    pub async fn user_own_units(&self, user_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT unit_id FROM user_roles WHERE user_id = $1 AND unit_id IS NOT NULL ORDER BY unit_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("unit_id"))
            .collect::<Result<_, _>>()?)
    }

    /// (user id, name) of every user holding `role`, optionally only those scoped to `unit_id`.
    pub async fn users_with_role(
        &self,
        role: &str,
        unit_id: Option<i64>,
    ) -> Result<Vec<(i64, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT u.id, u.full_name FROM user_roles r JOIN users u ON u.id = r.user_id \
             WHERE r.role = $1 AND u.disabled = 0 AND ($2 = 0 OR r.unit_id = $3) ORDER BY u.full_name, u.id",
        )
        .bind(role)
        .bind(i64::from(unit_id.is_some()))
        .bind(unit_id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("id")?, r.try_get("full_name")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Every appraised value of a unit, all rounds, by leaf and round.
    pub async fn appraisals(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Appraisal>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPRAISAL_SELECT} WHERE a.period_id = $1 AND a.unit_id = $2 ORDER BY a.leaf_code, a.round"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, appraisal_from_row)
    }

    /// Every appraised value of a period (for progress and closing checks).
    pub async fn period_appraisals(&self, period_id: i64) -> Result<Vec<Appraisal>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPRAISAL_SELECT} WHERE a.period_id = $1 ORDER BY a.unit_id, a.leaf_code, a.round"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, appraisal_from_row)
    }

    /// The unit's explanations, all rounds.
    pub async fn explanations(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Explanation>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf_code, round, response, version, updated_by, updated_at FROM explanations \
             WHERE period_id = $1 AND unit_id = $2 ORDER BY leaf_code, round",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Explanation {
                    leaf_code: r.try_get("leaf_code")?,
                    round: r.try_get("round")?,
                    response: r.try_get("response")?,
                    version: r.try_get("version")?,
                    updated_by: r.try_get("updated_by")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// The comment threads of a unit (all leaves, oldest first).
    pub async fn comments(&self, period_id: i64, unit_id: i64) -> Result<Vec<Comment>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.id, c.leaf_code, c.author_id, u.full_name AS author_name, c.side, c.body, c.created_at FROM leaf_comments c \
             JOIN users u ON u.id = c.author_id WHERE c.period_id = $1 AND c.unit_id = $2 ORDER BY c.leaf_code, c.id",
        )
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Comment {
                    id: r.try_get("id")?,
                    leaf_code: r.try_get("leaf_code")?,
                    author_id: r.try_get("author_id")?,
                    author_name: r.try_get("author_name")?,
                    side: r.try_get("side")?,
                    body: r.try_get("body")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// (leaf code, last comment id the user has read) for a unit.
    pub async fn comment_reads(
        &self,
        user_id: i64,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT leaf_code, last_read_id FROM leaf_comment_reads WHERE user_id = $1 AND period_id = $2 AND unit_id = $3",
        )
        .bind(user_id)
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| Ok((r.try_get("leaf_code")?, r.try_get("last_read_id")?)))
            .collect::<Result<_, sqlx::Error>>()?)
    }

    /// Moves the user's read marker on a leaf's thread forward (never back). A read marker is
    /// the reader's own view state, like a session's last-seen time, so it is not audited.
    pub async fn mark_comments_read(
        &self,
        user_id: i64,
        period_id: i64,
        unit_id: i64,
        leaf_code: &str,
        last_id: i64,
    ) -> Result<(), StoreError> {
        let _writer = self.lock_writer().await;
        sqlx::query(
            "INSERT INTO leaf_comment_reads (user_id, period_id, unit_id, leaf_code, last_read_id) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, period_id, unit_id, leaf_code) DO UPDATE SET last_read_id = excluded.last_read_id \
             WHERE leaf_comment_reads.last_read_id < excluded.last_read_id",
        )
        .bind(user_id)
        .bind(period_id)
        .bind(unit_id)
        .bind(leaf_code)
        .bind(last_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// External values of a period, or of one unit.
    pub async fn external_values(
        &self,
        period_id: i64,
        unit_id: Option<i64>,
    ) -> Result<Vec<ExternalValue>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{EXTERNAL_SELECT} WHERE e.period_id = $1 AND ($2 = 0 OR e.unit_id = $3) ORDER BY e.unit_id, e.leaf_code"
        )))
        .bind(period_id)
        .bind(i64::from(unit_id.is_some()))
        .bind(unit_id.unwrap_or(0))
        .fetch_all(self.pool())
        .await?;
        collect(&rows, external_from_row)
    }

    /// The corrections of a unit.
    pub async fn corrections(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Correction>, StoreError> {
        Ok(self
            .corrections_where(period_id, Some(unit_id))
            .await?
            .into_iter()
            .map(|(_, c)| c)
            .collect())
    }

    /// Every correction of a period, as (unit id, correction).
    pub async fn period_corrections(
        &self,
        period_id: i64,
    ) -> Result<Vec<(i64, Correction)>, StoreError> {
        self.corrections_where(period_id, None).await
    }

    async fn corrections_where(
        &self,
        period_id: i64,
        unit_id: Option<i64>,
    ) -> Result<Vec<(i64, Correction)>, StoreError> {
        let unit_filter = if unit_id.is_some() {
            " AND unit_id = $2"
        } else {
            ""
        };
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT leaf_code, score_milli, not_applicable, reason, updated_by, updated_at, unit_id FROM leaf_corrections \
             WHERE period_id = $1{unit_filter} ORDER BY unit_id, leaf_code"
        )))
        .bind(period_id);
        if let Some(unit_id) = unit_id {
            query = query.bind(unit_id);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("unit_id")?,
                    Correction {
                        leaf_code: r.try_get("leaf_code")?,
                        score_milli: r.try_get("score_milli")?,
                        not_applicable: r.try_get::<i64, _>("not_applicable")? != 0,
                        reason: r.try_get("reason")?,
                        updated_by: r.try_get("updated_by")?,
                        updated_at: r.try_get("updated_at")?,
                    },
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// A fingerprint of everything a period's results depend on, besides the survey (which
    /// has its own, `survey_fingerprint`): the period's change counter, which triggers bump in
    /// every transaction that writes its leaf entries, appraisals, external values,
    /// corrections, adjustments or participants, or any unit, period or publication (last
    /// year's comparison follows units' successor links and reads other periods' results).
    /// One primary-key lookup; it moves with every such write, whichever instance wrote, so a
    /// cached result is reused only while it is still right.
    pub async fn results_fingerprint(&self, period_id: i64) -> Result<Vec<i64>, StoreError> {
        Ok(vec![self.results_version(period_id).await?])
    }

    /// Every bonus and penalty item of a period, removed ones included.
    pub async fn period_adjustments(&self, period_id: i64) -> Result<Vec<Adjustment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_SELECT} WHERE period_id = $1 ORDER BY unit_id, id"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, adjustment_from_row)
    }

    /// A unit's bonus and penalty items, removed ones included (they stay on record).
    pub async fn adjustments(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Adjustment>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_SELECT} WHERE period_id = $1 AND unit_id = $2 ORDER BY id"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, adjustment_from_row)
    }

    /// Every value a unit's leaves took, oldest first; `leaf_code` narrows it to one leaf.
    pub async fn leaf_history(
        &self,
        period_id: i64,
        unit_id: i64,
        leaf_code: Option<&str>,
    ) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT h.id, h.leaf_code, h.stage, h.round, h.score_milli, h.not_applicable, h.detail, h.reason, h.actor_id, u.full_name AS actor_name, h.at \
             FROM leaf_history h LEFT JOIN users u ON u.id = h.actor_id \
             WHERE h.period_id = $1 AND h.unit_id = $2 AND ($3 = '' OR h.leaf_code = $3) ORDER BY h.leaf_code, h.id",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(leaf_code.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(HistoryEntry {
                    id: r.try_get("id")?,
                    leaf_code: r.try_get("leaf_code")?,
                    stage: r.try_get("stage")?,
                    round: r.try_get("round")?,
                    score_milli: r.try_get("score_milli")?,
                    not_applicable: r.try_get::<i64, _>("not_applicable")? != 0,
                    detail: r.try_get("detail")?,
                    reason: r.try_get("reason")?,
                    actor_id: r.try_get("actor_id")?,
                    actor_name: r.try_get("actor_name")?,
                    at: r.try_get("at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Every publication of a period (all units, all publications).
    pub async fn published_results(
        &self,
        period_id: i64,
    ) -> Result<Vec<PublishedResult>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PUBLISHED_SELECT} WHERE period_id = $1 ORDER BY unit_id, publication"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        collect(&rows, published_from_row)
    }

    /// A user's newest notifications.
    pub async fn notifications(
        &self,
        user_id: i64,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, title, body, link, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
        )
        .bind(user_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get("id")?,
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    link: r.try_get("link")?,
                    created_at: r.try_get("created_at")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    pub async fn unread_notification_count(&self, user_id: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL",
        )
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Marks a user's notification (or all of them, with `None`) read. View state: not audited.
    pub async fn mark_notifications_read(
        &self,
        user_id: i64,
        id: Option<i64>,
    ) -> Result<(), StoreError> {
        let _writer = self.lock_writer().await;
        sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL AND ($3 = 0 OR id = $4)",
        )
        .bind(crate::now_ms())
        .bind(user_id)
        .bind(i64::from(id.is_some()))
        .bind(id.unwrap_or(0))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Notifications not yet e-mailed to users who have an address (oldest first).
    pub async fn pending_emails(&self, limit: i64) -> Result<Vec<PendingEmail>, StoreError> {
        let rows = sqlx::query(
            "SELECT n.id AS notification_id, u.email, n.title, n.body, n.link FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.email_sent_at IS NULL AND u.email IS NOT NULL AND u.email <> '' AND u.disabled = 0 ORDER BY n.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PendingEmail {
                    notification_id: r.try_get("notification_id")?,
                    email: r.try_get("email")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    link: r.try_get("link")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Records that a notification went out by e-mail (delivery state: not audited).
    pub async fn mark_email_sent(&self, notification_id: i64) -> Result<(), StoreError> {
        let _writer = self.lock_writer().await;
        sqlx::query("UPDATE notifications SET email_sent_at = $1 WHERE id = $2")
            .bind(crate::now_ms())
            .bind(notification_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }
}

impl WriteTx {
    /// Moves the period from stage `from` to `to`, if nobody moved it first.
    pub async fn set_period_stage(
        &mut self,
        period_id: i64,
        from: (&str, i64),
        to: (&str, i64),
    ) -> Result<(), StoreError> {
        let result = sqlx::query(
            "UPDATE periods SET stage = $1, stage_round = $2, version = version + 1, updated_at = $3 \
             WHERE id = $4 AND stage = $5 AND stage_round = $6",
        )
        .bind(to.0)
        .bind(to.1)
        .bind(crate::now_ms())
        .bind(period_id)
        .bind(from.0)
        .bind(from.1)
        .execute(&mut *self.tx)
        .await?;
        if result.rows_affected() != 1 {
            return Err(StoreError::Stale);
        }
        self.audit(
            "period.stage",
            "period",
            period_id,
            Some(serde_json::json!({ "stage": from.0, "round": from.1 })),
            Some(serde_json::json!({ "stage": to.0, "round": to.1 })),
        )
        .await?;
        Ok(())
    }

    /// Adds assignments (appraiser, unit, node); ones that exist already are skipped.
    /// Returns how many were added.
    pub async fn add_assignments(
        &mut self,
        period_id: i64,
        rows: &[(i64, i64, String)],
    ) -> Result<usize, StoreError> {
        let now = crate::now_ms();
        let mut added = Vec::new();
        for (appraiser_id, unit_id, node_code) in rows {
            let n = sqlx::query(
                "INSERT INTO appraisal_assignments (period_id, appraiser_id, unit_id, node_code, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (period_id, appraiser_id, unit_id, node_code) DO NOTHING",
            )
            .bind(period_id)
            .bind(appraiser_id)
            .bind(unit_id)
            .bind(node_code)
            .bind(self.actor().user_id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
            if n == 1 {
                added.push(serde_json::json!({ "appraiser_id": appraiser_id, "unit_id": unit_id, "node": node_code }));
            }
        }
        if !added.is_empty() {
            let count = added.len();
            self.audit(
                "appraisal.assign",
                "period",
                period_id,
                None,
                Some(serde_json::json!({ "added": added })),
            )
            .await?;
            return Ok(count);
        }
        Ok(0)
    }

    /// Removes one assignment of the period.
    pub async fn remove_assignment(&mut self, period_id: i64, id: i64) -> Result<(), StoreError> {
        let row = sqlx::query(
            "SELECT appraiser_id, unit_id, node_code FROM appraisal_assignments WHERE id = $1 AND period_id = $2",
        )
        .bind(id)
        .bind(period_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let before = serde_json::json!({
            "appraiser_id": row.try_get::<i64, _>("appraiser_id")?,
            "unit_id": row.try_get::<i64, _>("unit_id")?,
            "node": row.try_get::<String, _>("node_code")?,
        });
        sqlx::query("DELETE FROM appraisal_assignments WHERE id = $1")
            .bind(id)
            .execute(&mut *self.tx)
            .await?;
        self.audit("appraisal.unassign", "assignment", id, Some(before), None)
            .await?;
        Ok(())
    }

    /// Saves a leaf's appraised value for `round` if nobody saved it since `expected_version`
    /// (0 for the first save in that round).
    pub async fn save_appraisal(
        &mut self,
        period_id: i64,
        unit_id: i64,
        code: &str,
        round: i64,
        expected_version: i64,
        value: &AppraisalWrite,
    ) -> Result<i64, StoreError> {
        let now = crate::now_ms();
        let user = self.actor().user_id;
        let before = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{APPRAISAL_SELECT} WHERE a.period_id = $1 AND a.unit_id = $2 AND a.leaf_code = $3 AND a.round = $4"
        )))
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .bind(round)
        .fetch_optional(&mut *self.tx)
        .await?
        .as_ref()
        .map(appraisal_from_row)
        .transpose()?;
        let new_version = match &before {
            None if expected_version == 0 => {
                let n = sqlx::query(
                    "INSERT INTO appraisals (period_id, unit_id, leaf_code, round, input_json, score_milli, not_applicable, explanation, remark, \
                     needs_explanation, version, appraiser_id, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12) \
                     ON CONFLICT (period_id, unit_id, leaf_code, round) DO NOTHING",
                )
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(round)
                .bind(&value.input_json)
                .bind(value.score_milli)
                .bind(i64::from(value.not_applicable))
                .bind(&value.explanation)
                .bind(&value.remark)
                .bind(i64::from(value.needs_explanation))
                .bind(user)
                .bind(now)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(StoreError::Stale);
                }
                1
            }
            Some(current) if current.version == expected_version => {
                let n = sqlx::query(
                    "UPDATE appraisals SET input_json = $1, score_milli = $2, not_applicable = $3, explanation = $4, remark = $5, \
                     needs_explanation = $6, version = version + 1, appraiser_id = $7, updated_at = $8 \
                     WHERE period_id = $9 AND unit_id = $10 AND leaf_code = $11 AND round = $12 AND version = $13",
                )
                .bind(&value.input_json)
                .bind(value.score_milli)
                .bind(i64::from(value.not_applicable))
                .bind(&value.explanation)
                .bind(&value.remark)
                .bind(i64::from(value.needs_explanation))
                .bind(user)
                .bind(now)
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(round)
                .bind(expected_version)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(StoreError::Stale);
                }
                expected_version + 1
            }
            _ => return Err(StoreError::Stale),
        };
        let reason = if value.needs_explanation {
            format!("{} [cần giải trình]", value.remark)
        } else {
            value.remark.clone()
        };
        append_history(
            self,
            HistoryRow {
                period_id,
                unit_id,
                leaf_code: code,
                stage: "round",
                round,
                score_milli: value.score_milli,
                not_applicable: value.not_applicable,
                detail: &value.explanation,
                reason: reason.trim(),
            },
        )
        .await?;
        let view = |score: Option<i64>, remark: &str, flag: bool| serde_json::json!({ "round": round, "score_milli": score, "remark": remark, "needs_explanation": flag });
        self.audit(
            "appraisal.save_leaf",
            "appraisal",
            format!("{period_id}/{unit_id}/{code}"),
            before
                .as_ref()
                .map(|b| view(b.score_milli, &b.remark, b.needs_explanation)),
            Some(view(
                value.score_milli,
                &value.remark,
                value.needs_explanation,
            )),
        )
        .await?;
        Ok(new_version)
    }

    /// Saves the unit's answer to a leaf flagged in `round`.
    pub async fn save_explanation(
        &mut self,
        period_id: i64,
        unit_id: i64,
        code: &str,
        round: i64,
        expected_version: i64,
        response: &str,
    ) -> Result<i64, StoreError> {
        let now = crate::now_ms();
        let user = self.actor().user_id;
        let before = sqlx::query(
            "SELECT response, version FROM explanations WHERE period_id = $1 AND unit_id = $2 AND leaf_code = $3 AND round = $4",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .bind(round)
        .fetch_optional(&mut *self.tx)
        .await?;
        let before = before
            .map(|r| {
                Ok::<_, sqlx::Error>((
                    r.try_get::<String, _>("response")?,
                    r.try_get::<i64, _>("version")?,
                ))
            })
            .transpose()?;
        let new_version = match &before {
            None if expected_version == 0 => {
                let n = sqlx::query(
                    "INSERT INTO explanations (period_id, unit_id, leaf_code, round, response, version, updated_by, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT (period_id, unit_id, leaf_code, round) DO NOTHING",
                )
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(round)
                .bind(response)
                .bind(user)
                .bind(now)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(StoreError::Stale);
                }
                1
            }
            Some((_, version)) if *version == expected_version => {
                let n = sqlx::query(
                    "UPDATE explanations SET response = $1, version = version + 1, updated_by = $2, updated_at = $3 \
                     WHERE period_id = $4 AND unit_id = $5 AND leaf_code = $6 AND round = $7 AND version = $8",
                )
                .bind(response)
                .bind(user)
                .bind(now)
                .bind(period_id)
                .bind(unit_id)
                .bind(code)
                .bind(round)
                .bind(expected_version)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                if n != 1 {
                    return Err(StoreError::Stale);
                }
                expected_version + 1
            }
            _ => return Err(StoreError::Stale),
        };
        append_history(
            self,
            HistoryRow {
                period_id,
                unit_id,
                leaf_code: code,
                stage: "explanation",
                round,
                score_milli: None,
                not_applicable: false,
                detail: response,
                reason: "",
            },
        )
        .await?;
        self.audit(
            "explanation.save_leaf",
            "explanation",
            format!("{period_id}/{unit_id}/{code}"),
            before.map(|(r, v)| serde_json::json!({ "round": round, "response": r, "version": v })),
            Some(serde_json::json!({ "round": round, "response": response })),
        )
        .await?;
        Ok(new_version)
    }

    /// Records that the unit submitted its explanations for `round`.
    pub async fn submit_explanations(
        &mut self,
        period_id: i64,
        unit_id: i64,
        round: i64,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        let n = sqlx::query(
            "UPDATE period_units SET explanation_submitted_round = $1, explanation_submitted_at = $2, version = version + 1 \
             WHERE period_id = $3 AND unit_id = $4 AND explanation_submitted_round < $1",
        )
        .bind(round)
        .bind(now)
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Invalid(
                "Đơn vị đã nộp giải trình của vòng này rồi".into(),
            ));
        }
        self.audit(
            "explanation.submit",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            None,
            Some(serde_json::json!({ "round": round, "submitted_at": now })),
        )
        .await?;
        Ok(())
    }

    /// Adds a message to a leaf's thread; the author has read everything up to it.
    pub async fn add_comment(
        &mut self,
        period_id: i64,
        unit_id: i64,
        code: &str,
        side: &str,
        body: &str,
    ) -> Result<i64, StoreError> {
        let user = self.actor().user_id;
        let row = sqlx::query(
            "INSERT INTO leaf_comments (period_id, unit_id, leaf_code, author_id, side, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .bind(user)
        .bind(side)
        .bind(body)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        sqlx::query(
            "INSERT INTO leaf_comment_reads (user_id, period_id, unit_id, leaf_code, last_read_id) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (user_id, period_id, unit_id, leaf_code) DO UPDATE SET last_read_id = excluded.last_read_id",
        )
        .bind(user)
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "comment.add",
            "leaf_comment",
            id,
            None,
            Some(serde_json::json!({ "leaf": format!("{period_id}/{unit_id}/{code}"), "side": side, "body": body })),
        )
        .await?;
        Ok(id)
    }

    /// Writes external values (one per unit and leaf, replacing the earlier one: the earlier
    /// value stays in the history).
    pub async fn save_external_values(
        &mut self,
        period_id: i64,
        rows: &[ExternalWrite],
    ) -> Result<usize, StoreError> {
        let now = crate::now_ms();
        let user = self.actor().user_id;
        for row in rows {
            sqlx::query(
                "INSERT INTO external_values (period_id, unit_id, leaf_code, score_milli, provider, source, note, version, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $9) ON CONFLICT (period_id, unit_id, leaf_code) DO UPDATE SET \
                 score_milli = excluded.score_milli, provider = excluded.provider, source = excluded.source, note = excluded.note, \
                 version = external_values.version + 1, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
            )
            .bind(period_id)
            .bind(row.unit_id)
            .bind(&row.leaf_code)
            .bind(row.score_milli)
            .bind(&row.provider)
            .bind(&row.source)
            .bind(&row.note)
            .bind(user)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
            let detail = format!("{} — {}", row.provider, row.source);
            append_history(
                self,
                HistoryRow {
                    period_id,
                    unit_id: row.unit_id,
                    leaf_code: &row.leaf_code,
                    stage: "external",
                    round: 0,
                    score_milli: Some(row.score_milli),
                    not_applicable: false,
                    detail: &detail,
                    reason: &row.note,
                },
            )
            .await?;
        }
        self.audit(
            "external.save",
            "period",
            period_id,
            None,
            Some(serde_json::json!({
                "rows": rows.iter().map(|r| serde_json::json!({
                    "unit_id": r.unit_id, "leaf": r.leaf_code, "score_milli": r.score_milli, "source": r.source
                })).collect::<Vec<_>>()
            })),
        )
        .await?;
        Ok(rows.len())
    }

    /// The secretariat's correction of a leaf of a reopened unit.
    pub async fn save_correction(
        &mut self,
        period_id: i64,
        unit_id: i64,
        code: &str,
        score_milli: Option<i64>,
        not_applicable: bool,
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        sqlx::query(
            "INSERT INTO leaf_corrections (period_id, unit_id, leaf_code, score_milli, not_applicable, reason, updated_by, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (period_id, unit_id, leaf_code) DO UPDATE SET \
             score_milli = excluded.score_milli, not_applicable = excluded.not_applicable, reason = excluded.reason, \
             updated_by = excluded.updated_by, updated_at = excluded.updated_at",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(code)
        .bind(score_milli)
        .bind(i64::from(not_applicable))
        .bind(reason)
        .bind(self.actor().user_id)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        append_history(
            self,
            HistoryRow {
                period_id,
                unit_id,
                leaf_code: code,
                stage: "correction",
                round: 0,
                score_milli,
                not_applicable,
                detail: "",
                reason,
            },
        )
        .await?;
        self.audit(
            "correction.save_leaf",
            "leaf_correction",
            format!("{period_id}/{unit_id}/{code}"),
            None,
            Some(serde_json::json!({ "score_milli": score_milli, "not_applicable": not_applicable, "reason": reason })),
        )
        .await?;
        Ok(())
    }

    /// The unit's bonus and penalty items as this transaction sees them, after taking the
    /// unit's place in the period for the rest of the transaction: a cap checked against
    /// these holds when several items are added at once, because the next writer for the
    /// unit waits until this one commits and then reads what it wrote. PostgreSQL locks the
    /// `period_units` row (`FOR UPDATE`); SQLite's `BEGIN IMMEDIATE` already holds the one
    /// write lock, so the read inside the transaction is enough.
    pub async fn lock_adjustments(
        &mut self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Adjustment>, StoreError> {
        if self.backend() == crate::Backend::Postgres {
            sqlx::query(
                "SELECT unit_id FROM period_units WHERE period_id = $1 AND unit_id = $2 FOR UPDATE",
            )
            .bind(period_id)
            .bind(unit_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_SELECT} WHERE period_id = $1 AND unit_id = $2 ORDER BY id"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(&mut *self.tx)
        .await?;
        collect(&rows, adjustment_from_row)
    }

    /// Gives a unit a bonus or penalty item.
    pub async fn add_adjustment(
        &mut self,
        period_id: i64,
        new: &NewAdjustment,
    ) -> Result<i64, StoreError> {
        if let Some(evidence_id) = new.evidence_id {
            let owner = sqlx::query("SELECT unit_id FROM evidence_files WHERE id = $1")
                .bind(evidence_id)
                .fetch_optional(&mut *self.tx)
                .await?
                .ok_or(StoreError::NotFound)?;
            if owner.try_get::<i64, _>("unit_id")? != new.unit_id {
                return Err(StoreError::NotFound);
            }
        }
        let row = sqlx::query(
            "INSERT INTO unit_adjustments (period_id, unit_id, item_code, kind, points_milli, reason, evidence_id, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(period_id)
        .bind(new.unit_id)
        .bind(&new.item_code)
        .bind(&new.kind)
        .bind(new.points_milli)
        .bind(&new.reason)
        .bind(new.evidence_id)
        .bind(self.actor().user_id)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.audit(
            "adjustment.add",
            "unit_adjustment",
            id,
            None,
            Some(serde_json::json!({ "period_id": period_id, "unit_id": new.unit_id, "item": new.item_code, "kind": new.kind,
                "points_milli": new.points_milli, "reason": new.reason, "evidence_id": new.evidence_id })),
        )
        .await?;
        Ok(id)
    }

    /// Withdraws a bonus or penalty item (the row stays, marked removed).
    pub async fn remove_adjustment(
        &mut self,
        period_id: i64,
        unit_id: i64,
        id: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE unit_adjustments SET removed_at = $1, removed_by = $2 WHERE id = $3 AND period_id = $4 AND unit_id = $5 AND removed_at IS NULL",
        )
        .bind(crate::now_ms())
        .bind(self.actor().user_id)
        .bind(id)
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.audit(
            "adjustment.remove",
            "unit_adjustment",
            id,
            None,
            Some(serde_json::json!({ "reason": reason })),
        )
        .await?;
        Ok(())
    }

    /// Records the approval decision and moves the period from council review to approved.
    pub async fn record_decision(
        &mut self,
        period_id: i64,
        number: &str,
        date: &str,
        sha256: &str,
        file_name: &str,
        file_size: i64,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE periods SET decision_number = $1, decision_date = $2, decision_sha256 = $3, decision_file_name = $4, \
             decision_file_size = $5, stage = 'approved', stage_round = 0, version = version + 1, updated_at = $6 \
             WHERE id = $7 AND stage = 'council'",
        )
        .bind(number)
        .bind(date)
        .bind(sha256)
        .bind(file_name)
        .bind(file_size)
        .bind(crate::now_ms())
        .bind(period_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Stale);
        }
        self.audit(
            "period.decision",
            "period",
            period_id,
            Some(serde_json::json!({ "stage": "council" })),
            Some(serde_json::json!({ "stage": "approved", "number": number, "date": date, "sha256": sha256, "file": file_name })),
        )
        .await?;
        Ok(())
    }

    /// Stores a new publication of each unit's result (the earlier ones stay).
    pub async fn publish_results(
        &mut self,
        period_id: i64,
        results: &[ResultToPublish],
        reason: &str,
    ) -> Result<(), StoreError> {
        let now = crate::now_ms();
        for r in results {
            let row = sqlx::query(
                "SELECT CAST(COALESCE(MAX(publication), 0) AS BIGINT) AS last_publication FROM published_results WHERE period_id = $1 AND unit_id = $2",
            )
            .bind(period_id)
            .bind(r.unit_id)
            .fetch_one(&mut *self.tx)
            .await?;
            let last: i64 = row.try_get("last_publication")?;
            sqlx::query(
                "INSERT INTO published_results (period_id, unit_id, publication, total_milli, applicable_max_milli, result_json, reason, published_by, published_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(period_id)
            .bind(r.unit_id)
            .bind(last + 1)
            .bind(r.total_milli)
            .bind(r.applicable_max_milli)
            .bind(&r.result_json)
            .bind(reason)
            .bind(self.actor().user_id)
            .bind(now)
            .execute(&mut *self.tx)
            .await?;
            sqlx::query(
                "UPDATE period_units SET correction_reason = NULL, correction_opened_at = NULL, version = version + 1 WHERE period_id = $1 AND unit_id = $2",
            )
            .bind(period_id)
            .bind(r.unit_id)
            .execute(&mut *self.tx)
            .await?;
        }
        sqlx::query("UPDATE periods SET published_at = COALESCE(published_at, $1), updated_at = $1 WHERE id = $2")
            .bind(now)
            .bind(period_id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(
            "period.publish",
            "period",
            period_id,
            None,
            Some(serde_json::json!({
                "reason": reason,
                "results": results.iter().map(|r| serde_json::json!({ "unit_id": r.unit_id, "total_milli": r.total_milli })).collect::<Vec<_>>()
            })),
        )
        .await?;
        Ok(())
    }

    /// Reopens one published unit for a correction, with the reason.
    pub async fn reopen_for_correction(
        &mut self,
        period_id: i64,
        unit_id: i64,
        reason: &str,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE period_units SET correction_reason = $1, correction_opened_at = $2, version = version + 1 \
             WHERE period_id = $3 AND unit_id = $4 AND correction_reason IS NULL",
        )
        .bind(reason)
        .bind(crate::now_ms())
        .bind(period_id)
        .bind(unit_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Invalid(
                "Đơn vị này đang được mở lại để đính chính".into(),
            ));
        }
        self.audit(
            "period_unit.reopen_correction",
            "period_unit",
            format!("{period_id}/{unit_id}"),
            None,
            Some(serde_json::json!({ "reason": reason })),
        )
        .await?;
        Ok(())
    }

    /// Queues an in-app notification for each user (skipping a `dedupe_key` already sent).
    /// Returns how many were created. Audited as one record.
    pub async fn notify(
        &mut self,
        user_ids: &[i64],
        n: &NewNotification<'_>,
    ) -> Result<usize, StoreError> {
        let now = crate::now_ms();
        let mut created = 0;
        for user_id in user_ids {
            let rows = sqlx::query(
                "INSERT INTO notifications (user_id, kind, dedupe_key, title, body, link, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (user_id, dedupe_key) DO NOTHING",
            )
            .bind(user_id)
            .bind(n.kind)
            .bind(n.dedupe_key.as_deref())
            .bind(&n.title)
            .bind(&n.body)
            .bind(&n.link)
            .bind(now)
            .execute(&mut *self.tx)
            .await?
            .rows_affected();
            created += rows as usize;
        }
        if created > 0 {
            self.audit(
                "notification.send",
                "notification",
                n.kind,
                None,
                Some(
                    serde_json::json!({ "users": user_ids, "title": n.title, "key": n.dedupe_key }),
                ),
            )
            .await?;
        }
        Ok(created)
    }
}
