//! The period's appraisal workflow for the secretariat: assigning appraisers (never to their own
//! unit), moving the period through its stages with their guards, the council's provisional
//! results, the approval decision with its signed PDF, publication, and the correction of a
//! published unit (reopen, corrected leaf values, a new publication that keeps the earlier one).

use crate::routes::table::Routes;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use askama::Template;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use parindex_domain::appraisal::{
    ExplanationReadiness, LeafProgress, PendingWhy, Refusal, Stage, Transition, UnitReadiness,
    WorkStatus, check_assignment, check_assignment_stage, check_correction_write,
    check_explanation_deadline_write, check_explanations_answered, check_survey_data,
    explanation_due, transition,
};
use parindex_domain::text::{format_date_vi, parse_date_vi};
use parindex_domain::workflow::{check_decision_date, check_extension};
use parindex_domain::{Action, Points};
use parindex_store::appraisal::{Assignment, NewNotification, PublishedResult, ResultToPublish};
use parindex_store::evidence::UploadLimits;
use parindex_store::periods::{Period, PeriodUnit};
use serde::Deserialize;

use super::account::OkQuery;
use super::results::pts;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, FormList, Multipart, Path, Query};
use crate::page::Page;
use parindex_app::evaluation::{UnitEvaluation, is_assigned, stage_of};
pub use parindex_app::results::ResultSnapshot;
use parindex_app::results::snapshot;

// ---------------------------------------------------------------------------------------------
// The stage panel on the period page and the board columns.

/// The stage of the period and the next actions the secretariat may take.
pub struct StagePanel {
    pub label: String,
    /// The period's number of appraisal rounds.
    pub rounds: i64,
    /// Whether the units' self-assessment is still open (reopening a unit makes sense).
    pub self_open: bool,
    /// The explanation round whose deadline may be set now (the one the open round leads to,
    /// or the open explanation round), and that deadline as set (dd/mm/yyyy HH:MM), if any.
    pub deadline_round: Option<u8>,
    pub deadline: Option<String>,
    /// The open explanation round (per-unit extensions are granted in it).
    pub explanation_round: Option<u8>,
    /// (action value, message key of the button)
    pub actions: Vec<(&'static str, &'static str)>,
    pub results_hint: bool,
}

/// What the period page shows about the workflow.
pub async fn stage_panel(state: &AppState, period: &Period) -> Result<StagePanel, WebError> {
    let stage = Some(period.stage);
    let rounds = period.appraisal_rounds;
    let deadline_round = stage.and_then(|s| check_explanation_deadline_write(s, rounds).ok());
    let deadline = match deadline_round {
        // No unit: the round's deadline without any extension.
        Some(k) => parindex_app::deadlines::explanation_due_for(&state.store, period, 0, k)
            .await?
            .map(crate::page::datetime_vi),
        None => None,
    };
    let actions = match stage {
        Some(Stage::SelfAssessment) => vec![("start", "workflow.action_start")],
        Some(Stage::Round(_)) => vec![("close_round", "workflow.action_close_round")],
        Some(Stage::Explanation(_)) => vec![("next_round", "workflow.action_next_round")],
        _ => Vec::new(),
    };
    Ok(StagePanel {
        deadline_round,
        deadline,
        explanation_round: match stage {
            Some(Stage::Explanation(k)) => Some(k),
            _ => None,
        },
        label: stage.map(Stage::label_vi).unwrap_or_default(),
        rounds: i64::from(period.appraisal_rounds.get()),
        self_open: stage == Some(Stage::SelfAssessment),
        actions,
        results_hint: matches!(
            stage,
            Some(Stage::CouncilReview | Stage::Approved | Stage::Published)
        ),
    })
}

/// A unit's appraisal situation on the progress board.
#[derive(Debug, Clone, Default)]
pub struct BoardExtra {
    /// Leaves appraised in a round ≤ the current one, of the self-assessed leaves.
    pub appraised: usize,
    pub to_appraise: usize,
    /// Leaves flagged in the latest round that flagged.
    pub flagged: usize,
    pub explanation_round: i64,
    pub correction_open: bool,
    pub published_total: Option<String>,
    /// The unit's extension of the open explanation round: (until, reason).
    pub explanation_extension: Option<(String, String)>,
}

