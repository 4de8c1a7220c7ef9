//! The view models of the survey review's pages.

use askama::Template;
use parindex_app::survey_review::{
    LeafColumn, MAX_REASON_CHARS, QualityReport, ReviewedResponse, SurveyResults,
};
use parindex_domain::{Action, Points};
use parindex_store::periods::Period;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::page::{Page, datetime_vi};
use crate::views::survey_score::{SurveyView, pct};

/// One unit's row of the scores table.
pub struct ScoreRow {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    /// Aligned with the group's leaves; `None` when nobody answered.
    pub cells: Vec<Option<SurveyView>>,
    pub total: String,
    pub max: String,
}

/// The scores of one unit group's units on its survey leaves.
pub struct GroupTable {
    pub group: String,
    pub leaves: Vec<LeafColumn>,
    pub rows: Vec<ScoreRow>,
}

#[derive(Template)]
#[template(path = "survey_review/scores.html")]
pub struct ScoresPage {
    p: Page,
    period: Period,
    min_sample: i64,
    warnings: Vec<String>,
    tables: Vec<GroupTable>,
    responses_counted: usize,
}

fn below_minimum_lines(user: &CurrentUser, results: &SurveyResults) -> Vec<String> {
    results
        .below_minimum()
        .into_iter()
        .map(|b| {
            user.ctx.lang.format(
                "survey_review.below_minimum_line",
                &[
                    ("unit", b.unit_code),
                    ("leaf", b.leaf_code),
                    ("valid", b.valid.to_string()),
                ],
            )
        })
        .collect()
}

fn score_row(
    results: &SurveyResults,
    unit: &parindex_store::periods::PeriodUnit,
    leaves: &[LeafColumn],
) -> ScoreRow {
    let mut total = Points::ZERO;
    let mut max = Points::ZERO;
    let cells = leaves
        .iter()
        .map(|leaf| {
            max += leaf.max;
            let score = results.score(unit.unit_id, &leaf.code)?;
            if let Some(p) = score.points {
                total += p;
            }
            Some(SurveyView::of(score))
        })
        .collect();
    ScoreRow {
        unit_id: unit.unit_id,
        unit_code: unit.unit_code.clone(),
        unit_name: unit.unit_name.clone(),
        cells,
        total: total.display_vi(),
        max: max.display_vi(),
    }
}

impl ScoresPage {
    pub fn new(state: &AppState, user: &CurrentUser, results: SurveyResults) -> ScoresPage {
        let tables = results
            .leaves
            .iter()
            .filter(|(_, leaves)| !leaves.is_empty())
            .map(|(group, leaves)| GroupTable {
                group: group.clone(),
                leaves: leaves.clone(),
                rows: results
                    .units
                    .iter()
                    .filter(|u| u.group_code == *group)
                    .map(|u| score_row(&results, u, leaves))
                    .collect(),
            })
            .collect();
        ScoresPage {
            p: Page::for_user(state, user, "survey_review.scores_title"),
            min_sample: results.min_sample(),
            warnings: below_minimum_lines(user, &results),
            responses_counted: results.survey.responses_counted,
            tables,
            period: results.period,
        }
    }
}

/// One respondent group's answers about a leaf, formatted.
pub struct GroupView {
    pub group: String,
    pub valid: usize,
    pub dont_know: usize,
    pub mean: String,
    pub weight: String,
}

pub struct LeafReport {
    pub code: String,
    pub title: String,
    pub max: String,
    pub view: SurveyView,
    pub groups: Vec<GroupView>,
}

pub struct UnitReport {
    pub unit_code: String,
    pub unit_name: String,
    pub leaves: Vec<LeafReport>,
}

#[derive(Template)]
#[template(path = "survey_review/report.html")]
pub struct ReportPage {
    p: Page,
    period: Period,
    min_sample: i64,
    weighted: bool,
    units: Vec<UnitReport>,
}

fn leaf_report(leaf: &LeafColumn, s: &parindex_domain::survey::LeafSurveyScore) -> LeafReport {
    LeafReport {
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
    }
}

impl ReportPage {
    pub fn new(state: &AppState, user: &CurrentUser, results: SurveyResults) -> ReportPage {
        let units = results
            .units
            .iter()
            .map(|u| UnitReport {
                unit_code: u.unit_code.clone(),
                unit_name: u.unit_name.clone(),
                leaves: results
                    .leaves
                    .get(&u.group_code)
                    .into_iter()
                    .flatten()
                    .filter_map(|leaf| {
                        Some(leaf_report(leaf, results.score(u.unit_id, &leaf.code)?))
                    })
                    .collect(),
            })
            .collect();
        ReportPage {
            p: Page::for_user(state, user, "survey_review.report_title"),
            min_sample: results.min_sample(),
            weighted: results.period.survey_weighted,
            period: results.period,
            units,
        }
    }
}

/// A response as the quality page lists it.
pub struct ResponseRow {
    pub id: i64,
    pub questionnaire: String,
    pub group: String,
    pub channel: String,
    pub submitted_at: String,
    pub flags: Vec<&'static str>,
    pub excluded: bool,
    pub reason: String,
    pub excluded_at: String,
}

impl ResponseRow {
    fn of(r: ReviewedResponse) -> ResponseRow {
        ResponseRow {
            id: r.id,
            questionnaire: r.questionnaire,
            group: r.group,
            channel: r.channel,
            submitted_at: r.submitted_at.map(datetime_vi).unwrap_or_default(),
            flags: r.flags.iter().map(|f| f.label_vi()).collect(),
            excluded: r.excluded_at.is_some(),
            reason: r.reason,
            excluded_at: r.excluded_at.map(datetime_vi).unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "survey_review/quality.html")]
pub struct QualityPage {
    p: Page,
    period: Period,
    can_exclude: bool,
    submitted: usize,
    flagged_total: usize,
    flagged: Vec<ResponseRow>,
    excluded: Vec<ResponseRow>,
    max_reason: usize,
}

impl QualityPage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        report: QualityReport,
        ok: Option<&str>,
    ) -> QualityPage {
        QualityPage {
            p: Page::for_user(state, user, "survey_review.quality_title").with_notice(ok),
            can_exclude: user.can(Action::ExcludeSurveyResponse),
            submitted: report.submitted,
            flagged_total: report.flagged_total,
            flagged: report.flagged.into_iter().map(ResponseRow::of).collect(),
            excluded: report.excluded.into_iter().map(ResponseRow::of).collect(),
            max_reason: MAX_REASON_CHARS,
            period: report.period,
        }
    }
}
