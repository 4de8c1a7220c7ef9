//! Everything about one unit in one period, loaded once per request: the period's stage, the
//! unit's published set (cached: a published set never changes), its self-assessment,
//! appraisals, explanations, external values, corrections and adjustments, and the value of
//! each leaf that counts. Handlers of the appraisal, explanation, results and history pages
//! share it so they all agree on what a unit's score is.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parindex_domain::appraisal::{LeafProgress, LeafValues, Rounds, Stage};
use parindex_domain::index_set::Node;
use parindex_domain::rules::{LeafScore, LeafSource, RuleSpec};
use parindex_domain::scorecard::Scorecard;
use parindex_domain::{IndexSet, IndexSetDoc, Points};
use parindex_store::appraisal::{Adjustment, Appraisal, Assignment, Correction, ExternalValue};
use parindex_store::periods::{LeafEntry, Period, PeriodUnit};

use crate::App;
use crate::error::AppError;

/// A published index set, validated once and shared.
#[derive(Debug)]
pub struct LoadedSet {
    pub id: i64,
    pub set: IndexSet,
    pub title: String,
    pub illustrative: bool,
}

/// Published sets by id. A published set is immutable in the database (docs/adr/0003), so a
/// cached copy can never be stale.
#[derive(Debug, Default)]
pub struct SetCache(std::sync::RwLock<HashMap<i64, Arc<LoadedSet>>>);

impl App {
    /// The published set `id`, parsed and validated once per process.
    pub async fn published_set(&self, id: i64) -> Result<Arc<LoadedSet>, AppError> {
        if let Some(hit) = self.sets.0.read().ok().and_then(|m| m.get(&id).cloned()) {
            return Ok(hit);
        }
        let stored = self.store.get_index_set(id).await?;
        let doc: IndexSetDoc = serde_json::from_str(&stored.definition)
            .map_err(|e| AppError::internal(e.to_string()))?;
        let set = IndexSet::from_doc(&doc, None)
            .map_err(|r| AppError::internal(format!("published set {id} invalid: {r}")))?;
        let loaded = Arc::new(LoadedSet {
            id,
            title: doc.title.clone(),
            illustrative: doc.illustrative,
            set,
        });
        if stored.status == parindex_store::index_sets::SetStatus::Published
            && let Ok(mut cache) = self.sets.0.write()
        {
            cache.insert(id, loaded.clone());
        }
        Ok(loaded)
    }

    /// The set a unit group is scored against in a period.
    pub async fn set_for_group(
        &self,
        period_id: i64,
        group: &str,
    ) -> Result<Arc<LoadedSet>, AppError> {
        let set_id = self
            .store
            .period_sets(period_id)
            .await?
            .into_iter()
            .find(|(g, _)| g == group)
            .map(|(_, id)| id)
            .ok_or(AppError::NotFound)?;
        self.published_set(set_id).await
    }
}

/// The period's stage and number of rounds, read from the stored period.
pub fn stage_of(period: &Period) -> Result<(Stage, Rounds), AppError> {
    // The store decodes both (an unknown stored stage is a read error there).
    Ok((period.stage, period.appraisal_rounds))
}

/// Whether a leaf is assessed by the unit (not survey, not external).
pub fn is_self_assessed(node: &Node) -> bool {
    node.rule
        .as_ref()
        .is_some_and(|r| matches!(r.source(), LeafSource::SelfAssessed))
}

/// Whether a leaf's value comes from an external provider; its provider's name.
pub fn external_provider(node: &Node) -> Option<&str> {
    match node.rule.as_ref() {
        Some(RuleSpec::External { provider }) => Some(provider),
        _ => None,
    }
}

/// A stored score as a rule result (None points: not applicable).
pub fn score_of(score_milli: Option<i64>, not_applicable: bool, explanation: &str) -> LeafScore {
    LeafScore {
        points: if not_applicable {
            None
        } else {
            score_milli.map(Points::from_millipoints)
        },
        explanation: explanation.to_owned(),
    }
}

