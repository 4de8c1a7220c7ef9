//! Appraisal over HTTP: the appraiser's worklist and writes (remark required for a changed
//! score, flags only before the last round, only assigned leaves, never one's own unit), what
//! the unit sees, the explanation round with supplementary evidence, comment threads with
//! unread markers, bonus and penalty within the period's cap, and a leaf's history.

use axum::http::StatusCode;
use parindex_store::AuditActor;
use parindex_store::index_sets::IndexSetContent;

use crate::support::{TestApp, TestClient};
use crate::web_test;

const SO_YAML: &str = include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml");
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

/// Publishes the shipped departments set and opens a period around today (two rounds, bonus
/// and penalty caps of 1 point); returns its id.
async fn open_period(app: &TestApp) -> i64 {
    let doc = parindex_formats::parse_index_set_file(SO_YAML.as_bytes()).unwrap();
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
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: 123,
            },
            None,
        )
        .await
        .unwrap();
    tx.publish_index_set(set.id, 1).await.unwrap();
    tx.commit().await.unwrap();
    let today = time::OffsetDateTime::now_utc().date();
    let fmt = |d: time::Date| parindex_domain::text::format_date_vi(d);
    let mut secretariat = app.login_as("thuky").await;
    let r = secretariat
        .post(
            "/periods",
            &[
                ("name", "Đánh giá CCHC năm 2026"),
                ("year", "2026"),
                ("self_open", &fmt(today - time::Duration::days(1))),
                ("self_close", &fmt(today + time::Duration::days(10))),
                ("bonus_cap", "1"),
                ("penalty_cap", "1"),
                ("appraisal_rounds", "2"),
                ("set_SO", &set.id.to_string()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location()
        .trim_start_matches("/periods/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// Moves the period's stage directly (setup only).
async fn set_stage(app: &TestApp, period: i64, from: (&str, i64), to: (&str, i64)) {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.set_period_stage(period, from, to).await.unwrap();
    tx.commit().await.unwrap();
}

/// A period where STP scored 1.1.1 and 1.1.3 (both "Đạt") over HTTP and submitted, now in
/// round 1, with `thamdinh` assigned to STP's criterion 1.1.
async fn appraisal_setup(app: &TestApp) -> i64 {
    let period = open_period(app).await;
    let stp = app.seed.unit_stp;
    let mut officer = app.login_as("canbo.stp").await;
    for code in ["1.1.1", "1.1.3"] {
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/leaves/{code}"),
                &[
                    ("value", "yes"),
                    ("note", "Có văn bản kèm theo"),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    }
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.submit_self_assessment(period, stp).await.unwrap();
    tx.set_period_stage(period, ("self", 0), ("round", 1))
        .await
        .unwrap();
    tx.add_assignments(
        period,
        &[(app.seed.users["thamdinh"], stp, "1.1".to_owned())],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    period
}

async fn appraise(
    client: &mut TestClient,
    period: i64,
    unit: i64,
    code: &str,
    fields: &[(&str, &str)],
) -> crate::support::TestResponse {
    client
        .post(
            &format!("/periods/{period}/units/{unit}/appraisal/{code}"),
            fields,
        )
        .await
}

web_test!(
    appraisers_write_only_what_they_may,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let snv = app.seed.unit_snv;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut officer = app.login_as("canbo.stp").await;

        // The worklist: only appraisers, with the assigned leaves and their status.
        let r = appraiser.get("/appraisal").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("#leaf-1.1.1"), "{}", r.body);
        assert!(r.body.contains("Chưa thẩm định"), "{}", r.body);
        assert!(!r.body.contains("#leaf-1.2.2"), "{}", r.body);
        assert_eq!(
            officer.get("/appraisal").await.status,
            StatusCode::FORBIDDEN
        );

        // The page shows only the appraiser's leaves.
        let r = appraiser
            .get(&format!("/periods/{period}/units/{stp}/appraisal"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("id=\"leaf-1.1.1\""), "{}", r.body);
        assert!(!r.body.contains("id=\"leaf-1.2.2\""), "{}", r.body);
        assert!(r.body.contains("Đồng ý với điểm tự chấm"));
        // No assignment on SNV (their own unit, too): not found.
        let r = appraiser
            .get(&format!("/periods/{period}/units/{snv}/appraisal"))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // A changed score without a remark: refused, nothing saved.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.1",
            &[("value", "no"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("phải ghi nhận xét"), "{}", r.body);
        assert!(
            app.store()
                .appraisals(period, stp)
                .await
                .unwrap()
                .is_empty()
        );
        // With a remark: saved, in round 1 only.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.1",
            &[
                ("value", "no"),
                ("remark", "Kế hoạch ban hành muộn"),
                ("version", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(r.location().contains("#leaf-1.1.1"));
        let saved = app.store().appraisals(period, stp).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].round, 1);
        assert_eq!(saved[0].score_milli, Some(0));
        // Accepting the unit's score, with a flag.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[
                ("accept", "1"),
                ("flag", "1"),
                ("remark", "Cần bổ sung văn bản"),
                ("version", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let saved = app.store().appraisals(period, stp).await.unwrap();
        let flagged = saved.iter().find(|a| a.leaf_code == "1.1.3").unwrap();
        assert!(flagged.needs_explanation);
        assert_eq!(flagged.score_milli, Some(250));
        assert!(saved.iter().all(|a| a.round == 1));
        // A stale version: conflict.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[("accept", "1"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);

        // An unassigned leaf, the appraiser's own unit, a unit officer: refused.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.2.2",
            &[("value", "yes"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        let r = appraise(
            &mut appraiser,
            period,
            snv,
            "1.1.1",
            &[("value", "yes"), ("version", "0")],
        )
        .await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.status
        );
        let r = appraise(
            &mut officer,
            period,
            stp,
            "1.1.1",
            &[("value", "yes"), ("version", "0")],
        )
        .await;
        assert!(
            matches!(r.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{}",
            r.status
        );
        assert_eq!(app.store().appraisals(period, stp).await.unwrap().len(), 2);

        // The unit does not see a round in progress.
        let r = officer
            .get(&format!("/periods/{period}/units/{stp}/appraisal"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.body.contains("Kế hoạch ban hành muộn"), "{}", r.body);
        assert!(!r.body.contains("Đồng ý với điểm tự chấm"));
        // Another unit's pages: not found.
        for page in ["appraisal", "explanation", "history"] {
            let r = officer
                .get(&format!("/periods/{period}/units/{snv}/{page}"))
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{page}");
        }

        // Round 1 closed: the unit sees it; the appraiser can no longer write.
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;
        let r = officer
            .get(&format!("/periods/{period}/units/{stp}/appraisal"))
            .await;
        assert!(r.body.contains("Kế hoạch ban hành muộn"), "{}", r.body);
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.1",
            &[("value", "yes"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(app.store().appraisals(period, stp).await.unwrap().len(), 2);

        // The last round: a flag is refused with the reason.
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[("accept", "1"), ("flag", "1"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("trước vòng cuối"), "{}", r.body);
        assert!(
            app.store()
                .appraisals(period, stp)
                .await
                .unwrap()
                .iter()
                .all(|a| a.round == 1)
        );
        app
    }
);

web_test!(
    explanation_comments_bonus_and_history,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut officer = app.login_as("canbo.stp").await;
        let mut head = app.login_as("truong.stp").await;
        let mut secretariat = app.login_as("thuky").await;
        let explanation = format!("/periods/{period}/units/{stp}/explanation");

        // Not in an explanation round: the page says so, no forms.
        let r = officer.get(&explanation).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("no-explanation-round"), "{}", r.body);

        // Round 1: 1.1.3 flagged, 1.1.1 accepted.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[
                ("accept", "1"),
                ("flag", "1"),
                ("remark", "Cần bổ sung văn bản"),
                ("version", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.1",
            &[("accept", "1"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;

        // The sheet links to the explanation page.
        let r = officer
            .get(&format!("/periods/{period}/units/{stp}/sheet"))
            .await;
        assert!(r.body.contains("explanation-link"), "{}", r.body);
        let r = officer.get(&explanation).await;
        assert!(r.body.contains("id=\"leaf-1.1.3\""), "{}", r.body);
        assert!(!r.body.contains("id=\"leaf-1.1.1\""), "{}", r.body);
        assert!(r.body.contains("Cần bổ sung văn bản"));

        // Answering: the flagged leaf yes, another leaf no.
        let r = officer
            .post(
                &format!("{explanation}/1.1.3"),
                &[
                    ("response", "Đã bổ sung quyết định ban hành"),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = officer
            .post(
                &format!("{explanation}/1.1.1"),
                &[("response", "Không cần"), ("version", "0")],
            )
            .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        // Supplementary evidence.
        let r = officer
            .upload(
                &format!("{explanation}/1.1.3/evidence"),
                "file",
                "quyet-dinh.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let citations = app.store().citations(period, stp).await.unwrap();
        assert!(
            citations
                .iter()
                .any(|c| c.leaf_code == "1.1.3" && c.stage == "explanation")
        );
        let r = officer.get(&explanation).await;
        assert!(r.body.contains("quyet-dinh.pdf"), "{}", r.body);

        // Comments: the unit writes, the appraiser sees it unread, then read.
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.3/comments"),
                &[
                    ("body", "Chúng tôi đã gửi bản gốc"),
                    ("back", "explanation"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(r.location().contains("/explanation"));
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.3/comments"),
                &[("body", "   ")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let page = format!("/periods/{period}/units/{stp}/appraisal");
        let r = appraiser.get(&page).await;
        assert!(r.body.contains("Chúng tôi đã gửi bản gốc"), "{}", r.body);
        assert!(
            r.body.contains("data-testid=\"unread-1.1.3\""),
            "{}",
            r.body
        );
        let r = appraiser.get(&page).await;
        assert!(
            !r.body.contains("data-testid=\"unread-1.1.3\""),
            "{}",
            r.body
        );

        // The head submits; no more answers.
        let r = head.post(&format!("{explanation}/submit"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = officer
            .post(
                &format!("{explanation}/1.1.3"),
                &[("response", "Sửa lại"), ("version", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

        // Round 2: the appraiser re-appraises; bonus within and over the cap.
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[("accept", "1"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let adjustments = format!("/periods/{period}/units/{stp}/adjustments");
        let r = secretariat
            .post(
                &adjustments,
                &[
                    ("item", "T1"),
                    ("points", "0,5"),
                    ("reason", "Sáng kiến được nhân rộng"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = secretariat
            .post(
                &adjustments,
                &[("item", "T2"), ("points", "1"), ("reason", "Bằng khen")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("vượt mức trần"), "{}", r.body);
        let r = secretariat
            .post(
                &adjustments,
                &[("item", "T2"), ("points", "0,5"), ("reason", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let saved = app.store().adjustments(period, stp).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].points_milli, 500);
        // A unit officer cannot add one.
        let r = officer
            .post(
                &adjustments,
                &[("item", "T2"), ("points", "0,5"), ("reason", "x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        // History: self → round 1 (flag) → explanation → round 2, in that order.
        let history = app
            .store()
            .leaf_history(period, stp, Some("1.1.3"))
            .await
            .unwrap();
        let stages: Vec<(&str, i64)> = history
            .iter()
            .map(|h| (h.stage.as_str(), h.round))
            .collect();
        assert_eq!(
            stages,
            vec![("self", 0), ("round", 1), ("explanation", 1), ("round", 2)],
            "{history:?}"
        );
        let r = secretariat
            .get(&format!("/periods/{period}/units/{stp}/history?leaf=1.1.3"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let table = &r.body[r.body.find("data-testid=\"history-1.1.3\"").unwrap()..];
        let at = |text: &str| {
            table
                .find(text)
                .unwrap_or_else(|| panic!("{text}: {table}"))
        };
        assert!(at("Tự chấm") < at("Thẩm định lần 1"));
        assert!(at("Thẩm định lần 1") < at("Giải trình"));
        assert!(at("Giải trình") < at("Thẩm định lần 2"));
        assert!(table.contains("0,25"));
        assert!(!r.body.contains("data-testid=\"history-1.1.1\""));
        let r = secretariat.get(&page).await;
        assert!(r.body.contains("history-link"));
        // The unit has no history page.
        let r = officer
            .get(&format!("/periods/{period}/units/{stp}/history"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        app
    }
);
