//! Scoring rules: the facts a unit enters for a leaf (`LeafInput`), their checks, and the
//! exact evaluation of a rule into a score with a Vietnamese explanation.

pub mod formula;
mod spec;

use std::collections::BTreeMap;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::points::{percent_against_vi, percent_display_vi};
use crate::{InvalidInput, Points};
pub use formula::{Formula, FormulaError};
pub use spec::{
    CountTier, FormulaVariable, LeafSource, PercentTier, RuleKind, RuleSpec, ZeroOfZero,
};

/// The largest fact a unit may enter (a count of dossiers, an amount in đồng). Far below
/// Decimal's range, so the exact products below (× 100, × max) can never overflow.
pub const MAX_FACT: u64 = 1_000_000_000_000_000;

/// Decimal places a fact may have: enough for any real measure, and keeps the arithmetic
/// within Decimal's 28 digits, hence exact.
pub const MAX_FACT_DECIMALS: u32 = 6;

/// Decimal places a score keeps: thousandths, the storage precision
/// ([`crate::points::MILLIPOINTS_PER_POINT`]). A proportional or formula score that is finer
/// (2 × 1/3) is rounded half away from zero once, here; display rounds again to 2 places.
pub const SCORE_DECIMALS: u32 = 3;

/// The facts entered for one leaf. The score follows from these and the rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeafInput {
    /// `binary`: the condition holds (đạt) or not.
    YesNo(bool),
    /// `tiered_percent`, `proportional`, `proportional_floor`: how many of how many.
    Ratio {
        numerator: Decimal,
        denominator: Decimal,
    },
    /// `count_tiered`, `deduction`: a number of events.
    Count(u64),
    /// `formula`: a value for every declared variable.
    Variables(BTreeMap<String, Decimal>),
    /// `survey`, `external`: the points as computed or supplied elsewhere.
    Points(Points),
    /// The leaf does not apply to this unit (only where the set allows it), with the reason.
    NotApplicable { reason: String },
}

/// The result of a leaf: its points (None when not applicable) and how they came about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeafScore {
    pub points: Option<Points>,
    pub explanation: String,
}

/// Why a rule could not be evaluated. Display is Vietnamese, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("{0}")]
    Input(#[from] InvalidInput),
    #[error("Không tính được công thức: {0}")]
    Formula(#[from] FormulaError),
    #[error("Phép tính vượt quá giới hạn số cho phép")]
    Overflow,
}

impl RuleSpec {
    /// Checks that `input` fits this rule on a leaf of maximum `max`: the right kind of
    /// facts, no negative or oversized numbers, a numerator within its denominator, every
    /// formula variable given and no other, supplied points within [0, max], and "not
    /// applicable" only where `not_applicable_allowed`, with a reason.
    pub fn check_input(
        &self,
        max: Points,
        not_applicable_allowed: bool,
        input: &LeafInput,
    ) -> Result<(), InvalidInput> {
        match (self, input) {
            (_, LeafInput::NotApplicable { reason }) => {
                if !not_applicable_allowed {
                    return Err(InvalidInput::new(
                        "not_applicable",
                        "Tiêu chí này không được khai «không áp dụng»",
                    ));
                }
                let len = reason.trim().chars().count();
                if len == 0 {
                    return Err(InvalidInput::new("reason", "Hãy nêu lý do không áp dụng"));
                }
                if len > 2000 {
                    return Err(InvalidInput::new(
                        "reason",
                        "Lý do không áp dụng dài quá 2000 ký tự",
                    ));
                }
                Ok(())
            }
            (RuleSpec::Binary, LeafInput::YesNo(_)) => Ok(()),
            (
                RuleSpec::TieredPercent { .. }
                | RuleSpec::Proportional { .. }
                | RuleSpec::ProportionalFloor { .. },
                LeafInput::Ratio {
                    numerator,
                    denominator,
                },
            ) => {
                check_fact("numerator", "Tử số", *numerator)?;
                check_fact("denominator", "Mẫu số", *denominator)?;
                // Tasks, dossiers, documents are counted like violations: whole numbers.
                if let Some(counted) = counted_things(self) {
                    for (field, what, value) in [
                        ("numerator", "Tử số", *numerator),
                        ("denominator", "Mẫu số", *denominator),
                    ] {
                        if !value.fract().is_zero() {
                            return Err(InvalidInput::new(
                                field,
                                format!(
                                    "{what} là số {counted} nên phải là số nguyên (ví dụ 18), không có phần thập phân (đang là {})",
                                    number_vi(value)
                                ),
                            ));
                        }
                    }
                }
                if numerator > denominator {
                    return Err(InvalidInput::new(
                        "numerator",
                        format!(
                            "Tử số ({}) không được lớn hơn mẫu số ({})",
                            number_vi(*numerator),
                            number_vi(*denominator)
                        ),
                    ));
                }
                Ok(())
            }
            (RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. }, LeafInput::Count(n)) => {
                if *n > MAX_FACT {
                    return Err(InvalidInput::new("count", "Số lượng quá lớn"));
                }
                Ok(())
            }
            (RuleSpec::Formula { variables, .. }, LeafInput::Variables(values)) => {
                for var in variables {
                    match values.get(&var.name) {
                        None => {
                            let label = if var.label.is_empty() {
                                String::new()
                            } else {
                                format!(" ({})", var.label)
                            };
                            return Err(InvalidInput::new(
                                "variables",
                                format!("Thiếu giá trị biến «{}»{label}", var.name),
                            ));
                        }
                        Some(value) => check_fact(
                            "variables",
                            &format!("Giá trị biến «{}»", var.name),
                            *value,
                        )?,
                    }
                }
                if let Some(unknown) = values
                    .keys()
                    .find(|k| !variables.iter().any(|v| &v.name == *k))
                {
                    return Err(InvalidInput::new(
                        "variables",
                        format!("Biến «{unknown}» không có trong công thức"),
                    ));
                }
                Ok(())
            }
            (RuleSpec::Survey | RuleSpec::External { .. }, LeafInput::Points(points)) => {
                if points.is_negative() || *points > max {
                    return Err(InvalidInput::new(
                        "points",
                        format!("Điểm phải trong khoảng 0 – {}", max.exact_vi()),
                    ));
                }
                if points.decimal_places() > SCORE_DECIMALS {
                    return Err(InvalidInput::new(
                        "points",
                        "Điểm có tối đa 3 chữ số thập phân",
                    ));
                }
                Ok(())
            }
            (rule, _) => Err(InvalidInput::new(
                "input",
                format!(
                    "Tiêu chí chấm theo quy tắc «{}»: {}",
                    rule.kind().label_vi(),
                    expected_input_vi(rule)
                ),
            )),
        }
    }
}

