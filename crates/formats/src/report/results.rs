//! The results of a period as the province publishes them: an Excel workbook (the ranking of
//! every group with a native bar chart, the units × domains matrix, one detail sheet per unit)
//! and the PDF annex a decision carries (the ranking table of every group).
//!
//! The web layer fills [`ResultsReport`] from its results loader, so the files show exactly
//! the page's figures: indices as published (2 decimals, half-up), points exact.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{Chart, ChartType, Format, FormatAlign, Workbook, Worksheet};
use serde_json::json;

use super::ILLUSTRATIVE_NOTE;
use super::pdf::typeset;
use crate::FormatError;

/// One unit's line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsRow {
    /// "1", "2", "—".
    pub rank: String,
    pub tied: bool,
    pub unit_code: String,
    pub unit_name: String,
    pub appraised: Decimal,
    pub survey: Decimal,
    pub bonus: Decimal,
    pub penalty: Decimal,
    pub total: Decimal,
    pub applicable_max: Decimal,
    /// The published index (already rounded to 2 decimals); None when nothing applied.
    pub index: Option<Decimal>,
    /// "Tốt", "Khá", …
    pub band: String,
    /// Per domain of the group, the published sub-index (%).
    pub domain_percents: Vec<Option<Decimal>>,
    /// Per domain: achieved and applicable maximum.
    pub domain_points: Vec<(Decimal, Decimal)>,
}

/// One group's ranking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsGroup {
    pub code: String,
    pub set_title: String,
    pub illustrative: bool,
    /// (code, title) of the set's domains.
    pub domains: Vec<(String, String)>,
    pub rows: Vec<ResultsRow>,
}

/// The results of one period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsReport {
    pub province: String,
    /// "Đánh giá Chỉ số CCHC năm 2026".
    pub period_name: String,
    /// "Kèm theo Quyết định số 12/QĐ-UBND ngày 05/01/2027" or "KẾT QUẢ TẠM TÍNH".
    pub status_line: String,
    pub official: bool,
    /// "dd/mm/yyyy HH:MM".
    pub generated_at: String,
    pub tie_rule: String,
    pub band_legend: String,
    pub groups: Vec<ResultsGroup>,
}

fn failed(e: rust_xlsxwriter::XlsxError) -> FormatError {
    FormatError::WriteFailed {
        detail: e.to_string(),
    }
}

fn num(d: Decimal) -> f64 {
    d.to_f64().unwrap_or(0.0)
}

/// The ranking sheet's name for a group ("Xếp hạng SO").
pub fn ranking_sheet_name(group: &str) -> String {
    sheet_name(&format!("Xếp hạng {group}"))
}

/// The matrix sheet's name.
pub const MATRIX_SHEET: &str = "Ma trận lĩnh vực";

/// Excel forbids `[]:*?/\` in sheet names and allows 31 characters.
fn sheet_name(raw: &str) -> String {
    raw.chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .take(31)
        .collect()
}

/// The first rows of a sheet: province, title, status, generation time.
fn title_block(
    sheet: &mut Worksheet,
    report: &ResultsReport,
    title: &str,
    bold: &Format,
) -> Result<(), FormatError> {
    sheet
        .write_string_with_format(0, 0, report.province.as_str(), bold)
        .map_err(failed)?;
    sheet
        .write_string_with_format(1, 0, title, bold)
        .map_err(failed)?;
    sheet
        .write_string(2, 0, report.status_line.as_str())
        .map_err(failed)?;
    sheet
        .write_string(3, 0, format!("Xuất lúc {}", report.generated_at).as_str())
        .map_err(failed)?;
    Ok(())
}

/// The header row of the ranking sheets, the table's first row.
pub const RANKING_HEADER_ROW: u32 = 6;
/// The ranking table's columns.
pub const RANKING_COLUMNS: [&str; 12] = [
    "Hạng",
    "Mã đơn vị",
    "Tên đơn vị",
    "Điểm thẩm định",
    "Điểm điều tra XHH",
    "Điểm thưởng",
    "Điểm trừ",
    "Tổng điểm",
    "Điểm tối đa áp dụng",
    "Chỉ số CCHC (%)",
    "Xếp loại",
    "Đồng hạng",
];

