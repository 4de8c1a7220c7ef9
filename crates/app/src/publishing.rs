//! Use cases of the decision and publication: the period's results for the secretariat, the
//! approval decision with its signed PDF, publication, and the republication of a corrected
//! unit. Publication reads the snapshots while its transaction holds the period, one query
//! per kind of value for the whole period.

use std::collections::{BTreeMap, BTreeSet};

use parindex_domain::Action;
use parindex_domain::appraisal::{Stage, Transition, check_correction_write, transition};
use parindex_domain::text::{format_date_vi, parse_date_vi};
use parindex_domain::workflow::check_decision_date;
use parindex_store::appraisal::{NewNotification, PublishedResult, ResultToPublish};
use parindex_store::evidence::{EvidenceDownload, StoredBlob, UploadLimits};
use parindex_store::periods::Period;

use crate::acting::Acting;
use crate::error::Message;
use crate::evaluation::{UnitEvaluation, stage_of};
use crate::results::{ResultSnapshot, snapshot};
use crate::workflow::{closed_in, holders, refused};
use crate::{App, AppError};

/// The roles told about a unit's publication: its own people and its appraisers…
const UNIT_ROLES: [&str; 3] = ["unit_officer", "unit_head", "appraiser"];
/// …and those who see every unit.
const ALL_UNITS_ROLES: [&str; 2] = ["council_member", "viewer"];

/// One publication of a unit's result.
#[derive(Debug, Clone)]
pub struct PublicationLine {
    pub publication: i64,
    pub total_milli: i64,
    pub reason: String,
    pub published_at: i64,
}

/// A unit's line of the results table.
#[derive(Debug, Clone)]
pub struct UnitResult {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    /// The published snapshot (true) or computed now (false).
    pub official: bool,
    pub snap: ResultSnapshot,
    pub publications: Vec<PublicationLine>,
    pub correction_reason: Option<String>,
}

/// The results of every unit of a period, by group.
pub struct PeriodResults {
    pub period: Period,
    pub stage: Stage,
    /// Whether the actor manages the appraisal (decision, publication, corrections).
    pub manage: bool,
    pub groups: Vec<(String, Vec<UnitResult>)>,
}

/// The signed decision as uploaded: its display name and the stored file.
#[derive(Debug, Clone)]
pub struct DecisionFile {
    pub name: String,
    pub blob: StoredBlob,
}

/// The approval decision as typed.
#[derive(Debug, Clone, Default)]
pub struct DecisionInput {
    pub number: String,
    pub date: String,
    pub file: Option<DecisionFile>,
}

impl App {
    /// The results of every unit: provisional (computed now) until published, then the
    /// published snapshot, with every publication of the unit kept as history.
    pub async fn period_results(
        &self,
        by: &Acting,
        period_id: i64,
    ) -> Result<PeriodResults, AppError> {
        by.require(Action::ViewProvisionalResults)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        let publications = self.store.published_results(period_id).await?;
        let units = self.store.period_units(period_id).await?;
        let published = |unit_id: i64| {
            publications
                .iter()
                .filter(move |r| r.unit_id == unit_id)
                .max_by_key(|r| r.publication)
        };
        // Computed now for the units not read from a publication, all at once.
        let needs_computing =
            stage != Stage::Published || units.iter().any(|u| published(u.unit_id).is_none());
        let mut computed: BTreeMap<i64, ResultSnapshot> = BTreeMap::new();
        if needs_computing {
            for ev in UnitEvaluation::load_period(self, period_id).await? {
                let card = ev.scorecard()?;
                computed.insert(ev.unit.unit_id, snapshot(&ev, &card)?);
            }
        }
        let mut groups: BTreeMap<String, Vec<UnitResult>> = BTreeMap::new();
        for unit in units {
            let (official, snap) = match published(unit.unit_id) {
                Some(r) if stage == Stage::Published => (true, stored_snapshot(r)),
                _ => (
                    false,
                    computed.remove(&unit.unit_id).ok_or(AppError::NotFound)?,
                ),
            };
            let mut lines: Vec<&PublishedResult> = publications
                .iter()
                .filter(|r| r.unit_id == unit.unit_id)
                .collect();
            lines.sort_by_key(|r| r.publication);
            groups
                .entry(unit.group_code.clone())
                .or_default()
                .push(UnitResult {
                    unit_id: unit.unit_id,
                    unit_code: unit.unit_code.clone(),
                    unit_name: unit.unit_name.clone(),
                    official,
                    snap,
                    publications: lines
                        .into_iter()
                        .map(|r| PublicationLine {
                            publication: r.publication,
                            total_milli: r.total_milli,
                            reason: r.reason.clone(),
                            published_at: r.published_at,
                        })
                        .collect(),
                    correction_reason: unit.correction_reason.clone(),
                });
        }
        Ok(PeriodResults {
            manage: by.can(Action::ManageAppraisal),
            period,
            stage,
            groups: groups.into_iter().collect(),
        })
    }