fn expected_input_vi(rule: &RuleSpec) -> String {
    match rule {
        RuleSpec::Binary => "cần nhập đạt hoặc không đạt".to_owned(),
        RuleSpec::TieredPercent { .. }
        | RuleSpec::Proportional { .. }
        | RuleSpec::ProportionalFloor { .. } => "cần nhập tử số và mẫu số".to_owned(),
        RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => {
            "cần nhập một số lượng".to_owned()
        }
        RuleSpec::Formula { .. } => "cần nhập giá trị các biến của công thức".to_owned(),
        RuleSpec::Survey => "điểm lấy từ kết quả điều tra xã hội học".to_owned(),
        RuleSpec::External { provider } => format!("điểm do {provider} cung cấp"),
    }
}

fn check_fact(field: &'static str, what: &str, value: Decimal) -> Result<(), InvalidInput> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(InvalidInput::new(field, format!("{what} không được âm")));
    }
    if value > Decimal::from(MAX_FACT) {
        return Err(InvalidInput::new(field, format!("{what} quá lớn")));
    }
    if value.normalize().scale() > MAX_FACT_DECIMALS {
        return Err(InvalidInput::new(
            field,
            format!("{what} có tối đa {MAX_FACT_DECIMALS} chữ số thập phân"),
        ));
    }
    Ok(())
}

/// The things a ratio rule counts when its facts are counts (nhiệm vụ, hồ sơ, văn bản):
/// they are whole numbers, as the count of a `count_tiered` or `deduction` rule is. A ratio
/// of amounts of money (counted in đồng: "triệu đồng") may have decimals, as may a ratio
/// that does not say what it counts.
fn counted_things(rule: &RuleSpec) -> Option<&str> {
    let counted = match rule {
        RuleSpec::TieredPercent { counted, .. }
        | RuleSpec::Proportional { counted, .. }
        | RuleSpec::ProportionalFloor { counted, .. } => counted.trim(),
        _ => return None,
    };
    let amount = counted.to_lowercase().ends_with("đồng") || counted.contains('%');
    (!counted.is_empty() && !amount).then_some(counted)
}

/// A fact or parameter as typed, exact, with a decimal comma ("18", "2,5").
fn number_vi(value: Decimal) -> String {
    Points::new(value).exact_vi()
}

