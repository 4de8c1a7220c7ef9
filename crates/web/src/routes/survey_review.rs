//! Reviewing the sociological survey (issue 6 §4–§6): the scores of every unit on every survey
//! leaf with the minimum-sample warning, the report per unit and respondent group (page and
//! Excel workbook), and the quality checks of the responses with the secretariat's exclusions
//! (and re-inclusions), each with a reason that the audit log keeps.
//!
//! Scores come from [`parindex_app::survey_scoring`], cached by a fingerprint of the survey's data,
//! so an exclusion changes every score and total on the next read without anything to reset.

use crate::routes::table::Routes;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::points::percent_display_vi;
use parindex_domain::survey::{LeafSurveyScore, ResponseForChecks, quality_flags};
use parindex_domain::{Action, Points};
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::survey::SurveyResponse;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::account::OkQuery;
use super::self_assessment::SurveyView;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::{Page, datetime_vi};
use parindex_app::evaluation::LoadedSet;
use parindex_app::survey_scoring::PeriodSurvey;

/// The most flagged responses listed on the quality page (the count is always shown).
const MAX_LISTED: usize = 1000;
/// The longest exclusion (or re-inclusion) reason, in characters.
const MAX_REASON_CHARS: usize = 500;

/// A survey leaf of a unit group's set: code, title, max.
#[derive(Debug, Clone)]
pub struct LeafColumn {
    pub code: String,
    pub title: String,
    pub max: Points,
}

/// A period with its units, their groups' sets and the survey's scores.
struct Context {
    period: Period,
    units: Vec<PeriodUnit>,
    /// Unit group → its survey leaves that apply to it, in set order.
    leaves: BTreeMap<String, Vec<LeafColumn>>,
    survey: Arc<PeriodSurvey>,
}

async fn load_context(state: &AppState, period_id: i64) -> Result<Context, WebError> {
    let period = state.store.get_period(period_id).await?;
    let units = state.store.period_units(period_id).await?;
    let mut sets: HashMap<String, Arc<LoadedSet>> = HashMap::new();
    for (group, set_id) in state.store.period_sets(period_id).await? {
        sets.insert(group, state.published_set(set_id).await?);
    }
    let mut leaves = BTreeMap::new();
    for unit in &units {
        if leaves.contains_key(&unit.group_code) {
            continue;
        }
        let columns = sets
            .get(&unit.group_code)
            .map(|set| {
                set.leaves()
                    .filter(|l| l.is_survey())
                    .filter(|l| {
                        set.index_of(&l.code)
                            .is_some_and(|i| set.applies_to_group(i, &unit.group_code))
                    })
                    .map(|l| LeafColumn {
                        code: l.code.clone(),
                        title: l.title.clone(),
                        max: l.max,
                    })
                    .collect()
            })
            .unwrap_or_default();
        leaves.insert(unit.group_code.clone(), columns);
    }
    let survey = state.period_survey(period_id).await?;
    Ok(Context {
        period,
        units,
        leaves,
        survey,
    })
}

impl Context {
    fn min_sample(&self) -> i64 {
        self.period.survey_min_sample.max(0)
    }

    fn score(&self, unit_id: i64, code: &str) -> Option<&LeafSurveyScore> {
        self.survey.scores.get(&(unit_id, code.to_owned()))
    }

    /// "STP – 1.6 (2 phiếu hợp lệ)" for every unit and leaf below the minimum sample, and
    /// every leaf of a unit nobody answered about (when a minimum is set).
    fn below_minimum(&self) -> Vec<String> {
        let mut out = Vec::new();
        for unit in &self.units {
            for leaf in self.leaves.get(&unit.group_code).into_iter().flatten() {
                let valid = match self.score(unit.unit_id, &leaf.code) {
                    Some(s) if s.below_minimum => s.valid,
                    Some(_) => continue,
                    None if self.min_sample() > 0 => 0,
                    None => continue,
                };
                out.push(format!(
                    "{} – {} ({} phiếu hợp lệ)",
                    unit.unit_code, leaf.code, valid
                ));
            }
        }
        out
    }
}

/// A percentage of a fraction 0–1, the Vietnamese way ("65,00%").
fn pct(fraction: Decimal) -> String {
    percent_display_vi(fraction * Decimal::ONE_HUNDRED)
}

// ---------------------------------------------------------------------------------------
// Scores
// ---------------------------------------------------------------------------------------

