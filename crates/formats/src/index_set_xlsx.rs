//! Index sets as Excel workbooks, in the layout of docs/index-set-format.md ("Excel layout"):
//! sheet `Bộ chỉ số` with one row per node (then the bonus and penalty items) in columns A–K,
//! and sheet `Thông tin` with the document's own fields as key/value rows.
//!
//! The export is meant for a secretariat to read and edit: a bold frozen header, sensible
//! column widths, wrapped long texts, titles indented by level (through the cell format, so
//! the title itself stays clean), a list of rule kinds to pick from. The import trusts
//! nothing: the ZIP is checked against bombs before calamine opens it, calamine runs under
//! `catch_unwind`, rows are streamed and counted, and every problem of every row is reported
//! at once with its row number.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{DataRef, Reader, Xlsx};
use parindex_domain::index_set::{AdjustmentDoc, AdjustmentKind, NodeDoc};
use parindex_domain::points::exact;
use parindex_domain::rules::{RuleKind, RuleSpec};
use parindex_domain::text::fold_for_search;
use parindex_domain::{IndexSetDoc, Points};
use rust_xlsxwriter::{
    Color, DataValidation, DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};
use serde_json::{Map, Value};

use crate::index_set_yaml::{
    MAX_FILE_LEVELS, MAX_INDEX_SET_BYTES, check_levels, fragment_budget, from_yaml_str,
};
use crate::{FormatError, MAX_LISTED_PROBLEMS, SheetProblem, zip_bounds};

/// The sheet with one row per node.
pub const NODES_SHEET: &str = "Bộ chỉ số";
/// The sheet with the document's fields.
pub const INFO_SHEET: &str = "Thông tin";

/// The most node and adjustment rows a workbook may hold (the domain's node limit).
pub const MAX_ROWS: usize = parindex_domain::index_set::MAX_NODES;

/// The most bytes a workbook may declare once decompressed.
const MAX_UNCOMPRESSED_BYTES: u64 = 50 * 1024 * 1024;
/// Rows of `Thông tin` read at most: it has 13 keys, a header and perhaps a few notes.
const MAX_INFO_ROWS: usize = 200;
/// The most characters an Excel cell holds.
const MAX_CELL_CHARS: usize = 32_767;

const COLUMNS: usize = 11;
const HEADERS: [&str; COLUMNS] = [
    "Mã",
    "Tên",
    "Tên tiếng Anh",
    "Điểm tối đa",
    "Loại quy tắc",
    "Tham số",
    "Cách chấm điểm",
    "Tài liệu kiểm chứng",
    "Áp dụng cho nhóm",
    "Được khai không áp dụng",
    "Không bắt buộc tổng",
];
const WIDTHS: [f64; COLUMNS] = [
    10.0, 55.0, 35.0, 10.0, 18.0, 40.0, 60.0, 45.0, 14.0, 13.0, 13.0,
];

const A_CODE: usize = 0;
const B_TITLE: usize = 1;
const C_TITLE_EN: usize = 2;
const D_MAX: usize = 3;
const E_KIND: usize = 4;
const F_PARAMS: usize = 5;
const G_METHOD: usize = 6;
const H_EVIDENCE: usize = 7;
const I_APPLIES_TO: usize = 8;
const J_NOT_APPLICABLE: usize = 9;
const K_SUM_EXEMPT: usize = 10;

const BONUS: &str = "bonus";
const PENALTY: &str = "penalty";

const ILLUSTRATIVE_NOTE: &str = "BỘ CHỈ SỐ MINH HỌA — không phải nội dung chính thức";

/// The keys of `Thông tin`, in order, with the note shown beside each.
const INFO_KEYS: [(&str, &str); 13] = [
    ("format", "Phiên bản định dạng tệp; giữ nguyên"),
    (
        "code",
        "Mã bộ chỉ số: 2–40 ký tự chữ in hoa không dấu, chữ số, _ - .",
    ),
    ("title", "Tên bộ chỉ số"),
    ("title_en", "Tên tiếng Anh (không bắt buộc)"),
    ("year", "Năm đánh giá"),
    ("unit_group", "Mã nhóm đơn vị áp dụng (SO, HUYEN, XA, …)"),
    (
        "illustrative",
        "TRUE nếu là bộ chỉ số minh họa, không phải nội dung chính thức",
    ),
    ("source_document", "Văn bản ban hành (không bắt buộc)"),
    ("scale", "Tổng điểm tối đa (thang điểm)"),
    ("appraised_max", "Tổng điểm tối đa các tiêu chí thẩm định"),
    (
        "survey_max",
        "Tổng điểm tối đa các tiêu chí điều tra xã hội học",
    ),
    ("bonus_cap", "Điểm thưởng tối đa một đơn vị được cộng"),
    ("penalty_cap", "Điểm trừ tối đa một đơn vị bị trừ"),
];

// ---------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------

/// The cell formats of the export.
struct Formats {
    header: Format,
    top: Format,
    wrap: Format,
    number: Format,
    /// Title formats by level (index 0 = level 1), indented one step per level.
    titles: Vec<Format>,
    domain_code: Format,
    flag: Format,
    info_key: Format,
    warning: Format,
}

impl Formats {
    fn new() -> Formats {
        let top = Format::new().set_align(FormatAlign::Top);
        let wrap = top.clone().set_text_wrap();
        let titles = (0..MAX_FILE_LEVELS)
            .map(|level| {
                let format = wrap
                    .clone()
                    .set_indent(u8::try_from(level).unwrap_or(u8::MAX));
                if level == 0 {
                    format.set_bold()
                } else {
                    format
                }
            })
            .collect();
        Formats {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0x00D9_E1F2))
                .set_border_bottom(FormatBorder::Thin),
            number: top.clone().set_align(FormatAlign::Right),
            domain_code: top.clone().set_bold(),
            flag: top.clone().set_align(FormatAlign::Center),
            info_key: top.clone().set_bold(),
            warning: wrap
                .clone()
                .set_bold()
                .set_font_color(Color::RGB(0x00C0_0000)),
            titles,
            top,
            wrap,
        }
    }

    fn title(&self, level: usize) -> &Format {
        let index = level.saturating_sub(1).min(self.titles.len() - 1);
        &self.titles[index]
    }
}

