//! The sheet's view models: the page, its domains with their progress, and the autosave
//! script's JSON answers.

use std::collections::HashMap;

use askama::Template;
use parindex_app::sheet::{CurrentLeaf, SavedLeaf, Sheet};
use parindex_domain::Action;
use parindex_domain::appraisal::Stage;
use parindex_domain::rules::LeafInput;
use parindex_domain::workflow::Missing;
use parindex_store::periods::{Period, PeriodUnit};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::CurrentUser;
use crate::i18n::Lang;
use crate::page::{Page, datetime_vi};
use crate::views::external_value::ValueView;
use crate::views::leaf::{InputKind, LeafView, facts_words, leaf_view, score_text};
use crate::views::survey_score::SurveyView;

/// A domain of the sheet with its progress.
pub struct DomainView {
    pub code: String,
    pub title: String,
    pub max: String,
    pub filled: usize,
    pub total: usize,
    pub needs_explanation: usize,
    /// Leaves with at least one evidence file.
    pub with_evidence: usize,
    pub leaves: Vec<LeafView>,
}

/// A library file to cite on another leaf.
pub struct LibraryFile {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "self_assessment/sheet.html")]
pub struct SheetPage {
    pub p: Page,
    pub period: Period,
    pub unit: PeriodUnit,
    pub in_explanation: bool,
    pub set_title: String,
    pub illustrative: bool,
    pub domains: Vec<DomainView>,
    pub filled: usize,
    pub total: usize,
    pub with_evidence: usize,
    pub needs_explanation: usize,
    pub self_total: String,
    pub editable: bool,
    pub refusal: Option<String>,
    pub can_submit: bool,
    pub deadline: String,
    pub missing_unscored: Vec<String>,
    pub missing_unexplained: Vec<String>,
    pub error: Option<String>,
    pub library: Vec<LibraryFile>,
    pub max_upload_mb: u64,
    /// Provided values of the external leaves with their provenance, by leaf code.
    pub external: HashMap<String, ValueView>,
    pub survey: HashMap<String, SurveyView>,
}

/// The sheet's domains, each with its applicable leaves and progress.
pub fn domains_of(lang: Lang, sheet: &Sheet) -> Vec<DomainView> {
    let set = &sheet.set;
    set.domains()
        .map(|domain| {
            let leaves: Vec<LeafView> = sheet
                .applicable_leaves()
                .filter(|leaf| {
                    set.domain_of(&leaf.code)
                        .is_some_and(|d| d.code == domain.code)
                })
                .map(|leaf| leaf_view(lang, leaf, sheet.entries.get(&leaf.code), &sheet.citations))
                .collect();
            let own: Vec<&LeafView> = leaves.iter().filter(|l| !l.read_only()).collect();
            DomainView {
                code: domain.code.clone(),
                title: domain.title.clone(),
                max: domain.max.display_vi(),
                filled: own.iter().filter(|l| l.version > 0).count(),
                total: own.len(),
                needs_explanation: leaves.iter().filter(|l| l.needs_explanation).count(),
                with_evidence: leaves.iter().filter(|l| !l.files.is_empty()).count(),
                leaves,
            }
        })
        .collect()
}

/// The sheet page, with an error or the list of what is missing when there is one.
pub fn sheet_page(
    state: &AppState,
    user: &CurrentUser,
    sheet: &Sheet,
    ok: Option<&str>,
    error: Option<String>,
    missing: Option<Missing>,
) -> SheetPage {
    let lang = user.ctx.lang;
    let unit_id = sheet.unit.unit_id;
    let open = sheet.refusal.is_none();
    let may_edit = user.can(Action::EditSelfAssessment { unit_id });
    let domains = domains_of(lang, sheet);
    let mut p = Page::for_user(state, user, "sheet.title").with_notice(ok);
    p.title = format!("{} — {}", sheet.unit.unit_name, sheet.period.name);
    let missing = missing.unwrap_or_default();
    SheetPage {
        p,
        filled: domains.iter().map(|d| d.filled).sum(),
        total: domains.iter().map(|d| d.total).sum(),
        with_evidence: domains.iter().map(|d| d.with_evidence).sum(),
        needs_explanation: domains.iter().map(|d| d.needs_explanation).sum(),
        self_total: sheet.self_total().display_vi(),
        editable: may_edit && open,
        refusal: match (&sheet.refusal, may_edit) {
            (Some(r), true) => Some(lang.message(r)),
            _ => None,
        },
        can_submit: user.can(Action::SubmitSelfAssessment { unit_id }) && open,
        deadline: datetime_vi(sheet.deadline()),
        in_explanation: matches!(sheet.period.stage, Stage::Explanation(_)),
        period: sheet.period.clone(),
        unit: sheet.unit.clone(),
        set_title: sheet.set.title.clone(),
        illustrative: sheet.set.illustrative,
        domains,
        missing_unscored: missing.unscored,
        missing_unexplained: missing.unexplained,
        error,
        library: sheet
            .library
            .iter()
            .map(|f| LibraryFile {
                id: f.id,
                name: f.display_name.clone(),
            })
            .collect(),
        max_upload_mb: state.config.max_upload_bytes / (1024 * 1024),
        external: sheet
            .external
            .iter()
            .map(|(code, v)| (code.clone(), ValueView::of(v)))
            .collect(),
        survey: sheet
            .survey
            .iter()
            .map(|(code, s)| (code.clone(), SurveyView::of(s)))
            .collect(),
    }
}

