//! Property tests of the scoring engine: every score within [0, max] (or none, when not
//! applicable), tiered and proportional scores monotonic in the ratio, bonus and penalty
//! within their caps and a total never below 0, aggregation equal to the exact sum of the
//! leaves, and exact serde of points.

use std::collections::BTreeMap;

use parindex_domain::Points;
use parindex_domain::index_set::{IndexSet, IndexSetDoc, NodeDoc};
use parindex_domain::rules::{
    CountTier, FormulaVariable, LeafInput, LeafScore, PercentTier, RuleError, RuleSpec, ZeroOfZero,
    apply_adjustments, evaluate,
};
use parindex_domain::scorecard::Scorecard;
use proptest::prelude::*;
use rust_decimal::Decimal;

fn millis(m: i64) -> Points {
    Points::from_millipoints(m)
}

fn max_strategy() -> impl Strategy<Value = Points> {
    (1i64..=100_000).prop_map(millis)
}

fn zero_of_zero() -> impl Strategy<Value = ZeroOfZero> {
    prop_oneof![Just(ZeroOfZero::Full), Just(ZeroOfZero::Zero)]
}

/// Points in [0, max], in thousandths.
fn points_upto(max: Points) -> impl Strategy<Value = Points> {
    let top = max.to_millipoints().unwrap();
    (0..=top).prop_map(millis)
}

/// Descending distinct percentages (2 decimals) with non-increasing points within max.
fn percent_tiers(max: Points) -> impl Strategy<Value = Vec<PercentTier>> {
    let top = max.to_millipoints().unwrap();
    (
        prop::collection::btree_set(0i64..=10_000, 1..5),
        prop::collection::vec(0..=top, 4),
    )
        .prop_map(|(percents, mut points)| {
            points.sort_unstable_by(|a, b| b.cmp(a));
            percents
                .into_iter()
                .rev()
                .zip(points)
                .map(|(pc, pt)| PercentTier {
                    min_percent: Decimal::new(pc, 2),
                    points: millis(pt),
                })
                .collect()
        })
}

fn count_tiers(max: Points) -> impl Strategy<Value = Vec<CountTier>> {
    let top = max.to_millipoints().unwrap();
    (
        prop::collection::btree_set(0u64..=20, 1..5),
        prop::collection::vec(0..=top, 4),
    )
        .prop_map(|(counts, mut points)| {
            points.sort_unstable_by(|a, b| b.cmp(a));
            counts
                .into_iter()
                .zip(points)
                .map(|(c, pt)| CountTier {
                    max_count: c,
                    points: millis(pt),
                })
                .collect()
        })
}

fn formula_rule() -> impl Strategy<Value = RuleSpec> {
    prop_oneof![
        Just("a / b * 2"),
        Just("min(1, a / b) * 3"),
        Just("a - b"),
        Just("if(b > 0, a / b, 1) * 10"),
        Just("a * b"),
        Just("max(a, b) / 7"),
    ]
    .prop_map(|expression| RuleSpec::Formula {
        variables: ["a", "b"]
            .into_iter()
            .map(|name| FormulaVariable {
                name: name.into(),
                label: String::new(),
            })
            .collect(),
        expression: expression.into(),
    })
}

/// A valid rule on a leaf of maximum `max`.
fn rule_for(max: Points) -> impl Strategy<Value = RuleSpec> {
    let start = points_upto(max);
    prop_oneof![
        Just(RuleSpec::Binary),
        (percent_tiers(max), zero_of_zero()).prop_map(|(tiers, z)| RuleSpec::TieredPercent {
            counted: "hồ sơ".into(),
            tiers,
            zero_of_zero: z,
        }),
        zero_of_zero().prop_map(|z| RuleSpec::Proportional {
            counted: String::new(),
            zero_of_zero: z,
        }),
        (1i64..=10_000, zero_of_zero()).prop_map(|(f, z)| RuleSpec::ProportionalFloor {
            counted: String::new(),
            floor_percent: Decimal::new(f, 2),
            zero_of_zero: z,
        }),
        count_tiers(max).prop_map(|tiers| RuleSpec::CountTiered {
            counted: String::new(),
            tiers,
        }),
        (start, 1i64..=5_000).prop_map(|(start, per)| RuleSpec::Deduction {
            counted: "báo cáo chậm".into(),
            start,
            per_violation: millis(per),
        }),
        formula_rule(),
        Just(RuleSpec::Survey),
        Just(RuleSpec::External {
            provider: "Sở Tư pháp".into(),
        }),
    ]
}

