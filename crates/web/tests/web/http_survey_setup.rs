//! Survey setup over HTTP: settings, respondent groups with the sample-size helper,
//! questionnaires (questions only for survey leaves, the draft → open life cycle, new
//! versions), the printable version, progress against the plan, and who may see it.

use axum::http::StatusCode;
use parindex_domain::rules::RuleSpec;
use parindex_domain::survey::QuestionnaireDoc;
use parindex_store::AuditActor;
use parindex_store::survey::NewResponse;

use crate::support::fixtures::{open_period, so_set};
use crate::support::{TestApp, TestClient};
use crate::web_test;

fn leaf_of_kind(pick: impl Fn(&RuleSpec) -> bool) -> String {
    so_set()
        .leaves()
        .find(|l| l.rule.as_ref().is_some_and(&pick))
        .unwrap()
        .code
        .clone()
}

/// A group and a draft questionnaire about `units`, straight in the store (setup only).
async fn questionnaire_in_store(app: &TestApp, period: i64, units: &[i64]) -> i64 {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let group = tx
        .save_survey_group(period, "ND", "Người dân", 1000, 10_000, 10)
        .await
        .unwrap();
    let qid = tx
        .create_questionnaire(
            period,
            group,
            "Phiếu người dân",
            "{\"questions\":[]}",
            units,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    qid
}

fn id_from(location: &str) -> i64 {
    location
        .trim_start_matches("/questionnaires/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

async fn doc_of(app: &TestApp, qid: i64) -> QuestionnaireDoc {
    serde_json::from_str(&app.store().questionnaire(qid).await.unwrap().definition).unwrap()
}

const OPTIONS: &str =
    "A|Rất hài lòng|100\nB|Hài lòng|60\nC|Chưa hài lòng|20\nD|Rất không hài lòng|0\nK|Không biết|";

async fn add_question(
    client: &mut TestClient,
    qid: i64,
    code: &str,
    leaf: &str,
) -> crate::support::TestResponse {
    client
        .post(
            &format!("/questionnaires/{qid}/questions"),
            &[
                ("code", code),
                ("text", "Ông/bà hài lòng thế nào về việc tiếp nhận hồ sơ?"),
                ("leaf", leaf),
                ("options", OPTIONS),
            ],
        )
        .await
}

web_test!(groups_settings_and_sample_size, |app: TestApp| async move {
    let period = open_period(&app).await;
    let mut operator = app.login_as("khaosat").await;
    let page = operator.get("/survey").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&format!("/periods/{period}/survey")));
    assert!(page.body.contains("href=\"/survey\""), "nav entry");

    let r = operator
        .post(
            &format!("/periods/{period}/survey/groups"),
            &[
                ("code", "ND"),
                ("name", "Người dân"),
                ("weight", "1,5"),
                ("population", "10000"),
                ("target", "30"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let groups = app.store().survey_groups(period).await.unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].weight_milli, 1500);
    assert_eq!(groups[0].population, 10_000);
    assert_eq!(groups[0].target_per_unit, 30);

    // Invalid weights are refused and nothing changes.
    for weight in ["0", "-1", "1,2345", "abc", "1.5", ""] {
        let r = operator
            .post(
                &format!("/periods/{period}/survey/groups"),
                &[
                    ("code", "ND"),
                    ("name", "Người dân"),
                    ("weight", weight),
                    ("population", "5"),
                    ("target", "3"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{weight}");
        assert!(r.body.contains("Trọng số"), "{}", r.body);
    }
    // A bad code or population too.
    for (code, population) in [("N D", "5"), ("DN", "-3"), ("DN", "abc")] {
        let r = operator
            .post(
                &format!("/periods/{period}/survey/groups"),
                &[
                    ("code", code),
                    ("name", "Doanh nghiệp"),
                    ("weight", "1"),
                    ("population", population),
                    ("target", "3"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code} {population}"
        );
    }
    assert_eq!(app.store().survey_groups(period).await.unwrap(), groups);

    // The sample-size helper next to N, and the standalone calculator.
    let page = operator.get(&format!("/periods/{period}/survey")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("data-testid=\"sample-ND\">385<"),
        "{}",
        page.body
    );
    let calc = operator
        .get(&format!("/periods/{period}/survey?n=10000&e=5"))
        .await;
    assert!(calc.body.contains("n = 385"), "{}", calc.body);
    let calc = operator
        .get(&format!("/periods/{period}/survey?n=abc&e=5"))
        .await;
    assert_eq!(calc.status, StatusCode::OK);
    assert!(calc.body.contains("data-testid=\"calc-error\""));

    // Settings.
    let r = operator
        .post(
            &format!("/periods/{period}/survey/settings"),
            &[
                ("open", "01/10/2026"),
                ("close", "31/10/2026"),
                ("min_sample", "50"),
                ("weighted", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let saved = app.store().get_period(period).await.unwrap();
    assert_eq!(saved.survey_min_sample, 50);
    assert!(saved.survey_weighted);
    assert!(saved.survey_open_at.unwrap() < saved.survey_close_at.unwrap());
    let page = operator.get(&format!("/periods/{period}/survey")).await;
    assert!(page.body.contains("value=\"01/10/2026\""), "{}", page.body);
    assert!(page.body.contains("value=\"31/10/2026\""));
    for fields in [
        [
            ("open", "31/10/2026"),
            ("close", "01/10/2026"),
            ("min_sample", "5"),
            ("weighted", "no"),
        ],
        [
            ("open", "32/10/2026"),
            ("close", ""),
            ("min_sample", "5"),
            ("weighted", "no"),
        ],
        [
            ("open", ""),
            ("close", ""),
            ("min_sample", "0"),
            ("weighted", "no"),
        ],
        [
            ("open", ""),
            ("close", ""),
            ("min_sample", "5"),
            ("weighted", "maybe"),
        ],
    ] {
        let r = operator
            .post(&format!("/periods/{period}/survey/settings"), &fields)
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
    }
    let after = app.store().get_period(period).await.unwrap();
    assert_eq!(after.survey_min_sample, 50);
    assert_eq!(after.survey_open_at, saved.survey_open_at);
    app
});

web_test!(questionnaire_life_cycle, |app: TestApp| async move {
    let period = open_period(&app).await;
    let stp = app.seed.unit_stp;
    let snv = app.seed.unit_snv;
    let survey_leaf = leaf_of_kind(|r| matches!(r, RuleSpec::Survey));
    let binary_leaf = leaf_of_kind(|r| matches!(r, RuleSpec::Binary));
    let mut operator = app.login_as("khaosat").await;
    let r = operator
        .post(
            &format!("/periods/{period}/survey/groups"),
            &[
                ("code", "ND"),
                ("name", "Người dân"),
                ("weight", "1"),
                ("population", "1000"),
                ("target", "10"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // No unit chosen, or an unknown group: refused.
    let r = operator
        .post(
            &format!("/periods/{period}/survey/questionnaires"),
            &[("group", "ND"), ("title", "Phiếu người dân")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = operator
        .post(
            &format!("/periods/{period}/survey/questionnaires"),
            &[("group", "XX"), ("title", "Phiếu"), ("all_group", "SO")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.store().questionnaires(period).await.unwrap().is_empty());

    let stp_field = format!("unit_{stp}");
    let r = operator
        .post(
            &format!("/periods/{period}/survey/questionnaires"),
            &[
                ("group", "ND"),
                ("title", "Phiếu khảo sát người dân"),
                (&stp_field, "1"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let qid = id_from(r.location());
    assert_eq!(
        app.store().questionnaire_units(qid).await.unwrap(),
        vec![stp]
    );

    // An empty draft cannot be opened: the problems are listed.
    let r = operator
        .post(&format!("/questionnaires/{qid}/status"), &[("to", "open")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("chưa có câu hỏi"), "{}", r.body);

    // The page offers the survey leaves and the default scale.
    let page = operator.get(&format!("/questionnaires/{qid}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body
            .contains(&format!("<option value=\"{survey_leaf}\""))
    );
    assert!(
        !page
            .body
            .contains(&format!("<option value=\"{binary_leaf}\""))
    );
    assert!(page.body.contains("K|Không biết|"));

    let r = add_question(&mut operator, qid, "Q1", &survey_leaf).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let doc = doc_of(&app, qid).await;
    assert_eq!(doc.questions.len(), 1);
    assert_eq!(doc.questions[0].leaf_code, survey_leaf);
    assert_eq!(doc.questions[0].options.len(), 5);
    assert_eq!(doc.questions[0].options[4].percent, None);

    // A question for a leaf that is not survey-scored, a duplicate code, bad options: refused.
    let r = add_question(&mut operator, qid, "Q2", &binary_leaf).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("không phải tiêu chí"), "{}", r.body);
    let r = add_question(&mut operator, qid, "Q1", &survey_leaf).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    for options in [
        "A|Tốt|150\nB|Kém|0",
        "A|Tốt\nB|Kém|0",
        "A|Tốt|100",
        "A|Tốt|\nB|Kém|",
    ] {
        let r = operator
            .post(
                &format!("/questionnaires/{qid}/questions"),
                &[
                    ("code", "Q3"),
                    ("text", "Câu hỏi"),
                    ("leaf", &survey_leaf),
                    ("options", options),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{options}");
    }
    assert_eq!(doc_of(&app, qid).await, doc);

    // Removing and adding back; editing the units.
    let r = add_question(&mut operator, qid, "Q2", &survey_leaf).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = operator
        .post(&format!("/questionnaires/{qid}/questions/Q2/remove"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(doc_of(&app, qid).await, doc);
    let r = operator
        .post(
            &format!("/questionnaires/{qid}"),
            &[("title", "Phiếu người dân 2026"), ("all_group", "SO")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut units = app.store().questionnaire_units(qid).await.unwrap();
    units.sort();
    let mut expected = vec![stp, snv];
    expected.sort();
    assert_eq!(units, expected);

    // The paper version: one block per evaluated unit.
    let print = operator.get(&format!("/questionnaires/{qid}/print")).await;
    assert_eq!(print.status, StatusCode::OK);
    assert_eq!(print.body.matches("data-testid=\"print-block\"").count(), 2);
    assert!(print.body.contains("Sở Tư pháp") && print.body.contains("Sở Nội vụ"));

    // Open; then every edit is refused and nothing changes.
    let r = operator
        .post(&format!("/questionnaires/{qid}/status"), &[("to", "open")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(app.store().questionnaire(qid).await.unwrap().status, "open");
    let before = app.store().questionnaire(qid).await.unwrap();
    let r = add_question(&mut operator, qid, "Q9", &survey_leaf).await;
    assert!(r.status.is_client_error(), "{}", r.status);
    assert!(r.body.contains("phiên bản mới"), "{}", r.body);
    let r = operator
        .post(
            &format!("/questionnaires/{qid}"),
            &[("title", "Đổi tên"), (&stp_field, "1")],
        )
        .await;
    assert!(r.status.is_client_error());
    let r = operator
        .post(&format!("/questionnaires/{qid}/questions/Q1/remove"), &[])
        .await;
    assert!(r.status.is_client_error());
    let r = operator
        .post(&format!("/questionnaires/{qid}/status"), &[("to", "open")])
        .await;
    assert!(r.status.is_client_error());
    assert_eq!(app.store().questionnaire(qid).await.unwrap(), before);

    // Close, reopen.
    let r = operator
        .post(&format!("/questionnaires/{qid}/status"), &[("to", "close")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.store().questionnaire(qid).await.unwrap().status,
        "closed"
    );
    let r = operator
        .post(
            &format!("/questionnaires/{qid}/status"),
            &[("to", "reopen")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store().questionnaire(qid).await.unwrap().status, "open");

    // A new version: a draft, version 2, same questions and units.
    let r = operator
        .post(&format!("/questionnaires/{qid}/new-version"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let v2 = id_from(r.location());
    assert_ne!(v2, qid);
    let stored = app.store().questionnaire(v2).await.unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.status, "draft");
    assert_eq!(doc_of(&app, v2).await, doc_of(&app, qid).await);
    let mut v2_units = app.store().questionnaire_units(v2).await.unwrap();
    v2_units.sort();
    assert_eq!(v2_units, expected);
    let page = operator.get(&format!("/periods/{period}/survey")).await;
    assert!(page.body.contains(&format!("/questionnaires/{v2}")));
    app
});

web_test!(progress_follows_the_responses, |app: TestApp| async move {
    let period = open_period(&app).await;
    let stp = app.seed.unit_stp;
    let snv = app.seed.unit_snv;
    let qid = questionnaire_in_store(&app, period, &[stp, snv]).await;
    let response = |key: &str, channel: &'static str, entry_no: i64, answers: String| NewResponse {
        channel,
        source_key: (channel != "paper").then(|| key.to_owned()),
        paper_ref: (channel == "paper").then(|| key.to_owned()),
        entry_no,
        answers,
        submitted_at: parindex_store::now_ms(),
    };
    let both = format!("{stp}:Q1=A;{snv}:Q1=B");
    let only_stp = format!("{stp}:Q1=C");
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.add_survey_responses(
        qid,
        &[
            response("r1", "import", 1, both.clone()),
            response("r2", "import", 1, only_stp.clone()),
            response("r3", "import", 1, only_stp.clone()),
            // The second entry of a paper form does not count twice.
            response("P-1", "paper", 1, only_stp.clone()),
            response("P-1", "paper", 2, only_stp.clone()),
            response("r4", "import", 1, both.clone()),
        ],
        serde_json::json!({ "test": true }),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    // One excluded response stops counting.
    let last = app
        .store()
        .questionnaire_responses(qid)
        .await
        .unwrap()
        .into_iter()
        .rev()
        .find(|r| r.answers == both)
        .unwrap();
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    tx.set_response_exclusion(last.id, Some("Phiếu trùng"))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut operator = app.login_as("thuky").await;
    let page = operator.get(&format!("/periods/{period}/survey")).await;
    assert_eq!(page.status, StatusCode::OK);
    let start = page.body.find("data-testid=\"survey-progress\"").unwrap();
    let table = &page.body[start..start + page.body[start..].find("</table>").unwrap()];
    let row = |code: &str| {
        let at = table.find(&format!("<td>{code} — ")).unwrap();
        table[at..at + table[at..].find("</tr>").unwrap()].to_owned()
    };
    assert!(
        row("STP").contains("<td>4</td><td>10</td><td>40%</td>"),
        "{table}"
    );
    assert!(
        row("SNV").contains("<td>1</td><td>10</td><td>10%</td>"),
        "{table}"
    );
    // The questionnaire list counts its responses.
    let start = page.body.find("data-testid=\"questionnaires\"").unwrap();
    let list = &page.body[start..start + page.body[start..].find("</table>").unwrap()];
    assert!(list.contains("<td>0</td><td>2</td><td>4</td>"), "{list}");
    app
});

web_test!(only_survey_roles_see_the_setup, |app: TestApp| async move {
    let period = open_period(&app).await;
    let stp = app.seed.unit_stp;
    let qid = questionnaire_in_store(&app, period, &[stp]).await;
    let gets = [
        "/survey".to_owned(),
        format!("/periods/{period}/survey"),
        format!("/questionnaires/{qid}"),
        format!("/questionnaires/{qid}/print"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            format!("/periods/{period}/survey/settings"),
            vec![("min_sample", "5"), ("weighted", "no")],
        ),
        (
            format!("/periods/{period}/survey/groups"),
            vec![
                ("code", "DN"),
                ("name", "Doanh nghiệp"),
                ("weight", "1"),
                ("population", "1"),
                ("target", "1"),
            ],
        ),
        (
            format!("/periods/{period}/survey/questionnaires"),
            vec![("group", "ND"), ("title", "X"), ("all_group", "SO")],
        ),
        (
            format!("/questionnaires/{qid}"),
            vec![("title", "X"), ("all_group", "SO")],
        ),
        (
            format!("/questionnaires/{qid}/questions"),
            vec![
                ("code", "Q1"),
                ("text", "X"),
                ("leaf", "x"),
                ("options", OPTIONS),
            ],
        ),
        (
            format!("/questionnaires/{qid}/status"),
            vec![("to", "open")],
        ),
        (format!("/questionnaires/{qid}/new-version"), vec![]),
    ];
    let mut officer = app.login_as("canbo.stp").await;
    let home = officer.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    // The officer's home, with their own work and without the survey.
    assert!(home.body.contains("Sở Tư pháp"), "{}", home.body);
    assert!(!home.body.contains("href=\"/survey\""));
    for path in &gets {
        assert_eq!(
            officer.get(path).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for (path, fields) in &posts {
        assert_eq!(
            officer.post(path, fields).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // A viewer reads (ReviewSurvey) but writes nothing.
    let mut viewer = app.login_as("lanhdao").await;
    for path in &gets {
        assert_eq!(viewer.get(path).await.status, StatusCode::OK, "{path}");
    }
    let page = viewer.get(&format!("/questionnaires/{qid}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Phiếu người dân"), "{}", page.body);
    assert!(!page.body.contains("/new-version"));
    for (path, fields) in &posts {
        assert_eq!(
            viewer.post(path, fields).await.status,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(app.store().survey_groups(period).await.unwrap().len(), 1);
    assert_eq!(app.store().questionnaires(period).await.unwrap().len(), 1);
    // The survey operator is shown the setup the others are refused.
    let mut operator = app.login_as("khaosat").await;
    let home = operator.get("/").await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    assert!(home.body.contains("href=\"/survey\""), "{}", home.body);
    for path in &gets {
        assert_eq!(operator.get(path).await.status, StatusCode::OK, "{path}");
    }
    app
});
