//! The self-assessment report (báo cáo tự đánh giá, chấm điểm Chỉ số CCHC) of one unit for one
//! period, as an Excel workbook ([`write_report_xlsx`]) and as a PDF ([`write_report_pdf`]).
//!
//! The input is plain data the web layer fills from the store: texts already formatted for
//! Vietnamese readers (decimal comma, dd/mm/yyyy) for the PDF, and the raw [`Decimal`] values
//! beside them so the workbook holds real numbers (shown with the decimal comma by a
//! Vietnamese Excel through the number format `0.00`).
//!
//! The PDF is typeset by typst used as a library, with the fonts embedded in the binary
//! (Libertinus Serif, which covers Vietnamese; DejaVu Sans Mono for hashes): no system fonts,
//! no files, no packages, no network. No user text ever becomes typst markup: the template
//! is a constant and the report reaches it as a JSON file of a virtual file system.

mod board;
mod pdf;
pub mod results;
pub mod survey;
mod xlsx;

use rust_decimal::Decimal;

pub use board::{BoardLine, ProgressBoard, write_progress_board_xlsx};
pub use pdf::write_report_pdf;
pub use xlsx::{
    EVIDENCE_SHEET, EXPLANATIONS_SHEET, SUMMARY_SHEET, TABLE_HEADER_ROW, write_report_xlsx,
};

/// The note printed on reports of an illustrative index set.
pub const ILLUSTRATIVE_NOTE: &str = "BỘ CHỈ SỐ MINH HỌA — không phải nội dung chính thức";

/// The report's heading, on paper and in the workbook.
pub const REPORT_TITLE: &str = "BÁO CÁO TỰ ĐÁNH GIÁ, CHẤM ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH";

/// One unit's self-assessment for one period.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SelfAssessmentReport {
    /// "Tỉnh Sông Lam".
    pub province: String,
    /// "Sở Tư pháp".
    pub unit_name: String,
    pub unit_code: String,
    /// "Năm 2026".
    pub period_label: String,
    pub set_title: String,
    /// Prints a visible [`ILLUSTRATIVE_NOTE`] when true.
    pub illustrative: bool,
    /// Already formatted: "25/11/2026 10:07".
    pub generated_at: String,
    /// "Đã nộp ngày 20/11/2026" or "Chưa nộp".
    pub status_label: String,
    /// In tree order: domains (level 1), criteria, sub-criteria.
    pub rows: Vec<ReportRow>,
    /// Formatted with the decimal comma: "61,50".
    pub total_self: String,
    pub total_max: String,
    /// The same totals as numbers, for the workbook.
    pub total_self_value: Decimal,
    pub total_max_value: Decimal,
    pub explanations: Vec<ReportExplanation>,
    pub evidence: Vec<ReportEvidence>,
}

/// One node of the index set with its self score.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportRow {
    pub code: String,
    pub title: String,
    /// 1 for a domain (lĩnh vực), 2 for a criterion, 3 and more below.
    pub level: u8,
    /// Formatted: "2,50".
    pub max: String,
    /// Formatted; "" when not scored, "Không áp dụng" when declared not applicable.
    pub self_score: String,
    /// "Tự đánh giá", "Điều tra XHH", "Sở Tư pháp"…
    pub source: String,
    /// How the engine reached the score; may be empty.
    pub explanation: String,
    /// The maximum as a number, for the workbook.
    pub max_value: Decimal,
    /// The self score as a number; `None` when not scored or not applicable (the workbook
    /// then shows `self_score` as text, e.g. "Không áp dụng").
    pub self_value: Option<Decimal>,
}

/// The unit's explanation (giải trình) for one leaf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportExplanation {
    pub code: String,
    pub title: String,
    pub text: String,
}

/// One evidence file (tài liệu kiểm chứng) cited for a leaf.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportEvidence {
    pub code: String,
    pub file_name: String,
    /// The relevant part: "tr. 3–5", "Mục II".
    pub reference: String,
    pub sha256_short: String,
    /// Formatted: "1,2 MB".
    pub size: String,
}

/// "UBND Tỉnh Sông Lam" → the issuing authority line, upper-cased as on official papers.
fn authority_line(province: &str) -> String {
    format!("UBND {province}").to_uppercase()
}

/// "Sở Tư pháp (mã STP)", or the name alone when the code is empty.
fn unit_with_code(report: &SelfAssessmentReport) -> String {
    if report.unit_code.trim().is_empty() {
        report.unit_name.clone()
    } else {
        format!("{} (mã {})", report.unit_name, report.unit_code)
    }
}