fn write_failed(error: XlsxError) -> FormatError {
    FormatError::WriteFailed {
        detail: error.to_string(),
    }
}

/// Writes `doc` as an .xlsx workbook in the documented layout. Reading the result back with
/// [`parse_index_set_xlsx`] gives an equal document.
pub fn write_index_set_xlsx(doc: &IndexSetDoc) -> Result<Vec<u8>, FormatError> {
    check_levels(doc)?;
    let rows = count_nodes(doc) + doc.adjustments.len();
    if rows > MAX_ROWS {
        return Err(FormatError::TooManyNodes { max_rows: MAX_ROWS });
    }
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let mut properties = DocProperties::new()
        .set_title(title_with_note(doc))
        .set_subject(format!("Bộ chỉ số {} năm {}", doc.code, doc.year))
        .set_keywords(parindex_domain::index_set::FORMAT)
        .set_author("parindex");
    if doc.illustrative {
        properties = properties.set_comment(ILLUSTRATIVE_NOTE);
    }
    workbook.set_properties(&properties);

    let sheet = workbook.add_worksheet();
    sheet.set_name(NODES_SHEET).map_err(write_failed)?;
    write_nodes_sheet(sheet, doc, &formats)?;

    let info = workbook.add_worksheet();
    info.set_name(INFO_SHEET).map_err(write_failed)?;
    write_info_sheet(info, doc, &formats)?;

    workbook.save_to_buffer().map_err(write_failed)
}

fn title_with_note(doc: &IndexSetDoc) -> String {
    if doc.illustrative {
        format!("{} — {ILLUSTRATIVE_NOTE}", doc.title)
    } else {
        doc.title.clone()
    }
}

fn count_nodes(doc: &IndexSetDoc) -> usize {
    let mut count = 0;
    let mut stack: Vec<&NodeDoc> = doc.nodes.iter().collect();
    while let Some(node) = stack.pop() {
        count += 1;
        stack.extend(node.children.iter());
    }
    count
}

/// Row and column as rust_xlsxwriter takes them; the row count was bounded before.
fn at(row: usize, column: usize) -> (u32, u16) {
    (
        u32::try_from(row).unwrap_or(u32::MAX),
        u16::try_from(column).unwrap_or(u16::MAX),
    )
}

/// Writes a text cell, refusing a text longer than a cell holds with a message naming the
/// row's code and the column.
fn write_text(
    sheet: &mut Worksheet,
    row: usize,
    column: usize,
    text: &str,
    format: &Format,
    code: &str,
    column_name: &'static str,
) -> Result<(), FormatError> {
    if text.is_empty() {
        return Ok(());
    }
    if text.chars().count() > MAX_CELL_CHARS {
        return Err(FormatError::CellTooLong {
            code: code.to_owned(),
            column: column_name,
        });
    }
    let (row, column) = at(row, column);
    sheet
        .write_string_with_format(row, column, text, format)
        .map_err(write_failed)?;
    Ok(())
}

/// Writes points as a number when the number is exactly the decimal (as the YAML does), and
/// as text otherwise, so nothing is lost.
fn write_points(
    sheet: &mut Worksheet,
    row: usize,
    column: usize,
    points: Points,
    format: &Format,
) -> Result<(), FormatError> {
    let (r, c) = at(row, column);
    match exact_number(points) {
        Some(number) => sheet.write_number_with_format(r, c, number, format),
        None => {
            sheet.write_string_with_format(r, c, points.value().normalize().to_string(), format)
        }
    }
    .map_err(write_failed)?;
    Ok(())
}

/// The f64 whose shortest text is exactly `points`, if there is one.
fn exact_number(points: Points) -> Option<f64> {
    /// Integers beyond 2^53 are not all representable.
    const MAX_EXACT_INTEGER: i64 = 1 << 53;
    match serde_json::to_value(points).ok()? {
        Value::Number(number) => {
            if let Some(int) = number.as_i64() {
                return (int.abs() < MAX_EXACT_INTEGER).then_some(int as f64);
            }
            number.as_f64().filter(|float| float.is_finite())
        }
        _ => None,
    }
}