/// The sheet's progress as the autosave script shows it after a save, counted exactly as
/// the page counts it (overall and per domain: filled, with evidence, needing an explanation).
pub fn progress_json(lang: Lang, sheet: &Sheet) -> Value {
    let domains = domains_of(lang, sheet);
    let sum = |f: fn(&DomainView) -> usize| domains.iter().map(f).sum::<usize>();
    json!({
        "filled": sum(|d| d.filled),
        "total": sum(|d| d.total),
        "with_evidence": sum(|d| d.with_evidence),
        "needs_explanation": sum(|d| d.needs_explanation),
        "self_total": sheet.self_total().display_vi(),
        "domains": domains.iter().map(|d| json!({
            "code": d.code,
            "filled": d.filled,
            "total": d.total,
            "with_evidence": d.with_evidence,
            "needs_explanation": d.needs_explanation,
        })).collect::<Vec<_>>(),
    })
}

/// The autosave answer to a good save: the score and the sheet's progress from what is
/// stored now (this save and any other officer's).
pub fn saved_json(lang: Lang, sheet: &Sheet, code: &str, saved: &SavedLeaf) -> Value {
    let needs = sheet.entries.get(code).is_some_and(|e| {
        !e.not_applicable
            && e.note.trim().is_empty()
            && !sheet.citations.iter().any(|c| c.leaf_code == code)
    });
    let na = lang.t("sheet.not_applicable");
    json!({
        "ok": true,
        "progress": progress_json(lang, sheet),
        "needs_explanation": needs,
        "version": saved.version,
        "score": saved.score.points.map(|p| p.display_vi()).unwrap_or_else(|| na.into()),
        // The same text the page renders: "0,50 / 0,50", or "Không áp dụng".
        "score_text": saved
            .score
            .points
            .map(|p| format!("{} / {}", p.display_vi(), saved.max.display_vi()))
            .unwrap_or_else(|| na.into()),
        "explanation": saved.score.explanation,
    })
}

/// What another officer saved on a leaf: their facts, the score, who.
pub struct Theirs {
    pub facts: String,
    pub score: String,
}

impl Theirs {
    pub fn of(lang: Lang, current: &CurrentLeaf) -> Theirs {
        let e = &current.entry;
        let input: Option<LeafInput> = serde_json::from_str(&e.input_json).ok();
        Theirs {
            facts: input
                .as_ref()
                .map(|i| facts_words(lang, i))
                .unwrap_or_default(),
            score: score_text(lang, e.score_milli, e.not_applicable),
        }
    }
}

/// A conflict in words: when and by whom the leaf was saved, with their facts and note.
pub fn conflict_text(lang: Lang, current: Option<&CurrentLeaf>) -> String {
    let Some(current) = current else {
        return lang.t("sheet.conflict").into();
    };
    let e = &current.entry;
    let theirs = Theirs::of(lang, current);
    let mut text = format!(
        "{} {} ({}). {}: {}; {}: {}",
        lang.t("sheet.conflict"),
        datetime_vi(e.updated_at),
        current.by,
        lang.t("sheet.their_facts"),
        theirs.facts,
        lang.t("sheet.their_value"),
        theirs.score,
    );
    if !e.note.trim().is_empty() {
        text.push_str(&format!("; {}: «{}»", lang.t("sheet.their_note"), e.note));
    }
    text.push('.');
    text
}

/// The autosave answer to a refused save, with what is stored now after a conflict (the
/// script offers to save the user's input over the other's, deliberately).
pub fn refused_json(lang: Lang, message: &str, current: Option<&CurrentLeaf>) -> Value {
    let current = current.map(|c| {
        let e = &c.entry;
        let theirs = Theirs::of(lang, c);
        json!({ "version": e.version, "score": theirs.score, "facts": theirs.facts,
            "by": c.by, "explanation": e.explanation, "note": e.note,
            "updated": datetime_vi(e.updated_at) })
    });
    json!({ "ok": false, "error": message, "current": current,
        "keep_mine": current.as_ref().map(|_| lang.t("sheet.keep_mine")) })
}
