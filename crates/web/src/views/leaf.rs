//! A leaf's input form and stored value, as the self-assessment sheet and the appraisal page
//! show them: the input boxes its rule asks for, the typed values, the score, the evidence.

use std::collections::BTreeMap;

use parindex_domain::Points;
use parindex_domain::index_set::Node;
use parindex_domain::rules::{LeafInput, RuleSpec};
use parindex_store::evidence_library::Citation;
use parindex_store::periods::LeafEntry;

use crate::i18n::Lang;
use crate::page::datetime_vi;

/// The input boxes a leaf shows, by rule kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    YesNo,
    Ratio { counted: String },
    Count { counted: String },
    Variables { vars: Vec<VariableView> },
    ReadOnly { source: String },
}

/// A formula variable's input box.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableView {
    pub name: String,
    pub label: String,
}

/// A cited evidence file, with a link to it.
#[derive(Debug, Clone)]
pub struct EvidenceLink {
    pub citation_id: i64,
    pub id: i64,
    pub name: String,
    pub reference: String,
    /// Shown in the browser (PDF, images) rather than only downloaded.
    pub viewable: bool,
}

impl EvidenceLink {
    pub fn of(c: &Citation) -> EvidenceLink {
        EvidenceLink {
            citation_id: c.id,
            id: c.file.id,
            name: c.file.display_name.clone(),
            reference: c.reference.clone(),
            viewable: parindex_app::evidence::viewable(&c.file.content_type),
        }
    }
}

/// A leaf with its input form.
pub struct LeafView {
    pub code: String,
    pub title: String,
    pub max: String,
    pub method: String,
    pub evidence: String,
    pub input: InputKind,
    /// Current values as typed, by field name.
    pub values: BTreeMap<String, String>,
    pub yes: Option<bool>,
    pub na_allowed: bool,
    pub na: bool,
    pub na_reason: String,
    pub note: String,
    pub score: String,
    pub explanation: String,
    pub version: i64,
    pub needs_explanation: bool,
    pub updated: String,
    pub files: Vec<EvidenceLink>,
}

impl LeafView {
    /// The typed value of an input field, or empty.
    pub fn value(&self, field: &str) -> &str {
        self.values.get(field).map(String::as_str).unwrap_or("")
    }