fn write_nodes_sheet(
    sheet: &mut Worksheet,
    doc: &IndexSetDoc,
    formats: &Formats,
) -> Result<(), FormatError> {
    for (column, (header, width)) in HEADERS.iter().zip(WIDTHS).enumerate() {
        let (r, c) = at(0, column);
        sheet
            .write_string_with_format(r, c, *header, &formats.header)
            .map_err(write_failed)?;
        sheet.set_column_width(c, width).map_err(write_failed)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(write_failed)?;

    let mut row = 1;
    // Tree order without recursion: parents before children, siblings in order.
    let mut stack: Vec<(&NodeDoc, usize)> = doc.nodes.iter().rev().map(|n| (n, 1)).collect();
    while let Some((node, level)) = stack.pop() {
        write_node_row(sheet, row, node, level, formats)?;
        row += 1;
        stack.extend(node.children.iter().rev().map(|child| (child, level + 1)));
    }
    for adjustment in &doc.adjustments {
        write_adjustment_row(sheet, row, adjustment, formats)?;
        row += 1;
    }

    let last_row = at(row.saturating_sub(1).max(1), 0).0;
    sheet
        .autofilter(0, 0, last_row, at(0, COLUMNS - 1).1)
        .map_err(write_failed)?;
    let kinds: Vec<&str> = RuleKind::ALL
        .iter()
        .map(|kind| kind.code())
        .chain([BONUS, PENALTY])
        .collect();
    let validation = DataValidation::new()
        .allow_list_strings(&kinds)
        .map_err(write_failed)?
        .ignore_blank(true)
        .set_input_title("Loại quy tắc")
        .map_err(write_failed)?
        .set_input_message(
            "Để trống với nút có nút con; bonus / penalty cho mục điểm thưởng / điểm trừ",
        )
        .map_err(write_failed)?;
    let (max_row, kind_column) = at(MAX_ROWS, E_KIND);
    sheet
        .add_data_validation(1, kind_column, max_row, kind_column, &validation)
        .map_err(write_failed)?;
    Ok(())
}

fn write_node_row(
    sheet: &mut Worksheet,
    row: usize,
    node: &NodeDoc,
    level: usize,
    formats: &Formats,
) -> Result<(), FormatError> {
    let code = node.code.as_str();
    let code_format = if level == 1 {
        &formats.domain_code
    } else {
        &formats.top
    };
    write_text(sheet, row, A_CODE, code, code_format, code, HEADERS[A_CODE])?;
    write_text(
        sheet,
        row,
        B_TITLE,
        &node.title,
        formats.title(level),
        code,
        HEADERS[B_TITLE],
    )?;
    if let Some(title_en) = &node.title_en {
        write_text(
            sheet,
            row,
            C_TITLE_EN,
            title_en,
            &formats.wrap,
            code,
            HEADERS[C_TITLE_EN],
        )?;
    }
    write_points(sheet, row, D_MAX, node.max, &formats.number)?;
    if let Some(rule) = &node.rule {
        let kind = rule.kind().code();
        write_text(
            sheet,
            row,
            E_KIND,
            kind,
            &formats.top,
            code,
            HEADERS[E_KIND],
        )?;
        if let Some(params) = rule_params(rule)? {
            write_text(
                sheet,
                row,
                F_PARAMS,
                &params,
                &formats.wrap,
                code,
                HEADERS[F_PARAMS],
            )?;
        }
    }
    if let Some(method) = &node.method {
        write_text(
            sheet,
            row,
            G_METHOD,
            method,
            &formats.wrap,
            code,
            HEADERS[G_METHOD],
        )?;
    }
    if let Some(evidence) = &node.evidence {
        write_text(
            sheet,
            row,
            H_EVIDENCE,
            evidence,
            &formats.wrap,
            code,
            HEADERS[H_EVIDENCE],
        )?;
    }
    if !node.applies_to.is_empty() {
        let groups = node.applies_to.join(", ");
        write_text(
            sheet,
            row,
            I_APPLIES_TO,
            &groups,
            &formats.top,
            code,
            HEADERS[I_APPLIES_TO],
        )?;
    }
    if node.not_applicable_allowed {
        write_text(
            sheet,
            row,
            J_NOT_APPLICABLE,
            "x",
            &formats.flag,
            code,
            HEADERS[J_NOT_APPLICABLE],
        )?;
    }
    if node.sum_exempt {
        write_text(
            sheet,
            row,
            K_SUM_EXEMPT,
            "x",
            &formats.flag,
            code,
            HEADERS[K_SUM_EXEMPT],
        )?;
    }
    Ok(())
}

fn write_adjustment_row(
    sheet: &mut Worksheet,
    row: usize,
    adjustment: &AdjustmentDoc,
    formats: &Formats,
) -> Result<(), FormatError> {
    let code = adjustment.code.as_str();
    write_text(
        sheet,
        row,
        A_CODE,
        code,
        &formats.domain_code,
        code,
        HEADERS[A_CODE],
    )?;
    write_text(
        sheet,
        row,
        B_TITLE,
        &adjustment.title,
        &formats.wrap,
        code,
        HEADERS[B_TITLE],
    )?;
    write_points(sheet, row, D_MAX, adjustment.max, &formats.number)?;
    let kind = match adjustment.kind {
        AdjustmentKind::Bonus => BONUS,
        AdjustmentKind::Penalty => PENALTY,
    };
    write_text(
        sheet,
        row,
        E_KIND,
        kind,
        &formats.top,
        code,
        HEADERS[E_KIND],
    )?;
    if let Some(method) = &adjustment.method {
        write_text(
            sheet,
            row,
            G_METHOD,
            method,
            &formats.wrap,
            code,
            HEADERS[G_METHOD],
        )?;
    }
    Ok(())
}

fn write_info_sheet(
    sheet: &mut Worksheet,
    doc: &IndexSetDoc,
    formats: &Formats,
) -> Result<(), FormatError> {
    for (column, (header, width)) in [("Trường", 18.0), ("Giá trị", 70.0), ("Ghi chú", 60.0)]
        .into_iter()
        .enumerate()
    {
        let (r, c) = at(0, column);
        sheet
            .write_string_with_format(r, c, header, &formats.header)
            .map_err(write_failed)?;
        sheet.set_column_width(c, width).map_err(write_failed)?;
    }
    sheet.set_freeze_panes(1, 0).map_err(write_failed)?;
    let code = doc.code.as_str();
    let value_column = "Giá trị";
    for (index, (key, note)) in INFO_KEYS.iter().enumerate() {
        let row = index + 1;
        let (r, _) = at(row, 0);
        sheet
            .write_string_with_format(r, 0, *key, &formats.info_key)
            .map_err(write_failed)?;
        match *key {
            "format" => write_text(
                sheet,
                row,
                1,
                &doc.format,
                &formats.wrap,
                code,
                value_column,
            )?,
            "code" => write_text(sheet, row, 1, &doc.code, &formats.wrap, code, value_column)?,
            "title" => write_text(sheet, row, 1, &doc.title, &formats.wrap, code, value_column)?,
            "title_en" => {
                if let Some(title_en) = &doc.title_en {
                    write_text(sheet, row, 1, title_en, &formats.wrap, code, value_column)?;
                }
            }
            "year" => {
                sheet
                    .write_number_with_format(r, 1, f64::from(doc.year), &formats.top)
                    .map_err(write_failed)?;
            }
            "unit_group" => write_text(
                sheet,
                row,
                1,
                &doc.unit_group,
                &formats.wrap,
                code,
                value_column,
            )?,
            "illustrative" => {
                sheet
                    .write_boolean_with_format(r, 1, doc.illustrative, &formats.top)
                    .map_err(write_failed)?;
            }
            "source_document" => {
                if let Some(source) = &doc.source_document {
                    write_text(sheet, row, 1, source, &formats.wrap, code, value_column)?;
                }
            }
            "scale" => write_points(sheet, row, 1, doc.scale, &formats.top)?,
            "appraised_max" => write_points(sheet, row, 1, doc.appraised_max, &formats.top)?,
            "survey_max" => write_points(sheet, row, 1, doc.survey_max, &formats.top)?,
            "bonus_cap" => write_points(sheet, row, 1, doc.bonus_cap, &formats.top)?,
            "penalty_cap" => write_points(sheet, row, 1, doc.penalty_cap, &formats.top)?,
            _ => {}
        }
        let (note, note_format) = if *key == "illustrative" && doc.illustrative {
            (ILLUSTRATIVE_NOTE, &formats.warning)
        } else {
            (*note, &formats.wrap)
        };
        sheet
            .write_string_with_format(r, 2, note, note_format)
            .map_err(write_failed)?;
    }
    Ok(())
}

/// The rule's parameters for column F: the rule without its `kind`, as compact flow YAML
/// (`{counted: nhiệm vụ, tiers: [{min_percent: 100, points: 1}]}`); None when it has none.
fn rule_params(rule: &RuleSpec) -> Result<Option<String>, FormatError> {
    let value = serde_json::to_value(rule).map_err(|error| FormatError::WriteFailed {
        detail: error.to_string(),
    })?;
    let Value::Object(mut map) = value else {
        return Ok(None);
    };
    map.remove("kind");
    if map.is_empty() {
        return Ok(None);
    }
    let mut out = String::new();
    write_flow(&Value::Object(map), &mut out);
    Ok(Some(out))
}

/// Compact flow YAML of a JSON value: plain scalars where that reads back as the same
/// string, JSON-quoted (which YAML reads as double-quoted) otherwise. A rule is at most four
/// levels deep, so the recursion is bounded.
fn write_flow(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(flag) => out.push_str(if *flag { "true" } else { "false" }),
        Value::Number(number) => out.push_str(&number.to_string()),
        Value::String(text) => write_flow_string(text, out),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_flow(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by_key(|(key, _)| key_rank(key));
            for (index, (key, item)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push_str(", ");
                }
                write_flow_string(key, out);
                out.push_str(": ");
                write_flow(item, out);
            }
            out.push('}');
        }
    }
}

