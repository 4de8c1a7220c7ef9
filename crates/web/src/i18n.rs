//! Translations: Vietnamese first, English second. The catalogue is every `locales/*.tsv`
//! file (key, Vietnamese, English; one file per area), joined by `build.rs`, compiled into the
//! binary and parsed once. A text may carry `{name}` placeholders, filled by [`Lang::format`].

use std::collections::HashMap;
use std::sync::LazyLock;

/// The user's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Vi,
    En,
}

const CATALOGUE_TSV: &str = include_str!(concat!(env!("OUT_DIR"), "/catalogue.tsv"));

static CATALOGUE: LazyLock<HashMap<&'static str, (&'static str, &'static str)>> =
    LazyLock::new(|| parse_catalogue(CATALOGUE_TSV));

fn parse_catalogue(tsv: &'static str) -> HashMap<&'static str, (&'static str, &'static str)> {
    tsv.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|line| {
            let mut cols = line.split('\t');
            Some((cols.next()?, (cols.next()?, cols.next()?)))
        })
        .collect()
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        match code {
            "vi" => Some(Lang::Vi),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The text for `key`; a missing key shows itself, which the catalogue test prevents.
    pub fn t(self, key: &str) -> &'static str {
        match CATALOGUE.get(key) {
            Some((vi, en)) => match self {
                Lang::Vi => vi,
                Lang::En => en,
            },
            None => {
                tracing::warn!(key, "missing translation");
                "??"
            }
        }
    }

    /// The text for `key` with its `{name}` placeholders replaced by `args`.
    pub fn format(self, key: &str, args: &[(&str, String)]) -> String {
        let mut text = self.t(key).to_owned();
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// A use case's message in this language.
    pub fn message(self, message: &parindex_app::error::Message) -> String {
        match message {
            parindex_app::error::Message::Key { key, args } => self.format(key, args),
            parindex_app::error::Message::Text(text) => text.clone(),
        }
    }

    /// The label of a role in this language.
    pub fn role(self, role: parindex_domain::Role) -> &'static str {
        match self {
            Lang::Vi => role.label_vi(),
            Lang::En => role.label_en(),
        }
    }
}

/// Every key of the catalogue (for tests).
pub fn catalogue_keys() -> Vec<&'static str> {
    CATALOGUE.keys().copied().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_lines_have_three_columns_and_unique_keys() {
        let mut seen = std::collections::HashSet::new();
        for (n, line) in CATALOGUE_TSV.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let cols: Vec<_> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "line {}: {line}", n + 1);
            assert!(
                cols.iter().all(|c| !c.trim().is_empty()),
                "line {}: empty column",
                n + 1
            );
            assert!(seen.insert(cols[0]), "duplicate key {}", cols[0]);
        }
    }

    /// Every file a key can be used from: the web crate's code and templates, and the
    /// application layer (whose messages are keys).
    fn key_sources() -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path
                    .extension()
                    .is_some_and(|x| x == "rs" || x == "html" || x == "js")
                    && !path.ends_with("i18n.rs")
                {
                    out.push(path);
                }
            }
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        // This file is left out: its tests name the call patterns, not keys.
        let mut files = Vec::new();
        walk(&root.join("src"), &mut files);
        walk(&root.join("../app/src"), &mut files);
        files
    }

    /// The keys a source uses literally: `t("…")`, `format("…", …)`, `Message::key("…")`.
    fn literal_keys(text: &str) -> Vec<&str> {
        let mut keys = Vec::new();
        for call in [".t(\"", ".format(\"", "Message::key(\"", "t_key(\""] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                if let Some(end) = rest.find('"') {
                    keys.push(&rest[..end]);
                }
            }
        }
        keys
    }

    /// Every key used in a template or in the code exists in the catalogue.
    #[test]
    fn every_used_key_is_translated() {
        let mut missing = Vec::new();
        for file in key_sources() {
            let text = std::fs::read_to_string(&file).unwrap();
            for key in literal_keys(&text) {
                if !CATALOGUE.contains_key(key) {
                    missing.push(format!("{}: {key}", file.display()));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "missing translations:\n{}",
            missing.join("\n")
        );
        assert!(CATALOGUE.contains_key("error.not_found"));
    }

    /// Every key of the catalogue is used somewhere: literally (quoted) in a source, or by a
    /// key built at run time from a prefix and a suffix (`format!("stage.{code}")`), or as one
    /// of the keys listed by name in code (`"nav.units"` in a table).
    #[test]
    fn every_catalogue_key_is_used() {
        let sources: Vec<String> = key_sources()
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        // Keys built at run time: the literal text around the first `{` of a `format!`.
        let mut patterns: Vec<(String, String)> = Vec::new();
        for text in &sources {
            for (i, _) in text.match_indices("format!(\"") {
                let rest = &text[i + 9..];
                let Some(end) = rest.find('"') else { continue };
                let literal = &rest[..end];
                if let Some(open) = literal.find('{')
                    && let Some(close) = literal[open..].find('}')
                {
                    let prefix = &literal[..open];
                    let suffix = &literal[open + close + 1..];
                    if prefix.contains('.') || prefix.ends_with('_') {
                        patterns.push((prefix.to_owned(), suffix.to_owned()));
                    }
                }
            }
        }
        let mut unused: Vec<&str> = CATALOGUE
            .keys()
            .copied()
            .filter(|key| {
                let quoted = format!("\"{key}\"");
                !sources.iter().any(|text| text.contains(&quoted))
                    && !patterns.iter().any(|(prefix, suffix)| {
                        key.starts_with(prefix.as_str())
                            && key.ends_with(suffix.as_str())
                            && key.len() > prefix.len() + suffix.len()
                    })
            })
            .collect();
        unused.sort_unstable();
        assert!(
            unused.is_empty(),
            "catalogue keys no source uses ({}):\n{}",
            unused.len(),
            unused.join("\n")
        );
        assert!(!CATALOGUE.is_empty());
    }
}
