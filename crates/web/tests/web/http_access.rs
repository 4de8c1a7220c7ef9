//! Authorization beyond the route × role matrix (http_access_matrix.rs): a foreign unit's
//! objects answer 404, navigation follows the role, roles are switched only among one's own.

use axum::http::StatusCode;

use crate::support::TestApp;
use crate::web_test;

const OK: StatusCode = StatusCode::OK;
const NO: StatusCode = StatusCode::FORBIDDEN;
const NF: StatusCode = StatusCode::NOT_FOUND;

web_test!(navigation_follows_the_role, |app: TestApp| async move {
    let mut officer = app.login_as("canbo.stp").await;
    let home = officer.get("/").await.body;
    assert!(!home.contains("href=\"/users\"") && !home.contains("href=\"/audit\""));
    assert!(
        home.contains("Cán bộ đầu mối") && home.contains("Sở Tư pháp"),
        "header shows role and unit"
    );
    let mut admin = app.login_as("admin").await;
    let home = admin.get("/").await.body;
    assert!(home.contains("href=\"/users\"") && home.contains("href=\"/audit\""));
    app
});

web_test!(
    a_unit_user_neither_reads_nor_changes_another_unit,
    |app: TestApp| async move {
        let mut officer = app.login_as("canbo.stp").await;
        // The list shows only their own unit, even when asked for everything.
        let list = officer.get("/units?inactive=1&q=").await.body;
        assert!(list.contains("Sở Tư pháp") && !list.contains("Sở Nội vụ"));
        let snv = app.seed.unit_snv;
        let before = app.store().get_unit(snv).await.unwrap();
        let deactivate = officer
            .post(&format!("/units/{snv}/deactivate"), &[("version", "1")])
            .await;
        assert_eq!(
            deactivate.status,
            StatusCode::NOT_FOUND,
            "{}",
            deactivate.body
        );
        let edit = officer
            .post(
                &format!("/units/{snv}"),
                &[
                    ("code", "SNV"),
                    ("name_vi", "Bị sửa"),
                    ("group_id", "1"),
                    ("valid_from", "01/01/2021"),
                    ("version", "1"),
                ],
            )
            .await;
        assert_eq!(edit.status, StatusCode::NOT_FOUND);
        assert_eq!(app.store().get_unit(snv).await.unwrap(), before);
        // Their own unit: still read-only for a unit officer.
        let stp = app.seed.unit_stp;
        assert_eq!(
            officer
                .post(&format!("/units/{stp}/deactivate"), &[("version", "1")])
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        app
    }
);

web_test!(
    only_the_administrator_manages_users,
    |app: TestApp| async move {
        let mut secretariat = app.login_as("thuky").await;
        let created = secretariat
            .post(
                "/users",
                &[
                    ("username", "ke-la"),
                    ("full_name", "Kẻ lạ"),
                    ("role", "system_admin"),
                    ("unit_id", ""),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::FORBIDDEN);
        let own = app.seed.users["thuky"];
        let escalate = secretariat
            .post(
                &format!("/users/{own}/roles"),
                &[("role", "system_admin"), ("unit_id", "")],
            )
            .await;
        assert_eq!(escalate.status, StatusCode::FORBIDDEN);
        assert_eq!(app.store().user_grants(own).await.unwrap().len(), 1);
        assert!(app.store().user_for_login("ke-la").await.unwrap().is_none());
        app
    }
);

web_test!(
    a_user_switches_only_among_their_own_roles,
    |app: TestApp| async move {
        let mut admin = app.login_as("admin").await;
        let officer_id = app.seed.users["canbo.stp"];
        let stp = app.seed.unit_stp.to_string();
        // Give the officer a second role: viewer of the whole province.
        let granted = admin
            .post(
                &format!("/users/{officer_id}/roles"),
                &[("role", "viewer"), ("unit_id", "")],
            )
            .await;
        assert_eq!(granted.status, StatusCode::SEE_OTHER);
        // A unit role without a unit is refused with the reason.
        let bad = admin
            .post(
                &format!("/users/{officer_id}/roles"),
                &[("role", "unit_head"), ("unit_id", "")],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(bad.body.contains("phải gắn với một đơn vị"));
        let _ = stp;
        let mut officer = app.login_as("canbo.stp").await;
        let grants = app.store().user_grants(officer_id).await.unwrap();
        let viewer = grants
            .iter()
            .find(|g| g.role == parindex_domain::Role::Viewer)
            .unwrap()
            .id;
        // As unit officer: their own unit only.
        let units = officer.get("/units").await;
        assert_eq!(units.status, StatusCode::OK, "{}", units.body);
        assert!(units.body.contains("Sở Tư pháp"), "{}", units.body);
        assert!(!units.body.contains("Sở Nội vụ"), "{}", units.body);
        assert_eq!(
            officer
                .post("/account/role", &[("grant_id", &viewer.to_string())])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert!(officer.get("/units").await.body.contains("Sở Nội vụ"));
        // Someone else's grant cannot be borrowed.
        let admin_grant = app
            .store()
            .user_grants(app.seed.users["admin"])
            .await
            .unwrap()[0]
            .id;
        assert_eq!(
            officer
                .post("/account/role", &[("grant_id", &admin_grant.to_string())])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        assert_eq!(officer.get("/users").await.status, StatusCode::FORBIDDEN);
        // Still the viewer they switched to: the whole province, not the administrator.
        let units = officer.get("/units").await;
        assert_eq!(units.status, StatusCode::OK, "{}", units.body);
        assert!(units.body.contains("Sở Nội vụ"), "{}", units.body);
        app
    }
);

web_test!(
    a_unit_s_sheet_and_evidence_are_for_its_assigned_appraisers_not_the_administrator,
    |app: TestApp| async move {
        let period = crate::support::fixtures::open_period(&app).await;
        let stp = app.seed.unit_stp;
        let snv = app.seed.unit_snv;
        let set = parindex_formats::parse_index_set_file(
            include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml").as_bytes(),
        )
        .unwrap();
        let set = parindex_domain::IndexSet::from_doc(&set, None).unwrap();
        let leaf = set
            .leaves()
            .find(|l| matches!(l.rule, Some(parindex_domain::rules::RuleSpec::Binary)))
            .unwrap()
            .code
            .clone();
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .upload(
                &format!("/periods/{period}/units/{stp}/leaves/{leaf}/evidence"),
                "file",
                "kehoach.pdf",
                b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let file = app.store().unit_evidence(stp).await.unwrap()[0].id;
        let paths = [
            format!("/periods/{period}/units/{stp}/sheet"),
            format!("/evidence/{file}"),
            format!("/evidence/{file}?inline=1"),
            format!("/periods/{period}/units/{stp}/report/pdf"),
            format!("/periods/{period}/units/{stp}/report/xlsx"),
        ];
        // (account, expected on each path) before any assignment: the appraiser is not
        // assigned to STP, so it is a foreign object to them; the administrator reads the
        // sheet but never the evidence; the viewer likewise.
        let expected: [(&str, [StatusCode; 5]); 6] = [
            ("thamdinh", [NF, NF, NF, NF, NF]),
            ("admin", [OK, NO, NO, OK, OK]),
            ("lanhdao", [OK, NO, NO, OK, OK]),
            ("thuky", [OK; 5]),
            ("hoidong", [OK; 5]),
            ("canbo.stp", [OK; 5]),
        ];
        let mut failures = Vec::new();
        let check = |failures: &mut Vec<String>, who: &str, path: &str, want, got| {
            if want != got {
                failures.push(format!("{who} GET {path}: expected {want}, got {got}"));
            }
        };
        for (who, statuses) in &expected {
            let mut client = app.login_as(who).await;
            for (path, want) in paths.iter().zip(statuses) {
                let got = client.get(path).await.status;
                check(&mut failures, who, path, *want, got);
            }
        }
        // Their own agency's sheet: refused outright, assignment or not.
        let mut appraiser = app.login_as("thamdinh").await;
        let own = format!("/periods/{period}/units/{snv}/sheet");
        let got = appraiser.get(&own).await.status;
        check(&mut failures, "thamdinh", &own, NO, got);

        // Assigned on one domain of STP: the sheet, the report and the evidence open.
        let first_domain = set.domains().next().unwrap().code.clone();
        let mut tx = app
            .store()
            .begin_write(parindex_store::AuditActor::system("test"))
            .await
            .unwrap();
        tx.add_assignments(period, &[(app.seed.users["thamdinh"], stp, first_domain)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        for path in &paths {
            let got = appraiser.get(path).await.status;
            check(&mut failures, "thamdinh (assigned)", path, OK, got);
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        app
    }
);

/// Rows on the audit log: a refused request must not add one.
async fn audit_rows(app: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_log")
        .fetch_one(app.store().raw_pool_for_tests())
        .await
        .unwrap()
}

web_test!(
    a_province_wide_role_cannot_be_scoped_to_a_unit,
    |app: TestApp| async move {
        let mut admin = app.login_as("admin").await;
        let stp = app.seed.unit_stp.to_string();
        let officer_id = app.seed.users["canbo.stp"];
        let audited = audit_rows(&app).await;
        // A viewer "of Sở Tư pháp" would see the whole province while the header named one
        // unit: refused, with the reason, on both the grant form and the new-user form.
        for role in [
            "viewer",
            "secretariat",
            "council_member",
            "survey_operator",
            "system_admin",
        ] {
            let granted = admin
                .post(
                    &format!("/users/{officer_id}/roles"),
                    &[("role", role), ("unit_id", &stp)],
                )
                .await;
            assert_eq!(granted.status, StatusCode::UNPROCESSABLE_ENTITY, "{role}");
            assert!(
                granted.body.contains("phạm vi toàn tỉnh"),
                "{role}: {}",
                granted.body
            );
        }
        let created = admin
            .post(
                "/users",
                &[
                    ("username", "lanhdao.stp"),
                    ("full_name", "Lãnh đạo Sở Tư pháp"),
                    ("role", "viewer"),
                    ("unit_id", &stp),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            created.body.contains("phạm vi toàn tỉnh"),
            "{}",
            created.body
        );
        // Nothing saved: no grant, no account, no audit record.
        assert_eq!(app.store().user_grants(officer_id).await.unwrap().len(), 1);
        assert!(
            app.store()
                .user_for_login("lanhdao.stp")
                .await
                .unwrap()
                .is_none()
        );
        assert_eq!(audit_rows(&app).await, audited);
        // The appraiser keeps a home agency; the external provider may record one.
        for role in ["appraiser", "external_provider"] {
            let granted = admin
                .post(
                    &format!("/users/{officer_id}/roles"),
                    &[("role", role), ("unit_id", &stp)],
                )
                .await;
            assert_eq!(
                granted.status,
                StatusCode::SEE_OTHER,
                "{role}: {}",
                granted.body
            );
        }
        assert_eq!(app.store().user_grants(officer_id).await.unwrap().len(), 3);
        app
    }
);