/// Writes the workbook: one ranking sheet per group with a bar chart of its indices, the
/// domain matrix, and one detail sheet per unit.
pub fn write_results_xlsx(report: &ResultsReport) -> Result<Vec<u8>, FormatError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let header = Format::new()
        .set_bold()
        .set_background_color("#DCE6F1")
        .set_text_wrap()
        .set_align(FormatAlign::Center);
    let points = Format::new().set_num_format("0.00");
    let warn = Format::new().set_bold().set_font_color("#9C5700");

    for group in &report.groups {
        let name = ranking_sheet_name(&group.code);
        let sheet = book.add_worksheet();
        sheet.set_name(&name).map_err(failed)?;
        title_block(
            sheet,
            report,
            &format!(
                "XẾP HẠNG CHỈ SỐ CẢI CÁCH HÀNH CHÍNH — NHÓM {} — {}",
                group.code, report.period_name
            ),
            &bold,
        )?;
        sheet
            .write_string(
                4,
                0,
                format!("Quy tắc đồng hạng: {}", report.tie_rule).as_str(),
            )
            .map_err(failed)?;
        if group.illustrative {
            sheet
                .write_string_with_format(5, 0, ILLUSTRATIVE_NOTE, &warn)
                .map_err(failed)?;
        }
        let widths = [
            7.0, 14.0, 40.0, 12.0, 12.0, 10.0, 10.0, 11.0, 12.0, 12.0, 12.0, 10.0,
        ];
        for (col, (title, width)) in RANKING_COLUMNS.iter().zip(widths).enumerate() {
            let col = col as u16;
            sheet
                .write_string_with_format(RANKING_HEADER_ROW, col, *title, &header)
                .map_err(failed)?;
            sheet.set_column_width(col, width).map_err(failed)?;
        }
        for (i, r) in group.rows.iter().enumerate() {
            let row = RANKING_HEADER_ROW + 1 + i as u32;
            match r.rank.parse::<f64>() {
                Ok(n) => sheet.write_number(row, 0, n),
                Err(_) => sheet.write_string(row, 0, r.rank.as_str()),
            }
            .map_err(failed)?;
            sheet
                .write_string(row, 1, r.unit_code.as_str())
                .map_err(failed)?;
            sheet
                .write_string(row, 2, r.unit_name.as_str())
                .map_err(failed)?;
            for (col, value) in [
                (3u16, r.appraised),
                (4, r.survey),
                (5, r.bonus),
                (6, r.penalty),
                (7, r.total),
                (8, r.applicable_max),
            ] {
                sheet
                    .write_number_with_format(row, col, num(value), &points)
                    .map_err(failed)?;
            }
            match r.index {
                Some(i) => sheet.write_number_with_format(row, 9, num(i), &points),
                None => sheet.write_string(row, 9, "—"),
            }
            .map_err(failed)?;
            sheet
                .write_string(row, 10, r.band.as_str())
                .map_err(failed)?;
            sheet
                .write_string(row, 11, if r.tied { "Có" } else { "" })
                .map_err(failed)?;
        }
        if !group.rows.is_empty() {
            let first = RANKING_HEADER_ROW + 1;
            let last = RANKING_HEADER_ROW + group.rows.len() as u32;
            let mut chart = Chart::new(ChartType::Bar);
            chart
                .add_series()
                .set_name("Chỉ số CCHC (%)")
                .set_categories((name.as_str(), first, 2, last, 2))
                .set_values((name.as_str(), first, 9, last, 9));
            chart
                .title()
                .set_name(&format!("Chỉ số CCHC — nhóm {}", group.code));
            chart.x_axis().set_min(0).set_max(100);
            chart.y_axis().set_reverse();
            chart.legend().set_hidden();
            let height = (24 * group.rows.len() as u32 + 120).max(300);
            chart.set_height(height).set_width(720);
            sheet
                .insert_chart(RANKING_HEADER_ROW, 13, &chart)
                .map_err(failed)?;
        }
    }

    // The units × domains matrix, every group one block.
    let sheet = book.add_worksheet();
    sheet.set_name(MATRIX_SHEET).map_err(failed)?;
    title_block(
        sheet,
        report,
        &format!(
            "CHỈ SỐ THÀNH PHẦN THEO LĨNH VỰC (%) — {}",
            report.period_name
        ),
        &bold,
    )?;
    sheet.set_column_width(1, 40.0).map_err(failed)?;
    let mut row = 5u32;
    for group in &report.groups {
        sheet
            .write_string_with_format(row, 0, format!("Nhóm {}", group.code).as_str(), &bold)
            .map_err(failed)?;
        row += 1;
        sheet
            .write_string_with_format(row, 0, "Mã đơn vị", &header)
            .map_err(failed)?;
        sheet
            .write_string_with_format(row, 1, "Tên đơn vị", &header)
            .map_err(failed)?;
        for (i, (code, title)) in group.domains.iter().enumerate() {
            sheet
                .write_string_with_format(
                    row,
                    2 + i as u16,
                    format!("{code}. {title}").as_str(),
                    &header,
                )
                .map_err(failed)?;
            sheet.set_column_width(2 + i as u16, 14.0).map_err(failed)?;
        }
        let index_col = 2 + group.domains.len() as u16;
        sheet
            .write_string_with_format(row, index_col, "Chỉ số CCHC (%)", &header)
            .map_err(failed)?;
        row += 1;
        for r in &group.rows {
            sheet
                .write_string(row, 0, r.unit_code.as_str())
                .map_err(failed)?;
            sheet
                .write_string(row, 1, r.unit_name.as_str())
                .map_err(failed)?;
            for (i, p) in r.domain_percents.iter().enumerate() {
                match p {
                    Some(p) => sheet.write_number_with_format(row, 2 + i as u16, num(*p), &points),
                    None => sheet.write_string(row, 2 + i as u16, "—"),
                }
                .map_err(failed)?;
            }
            if let Some(i) = r.index {
                sheet
                    .write_number_with_format(row, index_col, num(i), &points)
                    .map_err(failed)?;
            }
            row += 1;
        }
        row += 1;
    }

    // One detail sheet per unit: its parts and its domains.
    let mut used: Vec<String> = Vec::new();
    for group in &report.groups {
        for r in &group.rows {
            let mut name = sheet_name(&r.unit_code);
            let mut n = 2;
            while used.contains(&name) || name == MATRIX_SHEET || name.starts_with("Xếp hạng") {
                name = sheet_name(&format!("{}-{n}", r.unit_code));
                n += 1;
            }
            used.push(name.clone());
            let sheet = book.add_worksheet();
            sheet.set_name(&name).map_err(failed)?;
            title_block(sheet, report, &r.unit_name, &bold)?;
            sheet.set_column_width(0, 40.0).map_err(failed)?;
            sheet.set_column_width(1, 14.0).map_err(failed)?;
            sheet.set_column_width(2, 14.0).map_err(failed)?;
            // The rank is a number (Excel sorts and compares it); "—" for a unit without
            // one stays text.
            let rank = r.rank.parse::<u32>().ok().map(Decimal::from);
            let rank_text = rank.is_none().then(|| r.rank.clone());
            let tied = r.tied.then(|| "Có".to_owned());
            let lines = [
                ("Hạng trong nhóm", rank, rank_text),
                ("Đồng hạng", None, tied),
                ("Điểm thẩm định", Some(r.appraised), None),
                ("Điểm điều tra XHH", Some(r.survey), None),
                ("Điểm thưởng", Some(r.bonus), None),
                ("Điểm trừ", Some(r.penalty), None),
                ("Tổng điểm", Some(r.total), None),
                ("Điểm tối đa áp dụng", Some(r.applicable_max), None),
                ("Chỉ số CCHC (%)", r.index, None),
                ("Xếp loại", None, Some(r.band.clone())),
            ];
            for (i, (label, value, text)) in lines.iter().enumerate() {
                let row = 5 + i as u32;
                sheet
                    .write_string_with_format(row, 0, *label, &bold)
                    .map_err(failed)?;
                if i == 0
                    && let Some(v) = value
                {
                    sheet.write_number(row, 1, num(*v)).map_err(failed)?;
                } else if let Some(v) = value {
                    sheet
                        .write_number_with_format(row, 1, num(*v), &points)
                        .map_err(failed)?;
                } else if let Some(t) = text {
                    sheet.write_string(row, 1, t.as_str()).map_err(failed)?;
                }
            }
            let top = 5 + lines.len() as u32 + 1;
            for (col, title) in ["Lĩnh vực", "Điểm đạt", "Điểm tối đa", "Tỷ lệ (%)"]
                .iter()
                .enumerate()
            {
                sheet
                    .write_string_with_format(top, col as u16, *title, &header)
                    .map_err(failed)?;
            }
            for (i, ((code, title), (achieved, max))) in
                group.domains.iter().zip(&r.domain_points).enumerate()
            {
                let row = top + 1 + i as u32;
                sheet
                    .write_string(row, 0, format!("{code}. {title}").as_str())
                    .map_err(failed)?;
                sheet
                    .write_number_with_format(row, 1, num(*achieved), &points)
                    .map_err(failed)?;
                sheet
                    .write_number_with_format(row, 2, num(*max), &points)
                    .map_err(failed)?;
                if let Some(Some(p)) = r.domain_percents.get(i) {
                    sheet
                        .write_number_with_format(row, 3, num(*p), &points)
                        .map_err(failed)?;
                }
            }
        }
    }
    book.save_to_buffer().map_err(failed)
}

