//! Reading the unit registry (danh sách đơn vị được đánh giá) from a CSV file or an Excel
//! workbook into raw rows, with every problem a user can fix reported by line number.
//!
//! Only checks that need no database happen here: required values, code shapes, dates and
//! their order, duplicate codes within the file. Whether a group, parent or successor exists
//! is for the caller to check against the database.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use parindex_domain::text::{fold_for_search, format_date_vi, parse_date_vi};
use parindex_domain::unit::parse_name;
use parindex_domain::{GroupCode, UnitCode, UnitName};
use time::Date;

use crate::text_decoding::{DetectedEncoding, compose_vietnamese, decode_text};
use crate::{FormatError, zip_bounds};

/// How much an import may hold; uploads come from the open internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Most data rows (the header and blank lines not counted).
    pub max_rows: usize,
    /// Most bytes an .xlsx may declare once decompressed, all parts together.
    pub max_uncompressed_bytes: u64,
}

impl Default for ImportLimits {
    /// 10 MiB, 5000 rows, 50 MiB uncompressed: far above any province's unit list.
    fn default() -> Self {
        Self {
            max_bytes: 10 * 1024 * 1024,
            max_rows: 5000,
            max_uncompressed_bytes: 50 * 1024 * 1024,
        }
    }
}

/// One unit as read from the file, its values trimmed and checked for shape only.
/// Codes are upper-cased and names have their white space collapsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawUnitRow {
    /// 1-based line (CSV) or row (Excel) number in the file; the header is line 1.
    pub line: usize,
    /// The unit's code, upper-cased (`STP`, `H-EAKAR`).
    pub code: String,
    /// The official Vietnamese name.
    pub name_vi: String,
    /// The English name, if given.
    pub name_en: Option<String>,
    /// The code of the unit group (`SO`, `HUYEN`, `XA`); its existence is the caller's check.
    pub group_code: String,
    /// The code of the parent unit; its existence is the caller's check.
    pub parent_code: Option<String>,
    /// First day the unit is in force.
    pub valid_from: Option<Date>,
    /// Last day the unit is in force (merged or dissolved units); never before `valid_from`.
    pub valid_to: Option<Date>,
    /// The code of the unit that took over this one; its existence is the caller's check.
    pub successor_code: Option<String>,
}

/// Something wrong with one row; a row with any problem is left out of
/// [`UnitImportParse::rows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    /// 1-based line (CSV) or row (Excel) number in the file.
    pub line: usize,
    /// The column's header as written in the file, when the problem is about one cell.
    pub column: Option<String>,
    /// What is wrong and how to fix it, in Vietnamese.
    pub message: String,
}

/// The outcome of reading a unit import: the good rows and the problems, both in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitImportParse {
    /// The rows without any problem.
    pub rows: Vec<RawUnitRow>,
    /// Every problem found, one or more per faulty row.
    pub problems: Vec<RowProblem>,
    /// The text encoding of a CSV file; `None` for an Excel workbook.
    pub encoding: Option<DetectedEncoding>,
}

