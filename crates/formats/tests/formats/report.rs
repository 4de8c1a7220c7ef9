//! The self-assessment report as Excel and PDF: numbers survive exactly in the workbook,
//! Vietnamese survives in the PDF text, hostile texts print literally, big reports are quick.
//!
//! The PDF checks extract the text with `pdftotext` (Debian's poppler-utils); without it they
//! fail, since a PDF assertion that cannot be checked is not a pass.

use std::io::{Cursor, Write};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx};
use parindex_formats::report::{
    ILLUSTRATIVE_NOTE, ReportEvidence, ReportExplanation, ReportRow, SelfAssessmentReport,
    write_report_pdf, write_report_xlsx,
};
use rust_decimal::Decimal;

const HOSTILE: &str = r"Sở #set text(red) *Tư* _pháp_ $x$ [a] <b> @c \\ //";

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// "2.50" → "2,50", as the web layer formats scores.
fn comma(value: Decimal) -> String {
    format!("{value:.2}").replace('.', ",")
}

fn row(code: &str, title: &str, level: u8, max: &str, score: Option<&str>) -> ReportRow {
    let max_value = dec(max);
    let self_value = score.filter(|s| *s != "KAD").map(dec);
    ReportRow {
        code: code.to_owned(),
        title: title.to_owned(),
        level,
        max: comma(max_value),
        self_score: match (score, self_value) {
            (Some("KAD"), _) => "KAD".to_owned(),
            (_, Some(value)) => comma(value),
            _ => String::new(),
        },
        source: if code.starts_with('3') {
            "Điều tra XHH".to_owned()
        } else {
            "Tự đánh giá".to_owned()
        },
        explanation: String::new(),
        max_value,
        self_value,
    }
}

fn sample() -> SelfAssessmentReport {
    let mut rows = vec![
        row(
            "1",
            "Công tác chỉ đạo, điều hành cải cách hành chính",
            1,
            "10.50",
            Some("8.25"),
        ),
        row("1.1", "Kế hoạch cải cách hành chính năm", 2, "3", Some("3")),
        row(
            "1.1.1",
            "Ban hành kế hoạch đúng thời hạn",
            3,
            "1.5",
            Some("1.5"),
        ),
        row(
            "1.1.2",
            "Mức độ hoàn thành kế hoạch",
            3,
            "1.50",
            Some("0.75"),
        ),
        row(
            "1.2",
            "Kiểm tra công tác cải cách hành chính",
            2,
            "2.25",
            Some("KAD"),
        ),
        row("1.3", "Tuyên truyền cải cách hành chính", 2, "5.25", None),
        row("2", "Cải cách thủ tục hành chính", 1, "12", Some("11.99")),
        row(
            "2.1",
            "Công bố, công khai thủ tục hành chính tại Đắk Lắk",
            2,
            "12",
            Some("11.99"),
        ),
        row("3", "Điều tra xã hội học", 1, "25", Some("20.01")),
    ];
    rows[3].explanation = "3/4 nhiệm vụ hoàn thành đúng hạn → 0,75 điểm".to_owned();
    SelfAssessmentReport {
        province: "Tỉnh Đắk Lắk".to_owned(),
        unit_name: "Sở Tư pháp".to_owned(),
        unit_code: "STP".to_owned(),
        period_label: "Năm 2026".to_owned(),
        set_title: "Bộ chỉ số CCHC cấp sở, tỉnh Đắk Lắk".to_owned(),
        illustrative: true,
        generated_at: "25/11/2026 10:07".to_owned(),
        status_label: "Đã nộp ngày 20/11/2026".to_owned(),
        rows,
        total_self: "40,25".to_owned(),
        total_max: "47,50".to_owned(),
        total_self_value: dec("40.25"),
        total_max_value: dec("47.50"),
        explanations: vec![ReportExplanation {
            code: "1.3".to_owned(),
            title: "Tuyên truyền cải cách hành chính".to_owned(),
            text: "Đơn vị đã tuyên truyền trên Cổng thông tin điện tử;\nvăn bản đang chờ ký."
                .to_owned(),
        }],
        evidence: vec![ReportEvidence {
            code: "1.1.1".to_owned(),
            file_name: "Quyết định số 2450/QĐ-UBND ngày 06/9/2021.pdf".to_owned(),
            reference: "tr. 3–5".to_owned(),
            sha256_short: "9f86d081884c".to_owned(),
            size: "1,2 MB".to_owned(),
        }],
    }
}

fn open_xlsx(bytes: Vec<u8>) -> Xlsx<Cursor<Vec<u8>>> {
    Xlsx::new(Cursor::new(bytes)).unwrap()
}

/// A number cell read back as a decimal: the shortest text of the double Excel stored.
fn cell_decimal(cell: &Data) -> Decimal {
    match cell {
        Data::Float(value) => Decimal::from_str(&value.to_string()).unwrap(),
        Data::Int(value) => Decimal::from(*value),
        other => panic!("expected a number, got {other:?}"),
    }
}

