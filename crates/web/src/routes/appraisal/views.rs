//! The appraisal area's view models: the worklist, a unit's appraisal page, the unit's
//! explanation page and a leaf's history, built from what the use cases return.

use std::collections::HashMap;

use askama::Template;
use parindex_app::appraisal::{AppraisalSheet, ExplanationSheet, History, Threads, WorkPeriod};
use parindex_app::sheet::Caller;
use parindex_domain::appraisal::{Stage, WorkStatus};
use parindex_domain::{Action, Points};
use parindex_store::evidence_library::Citation;
use parindex_store::periods::LeafEntry;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::i18n::Lang;
use crate::page::{Page, datetime_vi};
use crate::views::leaf::{EvidenceLink, InputKind, LeafView, leaf_view, score_text};

// ---------------------------------------------------------------------------------------
// Worklist

pub struct WorkRow {
    pub unit_id: i64,
    pub unit_name: String,
    pub code: String,
    pub title: String,
    pub status_code: &'static str,
    pub status_label: &'static str,
}

/// How many rows have a status.
pub struct StatusCount {
    pub code: &'static str,
    pub label: &'static str,
    pub count: usize,
}

pub struct WorkPeriodView {
    pub id: i64,
    pub name: String,
    pub stage_label: String,
    pub rows: Vec<WorkRow>,
    pub counts: Vec<StatusCount>,
}

#[derive(Template)]
#[template(path = "appraisal/worklist.html")]
pub struct WorklistPage {
    pub p: Page,
    pub periods: Vec<WorkPeriodView>,
}

pub fn work_period(period: WorkPeriod) -> WorkPeriodView {
    let rows: Vec<WorkRow> = period
        .items
        .into_iter()
        .map(|i| WorkRow {
            unit_id: i.unit_id,
            unit_name: i.unit_name,
            code: i.code,
            title: i.title,
            status_code: i.status.code(),
            status_label: i.status.label_vi(),
        })
        .collect();
    let counts = [
        WorkStatus::ToDo,
        WorkStatus::ToReappraise,
        WorkStatus::Flagged,
        WorkStatus::Done,
    ]
    .into_iter()
    .map(|s| StatusCount {
        code: s.code(),
        label: s.label_vi(),
        count: rows.iter().filter(|r| r.status_code == s.code()).count(),
    })
    .collect();
    WorkPeriodView {
        id: period.period.id,
        name: period.period.name,
        stage_label: period.stage.map(|s| s.label_vi()).unwrap_or_default(),
        rows,
        counts,
    }
}

// ---------------------------------------------------------------------------------------
// The unit's appraisal page

pub struct RoundView {
    pub round: i64,
    pub score: String,
    pub explanation: String,
    pub remark: String,
    pub flagged: bool,
    pub appraiser: String,
    pub at: String,
}

pub struct ExplView {
    pub round: i64,
    pub response: String,
    pub at: String,
}

pub struct CommentView {
    pub author: String,
    pub side: &'static str,
    pub body: String,
    pub at: String,
}

pub struct ALeaf {
    pub code: String,
    pub title: String,
    pub max: String,
    pub method: String,
    pub self_score: String,
    pub self_explanation: String,
    pub facts: String,
    pub note: String,
    pub files: Vec<EvidenceLink>,
    pub supplementary: Vec<EvidenceLink>,
    pub rounds: Vec<RoundView>,
    pub explanations: Vec<ExplView>,
    pub comments: Vec<CommentView>,
    pub unread: bool,
    /// The input form of the open round, when the user may appraise this leaf.
    pub form: Option<LeafView>,
    pub form_version: i64,
    pub form_remark: String,
    pub form_flag: bool,
}

pub struct ADomain {
    pub code: String,
    pub title: String,
    pub leaves: Vec<ALeaf>,
}

/// A library file an item cites.
pub struct FileRef {
    pub id: i64,
    pub name: String,
}

pub struct AdjView {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub kind: &'static str,
    pub points: String,
    pub reason: String,
    pub evidence: Option<FileRef>,
    pub at: String,
    pub removed: Option<String>,
}

/// A bonus or penalty item of the set, to choose.
pub struct AdjItem {
    pub code: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "appraisal/unit.html")]
