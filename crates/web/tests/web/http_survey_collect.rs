//! Survey collection over HTTP: links generated once (page with QR codes, or CSV) and stored
//! only as hashes; the public form behind a link (no login, no script needed, resume, one
//! submission, strict validation, refusals for forged, used, closed and out-of-window links);
//! paper entry with double entry and its mismatch report; access.

use axum::http::StatusCode;
use parindex_domain::survey::{AnswerOption, Question, QuestionnaireDoc, ResponseAnswers};
use parindex_store::AuditActor;
use sha2::Digest;

use crate::support::fixtures::open_period;
use crate::support::{TestApp, TestClient};
use crate::web_test;

/// Two questions on survey leaf 1.6, with "Không biết" (no value).
pub fn questionnaire_doc() -> QuestionnaireDoc {
    let options = || {
        vec![
            AnswerOption {
                code: "A".into(),
                label: "Rất hài lòng".into(),
                percent: Some(100.into()),
            },
            AnswerOption {
                code: "B".into(),
                label: "Hài lòng".into(),
                percent: Some(60.into()),
            },
            AnswerOption {
                code: "C".into(),
                label: "Không hài lòng".into(),
                percent: Some(0.into()),
            },
            AnswerOption {
                code: "K".into(),
                label: "Không biết".into(),
                percent: None,
            },
        ]
    };
    QuestionnaireDoc {
        questions: vec![
            Question {
                code: "Q1".into(),
                text: "Người đứng đầu chỉ đạo CCHC quyết liệt".into(),
                leaf_code: "1.6".into(),
                options: options(),
            },
            Question {
                code: "Q2".into(),
                text: "Đơn vị xử lý kiến nghị kịp thời".into(),
                leaf_code: "1.6".into(),
                options: options(),
            },
        ],
    }
}

