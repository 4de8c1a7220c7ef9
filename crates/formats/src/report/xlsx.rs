//! The report as an Excel workbook: sheets `Tổng hợp` (the scores by domain and criterion),
//! `Giải trình` (the unit's explanations) and `Tài liệu kiểm chứng` (the evidence files).
//!
//! Every sheet starts with the same header block (authority, title, unit, period, set,
//! status, and the illustrative note when it applies), then a bold table header that is
//! frozen on screen and repeated on every printed page. Scores are real numbers with the
//! number format `0.00`, so each Excel shows them with its own decimal separator (a
//! Vietnamese Excel: 61,50) and they can be summed; a leaf declared not applicable shows the
//! text "Không áp dụng" instead. Pages print A4 landscape, fitted to the width, numbered "Trang x/y".

use rust_decimal::Decimal;
use rust_xlsxwriter::{
    Color, DocProperties, Format, FormatAlign, FormatBorder, Workbook, Worksheet, XlsxError,
};

use super::{
    ILLUSTRATIVE_NOTE, REPORT_TITLE, SelfAssessmentReport, authority_line, unit_with_code,
};
use crate::FormatError;

/// The sheet with the scores.
pub const SUMMARY_SHEET: &str = "Tổng hợp";
/// The sheet with the unit's explanations.
pub const EXPLANATIONS_SHEET: &str = "Giải trình";
/// The sheet with the evidence files.
pub const EVIDENCE_SHEET: &str = "Tài liệu kiểm chứng";

/// The row (0-based) of each sheet's table header; the header block sits above it.
pub const TABLE_HEADER_ROW: u32 = 6;

/// The most characters an Excel cell holds; longer texts are cut with an ellipsis.
const MAX_CELL_CHARS: usize = 32_767;
/// Title indentation stops growing below this level.
const MAX_INDENT_LEVEL: usize = 8;

const SUMMARY_COLUMNS: [(&str, f64); 6] = [
    ("Mã", 10.0),
    ("Nội dung", 60.0),
    ("Điểm tối đa", 12.0),
    ("Điểm tự chấm", 13.0),
    ("Nguồn điểm", 16.0),
    ("Diễn giải cách tính điểm", 50.0),
];
const EXPLANATION_COLUMNS: [(&str, f64); 3] = [
    ("Mã", 10.0),
    ("Tiêu chí", 50.0),
    ("Nội dung giải trình", 90.0),
];
const EVIDENCE_COLUMNS: [(&str, f64); 5] = [
    ("Mã", 10.0),
    ("Tên tệp", 50.0),
    ("Phần liên quan", 20.0),
    ("SHA-256 (rút gọn)", 20.0),
    ("Dung lượng", 12.0),
];

struct Formats {
    authority: Format,
    title: Format,
    info: Format,
    warning: Format,
    header: Format,
    text: Format,
    wrap: Format,
    bold: Format,
    /// Titles by level (index 0 is level 1, bold), indented through the cell format.
    titles: Vec<Format>,
    number: Format,
    number_bold: Format,
    centered: Format,
    centered_bold: Format,
    mono: Format,
}

impl Formats {
    fn new() -> Self {
        let top = Format::new().set_align(FormatAlign::Top);
        let wrap = top.clone().set_text_wrap();
        let number = top.clone().set_num_format("0.00");
        let centered = top.clone().set_align(FormatAlign::Center);
        let titles = (1..=MAX_INDENT_LEVEL)
            .map(|level| {
                let format = wrap
                    .clone()
                    .set_indent(u8::try_from(level - 1).unwrap_or(u8::MAX));
                if level == 1 {
                    format.set_bold()
                } else {
                    format
                }
            })
            .collect();
        Self {
            authority: Format::new().set_bold(),
            title: Format::new().set_bold().set_font_size(14),
            info: Format::new(),
            warning: Format::new()
                .set_bold()
                .set_font_color(Color::RGB(0x00C0_0000)),
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0x00D9_E1F2))
                .set_border(FormatBorder::Thin),
            text: top.clone(),
            wrap,
            bold: top.clone().set_bold(),
            titles,
            number_bold: number.clone().set_bold(),
            number,
            centered_bold: centered.clone().set_bold(),
            centered,
            mono: top.set_font_name("Consolas"),
        }
    }

    fn title(&self, level: u8) -> &Format {
        let index = usize::from(level.max(1)) - 1;
        &self.titles[index.min(self.titles.len() - 1)]
    }
}

