//! Survey imports over HTTP: a CSV in each encoding the field sends (UTF-8, UTF-8 with BOM,
//! UTF-16, Windows-1258) goes through upload, the mapping screen and the background job; a
//! file with bad rows saves nothing and lists every bad row; the same file imported twice keeps
//! one copy; and only the survey staff reach any of it.

use std::time::Duration;

use axum::http::StatusCode;
use parindex_domain::survey::ResponseAnswers;
use parindex_store::AuditActor;
use parindex_store::survey::ImportJob;

use crate::http_survey_collect::open_questionnaire;
use crate::support::{TestApp, TestClient};
use crate::web_test;

/// The header a province's spreadsheet would carry: respondent id, date, then the answers
/// about each unit, titled `UnitCode_QuestionCode` so the mapping screen preselects them.
const HEADER: &str = "Mã người trả lời,Ngày trả lời,STP_Q1,STP_Q2,SNV_Q1,SNV_Q2";

/// A CSV of `rows` responses whose respondent ids start with `prefix`.
fn csv(prefix: &str, rows: &[[&str; 4]]) -> String {
    let mut text = format!("{HEADER}\r\n");
    for (i, answers) in rows.iter().enumerate() {
        text.push_str(&format!(
            "{prefix}-{},15/11/2026,{}\r\n",
            i + 1,
            answers.join(",")
        ));
    }
    text
}

/// Text as Windows-1258 spells Vietnamese: the letters with a circumflex, breve or horn are
/// precomposed (â, ă, ơ, ư…), the five tones are separate combining marks after them.
fn as_windows_1258(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    const TONES: [char; 5] = ['\u{0300}', '\u{0301}', '\u{0303}', '\u{0309}', '\u{0323}'];
    let mut out = String::new();
    for c in text.nfc() {
        let parts: String = std::iter::once(c).nfd().collect();
        let tone = parts.chars().find(|p| TONES.contains(p));
        out.extend(parts.chars().filter(|p| !TONES.contains(p)).nfc());
        out.extend(tone);
    }
    out
}

/// The `name="…"` select's preselected column on the mapping page, if any.
fn selected(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("name=\"{name}\""))?;
    let select = &body[start..start + body[start..].find("</select>")?];
    let at = select.find(" selected>")?;
    let value_start = select[..at].rfind("value=\"")? + "value=\"".len();
    Some(select[value_start..at].trim_end_matches('"').to_owned())
}

/// The hidden field's value on the mapping page.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker).expect(name) + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

