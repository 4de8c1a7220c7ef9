//! Vietnamese text conventions: diacritic-insensitive search folding, dd/mm/yyyy dates, and
//! the characters a name may not hold.

use time::Date;

/// Folds text for search so that "danh gia" finds "Đánh giá": lower-cases, strips the
/// Vietnamese tone and vowel marks, turns đ into d and collapses white space.
pub fn fold_for_search(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    let mut last_space = true;
    for ch in input.chars() {
        let folded = fold_char(ch);
        if folded.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        for lower in folded.to_lowercase() {
            out.push(lower);
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

fn fold_char(ch: char) -> char {
    // Each line: the base letter and every precomposed Vietnamese letter that folds to it.
    const TABLE: &[(char, &str)] = &[
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('E', "ÈÉẺẼẸÊỀẾỂỄỆ"),
        ('i', "ìíỉĩị"),
        ('I', "ÌÍỈĨỊ"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('O', "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"),
        ('u', "ùúủũụưừứửữự"),
        ('U', "ÙÚỦŨỤƯỪỨỬỮỰ"),
        ('y', "ỳýỷỹỵ"),
        ('Y', "ỲÝỶỸỴ"),
        ('d', "đ"),
        ('D', "Đ"),
    ];
    if ch.is_ascii() {
        return ch;
    }
    for (base, variants) in TABLE {
        if variants.contains(ch) {
            return *base;
        }
    }
    ch
}

/// A bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069), a zero-width
/// character (U+200B–U+200D, U+2060, U+FEFF) or a direction mark (U+200E, U+200F): invisible
/// characters that make a name read differently from what it is ("Sở Tư pháp" that sorts,
/// searches or copies as something else, or text that displays reversed).
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}'
    )
}

/// Why `input` cannot be a name or a title (one line of visible text), if it cannot: a
/// control character (tabs and line breaks included), or an invisible format character.
pub fn name_problem(input: &str) -> Option<&'static str> {
    if input.chars().any(char::is_control) {
        return Some("Tên chứa ký tự điều khiển (ví dụ NUL, tab hoặc xuống dòng), không được phép");
    }
    if input.chars().any(is_invisible_format) {
        return Some(
            "Tên chứa ký tự vô hình (ký tự độ rộng bằng 0 hoặc ký tự đảo chiều văn bản), không được phép",
        );
    }
    None
}

/// Formats a date the Vietnamese way: 06/09/2021.
pub fn format_date_vi(date: Date) -> String {
    format!(
        "{:02}/{:02}/{:04}",
        date.day(),
        u8::from(date.month()),
        date.year()
    )
}

/// Parses a date typed by a user: dd/mm/yyyy (also d/m/yyyy) or ISO yyyy-mm-dd.
pub fn parse_date_vi(input: &str) -> Option<Date> {
    let s = input.trim();
    let (d, m, y) = if let Some((y, rest)) = s.split_once('-') {
        let (m, d) = rest.split_once('-')?;
        (d, m, y)
    } else {
        let mut parts = s.split('/');
        let d = parts.next()?;
        let m = parts.next()?;
        let y = parts.next()?;
        if parts.next().is_some() {
            return None;
        }
        (d, m, y)
    };
    if y.len() != 4 {
        return None;
    }
    let day: u8 = d.parse().ok()?;
    let month: u8 = m.parse().ok()?;
    let year: i32 = y.parse().ok()?;
    let month = time::Month::try_from(month).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

/// Formats a date as ISO 8601 (yyyy-mm-dd), the form dates are stored in.
pub fn format_date_iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Vietnam keeps UTC+7 all year.
pub const VIETNAM: time::UtcOffset = match time::UtcOffset::from_hms(7, 0, 0) {
    Ok(o) => o,
    Err(_) => time::UtcOffset::UTC,
};

/// A stored instant (ms) as Vietnamese local time: 25/11/2026 10:07.
pub fn datetime_vi(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => {
            let t = t.to_offset(VIETNAM);
            format!(
                "{:02}/{:02}/{:04} {:02}:{:02}",
                t.day(),
                u8::from(t.month()),
                t.year(),
                t.hour(),
                t.minute()
            )
        }
        Err(_) => String::new(),
    }
}

/// A stored ISO date (yyyy-mm-dd) shown as dd/mm/yyyy.
pub fn date_vi(iso: &str) -> String {
    parse_date_vi(iso)
        .map(format_date_vi)
        .unwrap_or_else(|| iso.to_owned())
}

/// The instant (ms) at the start of a Vietnamese calendar day (for date filters).
pub fn day_start_ms(date: Date) -> i64 {
    let t = date.midnight().assume_offset(VIETNAM);
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn folding_finds_diacritics() {
        assert_eq!(fold_for_search("Đánh  giá"), "danh gia");
        assert_eq!(fold_for_search("SỞ TƯ PHÁP"), "so tu phap");
        assert!(
            fold_for_search("Cải cách thủ tục hành chính").contains(&fold_for_search("thu tuc"))
        );
    }

    #[test]
    fn names_refuse_controls_and_invisible_characters() {
        assert_eq!(name_problem("Sở Tư pháp"), None);
        assert!(name_problem("Sở\u{0}Tư pháp").is_some());
        assert!(name_problem("Sở\tTư pháp").is_some());
        assert!(name_problem("Sở \u{202E}pháp").is_some());
        assert!(name_problem("Sở\u{200B}Tư").is_some());
        assert!(name_problem("\u{FEFF}Sở").is_some());
        assert!(name_problem("Sở\u{2066}Tư").is_some());
    }

    #[test]
    fn dates_round_trip_in_vietnamese_form() {
        assert_eq!(format_date_vi(date!(2021 - 09 - 06)), "06/09/2021");
        assert_eq!(parse_date_vi("6/9/2021"), Some(date!(2021 - 09 - 06)));
        assert_eq!(parse_date_vi("2021-09-06"), Some(date!(2021 - 09 - 06)));
        assert_eq!(parse_date_vi("31/02/2024"), None);
        assert_eq!(parse_date_vi("06/09/21"), None);
        assert_eq!(parse_date_vi("abc"), None);
    }
}
