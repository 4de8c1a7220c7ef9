//! A survey leaf's result as the sheet and the survey review show it.

use parindex_domain::points::percent_display_vi;
use parindex_domain::survey::LeafSurveyScore;

/// A survey leaf's result, formatted.
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

impl SurveyView {
    pub fn of(s: &LeafSurveyScore) -> SurveyView {
        let pct =
            |d: rust_decimal::Decimal| percent_display_vi(d * rust_decimal::Decimal::ONE_HUNDRED);
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
