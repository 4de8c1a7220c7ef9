//! Use cases of evaluation periods: the list, creating one (windows, sets per group,
//! participating units, caps, bands), the progress board with each unit's workflow situation,
//! and per-unit extensions and reopenings, each with its reason.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use parindex_domain::appraisal::{Rounds, SetCap, Stage, check_explanation_deadline_write};
use parindex_domain::text::{day_start_ms, parse_date_vi};
use parindex_domain::workflow::check_extension;
use parindex_domain::{Action, Points};
use parindex_store::appraisal::PublishedResult;
use parindex_store::index_sets::{SetStatus, StoredIndexSet};
use parindex_store::periods::{Period, PeriodSettings, PeriodUnit};
use parindex_store::units::{Unit, UnitFilter};

use crate::acting::Acting;
use crate::error::Message;
use crate::evaluation::{UnitEvaluation, stage_of};
pub use crate::workflow::day_end_ms;
use crate::workflow::{clean, reason_of};
use crate::{App, AppError};

/// What the list of periods shows, with what the creation form offers.
pub struct PeriodList {
    pub periods: Vec<Period>,
    pub units: Vec<Unit>,
    pub published_sets: Vec<StoredIndexSet>,
    pub groups: Vec<String>,
}

/// A new period as typed. `sets` holds `set_<GROUP>` → set id and `unit_<ID>` → on.
#[derive(Debug, Clone, Default)]
pub struct PeriodInput {
    pub year: String,
    pub name: String,
    pub self_open: String,
    pub self_close: String,
    pub explanation_due: String,
    pub appraisal_open: String,
    pub appraisal_close: String,
    pub bonus_cap: String,
    pub penalty_cap: String,
    pub band_good: String,
    pub band_fair: String,
    pub band_average: String,
    pub appraisal_rounds: String,
    pub sets: BTreeMap<String, String>,
}

/// A period created, with the codes of ticked units left out (their group has no set).
#[derive(Debug, Clone)]
pub struct Created {
    pub period_id: i64,
    pub skipped: Vec<String>,
}

/// Where the period stands in the workflow, for its page.
#[derive(Debug, Clone)]
pub struct StageSummary {
    pub stage: Option<Stage>,
    pub rounds: i64,
    /// The explanation round whose deadline may be set now, and that deadline as set.
    pub deadline_round: Option<u8>,
    pub deadline: Option<i64>,
}

/// A unit's appraisal situation on the progress board.
#[derive(Debug, Clone, Default)]
pub struct UnitWorkflow {
    /// Leaves appraised in a round ≤ the current one, of the self-assessed leaves.
    pub appraised: usize,
    pub to_appraise: usize,
    /// Leaves flagged in the latest round that flagged.
    pub flagged: usize,
    pub explanation_round: i64,
    pub correction_open: bool,
    pub published_total_milli: Option<i64>,
    /// The unit's extension of the open explanation round: (until, reason).
    pub explanation_extension: Option<(i64, String)>,
}

/// How far a unit got with its self-assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfProgress {
    NotStarted,
    InProgress,
    Submitted,
}

/// One line of the progress board.
#[derive(Debug, Clone)]
pub struct BoardRow {
    pub unit: PeriodUnit,
    pub scored: usize,
    pub total: usize,
    pub percent: u32,
    pub progress: SelfProgress,
    pub workflow: UnitWorkflow,
}

/// The progress board of a period.
pub struct Board {
    pub period: Period,
    pub sets: Vec<(String, StoredIndexSet)>,
    pub rows: Vec<BoardRow>,
    pub groups: Vec<String>,
    pub stage: StageSummary,
    /// Ticked units left out at creation because their group has no set.
    pub skipped: Vec<String>,
}

fn milli(text: &str, default: i64) -> Option<i64> {
    if text.trim().is_empty() {
        return Some(default);
    }
    Points::parse(text)
        .filter(|p| !p.is_negative())
        .and_then(|p| p.to_millipoints())
}

fn bad(key: &'static str) -> AppError {
    AppError::invalid(Message::key(key))
}

/// The dates, caps, bands and rounds of a new period, checked; the sets and units come after.
struct Windows {
    year: i64,
    name: String,
    open: time::Date,
    close: time::Date,
    explanation_due: Option<time::Date>,
    appraisal_open: Option<time::Date>,
    appraisal_close: Option<time::Date>,
    bonus_entered: Option<Points>,
    penalty_entered: Option<Points>,
    bands: (i64, i64, i64),
    rounds: Rounds,
}