fn cell_text(cell: Option<&Data>) -> String {
    match cell {
        Some(Data::String(text)) => text.clone(),
        Some(Data::Empty) | None => String::new(),
        Some(other) => panic!("expected text, got {other:?}"),
    }
}

#[test]
fn the_workbook_holds_the_exact_numbers() {
    let report = sample();
    let mut workbook = open_xlsx(write_report_xlsx(&report).unwrap());
    assert_eq!(
        workbook.sheet_names(),
        ["Tổng hợp", "Giải trình", "Tài liệu kiểm chứng"]
    );

    let summary = workbook.worksheet_range("Tổng hợp").unwrap();
    let text = |r: u32, c: u32| cell_text(summary.get_value((r, c)));
    assert_eq!(text(0, 0), "UBND TỈNH ĐẮK LẮK");
    assert!(text(1, 0).contains("CHỈ SỐ CẢI CÁCH HÀNH CHÍNH"));
    assert_eq!(text(2, 0), "Đơn vị: Sở Tư pháp (mã STP)");
    assert!(text(3, 0).contains("Năm 2026"));
    assert!(text(4, 0).contains("Đã nộp ngày 20/11/2026"));
    assert_eq!(text(5, 0), ILLUSTRATIVE_NOTE);
    assert_eq!(text(6, 0), "Mã");
    assert_eq!(text(6, 3), "Điểm tự chấm");

    for (index, row) in report.rows.iter().enumerate() {
        let r = 7 + u32::try_from(index).unwrap();
        assert_eq!(text(r, 0), row.code);
        assert_eq!(text(r, 1), row.title);
        let max = summary.get_value((r, 2)).unwrap();
        assert_eq!(cell_decimal(max), row.max_value, "max of {}", row.code);
        match row.self_value {
            Some(value) => {
                let cell = summary.get_value((r, 3)).unwrap();
                assert_eq!(cell_decimal(cell), value, "self score of {}", row.code);
            }
            None => assert_eq!(text(r, 3), row.self_score, "self score of {}", row.code),
        }
        assert_eq!(text(r, 4), row.source);
        assert_eq!(text(r, 5), row.explanation);
    }
    let total = 7 + u32::try_from(report.rows.len()).unwrap();
    assert_eq!(text(total, 1), "Tổng điểm");
    assert_eq!(
        cell_decimal(summary.get_value((total, 2)).unwrap()),
        dec("47.5")
    );
    assert_eq!(
        cell_decimal(summary.get_value((total, 3)).unwrap()),
        dec("40.25")
    );

    let explanations = workbook.worksheet_range("Giải trình").unwrap();
    assert_eq!(cell_text(explanations.get_value((7, 0))), "1.3");
    assert_eq!(
        cell_text(explanations.get_value((7, 2))),
        report.explanations[0].text
    );
    let evidence = workbook.worksheet_range("Tài liệu kiểm chứng").unwrap();
    assert_eq!(
        cell_text(evidence.get_value((7, 1))),
        "Quyết định số 2450/QĐ-UBND ngày 06/9/2021.pdf"
    );
    assert_eq!(cell_text(evidence.get_value((7, 2))), "tr. 3–5");
}

#[test]
fn every_two_decimal_score_survives_the_workbook() {
    // All hundredths from 0,00 to 99,99: none may come back as 0,29999… or 1,0000001.
    let rows: Vec<ReportRow> = (0..10_000)
        .step_by(7)
        .map(|hundredths| {
            let value = Decimal::new(hundredths, 2);
            ReportRow {
                code: format!("{hundredths}"),
                level: 3,
                max_value: value,
                self_value: Some(value),
                ..ReportRow::default()
            }
        })
        .collect();
    let report = SelfAssessmentReport {
        rows,
        ..SelfAssessmentReport::default()
    };
    let mut workbook = open_xlsx(write_report_xlsx(&report).unwrap());
    let summary = workbook.worksheet_range("Tổng hợp").unwrap();
    for (index, row) in report.rows.iter().enumerate() {
        let r = 7 + u32::try_from(index).unwrap();
        assert_eq!(
            cell_decimal(summary.get_value((r, 2)).unwrap()),
            row.max_value
        );
        assert_eq!(
            Some(cell_decimal(summary.get_value((r, 3)).unwrap())),
            row.self_value
        );
    }
}

#[test]
fn an_empty_report_still_makes_both_files() {
    let report = SelfAssessmentReport::default();
    let mut workbook = open_xlsx(write_report_xlsx(&report).unwrap());
    let evidence = workbook.worksheet_range("Tài liệu kiểm chứng").unwrap();
    assert_eq!(
        cell_text(evidence.get_value((7, 1))),
        "Không có tài liệu kiểm chứng."
    );
    assert!(write_report_pdf(&report).unwrap().starts_with(b"%PDF"));
}

