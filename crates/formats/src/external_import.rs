//! Reading external values (điểm do cơ quan khác cung cấp) from a CSV file or an Excel
//! workbook: one row per unit and leaf with its points and an optional note.
//!
//! Only the file is read here: whether a unit, a leaf or the points make sense for a period is
//! the caller's check against the database, so that every row's problems can be listed at once.

use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use parindex_domain::text::fold_for_search;

use crate::text_decoding::{DetectedEncoding, compose_vietnamese, decode_text};
use crate::{FormatError, zip_bounds};

/// Largest accepted file, in bytes.
pub const MAX_EXTERNAL_BYTES: usize = 10 * 1024 * 1024;
/// Most data rows a file may hold.
pub const MAX_EXTERNAL_ROWS: usize = 100_000;
/// Most bytes an .xlsx may declare once decompressed.
const MAX_UNCOMPRESSED_BYTES: u64 = 100 * 1024 * 1024;
/// Columns past this are never read.
const MAX_COLUMNS: usize = 64;
/// Longer cells are cut (codes and points are short; a note is at most this long).
const MAX_CELL_CHARS: usize = 2000;
/// How many non-blank rows at the top may be a title instead of the header.
const HEADER_SEARCH_ROWS: usize = 10;

/// One row of the file, its values trimmed but not checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExternalRow {
    /// 1-based line (CSV) or row (Excel) number; the header is usually row 1.
    pub row_number: usize,
    /// The unit's code, upper-cased.
    pub unit_code: String,
    /// The leaf's code as written (`1.5.2`).
    pub leaf_code: String,
    /// The points as written (`1,5` or `1.5`), for the caller to parse with `Points::parse`.
    pub points_text: String,
    /// The provider's note; may be empty.
    pub note: String,
}

/// A read file: its rows in file order and, for CSV, the detected text encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalImport {
    pub rows: Vec<ExternalRow>,
    pub encoding: Option<DetectedEncoding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Unit,
    Leaf,
    Points,
    Note,
}

impl Field {
    const ALL: [Field; 4] = [Field::Unit, Field::Leaf, Field::Points, Field::Note];

    fn label(self) -> &'static str {
        match self {
            Field::Unit => "ma_don_vi",
            Field::Leaf => "ma_tieu_chi",
            Field::Points => "diem",
            Field::Note => "ghi_chu",
        }
    }

    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Unit => &["ma don vi", "don vi", "unit", "unit code"],
            Field::Leaf => &[
                "ma tieu chi",
                "tieu chi",
                "ma tieu chi thanh phan",
                "leaf",
                "leaf code",
            ],
            Field::Points => &["diem", "so diem", "points", "score"],
            Field::Note => &["ghi chu", "note", "notes"],
        }
    }
}

/// Folds a header: case, diacritics, `_`/`-`, extra spaces and a trailing `*`/`:` do not matter.
fn fold_header(header: &str) -> String {
    let spaced: String = header
        .chars()
        .map(|c| if matches!(c, '_' | '-') { ' ' } else { c })
        .collect();
    let trimmed =
        spaced.trim_matches(|c: char| c.is_whitespace() || matches!(c, '*' | ':' | '\u{FEFF}'));
    fold_for_search(trimmed)
}

/// Where each field is in a row.
type ColumnMap = [Option<usize>; 4];

/// Maps a header row, or says which required columns it lacks.
fn column_map(cells: &[String]) -> Result<ColumnMap, Vec<&'static str>> {
    let mut map: ColumnMap = [None; 4];
    for (index, cell) in cells.iter().enumerate() {
        let folded = fold_header(cell);
        if let Some(field) = Field::ALL
            .into_iter()
            .find(|f| f.aliases().contains(&folded.as_str()))
        {
            map[field as usize].get_or_insert(index);
        }
    }
    let missing: Vec<&'static str> = [Field::Unit, Field::Leaf, Field::Points]
        .into_iter()
        .filter(|f| map[*f as usize].is_none())
        .map(Field::label)
        .collect();
    if missing.is_empty() {
        Ok(map)
    } else {
        Err(missing)
    }
}

