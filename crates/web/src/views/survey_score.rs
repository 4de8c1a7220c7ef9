//! A survey leaf's result as the pages show it (the sheet, the survey's scores and report).

use parindex_domain::survey::LeafSurveyScore;
use rust_decimal::Decimal;

/// A survey leaf's result, formatted the Vietnamese way.
#[derive(Debug, Clone)]
pub struct SurveyView {
    pub points: String,
    pub valid: usize,
    pub dont_know: usize,
    pub mean: String,
    /// "[a%; b%]", or empty below two answers.
    pub interval: String,
    pub below_minimum: bool,
}

/// A percentage of a fraction 0–1, the Vietnamese way ("65,00%").
pub fn pct(fraction: Decimal) -> String {
    parindex_domain::points::percent_display_vi(fraction * Decimal::ONE_HUNDRED)
}

impl SurveyView {
    pub fn of(s: &LeafSurveyScore) -> SurveyView {
        SurveyView {
            points: s
                .points
                .map(|p| p.display_vi())
                .unwrap_or_else(|| "—".into()),
            valid: s.valid,
            dont_know: s.dont_know,
            mean: s.mean.map(pct).unwrap_or_else(|| "—".into()),
            interval: match (s.ci_low, s.ci_high) {
                (Some(a), Some(b)) => format!("[{}; {}]", pct(a), pct(b)),
                _ => String::new(),
            },
            below_minimum: s.below_minimum,
        }
    }
}
