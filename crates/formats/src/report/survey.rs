//! The sociological survey's results as an Excel workbook: a sheet per unit and survey leaf
//! (answers, mean, 95% confidence interval, score, below the minimum sample) and a sheet per
//! unit, leaf and respondent group (answers, mean, weight).
//!
//! Every figure is a real Excel number (the nearest double to the exact decimal, through its
//! text), shown with two decimals, so a Vietnamese Excel prints the decimal comma and the
//! values can be summed; a missing value (no valid answer) is an empty cell.

use rust_decimal::Decimal;
use rust_xlsxwriter::{Format, FormatAlign, Workbook, Worksheet};

use crate::FormatError;

/// The sheet with one row per unit and survey leaf.
pub const SURVEY_UNITS_SHEET: &str = "Theo đơn vị";
/// The sheet with one row per unit, leaf and respondent group.
pub const SURVEY_GROUPS_SHEET: &str = "Theo nhóm đối tượng";
/// The row (0-based) of each sheet's table header; data starts on the next row.
pub const SURVEY_HEADER_ROW: u32 = 4;

/// One unit's result on one survey leaf. Percentages are already × 100 (65 = 65%).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyUnitLine {
    pub unit_code: String,
    pub unit_name: String,
    pub leaf_code: String,
    pub leaf_title: String,
    pub valid: u64,
    pub dont_know: u64,
    pub mean_percent: Option<Decimal>,
    pub ci_low_percent: Option<Decimal>,
    pub ci_high_percent: Option<Decimal>,
    pub score: Option<Decimal>,
    pub max: Decimal,
    pub below_minimum: bool,
}

/// One respondent group's answers about a unit's survey leaf.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyGroupLine {
    pub unit_code: String,
    pub unit_name: String,
    pub leaf_code: String,
    pub group: String,
    pub valid: u64,
    pub dont_know: u64,
    pub mean_percent: Option<Decimal>,
    pub weight: Decimal,
}

/// The survey report of one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyReport {
    pub province: String,
    pub period: String,
    /// Already formatted: "25/11/2026 10:07".
    pub generated_at: String,
    pub min_sample: u64,
    pub units: Vec<SurveyUnitLine>,
    pub groups: Vec<SurveyGroupLine>,
}

