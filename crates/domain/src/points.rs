//! Points: exact decimal scores, stored as integer thousandths of a point, shown with a decimal comma.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Sub, SubAssign};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An exact score. Never a float: results are published with 2 decimals and ranks depend on
/// exact equality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Points(Decimal);

/// Scores are stored as whole thousandths of a point (1,5 points = 1500).
pub const MILLIPOINTS_PER_POINT: i64 = 1000;

impl Points {
    pub const ZERO: Points = Points(Decimal::ZERO);

    pub fn new(value: Decimal) -> Self {
        Points(value)
    }

    /// A whole number of points.
    pub fn from_int(value: i64) -> Self {
        Points(Decimal::from(value))
    }

    pub fn value(self) -> Decimal {
        self.0
    }

    /// Parses user input exactly, accepting a decimal comma ("1,25") or point ("1.25"); see
    /// [`parse_exact`] for what is refused.
    pub fn parse(input: &str) -> Option<Points> {
        parse_exact(input).map(Points)
    }

    /// The stored form: thousandths of a point, or None when the value has finer precision
    /// than storage keeps (the caller must refuse it rather than silently round).
    pub fn to_millipoints(self) -> Option<i64> {
        let scaled = self.0 * Decimal::from(MILLIPOINTS_PER_POINT);
        if scaled.fract() != Decimal::ZERO {
            return None;
        }
        scaled.to_i64()
    }

    pub fn from_millipoints(millis: i64) -> Points {
        Points(Decimal::new(millis, 3).normalize())
    }

    /// The one place rounding happens: half-up (away from zero) to 2 decimals, the figure
    /// a decision publishes (90,654 → 90,65; 90,655 → 90,66). Ranks and bands are decided on
    /// this figure, so what the page shows is what decides.
    pub fn published(self) -> Decimal {
        self.0
            .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    }

    /// The published figure with a decimal comma ("90,65").
    pub fn display_vi(self) -> String {
        let rounded = self.published();
        format!("{rounded:.2}").replace('.', ",")
    }

