//! A single scoring rule as editable text (YAML, `kind:` first), for the node editor: what
//! the secretariat sees and types in the rule box.

use parindex_domain::rules::RuleSpec;
use serde_saphyr::SerializerOptions;

use crate::FormatError;
use crate::index_set_yaml::{fragment_budget, from_yaml_str};

/// The longest rule text accepted (a formula with its variables fits easily).
const MAX_RULE_TEXT: usize = 8 * 1024;

/// The rule as block YAML, e.g. `kind: tiered_percent` then `tiers:` and its items.
pub fn rule_text(rule: &RuleSpec) -> String {
    let mut options = SerializerOptions::default();
    options.indent_step = 2;
    options.compact_list_indent = false;
    options.folded_wrap_chars = 1_000_000;
    let mut out = String::new();
    match serde_saphyr::to_fmt_writer_with_options(&mut out, rule, options) {
        Ok(()) => out,
        // A rule always serialises; should it not, show its kind rather than nothing.
        Err(_) => format!("kind: {}\n", rule.kind().code()),
    }
}

/// Reads a rule typed in the editor, with the same budget and Vietnamese messages as a file.
pub fn parse_rule_text(text: &str) -> Result<RuleSpec, FormatError> {
    if text.len() > MAX_RULE_TEXT {
        return Err(FormatError::TooLarge {
            max_bytes: MAX_RULE_TEXT,
        });
    }
    if text.trim().is_empty() {
        return Err(FormatError::InvalidYaml {
            line: None,
            column: None,
            detail: "chưa nhập quy tắc chấm điểm (ví dụ «kind: binary»)".into(),
        });
    }
    // Browsers send CRLF line ends from a textarea.
    from_yaml_str::<RuleSpec>(&text.replace("\r\n", "\n"), fragment_budget())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_round_trip_through_text() {
        let text = "kind: tiered_percent\ncounted: nhiệm vụ\ntiers:\n  - min_percent: 100\n    points: 1\n  - min_percent: 80\n    points: 0.5\n";
        let rule = parse_rule_text(text).unwrap();
        assert_eq!(parse_rule_text(&rule_text(&rule)).unwrap(), rule);
        assert_eq!(
            parse_rule_text("kind: binary\r\n").unwrap(),
            RuleSpec::Binary
        );
    }

    #[test]
    fn bad_rules_are_explained() {
        for bad in [
            "",
            "kind: teleport",
            "kind: deduction\nstart: nhiều",
            "[[[[",
            "kind: binary\ntiers: []",
        ] {
            let err = parse_rule_text(bad).unwrap_err().to_string();
            assert!(!err.is_empty(), "{bad:?}");
        }
    }
}
