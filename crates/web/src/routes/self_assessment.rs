//! The unit's self-assessment sheet (tự đánh giá): every leaf of its set with the input its rule
//! asks for, the score the server computes with its explanation, a note, progress per domain;
//! saving a leaf (a plain form, or JSON for the autosave script), and the submission.

use crate::routes::table::Routes;

use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use parindex_domain::rules::{LeafInput, LeafSource, RuleSpec};
use parindex_domain::workflow::{LeafStatus, SelfAssessmentWindow, completeness};
use parindex_domain::{Action, IndexSet, Points};
use parindex_store::periods::{LeafEntry, LeafEntryWrite, Period, PeriodUnit};
use serde_json::json;

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::{Page, datetime_vi};

/// Everything a sheet needs, loaded once per request.
struct Sheet {
    period: Period,
    unit: PeriodUnit,
    set: std::sync::Arc<parindex_app::evaluation::LoadedSet>,
    set_title: String,
    illustrative: bool,
    entries: HashMap<String, LeafEntry>,
    citations: Vec<parindex_store::evidence_library::Citation>,
    library: Vec<parindex_store::evidence_library::EvidenceFile>,
    /// External values of the unit, by leaf code.
    external: HashMap<String, parindex_store::appraisal::ExternalValue>,
    /// The survey's current result for this unit's survey leaves.
    survey: HashMap<String, SurveyView>,
}

/// A unit's place in a period and the published set of its group.
pub(crate) async fn unit_set(
    state: &AppState,
    period_id: i64,
    unit_id: i64,
) -> Result<
    (
        Period,
        PeriodUnit,
        std::sync::Arc<parindex_app::evaluation::LoadedSet>,
    ),
    WebError,
> {
    let period = state.store.get_period(period_id).await?;
    let unit = state.store.period_unit(period_id, unit_id).await?;
    let set_id = state
        .store
        .period_sets(period_id)
        .await?
        .into_iter()
        .find(|(g, _)| *g == unit.group_code)
        .map(|(_, id)| id)
        .ok_or(WebError::NotFound)?;
    let set = state.published_set(set_id).await?;
    Ok((period, unit, set))
}

async fn load_sheet(state: &AppState, period_id: i64, unit_id: i64) -> Result<Sheet, WebError> {
    let (period, unit, set) = unit_set(state, period_id, unit_id).await?;
    let entries = state
        .store
        .leaf_entries(period_id, unit_id)
        .await?
        .into_iter()
        .map(|e| (e.leaf_code.clone(), e))
        .collect();
    let citations = state.store.citations(period_id, unit_id).await?;
    let library = state.store.unit_evidence(unit_id).await?;
    let external = state
        .store
        .external_values(period_id, Some(unit_id))
        .await?
        .into_iter()
        .map(|v| (v.leaf_code.clone(), v))
        .collect();
    let survey = state
        .period_survey(period_id)
        .await?
        .of_unit(unit_id)
        .into_iter()
        .map(|(code, s)| (code, SurveyView::of(s)))
        .collect();
    Ok(Sheet {
        illustrative: set.illustrative,
        set_title: set.title.clone(),
        period,
        unit,
        set,
        entries,
        citations,
        library,
        external,
        survey,
    })
}

/// A survey leaf's result as the sheet shows it.
#[derive(Debug, Clone)]
pub(crate) struct SurveyView {
    pub points: String,
    pub valid: usize,
    pub dont_know: usize,
    pub mean: String,
    /// "[a%; b%]", or empty below two answers.
    pub interval: String,
    pub below_minimum: bool,
}

impl SurveyView {
    pub(crate) fn of(s: &parindex_domain::survey::LeafSurveyScore) -> SurveyView {
        let pct = |d: rust_decimal::Decimal| {
            parindex_domain::points::percent_display_vi(d * rust_decimal::Decimal::ONE_HUNDRED)
        };
        SurveyView {
            points: s
                .points
                .map(|p| p.display_vi())
                .unwrap_or_else(|| "—".into()),
            valid: s.valid,
            dont_know: s.dont_know,
            mean: s.mean.map(pct).unwrap_or_else(|| "—".into()),
            interval: match (s.ci_low, s.ci_high) {
                (Some(a), Some(b)) => format!("[{}; {}]", pct(a), pct(b)),
                _ => String::new(),
            },
            below_minimum: s.below_minimum,
        }
    }
}

fn window_of(period: &Period, unit: &PeriodUnit) -> SelfAssessmentWindow {
    SelfAssessmentWindow {
        opens_at: period.self_open_at,
        closes_at: period.self_close_at,
        extension_until: unit.extension_until,
        submitted_at: unit.submitted_at,
    }
}

fn window(sheet: &Sheet) -> SelfAssessmentWindow {
    window_of(&sheet.period, &sheet.unit)
}