/// Whether `assignments` give `appraiser_id` (any appraiser with `None`) leaf `code` of
/// `unit_id`: an assignment names the leaf or one of its ancestors.
pub fn is_assigned(
    set: &IndexSet,
    assignments: &[Assignment],
    unit_id: i64,
    code: &str,
    appraiser_id: Option<i64>,
) -> bool {
    assignments.iter().any(|a| {
        a.unit_id == unit_id
            && appraiser_id.is_none_or(|id| a.appraiser_id == id)
            && (a.node_code == code || is_ancestor(set, &a.node_code, code))
    })
}

fn is_ancestor(set: &IndexSet, ancestor: &str, code: &str) -> bool {
    let mut current = set.parent_of(code);
    while let Some(node) = current {
        if node.code == ancestor {
            return true;
        }
        current = set.parent_of(&node.code);
    }
    false
}

/// One unit in one period, with every value of every leaf.
pub struct UnitEvaluation {
    pub period: Period,
    pub stage: Stage,
    pub rounds: Rounds,
    pub unit: PeriodUnit,
    pub set: Arc<LoadedSet>,
    pub entries: HashMap<String, LeafEntry>,
    /// All rounds, ordered by leaf and round.
    pub appraisals: Vec<Appraisal>,
    pub external: HashMap<String, ExternalValue>,
    pub corrections: HashMap<String, Correction>,
    /// Active and withdrawn items (withdrawn ones have `removed_at`).
    pub adjustments: Vec<Adjustment>,
    /// Leaf code → every value it took.
    pub values: BTreeMap<String, LeafValues>,
}

/// Everything a unit's evaluation is built from, as read from the store.
struct UnitParts {
    entries: Vec<LeafEntry>,
    appraisals: Vec<Appraisal>,
    external: Vec<ExternalValue>,
    corrections: Vec<Correction>,
    adjustments: Vec<Adjustment>,
}

impl UnitEvaluation {
    pub async fn load(
        state: &App,
        period_id: i64,
        unit_id: i64,
    ) -> Result<UnitEvaluation, AppError> {
        let period = state.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        let unit = state.store.period_unit(period_id, unit_id).await?;
        let set = state.set_for_group(period_id, &unit.group_code).await?;
        let parts = UnitParts {
            entries: state.store.leaf_entries(period_id, unit_id).await?,
            appraisals: state.store.appraisals(period_id, unit_id).await?,
            external: state
                .store
                .external_values(period_id, Some(unit_id))
                .await?,
            corrections: state.store.corrections(period_id, unit_id).await?,
            adjustments: state.store.adjustments(period_id, unit_id).await?,
        };
        let survey = state.period_survey(period_id).await?;
        Ok(Self::build(
            period, stage, rounds, unit, set, parts, &survey,
        ))
    }

    /// Every participating unit's evaluation in one period, read with one query per kind of
    /// value for the whole period (not per unit), for computing all results at once.
    pub async fn load_period(state: &App, period_id: i64) -> Result<Vec<UnitEvaluation>, AppError> {
        let period = state.store.get_period(period_id).await?;
        let (stage, rounds) = stage_of(&period)?;
        let units = state.store.period_units(period_id).await?;
        let mut sets: HashMap<String, Arc<LoadedSet>> = HashMap::new();
        for (group, set_id) in state.store.period_sets(period_id).await? {
            sets.insert(group, state.published_set(set_id).await?);
        }
        let mut parts: HashMap<i64, UnitParts> = units
            .iter()
            .map(|u| {
                (
                    u.unit_id,
                    UnitParts {
                        entries: Vec::new(),
                        appraisals: Vec::new(),
                        external: Vec::new(),
                        corrections: Vec::new(),
                        adjustments: Vec::new(),
                    },
                )
            })
            .collect();
        for (unit_id, e) in state.store.period_leaf_entries(period_id).await? {
            if let Some(p) = parts.get_mut(&unit_id) {
                p.entries.push(e);
            }
        }
        for a in state.store.period_appraisals(period_id).await? {
            if let Some(p) = parts.get_mut(&a.unit_id) {
                p.appraisals.push(a);
            }
        }
        for e in state.store.external_values(period_id, None).await? {
            if let Some(p) = parts.get_mut(&e.unit_id) {
                p.external.push(e);
            }
        }
        for (unit_id, c) in state.store.period_corrections(period_id).await? {
            if let Some(p) = parts.get_mut(&unit_id) {
                p.corrections.push(c);
            }
        }
        for a in state.store.period_adjustments(period_id).await? {
            if let Some(p) = parts.get_mut(&a.unit_id) {
                p.adjustments.push(a);
            }
        }
        let survey = state.period_survey(period_id).await?;
        let mut out = Vec::with_capacity(units.len());
        for unit in units {
            let set = sets
                .get(&unit.group_code)
                .cloned()
                .ok_or(AppError::NotFound)?;
            let unit_parts = parts.remove(&unit.unit_id).ok_or(AppError::NotFound)?;
            out.push(Self::build(
                period.clone(),
                stage,
                rounds,
                unit,
                set,
                unit_parts,
                &survey,
            ));
        }
        Ok(out)
    }