/// The annex's template; see the file.
const ANNEX_TEMPLATE: &str = include_str!("results_annex.typ");

/// Writes the results annex (phụ lục kết quả) as an A4 landscape PDF: the ranking table of
/// every group, the tie rule and the bands.
pub fn write_results_pdf(report: &ResultsReport) -> Result<Vec<u8>, FormatError> {
    let f = |d: Decimal| parindex_domain::Points::new(d).display_vi();
    let data = json!({
        "province": report.province,
        "period_name": report.period_name,
        "status_line": report.status_line,
        "official": report.official,
        "generated_at": report.generated_at,
        "tie_rule": report.tie_rule,
        "band_legend": report.band_legend,
        "illustrative_note": ILLUSTRATIVE_NOTE,
        "groups": report.groups.iter().map(|g| json!({
            "code": g.code,
            "set_title": g.set_title,
            "illustrative": g.illustrative,
            "rows": g.rows.iter().map(|r| json!({
                // A tied row says so beside its rank.
                "rank": if r.tied { format!("{} (đồng hạng)", r.rank) } else { r.rank.clone() },
                "tied": r.tied,
                "unit_name": r.unit_name,
                "appraised": f(r.appraised),
                "survey": f(r.survey),
                "bonus": f(r.bonus),
                "penalty": f(r.penalty),
                "total": f(r.total),
                "max": f(r.applicable_max),
                "index": r.index.map_or_else(|| "—".to_owned(), f),
                "band": r.band,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    });
    typeset(ANNEX_TEMPLATE, &data, &report.generated_at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> ResultsReport {
        ResultsReport {
            province: "Tỉnh Sông Lam".into(),
            period_name: "Đánh giá Chỉ số CCHC năm 2026".into(),
            status_line: "KẾT QUẢ TẠM TÍNH".into(),
            generated_at: "30/11/2026 10:00".into(),
            tie_rule: "1, 2, 2, 4".into(),
            band_legend: "Tốt ≥ 85,00".into(),
            groups: vec![ResultsGroup {
                code: "SO".into(),
                set_title: "Bộ chỉ số minh họa".into(),
                illustrative: true,
                domains: vec![("1".into(), "Công tác chỉ đạo, điều hành".into())],
                rows: vec![ResultsRow {
                    rank: "1".into(),
                    unit_code: "STP".into(),
                    unit_name: "Sở Tư pháp".into(),
                    total: Decimal::new(9065, 2),
                    applicable_max: Decimal::ONE_HUNDRED,
                    index: Some(Decimal::new(9065, 2)),
                    band: "Tốt".into(),
                    domain_percents: vec![Some(Decimal::new(8750, 2))],
                    domain_points: vec![(Decimal::new(7, 0), Decimal::new(8, 0))],
                    ..ResultsRow::default()
                }],
            }],
            ..ResultsReport::default()
        }
    }

    #[test]
    fn the_workbook_and_the_annex_are_written() {
        let xlsx = write_results_xlsx(&report()).unwrap();
        assert!(xlsx.starts_with(b"PK"));
        let pdf = write_results_pdf(&report()).unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn the_unit_scorecard_is_typeset() {
        let pdf = write_unit_scorecard_pdf(&UnitScorecardReport {
            province: "Tỉnh Sông Lam".into(),
            period_name: "Kỳ 2026".into(),
            status_line: "KẾT QUẢ TẠM TÍNH".into(),
            generated_at: "30/11/2026 10:00".into(),
            unit_name: "Sở Tư pháp".into(),
            group: "SO".into(),
            illustrative: true,
            summary: vec![("Chỉ số CCHC".into(), "90,65".into())],
            round_count: 2,
            lines: vec![ScorecardLine {
                code: "1".into(),
                title: "Công tác chỉ đạo".into(),
                level: 1,
                max: "6,00".into(),
                self_score: "5,00".into(),
                rounds: vec!["4,50".into(), "4,75".into()],
                final_score: "4,75".into(),
                lost: "1,25".into(),
                not_met: false,
                not_applicable: false,
            }],
            not_met: vec![("1.1".into(), "Ban hành kế hoạch".into(), "0,50".into())],
            detail_note: String::new(),
        })
        .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
    }

    #[test]
    fn the_annex_compiles_without_warnings() {
        let (_, warnings) = super::super::pdf::compile_template(
            ANNEX_TEMPLATE,
            &json!({
                "province": "Tỉnh Sông Lam", "period_name": "Kỳ", "status_line": "x", "official": false,
                "generated_at": "30/11/2026 10:00", "tie_rule": "r", "band_legend": "b",
                "illustrative_note": ILLUSTRATIVE_NOTE,
                "groups": [{"code": "SO", "set_title": "t", "illustrative": true, "rows": []}],
            }),
            "30/11/2026 10:00",
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}

/// One line of a unit's scorecard: a node with its self score, every round and the final.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScorecardLine {
    pub code: String,
    pub title: String,
    pub level: u8,
    /// Formatted with the decimal comma.
    pub max: String,
    pub self_score: String,
    pub rounds: Vec<String>,
    pub final_score: String,
    pub lost: String,
    /// A leaf below its maximum (a criterion not met): marked in the table.
    pub not_met: bool,
    /// A leaf declared not applicable: its final score reads as such, not in bold.
    pub not_applicable: bool,
}

/// A unit's scorecard, formatted for print.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitScorecardReport {
    pub province: String,
    pub period_name: String,
    pub status_line: String,
    pub generated_at: String,
    pub unit_name: String,
    pub group: String,
    pub illustrative: bool,
    /// (label, value) lines: rank, parts, total, index, band.
    pub summary: Vec<(String, String)>,
    pub round_count: usize,
    pub lines: Vec<ScorecardLine>,
    /// The criteria not met: (code, title, points lost), listed after the summary.
    pub not_met: Vec<(String, String, String)>,
    /// Shown instead of the table when the published snapshot has no node detail.
    pub detail_note: String,
}

/// The unit scorecard's template; see the file.
const SCORECARD_TEMPLATE: &str = include_str!("unit_scorecard.typ");

/// Writes a unit's scorecard as an A4 PDF: the summary, then every node with its self score,
/// each appraisal round, the final score and the points lost.
pub fn write_unit_scorecard_pdf(report: &UnitScorecardReport) -> Result<Vec<u8>, FormatError> {
    let data = json!({
        "province": report.province,
        "period_name": report.period_name,
        "status_line": report.status_line,
        "generated_at": report.generated_at,
        "unit_name": report.unit_name,
        "group": report.group,
        "illustrative": report.illustrative,
        "illustrative_note": ILLUSTRATIVE_NOTE,
        "summary": report.summary.iter().map(|(l, v)| json!([l, v])).collect::<Vec<_>>(),
        "round_count": report.round_count,
        "lines": report.lines.iter().map(|l| json!({
            "code": l.code,
            "title": l.title,
            "level": l.level,
            "max": l.max,
            "self_score": l.self_score,
            "rounds": l.rounds,
            "final_score": l.final_score,
            "lost": l.lost,
            "not_met": l.not_met,
            "not_applicable": l.not_applicable,
        })).collect::<Vec<_>>(),
        "not_met": report.not_met.iter().map(|(c, t, l)| json!([c, t, l])).collect::<Vec<_>>(),
        "detail_note": report.detail_note,
    });
    typeset(SCORECARD_TEMPLATE, &data, &report.generated_at)
}