fn windows(input: &PeriodInput) -> Result<Windows, AppError> {
    let year: Option<i64> = input
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    let name = clean(&input.name);
    let optional_date = |text: &str| {
        if text.trim().is_empty() {
            Ok(None)
        } else {
            parse_date_vi(text).map(Some).ok_or(())
        }
    };
    // A blank cap is the sets' cap (decided once the sets are known).
    let entered_cap = |text: &str| -> Result<Option<Points>, ()> {
        if text.trim().is_empty() {
            return Ok(None);
        }
        Points::parse(text)
            .filter(|p| !p.is_negative() && p.to_millipoints().is_some())
            .map(Some)
            .ok_or(())
    };
    let (Some(year), true) = (year, name.chars().count() >= 2) else {
        return Err(bad("periods.bad_name_year"));
    };
    let (Some(open), Some(close), Ok(explanation_due)) = (
        parse_date_vi(&input.self_open),
        parse_date_vi(&input.self_close),
        optional_date(&input.explanation_due),
    ) else {
        return Err(bad("periods.bad_dates"));
    };
    if close < open {
        return Err(bad("periods.close_before_open"));
    }
    let (Ok(appraisal_open), Ok(appraisal_close)) = (
        optional_date(&input.appraisal_open),
        optional_date(&input.appraisal_close),
    ) else {
        return Err(bad("periods.bad_dates"));
    };
    if let (Some(a), Some(b)) = (appraisal_open, appraisal_close)
        && b < a
    {
        return Err(bad("periods.close_before_open"));
    }
    let ((Ok(bonus_entered), Ok(penalty_entered)), (Some(good), Some(fair), Some(average))) = (
        (
            entered_cap(&input.bonus_cap),
            entered_cap(&input.penalty_cap),
        ),
        (
            milli(&input.band_good, 85_000),
            milli(&input.band_fair, 70_000),
            milli(&input.band_average, 50_000),
        ),
    ) else {
        return Err(bad("periods.bad_points"));
    };
    if !(good >= fair && fair >= average) {
        return Err(bad("periods.bad_bands"));
    }
    // An index is a percentage: a threshold above 100 would leave its band empty.
    if good > 100_000 {
        return Err(bad("periods.band_over_100"));
    }
    let rounds = match input.appraisal_rounds.trim() {
        "" => Ok(Rounds::DEFAULT),
        text => text
            .parse::<i64>()
            .map_err(|_| ())
            .and_then(|n| Rounds::parse(n).map_err(|_| ())),
    };
    let Ok(rounds) = rounds else {
        return Err(bad("periods.bad_rounds"));
    };
    Ok(Windows {
        year,
        name,
        open,
        close,
        explanation_due,
        appraisal_open,
        appraisal_close,
        bonus_entered,
        penalty_entered,
        bands: (good, fair, average),
        rounds,
    })
}

impl App {
    /// Every period, with what the creation form offers.
    pub async fn period_list(&self, by: &Acting) -> Result<PeriodList, AppError> {
        by.require(Action::ManagePeriods)?;
        Ok(PeriodList {
            periods: self.store.list_periods().await?,
            units: self.store.list_units(&UnitFilter::default()).await?,
            published_sets: self
                .store
                .list_index_sets()
                .await?
                .into_iter()
                .filter(|s| s.status == SetStatus::Published)
                .collect(),
            groups: self
                .store
                .list_groups()
                .await?
                .into_iter()
                .map(|g| g.code)
                .collect(),
        })
    }

    /// Creates a period: the ticked units (or every active unit of each group that has a set)
    /// take part.
    pub async fn create_period(
        &self,
        by: &Acting,
        input: &PeriodInput,
    ) -> Result<Created, AppError> {
        by.require(Action::ManagePeriods)?;
        let w = windows(input)?;
        let published = self.store.list_index_sets().await?;
        let sets = chosen_sets(input, &published)?;
        let (bonus, penalty) = period_caps(&w, &sets, &published)?;
        let (units, mut skipped) = self.participants(input, &sets).await?;
        let (good, fair, average) = w.bands;
        let settings = PeriodSettings {
            year: w.year,
            name: w.name,
            self_open_at: day_start_ms(w.open),
            self_close_at: day_end_ms(w.close),
            explanation_due_at: w.explanation_due.map(day_end_ms),
            appraisal_open_at: w.appraisal_open.map(day_start_ms),
            appraisal_close_at: w.appraisal_close.map(day_end_ms),
            bonus_cap_milli: bonus,
            penalty_cap_milli: penalty,
            band_good_milli: good,
            band_fair_milli: fair,
            band_average_milli: average,
            appraisal_rounds: i64::from(w.rounds.get()),
        };
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        let period = tx.create_period(&settings, &sets, &units).await?;
        tx.commit().await?;
        skipped.sort();
        Ok(Created {
            period_id: period.id,
            skipped,
        })
    }