/// Whether the unit may write on its sheet now: the period still in self-assessment (the
/// appraisal has not started), the window open, the sheet not submitted. The early check,
/// before any body is read; the store repeats it inside the write (see [`claim`]).
pub(crate) fn self_write_check(period: &Period, unit: &PeriodUnit) -> Result<(), String> {
    let stage = period.stage;
    parindex_domain::workflow::check_self_write(
        stage,
        &window_of(period, unit),
        parindex_store::now_ms(),
    )
    .map_err(|r| r.message_vi(datetime_vi))
}

fn write_check(sheet: &Sheet) -> Result<(), String> {
    self_write_check(&sheet.period, &sheet.unit)
}

/// Claims the unit's sheet inside the write's transaction: the submission, the deadline and
/// the stage are read again there, so one that changed after the early check still refuses.
pub(crate) async fn claim(
    tx: &mut parindex_store::WriteTx,
    period_id: i64,
    unit_id: i64,
) -> Result<(), WebError> {
    tx.claim_self_assessment(period_id, unit_id)
        .await?
        .map_err(|r| WebError::ForbiddenBecause(r.message_vi(datetime_vi)))
}

fn is_self_assessed(rule: &RuleSpec) -> bool {
    matches!(rule.source(), LeafSource::SelfAssessed)
}

/// Why the unit may not write on a leaf (enter facts, attach evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LeafRefusal {
    /// Not a leaf of the unit's set: answered 404, like any unknown object.
    Missing,
    /// A leaf of an index that does not apply to the unit's group.
    NotForGroup,
    /// A survey or external leaf: read-only for the unit.
    ReadOnly,
}

impl LeafRefusal {
    pub(crate) fn status(self) -> StatusCode {
        match self {
            LeafRefusal::Missing => StatusCode::NOT_FOUND,
            LeafRefusal::NotForGroup => StatusCode::UNPROCESSABLE_ENTITY,
            LeafRefusal::ReadOnly => StatusCode::FORBIDDEN,
        }
    }

    pub(crate) fn message(self, lang: crate::i18n::Lang) -> String {
        match self {
            LeafRefusal::Missing => lang.t("error.not_found").into(),
            LeafRefusal::NotForGroup => lang.t("sheet.not_for_group").into(),
            LeafRefusal::ReadOnly => lang.t("sheet.read_only_leaf").into(),
        }
    }

    pub(crate) fn into_web(self, lang: crate::i18n::Lang) -> WebError {
        match self {
            LeafRefusal::Missing => WebError::NotFound,
            LeafRefusal::NotForGroup => WebError::BadRequest(self.message(lang)),
            LeafRefusal::ReadOnly => WebError::ForbiddenBecause(self.message(lang)),
        }
    }
}

/// The leaf `code` of `set` if the unit of `group_code` may write on it: a leaf, of an index
/// applying to the group, scored by the unit itself. One place for the sheet and the evidence.
pub(crate) fn writable_leaf<'a>(
    set: &'a IndexSet,
    group_code: &str,
    code: &str,
) -> Result<(&'a parindex_domain::index_set::Node, &'a RuleSpec), LeafRefusal> {
    let node = set
        .node(code)
        .filter(|n| n.is_leaf())
        .ok_or(LeafRefusal::Missing)?;
    let index = set.index_of(code).ok_or(LeafRefusal::Missing)?;
    if !set.applies_to_group(index, group_code) {
        return Err(LeafRefusal::NotForGroup);
    }
    let rule = node.rule.as_ref().ok_or(LeafRefusal::Missing)?;
    if !is_self_assessed(rule) {
        return Err(LeafRefusal::ReadOnly);
    }
    Ok((node, rule))
}

/// The input boxes a leaf shows, by rule kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputKind {
    YesNo,
    Ratio { counted: String },
    Count { counted: String },
    Variables { vars: Vec<(String, String)> },
    ReadOnly { source: String },
}

pub(crate) struct LeafView {
    pub(crate) code: String,
    pub(crate) title: String,
    pub(crate) max: String,
    pub(crate) method: String,
    pub(crate) evidence: String,
    pub(crate) input: InputKind,
    /// Current values as typed, by field name.
    pub(crate) values: BTreeMap<String, String>,
    pub(crate) yes: Option<bool>,
    pub(crate) na_allowed: bool,
    pub(crate) na: bool,
    pub(crate) na_reason: String,
    pub(crate) note: String,
    pub(crate) score: String,
    pub(crate) explanation: String,
    pub(crate) version: i64,
    pub(crate) needs_explanation: bool,
    pub(crate) updated: String,
    /// (citation id, file id, file name, reference, viewable inline)
    pub(crate) files: Vec<(i64, i64, String, String, bool)>,
}