/// The order keys are written in: as in docs/index-set-format.md (what is counted, then the
/// numbers, then lists), not alphabetical.
fn key_rank(key: &str) -> (usize, &str) {
    const ORDER: [&str; 13] = [
        "name",
        "label",
        "counted",
        "provider",
        "floor_percent",
        "start",
        "per_violation",
        "min_percent",
        "max_count",
        "points",
        "tiers",
        "variables",
        "expression",
    ];
    let rank = ORDER.iter().position(|k| *k == key).unwrap_or(ORDER.len());
    (rank, key)
}

fn write_flow_string(text: &str, out: &mut String) {
    if is_safe_plain(text) {
        out.push_str(text);
    } else {
        // A JSON string is a valid YAML double-quoted scalar with the same value.
        out.push_str(&Value::String(text.to_owned()).to_string());
    }
}

/// Whether `text` can be written unquoted in a flow collection and read back as the same
/// string: it starts with a letter, has no YAML indicator or control character, no
/// surrounding space, and is not a word YAML reads as something else.
fn is_safe_plain(text: &str) -> bool {
    const RESERVED: [&str; 15] = [
        "true", "false", "null", "yes", "no", "on", "off", "y", "n", "nan", "inf", "infinity",
        "none", "tilde", "nil",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    first.is_alphabetic()
        && text.trim() == text
        && !text.contains("  ")
        && !text.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    ',' | '['
                        | ']'
                        | '{'
                        | '}'
                        | '#'
                        | ':'
                        | '"'
                        | '\''
                        | '&'
                        | '*'
                        | '!'
                        | '|'
                        | '>'
                        | '%'
                        | '@'
                        | '`'
                        | '\\'
                        | '?'
                )
        })
        && !RESERVED.contains(&text.to_lowercase().as_str())
}

// ---------------------------------------------------------------------------------------
// Import
// ---------------------------------------------------------------------------------------

/// A cell as read, before it is interpreted for its column.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A cell that holds no usable value (a date, a formula error); why, in Vietnamese.
    Unreadable(String),
}

impl Cell {
    fn from_calamine(value: &DataRef<'_>) -> Cell {
        match value {
            DataRef::Empty => Cell::Empty,
            DataRef::String(text) | DataRef::DateTimeIso(text) | DataRef::DurationIso(text) => {
                Cell::text(text)
            }
            DataRef::SharedString(text) => Cell::text(text),
            DataRef::Int(number) => Cell::Int(*number),
            DataRef::Float(number) => Cell::Number(*number),
            DataRef::Bool(flag) => Cell::Bool(*flag),
            DataRef::DateTime(_) => {
                Cell::Unreadable("ô chứa ngày tháng; hãy định dạng ô là Văn bản hoặc Số".to_owned())
            }
            DataRef::Error(error) => Cell::Unreadable(format!("ô có lỗi công thức ({error})")),
        }
    }

    /// Blank text counts as empty.
    fn text(text: &str) -> Cell {
        if text.trim().is_empty() {
            Cell::Empty
        } else {
            Cell::Text(text.to_owned())
        }
    }

    fn is_empty(&self) -> bool {
        *self == Cell::Empty
    }
}

/// A row of cells A–K with its Excel row number.
struct Row {
    number: usize,
    cells: Vec<Cell>,
}

impl Row {
    fn cell(&self, column: usize) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Empty)
    }
}

/// A number as Excel shows it: whole numbers without a decimal point, others by their
/// shortest round-trip text (the decimal a user typed).
fn number_text(number: f64) -> String {
    format!("{number}")
}