    /// The exact value with a decimal comma and no trailing zeros ("0,5", "75"), for texts
    /// that quote a set's own numbers (maxima, tiers) rather than a computed result.
    pub fn exact_vi(self) -> String {
        self.0.normalize().to_string().replace('.', ",")
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    /// How many decimal places the value really has (1,500 has 1).
    pub fn decimal_places(self) -> u32 {
        self.0.normalize().scale()
    }

    /// The value limited to [0, max]: every score ends here. Never panics, even when `max`
    /// is negative (the result is then 0).
    pub fn clamp_to_max(self, max: Points) -> Points {
        if self.0 > max.0 {
            max.max(Points::ZERO)
        } else if self.0 < Decimal::ZERO {
            Points::ZERO
        } else {
            self
        }
    }

    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    pub fn checked_sub(self, other: Points) -> Option<Points> {
        self.0.checked_sub(other.0).map(Points)
    }

    pub fn checked_mul(self, factor: Decimal) -> Option<Points> {
        self.0.checked_mul(factor).map(Points)
    }
}

/// Parses a decimal typed by a person, exactly: an optional minus sign, digits, and
/// optionally a decimal comma or point followed by digits ("12", "-0,5", "1.25"), with
/// white space around it. Anything else is refused rather than guessed at: digit separators
/// (`1_000`, `1.000,5`), exponents (`1E2`), a plus sign, a bare separator (`1.`, `.5`), and a
/// value with more digits than a Decimal holds exactly (which plain parsing would round:
/// 0,99999999999999999999999999999999 would become 1).
pub fn parse_exact(input: &str) -> Option<Decimal> {
    let text = input.trim();
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = match unsigned.split_once([',', '.']) {
        Some((w, f)) => (w, Some(f)),
        None => (unsigned, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || fraction.is_some_and(|f| !digits(f)) {
        return None;
    }
    Decimal::from_str_exact(&text.replace(',', ".")).ok()
}

/// Parses a whole, non-negative count typed by a person: digits only ("12"), with white
/// space around it; no sign, separator or exponent.
pub fn parse_count(input: &str) -> Option<u64> {
    let text = input.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// A percentage (already × 100) as published: 2 decimals, half-up, decimal comma, "%"
/// ("90,65%"). Rounds through [`Points::display_vi`], the one display rounding place.
pub fn percent_display_vi(percent: Decimal) -> String {
    format!("{}%", Points(percent).display_vi())
}

/// part ÷ whole as a whole percentage, rounded half-up (6 of 7 is 86 %, not the truncated
/// 85 %); 0 when there is nothing to count. For progress figures ("86% (6/7)").
pub fn whole_percent(part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    let (part, whole) = (part as u128, whole as u128);
    u32::try_from((part * 200 + whole) / (whole * 2)).unwrap_or(u32::MAX)
}

/// The most decimals an explanation shows to keep a percentage on the right side of a
/// threshold (79,9999% against 80%); closer than that, it says "< 80%" instead.
const MAX_THRESHOLD_DECIMALS: u32 = 6;

/// A percentage for an explanation that compares it with `thresholds` (tiers, a floor):
/// "= 90,00%" as published, unless the 2-decimal figure would fall on the other side of a
/// threshold than the exact ratio (799999/1000000 shows as 80,00% but is below 80%). Then
/// more decimals are shown, up to [`MAX_THRESHOLD_DECIMALS`] ("= 79,9999%"), and past that
/// the comparison itself ("< 80%"). Display only: the score is decided on the exact ratio.
pub fn percent_against_vi(percent: Decimal, thresholds: &[Decimal]) -> String {
    let wrong_side = |shown: Decimal| {
        thresholds
            .iter()
            .find(|t| (percent >= **t) != (shown >= **t))
    };
    if wrong_side(Points(percent).published()).is_none() {
        return format!("= {}", percent_display_vi(percent));
    }
    for places in 3..=MAX_THRESHOLD_DECIMALS {
        let shown = percent
            .round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        if wrong_side(shown).is_none() {
            let text = format!("{shown:.prec$}", prec = places as usize);
            return format!("= {}%", text.replace('.', ","));
        }
    }
    let shown = percent.round_dp_with_strategy(
        MAX_THRESHOLD_DECIMALS,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    );
    match wrong_side(shown) {
        Some(t) if percent < *t => format!("< {}%", Points(*t).exact_vi()),
        Some(t) => format!("≥ {}%", Points(*t).exact_vi()),
        None => format!("= {}%", Points(shown).exact_vi()),
    }
}

impl fmt::Display for Points {
    /// The published form, as [`Points::display_vi`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_vi())
    }
}

// Sums of a validated set are bounded far below Decimal's range (see index_set), so the
// panicking operators are safe there; code handling user-supplied magnitudes uses `checked_*`.
impl Add for Points {
    type Output = Points;
    fn add(self, other: Points) -> Points {
        Points(self.0 + other.0)
    }
}

impl Sub for Points {
    type Output = Points;
    fn sub(self, other: Points) -> Points {
        Points(self.0 - other.0)
    }
}

impl AddAssign for Points {
    fn add_assign(&mut self, other: Points) {
        self.0 += other.0;
    }
}

impl SubAssign for Points {
    fn sub_assign(&mut self, other: Points) {
        self.0 -= other.0;
    }
}

impl Mul<Decimal> for Points {
    type Output = Points;
    fn mul(self, factor: Decimal) -> Points {
        Points(self.0 * factor)
    }
}

impl Sum for Points {
    fn sum<I: Iterator<Item = Points>>(iter: I) -> Points {
        iter.fold(Points::ZERO, Add::add)
    }
}

impl<'a> Sum<&'a Points> for Points {
    fn sum<I: Iterator<Item = &'a Points>>(iter: I) -> Points {
        iter.copied().sum()
    }
}

impl Serialize for Points {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        exact::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Points {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        exact::deserialize(deserializer).map(Points)
    }
}

/// Serde for exact decimals in hand-edited documents (points, percentages), usable with
/// `#[serde(with = "crate::points::exact")]`.
///
/// Reading accepts integers, strings with a decimal comma or point, and floats. A float is
/// taken through its shortest round-trip text (`0.1` → "0.1" → 0.1), so a YAML or JSON
/// number means the decimal the user typed, not its binary approximation.
///
/// Writing gives a plain number (an integer, or a float whose shortest text is exactly the
/// decimal) so the file stays pleasant to edit, and a string otherwise, so nothing is lost.
pub mod exact {
    use std::fmt;

    use rust_decimal::Decimal;
    use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
        let value = value.normalize();
        if value.fract().is_zero()
            && let Some(int) = value.to_i64()
        {
            return serializer.serialize_i64(int);
        }
        // Only where any reader gets the float back exactly: a mantissa within 2^53 and at
        // most 22 decimals is parsed by the exact fast path of every decimal-to-binary
        // parser (serde_json's default parser rounds longer ones by an ulp: 15742051256.122133
        // came back as …131). Anything longer is written as a string.
        if value.mantissa().unsigned_abs() < (1u128 << 53)
            && value.scale() <= 22
            && let Some(float) = value.to_f64()
            && float.is_finite()
            && parse_text(&format!("{float}")) == Some(value)
        {
            return serializer.serialize_f64(float);
        }
        serializer.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        deserializer.deserialize_any(ExactVisitor)
    }

    /// Parses "1,25", "1.25", " 2 " exactly; None for anything else (including values with
    /// more digits than a Decimal holds, which would otherwise be rounded silently).
    pub fn parse_text(input: &str) -> Option<Decimal> {
        super::parse_exact(input)
    }

    struct ExactVisitor;

    impl Visitor<'_> for ExactVisitor {
        type Value = Decimal;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("một số thập phân (ví dụ 0,5 hoặc 1.25)")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Decimal, E> {
            Ok(Decimal::from(v))
        }

        fn visit_i128<E: de::Error>(self, v: i128) -> Result<Decimal, E> {
            Decimal::from_i128(v).ok_or_else(|| E::custom(too_large(&v.to_string())))
        }

        fn visit_u128<E: de::Error>(self, v: u128) -> Result<Decimal, E> {
            Decimal::from_u128(v).ok_or_else(|| E::custom(too_large(&v.to_string())))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Decimal, E> {
            let text = format!("{v}");
            if !v.is_finite() {
                return Err(E::custom(format!("«{text}» không phải là một số hữu hạn")));
            }
            parse_text(&text).ok_or_else(|| E::custom(too_large(&text)))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Decimal, E> {
            parse_text(v).ok_or_else(|| {
                E::custom(format!(
                    "«{v}» không phải là số thập phân hợp lệ (ví dụ 0,5 hoặc 1.25)"
                ))
            })
        }
    }

    fn too_large(text: &str) -> String {
        format!("Số «{text}» quá lớn hoặc có quá nhiều chữ số")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_decimal_comma_and_rounds_half_up_for_display() {
        let p = Points::parse("90,645").unwrap();
        assert_eq!(p.display_vi(), "90,65");
        assert_eq!(p.to_millipoints(), Some(90645));
        assert_eq!(Points::from_millipoints(90645), p);
        assert_eq!(Points::parse("1.0005").unwrap().to_millipoints(), None);
        assert_eq!(Points::parse("x"), None);
    }

    fn json(p: Points) -> String {
        serde_json::to_string(&p).unwrap()
    }

    fn from_json(text: &str) -> Result<Points, serde_json::Error> {
        serde_json::from_str(text)
    }

    #[test]
    fn serde_reads_numbers_and_strings_exactly() {
        assert_eq!(from_json("0.1").unwrap(), Points::parse("0.1").unwrap());
        assert_eq!(from_json("7").unwrap(), Points::from_int(7));
        assert_eq!(from_json("-2").unwrap(), Points::from_int(-2));
        assert_eq!(from_json("\"0,5\"").unwrap(), Points::parse("0.5").unwrap());
        assert_eq!(
            from_json("\" 1.25 \"").unwrap(),
            Points::parse("1.25").unwrap()
        );
        assert_eq!(from_json("1e3").unwrap(), Points::from_int(1000));
        assert!(from_json("\"một\"").is_err());
        assert!(from_json("true").is_err());
        assert!(from_json("1e300").is_err());
        let err = from_json("\"x\"").unwrap_err().to_string();
        assert!(err.contains("không phải là số thập phân"), "{err}");
    }

    #[test]
    fn serde_writes_plain_numbers_when_exact() {
        assert_eq!(json(Points::from_int(75)), "75");
        assert_eq!(json(Points::parse("1.500").unwrap()), "1.5");
        assert_eq!(json(Points::parse("0,1").unwrap()), "0.1");
        // 28 significant digits do not survive an f64: written as a string.
        let fine = Points::parse("0.1234567890123456789012345678").unwrap();
        assert_eq!(json(fine), "\"0.1234567890123456789012345678\"");
        assert_eq!(from_json(&json(fine)).unwrap(), fine);
    }

    #[test]
    fn arithmetic_and_clamping() {
        let half = Points::parse("0,5").unwrap();
        let one = Points::from_int(1);
        assert_eq!(half + half, one);
        assert_eq!(one - half, half);
        assert_eq!(one * Decimal::new(25, 2), Points::parse("0.25").unwrap());
        assert_eq!(
            [half, half, one].iter().sum::<Points>(),
            Points::from_int(2)
        );
        assert_eq!(Points::from_int(3).clamp_to_max(one), one);
        assert_eq!(Points::from_int(-3).clamp_to_max(one), Points::ZERO);
        assert_eq!(half.clamp_to_max(one), half);
        assert_eq!(half.exact_vi(), "0,5");
        assert_eq!(Points::from_int(100).exact_vi(), "100");
        assert_eq!(Points::parse("1.250").unwrap().decimal_places(), 2);
        assert_eq!(percent_display_vi(Decimal::new(906_549, 4)), "90,65%");
    }

    #[test]
    fn a_percentage_near_a_threshold_is_never_shown_on_the_wrong_side() {
        let eighty = [Decimal::from(80)];
        let pct = |text: &str| text.parse::<Decimal>().unwrap();
        assert_eq!(percent_against_vi(pct("90"), &eighty), "= 90,00%");
        assert_eq!(percent_against_vi(pct("79.99"), &eighty), "= 79,99%");
        assert_eq!(percent_against_vi(pct("80"), &eighty), "= 80,00%");
        assert_eq!(percent_against_vi(pct("79.9999"), &eighty), "= 79,9999%");
        assert_eq!(percent_against_vi(pct("79.996"), &eighty), "= 79,996%");
        assert_eq!(percent_against_vi(pct("79.99999999"), &eighty), "< 80%");
        // Both tiers count: 99,999% reaches 80% but not 100%.
        assert_eq!(
            percent_against_vi(pct("99.999"), &[Decimal::from(100), Decimal::from(80)]),
            "= 99,999%"
        );
        // A threshold with decimals, exceeded by less than the rounding.
        assert_eq!(
            percent_against_vi(pct("80.0049"), &[pct("80.004")]),
            "= 80,005%"
        );
    }
}
