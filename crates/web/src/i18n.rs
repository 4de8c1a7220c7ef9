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

    /// Every `t("…")` used in a template or in the code exists in the catalogue.
    #[test]
    fn every_used_key_is_translated() {
        let dirs = [
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/templates"),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes"),
        ];
        let mut files = vec![
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/error.rs").to_string(),
            concat!(env!("CARGO_MANIFEST_DIR"), "/src/page.rs").to_string(),
        ];
        // Areas are folders (routes/<area>/, templates/<area>/): walk them.
        let mut pending: Vec<std::path::PathBuf> = dirs.iter().map(Into::into).collect();
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    files.push(path.display().to_string());
                }
            }
        }
        let mut missing = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            // Only translation calls: `p.t("…")`, `lang.t("…")` (not `get("…")` or `insert("…")`).
            for (i, _) in text.match_indices(".t(\"") {
                let rest = &text[i + 4..];
                let key = &rest[..rest.find('"').unwrap()];
                if !CATALOGUE.contains_key(key) {
                    missing.push(format!("{file}: {key}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "missing translations:\n{}",
            missing.join("\n")
        );
    }
}