/// "18/20 nhiệm vụ" (the counted noun is optional).
fn ratio_vi(numerator: Decimal, denominator: Decimal, counted: &str) -> String {
    let mut s = format!("{}/{}", number_vi(numerator), number_vi(denominator));
    if !counted.is_empty() {
        s.push(' ');
        s.push_str(counted);
    }
    s
}

/// "1,00/2,00 điểm".
fn of_max(points: Points, max: Points) -> String {
    format!("{}/{} điểm", points.display_vi(), max.display_vi())
}

/// A computed score kept to the storage precision, then limited to [0, max].
fn finish(value: Decimal, max: Points) -> Points {
    Points::new(
        value.round_dp_with_strategy(SCORE_DECIMALS, RoundingStrategy::MidpointAwayFromZero),
    )
    .clamp_to_max(max)
}

/// Scores `input` by `rule` on a leaf of maximum `max`, exactly, within [0, max], with a
/// Vietnamese explanation ("18/20 nhiệm vụ = 90,00% → bậc 80–<100% → 1,00/2,00 điểm").
///
/// The input is checked first ([`RuleSpec::check_input`]); whether "not applicable" is
/// allowed on the leaf is the caller's to check (see `IndexSet::evaluate`), so here it is
/// accepted and gives no points.
pub fn evaluate(rule: &RuleSpec, max: Points, input: &LeafInput) -> Result<LeafScore, RuleError> {
    rule.check_input(max, true, input)?;
    if let LeafInput::NotApplicable { reason } = input {
        return Ok(LeafScore {
            points: None,
            explanation: format!("Không áp dụng: {}", reason.trim()),
        });
    }
    let (points, explanation) = match (rule, input) {
        (RuleSpec::Binary, LeafInput::YesNo(yes)) => {
            let points = if *yes { max } else { Points::ZERO };
            let verdict = if *yes { "Đạt" } else { "Không đạt" };
            (points, format!("{verdict} → {}", of_max(points, max)))
        }
        (
            RuleSpec::TieredPercent {
                counted,
                tiers,
                zero_of_zero,
            },
            LeafInput::Ratio {
                numerator,
                denominator,
            },
        ) => tiered_percent(counted, tiers, *zero_of_zero, max, *numerator, *denominator)?,
        (
            RuleSpec::Proportional {
                counted,
                zero_of_zero,
            },
            LeafInput::Ratio {
                numerator,
                denominator,
            },
        ) => proportional(counted, None, *zero_of_zero, max, *numerator, *denominator)?,
        (
            RuleSpec::ProportionalFloor {
                counted,
                floor_percent,
                zero_of_zero,
            },
            LeafInput::Ratio {
                numerator,
                denominator,
            },
        ) => proportional(
            counted,
            Some(*floor_percent),
            *zero_of_zero,
            max,
            *numerator,
            *denominator,
        )?,
        (RuleSpec::CountTiered { counted, tiers }, LeafInput::Count(n)) => {
            count_tiered(counted, tiers, max, *n)
        }
        (
            RuleSpec::Deduction {
                counted,
                start,
                per_violation,
            },
            LeafInput::Count(n),
        ) => deduction(counted, *start, *per_violation, max, *n)?,
        (RuleSpec::Formula { .. }, LeafInput::Variables(values)) => formula(rule, max, values)?,
        (RuleSpec::Survey, LeafInput::Points(p)) => {
            let points = p.clamp_to_max(max);
            (
                points,
                format!("Theo kết quả điều tra xã hội học: {}", of_max(points, max)),
            )
        }
        (RuleSpec::External { provider }, LeafInput::Points(p)) => {
            let points = p.clamp_to_max(max);
            (
                points,
                format!("Do {provider} cung cấp: {}", of_max(points, max)),
            )
        }
        // check_input has refused every other pairing.
        (rule, _) => {
            return Err(RuleError::Input(InvalidInput::new(
                "input",
                expected_input_vi(rule),
            )));
        }
    };
    Ok(LeafScore {
        points: Some(points),
        explanation,
    })
}

/// "0/0 hồ sơ: không có gì để đánh giá → 2,00/2,00 điểm".
fn zero_of_zero_score(counted: &str, mode: ZeroOfZero, max: Points) -> (Points, String) {
    let points = match mode {
        ZeroOfZero::Full => max,
        ZeroOfZero::Zero => Points::ZERO,
    };
    (
        points,
        format!(
            "{}: không có gì để đánh giá → {}",
            ratio_vi(Decimal::ZERO, Decimal::ZERO, counted),
            of_max(points, max)
        ),
    )
}