/// A period, a respondent group and an open questionnaire about STP and SNV: (period, qid).
pub async fn open_questionnaire(app: &TestApp) -> (i64, i64) {
    let period = open_period(app).await;
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let group = tx
        .save_survey_group(period, "CBCC", "Cán bộ, công chức", 1000, 200, 10)
        .await
        .unwrap();
    let qid = tx
        .create_questionnaire(
            period,
            group,
            "Phiếu khảo sát cán bộ",
            &serde_json::to_string(&questionnaire_doc()).unwrap(),
            &[app.seed.unit_stp, app.seed.unit_snv],
        )
        .await
        .unwrap();
    tx.set_questionnaire_status(qid, "draft", "open")
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (period, qid)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A link with a known token, as the generation would store it.
pub async fn known_link(app: &TestApp, qid: i64, token: &str, unit: Option<i64>) -> i64 {
    let mut tx = app
        .store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap();
    let ids = tx
        .create_survey_links(qid, unit, "thử", &[token_hash(token)])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    ids[0]
}

const TOKEN: &str = "abcdefghijklmnopqrstuvwxyz";

/// The tokens of the links on a generated page.
fn tokens_in(body: &str) -> Vec<String> {
    body.split("data-testid=\"survey-link\">")
        .skip(1)
        .map(|rest| {
            let url = &rest[..rest.find('<').unwrap()];
            url.rsplit("/s/").next().unwrap().to_owned()
        })
        .collect()
}

fn field(app: &TestApp, unit: &str, q: &str) -> String {
    let id = match unit {
        "STP" => app.seed.unit_stp,
        _ => app.seed.unit_snv,
    };
    format!("a:{id}:{q}")
}

async fn post_answers(
    client: &mut TestClient,
    path: &str,
    answers: &[(String, &str)],
    extra: &[(&str, &str)],
) -> crate::support::TestResponse {
    let mut fields: Vec<(&str, &str)> = answers.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    fields.extend_from_slice(extra);
    client.post(path, &fields).await
}

web_test!(
    links_are_shown_once_and_stored_as_hashes,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let path = format!("/questionnaires/{qid}/links");

        let r = operator.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Tạo đường dẫn"), "{}", r.body);

        // The printable page: three links, a QR code each.
        let r = operator
            .post(
                &path,
                &[
                    ("count", "3"),
                    ("batch", "Đợt 1"),
                    ("unit", ""),
                    ("format", "page"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let tokens = tokens_in(&r.body);
        assert_eq!(tokens.len(), 3, "{}", r.body);
        assert_eq!(r.body.matches("<svg").count(), 3, "one QR code per link");
        for t in &tokens {
            assert_eq!(t.len(), 26, "{t}");
            assert!(r.body.contains(&format!("http://localhost/s/{t}")));
        }

        // The CSV variant, for one unit: UTF-8 with BOM, a header and three rows.
        let r = operator
            .post(
                &path,
                &[
                    ("count", "3"),
                    ("batch", "Zalo"),
                    ("unit", &app.seed.unit_stp.to_string()),
                    ("format", "csv"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.header("content-type").starts_with("text/csv"));
        assert!(r.header("content-disposition").starts_with("attachment"));
        assert!(r.header("content-disposition").contains(".csv"));
        assert!(r.body.starts_with('\u{feff}'), "BOM for Excel");
        let lines: Vec<&str> = r.body.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines[0], "link,unit,batch");
        assert_eq!(lines.len(), 4, "{}", r.body);
        assert!(lines[1].starts_with("http://localhost/s/") && lines[1].ends_with(",STP,Zalo"));
        let csv_token = lines[1]
            .trim_start_matches("http://localhost/s/")
            .split(',')
            .next()
            .unwrap()
            .to_owned();

        // The database holds only hashes.
        let links = app.store().survey_links(qid).await.unwrap();
        assert_eq!(links.len(), 6);
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT token_hash, batch FROM survey_links ORDER BY id")
                .fetch_all(app.store().raw_pool_for_tests())
                .await
                .unwrap();
        for t in tokens.iter().chain([&csv_token]) {
            assert!(
                rows.iter()
                    .all(|(h, b)| !h.contains(t.as_str()) && !b.contains(t.as_str()))
            );
            assert!(rows.iter().any(|(h, _)| *h == token_hash(t)));
            assert!(
                app.store()
                    .survey_link_by_hash(&token_hash(t))
                    .await
                    .unwrap()
                    .is_some()
            );
        }

        // The list shows the batches with their counts; no token appears there.
        let r = operator.get(&path).await;
        assert!(
            r.body.contains("Đợt 1") && r.body.contains("Zalo"),
            "{}",
            r.body
        );
        assert!(!r.body.contains(&tokens[0]));

        // Bad counts and foreign units are refused; nothing is created.
        for (count, unit) in [("0", ""), ("5001", ""), ("abc", ""), ("2", "999999")] {
            let r = operator
                .post(&path, &[("count", count), ("batch", "x"), ("unit", unit)])
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{count} {unit}");
        }
        let r = operator
            .post(&path, &[("count", "2"), ("batch", "  ")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(app.store().survey_links(qid).await.unwrap().len(), 6);

        // A closed questionnaire gets no new links.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_questionnaire_status(qid, "open", "closed")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = operator
            .post(&path, &[("count", "2"), ("batch", "muộn")])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert_eq!(app.store().survey_links(qid).await.unwrap().len(), 6);
        app
    }
);

web_test!(
    respondent_answers_without_login,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let link = known_link(&app, qid, TOKEN, None).await;
        let path = format!("/s/{TOKEN}");
        let mut anon = app.client();

        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Người đứng đầu chỉ đạo CCHC quyết liệt"));
        assert!(r.body.contains("Sở Tư pháp") && r.body.contains("Sở Nội vụ"));
        assert!(r.body.contains("method=\"post\""));
        assert_eq!(r.body.matches("type=\"radio\"").count(), 2 * 2 * 4);
        assert!(!r.body.contains("<script"), "the form needs no script");
        assert!(r.body.contains("name=\"csrf\""));
        assert_eq!(r.header("referrer-policy"), "no-referrer");

        let all = |opt: &'static str| {
            vec![
                (field(&app, "STP", "Q1"), opt),
                (field(&app, "STP", "Q2"), "K"),
                (field(&app, "SNV", "Q1"), opt),
                (field(&app, "SNV", "Q2"), "C"),
            ]
        };

        // Missing answers: 422, listing them, answers kept, nothing submitted.
        let partial = vec![(field(&app, "STP", "Q1"), "B")];
        let r = post_answers(&mut anon, &path, &partial, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("Q2 chưa trả lời"), "{}", r.body);
        assert!(r.body.contains("value=\"B\" checked"), "answers kept");
        assert!(
            app.store()
                .questionnaire_responses(qid)
                .await
                .unwrap()
                .is_empty()
        );

        // Unknown option, unknown question, foreign unit: 422.
        let mut bad = all("A");
        bad[0].1 = "Z";
        let r = post_answers(&mut anon, &path, &bad, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("«Z»"), "{}", r.body);
        let mut bad = all("A");
        bad.push((format!("a:{}:Q9", app.seed.unit_stp), "A"));
        let r = post_answers(&mut anon, &path, &bad, &[("action", "save")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut bad = all("A");
        bad.push((format!("a:{}:Q1", app.seed.unit_huyen), "A"));
        let r = post_answers(&mut anon, &path, &bad, &[("action", "save")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            app.store()
                .questionnaire_responses(qid)
                .await
                .unwrap()
                .is_empty()
        );

        // Save a draft, come back: the answer is there.
        let r = post_answers(&mut anon, &path, &partial, &[("action", "save")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let mut later = app.client();
        let r = later.get(&path).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains("value=\"B\" checked"),
            "resumed: {}",
            r.body
        );
        let responses = app.store().questionnaire_responses(qid).await.unwrap();
        assert_eq!(responses.len(), 1);
        assert_eq!(responses[0].status, "draft");

        // Submit: thanks.
        let r = post_answers(&mut later, &path, &all("A"), &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Cảm ơn"), "{}", r.body);
        let responses = app.store().questionnaire_responses(qid).await.unwrap();
        assert_eq!(responses.len(), 1, "the draft became the submission");
        assert_eq!(responses[0].status, "submitted");
        assert_eq!(responses[0].channel, "online");
        assert_eq!(responses[0].link_id, Some(link));
        let answers = ResponseAnswers::decode(&responses[0].answers).unwrap();
        assert_eq!(answers.len(), 4);
        assert_eq!(answers.0[&app.seed.unit_stp]["Q2"], "K");

        // The link is used: refused, and the submission is unchanged.
        let r = post_answers(&mut anon, &path, &all("C"), &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
        assert!(r.body.contains("Phiếu đã được gửi"));
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::GONE);
        let again = app.store().questionnaire_responses(qid).await.unwrap();
        assert_eq!(again[0].answers, responses[0].answers);

        // Forged tokens.
        for forged in ["/s/zzzzzzzzzzzzzzzzzzzzzzzzzz", "/s/not-a-token", "/s/ABC"] {
            let r = anon.get(forged).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{forged}");
            assert!(r.body.contains("Đường dẫn không hợp lệ"));
        }
        app
    }
);

web_test!(
    a_unit_link_asks_about_that_unit_only,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        known_link(&app, qid, TOKEN, Some(app.seed.unit_snv)).await;
        let path = format!("/s/{TOKEN}");
        let mut anon = app.client();
        let r = anon.get(&path).await;
        assert!(r.body.contains("Sở Nội vụ") && !r.body.contains("Sở Tư pháp"));
        // An answer about another unit of the questionnaire is refused.
        let answers = vec![
            (field(&app, "SNV", "Q1"), "A"),
            (field(&app, "SNV", "Q2"), "A"),
            (field(&app, "STP", "Q1"), "A"),
        ];
        let r = post_answers(&mut anon, &path, &answers, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post_answers(&mut anon, &path, &answers[..2], &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        app
    }
);

web_test!(
    closed_and_out_of_window_links_are_refused,
    |app: TestApp| async move {
        let (period, qid) = open_questionnaire(&app).await;
        known_link(&app, qid, TOKEN, None).await;
        let path = format!("/s/{TOKEN}");
        let mut anon = app.client();
        let answers = vec![
            (field(&app, "STP", "Q1"), "A"),
            (field(&app, "STP", "Q2"), "A"),
            (field(&app, "SNV", "Q1"), "A"),
            (field(&app, "SNV", "Q2"), "A"),
        ];

        // Questionnaire closed.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_questionnaire_status(qid, "open", "closed")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::GONE);
        assert!(r.body.contains("Cuộc khảo sát đã đóng"), "{}", r.body);
        let r = post_answers(&mut anon, &path, &answers, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::GONE);

        // Open again, but the period's survey window is over.
        let now = parindex_store::now_ms();
        let day = 86_400_000;
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_questionnaire_status(qid, "closed", "open")
            .await
            .unwrap();
        tx.save_survey_settings(period, Some(now - 10 * day), Some(now - day), 30, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::GONE);
        assert!(r.body.contains("Cuộc khảo sát đã đóng"));
        let r = post_answers(&mut anon, &path, &answers, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::GONE);

        // Not open yet.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.save_survey_settings(period, Some(now + day), Some(now + 10 * day), 30, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = anon.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = post_answers(&mut anon, &path, &answers, &[("action", "save")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            app.store()
                .questionnaire_responses(qid)
                .await
                .unwrap()
                .is_empty()
        );

        // Inside the window: accepted.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.save_survey_settings(period, Some(now - day), Some(now + day), 30, false)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = post_answers(&mut anon, &path, &answers, &[("action", "submit")]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        app
    }
);

web_test!(
    paper_double_entry_and_mismatch_report,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let path = format!("/questionnaires/{qid}/paper");
        let r = operator.get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("Số phiếu") && r.body.contains("Lần nhập"));

        let first = vec![
            (field(&app, "STP", "Q1"), "A"),
            (field(&app, "STP", "Q2"), "B"),
            (field(&app, "SNV", "Q1"), "C"),
            (field(&app, "SNV", "Q2"), "K"),
        ];
        let mut second = first.clone();
        second[1].1 = "C";

        // The form number is required.
        let r = post_answers(
            &mut operator,
            &path,
            &first,
            &[("paper_ref", ""), ("entry_no", "1")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let r = post_answers(
            &mut operator,
            &path,
            &first,
            &[("paper_ref", "P-001"), ("entry_no", "3")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        let r = post_answers(
            &mut operator,
            &path,
            &first,
            &[("paper_ref", "P-001"), ("entry_no", "1")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = operator.get(r.location()).await;
        assert!(r.body.contains("Đã lưu phiếu số P-001"), "{}", r.body);
        let r = post_answers(
            &mut operator,
            &path,
            &second,
            &[("paper_ref", "P-001"), ("entry_no", "2")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = post_answers(
            &mut operator,
            &path,
            &first,
            &[("paper_ref", "P-002"), ("entry_no", "1")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

        // The same form and entry twice is refused.
        let r = post_answers(
            &mut operator,
            &path,
            &first,
            &[("paper_ref", "P-001"), ("entry_no", "1")],
        )
        .await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
        assert!(
            r.body.contains("Phiếu số P-001 đã được nhập lần 1"),
            "{}",
            r.body
        );

        // An unknown option is refused.
        let mut bad = first.clone();
        bad[0].1 = "Z";
        let r = post_answers(
            &mut operator,
            &path,
            &bad,
            &[("paper_ref", "P-003"), ("entry_no", "1")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);

        let responses = app.store().questionnaire_responses(qid).await.unwrap();
        assert_eq!(responses.len(), 3);
        assert!(
            responses
                .iter()
                .all(|r| r.channel == "paper" && r.status == "submitted")
        );

        let r = operator.get(&format!("{path}/mismatches")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let table = &r.body[r
            .body
            .find("data-testid=\"mismatches\"")
            .expect("a mismatch table")..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(table.contains("P-001") && table.contains("Sở Tư pháp") && table.contains("Q2"));
        assert_eq!(
            table.matches("<tr>").count(),
            2,
            "header and one difference: {table}"
        );
        let singles = &r.body[r.body.find("data-testid=\"singles\"").expect("singles")..];
        assert!(singles.contains("P-002"));
        app
    }
);

web_test!(
    unit_officer_cannot_manage_collection,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut officer = app.login_as("canbo.stp").await;
        for path in ["links", "paper", "paper/mismatches"] {
            let r = officer.get(&format!("/questionnaires/{qid}/{path}")).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        }
        let r = officer
            .post(
                &format!("/questionnaires/{qid}/links"),
                &[("count", "2"), ("batch", "x")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = officer
            .post(
                &format!("/questionnaires/{qid}/paper"),
                &[("paper_ref", "P"), ("entry_no", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(app.store().survey_links(qid).await.unwrap().is_empty());
        // Anonymous visitors are sent to the login page.
        let r = app
            .client()
            .get(&format!("/questionnaires/{qid}/links"))
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(r.location().starts_with("/login"));
        app
    }
);

web_test!(
    survey_writes_are_refused_from_council_review_on,
    |app: TestApp| async move {
        use parindex_store::survey::NewResponse;
        let (period, qid) = open_questionnaire(&app).await;
        let token = "frozenlinkfrozenlinkfrozen";
        known_link(&app, qid, token, None).await;
        let answer = |key: &str| NewResponse {
            channel: "import",
            source_key: Some(key.into()),
            paper_ref: None,
            entry_no: 1,
            answers: format!("{}:Q1=A,Q2=B", app.seed.unit_stp),
            submitted_at: parindex_store::now_ms(),
        };
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.add_survey_responses(
            qid,
            &[answer("id:1"), answer("id:2")],
            serde_json::json!({}),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let responses = app.store().questionnaire_responses(qid).await.unwrap();
        let (counted, excluded) = (responses[0].id, responses[1].id);
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat
            .post(
                &format!("/survey-responses/{excluded}/exclude"),
                &[("reason", "Phiếu thử")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // An uploaded file, ready to start, before the freeze.
        let mut operator = app.login_as("khaosat").await;
        let csv = String::from("Mã người trả lời,STP_Q1,STP_Q2\r\n9,A,B\r\n");
        let r = operator
            .upload(
                &format!("/questionnaires/{qid}/import"),
                "file",
                "muon.csv",
                csv.as_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let sha = hex::encode(sha2::Sha256::digest(csv.as_bytes()));

        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_period_stage(period, ("self", 0), ("council", 0))
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let before = app.store().questionnaire_responses(qid).await.unwrap();
        let frozen = "đã được chốt";

        // The respondent's link answers as a closed survey, and saves nothing.
        let mut public = app.client();
        let r = public.get(&format!("/s/{token}")).await;
        assert_eq!(r.status, StatusCode::GONE, "{}", r.body);
        assert!(r.body.contains("Cuộc khảo sát đã đóng"), "{}", r.body);
        let stp = app.seed.unit_stp;
        let r = public
            .post(
                &format!("/s/{token}"),
                &[
                    (format!("a:{stp}:Q1").as_str(), "A"),
                    (format!("a:{stp}:Q2").as_str(), "A"),
                    ("action", "submit"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::GONE, "{}", r.body);

        // Paper entry, exclusion, re-inclusion and import: refused, with the reason.
        let r = operator
            .post(
                &format!("/questionnaires/{qid}/paper"),
                &[
                    ("paper_ref", "P-9"),
                    ("entry_no", "1"),
                    (format!("a:{stp}:Q1").as_str(), "A"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains(frozen), "{}", r.body);
        let r = secretariat
            .post(
                &format!("/survey-responses/{counted}/exclude"),
                &[("reason", "Muộn")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains(frozen), "{}", r.body);
        let r = secretariat
            .post(
                &format!("/survey-responses/{excluded}/include"),
                &[("reason", "Muộn")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        let r = operator.get(&format!("/questionnaires/{qid}/import")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains(frozen), "{}", r.body);
        let r = operator
            .post(
                &format!("/questionnaires/{qid}/import/{sha}/start"),
                &[("respondent", "0"), (format!("a:{stp}:Q1").as_str(), "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(app.store().import_jobs(qid).await.unwrap().is_empty());

        // A job queued before the freeze fails when it runs, and saves nothing.
        let mapping = serde_json::json!({
            "answers": [{ "unit_id": stp, "question": "Q1", "column": 1 }],
            "respondent": 0,
            "width": 3
        });
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        let job = tx
            .create_import_job(
                qid,
                "muon.csv",
                &sha,
                csv.len() as i64,
                &mapping.to_string(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let outcome = parindex_app::survey_jobs::run_job(&app.state, job)
            .await
            .unwrap();
        let parindex_app::survey_jobs::Outcome::Failed(report) = outcome else {
            panic!("the job must fail: {outcome:?}");
        };
        assert!(report.error.unwrap().contains(frozen));
        assert_eq!(app.store().import_job(job).await.unwrap().status, "failed");

        let after = app.store().questionnaire_responses(qid).await.unwrap();
        assert_eq!(after, before, "nothing was written");
        assert!(
            after
                .iter()
                .any(|r| r.id == excluded && r.excluded_at.is_some())
        );
        assert!(
            after
                .iter()
                .any(|r| r.id == counted && r.excluded_at.is_none())
        );
        app
    }
);

web_test!(
    links_start_with_the_configured_public_url,
    parindex_web::WebConfig {
        public_url: Some("https://khaosat.tinh.gov.vn/".into()),
        ..Default::default()
    },
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let path = format!("/questionnaires/{qid}/links");
        // A request that claims another host, as a misconfigured or hostile proxy would.
        let generate = |format: &'static str, csrf: String| {
            let body = serde_urlencoded::to_string([
                ("count", "2"),
                ("batch", "Đợt 1"),
                ("unit", ""),
                ("format", format),
                ("csrf", csrf.as_str()),
            ])
            .unwrap();
            axum::http::Request::post(path.as_str())
                .header("content-type", "application/x-www-form-urlencoded")
                .header("host", "gia-mao.example")
                .header("x-forwarded-host", "gia-mao.example")
                .header("x-forwarded-proto", "http")
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let csrf = operator.csrf().await;
        let r = operator.send(generate("page", csrf)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let tokens = tokens_in(&r.body);
        assert_eq!(tokens.len(), 2, "{}", r.body);
        for t in &tokens {
            assert!(
                r.body.contains(&format!(
                    "data-testid=\"survey-link\">https://khaosat.tinh.gov.vn/s/{t}<"
                )),
                "{}",
                r.body
            );
        }
        assert!(!r.body.contains("gia-mao.example"), "{}", r.body);
        let csrf = operator.csrf().await;
        let r = operator.send(generate("csv", csrf)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let lines: Vec<&str> = r.body.trim_start_matches('\u{feff}').lines().collect();
        assert_eq!(lines.len(), 3, "{}", r.body);
        for line in &lines[1..] {
            assert!(line.starts_with("https://khaosat.tinh.gov.vn/s/"), "{line}");
        }
        // The links work.
        let token = lines[1]
            .trim_start_matches("https://khaosat.tinh.gov.vn/s/")
            .split(',')
            .next()
            .unwrap();
        let r = app.client().get(&format!("/s/{token}")).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        app
    }
);