    /// The typed value of a formula variable, or empty.
    pub fn var_value(&self, name: &str) -> &str {
        self.values
            .get(&format!("var_{name}"))
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Whether the leaf is read-only for the unit (survey, external).
    pub fn read_only(&self) -> bool {
        matches!(self.input, InputKind::ReadOnly { .. })
    }

    /// The unit's facts as one line of text.
    pub fn facts_line(&self, lang: Lang) -> String {
        if self.na {
            return format!("{}: {}", lang.t("sheet.not_applicable"), self.na_reason);
        }
        if let Some(yes) = self.yes {
            return lang
                .t(if yes { "sheet.yes" } else { "sheet.no" })
                .to_owned();
        }
        self.values
            .iter()
            .map(|(k, v)| {
                let label = match k.as_str() {
                    "numerator" => lang.t("sheet.numerator").to_owned(),
                    "denominator" => lang.t("sheet.denominator").to_owned(),
                    "count" => lang.t("sheet.count").to_owned(),
                    other => other.trim_start_matches("var_").to_owned(),
                };
                format!("{label} {v}")
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// A decimal as typed in Vietnamese ("12,5").
pub fn decimal_text(d: &rust_decimal::Decimal) -> String {
    d.normalize().to_string().replace('.', ",")
}

/// A stored score as shown: points, or "not applicable".
pub fn score_text(lang: Lang, score_milli: Option<i64>, not_applicable: bool) -> String {
    if not_applicable {
        lang.t("sheet.not_applicable").to_owned()
    } else {
        score_milli
            .map(|m| Points::from_millipoints(m).display_vi())
            .unwrap_or_default()
    }
}

fn input_kind(lang: Lang, rule: Option<&RuleSpec>) -> InputKind {
    match rule {
        Some(RuleSpec::Binary) => InputKind::YesNo,
        Some(
            RuleSpec::TieredPercent { counted, .. }
            | RuleSpec::Proportional { counted, .. }
            | RuleSpec::ProportionalFloor { counted, .. },
        ) => InputKind::Ratio {
            counted: counted.clone(),
        },
        Some(RuleSpec::CountTiered { counted, .. } | RuleSpec::Deduction { counted, .. }) => {
            InputKind::Count {
                counted: counted.clone(),
            }
        }
        Some(RuleSpec::Formula { variables, .. }) => InputKind::Variables {
            vars: variables
                .iter()
                .map(|v| VariableView {
                    name: v.name.clone(),
                    label: if v.label.is_empty() {
                        v.name.clone()
                    } else {
                        v.label.clone()
                    },
                })
                .collect(),
        },
        Some(RuleSpec::Survey) => InputKind::ReadOnly {
            source: lang.t("sheet.source_survey").to_owned(),
        },
        Some(RuleSpec::External { provider }) => InputKind::ReadOnly {
            source: provider.clone(),
        },
        None => InputKind::ReadOnly {
            source: String::new(),
        },
    }
}

/// A leaf with its stored entry (or an appraisal shown as one) and its cited files.
pub fn leaf_view(
    lang: Lang,
    node: &Node,
    entry: Option<&LeafEntry>,
    citations: &[Citation],
) -> LeafView {
    let files: Vec<EvidenceLink> = citations
        .iter()
        .filter(|c| c.leaf_code == node.code)
        .map(EvidenceLink::of)
        .collect();
    let input: Option<LeafInput> = entry.and_then(|e| serde_json::from_str(&e.input_json).ok());
    let mut values = BTreeMap::new();
    let mut yes = None;
    let mut na = false;
    let mut na_reason = String::new();
    match &input {
        Some(LeafInput::YesNo(v)) => yes = Some(*v),
        Some(LeafInput::Ratio {
            numerator,
            denominator,
        }) => {
            values.insert("numerator".into(), decimal_text(numerator));
            values.insert("denominator".into(), decimal_text(denominator));
        }
        Some(LeafInput::Count(c)) => {
            values.insert("count".into(), c.to_string());
        }
        Some(LeafInput::Variables(vars)) => {
            for (k, v) in vars {
                values.insert(format!("var_{k}"), decimal_text(v));
            }
        }
        Some(LeafInput::NotApplicable { reason }) => {
            na = true;
            na_reason = reason.clone();
        }
        Some(LeafInput::Points(_)) | None => {}
    }
    let note = entry.map(|e| e.note.clone()).unwrap_or_default();
    let scored = entry.is_some_and(|e| !e.not_applicable);
    LeafView {
        code: node.code.clone(),
        title: node.title.clone(),
        max: node.max.display_vi(),
        method: node.method.clone().unwrap_or_default(),
        evidence: node.evidence.clone().unwrap_or_default(),
        input: input_kind(lang, node.rule.as_ref()),
        values,
        yes,
        na_allowed: node.not_applicable_allowed,
        na,
        na_reason,
        needs_explanation: scored && note.trim().is_empty() && files.is_empty(),
        files,
        note,
        score: entry
            .map(|e| score_text(lang, e.score_milli, e.not_applicable))
            .unwrap_or_default(),
        explanation: entry.map(|e| e.explanation.clone()).unwrap_or_default(),
        version: entry.map_or(0, |e| e.version),
        updated: entry.map(|e| datetime_vi(e.updated_at)).unwrap_or_default(),
    }
}

/// The facts of a saved leaf in words: "Đạt", "18/20", "3", "a = 1; b = 2".
pub fn facts_words(lang: Lang, input: &LeafInput) -> String {
    match input {
        LeafInput::YesNo(true) => lang.t("sheet.yes").into(),
        LeafInput::YesNo(false) => lang.t("sheet.no").into(),
        LeafInput::Ratio {
            numerator,
            denominator,
        } => format!("{}/{}", decimal_text(numerator), decimal_text(denominator)),
        LeafInput::Count(c) => c.to_string(),
        LeafInput::Variables(vars) => vars
            .iter()
            .map(|(k, v)| format!("{k} = {}", decimal_text(v)))
            .collect::<Vec<_>>()
            .join("; "),
        LeafInput::NotApplicable { reason } if reason.is_empty() => {
            lang.t("sheet.not_applicable").into()
        }
        LeafInput::NotApplicable { reason } => {
            format!("{} ({reason})", lang.t("sheet.not_applicable"))
        }
        LeafInput::Points(p) => p.display_vi(),
    }
}
