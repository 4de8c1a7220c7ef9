//! What the appraisal requests carry.

use std::collections::BTreeMap;

use parindex_app::appraisal::AdjustmentInput;
use parindex_app::sheet::{LeafSave, LeafSide};
use serde::Deserialize;

use crate::error::WebError;

/// `?ok=…` after a redirect: which notice to show.
#[derive(Debug, Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

/// An appraised value's form: the rule's fields vary by leaf, so they stay a map; the
/// version, the remark, the flag and "accept the unit's facts" are read out of it.
pub fn appraisal_save(
    period_id: i64,
    unit_id: i64,
    code: String,
    fields: BTreeMap<String, String>,
) -> LeafSave {
    let version = fields
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let remark = fields
        .get("remark")
        .map(|r| r.trim().to_owned())
        .unwrap_or_default();
    let side = LeafSide::Appraisal {
        remark,
        flag: fields.contains_key("flag"),
        accept: fields.contains_key("accept"),
    };
    LeafSave {
        period_id,
        unit_id,
        code,
        version,
        fields,
        side,
    }
}

#[derive(Debug, Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    item: String,
    #[serde(default)]
    points: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    evidence_id: String,
}

impl AdjustmentForm {
    /// The item as typed; an evidence id that is not a number names no file.
    pub fn input(self) -> Result<AdjustmentInput, WebError> {
        let evidence_id = match self.evidence_id.trim() {
            "" => None,
            id => Some(id.parse::<i64>().map_err(|_| WebError::NotFound)?),
        };
        Ok(AdjustmentInput {
            item: self.item,
            points: self.points,
            reason: self.reason,
            evidence_id,
        })
    }
}

#[derive(Debug, Deserialize)]
pub struct RemoveForm {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
pub struct ExplanationForm {
    #[serde(default)]
    pub response: String,
    #[serde(default)]
    pub version: String,
}

/// The page a comment was written on, to go back to.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Back {
    #[default]
    Appraisal,
    Explanation,
}

#[derive(Debug, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    pub body: String,
    #[serde(default, deserialize_with = "back_or_default")]
    pub back: Back,
}

/// Any other value of `back` goes back to the appraisal page, as before.
fn back_or_default<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Back, D::Error> {
    let text = String::deserialize(d)?;
    Ok(if text == "explanation" {
        Back::Explanation
    } else {
        Back::Appraisal
    })
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    #[serde(default)]
    pub leaf: Option<String>,
}
