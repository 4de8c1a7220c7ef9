//! Issue 10, exactness and honesty of results: CSV exports defused against formulas, caps that
//! hold under concurrency and refuse nonsense, published results frozen against renames, one
//! source for caps, progress over the leaves that apply, "not applicable" spelled out, complete
//! open data, and messages without doubled words. On SQLite and PostgreSQL.

use axum::http::StatusCode;
use calamine::Reader;
use parindex_store::AuditActor;
use parindex_store::index_sets::IndexSetContent;
use parindex_store::periods::{LeafEntryWrite, PeriodSettings};

use super::http_results::{province, publish};
use crate::support::{TestApp, TestClient, download, pdf_text};
use crate::web_test;

/// A unit name a hostile insider could give: a live link in a spreadsheet.
const EVIL: &str = "=HYPERLINK(\"http://evil.example/\",\"Xem\")";
/// The same name as our CSV must write it: quoted, with a leading single quote.
const EVIL_DEFUSED: &str = "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"Xem\"\")\"";

/// Renames a unit through the unit form, as the secretariat would.
async fn rename(app: &TestApp, client: &mut TestClient, unit_id: i64, name: &str) {
    let unit = app.store().get_unit(unit_id).await.unwrap();
    let group = unit.group_id.to_string();
    let version = unit.version.to_string();
    let r = client
        .post(
            &format!("/units/{unit_id}"),
            &[
                ("code", unit.code.as_str()),
                ("name_vi", name),
                ("group_id", group.as_str()),
                ("valid_from", "01/01/2021"),
                ("version", version.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "rename: {}", r.body);
    assert_eq!(app.store().get_unit(unit_id).await.unwrap().name_vi, name);
}

async fn set_stage(app: &TestApp, period: i64, from: (&str, i64), to: (&str, i64)) {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.set_period_stage(period, from, to).await.unwrap();
    tx.commit().await.unwrap();
}

fn unit_id(units: &[(&str, i64)], code: &str) -> i64 {
    units.iter().find(|(c, _)| *c == code).unwrap().1
}

/// The JSON unit of `code` in an open-data document.
fn json_unit(doc: &serde_json::Value, code: &str) -> serde_json::Value {
    doc["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["units"].as_array().unwrap().iter())
        .find(|u| u["code"] == code)
        .unwrap_or_else(|| panic!("{code} in {doc}"))
        .clone()
}

/// Stores and publishes a set from YAML (validated first); returns its id.
async fn stored_set(app: &TestApp, group: &str, yaml: &str) -> i64 {
    let doc = parindex_formats::parse_index_set_file(yaml.as_bytes()).expect("the set parses");
    parindex_domain::IndexSet::from_doc(&doc, None).expect("the set validates");
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
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
    tx.commit().await.unwrap();
    set.id
}

web_test!(
    every_csv_export_defuses_formulas,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        let stc = unit_id(&units, "STC");
        let mut secretariat = app.login_as("thuky").await;
        rename(&app, &mut secretariat, stc, EVIL).await;
        // STC: 4 + 0 + 3 − 0,5 = 6,5 / 10: the figures stay plain numbers beside the name.
        let line = format!("SO,STC,{EVIL_DEFUSED},7,0,0,0.5,6.5,10,65.00,3,0,Trung bình,");
        let r = secretariat
            .get(&format!("/periods/{period}/results.csv"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains(&line), "{line} in {}", r.body);
        assert!(
            !r.body.contains(",\"=HYPERLINK") && !r.body.contains(",=HYPERLINK"),
            "no live formula: {}",
            r.body
        );

        publish(&app, period, &units).await;
        let r = app
            .client()
            .get(&format!("/public/periods/{period}/results.csv"))
            .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains(&format!(
                "SO,STC,{EVIL_DEFUSED},7,0,0,0.5,6.5,10,65.00,3,0,"
            )),
            "{}",
            r.body
        );
        assert!(!r.body.contains(",\"=HYPERLINK"), "{}", r.body);
        app
    }
);

web_test!(
    published_results_are_frozen_against_renames,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        publish(&app, period, &units).await;
        let stp = unit_id(&units, "STP");
        let mut secretariat = app.login_as("thuky").await;
        let renamed = "Sở Tư pháp tỉnh Sông Lam";
        rename(&app, &mut secretariat, stp, renamed).await;
        // Whatever was computed before the rename is forgotten: what follows reads the store.
        app.state.results.clear();

        // The unit's own page has the new name …
        let r = secretariat.get(&format!("/units/{stp}")).await;
        assert!(r.body.contains(renamed), "{}", r.body);
        // … the published CSV, JSON and API the name as published.
        for path in [
            format!("/periods/{period}/results.csv"),
            format!("/public/periods/{period}/results.csv"),
        ] {
            let r = secretariat.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            assert!(
                r.body
                    .contains("SO,STP,Sở Tư pháp,9,0,0.5,0,9.5,10,95.00,1,1,Tốt,1"),
                "{path}: {}",
                r.body
            );
            assert!(!r.body.contains(renamed), "{path}: {}", r.body);
        }
        for path in [
            format!("/periods/{period}/results.json"),
            format!("/api/v1/periods/{period}/results"),
        ] {
            let r = secretariat.get(&path).await;
            assert_eq!(r.status, StatusCode::OK, "{path}");
            let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
            assert_eq!(json_unit(&doc, "STP")["name"], "Sở Tư pháp", "{path}");
            assert!(!r.body.contains(renamed), "{path}: {}", r.body);
        }
        let r = app.client().get(&format!("/public/periods/{period}")).await;
        assert!(r.body.contains("Sở Tư pháp"), "{}", r.body);
        assert!(!r.body.contains(renamed), "{}", r.body);
        app
    }
);

/// The form fields of a new period over the `T-SO` set (`set_id`), with the given caps and
/// good-band threshold.
fn period_form(
    name: &'static str,
    set_id: &str,
    caps: (&'static str, &'static str),
    good: &'static str,
) -> Vec<(&'static str, String)> {
    vec![
        ("year", "2026".into()),
        ("name", name.into()),
        ("self_open", "01/11/2026".into()),
        ("self_close", "30/11/2026".into()),
        ("bonus_cap", caps.0.into()),
        ("penalty_cap", caps.1.into()),
        ("band_good", good.into()),
        ("set_SO", set_id.into()),
    ]
}

async fn post_owned(
    client: &mut TestClient,
    path: &str,
    fields: &[(&str, String)],
) -> StatusAndBody {
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = client.post(path, &fields).await;
    (r.status, r.body)
}

type StatusAndBody = (StatusCode, String);

web_test!(
    caps_hold_under_concurrency_and_against_nonsense,
    |app: TestApp| async move {
        let (period, units) = province(&app).await;
        set_stage(&app, period, ("self", 0), ("round", 2)).await;
        let eakar = unit_id(&units, "H-EAKAR");
        let mut secretariat = app.login_as("thuky").await;
        let token = secretariat.csrf().await;
        // Ten bonus items of 0,18 at once against the period's cap of 1,00: five fit (0,90),
        // the sixth would make 1,08.
        let path = format!("/periods/{period}/units/{eakar}/adjustments");
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let mut client = secretariat.clone();
            let (path, token) = (path.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                client
                    .post_raw(
                        &path,
                        &[
                            ("item", "T1"),
                            ("points", "0,18"),
                            ("reason", "Sáng kiến được công nhận"),
                            ("csrf", token.as_str()),
                        ],
                    )
                    .await
            }));
        }
        let mut accepted = 0;
        for task in futures_util::future::join_all(tasks).await {
            let r = task.unwrap();
            match r.status {
                StatusCode::SEE_OTHER => accepted += 1,
                StatusCode::UNPROCESSABLE_ENTITY => {
                    assert!(r.body.contains("vượt mức trần 1,00"), "{}", r.body);
                    assert!(r.body.contains("Tổng điểm thưởng"), "{}", r.body);
                }
                other => panic!("unexpected {other}: {}", r.body),
            }
        }
        let saved = app.store().adjustments(period, eakar).await.unwrap();
        let total: i64 = saved.iter().map(|a| a.points_milli).sum();
        assert_eq!(accepted, 5, "{saved:?}");
        assert_eq!(saved.len(), 5);
        assert_eq!(total, 900, "never above the cap");

        // Nonsense caps and thresholds are refused with what to fix, and nothing is created.
        let set_id = app
            .store()
            .period_sets(period)
            .await
            .unwrap()
            .into_iter()
            .find(|(g, _)| g == "SO")
            .unwrap()
            .1
            .to_string();
        let before = app.store().list_periods().await.unwrap().len();
        let (status, body) = post_owned(
            &mut secretariat,
            "/periods",
            &period_form("Kỳ trần quá thang", &set_id, ("500", ""), ""),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(
            body.contains("Mức trần điểm thưởng 500,00 vượt thang điểm 10,00"),
            "{body}"
        );
        let (status, body) = post_owned(
            &mut secretariat,
            "/periods",
            &period_form("Kỳ ngưỡng quá 100", &set_id, ("", ""), "150"),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert!(body.contains("không được vượt quá 100"), "{body}");
        assert_eq!(app.store().list_periods().await.unwrap().len(), before);
        // Within the scale and 100, the same form is accepted.
        let (status, body) = post_owned(
            &mut secretariat,
            "/periods",
            &period_form("Kỳ hợp lệ", &set_id, ("10", ""), "100"),
        )
        .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
        assert_eq!(app.store().list_periods().await.unwrap().len(), before + 1);
        app
    }
);

