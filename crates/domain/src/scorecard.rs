//! A unit's scorecard: leaf scores summed up the tree, with the applicable maximum of every
//! node, the appraised and survey parts, and the total after bonus and penalty.
//!
//! A leaf declared not applicable, or one that does not apply to the unit's group, leaves
//! both the achieved points and the applicable maximum, so the index re-normalises over what
//! could be scored. A leaf not yet scored counts 0 of its maximum.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::index_set::{AdjustmentKind, IndexSet};
use crate::points::percent_display_vi;
use crate::rules::{Adjusted, LeafScore, apply_adjustments};
use crate::{InvalidInput, Points};

/// Points achieved out of the applicable maximum, for one node or part of the set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Σ points of the applicable scored leaves.
    pub achieved: Points,
    /// Σ max of the applicable leaves, scored or not.
    pub applicable_max: Points,
    /// Applicable leaves with a score.
    pub scored: usize,
    /// Applicable leaves without a score yet.
    pub unscored: usize,
    /// Leaves the unit declared not applicable.
    pub not_applicable: usize,
}

impl Tally {
    /// achieved / applicable max × 100, exact; None when nothing is applicable.
    pub fn percent(&self) -> Option<Decimal> {
        percent(self.achieved, self.applicable_max)
    }

    /// The percentage as published ("90,65%"), or "—" when nothing is applicable.
    pub fn percent_display_vi(&self) -> String {
        self.percent()
            .map_or_else(|| "—".to_owned(), percent_display_vi)
    }

    /// Every applicable leaf has a score.
    pub fn is_complete(&self) -> bool {
        self.unscored == 0
    }

    fn add(&mut self, other: &Tally) {
        self.achieved += other.achieved;
        self.applicable_max += other.applicable_max;
        self.scored += other.scored;
        self.unscored += other.unscored;
        self.not_applicable += other.not_applicable;
    }
}

fn percent(part: Points, whole: Points) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    part.value()
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|p| p.checked_div(whole.value()))
}

/// The scorecard of one unit against one set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Scorecard {
    /// The unit group it was computed for.
    pub group: String,
    /// One tally per node, aligned with [`IndexSet::nodes`].
    pub nodes: Vec<Tally>,
    /// The non-survey leaves (the appraised part, ≤ appraised_max).
    pub appraised: Tally,
    /// The survey leaves (≤ survey_max).
    pub survey: Tally,
    /// Both parts, before bonus and penalty.
    pub overall: Tally,
    /// The total after bonus and penalty.
    pub adjusted: Adjusted,
}

/// The caps of the bonus and of the penalty a total is adjusted with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caps {
    pub bonus: Points,
    pub penalty: Points,
}

impl Caps {
    /// The set's own caps (its document's `bonus_cap` and `penalty_cap`).
    pub fn of_set(set: &IndexSet) -> Caps {
        Caps {
            bonus: set.doc().bonus_cap,
            penalty: set.doc().penalty_cap,
        }
    }
}

impl Scorecard {
    /// [`Scorecard::compute_capped`] with the set's own caps (a self-assessment, where no
    /// bonus or penalty is given).
    pub fn compute(
        set: &IndexSet,
        group: &str,
        scores: &BTreeMap<String, LeafScore>,
        adjustments: &BTreeMap<String, Points>,
    ) -> Result<Scorecard, InvalidInput> {
        Self::compute_capped(set, group, scores, adjustments, Caps::of_set(set))
    }

    /// Sums `scores` (leaf code → score; a missing leaf is not yet scored) for a unit of
    /// `group`, and applies `adjustments` (adjustment code → points given) under `caps`:
    /// those of the period, the same numbers an item was checked against when given.
    ///
    /// Refuses a code that is not a leaf or adjustment of the set, and points outside the
    /// item's [0, max]. Scores of leaves that do not apply to `group` are ignored.
    pub fn compute_capped(
        set: &IndexSet,
        group: &str,
        scores: &BTreeMap<String, LeafScore>,
        adjustments: &BTreeMap<String, Points>,
        caps: Caps,
    ) -> Result<Scorecard, InvalidInput> {
        for (code, score) in scores {
            let Some(node) = set.node(code).filter(|n| n.is_leaf()) else {
                return Err(InvalidInput::new(
                    "code",
                    format!(
                        "Mã {code} không phải tiêu chí chấm điểm của bộ {}",
                        set.code()
                    ),
                ));
            };
            if let Some(points) = score.points
                && (points.is_negative() || points > node.max)
            {
                return Err(InvalidInput::new(
                    "points",
                    format!(
                        "Điểm {} của mã {code} nằm ngoài khoảng 0 – {}",
                        points.exact_vi(),
                        node.max.exact_vi()
                    ),
                ));
            }
        }

        let nodes = set.nodes();
        let mut tallies = vec![Tally::default(); nodes.len()];
        let mut appraised = Tally::default();
        let mut survey = Tally::default();
        for (index, node) in nodes.iter().enumerate() {
            if !node.is_leaf() || !set.applies_to_group(index, group) {
                continue;
            }
            let mut leaf = Tally::default();
            match scores.get(&node.code) {
                None => {
                    leaf.applicable_max = node.max;
                    leaf.unscored = 1;
                }
                Some(LeafScore { points: None, .. }) => leaf.not_applicable = 1,
                Some(LeafScore {
                    points: Some(points),
                    ..
                }) => {
                    leaf.achieved = *points;
                    leaf.applicable_max = node.max;
                    leaf.scored = 1;
                }
            }
            if node.is_survey() {
                survey.add(&leaf);
            } else {
                appraised.add(&leaf);
            }
            // Up the tree: at most MAX_DEPTH steps.
            let mut current = Some(index);
            while let Some(i) = current {
                tallies[i].add(&leaf);
                current = nodes[i].parent;
            }
        }

        let mut bonuses = Vec::new();
        let mut penalties = Vec::new();
        for (code, points) in adjustments {
            let Some(item) = set.adjustment(code) else {
                return Err(InvalidInput::new(
                    "code",
                    format!(
                        "Mã {code} không phải mục điểm thưởng/điểm trừ của bộ {}",
                        set.code()
                    ),
                ));
            };
            item.check_points(*points)?;
            match item.kind {
                AdjustmentKind::Bonus => bonuses.push(*points),
                AdjustmentKind::Penalty => penalties.push(*points),
            }
        }

        let mut overall = appraised;
        overall.add(&survey);
        let adjusted = apply_adjustments(
            overall.achieved,
            &bonuses,
            &penalties,
            caps.bonus,
            caps.penalty,
        );
        Ok(Scorecard {
            group: group.to_owned(),
            nodes: tallies,
            appraised,
            survey,
            overall,
            adjusted,
        })
    }

