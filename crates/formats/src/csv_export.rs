//! The one CSV writer for every CSV the product hands out (open data, survey links, …):
//! UTF-8 with a byte-order mark (so Excel reads the diacritics), CRLF line ends, RFC 4180
//! quoting, and text cells defused against formula injection.
//!
//! A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some programs, a
//! tab or a carriage return) as a formula: a unit named `=HYPERLINK("http://evil.example/")`
//! would become a live link in the secretariat's Excel. Following OWASP, such a text cell is
//! written with a leading single quote, which spreadsheets show as text. Numbers that we write
//! ourselves are not text: a [`CsvCell::Number`] is written as it is, so a negative figure
//! (a deduction) stays a number; anything that is not a plain decimal number is treated as
//! text, so a caller cannot smuggle a formula through a number cell.

/// One cell of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CsvCell {
    /// Text from users or the database: quoted when needed and defused.
    Text(String),
    /// A number we formatted ourselves ("-0.5", "95.00", "3"): written unescaped when it is a
    /// plain decimal number, else handled as text.
    Number(String),
}

impl CsvCell {
    pub fn text(value: impl Into<String>) -> CsvCell {
        CsvCell::Text(value.into())
    }

    pub fn number(value: impl ToString) -> CsvCell {
        CsvCell::Number(value.to_string())
    }

    /// An optional number: empty when absent.
    pub fn optional_number(value: Option<impl ToString>) -> CsvCell {
        CsvCell::Number(value.map(|v| v.to_string()).unwrap_or_default())
    }
}

/// Characters that make a spreadsheet read a cell as a formula.
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A plain decimal number as we write them: an optional minus, digits, optionally a point and
/// digits. Empty counts too (an absent figure).
fn is_plain_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    if value.is_empty() {
        return true;
    }
    let (whole, fraction) = match digits.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (digits, None),
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// A text cell as written: defused, then quoted when it holds a separator, a quote or a line
/// break.
pub fn text_field(value: &str) -> String {
    let defused = if value.starts_with(FORMULA_STARTS) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    quote(defused)
}

fn quote(value: String) -> String {
    if value.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

fn field(cell: &CsvCell) -> String {
    match cell {
        CsvCell::Number(n) if is_plain_number(n) => n.clone(),
        CsvCell::Number(n) | CsvCell::Text(n) => text_field(n),
    }
}

/// A CSV document being written: the header first, then rows.
#[derive(Debug, Clone)]
pub struct CsvWriter {
    out: String,
}

impl CsvWriter {
    /// Starts a document with its byte-order mark and header row.
    pub fn new(header: &[&str]) -> CsvWriter {
        let mut writer = CsvWriter {
            out: String::from("\u{feff}"),
        };
        let cells: Vec<CsvCell> = header.iter().map(|h| CsvCell::text(*h)).collect();
        writer.row(&cells);
        writer
    }

    /// Appends one row.
    pub fn row(&mut self, cells: &[CsvCell]) {
        let line: Vec<String> = cells.iter().map(field).collect();
        self.out.push_str(&line.join(","));
        self.out.push_str("\r\n");
    }

    /// The document.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cells_that_start_a_formula_are_defused() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://evil.example/\",\"Xem\")",
                "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Xem\"\")\"",
            ),
            ("+1+1", "'+1+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "\"'\rcmd\""),
            ("Sở Tư pháp", "Sở Tư pháp"),
            ("a,b", "\"a,b\""),
            ("", ""),
        ] {
            assert_eq!(text_field(raw), written, "{raw:?}");
        }
    }

    #[test]
    fn numbers_we_write_stay_numbers_and_others_are_text() {
        assert_eq!(field(&CsvCell::number("-0.5")), "-0.5");
        assert_eq!(field(&CsvCell::number("95.00")), "95.00");
        assert_eq!(field(&CsvCell::number(3)), "3");
        assert_eq!(field(&CsvCell::optional_number(None::<u32>)), "");
        // A "number" that is not one is handled as text, defused.
        assert_eq!(field(&CsvCell::number("-1+1")), "'-1+1");
        assert_eq!(field(&CsvCell::number("=1")), "'=1");
        assert_eq!(field(&CsvCell::number("1.")), "1.");
        assert!(!is_plain_number("1."));
        assert!(!is_plain_number("-"));
    }

    #[test]
    fn a_document_has_a_bom_a_header_and_crlf_rows() {
        let mut w = CsvWriter::new(&["ma", "ten", "diem"]);
        w.row(&[
            CsvCell::text("STP"),
            CsvCell::text("=cmd|' /C calc'!A0"),
            CsvCell::number("-1.25"),
        ]);
        assert_eq!(
            w.finish(),
            "\u{feff}ma,ten,diem\r\nSTP,'=cmd|' /C calc'!A0,-1.25\r\n"
        );
    }
}