/// Receives rows in file order: finds the header, then collects the data rows.
struct Collector {
    map: Option<ColumnMap>,
    header_rows_seen: usize,
    best_missing: Option<Vec<&'static str>>,
    rows: Vec<ExternalRow>,
}

impl Collector {
    fn new() -> Self {
        Self {
            map: None,
            header_rows_seen: 0,
            best_missing: None,
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row_number: usize, cells: &[String]) -> Result<(), FormatError> {
        if cells.iter().all(|c| c.trim().is_empty()) {
            return Ok(());
        }
        let Some(map) = self.map else {
            match column_map(cells) {
                Ok(map) => self.map = Some(map),
                Err(missing) => {
                    if self
                        .best_missing
                        .as_ref()
                        .is_none_or(|best| missing.len() < best.len())
                    {
                        self.best_missing = Some(missing);
                    }
                    self.header_rows_seen += 1;
                    if self.header_rows_seen >= HEADER_SEARCH_ROWS {
                        return Err(self.header_error());
                    }
                }
            }
            return Ok(());
        };
        let cell = |field: Field| -> String {
            map[field as usize]
                .and_then(|i| cells.get(i))
                .map(|c| c.trim().to_owned())
                .unwrap_or_default()
        };
        let row = ExternalRow {
            row_number,
            unit_code: cell(Field::Unit).to_uppercase(),
            leaf_code: cell(Field::Leaf),
            points_text: cell(Field::Points),
            note: cell(Field::Note),
        };
        if row.unit_code.is_empty()
            && row.leaf_code.is_empty()
            && row.points_text.is_empty()
            && row.note.is_empty()
        {
            // Content only in columns we do not read.
            return Ok(());
        }
        if self.rows.len() >= MAX_EXTERNAL_ROWS {
            return Err(FormatError::TooManyRows {
                max_rows: MAX_EXTERNAL_ROWS,
            });
        }
        self.rows.push(row);
        Ok(())
    }

    fn header_error(&mut self) -> FormatError {
        FormatError::MissingColumns {
            columns: self.best_missing.take().unwrap_or_else(|| {
                vec![
                    Field::Unit.label(),
                    Field::Leaf.label(),
                    Field::Points.label(),
                ]
            }),
        }
    }

    fn finish(mut self) -> Result<Vec<ExternalRow>, FormatError> {
        match self.map {
            Some(_) => Ok(self.rows),
            None => Err(self.header_error()),
        }
    }
}

/// Parses an external-values file: an .xlsx workbook (recognised by its ZIP signature; the
/// first sheet is read) or CSV text in UTF-8 (with or without BOM), UTF-16 or Windows-1258,
/// separated by `,`, `;` or tabs. Columns are found by their header: `ma_don_vi`,
/// `ma_tieu_chi`, `diem` (required) and `ghi_chu` (optional), with or without diacritics.
pub fn parse_external_import(bytes: &[u8]) -> Result<ExternalImport, FormatError> {
    if bytes.len() > MAX_EXTERNAL_BYTES {
        return Err(FormatError::TooLarge {
            max_bytes: MAX_EXTERNAL_BYTES,
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        zip_bounds::check_zip_bounds(bytes, MAX_UNCOMPRESSED_BYTES)?;
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_xlsx(bytes)));
        let rows = outcome.unwrap_or_else(|_| {
            Err(FormatError::CorruptXlsx {
                detail: "calamine panicked".to_owned(),
            })
        })?;
        Ok(ExternalImport {
            rows,
            encoding: None,
        })
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Err(FormatError::LegacyXls)
    } else if bytes.starts_with(b"%PDF") {
        Err(FormatError::UnsupportedFormat)
    } else {
        read_csv(bytes)
    }
}

fn cell_text(value: &str) -> String {
    compose_vietnamese(&value.chars().take(MAX_CELL_CHARS).collect::<String>())
}

fn read_csv(bytes: &[u8]) -> Result<ExternalImport, FormatError> {
    let (text, encoding) = decode_text(bytes)?;
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\r' | '\n'))
    {
        return Err(FormatError::UnsupportedFormat);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut collector = Collector::new();
    let mut lines = LineCounter {
        text: text.as_bytes(),
        counted_to: 0,
        breaks: 0,
    };
    let mut record = csv::StringRecord::new();
    let mut cells: Vec<String> = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let byte = error.position().map_or(0, csv::Position::byte);
                return Err(FormatError::InvalidCsv {
                    line: lines.line_at(byte),
                });
            }
        }
        let byte = record.position().map_or(0, csv::Position::byte);
        let line = lines.line_at(byte);
        cells.clear();
        cells.extend(record.iter().take(MAX_COLUMNS).map(cell_text));
        collector.push(line, &cells)?;
    }
    Ok(ExternalImport {
        rows: collector.finish()?,
        encoding: Some(encoding),
    })
}

