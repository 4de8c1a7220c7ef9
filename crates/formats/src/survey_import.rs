//! Reading survey responses from a CSV file or an Excel workbook (.xlsx): the header row and
//! then the data rows one at a time, so a file of a million responses never becomes a million
//! strings in memory.
//!
//! CSV in UTF-8 (with or without BOM) is read straight from the bytes by the `csv` crate.
//! UTF-16 and Windows-1258 files are decoded to one `String` first (what
//! [`decode_text`] does): those encodings come from old tools and small files; a big export
//! is UTF-8. An .xlsx workbook is checked against zip bombs and its first sheet is streamed
//! cell by cell.
//!
//! What the cells mean (which column answers which question) is the caller's business.

use std::borrow::Cow;
use std::io::Cursor;
use std::ops::ControlFlow;

use calamine::{DataRef, Reader, Xlsx};
use parindex_domain::text::format_date_vi;

use crate::text_decoding::{DetectedEncoding, compose_vietnamese, decode_text};
use crate::{FormatError, zip_bounds};

/// Most bytes an .xlsx may declare once decompressed.
pub const MAX_XLSX_UNCOMPRESSED: u64 = 512 * 1024 * 1024;
/// Columns past this are never read.
pub const MAX_COLUMNS: usize = 1024;
/// Longer cells are cut (answers are codes, ids are short).
const MAX_CELL_CHARS: usize = 500;

/// An opened survey file: its header row and a way to walk its data rows.
#[derive(Debug)]
pub struct SurveySheet<'a> {
    headers: Vec<String>,
    /// The text encoding of a CSV file; `None` for a workbook.
    encoding: Option<DetectedEncoding>,
    source: Source<'a>,
}

#[derive(Debug)]
enum Source<'a> {
    Csv {
        /// UTF-8 text: borrowed from the upload, or decoded from another encoding.
        text: Cow<'a, [u8]>,
        delimiter: u8,
    },
    Xlsx {
        bytes: &'a [u8],
    },
}

/// Opens a survey file: an .xlsx workbook (by its ZIP signature) or CSV text separated by `,`,
/// `;` or tabs. Reads the header row (the first non-blank row) and nothing more.
pub fn open(bytes: &[u8]) -> Result<SurveySheet<'_>, FormatError> {
    if bytes.starts_with(b"PK\x03\x04") {
        zip_bounds::check_zip_bounds(bytes, MAX_XLSX_UNCOMPRESSED)?;
        let mut sheet = SurveySheet {
            headers: Vec::new(),
            encoding: None,
            source: Source::Xlsx { bytes },
        };
        let mut headers = None;
        sheet.walk(true, |_, cells| {
            headers = Some(cells.to_vec());
            ControlFlow::Break(())
        })?;
        sheet.headers = headers.ok_or(FormatError::Empty)?;
        return Ok(sheet);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        return Err(FormatError::LegacyXls);
    }
    let (text, encoding): (Cow<'_, [u8]>, DetectedEncoding) = {
        let head = &bytes[..bytes.len().min(1024)];
        if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
            std::str::from_utf8(rest).map_err(|_| FormatError::InvalidText {
                encoding: DetectedEncoding::Utf8Bom,
            })?;
            (Cow::Borrowed(rest), DetectedEncoding::Utf8Bom)
        } else if !head.contains(&0) && std::str::from_utf8(bytes).is_ok() {
            (Cow::Borrowed(bytes), DetectedEncoding::Utf8)
        } else {
            let (text, encoding) = decode_text(bytes)?;
            (Cow::Owned(text.into_bytes()), encoding)
        }
    };
    if text.contains(&0) {
        return Err(FormatError::UnsupportedFormat);
    }
    let delimiter = detect_delimiter(&text);
    let mut sheet = SurveySheet {
        headers: Vec::new(),
        encoding: Some(encoding),
        source: Source::Csv { text, delimiter },
    };
    let mut headers = None;
    sheet.walk(true, |_, cells| {
        headers = Some(cells.to_vec());
        ControlFlow::Break(())
    })?;
    sheet.headers = headers.ok_or(FormatError::Empty)?;
    Ok(sheet)
}

