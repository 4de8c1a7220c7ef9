//! Results over HTTP, on a hand-computed province: 5 units in 2 groups, scored against two
//! small sets, with a not-applicable leaf, bonus and penalty, and a tie. The expected indices,
//! ranks and bands are worked out below by hand; the ranking page, the heat map, the open data,
//! the Excel workbook (read back with calamine) and the PDF annex (read back with pdftotext)
//! must all say the same. The public page and the API show nothing before publication, and
//! only the published snapshot after.

use calamine::Reader;

use axum::http::StatusCode;
use parindex_domain::{UnitCode, UnitDraft, UnitName};
use parindex_store::AuditActor;
use parindex_store::appraisal::{NewAdjustment, ResultToPublish};
use parindex_store::index_sets::IndexSetContent;
use parindex_store::periods::{LeafEntryWrite, PeriodSettings};

use crate::support::{TestApp, download, pdf_text};
use crate::web_test;

/// A small set: domain 1 (1.1 binary, max 4; 1.2 binary, max 2, may be not applicable),
/// domain 2 (2.1 proportional, max 4); one bonus and one penalty item of 1 point each.
fn tiny_set(code: &str, group: &str) -> String {
    format!(
        r#"format: parindex-index-set/1
code: {code}
title: "Bộ chỉ số thử nghiệm {group}"
year: 2026
unit_group: {group}
illustrative: true
scale: 10
appraised_max: 10
survey_max: 0
bonus_cap: 1
penalty_cap: 1
nodes:
  - code: "1"
    title: "Công tác chỉ đạo, điều hành"
    max: 6
    children:
      - code: "1.1"
        title: "Ban hành kế hoạch"
        max: 4
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: {{ kind: binary }}
      - code: "1.2"
        title: "Báo cáo định kỳ"
        max: 2
        not_applicable_allowed: true
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: {{ kind: binary }}
  - code: "2"
    title: "Cải cách thủ tục hành chính"
    max: 4
    children:
      - code: "2.1"
        title: "Tỷ lệ hồ sơ đúng hạn"
        max: 4
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: {{ kind: proportional }}
adjustments:
  - {{ code: "T1", kind: bonus, title: "Sáng kiến", max: 1 }}
  - {{ code: "P1", kind: penalty, title: "Nộp chậm", max: 1 }}
"#
    )
}