impl LeafView {
    /// The typed value of an input field, or empty.
    pub(crate) fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }
    /// The typed value of a formula variable, or empty.
    pub(crate) fn var_value(&self, name: &str) -> &str {
        self.values
            .get(&format!("var_{name}"))
            .map(String::as_str)
            .unwrap_or("")
    }
}

struct DomainView {
    code: String,
    title: String,
    max: String,
    filled: usize,
    total: usize,
    needs_explanation: usize,
    /// Leaves with at least one evidence file.
    with_evidence: usize,
    leaves: Vec<LeafView>,
}

fn decimal_text(d: &rust_decimal::Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

pub(crate) fn leaf_view(
    set: &IndexSet,
    node: &parindex_domain::index_set::Node,
    entry: Option<&LeafEntry>,
    citations: &[parindex_store::evidence_library::Citation],
) -> LeafView {
    let files: Vec<(i64, i64, String, String, bool)> = citations
        .iter()
        .filter(|c| c.leaf_code == node.code)
        .map(|c| {
            let viewable = c.file.content_type == "application/pdf"
                || c.file.content_type.starts_with("image/");
            (
                c.id,
                c.file.id,
                c.file.display_name.clone(),
                c.reference.clone(),
                viewable,
            )
        })
        .collect();
    let rule = node.rule.as_ref();
    let input_kind = match rule {
        Some(RuleSpec::Binary) => InputKind::YesNo,
        Some(
            RuleSpec::TieredPercent { counted, .. }
            | RuleSpec::Proportional { counted, .. }
            | RuleSpec::ProportionalFloor { counted, .. },
        ) => InputKind::Ratio {
            counted: counted.clone(),
        },
        Some(RuleSpec::CountTiered { counted, .. } | RuleSpec::Deduction { counted, .. }) => {
            InputKind::Count {
                counted: counted.clone(),
            }
        }
        Some(RuleSpec::Formula { variables, .. }) => InputKind::Variables {
            vars: variables
                .iter()
                .map(|v| {
                    (
                        v.name.clone(),
                        if v.label.is_empty() {
                            v.name.clone()
                        } else {
                            v.label.clone()
                        },
                    )
                })
                .collect(),
        },
        Some(RuleSpec::Survey) => InputKind::ReadOnly {
            source: "Điều tra xã hội học".into(),
        },
        Some(RuleSpec::External { provider }) => InputKind::ReadOnly {
            source: provider.clone(),
        },
        None => InputKind::ReadOnly {
            source: String::new(),
        },
    };
    let input: Option<LeafInput> = entry.and_then(|e| serde_json::from_str(&e.input_json).ok());
    let mut values = BTreeMap::new();
    let mut yes = None;
    let mut na = false;
    let mut na_reason = String::new();
    match &input {
        Some(LeafInput::YesNo(v)) => yes = Some(*v),
        Some(LeafInput::Ratio {
            numerator,
            denominator,
        }) => {
            values.insert("numerator".into(), decimal_text(numerator));
            values.insert("denominator".into(), decimal_text(denominator));
        }
        Some(LeafInput::Count(c)) => {
            values.insert("count".into(), c.to_string());
        }
        Some(LeafInput::Variables(vars)) => {
            for (k, v) in vars {
                values.insert(format!("var_{k}"), decimal_text(v));
            }
        }
        Some(LeafInput::NotApplicable { reason }) => {
            na = true;
            na_reason = reason.clone();
        }
        Some(LeafInput::Points(_)) | None => {}
    }
    let score = match entry {
        Some(e) if e.not_applicable => "Không áp dụng".to_owned(),
        Some(e) => e
            .score_milli
            .map(|m| Points::from_millipoints(m).display_vi())
            .unwrap_or_default(),
        None => String::new(),
    };
    let note = entry.map(|e| e.note.clone()).unwrap_or_default();
    let scored = entry.is_some_and(|e| !e.not_applicable);
    let _ = set;
    LeafView {
        code: node.code.clone(),
        title: node.title.clone(),
        max: node.max.display_vi(),
        method: node.method.clone().unwrap_or_default(),
        evidence: node.evidence.clone().unwrap_or_default(),
        input: input_kind,
        values,
        yes,
        na_allowed: node.not_applicable_allowed,
        na,
        na_reason,
        needs_explanation: scored && note.trim().is_empty() && files.is_empty(),
        files,
        note,
        score,
        explanation: entry.map(|e| e.explanation.clone()).unwrap_or_default(),
        version: entry.map_or(0, |e| e.version),
        updated: entry.map(|e| datetime_vi(e.updated_at)).unwrap_or_default(),
    }
}

fn domains_of(sheet: &Sheet) -> Vec<DomainView> {
    let set = &sheet.set;
    set.domains()
        .map(|domain| {
            let leaves: Vec<LeafView> = set
                .leaves()
                .filter(|leaf| {
                    set.domain_of(&leaf.code)
                        .is_some_and(|d| d.code == domain.code)
                })
                .filter(|leaf| {
                    set.index_of(&leaf.code)
                        .is_some_and(|i| set.applies_to_group(i, &sheet.unit.group_code))
                })
                .map(|leaf| leaf_view(set, leaf, sheet.entries.get(&leaf.code), &sheet.citations))
                .collect();
            let self_leaves: Vec<&LeafView> = leaves
                .iter()
                .filter(|l| !matches!(l.input, InputKind::ReadOnly { .. }))
                .collect();
            DomainView {
                code: domain.code.clone(),
                title: domain.title.clone(),
                max: domain.max.display_vi(),
                filled: self_leaves.iter().filter(|l| l.version > 0).count(),
                total: self_leaves.len(),
                needs_explanation: leaves.iter().filter(|l| l.needs_explanation).count(),
                with_evidence: leaves.iter().filter(|l| !l.files.is_empty()).count(),
                leaves,
            }
        })
        .collect()
}

fn sheet_self_total(sheet: &Sheet) -> String {
    let milli: i64 = sheet.entries.values().filter_map(|e| e.score_milli).sum();
    Points::from_millipoints(milli).display_vi()
}

/// The sheet's progress as the autosave script shows it after a save, counted exactly as
/// the page counts it (overall and per domain: filled, with evidence, needing an explanation).
fn progress_json(sheet: &Sheet) -> serde_json::Value {
    let domains = domains_of(sheet);
    let sum = |f: fn(&DomainView) -> usize| domains.iter().map(f).sum::<usize>();
    json!({
        "filled": sum(|d| d.filled),
        "total": sum(|d| d.total),
        "with_evidence": sum(|d| d.with_evidence),
        "needs_explanation": sum(|d| d.needs_explanation),
        "self_total": sheet_self_total(sheet),
        "domains": domains.iter().map(|d| json!({
            "code": d.code,
            "filled": d.filled,
            "total": d.total,
            "with_evidence": d.with_evidence,
            "needs_explanation": d.needs_explanation,
        })).collect::<Vec<_>>(),
    })
}

#[derive(Template)]
#[template(path = "self_assessment_sheet.html")]
struct SheetPage {
    p: Page,
    period: Period,
    unit: PeriodUnit,
    set_title: String,
    illustrative: bool,
    domains: Vec<DomainView>,
    filled: usize,
    total: usize,
    with_evidence: usize,
    needs_explanation: usize,
    self_total: String,
    editable: bool,
    refusal: Option<String>,
    can_submit: bool,
    deadline: String,
    missing_unscored: Vec<String>,
    missing_unexplained: Vec<String>,
    error: Option<String>,
    /// (file id, name) of the unit's library, for citing a file on another leaf.
    library: Vec<(i64, String)>,
    max_upload_mb: u64,
    /// Provided values of the external leaves with their provenance, by leaf code.
    external: HashMap<String, super::external::ValueView>,
    survey: HashMap<String, SurveyView>,
}

fn sheet_page(
    state: &AppState,
    user: &CurrentUser,
    sheet: &Sheet,
    ok: Option<&str>,
    error: Option<String>,
    missing: Option<parindex_domain::workflow::Missing>,
) -> SheetPage {
    let w = window(sheet);
    let check = write_check(sheet);
    let may_edit = user.can(Action::EditSelfAssessment {
        unit_id: sheet.unit.unit_id,
    });
    let domains = domains_of(sheet);
    let mut p = Page::for_user(state, user, "sheet.title").with_notice(ok);
    p.title = format!("{} — {}", sheet.unit.unit_name, sheet.period.name);
    let missing = missing.unwrap_or_default();
    SheetPage {
        p,
        filled: domains.iter().map(|d| d.filled).sum(),
        total: domains.iter().map(|d| d.total).sum(),
        with_evidence: domains.iter().map(|d| d.with_evidence).sum(),
        needs_explanation: domains.iter().map(|d| d.needs_explanation).sum(),
        self_total: sheet_self_total(sheet),
        editable: may_edit && check.is_ok(),
        refusal: if may_edit { check.clone().err() } else { None },
        can_submit: user.can(Action::SubmitSelfAssessment {
            unit_id: sheet.unit.unit_id,
        }) && check.is_ok(),
        deadline: datetime_vi(w.deadline()),
        period: sheet.period.clone(),
        unit: sheet.unit.clone(),
        set_title: sheet.set_title.clone(),
        illustrative: sheet.illustrative,
        domains,
        missing_unscored: missing.unscored,
        missing_unexplained: missing.unexplained,
        error,
        library: sheet
            .library
            .iter()
            .map(|f| (f.id, f.display_name.clone()))
            .collect(),
        max_upload_mb: state.config.max_upload_bytes / (1024 * 1024),
        external: sheet
            .external
            .iter()
            .map(|(code, v)| (code.clone(), super::external::ValueView::of(v)))
            .collect(),
        survey: sheet.survey.clone(),
    }
}

/// An appraiser reads a unit's sheet and report only on a unit assigned to them in the period
/// (any node of it); elsewhere the unit answers 404, like any object outside their scope.
/// Other roles are settled by the policy alone.
pub(crate) async fn require_assignment_if_appraiser(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
    unit_id: i64,
) -> Result<(), WebError> {
    if user.actor()?.role() != parindex_domain::Role::Appraiser {
        return Ok(());
    }
    let mine = state
        .store
        .assignments_of(period_id, user.user_id())
        .await?;
    if mine.iter().any(|a| a.unit_id == unit_id) {
        Ok(())
    } else {
        Err(WebError::NotFound)
    }
}

/// Where a unit user starts: their newest period's sheet.
pub async fn mine(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let actor = user.actor()?;
    let Some(unit_id) = actor.unit_restriction() else {
        return Ok(Redirect::to("/periods").into_response());
    };
    let periods = state.store.periods_of_unit(unit_id).await?;
    match periods.first() {
        Some(p) => {
            Ok(Redirect::to(&format!("/periods/{}/units/{unit_id}/sheet", p.id)).into_response())
        }
        None => Err(WebError::BadRequest(
            user.ctx.lang.t("sheet.no_period").into(),
        )),
    }
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewSelfAssessment { unit_id })?;
    require_assignment_if_appraiser(&state, &user, period_id, unit_id).await?;
    let sheet = load_sheet(&state, period_id, unit_id).await?;
    super::render(&sheet_page(
        &state,
        &user,
        &sheet,
        q.ok.as_deref(),
        None,
        None,
    ))
}

