//! Use cases of the appraisal workflow: assignments, stage changes, explanation deadlines and
//! extensions, and the correction of a published unit (reopen, corrected leaf values).
//! Each authorizes through the policy, decides through the domain and writes one transaction
//! with its audit record.

use std::collections::{BTreeSet, HashMap};

use parindex_domain::appraisal::{
    ExplanationReadiness, LeafProgress, PendingWhy, Refusal, Stage, Transition, UnitReadiness,
    WorkStatus, check_assignment, check_assignment_stage, check_correction_write,
    check_explanation_deadline_write, check_explanations_answered, check_survey_data,
    explanation_due, transition,
};
use parindex_domain::text::{day_start_ms, parse_date_vi};
use parindex_domain::workflow::check_extension;
use parindex_domain::{Action, Points};
use parindex_store::appraisal::{Assignment, NewNotification};
use parindex_store::periods::{Period, PeriodUnit};

use crate::acting::Acting;
use crate::error::Message;
use crate::evaluation::{UnitEvaluation, is_assigned, stage_of};
use crate::{App, AppError};

/// The last millisecond of a Vietnamese calendar day: a deadline "on 30/11" runs to its end.
pub fn day_end_ms(date: time::Date) -> i64 {
    day_start_ms(date) + 86_400_000 - 1
}

/// A refusal of the domain as a use-case error: a closed stage is forbidden (with the reason),
/// anything else is input to fix.
pub(crate) fn refused(r: Refusal) -> AppError {
    match r {
        Refusal::WrongStage(_)
        | Refusal::Frozen
        | Refusal::AssignmentsClosed(_)
        | Refusal::SelfAssessmentClosed(_) => AppError::forbidden(r.to_string()),
        other => AppError::invalid(other.to_string()),
    }
}

/// Outside the stages that allow it: frozen once published, the wrong stage otherwise.
pub(crate) fn closed_in(stage: Stage) -> AppError {
    refused(if stage == Stage::Published {
        Refusal::Frozen
    } else {
        Refusal::WrongStage(stage)
    })
}

/// Whitespace runs folded to one space.
pub(crate) fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A reason the secretariat must give (at least 5 characters once cleaned).
pub(crate) fn reason_of(text: &str) -> Result<String, AppError> {
    let reason = clean(text);
    if reason.chars().count() < 5 {
        return Err(AppError::invalid_field(
            "reason",
            Message::key("periods.reason_required"),
        ));
    }
    Ok(reason)
}

/// A date typed in a form as the end of that day; blank is none.
fn due_date(text: &str) -> Result<Option<i64>, AppError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_date_vi(text)
        .map(|d| Some(day_end_ms(d)))
        .ok_or_else(|| AppError::invalid_field("due", Message::key("workflow.bad_due")))
}