    /// The tally of node `code`.
    pub fn tally(&self, set: &IndexSet, code: &str) -> Option<&Tally> {
        set.index_of(code).and_then(|i| self.nodes.get(i))
    }

    /// The total after bonus and penalty.
    pub fn total(&self) -> Points {
        self.adjusted.total
    }

    /// The index: total / applicable maximum × 100, exact; None when nothing is applicable.
    pub fn index_percent(&self) -> Option<Decimal> {
        percent(self.adjusted.total, self.overall.applicable_max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::LeafInput;
    use crate::test_support::sample_doc;

    fn p(text: &str) -> Points {
        Points::parse(text).unwrap()
    }

    fn scored(points: &str) -> LeafScore {
        LeafScore {
            points: Some(p(points)),
            explanation: String::new(),
        }
    }

    #[test]
    fn sums_applicable_leaves_and_renormalises() {
        let set = IndexSet::from_doc(&sample_doc(), None).unwrap();
        let mut scores = BTreeMap::new();
        scores.insert("1.1.1".to_owned(), scored("0.5"));
        scores.insert("1.1.2".to_owned(), scored("0.5"));
        scores.insert("1.2".to_owned(), scored("1"));
        let na = set
            .evaluate(
                "2.1",
                &LeafInput::NotApplicable {
                    reason: "Không có hồ sơ".into(),
                },
            )
            .unwrap();
        scores.insert("2.1".to_owned(), na);
        scores.insert("2.2".to_owned(), scored("0.75"));
        // 2.5 applies only to districts: its score is ignored for a department.
        scores.insert("2.5".to_owned(), scored("1"));
        scores.insert("3.1".to_owned(), scored("1.5"));
        let adjustments = BTreeMap::from([("T1".to_owned(), p("1")), ("P1".to_owned(), p("1"))]);
        let card = Scorecard::compute(&set, "SO", &scores, &adjustments).unwrap();

        let one = card.tally(&set, "1").unwrap();
        assert_eq!((one.achieved, one.applicable_max), (p("2"), p("3")));
        assert_eq!(one.percent_display_vi(), "66,67%");
        let two = card.tally(&set, "2").unwrap();
        // 2.1 N/A and 2.5 not for SO leave both sides: 0.75 of 3 (2.2, 2.3, 2.4).
        assert_eq!((two.achieved, two.applicable_max), (p("0.75"), p("3")));
        assert_eq!((two.scored, two.unscored, two.not_applicable), (1, 2, 1));
        assert!(!two.is_complete());
        assert_eq!(card.appraised.achieved, p("2.75"));
        assert_eq!(card.appraised.applicable_max, p("6"));
        assert_eq!(card.survey.achieved, p("1.5"));
        assert_eq!(card.overall.achieved, p("4.25"));
        assert_eq!(card.overall.applicable_max, p("8"));
        // Bonus 1 (cap 1), penalty 1 capped at 0.5.
        assert_eq!(card.adjusted.bonus, p("1"));
        assert_eq!(card.adjusted.penalty, p("0.5"));
        assert_eq!(card.total(), p("4.75"));
        assert_eq!(card.index_percent(), Some("59.375".parse().unwrap()));

        // For a district, 2.5 counts.
        let district = Scorecard::compute(&set, "HUYEN", &scores, &BTreeMap::new()).unwrap();
        let two = district.tally(&set, "2").unwrap();
        assert_eq!((two.achieved, two.applicable_max), (p("1.75"), p("4")));
    }

    #[test]
    fn refuses_unknown_codes_and_out_of_range_points() {
        let set = IndexSet::from_doc(&sample_doc(), None).unwrap();
        let none = BTreeMap::new();
        let bad = BTreeMap::from([("1.1".to_owned(), scored("1"))]);
        assert!(Scorecard::compute(&set, "SO", &bad, &none).is_err());
        let over = BTreeMap::from([("1.1.1".to_owned(), scored("0.6"))]);
        assert!(Scorecard::compute(&set, "SO", &over, &none).is_err());
        let adj = BTreeMap::from([("T1".to_owned(), p("2"))]);
        assert!(Scorecard::compute(&set, "SO", &BTreeMap::new(), &adj).is_err());
        let unknown = BTreeMap::from([("T9".to_owned(), p("0"))]);
        assert!(Scorecard::compute(&set, "SO", &BTreeMap::new(), &unknown).is_err());
        let empty = Scorecard::compute(&set, "SO", &BTreeMap::new(), &none).unwrap();
        assert_eq!(empty.total(), Points::ZERO);
        assert_eq!(empty.overall.unscored, 8);
        assert_eq!(empty.index_percent(), Some(Decimal::ZERO));
    }
}
