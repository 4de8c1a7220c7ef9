//! Appraisal over HTTP: the appraiser's worklist and writes (remark required for a changed
//! score, flags only before the last round, only assigned leaves, never one's own unit), what
//! the unit sees, the explanation round with supplementary evidence, comment threads with
//! unread markers, bonus and penalty within the period's cap, and a leaf's history.

use axum::http::StatusCode;
use parindex_store::AuditActor;

use crate::support::fixtures;
use crate::support::{TestApp, TestClient};
use crate::web_test;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

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
    let period = fixtures::period(app).caps("1", "1").rounds(2).open().await;
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
        // SNV is their own unit: refused outright, whatever the assignments.
        let r = appraiser
            .get(&format!("/periods/{period}/units/{snv}/appraisal"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

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

/// Everything a unit's appraisal may write, as text: equal before and after means nothing was
/// written.
async fn everything(app: &TestApp, period: i64, unit: i64) -> String {
    let s = app.store();
    format!(
        "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
        s.leaf_entries(period, unit).await.unwrap(),
        s.appraisals(period, unit).await.unwrap(),
        s.explanations(period, unit).await.unwrap(),
        s.comments(period, unit).await.unwrap(),
        s.adjustments(period, unit).await.unwrap(),
        s.external_values(period, Some(unit)).await.unwrap(),
        s.corrections(period, unit).await.unwrap(),
        s.leaf_history(period, unit, None).await.unwrap(),
        s.citations(period, unit).await.unwrap(),
        s.unit_evidence(unit).await.unwrap(),
        s.published_results(period).await.unwrap(),
        s.period_unit(period, unit).await.unwrap(),
    )
}

web_test!(
    a_unit_cannot_change_its_sheet_once_the_appraisal_started,
    |app: TestApp| async move {
        let period = fixtures::period(&app).caps("1", "1").rounds(2).open().await;
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        let mut head = app.login_as("truong.stp").await;
        let leaf = |code: &str| format!("/periods/{period}/units/{stp}/leaves/{code}");
        // During self-assessment: a leaf scored and a file cited.
        let r = officer
            .post(
                &leaf("1.1.1"),
                &[("value", "yes"), ("note", "Có kế hoạch"), ("version", "0")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = officer
            .upload(
                &format!("{}/evidence", leaf("1.1.1")),
                "file",
                "ke-hoach.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let file_id = app.store().unit_evidence(stp).await.unwrap()[0].id;
        let citation_id = app.store().citations(period, stp).await.unwrap()[0].id;
        // Submitted; the appraisal starts.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.submit_self_assessment(period, stp).await.unwrap();
        tx.set_period_stage(period, ("self", 0), ("round", 1))
            .await
            .unwrap();
        // A reopened submission in the store (what the old reopen route allowed) does not
        // reopen the sheet either: the stage decides.
        tx.reopen_self_assessment(period, stp, "thử mở lại")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let before = everything(&app, period, stp).await;

        for (code, version) in [("1.1.1", "1"), ("1.1.2", "0")] {
            let r = officer
                .post(
                    &leaf(code),
                    &[("value", "no"), ("note", "Sửa sau"), ("version", version)],
                )
                .await;
            assert!(r.status.is_client_error(), "{code}: {}", r.status);
            assert!(r.body.contains("Thẩm định lần 1"), "{code}: {}", r.body);
        }
        let r = officer
            .upload(
                &format!("{}/evidence", leaf("1.1.3")),
                "file",
                "bo-sung.pdf",
                PDF,
            )
            .await;
        assert!(r.status.is_client_error(), "upload: {}", r.status);
        let r = officer
            .post(
                &format!("{}/cite", leaf("1.1.3")),
                &[
                    ("evidence_id", &file_id.to_string()),
                    ("reference", "tr. 2"),
                ],
            )
            .await;
        assert!(r.status.is_client_error(), "cite: {}", r.status);
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/citations/{citation_id}/delete"),
                &[],
            )
            .await;
        assert!(r.status.is_client_error(), "uncite: {}", r.status);
        let r = head
            .post(&format!("/periods/{period}/units/{stp}/submit"), &[])
            .await;
        assert!(r.status.is_client_error(), "submit: {}", r.status);
        assert_eq!(everything(&app, period, stp).await, before);
        app
    }
);

web_test!(
    nothing_changes_after_publication_without_a_reopening,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut officer = app.login_as("canbo.stp").await;
        let mut secretariat = app.login_as("thuky").await;
        let mut provider = app.login_as("cungcap").await;
        // A cycle: 1.1.3 flagged and explained, a bonus in round 2, then published.
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
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;
        let explanation = format!("/periods/{period}/units/{stp}/explanation");
        let r = officer
            .post(
                &format!("{explanation}/1.1.3"),
                &[("response", "Đã bổ sung"), ("version", "0")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let adjustments = format!("/periods/{period}/units/{stp}/adjustments");
        let r = secretariat
            .post(
                &adjustments,
                &[("item", "T1"), ("points", "0,5"), ("reason", "Sáng kiến")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let adjustment = app.store().adjustments(period, stp).await.unwrap()[0].id;
        set_stage(&app, period, ("round", 2), ("council", 0)).await;
        set_stage(&app, period, ("council", 0), ("approved", 0)).await;
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let before = everything(&app, period, stp).await;

        let refused = |what: &str, r: crate::support::TestResponse| {
            assert!(
                r.status.is_client_error(),
                "{what}: {} {}",
                r.status,
                r.body
            );
        };
        refused(
            "appraisal",
            appraise(
                &mut appraiser,
                period,
                stp,
                "1.1.1",
                &[("accept", "1"), ("version", "0")],
            )
            .await,
        );
        refused(
            "explanation",
            officer
                .post(
                    &format!("{explanation}/1.1.3"),
                    &[("response", "Sửa lại"), ("version", "1")],
                )
                .await,
        );
        refused(
            "explanation evidence",
            officer
                .upload(
                    &format!("{explanation}/1.1.3/evidence"),
                    "file",
                    "muon.pdf",
                    PDF,
                )
                .await,
        );
        for client in [&mut officer, &mut appraiser, &mut secretariat] {
            refused(
                "comment",
                client
                    .post(
                        &format!("/periods/{period}/units/{stp}/leaves/1.1.3/comments"),
                        &[("body", "Sau công bố")],
                    )
                    .await,
            );
        }
        refused(
            "bonus",
            secretariat
                .post(
                    &adjustments,
                    &[("item", "T2"), ("points", "0,25"), ("reason", "Bằng khen")],
                )
                .await,
        );
        refused(
            "remove bonus",
            secretariat
                .post(
                    &format!("{adjustments}/{adjustment}/remove"),
                    &[("reason", "Nhầm")],
                )
                .await,
        );
        refused(
            "external import",
            provider
                .upload(
                    &format!("/periods/{period}/external/import"),
                    "file",
                    "muon.csv",
                    b"ma_don_vi,ma_tieu_chi,diem,ghi_chu\nSTP,2.1.3,1,\n",
                )
                .await,
        );
        refused(
            "external entry",
            provider
                .post(
                    &format!("/periods/{period}/external/{stp}/2.1.3"),
                    &[("points", "1")],
                )
                .await,
        );
        refused(
            "sheet",
            officer
                .post(
                    &format!("/periods/{period}/units/{stp}/leaves/1.1.1"),
                    &[("value", "no"), ("version", "1")],
                )
                .await,
        );
        refused(
            "correction",
            secretariat
                .post(
                    &format!("/periods/{period}/units/{stp}/corrections/1.1.1"),
                    &[("points", "0"), ("reason", "Sai sót khi tổng hợp")],
                )
                .await,
        );
        refused(
            "republish",
            secretariat
                .post(&format!("/periods/{period}/units/{stp}/republish"), &[])
                .await,
        );
        assert_eq!(everything(&app, period, stp).await, before);
        app
    }
);

web_test!(
    a_round_two_write_cannot_land_while_round_one_is_open,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut secretariat = app.login_as("thuky").await;
        // The round is the server's, not the form's: a "round=2" field is ignored.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.1",
            &[("accept", "1"), ("round", "2"), ("version", "0")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let saved = app.store().appraisals(period, stp).await.unwrap();
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].round, 1);
        // Opening round 2 while round 1 is open: refused, the stage stays.
        let r = secretariat
            .post(
                &format!("/periods/{period}/stage"),
                &[("action", "next_round")],
            )
            .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        let p = app.store().get_period(period).await.unwrap();
        assert_eq!(p.stage.stored(), ("round", 1));
        // A flag without a remark: refused, nothing saved.
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[
                ("accept", "1"),
                ("flag", "1"),
                ("remark", " "),
                ("version", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("phải ghi nhận xét"), "{}", r.body);
        assert_eq!(app.store().appraisals(period, stp).await.unwrap().len(), 1);
        app
    }
);

web_test!(
    history_after_a_full_cycle_keeps_every_value_with_who_and_why,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut officer = app.login_as("canbo.stp").await;
        let mut secretariat = app.login_as("thuky").await;
        let mut provider = app.login_as("cungcap").await;
        let explanation = format!("/periods/{period}/units/{stp}/explanation");

        // Round 1: flagged. The provider's value of an external leaf arrives meanwhile.
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
        let r = provider
            .post(
                &format!("/periods/{period}/external/{stp}/2.1.3"),
                &[("points", "0,5"), ("note", "Theo báo cáo quý IV")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Explanation.
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;
        let r = officer
            .post(
                &format!("{explanation}/1.1.3"),
                &[("response", "Đã bổ sung quyết định"), ("version", "0")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Round 2: the final value differs from the unit's.
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let r = appraise(
            &mut appraiser,
            period,
            stp,
            "1.1.3",
            &[
                ("value", "no"),
                ("remark", "Quyết định ban hành sau thời hạn"),
                ("version", "0"),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Council, decision, publication; then a correction of both leaves.
        set_stage(&app, period, ("round", 2), ("council", 0)).await;
        set_stage(&app, period, ("council", 0), ("approved", 0)).await;
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/reopen"),
                &[("reason", "Đơn vị khiếu nại")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        for (code, points) in [("1.1.3", "0,25"), ("2.1.3", "1")] {
            let r = secretariat
                .post(
                    &format!("/periods/{period}/units/{stp}/corrections/{code}"),
                    &[("points", points), ("reason", "Chấp nhận khiếu nại")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{code}: {}", r.body);
        }
        let r = secretariat
            .post(&format!("/periods/{period}/units/{stp}/republish"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // Every value, in order, with who set it and why.
        let row = |h: &parindex_store::appraisal::HistoryEntry| {
            (
                h.stage.clone(),
                h.round,
                h.score_milli,
                h.actor_name.clone().unwrap_or_default(),
                if h.stage == "explanation" {
                    h.detail.clone()
                } else {
                    h.reason.clone()
                },
            )
        };
        let name = |u: &str| format!("Người thử {u}");
        let history = app
            .store()
            .leaf_history(period, stp, Some("1.1.3"))
            .await
            .unwrap();
        let rows: Vec<_> = history.iter().map(row).collect();
        assert_eq!(
            rows,
            vec![
                (
                    "self".into(),
                    0,
                    Some(250),
                    name("canbo.stp"),
                    "Có văn bản kèm theo".into()
                ),
                (
                    "round".into(),
                    1,
                    Some(250),
                    name("thamdinh"),
                    "Cần bổ sung văn bản [cần giải trình]".into()
                ),
                (
                    "explanation".into(),
                    1,
                    None,
                    name("canbo.stp"),
                    "Đã bổ sung quyết định".into()
                ),
                (
                    "round".into(),
                    2,
                    Some(0),
                    name("thamdinh"),
                    "Quyết định ban hành sau thời hạn".into()
                ),
                (
                    "correction".into(),
                    0,
                    Some(250),
                    name("thuky"),
                    "Chấp nhận khiếu nại".into()
                ),
            ],
            "{history:?}"
        );
        assert!(history.windows(2).all(|w| w[0].at <= w[1].at));
        let external: Vec<_> = app
            .store()
            .leaf_history(period, stp, Some("2.1.3"))
            .await
            .unwrap()
            .iter()
            .map(|h| {
                (
                    h.stage.clone(),
                    h.score_milli,
                    h.actor_name.clone().unwrap_or_default(),
                    h.reason.clone(),
                )
            })
            .collect();
        assert_eq!(
            external,
            vec![
                (
                    "external".into(),
                    Some(500),
                    name("cungcap"),
                    "Theo báo cáo quý IV".into()
                ),
                (
                    "correction".into(),
                    Some(1000),
                    name("thuky"),
                    "Chấp nhận khiếu nại".into()
                ),
            ]
        );
        // The history page shows the same, in order, with names; the two publications stay.
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
        assert!(at("Thẩm định lần 2") < at("Đính chính"));
        assert!(at("Quyết định ban hành sau thời hạn") < at("Chấp nhận khiếu nại"));
        assert!(table.contains(&name("thamdinh")));
        let published = app.store().published_results(period).await.unwrap();
        assert_eq!(
            published
                .iter()
                .filter(|p| p.unit_id == stp)
                .map(|p| p.publication)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
        app
    }
);

web_test!(
    a_late_explanation_is_refused_and_an_extended_one_accepted,
    |app: TestApp| async move {
        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut officer = app.login_as("canbo.stp").await;
        let mut secretariat = app.login_as("thuky").await;
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
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;
        let today = time::OffsetDateTime::now_utc().date();
        let fmt = |d: time::Date| parindex_domain::text::format_date_vi(d);
        let deadline = format!("/periods/{period}");

        // The secretariat sets round 1's deadline to yesterday (a bad date is refused).
        let r = secretariat
            .post(
                &format!("{deadline}/explanation-deadline"),
                &[("due", "31/02/2026")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            app.store()
                .explanation_deadlines(period)
                .await
                .unwrap()
                .is_empty()
        );
        let r = secretariat
            .post(
                &format!("{deadline}/explanation-deadline"),
                &[("due", &fmt(today - time::Duration::days(1)))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let set = app.store().explanation_deadlines(period).await.unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(set[0].0, 1);
        let audit = app
            .store()
            .audit_list(&parindex_store::AuditFilter {
                action: Some("explanation.deadline".into()),
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        let page = secretariat.get(&deadline).await;
        assert!(
            page.body.contains("data-testid=\"explanation-deadline\""),
            "{}",
            page.body
        );

        // Late: refused, nothing saved; the page says why.
        let explanation = format!("/periods/{period}/units/{stp}/explanation");
        let answer = [("response", "Đã bổ sung quyết định"), ("version", "0")];
        let r = officer.post(&format!("{explanation}/1.1.3"), &answer).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("Đã hết hạn giải trình"), "{}", r.body);
        assert!(
            app.store()
                .explanations(period, stp)
                .await
                .unwrap()
                .is_empty()
        );

        // A unit extension needs a reason; with one, the unit may answer.
        let extension = format!("/periods/{period}/units/{stp}/explanation-extension");
        let tomorrow = fmt(today + time::Duration::days(1));
        let r = secretariat
            .post(&extension, &[("until", &tomorrow), ("reason", "")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            app.store()
                .explanation_extensions(period)
                .await
                .unwrap()
                .is_empty()
        );
        let r = secretariat
            .post(
                &extension,
                &[
                    ("until", &tomorrow),
                    ("reason", "Đơn vị chờ văn bản của Bộ"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = secretariat.get(&deadline).await;
        assert!(
            page.body
                .contains(&format!("data-testid=\"explanation-extension-{stp}\"")),
            "{}",
            page.body
        );
        let r = officer.post(&format!("{explanation}/1.1.3"), &answer).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            app.store().explanations(period, stp).await.unwrap().len(),
            1
        );
        // The extension is STP's only: SNV's deadline is still yesterday.
        let snv_due = parindex_app::deadlines::explanation_due_for(
            app.store(),
            &app.store().get_period(period).await.unwrap(),
            app.seed.unit_snv,
            1,
        )
        .await
        .unwrap()
        .unwrap();
        assert!(snv_due < parindex_store::now_ms());

        // Withdrawn: late again.
        let r = secretariat
            .post(&extension, &[("until", ""), ("reason", "")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = officer
            .post(
                &format!("{explanation}/1.1.3"),
                &[("response", "Sửa lại"), ("version", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);

        // Outside an explanation round neither may be set.
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let r = secretariat
            .post(
                &format!("{deadline}/explanation-deadline"),
                &[("due", &tomorrow)],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = secretariat
            .post(
                &extension,
                &[("until", &tomorrow), ("reason", "Đơn vị chờ văn bản")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        app
    }
);

web_test!(
    an_explanation_upload_is_checked_again_inside_its_transaction,
    |app: TestApp| async move {
        use parindex_app::evidence::{EvidenceFor, LeafRef};
        use parindex_app::sheet::Caller;
        use parindex_domain::{Actor, Role, RoleGrant};

        let period = appraisal_setup(&app).await;
        let stp = app.seed.unit_stp;
        let mut appraiser = app.login_as("thamdinh").await;
        let mut secretariat = app.login_as("thuky").await;
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
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;

        // The use cases as the upload handler calls them, with the unit officer as caller.
        let use_cases = &app.state.app;
        let officer = Caller {
            actor: Actor {
                user_id: app.seed.users["canbo.stp"],
                grant: RoleGrant {
                    role: Role::UnitOfficer,
                    unit_id: Some(stp),
                },
                own_units: vec![stp],
            },
            audit: AuditActor {
                user_id: Some(app.seed.users["canbo.stp"]),
                username: "canbo.stp".into(),
                role: Role::UnitOfficer.into(),
            },
        };
        let leaf = LeafRef {
            period_id: period,
            unit_id: stp,
            code: "1.1.3".into(),
        };
        let receive = |name: &'static str| {
            let chunks = vec![Ok::<_, std::io::Error>(axum::body::Bytes::from_static(PDF))];
            use_cases.receive_evidence(futures_util::stream::iter(chunks), name, 1 << 20)
        };
        let supplementary = || async {
            app.store()
                .citations(period, stp)
                .await
                .unwrap()
                .into_iter()
                .filter(|c| c.stage == "explanation")
                .map(|c| c.file.display_name)
                .collect::<Vec<_>>()
        };

        // 1. The early check passes (the round is open), the body arrives; meanwhile the
        // secretariat moves the round's deadline to yesterday. The write refuses, nothing stored.
        use_cases
            .check_attach(&officer, EvidenceFor::Explanation, &leaf)
            .await
            .unwrap();
        let file = receive("muon-han.pdf").await.unwrap();
        let yesterday = time::OffsetDateTime::now_utc().date() - time::Duration::days(1);
        let r = secretariat
            .post(
                &format!("/periods/{period}/explanation-deadline"),
                &[("due", &parindex_domain::text::format_date_vi(yesterday))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let refused = use_cases
            .attach_evidence(&officer, EvidenceFor::Explanation, &leaf, "", &[file])
            .await;
        assert!(
            matches!(refused, Err(parindex_app::AppError::Forbidden(Some(_)))),
            "{refused:?}"
        );
        assert!(supplementary().await.is_empty());
        let library = app.store().unit_evidence(stp).await.unwrap();
        assert!(
            library.iter().all(|f| f.display_name != "muon-han.pdf"),
            "{library:?}"
        );

        // 2. With an extension for the unit, the same upload goes through (the check is not
        // a blanket refusal).
        let tomorrow = yesterday + time::Duration::days(2);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/explanation-extension"),
                &[
                    ("until", &parindex_domain::text::format_date_vi(tomorrow)),
                    ("reason", "Đơn vị chờ văn bản của Bộ"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let file = receive("dung-han.pdf").await.unwrap();
        use_cases
            .attach_evidence(&officer, EvidenceFor::Explanation, &leaf, "", &[file])
            .await
            .unwrap();
        assert_eq!(supplementary().await, vec!["dung-han.pdf".to_owned()]);

        // 3. The early check passes again; then the stage moves on (round 2 opens). Refused.
        use_cases
            .check_attach(&officer, EvidenceFor::Explanation, &leaf)
            .await
            .unwrap();
        let file = receive("vong-sau.pdf").await.unwrap();
        set_stage(&app, period, ("explanation", 1), ("round", 2)).await;
        let refused = use_cases
            .attach_evidence(&officer, EvidenceFor::Explanation, &leaf, "", &[file])
            .await;
        assert!(
            matches!(refused, Err(parindex_app::AppError::Forbidden(Some(_)))),
            "{refused:?}"
        );
        assert_eq!(supplementary().await, vec!["dung-han.pdf".to_owned()]);
        app
    }
);