/// Collects the problems of a sheet; keeps the first [`MAX_LISTED_PROBLEMS`].
struct Problems {
    sheet: &'static str,
    listed: Vec<SheetProblem>,
    total: usize,
}

impl Problems {
    fn new(sheet: &'static str) -> Problems {
        Problems {
            sheet,
            listed: Vec::new(),
            total: 0,
        }
    }

    fn add(&mut self, row: usize, column: Option<usize>, message: impl Into<String>) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_PROBLEMS {
            self.listed.push(SheetProblem {
                row,
                column: column.map(column_letter),
                message: message.into(),
            });
        }
    }

    fn finish(self) -> Result<(), FormatError> {
        if self.total == 0 {
            Ok(())
        } else {
            Err(FormatError::SheetProblems {
                sheet: self.sheet,
                problems: self.listed,
                total: self.total,
            })
        }
    }
}

fn column_letter(column: usize) -> char {
    u8::try_from(column)
        .ok()
        .filter(|&c| c < 26)
        .map_or('?', |c| char::from(b'A' + c))
}

/// Cuts a user's value for quoting in a message.
fn shown(value: &str) -> String {
    const MAX_SHOWN: usize = 40;
    let mut cut: String = value.chars().take(MAX_SHOWN).collect();
    if value.chars().nth(MAX_SHOWN).is_some() {
        cut.push('…');
    }
    cut
}

/// Reads an index-set workbook in the documented layout into a document. Any problem is a
/// [`FormatError`]; problems with rows are listed together (up to 20), each with its row
/// number, so a secretariat can fix them in one go. The result still needs
/// `IndexSet::from_doc` for the checks of the set itself (sums, rules, codes).
pub fn parse_index_set_xlsx(bytes: &[u8]) -> Result<IndexSetDoc, FormatError> {
    if bytes.len() > MAX_INDEX_SET_BYTES {
        return Err(FormatError::TooLarge {
            max_bytes: MAX_INDEX_SET_BYTES,
        });
    }
    if !bytes.starts_with(b"PK\x03\x04") {
        return Err(FormatError::UnsupportedFormat);
    }
    zip_bounds::check_zip_bounds(bytes, MAX_UNCOMPRESSED_BYTES)?;
    // calamine parses untrusted XML; should a bug in it panic, the user gets "corrupt file"
    // instead of a failed request.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_sheets(bytes)));
    let (info_rows, node_rows) = outcome.unwrap_or_else(|_| {
        Err(FormatError::CorruptXlsx {
            detail: "calamine panicked".to_owned(),
        })
    })?;
    // The layout of the main sheet first: a wrong file is named as such before its details.
    let (nodes, adjustments) = read_nodes(&node_rows)?;
    let mut doc = read_info(&info_rows)?;
    doc.nodes = nodes;
    doc.adjustments = adjustments;
    Ok(doc)
}

fn corrupt_xlsx(error: calamine::XlsxError) -> FormatError {
    FormatError::CorruptXlsx {
        detail: error.to_string(),
    }
}

/// The name of the sheet called `wanted`, compared without case or diacritics
/// ("Bo chi so" is accepted for "Bộ chỉ số").
fn find_sheet(names: &[String], wanted: &'static str) -> Result<String, FormatError> {
    let folded = fold_for_search(wanted);
    names
        .iter()
        .find(|name| name.as_str() == wanted)
        .or_else(|| names.iter().find(|name| fold_for_search(name) == folded))
        .cloned()
        .ok_or(FormatError::MissingSheet { sheet: wanted })
}

type SheetRows = Vec<Row>;

fn read_sheets(bytes: &[u8]) -> Result<(SheetRows, SheetRows), FormatError> {
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(corrupt_xlsx)?;
    let names = workbook.sheet_names();
    if names.is_empty() {
        return Err(FormatError::NoWorksheet);
    }
    let nodes_name = find_sheet(&names, NODES_SHEET)?;
    let info_name = find_sheet(&names, INFO_SHEET)?;
    let info = read_rows(&mut workbook, &info_name, MAX_INFO_ROWS, |max_rows| {
        FormatError::SheetProblems {
            sheet: INFO_SHEET,
            problems: vec![SheetProblem {
                row: max_rows + 1,
                column: None,
                message: format!(
                    "trang tính có quá {max_rows} dòng; chỉ cần các dòng khóa, giá trị"
                ),
            }],
            total: 1,
        }
    })?;
    // The header and MAX_ROWS data rows.
    let nodes = read_rows(&mut workbook, &nodes_name, MAX_ROWS + 1, |_| {
        FormatError::TooManyNodes { max_rows: MAX_ROWS }
    })?;
    Ok((info, nodes))
}

/// Streams a sheet's non-empty rows (cells A–K only): a sheet whose used range claims a
/// million rows never becomes a grid in memory, and reading stops past `max_rows`.
fn read_rows(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    sheet: &str,
    max_rows: usize,
    too_many: impl Fn(usize) -> FormatError,
) -> Result<Vec<Row>, FormatError> {
    let mut reader = workbook
        .worksheet_cells_reader(sheet)
        .map_err(corrupt_xlsx)?;
    let mut rows: Vec<Row> = Vec::new();
    let mut current: Option<Row> = None;
    while let Some(cell) = reader.next_cell().map_err(corrupt_xlsx)? {
        let (row, column) = cell.get_position();
        let (row, column) = (row as usize + 1, column as usize);
        if column >= COLUMNS {
            continue;
        }
        let value = Cell::from_calamine(cell.get_value());
        if value.is_empty() {
            continue;
        }
        if current.as_ref().is_none_or(|current| current.number != row) {
            if let Some(done) = current.take() {
                rows.push(done);
                if rows.len() > max_rows {
                    return Err(too_many(max_rows));
                }
            }
            current = Some(Row {
                number: row,
                cells: Vec::new(),
            });
        }
        if let Some(current) = current.as_mut() {
            if current.cells.len() <= column {
                current.cells.resize(column + 1, Cell::Empty);
            }
            current.cells[column] = value;
        }
    }
    rows.extend(current);
    if rows.len() > max_rows {
        return Err(too_many(max_rows));
    }
    // Cells come in row order in every file Excel writes; a hand-made file may not.
    rows.sort_by_key(|row| row.number);
    Ok(rows)
}