/// The ids of everyone holding one of `roles` in `unit` (or anywhere, for `None`).
pub(crate) async fn holders(
    app: &App,
    roles: &[&str],
    unit: Option<i64>,
    into: &mut BTreeSet<i64>,
) -> Result<(), AppError> {
    for role in roles {
        into.extend(
            app.store
                .users_with_role(role, unit)
                .await?
                .into_iter()
                .map(|(id, _)| id),
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Assignments.

/// One appraiser's workload in the period.
#[derive(Debug, Clone)]
pub struct Workload {
    pub name: String,
    pub assigned: usize,
    pub done: usize,
    pub flagged: usize,
    pub todo: usize,
}

/// A domain of the period's sets (code, title), offered for bulk assignment.
#[derive(Debug, Clone)]
pub struct DomainChoice {
    pub code: String,
    pub title: String,
}

/// What the assignments page shows.
pub struct Assignments {
    pub period: Period,
    pub stage: Stage,
    pub assignments: Vec<Assignment>,
    /// (unit, node code) → the node's title.
    pub node_titles: HashMap<(i64, String), String>,
    /// (user id, name) of every appraiser.
    pub appraisers: Vec<(i64, String)>,
    pub units: Vec<PeriodUnit>,
    pub groups: Vec<String>,
    pub domains: Vec<DomainChoice>,
    pub workload: Vec<Workload>,
    /// Why assignments can no longer change (the appraisal is closed), if so.
    pub closed: Option<String>,
}

/// A bulk assignment as typed: appraisers (ticked, or the team of a unit) × units (ticked, or
/// every unit of a group) × node codes (ticked domains and typed codes).
#[derive(Debug, Clone, Default)]
pub struct AssignInput {
    pub appraisers: Vec<String>,
    pub team_unit: String,
    pub units: Vec<String>,
    pub unit_group: String,
    pub nodes: Vec<String>,
    pub codes: String,
}

/// What a bulk assignment did. With `errors`, nothing was saved.
#[derive(Debug, Clone, Default)]
pub struct AssignOutcome {
    pub errors: Vec<Message>,
    /// Pairs left out (an appraiser's own unit that came from "every unit of the group").
    pub skipped: Vec<Message>,
}

fn parse_ids(values: &[String]) -> (Vec<i64>, Vec<String>) {
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for v in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
        match v.parse::<i64>() {
            Ok(id) => ok.push(id),
            Err(_) => bad.push(v.to_owned()),
        }
    }
    (ok, bad)
}

impl App {
    /// The assignments of a period, the appraisers' workload and what the bulk form offers.
    pub async fn assignments(&self, by: &Acting, period_id: i64) -> Result<Assignments, AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        let assignments = self.store.assignments(period_id).await?;
        let units = self.store.period_units(period_id).await?;
        let mut groups = Vec::new();
        let mut domains: Vec<DomainChoice> = Vec::new();
        let mut node_titles = HashMap::new();
        for (group, _) in self.store.period_sets(period_id).await? {
            let set = self.set_for_group(period_id, &group).await?;
            for d in set.domains() {
                if !domains.iter().any(|c| c.code == d.code) {
                    domains.push(DomainChoice {
                        code: d.code.clone(),
                        title: d.title.clone(),
                    });
                }
            }
            for u in units.iter().filter(|u| u.group_code == group) {
                for a in assignments.iter().filter(|a| a.unit_id == u.unit_id) {
                    if let Some(n) = set.node(&a.node_code) {
                        node_titles.insert((a.unit_id, a.node_code.clone()), n.title.clone());
                    }
                }
            }
            groups.push(group);
        }
        let workload = self.workload(period_id, stage, &assignments).await?;
        Ok(Assignments {
            appraisers: self.store.users_with_role("appraiser", None).await?,
            closed: check_assignment_stage(stage).err().map(|r| r.to_string()),
            period,
            stage,
            assignments,
            node_titles,
            units,
            groups,
            domains,
            workload,
        })
    }

    /// Every (unit, leaf) pair each appraiser holds, by status.
    async fn workload(
        &self,
        period_id: i64,
        stage: Stage,
        assignments: &[Assignment],
    ) -> Result<Vec<Workload>, AppError> {
        let assigned_units: BTreeSet<i64> = assignments.iter().map(|a| a.unit_id).collect();
        let mut evaluations: Vec<(UnitEvaluation, Vec<LeafProgress>)> = Vec::new();
        if !assigned_units.is_empty() {
            for ev in UnitEvaluation::load_period(self, period_id).await? {
                if assigned_units.contains(&ev.unit.unit_id) {
                    let progress = ev.progress(assignments);
                    evaluations.push((ev, progress));
                }
            }
        }
        let mut workload = Vec::new();
        let mut seen = BTreeSet::new();
        for a in assignments {
            if !seen.insert(a.appraiser_id) {
                continue;
            }
            let mut w = Workload {
                name: a.appraiser_name.clone(),
                assigned: 0,
                done: 0,
                flagged: 0,
                todo: 0,
            };
            for (ev, progress) in &evaluations {
                for p in progress {
                    let unit_id = ev.unit.unit_id;
                    if !is_assigned(
                        &ev.set.set,
                        assignments,
                        unit_id,
                        &p.leaf_code,
                        Some(a.appraiser_id),
                    ) {
                        continue;
                    }
                    w.assigned += 1;
                    match p.status(stage) {
                        WorkStatus::Done => w.done += 1,
                        WorkStatus::Flagged => w.flagged += 1,
                        WorkStatus::ToDo | WorkStatus::ToReappraise => w.todo += 1,
                    }
                }
            }
            workload.push(w);
        }
        workload.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(workload)
    }

    /// Bulk assignment. Nothing is saved when a code is unknown, or when a ticked unit is an
    /// appraiser's own. A unit that comes only from "every unit of the group" is left out for
    /// the appraisers it belongs to (the Justice team appraising domain 2 for all units does
    /// not appraise Justice), and the outcome lists each pair left out with the reason.
    pub async fn assign(
        &self,
        by: &Acting,
        period_id: i64,
        input: &AssignInput,
    ) -> Result<AssignOutcome, AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        check_assignment_stage(stage).map_err(refused)?;
        let period_units = self.store.period_units(period_id).await?;
        let all_appraisers = self.store.users_with_role("appraiser", None).await?;
        let mut errors: Vec<Message> = Vec::new();

        // Appraisers.
        let mut appraisers: BTreeSet<i64> = BTreeSet::new();
        let (ids, bad) = parse_ids(&input.appraisers);
        for a in ids {
            if all_appraisers.iter().any(|(id, _)| *id == a) {
                appraisers.insert(a);
            } else {
                errors.push(Message::key("workflow.unknown_appraiser_id").arg("id", a.to_string()));
            }
        }
        if let Some(b) = bad.first() {
            errors.push(Message::key("workflow.unknown_appraiser_id").arg("id", b.clone()));
        }
        let team = input.team_unit.trim();
        if !team.is_empty() {
            match team.parse::<i64>() {
                Ok(team_unit) => {
                    let members = self
                        .store
                        .users_with_role("appraiser", Some(team_unit))
                        .await?;
                    if members.is_empty() {
                        errors.push(Message::key("workflow.empty_team"));
                    }
                    appraisers.extend(members.into_iter().map(|(id, _)| id));
                }
                Err(_) => errors.push(Message::key("workflow.empty_team")),
            }
        }

        // Units. Those ticked one by one are the user's explicit choice: a conflict on one of
        // these refuses the whole form.
        let mut units: BTreeSet<i64> = BTreeSet::new();
        let mut explicit_units: BTreeSet<i64> = BTreeSet::new();
        let (ids, bad) = parse_ids(&input.units);
        for u in ids {
            if period_units.iter().any(|pu| pu.unit_id == u) {
                units.insert(u);
                explicit_units.insert(u);
            } else {
                errors.push(Message::key("workflow.unknown_unit_id").arg("id", u.to_string()));
            }
        }
        if let Some(b) = bad.first() {
            errors.push(Message::key("workflow.unknown_unit_id").arg("id", b.clone()));
        }
        let group = input.unit_group.trim();
        if !group.is_empty() {
            let of_group: Vec<i64> = period_units
                .iter()
                .filter(|u| u.group_code == group)
                .map(|u| u.unit_id)
                .collect();
            if of_group.is_empty() {
                errors.push(Message::key("workflow.unknown_unit_id").arg("id", group));
            }
            units.extend(of_group);
        }

        // Node codes: ticked domains and typed codes.
        let mut codes: BTreeSet<String> = input
            .nodes
            .iter()
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        codes.extend(
            input
                .codes
                .trim()
                .split([',', ';', ' ', '\n'])
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_owned),
        );
        if appraisers.is_empty() {
            errors.push(Message::key("workflow.no_appraisers"));
        }
        if units.is_empty() {
            errors.push(Message::key("workflow.no_units"));
        }
        if codes.is_empty() {
            errors.push(Message::key("workflow.no_codes"));
        }

        // Each code must be a node of each chosen unit's set that applies to its group.
        let mut unknown_codes: BTreeSet<(String, String)> = BTreeSet::new();
        for unit in period_units.iter().filter(|u| units.contains(&u.unit_id)) {
            let set = self.set_for_group(period.id, &unit.group_code).await?;
            for code in &codes {
                let ok = set
                    .index_of(code)
                    .is_some_and(|i| set.applies_to_group(i, &unit.group_code));
                if !ok {
                    unknown_codes.insert((code.clone(), unit.group_code.clone()));
                }
            }
        }
        errors.extend(unknown_codes.into_iter().map(|(code, group)| {
            Message::key("workflow.unknown_code_in")
                .arg("code", code)
                .arg("group", group)
        }));

        // Conflict of interest: an appraiser never appraises their own unit, by any grant.
        let name_of = |id: i64| {
            all_appraisers
                .iter()
                .find(|(u, _)| *u == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_default()
        };
        let mut rows: Vec<(i64, i64, String)> = Vec::new();
        let mut skipped: Vec<Message> = Vec::new();
        for appraiser in &appraisers {
            let home = self.store.user_own_units(*appraiser).await?;
            for unit in period_units.iter().filter(|u| units.contains(&u.unit_id)) {
                if let Err(refusal) = check_assignment(&home, unit.unit_id) {
                    let line = Message::Text(format!(
                        "{}: {} — {}",
                        refusal.to_string().trim_end_matches('.'),
                        name_of(*appraiser),
                        unit.unit_name
                    ));
                    if explicit_units.contains(&unit.unit_id) {
                        errors.push(line);
                    } else {
                        skipped.push(line);
                    }
                    continue;
                }
                for code in &codes {
                    rows.push((*appraiser, unit.unit_id, code.clone()));
                }
            }
        }
        if rows.is_empty() && errors.is_empty() {
            // Every pair was someone's own unit: nothing to save, and that is the user's to fix.
            errors.push(Message::key("workflow.all_pairs_skipped"));
        }
        if errors.is_empty() {
            let mut tx = self.store.begin_write(by.audit.clone()).await?;
            // Pairs that already exist are not added again; when nothing is new there is
            // nothing to commit (and no audit record to write).
            if tx.add_assignments(period_id, &rows).await? > 0 {
                tx.commit().await?;
            }
        }
        Ok(AssignOutcome { errors, skipped })
    }

    /// Removes one assignment while assignments may still change.
    pub async fn unassign(
        &self,
        by: &Acting,
        period_id: i64,
        assignment_id: i64,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        check_assignment_stage(stage).map_err(refused)?;
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.remove_assignment(period_id, assignment_id).await?;
        tx.commit().await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Stage transitions.

/// A stage change as asked for.
#[derive(Debug, Clone)]
pub struct StageChange {
    pub transition: Transition,
    /// Closing a round that opens an explanation round: its deadline (dd/mm/yyyy), optional.
    pub explanation_due: String,
    /// The secretariat's reason to move on although a guard that may be overridden refused
    /// (units still within their explanation deadline, no survey data); audited.
    pub override_reason: String,
}

/// One thing that keeps the round from closing.
#[derive(Debug, Clone)]
pub struct PendingItem {
    pub unit_name: String,
    pub leaf_code: String,
    pub leaf_title: String,
    pub why: &'static str,
}

/// A unit a guard that may be overridden is about, with its deadline (dd/mm/yyyy HH:MM).
#[derive(Debug, Clone)]
pub struct WaitingUnit {
    pub code: String,
    pub name: String,
    pub deadline: Option<String>,
}

/// Which guard may be overridden with a reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverridableGuard {
    /// Opening the next round while a flagged unit may still explain.
    ExplanationsPending,
    /// The council stage with no survey data.
    NoSurveyData,
}

/// What a stage change did.
pub enum StageOutcome {
    /// The period moved on.
    Moved,
    /// The round cannot close: every pending item.
    Pending {
        period: Period,
        message: String,
        items: Vec<PendingItem>,
    },
    /// A guard refused that a reason may override; nothing was written.
    NeedsOverride {
        period: Period,
        guard: OverridableGuard,
        message: String,
        units: Vec<WaitingUnit>,
        /// Set when a reason was given but is too short.
        error: Option<Message>,
    },
}

impl App {
    /// Moves the period to its next stage (start the appraisal, close a round, open the next
    /// one) if the guard allows; a round that cannot close lists every pending item.
    pub async fn change_stage(
        &self,
        by: &Acting,
        period_id: i64,
        change: &StageChange,
    ) -> Result<StageOutcome, AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        let wanted = change.transition;
        let due = due_date(&change.explanation_due)?;
        let units = self.store.period_units(period_id).await?;
        let readiness: Vec<UnitReadiness> = units
            .iter()
            .map(|u| UnitReadiness {
                unit_name: u.unit_name.clone(),
                submitted: u.submitted_at.is_some(),
                deadline: period.self_close_at.max(u.extension_until.unwrap_or(0)),
            })
            .collect();
        let mut progress = Vec::new();
        let mut evaluations = Vec::new();
        if wanted == Transition::CloseRound && matches!(stage, Stage::Round(_)) {
            let assignments = self.store.assignments(period_id).await?;
            evaluations = UnitEvaluation::load_period(self, period_id).await?;
            for ev in &evaluations {
                progress.extend(ev.progress(&assignments));
            }
        }
        let now = self.now_ms();
        let to = match transition(stage, rounds, wanted, now, &readiness, &progress) {
            Ok(to) => to,
            Err(Refusal::AppraisalNotDone(pending)) => {
                let message = Refusal::AppraisalNotDone(pending.clone()).to_string();
                let items = pending
                    .iter()
                    .map(|p| {
                        let ev = evaluations.iter().find(|e| e.unit.unit_id == p.unit_id);
                        PendingItem {
                            unit_name: ev.map(|e| e.unit.unit_name.clone()).unwrap_or_default(),
                            leaf_title: ev
                                .and_then(|e| e.set.node(&p.leaf_code))
                                .map(|n| n.title.clone())
                                .unwrap_or_default(),
                            leaf_code: p.leaf_code.clone(),
                            why: PendingWhy::label_vi(p.why),
                        }
                    })
                    .collect();
                return Ok(StageOutcome::Pending {
                    period,
                    message,
                    items,
                });
            }
            Err(other) => return Err(refused(other)),
        };
        let guard = self
            .overridable_guard(&period, &units, &evaluations, stage, to, now)
            .await?;
        let mut override_record = None;
        if let Some((guard, refusal, waiting)) = guard {
            let reason = clean(&change.override_reason);
            if reason.chars().count() < 5 {
                return Ok(StageOutcome::NeedsOverride {
                    period,
                    guard,
                    message: refusal.to_string(),
                    units: waiting,
                    error: (!reason.is_empty()).then(|| Message::key("periods.reason_required")),
                });
            }
            override_record = Some(serde_json::json!({
                "from": { "stage": stage.stored().0, "round": stage.stored().1 },
                "to": { "stage": to.stored().0, "round": to.stored().1 },
                "refusal": refusal.to_string(),
                "units": waiting.iter().map(|u| u.code.clone()).collect::<Vec<_>>(),
                "reason": reason,
            }));
        }
        let notices = self.flag_notices(&evaluations, stage, to).await?;
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.set_period_stage(period_id, stage.stored(), to.stored())
            .await?;
        if let Some(record) = override_record {
            // The reason the guard was overridden, in the same transaction as the change.
            tx.audit(
                "period.stage_override",
                "period",
                period_id,
                None,
                Some(record),
            )
            .await?;
        }
        if let Stage::Explanation(k) = to {
            if let Some(due) = due {
                tx.set_explanation_deadline(period_id, i64::from(k), due)
                    .await?;
            }
            for (unit_id, flagged, users) in &notices {
                tx.notify(
                    users,
                    &NewNotification {
                        kind: "explanation_needed",
                        dedupe_key: Some(format!("flag:{period_id}:{unit_id}:{k}")),
                        title: format!("Đơn vị có {flagged} tiêu chí cần giải trình"),
                        body: format!(
                            "{}: tổ thẩm định đề nghị giải trình {flagged} tiêu chí sau thẩm định lần {k}.",
                            period.name
                        ),
                        link: format!("/periods/{period_id}/units/{unit_id}/explanation"),
                    },
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(StageOutcome::Moved)
    }

    /// The guards the secretariat may override with a reason: opening the next round while a
    /// flagged unit may still explain, and the council stage with no survey data. Returns the
    /// guard, the refusal and the units it names.
    async fn overridable_guard(
        &self,
        period: &Period,
        units: &[PeriodUnit],
        evaluations: &[UnitEvaluation],
        stage: Stage,
        to: Stage,
        now: i64,
    ) -> Result<Option<(OverridableGuard, Refusal, Vec<WaitingUnit>)>, AppError> {
        match (stage, to) {
            (Stage::Explanation(k), Stage::Round(_)) => {
                let (readiness, rows) = self.explanation_readiness(period, units, k).await?;
                let Err(refusal) = check_explanations_answered(&readiness, now) else {
                    return Ok(None);
                };
                let waiting: &[String] = match &refusal {
                    Refusal::ExplanationsPending(labels) => labels,
                    _ => &[],
                };
                let rows = readiness
                    .iter()
                    .zip(rows)
                    .filter(|(r, _)| waiting.contains(&r.unit_label))
                    .map(|(_, row)| row)
                    .collect();
                Ok(Some((OverridableGuard::ExplanationsPending, refusal, rows)))
            }
            (Stage::Round(_), Stage::CouncilReview) => {
                let has_survey_leaves = evaluations.iter().any(|ev| {
                    ev.set.leaves().any(|leaf| {
                        leaf.is_survey()
                            && ev
                                .set
                                .index_of(&leaf.code)
                                .is_some_and(|i| ev.set.applies_to_group(i, &ev.unit.group_code))
                    })
                });
                let counted = self.store.counted_survey_responses(period.id).await?;
                Ok(
                    check_survey_data(has_survey_leaves, u64::try_from(counted).unwrap_or(0))
                        .err()
                        .map(|r| (OverridableGuard::NoSurveyData, r, Vec::new())),
                )
            }
            _ => Ok(None),
        }
    }

    /// The flagged units' situation in explanation round `k`, with each unit for the page.
    async fn explanation_readiness(
        &self,
        period: &Period,
        units: &[PeriodUnit],
        k: u8,
    ) -> Result<(Vec<ExplanationReadiness>, Vec<WaitingUnit>), AppError> {
        let flagged: BTreeSet<i64> = self
            .store
            .period_appraisals(period.id)
            .await?
            .into_iter()
            .filter(|a| a.round == i64::from(k) && a.needs_explanation)
            .map(|a| a.unit_id)
            .collect();
        let round_due = self
            .store
            .explanation_deadlines(period.id)
            .await?
            .into_iter()
            .find(|(r, _)| *r == i64::from(k))
            .map(|(_, due)| due);
        let extensions = self.store.explanation_extensions(period.id).await?;
        let mut readiness = Vec::new();
        let mut rows = Vec::new();
        for u in units.iter().filter(|u| flagged.contains(&u.unit_id)) {
            let extension = extensions
                .iter()
                .find(|e| e.unit_id == u.unit_id && e.round == i64::from(k))
                .map(|e| e.until_at);
            let due = explanation_due(k, period.explanation_due_at, round_due, extension);
            readiness.push(ExplanationReadiness {
                unit_label: format!("{} — {}", u.unit_code, u.unit_name),
                flagged: true,
                submitted: u.explanation_submitted_round >= i64::from(k),
                due,
            });
            rows.push(WaitingUnit {
                code: u.unit_code.clone(),
                name: u.unit_name.clone(),
                deadline: due.map(parindex_domain::text::datetime_vi),
            });
        }
        Ok((readiness, rows))
    }

    /// Who to tell that their unit has leaves to explain, when a round closes into an
    /// explanation round: (unit, leaves flagged, users).
    async fn flag_notices(
        &self,
        evaluations: &[UnitEvaluation],
        stage: Stage,
        to: Stage,
    ) -> Result<Vec<(i64, usize, Vec<i64>)>, AppError> {
        let mut notices = Vec::new();
        let (Stage::Round(k), Stage::Explanation(_)) = (stage, to) else {
            return Ok(notices);
        };
        for ev in evaluations {
            let flagged = ev
                .appraisals
                .iter()
                .filter(|a| a.round == i64::from(k) && a.needs_explanation)
                .count();
            if flagged == 0 {
                continue;
            }
            let mut users = BTreeSet::new();
            holders(
                self,
                &["unit_officer", "unit_head"],
                Some(ev.unit.unit_id),
                &mut users,
            )
            .await?;
            notices.push((ev.unit.unit_id, flagged, users.into_iter().collect()));
        }
        Ok(notices)
    }

    /// Sets or extends the deadline of the explanation round the period is in (or the one the
    /// open round leads to), audited with the earlier date.
    pub async fn set_explanation_deadline(
        &self,
        by: &Acting,
        period_id: i64,
        due: &str,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        let round = check_explanation_deadline_write(stage, rounds).map_err(refused)?;
        let Some(due) = due_date(due)? else {
            return Err(AppError::invalid_field(
                "due",
                Message::key("workflow.bad_due"),
            ));
        };
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.set_explanation_deadline(period_id, i64::from(round), due)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants one unit more time to answer the open explanation round, with a reason (an
    /// empty date withdraws the extension).
    pub async fn extend_explanation(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
        until: &str,
        reason: &str,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        self.store.period_unit(period_id, unit_id).await?;
        let (stage, _) = stage_of(&period)?;
        let Stage::Explanation(round) = stage else {
            return Err(closed_in(stage));
        };
        let until_ms = due_date(until)?;
        let reason = match until_ms {
            Some(_) => reason_of(reason)?,
            None => clean(reason),
        };
        if let (Some(until_ms), Some(day)) = (until_ms, parse_date_vi(until)) {
            // After the unit's deadline in force (the round's, or an extension already given).
            let current =
                crate::deadlines::explanation_due_for(&self.store, &period, unit_id, round).await?;
            check_extension(day, until_ms, current, self.now_ms(), period.year)
                .map_err(|r| AppError::invalid(r.message_vi(parindex_domain::text::datetime_vi)))?;
        }
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.set_explanation_extension(period_id, unit_id, i64::from(round), until_ms, &reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Corrections of a published unit.

/// A corrected leaf value as typed: the points ("na" for not applicable) and the reason.
#[derive(Debug, Clone, Default)]
pub struct CorrectionInput {
    pub points: String,
    pub reason: String,
}

impl App {
    /// Reopens one published unit for a correction, with the reason.
    pub async fn reopen_for_correction(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
        reason: &str,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        if stage != Stage::Published {
            return Err(refused(Refusal::WrongStage(stage)));
        }
        self.store.period_unit(period_id, unit_id).await?;
        let reason = reason_of(reason)?;
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.reopen_for_correction(period_id, unit_id, &reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A corrected leaf value of a reopened unit.
    pub async fn correct_leaf(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
        code: &str,
        input: &CorrectionInput,
    ) -> Result<(), AppError> {
        by.require(Action::ManageAppraisal)?;
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        check_correction_write(ev.stage, ev.unit.correction_reason.is_some())
            .map_err(|r| AppError::forbidden(r.to_string()))?;
        let Some(leaf) = ev.applicable_leaves().find(|l| l.code == code) else {
            return Err(AppError::invalid_field(
                "code",
                Message::key("workflow.unknown_code_named").arg("code", code),
            ));
        };
        let reason = reason_of(&input.reason)?;
        let text = input.points.trim();
        let (score, na) = if text.eq_ignore_ascii_case("na") {
            if !leaf.not_applicable_allowed {
                return Err(AppError::invalid_field(
                    "points",
                    Message::key("workflow.na_not_allowed"),
                ));
            }
            (None, true)
        } else {
            let Some(points) = Points::parse(text)
                .filter(|p| !p.is_negative() && *p <= leaf.max)
                .and_then(|p| p.to_millipoints())
            else {
                return Err(AppError::invalid_field(
                    "points",
                    Message::key("workflow.bad_points_range").arg("max", leaf.max.display_vi()),
                ));
            };
            (Some(points), false)
        };
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.save_correction(period_id, unit_id, code, score, na, &reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