    /// Whether the decision may be recorded now; asked before its file is stored.
    pub async fn may_record_decision(&self, by: &Acting, period_id: i64) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        transition(
            stage,
            rounds,
            Transition::RecordDecision,
            self.now_ms(),
            &[],
            &[],
        )
        .map_err(refused)?;
        Ok(())
    }

    /// A decision date typed (dd/mm/yyyy) as a day, refused when it lies in the future.
    pub fn decision_day(&self, text: &str) -> Result<time::Date, AppError> {
        let Some(day) = parse_date_vi(text) else {
            return Err(AppError::invalid_field(
                "date",
                Message::key("workflow.bad_date"),
            ));
        };
        let today = time::OffsetDateTime::from_unix_timestamp(self.now_ms().div_euclid(1000))
            .map_err(AppError::internal)?
            .to_offset(parindex_domain::text::VIETNAM)
            .date();
        check_decision_date(day, today)
            .map_err(|r| AppError::invalid(r.message_vi(parindex_domain::text::datetime_vi)))?;
        Ok(day)
    }

    /// Stores the signed decision's file (content-addressed, like evidence).
    pub async fn store_decision_file<S, E>(
        &self,
        stream: S,
        name: &str,
        max_bytes: u64,
    ) -> Result<DecisionFile, AppError>
    where
        S: futures_util::Stream<Item = Result<bytes::Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if !name.to_lowercase().ends_with(".pdf") {
            return Err(AppError::invalid_field(
                "file",
                Message::key("workflow.pdf_required"),
            ));
        }
        let blob = self
            .evidence
            .put_stream(stream, name, &UploadLimits { max_bytes })
            .await?;
        Ok(DecisionFile {
            name: parindex_store::evidence::safe_display_name(name),
            blob,
        })
    }

    /// Records the approval decision (number, date, signed PDF) and moves the period to
    /// approved.
    pub async fn record_decision(
        &self,
        by: &Acting,
        period_id: i64,
        input: DecisionInput,
    ) -> Result<(), AppError> {
        self.may_record_decision(by, period_id).await?;
        if input.number.is_empty() {
            return Err(AppError::invalid_field(
                "number",
                Message::key("workflow.number_required"),
            ));
        }
        let date = self.decision_day(&input.date)?;
        let Some(file) = input.file else {
            return Err(AppError::invalid_field(
                "file",
                Message::key("workflow.pdf_required"),
            ));
        };
        if file.blob.content_type != "application/pdf" {
            return Err(AppError::invalid_field(
                "file",
                Message::key("workflow.pdf_required"),
            ));
        }
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.record_decision(
            period_id,
            &input.number,
            &format_date_vi(date),
            &file.blob.sha256_hex,
            &file.name,
            i64::try_from(file.blob.size).unwrap_or(i64::MAX),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The signed decision PDF, for those who see the results.
    pub async fn decision_pdf(
        &self,
        by: &Acting,
        period_id: i64,
    ) -> Result<EvidenceDownload, AppError> {
        if !by.can(Action::ManageAppraisal) {
            by.require(Action::ViewProvisionalResults)?;
        }
        let period = self.store.get_period(period_id).await?;
        let sha = period.decision_sha256.ok_or(AppError::NotFound)?;
        self.evidence.get(&sha).await.map_err(|e| match e {
            parindex_store::evidence::EvidenceError::NotFound => AppError::NotFound,
            other => AppError::Internal(Box::new(other)),
        })
    }

    /// Publishes every unit's result, freezes the period and tells everyone concerned. The
    /// stage is re-read inside the transaction, and the snapshots are computed while it holds
    /// the period (the whole period at once), so what is published is what the stage froze.
    pub async fn publish(&self, by: &Acting, period_id: i64) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        let to = transition(stage, rounds, Transition::Publish, self.now_ms(), &[], &[])
            .map_err(refused)?;
        let mut users = BTreeSet::new();
        for u in self.store.period_units(period_id).await? {
            holders(self, &UNIT_ROLES, Some(u.unit_id), &mut users).await?;
        }
        holders(self, &ALL_UNITS_ROLES, None, &mut users).await?;
        let users: Vec<i64> = users.into_iter().collect();

        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        let (held, held_round) = tx.lock_period_stage(period_id).await?;
        if (held.as_str(), held_round) != stage.stored() {
            return Err(AppError::conflict(None));
        }
        let results = self.results_to_publish(period_id, None).await?;
        tx.publish_results(period_id, &results, "").await?;
        tx.set_period_stage(period_id, stage.stored(), to.stored())
            .await?;
        tx.notify(
            &users,
            &NewNotification {
                kind: "published",
                dedupe_key: Some(format!("published:{period_id}:1")),
                title: format!("Kết quả Chỉ số CCHC {} đã được công bố", period.name),
                body: format!(
                    "Kết quả Chỉ số CCHC {} đã được công bố theo quyết định {}.",
                    period.name,
                    period.decision_number.clone().unwrap_or_default()
                ),
                link: format!("/periods/{period_id}/results"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Publishes a reopened unit again (a new publication; the earlier one stays) and closes
    /// the reopening.
    pub async fn republish(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        let unit = self.store.period_unit(period_id, unit_id).await?;
        let Some(reason) = unit.correction_reason.clone() else {
            return Err(closed_in(stage));
        };
        check_correction_write(stage, true).map_err(refused)?;
        // Everyone the first publication told about this unit hears of the corrected result.
        let mut users = BTreeSet::new();
        holders(self, &UNIT_ROLES, Some(unit_id), &mut users).await?;
        holders(self, &ALL_UNITS_ROLES, None, &mut users).await?;
        let users: Vec<i64> = users.into_iter().collect();

        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        let (held, held_round) = tx.lock_period_stage(period_id).await?;
        if (held.as_str(), held_round) != stage.stored() {
            return Err(AppError::conflict(None));
        }
        let publication = tx.next_publication(period_id, unit_id).await?;
        let results = self.results_to_publish(period_id, Some(unit_id)).await?;
        tx.publish_results(period_id, &results, &reason).await?;
        tx.notify(
            &users,
            &NewNotification {
                kind: "published",
                dedupe_key: Some(format!("published:{period_id}:{unit_id}:{publication}")),
                title: format!(
                    "Kết quả Chỉ số CCHC {} của {} đã được công bố lại",
                    period.name, unit.unit_name
                ),
                body: format!(
                    "Kết quả của {} trong {} đã được đính chính và công bố lại (lần {publication}). Lý do: {reason}",
                    unit.unit_name, period.name
                ),
                link: format!("/periods/{period_id}/results#unit-{unit_id}"),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The results to publish: every unit of the period, or one, computed from one read of
    /// the period's values.
    async fn results_to_publish(
        &self,
        period_id: i64,
        only: Option<i64>,
    ) -> Result<Vec<ResultToPublish>, AppError> {
        let evaluations: Vec<UnitEvaluation> = match only {
            Some(unit_id) => vec![UnitEvaluation::load(self, period_id, unit_id).await?],
            None => UnitEvaluation::load_period(self, period_id).await?,
        };
        let mut out = Vec::with_capacity(evaluations.len());
        for ev in &evaluations {
            let card = ev.scorecard()?;
            let snap = snapshot(ev, &card)?;
            out.push(ResultToPublish {
                unit_id: ev.unit.unit_id,
                total_milli: snap.total_milli,
                applicable_max_milli: snap.applicable_max_milli,
                result_json: serde_json::to_string(&snap).map_err(AppError::internal)?,
            });
        }
        Ok(out)
    }
}

/// A published result's snapshot; one stored before snapshots carried every figure falls back
/// on its totals.
pub fn stored_snapshot(r: &PublishedResult) -> ResultSnapshot {
    serde_json::from_str::<ResultSnapshot>(&r.result_json).unwrap_or_else(|_| ResultSnapshot {
        total_milli: r.total_milli,
        applicable_max_milli: r.applicable_max_milli,
        ..ResultSnapshot::default()
    })
}
