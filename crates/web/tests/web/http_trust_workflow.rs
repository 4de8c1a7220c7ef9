//! Issue 10, the holes in the workflow's trust: nobody appraises a unit any of their grants
//! binds them to; the administrator neither grants itself roles, nor starts a survey import
//! from content it did not upload, nor reads evidence hashes in the audit; a provider writes
//! only its agency's leaves; the next round waits for the units still explaining, and the
//! council for survey data, unless the secretariat overrides with a recorded reason; and
//! decision and extension dates are plausible.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use parindex_domain::rules::LeafSource;
use parindex_domain::{Role, RoleGrant, UnitCode, UnitDraft, UnitName};
use parindex_domain::{Username, text::format_date_vi};
use parindex_store::appraisal::AppraisalWrite;
use parindex_store::users::NewUser;
use parindex_store::{AuditActor, AuditFilter, WriteTx};

use crate::http_survey_collect::open_questionnaire;
use crate::support::fixtures::{open_period, so_set};
use crate::support::{PASSWORD, TestApp, TestClient, TestResponse};
use crate::web_test;

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

async fn tx(app: &TestApp) -> WriteTx {
    app.store()
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap()
}

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn day(offset: i64) -> String {
    format_date_vi(today() + time::Duration::days(offset))
}

/// The self-assessed leaves of the departments set that apply to departments.
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

/// Adds a department (in the SO group) to the registry; returns its id.
async fn add_department(app: &TestApp, code: &str, name: &str) -> i64 {
    let mut tx = tx(app).await;
    let unit = tx
        .create_unit(&UnitDraft {
            code: UnitCode::parse(code).unwrap(),
            name_vi: UnitName::parse(name).unwrap(),
            name_en: None,
            group_id: app.seed.group_so,
            parent_id: None,
            valid_from: time::macros::date!(2021 - 01 - 01),
            valid_to: None,
            successor_id: None,
        })
        .await
        .unwrap();
    tx.commit().await.unwrap();
    unit.id
}

/// Creates an account with the seeded password and `grants`; returns (user id, grant ids).
async fn person(app: &TestApp, username: &str, grants: &[RoleGrant]) -> (i64, Vec<i64>) {
    let hash = parindex_app::password::hash(PASSWORD.into()).await.unwrap();
    let mut tx = tx(app).await;
    let user = tx
        .create_user(&NewUser {
            username: Username::parse(username).unwrap(),
            full_name: format!("Người thử {username}"),
            email: None,
            password_hash: hash,
            must_change_password: false,
        })
        .await
        .unwrap();
    let mut ids = Vec::new();
    for g in grants {
        ids.push(tx.grant_role(user.id, g).await.unwrap());
    }
    tx.commit().await.unwrap();
    (user.id, ids)
}

async fn set_stage(app: &TestApp, period: i64, from: (&str, i64), to: (&str, i64)) {
    let mut tx = tx(app).await;
    tx.set_period_stage(period, from, to).await.unwrap();
    tx.commit().await.unwrap();
}

async fn stage(app: &TestApp, period: i64) -> (String, i64) {
    let p = app.store().get_period(period).await.unwrap();
    let (code, round) = p.stage.stored();
    (code.to_owned(), round)
}