impl SurveySheet<'_> {
    /// The header row's cells, trimmed.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// The text encoding of a CSV file; `None` for a workbook.
    pub fn encoding(&self) -> Option<DetectedEncoding> {
        self.encoding
    }

    /// Calls `f` with each data row (after the header), in file order: its 1-based line (CSV)
    /// or row (Excel) number and its cells, trimmed, Vietnamese recomposed. Rows with every
    /// cell blank are skipped. `f` may stop the walk early.
    pub fn for_each_row(
        &self,
        f: impl FnMut(usize, &[String]) -> ControlFlow<()>,
    ) -> Result<(), FormatError> {
        self.walk(false, f)
    }

    /// The first `n` data rows, for a preview.
    pub fn preview(&self, n: usize) -> Result<Vec<(usize, Vec<String>)>, FormatError> {
        let mut rows = Vec::new();
        if n == 0 {
            return Ok(rows);
        }
        self.for_each_row(|line, cells| {
            rows.push((line, cells.to_vec()));
            if rows.len() >= n {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })?;
        Ok(rows)
    }

    /// Walks the non-blank rows; with `header_only` the first one (the header) is given,
    /// otherwise every one after it.
    fn walk(
        &self,
        header_only: bool,
        mut f: impl FnMut(usize, &[String]) -> ControlFlow<()>,
    ) -> Result<(), FormatError> {
        let mut seen_header = false;
        let mut deliver = |line: usize, cells: &[String]| -> ControlFlow<()> {
            if cells.iter().all(String::is_empty) {
                return ControlFlow::Continue(());
            }
            if !seen_header {
                seen_header = true;
                if header_only {
                    return f(line, cells);
                }
                return ControlFlow::Continue(());
            }
            f(line, cells)
        };
        match &self.source {
            Source::Csv { text, delimiter } => walk_csv(text, *delimiter, &mut deliver),
            Source::Xlsx { bytes } => {
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    walk_xlsx(bytes, &mut deliver)
                }));
                outcome.unwrap_or_else(|_| {
                    Err(FormatError::CorruptXlsx {
                        detail: "calamine panicked".to_owned(),
                    })
                })
            }
        }
    }
}

fn cell_text(raw: &str) -> String {
    let trimmed = raw.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    let cut: Cow<'_, str> = match trimmed.char_indices().nth(MAX_CELL_CHARS) {
        Some((at, _)) => Cow::Borrowed(&trimmed[..at]),
        None => Cow::Borrowed(trimmed),
    };
    if cut.is_ascii() {
        cut.into_owned()
    } else {
        compose_vietnamese(&cut)
    }
}

fn walk_csv(
    text: &[u8],
    delimiter: u8,
    deliver: &mut impl FnMut(usize, &[String]) -> ControlFlow<()>,
) -> Result<(), FormatError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    let mut record = csv::ByteRecord::new();
    let mut cells: Vec<String> = Vec::new();
    // The csv crate's own line numbers skip blank lines; count newlines up to each record's
    // byte offset instead (incrementally, so the whole file is scanned once).
    let (mut counted_to, mut line) = (0usize, 1usize);
    let mut line_at = |byte: usize| {
        let mut byte = byte.min(text.len());
        // A record's position may be before the blank lines the reader skipped.
        while byte < text.len() && matches!(text[byte], b'\r' | b'\n') {
            byte += 1;
        }
        if byte > counted_to {
            line += text[counted_to..byte]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            counted_to = byte;
        }
        line
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(error) => {
                let line = line_at(error.position().map_or(0, |p| p.byte() as usize));
                return Err(FormatError::InvalidCsv { line });
            }
        }
        let line = line_at(record.position().map_or(0, |p| p.byte() as usize));
        cells.clear();
        for field in record.iter().take(MAX_COLUMNS) {
            // The text was checked (or decoded) as UTF-8 as a whole, and the delimiters are
            // ASCII, so every field is valid UTF-8.
            let field = std::str::from_utf8(field).map_err(|_| FormatError::InvalidCsv { line })?;
            cells.push(cell_text(field));
        }
        if deliver(line, &cells).is_break() {
            return Ok(());
        }
    }
}

fn walk_xlsx(
    bytes: &[u8],
    deliver: &mut impl FnMut(usize, &[String]) -> ControlFlow<()>,
) -> Result<(), FormatError> {
    let corrupt = |e: calamine::XlsxError| FormatError::CorruptXlsx {
        detail: e.to_string(),
    };
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt)?;
    let first = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(FormatError::NoWorksheet)?;
    let mut reader = workbook.worksheet_cells_reader(&first).map_err(corrupt)?;
    let mut current: Option<u32> = None;
    let mut cells: Vec<String> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(corrupt)? {
        let (row, column) = cell.get_position();
        if current != Some(row) {
            if let Some(done) = current
                && deliver(done as usize + 1, &cells).is_break()
            {
                return Ok(());
            }
            cells.clear();
            current = Some(row);
        }
        let column = column as usize;
        if column >= MAX_COLUMNS {
            continue;
        }
        let value = xlsx_text(cell.get_value());
        if value.is_empty() {
            continue;
        }
        if cells.len() <= column {
            cells.resize(column + 1, String::new());
        }
        cells[column] = value;
    }
    if let Some(done) = current {
        let _ = deliver(done as usize + 1, &cells);
    }
    Ok(())
}

