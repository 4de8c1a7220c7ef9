//! The survey part of every unit's score: for each evaluated unit and survey leaf, max × the
//! (weighted) mean of the normalised valid answers, over submitted responses that are not
//! excluded (paper forms keyed twice count once, by their first entry); each response is one
//! observation per leaf (the mean of its answers there), so n counts respondents.
//!
//! Scoring a period reads all its responses, so the result is cached per period and reused
//! while a cheap fingerprint of the survey's data (responses, exclusions, groups,
//! questionnaires, settings) is unchanged: any write anywhere, by any instance, changes it.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use parindex_domain::Points;
use parindex_domain::survey::{
    LeafAnswer, LeafSurveyScore, QuestionnaireDoc, ResponseAnswers, response_observations,
    score_leaf,
};
use rust_decimal::Decimal;

use crate::App;
use crate::error::AppError;

/// The survey scores of a period: (unit id, leaf code) → result.
#[derive(Debug, Default)]
pub struct PeriodSurvey {
    pub scores: BTreeMap<(i64, String), LeafSurveyScore>,
    /// Responses counted (submitted, not excluded, first paper entry).
    pub responses_counted: usize,
}

impl PeriodSurvey {
    /// The survey leaves' scores of one unit.
    pub fn of_unit(&self, unit_id: i64) -> BTreeMap<String, &LeafSurveyScore> {
        self.scores
            .range((unit_id, String::new())..)
            .take_while(|((u, _), _)| *u == unit_id)
            .map(|((_, code), s)| (code.clone(), s))
            .collect()
    }
}

/// A period's survey results and the fingerprint of the data they were computed from.
type Fingerprinted = (Vec<i64>, Arc<PeriodSurvey>);

/// Cached results per period, with the fingerprint they were computed from.
#[derive(Debug, Default)]
pub struct SurveyCache(Mutex<HashMap<i64, Fingerprinted>>);

impl App {
    /// The period's survey scores, computed or taken from the cache.
    pub async fn period_survey(&self, period_id: i64) -> Result<Arc<PeriodSurvey>, AppError> {
        let print = self.store.survey_fingerprint(period_id).await?;
        if let Ok(cache) = self.survey.0.lock()
            && let Some((seen, result)) = cache.get(&period_id)
            && *seen == print
        {
            return Ok(result.clone());
        }
        let result = Arc::new(compute(self, period_id).await?);
        if let Ok(mut cache) = self.survey.0.lock() {
            cache.insert(period_id, (print, result.clone()));
        }
        Ok(result)
    }
}

/// Scores the survey of a period from scratch.
pub async fn compute(state: &App, period_id: i64) -> Result<PeriodSurvey, AppError> {
    let period = state.store.get_period(period_id).await?;
    let groups = state.store.survey_groups(period_id).await?;
    let weights: Option<BTreeMap<String, Decimal>> = period.survey_weighted.then(|| {
        groups
            .iter()
            .map(|g| (g.code.clone(), Decimal::new(g.weight_milli, 3)))
            .collect()
    });
    let min_sample = usize::try_from(period.survey_min_sample.max(0)).unwrap_or(0);
    let docs: HashMap<i64, QuestionnaireDoc> = state
        .store
        .questionnaires(period_id)
        .await?
        .into_iter()
        .filter_map(|q| {
            serde_json::from_str::<QuestionnaireDoc>(&q.definition)
                .ok()
                .map(|d| (q.id, d))
        })
        .collect();
    if docs.is_empty() {
        return Ok(PeriodSurvey::default());
    }
    // The max of each survey leaf, per unit (through the unit's group's set).
    let mut max_of: HashMap<(i64, String), Points> = HashMap::new();
    let mut sets = HashMap::new();
    for unit in state.store.period_units(period_id).await? {
        let set = match sets.get(&unit.group_code) {
            Some(s) => Arc::clone(s),
            None => {
                let s = state.set_for_group(period_id, &unit.group_code).await?;
                sets.insert(unit.group_code.clone(), Arc::clone(&s));
                s
            }
        };
        for leaf in set.leaves().filter(|l| l.is_survey()) {
            if set
                .index_of(&leaf.code)
                .is_some_and(|i| set.applies_to_group(i, &unit.group_code))
            {
                max_of.insert((unit.unit_id, leaf.code.clone()), leaf.max);
            }
        }
    }
    let mut answers: BTreeMap<(i64, String), Vec<LeafAnswer>> = BTreeMap::new();
    let mut counted = 0;
    for r in state.store.period_survey_responses(period_id).await? {
        if !r.counts() {
            continue;
        }
        let (Some(doc), Some(decoded)) = (
            docs.get(&r.questionnaire_id),
            ResponseAnswers::decode(&r.answers),
        ) else {
            continue;
        };
        counted += 1;
        // One observation per response and leaf, however many questions the leaf has.
        for (key, percent) in response_observations(doc, &decoded) {
            if !max_of.contains_key(&key) {
                continue;
            }
            answers.entry(key).or_default().push(LeafAnswer {
                group: r.group_code.clone(),
                percent,
            });
        }
    }
    let scores = answers
        .into_iter()
        .map(|(key, list)| {
            let max = max_of[&key];
            let score = score_leaf(max, &list, weights.as_ref(), min_sample);
            (key, score)
        })
        .collect();
    Ok(PeriodSurvey {
        scores,
        responses_counted: counted,
    })
}

/// Refuses a write to the survey's data (a response, an exclusion, an import) once the period
/// has reached council review: the reason, in Vietnamese, as a 403.
pub fn check_writable(period: &parindex_store::periods::Period) -> Result<(), AppError> {
    let (stage, _) = crate::evaluation::stage_of(period)?;
    parindex_domain::survey::check_survey_write(stage)
        .map_err(|frozen| AppError::forbidden(frozen.to_string()))
}

/// [`check_writable`] on the period as this transaction reads it, so the stage cannot move
/// between the check and the write.
pub async fn check_writable_in(
    tx: &mut parindex_store::WriteTx,
    period_id: i64,
) -> Result<(), AppError> {
    let (stored, round) = tx.survey_period_stage(period_id).await?;
    let stage = parindex_domain::appraisal::Stage::from_stored(&stored, round)
        .ok_or_else(|| AppError::internal(format!("period {period_id}: stage {stored}")))?;
    parindex_domain::survey::check_survey_write(stage)
        .map_err(|frozen| AppError::forbidden(frozen.to_string()))
}

/// Asks the policy for a survey action: a refusal is "forbidden" (or "not found" for an
/// object outside the actor's scope).
pub fn authorize(
    actor: &parindex_domain::Actor,
    action: parindex_domain::Action,
) -> Result<(), AppError> {
    match actor.may(action) {
        parindex_domain::Access::Allowed => Ok(()),
        parindex_domain::Access::Forbidden => Err(AppError::Forbidden(None)),
        parindex_domain::Access::NotFound => Err(AppError::NotFound),
    }
}

/// Reading the survey's setup needs either survey permission.
pub fn authorize_view(actor: &parindex_domain::Actor) -> Result<(), AppError> {
    if actor.may(parindex_domain::Action::ManageSurvey) == parindex_domain::Access::Allowed {
        return Ok(());
    }
    authorize(actor, parindex_domain::Action::ReviewSurvey)
}