/// A fact: up to 10^9 with up to 3 decimals.
fn fact() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        (0i64..=1_000).prop_map(Decimal::from),
        (0i64..=1_000_000_000_000, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s)),
    ]
}

fn ratio() -> impl Strategy<Value = (Decimal, Decimal)> {
    (fact(), fact()).prop_map(|(x, y)| if x <= y { (x, y) } else { (y, x) })
}

/// A valid input for `rule` on a leaf of maximum `max`.
fn input_for(rule: &RuleSpec, max: Points) -> BoxedStrategy<LeafInput> {
    match rule {
        RuleSpec::Binary => any::<bool>().prop_map(LeafInput::YesNo).boxed(),
        // A ratio of things counted (hồ sơ) takes whole numbers, as a count does.
        RuleSpec::TieredPercent { counted, .. } if !counted.is_empty() => {
            (0i64..=1_000_000_000, 0i64..=1_000_000_000)
                .prop_map(|(x, y)| LeafInput::Ratio {
                    numerator: Decimal::from(x.min(y)),
                    denominator: Decimal::from(x.max(y)),
                })
                .boxed()
        }
        RuleSpec::TieredPercent { .. }
        | RuleSpec::Proportional { .. }
        | RuleSpec::ProportionalFloor { .. } => ratio()
            .prop_map(|(numerator, denominator)| LeafInput::Ratio {
                numerator,
                denominator,
            })
            .boxed(),
        RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => prop_oneof![
            (0u64..=30).prop_map(LeafInput::Count),
            Just(LeafInput::Count(parindex_domain::rules::MAX_FACT)),
        ]
        .boxed(),
        RuleSpec::Formula { .. } => (fact(), fact())
            .prop_map(|(a, b)| {
                LeafInput::Variables(BTreeMap::from([("a".into(), a), ("b".into(), b)]))
            })
            .boxed(),
        RuleSpec::Survey | RuleSpec::External { .. } => {
            points_upto(max).prop_map(LeafInput::Points).boxed()
        }
    }
}

/// A declaration that the leaf does not apply, with a reason; any rule kind accepts it.
fn not_applicable() -> impl Strategy<Value = LeafInput> {
    prop_oneof![
        Just("Đơn vị không có nhiệm vụ này"),
        Just("  Không phát sinh trong năm  "),
        Just("x"),
    ]
    .prop_map(|reason| LeafInput::NotApplicable {
        reason: reason.into(),
    })
}

