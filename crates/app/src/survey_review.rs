//! Use cases of the survey review: the scores of every unit on every survey leaf with the
//! minimum-sample warning, the report per unit and respondent group (page and workbook), the
//! quality checks of the responses, and the secretariat's exclusions and re-inclusions, each
//! with a reason the audit log keeps.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parindex_domain::survey::{LeafSurveyScore, QualityFlag, ResponseForChecks, quality_flags};
use parindex_domain::{Action, Actor, Points};
use parindex_store::AuditActor;
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::survey::SurveyResponse;
use rust_decimal::Decimal;

use crate::App;
use crate::error::{AppError, Message};
use crate::evaluation::LoadedSet;
use crate::survey_scoring::{PeriodSurvey, authorize, check_writable, check_writable_in};

/// The most flagged responses listed on the quality page (the count is always shown).
pub const MAX_LISTED: usize = 1000;
/// The longest exclusion (or re-inclusion) reason, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// A survey leaf of a unit group's set: code, title, max.
#[derive(Debug, Clone)]
pub struct LeafColumn {
    pub code: String,
    pub title: String,
    pub max: Points,
}

/// A period with its units, their groups' survey leaves and the survey's scores.
#[derive(Debug)]
pub struct SurveyResults {
    pub period: Period,
    pub units: Vec<PeriodUnit>,
    /// Unit group → its survey leaves that apply to it, in set order.
    pub leaves: BTreeMap<String, Vec<LeafColumn>>,
    pub survey: Arc<PeriodSurvey>,
}

/// A unit's leaf below the minimum sample.
#[derive(Debug, Clone)]
pub struct BelowMinimum {
    pub unit_code: String,
    pub leaf_code: String,
    pub valid: usize,
}

impl SurveyResults {
    pub fn min_sample(&self) -> i64 {
        self.period.survey_min_sample.max(0)
    }

    pub fn score(&self, unit_id: i64, code: &str) -> Option<&LeafSurveyScore> {
        self.survey.scores.get(&(unit_id, code.to_owned()))
    }

    /// Every unit and leaf below the minimum sample, and every leaf of a unit nobody
    /// answered about (when a minimum is set).
    pub fn below_minimum(&self) -> Vec<BelowMinimum> {
        let mut out = Vec::new();
        for unit in &self.units {
            for leaf in self.leaves.get(&unit.group_code).into_iter().flatten() {
                let valid = match self.score(unit.unit_id, &leaf.code) {
                    Some(s) if s.below_minimum => s.valid,
                    Some(_) => continue,
                    None if self.min_sample() > 0 => 0,
                    None => continue,
                };
                out.push(BelowMinimum {
                    unit_code: unit.unit_code.clone(),
                    leaf_code: leaf.code.clone(),
                    valid,
                });
            }
        }
        out
    }
}

/// A submitted response as the quality page lists it.
#[derive(Debug, Clone)]
pub struct ReviewedResponse {
    pub id: i64,
    /// "Title (vN)".
    pub questionnaire: String,
    pub group: String,
    pub channel: String,
    pub submitted_at: Option<i64>,
    pub flags: Vec<QualityFlag>,
    pub excluded_at: Option<i64>,
    pub reason: String,
}

/// The quality checks of a period's responses.
#[derive(Debug)]
pub struct QualityReport {
    pub period: Period,
    pub submitted: usize,
    pub flagged_total: usize,
    /// At most [`MAX_LISTED`].
    pub flagged: Vec<ReviewedResponse>,
    pub excluded: Vec<ReviewedResponse>,
}

/// A fraction 0–1 as a percent number rounded half-up to 2 decimals (65,00), for Excel,
/// through [`Points::published`], the one display rounding place.
fn percent_number(fraction: Decimal) -> Decimal {
    Points::new(fraction * Decimal::ONE_HUNDRED).published()
}

fn checked_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if n == 0 {
        return Err(AppError::invalid_field(
            "reason",
            Message::key("survey_review.reason_required"),
        ));
    }
    if n > MAX_REASON_CHARS {
        return Err(AppError::invalid_field(
            "reason",
            Message::key("survey_review.reason_too_long")
                .arg("n", n.to_string())
                .arg("max", MAX_REASON_CHARS.to_string()),
        ));
    }
    Ok(reason.to_owned())
}

fn refused(key: &'static str) -> AppError {
    AppError::Conflict {
        message: Message::key(key),
        current_version: None,
    }
}

