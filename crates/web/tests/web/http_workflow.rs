//! The appraisal workflow over HTTP: assignments refuse a conflict of interest (saving nothing),
//! the period's stage machine refuses every transition its guard forbids and leaves the stage
//! unchanged, a closed round notifies the units with flagged leaves, the decision needs a
//! signed PDF, publication freezes the results, and a correction is a new publication that
//! keeps the earlier one.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parindex_domain::rules::LeafSource;
use parindex_store::AuditActor;
use parindex_store::appraisal::AppraisalWrite;

use crate::support::fixtures::{self, open_period, so_set};
use crate::support::{TestApp, TestClient, TestResponse};
use crate::web_test;

/// The self-assessed leaves of the departments set (the ones appraisers check).
fn self_leaves() -> Vec<String> {
    let set = so_set();
    set.leaves()
        .filter(|l| {
            l.rule
                .as_ref()
                .is_some_and(|r| matches!(r.source(), LeafSource::SelfAssessed))
                && set
                    .index_of(&l.code)
                    .is_some_and(|i| set.applies_to_group(i, "SO"))
        })
        .map(|l| l.code.clone())
        .collect()
}

async fn stage(app: &TestApp, period: i64) -> (String, i64) {
    let p = app.store().get_period(period).await.unwrap();
    let (code, round) = p.stage.stored();
    (code.to_owned(), round)
}

async fn submit(app: &TestApp, period: i64, unit: i64) {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.submit_self_assessment(period, unit).await.unwrap();
    tx.commit().await.unwrap();
}