/// The appraisal columns of the board, per unit.
pub async fn board_extras(
    state: &AppState,
    period: &Period,
    units: &[PeriodUnit],
) -> Result<HashMap<i64, BoardExtra>, WebError> {
    let (stage, _) = stage_of(period)?;
    let current = match stage {
        Stage::SelfAssessment => 0,
        Stage::Round(k) | Stage::Explanation(k) => k,
        _ => u8::MAX,
    };
    let published = latest_publications(&state.store.published_results(period.id).await?);
    let assignments = state.store.assignments(period.id).await?;
    let extensions = match stage {
        Stage::Explanation(k) => state
            .store
            .explanation_extensions(period.id)
            .await?
            .into_iter()
            .filter(|e| e.round == i64::from(k))
            .map(|e| {
                (
                    e.unit_id,
                    (crate::page::datetime_vi(e.until_at), e.reason.clone()),
                )
            })
            .collect(),
        _ => HashMap::new(),
    };
    let mut out = HashMap::new();
    for unit in units {
        let mut extra = BoardExtra {
            explanation_extension: extensions.get(&unit.unit_id).cloned(),
            explanation_round: unit.explanation_submitted_round,
            correction_open: unit.correction_reason.is_some(),
            published_total: published.get(&unit.unit_id).map(|r| pts(r.total_milli)),
            ..BoardExtra::default()
        };
        if current > 0 {
            let ev = UnitEvaluation::load(state, period.id, unit.unit_id).await?;
            let progress = ev.progress(&assignments);
            extra.to_appraise = progress.len();
            extra.appraised = progress
                .iter()
                .filter(|p| p.rounds.range(..=current).next().is_some())
                .count();
            extra.flagged = progress
                .iter()
                .filter(|p| {
                    p.rounds
                        .range(..=current)
                        .next_back()
                        .is_some_and(|(_, f)| *f)
                })
                .count();
        }
        out.insert(unit.unit_id, extra);
    }
    Ok(out)
}

fn latest_publications(all: &[PublishedResult]) -> HashMap<i64, PublishedResult> {
    let mut latest: HashMap<i64, PublishedResult> = HashMap::new();
    for r in all {
        if latest
            .get(&r.unit_id)
            .is_none_or(|l| l.publication < r.publication)
        {
            latest.insert(r.unit_id, r.clone());
        }
    }
    latest
}

// ---------------------------------------------------------------------------------------------
// Assignments.

/// One appraiser's workload in the period.
pub struct Workload {
    pub name: String,
    pub assigned: usize,
    pub done: usize,
    pub flagged: usize,
    pub todo: usize,
}

#[derive(Template)]
#[template(path = "workflow_assignments.html")]
struct AssignmentsPage {
    p: Page,
    period: Period,
    stage_label: String,
    assignments: Vec<Assignment>,
    node_titles: HashMap<(i64, String), String>,
    appraisers: Vec<(i64, String)>,
    units: Vec<PeriodUnit>,
    groups: Vec<String>,
    /// (code, title) of the domains of the period's sets.
    domains: Vec<(String, String)>,
    workload: Vec<Workload>,
    errors: Vec<String>,
    /// Pairs a bulk assignment left out (an appraiser's own unit), with the reason.
    skipped: Vec<String>,
    /// Why assignments can no longer change (the appraisal is closed), if so.
    closed: Option<String>,
}