/// Line numbers of records by their byte offset (the csv crate's own line count skips blank
/// lines), counted incrementally since records come in order.
struct LineCounter<'t> {
    text: &'t [u8],
    counted_to: usize,
    breaks: usize,
}

impl LineCounter<'_> {
    fn line_at(&mut self, byte: u64) -> usize {
        let byte = usize::try_from(byte).unwrap_or(usize::MAX);
        // A record's position may point at the line break that ends the previous one.
        let skipped = self
            .text
            .get(byte..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| matches!(b, b'\r' | b'\n'))
            .count();
        let start = byte.saturating_add(skipped).min(self.text.len());
        if start > self.counted_to {
            self.breaks += self.text[self.counted_to..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            self.counted_to = start;
        }
        self.breaks + 1
    }
}

/// The separator of the first non-blank line: the most frequent of `,`, `;` and tab.
fn detect_delimiter(text: &str) -> u8 {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| (first.bytes().filter(|b| b == d).count(), *d == b','))
        .unwrap_or(b',')
}

fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

fn xlsx_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(text) | DataRef::DurationIso(text) | DataRef::DateTimeIso(text) => {
            cell_text(text)
        }
        DataRef::SharedString(text) => cell_text(text),
        DataRef::Int(number) => number.to_string(),
        DataRef::Float(number) => number_text(*number),
        DataRef::Bool(flag) => if *flag { "TRUE" } else { "FALSE" }.to_owned(),
        DataRef::DateTime(datetime) => number_text(datetime.as_f64()),
        DataRef::Error(error) => format!("#{error}"),
    }
}