/// Writes an appraisal of each leaf in `round` (flagging the ones in `flag`).
async fn appraise(
    app: &TestApp,
    period: i64,
    unit: i64,
    round: i64,
    leaves: &[String],
    flag: &[&str],
) {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    for code in leaves {
        tx.save_appraisal(
            period,
            unit,
            code,
            round,
            0,
            &AppraisalWrite {
                input_json: "{}".into(),
                score_milli: Some(0),
                not_applicable: false,
                explanation: String::new(),
                remark: "Thiếu tài liệu kiểm chứng".into(),
                needs_explanation: flag.contains(&code.as_str()),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn is_submitted(app: &TestApp, period: i64, unit: i64) -> bool {
    app.store()
        .period_unit(period, unit)
        .await
        .unwrap()
        .submitted_at
        .is_some()
}

async fn act(client: &mut TestClient, period: i64, action: &str) -> TestResponse {
    client
        .post(&format!("/periods/{period}/stage"), &[("action", action)])
        .await
}

/// Posts the decision form as multipart: text fields and an optional file.
async fn post_decision(
    client: &mut TestClient,
    period: i64,
    fields: &[(&str, &str)],
    file: Option<(&str, &[u8])>,
) -> TestResponse {
    let token = client.csrf().await;
    let boundary = "----parindex-workflow-boundary";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    client
        .send(
            Request::post(format!("/periods/{period}/decision?csrf={token}"))
                .header(
                    header::CONTENT_TYPE,
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(Body::from(body))
                .unwrap(),
        )
        .await
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

web_test!(
    assignments_refuse_a_conflict_of_interest_and_save_nothing,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let (stp, snv) = (app.seed.unit_stp, app.seed.unit_snv);
        let appraiser = app.seed.users["thamdinh"].to_string();
        let (stp_s, snv_s) = (stp.to_string(), snv.to_string());
        let mut secretariat = app.login_as("thuky").await;
        let page = secretariat
            .get(&format!("/periods/{period}/assignments"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);

        // SNV is the appraiser's own unit: refused, and the valid STP pair is not saved either.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[
                    ("appraiser", &appraiser),
                    ("unit", &stp_s),
                    ("unit", &snv_s),
                    ("node", "1"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body
                .contains("Thành viên tổ thẩm định không được thẩm định chính đơn vị của mình"),
            "{}",
            r.body
        );
        assert!(r.body.contains("Sở Nội vụ"));
        assert!(app.store().assignments(period).await.unwrap().is_empty());

        // The same through "the whole team of SNV" with SNV ticked: an explicit pair, refused.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("team_unit", &snv_s), ("unit", &snv_s), ("node", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(app.store().assignments(period).await.unwrap().is_empty());

        // An unknown node code: refused.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[
                    ("appraiser", &appraiser),
                    ("unit", &stp_s),
                    ("codes", "99.99"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("99.99"));
        assert!(app.store().assignments(period).await.unwrap().is_empty());

        // A unit outside the period: refused.
        let huyen = app.seed.unit_huyen.to_string();
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("appraiser", &appraiser), ("unit", &huyen), ("node", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(app.store().assignments(period).await.unwrap().is_empty());

        // STP: saved.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[
                    ("appraiser", &appraiser),
                    ("unit", &stp_s),
                    ("codes", "1, 2"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let saved = app.store().assignments(period).await.unwrap();
        assert_eq!(saved.len(), 2);
        assert!(saved.iter().all(|a| a.unit_id == stp));
        let page = secretariat
            .get(&format!("/periods/{period}/assignments"))
            .await;
        assert!(page.body.contains("data-testid=\"workload\""));

        // Removing one.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments/{}/remove", saved[0].id),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(app.store().assignments(period).await.unwrap().len(), 1);

        // A unit officer may not assign.
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .post(
                &format!("/periods/{period}/assignments"),
                &[("appraiser", &appraiser), ("unit", &stp_s), ("node", "3")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(
            officer
                .get(&format!("/periods/{period}/assignments"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.store().assignments(period).await.unwrap().len(), 1);
        app
    }
);

web_test!(
    the_period_moves_through_its_stages_only_as_allowed,
    |app: TestApp| async move {
        let stp = app.seed.unit_stp;
        let period = fixtures::period(&app).units(&[stp]).open().await;
        let leaves = self_leaves();
        let mut secretariat = app.login_as("thuky").await;

        // The period page shows the stage and the one next action.
        let page = secretariat.get(&format!("/periods/{period}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("Tự đánh giá"));
        assert!(page.body.contains("value=\"start\""));

        // Not before the unit submitted (its deadline is ahead).
        let r = act(&mut secretariat, period, "start").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Sở Tư pháp"), "{}", r.body);
        assert_eq!(stage(&app, period).await, ("self".into(), 0));
        // Nothing but start is allowed now.
        for action in ["close_round", "next_round", "bogus"] {
            let r = act(&mut secretariat, period, action).await;
            assert!(r.status.is_client_error(), "{action}: {}", r.status);
        }
        assert_eq!(stage(&app, period).await, ("self".into(), 0));

        submit(&app, period, stp).await;
        let r = act(&mut secretariat, period, "start").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("round".into(), 1));
        // Twice: refused.
        let r = act(&mut secretariat, period, "start").await;
        assert!(r.status.is_client_error());
        // Publish and decision in round 1: refused.
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert!(r.status.is_client_error());
        assert_eq!(stage(&app, period).await, ("round".into(), 1));

        // Closing: every leaf is unassigned.
        let r = act(&mut secretariat, period, "close_round").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("chưa phân công người thẩm định"));
        assert!(r.body.contains(&leaves[0]));
        // Assigned but not appraised.
        let appraiser = app.seed.users["thamdinh"].to_string();
        let stp_s = stp.to_string();
        let mut fields: Vec<(&str, &str)> = vec![("appraiser", &appraiser), ("unit", &stp_s)];
        let set = so_set();
        let domains: Vec<String> = set.domains().map(|d| d.code.clone()).collect();
        for d in &domains {
            fields.push(("node", d));
        }
        let r = secretariat
            .post(&format!("/periods/{period}/assignments"), &fields)
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = act(&mut secretariat, period, "close_round").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("chưa thẩm định"));
        assert_eq!(stage(&app, period).await, ("round".into(), 1));

        // Appraised (the first leaf flagged): closes into the explanation round, and the
        // unit's officer is told.
        appraise(&app, period, stp, 1, &leaves, &[leaves[0].as_str()]).await;
        let board = secretariat.get(&format!("/periods/{period}")).await;
        assert!(
            board
                .body
                .contains(&format!("{}/{}", leaves.len(), leaves.len()))
        );
        // The explanation deadline is set as the round closes; a bad date changes nothing.
        let board = secretariat.get(&format!("/periods/{period}")).await;
        assert!(board.body.contains("name=\"explanation_due\""));
        let r = secretariat
            .post(
                &format!("/periods/{period}/stage"),
                &[("action", "close_round"), ("explanation_due", "32/01/2027")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("round".into(), 1));
        let due = parindex_domain::text::format_date_vi(
            time::OffsetDateTime::now_utc().date() + time::Duration::days(7),
        );
        let r = secretariat
            .post(
                &format!("/periods/{period}/stage"),
                &[("action", "close_round"), ("explanation_due", &due)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("explanation".into(), 1));
        let deadlines = app.store().explanation_deadlines(period).await.unwrap();
        assert_eq!(deadlines.len(), 1);
        assert_eq!(deadlines[0].0, 1);
        let board = secretariat.get(&format!("/periods/{period}")).await;
        assert!(board.body.contains(&due), "{}", board.body);
        let officer_id = app.seed.users["canbo.stp"];
        let notes = app.store().notifications(officer_id, 10).await.unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].title.contains("1 tiêu chí cần giải trình"));
        assert_eq!(
            notes[0].link,
            format!("/periods/{period}/units/{stp}/explanation")
        );

        let r = act(&mut secretariat, period, "close_round").await;
        assert!(r.status.is_client_error());
        // The flagged unit answers; then the next round opens (the wait for units still
        // within their deadline is in http_trust_workflow.rs).
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.submit_explanations(period, stp, 1).await.unwrap();
        tx.commit().await.unwrap();
        let r = act(&mut secretariat, period, "next_round").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("round".into(), 2));

        // A decision is dated today or earlier.
        let signed = parindex_domain::text::format_date_vi(
            time::OffsetDateTime::now_utc().date() - time::Duration::days(1),
        );
        // A decision in round 2: refused.
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", "123/QĐ-UBND"), ("date", signed.as_str())],
            Some(("qd.pdf", PDF)),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        assert_eq!(stage(&app, period).await, ("round".into(), 2));

        // The flagged leaf must be appraised again.
        let r = act(&mut secretariat, period, "close_round").await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("chưa thẩm định lại"));
        appraise(&app, period, stp, 2, &leaves[..1], &[]).await;
        // The set has survey leaves and no response was collected: the secretariat confirms
        // with a reason (the refusal itself is in http_trust_workflow.rs).
        let r = secretariat
            .post(
                &format!("/periods/{period}/stage"),
                &[
                    ("action", "close_round"),
                    ("override_reason", "Khảo sát được tổng hợp sau"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("council".into(), 0));

        // Council review: the council sees provisional results; a unit officer does not.
        let mut council = app.login_as("hoidong").await;
        let r = council.get(&format!("/periods/{period}/results")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Tạm tính"));
        let mut officer = app.login_as("canbo.stp").await;
        assert_eq!(
            officer
                .get(&format!("/periods/{period}/results"))
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let r = secretariat.get(&format!("/periods/{period}/results")).await;
        assert_eq!(r.status, StatusCode::OK);

        // Publish before the decision: refused.
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert!(r.status.is_client_error());

        // The decision needs its number, date and a real PDF.
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", "123/QĐ-UBND"), ("date", signed.as_str())],
            None,
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", "123/QĐ-UBND"), ("date", signed.as_str())],
            Some(("qd.pdf", b"just some text, not a pdf")),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", "123/QĐ-UBND"), ("date", signed.as_str())],
            Some(("qd.txt", b"plain text")),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", ""), ("date", signed.as_str())],
            Some(("qd.pdf", PDF)),
        )
        .await;
        assert!(r.status.is_client_error(), "{}", r.status);
        assert_eq!(stage(&app, period).await, ("council".into(), 0));
        assert!(
            app.store()
                .get_period(period)
                .await
                .unwrap()
                .decision_number
                .is_none()
        );
        let r = post_decision(
            &mut secretariat,
            period,
            &[("number", "123/QĐ-UBND"), ("date", signed.as_str())],
            Some(("qd.pdf", PDF)),
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("approved".into(), 0));
        let stored = app.store().get_period(period).await.unwrap();
        assert_eq!(stored.decision_number.as_deref(), Some("123/QĐ-UBND"));
        assert_eq!(stored.decision_date.as_deref(), Some(signed.as_str()));
        let pdf = secretariat
            .get(&format!("/periods/{period}/decision.pdf"))
            .await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert!(pdf.body.starts_with("%PDF"));
        assert_eq!(pdf.header("x-content-type-options"), "nosniff");
        assert!(pdf.header("content-disposition").starts_with("attachment"));

        // Publish: frozen, one publication per unit, everyone concerned told.
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("published".into(), 0));
        let published = app.store().published_results(period).await.unwrap();
        assert_eq!(published.len(), 1);
        assert_eq!(published[0].publication, 1);
        let first_total = published[0].total_milli;
        let notes = app.store().notifications(officer_id, 10).await.unwrap();
        assert!(notes.iter().any(|n| n.title.contains("đã được công bố")));
        let council_id = app.seed.users["hoidong"];
        assert_eq!(
            app.store()
                .notifications(council_id, 10)
                .await
                .unwrap()
                .len(),
            1
        );
        let r = act(&mut secretariat, period, "start").await;
        assert!(r.status.is_client_error());
        let r = secretariat
            .post(&format!("/periods/{period}/publish"), &[])
            .await;
        assert!(r.status.is_client_error());
        let r = council.get(&format!("/periods/{period}/results")).await;
        assert!(r.body.contains("Chính thức"));

        // A correction without reopening: refused.
        let leaf = set.node(&leaves[0]).unwrap();
        let max = leaf.max.display_vi();
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/corrections/{}", leaves[0]),
                &[("points", &max), ("reason", "Sai sót khi tổng hợp")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            app.store()
                .corrections(period, stp)
                .await
                .unwrap()
                .is_empty()
        );
        // Reopen needs a reason.
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/reopen"),
                &[("reason", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/reopen"),
                &[("reason", "Đơn vị khiếu nại tiêu chí 1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // Out of range, and no reason: refused.
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/corrections/{}", leaves[0]),
                &[("points", "999"), ("reason", "Sai sót khi tổng hợp")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/corrections/{}", leaves[0]),
                &[("points", &max), ("reason", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/corrections/{}", leaves[0]),
                &[("points", &max), ("reason", "Sai sót khi tổng hợp")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(app.store().corrections(period, stp).await.unwrap().len(), 1);
        let r = secretariat
            .post(&format!("/periods/{period}/units/{stp}/republish"), &[])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let published = app.store().published_results(period).await.unwrap();
        assert_eq!(published.len(), 2);
        assert_eq!(published[0].publication, 1);
        assert_eq!(published[0].total_milli, first_total);
        assert_eq!(published[1].publication, 2);
        assert_eq!(published[1].reason, "Đơn vị khiếu nại tiêu chí 1");
        assert!(published[1].total_milli > first_total);
        // The reopening is closed again: no more corrections.
        let r = secretariat
            .post(
                &format!("/periods/{period}/units/{stp}/corrections/{}", leaves[0]),
                &[("points", "0"), ("reason", "Sai sót khi tổng hợp")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = council.get(&format!("/periods/{period}/results")).await;
        assert!(r.body.contains("data-testid=\"publications-"));
        app
    }
);

web_test!(
    bulk_assignment_by_group_leaves_out_the_teams_own_unit,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let snv = app.seed.unit_snv;
        let snv_s = snv.to_string();
        let so_units: Vec<i64> = app
            .store()
            .period_units(period)
            .await
            .unwrap()
            .iter()
            .filter(|u| u.group_code == "SO")
            .map(|u| u.unit_id)
            .collect();
        assert!(
            so_units.contains(&snv) && so_units.len() >= 2,
            "{so_units:?}"
        );
        let team = app
            .store()
            .users_with_role("appraiser", Some(snv))
            .await
            .unwrap();
        assert!(!team.is_empty());
        // "The SNV team appraises domain 2 for all units": saved for every other unit, and the
        // page says SNV was left out and why.
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("team_unit", &snv_s), ("unit_group", "SO"), ("node", "2")],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let skipped = &r.body[r
            .body
            .find("data-testid=\"assignment-skipped\"")
            .expect("skipped pairs listed")..];
        let skipped = &skipped[..skipped.find("</div>").unwrap()];
        assert!(
            skipped.contains("không được thẩm định chính đơn vị của mình"),
            "{skipped}"
        );
        assert!(skipped.contains("Sở Nội vụ"), "{skipped}");
        let saved = app.store().assignments(period).await.unwrap();
        assert_eq!(saved.len(), team.len() * (so_units.len() - 1), "{saved:?}");
        assert!(saved.iter().all(|a| a.unit_id != snv && a.node_code == "2"));

        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("team_unit", &snv_s), ("unit_group", "SO"), ("node", "2")],
            )
            .await;
        // Again: the same pairs, saved again without duplicates.
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            app.store().assignments(period).await.unwrap().len(),
            saved.len()
        );
        app
    }
);

web_test!(
    assignments_and_reopening_follow_the_stage,
    |app: TestApp| async move {
        let stp = app.seed.unit_stp;
        let stp_s = stp.to_string();
        let period = fixtures::period(&app).units(&[stp]).open().await;
        let appraiser = app.seed.users["thamdinh"].to_string();
        let mut secretariat = app.login_as("thuky").await;
        // The period page shows the number of rounds.
        let page = secretariat.get(&format!("/periods/{period}")).await;
        assert!(
            page.body.contains("data-testid=\"rounds\">2<"),
            "{}",
            page.body
        );
        // During self-assessment a submission may be reopened.
        submit(&app, period, stp).await;
        let reopen = format!("/periods/{period}/units/{stp}/reopen");
        let page = secretariat.get(&format!("/periods/{period}")).await;
        assert!(page.body.contains(&reopen));
        let r = secretariat
            .post(&reopen, &[("reason", "Đơn vị xin sửa tiêu chí 1")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(!is_submitted(&app, period, stp).await);
        submit(&app, period, stp).await;
        let r = act(&mut secretariat, period, "start").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // In round 1: assignments still change; reopening the sheet is refused.
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("appraiser", &appraiser), ("unit", &stp_s), ("node", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let assignment = app.store().assignments(period).await.unwrap()[0].id;
        let r = secretariat
            .post(&reopen, &[("reason", "Đơn vị xin sửa tiêu chí 1")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            r.body.contains("Không thể mở lại phần tự đánh giá"),
            "{}",
            r.body
        );
        assert!(is_submitted(&app, period, stp).await);
        let page = secretariat.get(&format!("/periods/{period}")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        // The period page itself, now without the reopen action.
        assert!(
            page.body.contains("data-testid=\"rounds\">2<"),
            "{}",
            page.body
        );
        assert!(!page.body.contains(&reopen));

        // From the council on: neither assignments nor reopening.
        for (from, to) in [
            (("round", 1), ("council", 0)),
            (("council", 0), ("approved", 0)),
            (("approved", 0), ("published", 0)),
        ] {
            let mut tx = app
                .store()
                .begin_write(AuditActor::system("test"))
                .await
                .unwrap();
            tx.set_period_stage(period, from, to).await.unwrap();
            tx.commit().await.unwrap();
            let r = secretariat
                .post(
                    &format!("/periods/{period}/assignments"),
                    &[("appraiser", &appraiser), ("unit", &stp_s), ("node", "2")],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{to:?}: {}", r.body);
            let r = secretariat
                .post(
                    &format!("/periods/{period}/assignments/{assignment}/remove"),
                    &[],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{to:?}: {}", r.body);
            assert_eq!(app.store().assignments(period).await.unwrap().len(), 1);
            let page = secretariat
                .get(&format!("/periods/{period}/assignments"))
                .await;
            assert_eq!(page.status, StatusCode::OK, "{}", page.body);
            assert!(page.body.contains("assignments-closed"), "{}", page.body);
            // The assignment is still listed, only without its remove action.
            assert!(page.body.contains("Người thử thamdinh"), "{}", page.body);
            assert!(!page.body.contains("/remove"));
            if to.0 != "published" {
                let r = secretariat
                    .post(&reopen, &[("reason", "Đơn vị xin sửa tiêu chí 1")])
                    .await;
                assert_eq!(r.status, StatusCode::FORBIDDEN, "{to:?}: {}", r.body);
                assert!(is_submitted(&app, period, stp).await);
            }
        }
        app
    }
);

web_test!(a_republished_unit_is_announced, |app: TestApp| async move {
    let stp = app.seed.unit_stp;
    let period = fixtures::period(&app).units(&[stp]).open().await;
    submit(&app, period, stp).await;
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.set_period_stage(period, ("self", 0), ("approved", 0))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut secretariat = app.login_as("thuky").await;
    let r = secretariat
        .post(&format!("/periods/{period}/publish"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let officer = app.seed.users["canbo.stp"];
    let council = app.seed.users["hoidong"];
    let published = |n: &parindex_store::appraisal::Notification| n.kind == "published";
    let before_officer = app.store().notifications(officer, 50).await.unwrap();
    assert_eq!(before_officer.iter().filter(|n| published(n)).count(), 1);
    let r = secretariat
        .post(
            &format!("/periods/{period}/units/{stp}/reopen"),
            &[("reason", "Đơn vị khiếu nại tiêu chí 1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = secretariat
        .post(&format!("/periods/{period}/units/{stp}/republish"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for user in [officer, council] {
        let notes = app.store().notifications(user, 50).await.unwrap();
        let again: Vec<_> = notes
            .iter()
            .filter(|n| published(n) && n.title.contains("công bố lại"))
            .collect();
        assert_eq!(again.len(), 1, "{notes:?}");
        assert!(again[0].body.contains("Đơn vị khiếu nại tiêu chí 1"));
        assert!(again[0].body.contains("lần 2"));
        assert_eq!(
            again[0].link,
            format!("/periods/{period}/results#unit-{stp}")
        );
    }
    // Another unit's officer is not told about STP's correction.
    let snv_officers = app
        .store()
        .users_with_role("unit_officer", Some(app.seed.unit_snv))
        .await
        .unwrap();
    for (id, _) in snv_officers {
        assert!(
            app.store()
                .notifications(id, 50)
                .await
                .unwrap()
                .iter()
                .all(|n| !n.title.contains("công bố lại"))
        );
    }
    app
});