/// Parses a unit registry file: an .xlsx workbook (recognised by its ZIP signature, not by
/// its name; the first sheet is read) or CSV text in UTF-8, UTF-16 or Windows-1258 separated
/// by `,`, `;` or tabs.
///
/// The header row may use Vietnamese (with or without diacritics) or English column names;
/// "Mã đơn vị", "Tên đơn vị" and "Nhóm" are required, unknown columns are ignored. A title row
/// or two above the header is tolerated.
///
/// A file that cannot be read at all, is too large or lacks a required column is an error;
/// problems with single rows are returned in [`UnitImportParse::problems`].
pub fn parse_unit_import(
    bytes: &[u8],
    limits: &ImportLimits,
) -> Result<UnitImportParse, FormatError> {
    if bytes.len() > limits.max_bytes {
        return Err(FormatError::TooLarge {
            max_bytes: limits.max_bytes,
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        parse_xlsx(bytes, limits)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        // The OLE2 container of Excel 97–2003 (and old Word files).
        Err(FormatError::LegacyXls)
    } else {
        parse_csv(bytes, limits)
    }
}

/// Columns past this are never read: no registry needs them, and a row of a million cells
/// must not cost a million allocations.
const MAX_COLUMNS: usize = 256;
/// Longer cells are refused rather than copied (names are at most 255 characters).
const MAX_CELL_CHARS: usize = 1000;
/// How many non-blank rows at the top may be a title instead of the header.
const HEADER_SEARCH_ROWS: usize = 10;

/// One cell, before it is known which column it belongs to.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    /// A number from Excel: a code typed as a number, or a date serial.
    Number(f64),
    /// A cell Excel stores as a date.
    Date(Date),
    /// A cell that cannot be used, with the Vietnamese reason.
    Unreadable(String),
}

impl Cell {
    fn text(value: &str) -> Cell {
        if value.chars().nth(MAX_CELL_CHARS).is_some() {
            Cell::Unreadable(format!("Ô quá dài (tối đa {MAX_CELL_CHARS} ký tự)"))
        } else {
            Cell::Text(compose_vietnamese(value))
        }
    }

    fn is_unreadable(&self) -> bool {
        matches!(self, Cell::Unreadable(_))
    }

    fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(text) => text.trim().is_empty(),
            _ => false,
        }
    }
}

/// The columns of a unit import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Code,
    NameVi,
    NameEn,
    GroupCode,
    ParentCode,
    ValidFrom,
    ValidTo,
    SuccessorCode,
}

impl Field {
    const ALL: [Field; 8] = [
        Field::Code,
        Field::NameVi,
        Field::NameEn,
        Field::GroupCode,
        Field::ParentCode,
        Field::ValidFrom,
        Field::ValidTo,
        Field::SuccessorCode,
    ];

    /// The column's Vietnamese name, as messages show it.
    fn label(self) -> &'static str {
        match self {
            Field::Code => "Mã đơn vị",
            Field::NameVi => "Tên đơn vị",
            Field::NameEn => "Tên tiếng Anh",
            Field::GroupCode => "Nhóm",
            Field::ParentCode => "Đơn vị cha",
            Field::ValidFrom => "Hiệu lực từ",
            Field::ValidTo => "Hiệu lực đến",
            Field::SuccessorCode => "Đơn vị kế thừa",
        }
    }

    /// Accepted headers, folded as [`fold_header`] folds them.
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Field::Code => &["ma don vi", "ma", "code"],
            Field::NameVi => &["ten don vi", "ten", "name", "name vi"],
            Field::NameEn => &["ten tieng anh", "name en"],
            Field::GroupCode => &["nhom", "ma nhom", "group"],
            Field::ParentCode => &["don vi cha", "ma don vi cha", "parent"],
            Field::ValidFrom => &["hieu luc tu", "tu ngay", "valid from"],
            Field::ValidTo => &["hieu luc den", "den ngay", "valid to"],
            Field::SuccessorCode => &["don vi ke thua", "successor"],
        }
    }

    fn is_required(self) -> bool {
        matches!(self, Field::Code | Field::NameVi | Field::GroupCode)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Folds a header for matching: case, Vietnamese diacritics, đ, `_`/`-` and extra spaces do
/// not matter, nor a trailing `*` or `:` that templates put on required columns.
fn fold_header(header: &str) -> String {
    let spaced: String = header
        .chars()
        .map(|c| if matches!(c, '_' | '-') { ' ' } else { c })
        .collect();
    let trimmed =
        spaced.trim_matches(|c: char| c.is_whitespace() || matches!(c, '*' | ':' | '\u{FEFF}'));
    fold_for_search(trimmed)
}

/// Where each field is in a row, and its header as written in the file.
#[derive(Debug)]
struct ColumnMap {
    columns: [Option<(usize, String)>; 8],
}

impl ColumnMap {
    /// Maps a header row; also returns how many columns were recognised, so that the most
    /// header-like row can be blamed when none has every required column.
    fn from_header(cells: &[Cell]) -> (Result<ColumnMap, FormatError>, usize) {
        let mut columns: [Option<(usize, String)>; 8] = Default::default();
        let mut recognised = 0;
        let mut duplicate = None;
        for (index, cell) in cells.iter().enumerate() {
            let header = match cell {
                Cell::Text(text) => text.trim().to_owned(),
                _ => continue,
            };
            let folded = fold_header(&header);
            let Some(field) = Field::ALL
                .into_iter()
                .find(|field| field.aliases().contains(&folded.as_str()))
            else {
                continue;
            };
            let slot = &mut columns[field.index()];
            if slot.is_some() {
                duplicate.get_or_insert(field);
            } else {
                *slot = Some((index, header));
                recognised += 1;
            }
        }
        let missing: Vec<&'static str> = Field::ALL
            .into_iter()
            .filter(|field| field.is_required() && columns[field.index()].is_none())
            .map(Field::label)
            .collect();
        let result = if !missing.is_empty() {
            Err(FormatError::MissingColumns { columns: missing })
        } else if let Some(field) = duplicate {
            Err(FormatError::DuplicateColumn {
                column: field.label(),
            })
        } else {
            Ok(ColumnMap { columns })
        };
        (result, recognised)
    }

    fn cell<'c>(&self, cells: &'c [Cell], field: Field) -> &'c Cell {
        self.columns[field.index()]
            .as_ref()
            .and_then(|(index, _)| cells.get(*index))
            .unwrap_or(&Cell::Empty)
    }

    fn header(&self, field: Field) -> Option<String> {
        self.columns[field.index()]
            .as_ref()
            .map(|(_, header)| header.clone())
    }
}

