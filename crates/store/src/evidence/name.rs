//! The name a user gave a file: only ever displayed (and offered back on download), never used
//! to build a storage path. Blobs are keyed by their SHA-256.

use unicode_normalization::UnicodeNormalization;

/// The longest display name kept, in characters (the extension is kept when shortening).
pub const MAX_DISPLAY_NAME_CHARS: usize = 120;

/// What is shown when nothing displayable is left of a name.
const FALLBACK_NAME: &str = "minh-chung";

/// A name safe to display and to offer in `Content-Disposition`: the last path component only
/// (`/` and `\` both separate), NFC-normalised (names from macOS arrive decomposed), without
/// control or bidirectional-override characters, trimmed, at most
/// [`MAX_DISPLAY_NAME_CHARS`] characters with the extension kept. Vietnamese diacritics stay.
///
/// ```
/// use parindex_store::evidence::safe_display_name;
/// assert_eq!(safe_display_name("../../etc/Báo cáo\u{0}.pdf"), "Báo cáo.pdf");
/// assert_eq!(safe_display_name(r"C:\Users\an\Quyết định.docx"), "Quyết định.docx");
/// ```
pub fn safe_display_name(name: &str) -> String {
    let last = name
        .rsplit(['/', '\\'])
        .find(|part| !part.trim().is_empty())
        .unwrap_or("");
    let cleaned: String = last
        .nfc()
        .filter(|c| !c.is_control() && !is_bidi_control(*c))
        .collect();
    // Leading dots would make a hidden file (or "..") on a user's disk; trailing dots and spaces
    // are dropped by Windows anyway.
    let trimmed = cleaned
        .trim()
        .trim_start_matches('.')
        .trim_end_matches(['.', ' '])
        .trim();
    if trimmed.is_empty() {
        return FALLBACK_NAME.to_string();
    }
    shorten(trimmed, MAX_DISPLAY_NAME_CHARS)
}

/// The lowercased extension of a (display) name, without the dot; empty when there is none.
pub fn extension_of(name: &str) -> String {
    let name = safe_display_name(name);
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() && !ext.contains(' ') => {
            ext.to_lowercase()
        }
        _ => String::new(),
    }
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// Cuts `name` to `max` characters, keeping a short extension.
fn shorten(name: &str, max: usize) -> String {
    if name.chars().count() <= max {
        return name.to_string();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.chars().count() <= 10 => (stem, Some(ext)),
        _ => (name, None),
    };
    match ext {
        Some(ext) => {
            let keep = max - ext.chars().count() - 1;
            let stem: String = stem.chars().take(keep).collect();
            format!("{}.{ext}", stem.trim_end())
        }
        None => stem
            .chars()
            .take(max)
            .collect::<String>()
            .trim_end()
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_directories_controls_and_hidden_dots() {
        assert_eq!(safe_display_name("../../etc/passwd.pdf"), "passwd.pdf");
        assert_eq!(safe_display_name("a\\b\\c.png"), "c.png");
        assert_eq!(safe_display_name("dir/"), "dir");
        assert_eq!(safe_display_name(".."), FALLBACK_NAME);
        assert_eq!(safe_display_name(""), FALLBACK_NAME);
        assert_eq!(safe_display_name(".bashrc"), "bashrc");
        assert_eq!(safe_display_name("x\r\n\t.pdf"), "x.pdf");
        assert_eq!(safe_display_name("gpj.\u{202E}fdp.exe"), "gpj.fdp.exe");
    }

    #[test]
    fn keeps_vietnamese_and_normalises_to_nfc() {
        let decomposed = "Ba\u{0301}o ca\u{0301}o tư\u{0323} đa\u{0301}nh gia\u{0301}.pdf";
        assert_eq!(safe_display_name(decomposed), "Báo cáo tự đánh giá.pdf");
    }

    #[test]
    fn long_names_keep_their_extension() {
        let long = format!("{}.xlsx", "Đ".repeat(300));
        let short = safe_display_name(&long);
        assert_eq!(short.chars().count(), MAX_DISPLAY_NAME_CHARS);
        assert!(short.ends_with("Đ.xlsx"));
    }

    #[test]
    fn extensions() {
        assert_eq!(extension_of("Báo cáo.PDF"), "pdf");
        assert_eq!(extension_of("noext"), "");
        assert_eq!(extension_of("a.tar.gz"), "gz");
        assert_eq!(extension_of("../x/.pdf"), "");
    }
}
