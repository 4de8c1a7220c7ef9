//! The files users bring and take away: reading the unit registry from CSV or Excel (.xlsx),
//! with the bounds and encoding detection uploads from the field need, and index sets (bộ chỉ
//! số) as YAML or Excel in the layout of docs/index-set-format.md.
//!
//! Error policy: anything wrong with a whole file is a [`FormatError`], whose `Display` is a
//! Vietnamese sentence for the user saying what to fix; problems with single rows are
//! collected as data (see [`unit_import::RowProblem`]) so a user can fix them all at once.

pub mod charts;
pub mod csv_export;
pub mod external_import;
pub mod index_set_xlsx;
pub mod index_set_yaml;
pub mod report;
pub mod rule_text;
pub mod survey_import;
pub mod text_decoding;
pub mod unit_import;
mod zip_bounds;

use std::fmt;

use parindex_domain::IndexSetDoc;

pub use csv_export::{CsvCell, CsvWriter};
pub use index_set_xlsx::{parse_index_set_xlsx, write_index_set_xlsx};
pub use index_set_yaml::{MAX_INDEX_SET_BYTES, parse_index_set_yaml, write_index_set_yaml};
pub use rule_text::{parse_rule_text, rule_text};
pub use text_decoding::{DetectedEncoding, compose_vietnamese, decode_text};
pub use unit_import::{ImportLimits, RawUnitRow, RowProblem, UnitImportParse, parse_unit_import};

/// Reads an index-set file whatever its kind: an .xlsx workbook (recognised by its ZIP
/// signature, not by its name) or YAML text. An Excel 97–2003 file is refused with a hint.
pub fn parse_index_set_file(bytes: &[u8]) -> Result<IndexSetDoc, FormatError> {
    if bytes.starts_with(b"PK\x03\x04") {
        parse_index_set_xlsx(bytes)
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Err(FormatError::LegacyXls)
    } else {
        parse_index_set_yaml(bytes)
    }
}