enum HeaderState {
    Searching {
        rows_seen: usize,
        best_error: Option<(usize, FormatError)>,
    },
    Found(Box<ColumnMap>),
}

/// Receives rows in file order, finds the header, then hands each data row on.
struct RowCollector<'l> {
    header: HeaderState,
    data: DataRows<'l>,
}

/// The data rows read so far: the good ones, the problems, and what duplicates need.
struct DataRows<'l> {
    limits: &'l ImportLimits,
    count: usize,
    rows: Vec<RawUnitRow>,
    problems: Vec<RowProblem>,
    first_line_of_code: HashMap<String, usize>,
}

impl<'l> RowCollector<'l> {
    fn new(limits: &'l ImportLimits) -> Self {
        Self {
            header: HeaderState::Searching {
                rows_seen: 0,
                best_error: None,
            },
            data: DataRows {
                limits,
                count: 0,
                rows: Vec::new(),
                problems: Vec::new(),
                first_line_of_code: HashMap::new(),
            },
        }
    }

    fn push(&mut self, line: usize, cells: &[Cell]) -> Result<(), FormatError> {
        let (rows_seen, best_error) = match &mut self.header {
            HeaderState::Found(map) => return self.data.push(line, cells, map),
            HeaderState::Searching {
                rows_seen,
                best_error,
            } => (rows_seen, best_error),
        };
        if cells.iter().all(Cell::is_blank) {
            return Ok(());
        }
        match ColumnMap::from_header(cells) {
            (Ok(map), _) => self.header = HeaderState::Found(Box::new(map)),
            (Err(error), recognised) => {
                if best_error
                    .as_ref()
                    .is_none_or(|(best, _)| recognised > *best)
                {
                    *best_error = Some((recognised, error));
                }
                *rows_seen += 1;
                if *rows_seen >= HEADER_SEARCH_ROWS {
                    return Err(take_header_error(best_error));
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<(Vec<RawUnitRow>, Vec<RowProblem>), FormatError> {
        match &mut self.header {
            HeaderState::Found(_) => Ok((self.data.rows, self.data.problems)),
            HeaderState::Searching { best_error, .. } => Err(take_header_error(best_error)),
        }
    }
}

impl DataRows<'_> {
    fn push(&mut self, line: usize, cells: &[Cell], map: &ColumnMap) -> Result<(), FormatError> {
        if Field::ALL
            .into_iter()
            .all(|field| map.cell(cells, field).is_blank())
        {
            // Blank lines, and rows with content only in columns we do not read (notes).
            return Ok(());
        }
        self.count += 1;
        if self.count > self.limits.max_rows {
            return Err(FormatError::TooManyRows {
                max_rows: self.limits.max_rows,
            });
        }
        let mut check = RowCheck {
            line,
            cells,
            map,
            problems: Vec::new(),
        };
        match check.unit_row(&mut self.first_line_of_code) {
            Some(row) if check.problems.is_empty() => self.rows.push(row),
            _ => self.problems.append(&mut check.problems),
        }
        Ok(())
    }
}

fn take_header_error(best_error: &mut Option<(usize, FormatError)>) -> FormatError {
    best_error
        .take()
        .map_or(FormatError::Empty, |(_, error)| error)
}

/// Reads and checks the cells of one data row, collecting its problems.
struct RowCheck<'r> {
    line: usize,
    cells: &'r [Cell],
    map: &'r ColumnMap,
    problems: Vec<RowProblem>,
}

impl RowCheck<'_> {
    fn problem(&mut self, field: Option<Field>, message: String) {
        self.problems.push(RowProblem {
            line: self.line,
            column: field.and_then(|field| self.map.header(field)),
            message,
        });
    }

    /// The trimmed text of a cell; `None` when blank or unreadable (the latter reported).
    fn text(&mut self, field: Field) -> Option<String> {
        let value = match self.map.cell(self.cells, field) {
            Cell::Empty => return None,
            Cell::Text(text) => text.trim().to_owned(),
            Cell::Number(number) => number_as_text(*number),
            Cell::Date(date) => format_date_vi(*date),
            Cell::Unreadable(reason) => {
                let reason = reason.clone();
                self.problem(Some(field), reason);
                return None;
            }
        };
        (!value.is_empty()).then_some(value)
    }

    fn required_text(&mut self, field: Field) -> Option<String> {
        let value = self.text(field);
        if value.is_none() && !self.map.cell(self.cells, field).is_unreadable() {
            self.problem(Some(field), format!("Chưa nhập {}", field.label()));
        }
        value
    }

    fn date(&mut self, field: Field) -> Option<Date> {
        match self.map.cell(self.cells, field) {
            Cell::Date(date) => Some(*date),
            Cell::Number(serial) => {
                let serial = *serial;
                let date = excel_serial_to_date(serial);
                if date.is_none() {
                    self.bad_date(field, &number_as_text(serial));
                }
                date
            }
            _ => {
                let text = self.text(field)?;
                let date = parse_date_vi(&text);
                if date.is_none() {
                    self.bad_date(field, &text);
                }
                date
            }
        }
    }

    fn bad_date(&mut self, field: Field, value: &str) {
        self.problem(
            Some(field),
            format!(
                "Ngày không hợp lệ: '{}' (dùng dạng dd/mm/yyyy)",
                shown(value)
            ),
        );
    }

    /// A unit code in `field`, upper-cased and checked for shape.
    fn code(&mut self, field: Field, value: &str) -> Option<String> {
        match UnitCode::parse(value) {
            Ok(code) => Some(code.as_str().to_owned()),
            Err(error) => {
                self.problem(
                    Some(field),
                    format!(
                        "{} '{}' không hợp lệ. {}",
                        field.label(),
                        shown(value),
                        error.message
                    ),
                );
                None
            }
        }
    }

    /// Reads every field (so that all of a row's problems are reported at once) and returns
    /// the row when the values could be read; the caller still drops it if any problem was
    /// recorded.
    fn unit_row(&mut self, first_line_of_code: &mut HashMap<String, usize>) -> Option<RawUnitRow> {
        let code = self
            .required_text(Field::Code)
            .and_then(|value| self.code(Field::Code, &value));
        if let Some(code) = &code {
            if let Some(first_line) = first_line_of_code.get(code) {
                let message = format!("Mã đơn vị '{code}' trùng với dòng {first_line}");
                self.problem(Some(Field::Code), message);
            } else {
                first_line_of_code.insert(code.clone(), self.line);
            }
        }

        let name_vi = self
            .required_text(Field::NameVi)
            // A cell broken over lines in Excel (Alt+Enter) is one name: its line breaks
            // become spaces here, since a name itself never holds one.
            .and_then(|value| match UnitName::parse(&one_line(&value)) {
                Ok(name) => Some(name.as_str().to_owned()),
                Err(error) => {
                    self.problem(Some(Field::NameVi), error.message);
                    None
                }
            });
        let name_en = match self.text(Field::NameEn) {
            None => None,
            Some(value) => match parse_name(&one_line(&value), "name_en") {
                Ok(name) => Some(name),
                Err(error) => {
                    self.problem(Some(Field::NameEn), error.message);
                    None
                }
            },
        };
        let group_code =
            self.required_text(Field::GroupCode)
                .and_then(|value| match GroupCode::parse(&value) {
                    Ok(group) => Some(group.as_str().to_owned()),
                    Err(error) => {
                        let message =
                            format!("Nhóm '{}' không hợp lệ. {}", shown(&value), error.message);
                        self.problem(Some(Field::GroupCode), message);
                        None
                    }
                });

        let parent_code = self.optional_code(Field::ParentCode);
        if code.is_some() && parent_code == code {
            self.problem(
                Some(Field::ParentCode),
                "Đơn vị không thể là đơn vị cha của chính nó".to_owned(),
            );
        }
        let successor_code = self.optional_code(Field::SuccessorCode);
        if code.is_some() && successor_code == code {
            self.problem(
                Some(Field::SuccessorCode),
                "Đơn vị không thể kế thừa chính nó".to_owned(),
            );
        }

        let valid_from = self.date(Field::ValidFrom);
        let valid_to = self.date(Field::ValidTo);
        if let Some((from, to)) = valid_from.zip(valid_to).filter(|(from, to)| to < from) {
            self.problem(
                Some(Field::ValidTo),
                format!(
                    "Ngày hết hiệu lực {} trước ngày bắt đầu hiệu lực {}",
                    format_date_vi(to),
                    format_date_vi(from)
                ),
            );
        }

        Some(RawUnitRow {
            line: self.line,
            code: code?,
            name_vi: name_vi?,
            name_en,
            group_code: group_code?,
            parent_code,
            valid_from,
            valid_to,
            successor_code,
        })
    }

    fn optional_code(&mut self, field: Field) -> Option<String> {
        let value = self.text(field)?;
        self.code(field, &value)
    }
}

/// Cuts a user's value for quoting in a message, so a pasted paragraph stays readable.
fn shown(value: &str) -> String {
    const MAX_SHOWN: usize = 40;
    if value.chars().nth(MAX_SHOWN).is_some() {
        let mut cut: String = value.chars().take(MAX_SHOWN).collect();
        cut.push('…');
        cut
    } else {
        value.to_owned()
    }
}

/// Excel shows a whole number without a decimal point; so does this (a code typed as 1001).
fn number_as_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 1e15 {
        format!("{}", number as i64)
    } else {
        number.to_string()
    }
}