/// Reads cells of one row for one sheet, recording what is wrong.
struct RowReader<'r, 'p> {
    row: &'r Row,
    problems: &'p mut Problems,
}

impl RowReader<'_, '_> {
    fn problem(&mut self, column: usize, message: impl Into<String>) {
        self.problems.add(self.row.number, Some(column), message);
    }

    /// A text as written (blank is None); numbers as Excel shows them.
    fn text(&mut self, column: usize) -> Option<String> {
        match self.row.cell(column) {
            Cell::Empty => None,
            Cell::Text(text) => Some(text.clone()),
            Cell::Number(number) => Some(number_text(*number)),
            Cell::Int(number) => Some(number.to_string()),
            Cell::Bool(flag) => Some(if *flag { "TRUE" } else { "FALSE" }.to_owned()),
            Cell::Unreadable(why) => {
                let why = why.clone();
                self.problem(column, why);
                None
            }
        }
    }

    /// A short value (code, kind, group list), trimmed.
    fn word(&mut self, column: usize) -> Option<String> {
        self.text(column).map(|text| text.trim().to_owned())
    }

    fn required_text(&mut self, column: usize, what: &str) -> Option<String> {
        let text = self.text(column);
        if text.is_none() && !matches!(self.row.cell(column), Cell::Unreadable(_)) {
            self.problem(column, format!("thiếu {what}"));
        }
        text
    }

    /// Points from a number cell, or text with a decimal comma or point, exactly.
    fn points(&mut self, column: usize, what: &str) -> Option<Points> {
        let parsed = match self.row.cell(column) {
            Cell::Empty => {
                self.problem(column, format!("thiếu {what}"));
                return None;
            }
            Cell::Int(number) => return Some(Points::new((*number).into())),
            // A number cell is an f64: its shortest text is the decimal that was typed.
            Cell::Number(number) if number.is_finite() => exact::parse_text(&number_text(*number)),
            Cell::Text(text) => exact::parse_text(text),
            Cell::Unreadable(why) => {
                let why = why.clone();
                self.problem(column, why);
                return None;
            }
            Cell::Number(_) | Cell::Bool(_) => None,
        };
        if parsed.is_none() {
            let value = self.text(column).unwrap_or_default();
            self.problem(
                column,
                format!(
                    "{what} «{}» không phải là số thập phân hợp lệ (ví dụ 0,5 hoặc 1.25)",
                    shown(&value)
                ),
            );
        }
        parsed.map(Points::new)
    }

    /// An `x` column: blank is no; `x`, `có`, TRUE, 1 are yes.
    fn flag(&mut self, column: usize) -> bool {
        let value = match self.row.cell(column) {
            Cell::Empty => return false,
            Cell::Bool(flag) => return *flag,
            Cell::Int(number) if *number == 0 || *number == 1 => return *number == 1,
            Cell::Number(number) if *number == 0.0 || *number == 1.0 => return *number == 1.0,
            _ => self.word(column).unwrap_or_default(),
        };
        match parse_flag(&value) {
            Some(flag) => flag,
            None => {
                self.problem(
                    column,
                    format!(
                        "«{}» không hợp lệ: ghi x nếu có, để trống nếu không",
                        shown(&value)
                    ),
                );
                false
            }
        }
    }

    /// Reports a cell that must stay empty on this kind of row.
    fn must_be_empty(&mut self, column: usize, why: &str) {
        if !self.row.cell(column).is_empty() {
            self.problem(
                column,
                format!("cột '{}' phải để trống {why}", HEADERS[column]),
            );
        }
    }
}