#[test]
fn a_very_long_text_is_cut_to_what_a_cell_holds() {
    let mut report = sample();
    report.explanations[0].text = "giải trình ".repeat(5_000);
    let mut workbook = open_xlsx(write_report_xlsx(&report).unwrap());
    let explanations = workbook.worksheet_range("Giải trình").unwrap();
    let text = cell_text(explanations.get_value((7, 2)));
    assert_eq!(text.chars().count(), 32_767);
    assert!(text.ends_with('…'));
}

/// The text of a PDF by `pdftotext`; fails the test when it is not installed or fails.
fn pdf_text(pdf: &[u8]) -> String {
    let mut child = Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| {
            panic!("pdftotext is needed to check the PDF (install poppler-utils): {error}")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = pdf.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn the_pdf_keeps_vietnamese_intact() {
    let report = sample();
    let pdf = write_report_pdf(&report).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    let text = pdf_text(&pdf);
    for expected in [
        "Sở Tư pháp",
        "UBND TỈNH ĐẮK LẮK",
        "BÁO CÁO TỰ ĐÁNH GIÁ, CHẤM ĐIỂM",
        "CHỈ SỐ CẢI CÁCH HÀNH CHÍNH",
        "Cải cách thủ tục hành chính",
        "Đắk Lắk",
        "Công tác chỉ đạo, điều hành cải cách hành chính",
        "Độc lập – Tự do – Hạnh phúc",
        "Đã nộp ngày 20/11/2026",
        ILLUSTRATIVE_NOTE,
        "8,25",
        "KAD",
        "40,25",
        "47,50",
        "3/4 nhiệm vụ hoàn thành đúng hạn → 0,75 điểm",
        "Quyết định số 2450/QĐ-UBND ngày 06/9/2021.pdf",
        "tr. 3–5",
        "9f86d081884c",
        "văn bản đang chờ ký.",
        "Trang 1/",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn the_same_report_gives_the_same_pdf() {
    let report = sample();
    assert_eq!(
        write_report_pdf(&report).unwrap(),
        write_report_pdf(&report).unwrap()
    );
}

#[test]
fn hostile_texts_print_literally() {
    let mut report = sample();
    report.unit_name = HOSTILE.to_owned();
    report.illustrative = false;
    report.rows[0].title = HOSTILE.to_owned();
    report.explanations[0].text = HOSTILE.to_owned();
    report.evidence[0].file_name = "#include \"/etc/passwd\"".to_owned();
    let pdf = write_report_pdf(&report).unwrap();
    let workbook = write_report_xlsx(&report).unwrap();
    let mut workbook = open_xlsx(workbook);
    let summary = workbook.worksheet_range("Tổng hợp").unwrap();
    assert_eq!(cell_text(summary.get_value((7, 1))), HOSTILE);

    let text = pdf_text(&pdf);
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    // The bold unit line under the title, the row title and the explanation.
    let literal = lines.iter().filter(|line| **line == HOSTILE).count();
    assert!(
        literal >= 3,
        "expected the literal name 3 times in:\n{text}"
    );
    assert!(text.contains("#include \"/etc/passwd\""), "{text}");
    assert!(!text.contains("root:"), "a file was read: {text}");
    assert!(!text.contains(ILLUSTRATIVE_NOTE));
}

#[test]
fn a_report_of_150_rows_is_quick() {
    let mut report = sample();
    report.rows = (0..150)
        .map(|index| {
            let level = [1, 2, 3, 3, 3][index % 5];
            row(
                &format!("{}.{}", index / 5 + 1, index % 5),
                "Tỷ lệ hồ sơ thủ tục hành chính được giải quyết đúng hạn, trước hạn tại Đắk Lắk",
                level,
                "2.50",
                Some("1.25"),
            )
        })
        .collect();
    report.explanations = (0..40)
        .map(|index| ReportExplanation {
            code: format!("{index}.1"),
            title: "Mức độ hoàn thành kế hoạch".to_owned(),
            text: "Đơn vị đã hoàn thành phần lớn nhiệm vụ; phần còn lại chuyển sang năm sau."
                .repeat(3),
        })
        .collect();
    // Warm up the process-wide fonts and library, as a running server would have them.
    write_report_pdf(&sample()).unwrap();
    let started = Instant::now();
    let pdf = write_report_pdf(&report).unwrap();
    let elapsed = started.elapsed();
    eprintln!("150-row report: {} bytes in {elapsed:?}", pdf.len());
    // Hang guards, not performance targets (benchmarks measure speed): a debug build on an
    // idle machine needs well under a tenth of these.
    assert!(elapsed < Duration::from_secs(50), "took {elapsed:?}");
    let started = Instant::now();
    write_report_xlsx(&report).unwrap();
    assert!(started.elapsed() < Duration::from_secs(20));
    let text = pdf_text(&pdf);
    assert!(text.contains("Trang 3/"), "{text}");
}
