//! The self-assessment sheet over HTTP: the server computes scores, refuses every write it
//! must (deadline, submission, another unit, survey/external leaves, out-of-range input) with
//! a 4xx and nothing written, settles concurrent saves by version, and runs the submission,
//! reopening and extension flow.

use axum::http::{Request, StatusCode, header};
use parindex_domain::IndexSet;
use parindex_domain::rules::RuleSpec;

use crate::support::fixtures::{open_period, publish_so_set, so_set};
use crate::support::{TestApp, TestClient, download, pdf_text};
use crate::web_test;

/// Form fields of a leaf save.
type Fields = Vec<(String, String)>;

/// A valid input for a leaf of this rule, as form fields.
fn valid_fields(rule: &RuleSpec) -> Vec<(String, String)> {
    match rule {
        RuleSpec::Binary => vec![("value".into(), "yes".into())],
        RuleSpec::TieredPercent { .. }
        | RuleSpec::Proportional { .. }
        | RuleSpec::ProportionalFloor { .. } => {
            vec![
                ("numerator".into(), "18".into()),
                ("denominator".into(), "20".into()),
            ]
        }
        RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => {
            vec![("count".into(), "1".into())]
        }
        RuleSpec::Formula { variables, .. } => variables
            .iter()
            .map(|v| (format!("var_{}", v.name), "1".to_string()))
            .collect(),
        RuleSpec::Survey | RuleSpec::External { .. } => Vec::new(),
    }
}

fn leaf_of_kind(set: &IndexSet, pick: impl Fn(&RuleSpec) -> bool) -> String {
    set.leaves()
        .find(|l| l.rule.as_ref().is_some_and(&pick))
        .unwrap()
        .code
        .clone()
}

async fn save(
    client: &mut TestClient,
    period: i64,
    unit: i64,
    code: &str,
    version: &str,
    fields: &[(String, String)],
) -> crate::support::TestResponse {
    let mut all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    all.push(("version", version));
    client
        .post(
            &format!("/periods/{period}/units/{unit}/leaves/{code}"),
            &all,
        )
        .await
}

async fn entry_count(app: &TestApp, period: i64, unit: i64) -> usize {
    app.store().leaf_entries(period, unit).await.unwrap().len()
}

