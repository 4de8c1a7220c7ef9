//! Reviewing the survey over HTTP: the scores page with the hand-computed weighted example and
//! the minimum-sample warning, the report per respondent group and its workbook, the quality
//! checks, and the secretariat's exclusion and re-inclusion of a response, after which every
//! score recomputes by itself.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use parindex_domain::Points;
use parindex_domain::survey::{AnswerOption, Question, QuestionnaireDoc, ResponseAnswers};
use parindex_store::AuditActor;
use parindex_store::audit::AuditFilter;
use parindex_store::survey::NewResponse;
use rust_decimal::Decimal;

use crate::support::fixtures::{open_period, so_set};
use crate::support::{TestApp, download};
use crate::web_test;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The survey of the example: groups DN (weight 1) and CD (weight 3), a questionnaire per
/// group with one question on leaf `leaf`, and the responses:
/// DN: {STP A, SNV A}, {STP B, SNV K}, {STP C}, {STP K — submitted before the window};
/// CD: {STP A, SNV B}, {STP A}, {STP D}, {STP K}, {STP K — a duplicate}.
/// Returns the CD questionnaire's id.
async fn survey_setup(app: &TestApp, period: i64, leaf: &str) -> i64 {
    let stp = app.seed.unit_stp;
    let snv = app.seed.unit_snv;
    let now = parindex_store::now_ms();
    let option = |code: &str, percent: Option<i64>| AnswerOption {
        code: code.into(),
        label: code.into(),
        percent: percent.map(Decimal::from),
    };
    let doc = QuestionnaireDoc {
        questions: vec![Question {
            code: "Q1".into(),
            text: "Ông/bà đánh giá thế nào?".into(),
            leaf_code: leaf.into(),
            options: vec![
                option("A", Some(100)),
                option("B", Some(60)),
                option("C", Some(20)),
                option("D", Some(0)),
                option("K", None),
            ],
        }],
    };
    let definition = serde_json::to_string(&doc).unwrap();
    let answers = |pairs: &[(i64, &str)]| {
        let mut map = BTreeMap::new();
        for (unit, o) in pairs {
            map.insert(*unit, BTreeMap::from([("Q1".to_owned(), (*o).to_owned())]));
        }
        ResponseAnswers(map).encode()
    };
    let response = |key: &str, a: String, at: i64| NewResponse {
        channel: "import",
        source_key: Some(key.into()),
        paper_ref: None,
        entry_no: 1,
        answers: a,
        submitted_at: at,
    };
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.save_survey_settings(period, Some(now - DAY_MS), Some(now + DAY_MS), 3, true)
        .await
        .unwrap();
    let dn = tx
        .save_survey_group(period, "DN", "Doanh nghiệp", 1000, 500, 10)
        .await
        .unwrap();
    let cd = tx
        .save_survey_group(period, "CD", "Công dân", 3000, 5000, 10)
        .await
        .unwrap();
    let q_dn = tx
        .create_questionnaire(period, dn, "Phiếu doanh nghiệp", &definition, &[stp, snv])
        .await
        .unwrap();
    let q_cd = tx
        .create_questionnaire(period, cd, "Phiếu công dân", &definition, &[stp, snv])
        .await
        .unwrap();
    for q in [q_dn, q_cd] {
        tx.set_questionnaire_status(q, "draft", "open")
            .await
            .unwrap();
    }
    tx.add_survey_responses(
        q_dn,
        &[
            response("dn1", answers(&[(stp, "A"), (snv, "A")]), now),
            response("dn2", answers(&[(stp, "B"), (snv, "K")]), now),
            response("dn3", answers(&[(stp, "C")]), now),
            response("dn4", answers(&[(stp, "K")]), now - 10 * DAY_MS),
        ],
        serde_json::json!({ "test": true }),
    )
    .await
    .unwrap();
    tx.add_survey_responses(
        q_cd,
        &[
            response("cd1", answers(&[(stp, "A"), (snv, "B")]), now),
            response("cd2", answers(&[(stp, "A")]), now),
            response("cd3", answers(&[(stp, "D")]), now),
            response("cd4", answers(&[(stp, "K")]), now),
            response("cd5", answers(&[(stp, "K")]), now),
        ],
        serde_json::json!({ "test": true }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    q_cd
}

/// max × mean, rounded half-up to a thousandth, as the scoring does.
fn points(max: Points, mean: Decimal) -> Points {
    Points::new(
        (max.value() * mean)
            .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
    )
}

/// The survey part of STP's scorecard.
async fn stp_survey_part(app: &TestApp, period: i64) -> Points {
    let eval =
        parindex_app::evaluation::UnitEvaluation::load(&app.state, period, app.seed.unit_stp)
            .await
            .unwrap();
    eval.scorecard().unwrap().survey.achieved
}

/// The text of STP's score cell for the leaf (first survey column) on the scores page.
fn stp_score_cell(body: &str) -> String {
    let marker = "data-testid=\"score-STP-0\">";
    let start = body.find(marker).expect("STP's score cell") + marker.len();
    let end = start + body[start..].find('<').unwrap();
    body[start..end].to_owned()
}

web_test!(
    survey_scores_report_quality_and_exclusions,
    |app: TestApp| async move {
        use calamine::Reader;
        let period = open_period(&app).await;
        let set = so_set();
        let leaf = set.leaves().find(|l| l.is_survey()).unwrap();
        let (code, max) = (leaf.code.clone(), leaf.max);
        let q_cd = survey_setup(&app, period, &code).await;

        // STP: DN A, B, C (K) → 0,6; CD A, A, D (K, K) → 2/3; weighted 1:3 → 0,65.
        let expected = points(max, Decimal::new(65, 2));
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat
            .get(&format!("/periods/{period}/survey/scores"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(
            stp_score_cell(&r.body),
            format!("{} / {}", expected.display_vi(), max.display_vi())
        );
        assert!(r.body.contains("65,00%"), "weighted mean shown");
        let warning = {
            let start = r.body.find("data-testid=\"below-minimum\"").unwrap();
            &r.body[start..start + r.body[start..].find("</div>").unwrap()]
        };
        assert!(warning.contains("(3 phiếu)"), "{warning}");
        assert!(
            warning.contains(&format!("SNV – {code} (2 phiếu hợp lệ)")),
            "{warning}"
        );
        assert!(!warning.contains(&format!("STP – {code} (")), "{warning}");
        assert_eq!(stp_survey_part(&app, period).await, expected);

        // The report: per respondent group.
        let r = secretariat
            .get(&format!("/periods/{period}/survey/report"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("60,00%"), "DN's mean");
        assert!(r.body.contains("66,67%"), "CD's mean");

        // The workbook holds the same score, as a number.
        let (status, bytes) = download(
            &app,
            &secretariat,
            &format!("/periods/{period}/survey/report.xlsx"),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let r = secretariat
            .get(&format!("/periods/{period}/survey/report.xlsx"))
            .await;
        assert!(r.header("content-disposition").starts_with("attachment;"));
        assert_eq!(r.header("x-content-type-options"), "nosniff");
        let mut book = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let units = book.worksheet_range("Theo đơn vị").unwrap();
        let row = units
            .rows()
            .find(|r| r[0] == "STP" && r[2] == code.as_str())
            .expect("STP's row");
        let score: f64 = expected.value().to_string().parse().unwrap();
        assert_eq!(row[9], calamine::Data::Float(score));
        assert_eq!(row[11].to_string(), "Không");
        let groups = book.worksheet_range("Theo nhóm đối tượng").unwrap();
        let cd_row = groups
            .rows()
            .find(|r| r[0] == "STP" && r[3] == "CD")
            .expect("STP's CD row");
        assert_eq!(cd_row[6], calamine::Data::Float(66.67));
        assert_eq!(cd_row[7], calamine::Data::Float(3.0));

        // Quality: the duplicate and the response outside the window are flagged.
        let r = secretariat
            .get(&format!("/periods/{period}/survey/quality"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Trùng với một phiếu trước"), "{}", r.body);
        assert!(r.body.contains("Nộp ngoài thời gian khảo sát"));

        // Exclude CD's D answer: CD becomes 1 → (0,6 + 3) / 4 = 0,9.
        let d_answer = ResponseAnswers(BTreeMap::from([(
            app.seed.unit_stp,
            BTreeMap::from([("Q1".to_owned(), "D".to_owned())]),
        )]))
        .encode();
        let rid = app
            .store()
            .period_survey_responses(period)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.questionnaire_id == q_cd && r.answers == d_answer)
            .unwrap()
            .id;
        let exclude = format!("/survey-responses/{rid}/exclude");
        let include = format!("/survey-responses/{rid}/include");

        let mut operator = app.login_as("khaosat").await;
        let r = operator
            .post(&exclude, &[("reason", "Phiếu nhập nhầm")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = secretariat.post(&exclude, &[("reason", "  ")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let long = "x".repeat(501);
        let r = secretariat.post(&exclude, &[("reason", &long)]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = secretariat
            .post("/survey-responses/987654/exclude", &[("reason", "x")])
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        let r = secretariat
            .post(&exclude, &[("reason", "Phiếu nhập nhầm")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            r.location(),
            format!("/periods/{period}/survey/quality?ok=saved")
        );
        let excluded = points(max, Decimal::new(9, 1));
        assert_ne!(excluded, expected);
        let r = secretariat
            .get(&format!("/periods/{period}/survey/scores"))
            .await;
        assert_eq!(
            stp_score_cell(&r.body),
            format!("{} / {}", excluded.display_vi(), max.display_vi())
        );
        assert_eq!(stp_survey_part(&app, period).await, excluded);
        let audit = app
            .store()
            .audit_list(&AuditFilter {
                action: Some("survey.response.exclude".into()),
                object_id: Some(rid.to_string()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        let r = secretariat
            .get(&format!("/periods/{period}/survey/quality"))
            .await;
        assert!(r.body.contains(&format!("id=\"excluded-{rid}\"")));
        assert!(r.body.contains("Phiếu nhập nhầm"));
        // Twice is refused.
        let r = secretariat.post(&exclude, &[("reason", "Lần nữa")]).await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        // Include again, with a reason: back to the first score.
        let r = secretariat.post(&include, &[("reason", "")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = operator.post(&include, &[("reason", "Nhầm")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = secretariat
            .post(&include, &[("reason", "Đã đối chiếu phiếu giấy")])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = secretariat
            .get(&format!("/periods/{period}/survey/scores"))
            .await;
        assert_eq!(
            stp_score_cell(&r.body),
            format!("{} / {}", expected.display_vi(), max.display_vi())
        );
        assert_eq!(stp_survey_part(&app, period).await, expected);
        let audit = app
            .store()
            .audit_list(&AuditFilter {
                action: Some("survey.response.include_reason".into()),
                object_id: Some(rid.to_string()),
                limit: 10,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);
        app
    }
);

web_test!(
    survey_review_pages_are_closed_to_unit_officers,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let mut officer = app.login_as("canbo.stp").await;
        for page in ["scores", "report", "report.xlsx", "quality"] {
            let r = officer
                .get(&format!("/periods/{period}/survey/{page}"))
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{page}");
        }
        // The survey operator and the council read them.
        for who in ["khaosat", "hoidong"] {
            let mut client = app.login_as(who).await;
            let r = client
                .get(&format!("/periods/{period}/survey/quality"))
                .await;
            assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
            assert!(!r.body.contains("/exclude\""), "{who} sees no exclude form");
        }
        app
    }
);

/// STP's survey part and total on the (cached) results of the period.
async fn stp_result(app: &TestApp, period: i64) -> (i64, i64) {
    let results = parindex_app::results::PeriodResults::load(
        &app.state,
        period,
        parindex_app::results::Audience::Internal,
    )
    .await
    .unwrap();
    let stp = results.unit(app.seed.unit_stp).expect("STP's result");
    (stp.snap.survey_milli, stp.snap.total_milli)
}

web_test!(
    swapping_two_weights_recomputes_the_survey_score,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let leaf = set.leaves().find(|l| l.is_survey()).unwrap();
        let (code, max) = (leaf.code.clone(), leaf.max);
        survey_setup(&app, period, &code).await;
        let mut secretariat = app.login_as("thuky").await;

        // DN 1, CD 3 → 0,65; both caches (survey scores, results) are filled here.
        let before = points(max, Decimal::new(65, 2));
        let r = secretariat
            .get(&format!("/periods/{period}/survey/scores"))
            .await;
        assert_eq!(
            stp_score_cell(&r.body),
            format!("{} / {}", before.display_vi(), max.display_vi())
        );
        assert_eq!(stp_survey_part(&app, period).await, before);
        let (survey_before, total_before) = stp_result(&app, period).await;

        // Swap: DN 3, CD 1 → (3 × 0,6 + 1 × 2/3) / 4 = 0,61666… The sum of the weights and of
        // the group ids stays the same, so a summed fingerprint would not move.
        let mut operator = app.login_as("khaosat").await;
        for (group, name, weight) in [("DN", "Doanh nghiệp", "3"), ("CD", "Công dân", "1")] {
            let population = if group == "DN" { "500" } else { "5000" };
            let r = operator
                .post(
                    &format!("/periods/{period}/survey/groups"),
                    &[
                        ("code", group),
                        ("name", name),
                        ("weight", weight),
                        ("population", population),
                        ("target", "10"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
        let groups = app.store().survey_groups(period).await.unwrap();
        let weights: Vec<(&str, i64)> = groups
            .iter()
            .map(|g| (g.code.as_str(), g.weight_milli))
            .collect();
        assert_eq!(weights, [("CD", 1000), ("DN", 3000)]);

        let after = points(
            max,
            (Decimal::from(3) * Decimal::new(6, 1) + Decimal::from(2) / Decimal::from(3))
                / Decimal::from(4),
        );
        assert_ne!(after, before);
        let r = secretariat
            .get(&format!("/periods/{period}/survey/scores"))
            .await;
        assert_eq!(
            stp_score_cell(&r.body),
            format!("{} / {}", after.display_vi(), max.display_vi())
        );
        assert_eq!(stp_survey_part(&app, period).await, after);
        let (survey_after, total_after) = stp_result(&app, period).await;
        let moved = i64::try_from((after.value() - before.value()) * Decimal::from(1000)).unwrap();
        assert_eq!(survey_after - survey_before, moved);
        assert_eq!(
            total_after - total_before,
            moved,
            "the unit's total moves too"
        );
        app
    }
);

web_test!(
    a_second_paper_entry_is_no_duplicate,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let set = so_set();
        let code = set.leaves().find(|l| l.is_survey()).unwrap().code.clone();
        let q_cd = survey_setup(&app, period, &code).await;
        let stp = app.seed.unit_stp;
        let snv = app.seed.unit_snv;
        // Paper form P-7 keyed twice, identically (double entry), and an online response
        // that repeats an excluded one.
        let answers = |o: &str| {
            ResponseAnswers(BTreeMap::from([
                (stp, BTreeMap::from([("Q1".to_owned(), o.to_owned())])),
                (snv, BTreeMap::from([("Q1".to_owned(), "D".to_owned())])),
            ]))
            .encode()
        };
        let now = parindex_store::now_ms();
        let paper = |entry_no: i64| NewResponse {
            channel: "paper",
            source_key: None,
            paper_ref: Some("P-7".into()),
            entry_no,
            answers: answers("B"),
            submitted_at: now,
        };
        let online = |key: &str| NewResponse {
            channel: "import",
            source_key: Some(key.into()),
            paper_ref: None,
            entry_no: 1,
            answers: answers("C"),
            submitted_at: now,
        };
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.add_survey_responses(
            q_cd,
            &[paper(1), paper(2), online("x1"), online("x2")],
            serde_json::json!({ "test": true }),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let responses = app.store().period_survey_responses(period).await.unwrap();
        let id_of = |pred: &dyn Fn(&parindex_store::survey::SurveyResponse) -> bool| {
            responses.iter().find(|r| pred(r)).unwrap().id
        };
        let first = id_of(&|r| r.paper_ref.as_deref() == Some("P-7") && r.entry_no == 1);
        let second = id_of(&|r| r.paper_ref.as_deref() == Some("P-7") && r.entry_no == 2);
        let x1 = id_of(&|r| r.answers == answers("C") && r.id != second && r.id != first);
        let x2 = responses
            .iter()
            .filter(|r| r.answers == answers("C"))
            .map(|r| r.id)
            .max()
            .unwrap();
        assert_ne!(x1, x2);

        let mut secretariat = app.login_as("thuky").await;
        let quality = format!("/periods/{period}/survey/quality");
        let r = secretariat.get(&quality).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(!r.body.contains(&format!("id=\"response-{first}\"")));
        assert!(
            !r.body.contains(&format!("id=\"response-{second}\"")),
            "a correct second entry is not a duplicate"
        );
        assert!(
            r.body.contains(&format!("id=\"response-{x2}\"")),
            "a real duplicate is"
        );
        assert!(r.body.contains("Trùng với một phiếu trước"));

        // Once the first of the two is excluded, the other is no longer a duplicate of it.
        let r = secretariat
            .post(
                &format!("/survey-responses/{x1}/exclude"),
                &[("reason", "Phiếu thử")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = secretariat.get(&quality).await;
        assert!(
            !r.body.contains(&format!("id=\"response-{x2}\"")),
            "{}",
            r.body
        );
        app
    }
);