    fn build(
        period: Period,
        stage: Stage,
        rounds: Rounds,
        unit: PeriodUnit,
        set: Arc<LoadedSet>,
        parts: UnitParts,
        survey: &crate::survey_scoring::PeriodSurvey,
    ) -> UnitEvaluation {
        let unit_id = unit.unit_id;
        let entries: HashMap<String, LeafEntry> = parts
            .entries
            .into_iter()
            .map(|e| (e.leaf_code.clone(), e))
            .collect();
        let appraisals = parts.appraisals;
        let external: HashMap<String, ExternalValue> = parts
            .external
            .into_iter()
            .map(|e| (e.leaf_code.clone(), e))
            .collect();
        let corrections: HashMap<String, Correction> = parts
            .corrections
            .into_iter()
            .map(|c| (c.leaf_code.clone(), c))
            .collect();
        let adjustments = parts.adjustments;
        let mut values: BTreeMap<String, LeafValues> = BTreeMap::new();
        for (code, e) in &entries {
            values.entry(code.clone()).or_default().self_score =
                Some(score_of(e.score_milli, e.not_applicable, &e.explanation));
        }
        for a in &appraisals {
            if let Ok(round) = u8::try_from(a.round) {
                values
                    .entry(a.leaf_code.clone())
                    .or_default()
                    .rounds
                    .insert(
                        round,
                        score_of(a.score_milli, a.not_applicable, &a.explanation),
                    );
            }
        }
        for (code, e) in &external {
            values.entry(code.clone()).or_default().external = Some(score_of(
                Some(e.score_milli),
                false,
                &format!("{} ({})", e.provider, e.source),
            ));
        }
        for (code, score) in survey.of_unit(unit_id) {
            if let Some(points) = score.points {
                values.entry(code).or_default().survey = Some(LeafScore {
                    points: Some(points),
                    explanation: format!(
                        "Điều tra XHH: {} phiếu hợp lệ, trung bình {}",
                        score.valid,
                        score
                            .mean
                            .map(|m| parindex_domain::points::percent_display_vi(
                                m * rust_decimal::Decimal::ONE_HUNDRED
                            ))
                            .unwrap_or_default()
                    ),
                });
            }
        }
        for (code, c) in &corrections {
            values.entry(code.clone()).or_default().correction =
                Some(score_of(c.score_milli, c.not_applicable, &c.reason));
        }
        UnitEvaluation {
            period,
            stage,
            rounds,
            unit,
            set,
            entries,
            appraisals,
            external,
            corrections,
            adjustments,
            values,
        }
    }