/// Turns the typed fields into the facts the leaf's rule asks for.
pub(crate) fn parse_input(
    rule: &RuleSpec,
    fields: &BTreeMap<String, String>,
) -> Result<LeafInput, String> {
    let field = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or("");
    if fields.contains_key("na") {
        let reason = field("na_reason")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(LeafInput::NotApplicable { reason });
    }
    let decimal = |name: &str, label: &str| -> Result<rust_decimal::Decimal, String> {
        let text = field(name);
        if text.is_empty() {
            return Err(format!("Chưa nhập {label}"));
        }
        Points::parse(text).map(|p| p.value()).ok_or_else(|| {
            format!("{label} «{text}» không phải là số viết đúng dạng (chỉ gồm chữ số và một dấu phẩy thập phân, ví dụ 12,5; không dùng dấu phân cách hàng nghìn, số mũ, hay quá 28 chữ số)")
        })
    };
    match rule {
        RuleSpec::Binary => match field("value") {
            "yes" => Ok(LeafInput::YesNo(true)),
            "no" => Ok(LeafInput::YesNo(false)),
            _ => Err("Hãy chọn Đạt hoặc Không đạt".into()),
        },
        RuleSpec::TieredPercent { .. }
        | RuleSpec::Proportional { .. }
        | RuleSpec::ProportionalFloor { .. } => Ok(LeafInput::Ratio {
            numerator: decimal("numerator", "tử số (số đạt)")?,
            denominator: decimal("denominator", "mẫu số (tổng số)")?,
        }),
        RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => {
            let text = field("count");
            parindex_domain::points::parse_count(text)
                .map(LeafInput::Count)
                .ok_or_else(|| {
                    format!("Số lượng «{text}» phải là số nguyên không âm, chỉ gồm chữ số")
                })
        }
        RuleSpec::Formula { variables, .. } => {
            let mut vars = BTreeMap::new();
            for v in variables {
                let label = if v.label.is_empty() {
                    v.name.clone()
                } else {
                    v.label.clone()
                };
                vars.insert(v.name.clone(), decimal(&format!("var_{}", v.name), &label)?);
            }
            Ok(LeafInput::Variables(vars))
        }
        RuleSpec::Survey | RuleSpec::External { .. } => {
            Err("Tiêu chí này không do đơn vị tự chấm".into())
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}

/// What another officer saved on a leaf, for a conflict message: their facts, the score, who.
struct Theirs {
    facts: String,
    score: String,
    by: String,
}

impl Theirs {
    async fn of(state: &AppState, e: &LeafEntry) -> Result<Theirs, WebError> {
        let by = match e.updated_by {
            Some(id) => state.store.get_user(id).await?.full_name,
            None => String::new(),
        };
        let input: Option<LeafInput> = serde_json::from_str(&e.input_json).ok();
        Ok(Theirs {
            facts: input.as_ref().map(facts_text).unwrap_or_default(),
            score: if e.not_applicable {
                "không áp dụng".to_owned()
            } else {
                e.score_milli
                    .map(|m| Points::from_millipoints(m).display_vi())
                    .unwrap_or_default()
            },
            by,
        })
    }
}

/// The facts of a saved leaf in words: "Đạt", "18/20", "3", "a = 1; b = 2".
fn facts_text(input: &LeafInput) -> String {
    match input {
        LeafInput::YesNo(true) => "Đạt".into(),
        LeafInput::YesNo(false) => "Không đạt".into(),
        LeafInput::Ratio {
            numerator,
            denominator,
        } => format!("{}/{}", decimal_text(numerator), decimal_text(denominator)),
        LeafInput::Count(c) => c.to_string(),
        LeafInput::Variables(vars) => vars
            .iter()
            .map(|(k, v)| format!("{k} = {}", decimal_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        LeafInput::NotApplicable { reason } if reason.is_empty() => "Không áp dụng".into(),
        LeafInput::NotApplicable { reason } => format!("Không áp dụng ({reason})"),
        LeafInput::Points(p) => p.display_vi(),
    }
}

/// Saves one leaf. The server checks the role, the unit, the window, the submission, the rule's
/// input and the version, computes the score, and writes it with its audit record.
pub async fn save_leaf(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: HeaderMap,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(fields): Form<BTreeMap<String, String>>,
) -> Result<Response, WebError> {
    user.require(Action::EditSelfAssessment { unit_id })?;
    let json_reply = wants_json(&headers);
    let mut sheet = load_sheet(&state, period_id, unit_id).await?;
    let lang = user.ctx.lang;
    let fail = async |status: StatusCode,
                      message: String,
                      current: Option<&LeafEntry>|
           -> Result<Response, WebError> {
        if json_reply {
            let current = match current {
                Some(e) => {
                    let theirs = Theirs::of(&state, e).await?;
                    Some(
                        json!({ "version": e.version, "score": theirs.score, "facts": theirs.facts,
                        "by": theirs.by, "explanation": e.explanation, "note": e.note,
                        "updated": datetime_vi(e.updated_at) }),
                    )
                }
                None => None,
            };
            return Ok((
                status,
                Json(json!({ "ok": false, "error": message, "current": current,
                    // The script offers to save the user's input over the other's, deliberately.
                    "keep_mine": current.as_ref().map(|_| lang.t("sheet.keep_mine")) })),
            )
                .into_response());
        }
        super::render_status(
            status,
            &sheet_page(
                &state,
                &user,
                &sheet,
                None,
                Some(format!("{code}: {message}")),
                None,
            ),
        )
    };
    if let Err(refusal) = write_check(&sheet) {
        return fail(StatusCode::FORBIDDEN, refusal, None).await;
    }
    let (node, rule) = match writable_leaf(&sheet.set, &sheet.unit.group_code, &code) {
        Ok(found) => found,
        Err(LeafRefusal::Missing) => return Err(WebError::NotFound),
        Err(refusal) => return fail(refusal.status(), refusal.message(lang), None).await,
    };
    let Ok(version) = fields
        .get("version")
        .map(|v| v.trim())
        .unwrap_or("")
        .parse::<i64>()
    else {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("sheet.no_version").into(),
            None,
        )
        .await;
    };
    let input = match parse_input(rule, &fields) {
        Ok(i) => i,
        Err(message) => return fail(StatusCode::UNPROCESSABLE_ENTITY, message, None).await,
    };
    let score = match sheet.set.evaluate(&code, &input) {
        Ok(s) => s,
        Err(e) => return fail(StatusCode::UNPROCESSABLE_ENTITY, e.to_string(), None).await,
    };
    let note: String = fields
        .get("note")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    if note.chars().count() > 10_000 {
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("sheet.note_too_long").into(),
            None,
        )
        .await;
    }
    let score_milli = match score.points {
        Some(p) => Some(
            p.to_millipoints()
                .ok_or_else(|| WebError::Internal("score finer than storage".into()))?,
        ),
        None => None,
    };
    let write = LeafEntryWrite {
        input_json: serde_json::to_string(&input).map_err(|e| WebError::Internal(e.to_string()))?,
        score_milli,
        not_applicable: score.points.is_none(),
        explanation: score.explanation.clone(),
        note,
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(refused) = tx.claim_self_assessment(period_id, unit_id).await? {
        drop(tx);
        return fail(StatusCode::FORBIDDEN, refused.message_vi(datetime_vi), None).await;
    }
    let new_version = match tx
        .save_leaf_entry(period_id, unit_id, &code, version, &write)
        .await
    {
        Ok(v) => v,
        Err(parindex_store::StoreError::Stale) => {
            drop(tx);
            let current = state.store.leaf_entry(period_id, unit_id, &code).await?;
            let message = match &current {
                Some(e) => {
                    let theirs = Theirs::of(&state, e).await?;
                    let mut text = format!(
                        "{} {} ({}). {}: {}; {}: {}",
                        lang.t("sheet.conflict"),
                        datetime_vi(e.updated_at),
                        theirs.by,
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
                None => lang.t("sheet.conflict").into(),
            };
            return fail(StatusCode::CONFLICT, message, current.as_ref()).await;
        }
        Err(e) => return Err(e.into()),
    };
    tx.commit().await?;
    if json_reply {
        // Progress from what is stored now (this save and any other officer's).
        sheet.entries = state
            .store
            .leaf_entries(period_id, unit_id)
            .await?
            .into_iter()
            .map(|e| (e.leaf_code.clone(), e))
            .collect();
        let leaf_needs = sheet.entries.get(&code).is_some_and(|e| {
            !e.not_applicable
                && e.note.trim().is_empty()
                && !sheet.citations.iter().any(|c| c.leaf_code == code)
        });
        return Ok(Json(json!({
            "ok": true,
            "progress": progress_json(&sheet),
            "needs_explanation": leaf_needs,
            "version": new_version,
            "score": score.points.map(|p| p.display_vi()).unwrap_or_else(|| "Không áp dụng".into()),
            // The same text the page renders: "0,50 / 0,50", or "Không áp dụng".
            "score_text": score
                .points
                .map(|p| format!("{} / {}", p.display_vi(), node.max.display_vi()))
                .unwrap_or_else(|| "Không áp dụng".into()),
            "explanation": score.explanation,
        }))
        .into_response());
    }
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/sheet?ok=saved#leaf-{code}"
    ))
    .into_response())
}

/// The unit head approves and submits (chốt điểm tự chấm), once everything is there.
pub async fn submit(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::SubmitSelfAssessment { unit_id })?;
    let sheet = load_sheet(&state, period_id, unit_id).await?;
    if let Err(refusal) = write_check(&sheet) {
        return super::render_status(
            StatusCode::FORBIDDEN,
            &sheet_page(&state, &user, &sheet, None, Some(refusal), None),
        );
    }
    let inputs: HashMap<&str, LeafInput> = sheet
        .entries
        .iter()
        .filter_map(|(code, e)| {
            serde_json::from_str(&e.input_json)
                .ok()
                .map(|i| (code.as_str(), i))
        })
        .collect();
    let statuses = sheet
        .set
        .leaves()
        .filter(|leaf| {
            sheet
                .set
                .index_of(&leaf.code)
                .is_some_and(|i| sheet.set.applies_to_group(i, &sheet.unit.group_code))
        })
        .map(|leaf| LeafStatus {
            code: &leaf.code,
            self_assessed: leaf.rule.as_ref().is_some_and(is_self_assessed),
            input: inputs.get(leaf.code.as_str()),
            has_evidence: sheet.citations.iter().any(|c| c.leaf_code == leaf.code),
            has_note: sheet
                .entries
                .get(&leaf.code)
                .is_some_and(|e| !e.note.trim().is_empty()),
        })
        .collect::<Vec<_>>();
    let missing = completeness(statuses);
    if !missing.is_empty() {
        let message = user.ctx.lang.t("sheet.incomplete").to_owned();
        return super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &sheet_page(&state, &user, &sheet, None, Some(message), Some(missing)),
        );
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    claim(&mut tx, period_id, unit_id).await?;
    tx.submit_self_assessment(period_id, unit_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/sheet?ok=submitted"
    ))
    .into_response())
}

