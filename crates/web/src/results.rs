//! A period's results, one loader for every view of them (ranking, heat map, exports, open
//! data, the public page and the API), so they all show the same figures.
//!
//! Until the period is published each unit's result is computed now from its leaves
//! (provisional); once published, it is the latest published snapshot (official). Units are
//! ranked within their group on the published index, banded from the period's thresholds, and
//! compared with the latest published period of the year before, where the unit took part.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use parindex_domain::Points;
use parindex_domain::appraisal::Stage;
use parindex_domain::ranking::{
    Band, BandThresholds, Change, RankEntry, Ranked, rank_within_groups,
};
use parindex_domain::scorecard::Scorecard;
use parindex_store::periods::Period;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::WebError;
use crate::evaluation::{UnitEvaluation, stage_of};

/// What a publication keeps of a unit's result (`published_results.result_json`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ResultSnapshot {
    pub self_total_milli: i64,
    pub appraised_milli: i64,
    pub survey_milli: i64,
    pub bonus_milli: i64,
    pub penalty_milli: i64,
    pub total_milli: i64,
    pub applicable_max_milli: i64,
    pub index: String,
    /// Per domain: (code, achieved, applicable max).
    pub domains: Vec<(String, i64, i64)>,
}

impl ResultSnapshot {
    /// The exact index: total ÷ applicable max × 100; None when nothing applied.
    pub fn exact_index(&self) -> Option<Decimal> {
        exact_percent(self.total_milli, self.applicable_max_milli)
    }
}

/// part ÷ whole × 100, exact; None for a zero whole.
pub fn exact_percent(part_milli: i64, whole_milli: i64) -> Option<Decimal> {
    if whole_milli == 0 {
        return None;
    }
    Decimal::from(part_milli)
        .checked_mul(Decimal::ONE_HUNDRED)?
        .checked_div(Decimal::from(whole_milli))
}

fn millis(p: Points) -> i64 {
    p.to_millipoints().unwrap_or(0)
}

/// A unit's result as a publication would keep it, computed now from its evaluation.
pub fn snapshot(ev: &UnitEvaluation, card: &Scorecard) -> Result<ResultSnapshot, WebError> {
    let self_card = ev.self_scorecard()?;
    let domains = ev
        .set
        .set
        .domains()
        .filter_map(|d| {
            let i = ev.set.set.index_of(&d.code)?;
            let t = card.nodes.get(i)?;
            Some((d.code.clone(), millis(t.achieved), millis(t.applicable_max)))
        })
        .collect();
    let index = if card.overall.applicable_max.is_zero() {
        "—".to_owned()
    } else {
        parindex_domain::scorecard::Tally {
            achieved: card.adjusted.total,
            ..card.overall
        }
        .percent_display_vi()
    };
    Ok(ResultSnapshot {
        self_total_milli: millis(self_card.overall.achieved),
        appraised_milli: millis(card.appraised.achieved),
        survey_milli: millis(card.survey.achieved),
        bonus_milli: millis(card.adjusted.bonus),
        penalty_milli: millis(card.adjusted.penalty),
        total_milli: millis(card.adjusted.total),
        applicable_max_milli: millis(card.overall.applicable_max),
        index,
        domains,
    })
}

/// Which results a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Staff: provisional results before publication, official ones after.
    Internal,
    /// The public and the API: official (published) results only; an unpublished period
    /// answers 404.
    Public,
}

/// One unit's line.
#[derive(Debug, Clone, Serialize)]
pub struct UnitResult {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub group_code: String,
    /// From a publication (true) or computed now (false).
    pub official: bool,
    pub snap: ResultSnapshot,
    /// Exact index (total ÷ applicable max × 100).
    pub index: Option<Decimal>,
    pub rank: Option<u32>,
    /// Another unit of the group shares the rank.
    pub tied: bool,
    pub band: Option<Band>,
    /// Against last year's published result, where the unit took part.
    pub change: Change,
    pub last_year_rank: Option<u32>,
    pub last_year_index: Option<Decimal>,
}

impl UnitResult {
    pub fn index_vi(&self) -> String {
        self.index
            .map_or_else(|| "—".to_owned(), |i| Points::new(i).display_vi())
    }

    /// A domain's sub-index (achieved ÷ applicable max × 100), exact.
    pub fn domain_percent(&self, code: &str) -> Option<Decimal> {
        self.snap
            .domains
            .iter()
            .find(|(c, _, _)| c == code)
            .and_then(|(_, a, m)| exact_percent(*a, *m))
    }
}

