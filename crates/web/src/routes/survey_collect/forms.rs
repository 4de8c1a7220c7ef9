//! The forms and queries of the survey collection, typed.

use parindex_app::survey_collect::{LinkRequest, PaperInput};
use serde::Deserialize;

/// How generated links are handed out.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LinkFormat {
    /// A printable page with a QR code per link (also when the field is left out).
    #[default]
    #[serde(alias = "")]
    Page,
    /// A CSV attachment `link,unit,batch`.
    Csv,
    #[serde(other)]
    Unknown,
}

#[derive(Deserialize, Default)]
pub struct GenerateForm {
    #[serde(default)]
    pub count: String,
    #[serde(default)]
    pub batch: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub format: LinkFormat,
}

impl GenerateForm {
    pub fn request(&self) -> LinkRequest {
        LinkRequest {
            count: self.count.clone(),
            batch: self.batch.clone(),
            unit: self.unit.clone(),
        }
    }
}

/// Which entry of a double entry (`1` or `2`).
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum EntryNo {
    #[serde(rename = "1")]
    First,
    #[serde(rename = "2")]
    Second,
    #[serde(other)]
    Unknown,
}

impl EntryNo {
    pub fn number(self) -> &'static str {
        match self {
            EntryNo::Second => "2",
            EntryNo::First | EntryNo::Unknown => "1",
        }
    }
}

/// `?done=<paper ref>&entry=<1|2>` after a paper form was saved.
#[derive(Deserialize)]
pub struct PaperQuery {
    pub done: Option<String>,
    pub entry: Option<EntryNo>,
}

fn field(fields: &[(String, String)], name: &str) -> String {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default()
}

/// A keyed paper form: its answers are `a:{unit}:{question}` fields, so it is read as a list.
pub fn paper_input(fields: Vec<(String, String)>) -> PaperInput {
    PaperInput {
        paper_ref: field(&fields, "paper_ref"),
        entry_no: field(&fields, "entry_no"),
        fields,
    }
}

/// What the respondent pressed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum PublicAction {
    /// "Lưu để làm tiếp" (also when no button is named).
    Save,
    /// "Gửi phiếu".
    Submit,
}

impl PublicAction {
    /// The `action` field of the respondent's form; `None` for an unknown value.
    pub fn of(fields: &[(String, String)]) -> Option<PublicAction> {
        match fields
            .iter()
            .find(|(k, _)| k == "action")
            .map(|(_, v)| v.as_str())
        {
            Some("submit") => Some(PublicAction::Submit),
            Some("save") | None => Some(PublicAction::Save),
            Some(_) => None,
        }
    }
}

/// `?saved=1` after a draft was saved.
#[derive(Deserialize)]
pub struct PublicQuery {
    pub saved: Option<String>,
}
