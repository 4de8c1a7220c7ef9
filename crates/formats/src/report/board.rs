//! The secretariat's progress board as an Excel workbook: every unit with its stage, % complete,
//! last activity and submission time.

use rust_xlsxwriter::{Format, FormatAlign, Workbook};

use crate::FormatError;

/// One unit on the board, already formatted for display (dates dd/mm/yyyy HH:MM).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BoardLine {
    pub unit_code: String,
    pub unit_name: String,
    pub group: String,
    pub stage: String,
    pub scored: u32,
    pub total: u32,
    pub last_activity: String,
    pub submitted_at: String,
    pub extension: String,
}

/// The board of one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressBoard {
    pub province: String,
    pub period: String,
    pub generated_at: String,
    pub lines: Vec<BoardLine>,
}

fn failed(e: rust_xlsxwriter::XlsxError) -> FormatError {
    FormatError::WriteFailed {
        detail: e.to_string(),
    }
}

/// Writes the board: a title block, then one row per unit, with % complete as a real number.
pub fn write_progress_board_xlsx(board: &ProgressBoard) -> Result<Vec<u8>, FormatError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("Tiến độ").map_err(failed)?;
    let bold = Format::new().set_bold();
    let header = Format::new()
        .set_bold()
        .set_background_color("#DCE6F1")
        .set_text_wrap()
        .set_align(FormatAlign::Center);
    let percent = Format::new().set_num_format("0%");
    sheet
        .write_string_with_format(0, 0, board.province.as_str(), &bold)
        .map_err(failed)?;
    sheet
        .write_string_with_format(
            1,
            0,
            format!("TIẾN ĐỘ TỰ ĐÁNH GIÁ — {}", board.period).as_str(),
            &bold,
        )
        .map_err(failed)?;
    sheet
        .write_string(2, 0, format!("Xuất lúc {}", board.generated_at).as_str())
        .map_err(failed)?;
    let titles = [
        "Mã đơn vị",
        "Tên đơn vị",
        "Nhóm",
        "Giai đoạn",
        "Đã chấm",
        "Tổng số",
        "% hoàn thành",
        "Hoạt động gần nhất",
        "Thời điểm nộp",
        "Gia hạn",
    ];
    let widths = [14.0, 40.0, 8.0, 18.0, 9.0, 9.0, 12.0, 18.0, 18.0, 18.0];
    for (col, (title, width)) in titles.iter().zip(widths).enumerate() {
        let col = col as u16;
        sheet
            .write_string_with_format(4, col, *title, &header)
            .map_err(failed)?;
        sheet.set_column_width(col, width).map_err(failed)?;
    }
    for (i, line) in board.lines.iter().enumerate() {
        let row = 5 + i as u32;
        sheet
            .write_string(row, 0, line.unit_code.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 1, line.unit_name.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 2, line.group.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 3, line.stage.as_str())
            .map_err(failed)?;
        sheet
            .write_number(row, 4, f64::from(line.scored))
            .map_err(failed)?;
        sheet
            .write_number(row, 5, f64::from(line.total))
            .map_err(failed)?;
        let share = if line.total == 0 {
            0.0
        } else {
            f64::from(line.scored) / f64::from(line.total)
        };
        sheet
            .write_number_with_format(row, 6, share, &percent)
            .map_err(failed)?;
        sheet
            .write_string(row, 7, line.last_activity.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 8, line.submitted_at.as_str())
            .map_err(failed)?;
        sheet
            .write_string(row, 9, line.extension.as_str())
            .map_err(failed)?;
    }
    sheet.set_freeze_panes(5, 0).map_err(failed)?;
    sheet.set_landscape();
    sheet.set_paper_size(9);
    sheet.set_print_fit_to_pages(1, 0);
    book.save_to_buffer().map_err(failed)
}