    /// The leaves of the set that apply to the unit's group, in tree order.
    pub fn applicable_leaves(&self) -> impl Iterator<Item = &Node> + '_ {
        let set = &self.set.set;
        set.leaves().filter(move |leaf| {
            set.index_of(&leaf.code)
                .is_some_and(|i| set.applies_to_group(i, &self.unit.group_code))
        })
    }

    /// The leaf's appraisal in `round`.
    pub fn appraisal_in(&self, code: &str, round: u8) -> Option<&Appraisal> {
        self.appraisals
            .iter()
            .find(|a| a.leaf_code == code && a.round == i64::from(round))
    }

    /// The leaf's latest appraisal, any round.
    pub fn latest_appraisal(&self, code: &str) -> Option<&Appraisal> {
        self.appraisals
            .iter()
            .filter(|a| a.leaf_code == code)
            .max_by_key(|a| a.round)
    }

    /// Whether the leaf was flagged "needs explanation" in `round`.
    pub fn flagged_in(&self, code: &str, round: u8) -> bool {
        self.appraisal_in(code, round)
            .is_some_and(|a| a.needs_explanation)
    }

    /// The unit's own score of a leaf.
    pub fn self_score(&self, code: &str) -> Option<LeafScore> {
        self.values.get(code).and_then(|v| v.self_score.clone())
    }

    /// Active bonus and penalty items summed by item code.
    pub fn adjustment_totals(&self) -> BTreeMap<String, Points> {
        let mut totals: BTreeMap<String, Points> = BTreeMap::new();
        for a in self.adjustments.iter().filter(|a| a.removed_at.is_none()) {
            let entry = totals.entry(a.item_code.clone()).or_insert(Points::ZERO);
            *entry = entry
                .checked_add(Points::from_millipoints(a.points_milli))
                .unwrap_or(*entry);
        }
        totals
    }

    /// The scorecard from the values that count now (provisional until published).
    ///
    /// An item's summed points above the item's max are capped at the max here: the
    /// server refuses such an item when it is given, so this only guards old data.
    pub fn scorecard(&self) -> Result<Scorecard, AppError> {
        let scores: BTreeMap<String, LeafScore> = self
            .applicable_leaves()
            .filter_map(|leaf| {
                self.values
                    .get(&leaf.code)
                    .and_then(|v| v.effective())
                    .map(|s| (leaf.code.clone(), s.clone()))
            })
            .collect();
        let adjustments: BTreeMap<String, Points> = self
            .adjustment_totals()
            .into_iter()
            .filter_map(|(code, points)| {
                self.set
                    .set
                    .adjustment(&code)
                    .map(|item| (code, points.min(item.max)))
            })
            .collect();
        // The period's caps: the numbers each item was checked against when it was given.
        let caps = parindex_domain::scorecard::Caps {
            bonus: Points::from_millipoints(self.period.bonus_cap_milli),
            penalty: Points::from_millipoints(self.period.penalty_cap_milli),
        };
        Scorecard::compute_capped(
            &self.set.set,
            &self.unit.group_code,
            &scores,
            &adjustments,
            caps,
        )
        .map_err(|e| AppError::internal(format!("scorecard: {e}")))
    }

    /// The unit's own scorecard (self-assessment only).
    pub fn self_scorecard(&self) -> Result<Scorecard, AppError> {
        let scores: BTreeMap<String, LeafScore> = self
            .applicable_leaves()
            .filter_map(|leaf| self.self_score(&leaf.code).map(|s| (leaf.code.clone(), s)))
            .collect();
        Scorecard::compute(
            &self.set.set,
            &self.unit.group_code,
            &scores,
            &BTreeMap::new(),
        )
        .map_err(|e| AppError::internal(format!("scorecard: {e}")))
    }

    /// The appraisal progress of every self-assessed leaf (the ones appraisers check).
    pub fn progress(&self, assignments: &[Assignment]) -> Vec<LeafProgress> {
        self.applicable_leaves()
            .filter(|leaf| is_self_assessed(leaf))
            .map(|leaf| LeafProgress {
                unit_id: self.unit.unit_id,
                leaf_code: leaf.code.clone(),
                assigned: is_assigned(
                    &self.set.set,
                    assignments,
                    self.unit.unit_id,
                    &leaf.code,
                    None,
                ),
                rounds: self
                    .appraisals
                    .iter()
                    .filter(|a| a.leaf_code == leaf.code)
                    .filter_map(|a| u8::try_from(a.round).ok().map(|r| (r, a.needs_explanation)))
                    .collect(),
            })
            .collect()
    }
}

impl std::ops::Deref for LoadedSet {
    type Target = IndexSet;

    fn deref(&self) -> &IndexSet {
        &self.set
    }
}