    /// The units ticked on the form (`unit_<id>` fields); without any, every active unit of
    /// the groups with a set. The form ticks every unit, so a ticked unit of a group left
    /// without a set ("not evaluated") is left out and named; a ticked unit that is inactive
    /// or unknown is refused, named by its code.
    async fn participants(
        &self,
        input: &PeriodInput,
        sets: &[(String, i64)],
    ) -> Result<(Vec<i64>, Vec<String>), AppError> {
        let all_units = self
            .store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..UnitFilter::default()
            })
            .await?;
        let has_set = |group: &str| sets.iter().any(|(g, _)| g == group);
        let eligible: Vec<i64> = all_units
            .iter()
            .filter(|u| u.active && has_set(&u.group_code))
            .map(|u| u.id)
            .collect();
        let mut skipped = Vec::new();
        let units = if input.sets.keys().any(|k| k.starts_with("unit_")) {
            let mut chosen = Vec::new();
            let ticked = input
                .sets
                .keys()
                .filter_map(|k| k.strip_prefix("unit_"))
                .filter_map(|id| id.parse::<i64>().ok());
            for id in ticked {
                match all_units.iter().find(|u| u.id == id) {
                    Some(u) if eligible.contains(&id) => chosen.push(u.id),
                    Some(u) if u.active => skipped.push(u.code.clone()),
                    Some(u) => {
                        return Err(AppError::invalid(
                            Message::key("periods.bad_unit_named").arg("unit", u.code.clone()),
                        ));
                    }
                    None => {
                        return Err(AppError::invalid(
                            Message::key("periods.bad_unit_named").arg("unit", id.to_string()),
                        ));
                    }
                }
            }
            chosen
        } else {
            eligible
        };
        if units.is_empty() {
            return Err(bad("periods.no_units"));
        }
        Ok((units, skipped))
    }
}

/// The set chosen for each group: only published sets of that group.
fn chosen_sets(
    input: &PeriodInput,
    published: &[StoredIndexSet],
) -> Result<Vec<(String, i64)>, AppError> {
    let mut sets = Vec::new();
    for (field, value) in &input.sets {
        let Some(group) = field.strip_prefix("set_") else {
            continue;
        };
        if value.trim().is_empty() {
            continue;
        }
        let Some(set) = value
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| published.iter().find(|s| s.id == id))
        else {
            return Err(bad("periods.bad_set"));
        };
        if set.status != SetStatus::Published || set.unit_group != group {
            return Err(AppError::invalid(
                Message::key("periods.bad_set_for").arg("group", group),
            ));
        }
        sets.push((group.to_owned(), set.id));
    }
    if sets.is_empty() {
        return Err(bad("periods.no_sets"));
    }
    Ok(sets)
}

/// The caps: as entered, or the sets' own; never above a set's scale.
fn period_caps(
    w: &Windows,
    sets: &[(String, i64)],
    published: &[StoredIndexSet],
) -> Result<(i64, i64), AppError> {
    let mut bonus_caps = Vec::new();
    let mut penalty_caps = Vec::new();
    for (group, set_id) in sets {
        let stored = published
            .iter()
            .find(|s| s.id == *set_id)
            .ok_or(AppError::NotFound)?;
        let doc: parindex_domain::IndexSetDoc =
            serde_json::from_str(&stored.definition).map_err(AppError::internal)?;
        for (caps, cap) in [
            (&mut bonus_caps, doc.bonus_cap),
            (&mut penalty_caps, doc.penalty_cap),
        ] {
            caps.push(SetCap {
                group: group.clone(),
                cap,
                scale: doc.scale,
            });
        }
    }
    let caps = (
        parindex_domain::appraisal::period_cap("điểm thưởng", w.bonus_entered, &bonus_caps),
        parindex_domain::appraisal::period_cap("điểm trừ", w.penalty_entered, &penalty_caps),
    );
    match caps {
        (Ok(b), Ok(p)) => match (b.to_millipoints(), p.to_millipoints()) {
            (Some(b), Some(p)) => Ok((b, p)),
            _ => Err(bad("periods.bad_points")),
        },
        (Err(message), _) | (_, Err(message)) => Err(AppError::invalid(message)),
    }
}