fn write_failed(error: XlsxError) -> FormatError {
    FormatError::WriteFailed {
        detail: error.to_string(),
    }
}

/// A text as a cell may hold it: cut to 32 767 characters with an ellipsis at the end.
fn cell_text(text: &str) -> std::borrow::Cow<'_, str> {
    if text.chars().count() <= MAX_CELL_CHARS {
        text.into()
    } else {
        let mut cut: String = text.chars().take(MAX_CELL_CHARS - 1).collect();
        cut.push('…');
        cut.into()
    }
}

/// The nearest double to a decimal, which is what Excel stores for a typed number.
fn excel_number(value: Decimal) -> Result<f64, FormatError> {
    value
        .to_string()
        .parse::<f64>()
        .map_err(|error| FormatError::WriteFailed {
            detail: format!("số {value}: {error}"),
        })
}

/// A data row index as rust_xlsxwriter takes it.
fn row_number(index: usize) -> Result<u32, FormatError> {
    u32::try_from(index)
        .ok()
        .and_then(|offset| (TABLE_HEADER_ROW + 1).checked_add(offset))
        .ok_or_else(|| FormatError::WriteFailed {
            detail: format!("quá nhiều dòng ({index})"),
        })
}

/// Writes the report as an .xlsx workbook with the sheets [`SUMMARY_SHEET`],
/// [`EXPLANATIONS_SHEET`] and [`EVIDENCE_SHEET`].
pub fn write_report_xlsx(report: &SelfAssessmentReport) -> Result<Vec<u8>, FormatError> {
    let formats = Formats::new();
    let mut workbook = Workbook::new();
    let mut properties = DocProperties::new()
        .set_title(format!(
            "Báo cáo tự đánh giá — {} — {}",
            report.unit_name, report.period_label
        ))
        .set_subject(report.set_title.as_str())
        .set_author("parindex");
    if report.illustrative {
        properties = properties.set_comment(ILLUSTRATIVE_NOTE);
    }
    workbook.set_properties(&properties);

    let sheet = workbook.add_worksheet();
    sheet.set_name(SUMMARY_SHEET).map_err(write_failed)?;
    prepare_sheet(sheet, report, &formats, &SUMMARY_COLUMNS)?;
    write_summary(sheet, report, &formats)?;

    let sheet = workbook.add_worksheet();
    sheet.set_name(EXPLANATIONS_SHEET).map_err(write_failed)?;
    prepare_sheet(sheet, report, &formats, &EXPLANATION_COLUMNS)?;
    write_explanations(sheet, report, &formats)?;

    let sheet = workbook.add_worksheet();
    sheet.set_name(EVIDENCE_SHEET).map_err(write_failed)?;
    prepare_sheet(sheet, report, &formats, &EVIDENCE_COLUMNS)?;
    write_evidence(sheet, report, &formats)?;

    workbook.save_to_buffer().map_err(write_failed)
}

/// The header block, the table header, column widths, frozen panes and print setup.
fn prepare_sheet(
    sheet: &mut Worksheet,
    report: &SelfAssessmentReport,
    formats: &Formats,
    columns: &[(&str, f64)],
) -> Result<(), FormatError> {
    let lines: [(String, &Format); 5] = [
        (authority_line(&report.province), &formats.authority),
        (REPORT_TITLE.to_owned(), &formats.title),
        (format!("Đơn vị: {}", unit_with_code(report)), &formats.info),
        (
            format!(
                "Kỳ đánh giá: {} — Bộ chỉ số: {}",
                report.period_label, report.set_title
            ),
            &formats.info,
        ),
        (
            format!(
                "Trạng thái: {} — Xuất lúc: {}",
                report.status_label, report.generated_at
            ),
            &formats.info,
        ),
    ];
    for (row, (text, format)) in (0u32..).zip(lines.iter()) {
        sheet
            .write_string_with_format(row, 0, cell_text(text), format)
            .map_err(write_failed)?;
    }
    if report.illustrative {
        sheet
            .write_string_with_format(5, 0, ILLUSTRATIVE_NOTE, &formats.warning)
            .map_err(write_failed)?;
    }
    for (column, (name, width)) in (0u16..).zip(columns.iter()) {
        sheet
            .write_string_with_format(TABLE_HEADER_ROW, column, *name, &formats.header)
            .map_err(write_failed)?;
        sheet
            .set_column_width(column, *width)
            .map_err(write_failed)?;
    }
    sheet
        .set_freeze_panes(TABLE_HEADER_ROW + 1, 0)
        .map_err(write_failed)?;
    sheet
        .set_repeat_rows(TABLE_HEADER_ROW, TABLE_HEADER_ROW)
        .map_err(write_failed)?;
    sheet
        .set_paper_size(9) // A4
        .set_landscape()
        .set_print_fit_to_pages(1, 0)
        .set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3)
        .set_footer("&CTrang &P/&N");
    Ok(())
}