/// Why a whole file was refused. `Display` is Vietnamese and meant for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The upload is bigger than [`ImportLimits::max_bytes`].
    #[error("Tệp quá lớn: tối đa {} MB", megabytes(*max_bytes as u64))]
    TooLarge { max_bytes: usize },

    /// The file has more data rows than [`ImportLimits::max_rows`].
    #[error("Tệp có quá nhiều dòng: tối đa {max_rows} dòng dữ liệu; hãy chia thành nhiều tệp")]
    TooManyRows { max_rows: usize },

    /// Neither CSV text nor an .xlsx workbook (e.g. a PDF, an image, random bytes).
    #[error("Tệp không đúng định dạng CSV hoặc Excel (.xlsx)")]
    UnsupportedFormat,

    /// An Excel 97–2003 workbook, which is not read; it is easy to re-save as .xlsx.
    #[error(
        "Tệp Excel 97–2003 (.xls) không được hỗ trợ: hãy mở tệp trong Excel và lưu lại dạng .xlsx hoặc CSV"
    )]
    LegacyXls,

    /// The file announced an encoding (by a byte-order mark) but is not valid in it.
    #[error("Tệp văn bản bị lỗi bảng mã ({}): hãy lưu lại tệp dạng CSV UTF-8", encoding.label_vi())]
    InvalidText { encoding: DetectedEncoding },

    /// Nothing but blank lines.
    #[error(
        "Tệp không có dữ liệu: cần một dòng tiêu đề (Mã đơn vị, Tên đơn vị, Nhóm) và các dòng đơn vị"
    )]
    Empty,

    /// The header row lacks required columns (their Vietnamese names).
    #[error("Thiếu cột bắt buộc: {}", .columns.join(", "))]
    MissingColumns { columns: Vec<&'static str> },

    /// Two header cells name the same column, so it is unclear which one to read.
    #[error("Cột '{column}' xuất hiện nhiều lần trong dòng tiêu đề: hãy giữ lại một cột")]
    DuplicateColumn { column: &'static str },

    /// The CSV structure could not be read.
    #[error("Tệp CSV sai cấu trúc gần dòng {line}: hãy kiểm tra dấu ngoặc kép và dấu phân cách")]
    InvalidCsv { line: usize },

    /// The workbook could not be opened or read. `detail` is for the logs, not the user.
    #[error("Tệp Excel bị hỏng hoặc không đọc được: hãy mở tệp trong Excel và lưu lại dạng .xlsx")]
    CorruptXlsx { detail: String },

    /// The workbook has no worksheet.
    #[error("Tệp Excel không có trang tính nào")]
    NoWorksheet,

    /// The workbook declares more uncompressed content than allowed (a zip bomb, or a
    /// workbook full of images).
    #[error(
        "Tệp Excel khi giải nén quá lớn (tối đa {} MB): hãy xóa bớt trang tính, hình ảnh hoặc định dạng thừa",
        megabytes(*max_uncompressed_bytes)
    )]
    XlsxTooLarge { max_uncompressed_bytes: u64 },

    /// A workbook part compresses far better than any real spreadsheet does.
    #[error("Tệp Excel có dữ liệu nén bất thường nên bị từ chối vì lý do an toàn")]
    SuspiciousCompression,

    /// A text file (YAML) that is not UTF-8; `line` is where the first bad byte is.
    #[error(
        "Tệp không phải văn bản UTF-8 (lỗi bảng mã ở dòng {line}): hãy lưu lại tệp với bảng mã UTF-8"
    )]
    NotUtf8 { line: usize },

    /// The YAML could not be read as an index set: bad syntax, a value of the wrong type, a
    /// missing or unknown field. `detail` is Vietnamese and names the field when it can.
    #[error("Tệp YAML không hợp lệ{}: {detail}", position_vi(*line, *column))]
    InvalidYaml {
        line: Option<usize>,
        column: Option<usize>,
        detail: String,
    },

    /// The YAML exceeds a safety budget (nesting, number of elements, aliases): a hostile
    /// file or one that is not an index set at all.
    #[error("Tệp YAML bị từ chối vì lý do an toàn: {detail}")]
    YamlTooComplex { detail: String },

    /// The document is nested deeper than any file this system writes or reads.
    #[error("Bộ chỉ số lồng quá sâu: tối đa {max_depth} cấp")]
    TooDeep { max_depth: usize },

    /// An index-set workbook has more node and adjustment rows than a set may hold.
    #[error("Bộ chỉ số có quá nhiều dòng: tối đa {max_rows} dòng (nút và mục thưởng, trừ)")]
    TooManyNodes { max_rows: usize },

    /// A required worksheet is missing (by its name).
    #[error("Tệp Excel thiếu trang tính '{sheet}': hãy dùng mẫu tệp xuất từ hệ thống")]
    MissingSheet { sheet: &'static str },

    /// The `Thông tin` sheet lacks rows for required document fields (their keys).
    #[error("Trang tính 'Thông tin' thiếu dòng cho các trường bắt buộc: {}", .fields.join(", "))]
    MissingInfoFields { fields: Vec<&'static str> },

    /// A header cell of an index-set sheet does not name the column expected there.
    #[error(
        "Trang tính '{sheet}', cột {column}: tiêu đề phải là '{expected}' (đang là '{found}'); hãy giữ đúng thứ tự cột của mẫu"
    )]
    WrongHeader {
        sheet: &'static str,
        column: char,
        expected: &'static str,
        found: String,
    },

    /// Rows of a sheet that could not be read; at most [`MAX_LISTED_PROBLEMS`] are kept,
    /// `total` counts them all.
    #[error("{}", sheet_problems_vi(.sheet, .problems, *.total))]
    SheetProblems {
        sheet: &'static str,
        problems: Vec<SheetProblem>,
        total: usize,
    },

    /// A text is longer than an Excel cell holds (32 767 characters).
    #[error(
        "Mã {code}: nội dung cột '{column}' dài quá 32.767 ký tự, giới hạn của một ô Excel; hãy rút gọn"
    )]
    CellTooLong { code: String, column: &'static str },

    /// Writing a file failed; `detail` is for the logs.
    #[error("Không tạo được tệp: {detail}")]
    WriteFailed { detail: String },

    /// Typesetting a PDF failed; `detail` (typst's messages) is for the logs.
    #[error("Không tạo được tệp PDF: {detail}")]
    PdfFailed { detail: String },
}

