//! Appraisal use cases (DOMAIN §4): the appraiser's worklist, a unit's appraisal and
//! explanation pages (what the reader may see), bonus and penalty items within the period's
//! caps, the unit's explanations and their submission, comment threads and a leaf's history.
//! Saving an appraised value is [`App::save_leaf`] (crate::sheet), shared with the sheet.

use std::collections::HashMap;

use parindex_domain::appraisal::{
    MAX_ROUNDS, Refusal, Stage, WorkStatus, check_adjustment_write, check_explanation_write,
    check_within_cap,
};
use parindex_domain::index_set::AdjustmentKind;
use parindex_domain::{Action, Points, Role};
use parindex_store::StoreError;
use parindex_store::appraisal::{Assignment, Comment, Explanation, HistoryEntry, NewAdjustment};
use parindex_store::evidence_library::{Citation, EvidenceFile};
use parindex_store::periods::Period;

use crate::App;
use crate::error::{AppError, Message};
use crate::evaluation::{UnitEvaluation, is_assigned, is_self_assessed};
use crate::sheet::{Caller, refusal_error};

/// Longest explanation kept.
const MAX_RESPONSE_CHARS: usize = 10_000;
/// Longest comment kept.
const MAX_COMMENT_CHARS: usize = 4000;

/// One (unit, leaf) pair of an appraiser's worklist.
pub struct WorkItem {
    pub unit_id: i64,
    pub unit_name: String,
    pub code: String,
    pub title: String,
    pub status: WorkStatus,
}

/// A period of the worklist.
pub struct WorkPeriod {
    pub period: Period,
    /// The stage (None when no unit could be read).
    pub stage: Option<Stage>,
    pub items: Vec<WorkItem>,
}

/// What the appraisal and explanation pages show beyond the evaluation.
pub struct Threads {
    pub citations: Vec<Citation>,
    pub library: Vec<EvidenceFile>,
    pub explanations: Vec<Explanation>,
    pub comments: Vec<Comment>,
    /// Leaf code → the last comment id the reader has read.
    pub reads: HashMap<String, i64>,
}

impl Threads {
    /// Whether a citation is supplementary evidence of an explanation.
    pub fn is_supplementary(c: &Citation) -> bool {
        c.stage == "explanation"
    }
}

/// A unit's appraisal as the reader may see it.
pub struct AppraisalSheet {
    pub ev: UnitEvaluation,
    pub threads: Threads,
    /// The self-assessed leaves shown (an appraiser sees only theirs).
    pub codes: Vec<String>,
    /// The reader's own assignments in the period (appraisers only; empty otherwise).
    pub mine: Vec<Assignment>,
    /// The last round the reader may see (a unit sees a round once it is closed).
    pub max_round: u8,
    /// The reader is on the unit's side.
    pub unit_side: bool,
    /// The reader may add and withdraw bonus and penalty items now.
    pub can_adjust: bool,
}

impl AppraisalSheet {
    /// The open round, if the period is in one.
    pub fn open_round(&self) -> Option<u8> {
        match self.ev.stage {
            Stage::Round(k) => Some(k),
            _ => None,
        }
    }

    /// Whether the reader may appraise `code` now.
    pub fn may_appraise(&self, caller: &Caller, code: &str) -> bool {
        self.open_round().is_some()
            && caller.can(Action::AppraiseUnit {
                unit_id: self.ev.unit.unit_id,
            })
            && is_assigned(
                &self.ev.set,
                &self.mine,
                self.ev.unit.unit_id,
                code,
                Some(caller.user_id()),
            )
    }
}

/// A unit's explanation round as the unit sees it.
pub struct ExplanationSheet {
    pub ev: UnitEvaluation,
    pub threads: Threads,
    /// The open explanation round, if any.
    pub round: Option<u8>,
    /// The flagged leaves of the open round, in tree order.
    pub codes: Vec<String>,
    pub due: Option<i64>,
    /// Why the unit may not write now (only inside an explanation round).
    pub refusal: Option<Refusal>,
    pub writable: bool,
}