/// One unit's row of the scores table.
struct ScoreRow {
    unit_id: i64,
    unit_code: String,
    unit_name: String,
    /// Aligned with the group's leaves; `None` when nobody answered.
    cells: Vec<Option<SurveyView>>,
    total: String,
    max: String,
}

struct GroupTable {
    group: String,
    leaves: Vec<LeafColumn>,
    rows: Vec<ScoreRow>,
}

#[derive(Template)]
#[template(path = "survey_review_scores.html")]
struct ScoresPage {
    p: Page,
    period: Period,
    min_sample: i64,
    warnings: Vec<String>,
    tables: Vec<GroupTable>,
    responses_counted: usize,
}

/// `GET /periods/{id}/survey/scores`.
pub async fn scores(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ReviewSurvey)?;
    let ctx = load_context(&state, id).await?;
    let mut tables: Vec<GroupTable> = Vec::new();
    for (group, leaves) in &ctx.leaves {
        if leaves.is_empty() {
            continue;
        }
        let rows = ctx
            .units
            .iter()
            .filter(|u| u.group_code == *group)
            .map(|u| {
                let mut total = Points::ZERO;
                let mut max = Points::ZERO;
                let cells = leaves
                    .iter()
                    .map(|leaf| {
                        max += leaf.max;
                        let score = ctx.score(u.unit_id, &leaf.code)?;
                        if let Some(p) = score.points {
                            total += p;
                        }
                        Some(SurveyView::of(score))
                    })
                    .collect();
                ScoreRow {
                    unit_id: u.unit_id,
                    unit_code: u.unit_code.clone(),
                    unit_name: u.unit_name.clone(),
                    cells,
                    total: total.display_vi(),
                    max: max.display_vi(),
                }
            })
            .collect();
        tables.push(GroupTable {
            group: group.clone(),
            leaves: leaves.clone(),
            rows,
        });
    }
    super::render(&ScoresPage {
        p: Page::for_user(&state, &user, "survey_review.scores_title"),
        min_sample: ctx.min_sample(),
        warnings: ctx.below_minimum(),
        responses_counted: ctx.survey.responses_counted,
        period: ctx.period,
        tables,
    })
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

/// One respondent group's answers about a leaf, formatted.
struct GroupView {
    group: String,
    valid: usize,
    dont_know: usize,
    mean: String,
    weight: String,
}

struct LeafReport {
    code: String,
    title: String,
    max: String,
    view: SurveyView,
    groups: Vec<GroupView>,
}

struct UnitReport {
    unit_code: String,
    unit_name: String,
    leaves: Vec<LeafReport>,
}

#[derive(Template)]
#[template(path = "survey_review_report.html")]
struct ReportPage {
    p: Page,
    period: Period,
    min_sample: i64,
    weighted: bool,
    units: Vec<UnitReport>,
}

/// `GET /periods/{id}/survey/report`.
pub async fn report(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ReviewSurvey)?;
    let ctx = load_context(&state, id).await?;
    let units = ctx
        .units
        .iter()
        .map(|u| UnitReport {
            unit_code: u.unit_code.clone(),
            unit_name: u.unit_name.clone(),
            leaves: ctx
                .leaves
                .get(&u.group_code)
                .into_iter()
                .flatten()
                .filter_map(|leaf| {
                    let s = ctx.score(u.unit_id, &leaf.code)?;
                    Some(LeafReport {
                        code: leaf.code.clone(),
                        title: leaf.title.clone(),
                        max: leaf.max.display_vi(),
                        view: SurveyView::of(s),
                        groups: s
                            .groups
                            .iter()
                            .map(|g| GroupView {
                                group: g.group.clone(),
                                valid: g.valid,
                                dont_know: g.dont_know,
                                mean: g.mean.map(pct).unwrap_or_else(|| "—".into()),
                                weight: Points::new(g.weight).exact_vi(),
                            })
                            .collect(),
                    })
                })
                .collect(),
        })
        .collect();
    super::render(&ReportPage {
        p: Page::for_user(&state, &user, "survey_review.report_title"),
        min_sample: ctx.min_sample(),
        weighted: ctx.period.survey_weighted,
        period: ctx.period,
        units,
    })
}