/// The most row problems a [`FormatError::SheetProblems`] lists.
pub const MAX_LISTED_PROBLEMS: usize = 20;

/// One problem in one row of a sheet (Excel row numbers, the header is row 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetProblem {
    pub row: usize,
    /// The column letter, when the problem is about one cell.
    pub column: Option<char>,
    /// What is wrong and how to fix it, in Vietnamese.
    pub message: String,
}

impl fmt::Display for SheetProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "Dòng {}, cột {column}: {}", self.row, self.message),
            None => write!(f, "Dòng {}: {}", self.row, self.message),
        }
    }
}

fn sheet_problems_vi(sheet: &str, problems: &[SheetProblem], total: usize) -> String {
    let mut text = format!("Trang tính '{sheet}' có {total} lỗi cần sửa:");
    for problem in problems {
        text.push_str("\n- ");
        text.push_str(&problem.to_string());
    }
    if total > problems.len() {
        text.push_str(&format!("\n- … và {} lỗi khác", total - problems.len()));
    }
    text
}

/// " (dòng 3, cột 7)" for a message, or nothing when the position is unknown.
fn position_vi(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(line), Some(column)) => format!(" (dòng {line}, cột {column})"),
        (Some(line), None) => format!(" (dòng {line})"),
        _ => String::new(),
    }
}

/// A byte count as megabytes for messages: whole numbers as such, otherwise one decimal
/// (with the Vietnamese decimal comma).
fn megabytes(bytes: u64) -> String {
    const MIB: u64 = 1024 * 1024;
    match bytes % MIB {
        0 => (bytes / MIB).to_string(),
        _ => {
            let tenths = (u128::from(bytes) * 10 + u128::from(MIB / 2)) / u128::from(MIB);
            format!("{},{}", tenths / 10, tenths % 10)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_vietnamese_with_limits() {
        let too_large = FormatError::TooLarge {
            max_bytes: 10 * 1024 * 1024,
        };
        assert_eq!(too_large.to_string(), "Tệp quá lớn: tối đa 10 MB");
        let missing = FormatError::MissingColumns {
            columns: vec!["Mã đơn vị", "Nhóm"],
        };
        assert_eq!(missing.to_string(), "Thiếu cột bắt buộc: Mã đơn vị, Nhóm");
        assert_eq!(megabytes(1536 * 1024), "1,5");
    }

    #[test]
    fn index_set_messages_say_where() {
        let yaml = FormatError::InvalidYaml {
            line: Some(3),
            column: Some(7),
            detail: "thiếu trường bắt buộc «title»".to_owned(),
        };
        assert_eq!(
            yaml.to_string(),
            "Tệp YAML không hợp lệ (dòng 3, cột 7): thiếu trường bắt buộc «title»"
        );
        let rows = FormatError::SheetProblems {
            sheet: "Bộ chỉ số",
            problems: vec![SheetProblem {
                row: 4,
                column: Some('D'),
                message: "thiếu điểm tối đa".to_owned(),
            }],
            total: 2,
        };
        assert_eq!(
            rows.to_string(),
            "Trang tính 'Bộ chỉ số' có 2 lỗi cần sửa:\n- Dòng 4, cột D: thiếu điểm tối đa\n- … và 1 lỗi khác"
        );
    }
}