/// The latest publication of each unit.
fn latest_publications(all: &[PublishedResult]) -> HashMap<i64, &PublishedResult> {
    let mut latest: HashMap<i64, &PublishedResult> = HashMap::new();
    for r in all {
        if latest
            .get(&r.unit_id)
            .is_none_or(|l| l.publication < r.publication)
        {
            latest.insert(r.unit_id, r);
        }
    }
    latest
}

impl App {
    /// The progress board: every unit (of `group`, or all) with its self-assessment progress
    /// and its appraisal situation. `skipped` (codes from the creation's redirect) is kept
    /// only for real units outside the period, so the query cannot put other text on the page.
    pub async fn period_board(
        &self,
        by: &Acting,
        period_id: i64,
        group: &str,
        skipped: &str,
    ) -> Result<Board, AppError> {
        by.require(Action::ManagePeriods)?;
        let period = self.store.get_period(period_id).await?;
        let mut sets = Vec::new();
        let mut self_leaves: HashMap<String, BTreeSet<String>> = HashMap::new();
        for (g, set_id) in self.store.period_sets(period_id).await? {
            let set = self.store.get_index_set(set_id).await?;
            self_leaves.insert(g.clone(), self_assessed_leaves(&set, &g)?);
            sets.push((g, set));
        }
        let period_units = self.store.period_units(period_id).await?;
        let mut extras = self.unit_workflows(&period, &period_units).await?;
        let entries = self.store.period_leaf_entries(period_id).await?;
        let mut rows = Vec::new();
        for unit in period_units {
            if !group.is_empty() && unit.group_code != group {
                continue;
            }
            let leaves = self_leaves.get(&unit.group_code);
            let total = leaves.map_or(0, |l| l.len());
            // Only entries of leaves that count for the unit (not those of another group's
            // leaves or of leaves others score).
            let scored = entries
                .iter()
                .filter(|(u, e)| {
                    *u == unit.unit_id && leaves.is_some_and(|l| l.contains(&e.leaf_code))
                })
                .count();
            let progress = if unit.submitted_at.is_some() {
                SelfProgress::Submitted
            } else if scored > 0 {
                SelfProgress::InProgress
            } else {
                SelfProgress::NotStarted
            };
            rows.push(BoardRow {
                workflow: extras.remove(&unit.unit_id).unwrap_or_default(),
                percent: parindex_domain::points::whole_percent(scored, total),
                unit,
                scored,
                total,
                progress,
            });
        }
        let skipped = self.skipped_units(skipped, &rows).await?;
        Ok(Board {
            stage: self.stage_summary(&period).await?,
            groups: sets.iter().map(|(g, _)| g.clone()).collect(),
            period,
            sets,
            rows,
            skipped,
        })
    }

    async fn skipped_units(&self, codes: &str, rows: &[BoardRow]) -> Result<Vec<String>, AppError> {
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let known = self
            .store
            .list_units(&UnitFilter {
                include_inactive: true,
                ..UnitFilter::default()
            })
            .await?;
        Ok(codes
            .split(',')
            .filter(|c| {
                known.iter().any(|u| u.code == *c) && !rows.iter().any(|r| r.unit.unit_code == *c)
            })
            .map(str::to_owned)
            .collect())
    }

    /// The stage of the period and the explanation deadline that may be set now.
    pub async fn stage_summary(&self, period: &Period) -> Result<StageSummary, AppError> {
        let stage = Some(period.stage);
        let rounds = period.appraisal_rounds;
        let deadline_round = stage.and_then(|s| check_explanation_deadline_write(s, rounds).ok());
        let deadline = match deadline_round {
            // No unit: the round's deadline without any extension.
            Some(k) => crate::deadlines::explanation_due_for(&self.store, period, 0, k).await?,
            None => None,
        };
        Ok(StageSummary {
            stage,
            rounds: i64::from(rounds.get()),
            deadline_round,
            deadline,
        })
    }