/// A bonus or penalty item as typed.
#[derive(Debug, Clone, Default)]
pub struct AdjustmentInput {
    pub item: String,
    pub points: String,
    pub reason: String,
    pub evidence_id: Option<i64>,
}

/// A leaf's history, with the set to name and order the leaves.
pub struct History {
    pub ev: UnitEvaluation,
    pub rows: Vec<HistoryEntry>,
    pub filter: Option<String>,
}

/// The last appraisal round a unit may see: a round shows once it is closed.
pub fn closed_rounds(stage: Stage) -> u8 {
    match stage {
        Stage::SelfAssessment => 0,
        Stage::Round(k) => k - 1,
        Stage::Explanation(k) => k,
        Stage::CouncilReview | Stage::Approved | Stage::Published => MAX_ROUNDS,
    }
}

impl App {
    /// The deadline of the unit's open explanation round (none outside one).
    pub async fn open_explanation_due(&self, ev: &UnitEvaluation) -> Result<Option<i64>, AppError> {
        match ev.stage {
            Stage::Explanation(k) => Ok(crate::deadlines::explanation_due_for(
                &self.store,
                &ev.period,
                ev.unit.unit_id,
                k,
            )
            .await?),
            _ => Ok(None),
        }
    }

    /// The logged-in appraiser's worklist: every (unit, leaf) pair assigned to them.
    pub async fn worklist(&self, caller: &Caller) -> Result<Vec<WorkPeriod>, AppError> {
        if caller.role() != Role::Appraiser {
            return Err(AppError::Forbidden(None));
        }
        let mut periods = Vec::new();
        for period in self.store.list_periods().await? {
            let assignments = self
                .store
                .assignments_of(period.id, caller.user_id())
                .await?;
            if assignments.is_empty() {
                continue;
            }
            let mut units: Vec<i64> = assignments.iter().map(|a| a.unit_id).collect();
            units.sort_unstable();
            units.dedup();
            let mut items = Vec::new();
            let mut stage = None;
            for unit_id in units {
                let ev = UnitEvaluation::load(self, period.id, unit_id).await?;
                stage = Some(ev.stage);
                for progress in ev.progress(&assignments) {
                    if !progress.assigned {
                        continue;
                    }
                    items.push(WorkItem {
                        unit_id,
                        unit_name: ev.unit.unit_name.clone(),
                        title: ev
                            .set
                            .node(&progress.leaf_code)
                            .map(|n| n.title.clone())
                            .unwrap_or_default(),
                        status: progress.status(ev.stage),
                        code: progress.leaf_code,
                    });
                }
            }
            periods.push(WorkPeriod {
                period,
                stage,
                items,
            });
        }
        Ok(periods)
    }