/// An Excel date serial (1900 date system) to a date. Serials before 1 March 1900 are
/// refused: Excel counts a 29 February 1900 that never was, and no unit dates from then.
fn excel_serial_to_date(serial: f64) -> Option<Date> {
    /// The Julian day of 30 December 1899, Excel's day 0 for serials after February 1900.
    const EXCEL_EPOCH_JULIAN_DAY: i32 = 2_415_019;
    if !serial.is_finite() || !(61.0..2_958_466.0).contains(&serial) {
        return None;
    }
    Date::from_julian_day(EXCEL_EPOCH_JULIAN_DAY + serial.floor() as i32).ok()
}

fn cell_from_xlsx(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(text) | DataRef::DurationIso(text) => Cell::text(text),
        DataRef::SharedString(text) => Cell::text(text),
        DataRef::Int(number) => Cell::Number(*number as f64),
        DataRef::Float(number) => Cell::Number(*number),
        DataRef::Bool(flag) => Cell::Text(if *flag { "TRUE" } else { "FALSE" }.to_owned()),
        DataRef::DateTime(datetime) if datetime.is_datetime() => {
            let (year, month, day, ..) = datetime.to_ymd_hms_milli();
            time::Month::try_from(month)
                .ok()
                .and_then(|month| Date::from_calendar_date(i32::from(year), month, day).ok())
                .map_or_else(
                    || Cell::Unreadable("Ô ngày tháng không đọc được".to_owned()),
                    Cell::Date,
                )
        }
        DataRef::DateTime(_) => {
            Cell::Unreadable("Ô chứa khoảng thời gian, không phải ngày tháng".to_owned())
        }
        DataRef::DateTimeIso(text) => text
            .get(..10)
            .and_then(parse_date_vi)
            .map_or_else(|| Cell::text(text), Cell::Date),
        DataRef::Error(error) => Cell::Unreadable(format!("Ô có lỗi công thức ({error})")),
    }
}

