//! Appraisal (thẩm định, DOMAIN §4): the appraiser's worklist, a unit's appraisal page (the
//! unit's self-assessment beside every round's appraised value, remark and flag), saving an
//! appraised value, bonus and penalty items, the unit's explanation round (giải trình) with
//! supplementary evidence, the comment threads and a leaf's history.

use crate::routes::table::Routes;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::appraisal::{
    MAX_ROUNDS, Refusal, Stage, WorkStatus, check_adjustment_write, check_appraisal_write,
    check_explanation_write, check_within_cap, score_changed,
};
use parindex_domain::index_set::{AdjustmentKind, Node};
use parindex_domain::rules::LeafInput;
use parindex_domain::{Action, Points, Role};
use parindex_store::appraisal::{AppraisalWrite, NewAdjustment};
use parindex_store::evidence_library::Citation;
use parindex_store::periods::LeafEntry;
use serde::Deserialize;

use super::account::OkQuery;
use super::self_assessment::{InputKind, LeafView, leaf_view, parse_input};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::{Page, datetime_vi};
use parindex_app::evaluation::{UnitEvaluation, is_assigned, is_self_assessed};

/// A refusal of the workflow as an error: a missing remark or a cap is the user's input to
/// fix (422), anything else is not allowed now (403).
fn refusal_error(r: Refusal) -> (StatusCode, String) {
    let status = match r {
        Refusal::RemarkRequired | Refusal::OverCap { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::FORBIDDEN,
    };
    (status, r.to_string())
}

fn as_web_error((status, message): (StatusCode, String)) -> WebError {
    if status == StatusCode::FORBIDDEN {
        WebError::ForbiddenBecause(message)
    } else {
        WebError::BadRequest(message)
    }
}

/// The deadline of the unit's open explanation round (none outside one).
async fn open_explanation_due(
    state: &AppState,
    ev: &UnitEvaluation,
) -> Result<Option<i64>, WebError> {
    match ev.stage {
        Stage::Explanation(k) => Ok(parindex_app::deadlines::explanation_due_for(
            &state.store,
            &ev.period,
            ev.unit.unit_id,
            k,
        )
        .await?),
        _ => Ok(None),
    }
}

/// The last appraisal round a unit may see: a round shows once it is closed.
fn closed_rounds(stage: Stage) -> u8 {
    match stage {
        Stage::SelfAssessment => 0,
        Stage::Round(k) => k - 1,
        Stage::Explanation(k) => k,
        Stage::CouncilReview | Stage::Approved | Stage::Published => MAX_ROUNDS,
    }
}

fn score_text(score_milli: Option<i64>, not_applicable: bool) -> String {
    if not_applicable {
        "Không áp dụng".to_owned()
    } else {
        score_milli
            .map(|m| Points::from_millipoints(m).display_vi())
            .unwrap_or_default()
    }
}

fn side_label(lang: crate::i18n::Lang, side: &str) -> &'static str {
    match side {
        "unit" => lang.t("appraisal.side_unit"),
        "appraiser" => lang.t("appraisal.side_appraiser"),
        _ => lang.t("appraisal.side_secretariat"),
    }
}

// ---------------------------------------------------------------------------------------
// Worklist

struct WorkRow {
    unit_id: i64,
    unit_name: String,
    code: String,
    title: String,
    status_code: &'static str,
    status_label: &'static str,
}

struct WorkPeriod {
    id: i64,
    name: String,
    stage_label: String,
    rows: Vec<WorkRow>,
    /// (status code, label, count)
    counts: Vec<(&'static str, &'static str, usize)>,
}

#[derive(Template)]
#[template(path = "appraisal_worklist.html")]
struct WorklistPage {
    p: Page,
    periods: Vec<WorkPeriod>,
}

/// The logged-in appraiser's worklist: every (unit, leaf) pair assigned to them, by period.
pub async fn worklist(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let actor = user.actor()?;
    if actor.role() != Role::Appraiser {
        return Err(WebError::Forbidden);
    }
    let mut periods = Vec::new();
    for period in state.store.list_periods().await? {
        let assignments = state
            .store
            .assignments_of(period.id, user.user_id())
            .await?;
        if assignments.is_empty() {
            continue;
        }
        let mut units: Vec<i64> = assignments.iter().map(|a| a.unit_id).collect();
        units.sort_unstable();
        units.dedup();
        let mut rows = Vec::new();
        let mut stage_label = String::new();
        for unit_id in units {
            let ev = UnitEvaluation::load(&state, period.id, unit_id).await?;
            stage_label = ev.stage.label_vi();
            for progress in ev.progress(&assignments) {
                if !progress.assigned {
                    continue;
                }
                let status = progress.status(ev.stage);
                rows.push(WorkRow {
                    unit_id,
                    unit_name: ev.unit.unit_name.clone(),
                    title: ev
                        .set
                        .node(&progress.leaf_code)
                        .map(|n| n.title.clone())
                        .unwrap_or_default(),
                    code: progress.leaf_code,
                    status_code: status.code(),
                    status_label: status.label_vi(),
                });
            }
        }
        let counts = [
            WorkStatus::ToDo,
            WorkStatus::ToReappraise,
            WorkStatus::Flagged,
            WorkStatus::Done,
        ]
        .into_iter()
        .map(|s| {
            (
                s.code(),
                s.label_vi(),
                rows.iter().filter(|r| r.status_code == s.code()).count(),
            )
        })
        .collect();
        periods.push(WorkPeriod {
            id: period.id,
            name: period.name.clone(),
            stage_label,
            rows,
            counts,
        });
    }
    super::render(&WorklistPage {
        p: Page::for_user(&state, &user, "appraisal.worklist_title"),
        periods,
    })
}