/// Uploads `bytes`, checks the mapping page, and starts the import with the preselected
/// mapping; returns the mapping page and the job id.
async fn upload_and_start(
    app: &TestApp,
    client: &mut TestClient,
    qid: i64,
    file_name: &str,
    bytes: &[u8],
) -> (String, i64) {
    let r = client
        .upload(
            &format!("/questionnaires/{qid}/import"),
            "file",
            file_name,
            bytes,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let page = r.body;
    assert!(page.contains("data-testid=\"import-mapping\""), "{page}");
    let start = page
        .split("action=\"")
        .find_map(|s| {
            let url = &s[..s.find('"')?];
            url.ends_with("/start").then(|| url.to_owned())
        })
        .expect("the start form");
    let mut fields: Vec<(String, String)> = vec![
        ("file_name".into(), hidden(&page, "file_name")),
        ("width".into(), hidden(&page, "width")),
    ];
    for name in ["respondent", "date"] {
        fields.push((name.into(), selected(&page, name).unwrap_or_default()));
    }
    for unit in [app.seed.unit_stp, app.seed.unit_snv] {
        for q in ["Q1", "Q2"] {
            let name = format!("a:{unit}:{q}");
            let column = selected(&page, &name).unwrap_or_else(|| panic!("{name} preselected"));
            fields.push((name, column));
        }
    }
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = client.post(&start, &borrowed).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let job: i64 = r
        .location()
        .trim_start_matches("/import-jobs/")
        .parse()
        .expect("a job page");
    (page, job)
}

/// Waits (bounded) for a job to leave `pending` and `running`.
async fn finished(app: &TestApp, job: i64) -> ImportJob {
    for _ in 0..600 {
        let j = app.store().import_job(job).await.unwrap();
        if j.status == "done" || j.status == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("import job {job} did not finish in 30 s");
}

async fn response_count(app: &TestApp, qid: i64) -> usize {
    app.store()
        .questionnaire_responses(qid)
        .await
        .unwrap()
        .len()
}

web_test!(
    every_encoding_imports_the_same_answers,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;

        let utf8 = |prefix: &str| csv(prefix, &[["A", "B", "C", "K"], ["b", "", "a", "A"]]);
        let with_bom = format!("\u{feff}{}", utf8("BOM"));
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in utf8("U16").encode_utf16() {
            utf16.extend_from_slice(&unit.to_le_bytes());
        }
        let w1258_text = as_windows_1258(&utf8("W1258"));
        let (cp1258, _, unmappable) = encoding_rs::WINDOWS_1258.encode(&w1258_text);
        assert!(!unmappable);
        let files: Vec<(&str, Vec<u8>, &str)> = vec![
            ("utf8.csv", utf8("U8").into_bytes(), "UTF-8"),
            ("bom.csv", with_bom.into_bytes(), "BOM"),
            ("utf16.csv", utf16, "UTF-16"),
            ("w1258.csv", cp1258.into_owned(), "1258"),
        ];
        let mut expected = 0;
        for (name, bytes, label) in files {
            let (page, job) = upload_and_start(&app, &mut operator, qid, name, &bytes).await;
            assert!(
                page.contains(label),
                "{name}: the encoding is named: {page}"
            );
            assert!(
                page.contains("Mã người trả lời"),
                "{name}: headers decoded: {page}"
            );
            let job = finished(&app, job).await;
            assert_eq!(job.status, "done", "{name}: {}", job.report);
            assert_eq!(
                (job.total_rows, job.inserted, job.duplicates),
                (2, 2, 0),
                "{name}"
            );
            expected += 2;
            assert_eq!(response_count(&app, qid).await, expected, "{name}");
        }

        // Every file gave the same answers: option codes matched case-insensitively, empty cells
        // left out, "K" (don't know) kept as an answer the scoring leaves out of the mean.
        let responses = app.store().questionnaire_responses(qid).await.unwrap();
        for r in &responses {
            assert_eq!(r.channel, "import");
            let answers = ResponseAnswers::decode(&r.answers).unwrap();
            let stp = &answers.0[&app.seed.unit_stp];
            let snv = &answers.0[&app.seed.unit_snv];
            let first = stp.get("Q1").map(String::as_str) == Some("A");
            if first {
                assert_eq!(stp["Q2"], "B");
                assert_eq!((snv["Q1"].as_str(), snv["Q2"].as_str()), ("C", "K"));
            } else {
                assert_eq!(stp["Q1"], "B");
                assert!(!stp.contains_key("Q2"), "an empty cell is no answer");
                assert_eq!((snv["Q1"].as_str(), snv["Q2"].as_str()), ("A", "A"));
            }
        }

        // The job page reports the outcome.
        let jobs = app.store().import_jobs(qid).await.unwrap();
        let r = operator.get(&format!("/import-jobs/{}", jobs[0].id)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("data-status=\"done\""), "{}", r.body);
        assert!(
            r.body.contains("data-testid=\"job-inserted\">2<"),
            "{}",
            r.body
        );
        app
    }
);

web_test!(
    a_file_with_bad_rows_saves_nothing_and_lists_them,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let mut text = csv(
            "R",
            &[
                ["A", "B", "C", "K"],
                ["X", "B", "C", "K"],
                ["A", "A", "A", "A"],
            ],
        );
        text.push_str("R-4,31/02/2026,A,A,A,A\r\n");
        text.push_str(",15/11/2026,A,A,A,A\r\n");
        text.push_str("R-6,15/11/2026,,,,\r\n");
        text.push_str("R-7,15/11/2026,A,A\r\n");
        let (_, job) = upload_and_start(&app, &mut operator, qid, "loi.csv", text.as_bytes()).await;
        let job = finished(&app, job).await;
        assert_eq!(job.status, "failed");
        assert_eq!(job.inserted, 0);
        assert_eq!(response_count(&app, qid).await, 0, "nothing saved");

        let r = operator.get(&format!("/import-jobs/{}", job.id)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("data-status=\"failed\""), "{}", r.body);
        assert!(r.body.contains("Số dòng lỗi: 5"), "{}", r.body);
        assert!(r.body.contains("Không phiếu nào được lưu"), "{}", r.body);
        let problems = &r.body[r.body.find("data-testid=\"job-problems\"").unwrap()..];
        // Lines are counted as the user sees them in Excel: the header is line 1.
        for (line, reason) in [
            (3, "không có phương án «X»"),
            (5, "«31/02/2026»"),
            (6, "thiếu mã người trả lời"),
            (7, "không có câu trả lời nào"),
            (8, "có 4 cột, dòng tiêu đề có 6 cột"),
        ] {
            let row = format!("<tr><td>{line}</td><td>");
            let at = problems
                .find(&row)
                .unwrap_or_else(|| panic!("line {line}: {problems}"));
            let cell = &problems[at + row.len()..];
            let cell = &cell[..cell.find("</td>").unwrap()];
            assert!(cell.contains(reason), "line {line}: {cell}");
        }
        assert!(
            !problems.contains("<tr><td>2</td>"),
            "the good rows are not listed"
        );
        assert!(
            !problems.contains("<tr><td>4</td>"),
            "the good rows are not listed"
        );

        // A file that is not a table at all is refused at upload, with the reason, and no job.
        let r = operator
            .upload(
                &format!("/questionnaires/{qid}/import"),
                "file",
                "rong.csv",
                b"",
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("role=\"alert\""), "{}", r.body);
        assert_eq!(app.store().import_jobs(qid).await.unwrap().len(), 1);
        app
    }
);