fn parse_xlsx(bytes: &[u8], limits: &ImportLimits) -> Result<UnitImportParse, FormatError> {
    zip_bounds::check_zip_bounds(bytes, limits.max_uncompressed_bytes)?;
    // calamine parses untrusted XML; should a bug in it panic, the user gets "corrupt file"
    // instead of a failed request.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        read_first_sheet(bytes, limits)
    }));
    let (rows, problems) = outcome.unwrap_or_else(|_| {
        Err(FormatError::CorruptXlsx {
            detail: "calamine panicked".to_owned(),
        })
    })?;
    Ok(UnitImportParse {
        rows,
        problems,
        encoding: None,
    })
}

fn corrupt_xlsx(error: calamine::XlsxError) -> FormatError {
    FormatError::CorruptXlsx {
        detail: error.to_string(),
    }
}

/// Streams the first sheet's cells row by row: a sheet whose used range claims a million
/// rows or columns never becomes a dense grid in memory.
fn read_first_sheet(
    bytes: &[u8],
    limits: &ImportLimits,
) -> Result<(Vec<RawUnitRow>, Vec<RowProblem>), FormatError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt_xlsx)?;
    let first_sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or(FormatError::NoWorksheet)?;
    let mut reader = workbook
        .worksheet_cells_reader(&first_sheet)
        .map_err(corrupt_xlsx)?;
    let mut collector = RowCollector::new(limits);
    let mut current_row: Option<u32> = None;
    let mut cells: Vec<Cell> = Vec::new();
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
        let value = cell_from_xlsx(cell.get_value());
        if value == Cell::Empty {
            continue;
        }
        if cells.len() <= column {
            cells.resize(column + 1, Cell::Empty);
        }
        cells[column] = value;
    }
    if let Some(finished) = current_row {
        collector.push(finished as usize + 1, &cells)?;
    }
    collector.finish()
}