/// Leaf scores in thousandths (None: not applicable), bonus and penalty, per unit code.
type Scores = (&'static str, [Option<i64>; 3], i64, i64);

/// The province, worked out by hand (index = total ÷ applicable max × 100):
/// - SO: STP 4 + 2 + 3 + 0,5 bonus = 9,5 / 10 = 95,00 %; SNV 4 + KAD + 3,6 = 7,6 / 8 = 95,00 %
///   (tied with STP: both rank 1); STC 4 + 0 + 3 − 0,5 penalty = 6,5 / 10 = 65,00 % (rank 3).
/// - HUYEN: H-EAKAR 4 + 2 + 2,5 = 8,5 / 10 = 85,00 % (rank 1, Tốt at the threshold);
///   H-KRONGPAC 0 + KAD + 3,5 + 1 − 0,25 = 4,25 / 8 = 53,125 % → 53,13 (rank 2, Trung bình).
const SCORES: [Scores; 5] = [
    ("STP", [Some(4000), Some(2000), Some(3000)], 500, 0),
    ("SNV", [Some(4000), None, Some(3600)], 0, 0),
    ("STC", [Some(4000), Some(0), Some(3000)], 0, 500),
    ("H-EAKAR", [Some(4000), Some(2000), Some(2500)], 0, 0),
    ("H-KRONGPAC", [Some(0), None, Some(3500)], 1000, 250),
];

/// (unit code, index, rank, band) as the ranking page must show them.
const EXPECTED: [(&str, &str, &str, &str); 5] = [
    ("STP", "95,00", "1", "Tốt"),
    ("SNV", "95,00", "1", "Tốt"),
    ("STC", "65,00", "3", "Trung bình"),
    ("H-EAKAR", "85,00", "1", "Tốt"),
    ("H-KRONGPAC", "53,13", "2", "Trung bình"),
];

/// Saves a leaf's score (None: not applicable) over `version` (0 for a first save).
async fn enter(
    tx: &mut parindex_store::WriteTx,
    period: i64,
    unit: i64,
    leaf: &str,
    score: Option<i64>,
    version: i64,
) {
    tx.save_leaf_entry(
        period,
        unit,
        leaf,
        version,
        &LeafEntryWrite {
            input_json: "{}".into(),
            score_milli: score,
            not_applicable: score.is_none(),
            explanation: String::new(),
            note: String::new(),
        },
    )
    .await
    .unwrap();
}

/// Builds the province and opens its period; returns (period id, unit id per code).
pub async fn province(app: &TestApp) -> (i64, Vec<(&'static str, i64)>) {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let mut units = vec![
        ("STP", app.seed.unit_stp),
        ("SNV", app.seed.unit_snv),
        ("H-EAKAR", app.seed.unit_huyen),
    ];
    for (code, name, group) in [
        ("STC", "Sở Tài chính", app.seed.group_so),
        ("H-KRONGPAC", "Huyện Krông Pắc", app.seed.group_huyen),
    ] {
        let unit = tx
            .create_unit(&UnitDraft {
                code: UnitCode::parse(code).unwrap(),
                name_vi: UnitName::parse(name).unwrap(),
                name_en: None,
                group_id: group,
                parent_id: None,
                valid_from: time::macros::date!(2021 - 01 - 01),
                valid_to: None,
                successor_id: None,
            })
            .await
            .unwrap();
        units.push((code, unit.id));
    }
    let mut sets = Vec::new();
    for (code, group) in [("T-SO", "SO"), ("T-HUYEN", "HUYEN")] {
        let doc = parindex_formats::parse_index_set_file(tiny_set(code, group).as_bytes())
            .expect("the tiny set parses");
        parindex_domain::IndexSet::from_doc(&doc, None).expect("the tiny set validates");
        let set = tx
            .create_index_set(
                &IndexSetContent {
                    code: doc.code.clone(),
                    year: 2026,
                    unit_group: group.into(),
                    title: doc.title.clone(),
                    illustrative: true,
                    definition: serde_json::to_string(&doc).unwrap(),
                    node_count: 5,
                },
                None,
            )
            .await
            .unwrap();
        tx.publish_index_set(set.id, 1).await.unwrap();
        sets.push((group.to_owned(), set.id));
    }
    let now = parindex_store::now_ms();
    let day = 86_400_000;
    let period = tx
        .create_period(
            &PeriodSettings {
                year: 2026,
                name: "Đánh giá Chỉ số CCHC năm 2026".into(),
                self_open_at: now - day,
                self_close_at: now + 10 * day,
                explanation_due_at: None,
                appraisal_open_at: None,
                appraisal_close_at: None,
                bonus_cap_milli: 1000,
                penalty_cap_milli: 1000,
                band_good_milli: 85_000,
                band_fair_milli: 70_000,
                band_average_milli: 50_000,
                appraisal_rounds: 2,
            },
            &sets,
            &units.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    for (code, leaves, bonus, penalty) in SCORES {
        let unit_id = units.iter().find(|(c, _)| *c == code).unwrap().1;
        for (leaf, score) in ["1.1", "1.2", "2.1"].iter().zip(leaves) {
            enter(&mut tx, period.id, unit_id, leaf, score, 0).await;
        }
        for (item, kind, points) in [("T1", "bonus", bonus), ("P1", "penalty", penalty)] {
            if points > 0 {
                tx.add_adjustment(
                    period.id,
                    &NewAdjustment {
                        unit_id,
                        item_code: item.into(),
                        kind: kind.into(),
                        points_milli: points,
                        reason: "Thử nghiệm".into(),
                        evidence_id: None,
                    },
                )
                .await
                .unwrap();
            }
        }
    }
    tx.commit().await.unwrap();
    (period.id, units)
}

/// Publishes the current results as the workflow would: stage `published`, one snapshot
/// per unit.
pub async fn publish(app: &TestApp, period: i64, units: &[(&str, i64)]) {
    let mut results = Vec::new();
    for (_, unit_id) in units {
        let ev = parindex_app::evaluation::UnitEvaluation::load(&app.state, period, *unit_id)
            .await
            .unwrap();
        let snap = parindex_app::results::snapshot(&ev, &ev.scorecard().unwrap()).unwrap();
        results.push(ResultToPublish {
            unit_id: *unit_id,
            total_milli: snap.total_milli,
            applicable_max_milli: snap.applicable_max_milli,
            result_json: serde_json::to_string(&snap).unwrap(),
        });
    }
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.set_period_stage(period, ("self", 0), ("published", 0))
        .await
        .unwrap();
    tx.publish_results(period, &results, "").await.unwrap();
    tx.commit().await.unwrap();
}

/// The text of the cell with `data-testid="{id}"`.
fn cell(body: &str, id: &str) -> String {
    let marker = format!("data-testid=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} in {body}"))
        + marker.len();
    let rest = &body[start..];
    let text = &rest[..rest.find("</").unwrap()];
    // Strip inner tags (the tie marker, <strong>).
    let mut out = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

web_test!(
    a_hand_computed_province_ranks_exactly,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(
            r.body.contains("1, 2, 2, 4"),
            "the tie rule is stated: {}",
            r.body
        );
        assert!(
            r.body.contains("Tạm tính"),
            "provisional before publication"
        );
        for (code, index, rank, band) in EXPECTED {
            assert_eq!(cell(&r.body, &format!("index-{code}")), index, "{code}");
            assert_eq!(
                cell(&r.body, &format!("rank-{code}")),
                format!(
                    "{rank}{}",
                    if code == "STP" || code == "SNV" {
                        "*"
                    } else {
                        ""
                    }
                ),
                "{code}"
            );
            assert_eq!(cell(&r.body, &format!("band-{code}")), band, "{code}");
        }
        // Recomputing gives the same results (deterministic, idempotent): two computations
        // from the store, bypassing the cache, agree with each other and with what the page
        // was drawn from; and the page drawn after emptying the cache is the same page.
        let first = parindex_app::results::PeriodResults::compute_uncached(&app.state, period)
            .await
            .unwrap();
        let second = parindex_app::results::PeriodResults::compute_uncached(&app.state, period)
            .await
            .unwrap();
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        let cached = parindex_app::results::PeriodResults::load(
            &app.state,
            period,
            parindex_app::results::Audience::Internal,
        )
        .await
        .unwrap();
        assert_eq!(format!("{first:?}"), format!("{cached:?}"));
        app.state.results.clear();
        let again = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(
            again.body.replace(&secretariat_csrf(&again.body), ""),
            r.body.replace(&secretariat_csrf(&r.body), "")
        );

        // Filters: "krong pac" finds "Krông Pắc"; a band filter keeps only its units.
        let r = secretariat
            .get(&format!("/periods/{period}/ranking?q=krong+pac"))
            .await;
        assert!(r.body.contains("data-testid=\"row-H-KRONGPAC\""));
        assert!(!r.body.contains("data-testid=\"row-STP\""));
        let r = secretariat
            .get(&format!("/periods/{period}/ranking?band=good&sort=name"))
            .await;
        assert!(
            r.body.contains("data-testid=\"row-STP\"")
                && r.body.contains("data-testid=\"row-H-EAKAR\"")
        );
        assert!(!r.body.contains("data-testid=\"row-STC\""));

        // The heat map: domain 1 of SNV is 4 / 4 (1.2 not applicable) = 100,00 %.
        let r = secretariat.get(&format!("/periods/{period}/matrix")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(cell(&r.body, "heat-SNV-0"), "100,00");
        assert!(
            r.body
                .contains("class=\"num heat-10\" data-testid=\"heat-SNV-0\""),
            "{}",
            r.body
        );
        let r = secretariat
            .get(&format!("/periods/{period}/matrix?q=krong&group=HUYEN"))
            .await;
        assert!(r.body.contains("Huyện Krông Pắc") && !r.body.contains("Huyện Ea Kar"));
        assert!(!r.body.contains("data-testid=\"matrix-SO\""));

        // Open data: exact figures, Vietnamese names intact.
        let r = secretariat
            .get(&format!("/periods/{period}/results.csv"))
            .await;
        assert!(
            r.body.contains(
                "HUYEN,H-KRONGPAC,Huyện Krông Pắc,3.5,0,1,0.25,4.25,8,53.13,2,0,Trung bình,0"
            ),
            "{}",
            r.body
        );
        assert!(
            r.body
                .contains("SO,STP,Sở Tư pháp,9,0,0.5,0,9.5,10,95.00,1,1,Tốt,0"),
            "{}",
            r.body
        );

        // STC's scorecard: 1.2 (0 of 2) and 2.1 (3 of 4) are below their maximum.
        let stc = units.iter().find(|(c, _)| *c == "STC").unwrap().1;
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stc}/scorecard"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(cell(&r.body, "unit-index"), "65,00");
        assert_eq!(cell(&r.body, "not-met-count"), "2");
        // Sub-indices per criterion: domain 1 is 4 of 6 = 66,67 %, leaf 2.1 is 3 of 4 = 75 %.
        assert_eq!(cell(&r.body, "percent-1"), "66,67");
        assert_eq!(cell(&r.body, "percent-2.1"), "75,00");
        assert!(
            r.body
                .contains("class=\"level-2 not-met\" id=\"leaf-1.2\" data-testid=\"leaf-1.2\""),
            "{}",
            r.body
        );
        // The criteria not met are listed by name, with the points lost; 1.1 (4 of 4) is not.
        let list = {
            let start = r
                .body
                .find("data-testid=\"not-met-list\"")
                .expect("the list");
            &r.body[start..start + r.body[start..].find("</table>").unwrap()]
        };
        assert!(list.contains("data-testid=\"not-met-1.2\""), "{list}");
        assert!(
            list.contains("Báo cáo định kỳ") && list.contains("2,00"),
            "{list}"
        );
        assert!(list.contains("data-testid=\"not-met-2.1\""), "{list}");
        assert!(!list.contains("not-met-1.1"), "{list}");
        let css = app.client().get("/static/app.css").await;
        assert!(css.body.contains("tr.not-met"), "a not-met row is styled");
        assert!(
            r.body.contains("<svg"),
            "the radar against the group median"
        );
        let r = secretariat
            .get(&format!("/periods/{period}/units/999999/scorecard"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Results are cached per period, and any change to the period's data recomputes them:
        // STC's 1.2 from 0 to 2 gives 4 + 2 + 3 − 0,5 = 8,5 / 10 = 85,00 % (Tốt).
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        enter(&mut tx, period, stc, "1.2", Some(2000), 1).await;
        tx.commit().await.unwrap();
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(cell(&r.body, "index-STC"), "85,00");
        assert_eq!(cell(&r.body, "band-STC"), "Tốt");

        // Roles: a unit officer and an appraiser cannot see the provisional ranking.
        for who in ["canbo.stp", "thamdinh"] {
            let mut c = app.login_as(who).await;
            assert_eq!(
                c.get(&format!("/periods/{period}/ranking")).await.status,
                StatusCode::FORBIDDEN,
                "{who}"
            );
        }
        app
    }
);

fn secretariat_csrf(body: &str) -> String {
    crate::support::extract_csrf(body).unwrap_or_default()
}

web_test!(
    excel_and_pdf_exports_say_what_the_page_says,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let mut secretariat = app.login_as("thuky").await;
        let (status, xlsx) = download(
            &app,
            &secretariat,
            &format!("/periods/{period}/ranking.xlsx"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let xlsx_bytes = xlsx.clone();
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("Xếp hạng SO").unwrap();
        let row_of = |code: &str| {
            sheet
                .rows()
                .find(|r| r.len() > 9 && r[1] == code)
                .unwrap_or_else(|| panic!("{code}'s row"))
                .to_vec()
        };
        let stp = row_of("STP");
        assert_eq!(stp[0], calamine::Data::Float(1.0));
        assert_eq!(stp[2].to_string(), "Sở Tư pháp");
        assert_eq!(stp[7], calamine::Data::Float(9.5));
        assert_eq!(stp[9], calamine::Data::Float(95.0));
        assert_eq!(stp[10].to_string(), "Tốt");
        assert_eq!(row_of("STC")[9], calamine::Data::Float(65.0));
        let huyen = book.worksheet_range("Xếp hạng HUYEN").unwrap();
        let krong = huyen
            .rows()
            .find(|r| r.len() > 9 && r[1] == "H-KRONGPAC")
            .unwrap();
        assert_eq!(krong[9], calamine::Data::Float(53.13));
        assert_eq!(krong[0], calamine::Data::Float(2.0));
        // The native chart is a chart part of the workbook (not a picture).
        assert!(
            xlsx_bytes
                .windows(b"xl/charts/chart1.xml".len())
                .any(|w| w == b"xl/charts/chart1.xml"),
            "a native chart part"
        );
        // The domain matrix holds the heat map's figures, as numbers.
        let number = |text: &str| -> f64 { text.replace(',', ".").parse().unwrap() };
        let heat = secretariat.get(&format!("/periods/{period}/matrix")).await;
        let matrix = book.worksheet_range("Ma trận lĩnh vực").unwrap();
        for code in ["STP", "SNV", "STC", "H-EAKAR", "H-KRONGPAC"] {
            let row = matrix
                .rows()
                .find(|r| r.first().is_some_and(|c| c == code))
                .unwrap_or_else(|| panic!("{code} in the matrix"))
                .to_vec();
            for domain in 0..2 {
                assert_eq!(
                    row[2 + domain],
                    calamine::Data::Float(number(&cell(
                        &heat.body,
                        &format!("heat-{code}-{domain}")
                    ))),
                    "{code}, domain {domain}"
                );
            }
            assert_eq!(
                row[4],
                calamine::Data::Float(number(&cell(&heat.body, &format!("heat-index-{code}")))),
                "{code}'s index"
            );
        }
        // A unit's detail sheet holds its scorecard page's figures.
        let krong_id = units.iter().find(|(c, _)| *c == "H-KRONGPAC").unwrap().1;
        let page = secretariat
            .get(&format!("/periods/{period}/units/{krong_id}/scorecard"))
            .await;
        let detail = book.worksheet_range("H-KRONGPAC").unwrap();
        let line = |label: &str| {
            detail
                .rows()
                .find(|r| r.first().is_some_and(|c| c.to_string().starts_with(label)))
                .unwrap_or_else(|| panic!("{label} on the detail sheet"))
                .to_vec()
        };
        assert_eq!(
            line("Chỉ số CCHC")[1],
            calamine::Data::Float(number(&cell(&page.body, "unit-index")))
        );
        assert_eq!(line("Tổng điểm")[1], calamine::Data::Float(4.25));
        assert_eq!(line("Điểm thưởng")[1], calamine::Data::Float(1.0));
        for domain in ["1", "2"] {
            let row = line(&format!("{domain}. "));
            assert_eq!(
                row[3],
                calamine::Data::Float(number(&cell(&page.body, &format!("percent-{domain}")))),
                "domain {domain}"
            );
        }

        let (status, pdf) = download(
            &app,
            &secretariat,
            &format!("/periods/{period}/ranking.pdf"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF"));
        {
            let text = pdf_text(&pdf);
            for name in [
                "Sở Tư pháp",
                "Sở Nội vụ",
                "Sở Tài chính",
                "Huyện Ea Kar",
                "Huyện Krông Pắc",
            ] {
                assert!(text.contains(name), "{name} in the PDF: {text}");
            }
            assert!(text.contains("53,13") && text.contains("95,00"), "{text}");
            assert!(text.contains("KẾT QUẢ TẠM TÍNH"), "{text}");
        }

        // A unit's scorecard as a PDF.
        let stc = units.iter().find(|(c, _)| *c == "STC").unwrap().1;
        let (status, pdf) = download(
            &app,
            &secretariat,
            &format!("/periods/{period}/units/{stc}/scorecard.pdf"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        {
            let text = pdf_text(&pdf);
            assert!(
                text.contains("BẢNG ĐIỂM CHỈ SỐ CẢI CÁCH HÀNH CHÍNH"),
                "{text}"
            );
            assert!(
                text.contains("Sở Tài chính") && text.contains("65,00"),
                "{text}"
            );
            assert!(
                text.contains("Báo cáo định kỳ"),
                "the leaves are listed: {text}"
            );
        }
        app
    }
);

web_test!(
    the_public_page_shows_published_results_only,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let mut public = app.client();
        // Before publication: nothing, whoever asks.
        let r = public.get("/public").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("data-testid=\"public-none\""), "{}", r.body);
        for path in [
            format!("/public/periods/{period}"),
            format!("/public/periods/{period}/results.csv"),
            format!("/public/periods/{period}/units/{}", app.seed.unit_stp),
            format!("/api/v1/periods/{period}/results"),
        ] {
            assert_eq!(
                public.get(&path).await.status,
                StatusCode::NOT_FOUND,
                "{path}"
            );
        }
        let r = public.get("/api/v1/periods").await;
        assert_eq!(r.body, "{\"periods\":[]}");
        // Provisional staff pages stay behind the login.
        let r = public.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);

        publish(&app, period, &units).await;
        // A change after publication (without a reopening) is not what the public sees.
        let stc = units.iter().find(|(c, _)| *c == "STC").unwrap().1;
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        enter(&mut tx, period, stc, "1.2", Some(2000), 1).await;
        tx.commit().await.unwrap();

        let r = public.get("/public").await;
        assert!(
            r.body
                .contains(&format!("data-testid=\"public-period-{period}\"")),
            "{}",
            r.body
        );
        let r = public.get(&format!("/public/periods/{period}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        for (code, index, rank, _) in EXPECTED {
            assert_eq!(cell(&r.body, &format!("index-{code}")), index, "{code}");
            assert!(
                cell(&r.body, &format!("rank-{code}")).starts_with(rank),
                "{code}"
            );
        }
        assert!(r.body.contains("data-testid=\"methodology\""));
        assert!(r.body.contains("Công tác chỉ đạo, điều hành"));
        assert!(
            !r.body.contains("name=\"csrf\"") || r.body.contains("/login"),
            "no staff forms"
        );

        let r = public
            .get(&format!("/public/periods/{period}/units/{stc}"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(cell(&r.body, "unit-index"), "65,00");
        assert!(r.body.contains("<svg"), "the radar");
        let r = public
            .get(&format!("/public/periods/{period}/results.json"))
            .await;
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(json["period"]["official"], true);

        // The API says the same, with its OpenAPI document.
        let r = public
            .get(&format!("/api/v1/periods/{period}/results"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let so = json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["group"] == "SO")
            .unwrap();
        let stc_json = so["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["code"] == "STC")
            .unwrap();
        assert_eq!(stc_json["index"], "65.00");
        assert_eq!(stc_json["rank"], 3);
        assert_eq!(stc_json["band"], "average");
        let r = public.get("/api/v1/openapi.json").await;
        let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(doc["openapi"], "3.0.3");
        assert!(doc["paths"]["/api/v1/periods/{id}/results"].is_object());
        let r = public.get("/api/v1/index-sets").await;
        let sets: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(sets["index_sets"].as_array().unwrap().len(), 2);
        let r = public.get("/api/v1/periods/999999/results").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        assert!(r.body.contains("\"error\""));
        app
    }
);

web_test!(
    changes_against_last_year_follow_the_unit_or_its_predecessor,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let id = |code: &str| units.iter().find(|(c, _)| *c == code).unwrap().1;
        let sets = app.store().period_sets(period).await.unwrap();
        // 2025: STP 10/10 = 100 % (1st); "Sở Tài chính (cũ)", since succeeded by STC,
        // 8/10 = 80 % (2nd); SNV 4 + KAD + 2 = 6/8 = 75 % (3rd). Then published.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        // The old unit is linked to its successor only later, after a first computation.
        let old_draft = UnitDraft {
            code: UnitCode::parse("STC-CU").unwrap(),
            name_vi: UnitName::parse("Sở Tài chính (cũ)").unwrap(),
            name_en: None,
            group_id: app.seed.group_so,
            parent_id: None,
            valid_from: time::macros::date!(2021 - 01 - 01),
            valid_to: None,
            successor_id: None,
        };
        let old = tx.create_unit(&old_draft).await.unwrap();
        let now = parindex_store::now_ms();
        let last = tx
            .create_period(
                &PeriodSettings {
                    year: 2025,
                    name: "Đánh giá Chỉ số CCHC năm 2025".into(),
                    self_open_at: now - 2_000_000,
                    self_close_at: now - 1_000_000,
                    explanation_due_at: None,
                    appraisal_open_at: None,
                    appraisal_close_at: None,
                    bonus_cap_milli: 1000,
                    penalty_cap_milli: 1000,
                    band_good_milli: 85_000,
                    band_fair_milli: 70_000,
                    band_average_milli: 50_000,
                    appraisal_rounds: 2,
                },
                &sets,
                &[id("STP"), id("SNV"), old.id],
            )
            .await
            .unwrap();
        for (unit, scores) in [
            (id("STP"), [Some(4000), Some(2000), Some(4000)]),
            (old.id, [Some(4000), Some(2000), Some(2000)]),
            (id("SNV"), [Some(4000), None, Some(2000)]),
        ] {
            for (leaf, score) in ["1.1", "1.2", "2.1"].iter().zip(scores) {
                enter(&mut tx, last.id, unit, leaf, score, 0).await;
            }
        }
        tx.commit().await.unwrap();
        publish(
            &app,
            last.id,
            &[("STP", id("STP")), ("STC-CU", old.id), ("SNV", id("SNV"))],
        )
        .await;

        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(cell(&r.body, "change-STC"), "", "no predecessor yet");
        // The comparison is there for a unit with its own result last year.
        assert_eq!(cell(&r.body, "change-STP"), "= (−5,00)");
        // The link is set on a unit that does not take part this year: the cached results
        // must still be recomputed (the fingerprint covers every unit).
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.update_unit(
            old.id,
            old.version,
            &UnitDraft {
                successor_id: Some(id("STC")),
                ..old_draft
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert!(
            r.body.contains("Đánh giá Chỉ số CCHC năm 2025"),
            "compared with 2025"
        );
        // STP: 1st both years, 100,00 → 95,00.
        assert_eq!(cell(&r.body, "change-STP"), "= (−5,00)");
        // SNV: 3rd → 1st, 75,00 → 95,00.
        assert_eq!(cell(&r.body, "change-SNV"), "▲2 (+20,00)");
        // STC: compared with its predecessor, 2nd → 3rd, 80,00 → 65,00.
        assert_eq!(cell(&r.body, "change-STC"), "▼1 (−15,00)");
        // A unit with no result last year (and no predecessor) shows no change.
        assert_eq!(cell(&r.body, "change-H-EAKAR"), "");

        // Year over year on the scorecard: STC's 2025 line is its predecessor's result
        // (80,00, 2nd), under the predecessor's name; SNV's is its own (75,00).
        let r = secretariat
            .get(&format!("/periods/{period}/units/{}/scorecard", id("STC")))
            .await;
        assert!(r.body.contains("data-testid=\"unit-years\""), "{}", r.body);
        assert_eq!(cell(&r.body, &format!("year-index-{}", last.id)), "80,00");
        let row = {
            let start = r
                .body
                .find(&format!("data-testid=\"year-{}\"", last.id))
                .unwrap();
            &r.body[start..start + r.body[start..].find("</tr>").unwrap()]
        };
        assert!(
            row.contains("Sở Tài chính (cũ)") && row.contains(">2<"),
            "{row}"
        );
        let r = secretariat
            .get(&format!("/periods/{period}/units/{}/scorecard", id("SNV")))
            .await;
        assert_eq!(cell(&r.body, &format!("year-index-{}", last.id)), "75,00");
        // A unit with no earlier result has no year-over-year table.
        let r = secretariat
            .get(&format!(
                "/periods/{period}/units/{}/scorecard",
                id("H-EAKAR")
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Huyện Ea Kar"), "{}", r.body);
        assert!(!r.body.contains("data-testid=\"unit-years\""));
        app
    }
);

web_test!(
    a_published_scorecard_shows_the_published_figures,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let stc = units.iter().find(|(c, _)| *c == "STC").unwrap().1;
        // Before publication the unit's own people do not see its (provisional) scorecard.
        let mut head = app.login_as("truong.stp").await;
        let stp = app.seed.unit_stp;
        assert_eq!(
            head.get(&format!("/periods/{period}/units/{stp}/scorecard"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );

        publish(&app, period, &units).await;
        // After publication STC's 1.2 changes from 0 to 2 (no reopening): the current data
        // now say 4 + 2 + 3 − 0,5 = 8,5, one criterion not met; the published figures say
        // 6,5 / 10 = 65,00 %, 1.2 at 0 of 2, domain 1 at 4 of 6 = 66,67 %, two not met.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        enter(&mut tx, period, stc, "1.2", Some(2000), 1).await;
        tx.commit().await.unwrap();
        let stored = app.store().leaf_entries(period, stc).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .find(|e| e.leaf_code == "1.2")
                .unwrap()
                .score_milli,
            Some(2000),
            "the value did change in the store"
        );

        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stc}/scorecard"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(cell(&r.body, "unit-index"), "65,00");
        assert_eq!(cell(&r.body, "final-1.2"), "0,00", "the published leaf");
        assert_eq!(cell(&r.body, "self-1.2"), "0,00");
        assert_eq!(cell(&r.body, "percent-1"), "66,67");
        assert_eq!(cell(&r.body, "not-met-count"), "2");
        assert!(r.body.contains("data-testid=\"not-met-1.2\""));
        let (status, pdf) = download(
            &app,
            &secretariat,
            &format!("/periods/{period}/units/{stc}/scorecard.pdf"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        {
            let text = pdf_text(&pdf);
            assert!(text.contains("65,00"), "{text}");
            assert!(
                text.contains("Các tiêu chí chưa đạt (2)"),
                "the published criteria not met: {text}"
            );
            assert!(text.contains("Báo cáo định kỳ"), "{text}");
        }
        // The open data carry the published criteria with their sub-index.
        let r = secretariat
            .get(&format!("/periods/{period}/results.json"))
            .await;
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let stc_json = json["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["units"].as_array().unwrap().iter())
            .find(|u| u["code"] == "STC")
            .unwrap()
            .clone();
        let domain1 = stc_json["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "1")
            .unwrap();
        assert_eq!(domain1["achieved"], "4");
        assert_eq!(domain1["sub_index"], "66.67");

        // Published, the unit head sees the own unit's scorecard (not another unit's).
        let r = head
            .get(&format!("/periods/{period}/units/{stp}/scorecard"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(cell(&r.body, "unit-index"), "95,00");
        assert!(
            !r.body.contains("/ranking\""),
            "no link to the staff ranking"
        );
        assert_eq!(
            head.get(&format!("/periods/{period}/units/{stc}/scorecard"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(
            head.get(&format!("/periods/{period}/ranking")).await.status,
            StatusCode::FORBIDDEN
        );

        // A snapshot that does not read is an error, shown and logged, never zeros.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.publish_results(
            period,
            &[ResultToPublish {
                unit_id: stc,
                total_milli: 0,
                applicable_max_milli: 0,
                result_json: "{not json".into(),
            }],
            "Đính chính",
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
        assert!(!r.body.contains("data-testid=\"index-STC\""));
        app
    }
);

/// A set with a survey share: domain 1 (1.1 binary, max 4; 1.2 proportional, max 2, may be
/// not applicable), domain 2 (2.1 proportional, max 2; 2.2 survey, max 2). Appraised max 8,
/// survey max 2.
const SURVEY_SET: &str = r#"format: parindex-index-set/1
code: T-SO-DT
title: "Bộ chỉ số thử nghiệm có điều tra xã hội học"
year: 2026
unit_group: SO
illustrative: true
scale: 10
appraised_max: 8
survey_max: 2
bonus_cap: 1
penalty_cap: 1
nodes:
  - code: "1"
    title: "Công tác chỉ đạo, điều hành"
    max: 6
    children:
      - code: "1.1"
        title: "Ban hành kế hoạch"
        max: 4
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: binary }
      - code: "1.2"
        title: "Báo cáo định kỳ"
        max: 2
        not_applicable_allowed: true
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: proportional }
  - code: "2"
    title: "Cải cách thủ tục hành chính"
    max: 4
    children:
      - code: "2.1"
        title: "Tỷ lệ hồ sơ đúng hạn"
        max: 2
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: proportional }
      - code: "2.2"
        title: "Mức độ hài lòng của người dân"
        max: 2
        method: "Điểm điều tra xã hội học"
        evidence: "Kết quả điều tra"
        rule: { kind: survey }
adjustments:
  - { code: "T1", kind: bonus, title: "Sáng kiến", max: 1 }
  - { code: "P1", kind: penalty, title: "Nộp chậm", max: 1 }
"#;

/// The second province, worked out by hand. Thresholds Tốt ≥ 90, Khá ≥ 72, Trung bình ≥ 50
/// (not the defaults 85/70/50). Two appraisal rounds; the latest round that gave a mark
/// overrides the self score. Survey 2.2: one respondent group, two responses, A = 100 %,
/// B = 50 %, C = 0 %; points = 2 × the mean.
/// - STP: self 4 / 2 / 2 (self total 8); 1.2 appraised 1 in round 1, 1,5 in round 2 → 1,5;
///   appraised 4 + 1,5 + 2 = 7,5; survey A, A → 100 % → 2; total 9,5 / 10 = 95,00 % →
///   rank 1, Tốt.
/// - SNV: self 4 / 2 / 1,8 (7,8); 2.1 appraised 1,2 in round 1 → appraised 4 + 2 + 1,2 = 7,2;
///   survey A, B → 75 % → 1,5; total 8,7 / 10 = 87,00 % → rank 2, Khá (Tốt under the
///   defaults).
/// - STC: self 4 / KAD / 2 (6); 2.1 appraised 1 then 1,25 → appraised 4 + 1,25 = 5,25 of 6;
///   survey B, C → 25 % → 0,5; total 5,75 / 8 = 71,875 % → 71,88 → rank 3, Trung bình (Khá
///   under the defaults).
const SURVEY_EXPECTED: [(&str, &str, &str, &str); 3] = [
    ("STP", "95,00", "1", "Tốt"),
    ("SNV", "87,00", "2", "Khá"),
    ("STC", "71,88", "3", "Trung bình"),
];

/// Builds the second province (see `SURVEY_EXPECTED`); returns (period id, units).
async fn survey_province(app: &TestApp) -> (i64, Vec<(&'static str, i64)>) {
    use parindex_domain::survey::{AnswerOption, Question, QuestionnaireDoc, ResponseAnswers};
    use parindex_store::appraisal::AppraisalWrite;
    use parindex_store::survey::NewResponse;
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let stc = tx
        .create_unit(&UnitDraft {
            code: UnitCode::parse("STC").unwrap(),
            name_vi: UnitName::parse("Sở Tài chính").unwrap(),
            name_en: None,
            group_id: app.seed.group_so,
            parent_id: None,
            valid_from: time::macros::date!(2021 - 01 - 01),
            valid_to: None,
            successor_id: None,
        })
        .await
        .unwrap();
    let units = vec![
        ("STP", app.seed.unit_stp),
        ("SNV", app.seed.unit_snv),
        ("STC", stc.id),
    ];
    let doc = parindex_formats::parse_index_set_file(SURVEY_SET.as_bytes()).unwrap();
    parindex_domain::IndexSet::from_doc(&doc, None).expect("the survey set validates");
    let set = tx
        .create_index_set(
            &IndexSetContent {
                code: doc.code.clone(),
                year: 2026,
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: 6,
            },
            None,
        )
        .await
        .unwrap();
    tx.publish_index_set(set.id, 1).await.unwrap();
    let now = parindex_store::now_ms();
    let day = 86_400_000;
    let period = tx
        .create_period(
            &PeriodSettings {
                year: 2026,
                name: "Đánh giá Chỉ số CCHC năm 2026 (có điều tra)".into(),
                self_open_at: now - day,
                self_close_at: now + 10 * day,
                explanation_due_at: None,
                appraisal_open_at: None,
                appraisal_close_at: None,
                bonus_cap_milli: 1000,
                penalty_cap_milli: 1000,
                band_good_milli: 90_000,
                band_fair_milli: 72_000,
                band_average_milli: 50_000,
                appraisal_rounds: 2,
            },
            &[("SO".to_owned(), set.id)],
            &units.iter().map(|(_, id)| *id).collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    let p = period.id;
    // Self scores (1.1, 1.2, 2.1), then appraisal marks (unit, leaf, round, points).
    for (unit, scores) in [
        (units[0].1, [Some(4000), Some(2000), Some(2000)]),
        (units[1].1, [Some(4000), Some(2000), Some(1800)]),
        (units[2].1, [Some(4000), None, Some(2000)]),
    ] {
        for (leaf, score) in ["1.1", "1.2", "2.1"].iter().zip(scores) {
            enter(&mut tx, p, unit, leaf, score, 0).await;
        }
    }
    for (unit, leaf, round, points) in [
        (units[0].1, "1.2", 1, 1000),
        (units[0].1, "1.2", 2, 1500),
        (units[1].1, "2.1", 1, 1200),
        (units[2].1, "2.1", 1, 1000),
        (units[2].1, "2.1", 2, 1250),
    ] {
        tx.save_appraisal(
            p,
            unit,
            leaf,
            round,
            0,
            &AppraisalWrite {
                input_json: "{}".into(),
                score_milli: Some(points),
                not_applicable: false,
                explanation: String::new(),
                remark: "Thẩm định lại".into(),
                needs_explanation: false,
            },
        )
        .await
        .unwrap();
    }
    // The survey: one group, one question on 2.2, two responses.
    tx.save_survey_settings(p, Some(now - day), Some(now + day), 1, false)
        .await
        .unwrap();
    let group = tx
        .save_survey_group(p, "DN", "Doanh nghiệp", 1000, 100, 2)
        .await
        .unwrap();
    let option = |code: &str, percent: i64| AnswerOption {
        code: code.into(),
        label: code.into(),
        percent: Some(rust_decimal::Decimal::from(percent)),
    };
    let definition = serde_json::to_string(&QuestionnaireDoc {
        questions: vec![Question {
            code: "Q1".into(),
            text: "Ông/bà hài lòng đến mức nào?".into(),
            leaf_code: "2.2".into(),
            options: vec![option("A", 100), option("B", 50), option("C", 0)],
        }],
    })
    .unwrap();
    let ids: Vec<i64> = units.iter().map(|(_, id)| *id).collect();
    let q = tx
        .create_questionnaire(p, group, "Phiếu doanh nghiệp", &definition, &ids)
        .await
        .unwrap();
    tx.set_questionnaire_status(q, "draft", "open")
        .await
        .unwrap();
    let answers = |marks: [&str; 3]| {
        let mut map = std::collections::BTreeMap::new();
        for (unit, mark) in ids.iter().zip(marks) {
            map.insert(
                *unit,
                std::collections::BTreeMap::from([("Q1".to_owned(), mark.to_owned())]),
            );
        }
        ResponseAnswers(map).encode()
    };
    let response = |key: &str, a: String| NewResponse {
        channel: "import",
        source_key: Some(key.into()),
        paper_ref: None,
        entry_no: 1,
        answers: a,
        submitted_at: now,
    };
    tx.add_survey_responses(
        q,
        &[
            response("r1", answers(["A", "A", "B"])),
            response("r2", answers(["A", "B", "C"])),
        ],
        serde_json::json!({ "test": true }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    (p, units)
}

/// (code, index, rank, band) of every ranked row on a ranking page.
fn ranking_rows(body: &str, codes: &[&str]) -> Vec<(String, String, String, String)> {
    codes
        .iter()
        .map(|code| {
            (
                (*code).to_owned(),
                cell(body, &format!("index-{code}")),
                cell(body, &format!("rank-{code}")),
                cell(body, &format!("band-{code}")),
            )
        })
        .collect()
}

web_test!(
    a_hand_computed_province_with_survey_rounds_and_thresholds,
    |app: TestApp| async move {
        let (period, units) = survey_province(&app).await;
        let codes: Vec<&str> = units.iter().map(|(c, _)| *c).collect();
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Tốt ≥ 90,00"), "the period's thresholds");
        for (code, index, rank, band) in SURVEY_EXPECTED {
            assert_eq!(cell(&r.body, &format!("index-{code}")), index, "{code}");
            assert_eq!(cell(&r.body, &format!("rank-{code}")), rank, "{code}");
            assert_eq!(cell(&r.body, &format!("band-{code}")), band, "{code}");
        }
        let provisional = ranking_rows(&r.body, &codes);
        let csv = secretariat
            .get(&format!("/periods/{period}/results.csv"))
            .await
            .body;
        for line in [
            "SO,STP,Sở Tư pháp,7.5,2,0,0,9.5,10,95.00,1,0,Tốt,0",
            "SO,SNV,Sở Nội vụ,7.2,1.5,0,0,8.7,10,87.00,2,0,Khá,0",
            "SO,STC,Sở Tài chính,5.25,0.5,0,0,5.75,8,71.88,3,0,Trung bình,0",
        ] {
            assert!(csv.contains(line), "{line} in {csv}");
        }
        // STP's 1.2: self 2, round 1 gave 1, round 2 gave 1,5, which counts.
        let stp = units[0].1;
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stp}/scorecard"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(cell(&r.body, "self-1.2"), "2,00");
        assert_eq!(cell(&r.body, "round1-1.2"), "1,00");
        assert_eq!(cell(&r.body, "round2-1.2"), "1,50");
        assert_eq!(cell(&r.body, "final-1.2"), "1,50");
        assert_eq!(cell(&r.body, "final-2.2"), "2,00", "the survey leaf");
        let stc = units[2].1;
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stc}/scorecard"))
            .await;
        assert_eq!(cell(&r.body, "self-1.2"), "Không áp dụng");
        assert_eq!(cell(&r.body, "final-2.1"), "1,25");
        assert_eq!(cell(&r.body, "final-2.2"), "0,50");
        let provisional_json: serde_json::Value = serde_json::from_str(
            &secretariat
                .get(&format!("/periods/{period}/results.json"))
                .await
                .body,
        )
        .unwrap();

        // Published: the official ranking is the provisional one, figure for figure.
        publish(&app, period, &units).await;
        let r = secretariat.get(&format!("/periods/{period}/ranking")).await;
        assert!(r.body.contains("Chính thức"), "official now: {}", r.body);
        assert_eq!(ranking_rows(&r.body, &codes), provisional);
        let published_json: serde_json::Value = serde_json::from_str(
            &secretariat
                .get(&format!("/periods/{period}/results.json"))
                .await
                .body,
        )
        .unwrap();
        assert_eq!(published_json["period"]["official"], true);
        assert_eq!(published_json["groups"], provisional_json["groups"]);
        // And the published scorecard keeps the rounds.
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stp}/scorecard"))
            .await;
        assert_eq!(cell(&r.body, "round1-1.2"), "1,00");
        assert_eq!(cell(&r.body, "final-1.2"), "1,50");
        app
    }
);