fn xlsx_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) | DataRef::DurationIso(text) => cell_text(text),
        DataRef::SharedString(text) => cell_text(text),
        DataRef::Int(n) => n.to_string(),
        DataRef::Float(n) => {
            if n.fract() == 0.0 && n.abs() < 1e15 {
                format!("{}", *n as i64)
            } else {
                n.to_string()
            }
        }
        DataRef::Bool(flag) => if *flag { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(datetime) => {
            let (year, month, day, ..) = datetime.to_ymd_hms_milli();
            time::Month::try_from(month)
                .ok()
                .and_then(|m| time::Date::from_calendar_date(i32::from(year), m, day).ok())
                .map_or_else(|| datetime.as_f64().to_string(), format_date_vi)
        }
        DataRef::DateTimeIso(text) => cell_text(text),
        DataRef::Error(error) => format!("#{error:?}"),
    }
}

/// Picks the separator the first non-blank line uses most among `,`, `;` and tab (quoted text
/// aside); ties go to the comma.
fn detect_delimiter(text: &[u8]) -> u8 {
    let header = text
        .split(|&b| b == b'\n')
        .find(|line| line.iter().any(|b| !b.is_ascii_whitespace()))
        .unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for &b in header {
        if b == b'"' {
            quoted = !quoted;
        } else if !quoted {
            for (delimiter, count) in &mut counts {
                if b == *delimiter {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .fold((b',', 0), |best, &c| if c.1 > best.1 { c } else { best })
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_rows(sheet: &SurveySheet<'_>) -> Vec<(usize, Vec<String>)> {
        let mut rows = Vec::new();
        sheet
            .for_each_row(|line, cells| {
                rows.push((line, cells.to_vec()));
                ControlFlow::Continue(())
            })
            .expect("rows");
        rows
    }

    const TEXT: &str = "Mã người trả lời;Ngày;STP_Q1;Q2\nR1;01/02/2026;a;B\n\n R2 ;;\"K\";\n";

    #[test]
    fn utf8_semicolons_and_blank_lines() {
        let sheet = open(TEXT.as_bytes()).expect("open");
        assert_eq!(sheet.encoding(), Some(DetectedEncoding::Utf8));
        assert_eq!(
            sheet.headers(),
            ["Mã người trả lời", "Ngày", "STP_Q1", "Q2"]
        );
        let rows = all_rows(&sheet);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            (
                2,
                vec!["R1".into(), "01/02/2026".into(), "a".into(), "B".into()]
            )
        );
        assert_eq!(rows[1].0, 4);
        assert_eq!(rows[1].1, ["R2", "", "K", ""]);
        assert_eq!(sheet.preview(1).expect("preview").len(), 1);
    }

    #[test]
    fn every_encoding_reads_the_same() {
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(TEXT.as_bytes());
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in TEXT.encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        // Windows-1258 writes most toned letters as a letter and a combining mark.
        let decomposed = TEXT.replace(
            "Mã người trả lời",
            "Ma\u{0303} ng\u{01B0}\u{01A1}\u{0300}i tra\u{0309} l\u{01A1}\u{0300}i",
        );
        let (cp1258, _, had_errors) = encoding_rs::WINDOWS_1258.encode(&decomposed);
        assert!(!had_errors);
        for (bytes, encoding) in [
            (bom, DetectedEncoding::Utf8Bom),
            (utf16, DetectedEncoding::Utf16Le),
            (cp1258.into_owned(), DetectedEncoding::Windows1258),
        ] {
            let sheet = open(&bytes).expect("open");
            assert_eq!(sheet.encoding(), Some(encoding));
            assert_eq!(sheet.headers()[0], "Mã người trả lời", "{encoding:?}");
            assert_eq!(all_rows(&sheet).len(), 2);
        }
    }

    #[test]
    fn tabs_and_commas_are_detected() {
        assert_eq!(detect_delimiter(b"a\tb\tc\n1,2\t3"), b'\t');
        assert_eq!(detect_delimiter(b"\"x;y\",b,c\n"), b',');
    }

    #[test]
    fn empty_and_broken_files_are_refused() {
        assert_eq!(open(b"\n \n").err(), Some(FormatError::Empty));
        assert!(matches!(
            open(b"PK\x03\x04garbage").err(),
            Some(FormatError::CorruptXlsx { .. })
        ));
        assert_eq!(
            open(&[0xD0, 0xCF, 0x11, 0xE0, 1, 2]).err(),
            Some(FormatError::LegacyXls)
        );
    }

    #[test]
    fn xlsx_first_sheet_is_streamed() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write(0, 0, "Mã").expect("w");
        sheet.write(0, 1, "Q1").expect("w");
        sheet.write(1, 0, 1001).expect("w");
        sheet.write(1, 1, "a").expect("w");
        sheet.write(3, 0, "R3").expect("w");
        sheet.write(3, 1, "C").expect("w");
        let bytes = book.save_to_buffer().expect("save");
        let sheet = open(&bytes).expect("open");
        assert_eq!(sheet.headers(), ["Mã", "Q1"]);
        assert_eq!(
            all_rows(&sheet),
            vec![
                (2, vec!["1001".to_owned(), "a".to_owned()]),
                (4, vec!["R3".to_owned(), "C".to_owned()])
            ]
        );
    }
}