impl App {
    /// The survey's scores of a period, with its units and their survey leaves.
    pub async fn survey_results(
        &self,
        actor: &Actor,
        period_id: i64,
    ) -> Result<SurveyResults, AppError> {
        authorize(actor, Action::ReviewSurvey)?;
        let period = self.store.get_period(period_id).await?;
        let units = self.store.period_units(period_id).await?;
        let mut sets: HashMap<String, Arc<LoadedSet>> = HashMap::new();
        for (group, set_id) in self.store.period_sets(period_id).await? {
            sets.insert(group, self.published_set(set_id).await?);
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
        let survey = self.period_survey(period_id).await?;
        Ok(SurveyResults {
            period,
            units,
            leaves,
            survey,
        })
    }

    /// The survey report of a period as an Excel workbook.
    pub async fn survey_report_xlsx(
        &self,
        actor: &Actor,
        period_id: i64,
        province: &str,
    ) -> Result<Vec<u8>, AppError> {
        use parindex_formats::report::survey::{
            SurveyGroupLine, SurveyReport, SurveyUnitLine, write_survey_report_xlsx,
        };
        let ctx = self.survey_results(actor, period_id).await?;
        let mut report = SurveyReport {
            province: province.to_owned(),
            period: ctx.period.name.clone(),
            generated_at: parindex_domain::text::datetime_vi(self.now_ms()),
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
        write_survey_report_xlsx(&report).map_err(AppError::internal)
    }

    /// The quality checks of a period's submitted responses, and its exclusions.
    pub async fn survey_quality(
        &self,
        actor: &Actor,
        period_id: i64,
    ) -> Result<QualityReport, AppError> {
        authorize(actor, Action::ReviewSurvey)?;
        let period = self.store.get_period(period_id).await?;
        let questionnaires: HashMap<i64, (String, String)> = self
            .store
            .questionnaires(period_id)
            .await?
            .into_iter()
            .map(|q| {
                (
                    q.id,
                    (format!("{} (v{})", q.title, q.version), q.group_code),
                )
            })
            .collect();
        let responses: Vec<SurveyResponse> = self
            .store
            .period_survey_responses(period_id)
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
            ReviewedResponse {
                id: r.id,
                questionnaire,
                group,
                channel: r.channel.clone(),
                submitted_at: r.submitted_at,
                flags: flags.get(&r.id).cloned().unwrap_or_default(),
                excluded_at: r.excluded_at,
                reason: r.exclusion_reason.clone().unwrap_or_default(),
            }
        };
        let flagged = responses
            .iter()
            .filter(|r| flags.contains_key(&r.id))
            .take(MAX_LISTED)
            .map(row)
            .collect();
        let excluded = responses
            .iter()
            .filter(|r| r.excluded_at.is_some())
            .map(row)
            .collect();
        Ok(QualityReport {
            submitted: responses.len(),
            flagged_total: flags.len(),
            flagged,
            excluded,
            period,
        })
    }

    /// The response and the period it belongs to; "not found" for anything else.
    async fn response_in_period(
        &self,
        response_id: i64,
    ) -> Result<(SurveyResponse, Period), AppError> {
        let response = self.store.survey_response(response_id).await?;
        let questionnaire = self.store.questionnaire(response.questionnaire_id).await?;
        let period = self.store.get_period(questionnaire.period_id).await?;
        Ok((response, period))
    }

    /// Leaves a submitted response out of every score, with a reason. Returns its period.
    pub async fn exclude_survey_response(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        response_id: i64,
        reason: &str,
    ) -> Result<i64, AppError> {
        authorize(actor, Action::ExcludeSurveyResponse)?;
        let (response, period) = self.response_in_period(response_id).await?;
        check_writable(&period)?;
        let reason = checked_reason(reason)?;
        if response.status != "submitted" {
            return Err(refused("survey_review.exclude_not_submitted"));
        }
        if response.excluded_at.is_some() {
            return Err(refused("survey_review.already_excluded"));
        }
        let mut tx = self.store.begin_write(audit.clone()).await?;
        check_writable_in(&mut tx, period.id).await?;
        tx.set_response_exclusion(response_id, Some(&reason))
            .await?;
        tx.commit().await?;
        Ok(period.id)
    }

    /// Counts an excluded response again; the reason is recorded in the audit log beside the
    /// store's own record. Returns its period.
    pub async fn include_survey_response(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        response_id: i64,
        reason: &str,
    ) -> Result<i64, AppError> {
        authorize(actor, Action::ExcludeSurveyResponse)?;
        let (response, period) = self.response_in_period(response_id).await?;
        check_writable(&period)?;
        let reason = checked_reason(reason)?;
        if response.excluded_at.is_none() {
            return Err(refused("survey_review.not_excluded"));
        }
        let mut tx = self.store.begin_write(audit.clone()).await?;
        check_writable_in(&mut tx, period.id).await?;
        tx.set_response_exclusion(response_id, None).await?;
        tx.audit(
            "survey.response.include_reason",
            "survey_response",
            response_id,
            Some(serde_json::json!({ "exclusion_reason": response.exclusion_reason })),
            Some(serde_json::json!({ "reason": reason })),
        )
        .await?;
        tx.commit().await?;
        Ok(period.id)
    }
}