// ---------------------------------------------------------------------------------------
// The unit's appraisal page

struct FileView {
    id: i64,
    name: String,
    reference: String,
    viewable: bool,
}

struct RoundView {
    round: i64,
    score: String,
    explanation: String,
    remark: String,
    flagged: bool,
    appraiser: String,
    at: String,
}

struct ExplView {
    round: i64,
    response: String,
    at: String,
}

struct CommentView {
    author: String,
    side: &'static str,
    body: String,
    at: String,
}

struct ALeaf {
    code: String,
    title: String,
    max: String,
    method: String,
    self_score: String,
    self_explanation: String,
    facts: String,
    note: String,
    files: Vec<FileView>,
    supplementary: Vec<FileView>,
    rounds: Vec<RoundView>,
    explanations: Vec<ExplView>,
    comments: Vec<CommentView>,
    unread: bool,
    /// The input form of the open round, when the user may appraise this leaf.
    form: Option<LeafView>,
    form_version: i64,
    form_remark: String,
    form_flag: bool,
}

struct ADomain {
    code: String,
    title: String,
    leaves: Vec<ALeaf>,
}

struct AdjView {
    id: i64,
    code: String,
    title: String,
    kind: &'static str,
    points: String,
    reason: String,
    evidence: Option<(i64, String)>,
    at: String,
    removed: Option<String>,
}

#[derive(Template)]
#[template(path = "appraisal_unit.html")]
struct AppraisalPage {
    p: Page,
    period_id: i64,
    period_name: String,
    unit_id: i64,
    unit_name: String,
    stage_label: String,
    can_flag: bool,
    domains: Vec<ADomain>,
    error: Option<String>,
    can_history: bool,
    can_comment: bool,
    show_adjustments: bool,
    adjustments: Vec<AdjView>,
    can_adjust: bool,
    /// (code, label) of the set's bonus and penalty items.
    adj_items: Vec<(String, String)>,
    library: Vec<(i64, String)>,
    bonus_cap: String,
    penalty_cap: String,
}

/// What a page needs beyond the evaluation.
struct Extra {
    citations: Vec<Citation>,
    library: Vec<parindex_store::evidence_library::EvidenceFile>,
    explanations: Vec<parindex_store::appraisal::Explanation>,
    comments: Vec<parindex_store::appraisal::Comment>,
    reads: HashMap<String, i64>,
}

async fn load_extra(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
    unit_id: i64,
) -> Result<Extra, WebError> {
    Ok(Extra {
        citations: state.store.citations(period_id, unit_id).await?,
        library: state.store.unit_evidence(unit_id).await?,
        explanations: state.store.explanations(period_id, unit_id).await?,
        comments: state.store.comments(period_id, unit_id).await?,
        reads: state
            .store
            .comment_reads(user.user_id(), period_id, unit_id)
            .await?
            .into_iter()
            .collect(),
    })
}

fn file_view(c: &Citation) -> FileView {
    FileView {
        id: c.file.id,
        name: c.file.display_name.clone(),
        reference: c.reference.clone(),
        viewable: c.file.content_type == "application/pdf"
            || c.file.content_type.starts_with("image/"),
    }
}