/// The self-assessment report of a unit: the summary by domain and criterion (from the
/// scorecard, so parents are exact sums of their leaves), the explanations and the evidence.
fn report_of(
    state: &AppState,
    sheet: &Sheet,
) -> Result<parindex_formats::report::SelfAssessmentReport, WebError> {
    use parindex_domain::rules::LeafScore;
    use parindex_domain::scorecard::Scorecard;
    use parindex_formats::report::{ReportExplanation, ReportRow, SelfAssessmentReport};
    let set = &sheet.set;
    let scores: BTreeMap<String, LeafScore> = sheet
        .entries
        .iter()
        .filter(|(code, _)| set.node(code).is_some_and(|n| n.is_leaf()))
        .map(|(code, e)| {
            let points = if e.not_applicable {
                None
            } else {
                e.score_milli.map(Points::from_millipoints)
            };
            (
                code.clone(),
                LeafScore {
                    points,
                    explanation: e.explanation.clone(),
                },
            )
        })
        .collect();
    let card = Scorecard::compute(set, &sheet.unit.group_code, &scores, &BTreeMap::new())
        .map_err(|e| WebError::Internal(format!("scorecard: {e}")))?;
    let mut rows = Vec::new();
    for (index, node) in set.nodes().iter().enumerate() {
        if !set.applies_to_group(index, &sheet.unit.group_code) {
            continue;
        }
        let tally = card.tally(set, &node.code);
        let entry = sheet.entries.get(&node.code);
        let source = match node.rule.as_ref().map(|r| r.source()) {
            Some(LeafSource::Survey) => "Điều tra XHH".to_owned(),
            Some(LeafSource::External { provider }) => provider.to_owned(),
            Some(LeafSource::SelfAssessed) => "Tự đánh giá".to_owned(),
            None => String::new(),
        };
        let (self_score, self_value) = if node.is_leaf() {
            match entry {
                Some(e) if e.not_applicable => ("Không áp dụng".to_owned(), None),
                Some(e) => match e.score_milli.map(Points::from_millipoints) {
                    Some(p) => (p.display_vi(), Some(p.value())),
                    None => (String::new(), None),
                },
                None => (String::new(), None),
            }
        } else {
            match tally.filter(|t| t.scored > 0) {
                Some(t) => (t.achieved.display_vi(), Some(t.achieved.value())),
                None => (String::new(), None),
            }
        };
        rows.push(ReportRow {
            code: node.code.clone(),
            title: node.title.clone(),
            level: node.level.min(255) as u8,
            max: node.max.display_vi(),
            self_score,
            source,
            explanation: entry.map(|e| e.explanation.clone()).unwrap_or_default(),
            max_value: node.max.value(),
            self_value,
        });
    }
    let explanations = set
        .leaves()
        .filter_map(|leaf| {
            let e = sheet.entries.get(&leaf.code)?;
            (!e.note.trim().is_empty()).then(|| ReportExplanation {
                code: leaf.code.clone(),
                title: leaf.title.clone(),
                text: e.note.clone(),
            })
        })
        .collect();
    let total = card.overall.achieved;
    Ok(SelfAssessmentReport {
        province: state.config.province_name.clone(),
        unit_name: sheet.unit.unit_name.clone(),
        unit_code: sheet.unit.unit_code.clone(),
        period_label: sheet.period.name.clone(),
        set_title: sheet.set_title.clone(),
        illustrative: sheet.illustrative,
        generated_at: datetime_vi(parindex_store::now_ms()),
        status_label: match sheet.unit.submitted_at {
            Some(t) => format!("Đã nộp lúc {}", datetime_vi(t)),
            None => "Chưa nộp".to_owned(),
        },
        rows,
        total_self: total.display_vi(),
        total_max: set.doc().scale.display_vi(),
        total_self_value: total.value(),
        total_max_value: set.doc().scale.value(),
        explanations,
        evidence: sheet
            .citations
            .iter()
            .map(|c| parindex_formats::report::ReportEvidence {
                code: c.leaf_code.clone(),
                file_name: c.file.display_name.clone(),
                reference: c.reference.clone(),
                sha256_short: c.file.sha256.chars().take(12).collect(),
                size: format!("{} KB", (c.file.size + 1023) / 1024),
            })
            .collect(),
    })
}