/// ratio × 100 reaches `min_percent`, compared exactly as numerator × 100 ≥ min × denominator
/// (79,99% never reaches 80%).
fn reaches(
    numerator: Decimal,
    denominator: Decimal,
    min_percent: Decimal,
) -> Result<bool, RuleError> {
    let lhs = numerator
        .checked_mul(Decimal::ONE_HUNDRED)
        .ok_or(RuleError::Overflow)?;
    let rhs = min_percent
        .checked_mul(denominator)
        .ok_or(RuleError::Overflow)?;
    Ok(lhs >= rhs)
}

fn percent_of(numerator: Decimal, denominator: Decimal) -> Result<Decimal, RuleError> {
    numerator
        .checked_mul(Decimal::ONE_HUNDRED)
        .and_then(|n| n.checked_div(denominator))
        .ok_or(RuleError::Overflow)
}

fn tiered_percent(
    counted: &str,
    tiers: &[PercentTier],
    zero_of_zero: ZeroOfZero,
    max: Points,
    numerator: Decimal,
    denominator: Decimal,
) -> Result<(Points, String), RuleError> {
    if denominator.is_zero() {
        return Ok(zero_of_zero_score(counted, zero_of_zero, max));
    }
    // The shown percentage never contradicts the tier chosen from the exact ratio.
    let thresholds: Vec<Decimal> = tiers.iter().map(|t| t.min_percent).collect();
    let head = format!(
        "{} {}",
        ratio_vi(numerator, denominator, counted),
        percent_against_vi(percent_of(numerator, denominator)?, &thresholds)
    );
    for (i, tier) in tiers.iter().enumerate() {
        if reaches(numerator, denominator, tier.min_percent)? {
            let min = number_vi(tier.min_percent);
            let band = match i.checked_sub(1).map(|j| &tiers[j]) {
                Some(upper) => format!("{min}–<{}%", number_vi(upper.min_percent)),
                None if tier.min_percent == Decimal::ONE_HUNDRED => "100%".to_owned(),
                None => format!("≥ {min}%"),
            };
            let points = tier.points.clamp_to_max(max);
            return Ok((
                points,
                format!("{head} → bậc {band} → {}", of_max(points, max)),
            ));
        }
    }
    // "< 80%" already says it when the ratio is too close to 80% to show as a figure.
    let lowest = tiers
        .last()
        .filter(|t| !head.ends_with(&format!("< {}%", number_vi(t.min_percent))))
        .map(|t| format!(" → dưới {}%", number_vi(t.min_percent)))
        .unwrap_or_default();
    Ok((
        Points::ZERO,
        format!("{head}{lowest} → {}", of_max(Points::ZERO, max)),
    ))
}

fn proportional(
    counted: &str,
    floor_percent: Option<Decimal>,
    zero_of_zero: ZeroOfZero,
    max: Points,
    numerator: Decimal,
    denominator: Decimal,
) -> Result<(Points, String), RuleError> {
    if denominator.is_zero() {
        return Ok(zero_of_zero_score(counted, zero_of_zero, max));
    }
    let exact = percent_of(numerator, denominator)?;
    // Against the floor, the shown percentage never contradicts the exact comparison.
    let relation = percent_against_vi(exact, floor_percent.as_slice());
    // The factor of the product: the same figure when it is one ("= 79,9999%" → "79,9999%").
    let percent = relation
        .strip_prefix("= ")
        .map_or_else(|| percent_display_vi(exact), str::to_owned);
    let ratio = ratio_vi(numerator, denominator, counted);
    let mut text = format!("{ratio} {relation}");
    if let Some(floor) = floor_percent {
        let floor_vi = number_vi(floor);
        if !reaches(numerator, denominator, floor)? {
            if relation.starts_with('<') {
                // Too close to the floor to show as a figure: the comparison is the text.
                text = ratio;
            }
            text.push_str(&format!(
                " < ngưỡng {floor_vi}% → {}",
                of_max(Points::ZERO, max)
            ));
            return Ok((Points::ZERO, text));
        }
        text.push_str(&format!(" ≥ ngưỡng {floor_vi}%"));
    }
    // max × min(1, n/d), multiplied before dividing so that exact cases stay exact.
    let raw = if numerator >= denominator {
        max.value()
    } else {
        max.value()
            .checked_mul(numerator)
            .and_then(|p| p.checked_div(denominator))
            .ok_or(RuleError::Overflow)?
    };
    let points = finish(raw, max);
    text.push_str(&format!(
        " → {} × {percent} = {}",
        max.display_vi(),
        of_max(points, max)
    ));
    Ok((points, text))
}