    /// The appraisal columns of the board, per unit, from one read of the period's values.
    async fn unit_workflows(
        &self,
        period: &Period,
        units: &[PeriodUnit],
    ) -> Result<HashMap<i64, UnitWorkflow>, AppError> {
        let (stage, _) = stage_of(period)?;
        let current = match stage {
            Stage::SelfAssessment => 0,
            Stage::Round(k) | Stage::Explanation(k) => k,
            _ => u8::MAX,
        };
        let all_published = self.store.published_results(period.id).await?;
        let published = latest_publications(&all_published);
        let extensions: HashMap<i64, (i64, String)> = match stage {
            Stage::Explanation(k) => self
                .store
                .explanation_extensions(period.id)
                .await?
                .into_iter()
                .filter(|e| e.round == i64::from(k))
                .map(|e| (e.unit_id, (e.until_at, e.reason)))
                .collect(),
            _ => HashMap::new(),
        };
        let mut out: HashMap<i64, UnitWorkflow> = units
            .iter()
            .map(|unit| {
                let extra = UnitWorkflow {
                    explanation_extension: extensions.get(&unit.unit_id).cloned(),
                    explanation_round: unit.explanation_submitted_round,
                    correction_open: unit.correction_reason.is_some(),
                    published_total_milli: published.get(&unit.unit_id).map(|r| r.total_milli),
                    ..UnitWorkflow::default()
                };
                (unit.unit_id, extra)
            })
            .collect();
        if current > 0 {
            let assignments = self.store.assignments(period.id).await?;
            for ev in UnitEvaluation::load_period(self, period.id).await? {
                let Some(extra) = out.get_mut(&ev.unit.unit_id) else {
                    continue;
                };
                let progress = ev.progress(&assignments);
                extra.to_appraise = progress.len();
                extra.appraised = progress
                    .iter()
                    .filter(|p| p.rounds.range(..=current).next().is_some())
                    .count();
                extra.flagged = progress
                    .iter()
                    .filter(|p| {
                        p.rounds
                            .range(..=current)
                            .next_back()
                            .is_some_and(|(_, f)| *f)
                    })
                    .count();
            }
        }
        Ok(out)
    }

    /// Grants a unit an extension of its self-assessment to a date, with a reason (an empty
    /// date withdraws it).
    pub async fn extend_self_assessment(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
        until: &str,
        reason: &str,
    ) -> Result<(), AppError> {
        by.require(Action::ManagePeriods)?;
        let unit = self.store.period_unit(period_id, unit_id).await?;
        let until_ms = if until.trim().is_empty() {
            None
        } else {
            match parse_date_vi(until) {
                Some(d) => Some(day_end_ms(d)),
                None => return Err(bad("periods.bad_dates")),
            }
        };
        let reason = match until_ms {
            Some(_) => reason_of(reason)?,
            None => clean(reason),
        };
        if let (Some(until_ms), Some(day)) = (until_ms, parse_date_vi(until)) {
            // After the unit's deadline in force: the period's close, or an extension given.
            let period = self.store.get_period(period_id).await?;
            let current = period.self_close_at.max(unit.extension_until.unwrap_or(0));
            check_extension(day, until_ms, Some(current), self.now_ms(), period.year)
                .map_err(|r| AppError::invalid(r.message_vi(parindex_domain::text::datetime_vi)))?;
        }
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.set_extension(period_id, unit_id, until_ms, &reason)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Reopens a unit: its submitted self-assessment, or once the period is published its
    /// result for a correction. Returns whether it was the correction.
    pub async fn reopen_unit(
        &self,
        by: &Acting,
        period_id: i64,
        unit_id: i64,
        reason: &str,
    ) -> Result<bool, AppError> {
        by.require(Action::ManagePeriods)?;
        let period = self.store.get_period(period_id).await?;
        let (stage, _) = stage_of(&period)?;
        if stage == Stage::Published {
            self.reopen_for_correction(by, period_id, unit_id, reason)
                .await?;
            return Ok(true);
        }
        // During the rounds, the council or after the decision the sheet stays closed, so a
        // reopened unit could not resubmit: refused with the reason, nothing written.
        parindex_domain::appraisal::check_self_assessment_reopen(stage)
            .map_err(|r| AppError::forbidden(r.to_string()))?;
        let reason = reason_of(reason)?;
        let mut tx = self.store.begin_write(by.audit.clone()).await?;
        tx.reopen_self_assessment(period_id, unit_id, &reason)
            .await?;
        tx.commit().await?;
        Ok(false)
    }
}

/// Per group, the leaves its units assess themselves: self-assessed leaves that apply to the
/// group (a leaf for districts only is not counted for a department).
fn self_assessed_leaves(set: &StoredIndexSet, group: &str) -> Result<BTreeSet<String>, AppError> {
    let doc: parindex_domain::IndexSetDoc =
        serde_json::from_str(&set.definition).map_err(AppError::internal)?;
    Ok(parindex_domain::IndexSet::from_doc(&doc, None)
        .map(|s| {
            s.nodes()
                .iter()
                .enumerate()
                .filter(|(i, l)| {
                    s.applies_to_group(*i, group)
                        && l.rule.as_ref().is_some_and(|r| {
                            matches!(r.source(), parindex_domain::rules::LeafSource::SelfAssessed)
                        })
                })
                .map(|(_, l)| l.code.clone())
                .collect()
        })
        .unwrap_or_default())
}