/// A fraction 0–1 as a percent number rounded half-up to 2 decimals (65,00), for Excel,
/// through [`Points::published`], the one display rounding place.
fn percent_number(fraction: Decimal) -> Decimal {
    Points::new(fraction * Decimal::ONE_HUNDRED).published()
}

/// `GET /periods/{id}/survey/report.xlsx`: the same figures as a workbook.
pub async fn report_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    use parindex_formats::report::survey::{
        SurveyGroupLine, SurveyReport, SurveyUnitLine, write_survey_report_xlsx,
    };
    user.require(Action::ReviewSurvey)?;
    let ctx = load_context(&state, id).await?;
    let mut report = SurveyReport {
        province: state.config.province_name.clone(),
        period: ctx.period.name.clone(),
        generated_at: datetime_vi(parindex_store::now_ms()),
        min_sample: u64::try_from(ctx.min_sample()).unwrap_or(0),
        units: Vec::new(),
        groups: Vec::new(),
    };
    let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    for u in &ctx.units {
        for leaf in ctx.leaves.get(&u.group_code).into_iter().flatten() {
            let Some(s) = ctx.score(u.unit_id, &leaf.code) else {
                continue;
            };
            report.units.push(SurveyUnitLine {
                unit_code: u.unit_code.clone(),
                unit_name: u.unit_name.clone(),
                leaf_code: leaf.code.clone(),
                leaf_title: leaf.title.clone(),
                valid: count(s.valid),
                dont_know: count(s.dont_know),
                mean_percent: s.mean.map(percent_number),
                ci_low_percent: s.ci_low.map(percent_number),
                ci_high_percent: s.ci_high.map(percent_number),
                score: s.points.map(Points::value),
                max: leaf.max.value(),
                below_minimum: s.below_minimum,
            });
            for g in &s.groups {
                report.groups.push(SurveyGroupLine {
                    unit_code: u.unit_code.clone(),
                    unit_name: u.unit_name.clone(),
                    leaf_code: leaf.code.clone(),
                    group: g.group.clone(),
                    valid: count(g.valid),
                    dont_know: count(g.dont_know),
                    mean_percent: g.mean.map(percent_number),
                    weight: g.weight,
                });
            }
        }
    }
    let bytes = write_survey_report_xlsx(&report).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"dieu-tra-xhh-ky-{id}.xlsx\""),
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

// ---------------------------------------------------------------------------------------
// Quality checks and exclusions
// ---------------------------------------------------------------------------------------

/// A response as the quality page lists it.
struct ResponseRow {
    id: i64,
    questionnaire: String,
    group: String,
    channel: String,
    submitted_at: String,
    flags: Vec<&'static str>,
    excluded: bool,
    reason: String,
    excluded_at: String,
}

#[derive(Template)]
#[template(path = "survey_review_quality.html")]
struct QualityPage {
    p: Page,
    period: Period,
    can_exclude: bool,
    submitted: usize,
    flagged_total: usize,
    flagged: Vec<ResponseRow>,
    excluded: Vec<ResponseRow>,
    max_reason: usize,
}