async fn audit_of(app: &TestApp, action: &str) -> Vec<parindex_store::AuditEntry> {
    app.store()
        .audit_list(&AuditFilter {
            action: Some(action.into()),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Writes an appraisal of each leaf in `round`, flagging the ones in `flag`.
async fn appraise_all(
    app: &TestApp,
    period: i64,
    unit: i64,
    round: i64,
    leaves: &[String],
    flag: &[&str],
) {
    let mut tx = tx(app).await;
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

/// Posts the decision form as multipart, with a PDF.
async fn post_decision(
    client: &mut TestClient,
    period: i64,
    number: &str,
    date: &str,
) -> TestResponse {
    let token = client.csrf().await;
    let boundary = "----parindex-trust-boundary";
    let mut body = Vec::new();
    for (k, v) in [("number", number), ("date", date)] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"qd.pdf\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(PDF);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
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

/// The part of `body` from `marker` to the end of its table.
fn table<'a>(body: &'a str, marker: &str) -> &'a str {
    let at = body
        .find(marker)
        .unwrap_or_else(|| panic!("{marker}: {body}"));
    let rest = &body[at..];
    &rest[..rest.find("</table>").unwrap_or(rest.len())]
}

// ---------------------------------------------------------------------------------------------
// 1. No one appraises their own unit, by any grant.

web_test!(
    no_one_appraises_their_own_unit_by_any_grant,
    |app: TestApp| async move {
        let stp = app.seed.unit_stp;
        let stc = add_department(&app, "STC", "Sở Tài chính").await;
        // An officer of STP, given an appraiser grant from SNV by the administrator.
        let (dual, grants) = person(
            &app,
            "canbo.kiemtra",
            &[RoleGrant {
                role: Role::UnitOfficer,
                unit_id: Some(stp),
            }],
        )
        .await;
        let mut admin = app.login_as("admin").await;
        let snv = app.seed.unit_snv.to_string();
        let r = admin
            .post(
                &format!("/users/{dual}/roles"),
                &[("role", "appraiser"), ("unit_id", &snv)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // The page that granted it warns, naming the unit the person is kept away from.
        let page = admin.get(&format!("/users/{dual}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let warning = table(&page.body, "data-testid=\"conflict-warning\"");
        assert!(warning.contains("Sở Tư pháp"), "{warning}");
        assert!(warning.contains("không được thẩm định"), "{warning}");
        // An appraiser with only a home agency gets no such notice.
        let plain = admin
            .get(&format!("/users/{}", app.seed.users["thamdinh"]))
            .await;
        assert_eq!(plain.status, StatusCode::OK);
        assert!(
            plain.body.contains("Thành viên tổ thẩm định"),
            "{}",
            plain.body
        );
        assert!(!plain.body.contains("conflict-warning"), "{}", plain.body);
        let appraiser_grant = app
            .store()
            .user_grants(dual)
            .await
            .unwrap()
            .into_iter()
            .find(|g| g.role == Role::Appraiser)
            .unwrap()
            .id;
        assert!(!grants.contains(&appraiser_grant));

        // A period: STP scores 1.1.1 with a cited file, then the appraisal starts.
        let period = open_period(&app).await;
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .post(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.1"),
                &[("value", "yes"), ("version", "0")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.1/evidence"),
                "file",
                "ke-hoach.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let file = app.store().unit_evidence(stp).await.unwrap()[0].id;
        set_stage(&app, period, ("self", 0), ("round", 1)).await;

        // The assignment to STP is refused, nothing saved; STC is fine.
        let mut secretariat = app.login_as("thuky").await;
        let dual_s = dual.to_string();
        let stp_s = stp.to_string();
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("appraiser", &dual_s), ("unit", &stp_s), ("node", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(
            r.body.contains("không được thẩm định chính đơn vị"),
            "{}",
            r.body
        );
        assert!(app.store().assignments(period).await.unwrap().is_empty());
        let stc_s = stc.to_string();
        let r = secretariat
            .post(
                &format!("/periods/{period}/assignments"),
                &[("appraiser", &dual_s), ("unit", &stc_s), ("node", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(app.store().assignments(period).await.unwrap().len(), 1);

        // Even with an assignment on STP (made before the grant, say), the person acting as
        // appraiser may neither save STP's leaves nor open its evidence or sheet.
        let mut t = tx(&app).await;
        t.add_assignments(
            period,
            &[
                (dual, stp, "1.1".to_owned()),
                (app.seed.users["thamdinh"], stp, "1.1".to_owned()),
            ],
        )
        .await
        .unwrap();
        t.commit().await.unwrap();
        let mut client = app.login_as("canbo.kiemtra").await;
        let grant = appraiser_grant.to_string();
        let r = client.post("/account/role", &[("grant_id", &grant)]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let save = [
            ("value", "no"),
            ("remark", "Chưa có văn bản"),
            ("version", "0"),
        ];
        let r = client
            .post(
                &format!("/periods/{period}/units/{stp}/appraisal/1.1.1"),
                &save,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            app.store()
                .appraisals(period, stp)
                .await
                .unwrap()
                .is_empty()
        );
        let r = client.get(&format!("/evidence/{file}")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(!r.body.starts_with("%PDF"));
        let r = client
            .get(&format!("/periods/{period}/units/{stp}/sheet"))
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // Their assigned unit STC works.
        let r = client
            .post(
                &format!("/periods/{period}/units/{stc}/appraisal/1.1.1"),
                &save,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(app.store().appraisals(period, stc).await.unwrap().len(), 1);
        // An appraiser from elsewhere, assigned to STP, opens the file.
        let mut other = app.login_as("thamdinh").await;
        let r = other.get(&format!("/evidence/{file}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.starts_with("%PDF"));
        app
    }
);

// ---------------------------------------------------------------------------------------------
// 3. The system administrator cannot reach what it is denied.

web_test!(
    the_administrator_cannot_grant_roles_to_itself,
    |app: TestApp| async move {
        let admin_id = app.seed.users["admin"];
        let mut admin = app.login_as("admin").await;
        let audited = audit_of(&app, "user.grant_role").await.len();
        for role in ["secretariat", "council_member", "viewer"] {
            let r = admin
                .post(
                    &format!("/users/{admin_id}/roles"),
                    &[("role", role), ("unit_id", "")],
                )
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{role}: {}", r.body);
            assert!(r.body.contains("không thể tự cấp vai trò"), "{}", r.body);
        }
        assert_eq!(app.store().user_grants(admin_id).await.unwrap().len(), 1);
        assert_eq!(audit_of(&app, "user.grant_role").await.len(), audited);
        // Their own page says so instead of offering the form; another's page offers it.
        let own = admin.get(&format!("/users/{admin_id}")).await;
        assert_eq!(own.status, StatusCode::OK);
        assert!(
            own.body.contains("data-testid=\"no-self-grant\""),
            "{}",
            own.body
        );
        assert!(
            !own.body
                .contains(&format!("action=\"/users/{admin_id}/roles\""))
        );
        let officer_id = app.seed.users["canbo.stp"];
        let other = admin.get(&format!("/users/{officer_id}")).await;
        assert!(
            other
                .body
                .contains(&format!("action=\"/users/{officer_id}/roles\""))
        );
        // Another administrator may grant them a role.
        person(
            &app,
            "quantri2",
            &[RoleGrant {
                role: Role::SystemAdmin,
                unit_id: None,
            }],
        )
        .await;
        let mut second = app.login_as("quantri2").await;
        let r = second
            .post(
                &format!("/users/{admin_id}/roles"),
                &[("role", "viewer"), ("unit_id", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(app.store().user_grants(admin_id).await.unwrap().len(), 2);
        app
    }
);

/// The header a province's spreadsheet would carry, and one response.
const SURVEY_CSV: &str =
    "Mã người trả lời,Ngày trả lời,STP_Q1,STP_Q2,SNV_Q1,SNV_Q2\r\nR-1,15/11/2026,A,A,A,A\r\n";

/// The start form's action on a mapping page.
fn start_path(body: &str) -> String {
    body.split("action=\"")
        .find_map(|s| {
            let url = &s[..s.find('"')?];
            url.ends_with("/start").then(|| url.to_owned())
        })
        .expect("the start form")
}

web_test!(
    a_survey_import_starts_only_from_the_users_own_upload,
    |app: TestApp| async move {
        let (period, qid) = open_questionnaire(&app).await;
        let stp = app.seed.unit_stp;
        // An evidence file of STP, and its content hash (as the audit page used to show).
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.1/evidence"),
                "file",
                "bao-cao.csv.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let evidence_sha = app.store().unit_evidence(stp).await.unwrap()[0]
            .sha256
            .clone();
        let mapping = [
            ("respondent", "0"),
            ("date", "1"),
            ("width", "6"),
            ("file_name", "x.csv"),
        ];
        let q1 = format!("a:{stp}:Q1");
        let mut fields: Vec<(&str, &str)> = mapping.to_vec();
        fields.push((q1.as_str(), "2"));

        // The administrator (who may manage the survey) cannot start from the evidence's hash.
        let mut admin = app.login_as("admin").await;
        let r = admin
            .post(
                &format!("/questionnaires/{qid}/import/{evidence_sha}/start"),
                &fields,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("chính bạn đã tải lên"), "{}", r.body);

        // Nor from a survey file the operator uploaded.
        let mut operator = app.login_as("khaosat").await;
        let r = operator
            .upload(
                &format!("/questionnaires/{qid}/import"),
                "file",
                "dot1.csv",
                SURVEY_CSV.as_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let start = start_path(&r.body);
        let r = admin.post(&start, &fields).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(app.store().import_jobs(qid).await.unwrap().is_empty());

        // The operator starts from their own upload; the job keeps the uploaded name.
        let r = operator.post(&start, &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let jobs = app.store().import_jobs(qid).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].file_name, "dot1.csv");
        assert_ne!(jobs[0].sha256, evidence_sha);

        // The same file is not theirs to import into another questionnaire without uploading
        // it there.
        let mut t = tx(&app).await;
        let group = app.store().survey_groups(period).await.unwrap()[0].id;
        let other = t
            .create_questionnaire(
                period,
                group,
                "Phiếu thứ hai",
                &app.store().questionnaire(qid).await.unwrap().definition,
                &[stp, app.seed.unit_snv],
            )
            .await
            .unwrap();
        t.set_questionnaire_status(other, "draft", "open")
            .await
            .unwrap();
        t.commit().await.unwrap();
        let sha = &start[start.find("/import/").unwrap() + "/import/".len()..][..64];
        let r = operator
            .post(
                &format!("/questionnaires/{other}/import/{sha}/start"),
                &fields,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(app.store().import_jobs(other).await.unwrap().is_empty());
        app
    }
);

web_test!(
    the_audit_page_hides_evidence_hashes_from_roles_that_cannot_open_evidence,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let stp = app.seed.unit_stp;
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/1.1.1/evidence"),
                "file",
                "ke-hoach.pdf",
                PDF,
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let file = &app.store().unit_evidence(stp).await.unwrap()[0];
        let path = "/audit?action=evidence.upload";

        // The administrator may not open evidence: the record is listed, the hash is not.
        let mut admin = app.login_as("admin").await;
        let r = admin.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let rows = table(&r.body, "data-testid=\"audit-table\"");
        assert!(rows.contains("evidence_file"), "{rows}");
        assert!(rows.contains("ke-hoach.pdf"), "{rows}");
        assert!(rows.contains("[ẩn"), "{rows}");
        assert!(!rows.contains(&file.sha256), "{rows}");
        assert!(!r.body.contains(&file.sha256));

        // The secretariat may open it, and sees the hash.
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.get(path).await;
        assert_eq!(r.status, StatusCode::OK);
        let rows = table(&r.body, "data-testid=\"audit-table\"");
        assert!(rows.contains(&file.sha256), "{rows}");
        assert!(!rows.contains("[ẩn"), "{rows}");
        app
    }
);

// ---------------------------------------------------------------------------------------------
// 5. External data providers are bound to their agency.

web_test!(
    external_providers_write_only_their_agencys_leaves,
    |app: TestApp| async move {
        // `cungcap` provides for Sở Tư pháp; 6.1.3 is provided by Sở Tài chính, 2.1.3 by
        // Sở Tư pháp.
        let period = open_period(&app).await;
        let stp = app.seed.unit_stp;
        let mut provider = app.login_as("cungcap").await;
        let r = provider
            .post(
                &format!("/periods/{period}/external/{stp}/6.1.3"),
                &[("points", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(r.body.contains("Sở Tài chính"), "{}", r.body);
        let csv = "ma_don_vi,ma_tieu_chi,diem\nSTP,6.1.3,1\nSNV,6.1.3,1\n";
        let r = provider
            .upload(
                &format!("/periods/{period}/external/import"),
                "file",
                "tai-chinh.csv",
                csv.as_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        let problems = table(&r.body, "data-testid=\"external-problems\"");
        assert!(problems.contains("do Sở Tài chính cung cấp"), "{problems}");
        assert!(!r.body.contains("confirm-external"));
        assert!(
            app.store()
                .external_values(period, None)
                .await
                .unwrap()
                .is_empty()
        );
        // Its own agency's leaf is fine, and the matrix offers only those cells.
        let r = provider
            .post(
                &format!("/periods/{period}/external/{stp}/2.1.3"),
                &[("points", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let matrix = provider.get(&format!("/periods/{period}/external")).await;
        assert_eq!(matrix.status, StatusCode::OK);
        assert!(matrix.body.contains(&format!(
            "action=\"/periods/{period}/external/{stp}/2.1.3\""
        )));
        assert!(!matrix.body.contains(&format!(
            "action=\"/periods/{period}/external/{stp}/6.1.3\""
        )));
        let values = app.store().external_values(period, None).await.unwrap();
        assert_eq!(values.len(), 1);
        assert_eq!(values[0].leaf_code, "2.1.3");
        // The secretariat writes any external leaf.
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat
            .post(
                &format!("/periods/{period}/external/{stp}/6.1.3"),
                &[("points", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // A provider grant names its agency.
        let mut admin = app.login_as("admin").await;
        let officer = app.seed.users["canbo.stp"];
        let r = admin
            .post(
                &format!("/users/{officer}/roles"),
                &[("role", "external_provider"), ("unit_id", "")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("phải gắn với một đơn vị"), "{}", r.body);
        assert_eq!(app.store().user_grants(officer).await.unwrap().len(), 1);
        app
    }
);

// ---------------------------------------------------------------------------------------------
// 6. Stage changes respect the explanation deadline.

web_test!(
    the_next_round_waits_for_explanations_unless_overridden,
    |app: TestApp| async move {
        let stp = app.seed.unit_stp;
        let snv = app.seed.unit_snv;
        let period = open_period(&app).await;
        let leaves = self_leaves();
        // Round 1 flagged one of STP's leaves and none of SNV's; the explanation round is
        // open until tomorrow.
        set_stage(&app, period, ("self", 0), ("round", 1)).await;
        appraise_all(&app, period, stp, 1, &leaves[..2], &[leaves[0].as_str()]).await;
        appraise_all(&app, period, snv, 1, &leaves[..2], &[]).await;
        set_stage(&app, period, ("round", 1), ("explanation", 1)).await;
        let tomorrow = parindex_store::now_ms() + 86_400_000;
        let mut t = tx(&app).await;
        t.set_explanation_deadline(period, 1, tomorrow)
            .await
            .unwrap();
        t.commit().await.unwrap();

        let mut secretariat = app.login_as("thuky").await;
        let next = format!("/periods/{period}/stage");
        let r = secretariat.post(&next, &[("action", "next_round")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("chưa nộp giải trình"), "{}", r.body);
        let waiting = table(&r.body, "data-testid=\"waiting-units\"");
        assert!(
            waiting.contains("STP") && waiting.contains("Sở Tư pháp"),
            "{waiting}"
        );
        assert!(!waiting.contains("Sở Nội vụ"), "{waiting}");
        assert!(r.body.contains("name=\"override_reason\""));
        assert_eq!(stage(&app, period).await, ("explanation".into(), 1));

        // The round's deadline has passed, but STP's extension has not: still waiting.
        let mut t = tx(&app).await;
        t.set_explanation_deadline(period, 1, parindex_store::now_ms() - 86_400_000)
            .await
            .unwrap();
        t.set_explanation_extension(period, stp, 1, Some(tomorrow), "Chờ văn bản của Bộ")
            .await
            .unwrap();
        t.commit().await.unwrap();
        let r = secretariat.post(&next, &[("action", "next_round")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(table(&r.body, "data-testid=\"waiting-units\"").contains("STP"));
        // A reason too short changes nothing.
        let r = secretariat
            .post(
                &next,
                &[("action", "next_round"), ("override_reason", "ok")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("explanation".into(), 1));
        assert!(audit_of(&app, "period.stage_override").await.is_empty());

        // Overridden with a reason: the round opens, and the reason is in the audit record.
        let reason = "Lãnh đạo tỉnh chỉ đạo đẩy nhanh tiến độ";
        let r = secretariat
            .post(
                &next,
                &[("action", "next_round"), ("override_reason", reason)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("round".into(), 2));
        let records = audit_of(&app, "period.stage_override").await;
        assert_eq!(records.len(), 1);
        let after = records[0].after_json.clone().unwrap();
        assert!(after.contains(reason), "{after}");
        assert!(after.contains("STP"), "{after}");
        assert_eq!(records[0].actor_username, "thuky");
        app
    }
);

// ---------------------------------------------------------------------------------------------
// 11. Dates are plausible.

web_test!(
    decision_and_extension_dates_are_plausible,
    |app: TestApp| async move {
        let stp = app.seed.unit_stp;
        let period = open_period(&app).await;
        let mut secretariat = app.login_as("thuky").await;
        let self_extension = format!("/periods/{period}/units/{stp}/extension");
        let reason = "Đơn vị đề nghị do mất điện";
        // The self-assessment closes in 10 days: an "extension" to day 5 is not one, nor one
        // past the end of 2027 (the period is 2026's).
        for until in [day(5), "15/01/2028".to_owned()] {
            let r = secretariat
                .post(&self_extension, &[("until", &until), ("reason", reason)])
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{until}: {}",
                r.body
            );
            assert!(
                r.body.contains("phải sau hạn hiện tại") || r.body.contains("31/12/2027"),
                "{until}: {}",
                r.body
            );
        }
        let unit = app.store().period_unit(period, stp).await.unwrap();
        assert_eq!(unit.extension_until, None);
        let r = secretariat
            .post(&self_extension, &[("until", &day(20)), ("reason", reason)])
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(
            app.store()
                .period_unit(period, stp)
                .await
                .unwrap()
                .extension_until
                .is_some()
        );

        // The explanation round's deadline is in 3 days: an extension ends after it.
        set_stage(&app, period, ("self", 0), ("explanation", 1)).await;
        let mut t = tx(&app).await;
        t.set_explanation_deadline(period, 1, parindex_store::now_ms() + 3 * 86_400_000)
            .await
            .unwrap();
        t.commit().await.unwrap();
        let explanation_extension = format!("/periods/{period}/units/{stp}/explanation-extension");
        for until in [day(1), "02/01/2028".to_owned()] {
            let r = secretariat
                .post(
                    &explanation_extension,
                    &[("until", &until), ("reason", reason)],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{until}: {}",
                r.body
            );
            assert!(r.body.contains("gia hạn"), "{}", r.body);
        }
        assert!(
            app.store()
                .explanation_extensions(period)
                .await
                .unwrap()
                .is_empty()
        );
        let r = secretariat
            .post(
                &explanation_extension,
                &[("until", &day(6)), ("reason", reason)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            app.store()
                .explanation_extensions(period)
                .await
                .unwrap()
                .len(),
            1
        );

        // A decision is not dated in the future.
        set_stage(&app, period, ("explanation", 1), ("council", 0)).await;
        let r = post_decision(&mut secretariat, period, "123/QĐ-UBND", &day(2)).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("không được sau ngày hôm nay"), "{}", r.body);
        let stored = app.store().get_period(period).await.unwrap();
        assert_eq!(stored.decision_number, None);
        assert_eq!(stage(&app, period).await, ("council".into(), 0));
        let signed = day(-1);
        let r = post_decision(&mut secretariat, period, "123/QĐ-UBND", &signed).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let stored = app.store().get_period(period).await.unwrap();
        assert_eq!(stored.decision_date.as_deref(), Some(signed.as_str()));
        assert_eq!(stage(&app, period).await, ("approved".into(), 0));
        app
    }
);

// ---------------------------------------------------------------------------------------------
// 24. No council stage without survey data.

web_test!(
    no_council_review_without_survey_data_unless_confirmed,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let leaves = self_leaves();
        // The last round is done for every unit; no survey response was collected.
        set_stage(&app, period, ("self", 0), ("round", 2)).await;
        let set = so_set();
        let mut rows = Vec::new();
        for unit in [app.seed.unit_stp, app.seed.unit_snv] {
            for d in set.domains() {
                rows.push((app.seed.users["thamdinh"], unit, d.code.clone()));
            }
        }
        let mut t = tx(&app).await;
        t.add_assignments(period, &rows).await.unwrap();
        t.commit().await.unwrap();
        for unit in [app.seed.unit_stp, app.seed.unit_snv] {
            appraise_all(&app, period, unit, 2, &leaves, &[]).await;
        }
        assert_eq!(
            app.store().counted_survey_responses(period).await.unwrap(),
            0
        );

        let mut secretariat = app.login_as("thuky").await;
        let path = format!("/periods/{period}/stage");
        let r = secretariat.post(&path, &[("action", "close_round")]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("điều tra xã hội học"), "{}", r.body);
        assert!(r.body.contains("name=\"override_reason\""), "{}", r.body);
        assert_eq!(stage(&app, period).await, ("round".into(), 2));
        assert!(audit_of(&app, "period.stage_override").await.is_empty());

        let reason = "Kết quả điều tra do Bộ Nội vụ tổng hợp, nhập sau";
        let r = secretariat
            .post(
                &path,
                &[("action", "close_round"), ("override_reason", reason)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(stage(&app, period).await, ("council".into(), 0));
        let records = audit_of(&app, "period.stage_override").await;
        assert_eq!(records.len(), 1);
        let after = records[0].after_json.clone().unwrap();
        assert!(after.contains(reason), "{after}");
        assert!(after.contains("council"), "{after}");
        app
    }
);
