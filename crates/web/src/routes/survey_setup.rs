//! Survey setup (issue 6 §1–§2): the period's survey settings, respondent groups and their
//! sampling plan with the sample-size helper, live progress against the plan, and the
//! questionnaires (mẫu phiếu): drafts with their questions tied to survey leaves, the
//! draft → open → closed life cycle, new versions, and a printable paper version.

use crate::routes::table::Routes;

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::Action;
use parindex_domain::survey::{
    AnswerOption, Question, QuestionnaireDoc, ResponseAnswers, is_code, sample_size,
};
use parindex_domain::text::parse_date_vi;
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::survey::{Questionnaire, SurveyGroup};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, FormList, Path, Query};
use crate::page::{Page, datetime_vi, day_start_ms};

/// The default answer scale a new question is prefilled with.
const DEFAULT_OPTIONS: &str =
    "A|Rất hài lòng|100\nB|Hài lòng|60\nC|Chưa hài lòng|20\nD|Rất không hài lòng|0\nK|Không biết|";

/// Viewing needs either survey permission; writing needs `ManageSurvey`.
fn require_view(user: &CurrentUser) -> Result<(), WebError> {
    if user.can(Action::ManageSurvey) {
        return Ok(());
    }
    user.require(Action::ReviewSurvey).map(|_| ())
}

fn refuse(message: impl Into<String>) -> WebError {
    WebError::BadRequest(message.into())
}

/// A stored instant as its Vietnamese calendar day (dd/mm/yyyy).
fn date_of(ms: Option<i64>) -> String {
    ms.map(|m| datetime_vi(m).chars().take(10).collect())
        .unwrap_or_default()
}

fn weight_text(milli: i64) -> String {
    Decimal::new(milli, 3)
        .normalize()
        .to_string()
        .replace('.', ",")
}

fn status_key(status: &str) -> &'static str {
    match status {
        "draft" => "survey_setup.status_draft",
        "open" => "survey_setup.status_open",
        "closed" => "survey_setup.status_closed",
        _ => "survey_setup.status_unknown",
    }
}

/// A whole number typed by the user, with a Vietnamese message naming the field.
fn parse_count(text: &str, label: &str, min: i64, max: i64) -> Result<i64, WebError> {
    let t = text.trim();
    let value = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().ok()
    } else {
        None
    };
    match value {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(refuse(format!(
            "{label} phải là số nguyên từ {min} đến {max}."
        ))),
    }
}

/// A decimal typed with a decimal comma ("1,5"); a dot is refused (it reads as a thousands
/// separator in Vietnamese).
fn parse_decimal_comma(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || t.contains('.') {
        return None;
    }
    Decimal::from_str_exact(&t.replace(',', ".")).ok()
}