/// `GET /periods/{id}/survey/quality`.
pub async fn quality(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ReviewSurvey)?;
    let period = state.store.get_period(id).await?;
    let questionnaires: HashMap<i64, (String, String)> = state
        .store
        .questionnaires(id)
        .await?
        .into_iter()
        .map(|q| {
            (
                q.id,
                (format!("{} (v{})", q.title, q.version), q.group_code),
            )
        })
        .collect();
    let responses: Vec<SurveyResponse> = state
        .store
        .period_survey_responses(id)
        .await?
        .into_iter()
        .filter(|r| r.status == "submitted")
        .collect();
    // Only responses that count are checked: a second paper entry is meant to repeat the
    // first (double entry), and an excluded response no longer counts, so neither makes
    // another response a duplicate (the same rule as progress and scoring).
    let checks: Vec<ResponseForChecks<'_>> = responses
        .iter()
        .filter(|r| r.counts())
        .map(|r| ResponseForChecks {
            id: r.id,
            questionnaire_id: r.questionnaire_id,
            answers: &r.answers,
            submitted_at: r.submitted_at,
        })
        .collect();
    let flags = quality_flags(&checks, (period.survey_open_at, period.survey_close_at));
    let row = |r: &SurveyResponse| {
        let (questionnaire, group) = questionnaires
            .get(&r.questionnaire_id)
            .cloned()
            .unwrap_or_else(|| (format!("#{}", r.questionnaire_id), r.group_code.clone()));
        ResponseRow {
            id: r.id,
            questionnaire,
            group,
            channel: r.channel.clone(),
            submitted_at: r.submitted_at.map(datetime_vi).unwrap_or_default(),
            flags: flags
                .get(&r.id)
                .map(|f| f.iter().map(|f| f.label_vi()).collect())
                .unwrap_or_default(),
            excluded: r.excluded_at.is_some(),
            reason: r.exclusion_reason.clone().unwrap_or_default(),
            excluded_at: r.excluded_at.map(datetime_vi).unwrap_or_default(),
        }
    };
    let flagged: Vec<ResponseRow> = responses
        .iter()
        .filter(|r| flags.contains_key(&r.id))
        .take(MAX_LISTED)
        .map(row)
        .collect();
    let excluded: Vec<ResponseRow> = responses
        .iter()
        .filter(|r| r.excluded_at.is_some())
        .map(row)
        .collect();
    super::render(&QualityPage {
        p: Page::for_user(&state, &user, "survey_review.quality_title")
            .with_notice(q.ok.as_deref()),
        can_exclude: user.can(Action::ExcludeSurveyResponse),
        submitted: responses.len(),
        flagged_total: flags.len(),
        flagged,
        excluded,
        max_reason: MAX_REASON_CHARS,
        period,
    })
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

/// The response and the period it belongs to; 404 for anything else.
async fn response_in_period(
    state: &AppState,
    response_id: i64,
) -> Result<(SurveyResponse, i64), WebError> {
    let response = state.store.survey_response(response_id).await?;
    let questionnaire = state.store.questionnaire(response.questionnaire_id).await?;
    state.store.get_period(questionnaire.period_id).await?;
    Ok((response, questionnaire.period_id))
}

fn checked_reason(form: &ReasonForm) -> Result<String, WebError> {
    let reason = form.reason.trim();
    let n = reason.chars().count();
    if n == 0 {
        return Err(WebError::BadRequest(
            "Cần ghi lý do (tối đa 500 ký tự).".into(),
        ));
    }
    if n > MAX_REASON_CHARS {
        return Err(WebError::BadRequest(format!(
            "Lý do dài {n} ký tự; tối đa {MAX_REASON_CHARS} ký tự."
        )));
    }
    Ok(reason.to_owned())
}

/// `POST /survey-responses/{rid}/exclude`: leaves the response out of every score.
pub async fn exclude(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(rid): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    user.require(Action::ExcludeSurveyResponse)?;
    let (response, period_id) = response_in_period(&state, rid).await?;
    parindex_app::survey_scoring::check_writable(&state.store.get_period(period_id).await?)?;
    let reason = checked_reason(&form)?;
    if response.status != "submitted" {
        return Err(WebError::Conflict("Chỉ loại được phiếu đã nộp.".into()));
    }
    if response.excluded_at.is_some() {
        return Err(WebError::Conflict("Phiếu này đã bị loại.".into()));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_response_exclusion(rid, Some(&reason)).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/survey/quality?ok=saved")).into_response())
}

/// `POST /survey-responses/{rid}/include`: counts an excluded response again; the reason is
/// recorded in the audit log beside the store's own record.
pub async fn include(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(rid): Path<i64>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, WebError> {
    user.require(Action::ExcludeSurveyResponse)?;
    let (response, period_id) = response_in_period(&state, rid).await?;
    parindex_app::survey_scoring::check_writable(&state.store.get_period(period_id).await?)?;
    let reason = checked_reason(&form)?;
    if response.excluded_at.is_none() {
        return Err(WebError::Conflict("Phiếu này đang được tính.".into()));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_response_exclusion(rid, None).await?;
    tx.audit(
        "survey.response.include_reason",
        "survey_response",
        rid,
        Some(serde_json::json!({ "exclusion_reason": response.exclusion_reason })),
        Some(serde_json::json!({ "reason": reason })),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/survey/quality?ok=saved")).into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods/{id}/survey/scores", scores)
        .get("/periods/{id}/survey/report", report)
        .get("/periods/{id}/survey/report.xlsx", report_xlsx)
        .get("/periods/{id}/survey/quality", quality)
        .post("/survey-responses/{rid}/exclude", exclude)
        .post("/survey-responses/{rid}/include", include)
}