fn rule_and_input() -> impl Strategy<Value = (Points, RuleSpec, LeafInput)> {
    max_strategy()
        .prop_flat_map(|max| (Just(max), rule_for(max)))
        .prop_flat_map(|(max, rule)| {
            // One input in ten is "not applicable", for every rule kind.
            let input = prop_oneof![9 => input_for(&rule, max), 1 => not_applicable().boxed()];
            (Just(max), Just(rule), input)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_score_is_within_zero_and_max((max, rule, input) in rule_and_input()) {
        prop_assert!(rule.problems(max).is_empty(), "{:?}", rule.problems(max));
        if let LeafInput::NotApplicable { reason } = &input {
            // Only where the set allows it; then no points, and the reason is the text.
            prop_assert!(rule.check_input(max, false, &input).is_err());
            prop_assert!(rule.check_input(max, true, &input).is_ok());
            let score = evaluate(&rule, max, &input).unwrap();
            prop_assert_eq!(score.points, None);
            prop_assert_eq!(score.explanation, format!("Không áp dụng: {}", reason.trim()));
            return Ok(());
        }
        prop_assert!(rule.check_input(max, false, &input).is_ok());
        match evaluate(&rule, max, &input) {
            Ok(score) => {
                let points = score.points.unwrap();
                prop_assert!(points >= Points::ZERO && points <= max, "{points:?} > {max:?}");
                prop_assert!(points.to_millipoints().is_some(), "{points:?} not storable");
                prop_assert!(score.explanation.ends_with(" điểm"), "{}", score.explanation);
            }
            // Only a formula may fail, and only with a formula error (division by zero).
            Err(RuleError::Formula(err)) => {
                let is_formula = matches!(rule, RuleSpec::Formula { .. });
                prop_assert!(is_formula, "{err}");
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn ratio_rules_are_monotonic(
        (max, rule) in max_strategy().prop_flat_map(|max| (Just(max), prop_oneof![
            (percent_tiers(max), zero_of_zero()).prop_map(|(tiers, z)| RuleSpec::TieredPercent {
                counted: String::new(), tiers, zero_of_zero: z }),
            Just(RuleSpec::Proportional { counted: String::new(), zero_of_zero: ZeroOfZero::Full }),
            (1i64..=10_000).prop_map(|f| RuleSpec::ProportionalFloor {
                counted: String::new(), floor_percent: Decimal::new(f, 2),
                zero_of_zero: ZeroOfZero::Full }),
        ])),
        (n1, d1) in ratio(),
        (n2, d2) in ratio(),
    ) {
        // 0 of 0 is not a ratio; compare real ones only.
        prop_assume!(!d1.is_zero() && !d2.is_zero());
        // Order the two ratios exactly: n1/d1 ≤ n2/d2 ⇔ n1·d2 ≤ n2·d1.
        let ((lo_n, lo_d), (hi_n, hi_d)) = if n1 * d2 <= n2 * d1 {
            ((n1, d1), (n2, d2))
        } else {
            ((n2, d2), (n1, d1))
        };
        let score = |n, d| {
            evaluate(&rule, max, &LeafInput::Ratio { numerator: n, denominator: d })
                .unwrap()
                .points
                .unwrap()
        };
        prop_assert!(score(lo_n, lo_d) <= score(hi_n, hi_d));
    }

    #[test]
    fn adjustments_stay_within_their_caps_and_the_total_never_below_zero(
        sum in 0i64..=100_000,
        bonuses in prop::collection::vec(-2_000i64..=5_000, 0..6),
        penalties in prop::collection::vec(-2_000i64..=5_000, 0..6),
        bonus_cap in 0i64..=5_000,
        penalty_cap in prop_oneof![0i64..=5_000, 100_000i64..=200_000],
    ) {
        let items = |v: &[i64]| v.iter().map(|&m| millis(m)).collect::<Vec<_>>();
        let (sum, bonus_cap, penalty_cap) = (millis(sum), millis(bonus_cap), millis(penalty_cap));
        let adjusted =
            apply_adjustments(sum, &items(&bonuses), &items(&penalties), bonus_cap, penalty_cap);
        prop_assert!(adjusted.bonus >= Points::ZERO && adjusted.bonus <= bonus_cap);
        prop_assert!(adjusted.penalty >= Points::ZERO && adjusted.penalty <= penalty_cap);
        prop_assert!(adjusted.total >= Points::ZERO);
        prop_assert_eq!(adjusted.sum, sum);
        // Exactly the documented formula: negative items count as 0, each side capped.
        let positive = |v: &[i64]| millis(v.iter().map(|&m| m.max(0)).sum());
        prop_assert_eq!(adjusted.bonus, positive(&bonuses).min(bonus_cap));
        prop_assert_eq!(adjusted.penalty, positive(&penalties).min(penalty_cap));
        let expected = (sum + adjusted.bonus)
            .checked_sub(adjusted.penalty)
            .unwrap()
            .max(Points::ZERO);
        prop_assert_eq!(adjusted.total, expected);
    }

    #[test]
    fn points_serde_round_trips_exactly(mantissa in any::<i64>(), scale in 0u32..=28) {
        let points = Points::new(Decimal::new(mantissa, scale));
        let text = serde_json::to_string(&points).unwrap();
        let back: Points = serde_json::from_str(&text).unwrap();
        prop_assert_eq!(back, points);
        prop_assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn points_typed_as_numbers_mean_their_decimal(m in -10_000_000i64..=10_000_000, s in 0u32..=3) {
        let exact = Decimal::new(m, s);
        let typed = exact.to_string();
        let as_number: Points = serde_json::from_str(&typed).unwrap();
        let as_comma: Points = serde_json::from_str(&format!("\"{}\"", typed.replace('.', ","))).unwrap();
        prop_assert_eq!(as_number.value(), exact);
        prop_assert_eq!(as_comma.value(), exact);
    }
}

/// A random valid set: domains of criteria, each a leaf or a parent of sub-criteria, with
/// one survey domain. Returns the set and, per leaf, a score (or None = not scored).
fn set_and_scores() -> impl Strategy<Value = (IndexSet, BTreeMap<String, LeafScore>)> {
    let leaf_max = 1i64..=5_000;
    let criterion = prop::collection::vec(leaf_max.clone(), 0..4);
    let domain = prop::collection::vec(criterion, 1..5);
    (prop::collection::vec(domain, 1..5), 1i64..=5_000).prop_flat_map(|(domains, survey_max)| {
        let mut nodes = Vec::new();
        let mut leaves: Vec<(String, Points)> = Vec::new();
        let mut appraised = Points::ZERO;
        let mut leaf = |code: String, max: Points, rule: RuleSpec| {
            let mut node = NodeDoc::new(code.clone(), "Tiêu chí", max);
            node.method = Some("Cách chấm".into());
            node.evidence = Some("Tài liệu".into());
            node.not_applicable_allowed = true;
            node.rule = Some(rule);
            leaves.push((code, max));
            node
        };
        for (d, criteria) in domains.iter().enumerate() {
            let code = (d + 1).to_string();
            let mut domain = NodeDoc::new(code.clone(), "Lĩnh vực", Points::ZERO);
            for (c, subs) in criteria.iter().enumerate() {
                let ccode = format!("{code}.{}", c + 1);
                let node = if subs.is_empty() {
                    leaf(ccode, millis(1000), RuleSpec::Binary)
                } else {
                    let mut parent = NodeDoc::new(ccode.clone(), "Tiêu chí", Points::ZERO);
                    for (s, m) in subs.iter().enumerate() {
                        let child =
                            leaf(format!("{ccode}.{}", s + 1), millis(*m), RuleSpec::Binary);
                        parent.max += child.max;
                        parent.children.push(child);
                    }
                    parent
                };
                domain.max += node.max;
                domain.children.push(node);
            }
            appraised += domain.max;
            nodes.push(domain);
        }
        let survey_code = (domains.len() + 1).to_string();
        let mut survey = NodeDoc::new(survey_code.clone(), "Tác động", millis(survey_max));
        survey.children.push(leaf(
            format!("{survey_code}.1"),
            millis(survey_max),
            RuleSpec::Survey,
        ));
        nodes.push(survey);
        let doc = IndexSetDoc {
            format: "parindex-index-set/1".into(),
            code: "PROP".into(),
            title: "Bộ chỉ số ngẫu nhiên".into(),
            title_en: None,
            year: 2025,
            unit_group: "SO".into(),
            illustrative: true,
            source_document: None,
            scale: appraised + millis(survey_max),
            appraised_max: appraised,
            survey_max: millis(survey_max),
            bonus_cap: Points::ZERO,
            penalty_cap: Points::ZERO,
            nodes,
            adjustments: Vec::new(),
        };
        let set = IndexSet::from_doc(&doc, None).unwrap();
        // Per leaf: 0 = not scored, 1 = not applicable, 2 = scored with points in [0, max].
        let scores: Vec<BoxedStrategy<Option<LeafScore>>> = leaves
            .into_iter()
            .map(|(_, max)| {
                prop_oneof![
                    Just(None),
                    Just(Some(LeafScore {
                        points: None,
                        explanation: String::new()
                    })),
                    points_upto(max).prop_map(|p| Some(LeafScore {
                        points: Some(p),
                        explanation: String::new()
                    })),
                ]
                .boxed()
            })
            .collect();
        (Just(set), scores).prop_map(|(set, scores)| {
            let map = set
                .leaves()
                .zip(scores)
                .filter_map(|(leaf, score)| score.map(|s| (leaf.code.clone(), s)))
                .collect();
            (set, map)
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn aggregation_is_the_exact_sum_of_leaves((set, scores) in set_and_scores()) {
        let card = Scorecard::compute(&set, "SO", &scores, &BTreeMap::new()).unwrap();
        let achieved: Points = scores.values().filter_map(|s| s.points).sum();
        let applicable: Points = set
            .leaves()
            .filter(|leaf| !matches!(scores.get(&leaf.code), Some(LeafScore { points: None, .. })))
            .map(|leaf| leaf.max)
            .sum();
        prop_assert_eq!(card.overall.achieved, achieved);
        prop_assert_eq!(card.overall.applicable_max, applicable);
        prop_assert_eq!(card.total(), achieved);
        // Every parent is the exact sum of its children.
        for (i, node) in set.nodes().iter().enumerate() {
            if !node.is_leaf() {
                let sum: Points = node.children.iter().map(|&c| card.nodes[c].achieved).sum();
                prop_assert_eq!(card.nodes[i].achieved, sum);
                let max: Points = node.children.iter().map(|&c| card.nodes[c].applicable_max).sum();
                prop_assert_eq!(card.nodes[i].applicable_max, max);
            }
        }
        let domains: Points = set.domains().map(|d| card.tally(&set, &d.code).unwrap().achieved).sum();
        prop_assert_eq!(domains, achieved);
        if let Some(index) = card.index_percent() {
            prop_assert!(index >= Decimal::ZERO && index <= Decimal::ONE_HUNDRED);
        }
    }
}

/// Issue 10, point 9: facts are parsed exactly, never rounded or guessed at.
#[test]
fn facts_are_parsed_exactly() {
    use parindex_domain::points::{parse_count, parse_exact};
    // Plain decimals, with a comma or a point, are taken exactly.
    assert_eq!(parse_exact("12"), Some(Decimal::from(12)));
    assert_eq!(parse_exact(" 0,5 "), Some(Decimal::new(5, 1)));
    assert_eq!(parse_exact("-1.25"), Some(Decimal::new(-125, 2)));
    assert_eq!(parse_exact("0.999999"), Some(Decimal::new(999_999, 6)));
    // Too many digits for a Decimal: refused, not rounded to 1.
    assert_eq!(parse_exact("0.99999999999999999999999999999999"), None);
    assert_eq!(Points::parse("0.99999999999999999999999999999999"), None);
    // Separators, exponents, signs and bare points: refused.
    for bad in [
        "1_000", "1E2", "1e2", "+1", "1.", ".5", "1.000,5", "1,000.5", "0x10", "", " ", "1 000",
        "--1", "١٢",
    ] {
        assert_eq!(parse_exact(bad), None, "{bad:?}");
        assert_eq!(Points::parse(bad), None, "{bad:?}");
    }
    assert_eq!(parse_count(" 12 "), Some(12));
    for bad in ["+1", "1_000", "1E2", "1.0", "-1", "", "1,5"] {
        assert_eq!(parse_count(bad), None, "{bad:?}");
    }
    // A fact past the allowed decimals is refused by the rule, never rounded into a score.
    let rule = RuleSpec::Proportional {
        counted: String::new(),
        zero_of_zero: ZeroOfZero::Zero,
    };
    let input = LeafInput::Ratio {
        numerator: parse_exact("0,9999999").unwrap(),
        denominator: Decimal::ONE,
    };
    assert!(
        rule.check_input(Points::from_int(1), false, &input)
            .is_err()
    );
}

proptest! {
    /// Any decimal written plainly parses back to exactly itself.
    #[test]
    fn plain_decimals_parse_back_exactly(units in -1_000_000_000_000i64..1_000_000_000_000, scale in 0u32..=6) {
        let value = Decimal::new(units, scale);
        let text = value.to_string();
        prop_assert_eq!(parindex_domain::points::parse_exact(&text), Some(value));
        prop_assert_eq!(parindex_domain::points::parse_exact(&text.replace('.', ",")), Some(value));
    }

    /// Text with an exponent or a digit separator never parses.
    #[test]
    fn exponents_and_separators_never_parse(a in 0u32..100_000, b in 0u32..100, sep in prop::sample::select(vec!["e", "E", "_", "e+", "E-"])) {
        let text = format!("{a}{sep}{b}");
        prop_assert_eq!(parindex_domain::points::parse_exact(&text), None);
    }
}