fn corrupt_xlsx(error: calamine::XlsxError) -> FormatError {
    FormatError::CorruptXlsx {
        detail: error.to_string(),
    }
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<ExternalRow>, FormatError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt_xlsx)?;
    let first_sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(FormatError::NoWorksheet)?;
    let mut reader = workbook
        .worksheet_cells_reader(&first_sheet)
        .map_err(corrupt_xlsx)?;
    let mut collector = Collector::new();
    let mut current_row: Option<u32> = None;
    let mut cells: Vec<String> = Vec::new();
    while let Some(cell) = reader.next_cell().map_err(corrupt_xlsx)? {
        let (row, column) = cell.get_position();
        if current_row != Some(row) {
            if let Some(finished) = current_row {
                collector.push(finished as usize + 1, &cells)?;
            }
            cells.clear();
            current_row = Some(row);
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
    if let Some(finished) = current_row {
        collector.push(finished as usize + 1, &cells)?;
    }
    collector.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_csv_with_vietnamese_headers_and_decimal_comma() {
        let csv =
            "Mã đơn vị;Mã tiêu chí;Điểm;Ghi chú\nstp;1.5.2;1,5;Theo báo cáo\n\nSNV;2.1.3;0.5;\n";
        let parsed = parse_external_import(csv.as_bytes()).unwrap();
        assert_eq!(parsed.rows.len(), 2);
        assert_eq!(
            parsed.rows[0],
            ExternalRow {
                row_number: 2,
                unit_code: "STP".into(),
                leaf_code: "1.5.2".into(),
                points_text: "1,5".into(),
                note: "Theo báo cáo".into(),
            }
        );
        assert_eq!(parsed.rows[1].row_number, 4);
        assert_eq!(parsed.rows[1].points_text, "0.5");
    }

    #[test]
    fn reads_snake_case_headers_with_bom_and_quotes() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(
            "ma_don_vi,ma_tieu_chi,diem,ghi_chu\nSTP,1.5.2,\"1,5\",\"a, b\"\n".as_bytes(),
        );
        let parsed = parse_external_import(&bytes).unwrap();
        assert_eq!(parsed.rows[0].points_text, "1,5");
        assert_eq!(parsed.rows[0].note, "a, b");
        assert_eq!(parsed.encoding, Some(DetectedEncoding::Utf8Bom));
    }

    #[test]
    fn reads_windows_1258() {
        // "Điểm" and "Sở" in Windows-1258: ê and ơ carry the tone as a combining mark.
        let mut bytes = b"ma_don_vi,ma_tieu_chi,\xD0i\xEA\xD2m,ghi_chu\n".to_vec();
        bytes.extend_from_slice(b"STP,2.1.3,1,S\xF5\xD2\n");
        let parsed = parse_external_import(&bytes).unwrap();
        assert_eq!(parsed.encoding, Some(DetectedEncoding::Windows1258));
        assert_eq!(parsed.rows[0].points_text, "1");
        assert_eq!(parsed.rows[0].note, "Sở");
    }

    #[test]
    fn missing_column_and_garbage_are_file_errors() {
        let error = parse_external_import(b"ma_don_vi,diem\nSTP,1\n").unwrap_err();
        assert_eq!(
            error,
            FormatError::MissingColumns {
                columns: vec!["ma_tieu_chi"]
            }
        );
        assert!(parse_external_import(b"").is_err());
        assert_eq!(
            parse_external_import(b"%PDF-1.7 ...").unwrap_err(),
            FormatError::UnsupportedFormat
        );
        assert_eq!(
            parse_external_import(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0])
                .unwrap_err(),
            FormatError::LegacyXls
        );
    }

    #[test]
    fn too_many_rows_is_refused() {
        let mut csv = String::from("ma_don_vi,ma_tieu_chi,diem\n");
        for _ in 0..=MAX_EXTERNAL_ROWS {
            csv.push_str("STP,1.5.2,1\n");
        }
        assert_eq!(
            parse_external_import(csv.as_bytes()).unwrap_err(),
            FormatError::TooManyRows {
                max_rows: MAX_EXTERNAL_ROWS
            }
        );
    }

    #[test]
    fn reads_xlsx() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        sheet.write_string(0, 0, "Mã đơn vị").unwrap();
        sheet.write_string(0, 1, "Mã tiêu chí").unwrap();
        sheet.write_string(0, 2, "Điểm").unwrap();
        sheet.write_string(1, 0, "STP").unwrap();
        sheet.write_string(1, 1, "1.5.2").unwrap();
        sheet.write_number(1, 2, 1.5).unwrap();
        let bytes = book.save_to_buffer().unwrap();
        let parsed = parse_external_import(&bytes).unwrap();
        assert_eq!(parsed.rows.len(), 1);
        assert_eq!(parsed.rows[0].points_text, "1.5");
        assert_eq!(parsed.rows[0].row_number, 2);
        assert_eq!(parsed.encoding, None);
    }
}