/// A group's ranked units and its set's domains.
#[derive(Debug, Clone, Serialize)]
pub struct GroupResults {
    pub group_code: String,
    /// (code, title) of the set's domains, in order.
    pub domains: Vec<(String, String)>,
    pub set_title: String,
    pub set_illustrative: bool,
    /// Ranked: best first, unranked at the end.
    pub units: Vec<UnitResult>,
}

/// Every participating unit's result in one period.
#[derive(Debug, Clone)]
pub struct PeriodResults {
    pub period: Period,
    pub stage: Stage,
    pub thresholds: BandThresholds,
    pub groups: Vec<GroupResults>,
    /// The period compared with, if any.
    pub last_year: Option<(i64, String)>,
}

impl PeriodResults {
    /// Whether the figures are official (the period is published).
    pub fn official(&self) -> bool {
        self.stage == Stage::Published
    }

    pub fn unit(&self, unit_id: i64) -> Option<&UnitResult> {
        self.groups
            .iter()
            .flat_map(|g| g.units.iter())
            .find(|u| u.unit_id == unit_id)
    }

    pub fn group_of(&self, unit_id: i64) -> Option<&GroupResults> {
        self.groups
            .iter()
            .find(|g| g.units.iter().any(|u| u.unit_id == unit_id))
    }

    /// Loads, ranks and compares. Deterministic: the same data gives the same results, so
    /// they are cached per period and computed again only when the period's data changed
    /// (`results_fingerprint` and `survey_fingerprint`).
    pub async fn load(
        state: &AppState,
        period_id: i64,
        audience: Audience,
    ) -> Result<Arc<PeriodResults>, WebError> {
        let period = state.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        if audience == Audience::Public && stage != Stage::Published {
            return Err(WebError::NotFound);
        }
        let mut print = state.store.results_fingerprint(period_id).await?;
        print.extend(state.store.survey_fingerprint(period_id).await?);
        if let Some(hit) = state.results.get(period_id, &print) {
            return Ok(hit);
        }
        let results = Arc::new(Self::compute(state, period, stage).await?);
        state.results.put(period_id, print, results.clone());
        Ok(results)
    }

    async fn compute(
        state: &AppState,
        period: Period,
        stage: Stage,
    ) -> Result<PeriodResults, WebError> {
        let mut results = Self::rank(state, period, stage).await?;
        if let Some(last) = last_year_period(state, &results.period).await? {
            let previous = Self::rank(state, last.clone(), Stage::Published).await?;
            // A unit renamed since last year is compared with the unit it succeeds (the
            // predecessor's successor link), when it has no result of its own last year. After
            // a merger of several units that all took part there is no one figure to compare
            // with, so none is shown.
            let mut predecessors: HashMap<i64, Vec<i64>> = HashMap::new();
            for unit in state
                .store
                .list_units(&parindex_store::units::UnitFilter {
                    include_inactive: true,
                    ..Default::default()
                })
                .await?
            {
                if let Some(successor) = unit.successor_id {
                    predecessors.entry(successor).or_default().push(unit.id);
                }
            }
            for g in &mut results.groups {
                for u in &mut g.units {
                    let own = previous.unit(u.unit_id);
                    let inherited = || {
                        let mut ranked = predecessors
                            .get(&u.unit_id)?
                            .iter()
                            .filter_map(|id| previous.unit(*id));
                        let only = ranked.next()?;
                        ranked.next().is_none().then_some(only)
                    };
                    if let Some(p) = own.or_else(inherited) {
                        u.change = Change::between(u.rank, u.index, p.rank, p.index);
                        u.last_year_rank = p.rank;
                        u.last_year_index = p.index;
                    }
                }
            }
            results.last_year = Some((last.id, last.name));
        }
        Ok(results)
    }