web_test!(
    importing_the_same_file_twice_keeps_one_copy,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let rows = [
            ["A", "B", "C", "K"],
            ["B", "B", "A", "A"],
            ["C", "", "", "A"],
        ];

        // With a respondent id column: the id is the key.
        let text = csv("ID", &rows);
        let (_, first) =
            upload_and_start(&app, &mut operator, qid, "dot1.csv", text.as_bytes()).await;
        let first = finished(&app, first).await;
        assert_eq!((first.status.as_str(), first.inserted), ("done", 3));
        let (_, again) =
            upload_and_start(&app, &mut operator, qid, "dot1.csv", text.as_bytes()).await;
        let again = finished(&app, again).await;
        assert_eq!(again.status, "done", "{}", again.report);
        assert_eq!((again.inserted, again.duplicates), (0, 3));
        assert_eq!(response_count(&app, qid).await, 3);

        // Without one: the file's content and the row number are the key.
        let anonymous: String = text
            .lines()
            .map(|l| l.split_once(',').unwrap().1.split_once(',').unwrap().1)
            .map(|l| format!("{}\r\n", l.trim_end()))
            .collect();
        for round in 0..2 {
            let (page, job) = upload_and_start(
                &app,
                &mut operator,
                qid,
                "an-danh.csv",
                anonymous.as_bytes(),
            )
            .await;
            assert_eq!(selected(&page, "respondent"), None);
            let job = finished(&app, job).await;
            assert_eq!(job.status, "done", "{}", job.report);
            let expected = if round == 0 { (3, 0) } else { (0, 3) };
            assert_eq!((job.inserted, job.duplicates), expected, "round {round}");
        }
        assert_eq!(response_count(&app, qid).await, 6);

        // Every import, re-imports too, is on the audit log with its outcome.
        let audited: i64 = sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log WHERE action = 'survey.import.finish'",
        )
        .fetch_one(app.store().raw_pool_for_tests())
        .await
        .unwrap();
        assert_eq!(audited, 4);
        app
    }
);

web_test!(
    only_the_survey_staff_import_and_only_into_an_open_questionnaire,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let path = format!("/questionnaires/{qid}/import");
        for who in ["canbo.stp", "truong.stp", "thamdinh", "lanhdao", "cungcap"] {
            let mut client = app.login_as(who).await;
            let r = client.get(&path).await;
            assert!(
                r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND,
                "{who}: {}",
                r.status
            );
            let r = client
                .upload(
                    &path,
                    "file",
                    "x.csv",
                    csv("X", &[["A", "A", "A", "A"]]).as_bytes(),
                )
                .await;
            assert!(r.status.is_client_error(), "{who}: {}", r.status);
        }
        assert_eq!(app.store().import_jobs(qid).await.unwrap().len(), 0);
        assert_eq!(response_count(&app, qid).await, 0);

        let mut operator = app.login_as("khaosat").await;
        assert_eq!(operator.get(&path).await.status, StatusCode::OK);
        let r = operator.get("/questionnaires/999999/import").await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);

        // A mapping that names a unit the questionnaire does not evaluate is refused.
        let text = csv("M", &[["A", "A", "A", "A"]]);
        let r = operator
            .upload(&path, "file", "m.csv", text.as_bytes())
            .await;
        assert_eq!(r.status, StatusCode::OK);
        let start = format!("/questionnaires/{qid}/import/{}/start", {
            let marker = "/import/";
            let at = r.body.find(marker).unwrap() + marker.len();
            &r.body[at..at + 64]
        });
        let foreign = format!("a:{}:Q1", app.seed.unit_huyen);
        let r = operator.post(&start, &[(foreign.as_str(), "2")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let r = operator.post(&start, &[("respondent", "0")]).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "no answer column: {}",
            r.body
        );
        assert_eq!(app.store().import_jobs(qid).await.unwrap().len(), 0);

        // Once closed, the questionnaire takes no more imports.
        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_questionnaire_status(qid, "open", "closed")
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let r = operator.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            r.body.contains("Chỉ nhập phiếu cho mẫu phiếu đang mở"),
            "{}",
            r.body
        );
        app
    }
);