fn parse_flag(value: &str) -> Option<bool> {
    match fold_for_search(value).as_str() {
        "x" | "co" | "true" | "dung" | "1" | "yes" => Some(true),
        "" | "khong" | "false" | "sai" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// The document fields of `Thông tin`.
fn read_info(rows: &[Row]) -> Result<IndexSetDoc, FormatError> {
    let mut problems = Problems::new(INFO_SHEET);
    let mut values: HashMap<&'static str, &Row> = HashMap::new();
    for row in rows {
        let mut reader = RowReader {
            row,
            problems: &mut problems,
        };
        let Some(key) = reader.word(0) else {
            if !row.cell(1).is_empty() {
                reader.problem(0, "thiếu tên trường cho giá trị ở cột B");
            }
            continue;
        };
        let folded = fold_for_search(&key);
        if folded == "truong" || folded == "khoa" || folded == "key" {
            continue; // the header row
        }
        match INFO_KEYS.iter().find(|(known, _)| *known == key.as_str()) {
            Some((known, _)) => {
                if let Some(first) = values.get(known) {
                    let first = first.number;
                    reader.problem(0, format!("trường «{known}» đã có ở dòng {first}"));
                } else {
                    values.insert(known, row);
                }
            }
            None => {
                let known: Vec<&str> = INFO_KEYS.iter().map(|(key, _)| *key).collect();
                reader.problem(
                    0,
                    format!(
                        "trường «{}» không có trong định dạng; các trường hợp lệ: {}",
                        shown(&key),
                        known.join(", ")
                    ),
                );
            }
        }
    }

    let missing: Vec<&'static str> = ["format", "code", "title", "year", "unit_group", "scale"]
        .into_iter()
        .chain(["appraised_max", "survey_max"])
        .filter(|key| !values.contains_key(key))
        .collect();
    if !missing.is_empty() && problems.total == 0 {
        return Err(FormatError::MissingInfoFields { fields: missing });
    }

    let mut text = |key: &'static str, required: bool| -> Option<String> {
        let row = values.get(key)?;
        let mut reader = RowReader {
            row,
            problems: &mut problems,
        };
        if required {
            reader.required_text(1, &format!("giá trị của «{key}»"))
        } else {
            reader.text(1)
        }
    };
    let format = text("format", true);
    let code = text("code", true).map(|code| code.trim().to_owned());
    let title = text("title", true);
    let title_en = text("title_en", false);
    let unit_group = text("unit_group", true).map(|group| group.trim().to_owned());
    let source_document = text("source_document", false);

    let mut points = |key: &'static str, required: bool| -> Option<Points> {
        let Some(row) = values.get(key) else {
            return (!required).then_some(Points::ZERO);
        };
        let mut reader = RowReader {
            row,
            problems: &mut problems,
        };
        if !required && row.cell(1).is_empty() {
            return Some(Points::ZERO);
        }
        reader.points(1, &format!("giá trị của «{key}»"))
    };
    let scale = points("scale", true);
    let appraised_max = points("appraised_max", true);
    let survey_max = points("survey_max", true);
    let bonus_cap = points("bonus_cap", false);
    let penalty_cap = points("penalty_cap", false);

    let year = values.get("year").and_then(|row| {
        let mut reader = RowReader {
            row,
            problems: &mut problems,
        };
        let year = match row.cell(1) {
            Cell::Int(number) => i32::try_from(*number).ok(),
            Cell::Number(number) if number.fract() == 0.0 && number.abs() < 1e9 => {
                Some(*number as i32)
            }
            _ => reader.word(1).and_then(|text| text.parse::<i32>().ok()),
        };
        if year.is_none() {
            reader.problem(1, "năm (year) phải là một số nguyên, ví dụ 2021");
        }
        year
    });
    let illustrative = match values.get("illustrative") {
        None => Some(false),
        Some(row) => {
            let mut reader = RowReader {
                row,
                problems: &mut problems,
            };
            let before = reader.problems.total;
            let flag = reader.flag(1);
            (reader.problems.total == before).then_some(flag)
        }
    };

    problems.finish()?;
    // Every required value was read, or a problem was recorded and returned above.
    let (
        Some(format),
        Some(code),
        Some(title),
        Some(year),
        Some(unit_group),
        Some(illustrative),
        Some(scale),
        Some(appraised_max),
        Some(survey_max),
        Some(bonus_cap),
        Some(penalty_cap),
    ) = (
        format,
        code,
        title,
        year,
        unit_group,
        illustrative,
        scale,
        appraised_max,
        survey_max,
        bonus_cap,
        penalty_cap,
    )
    else {
        return Err(FormatError::MissingInfoFields { fields: missing });
    };
    Ok(IndexSetDoc {
        format,
        code,
        title,
        title_en,
        year,
        unit_group,
        illustrative,
        source_document,
        scale,
        appraised_max,
        survey_max,
        bonus_cap,
        penalty_cap,
        nodes: Vec::new(),
        adjustments: Vec::new(),
    })
}

/// What a data row of `Bộ chỉ số` is.
enum Entry {
    Node(NodeDoc),
    Adjustment(AdjustmentDoc),
}

/// Reads `Bộ chỉ số`: the header, then the rows in tree order, rebuilding the tree from the
/// dotted codes.
fn read_nodes(rows: &[Row]) -> Result<(Vec<NodeDoc>, Vec<AdjustmentDoc>), FormatError> {
    let Some((header, data)) = rows.split_first() else {
        return Err(FormatError::MissingColumns {
            columns: HEADERS.to_vec(),
        });
    };
    check_header(header)?;

    let mut problems = Problems::new(NODES_SHEET);
    // Nodes in row order with their parent's index; where each code was first seen.
    let mut nodes: Vec<Option<NodeDoc>> = Vec::new();
    let mut parents: Vec<Option<usize>> = Vec::new();
    let mut levels: Vec<usize> = Vec::new();
    let mut node_index: HashMap<String, usize> = HashMap::new();
    let mut first_row: HashMap<String, usize> = HashMap::new();
    let mut adjustments = Vec::new();

    for row in data {
        let mut reader = RowReader {
            row,
            problems: &mut problems,
        };
        let Some(entry) = read_entry(&mut reader) else {
            continue;
        };
        let code = match &entry {
            Entry::Node(node) => node.code.clone(),
            Entry::Adjustment(adjustment) => adjustment.code.clone(),
        };
        if let Some(first) = first_row.get(&code) {
            reader.problem(
                A_CODE,
                format!("mã «{}» trùng với dòng {first}", shown(&code)),
            );
            continue;
        }
        first_row.insert(code.clone(), row.number);
        match entry {
            Entry::Adjustment(adjustment) => adjustments.push(adjustment),
            Entry::Node(node) => {
                let parent = match code.rsplit_once('.') {
                    None => None,
                    Some((parent_code, _)) => match node_index.get(parent_code) {
                        Some(&parent) => Some(parent),
                        None => {
                            let message = match first_row.get(parent_code) {
                                Some(_) => format!(
                                    "mã «{}» nằm dưới «{}», nhưng «{}» là mục điểm thưởng / điểm trừ, không phải một nút",
                                    shown(&code),
                                    shown(parent_code),
                                    shown(parent_code)
                                ),
                                None => format!(
                                    "mã «{}» nằm dưới «{}», nhưng phía trên không có dòng nào mã «{}»: các dòng phải theo thứ tự cây, nút cha trước nút con",
                                    shown(&code),
                                    shown(parent_code),
                                    shown(parent_code)
                                ),
                            };
                            reader.problem(A_CODE, message);
                            continue;
                        }
                    },
                };
                let level = parent.map_or(1, |parent| levels[parent] + 1);
                if level > MAX_FILE_LEVELS {
                    reader.problem(
                        A_CODE,
                        format!("mã «{}» lồng quá {MAX_FILE_LEVELS} cấp", shown(&code)),
                    );
                    continue;
                }
                node_index.insert(code, nodes.len());
                nodes.push(Some(node));
                parents.push(parent);
                levels.push(level);
            }
        }
    }
    problems.finish()?;

    // Children come after their parent, so walking backwards attaches every subtree
    // before its root is moved into its own parent.
    let mut children: Vec<Vec<NodeDoc>> = (0..nodes.len()).map(|_| Vec::new()).collect();
    let mut roots = Vec::new();
    for index in (0..nodes.len()).rev() {
        let Some(mut node) = nodes[index].take() else {
            continue;
        };
        let mut kids = std::mem::take(&mut children[index]);
        kids.reverse();
        node.children = kids;
        match parents[index] {
            Some(parent) => children[parent].push(node),
            None => roots.push(node),
        }
    }
    roots.reverse();
    Ok((roots, adjustments))
}

