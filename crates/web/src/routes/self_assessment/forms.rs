//! What the sheet's requests carry.

use std::collections::BTreeMap;

use axum::http::{HeaderMap, header};
use parindex_app::sheet::{LeafSave, LeafSide};
use serde::Deserialize;

/// `?ok=…` after a redirect: which notice to show.
#[derive(Debug, Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

/// The formats the report downloads in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Xlsx,
    Pdf,
}

impl ReportFormat {
    /// The format named by the path's last segment; another name is no page.
    pub fn parse(name: &str) -> Option<ReportFormat> {
        match name {
            "xlsx" => Some(ReportFormat::Xlsx),
            "pdf" => Some(ReportFormat::Pdf),
            _ => None,
        }
    }
}

/// A leaf's form: the rule's fields vary by leaf (`value`, `numerator`, `var_a`, `na`), so
/// they stay a map; `version` and `note` are read out of it.
pub fn leaf_save(
    period_id: i64,
    unit_id: i64,
    code: String,
    fields: BTreeMap<String, String>,
) -> LeafSave {
    let version = fields
        .get("version")
        .and_then(|v| v.trim().parse::<i64>().ok());
    let note = fields
        .get("note")
        .map(|n| n.trim().to_owned())
        .unwrap_or_default();
    LeafSave {
        period_id,
        unit_id,
        code,
        version,
        fields,
        side: LeafSide::SelfAssessment { note },
    }
}

/// Whether the autosave script asked for a JSON answer.
pub fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/json"))
}
