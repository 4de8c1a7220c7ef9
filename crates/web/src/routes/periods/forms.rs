//! The forms of the periods area, each turned into the use case's input.

use parindex_app::periods::PeriodInput;
use serde::Deserialize;

/// The period form; `set_<GROUP>` fields name the set for each group, `unit_<ID>` the
/// participating units.
#[derive(Deserialize)]
pub struct PeriodForm {
    #[serde(default)]
    year: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    self_open: String,
    #[serde(default)]
    self_close: String,
    #[serde(default)]
    explanation_due: String,
    #[serde(default)]
    appraisal_open: String,
    #[serde(default)]
    appraisal_close: String,
    #[serde(default)]
    bonus_cap: String,
    #[serde(default)]
    penalty_cap: String,
    #[serde(default)]
    band_good: String,
    #[serde(default)]
    band_fair: String,
    #[serde(default)]
    band_average: String,
    #[serde(default)]
    appraisal_rounds: String,
    #[serde(flatten)]
    sets: std::collections::BTreeMap<String, String>,
}

impl PeriodForm {
    pub fn input(self) -> PeriodInput {
        PeriodInput {
            year: self.year,
            name: self.name,
            self_open: self.self_open,
            self_close: self.self_close,
            explanation_due: self.explanation_due,
            appraisal_open: self.appraisal_open,
            appraisal_close: self.appraisal_close,
            bonus_cap: self.bonus_cap,
            penalty_cap: self.penalty_cap,
            band_good: self.band_good,
            band_fair: self.band_fair,
            band_average: self.band_average,
            appraisal_rounds: self.appraisal_rounds,
            sets: self.sets,
        }
    }
}

#[derive(Deserialize)]
pub struct BoardQuery {
    pub ok: Option<String>,
    #[serde(default)]
    pub group: String,
    /// Codes of ticked units left out at creation (their group has no set).
    #[serde(default)]
    pub skipped: String,
}

#[derive(Deserialize)]
pub struct ExtensionForm {
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Deserialize)]
pub struct ReopenForm {
    #[serde(default)]
    pub reason: String,
}