fn failed(e: rust_xlsxwriter::XlsxError) -> FormatError {
    FormatError::WriteFailed {
        detail: e.to_string(),
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

fn row_number(index: usize) -> Result<u32, FormatError> {
    u32::try_from(index)
        .ok()
        .and_then(|offset| (SURVEY_HEADER_ROW + 1).checked_add(offset))
        .ok_or_else(|| FormatError::WriteFailed {
            detail: format!("quá nhiều dòng ({index})"),
        })
}

const UNIT_COLUMNS: [(&str, f64); 12] = [
    ("Mã đơn vị", 12.0),
    ("Tên đơn vị", 36.0),
    ("Mã tiêu chí", 11.0),
    ("Tiêu chí", 50.0),
    ("Số phiếu hợp lệ", 10.0),
    ("Không biết", 10.0),
    ("Trung bình (%)", 12.0),
    ("Cận dưới KTC 95% (%)", 12.0),
    ("Cận trên KTC 95% (%)", 12.0),
    ("Điểm", 10.0),
    ("Điểm tối đa", 10.0),
    ("Dưới cỡ mẫu tối thiểu", 12.0),
];

const GROUP_COLUMNS: [(&str, f64); 8] = [
    ("Mã đơn vị", 12.0),
    ("Tên đơn vị", 36.0),
    ("Mã tiêu chí", 11.0),
    ("Nhóm đối tượng", 14.0),
    ("Số phiếu hợp lệ", 10.0),
    ("Không biết", 10.0),
    ("Trung bình (%)", 12.0),
    ("Trọng số", 10.0),
];

struct Formats {
    bold: Format,
    header: Format,
    number: Format,
}

fn start_sheet(
    sheet: &mut Worksheet,
    name: &str,
    report: &SurveyReport,
    heading: &str,
    columns: &[(&str, f64)],
    formats: &Formats,
) -> Result<(), FormatError> {
    sheet.set_name(name).map_err(failed)?;
    sheet
        .write_string_with_format(0, 0, report.province.as_str(), &formats.bold)
        .map_err(failed)?;
    sheet
        .write_string_with_format(
            1,
            0,
            format!("{heading} — {}", report.period).as_str(),
            &formats.bold,
        )
        .map_err(failed)?;
    sheet
        .write_string(
            2,
            0,
            format!(
                "Xuất lúc {}; cỡ mẫu tối thiểu: {} phiếu hợp lệ",
                report.generated_at, report.min_sample
            )
            .as_str(),
        )
        .map_err(failed)?;
    for (col, (title, width)) in columns.iter().enumerate() {
        let col = u16::try_from(col).map_err(|_| FormatError::WriteFailed {
            detail: "quá nhiều cột".into(),
        })?;
        sheet
            .write_string_with_format(SURVEY_HEADER_ROW, col, *title, &formats.header)
            .map_err(failed)?;
        sheet.set_column_width(col, *width).map_err(failed)?;
    }
    sheet
        .set_freeze_panes(SURVEY_HEADER_ROW + 1, 0)
        .map_err(failed)?;
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    Ok(())
}

fn write_decimal(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    value: Option<Decimal>,
    format: &Format,
) -> Result<(), FormatError> {
    if let Some(v) = value {
        sheet
            .write_number_with_format(row, col, excel_number(v)?, format)
            .map_err(failed)?;
    }
    Ok(())
}

fn write_count(sheet: &mut Worksheet, row: u32, col: u16, n: u64) -> Result<(), FormatError> {
    // Counts stay far below 2^53, so the conversion through text is exact.
    sheet
        .write_number(row, col, excel_number(Decimal::from(n))?)
        .map_err(failed)?;
    Ok(())
}

/// Writes the survey report: the per-unit sheet, then the per-group sheet.
pub fn write_survey_report_xlsx(report: &SurveyReport) -> Result<Vec<u8>, FormatError> {
    let mut book = Workbook::new();
    let formats = Formats {
        bold: Format::new().set_bold(),
        header: Format::new()
            .set_bold()
            .set_background_color("#DCE6F1")
            .set_text_wrap()
            .set_align(FormatAlign::Center),
        number: Format::new().set_num_format("0.00"),
    };

    let sheet = book.add_worksheet();
    start_sheet(
        sheet,
        SURVEY_UNITS_SHEET,
        report,
        "KẾT QUẢ ĐIỀU TRA XÃ HỘI HỌC THEO ĐƠN VỊ",
        &UNIT_COLUMNS,
        &formats,
    )?;
    for (i, line) in report.units.iter().enumerate() {
        let row = row_number(i)?;
        sheet
            .write_string(row, 0, line.unit_code.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 1, line.unit_name.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 2, line.leaf_code.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 3, line.leaf_title.as_str())
            .map_err(failed)?;
        write_count(sheet, row, 4, line.valid)?;
        write_count(sheet, row, 5, line.dont_know)?;
        write_decimal(sheet, row, 6, line.mean_percent, &formats.number)?;
        write_decimal(sheet, row, 7, line.ci_low_percent, &formats.number)?;
        write_decimal(sheet, row, 8, line.ci_high_percent, &formats.number)?;
        write_decimal(sheet, row, 9, line.score, &formats.number)?;
        write_decimal(sheet, row, 10, Some(line.max), &formats.number)?;
        sheet
            .write_string(row, 11, if line.below_minimum { "Có" } else { "Không" })
            .map_err(failed)?;
    }

    let sheet = book.add_worksheet();
    start_sheet(
        sheet,
        SURVEY_GROUPS_SHEET,
        report,
        "KẾT QUẢ ĐIỀU TRA XÃ HỘI HỌC THEO NHÓM ĐỐI TƯỢNG",
        &GROUP_COLUMNS,
        &formats,
    )?;
    for (i, line) in report.groups.iter().enumerate() {
        let row = row_number(i)?;
        sheet
            .write_string(row, 0, line.unit_code.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 1, line.unit_name.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 2, line.leaf_code.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 3, line.group.as_str())
            .map_err(failed)?;
        write_count(sheet, row, 4, line.valid)?;
        write_count(sheet, row, 5, line.dont_know)?;
        write_decimal(sheet, row, 6, line.mean_percent, &formats.number)?;
        write_decimal(sheet, row, 7, Some(line.weight), &formats.number)?;
    }
    book.save_to_buffer().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Reader};

    #[test]
    fn figures_are_real_numbers_on_both_sheets() {
        let report = SurveyReport {
            province: "Tỉnh Sông Lam".into(),
            period: "Năm 2026".into(),
            generated_at: "25/11/2026 10:07".into(),
            min_sample: 3,
            units: vec![SurveyUnitLine {
                unit_code: "STP".into(),
                unit_name: "Sở Tư pháp".into(),
                leaf_code: "1.6".into(),
                leaf_title: "Đánh giá".into(),
                valid: 6,
                dont_know: 3,
                mean_percent: Some(Decimal::new(65, 0)),
                ci_low_percent: None,
                ci_high_percent: None,
                score: Some(Decimal::new(975, 3)),
                max: Decimal::new(15, 1),
                below_minimum: false,
            }],
            groups: vec![SurveyGroupLine {
                unit_code: "STP".into(),
                unit_name: "Sở Tư pháp".into(),
                leaf_code: "1.6".into(),
                group: "CD".into(),
                valid: 3,
                dont_know: 2,
                mean_percent: Some(Decimal::new(6667, 2)),
                weight: Decimal::new(3, 0),
            }],
        };
        let bytes = write_survey_report_xlsx(&report).unwrap();
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        assert_eq!(
            book.sheet_names(),
            vec![
                SURVEY_UNITS_SHEET.to_owned(),
                SURVEY_GROUPS_SHEET.to_owned()
            ]
        );
        let units = book.worksheet_range(SURVEY_UNITS_SHEET).unwrap();
        let row = SURVEY_HEADER_ROW + 1;
        assert_eq!(
            units.get_value((row, 9)),
            Some(&Data::Float(0.975)),
            "score"
        );
        assert_eq!(units.get_value((row, 4)), Some(&Data::Float(6.0)));
        assert_eq!(units.get_value((row, 7)), Some(&Data::Empty));
        assert_eq!(
            units.get_value((row, 11)),
            Some(&Data::String("Không".into()))
        );
        let groups = book.worksheet_range(SURVEY_GROUPS_SHEET).unwrap();
        assert_eq!(groups.get_value((row, 6)), Some(&Data::Float(66.67)));
        assert_eq!(groups.get_value((row, 7)), Some(&Data::Float(3.0)));
    }
}