/// The bad-row reason the job page lists for `line`.
fn problem_on(body: &str, line: usize) -> Option<String> {
    let problems = &body[body.find("data-testid=\"job-problems\"")?..];
    let row = format!("<tr><td>{line}</td><td>");
    let cell = &problems[problems.find(&row)? + row.len()..];
    Some(cell[..cell.find("</td>")?].to_owned())
}

web_test!(
    a_reused_respondent_id_with_other_answers_is_a_bad_row,
    |app: TestApp| async move {
        let (_, qid) = open_questionnaire(&app).await;
        let mut operator = app.login_as("khaosat").await;
        let first = csv("ID", &[["A", "B", "C", "K"], ["B", "B", "A", "A"]]);
        let (_, job) =
            upload_and_start(&app, &mut operator, qid, "dot1.csv", first.as_bytes()).await;
        assert_eq!(finished(&app, job).await.inserted, 2);
        let saved = app.store().questionnaire_responses(qid).await.unwrap();

        // Another file that reuses ID-1 with other answers (and ID-2 unchanged, ID-3 new):
        // ID-1 is reported, and nothing is saved.
        let second = csv(
            "ID",
            &[
                ["C", "C", "C", "C"],
                ["B", "B", "A", "A"],
                ["A", "A", "A", "A"],
            ],
        );
        let (_, job) =
            upload_and_start(&app, &mut operator, qid, "dot2.csv", second.as_bytes()).await;
        let job = finished(&app, job).await;
        assert_eq!(job.status, "failed");
        assert_eq!(job.inserted, 0);
        let r = operator.get(&format!("/import-jobs/{}", job.id)).await;
        assert!(r.body.contains("Số dòng lỗi: 1"), "{}", r.body);
        let reason = problem_on(&r.body, 2).expect("line 2 listed");
        assert!(reason.contains("«ID-1»"), "{reason}");
        assert!(reason.contains("câu trả lời khác"), "{reason}");
        assert_eq!(
            problem_on(&r.body, 3),
            None,
            "the same answers are no problem"
        );
        assert_eq!(
            app.store().questionnaire_responses(qid).await.unwrap(),
            saved
        );

        // The same id twice in one file with different answers: the second is reported.
        let mut twice = csv("N", &[["A", "A", "A", "A"], ["B", "B", "B", "B"]]);
        twice.push_str("N-1,15/11/2026,C,C,C,C\r\n");
        twice.push_str("N-2,15/11/2026,B,B,B,B\r\n");
        let (_, job) =
            upload_and_start(&app, &mut operator, qid, "trung.csv", twice.as_bytes()).await;
        let job = finished(&app, job).await;
        assert_eq!(job.status, "failed");
        let r = operator.get(&format!("/import-jobs/{}", job.id)).await;
        let reason = problem_on(&r.body, 4).expect("line 4 listed");
        assert!(reason.contains("«N-1» đã có ở dòng 2"), "{reason}");
        assert_eq!(
            problem_on(&r.body, 5),
            None,
            "N-2 repeats identical answers"
        );
        assert_eq!(problem_on(&r.body, 2), None);
        assert_eq!(
            app.store().questionnaire_responses(qid).await.unwrap(),
            saved
        );

        // The first file again: still idempotent, nothing added, nothing reported.
        let (_, job) =
            upload_and_start(&app, &mut operator, qid, "dot1-lai.csv", first.as_bytes()).await;
        let job = finished(&app, job).await;
        assert_eq!(
            (job.status.as_str(), job.inserted, job.duplicates),
            ("done", 0, 2)
        );
        assert_eq!(response_count(&app, qid).await, 2);
        app
    }
);