fn write_summary(
    sheet: &mut Worksheet,
    report: &SelfAssessmentReport,
    formats: &Formats,
) -> Result<(), FormatError> {
    for (index, row) in report.rows.iter().enumerate() {
        let r = row_number(index)?;
        let domain = row.level <= 1;
        let (text, number, centered) = if domain {
            (&formats.bold, &formats.number_bold, &formats.centered_bold)
        } else {
            (&formats.text, &formats.number, &formats.centered)
        };
        sheet
            .write_string_with_format(r, 0, cell_text(&row.code), text)
            .map_err(write_failed)?;
        sheet
            .write_string_with_format(r, 1, cell_text(&row.title), formats.title(row.level))
            .map_err(write_failed)?;
        sheet
            .write_number_with_format(r, 2, excel_number(row.max_value)?, number)
            .map_err(write_failed)?;
        match row.self_value {
            Some(value) => sheet.write_number_with_format(r, 3, excel_number(value)?, number),
            None if row.self_score.trim().is_empty() => sheet.write_blank(r, 3, number),
            None => sheet.write_string_with_format(r, 3, cell_text(&row.self_score), centered),
        }
        .map_err(write_failed)?;
        sheet
            .write_string_with_format(r, 4, cell_text(&row.source), text)
            .map_err(write_failed)?;
        if !row.explanation.is_empty() {
            sheet
                .write_string_with_format(r, 5, cell_text(&row.explanation), &formats.wrap)
                .map_err(write_failed)?;
        }
    }
    let total = row_number(report.rows.len())?;
    sheet
        .write_string_with_format(total, 1, "Tổng điểm", &formats.bold)
        .map_err(write_failed)?;
    sheet
        .write_number_with_format(
            total,
            2,
            excel_number(report.total_max_value)?,
            &formats.number_bold,
        )
        .map_err(write_failed)?;
    sheet
        .write_number_with_format(
            total,
            3,
            excel_number(report.total_self_value)?,
            &formats.number_bold,
        )
        .map_err(write_failed)?;
    Ok(())
}

fn write_explanations(
    sheet: &mut Worksheet,
    report: &SelfAssessmentReport,
    formats: &Formats,
) -> Result<(), FormatError> {
    if report.explanations.is_empty() {
        sheet
            .write_string_with_format(row_number(0)?, 1, "Không có giải trình.", &formats.text)
            .map_err(write_failed)?;
    }
    for (index, explanation) in report.explanations.iter().enumerate() {
        let r = row_number(index)?;
        sheet
            .write_string_with_format(r, 0, cell_text(&explanation.code), &formats.text)
            .map_err(write_failed)?;
        sheet
            .write_string_with_format(r, 1, cell_text(&explanation.title), &formats.wrap)
            .map_err(write_failed)?;
        sheet
            .write_string_with_format(r, 2, cell_text(&explanation.text), &formats.wrap)
            .map_err(write_failed)?;
    }
    Ok(())
}

fn write_evidence(
    sheet: &mut Worksheet,
    report: &SelfAssessmentReport,
    formats: &Formats,
) -> Result<(), FormatError> {
    if report.evidence.is_empty() {
        sheet
            .write_string_with_format(
                row_number(0)?,
                1,
                "Không có tài liệu kiểm chứng.",
                &formats.text,
            )
            .map_err(write_failed)?;
    }
    for (index, evidence) in report.evidence.iter().enumerate() {
        let r = row_number(index)?;
        let cells = [
            (&evidence.code, &formats.text),
            (&evidence.file_name, &formats.wrap),
            (&evidence.reference, &formats.wrap),
            (&evidence.sha256_short, &formats.mono),
            (&evidence.size, &formats.text),
        ];
        for (column, (value, format)) in (0u16..).zip(cells) {
            sheet
                .write_string_with_format(r, column, cell_text(value), format)
                .map_err(write_failed)?;
        }
    }
    Ok(())
}
