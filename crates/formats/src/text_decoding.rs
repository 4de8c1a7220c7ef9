//! Turning the bytes of a text file users bring (CSV saved by Excel, LibreOffice or an old
//! Windows tool) into NFC Unicode text, whatever encoding it was saved in.
//!
//! Vietnamese offices still produce files in Windows-1258, which writes tone marks as separate
//! combining characters, and tools on macOS or typing in "Unicode tổ hợp" mode produce
//! decomposed text too. Comparing "Sở" with a decomposed "Sở" fails, so everything decoded here is
//! recomposed into the precomposed Vietnamese letters the rest of the application expects.

use unicode_normalization::UnicodeNormalization;

use crate::FormatError;

/// The text encoding a file turned out to be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectedEncoding {
    /// UTF-8 without a byte-order mark.
    Utf8,
    /// UTF-8 with a byte-order mark (what Excel's "CSV UTF-8" writes).
    Utf8Bom,
    /// UTF-16 little-endian, with or without a byte-order mark (Excel's "Unicode text").
    Utf16Le,
    /// UTF-16 big-endian with a byte-order mark.
    Utf16Be,
    /// Windows-1258, the Vietnamese Windows code page (legacy "CSV" from Excel on Windows).
    Windows1258,
}

impl DetectedEncoding {
    /// A short Vietnamese label to show the user which encoding was used.
    pub fn label_vi(self) -> &'static str {
        match self {
            DetectedEncoding::Utf8 => "UTF-8",
            DetectedEncoding::Utf8Bom => "UTF-8 (có BOM)",
            DetectedEncoding::Utf16Le => "UTF-16 LE",
            DetectedEncoding::Utf16Be => "UTF-16 BE",
            DetectedEncoding::Windows1258 => "Windows-1258 (bảng mã tiếng Việt của Windows)",
        }
    }
}

/// Decodes a text file, detecting its encoding, and returns NFC-composed Vietnamese text.
///
/// Detection order: a UTF-8 BOM, a UTF-16 BOM (either byte order), BOM-less UTF-16 LE (many
/// NUL bytes at odd positions), valid UTF-8, and finally Windows-1258, which can decode any byte
/// sequence. A leading byte-order mark is removed from the returned text.
///
/// Fails only when a file announces UTF-8 or UTF-16 (by BOM or by its NUL pattern) and then
/// is not valid in that encoding.
pub fn decode_text(bytes: &[u8]) -> Result<(String, DetectedEncoding), FormatError> {
    let (text, encoding) = if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        let text = std::str::from_utf8(rest).map_err(|_| FormatError::InvalidText {
            encoding: DetectedEncoding::Utf8Bom,
        })?;
        (text.to_owned(), DetectedEncoding::Utf8Bom)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (
            decode_utf16(rest, DetectedEncoding::Utf16Le)?,
            DetectedEncoding::Utf16Le,
        )
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (
            decode_utf16(rest, DetectedEncoding::Utf16Be)?,
            DetectedEncoding::Utf16Be,
        )
    } else if looks_like_bomless_utf16_le(bytes) {
        (
            decode_utf16(bytes, DetectedEncoding::Utf16Le)?,
            DetectedEncoding::Utf16Le,
        )
    } else if let Ok(text) = std::str::from_utf8(bytes) {
        (text.to_owned(), DetectedEncoding::Utf8)
    } else {
        // Windows-1258 maps every byte, so this cannot fail; garbage is caught later by the
        // caller's format checks.
        let (text, _had_errors) = encoding_rs::WINDOWS_1258.decode_without_bom_handling(bytes);
        (text.into_owned(), DetectedEncoding::Windows1258)
    };
    Ok((compose_vietnamese(&text), encoding))
}

fn decode_utf16(bytes: &[u8], encoding: DetectedEncoding) -> Result<String, FormatError> {
    let codec = match encoding {
        DetectedEncoding::Utf16Be => encoding_rs::UTF_16BE,
        _ => encoding_rs::UTF_16LE,
    };
    codec
        .decode_without_bom_handling_and_without_replacement(bytes)
        .map(|text| text.trim_start_matches('\u{FEFF}').to_owned())
        .ok_or(FormatError::InvalidText { encoding })
}

/// UTF-16 LE text that is mostly ASCII (headers, codes, dates) has a NUL in every odd byte;
/// neither UTF-8 nor Windows-1258 text has NULs at all. Only the start of the file is sampled.
fn looks_like_bomless_utf16_le(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(1024)];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return false;
    }
    let (mut even_nuls, mut odd_nuls) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nuls += usize::from(pair[0] == 0);
        odd_nuls += usize::from(pair[1] == 0);
    }
    odd_nuls * 4 >= pairs && even_nuls * 20 <= pairs
}

/// Recomposes decomposed text into NFC, which for Vietnamese means the precomposed letters:
/// Windows-1258's letter + separate tone and macOS's fully decomposed forms both come out as
/// the single code points the rest of the application compares against.
pub fn compose_vietnamese(text: &str) -> String {
    text.nfc().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composes_windows_1258_style_and_full_nfd() {
        // Windows-1258 style: precomposed ơ, ê, ă with a separate tone.
        assert_eq!(compose_vietnamese("S\u{01A1}\u{0309}"), "Sở");
        assert_eq!(compose_vietnamese("Huy\u{00EA}\u{0323}n"), "Huyện");
        // Full NFD as macOS writes it: dot below sorts before the circumflex.
        assert_eq!(compose_vietnamese("Huye\u{0323}\u{0302}n"), "Huyện");
        assert_eq!(compose_vietnamese("\u{0110}a\u{0306}\u{0301}k"), "Đắk");
        assert_eq!(compose_vietnamese("TU\u{031B}\u{0323}"), "TỰ");
    }

    #[test]
    fn other_sequences_follow_nfc() {
        // Full NFC now, not only the Vietnamese letters: ñ has a precomposed form too, and a
        // second mark of the same class stays combining after the first one composed.
        assert_eq!(compose_vietnamese("n\u{0303}"), "ñ");
        assert_eq!(compose_vietnamese("a\u{0301}\u{0300}"), "á\u{0300}");
        assert_eq!(compose_vietnamese("\u{0301}x"), "\u{0301}x");
        assert_eq!(compose_vietnamese("đã sẵn sàng"), "đã sẵn sàng");
    }

    #[test]
    fn windows_1258_files_come_out_precomposed() {
        // "Sở Tư pháp" as Windows-1258 writes it: ơ precomposed (0xD5 is ơ), the hook apart (0xD2).
        let (text, encoding) = decode_text(b"S\xF5\xD2 T\xFD ph\xE1p").unwrap();
        assert_eq!(encoding, DetectedEncoding::Windows1258);
        assert_eq!(text, "Sở Tư pháp");
    }

    #[test]
    fn detects_bomless_utf16_le() {
        let bytes: Vec<u8> = "Mã,Tên\nSTP,Sở Tư pháp\n"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let (text, encoding) = decode_text(&bytes).unwrap();
        assert_eq!(encoding, DetectedEncoding::Utf16Le);
        assert_eq!(text, "Mã,Tên\nSTP,Sở Tư pháp\n");
    }

    #[test]
    fn broken_utf16_is_an_error() {
        // A lone high surrogate.
        assert!(decode_text(b"\xFF\xFE\x00\xD8").is_err());
    }
}