    async fn threads(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Threads, AppError> {
        Ok(Threads {
            citations: self.store.citations(period_id, unit_id).await?,
            library: self.store.unit_evidence(unit_id).await?,
            explanations: self.store.explanations(period_id, unit_id).await?,
            comments: self.store.comments(period_id, unit_id).await?,
            reads: self
                .store
                .comment_reads(caller.user_id(), period_id, unit_id)
                .await?
                .into_iter()
                .collect(),
        })
    }

    /// Marks the threads of the displayed leaves read by the reader.
    async fn mark_threads_read(
        &self,
        caller: &Caller,
        ev: &UnitEvaluation,
        threads: &Threads,
        codes: &[String],
    ) -> Result<(), AppError> {
        for code in codes {
            let last = threads
                .comments
                .iter()
                .filter(|c| &c.leaf_code == code)
                .map(|c| c.id)
                .max();
            if let Some(last) = last
                && threads.reads.get(code).copied().unwrap_or(0) < last
            {
                self.store
                    .mark_comments_read(caller.user_id(), ev.period.id, ev.unit.unit_id, code, last)
                    .await?;
            }
        }
        Ok(())
    }

    /// A unit's appraisal page data; `mark` marks the shown threads read.
    pub async fn load_appraisal(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        mark: bool,
    ) -> Result<AppraisalSheet, AppError> {
        caller.require(Action::ViewAppraisal { unit_id })?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let leaves: Vec<String> = ev
            .applicable_leaves()
            .filter(|l| is_self_assessed(l))
            .map(|l| l.code.clone())
            .collect();
        let (codes, mine) = if caller.role() == Role::Appraiser {
            let mine = self
                .store
                .assignments_of(period_id, caller.user_id())
                .await?;
            let codes: Vec<String> = leaves
                .into_iter()
                .filter(|code| is_assigned(&ev.set, &mine, unit_id, code, Some(caller.user_id())))
                .collect();
            if codes.is_empty() {
                return Err(AppError::NotFound);
            }
            (codes, mine)
        } else {
            (leaves, Vec::new())
        };
        let threads = self.threads(caller, period_id, unit_id).await?;
        if mark {
            self.mark_threads_read(caller, &ev, &threads, &codes)
                .await?;
        }
        let unit_side = caller.role().is_unit_bound();
        let can_adjust = may_adjust(caller, &ev, &mine)
            && check_adjustment_write(ev.stage, ev.rounds, ev.unit.correction_reason.is_some())
                .is_ok();
        Ok(AppraisalSheet {
            max_round: if unit_side {
                closed_rounds(ev.stage)
            } else {
                MAX_ROUNDS
            },
            ev,
            threads,
            codes,
            mine,
            unit_side,
            can_adjust,
        })
    }

    /// The unit's explanation page data; `mark` marks the shown threads read.
    pub async fn load_explanation(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        mark: bool,
    ) -> Result<ExplanationSheet, AppError> {
        caller.require(Action::ViewAppraisal { unit_id })?;
        // The explanation page is the unit's.
        if !caller.role().is_unit_bound() {
            return Err(AppError::Forbidden(None));
        }
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let threads = self.threads(caller, period_id, unit_id).await?;
        let round = match ev.stage {
            Stage::Explanation(k) => Some(k),
            _ => None,
        };
        let codes: Vec<String> = match round {
            Some(k) => ev
                .applicable_leaves()
                .filter(|l| ev.flagged_in(&l.code, k))
                .map(|l| l.code.clone())
                .collect(),
            None => Vec::new(),
        };
        if mark {
            self.mark_threads_read(caller, &ev, &threads, &codes)
                .await?;
        }
        // Whether the unit may still write (the flag is per leaf; every listed leaf is flagged).
        let due = self.open_explanation_due(&ev).await?;
        let check = check_explanation_write(
            ev.stage,
            true,
            ev.unit.explanation_submitted_round,
            due,
            self.now_ms(),
        );
        let writable = caller.can(Action::ExplainLeaves { unit_id }) && check.is_ok();
        Ok(ExplanationSheet {
            ev,
            threads,
            round,
            codes,
            due,
            refusal: check.err(),
            writable,
        })
    }

    /// The round in which the unit may answer `code` now.
    async fn explanation_round(&self, ev: &UnitEvaluation, code: &str) -> Result<u8, AppError> {
        let flagged = match ev.stage {
            Stage::Explanation(k) => ev.flagged_in(code, k),
            _ => false,
        };
        let due = self.open_explanation_due(ev).await?;
        check_explanation_write(
            ev.stage,
            flagged,
            ev.unit.explanation_submitted_round,
            due,
            self.now_ms(),
        )
        .map_err(refusal_error)
    }

    /// Saves the unit's answer to a leaf flagged in the open round, if nobody saved it since
    /// `version`; the stage, deadline, submission and flag are read again in the transaction.
    pub async fn save_explanation(
        &self,
        caller: &Caller,
        leaf: &crate::evidence::LeafRef,
        version: Option<i64>,
        response: &str,
    ) -> Result<(), AppError> {
        caller.require(Action::ExplainLeaves {
            unit_id: leaf.unit_id,
        })?;
        let ev = UnitEvaluation::load(self, leaf.period_id, leaf.unit_id).await?;
        let round = self.explanation_round(&ev, &leaf.code).await?;
        let response = response.trim();
        let problem = if response.is_empty() {
            Some("appraisal.response_required")
        } else if response.chars().count() > MAX_RESPONSE_CHARS {
            Some("sheet.note_too_long")
        } else if version.is_none() {
            Some("sheet.no_version")
        } else {
            None
        };
        if let Some(key) = problem {
            return Err(AppError::invalid(Message::key(key)));
        }
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        self.claim_explanation_in(&mut tx, leaf).await?;
        match tx
            .save_explanation(
                leaf.period_id,
                leaf.unit_id,
                &leaf.code,
                i64::from(round),
                version.unwrap_or(0),
                response,
            )
            .await
        {
            Ok(_) => {}
            Err(StoreError::Stale) => {
                return Err(AppError::Conflict {
                    message: Message::key("appraisal.conflict"),
                    current_version: None,
                });
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// Inside a write: the unit may still answer the leaf (stage, deadline, submission, flag).
    async fn claim_explanation_in(
        &self,
        tx: &mut parindex_store::WriteTx,
        leaf: &crate::evidence::LeafRef,
    ) -> Result<(), AppError> {
        let claim = tx
            .claim_explanation(leaf.period_id, leaf.unit_id, &leaf.code)
            .await?;
        let stage = Stage::from_stored(&claim.stage, claim.stage_round)
            .ok_or_else(|| AppError::internal(format!("unknown stage {}", claim.stage)))?;
        let due = match stage {
            Stage::Explanation(k) => parindex_domain::appraisal::explanation_due(
                k,
                claim.period_due_at,
                claim.round_due_at,
                claim.extension_until,
            ),
            _ => None,
        };
        check_explanation_write(
            stage,
            claim.flagged,
            claim.submitted_round,
            due,
            self.now_ms(),
        )
        .map(|_| ())
        .map_err(refusal_error)
    }

    /// The unit head submits the round's explanations once every flagged leaf has an answer.
    pub async fn submit_explanations(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<(), AppError> {
        caller.require(Action::SubmitExplanations { unit_id })?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let due = self.open_explanation_due(&ev).await?;
        let round = check_explanation_write(
            ev.stage,
            true,
            ev.unit.explanation_submitted_round,
            due,
            self.now_ms(),
        )
        .map_err(refusal_error)?;
        let answers = self.store.explanations(period_id, unit_id).await?;
        let missing: Vec<String> = ev
            .applicable_leaves()
            .filter(|l| ev.flagged_in(&l.code, round))
            .filter(|l| {
                !answers.iter().any(|a| {
                    a.leaf_code == l.code
                        && a.round == i64::from(round)
                        && !a.response.trim().is_empty()
                })
            })
            .map(|l| l.code.clone())
            .collect();
        if !missing.is_empty() {
            return Err(AppError::invalid(
                Message::key("appraisal.unanswered_list").arg("codes", missing.join(", ")),
            ));
        }
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        tx.submit_explanations(period_id, unit_id, i64::from(round))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a message to a leaf's thread, on the side of the author's role.
    pub async fn comment(
        &self,
        caller: &Caller,
        leaf: &crate::evidence::LeafRef,
        body: &str,
    ) -> Result<(), AppError> {
        let (period_id, unit_id, code) = (leaf.period_id, leaf.unit_id, leaf.code.as_str());
        caller.require(Action::CommentOnLeaf { unit_id })?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let applies = ev.set.node(code).is_some_and(|n| n.is_leaf())
            && ev
                .set
                .index_of(code)
                .is_some_and(|i| ev.set.applies_to_group(i, &ev.unit.group_code));
        if !applies {
            return Err(AppError::NotFound);
        }
        let side = if caller.role().is_unit_bound() {
            "unit"
        } else if caller.role() == Role::Appraiser {
            let mine = self
                .store
                .assignments_of(period_id, caller.user_id())
                .await?;
            if !is_assigned(&ev.set, &mine, unit_id, code, Some(caller.user_id())) {
                return Err(AppError::NotFound);
            }
            "appraiser"
        } else {
            "secretariat"
        };
        if ev.stage == Stage::Published {
            return Err(AppError::forbidden(Refusal::Frozen.to_string()));
        }
        let body = body.trim();
        let n = body.chars().count();
        if n == 0 || n > MAX_COMMENT_CHARS {
            return Err(AppError::invalid(Message::key("appraisal.comment_length")));
        }
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        tx.add_comment(period_id, unit_id, code, side, body).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Who may add or withdraw items, and whether the stage allows it now.
    async fn adjustment_guard(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<UnitEvaluation, AppError> {
        caller.require(Action::ViewAppraisal { unit_id })?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let mine = self
            .store
            .assignments_of(period_id, caller.user_id())
            .await?;
        if !may_adjust(caller, &ev, &mine) {
            return Err(AppError::Forbidden(None));
        }
        check_adjustment_write(ev.stage, ev.rounds, ev.unit.correction_reason.is_some())
            .map_err(refusal_error)?;
        Ok(ev)
    }

    /// Gives a bonus or penalty item, within the item's max and the period's cap. The cap is
    /// checked against the items as the write transaction sees them, after it took the
    /// unit's lock: ten items added at once are checked one after the other.
    pub async fn add_unit_adjustment(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        input: &AdjustmentInput,
    ) -> Result<(), AppError> {
        let ev = self.adjustment_guard(caller, period_id, unit_id).await?;
        let invalid = |key: &'static str| AppError::invalid(Message::key(key));
        let item = ev
            .set
            .adjustment(input.item.trim())
            .ok_or_else(|| invalid("appraisal.bad_item"))?;
        let points = match Points::parse(input.points.trim()) {
            Some(p) if p > Points::ZERO => p,
            _ => return Err(invalid("appraisal.bad_points")),
        };
        item.check_points(points)
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let points_milli = points
            .to_millipoints()
            .ok_or_else(|| invalid("appraisal.bad_points"))?;
        let reason = input.reason.trim().to_owned();
        if reason.is_empty() {
            return Err(invalid("appraisal.reason_required"));
        }
        let (kind, cap) = match item.kind {
            AdjustmentKind::Bonus => ("bonus", ev.period.bonus_cap_milli),
            AdjustmentKind::Penalty => ("penalty", ev.period.penalty_cap_milli),
        };
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        let existing: Vec<Points> = tx
            .lock_adjustments(period_id, unit_id)
            .await?
            .iter()
            .filter(|a| a.removed_at.is_none() && a.kind == kind)
            .map(|a| Points::from_millipoints(a.points_milli))
            .collect();
        check_within_cap(
            item.kind.label_vi(),
            &existing,
            points,
            Points::from_millipoints(cap),
        )
        .map_err(refusal_error)?;
        tx.add_adjustment(
            period_id,
            &NewAdjustment {
                unit_id,
                item_code: item.code.clone(),
                kind: kind.to_owned(),
                points_milli,
                reason,
                evidence_id: input.evidence_id,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Withdraws an item, with the reason.
    pub async fn remove_adjustment(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        self.adjustment_guard(caller, period_id, unit_id).await?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(AppError::invalid(Message::key("appraisal.reason_required")));
        }
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        tx.remove_adjustment(period_id, unit_id, id, reason).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The history of a unit's leaves (one leaf with `filter`).
    pub async fn leaf_history(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        filter: Option<&str>,
    ) -> Result<History, AppError> {
        caller.require(Action::ViewLeafHistory { unit_id })?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let filter = filter
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        let rows = self
            .store
            .leaf_history(period_id, unit_id, filter.as_deref())
            .await?;
        Ok(History { ev, rows, filter })
    }
}

/// The secretariat, or an appraiser assigned to any leaf of the unit.
fn may_adjust(caller: &Caller, ev: &UnitEvaluation, mine: &[Assignment]) -> bool {
    let unit_id = ev.unit.unit_id;
    caller.can(Action::ManageAppraisal)
        || (caller.can(Action::AppraiseUnit { unit_id })
            && mine
                .iter()
                .any(|a| a.unit_id == unit_id && a.appraiser_id == caller.user_id()))
}