pub struct AppraisalPage {
    pub p: Page,
    pub period_id: i64,
    pub period_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub stage_label: String,
    pub can_flag: bool,
    pub domains: Vec<ADomain>,
    pub error: Option<String>,
    pub can_history: bool,
    pub can_comment: bool,
    pub show_adjustments: bool,
    pub adjustments: Vec<AdjView>,
    pub can_adjust: bool,
    pub adj_items: Vec<AdjItem>,
    pub library: Vec<FileRef>,
    pub bonus_cap: String,
    pub penalty_cap: String,
}

fn side_label(lang: Lang, side: &str) -> &'static str {
    match side {
        "unit" => lang.t("appraisal.side_unit"),
        "appraiser" => lang.t("appraisal.side_appraiser"),
        _ => lang.t("appraisal.side_secretariat"),
    }
}

fn comment_views(lang: Lang, threads: &Threads, code: &str, me: i64) -> (Vec<CommentView>, bool) {
    let last_read = threads.reads.get(code).copied().unwrap_or(0);
    let mut unread = false;
    let views = threads
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

fn files_of(threads: &Threads, code: &str, supplementary: bool) -> Vec<EvidenceLink> {
    threads
        .citations
        .iter()
        .filter(|c| c.leaf_code == code && Threads::is_supplementary(c) == supplementary)
        .map(EvidenceLink::of)
        .collect()
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

fn appraisal_leaf(
    lang: Lang,
    user: &CurrentUser,
    caller: Option<&Caller>,
    sheet: &AppraisalSheet,
    self_citations: &[Citation],
    code: &str,
) -> Option<ALeaf> {
    let ev = &sheet.ev;
    let node = ev.set.node(code)?;
    let view = leaf_view(lang, node, ev.entries.get(code), self_citations);
    let rounds = ev
        .appraisals
        .iter()
        .filter(|a| a.leaf_code == code && a.round <= i64::from(sheet.max_round))
        .map(|a| RoundView {
            round: a.round,
            score: score_text(lang, a.score_milli, a.not_applicable),
            explanation: a.explanation.clone(),
            remark: a.remark.clone(),
            flagged: a.needs_explanation,
            appraiser: a.appraiser_name.clone().unwrap_or_default(),
            at: datetime_vi(a.updated_at),
        })
        .collect();
    let explanations = sheet
        .threads
        .explanations
        .iter()
        .filter(|e| e.leaf_code == code)
        .map(|e| ExplView {
            round: e.round,
            response: e.response.clone(),
            at: datetime_vi(e.updated_at),
        })
        .collect();
    let (comments, unread) = comment_views(lang, &sheet.threads, code, user.user_id());
    let caller_can = caller.is_some_and(|c| sheet.may_appraise(c, code));
    let (form, form_version, form_remark, form_flag) = match (caller_can, sheet.open_round()) {
        (true, Some(k)) => {
            let current = ev.appraisal_in(code, k);
            let prefill = current
                .or_else(|| ev.latest_appraisal(code))
                .map(entry_of)
                .or_else(|| ev.entries.get(code).cloned());
            (
                Some(leaf_view(lang, node, prefill.as_ref(), &[])),
                current.map_or(0, |a| a.version),
                current.map(|a| a.remark.clone()).unwrap_or_default(),
                current.is_some_and(|a| a.needs_explanation),
            )
        }
        _ => (None, 0, String::new(), false),
    };
    Some(ALeaf {
        code: code.to_owned(),
        title: node.title.clone(),
        max: node.max.display_vi(),
        method: node.method.clone().unwrap_or_default(),
        self_score: view.score.clone(),
        self_explanation: view.explanation.clone(),
        facts: view.facts_line(lang),
        note: view.note.clone(),
        files: files_of(&sheet.threads, code, false),
        supplementary: files_of(&sheet.threads, code, true),
        rounds,
        explanations,
        comments,
        unread,
        form,
        form_version,
        form_remark,
        form_flag,
    })
}

fn adjustment_views(lang: Lang, sheet: &AppraisalSheet) -> Vec<AdjView> {
    let ev = &sheet.ev;
    ev.adjustments
        .iter()
        .map(|a| AdjView {
            id: a.id,
            code: a.item_code.clone(),
            title: ev
                .set
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
            evidence: a.evidence_id.map(|id| FileRef {
                id,
                name: sheet
                    .threads
                    .library
                    .iter()
                    .find(|f| f.id == id)
                    .map(|f| f.display_name.clone())
                    .unwrap_or_default(),
            }),
            at: datetime_vi(a.created_at),
            removed: a.removed_at.map(datetime_vi),
        })
        .collect()
}

pub fn appraisal_page(
    state: &AppState,
    user: &CurrentUser,
    sheet: &AppraisalSheet,
    ok: Option<&str>,
    error: Option<String>,
) -> AppraisalPage {
    let lang = user.ctx.lang;
    let ev = &sheet.ev;
    let unit_id = ev.unit.unit_id;
    let set = &ev.set;
    let caller = crate::views::app_error::caller(user).ok();
    let self_citations: Vec<Citation> = sheet
        .threads
        .citations
        .iter()
        .filter(|c| !Threads::is_supplementary(c))
        .cloned()
        .collect();
    let domains = set
        .domains()
        .filter_map(|domain| {
            let leaves: Vec<ALeaf> = sheet
                .codes
                .iter()
                .filter(|code| set.domain_of(code).is_some_and(|d| d.code == domain.code))
                .filter_map(|code| {
                    appraisal_leaf(lang, user, caller.as_ref(), sheet, &self_citations, code)
                })
                .collect();
            (!leaves.is_empty()).then(|| ADomain {
                code: domain.code.clone(),
                title: domain.title.clone(),
                leaves,
            })
        })
        .collect();
    let mut p = Page::for_user(state, user, "appraisal.title").with_notice(ok);
    p.title = format!("{} — {}", ev.unit.unit_name, ev.period.name);
    AppraisalPage {
        p,
        period_id: ev.period.id,
        period_name: ev.period.name.clone(),
        unit_id,
        unit_name: ev.unit.unit_name.clone(),
        stage_label: ev.stage.label_vi(),
        can_flag: sheet.open_round().is_some_and(|k| k < ev.rounds.get()),
        domains,
        error,
        can_history: user.can(Action::ViewLeafHistory { unit_id }),
        can_comment: user.can(Action::CommentOnLeaf { unit_id }) && ev.stage != Stage::Published,
        show_adjustments: !sheet.unit_side || sheet.max_round >= ev.rounds.get(),
        adjustments: adjustment_views(lang, sheet),
        can_adjust: sheet.can_adjust,
        adj_items: set
            .doc()
            .adjustments
            .iter()
            .map(|i| AdjItem {
                code: i.code.clone(),
                label: format!(
                    "{} — {} ({} {})",
                    i.code,
                    i.title,
                    i.kind.label_vi(),
                    i.max.display_vi()
                ),
            })
            .collect(),
        library: sheet
            .threads
            .library
            .iter()
            .map(|f| FileRef {
                id: f.id,
                name: f.display_name.clone(),
            })
            .collect(),
        bonus_cap: Points::from_millipoints(ev.period.bonus_cap_milli).display_vi(),
        penalty_cap: Points::from_millipoints(ev.period.penalty_cap_milli).display_vi(),
    }
}

// ---------------------------------------------------------------------------------------
// The explanation round, on the unit's side

pub struct ELeaf {
    pub code: String,
    pub title: String,
    pub self_score: String,
    pub appraised: String,
    pub remark: String,
    pub response: String,
    pub version: i64,
    pub supplementary: Vec<EvidenceLink>,
    pub comments: Vec<CommentView>,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "appraisal/explanation.html")]
pub struct ExplanationPage {
    pub p: Page,
    pub period_id: i64,
    pub period_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub stage_label: String,
    pub round: Option<u8>,
    pub leaves: Vec<ELeaf>,
    pub editable: bool,
    pub refusal: Option<String>,
    pub submitted: bool,
    pub can_submit: bool,
    pub can_comment: bool,
    pub due: String,
    pub error: Option<String>,
    pub max_upload_mb: u64,
}

pub fn explanation_page(
    state: &AppState,
    user: &CurrentUser,
    sheet: &ExplanationSheet,
    ok: Option<&str>,
    error: Option<String>,
) -> ExplanationPage {
    let lang = user.ctx.lang;
    let ev = &sheet.ev;
    let unit_id = ev.unit.unit_id;
    let leaves = match sheet.round {
        Some(k) => sheet
            .codes
            .iter()
            .filter_map(|code| {
                let leaf = ev.set.node(code)?;
                let appraisal = ev.appraisal_in(code, k);
                let answer = sheet
                    .threads
                    .explanations
                    .iter()
                    .find(|e| &e.leaf_code == code && e.round == i64::from(k));
                let (comments, unread) = comment_views(lang, &sheet.threads, code, user.user_id());
                Some(ELeaf {
                    code: code.clone(),
                    title: leaf.title.clone(),
                    self_score: ev
                        .entries
                        .get(code)
                        .map(|e| score_text(lang, e.score_milli, e.not_applicable))
                        .unwrap_or_default(),
                    appraised: appraisal
                        .map(|a| score_text(lang, a.score_milli, a.not_applicable))
                        .unwrap_or_default(),
                    remark: appraisal.map(|a| a.remark.clone()).unwrap_or_default(),
                    response: answer.map(|a| a.response.clone()).unwrap_or_default(),
                    version: answer.map_or(0, |a| a.version),
                    supplementary: files_of(&sheet.threads, code, true),
                    comments,
                    unread,
                })
            })
            .collect(),
        None => Vec::new(),
    };
    let mut p = Page::for_user(state, user, "appraisal.explanation_title").with_notice(ok);
    p.title = format!(
        "{} — {} — {}",
        lang.t("appraisal.explanation_title"),
        ev.unit.unit_name,
        ev.period.name
    );
    let open = sheet.refusal.is_none();
    ExplanationPage {
        p,
        period_id: ev.period.id,
        period_name: ev.period.name.clone(),
        unit_id,
        unit_name: ev.unit.unit_name.clone(),
        stage_label: ev.stage.label_vi(),
        round: sheet.round,
        leaves,
        editable: sheet.writable,
        refusal: match (&sheet.refusal, sheet.round) {
            (Some(r), Some(_)) => Some(r.to_string()),
            _ => None,
        },
        submitted: sheet
            .round
            .is_some_and(|k| ev.unit.explanation_submitted_round >= i64::from(k)),
        can_submit: user.can(Action::SubmitExplanations { unit_id }) && open,
        can_comment: user.can(Action::CommentOnLeaf { unit_id }) && ev.stage != Stage::Published,
        due: sheet.due.map(datetime_vi).unwrap_or_default(),
        error,
        max_upload_mb: state.config.max_upload_bytes / (1024 * 1024),
    }
}

// ---------------------------------------------------------------------------------------
// History

pub struct HistRow {
    pub stage: String,
    pub score: String,
    pub detail: String,
    pub reason: String,
    pub who: String,
    pub at: String,
}

pub struct HistLeaf {
    pub code: String,
    pub title: String,
    pub rows: Vec<HistRow>,
}

#[derive(Template)]
#[template(path = "appraisal/history.html")]
pub struct HistoryPage {
    pub p: Page,
    pub period_id: i64,
    pub period_name: String,
    pub unit_id: i64,
    pub unit_name: String,
    pub leaves: Vec<HistLeaf>,
    pub filter: String,
}

fn history_stage(lang: Lang, stage: &str, round: i64) -> String {
    match stage {
        "self" => lang.t("history.stage_self").to_owned(),
        "round" => lang.format("history.stage_round", &[("round", round.to_string())]),
        "explanation" => lang.t("history.stage_explanation").to_owned(),
        "external" => lang.t("history.stage_external").to_owned(),
        "correction" => lang.t("history.stage_correction").to_owned(),
        other => other.to_owned(),
    }
}

pub fn history_page(state: &AppState, user: &CurrentUser, history: History) -> HistoryPage {
    let lang = user.ctx.lang;
    let ev = &history.ev;
    let mut leaves: Vec<HistLeaf> = Vec::new();
    for h in history.rows {
        let row = HistRow {
            stage: history_stage(lang, &h.stage, h.round),
            score: score_text(lang, h.score_milli, h.not_applicable),
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
    let mut p = Page::for_user(state, user, "appraisal.history_title");
    p.title = format!(
        "{} — {} — {}",
        lang.t("appraisal.history_title"),
        ev.unit.unit_name,
        ev.period.name
    );
    HistoryPage {
        p,
        period_id: ev.period.id,
        period_name: ev.period.name.clone(),
        unit_id: ev.unit.unit_id,
        unit_name: ev.unit.unit_name.clone(),
        leaves,
        filter: history.filter.unwrap_or_default(),
    }
}