/// A department set whose penalty cap (1) is below what its two penalty items can give
/// together (2), and whose bonus cap is 1.
const TWO_PENALTIES: &str = r#"format: parindex-index-set/1
code: T-SO-TRU
title: "Bộ chỉ số thử nghiệm hai mục trừ"
year: 2026
unit_group: SO
illustrative: true
scale: 10
appraised_max: 10
survey_max: 0
bonus_cap: 1
penalty_cap: 1
nodes:
  - code: "1"
    title: "Công tác chỉ đạo, điều hành"
    max: 10
    children:
      - code: "1.1"
        title: "Ban hành kế hoạch"
        max: 10
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: binary }
adjustments:
  - { code: "T1", kind: bonus, title: "Sáng kiến", max: 1 }
  - { code: "P1", kind: penalty, title: "Nộp chậm", max: 1 }
  - { code: "P2", kind: penalty, title: "Báo cáo sai", max: 1 }
"#;

web_test!(one_source_for_caps, |app: TestApp| async move {
    let set_id = stored_set(&app, "SO", TWO_PENALTIES).await.to_string();
    let mut secretariat = app.login_as("thuky").await;
    // Bonus cap left blank: the set's 1. Penalty cap 2 for the period (the set says 1).
    let (status, body) = post_owned(
        &mut secretariat,
        "/periods",
        &period_form("Kỳ một nguồn trần", &set_id, ("", "2"), ""),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let period = app
        .store()
        .list_periods()
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.name == "Kỳ một nguồn trần")
        .unwrap();
    assert_eq!(
        (period.bonus_cap_milli, period.penalty_cap_milli),
        (1000, 2000)
    );
    let r = secretariat.get(&format!("/periods/{}", period.id)).await;
    assert!(r.body.contains("+1,00 / −2,00"), "{}", r.body);

    // STP scores 10 of 10, then gets a bonus of 1 (the blank cap is not 0) and penalties of
    // 1 + 0,25 = 1,25, within the period's cap of 2.
    let stp = app.seed.unit_stp;
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.save_leaf_entry(
        period.id,
        stp,
        "1.1",
        0,
        &LeafEntryWrite {
            input_json: "{}".into(),
            score_milli: Some(10_000),
            not_applicable: false,
            explanation: String::new(),
            note: String::new(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    set_stage(&app, period.id, ("self", 0), ("round", 2)).await;
    let adjustments = format!("/periods/{}/units/{stp}/adjustments", period.id);
    for (item, points) in [("T1", "1"), ("P1", "1"), ("P2", "0,25")] {
        let r = secretariat
            .post(
                &adjustments,
                &[
                    ("item", item),
                    ("points", points),
                    ("reason", "Theo kết luận"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{item}: {}", r.body);
    }
    // A second bonus passes the set's cap of 1, which the blank field stands for.
    let r = secretariat
        .post(
            &adjustments,
            &[
                ("item", "T1"),
                ("points", "0,5"),
                ("reason", "Theo kết luận"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("vượt mức trần 1,00"), "{}", r.body);

    // The scorecard subtracts the 1,25 entry accepted: 10 + 1 − 1,25 = 9,75.
    let r = secretariat
        .get(&format!("/periods/{}/results.json", period.id))
        .await;
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let unit = json_unit(&doc, "STP");
    assert_eq!(unit["penalty"], "1.25", "{unit}");
    assert_eq!(unit["bonus"], "1", "{unit}");
    assert_eq!(unit["total"], "9.75", "{unit}");
    app
});

/// A department set with a leaf for districts only (1.3): three leaves apply to a department.
const DISTRICT_LEAF: &str = r#"format: parindex-index-set/1
code: T-SO-TIENDO
title: "Bộ chỉ số thử nghiệm tiến độ"
year: 2026
unit_group: SO
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
        max: 3
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: binary }
      - code: "1.2"
        title: "Báo cáo định kỳ"
        max: 2
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: binary }
      - code: "1.3"
        title: "Chỉ đạo cấp xã"
        max: 1
        applies_to: [HUYEN]
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: binary }
  - code: "2"
    title: "Cải cách thủ tục hành chính"
    max: 4
    children:
      - code: "2.1"
        title: "Tỷ lệ hồ sơ đúng hạn"
        max: 4
        method: "Theo hướng dẫn"
        evidence: "Văn bản"
        rule: { kind: proportional }
"#;

web_test!(
    progress_counts_only_the_leaves_that_apply,
    |app: TestApp| async move {
        let set = stored_set(&app, "SO", DISTRICT_LEAF).await;
        let (stp, snv) = (app.seed.unit_stp, app.seed.unit_snv);
        let now = parindex_store::now_ms();
        let day = 86_400_000;
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        let period = tx
            .create_period(
                &PeriodSettings {
                    year: 2026,
                    name: "Kỳ tiến độ".into(),
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
                &[("SO".to_owned(), set)],
                &[stp, snv],
            )
            .await
            .unwrap();
        // STP enters every leaf that applies to it (3); SNV two of the three.
        for (unit, leaves) in [
            (stp, &["1.1", "1.2", "2.1"][..]),
            (snv, &["1.1", "2.1"][..]),
        ] {
            for leaf in leaves {
                tx.save_leaf_entry(
                    period.id,
                    unit,
                    leaf,
                    0,
                    &LeafEntryWrite {
                        input_json: "{}".into(),
                        score_milli: Some(1000),
                        not_applicable: false,
                        explanation: String::new(),
                        note: String::new(),
                    },
                )
                .await
                .unwrap();
            }
        }
        tx.commit().await.unwrap();
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.get(&format!("/periods/{}", period.id)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        // Complete is 100 %; 2 of 3 is 66,7 %, rounded to 67 %, not truncated to 66 %.
        assert!(r.body.contains("100% (3/3)"), "{}", r.body);
        assert!(r.body.contains("67% (2/3)"), "{}", r.body);
        assert!(
            !r.body.contains("(3/4)") && !r.body.contains("66%"),
            "{}",
            r.body
        );

        let (status, xlsx) = download(
            &app,
            &secretariat,
            &format!("/periods/{}/board.xlsx", period.id),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range("Tiến độ").unwrap();
        let row = |code: &str| {
            sheet
                .rows()
                .find(|r| r.first().is_some_and(|c| c == code))
                .unwrap_or_else(|| panic!("{code} on the board"))
                .to_vec()
        };
        let stp_row = row("STP");
        assert_eq!(
            (&stp_row[4], &stp_row[5], &stp_row[6]),
            (
                &calamine::Data::Float(3.0),
                &calamine::Data::Float(3.0),
                &calamine::Data::Float(1.0)
            )
        );
        let snv_row = row("SNV");
        assert_eq!(
            (&snv_row[4], &snv_row[5]),
            (&calamine::Data::Float(2.0), &calamine::Data::Float(3.0))
        );
        app
    }
);

/// The text of the cell with `data-testid="{id}"`, tags kept.
fn raw_cell<'a>(body: &'a str, id: &str) -> &'a str {
    let marker = format!("data-testid=\"{id}\">");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {id} in {body}"))
        + marker.len();
    let rest = &body[start..];
    &rest[..rest.find("</td>").unwrap()]
}

web_test!(
    not_applicable_reads_as_not_applicable,
    |app: TestApp| async move {
        // SNV declared 1.2 (max 2) not applicable.
        let (period, units) = province(&app).await;
        let snv = unit_id(&units, "SNV");
        let mut secretariat = app.login_as("thuky").await;
        for published in [false, true] {
            if published {
                publish(&app, period, &units).await;
            }
            let r = secretariat
                .get(&format!("/periods/{period}/units/{snv}/scorecard"))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            assert_eq!(
                raw_cell(&r.body, "final-1.2"),
                "Không áp dụng",
                "{published}"
            );
            assert_eq!(raw_cell(&r.body, "self-1.2"), "Không áp dụng");
            assert_eq!(raw_cell(&r.body, "max-1.2"), "2,00", "the leaf's maximum");
            // A scored leaf keeps its bold final figure.
            assert_eq!(raw_cell(&r.body, "final-1.1"), "<strong>4,00</strong>");
            assert!(!r.body.contains("KAD"), "{}", r.body);

            let (status, pdf) = download(
                &app,
                &secretariat,
                &format!("/periods/{period}/units/{snv}/scorecard.pdf"),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            {
                let text = pdf_text(&pdf);
                assert!(text.contains("Không áp dụng"), "{text}");
                assert!(text.contains("Báo cáo định kỳ"), "{text}");
                assert!(!text.contains("KAD"), "{text}");
            }
        }
        app
    }
);

web_test!(open_data_is_complete, |app: TestApp| async move {
    let (period, units) = province(&app).await;
    let mut secretariat = app.login_as("thuky").await;
    for published in [false, true] {
        if published {
            publish(&app, period, &units).await;
        }
        // The criteria scored directly (1.1, 1.2, 2.1 have no sub-criteria) with the domains.
        let r = secretariat
            .get(&format!("/periods/{period}/results.json"))
            .await;
        let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        let stc = json_unit(&doc, "STC");
        let codes: Vec<&str> = stc["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["1", "1.1", "1.2", "2", "2.1"], "{published}");
        let leaf = stc["criteria"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["code"] == "2.1")
            .unwrap();
        assert_eq!(
            (
                &leaf["achieved"],
                &leaf["applicable_max"],
                &leaf["sub_index"]
            ),
            (
                &serde_json::json!("3"),
                &serde_json::json!("4"),
                &serde_json::json!("75.00")
            )
        );

        // The CSV says which ranks are shared.
        let r = secretariat
            .get(&format!("/periods/{period}/results.csv"))
            .await;
        assert!(
            r.body.contains(",xep_hang,dong_hang,xep_loai,"),
            "{}",
            r.body
        );
        assert!(
            r.body.contains(",95.00,1,1,Tốt,"),
            "STP and SNV tie: {}",
            r.body
        );
        assert!(r.body.contains(",65.00,3,0,Trung bình,"), "{}", r.body);
    }

    // The annex marks the tied rows; the workbook writes ranks as numbers.
    let (status, pdf) = download(
        &app,
        &secretariat,
        &format!("/periods/{period}/ranking.pdf"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    {
        let text = pdf_text(&pdf);
        assert_eq!(text.matches("1 (đồng hạng)").count(), 2, "{text}");
        assert!(text.contains("Sở Tài chính"), "{text}");
    }
    let (status, xlsx) = download(
        &app,
        &secretariat,
        &format!("/periods/{period}/ranking.xlsx"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(xlsx)).unwrap();
    for (code, rank, tied) in [("STP", 1.0, "Có"), ("STC", 3.0, "")] {
        let detail = book.worksheet_range(code).unwrap();
        let line = |label: &str| {
            detail
                .rows()
                .find(|r| r.first().is_some_and(|c| *c == label))
                .unwrap_or_else(|| panic!("{label} on {code}'s sheet"))
                .to_vec()
        };
        assert_eq!(
            line("Hạng trong nhóm")[1],
            calamine::Data::Float(rank),
            "{code}"
        );
        assert_eq!(line("Đồng hạng")[1].to_string(), tied, "{code}");
    }
    app
});

/// Two neighbouring words that are the same word ("điểm điểm"), if any.
fn doubled_word(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    // Only words that sat next to each other, separated by a single space.
    // Words of letters only, two or more of them ("p.t" in a template is no word).
    let lower = text.to_lowercase();
    words.windows(2).find_map(|pair| {
        let word = &pair[0];
        (word == &pair[1]
            && word.chars().count() >= 2
            && word.chars().all(char::is_alphabetic)
            && lower.contains(&format!("{word} {word}")))
        .then(|| format!("{word} {word}"))
    })
}

#[test]
fn no_doubled_words_in_messages() {
    assert_eq!(
        doubled_word("Tổng điểm điểm thưởng").as_deref(),
        Some("điểm điểm")
    );
    assert_eq!(doubled_word("Tổng điểm thưởng 1,80"), None);
    // The catalogue, Vietnamese and English, line by line.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue = std::fs::read_to_string(root.join("src/locales/messages.tsv")).unwrap();
    let mut checked = 0;
    for line in catalogue.lines() {
        for text in line.split('\t').skip(1) {
            assert_eq!(doubled_word(text), None, "{line}");
            checked += 1;
        }
    }
    assert!(checked > 500, "the catalogue was read ({checked} texts)");
    // Every template, in the areas' folders too.
    let mut dirs = vec![root.join("src/templates")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            assert_eq!(doubled_word(&text), None, "{}", path.display());
        }
    }
    // The messages composed at run time: a cap refusal of either kind.
    for kind in [
        parindex_domain::index_set::AdjustmentKind::Bonus,
        parindex_domain::index_set::AdjustmentKind::Penalty,
    ] {
        let refusal = parindex_domain::appraisal::check_within_cap(
            kind.label_vi(),
            &[parindex_domain::Points::from_int(1)],
            parindex_domain::Points::from_int(1),
            parindex_domain::Points::from_int(1),
        )
        .unwrap_err()
        .to_string();
        assert!(refusal.starts_with("Tổng điểm "), "{refusal}");
        assert_eq!(doubled_word(&refusal), None, "{refusal}");
    }
}