/// The survey leaves (code → title) of the sets of the given units' groups.
async fn survey_leaves(
    state: &AppState,
    period_id: i64,
    period_units: &[PeriodUnit],
    unit_ids: &[i64],
) -> Result<BTreeMap<String, String>, WebError> {
    let groups: BTreeSet<&str> = period_units
        .iter()
        .filter(|u| unit_ids.contains(&u.unit_id))
        .map(|u| u.group_code.as_str())
        .collect();
    let mut leaves = BTreeMap::new();
    for group in groups {
        let set = match state.set_for_group(period_id, group).await {
            Ok(set) => set,
            Err(parindex_app::AppError::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        for node in set.leaves().filter(|n| n.is_survey()) {
            leaves
                .entry(node.code.clone())
                .or_insert_with(|| node.title.clone());
        }
    }
    Ok(leaves)
}

fn unit_label(u: &PeriodUnit) -> String {
    format!("{} — {}", u.unit_code, u.unit_name)
}

fn decode_doc(q: &Questionnaire) -> Result<QuestionnaireDoc, WebError> {
    serde_json::from_str(&q.definition)
        .map_err(|e| WebError::Internal(format!("questionnaire {} definition: {e}", q.id)))
}

fn encode_doc(doc: &QuestionnaireDoc) -> Result<String, WebError> {
    serde_json::to_string(doc).map_err(|e| WebError::Internal(e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// GET /survey

#[derive(Template)]
#[template(path = "survey_setup_periods.html")]
struct PeriodsPage {
    p: Page,
    periods: Vec<Period>,
}

pub async fn periods(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    require_view(&user)?;
    super::render(&PeriodsPage {
        p: Page::for_user(&state, &user, "survey_setup.title"),
        periods: state.store.list_periods().await?,
    })
}

// ---------------------------------------------------------------------------------------------
// GET /periods/{id}/survey

struct GroupRow {
    code: String,
    name: String,
    weight: String,
    population: i64,
    target: i64,
    sample: u64,
}

struct ProgressRow {
    group: String,
    unit: String,
    count: i64,
    target: i64,
    percent: String,
}

struct QuestionnaireRow {
    id: i64,
    group: String,
    version: i64,
    title: String,
    status: String,
    status_label: &'static str,
    questions: usize,
    units: usize,
    responses: i64,
}

struct Calculator {
    n: String,
    e: String,
    result: Option<u64>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "survey_setup_period.html")]
struct PeriodPage {
    p: Page,
    period: Period,
    can_manage: bool,
    error: Option<String>,
    open: String,
    close: String,
    groups: Vec<GroupRow>,
    calc: Calculator,
    progress: Vec<ProgressRow>,
    questionnaires: Vec<QuestionnaireRow>,
    /// (unit id, label) of the period's units.
    units: Vec<(i64, String)>,
    unit_groups: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    ok: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

fn calculator(n: Option<&str>, e: Option<&str>) -> Calculator {
    let n_text = n.unwrap_or("").trim().to_owned();
    let e_text = e.unwrap_or("5").trim().to_owned();
    let mut calc = Calculator {
        n: n_text.clone(),
        e: e_text.clone(),
        result: None,
        error: None,
    };
    if n_text.is_empty() {
        return calc;
    }
    let population = n_text
        .parse::<u64>()
        .ok()
        .filter(|_| n_text.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| *p <= 1_000_000_000);
    let margin = parse_decimal_comma(&e_text)
        .filter(|m| *m > Decimal::ZERO && *m <= Decimal::from(50))
        .map(|m| m / Decimal::ONE_HUNDRED);
    match (population, margin) {
        (Some(p), Some(m)) => calc.result = Some(sample_size(p, m)),
        (None, _) => {
            calc.error = Some("Quy mô tổng thể N phải là số nguyên từ 0 đến 1.000.000.000.".into())
        }
        (_, None) => {
            calc.error = Some(
                "Sai số e phải là phần trăm lớn hơn 0 và không quá 50 (ví dụ 5 hoặc 2,5).".into(),
            )
        }
    }
    calc
}

async fn period_page(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
    q: &PeriodQuery,
    error: Option<String>,
) -> Result<PeriodPage, WebError> {
    let period = state.store.get_period(period_id).await?;
    let period_units = state.store.period_units(period_id).await?;
    let groups = state.store.survey_groups(period_id).await?;
    let questionnaires = state.store.questionnaires(period_id).await?;
    let responses = state.store.period_survey_responses(period_id).await?;

    let names: BTreeMap<i64, String> = period_units
        .iter()
        .map(|u| (u.unit_id, unit_label(u)))
        .collect();

    // Counted answers per (group, unit) and responses per questionnaire.
    let mut per_unit: BTreeMap<(String, i64), i64> = BTreeMap::new();
    let mut per_questionnaire: BTreeMap<i64, i64> = BTreeMap::new();
    for r in responses.iter().filter(|r| r.counts()) {
        *per_questionnaire.entry(r.questionnaire_id).or_default() += 1;
        if let Some(answers) = ResponseAnswers::decode(&r.answers) {
            for (unit, a) in &answers.0 {
                if !a.is_empty() {
                    *per_unit.entry((r.group_code.clone(), *unit)).or_default() += 1;
                }
            }
        }
    }

    let mut evaluated: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
    let mut rows = Vec::new();
    for qn in &questionnaires {
        let units = state.store.questionnaire_units(qn.id).await?;
        evaluated
            .entry(qn.group_code.clone())
            .or_default()
            .extend(units.iter().copied());
        let questions = decode_doc(qn).map(|d| d.questions.len()).unwrap_or(0);
        rows.push(QuestionnaireRow {
            id: qn.id,
            group: qn.group_code.clone(),
            version: qn.version,
            title: qn.title.clone(),
            status: qn.status.clone(),
            status_label: user.ctx.lang.t(status_key(&qn.status)),
            questions,
            units: units.len(),
            responses: per_questionnaire.get(&qn.id).copied().unwrap_or(0),
        });
    }
    for (group, unit) in per_unit.keys() {
        evaluated.entry(group.clone()).or_default().insert(*unit);
    }

    let mut progress = Vec::new();
    for g in &groups {
        for unit in evaluated.get(&g.code).into_iter().flatten() {
            let count = per_unit.get(&(g.code.clone(), *unit)).copied().unwrap_or(0);
            let percent = if g.target_per_unit > 0 {
                format!("{}%", count * 100 / g.target_per_unit)
            } else {
                "—".to_owned()
            };
            progress.push(ProgressRow {
                group: g.code.clone(),
                unit: names
                    .get(unit)
                    .cloned()
                    .unwrap_or_else(|| format!("#{unit}")),
                count,
                target: g.target_per_unit,
                percent,
            });
        }
    }

    let five_percent = Decimal::new(5, 2);
    let unit_groups: BTreeSet<String> = period_units.iter().map(|u| u.group_code.clone()).collect();
    Ok(PeriodPage {
        p: Page::for_user(state, user, "survey_setup.period_title").with_notice(q.ok.as_deref()),
        can_manage: user.can(Action::ManageSurvey),
        error,
        open: date_of(period.survey_open_at),
        close: date_of(period.survey_close_at),
        groups: groups
            .iter()
            .map(|g: &SurveyGroup| GroupRow {
                code: g.code.clone(),
                name: g.name.clone(),
                weight: weight_text(g.weight_milli),
                population: g.population,
                target: g.target_per_unit,
                sample: sample_size(u64::try_from(g.population).unwrap_or(0), five_percent),
            })
            .collect(),
        calc: calculator(q.n.as_deref(), q.e.as_deref()),
        progress,
        questionnaires: rows,
        units: period_units
            .iter()
            .map(|u| (u.unit_id, format!("{} · {}", u.group_code, unit_label(u))))
            .collect(),
        unit_groups: unit_groups.into_iter().collect(),
        period,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<PeriodQuery>,
) -> Result<Response, WebError> {
    require_view(&user)?;
    super::render(&period_page(&state, &user, id, &q, None).await?)
}

/// Answers a refused write on the period page: the page again, with the message, as 422.
async fn period_refusal(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
    err: WebError,
) -> Result<Response, WebError> {
    match err {
        WebError::BadRequest(m) | WebError::Conflict(m) => {
            let page =
                period_page(state, user, period_id, &PeriodQuery::default(), Some(m)).await?;
            super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
        }
        other => Err(other),
    }
}

// ---------------------------------------------------------------------------------------------
// POST /periods/{id}/survey/settings

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    open: String,
    #[serde(default)]
    close: String,
    #[serde(default)]
    min_sample: String,
    #[serde(default)]
    weighted: String,
}

fn parse_settings(form: &SettingsForm) -> Result<(Option<i64>, Option<i64>, i64, bool), WebError> {
    let date = |text: &str, label: &str| -> Result<Option<time::Date>, WebError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        parse_date_vi(t).map(Some).ok_or_else(|| {
            refuse(format!(
                "{label} không hợp lệ; hãy nhập theo dạng dd/mm/yyyy."
            ))
        })
    };
    let open = date(&form.open, "Ngày bắt đầu khảo sát")?;
    let close = date(&form.close, "Ngày kết thúc khảo sát")?;
    if let (Some(o), Some(c)) = (open, close)
        && c < o
    {
        return Err(refuse(
            "Ngày kết thúc khảo sát phải sau hoặc trùng ngày bắt đầu.",
        ));
    }
    let min_sample = parse_count(&form.min_sample, "Cỡ mẫu tối thiểu", 1, 1_000_000)?;
    let weighted = match form.weighted.trim() {
        "yes" => true,
        "no" => false,
        _ => {
            return Err(refuse(
                "Hãy chọn có hay không tính trọng số theo nhóm đối tượng.",
            ));
        }
    };
    Ok((
        open.map(day_start_ms),
        close.map(super::periods::day_end_ms),
        min_sample,
        weighted,
    ))
}

pub async fn save_settings(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<SettingsForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    state.store.get_period(id).await?;
    let (open, close, min_sample, weighted) = match parse_settings(&form) {
        Ok(v) => v,
        Err(e) => return period_refusal(&state, &user, id, e).await,
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.save_survey_settings(id, open, close, min_sample, weighted)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/survey?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// POST /periods/{id}/survey/groups

#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    weight: String,
    #[serde(default)]
    population: String,
    #[serde(default)]
    target: String,
}

struct ParsedGroup {
    code: String,
    name: String,
    weight_milli: i64,
    population: i64,
    target: i64,
}

fn parse_group(form: &GroupForm) -> Result<ParsedGroup, WebError> {
    let code = form.code.trim().to_owned();
    if !is_code(&code) {
        return Err(refuse(
            "Mã nhóm đối tượng phải gồm 1–16 ký tự chữ không dấu, số, dấu chấm, gạch dưới hoặc gạch ngang.",
        ));
    }
    let name = form.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(refuse("Hãy nhập tên nhóm đối tượng (tối đa 200 ký tự)."));
    }
    let weight = parse_decimal_comma(&form.weight)
        .filter(|w| *w > Decimal::ZERO && *w <= Decimal::from(1000))
        .filter(|w| w.normalize().scale() <= 3)
        .ok_or_else(|| {
            refuse("Trọng số phải là số lớn hơn 0, dùng dấu phẩy thập phân và tối đa 3 chữ số thập phân (ví dụ 1 hoặc 0,5).")
        })?;
    let weight_milli = (weight * Decimal::from(1000))
        .to_i64()
        .ok_or_else(|| refuse("Trọng số không hợp lệ."))?;
    let population = parse_count(&form.population, "Quy mô tổng thể N", 0, 1_000_000_000)?;
    let target = parse_count(&form.target, "Số phiếu mục tiêu mỗi đơn vị", 0, 1_000_000)?;
    Ok(ParsedGroup {
        code,
        name,
        weight_milli,
        population,
        target,
    })
}

pub async fn save_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<GroupForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    state.store.get_period(id).await?;
    let g = match parse_group(&form) {
        Ok(g) => g,
        Err(e) => return period_refusal(&state, &user, id, e).await,
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.save_survey_group(id, &g.code, &g.name, g.weight_milli, g.population, g.target)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{id}/survey?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// Questionnaires: title and evaluated units (create and edit share the form)

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

/// The title and the evaluated units of a questionnaire form: `unit_<id>` checkboxes, or
/// `all_group` = a unit group whose period units are all evaluated.
fn parse_title_units(
    form: &[(String, String)],
    period_units: &[PeriodUnit],
) -> Result<(String, Vec<i64>), WebError> {
    let title = field(form, "title")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if title.is_empty() || title.chars().count() > 300 {
        return Err(refuse("Hãy nhập tiêu đề mẫu phiếu (tối đa 300 ký tự)."));
    }
    let mut units = BTreeSet::new();
    for (k, v) in form {
        if let Some(id) = k.strip_prefix("unit_") {
            if v.is_empty() {
                continue;
            }
            let id: i64 = id
                .parse()
                .map_err(|_| refuse("Đơn vị được chọn không hợp lệ."))?;
            if !period_units.iter().any(|u| u.unit_id == id) {
                return Err(refuse("Đơn vị được chọn không tham gia kỳ đánh giá này."));
            }
            units.insert(id);
        }
    }
    let all_group = field(form, "all_group").trim();
    if !all_group.is_empty() {
        let of_group: Vec<i64> = period_units
            .iter()
            .filter(|u| u.group_code == all_group)
            .map(|u| u.unit_id)
            .collect();
        if of_group.is_empty() {
            return Err(refuse(format!(
                "Kỳ đánh giá không có đơn vị nào thuộc nhóm {all_group}."
            )));
        }
        units.extend(of_group);
    }
    if units.is_empty() {
        return Err(refuse(
            "Hãy chọn ít nhất một đơn vị được đánh giá qua mẫu phiếu này.",
        ));
    }
    Ok((title, units.into_iter().collect()))
}

pub async fn create_questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    FormList(form): FormList,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    state.store.get_period(id).await?;
    let period_units = state.store.period_units(id).await?;
    let groups = state.store.survey_groups(id).await?;
    let group_code = field(&form, "group").trim();
    let Some(group) = groups.iter().find(|g| g.code == group_code) else {
        return period_refusal(
            &state,
            &user,
            id,
            refuse("Hãy chọn nhóm đối tượng khảo sát (tạo nhóm trước nếu chưa có)."),
        )
        .await;
    };
    let (title, units) = match parse_title_units(&form, &period_units) {
        Ok(v) => v,
        Err(e) => return period_refusal(&state, &user, id, e).await,
    };
    let definition = encode_doc(&QuestionnaireDoc::default())?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let qid = tx
        .create_questionnaire(id, group.id, &title, &definition, &units)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{qid}?ok=created")).into_response())
}

// ---------------------------------------------------------------------------------------------
// GET /questionnaires/{qid}

struct QuestionView {
    code: String,
    text: String,
    leaf_code: String,
    leaf_title: String,
    /// "A: Rất hài lòng (100%)", …
    options: Vec<String>,
}

struct UnitChoice {
    id: i64,
    label: String,
    checked: bool,
}

#[derive(Deserialize, Default, Clone)]
pub struct QuestionForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    leaf: String,
    #[serde(default)]
    options: String,
}

#[derive(Template)]
#[template(path = "survey_setup_questionnaire.html")]
struct QuestionnairePage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    group_name: String,
    status_label: &'static str,
    can_manage: bool,
    editable: bool,
    questions: Vec<QuestionView>,
    units: Vec<UnitChoice>,
    unit_groups: Vec<String>,
    evaluated: Vec<String>,
    leaves: Vec<(String, String)>,
    error: Option<String>,
    problems: Vec<String>,
    draft: QuestionForm,
}

fn option_text(o: &AnswerOption) -> String {
    match o.percent {
        Some(p) => format!(
            "{}: {} ({}%)",
            o.code,
            o.label,
            p.normalize().to_string().replace('.', ",")
        ),
        None => format!("{}: {}", o.code, o.label),
    }
}

struct Loaded {
    q: Questionnaire,
    period: Period,
    period_units: Vec<PeriodUnit>,
    units: Vec<i64>,
    doc: QuestionnaireDoc,
    leaves: BTreeMap<String, String>,
}

async fn load(state: &AppState, qid: i64) -> Result<Loaded, WebError> {
    let q = state.store.questionnaire(qid).await?;
    let period = state.store.get_period(q.period_id).await?;
    let period_units = state.store.period_units(q.period_id).await?;
    let units = state.store.questionnaire_units(qid).await?;
    let doc = decode_doc(&q)?;
    let leaves = survey_leaves(state, q.period_id, &period_units, &units).await?;
    Ok(Loaded {
        q,
        period,
        period_units,
        units,
        doc,
        leaves,
    })
}

async fn questionnaire_page(
    state: &AppState,
    user: &CurrentUser,
    l: Loaded,
    ok: Option<&str>,
    error: Option<String>,
    problems: Vec<String>,
    draft: Option<QuestionForm>,
) -> Result<QuestionnairePage, WebError> {
    let groups = state.store.survey_groups(l.q.period_id).await?;
    let group_name = groups
        .iter()
        .find(|g| g.id == l.q.group_id)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let can_manage = user.can(Action::ManageSurvey);
    let questions = l
        .doc
        .questions
        .iter()
        .map(|qn| QuestionView {
            code: qn.code.clone(),
            text: qn.text.clone(),
            leaf_code: qn.leaf_code.clone(),
            leaf_title: l.leaves.get(&qn.leaf_code).cloned().unwrap_or_default(),
            options: qn.options.iter().map(option_text).collect(),
        })
        .collect();
    let unit_groups: BTreeSet<String> = l
        .period_units
        .iter()
        .map(|u| u.group_code.clone())
        .collect();
    Ok(QuestionnairePage {
        p: Page::for_user(state, user, "survey_setup.questionnaire_title").with_notice(ok),
        period_name: l.period.name.clone(),
        group_name,
        status_label: user.ctx.lang.t(status_key(&l.q.status)),
        can_manage,
        editable: can_manage && l.q.status == "draft",
        questions,
        units: l
            .period_units
            .iter()
            .map(|u| UnitChoice {
                id: u.unit_id,
                label: format!("{} · {}", u.group_code, unit_label(u)),
                checked: l.units.contains(&u.unit_id),
            })
            .collect(),
        unit_groups: unit_groups.into_iter().collect(),
        evaluated: l
            .period_units
            .iter()
            .filter(|u| l.units.contains(&u.unit_id))
            .map(unit_label)
            .collect(),
        leaves: l.leaves.into_iter().collect(),
        error,
        problems,
        draft: draft.unwrap_or_else(|| QuestionForm {
            options: DEFAULT_OPTIONS.to_owned(),
            ..QuestionForm::default()
        }),
        q: l.q,
    })
}

#[derive(Deserialize)]
pub struct OkOnly {
    ok: Option<String>,
}

pub async fn questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Query(q): Query<OkOnly>,
) -> Result<Response, WebError> {
    require_view(&user)?;
    let l = load(&state, qid).await?;
    super::render(
        &questionnaire_page(&state, &user, l, q.ok.as_deref(), None, Vec::new(), None).await?,
    )
}

/// Answers a refused write on the questionnaire page: the page again with the message(s).
async fn questionnaire_refusal(
    state: &AppState,
    user: &CurrentUser,
    qid: i64,
    err: WebError,
    problems: Vec<String>,
    draft: Option<QuestionForm>,
) -> Result<Response, WebError> {
    let (status, message) = match err {
        WebError::BadRequest(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
        WebError::Conflict(m) => (StatusCode::CONFLICT, m),
        other => return Err(other),
    };
    let l = load(state, qid).await?;
    let page = questionnaire_page(state, user, l, None, Some(message), problems, draft).await?;
    super::render_status(status, &page)
}

const FROZEN: &str = "Mẫu phiếu đã mở hoặc đã đóng nên không sửa được; hãy tạo phiên bản mới.";

// ---------------------------------------------------------------------------------------------
// POST /questionnaires/{qid}/questions

/// Parses the option lines "A|Rất hài lòng|100"; an empty value is "don't know".
fn parse_options(text: &str) -> Result<Vec<AnswerOption>, WebError> {
    let mut options = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let [code, label, value] = parts[..] else {
            return Err(refuse(format!(
                "Dòng phương án {}: cần đúng dạng MÃ|Nội dung|Giá trị (giá trị để trống là «không biết»).",
                i + 1
            )));
        };
        if !is_code(code) {
            return Err(refuse(format!(
                "Dòng phương án {}: mã «{code}» không hợp lệ (1–16 ký tự chữ không dấu, số, . _ -).",
                i + 1
            )));
        }
        if label.is_empty() {
            return Err(refuse(format!(
                "Dòng phương án {}: chưa có nội dung phương án.",
                i + 1
            )));
        }
        let percent = if value.is_empty() {
            None
        } else {
            Some(parse_decimal_comma(value).ok_or_else(|| {
                refuse(format!(
                    "Dòng phương án {}: giá trị «{value}» phải là số từ 0 đến 100 (dấu phẩy thập phân), hoặc để trống cho «không biết».",
                    i + 1
                ))
            })?)
        };
        options.push(AnswerOption {
            code: code.to_owned(),
            label: label.to_owned(),
            percent,
        });
    }
    if options.len() < 2 {
        return Err(refuse("Câu hỏi cần ít nhất hai phương án trả lời."));
    }
    Ok(options)
}

pub async fn add_question(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Form(form): Form<QuestionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let l = load(&state, qid).await?;
    let draft = Some(form.clone());
    let fail = async |e: WebError, problems: Vec<String>| {
        questionnaire_refusal(&state, &user, qid, e, problems, draft.clone()).await
    };
    if l.q.status != "draft" {
        return fail(refuse(FROZEN), Vec::new()).await;
    }
    let code = form.code.trim().to_owned();
    let text = form.text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() > 2000 {
        return fail(
            refuse("Nội dung câu hỏi quá dài (tối đa 2000 ký tự)."),
            Vec::new(),
        )
        .await;
    }
    if l.doc.question(&code).is_some() {
        return fail(
            refuse(format!("Mẫu phiếu đã có câu hỏi mã {code}.")),
            Vec::new(),
        )
        .await;
    }
    let options = match parse_options(&form.options) {
        Ok(o) => o,
        Err(e) => return fail(e, Vec::new()).await,
    };
    let question = Question {
        code,
        text,
        leaf_code: form.leaf.trim().to_owned(),
        options,
    };
    let leaf_codes: BTreeSet<String> = l.leaves.keys().cloned().collect();
    let alone = QuestionnaireDoc {
        questions: vec![question.clone()],
    };
    if let Err(problems) = alone.validate(&leaf_codes) {
        return fail(refuse("Câu hỏi chưa hợp lệ:"), problems).await;
    }
    let mut doc = l.doc;
    doc.questions.push(question);
    let definition = encode_doc(&doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx
        .update_questionnaire(qid, &l.q.title, &definition, &l.units)
        .await
    {
        drop(tx);
        return fail(e.into(), Vec::new()).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{qid}?ok=saved")).into_response())
}

pub async fn remove_question(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((qid, code)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let l = load(&state, qid).await?;
    if l.q.status != "draft" {
        return questionnaire_refusal(&state, &user, qid, refuse(FROZEN), Vec::new(), None).await;
    }
    let mut doc = l.doc;
    let before = doc.questions.len();
    doc.questions.retain(|q| q.code != code);
    if doc.questions.len() == before {
        return Err(WebError::NotFound);
    }
    let definition = encode_doc(&doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx
        .update_questionnaire(qid, &l.q.title, &definition, &l.units)
        .await
    {
        drop(tx);
        return questionnaire_refusal(&state, &user, qid, e.into(), Vec::new(), None).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{qid}?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// POST /questionnaires/{qid}: title and units

pub async fn update_questionnaire(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    FormList(form): FormList,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let l = load(&state, qid).await?;
    if l.q.status != "draft" {
        return questionnaire_refusal(&state, &user, qid, refuse(FROZEN), Vec::new(), None).await;
    }
    let (title, units) = match parse_title_units(&form, &l.period_units) {
        Ok(v) => v,
        Err(e) => return questionnaire_refusal(&state, &user, qid, e, Vec::new(), None).await,
    };
    let definition = encode_doc(&l.doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx
        .update_questionnaire(qid, &title, &definition, &units)
        .await
    {
        drop(tx);
        return questionnaire_refusal(&state, &user, qid, e.into(), Vec::new(), None).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{qid}?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// POST /questionnaires/{qid}/status

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    to: String,
}

pub async fn set_status(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Form(form): Form<StatusForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let l = load(&state, qid).await?;
    let (from, to) = match form.to.as_str() {
        "open" => ("draft", "open"),
        "close" => ("open", "closed"),
        "reopen" => ("closed", "open"),
        _ => {
            return questionnaire_refusal(
                &state,
                &user,
                qid,
                refuse("Thao tác không hợp lệ."),
                Vec::new(),
                None,
            )
            .await;
        }
    };
    if l.q.status != from {
        let message = match from {
            "draft" => "Chỉ mở được mẫu phiếu đang ở trạng thái nháp.",
            "open" => "Chỉ đóng được mẫu phiếu đang mở.",
            _ => "Chỉ mở lại được mẫu phiếu đã đóng.",
        };
        return questionnaire_refusal(
            &state,
            &user,
            qid,
            WebError::Conflict(message.into()),
            Vec::new(),
            None,
        )
        .await;
    }
    if to == "open" && from == "draft" {
        let leaf_codes: BTreeSet<String> = l.leaves.keys().cloned().collect();
        let mut problems = match l.doc.validate(&leaf_codes) {
            Ok(()) => Vec::new(),
            Err(p) => p,
        };
        if l.units.is_empty() {
            problems.push("Mẫu phiếu chưa có đơn vị được đánh giá.".into());
        }
        if !problems.is_empty() {
            return questionnaire_refusal(
                &state,
                &user,
                qid,
                refuse("Chưa mở được mẫu phiếu:"),
                problems,
                None,
            )
            .await;
        }
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx.set_questionnaire_status(qid, from, to).await {
        drop(tx);
        return questionnaire_refusal(&state, &user, qid, e.into(), Vec::new(), None).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{qid}?ok=saved")).into_response())
}

// ---------------------------------------------------------------------------------------------
// POST /questionnaires/{qid}/new-version

pub async fn new_version(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let l = load(&state, qid).await?;
    let definition = encode_doc(&l.doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let new_id = tx
        .create_questionnaire(
            l.q.period_id,
            l.q.group_id,
            &l.q.title,
            &definition,
            &l.units,
        )
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/questionnaires/{new_id}?ok=created")).into_response())
}

// ---------------------------------------------------------------------------------------------
// GET /questionnaires/{qid}/print

/// A printed question: code, text, and its options as (code, label).
type PrintQuestion = (String, String, Vec<(String, String)>);

struct PrintBlock {
    unit: String,
    questions: Vec<PrintQuestion>,
}

#[derive(Template)]
#[template(path = "survey_setup_print.html")]
struct PrintPage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    group_name: String,
    blocks: Vec<PrintBlock>,
}

pub async fn print(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    require_view(&user)?;
    let l = load(&state, qid).await?;
    let groups = state.store.survey_groups(l.q.period_id).await?;
    let group_name = groups
        .iter()
        .find(|g| g.id == l.q.group_id)
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let questions: Vec<PrintQuestion> = l
        .doc
        .questions
        .iter()
        .map(|q| {
            (
                q.code.clone(),
                q.text.clone(),
                q.options
                    .iter()
                    .map(|o| (o.code.clone(), o.label.clone()))
                    .collect(),
            )
        })
        .collect();
    let blocks = l
        .period_units
        .iter()
        .filter(|u| l.units.contains(&u.unit_id))
        .map(|u| PrintBlock {
            unit: u.unit_name.clone(),
            questions: questions.clone(),
        })
        .collect();
    super::render(&PrintPage {
        p: Page::for_user(&state, &user, "survey_setup.print_title"),
        period_name: l.period.name.clone(),
        group_name,
        blocks,
        q: l.q,
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/survey", periods)
        .get("/periods/{id}/survey", show)
        .post("/periods/{id}/survey/settings", save_settings)
        .post("/periods/{id}/survey/groups", save_group)
        .post("/periods/{id}/survey/questionnaires", create_questionnaire)
        .get("/questionnaires/{qid}", questionnaire)
        .post("/questionnaires/{qid}", update_questionnaire)
        .post("/questionnaires/{qid}/questions", add_question)
        .post(
            "/questionnaires/{qid}/questions/{code}/remove",
            remove_question,
        )
        .post("/questionnaires/{qid}/status", set_status)
        .post("/questionnaires/{qid}/new-version", new_version)
        .get("/questionnaires/{qid}/print", print)
}