/// The unit's facts, as a line of text.
fn facts_text(lang: crate::i18n::Lang, view: &LeafView) -> String {
    if view.na {
        return format!("{}: {}", lang.t("sheet.not_applicable"), view.na_reason);
    }
    if let Some(yes) = view.yes {
        return if yes {
            lang.t("sheet.yes")
        } else {
            lang.t("sheet.no")
        }
        .to_owned();
    }
    view.values
        .iter()
        .map(|(k, v)| {
            let label = match k.as_str() {
                "numerator" => lang.t("sheet.numerator").to_owned(),
                "denominator" => lang.t("sheet.denominator").to_owned(),
                "count" => lang.t("sheet.count").to_owned(),
                other => other.trim_start_matches("var_").to_owned(),
            };
            format!("{label} {v}")
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn comment_views(
    lang: crate::i18n::Lang,
    extra: &Extra,
    code: &str,
    me: i64,
) -> (Vec<CommentView>, bool) {
    let last_read = extra.reads.get(code).copied().unwrap_or(0);
    let mut unread = false;
    let views = extra
        .comments
        .iter()
        .filter(|c| c.leaf_code == code)
        .map(|c| {
            if c.id > last_read && c.author_id != me {
                unread = true;
            }
            CommentView {
                author: c.author_name.clone(),
                side: side_label(lang, &c.side),
                body: c.body.clone(),
                at: datetime_vi(c.created_at),
            }
        })
        .collect();
    (views, unread)
}

/// Marks the threads of the displayed leaves read.
async fn mark_read(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
    extra: &Extra,
    codes: &[String],
) -> Result<(), WebError> {
    for code in codes {
        let last = extra
            .comments
            .iter()
            .filter(|c| &c.leaf_code == code)
            .map(|c| c.id)
            .max();
        if let Some(last) = last
            && extra.reads.get(code).copied().unwrap_or(0) < last
        {
            state
                .store
                .mark_comments_read(user.user_id(), ev.period.id, ev.unit.unit_id, code, last)
                .await?;
        }
    }
    Ok(())
}

/// A synthetic sheet entry carrying an appraised input, to render it in the sheet's inputs.
fn entry_of(a: &parindex_store::appraisal::Appraisal) -> LeafEntry {
    LeafEntry {
        leaf_code: a.leaf_code.clone(),
        input_json: a.input_json.clone(),
        score_milli: a.score_milli,
        not_applicable: a.not_applicable,
        explanation: a.explanation.clone(),
        note: String::new(),
        version: a.version,
        updated_by: a.appraiser_id,
        updated_at: a.updated_at,
    }
}

/// The leaves the user sees on the appraisal page: an appraiser only theirs.
async fn visible_leaves(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
) -> Result<(Vec<String>, Vec<parindex_store::appraisal::Assignment>), WebError> {
    let actor = user.actor()?;
    let leaves: Vec<&Node> = ev
        .applicable_leaves()
        .filter(|l| is_self_assessed(l))
        .collect();
    if actor.role() == Role::Appraiser {
        let mine = state
            .store
            .assignments_of(ev.period.id, user.user_id())
            .await?;
        let codes: Vec<String> = leaves
            .iter()
            .filter(|l| {
                is_assigned(
                    &ev.set,
                    &mine,
                    ev.unit.unit_id,
                    &l.code,
                    Some(user.user_id()),
                )
            })
            .map(|l| l.code.clone())
            .collect();
        if codes.is_empty() {
            return Err(WebError::NotFound);
        }
        return Ok((codes, mine));
    }
    Ok((leaves.iter().map(|l| l.code.clone()).collect(), Vec::new()))
}

async fn appraisal_page(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
    ok: Option<&str>,
    error: Option<String>,
    mark: bool,
) -> Result<AppraisalPage, WebError> {
    let lang = user.ctx.lang;
    let actor = user.actor()?;
    let unit_id = ev.unit.unit_id;
    let unit_side = actor.role().is_unit_bound();
    let (codes, mine) = visible_leaves(state, user, ev).await?;
    let extra = load_extra(state, user, ev.period.id, unit_id).await?;
    let max_round = if unit_side {
        closed_rounds(ev.stage)
    } else {
        MAX_ROUNDS
    };
    let round_open = match ev.stage {
        Stage::Round(k) => Some(k),
        _ => None,
    };
    let may_appraise = round_open.is_some() && user.can(Action::AppraiseUnit { unit_id });
    let set = &ev.set;
    let self_citations: Vec<Citation> = extra
        .citations
        .iter()
        .filter(|c| c.stage != "explanation")
        .cloned()
        .collect();
    let mut domains: Vec<ADomain> = Vec::new();
    for domain in set.domains() {
        let mut leaves = Vec::new();
        for code in &codes {
            if set.domain_of(code).is_none_or(|d| d.code != domain.code) {
                continue;
            }
            let Some(node) = set.node(code) else { continue };
            let view = leaf_view(set, node, ev.entries.get(code), &self_citations);
            let rounds: Vec<RoundView> = ev
                .appraisals
                .iter()
                .filter(|a| &a.leaf_code == code && a.round <= i64::from(max_round))
                .map(|a| RoundView {
                    round: a.round,
                    score: score_text(a.score_milli, a.not_applicable),
                    explanation: a.explanation.clone(),
                    remark: a.remark.clone(),
                    flagged: a.needs_explanation,
                    appraiser: a.appraiser_name.clone().unwrap_or_default(),
                    at: datetime_vi(a.updated_at),
                })
                .collect();
            let explanations = extra
                .explanations
                .iter()
                .filter(|e| &e.leaf_code == code)
                .map(|e| ExplView {
                    round: e.round,
                    response: e.response.clone(),
                    at: datetime_vi(e.updated_at),
                })
                .collect();
            let (comments, unread) = comment_views(lang, &extra, code, user.user_id());
            let editable =
                may_appraise && is_assigned(set, &mine, unit_id, code, Some(user.user_id()));
            let (form, form_version, form_remark, form_flag) = match (editable, round_open) {
                (true, Some(k)) => {
                    let current = ev.appraisal_in(code, k);
                    let prefill = current
                        .or_else(|| ev.latest_appraisal(code))
                        .map(entry_of)
                        .or_else(|| ev.entries.get(code).cloned());
                    (
                        Some(leaf_view(set, node, prefill.as_ref(), &[])),
                        current.map_or(0, |a| a.version),
                        current.map(|a| a.remark.clone()).unwrap_or_default(),
                        current.is_some_and(|a| a.needs_explanation),
                    )
                }
                _ => (None, 0, String::new(), false),
            };
            leaves.push(ALeaf {
                code: code.clone(),
                title: node.title.clone(),
                max: node.max.display_vi(),
                method: node.method.clone().unwrap_or_default(),
                self_score: view.score.clone(),
                self_explanation: view.explanation.clone(),
                facts: facts_text(lang, &view),
                note: view.note.clone(),
                files: extra
                    .citations
                    .iter()
                    .filter(|c| &c.leaf_code == code && c.stage != "explanation")
                    .map(file_view)
                    .collect(),
                supplementary: extra
                    .citations
                    .iter()
                    .filter(|c| &c.leaf_code == code && c.stage == "explanation")
                    .map(file_view)
                    .collect(),
                rounds,
                explanations,
                comments,
                unread,
                form,
                form_version,
                form_remark,
                form_flag,
            });
        }
        if !leaves.is_empty() {
            domains.push(ADomain {
                code: domain.code.clone(),
                title: domain.title.clone(),
                leaves,
            });
        }
    }
    if mark {
        mark_read(state, user, ev, &extra, &codes).await?;
    }
    let adjuster = may_adjust(user, ev, &mine);
    let can_adjust = adjuster
        && check_adjustment_write(ev.stage, ev.rounds, ev.unit.correction_reason.is_some()).is_ok();
    let mut p = Page::for_user(state, user, "appraisal.title").with_notice(ok);
    p.title = format!("{} — {}", ev.unit.unit_name, ev.period.name);
    Ok(AppraisalPage {
        p,
        period_id: ev.period.id,
        period_name: ev.period.name.clone(),
        unit_id,
        unit_name: ev.unit.unit_name.clone(),
        stage_label: ev.stage.label_vi(),
        can_flag: round_open.is_some_and(|k| k < ev.rounds.get()),
        domains,
        error,
        can_history: user.can(Action::ViewLeafHistory { unit_id }),
        can_comment: user.can(Action::CommentOnLeaf { unit_id }) && ev.stage != Stage::Published,
        show_adjustments: !unit_side || max_round >= ev.rounds.get(),
        adjustments: ev
            .adjustments
            .iter()
            .map(|a| AdjView {
                id: a.id,
                code: a.item_code.clone(),
                title: set
                    .adjustment(&a.item_code)
                    .map(|i| i.title.clone())
                    .unwrap_or_default(),
                kind: if a.kind == "penalty" {
                    lang.t("appraisal.penalty")
                } else {
                    lang.t("appraisal.bonus")
                },
                points: Points::from_millipoints(a.points_milli).display_vi(),
                reason: a.reason.clone(),
                evidence: a.evidence_id.map(|id| {
                    (
                        id,
                        extra
                            .library
                            .iter()
                            .find(|f| f.id == id)
                            .map(|f| f.display_name.clone())
                            .unwrap_or_default(),
                    )
                }),
                at: datetime_vi(a.created_at),
                removed: a.removed_at.map(datetime_vi),
            })
            .collect(),
        can_adjust,
        adj_items: set
            .doc()
            .adjustments
            .iter()
            .map(|i| {
                (
                    i.code.clone(),
                    format!(
                        "{} — {} ({} {})",
                        i.code,
                        i.title,
                        i.kind.label_vi(),
                        i.max.display_vi()
                    ),
                )
            })
            .collect(),
        library: extra
            .library
            .iter()
            .map(|f| (f.id, f.display_name.clone()))
            .collect(),
        bonus_cap: Points::from_millipoints(ev.period.bonus_cap_milli).display_vi(),
        penalty_cap: Points::from_millipoints(ev.period.penalty_cap_milli).display_vi(),
    })
}

/// The secretariat, or an appraiser assigned to any leaf of the unit.
fn may_adjust(
    user: &CurrentUser,
    ev: &UnitEvaluation,
    mine: &[parindex_store::appraisal::Assignment],
) -> bool {
    let unit_id = ev.unit.unit_id;
    user.can(Action::ManageAppraisal)
        || (user.can(Action::AppraiseUnit { unit_id })
            && mine
                .iter()
                .any(|a| a.unit_id == unit_id && a.appraiser_id == user.user_id()))
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewAppraisal { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let page = appraisal_page(&state, &user, &ev, q.ok.as_deref(), None, true).await?;
    super::render(&page)
}

async fn rerender(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
    status: StatusCode,
    message: String,
) -> Result<Response, WebError> {
    let page = appraisal_page(state, user, ev, None, Some(message), false).await?;
    super::render_status(status, &page)
}

/// Saves an appraised value of the open round.
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    user.require(Action::AppraiseUnit { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let Some(node) = ev.set.node(&code).filter(|n| n.is_leaf()) else {
        return Err(WebError::NotFound);
    };
    let applies = ev
        .set
        .index_of(&code)
        .is_some_and(|i| ev.set.applies_to_group(i, &ev.unit.group_code));
    if !applies || !is_self_assessed(node) {
        return Err(WebError::BadRequest(
            user.ctx.lang.t("appraisal.not_appraisable").into(),
        ));
    }
    let mine = state
        .store
        .assignments_of(period_id, user.user_id())
        .await?;
    if !is_assigned(&ev.set, &mine, unit_id, &code, Some(user.user_id())) {
        return Err(WebError::NotFound);
    }
    let flag = fields.contains_key("flag");
    let remark: String = fields
        .get("remark")
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    // The stage and the flag first: nothing else matters outside an open round.
    if let Err(r) = check_appraisal_write(ev.stage, ev.rounds, flag, false, &remark) {
        let (status, message) = refusal_error(r);
        return rerender(&state, &user, &ev, status, format!("{code}: {message}")).await;
    }
    let fail = |message: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{code}: {message}"),
        )
    };
    let input: Result<LeafInput, (StatusCode, String)> = if fields.contains_key("accept") {
        ev.entries
            .get(&code)
            .and_then(|e| serde_json::from_str::<LeafInput>(&e.input_json).ok())
            .ok_or_else(|| fail(user.ctx.lang.t("appraisal.no_self_input").into()))
    } else {
        match node.rule.as_ref() {
            Some(rule) => parse_input(rule, &fields).map_err(fail),
            None => Err(fail(user.ctx.lang.t("appraisal.not_appraisable").into())),
        }
    };
    let input = match input {
        Ok(i) => i,
        Err((status, message)) => return rerender(&state, &user, &ev, status, message).await,
    };
    let score = match ev.set.evaluate(&code, &input) {
        Ok(s) => s,
        Err(e) => {
            let (status, message) = fail(e.to_string());
            return rerender(&state, &user, &ev, status, message).await;
        }
    };
    if remark.chars().count() > 10_000 {
        let (status, message) = fail(user.ctx.lang.t("sheet.note_too_long").into());
        return rerender(&state, &user, &ev, status, message).await;
    }
    let changed = score_changed(ev.self_score(&code).as_ref(), &score);
    let round = match check_appraisal_write(ev.stage, ev.rounds, flag, changed, &remark) {
        Ok(k) => k,
        Err(r) => {
            let (status, message) = refusal_error(r);
            return rerender(&state, &user, &ev, status, format!("{code}: {message}")).await;
        }
    };
    let Ok(version) = fields
        .get("version")
        .map(|v| v.trim())
        .unwrap_or("")
        .parse::<i64>()
    else {
        let (status, message) = fail(user.ctx.lang.t("sheet.no_version").into());
        return rerender(&state, &user, &ev, status, message).await;
    };
    let score_milli = match score.points {
        Some(p) => Some(
            p.to_millipoints()
                .ok_or_else(|| WebError::Internal("score finer than storage".into()))?,
        ),
        None => None,
    };
    let write = AppraisalWrite {
        input_json: serde_json::to_string(&input).map_err(|e| WebError::Internal(e.to_string()))?,
        score_milli,
        not_applicable: score.points.is_none(),
        explanation: score.explanation.clone(),
        remark,
        needs_explanation: flag,
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    match tx
        .save_appraisal(period_id, unit_id, &code, i64::from(round), version, &write)
        .await
    {
        Ok(_) => {}
        Err(parindex_store::StoreError::Stale) => {
            drop(tx);
            let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
            let message = format!("{code}: {}", user.ctx.lang.t("appraisal.conflict"));
            return rerender(&state, &user, &ev, StatusCode::CONFLICT, message).await;
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/appraisal?ok=saved#leaf-{code}"
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Bonus and penalty

#[derive(Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    item: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    evidence_id: String,
}

/// Who may add or withdraw items, and whether the stage allows it now.
async fn adjustment_guard(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
) -> Result<(), WebError> {
    let unit_id = ev.unit.unit_id;
    user.require(Action::ViewAppraisal { unit_id })?;
    let mine = state
        .store
        .assignments_of(ev.period.id, user.user_id())
        .await?;
    if !may_adjust(user, ev, &mine) {
        return Err(WebError::Forbidden);
    }
    check_adjustment_write(ev.stage, ev.rounds, ev.unit.correction_reason.is_some())
        .map_err(|r| as_web_error(refusal_error(r)))
}

pub async fn add_adjustment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Form(form): Form<AdjustmentForm>,
) -> Result<Response, WebError> {
    user.require(Action::ViewAppraisal { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    adjustment_guard(&state, &user, &ev).await?;
    let lang = user.ctx.lang;
    let (s, u, e) = (&state, &user, &ev);
    let unprocessable =
        move |message: String| rerender(s, u, e, StatusCode::UNPROCESSABLE_ENTITY, message);
    let Some(item) = ev.set.adjustment(form.item.trim()) else {
        return unprocessable(lang.t("appraisal.bad_item").into()).await;
    };
    let points = match Points::parse(form.points.trim()) {
        Some(p) if p > Points::ZERO => p,
        _ => return unprocessable(lang.t("appraisal.bad_points").into()).await,
    };
    if let Err(e) = item.check_points(points) {
        return unprocessable(e.to_string()).await;
    }
    let Some(points_milli) = points.to_millipoints() else {
        return unprocessable(lang.t("appraisal.bad_points").into()).await;
    };
    let reason = form.reason.trim().to_owned();
    if reason.is_empty() {
        return unprocessable(lang.t("appraisal.reason_required").into()).await;
    }
    let evidence_id = match form.evidence_id.trim() {
        "" => None,
        id => match id.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return Err(WebError::NotFound),
        },
    };
    let kind = match item.kind {
        AdjustmentKind::Bonus => "bonus",
        AdjustmentKind::Penalty => "penalty",
    };
    let cap = Points::from_millipoints(match item.kind {
        AdjustmentKind::Bonus => ev.period.bonus_cap_milli,
        AdjustmentKind::Penalty => ev.period.penalty_cap_milli,
    });
    // The cap is checked against the items as the write transaction sees them, after it
    // took the unit's lock: ten items added at once are checked one after the other.
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let existing: Vec<Points> = tx
        .lock_adjustments(period_id, unit_id)
        .await?
        .iter()
        .filter(|a| a.removed_at.is_none() && a.kind == kind)
        .map(|a| Points::from_millipoints(a.points_milli))
        .collect();
    if let Err(r) = check_within_cap(item.kind.label_vi(), &existing, points, cap) {
        drop(tx);
        let (status, message) = refusal_error(r);
        return rerender(&state, &user, &ev, status, message).await;
    }
    tx.add_adjustment(
        period_id,
        &NewAdjustment {
            unit_id,
            item_code: item.code.clone(),
            kind: kind.to_owned(),
            points_milli,
            reason,
            evidence_id,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/appraisal?ok=saved#adjustments"
    ))
    .into_response())
}

#[derive(Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    reason: String,
}

pub async fn remove_adjustment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, id)): Path<(i64, i64, i64)>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, WebError> {
    user.require(Action::ViewAppraisal { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    adjustment_guard(&state, &user, &ev).await?;
    let reason = form.reason.trim();
    if reason.is_empty() {
        let message = user.ctx.lang.t("appraisal.reason_required").into();
        return rerender(
            &state,
            &user,
            &ev,
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
        )
        .await;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.remove_adjustment(period_id, unit_id, id, reason).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/appraisal?ok=saved#adjustments"
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------
// The explanation round, on the unit's side

struct ELeaf {
    code: String,
    title: String,
    self_score: String,
    appraised: String,
    remark: String,
    response: String,
    version: i64,
    supplementary: Vec<FileView>,
    comments: Vec<CommentView>,
    unread: bool,
}

#[derive(Template)]
#[template(path = "appraisal_explanation.html")]
struct ExplanationPage {
    p: Page,
    period_id: i64,
    period_name: String,
    unit_id: i64,
    unit_name: String,
    stage_label: String,
    round: Option<u8>,
    leaves: Vec<ELeaf>,
    editable: bool,
    refusal: Option<String>,
    submitted: bool,
    can_submit: bool,
    can_comment: bool,
    due: String,
    error: Option<String>,
    max_upload_mb: u64,
}

async fn explanation_page(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
    ok: Option<&str>,
    error: Option<String>,
    mark: bool,
) -> Result<ExplanationPage, WebError> {
    let lang = user.ctx.lang;
    let unit_id = ev.unit.unit_id;
    let extra = load_extra(state, user, ev.period.id, unit_id).await?;
    let round = match ev.stage {
        Stage::Explanation(k) => Some(k),
        _ => None,
    };
    let mut leaves = Vec::new();
    if let Some(k) = round {
        for leaf in ev.applicable_leaves() {
            if !ev.flagged_in(&leaf.code, k) {
                continue;
            }
            let appraisal = ev.appraisal_in(&leaf.code, k);
            let answer = extra
                .explanations
                .iter()
                .find(|e| e.leaf_code == leaf.code && e.round == i64::from(k));
            let (comments, unread) = comment_views(lang, &extra, &leaf.code, user.user_id());
            leaves.push(ELeaf {
                code: leaf.code.clone(),
                title: leaf.title.clone(),
                self_score: ev
                    .entries
                    .get(&leaf.code)
                    .map(|e| score_text(e.score_milli, e.not_applicable))
                    .unwrap_or_default(),
                appraised: appraisal
                    .map(|a| score_text(a.score_milli, a.not_applicable))
                    .unwrap_or_default(),
                remark: appraisal.map(|a| a.remark.clone()).unwrap_or_default(),
                response: answer.map(|a| a.response.clone()).unwrap_or_default(),
                version: answer.map_or(0, |a| a.version),
                supplementary: extra
                    .citations
                    .iter()
                    .filter(|c| c.leaf_code == leaf.code && c.stage == "explanation")
                    .map(file_view)
                    .collect(),
                comments,
                unread,
            });
        }
    }
    if mark {
        let codes: Vec<String> = leaves.iter().map(|l| l.code.clone()).collect();
        mark_read(state, user, ev, &extra, &codes).await?;
    }
    // Whether the unit may still write (flag checked per leaf; all listed leaves are flagged).
    let due = open_explanation_due(state, ev).await?;
    let check = check_explanation_write(
        ev.stage,
        true,
        ev.unit.explanation_submitted_round,
        due,
        parindex_store::now_ms(),
    );
    let may_explain = user.can(Action::ExplainLeaves { unit_id });
    let mut p = Page::for_user(state, user, "appraisal.explanation_title").with_notice(ok);
    p.title = format!(
        "{} — {} — {}",
        lang.t("appraisal.explanation_title"),
        ev.unit.unit_name,
        ev.period.name
    );
    Ok(ExplanationPage {
        p,
        period_id: ev.period.id,
        period_name: ev.period.name.clone(),
        unit_id,
        unit_name: ev.unit.unit_name.clone(),
        stage_label: ev.stage.label_vi(),
        round,
        leaves,
        editable: may_explain && check.is_ok(),
        refusal: match (&check, round) {
            (Err(r), Some(_)) => Some(r.to_string()),
            _ => None,
        },
        submitted: round.is_some_and(|k| ev.unit.explanation_submitted_round >= i64::from(k)),
        can_submit: user.can(Action::SubmitExplanations { unit_id }) && check.is_ok(),
        can_comment: user.can(Action::CommentOnLeaf { unit_id }) && ev.stage != Stage::Published,
        due: due.map(datetime_vi).unwrap_or_default(),
        error,
        max_upload_mb: state.config.max_upload_bytes / (1024 * 1024),
    })
}

/// The explanation page is the unit's.
fn require_unit_side(user: &CurrentUser, unit_id: i64) -> Result<(), WebError> {
    let actor = user.require(Action::ViewAppraisal { unit_id })?;
    if !actor.role().is_unit_bound() {
        return Err(WebError::Forbidden);
    }
    Ok(())
}

pub async fn explanation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    require_unit_side(&user, unit_id)?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let page = explanation_page(&state, &user, &ev, q.ok.as_deref(), None, true).await?;
    super::render(&page)
}

async fn explanation_error(
    state: &AppState,
    user: &CurrentUser,
    ev: &UnitEvaluation,
    status: StatusCode,
    message: String,
) -> Result<Response, WebError> {
    let page = explanation_page(state, user, ev, None, Some(message), false).await?;
    super::render_status(status, &page)
}

/// The round the unit may answer `code` in, or the refusal as a response.
async fn explanation_round(
    state: &AppState,
    ev: &UnitEvaluation,
    code: &str,
) -> Result<Result<u8, (StatusCode, String)>, WebError> {
    let flagged = match ev.stage {
        Stage::Explanation(k) => ev.flagged_in(code, k),
        _ => false,
    };
    let due = open_explanation_due(state, ev).await?;
    Ok(check_explanation_write(
        ev.stage,
        flagged,
        ev.unit.explanation_submitted_round,
        due,
        parindex_store::now_ms(),
    )
    .map_err(refusal_error))
}

pub async fn save_explanation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    user.require(Action::ExplainLeaves { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let lang = user.ctx.lang;
    let round = match explanation_round(&state, &ev, &code).await? {
        Ok(k) => k,
        Err((status, message)) => {
            return explanation_error(&state, &user, &ev, status, format!("{code}: {message}"))
                .await;
        }
    };
    let response = fields
        .get("response")
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    let version = fields
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let problem = if response.is_empty() {
        Some(lang.t("appraisal.response_required"))
    } else if response.chars().count() > 10_000 {
        Some(lang.t("sheet.note_too_long"))
    } else if version.is_none() {
        Some(lang.t("sheet.no_version"))
    } else {
        None
    };
    if let Some(message) = problem {
        return explanation_error(
            &state,
            &user,
            &ev,
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{code}: {message}"),
        )
        .await;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    match tx
        .save_explanation(
            period_id,
            unit_id,
            &code,
            i64::from(round),
            version.unwrap_or(0),
            &response,
        )
        .await
    {
        Ok(_) => {}
        Err(parindex_store::StoreError::Stale) => {
            drop(tx);
            let message = format!("{code}: {}", lang.t("appraisal.conflict"));
            return explanation_error(&state, &user, &ev, StatusCode::CONFLICT, message).await;
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/explanation?ok=saved#leaf-{code}"
    ))
    .into_response())
}

/// Supplementary evidence of an explanation: uploaded to the library, cited as `explanation`.
pub async fn upload_evidence(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ExplainLeaves { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    explanation_round(&state, &ev, &code)
        .await?
        .map_err(as_web_error)?;
    let (reference, stored) = super::evidence::receive_files(&state, &user, &mut multipart).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    for (name, blob) in &stored {
        let file = super::evidence::add_to_library(&mut tx, unit_id, name, blob).await?;
        match tx
            .cite_supplementary_evidence(period_id, unit_id, &code, file.id, &reference)
            .await
        {
            Ok(_) => {}
            Err(parindex_store::StoreError::Duplicate { .. }) => {
                return Err(WebError::BadRequest(
                    user.ctx.lang.t("evidence.already_cited").into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/explanation?ok=evidence_added#leaf-{code}"
    ))
    .into_response())
}

/// The unit head submits the round's explanations, once every flagged leaf has an answer.
pub async fn submit_explanations(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::SubmitExplanations { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let due = open_explanation_due(&state, &ev).await?;
    let round = match check_explanation_write(
        ev.stage,
        true,
        ev.unit.explanation_submitted_round,
        due,
        parindex_store::now_ms(),
    ) {
        Ok(k) => k,
        Err(r) => {
            let (status, message) = refusal_error(r);
            return explanation_error(&state, &user, &ev, status, message).await;
        }
    };
    let answers = state.store.explanations(period_id, unit_id).await?;
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
        let message = format!(
            "{}: {}",
            user.ctx.lang.t("appraisal.unanswered"),
            missing.join(", ")
        );
        return explanation_error(
            &state,
            &user,
            &ev,
            StatusCode::UNPROCESSABLE_ENTITY,
            message,
        )
        .await;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.submit_explanations(period_id, unit_id, i64::from(round))
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/explanation?ok=saved"
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------
// Comments

#[derive(Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    body: String,
    #[serde(default)]
    back: String,
}

pub async fn comment(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CommentForm>,
) -> Result<Response, WebError> {
    let actor = user.require(Action::CommentOnLeaf { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let applies = ev.set.node(&code).is_some_and(|n| n.is_leaf())
        && ev
            .set
            .index_of(&code)
            .is_some_and(|i| ev.set.applies_to_group(i, &ev.unit.group_code));
    if !applies {
        return Err(WebError::NotFound);
    }
    let side = if actor.role().is_unit_bound() {
        "unit"
    } else if actor.role() == Role::Appraiser {
        let mine = state
            .store
            .assignments_of(period_id, user.user_id())
            .await?;
        if !is_assigned(&ev.set, &mine, unit_id, &code, Some(user.user_id())) {
            return Err(WebError::NotFound);
        }
        "appraiser"
    } else {
        "secretariat"
    };
    if ev.stage == Stage::Published {
        return Err(WebError::ForbiddenBecause(Refusal::Frozen.to_string()));
    }
    let body = form.body.trim();
    let n = body.chars().count();
    if n == 0 || n > 4000 {
        return Err(WebError::BadRequest(
            user.ctx.lang.t("appraisal.comment_length").into(),
        ));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.add_comment(period_id, unit_id, &code, side, body)
        .await?;
    tx.commit().await?;
    let page = if form.back == "explanation" {
        "explanation"
    } else {
        "appraisal"
    };
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/{page}?ok=saved#leaf-{code}"
    ))
    .into_response())
}

// ---------------------------------------------------------------------------------------
// History

struct HistRow {
    stage: String,
    score: String,
    detail: String,
    reason: String,
    who: String,
    at: String,
}

struct HistLeaf {
    code: String,
    title: String,
    rows: Vec<HistRow>,
}

#[derive(Template)]
#[template(path = "appraisal_history.html")]
struct HistoryPage {
    p: Page,
    period_id: i64,
    period_name: String,
    unit_id: i64,
    unit_name: String,
    leaves: Vec<HistLeaf>,
    filter: String,
}

#[derive(Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    leaf: Option<String>,
}

fn history_stage(stage: &str, round: i64) -> String {
    match stage {
        "self" => "Tự chấm".to_owned(),
        "round" => format!("Thẩm định lần {round}"),
        "explanation" => "Giải trình".to_owned(),
        "external" => "Số liệu ngoài".to_owned(),
        "correction" => "Đính chính".to_owned(),
        other => other.to_owned(),
    }
}

pub async fn history(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<HistoryQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewLeafHistory { unit_id })?;
    let ev = UnitEvaluation::load(&state, period_id, unit_id).await?;
    let filter = q
        .leaf
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let rows = state
        .store
        .leaf_history(period_id, unit_id, filter.as_deref())
        .await?;
    let mut leaves: Vec<HistLeaf> = Vec::new();
    for h in rows {
        let row = HistRow {
            stage: history_stage(&h.stage, h.round),
            score: if h.not_applicable {
                "Không áp dụng".to_owned()
            } else {
                h.score_milli
                    .map(|m| Points::from_millipoints(m).display_vi())
                    .unwrap_or_default()
            },
            detail: h.detail.clone(),
            reason: h.reason.clone(),
            who: h.actor_name.clone().unwrap_or_default(),
            at: datetime_vi(h.at),
        };
        match leaves.last_mut() {
            Some(last) if last.code == h.leaf_code => last.rows.push(row),
            _ => leaves.push(HistLeaf {
                title: ev
                    .set
                    .node(&h.leaf_code)
                    .map(|n| n.title.clone())
                    .unwrap_or_default(),
                code: h.leaf_code.clone(),
                rows: vec![row],
            }),
        }
    }
    // Tree order, not text order ("1.10" after "1.9").
    let order: HashMap<&str, usize> = ev
        .set
        .nodes()
        .iter()
        .enumerate()
        .map(|(i, n)| (n.code.as_str(), i))
        .collect();
    leaves.sort_by_key(|l| order.get(l.code.as_str()).copied().unwrap_or(usize::MAX));
    let mut p = Page::for_user(&state, &user, "appraisal.history_title");
    p.title = format!(
        "{} — {} — {}",
        user.ctx.lang.t("appraisal.history_title"),
        ev.unit.unit_name,
        ev.period.name
    );
    super::render(&HistoryPage {
        p,
        period_id,
        period_name: ev.period.name.clone(),
        unit_id,
        unit_name: ev.unit.unit_name.clone(),
        leaves,
        filter: filter.unwrap_or_default(),
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/appraisal", worklist)
        .get("/periods/{id}/units/{unit_id}/appraisal", show)
        .post("/periods/{id}/units/{unit_id}/appraisal/{code}", save)
        .post("/periods/{id}/units/{unit_id}/adjustments", add_adjustment)
        .post(
            "/periods/{id}/units/{unit_id}/adjustments/{adj_id}/remove",
            remove_adjustment,
        )
        .get("/periods/{id}/units/{unit_id}/explanation", explanation)
        .post(
            "/periods/{id}/units/{unit_id}/explanation/submit",
            submit_explanations,
        )
        .post(
            "/periods/{id}/units/{unit_id}/explanation/{code}",
            save_explanation,
        )
        .post(
            "/periods/{id}/units/{unit_id}/leaves/{code}/comments",
            comment,
        )
        .get("/periods/{id}/units/{unit_id}/history", history)
        .upload(
            "/periods/{id}/units/{unit_id}/explanation/{code}/evidence",
            upload_evidence,
        )
}