fn parse_csv(bytes: &[u8], limits: &ImportLimits) -> Result<UnitImportParse, FormatError> {
    let (text, encoding) = decode_text(bytes)?;
    if looks_binary(&text) {
        return Err(FormatError::UnsupportedFormat);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(detect_delimiter(&text))
        .from_reader(text.as_bytes());
    let mut collector = RowCollector::new(limits);
    let mut lines = LineCounter::new(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut cells: Vec<Cell> = Vec::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(error) => {
                let byte = error.position().map_or(0, csv::Position::byte);
                return Err(FormatError::InvalidCsv {
                    line: lines.line_of_record_at(byte),
                });
            }
        }
        let byte = record.position().map_or(0, csv::Position::byte);
        let line = lines.line_of_record_at(byte);
        cells.clear();
        cells.extend(record.iter().take(MAX_COLUMNS).map(Cell::text));
        collector.push(line, &cells)?;
    }
    let (rows, problems) = collector.finish()?;
    Ok(UnitImportParse {
        rows,
        problems,
        encoding: Some(encoding),
    })
}

/// Line numbers of CSV records, counted here because the csv crate's own count goes wrong
/// after consecutive blank lines (and its byte offset points before the blank lines it skips).
struct LineCounter<'t> {
    text: &'t [u8],
    counted_to: usize,
    breaks: usize,
}