web_test!(
    the_server_scores_and_refuses_what_it_must,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        // The unit officer lands on their sheet.
        let start = officer.get("/self-assessment").await;
        assert_eq!(
            start.location(),
            format!("/periods/{period}/units/{stp}/sheet")
        );
        let sheet = officer.get(start.location()).await;
        assert_eq!(sheet.status, StatusCode::OK);
        assert!(sheet.body.contains("Cải cách thủ tục hành chính"));

        // A tiered leaf: 18 of 20 is computed by the server with its explanation.
        let tiered = leaf_of_kind(&set, |r| matches!(r, RuleSpec::TieredPercent { .. }));
        let r = save(
            &mut officer,
            period,
            stp,
            &tiered,
            "0",
            &[
                ("numerator".into(), "18".into()),
                ("denominator".into(), "20".into()),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let entry = app
            .store()
            .leaf_entry(period, stp, &tiered)
            .await
            .unwrap()
            .unwrap();
        assert!(
            entry.explanation.contains("18/20") && entry.explanation.contains("90,00%"),
            "{}",
            entry.explanation
        );
        let expected = set
            .evaluate(
                &tiered,
                &parindex_domain::rules::LeafInput::Ratio {
                    numerator: 18.into(),
                    denominator: 20.into(),
                },
            )
            .unwrap();
        assert_eq!(
            entry.score_milli,
            expected.points.and_then(|p| p.to_millipoints())
        );

        let audit_before = app
            .store()
            .audit_list(&parindex_store::AuditFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .len();
        let entries_before = entry_count(&app, period, stp).await;
        let binary = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Binary));
        let survey = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Survey));
        let external = leaf_of_kind(&set, |r| matches!(r, RuleSpec::External { .. }));
        let count = leaf_of_kind(&set, |r| matches!(r, RuleSpec::CountTiered { .. }));
        let refusals: Vec<(String, Fields, StatusCode)> = vec![
            (
                tiered.clone(),
                vec![
                    ("numerator".into(), "21".into()),
                    ("denominator".into(), "20".into()),
                ],
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                binary.clone(),
                vec![("value".into(), "maybe".into())],
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                count.clone(),
                vec![("count".into(), "-1".into())],
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                count.clone(),
                vec![("count".into(), "nhiều".into())],
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            (
                survey.clone(),
                vec![("value".into(), "yes".into())],
                StatusCode::FORBIDDEN,
            ),
            (
                external.clone(),
                vec![("value".into(), "yes".into())],
                StatusCode::FORBIDDEN,
            ),
            (
                "9.9.9".into(),
                vec![("value".into(), "yes".into())],
                StatusCode::NOT_FOUND,
            ),
        ];
        for (code, fields, status) in &refusals {
            let r = save(&mut officer, period, stp, code, "0", fields).await;
            assert_eq!(r.status, *status, "{code} {fields:?}: {}", r.body);
        }
        // Out of range with the right version: numerator above denominator.
        let r = save(
            &mut officer,
            period,
            stp,
            &tiered,
            "1",
            &[
                ("numerator".into(), "21".into()),
                ("denominator".into(), "20".into()),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        // Another unit's sheet: not found, for reading and writing.
        let snv = app.seed.unit_snv;
        assert_eq!(
            officer
                .get(&format!("/periods/{period}/units/{snv}/sheet"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let r = save(
            &mut officer,
            period,
            snv,
            &binary,
            "0",
            &[("value".into(), "yes".into())],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // A viewer reads but cannot write; a survey operator cannot even read.
        let mut viewer = app.login_as("lanhdao").await;
        assert_eq!(
            viewer
                .get(&format!("/periods/{period}/units/{stp}/sheet"))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            save(
                &mut viewer,
                period,
                stp,
                &binary,
                "0",
                &[("value".into(), "yes".into())]
            )
            .await
            .status,
            StatusCode::FORBIDDEN
        );
        let mut survey_op = app.login_as("khaosat").await;
        assert_eq!(
            survey_op
                .get(&format!("/periods/{period}/units/{stp}/sheet"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(entry_count(&app, period, stp).await, entries_before);
        assert_eq!(
            app.store().leaf_entries(period, snv).await.unwrap().len(),
            0
        );
        let audit_after = app
            .store()
            .audit_list(&parindex_store::AuditFilter {
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .len();
        // Only the logins of the viewer and the survey operator were recorded.
        assert_eq!(audit_after, audit_before + 2);

        // After the deadline: refused, nothing written; an extension reopens the window.
        let past = parindex_store::now_ms() - 1000;
        sqlx::query("UPDATE periods SET self_close_at = $1")
            .bind(past)
            .execute(app.store().raw_pool_for_tests())
            .await
            .unwrap();
        let late = save(
            &mut officer,
            period,
            stp,
            &binary,
            "0",
            &[("value".into(), "yes".into())],
        )
        .await;
        assert_eq!(late.status, StatusCode::FORBIDDEN);
        assert!(
            late.body.contains("Đã hết hạn tự đánh giá"),
            "{}",
            late.body
        );
        assert!(
            app.store()
                .leaf_entry(period, stp, &binary)
                .await
                .unwrap()
                .is_none()
        );
        let mut secretariat = app.login_as("thuky").await;
        let tomorrow = parindex_domain::text::format_date_vi(
            time::OffsetDateTime::now_utc().date() + time::Duration::days(2),
        );
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/extension"),
                &[
                    ("until", &tomorrow),
                    ("reason", "Đơn vị đề nghị do mất điện"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let ok = save(
            &mut officer,
            period,
            stp,
            &binary,
            "0",
            &[("value".into(), "yes".into())],
        )
        .await;
        assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
        app
    }
);

web_test!(
    two_saves_from_the_same_version_one_wins_one_conflicts,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let binary = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Binary));
        let first = app.login_as("canbo.stp").await;
        let second = app.login_as("truong.stp").await;
        let mut handles = Vec::new();
        for (mut client, value) in [(first, "yes"), (second, "no")] {
            let code = binary.clone();
            handles.push(tokio::spawn(async move {
                save(
                    &mut client,
                    period,
                    stp,
                    &code,
                    "0",
                    &[
                        ("value".into(), value.into()),
                        ("note".into(), format!("ghi chú {value}")),
                    ],
                )
                .await
            }));
        }
        let mut statuses = Vec::new();
        for h in handles {
            statuses.push(h.await.unwrap());
        }
        let codes: Vec<StatusCode> = statuses.iter().map(|r| r.status).collect();
        assert!(
            codes.contains(&StatusCode::SEE_OTHER) && codes.contains(&StatusCode::CONFLICT),
            "{codes:?}"
        );
        let loser = statuses
            .iter()
            .find(|r| r.status == StatusCode::CONFLICT)
            .unwrap();
        let entry = app
            .store()
            .leaf_entry(period, stp, &binary)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(entry.version, 1);
        // The loser sees what the winner saved: their facts, their note and who they are.
        let (won_facts, won_by) = if entry.note == "ghi chú yes" {
            ("Đạt", "Người thử canbo.stp")
        } else {
            ("Không đạt", "Người thử truong.stp")
        };
        for needle in [
            "Người khác vừa lưu tiêu chí này",
            &format!("Số liệu đã lưu: {won_facts};"),
            &format!("«{}»", entry.note),
            won_by,
        ] {
            assert!(
                loser.body.contains(needle),
                "the conflict shows the other's value: {needle}"
            );
        }
        // The JSON reply of the autosave script carries the current value on a conflict.
        let mut client = app.login_as("canbo.stp").await;
        let token = client.csrf().await;
        let body = serde_urlencoded::to_string([
            ("value", "no"),
            ("version", "0"),
            ("csrf", token.as_str()),
        ])
        .unwrap();
        let r = client
            .send(
                Request::post(format!("/periods/{period}/units/{stp}/leaves/{binary}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(json["ok"], false);
        assert_eq!(json["current"]["version"], 1);
        assert_eq!(json["current"]["facts"], won_facts);
        assert_eq!(json["current"]["note"], entry.note.as_str());
        assert_eq!(json["current"]["by"], won_by);
        assert_eq!(json["keep_mine"], "Giữ bản của tôi (lưu đè)");
        assert!(json["error"].as_str().unwrap().contains(won_facts));
        // "Keep mine": the same input again over the version the conflict reported wins,
        // deliberately, and nothing was overwritten before that.
        assert_eq!(
            app.store()
                .leaf_entry(period, stp, &binary)
                .await
                .unwrap()
                .unwrap()
                .version,
            1
        );
        let token = client.csrf().await;
        let body = serde_urlencoded::to_string([
            ("value", "no"),
            ("note", "bản của tôi"),
            ("version", "1"),
            ("csrf", token.as_str()),
        ])
        .unwrap();
        let r = client
            .send(
                Request::post(format!("/periods/{period}/units/{stp}/leaves/{binary}"))
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(header::ACCEPT, "application/json")
                    .body(axum::body::Body::from(body))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let saved = app
            .store()
            .leaf_entry(period, stp, &binary)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((saved.version, saved.note.as_str()), (2, "bản của tôi"));
        app
    }
);

web_test!(
    submission_completeness_lock_and_reopening,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        let mut head = app.login_as("truong.stp").await;
        // Nothing entered: the head's submission lists what is missing and is refused.
        let r = head
            .post(&format!("/periods/{period}/units/{stp}/submit"), &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Chưa chấm"));
        // The officer fills every self-assessed leaf, with a note (there is no evidence yet).
        let mut last = String::new();
        for leaf in set.leaves() {
            let rule = leaf.rule.as_ref().unwrap();
            if matches!(rule, RuleSpec::Survey | RuleSpec::External { .. })
                || !leaf.applies_to.iter().all(|g| g == "SO")
            {
                continue;
            }
            let mut fields = valid_fields(rule);
            fields.push(("note".into(), "Theo báo cáo số 12/BC-STP".into()));
            let r = save(&mut officer, period, stp, &leaf.code, "0", &fields).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}: {}", leaf.code, r.body);
            last = leaf.code.clone();
        }
        // An officer may not submit; the head may.
        assert_eq!(
            officer
                .post(&format!("/periods/{period}/units/{stp}/submit"), &[])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let r = head
            .post(&format!("/periods/{period}/units/{stp}/submit"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(
            app.store()
                .period_unit(period, stp)
                .await
                .unwrap()
                .submitted_at
                .is_some()
        );
        // After submission every write is refused with a clear message, and nothing changes.
        let before = app
            .store()
            .leaf_entry(period, stp, &last)
            .await
            .unwrap()
            .unwrap();
        let rule = set.node(&last).unwrap().rule.clone().unwrap();
        let r = save(
            &mut officer,
            period,
            stp,
            &last,
            &before.version.to_string(),
            &valid_fields(&rule),
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("Đơn vị đã nộp"), "{}", r.body);
        assert_eq!(
            app.store()
                .leaf_entry(period, stp, &last)
                .await
                .unwrap()
                .unwrap(),
            before
        );
        // The board shows the unit as submitted; the secretariat reopens it with a reason.
        let mut secretariat = app.login_as("thuky").await;
        let board = secretariat.get(&format!("/periods/{period}")).await.body;
        assert!(board.contains("Đã nộp") && board.contains("Sở Tư pháp"));
        let xlsx = secretariat
            .get(&format!("/periods/{period}/board.xlsx?group=SO"))
            .await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(xlsx.header("content-disposition").starts_with("attachment"));
        assert!(xlsx.body.starts_with("PK"), "an xlsx (zip) file");
        // Only the secretariat sees the board.
        assert_eq!(
            officer
                .get(&format!("/periods/{period}/board.xlsx"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let no_reason = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/reopen"),
                &[("reason", "")],
            )
            .await;
        assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/reopen"),
                &[("reason", "Sửa số liệu tiêu chí 3.2")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let reopen = app
            .store()
            .audit_list(&parindex_store::AuditFilter {
                action: Some("self_assessment.reopen".into()),
                limit: 5,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            reopen[0]
                .after_json
                .as_deref()
                .unwrap()
                .contains("Sửa số liệu tiêu chí 3.2")
        );
        let r = save(
            &mut officer,
            period,
            stp,
            &last,
            &before.version.to_string(),
            &valid_fields(&rule),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        app
    }
);

web_test!(
    the_self_assessment_report_downloads_as_excel_and_pdf,
    |app: TestApp| async move {
        use calamine::Reader;
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        let tiered = leaf_of_kind(&set, |r| matches!(r, RuleSpec::TieredPercent { .. }));
        let r = save(
            &mut officer,
            period,
            stp,
            &tiered,
            "0",
            &[
                ("numerator".into(), "18".into()),
                ("denominator".into(), "20".into()),
                ("note".into(), "Theo Báo cáo số 7/BC-STP".into()),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let expected = app
            .store()
            .leaf_entry(period, stp, &tiered)
            .await
            .unwrap()
            .unwrap()
            .score_milli
            .unwrap();

        let xlsx = officer
            .send(
                Request::get(format!("/periods/{period}/units/{stp}/report/xlsx"))
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(xlsx.status, StatusCode::OK);
        let (_, bytes) = download(
            &app,
            &officer,
            &format!("/periods/{period}/units/{stp}/report/xlsx"),
        )
        .await;
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let sheet = book.worksheet_range(&book.sheet_names()[0]).unwrap();
        let row = sheet
            .rows()
            .find(|r| r.first().is_some_and(|c| c.to_string() == tiered))
            .expect("the leaf's row");
        let numbers: Vec<f64> = row
            .iter()
            .filter_map(|c| match c {
                calamine::Data::Float(f) => Some(*f),
                calamine::Data::Int(i) => Some(*i as f64),
                _ => None,
            })
            .collect();
        let score = expected as f64 / 1000.0;
        assert!(
            numbers.iter().any(|n| (n - score).abs() < 1e-9),
            "{numbers:?} should contain {score}"
        );

        let (status, pdf) = download(
            &app,
            &officer,
            &format!("/periods/{period}/units/{stp}/report/pdf"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF"));
        {
            let text = pdf_text(&pdf);
            // Table cells wrap; compare with white space folded.
            let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(text.contains("Sở Tư pháp"), "{text}");
            assert!(
                text.contains("thủ tục hành chính") && text.contains("Đánh giá CCHC năm 2026"),
                "{text}"
            );
        }
        // Another unit's report: not found.
        let snv = app.seed.unit_snv;
        assert_eq!(
            officer
                .get(&format!("/periods/{period}/units/{snv}/report/pdf"))
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        app
    }
);

/// A minimal real PDF.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

web_test!(
    evidence_upload_cite_download_and_refusals,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        let binary = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Binary));
        let other = set
            .leaves()
            .filter(|l| {
                l.rule
                    .as_ref()
                    .is_some_and(|r| matches!(r, RuleSpec::Binary))
            })
            .nth(1)
            .unwrap()
            .code
            .clone();

        // Upload to a leaf, with a path-traversal name: stored harmlessly, cited with its reference.
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{binary}/evidence"),
                "file",
                "../../etc/Kế hoạch CCHC.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let library = app.store().unit_evidence(stp).await.unwrap();
        assert_eq!(library.len(), 1);
        assert_eq!(library[0].display_name, "Kế hoạch CCHC.pdf");
        assert_eq!(library[0].content_type, "application/pdf");
        // The same content again, under another name: one file in the library.
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{other}/evidence"),
                "file",
                "ban-sao.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(app.store().unit_evidence(stp).await.unwrap().len(), 1);
        assert_eq!(app.store().citations(period, stp).await.unwrap().len(), 2);
        // Cite from the library on a third leaf with a page reference.
        let third = set
            .leaves()
            .filter(|l| {
                l.rule
                    .as_ref()
                    .is_some_and(|r| matches!(r, RuleSpec::Binary))
            })
            .nth(2)
            .unwrap()
            .code
            .clone();
        let file_id = library[0].id.to_string();
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/leaves/{third}/cite"),
                &[("evidence_id", &file_id), ("reference", "tr. 3–5")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let sheet = officer
            .get(&format!("/periods/{period}/units/{stp}/sheet"))
            .await
            .body;
        assert!(sheet.contains("Kế hoạch CCHC.pdf") && sheet.contains("tr. 3–5"));

        // Refusals: a renamed executable, an empty upload, a foreign unit's file.
        let files_before = app.store().unit_evidence(stp).await.unwrap().len();
        let elf = [b"\x7fELF\x02\x01\x01\x00".as_slice(), &[0u8; 2048]].concat();
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{binary}/evidence"),
                "file",
                "baocao.pdf",
                &elf,
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("không phải là PDF thật"), "{}", r.body);
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{binary}/evidence"),
                "file",
                "virus.exe",
                b"MZ\x90\x00",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.store().unit_evidence(stp).await.unwrap().len(),
            files_before
        );
        let snv = app.seed.unit_snv;
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{snv}/leaves/{binary}/evidence"),
                "file",
                "x.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // Downloads: attachment with nosniff; a PDF may be viewed inline.
        let d = officer.get(&format!("/evidence/{file_id}")).await;
        assert_eq!(d.status, StatusCode::OK);
        assert!(
            d.header("content-disposition").starts_with("attachment;"),
            "{}",
            d.header("content-disposition")
        );
        assert_eq!(d.header("x-content-type-options"), "nosniff");
        assert_eq!(d.header("content-type"), "application/pdf");
        assert!(d.body.starts_with("%PDF"));
        let inline = officer.get(&format!("/evidence/{file_id}?inline=1")).await;
        assert!(inline.header("content-disposition").starts_with("inline;"));
        // Who may see it: the unit, its assigned appraisers, the secretariat and the council;
        // not the viewer, the administrator, an unassigned appraiser, nor another unit
        // (http_access checks the assignment both ways).
        for (who, status) in [
            ("thamdinh", StatusCode::NOT_FOUND),
            ("admin", StatusCode::FORBIDDEN),
            ("thuky", StatusCode::OK),
            ("hoidong", StatusCode::OK),
            ("lanhdao", StatusCode::FORBIDDEN),
            ("khaosat", StatusCode::FORBIDDEN),
        ] {
            let mut c = app.login_as(who).await;
            assert_eq!(
                c.get(&format!("/evidence/{file_id}")).await.status,
                status,
                "{who}"
            );
        }
        let mut nv = app.client();
        assert_eq!(
            nv.get(&format!("/evidence/{file_id}")).await.status,
            StatusCode::SEE_OTHER,
            "anonymous → login"
        );

        // A scored leaf with evidence needs no note for the submission check.
        let r = save(
            &mut officer,
            period,
            stp,
            &binary,
            "0",
            &[("value".into(), "yes".into())],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let mut head = app.login_as("truong.stp").await;
        let r = head
            .post(&format!("/periods/{period}/units/{stp}/submit"), &[])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !r.body.contains(&format!(
                "Có điểm nhưng chưa có tài liệu kiểm chứng hay giải trình: {binary}"
            )),
            "evidence counts"
        );
        // Removing a citation leaves the file in the library; after submission uploads are refused.
        let citation = app.store().citations(period, stp).await.unwrap()[0].id;
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/citations/{citation}/delete"),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(app.store().unit_evidence(stp).await.unwrap().len(), 1);
        sqlx::query("UPDATE period_units SET submitted_at = 1")
            .execute(app.store().raw_pool_for_tests())
            .await
            .unwrap();
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{binary}/evidence"),
                "file",
                "muon.pdf",
                b"%PDF-1.4 late",
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("Đơn vị đã nộp"), "{}", r.body);
        app
    }
);

web_test!(
    the_secretariat_chooses_the_participating_units,
    |app: TestApp| async move {
        let set_id = publish_so_set(&app).await.to_string();
        let mut secretariat = app.login_as("thuky").await;
        let stp = format!("unit_{}", app.seed.unit_stp);
        let huyen = format!("unit_{}", app.seed.unit_huyen);
        let base = [
            ("name", "Kỳ thử"),
            ("year", "2026"),
            ("self_open", "01/11/2026"),
            ("self_close", "30/12/2026"),
            ("set_SO", set_id.as_str()),
        ];
        // A ticked unit that does not exist is refused, and nothing is created.
        let mut bad = base.to_vec();
        bad.push(("unit_999999", "1"));
        let r = secretariat.post("/periods", &bad).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(app.store().list_periods().await.unwrap().is_empty());
        let mut only_stp = base.to_vec();
        only_stp.push((&stp, "1"));
        let r = secretariat.post("/periods", &only_stp).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let period = app.store().list_periods().await.unwrap()[0].id;
        let units = app.store().period_units(period).await.unwrap();
        assert_eq!(
            units
                .iter()
                .map(|u| u.unit_code.as_str())
                .collect::<Vec<_>>(),
            ["STP"]
        );

        // The form as the page sends it by default: every unit ticked, only the departments'
        // set chosen. The districts (no set) are left out and named by code, not refused.
        let form = secretariat.get("/periods").await.body;
        let ticked: Vec<String> = form
            .split("name=\"unit_")
            .skip(1)
            .filter(|rest| rest.split('>').next().unwrap_or("").contains("checked"))
            .map(|rest| format!("unit_{}", rest.split('"').next().unwrap()))
            .collect();
        assert!(
            ticked.contains(&huyen) && ticked.contains(&stp),
            "{ticked:?}"
        );
        let mut default_form = base.to_vec();
        default_form[0] = ("name", "Kỳ mặc định");
        for t in &ticked {
            default_form.push((t.as_str(), "1"));
        }
        let r = secretariat.post("/periods", &default_form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let created = secretariat.get(r.location()).await;
        assert_eq!(created.status, StatusCode::OK);
        assert!(
            created
                .body
                .contains("thuộc nhóm chưa chọn bộ chỉ số: H-EAKAR"),
            "the notice names the districts left out by code"
        );
        let period = r
            .location()
            .trim_start_matches("/periods/")
            .split('?')
            .next()
            .unwrap()
            .parse::<i64>()
            .unwrap();
        let mut codes: Vec<String> = app
            .store()
            .period_units(period)
            .await
            .unwrap()
            .into_iter()
            .map(|u| u.unit_code)
            .collect();
        codes.sort();
        assert_eq!(codes, ["SNV", "STP"]);
        app
    }
);

async fn evidence_rows(app: &TestApp) -> (i64, i64) {
    let count = |table: &'static str| async move {
        let row: (i64,) =
            sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(app.store().raw_pool_for_tests())
                .await
                .unwrap();
        row.0
    };
    (
        count("evidence_files").await,
        count("evidence_citations").await,
    )
}

web_test!(
    evidence_goes_only_on_leaves_the_unit_scores,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let stp = app.seed.unit_stp;
        let survey = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Survey));
        let external = leaf_of_kind(&set, |r| matches!(r, RuleSpec::External { .. }));
        let binary = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Binary));
        let pdf: &[u8] =
            b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";
        let mut officer = app.login_as("canbo.stp").await;
        let leaf_url =
            |code: &str, what: &str| format!("/periods/{period}/units/{stp}/leaves/{code}/{what}");
        // Uploads on an unknown code, a survey leaf and an external leaf: refused before the
        // body is stored, no file in the library, no citation.
        for (code, status) in [
            ("NOPE", StatusCode::NOT_FOUND),
            ("1", StatusCode::NOT_FOUND),
            (survey.as_str(), StatusCode::FORBIDDEN),
            (external.as_str(), StatusCode::FORBIDDEN),
        ] {
            let r = officer
                .upload(&leaf_url(code, "evidence"), "file", "kehoach.pdf", pdf)
                .await;
            assert_eq!(r.status, status, "upload on {code}: {}", r.body);
            assert_eq!(evidence_rows(&app).await, (0, 0), "upload on {code}");
        }
        // A leaf the unit scores takes it; the file is then cited nowhere else by mistake.
        let r = officer
            .upload(&leaf_url(&binary, "evidence"), "file", "kehoach.pdf", pdf)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(evidence_rows(&app).await, (1, 1));
        let file_id = app.store().unit_evidence(stp).await.unwrap()[0].id;
        for (code, status) in [
            ("NOPE", StatusCode::NOT_FOUND),
            (survey.as_str(), StatusCode::FORBIDDEN),
            (external.as_str(), StatusCode::FORBIDDEN),
        ] {
            let r = officer
                .post(
                    &leaf_url(code, "cite"),
                    &[
                        ("evidence_id", &file_id.to_string()),
                        ("reference", "tr. 2"),
                    ],
                )
                .await;
            assert_eq!(r.status, status, "cite on {code}: {}", r.body);
        }
        assert_eq!(evidence_rows(&app).await, (1, 1));
        let citations = app.store().citations(period, stp).await.unwrap();
        assert_eq!(citations.len(), 1);
        assert_eq!(citations[0].leaf_code, binary);

        // After the submission, neither an upload nor a citation gets through.
        sqlx::query("UPDATE period_units SET submitted_at = $1 WHERE unit_id = $2")
            .bind(parindex_store::now_ms())
            .bind(stp)
            .execute(app.store().raw_pool_for_tests())
            .await
            .unwrap();
        let tiered = leaf_of_kind(&set, |r| matches!(r, RuleSpec::TieredPercent { .. }));
        let r = officer
            .upload(&leaf_url(&tiered, "evidence"), "file", "b.pdf", pdf)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = officer
            .post(
                &leaf_url(&tiered, "cite"),
                &[("evidence_id", &file_id.to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(evidence_rows(&app).await, (1, 1));
        app
    }
);