/// Downloads the self-assessment report as Excel (`xlsx`) or PDF (`pdf`).
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, format)): Path<(i64, i64, String)>,
) -> Result<Response, WebError> {
    user.require(Action::ViewSelfAssessment { unit_id })?;
    require_assignment_if_appraiser(&state, &user, period_id, unit_id).await?;
    let sheet = load_sheet(&state, period_id, unit_id).await?;
    let report = report_of(&state, &sheet)?;
    let stem = format!(
        "bao-cao-tu-danh-gia-{}-{}",
        sheet.unit.unit_code.to_lowercase(),
        sheet.period.year
    );
    let (bytes, content_type, ext) = match format.as_str() {
        "xlsx" => (
            parindex_formats::report::write_report_xlsx(&report)
                .map_err(|e| WebError::Internal(e.to_string()))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        "pdf" => {
            // Typesetting is CPU work: keep it off the async workers.
            let bytes = tokio::task::spawn_blocking(move || {
                parindex_formats::report::write_report_pdf(&report)
            })
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
            .map_err(|e| WebError::Internal(e.to_string()))?;
            (bytes, "application/pdf", "pdf")
        }
        _ => return Err(WebError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{stem}.{ext}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods/{id}/units/{unit_id}/sheet", show)
        .post("/periods/{id}/units/{unit_id}/leaves/{code}", save_leaf)
        .post("/periods/{id}/units/{unit_id}/submit", submit)
        .get("/periods/{id}/units/{unit_id}/report/{format}", report)
        .get("/self-assessment", mine)
}