    async fn rank(
        state: &AppState,
        period: Period,
        stage: Stage,
    ) -> Result<PeriodResults, WebError> {
        let published = stage == Stage::Published;
        let latest: BTreeMap<i64, ResultSnapshot> =
            if published {
                let mut latest: BTreeMap<i64, (i64, ResultSnapshot)> = BTreeMap::new();
                for r in state.store.published_results(period.id).await? {
                    let snap = serde_json::from_str::<ResultSnapshot>(&r.result_json)
                        .unwrap_or_else(|_| ResultSnapshot {
                            total_milli: r.total_milli,
                            applicable_max_milli: r.applicable_max_milli,
                            ..ResultSnapshot::default()
                        });
                    match latest.get(&r.unit_id) {
                        Some((n, _)) if *n >= r.publication => {}
                        _ => {
                            latest.insert(r.unit_id, (r.publication, snap));
                        }
                    }
                }
                latest.into_iter().map(|(k, (_, s))| (k, s)).collect()
            } else {
                BTreeMap::new()
            };
        // Published: the snapshots. Provisional: every unit's evaluation, read for the whole
        // period at once and scored now.
        let mut computed: BTreeMap<i64, ResultSnapshot> = BTreeMap::new();
        if !published {
            for ev in UnitEvaluation::load_period(state, period.id).await? {
                let card = ev.scorecard()?;
                computed.insert(ev.unit.unit_id, snapshot(&ev, &card)?);
            }
        }
        let mut units = state.store.period_units(period.id).await?;
        // Name order within equal ranks, so a table reads naturally.
        units.sort_by_cached_key(|u| parindex_domain::text::fold_for_search(&u.unit_name));
        let mut lines = Vec::with_capacity(units.len());
        for unit in units {
            let (official, snap) = match (latest.get(&unit.unit_id), computed.remove(&unit.unit_id))
            {
                (Some(s), _) => (true, s.clone()),
                (None, Some(s)) if !published => (false, s),
                // A published period lists only what was published.
                _ => continue,
            };
            lines.push(UnitResult {
                index: snap.exact_index(),
                unit_id: unit.unit_id,
                unit_code: unit.unit_code,
                unit_name: unit.unit_name,
                group_code: unit.group_code,
                official,
                snap,
                rank: None,
                tied: false,
                band: None,
                change: Change::between(None, None, None, None),
                last_year_rank: None,
                last_year_index: None,
            });
        }
        let thresholds = BandThresholds::from_millis(
            period.band_good_milli,
            period.band_fair_milli,
            period.band_average_milli,
        );
        let entries: Vec<RankEntry<usize>> = lines
            .iter()
            .enumerate()
            .map(|(i, l)| RankEntry {
                key: i,
                group: l.group_code.clone(),
                index: l.index,
            })
            .collect();
        let ranked: Vec<Ranked<usize>> = rank_within_groups(&entries, &thresholds);
        let mut groups: Vec<GroupResults> = Vec::new();
        for r in ranked {
            let mut line = lines[r.key].clone();
            line.rank = r.rank;
            line.tied = r.tied;
            line.band = r.band;
            if groups.last().is_none_or(|g| g.group_code != r.group) {
                let set = state.set_for_group(period.id, &r.group).await?;
                groups.push(GroupResults {
                    group_code: r.group.clone(),
                    domains: set
                        .set
                        .domains()
                        .map(|d| (d.code.clone(), d.title.clone()))
                        .collect(),
                    set_title: set.title.clone(),
                    set_illustrative: set.illustrative,
                    units: Vec::new(),
                });
            }
            if let Some(g) = groups.last_mut() {
                g.units.push(line);
            }
        }
        Ok(PeriodResults {
            period,
            stage,
            thresholds,
            groups,
            last_year: None,
        })
    }
}

/// A period's results and the fingerprint of the data they were computed from.
type Fingerprinted = (Vec<i64>, Arc<PeriodResults>);

/// Computed results per period.
#[derive(Debug, Default)]
pub struct ResultsCache(Mutex<HashMap<i64, Fingerprinted>>);

impl ResultsCache {
    fn get(&self, period_id: i64, print: &[i64]) -> Option<Arc<PeriodResults>> {
        let cache = self.0.lock().ok()?;
        let (seen, results) = cache.get(&period_id)?;
        (seen.as_slice() == print).then(|| results.clone())
    }

    fn put(&self, period_id: i64, print: Vec<i64>, results: Arc<PeriodResults>) {
        if let Ok(mut cache) = self.0.lock() {
            cache.insert(period_id, (print, results));
        }
    }
}

/// The latest published period of the year before, if any.
async fn last_year_period(state: &AppState, period: &Period) -> Result<Option<Period>, WebError> {
    Ok(state
        .store
        .list_periods()
        .await?
        .into_iter()
        .filter(|p| p.year == period.year - 1 && p.stage == "published")
        .max_by_key(|p| p.published_at.unwrap_or(0)))
}