fn count_tiered(counted: &str, tiers: &[CountTier], max: Points, n: u64) -> (Points, String) {
    let what = if counted.is_empty() {
        n.to_string()
    } else {
        format!("{n} {counted}")
    };
    let mut lower = 0u64;
    for tier in tiers {
        if n <= tier.max_count {
            let band = if lower >= tier.max_count {
                tier.max_count.to_string()
            } else {
                format!("{lower}–{}", tier.max_count)
            };
            let points = tier.points.clamp_to_max(max);
            return (
                points,
                format!("{what} → bậc {band} → {}", of_max(points, max)),
            );
        }
        lower = tier.max_count.saturating_add(1);
    }
    let above = tiers
        .last()
        .map(|t| format!(" > {}", t.max_count))
        .unwrap_or_default();
    (
        Points::ZERO,
        format!("{what}{above} → {}", of_max(Points::ZERO, max)),
    )
}

fn deduction(
    counted: &str,
    start: Points,
    per_violation: Points,
    max: Points,
    n: u64,
) -> Result<(Points, String), RuleError> {
    let what = if counted.is_empty() {
        n.to_string()
    } else {
        format!("{n} {counted}")
    };
    let deducted = per_violation
        .checked_mul(Decimal::from(n))
        .ok_or(RuleError::Overflow)?;
    let raw = start
        .value()
        .checked_sub(deducted.value())
        .ok_or(RuleError::Overflow)?;
    let points = finish(raw, max);
    let arrow = if raw < Decimal::ZERO {
        format!("{} − {} < 0", start.display_vi(), deducted.display_vi())
    } else {
        format!("{} − {}", start.display_vi(), deducted.display_vi())
    };
    let sep = if raw < Decimal::ZERO { " → " } else { " = " };
    Ok((
        points,
        format!(
            "{what} × {} = {} → {arrow}{sep}{}",
            per_violation.display_vi(),
            deducted.display_vi(),
            of_max(points, max)
        ),
    ))
}

fn formula(
    rule: &RuleSpec,
    max: Points,
    values: &BTreeMap<String, Decimal>,
) -> Result<(Points, String), RuleError> {
    let Some(parsed) = rule.parse_formula() else {
        return Err(RuleError::Input(InvalidInput::new(
            "input",
            expected_input_vi(rule),
        )));
    };
    let parsed = parsed?;
    let raw = parsed.eval(values)?;
    let points = finish(raw, max);
    let assignments = values
        .iter()
        .map(|(k, v)| format!("{k} = {}", number_vi(*v)))
        .collect::<Vec<_>>()
        .join(", ");
    // Rendered without values: the names stay, numbers get a decimal comma, × and ÷.
    let expression = parsed.explain(&BTreeMap::new());
    let value = Points::new(raw);
    let limit = if value > max {
        format!(" > {} ", max.display_vi())
    } else if raw < Decimal::ZERO {
        " < 0 ".to_owned()
    } else {
        " ".to_owned()
    };
    Ok((
        points,
        format!(
            "{assignments} → {expression} = {}{limit}→ {}",
            value.display_vi(),
            of_max(points, max)
        ),
    ))
}

/// The total after bonus and penalty: Σ leaves + min(bonus_cap, Σ bonus) −
/// min(penalty_cap, Σ penalty), never below 0. Negative items count as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjusted {
    /// The sum before adjustments.
    pub sum: Points,
    /// The bonus actually added (after the cap).
    pub bonus: Points,
    /// The penalty actually subtracted (after the cap).
    pub penalty: Points,
    pub total: Points,
}

/// Applies bonus and penalty items to `sum`, each side capped (docs/index-set-format.md).
pub fn apply_adjustments(
    sum: Points,
    bonuses: &[Points],
    penalties: &[Points],
    bonus_cap: Points,
    penalty_cap: Points,
) -> Adjusted {
    let bonus = capped_sum(bonuses, bonus_cap);
    let penalty = capped_sum(penalties, penalty_cap);
    let total = sum
        .checked_add(bonus)
        .and_then(|t| t.checked_sub(penalty))
        .unwrap_or(sum)
        .max(Points::ZERO);
    Adjusted {
        sum,
        bonus,
        penalty,
        total,
    }
}

fn capped_sum(items: &[Points], cap: Points) -> Points {
    let cap = cap.max(Points::ZERO);
    let mut acc = Points::ZERO;
    for item in items {
        match acc.checked_add((*item).max(Points::ZERO)) {
            Some(next) if next < cap => acc = next,
            _ => return cap,
        }
    }
    acc
}

#[cfg(test)]
mod tests;
