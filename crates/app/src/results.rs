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
use parindex_domain::rules::LeafScore;
use parindex_domain::scorecard::Scorecard;
use parindex_store::periods::Period;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::App;
use crate::error::AppError;
use crate::evaluation::{UnitEvaluation, stage_of};

/// What a publication keeps of a unit's result (`published_results.result_json`).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct ResultSnapshot {
    /// The unit as it was named when the result was taken (code, name, group): a published
    /// result shows these, so renaming a unit later does not change what was published.
    /// Empty in a snapshot taken before the names were kept (the current names are shown).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit_code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit_name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group_code: String,
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
    /// Appraisal rounds of the period, the columns of `NodeSnapshot::rounds`.
    #[serde(default)]
    pub rounds: u8,
    /// The nodes of the unit's scorecard, in tree order (those that apply to the unit).
    /// A publication keeps every node, leaves with their self and round marks, so the
    /// scorecard of a published period shows what was published even when a value changes
    /// later. The provisional ranking keeps only the criteria (no leaves): the leaf detail of
    /// a provisional scorecard is computed when it is shown. Empty in a snapshot published
    /// before the nodes were kept.
    #[serde(default)]
    pub nodes: Vec<NodeSnapshot>,
}

/// A leaf's mark as kept in a snapshot: points, or not applicable (không áp dụng).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Points(i64),
    NotApplicable,
}

/// How a leaf that does not apply to the unit reads on a scorecard.
pub const NOT_APPLICABLE_VI: &str = "Không áp dụng";

impl Mark {
    fn of(score: &LeafScore) -> Mark {
        score
            .points
            .map_or(Mark::NotApplicable, |p| Mark::Points(millis(p)))
    }

    /// "3,50", or "Không áp dụng" (spelled out: an abbreviation is not explained anywhere
    /// a reader of the scorecard looks).
    pub fn display_vi(self) -> String {
        match self {
            Mark::Points(m) => Points::from_millipoints(m).display_vi(),
            Mark::NotApplicable => NOT_APPLICABLE_VI.to_owned(),
        }
    }
}

/// One node of a unit's scorecard as a snapshot keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
pub struct NodeSnapshot {
    pub code: String,
    #[serde(default)]
    pub leaf: bool,
    pub achieved_milli: i64,
    pub applicable_max_milli: i64,
    /// Leaves: the unit's own mark, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_mark: Option<Mark>,
    /// Leaves: the mark of each appraisal round (round 1 first), None where the round gave
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rounds: Vec<Option<Mark>>,
}

impl NodeSnapshot {
    pub fn lost_milli(&self) -> i64 {
        self.applicable_max_milli - self.achieved_milli
    }

    /// The sub-index: achieved ÷ applicable max × 100, exact.
    pub fn percent(&self) -> Option<Decimal> {
        exact_percent(self.achieved_milli, self.applicable_max_milli)
    }

    /// A leaf the unit applies but that was declared not applicable: it leaves the applicable
    /// maximum (0 here) and reads "Không áp dụng" beside its own maximum.
    pub fn not_applicable(&self) -> bool {
        self.leaf && self.applicable_max_milli == 0
    }

