//! Index sets over HTTP: import (YAML and Excel) with the validation report, publish (only
//! valid drafts), immutability after publishing whatever the browser sends, node editing,
//! clone, diff, export, and refusals that change nothing.

use axum::http::StatusCode;
use parindex_store::AuditFilter;

use crate::support::TestApp;
use crate::web_test;

const SO_YAML: &str = include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml");

async fn audit_len(app: &TestApp) -> usize {
    app.store()
        .audit_list(&AuditFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

/// Imports the shipped departments set through the page; returns its id.
async fn import_so(client: &mut crate::support::TestClient) -> i64 {
    let r = client
        .upload(
            "/index-sets/import",
            "file",
            "bo-chi-so.yaml",
            SO_YAML.as_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    r.location()
        .trim_start_matches("/index-sets/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

/// The table with `data-testid="{testid}"`, up to its end.
fn section<'a>(page: &'a str, testid: &str) -> &'a str {
    let start = page
        .find(&format!("data-testid=\"{testid}\""))
        .unwrap_or_else(|| panic!("no {testid} in {page}"));
    let end = page[start..]
        .find("</table>")
        .map_or(page.len(), |e| start + e);
    &page[start..end]
}

fn version_of(page: &str) -> String {
    let marker = "name=\"version\" value=\"";
    let start = page.find(marker).unwrap() + marker.len();
    page[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect()
}

web_test!(
    import_validate_publish_and_view,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let before = audit_len(&app).await;
        let id = import_so(&mut client).await;
        assert_eq!(audit_len(&app).await, before + 1);
        let page = client.get(&format!("/index-sets/{id}")).await;
        assert_eq!(page.status, StatusCode::OK);
        let body = &page.body;
        assert!(
            body.contains("8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần"),
            "counts per level shown"
        );
        assert!(body.contains("75 + 25 = 100"), "appraised + survey shown");
        assert!(
            body.contains("BỘ CHỈ SỐ MINH HỌA"),
            "labelled as illustrative on screen"
        );
        assert!(body.contains("Cải cách thủ tục hành chính") && body.contains("Bản nháp"));
        // A viewer can read it but not publish it.
        let mut viewer = app.login_as("lanhdao").await;
        assert_eq!(
            viewer.get(&format!("/index-sets/{id}")).await.status,
            StatusCode::OK
        );
        let version = version_of(body);
        assert_eq!(
            viewer
                .post(
                    &format!("/index-sets/{id}/publish"),
                    &[("version", &version)]
                )
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        // The secretariat publishes.
        let published = client
            .post(
                &format!("/index-sets/{id}/publish"),
                &[("version", &version)],
            )
            .await;
        assert_eq!(
            published.status,
            StatusCode::SEE_OTHER,
            "{}",
            published.body
        );
        let page = client.get(&format!("/index-sets/{id}")).await.body;
        assert!(page.contains("Đã ban hành"));
        app
    }
);

web_test!(
    a_published_set_is_immutable_whatever_the_browser_sends,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let id = import_so(&mut client).await;
        let version = version_of(&client.get(&format!("/index-sets/{id}")).await.body);
        client
            .post(
                &format!("/index-sets/{id}/publish"),
                &[("version", &version)],
            )
            .await;
        let stored_before = app.store().get_index_set(id).await.unwrap();
        let v = stored_before.version.to_string();
        let attempts = [
            client
                .post(
                    &format!("/index-sets/{id}/nodes/1.1.1"),
                    &[
                        ("title", "Sửa lén"),
                        ("max", "9"),
                        ("rule", "kind: binary"),
                        ("version", &v),
                    ],
                )
                .await,
            client
                .post(
                    &format!("/index-sets/{id}/nodes"),
                    &[
                        ("parent", "1"),
                        ("title", "Thêm lén"),
                        ("max", "1"),
                        ("version", &v),
                    ],
                )
                .await,
            client
                .post(
                    &format!("/index-sets/{id}/nodes/1.1/delete"),
                    &[("version", &v)],
                )
                .await,
            client
                .post(&format!("/index-sets/{id}/delete"), &[("version", &v)])
                .await,
            client
                .post(&format!("/index-sets/{id}/publish"), &[("version", &v)])
                .await,
        ];
        for r in &attempts {
            assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
        }
        assert!(
            attempts[0].body.contains("đã ban hành"),
            "{}",
            attempts[0].body
        );
        assert_eq!(app.store().get_index_set(id).await.unwrap(), stored_before);
        app
    }
);

web_test!(
    editing_a_draft_revalidates_and_an_invalid_set_cannot_be_published,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let id = import_so(&mut client).await;
        let form = client.get(&format!("/index-sets/{id}/nodes/1.1.1")).await;
        assert_eq!(form.status, StatusCode::OK);
        let version = version_of(&form.body);
        // Out-of-range and malformed input: refused with a message, nothing saved.
        let bad = client
            .post(
                &format!("/index-sets/{id}/nodes/1.1.1"),
                &[
                    ("title", "X tiêu chí"),
                    ("max", "-1"),
                    ("rule", "kind: binary"),
                    ("version", &version),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
        let bad_rule = client
            .post(
                &format!("/index-sets/{id}/nodes/1.1.1"),
                &[
                    ("title", "X tiêu chí"),
                    ("max", "0,5"),
                    ("rule", "kind: teleport"),
                    ("version", &version),
                ],
            )
            .await;
        assert_eq!(bad_rule.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.store()
                .get_index_set(id)
                .await
                .unwrap()
                .version
                .to_string(),
            version
        );
        // A valid edit that breaks the parent's sum: saved as a draft, reported, not publishable.
        let saved = client
            .post(
                &format!("/index-sets/{id}/nodes/1.1.1"),
                &[
                    ("title", "Ban hành kế hoạch CCHC năm (sửa)"),
                    ("max", "7"),
                    ("rule", "kind: binary"),
                    ("method", "Đạt: 7 điểm"),
                    ("evidence", "Kế hoạch"),
                    ("version", &version),
                ],
            )
            .await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        let page = client.get(&format!("/index-sets/{id}")).await.body;
        assert!(
            page.contains("Bộ chỉ số chưa hợp lệ") && page.contains("1.1"),
            "problems listed"
        );
        let v2 = version_of(&page);
        let refused = client
            .post(&format!("/index-sets/{id}/publish"), &[("version", &v2)])
            .await;
        assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            app.store().get_index_set(id).await.unwrap().status,
            parindex_store::index_sets::SetStatus::Draft
        );
        // A stale version (someone saved in between) is a conflict, not an overwrite.
        let stale = client
            .post(
                &format!("/index-sets/{id}/nodes/1.1.1"),
                &[
                    ("title", "Ghi đè"),
                    ("max", "0,5"),
                    ("rule", "kind: binary"),
                    ("version", &version),
                ],
            )
            .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        app
    }
);

web_test!(clone_diff_and_code_mapping, |app: TestApp| async move {
    let mut client = app.login_as("thuky").await;
    let id = import_so(&mut client).await;
    let cloned = client
        .post(
            &format!("/index-sets/{id}/clone"),
            &[("code", "MH-2022-SO"), ("year", "2022")],
        )
        .await;
    assert_eq!(cloned.status, StatusCode::SEE_OTHER, "{}", cloned.body);
    let new_id: i64 = cloned
        .location()
        .trim_start_matches("/index-sets/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Renumber nothing, change one title: the diff lists exactly that.
    let form = client
        .get(&format!("/index-sets/{new_id}/nodes/1.1.1"))
        .await
        .body;
    let version = version_of(&form);
    let rule_marker = "name=\"rule\" rows=\"6\" cols=\"60\" required>";
    let start = form.find(rule_marker).unwrap() + rule_marker.len();
    let rule = form[start..form[start..].find("</textarea>").unwrap() + start]
        .replace("&#34;", "\"")
        .replace("&#39;", "'");
    let r = client
        .post(
            &format!("/index-sets/{new_id}/nodes/1.1.1"),
            &[
                ("title", "Ban hành kế hoạch CCHC năm 2022"),
                ("max", "0,5"),
                ("rule", &rule),
                ("method", "Đạt: 0,5 điểm"),
                ("evidence", "Kế hoạch CCHC"),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // …and drop penalty item P2: the diff covers bonus and penalty items too.
    let page = client.get(&format!("/index-sets/{new_id}")).await.body;
    let r = client
        .post(
            &format!("/index-sets/{new_id}/adjustments/P2/delete"),
            &[("version", &version_of(&page))],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let diff = client
        .get(&format!("/index-sets/diff?old={id}&new={new_id}"))
        .await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(
        diff.body.contains("Tiêu chí thay đổi (1)") && diff.body.contains("1.1.1"),
        "{}",
        diff.body
    );
    // Each change reads before → after, in its own row.
    let changed = section(&diff.body, "diff-changed");
    assert!(
        changed.contains(
            "<td>Tên</td><td>Ban hành kế hoạch CCHC năm kịp thời</td><td>Ban hành kế hoạch CCHC năm 2022</td>"
        ),
        "{changed}"
    );
    let removed = section(&diff.body, "diff-adj-removed");
    assert!(
        removed.contains("<td>P2</td><td>điểm trừ</td>")
            && removed.contains("<td class=\"num\">1</td>"),
        "{removed}"
    );
    assert!(diff.body.contains("Điểm thưởng, điểm trừ bỏ đi (1)"));
    // A mapping to a code that does not exist is refused; a good one is kept.
    let bad = client
        .post(
            &format!("/index-sets/{new_id}/mapping"),
            &[("from_set", &id.to_string()), ("pairs", "1.1.1 → 9.9.9")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let good = client
        .post(
            &format!("/index-sets/{new_id}/mapping"),
            &[("from_set", &id.to_string()), ("pairs", "1.1.1 → 1.1.1")],
        )
        .await;
    assert_eq!(good.status, StatusCode::SEE_OTHER, "{}", good.body);
    assert_eq!(app.store().code_mappings(new_id).await.unwrap().len(), 1);
    app
});

web_test!(
    export_round_trips_and_bad_files_change_nothing,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let id = import_so(&mut client).await;
        let yaml = client.get(&format!("/index-sets/{id}/export/yaml")).await;
        assert_eq!(yaml.status, StatusCode::OK);
        assert!(yaml.header("content-disposition").starts_with("attachment"));
        assert!(yaml.body.contains("MH-2021-SO"));
        let xlsx = client
            .send(
                axum::http::Request::get(format!("/index-sets/{id}/export/xlsx"))
                    .body(axum::body::Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(xlsx.status, StatusCode::OK);
        // Import the exported YAML under another code: the same document comes back.
        let original: parindex_domain::IndexSetDoc =
            serde_json::from_str(&app.store().get_index_set(id).await.unwrap().definition).unwrap();
        let renamed = yaml.body.replace("code: MH-2021-SO", "code: MH-2021-SO-B");
        let r = client
            .upload("/index-sets/import", "file", "lai.yaml", renamed.as_bytes())
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let again = app
            .store()
            .find_index_set_by_code("MH-2021-SO-B")
            .await
            .unwrap()
            .unwrap();
        let mut doc: parindex_domain::IndexSetDoc =
            serde_json::from_str(&again.definition).unwrap();
        doc.code = original.code.clone();
        assert_eq!(doc, original);

        let sets_before = app.store().list_index_sets().await.unwrap().len();
        let audit_before = audit_len(&app).await;
        for (name, bytes) in [
            ("rac.yaml", b"nodes: [unclosed".to_vec()),
            (
                "sai-kieu.yaml",
                b"format: parindex-index-set/1\ncode: X1\nnodes: 5\n".to_vec(),
            ),
            (
                "nhi-phan.xlsx",
                vec![0x50, 0x4b, 0x03, 0x04, 0, 0, 0xff, 0xfe],
            ),
            ("trung.yaml", SO_YAML.as_bytes().to_vec()),
        ] {
            let r = client
                .upload("/index-sets/import", "file", name, &bytes)
                .await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{name}: {}",
                r.body
            );
            assert!(
                r.body.contains("data-testid=\"sets-error\""),
                "{name}: a message is shown"
            );
        }
        assert_eq!(
            app.store().list_index_sets().await.unwrap().len(),
            sets_before
        );
        assert_eq!(audit_len(&app).await, audit_before);
        // Only managers import.
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer
            .upload("/index-sets/import", "file", "x.yaml", SO_YAML.as_bytes())
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        app
    }
);

web_test!(shipped_sets_load_once, |app: TestApp| async move {
    let mut client = app.login_as("thuky").await;
    assert_eq!(
        client.post("/index-sets/shipped", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let sets = app.store().list_index_sets().await.unwrap();
    assert_eq!(sets.len(), 2);
    assert!(sets.iter().all(|s| s.illustrative));
    let again = client.post("/index-sets/shipped", &[]).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.store().list_index_sets().await.unwrap().len(), 2);
    let list = client.get("/index-sets").await.body;
    assert!(list.contains("MINH HỌA") && list.contains("MH-2021-HUYEN"));
    app
});

web_test!(
    a_set_built_from_scratch_becomes_valid_and_is_published,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let created = client
            .post(
                "/index-sets",
                &[
                    ("code", "thu-2026"),
                    ("title", "Bộ chỉ số thử"),
                    ("year", "2026"),
                    ("unit_group", "SO"),
                ],
            )
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        let id: i64 = created
            .location()
            .trim_start_matches("/index-sets/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let v = |page: &str| version_of(page);
        let page = client.get(&format!("/index-sets/{id}")).await.body;
        assert!(
            page.contains("Bộ chỉ số chưa hợp lệ"),
            "an empty set is not valid"
        );
        // The set's own fields: a 10-point scale, 8 appraised + 2 survey, a 1-point bonus cap.
        let meta = client.get(&format!("/index-sets/{id}/meta")).await.body;
        let r = client
            .post(
                &format!("/index-sets/{id}/meta"),
                &[
                    ("code", "THU-2026"),
                    ("title", "Bộ chỉ số thử"),
                    ("year", "2026"),
                    ("unit_group", "SO"),
                    ("scale", "10"),
                    ("appraised_max", "8"),
                    ("survey_max", "2"),
                    ("bonus_cap", "1"),
                    ("penalty_cap", "0"),
                    ("version", &v(&meta)),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let bad_meta = client.get(&format!("/index-sets/{id}/meta")).await.body;
        let r = client
            .post(
                &format!("/index-sets/{id}/meta"),
                &[
                    ("code", "THU-2026"),
                    ("title", "Bộ chỉ số thử"),
                    ("year", "năm nay"),
                    ("unit_group", "SO"),
                    ("scale", "10"),
                    ("appraised_max", "8"),
                    ("survey_max", "2"),
                    ("bonus_cap", "1"),
                    ("penalty_cap", "0"),
                    ("version", &v(&bad_meta)),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        // Two domains: one scored by the unit, one by the survey.
        for (title, max) in [("Chỉ đạo, điều hành", "8"), ("Đánh giá của người dân", "2")]
        {
            let page = client.get(&format!("/index-sets/{id}")).await.body;
            let r = client
                .post(
                    &format!("/index-sets/{id}/nodes"),
                    &[
                        ("parent", ""),
                        ("title", title),
                        ("max", max),
                        ("version", &v(&page)),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        }
        for (code, rule, method) in [
            (
                "1",
                "kind: tiered_percent\ncounted: nhiệm vụ\ntiers:\n  - min_percent: 100\n    points: 8\n  - min_percent: 80\n    points: 4\n",
                "100%: 8 điểm; từ 80%: 4 điểm",
            ),
            ("2", "kind: survey", "Theo kết quả điều tra xã hội học"),
        ] {
            let form = client
                .get(&format!("/index-sets/{id}/nodes/{code}"))
                .await
                .body;
            let title = if code == "1" {
                "Chỉ đạo, điều hành"
            } else {
                "Đánh giá của người dân"
            };
            let max = if code == "1" { "8" } else { "2" };
            let r = client
                .post(
                    &format!("/index-sets/{id}/nodes/{code}"),
                    &[
                        ("title", title),
                        ("max", max),
                        ("rule", rule),
                        ("method", method),
                        ("evidence", "Báo cáo"),
                        ("version", &v(&form)),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{code}: {}", r.body);
        }
        let page = client.get(&format!("/index-sets/{id}")).await.body;
        let r = client
            .post(
                &format!("/index-sets/{id}/adjustments"),
                &[
                    ("code", "t1"),
                    ("kind", "bonus"),
                    ("title", "Sáng kiến được công nhận"),
                    ("max", "1"),
                    ("version", &v(&page)),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = client.get(&format!("/index-sets/{id}")).await.body;
        assert!(
            page.contains("2 lĩnh vực") && page.contains("8 + 2 = 10"),
            "now valid: {}",
            page
        );
        assert!(page.contains("Sáng kiến được công nhận"));
        let r = client
            .post(
                &format!("/index-sets/{id}/publish"),
                &[("version", &v(&page))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let stored = app.store().get_index_set(id).await.unwrap();
        assert_eq!(
            (stored.status, stored.code.as_str()),
            (parindex_store::index_sets::SetStatus::Published, "THU-2026")
        );
        let doc: parindex_domain::IndexSetDoc = serde_json::from_str(&stored.definition).unwrap();
        assert_eq!(doc.adjustments.len(), 1);
        assert_eq!(doc.bonus_cap, parindex_domain::Points::from_int(1));
        app
    }
);