fn check_header(header: &Row) -> Result<(), FormatError> {
    let mut missing = Vec::new();
    for (column, expected) in HEADERS.iter().enumerate() {
        let found = match header.cell(column) {
            Cell::Empty => {
                missing.push(*expected);
                continue;
            }
            Cell::Text(text) => text.trim().to_owned(),
            Cell::Number(number) => number_text(*number),
            Cell::Int(number) => number.to_string(),
            Cell::Bool(flag) => flag.to_string(),
            Cell::Unreadable(why) => why.clone(),
        };
        if fold_for_search(&found) != fold_for_search(expected) {
            return Err(FormatError::WrongHeader {
                sheet: NODES_SHEET,
                column: column_letter(column),
                expected,
                found: shown(&found),
            });
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(FormatError::MissingColumns { columns: missing })
    }
}

/// One data row as a node or an adjustment; None (with problems recorded) when it cannot
/// be read.
fn read_entry(reader: &mut RowReader<'_, '_>) -> Option<Entry> {
    let before = reader.problems.total;
    let code = reader.word(A_CODE);
    if code.is_none() && !matches!(reader.row.cell(A_CODE), Cell::Unreadable(_)) {
        reader.problem(A_CODE, "thiếu mã");
    }
    let title = reader.text(B_TITLE).unwrap_or_default();
    let max = reader.points(D_MAX, "điểm tối đa");
    let kind = reader.word(E_KIND).map(|kind| kind.to_lowercase());
    let method = reader.text(G_METHOD);

    let entry = match kind.as_deref() {
        Some(kind @ (BONUS | PENALTY)) => {
            let why = "với mục điểm thưởng / điểm trừ";
            for column in [
                C_TITLE_EN,
                F_PARAMS,
                H_EVIDENCE,
                I_APPLIES_TO,
                J_NOT_APPLICABLE,
                K_SUM_EXEMPT,
            ] {
                reader.must_be_empty(column, why);
            }
            let kind = if kind == BONUS {
                AdjustmentKind::Bonus
            } else {
                AdjustmentKind::Penalty
            };
            Entry::Adjustment(AdjustmentDoc {
                code: code.clone().unwrap_or_default(),
                kind,
                title,
                max: max.unwrap_or_default(),
                method,
            })
        }
        _ => {
            let rule = match kind.as_deref() {
                None => {
                    reader.must_be_empty(F_PARAMS, "khi không có loại quy tắc (nút có nút con)");
                    None
                }
                Some(kind) => match RuleKind::from_code(kind) {
                    Some(kind) => {
                        let params = reader.text(F_PARAMS);
                        match parse_rule(kind, params.as_deref()) {
                            Ok(rule) => Some(rule),
                            Err(message) => {
                                reader.problem(F_PARAMS, message);
                                None
                            }
                        }
                    }
                    None => {
                        let known: Vec<&str> = RuleKind::ALL
                            .iter()
                            .map(|kind| kind.code())
                            .chain([BONUS, PENALTY])
                            .collect();
                        reader.problem(
                            E_KIND,
                            format!(
                                "loại quy tắc «{}» không hợp lệ; chọn một trong: {}",
                                shown(kind),
                                known.join(", ")
                            ),
                        );
                        None
                    }
                },
            };
            let applies_to = reader
                .word(I_APPLIES_TO)
                .map(|groups| {
                    groups
                        .split([',', ';'])
                        .map(str::trim)
                        .filter(|group| !group.is_empty())
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            let mut node = NodeDoc::new(
                code.clone().unwrap_or_default(),
                title,
                max.unwrap_or_default(),
            );
            node.title_en = reader.text(C_TITLE_EN);
            node.method = method;
            node.evidence = reader.text(H_EVIDENCE);
            node.applies_to = applies_to;
            node.not_applicable_allowed = reader.flag(J_NOT_APPLICABLE);
            node.sum_exempt = reader.flag(K_SUM_EXEMPT);
            node.rule = rule;
            Entry::Node(node)
        }
    };
    (reader.problems.total == before).then_some(entry)
}

/// A rule from its kind (column E) and its parameters (column F, compact YAML or JSON).
fn parse_rule(kind: RuleKind, params: Option<&str>) -> Result<RuleSpec, String> {
    let mut map = match params {
        None => Map::new(),
        Some(text) => match from_yaml_str::<Value>(text, fragment_budget()) {
            Ok(Value::Object(map)) => map,
            Ok(Value::Null) => Map::new(),
            Ok(_) => {
                return Err(format!(
                    "tham số «{}» phải có dạng {{khóa: giá trị, …}}, ví dụ {{counted: hồ sơ}}",
                    shown(text)
                ));
            }
            Err(error) => return Err(fragment_error(error)),
        },
    };
    if map.contains_key("kind") {
        return Err("không ghi «kind» trong cột Tham số: loại quy tắc ghi ở cột E".to_owned());
    }
    map.insert("kind".to_owned(), Value::String(kind.code().to_owned()));
    // Read through the YAML reader once more, so the rule's errors are worded like the
    // YAML file's.
    let json = Value::Object(map).to_string();
    from_yaml_str::<RuleSpec>(&json, fragment_budget()).map_err(fragment_error)
}

/// The message of an error in a cell's parameters, without file positions.
fn fragment_error(error: FormatError) -> String {
    match error {
        FormatError::InvalidYaml { detail, .. } | FormatError::YamlTooComplex { detail } => {
            format!("tham số không hợp lệ: {detail}")
        }
        other => other.to_string(),
    }
}