    /// A criterion not met: a leaf scored below its applicable maximum.
    pub fn not_met(&self) -> bool {
        self.leaf && self.lost_milli() > 0
    }
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

/// A unit's result as a publication keeps it, computed now from its evaluation: the totals
/// and every node of its scorecard.
pub fn snapshot(ev: &UnitEvaluation, card: &Scorecard) -> Result<ResultSnapshot, AppError> {
    let mut snap = totals(ev, card)?;
    snap.nodes = node_figures(ev, card, true);
    Ok(snap)
}

/// The level of criteria (tiêu chí); domains are level 1, sub-criteria level 3.
pub const CRITERION_LEVEL: usize = 2;

/// The nodes the open data list as criteria: the domains and criteria, whether they have
/// sub-criteria or are scored directly, and any deeper node with children.
pub fn is_open_data_criterion(node: &parindex_domain::index_set::Node) -> bool {
    !node.is_leaf() || node.level <= CRITERION_LEVEL
}

/// The nodes of a unit's scorecard that apply to it, in tree order; with `leaves`, the leaves
/// too, with every mark they took.
pub fn node_figures(ev: &UnitEvaluation, card: &Scorecard, leaves: bool) -> Vec<NodeSnapshot> {
    let applicable: std::collections::BTreeSet<&str> =
        ev.applicable_leaves().map(|l| l.code.as_str()).collect();
    let rounds = ev.rounds.get();
    let mut out = Vec::new();
    for (i, node) in ev.set.set.nodes().iter().enumerate() {
        let tally = card.nodes.get(i).copied().unwrap_or_default();
        let leaf = node.is_leaf();
        // Without the leaves, a criterion scored directly (a leaf at criterion level) is kept:
        // it is a criterion of the open data like any parent.
        if (leaf && !leaves && node.level > CRITERION_LEVEL)
            || (tally.applicable_max.is_zero() && !applicable.contains(node.code.as_str()))
        {
            continue;
        }
        let values = ev.values.get(&node.code).filter(|_| leaf);
        out.push(NodeSnapshot {
            code: node.code.clone(),
            leaf,
            achieved_milli: millis(tally.achieved),
            applicable_max_milli: millis(tally.applicable_max),
            self_mark: values.and_then(|v| v.self_score.as_ref()).map(Mark::of),
            rounds: if leaf {
                (1..=rounds)
                    .map(|r| values.and_then(|v| v.rounds.get(&r)).map(Mark::of))
                    .collect()
            } else {
                Vec::new()
            },
        });
    }
    out
}

/// The totals, domains and criteria of a unit's result (no leaves): what the ranking needs.
fn totals(ev: &UnitEvaluation, card: &Scorecard) -> Result<ResultSnapshot, AppError> {
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
        unit_code: ev.unit.unit_code.clone(),
        unit_name: ev.unit.unit_name.clone(),
        group_code: ev.unit.group_code.clone(),
        self_total_milli: millis(self_card.overall.achieved),
        appraised_milli: millis(card.appraised.achieved),
        survey_milli: millis(card.survey.achieved),
        bonus_milli: millis(card.adjusted.bonus),
        penalty_milli: millis(card.adjusted.penalty),
        total_milli: millis(card.adjusted.total),
        applicable_max_milli: millis(card.overall.applicable_max),
        index,
        domains,
        rounds: ev.rounds.get(),
        nodes: node_figures(ev, card, false),
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
    /// Codes of the set's nodes the open data list as criteria ([`is_open_data_criterion`]).
    pub criteria: std::collections::BTreeSet<String>,
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
        state: &App,
        period_id: i64,
        audience: Audience,
    ) -> Result<Arc<PeriodResults>, AppError> {
        let period = state.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        if audience == Audience::Public && stage != Stage::Published {
            return Err(AppError::NotFound);
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

    /// Computes the results from the store, bypassing the cache (and leaving it as it is):
    /// what `load` computes on a miss. For checking that recomputation is deterministic.
    pub async fn compute_uncached(state: &App, period_id: i64) -> Result<PeriodResults, AppError> {
        let period = state.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        Self::compute(state, period, stage).await
    }

    async fn compute(state: &App, period: Period, stage: Stage) -> Result<PeriodResults, AppError> {
        let mut results = Self::rank(state, period, stage).await?;
        if let Some(last) = last_year_period(state, &results.period).await? {
            let previous = Self::rank(state, last.clone(), Stage::Published).await?;
            let predecessors = predecessors(state).await?;
            for g in &mut results.groups {
                for u in &mut g.units {
                    if let Some(p) = counterpart(&previous, u.unit_id, &predecessors) {
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

    async fn rank(state: &App, period: Period, stage: Stage) -> Result<PeriodResults, AppError> {
        let published = stage == Stage::Published;
        let latest: BTreeMap<i64, ResultSnapshot> = if published {
            let mut latest: BTreeMap<i64, (i64, ResultSnapshot)> = BTreeMap::new();
            for r in state.store.published_results(period.id).await? {
                // A snapshot that does not read is an error, never a zero: showing
                // zeros would publish a wrong result.
                let snap = serde_json::from_str::<ResultSnapshot>(&r.result_json).map_err(|e| {
                    AppError::internal(format!(
                        "published result of unit {} in period {} (publication {}) \
                                 does not read: {e}",
                        r.unit_id, period.id, r.publication
                    ))
                })?;
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
                computed.insert(ev.unit.unit_id, totals(&ev, &card)?);
            }
        }
        let units = state.store.period_units(period.id).await?;
        let mut lines = Vec::with_capacity(units.len());
        for unit in units {
            let (official, snap) = match (latest.get(&unit.unit_id), computed.remove(&unit.unit_id))
            {
                (Some(s), _) => (true, s.clone()),
                (None, Some(s)) if !published => (false, s),
                // A published period lists only what was published.
                _ => continue,
            };
            // A published result keeps the names it was published under.
            let kept = |taken: &str, now: String| {
                if official && !taken.is_empty() {
                    taken.to_owned()
                } else {
                    now
                }
            };
            lines.push(UnitResult {
                index: snap.exact_index(),
                unit_id: unit.unit_id,
                unit_code: kept(&snap.unit_code, unit.unit_code),
                unit_name: kept(&snap.unit_name, unit.unit_name),
                group_code: kept(&snap.group_code, unit.group_code),
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
        // Name order within equal ranks (the names shown), so a table reads naturally.
        lines.sort_by_cached_key(|l| parindex_domain::text::fold_for_search(&l.unit_name));
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
                    criteria: set
                        .set
                        .nodes()
                        .iter()
                        .filter(|n| is_open_data_criterion(n))
                        .map(|n| n.code.clone())
                        .collect(),
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

    /// Forgets every computed result (the next load computes again).
    pub fn clear(&self) {
        if let Ok(mut cache) = self.0.lock() {
            cache.clear();
        }
    }
}

/// Unit id → the units it succeeds (their successor link points at it), inactive ones
/// included.
pub async fn predecessors(state: &App) -> Result<HashMap<i64, Vec<i64>>, AppError> {
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
    Ok(predecessors)
}

/// How many renames back a unit is followed (a guard against a cycle of successor links).
const MAX_RENAMES: usize = 8;

/// The result in another period that a unit is compared with: its own where it took part;
/// else that of the one unit it succeeds (a rename; followed back through earlier renames).
/// After a merger of several units that took part there is no one figure to compare with, so
/// none.
pub fn counterpart<'a>(
    other: &'a PeriodResults,
    unit_id: i64,
    predecessors: &HashMap<i64, Vec<i64>>,
) -> Option<&'a UnitResult> {
    fn walk<'a>(
        other: &'a PeriodResults,
        unit_id: i64,
        predecessors: &HashMap<i64, Vec<i64>>,
        depth: usize,
    ) -> Option<&'a UnitResult> {
        if let Some(own) = other.unit(unit_id) {
            return Some(own);
        }
        if depth == 0 {
            return None;
        }
        let mut found = predecessors
            .get(&unit_id)?
            .iter()
            .filter_map(|p| walk(other, *p, predecessors, depth - 1));
        let only = found.next()?;
        found.next().is_none().then_some(only)
    }
    walk(other, unit_id, predecessors, MAX_RENAMES)
}

/// The latest published period of the year before, if any.
async fn last_year_period(state: &App, period: &Period) -> Result<Option<Period>, AppError> {
    Ok(state
        .store
        .list_periods()
        .await?
        .into_iter()
        .filter(|p| p.year == period.year - 1 && p.stage == Stage::Published)
        .max_by_key(|p| p.published_at.unwrap_or(0)))
}