async fn assignments_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    errors: Vec<String>,
    skipped: Vec<String>,
) -> Result<AssignmentsPage, WebError> {
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    let assignments = state.store.assignments(id).await?;
    let units = state.store.period_units(id).await?;
    let mut groups: Vec<String> = Vec::new();
    let mut domains: Vec<(String, String)> = Vec::new();
    let mut node_titles = HashMap::new();
    for (group, _) in state.store.period_sets(id).await? {
        let set = state.set_for_group(id, &group).await?;
        for d in set.domains() {
            if !domains.iter().any(|(c, _)| *c == d.code) {
                domains.push((d.code.clone(), d.title.clone()));
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
    // Workload: every (unit, leaf) pair each appraiser holds, by status.
    let mut evaluations: HashMap<i64, (UnitEvaluation, Vec<LeafProgress>)> = HashMap::new();
    for unit_id in assignments
        .iter()
        .map(|a| a.unit_id)
        .collect::<BTreeSet<_>>()
    {
        let ev = UnitEvaluation::load(state, id, unit_id).await?;
        let progress = ev.progress(&assignments);
        evaluations.insert(unit_id, (ev, progress));
    }
    let mut workload = Vec::new();
    let mut seen = BTreeSet::new();
    for a in &assignments {
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
        for (unit_id, (ev, progress)) in &evaluations {
            for p in progress {
                if !is_assigned(
                    &ev.set.set,
                    &assignments,
                    *unit_id,
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
    Ok(AssignmentsPage {
        p: Page::for_user(state, user, "workflow.assignments_title").with_notice(ok),
        stage_label: stage.label_vi(),
        appraisers: state.store.users_with_role("appraiser", None).await?,
        period,
        assignments,
        node_titles,
        units,
        groups,
        domains,
        workload,
        errors,
        skipped,
        closed: check_assignment_stage(stage).err().map(|r| r.to_string()),
    })
}

/// The assignments of a period, the appraisers' workload, and the bulk assignment form.
pub async fn assignments(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    super::render(
        &assignments_page(&state, &user, id, q.ok.as_deref(), Vec::new(), Vec::new()).await?,
    )
}

fn ids(fields: &[(String, String)], name: &str) -> Result<Vec<i64>, String> {
    fields
        .iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().parse::<i64>().map_err(|_| v.clone()))
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .unwrap_or("")
}

/// Bulk assignment: appraisers (ticked, or a whole team: every appraiser whose home unit is the
/// chosen one) × units (ticked, or every unit of a group) × node codes. Nothing is saved when
/// a code is unknown, or when a ticked unit is an appraiser's own. A unit that comes only from
/// "every unit of the group" is left out for the appraisers it belongs to (the Justice team
/// appraising domain 2 for all units does not appraise Justice), and the page lists each pair
/// left out with the reason.
pub async fn assign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    check_assignment_stage(stage).map_err(refusal_error)?;
    let period_units = state.store.period_units(id).await?;
    let all_appraisers = state.store.users_with_role("appraiser", None).await?;
    let mut errors: Vec<String> = Vec::new();

    // Appraisers.
    let mut appraisers: BTreeSet<i64> = BTreeSet::new();
    match ids(&fields, "appraiser") {
        Ok(list) => {
            for a in list {
                if all_appraisers.iter().any(|(id, _)| *id == a) {
                    appraisers.insert(a);
                } else {
                    errors.push(format!("{} ({a})", lang.t("workflow.unknown_appraiser")));
                }
            }
        }
        Err(bad) => errors.push(format!("{} ({bad})", lang.t("workflow.unknown_appraiser"))),
    }
    let team = field(&fields, "team_unit");
    if !team.is_empty() {
        match team.parse::<i64>() {
            Ok(team_unit) => {
                let members = state
                    .store
                    .users_with_role("appraiser", Some(team_unit))
                    .await?;
                if members.is_empty() {
                    errors.push(lang.t("workflow.empty_team").into());
                }
                appraisers.extend(members.into_iter().map(|(id, _)| id));
            }
            Err(_) => errors.push(lang.t("workflow.empty_team").into()),
        }
    }

    // Units.
    let mut units: BTreeSet<i64> = BTreeSet::new();
    // The units ticked one by one: a conflict on one of these is the user's explicit choice
    // and refuses the whole form.
    let mut explicit_units: BTreeSet<i64> = BTreeSet::new();
    match ids(&fields, "unit") {
        Ok(list) => {
            for u in list {
                if period_units.iter().any(|pu| pu.unit_id == u) {
                    units.insert(u);
                    explicit_units.insert(u);
                } else {
                    errors.push(format!("{} ({u})", lang.t("workflow.unknown_unit")));
                }
            }
        }
        Err(bad) => errors.push(format!("{} ({bad})", lang.t("workflow.unknown_unit"))),
    }
    let group = field(&fields, "unit_group");
    if !group.is_empty() {
        let of_group: Vec<i64> = period_units
            .iter()
            .filter(|u| u.group_code == group)
            .map(|u| u.unit_id)
            .collect();
        if of_group.is_empty() {
            errors.push(format!("{} ({group})", lang.t("workflow.unknown_unit")));
        }
        units.extend(of_group);
    }

    // Node codes: ticked domains and typed codes.
    let mut codes: BTreeSet<String> = fields
        .iter()
        .filter(|(k, _)| k == "node")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
        .collect();
    codes.extend(
        field(&fields, "codes")
            .split([',', ';', ' ', '\n'])
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned),
    );

    if appraisers.is_empty() {
        errors.push(lang.t("workflow.no_appraisers").into());
    }
    if units.is_empty() {
        errors.push(lang.t("workflow.no_units").into());
    }
    if codes.is_empty() {
        errors.push(lang.t("workflow.no_codes").into());
    }

    // Each code must be a node of each chosen unit's set that applies to its group.
    let mut rows: Vec<(i64, i64, String)> = Vec::new();
    let name_of = |id: i64| {
        all_appraisers
            .iter()
            .find(|(u, _)| *u == id)
            .map(|(_, n)| n.clone())
            .unwrap_or_default()
    };
    let mut unknown_codes: BTreeSet<String> = BTreeSet::new();
    for unit_id in &units {
        let Some(unit) = period_units.iter().find(|u| u.unit_id == *unit_id) else {
            continue;
        };
        let set = state.set_for_group(period.id, &unit.group_code).await?;
        for code in &codes {
            let ok = set
                .index_of(code)
                .is_some_and(|i| set.applies_to_group(i, &unit.group_code));
            if !ok {
                unknown_codes.insert(format!(
                    "{} {code} ({})",
                    lang.t("workflow.unknown_code"),
                    unit.group_code
                ));
            }
        }
    }
    errors.extend(unknown_codes);
    // Conflict of interest: an appraiser never appraises their own unit, by any grant.
    let mut skipped: Vec<String> = Vec::new();
    for appraiser in &appraisers {
        let home = state.store.user_own_units(*appraiser).await?;
        for unit_id in &units {
            let Some(unit) = period_units.iter().find(|u| u.unit_id == *unit_id) else {
                continue;
            };
            if let Err(refusal) = check_assignment(&home, *unit_id) {
                let reason = refusal.to_string();
                let line = format!(
                    "{}: {} — {}",
                    reason.trim_end_matches('.'),
                    name_of(*appraiser),
                    unit.unit_name
                );
                if explicit_units.contains(unit_id) {
                    errors.push(line);
                } else {
                    skipped.push(line);
                }
                continue;
            }
            for code in &codes {
                rows.push((*appraiser, *unit_id, code.clone()));
            }
        }
    }
    if rows.is_empty() && errors.is_empty() {
        // Every pair was someone's own unit: nothing to save, and that is the user's to fix.
        errors.push(lang.t("workflow.all_pairs_skipped").into());
    }
    if !errors.is_empty() {
        let page = assignments_page(&state, &user, id, None, errors, skipped).await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    // Pairs that already exist are not added again; when nothing is new there is nothing to
    // commit (and no audit record to write).
    if tx.add_assignments(id, &rows).await? > 0 {
        tx.commit().await?;
    }
    if !skipped.is_empty() {
        // Saved, and the page (not a redirect) says which pairs were left out and why.
        let page = assignments_page(&state, &user, id, Some("saved"), Vec::new(), skipped).await?;
        return super::render(&page);
    }
    Ok(Redirect::to(&format!("/periods/{id}/assignments?ok=saved")).into_response())
}

/// Removes one assignment.
pub async fn unassign(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, assignment_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    check_assignment_stage(stage).map_err(refusal_error)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.remove_assignment(id, assignment_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/assignments?ok=deleted")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Stage transitions.

/// One thing that keeps the round from closing, for the page.
pub struct PendingRow {
    pub unit_name: String,
    pub leaf_code: String,
    pub leaf_title: String,
    pub why: &'static str,
}

#[derive(Template)]
#[template(path = "workflow_pending.html")]
struct PendingPage {
    p: Page,
    period: Period,
    message: String,
    pending: Vec<PendingRow>,
}

#[derive(Deserialize)]
pub struct StageForm {
    #[serde(default)]
    action: String,
    /// Closing a round that opens an explanation round: its deadline (dd/mm/yyyy), optional.
    #[serde(default)]
    explanation_due: String,
    /// The secretariat's reason to move on although a guard that may be overridden refused
    /// (units still within their explanation deadline, no survey data); recorded in the audit.
    #[serde(default)]
    override_reason: String,
}

/// A refusal the secretariat may override with a reason: what it says, the units it is
/// about, and the form to confirm.
#[derive(Template)]
#[template(path = "workflow_override.html")]
struct OverridePage {
    p: Page,
    period: Period,
    heading: &'static str,
    message: String,
    /// (code, name, deadline) of the units concerned.
    units: Vec<(String, String, String)>,
    action: String,
    explanation_due: String,
    error: Option<String>,
}

/// The flagged units' situation in explanation round `k`, with each unit's (code, name,
/// deadline) for the page.
async fn explanation_readiness(
    state: &AppState,
    period: &Period,
    units: &[PeriodUnit],
    k: u8,
) -> Result<(Vec<ExplanationReadiness>, Vec<(String, String, String)>), WebError> {
    let flagged: BTreeSet<i64> = state
        .store
        .period_appraisals(period.id)
        .await?
        .into_iter()
        .filter(|a| a.round == i64::from(k) && a.needs_explanation)
        .map(|a| a.unit_id)
        .collect();
    let round_due = state
        .store
        .explanation_deadlines(period.id)
        .await?
        .into_iter()
        .find(|(r, _)| *r == i64::from(k))
        .map(|(_, due)| due);
    let extensions = state.store.explanation_extensions(period.id).await?;
    let mut readiness = Vec::new();
    let mut rows = Vec::new();
    for u in units.iter().filter(|u| flagged.contains(&u.unit_id)) {
        let extension = extensions
            .iter()
            .find(|e| e.unit_id == u.unit_id && e.round == i64::from(k))
            .map(|e| e.until_at);
        let due = explanation_due(k, period.explanation_due_at, round_due, extension);
        let label = format!("{} — {}", u.unit_code, u.unit_name);
        readiness.push(ExplanationReadiness {
            unit_label: label,
            flagged: true,
            submitted: u.explanation_submitted_round >= i64::from(k),
            due,
        });
        rows.push((
            u.unit_code.clone(),
            u.unit_name.clone(),
            due.map(crate::page::datetime_vi).unwrap_or_default(),
        ));
    }
    Ok((readiness, rows))
}

/// A date typed in a form as the end of that day, or a 422 with the reason.
fn due_date(text: &str, lang: crate::i18n::Lang) -> Result<Option<i64>, WebError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    parse_date_vi(text)
        .map(|d| Some(super::periods::day_end_ms(d)))
        .ok_or_else(|| WebError::BadRequest(lang.t("workflow.bad_due").into()))
}

fn refusal_error(r: Refusal) -> WebError {
    match r {
        Refusal::WrongStage(_)
        | Refusal::Frozen
        | Refusal::AssignmentsClosed(_)
        | Refusal::SelfAssessmentClosed(_) => WebError::ForbiddenBecause(r.to_string()),
        other => WebError::BadRequest(other.to_string()),
    }
}

fn unit_ids_of(users: Vec<(i64, String)>, into: &mut BTreeSet<i64>) {
    into.extend(users.into_iter().map(|(id, _)| id));
}

/// Moves the period to its next stage (start the appraisal, close a round, open the next one),
/// if the guard allows; a round that cannot close lists every pending item.
pub async fn change_stage(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<StageForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    let (stage, rounds) = stage_of(&period)?;
    let wanted = match form.action.as_str() {
        "start" => Transition::StartAppraisal,
        "close_round" => Transition::CloseRound,
        "next_round" => Transition::OpenNextRound,
        _ => return Err(WebError::BadRequest(lang.t("workflow.bad_action").into())),
    };
    let due = due_date(&form.explanation_due, lang)?;
    let units = state.store.period_units(id).await?;
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
        let assignments = state.store.assignments(id).await?;
        for u in &units {
            let ev = UnitEvaluation::load(&state, id, u.unit_id).await?;
            progress.extend(ev.progress(&assignments));
            evaluations.push(ev);
        }
    }
    let to = match transition(
        stage,
        rounds,
        wanted,
        parindex_store::now_ms(),
        &readiness,
        &progress,
    ) {
        Ok(to) => to,
        Err(Refusal::AppraisalNotDone(pending)) => {
            let message = Refusal::AppraisalNotDone(pending.clone()).to_string();
            let rows = pending
                .iter()
                .map(|p| {
                    let ev = evaluations.iter().find(|e| e.unit.unit_id == p.unit_id);
                    PendingRow {
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
            let page = PendingPage {
                p: Page::for_user(&state, &user, "workflow.pending_title"),
                period,
                message,
                pending: rows,
            };
            return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        Err(other) => return Err(refusal_error(other)),
    };
    // Guards the secretariat may override with a reason: opening the next round while a
    // flagged unit may still explain, and the council stage with no survey data.
    let now = parindex_store::now_ms();
    let (guard, concerned, heading) = match (stage, to) {
        (Stage::Explanation(k), Stage::Round(_)) => {
            let (readiness, rows) = explanation_readiness(&state, &period, &units, k).await?;
            let refusal = check_explanations_answered(&readiness, now).err();
            // The page lists the units the refusal names.
            let waiting: &[String] = match &refusal {
                Some(Refusal::ExplanationsPending(labels)) => labels,
                _ => &[],
            };
            let rows = readiness
                .iter()
                .zip(rows)
                .filter(|(r, _)| waiting.contains(&r.unit_label))
                .map(|(_, row)| row)
                .collect();
            (refusal, rows, "workflow.override_next_title")
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
            let counted = state.store.counted_survey_responses(id).await?;
            (
                check_survey_data(has_survey_leaves, u64::try_from(counted).unwrap_or(0)).err(),
                Vec::new(),
                "workflow.override_council_title",
            )
        }
        _ => (None, Vec::new(), ""),
    };
    let mut override_record = None;
    if let Some(refusal) = guard {
        let reason = clean(&form.override_reason);
        if reason.chars().count() < 5 {
            let page = OverridePage {
                p: Page::for_user(&state, &user, heading),
                period,
                heading,
                message: refusal.to_string(),
                units: concerned,
                action: form.action.clone(),
                explanation_due: form.explanation_due.clone(),
                error: (!reason.is_empty()).then(|| lang.t("periods.reason_required").to_owned()),
            };
            return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
        }
        override_record = Some(serde_json::json!({
            "from": { "stage": stage.stored().0, "round": stage.stored().1 },
            "to": { "stage": to.stored().0, "round": to.stored().1 },
            "refusal": refusal.to_string(),
            "units": concerned.iter().map(|(code, _, _)| code.clone()).collect::<Vec<_>>(),
            "reason": reason,
        }));
    }
    // Who to tell that their unit has leaves to explain (read before the write transaction).
    let mut notices: Vec<(i64, usize, Vec<i64>)> = Vec::new();
    if let (Stage::Round(k), Stage::Explanation(_)) = (stage, to) {
        for ev in &evaluations {
            let flagged = ev
                .appraisals
                .iter()
                .filter(|a| a.round == i64::from(k) && a.needs_explanation)
                .count();
            if flagged == 0 {
                continue;
            }
            let mut users = BTreeSet::new();
            unit_ids_of(
                state
                    .store
                    .users_with_role("unit_officer", Some(ev.unit.unit_id))
                    .await?,
                &mut users,
            );
            unit_ids_of(
                state
                    .store
                    .users_with_role("unit_head", Some(ev.unit.unit_id))
                    .await?,
                &mut users,
            );
            notices.push((ev.unit.unit_id, flagged, users.into_iter().collect()));
        }
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_period_stage(id, stage.stored(), to.stored()).await?;
    if let Some(record) = override_record {
        // The reason the guard was overridden, in the same transaction as the stage change.
        tx.audit("period.stage_override", "period", id, None, Some(record))
            .await?;
    }
    if let (Stage::Explanation(k), Some(due)) = (to, due) {
        tx.set_explanation_deadline(id, i64::from(k), due).await?;
    }
    if let Stage::Explanation(k) = to {
        for (unit_id, flagged, users) in &notices {
            tx.notify(
                users,
                &NewNotification {
                    kind: "explanation_needed",
                    dedupe_key: Some(format!("flag:{id}:{unit_id}:{k}")),
                    title: format!("Đơn vị có {flagged} tiêu chí cần giải trình"),
                    body: format!(
                        "{}: tổ thẩm định đề nghị giải trình {flagged} tiêu chí sau thẩm định lần {k}.",
                        period.name
                    ),
                    link: format!("/periods/{id}/units/{unit_id}/explanation"),
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}

#[derive(Deserialize)]
pub struct DeadlineForm {
    #[serde(default)]
    due: String,
}

/// Sets or extends the deadline of the explanation round the period is in (or the one the open
/// round leads to), audited with the earlier date.
pub async fn explanation_deadline(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<DeadlineForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    let (stage, rounds) = stage_of(&period)?;
    let round = check_explanation_deadline_write(stage, rounds).map_err(refusal_error)?;
    let Some(due) = due_date(&form.due, lang)? else {
        return Err(WebError::BadRequest(lang.t("workflow.bad_due").into()));
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_explanation_deadline(id, i64::from(round), due)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}

#[derive(Deserialize)]
pub struct ExplanationExtensionForm {
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// Grants one unit more time to answer the open explanation round, with a reason (an empty
/// date withdraws the extension).
pub async fn explanation_extension(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<ExplanationExtensionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    state.store.period_unit(id, unit_id).await?;
    let (stage, _) = stage_of(&period)?;
    let Stage::Explanation(round) = stage else {
        return Err(refusal_error(if stage == Stage::Published {
            Refusal::Frozen
        } else {
            Refusal::WrongStage(stage)
        }));
    };
    let until = due_date(&form.until, lang)?;
    let reason = clean(&form.reason);
    if until.is_some() && reason.chars().count() < 5 {
        return Err(WebError::BadRequest(
            lang.t("periods.reason_required").into(),
        ));
    }
    if let (Some(until_ms), Some(day)) = (until, parse_date_vi(&form.until)) {
        // After the unit's deadline in force (the round's, or an extension already given).
        let current =
            parindex_app::deadlines::explanation_due_for(&state.store, &period, unit_id, round)
                .await?;
        check_extension(
            day,
            until_ms,
            current,
            parindex_store::now_ms(),
            period.year,
        )
        .map_err(|r| WebError::BadRequest(r.message_vi(crate::page::datetime_vi)))?;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_explanation_extension(id, unit_id, i64::from(round), until, &reason)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Results, decision, publication, correction.

async fn result_to_publish(
    state: &AppState,
    period_id: i64,
    unit_id: i64,
) -> Result<ResultToPublish, WebError> {
    let ev = UnitEvaluation::load(state, period_id, unit_id).await?;
    let card = ev.scorecard()?;
    let snap = snapshot(&ev, &card)?;
    Ok(ResultToPublish {
        unit_id,
        total_milli: snap.total_milli,
        applicable_max_milli: snap.applicable_max_milli,
        result_json: serde_json::to_string(&snap).map_err(|e| WebError::Internal(e.to_string()))?,
    })
}

/// A unit's line of the results table.
pub struct ResultRow {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub official: bool,
    pub snap: ResultSnapshot,
    /// (publication, total, reason, when)
    pub publications: Vec<(i64, String, String, String)>,
    pub correction_reason: Option<String>,
}

#[derive(Template)]
#[template(path = "workflow_results.html")]
struct ResultsPage {
    p: Page,
    period: Period,
    stage_label: String,
    stage_code: &'static str,
    manage: bool,
    groups: Vec<(String, Vec<ResultRow>)>,
    error: Option<String>,
}

async fn results_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ResultsPage, WebError> {
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    let publications = state.store.published_results(id).await?;
    let mut groups: BTreeMap<String, Vec<ResultRow>> = BTreeMap::new();
    for unit in state.store.period_units(id).await? {
        let mine: Vec<&PublishedResult> = publications
            .iter()
            .filter(|r| r.unit_id == unit.unit_id)
            .collect();
        let latest = mine.iter().max_by_key(|r| r.publication);
        let (official, snap) = match latest {
            Some(r) if stage == Stage::Published => (
                true,
                serde_json::from_str::<ResultSnapshot>(&r.result_json).unwrap_or_else(|_| {
                    ResultSnapshot {
                        total_milli: r.total_milli,
                        applicable_max_milli: r.applicable_max_milli,
                        ..ResultSnapshot::default()
                    }
                }),
            ),
            _ => {
                let ev = UnitEvaluation::load(state, id, unit.unit_id).await?;
                let card = ev.scorecard()?;
                (false, snapshot(&ev, &card)?)
            }
        };
        groups
            .entry(unit.group_code.clone())
            .or_default()
            .push(ResultRow {
                unit_id: unit.unit_id,
                unit_code: unit.unit_code.clone(),
                unit_name: unit.unit_name.clone(),
                official,
                snap,
                publications: mine
                    .iter()
                    .map(|r| {
                        (
                            r.publication,
                            pts(r.total_milli),
                            r.reason.clone(),
                            crate::page::datetime_vi(r.published_at),
                        )
                    })
                    .collect(),
                correction_reason: unit.correction_reason.clone(),
            });
    }
    let mut p = Page::for_user(state, user, "workflow.results_title").with_notice(ok);
    p.title = format!("{} — {}", p.title, period.name);
    Ok(ResultsPage {
        p,
        stage_label: stage.label_vi(),
        stage_code: stage.stored().0,
        manage: user.can(Action::ManageAppraisal),
        period,
        groups: groups.into_iter().collect(),
        error,
    })
}

/// The results of every unit: provisional (computed now) until published, then the published
/// snapshot, with every publication of the unit kept as history.
pub async fn results(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    super::render(&results_page(&state, &user, id, q.ok.as_deref(), None).await?)
}

/// Records the approval decision (number, date, signed PDF) and moves the period to approved.
pub async fn decision(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    let (stage, rounds) = stage_of(&period)?;
    transition(
        stage,
        rounds,
        Transition::RecordDecision,
        parindex_store::now_ms(),
        &[],
        &[],
    )
    .map_err(refusal_error)?;
    let limits = UploadLimits {
        max_bytes: state.config.max_upload_bytes,
    };
    let mut number = String::new();
    let mut date = String::new();
    let mut stored = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(WebError::BadRequest(format!(
                    "{} ({})",
                    lang.t("import.upload_failed"),
                    e.body_text()
                )));
            }
        };
        match field.name() {
            Some("number") => {
                let typed = field.text().await.unwrap_or_default();
                crate::extract::refuse_controls("number", &typed)?;
                number = typed
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .chars()
                    .take(100)
                    .collect();
            }
            Some("date") => {
                date = field.text().await.unwrap_or_default();
                // A decision dated in the future is refused before its file is stored.
                if let Some(day) = parse_date_vi(&date) {
                    check_decision_date(day, crate::page::today_vi()).map_err(|r| {
                        WebError::BadRequest(r.message_vi(crate::page::datetime_vi))
                    })?;
                }
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                if name.is_empty() {
                    continue;
                }
                if !name.to_lowercase().ends_with(".pdf") {
                    return Err(WebError::BadRequest(lang.t("workflow.pdf_required").into()));
                }
                let stream = field.map_err(std::io::Error::other);
                let blob = state
                    .evidence
                    .put_stream(stream, &name, &limits)
                    .await
                    .map_err(|e| {
                        if e.is_internal() {
                            WebError::Internal(e.to_string())
                        } else {
                            WebError::BadRequest(e.to_string())
                        }
                    })?;
                stored = Some((parindex_store::evidence::safe_display_name(&name), blob));
            }
            _ => {}
        }
    }
    if number.is_empty() {
        return Err(WebError::BadRequest(
            lang.t("workflow.number_required").into(),
        ));
    }
    let Some(date) = parse_date_vi(&date) else {
        return Err(WebError::BadRequest(lang.t("workflow.bad_date").into()));
    };
    check_decision_date(date, crate::page::today_vi())
        .map_err(|r| WebError::BadRequest(r.message_vi(crate::page::datetime_vi)))?;
    let Some((name, blob)) = stored else {
        return Err(WebError::BadRequest(lang.t("workflow.pdf_required").into()));
    };
    if blob.content_type != "application/pdf" {
        return Err(WebError::BadRequest(lang.t("workflow.pdf_required").into()));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.record_decision(
        id,
        &number,
        &format_date_vi(date),
        &blob.sha256_hex,
        &name,
        i64::try_from(blob.size).unwrap_or(i64::MAX),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=saved")).into_response())
}

/// The signed decision PDF, with safe headers.
pub async fn decision_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    if !user.can(Action::ManageAppraisal) {
        user.require(Action::ViewProvisionalResults)?;
    }
    let period = state.store.get_period(id).await?;
    let sha = period.decision_sha256.ok_or(WebError::NotFound)?;
    let download = state.evidence.get(&sha).await.map_err(|e| match e {
        parindex_store::evidence::EvidenceError::NotFound => WebError::NotFound,
        other => WebError::Internal(other.to_string()),
    })?;
    let stream = download.stream.map_err(std::io::Error::other);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_LENGTH, download.size.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"quyet-dinh-ky-{id}.pdf\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// Publishes every unit's result, freezes the period and tells everyone concerned.
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let period = state.store.get_period(id).await?;
    let (stage, rounds) = stage_of(&period)?;
    let to = transition(
        stage,
        rounds,
        Transition::Publish,
        parindex_store::now_ms(),
        &[],
        &[],
    )
    .map_err(refusal_error)?;
    let units = state.store.period_units(id).await?;
    let mut results = Vec::new();
    let mut users = BTreeSet::new();
    for u in &units {
        results.push(result_to_publish(&state, id, u.unit_id).await?);
        for role in ["unit_officer", "unit_head", "appraiser"] {
            unit_ids_of(
                state.store.users_with_role(role, Some(u.unit_id)).await?,
                &mut users,
            );
        }
    }
    for role in ["council_member", "viewer"] {
        unit_ids_of(state.store.users_with_role(role, None).await?, &mut users);
    }
    let users: Vec<i64> = users.into_iter().collect();
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.publish_results(id, &results, "").await?;
    tx.set_period_stage(id, stage.stored(), to.stored()).await?;
    tx.notify(
        &users,
        &NewNotification {
            kind: "published",
            dedupe_key: Some(format!("published:{id}:1")),
            title: format!("Kết quả Chỉ số CCHC {} đã được công bố", period.name),
            body: format!(
                "Kết quả Chỉ số CCHC {} đã được công bố theo quyết định {}.",
                period.name,
                period.decision_number.clone().unwrap_or_default()
            ),
            link: format!("/periods/{id}/results"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=published")).into_response())
}

fn clean(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reopens one published unit for a correction (called from the unit's reopen route once the
/// period is published).
pub async fn reopen_for_correction(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    unit_id: i64,
    reason: &str,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    if stage != Stage::Published {
        return Err(refusal_error(Refusal::WrongStage(stage)));
    }
    state.store.period_unit(id, unit_id).await?;
    let reason = clean(reason);
    if reason.chars().count() < 5 {
        let page = results_page(
            state,
            user,
            id,
            None,
            Some(lang.t("periods.reason_required").into()),
        )
        .await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.reopen_for_correction(id, unit_id, &reason).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=reopened#unit-{unit_id}")).into_response())
}

#[derive(Deserialize)]
pub struct CorrectionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
}

/// A corrected leaf value of a reopened unit (code in the path).
pub async fn correct_leaf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, WebError> {
    save_correction(&state, &user, id, unit_id, &code, &form).await
}

/// A corrected leaf value of a reopened unit (code in the form, for the plain HTML form).
pub async fn correct(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<CorrectionForm>,
) -> Result<Response, WebError> {
    let code = form.code.trim().to_owned();
    save_correction(&state, &user, id, unit_id, &code, &form).await
}

async fn save_correction(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    unit_id: i64,
    code: &str,
    form: &CorrectionForm,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let lang = user.ctx.lang;
    let ev = UnitEvaluation::load(state, id, unit_id).await?;
    check_correction_write(ev.stage, ev.unit.correction_reason.is_some())
        .map_err(|r| WebError::ForbiddenBecause(r.to_string()))?;
    let Some(leaf) = ev.applicable_leaves().find(|l| l.code == code) else {
        return Err(WebError::BadRequest(format!(
            "{} {code}",
            lang.t("workflow.unknown_code")
        )));
    };
    let reason = clean(&form.reason);
    if reason.chars().count() < 5 {
        return Err(WebError::BadRequest(
            lang.t("periods.reason_required").into(),
        ));
    }
    let text = form.points.trim();
    let (score, na) = if text.eq_ignore_ascii_case("na") {
        if !leaf.not_applicable_allowed {
            return Err(WebError::BadRequest(
                lang.t("workflow.na_not_allowed").into(),
            ));
        }
        (None, true)
    } else {
        let Some(points) = Points::parse(text)
            .filter(|p| !p.is_negative() && *p <= leaf.max)
            .and_then(|p| p.to_millipoints())
        else {
            return Err(WebError::BadRequest(format!(
                "{} 0 – {}",
                lang.t("workflow.bad_points"),
                leaf.max.display_vi()
            )));
        };
        (Some(points), false)
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.save_correction(id, unit_id, code, score, na, &reason)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/results?ok=saved#unit-{unit_id}")).into_response())
}

/// Publishes a reopened unit again (a new publication; the earlier one stays) and closes the
/// reopening.
pub async fn republish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::ManageAppraisal)?;
    let period = state.store.get_period(id).await?;
    let (stage, _) = stage_of(&period)?;
    let unit = state.store.period_unit(id, unit_id).await?;
    let Some(reason) = unit.correction_reason.clone() else {
        return Err(refusal_error(if stage == Stage::Published {
            Refusal::Frozen
        } else {
            Refusal::WrongStage(stage)
        }));
    };
    check_correction_write(stage, true).map_err(refusal_error)?;
    let result = result_to_publish(&state, id, unit_id).await?;
    // Everyone the first publication told about this unit hears of the corrected result.
    let mut users = BTreeSet::new();
    for role in ["unit_officer", "unit_head", "appraiser"] {
        unit_ids_of(
            state.store.users_with_role(role, Some(unit_id)).await?,
            &mut users,
        );
    }
    for role in ["council_member", "viewer"] {
        unit_ids_of(state.store.users_with_role(role, None).await?, &mut users);
    }
    let users: Vec<i64> = users.into_iter().collect();
    let publication = state
        .store
        .published_results(id)
        .await?
        .iter()
        .filter(|r| r.unit_id == unit_id)
        .map(|r| r.publication)
        .max()
        .unwrap_or(0)
        + 1;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.publish_results(id, &[result], &reason).await?;
    tx.notify(
        &users,
        &NewNotification {
            kind: "published",
            dedupe_key: Some(format!("published:{id}:{unit_id}:{publication}")),
            title: format!(
                "Kết quả Chỉ số CCHC {} của {} đã được công bố lại",
                period.name, unit.unit_name
            ),
            body: format!(
                "Kết quả của {} trong {} đã được đính chính và công bố lại (lần {publication}). Lý do: {reason}",
                unit.unit_name, period.name
            ),
            link: format!("/periods/{id}/results#unit-{unit_id}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{id}/results?ok=published#unit-{unit_id}"
    ))
    .into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods/{id}/assignments", assignments)
        .post("/periods/{id}/assignments", assign)
        .post("/periods/{id}/assignments/{assignment_id}/remove", unassign)
        .post("/periods/{id}/stage", change_stage)
        .post("/periods/{id}/explanation-deadline", explanation_deadline)
        .post(
            "/periods/{id}/units/{unit_id}/explanation-extension",
            explanation_extension,
        )
        .get("/periods/{id}/results", results)
        .get("/periods/{id}/decision.pdf", decision_pdf)
        .post("/periods/{id}/publish", publish)
        .post("/periods/{id}/units/{unit_id}/corrections", correct)
        .post(
            "/periods/{id}/units/{unit_id}/corrections/{code}",
            correct_leaf,
        )
        .post("/periods/{id}/units/{unit_id}/republish", republish)
        .upload("/periods/{id}/decision", decision)
}
