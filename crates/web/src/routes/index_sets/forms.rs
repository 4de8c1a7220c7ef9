//! The index-set forms and queries, as typed.

use parindex_app::index_sets::{AdjustmentInput, MetaInput, NewSetInput, NodeInput};
use parindex_domain::index_set::AdjustmentKind;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct NewSetForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub unit_group: String,
}

impl NewSetForm {
    pub fn input(&self) -> NewSetInput {
        NewSetInput {
            code: self.code.clone(),
            title: self.title.clone(),
            year: self.year.clone(),
            unit_group: self.unit_group.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct VersionForm {
    pub version: i64,
}

#[derive(Deserialize)]
pub struct CloneForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub year: String,
}

/// A node as the edit form shows it; the rule is its text form (`kind: …` plus parameters).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub max: String,
    #[serde(default)]
    pub method: String,
    #[serde(default)]
    pub evidence: String,
    #[serde(default)]
    pub applies_to: String,
    #[serde(default)]
    pub not_applicable_allowed: Option<String>,
    #[serde(default)]
    pub sum_exempt: Option<String>,
    #[serde(default)]
    pub rule: String,
    #[serde(default)]
    pub version: String,
}

impl NodeForm {
    pub fn input(&self) -> NodeInput {
        NodeInput {
            title: self.title.clone(),
            title_en: self.title_en.clone(),
            max: self.max.clone(),
            method: self.method.clone(),
            evidence: self.evidence.clone(),
            applies_to: self.applies_to.clone(),
            not_applicable_allowed: self.not_applicable_allowed.is_some(),
            sum_exempt: self.sum_exempt.is_some(),
            rule: self.rule.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct AddNodeForm {
    /// Empty for a new domain.
    #[serde(default)]
    pub parent: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub max: String,
    pub version: i64,
}

#[derive(Deserialize)]
pub struct DiffQuery {
    pub old: i64,
    pub new: i64,
}

#[derive(Deserialize)]
pub struct MappingForm {
    pub from_set: i64,
    #[serde(default)]
    pub pairs: String,
}

/// The document fields of a set, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub title_en: String,
    #[serde(default)]
    pub year: String,
    #[serde(default)]
    pub unit_group: String,
    #[serde(default)]
    pub illustrative: Option<String>,
    #[serde(default)]
    pub source_document: String,
    #[serde(default)]
    pub scale: String,
    #[serde(default)]
    pub appraised_max: String,
    #[serde(default)]
    pub survey_max: String,
    #[serde(default)]
    pub bonus_cap: String,
    #[serde(default)]
    pub penalty_cap: String,
    #[serde(default)]
    pub version: String,
}

impl MetaForm {
    pub fn input(&self) -> MetaInput {
        MetaInput {
            code: self.code.clone(),
            title: self.title.clone(),
            title_en: self.title_en.clone(),
            year: self.year.clone(),
            unit_group: self.unit_group.clone(),
            illustrative: self.illustrative.is_some(),
            source_document: self.source_document.clone(),
            scale: self.scale.clone(),
            appraised_max: self.appraised_max.clone(),
            survey_max: self.survey_max.clone(),
            bonus_cap: self.bonus_cap.clone(),
            penalty_cap: self.penalty_cap.clone(),
        }
    }
}

/// Bonus or penalty, as the select sends it; anything else is no choice (the use case says
/// to choose).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KindChoice {
    Bonus,
    Penalty,
    #[default]
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub kind: KindChoice,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub max: String,
    #[serde(default)]
    pub method: String,
    pub version: i64,
}

impl AdjustmentForm {
    pub fn input(&self) -> AdjustmentInput {
        AdjustmentInput {
            code: self.code.clone(),
            kind: match self.kind {
                KindChoice::Bonus => Some(AdjustmentKind::Bonus),
                KindChoice::Penalty => Some(AdjustmentKind::Penalty),
                KindChoice::Unknown => None,
            },
            title: self.title.clone(),
            max: self.max.clone(),
            method: self.method.clone(),
        }
    }
}