impl<'t> LineCounter<'t> {
    fn new(text: &'t [u8]) -> Self {
        Self {
            text,
            counted_to: 0,
            breaks: 0,
        }
    }

    /// The 1-based line of the record the csv reader reports at `byte`: the first line after
    /// the empty lines it skipped there. Records come in order, so counting is incremental.
    fn line_of_record_at(&mut self, byte: u64) -> usize {
        let byte = usize::try_from(byte).unwrap_or(usize::MAX);
        let skipped = self
            .text
            .get(byte..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&b| matches!(b, b'\r' | b'\n'))
            .count();
        let start = (byte + skipped).min(self.text.len());
        if start > self.counted_to {
            let text = self.text;
            // \r\n, \n and a lone \r each end one line.
            self.breaks += (self.counted_to..start)
                .filter(|&i| {
                    text[i] == b'\n' || (text[i] == b'\r' && text.get(i + 1) != Some(&b'\n'))
                })
                .count();
            self.counted_to = start;
        }
        self.breaks + 1
    }
}

/// Text files have no NUL and almost no control characters; images, PDFs and random bytes
/// (which decode as Windows-1258 like anything else) have plenty.
fn looks_binary(text: &str) -> bool {
    let mut total = 0usize;
    let mut controls = 0usize;
    for ch in text.chars() {
        if ch == '\0' {
            return true;
        }
        total += 1;
        controls += usize::from(ch.is_control() && !matches!(ch, '\t' | '\n' | '\r'));
    }
    controls * 100 > total
}

/// Picks the separator the header line uses most among `,`, `;` and tab (quoted text
/// aside). Excel on a Vietnamese Windows writes `;`, because the decimal separator is `,`.
fn detect_delimiter(text: &str) -> u8 {
    let header = text
        .lines()
        .find(|line| !line.trim().is_empty())
        .unwrap_or_default();
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0)];
    let mut quoted = false;
    for ch in header.chars() {
        match ch {
            '"' => quoted = !quoted,
            _ if quoted => {}
            _ => {
                for (delimiter, count) in &mut counts {
                    if ch == char::from(*delimiter) {
                        *count += 1;
                    }
                }
            }
        }
    }
    // Ties go to the comma, which comes first.
    counts
        .iter()
        .fold((b',', 0), |best, &candidate| {
            if candidate.1 > best.1 {
                candidate
            } else {
                best
            }
        })
        .0
}

/// A spreadsheet cell's text with its line breaks and tabs turned into spaces.
fn one_line(value: &str) -> String {
    value.replace(['\r', '\n', '\t'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_fold_diacritics_case_and_separators() {
        assert_eq!(fold_header("  Mã  Đơn vị * "), "ma don vi");
        assert_eq!(fold_header("HIỆU LỰC TỪ:"), "hieu luc tu");
        assert_eq!(fold_header("valid_from"), "valid from");
        assert_eq!(fold_header("Name-EN"), "name en");
    }

    #[test]
    fn delimiter_is_taken_from_the_header_line() {
        assert_eq!(detect_delimiter("a;b;c\n1,5;2;3"), b';');
        assert_eq!(detect_delimiter("a\tb\n"), b'\t');
        assert_eq!(detect_delimiter("\"x;y\",b\n"), b',');
        assert_eq!(detect_delimiter("single"), b',');
    }

    #[test]
    fn excel_serials_become_dates() {
        use time::macros::date;
        assert_eq!(excel_serial_to_date(45306.0), Some(date!(2024 - 01 - 15)));
        assert_eq!(excel_serial_to_date(61.0), Some(date!(1900 - 03 - 01)));
        assert_eq!(excel_serial_to_date(60.0), None);
        assert_eq!(excel_serial_to_date(f64::NAN), None);
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_as_text(1001.0), "1001");
        assert_eq!(number_as_text(1.5), "1.5");
    }
}
