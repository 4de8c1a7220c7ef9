//! The unit registry over HTTP: create, edit with optimistic versions, deactivate, search,
//! groups, and imports with a report before anything is saved. Every mutation writes exactly
//! one audit record; every refusal is a 4xx with a Vietnamese message and changes nothing.

use axum::http::StatusCode;
use parindex_store::{AuditFilter, ChainReport};

use crate::support::TestApp;
use crate::web_test;

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

fn unit_fields<'a>(code: &'a str, name: &'a str, group: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("code", code),
        ("name_vi", name),
        ("group_id", group),
        ("valid_from", "06/09/2021"),
    ]
}

web_test!(
    create_edit_deactivate_each_write_one_audit_record,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let group = app.seed.group_so.to_string();
        let before = audit_len(&app).await;
        let created = client
            .post("/units", &unit_fields("stc", "Sở  Tài chính", &group))
            .await;
        assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
        assert_eq!(audit_len(&app).await, before + 1);
        let unit = app
            .store()
            .find_unit_by_code("STC")
            .await
            .unwrap()
            .expect("created, code upper-cased");
        assert_eq!(unit.name_vi, "Sở Tài chính");
        assert_eq!(unit.valid_from, "2021-09-06");
        let page = client.get(created.location()).await;
        assert!(page.body.contains("06/09/2021") && page.body.contains("Đã tạo mới."));

        let id = unit.id;
        let mut edit = unit_fields("STC", "Sở Tài chính tỉnh", &group);
        edit.push(("version", "1"));
        edit.push(("valid_to", "30/06/2025"));
        edit.push(("successor_code", "snv"));
        let saved = client.post(&format!("/units/{id}"), &edit).await;
        assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
        assert_eq!(audit_len(&app).await, before + 2);
        let updated = app.store().get_unit(id).await.unwrap();
        assert_eq!(
            (updated.version, updated.successor_id),
            (2, Some(app.seed.unit_snv))
        );
        let newest = &app
            .store()
            .audit_list(&AuditFilter {
                limit: 1,
                ..Default::default()
            })
            .await
            .unwrap()[0];
        assert_eq!(
            (
                newest.action.as_str(),
                newest.actor_username.as_str(),
                newest.actor_role.code()
            ),
            ("unit.update", "thuky", "secretariat")
        );
        assert!(
            newest
                .before_json
                .as_deref()
                .unwrap()
                .contains("Sở Tài chính\"")
        );
        assert!(
            newest
                .after_json
                .as_deref()
                .unwrap()
                .contains("Sở Tài chính tỉnh")
        );

        // A second editor who loaded version 1 is told, and nothing is overwritten.
        let mut stale = unit_fields("STC", "Ghi đè", &group);
        stale.push(("version", "1"));
        let conflict = client.post(&format!("/units/{id}"), &stale).await;
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        assert!(conflict.body.contains("vừa được người khác sửa"));
        assert_eq!(
            app.store().get_unit(id).await.unwrap().name_vi,
            "Sở Tài chính tỉnh"
        );
        assert_eq!(audit_len(&app).await, before + 2);

        let off = client
            .post(&format!("/units/{id}/deactivate"), &[("version", "2")])
            .await;
        assert_eq!(off.status, StatusCode::SEE_OTHER);
        assert!(!app.store().get_unit(id).await.unwrap().active);
        assert!(
            !client
                .get("/units")
                .await
                .body
                .contains("Sở Tài chính tỉnh")
        );
        assert!(
            client
                .get("/units?inactive=1")
                .await
                .body
                .contains("Sở Tài chính tỉnh")
        );
        assert_eq!(
            client
                .post(&format!("/units/{id}/reactivate"), &[("version", "3")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(audit_len(&app).await, before + 4);
        assert!(matches!(
            app.store().audit_verify().await.unwrap(),
            ChainReport::Intact { .. }
        ));
        app
    }
);

web_test!(
    bad_input_gets_a_clear_error_and_changes_nothing,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let group = app.seed.group_so.to_string();
        let units_before = app.store().count_units().await.unwrap();
        let audit_before = audit_len(&app).await;
        let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
            (unit_fields("STP", "Trùng mã", &group), "đã tồn tại"),
            (unit_fields("X", "Mã quá ngắn", &group), "từ 2 đến 32 ký tự"),
            (
                unit_fields("a'; DROP TABLE units;--", "Tiêm SQL", &group),
                "chỉ gồm chữ không dấu",
            ),
            (
                unit_fields("OK1", "Nhóm lạ", "999999"),
                "Nhóm đơn vị không tồn tại",
            ),
            (
                unit_fields("OK2", "Nhóm không phải số", "abc"),
                "Hãy chọn nhóm đơn vị",
            ),
            (
                vec![
                    ("code", "OK3"),
                    ("name_vi", "Ngày sai"),
                    ("group_id", &group),
                    ("valid_from", "31/02/2024"),
                ],
                "Ngày không hợp lệ",
            ),
            (
                vec![
                    ("code", "OK4"),
                    ("name_vi", "Ngày ngược"),
                    ("group_id", &group),
                    ("valid_from", "01/01/2024"),
                    ("valid_to", "01/01/2023"),
                ],
                "phải sau ngày bắt đầu",
            ),
            (
                vec![
                    ("code", "OK5"),
                    ("name_vi", "Cha lạ"),
                    ("group_id", &group),
                    ("valid_from", "01/01/2024"),
                    ("parent_code", "KHONGCO"),
                ],
                "Không tìm thấy đơn vị cha",
            ),
        ];
        for (fields, expected) in cases {
            let r = client.post("/units", &fields).await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
            assert!(
                r.body.contains(expected),
                "{fields:?}: expected «{expected}» in the page"
            );
            // What the user typed is shown back, escaped.
            assert!(r.body.contains(&askama_escape(fields[1].1)), "{fields:?}");
        }
        assert_eq!(app.store().count_units().await.unwrap(), units_before);
        assert_eq!(audit_len(&app).await, audit_before);

        // Markup in a name is stored as text and shown escaped.
        let xss = client
            .post(
                "/units",
                &unit_fields("XSS", "<script>alert(1)</script> Sở", &group),
            )
            .await;
        assert_eq!(xss.status, StatusCode::SEE_OTHER);
        let page = client.get("/units").await.body;
        assert!(
            !page.contains("<script>alert(1)</script>")
                && page.contains("&#60;script&#62;alert(1)")
        );
        app
    }
);

fn askama_escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

web_test!(search_ignores_diacritics, |app: TestApp| async move {
    let mut client = app.login_as("lanhdao").await;
    let found = client.get("/units?q=tu+phap").await.body;
    assert!(found.contains("Sở Tư pháp") && !found.contains("Sở Nội vụ"));
    let found = client.get("/units?q=EA%20KAR").await.body;
    assert!(found.contains("Huyện Ea Kar"));
    let by_group = client
        .get(&format!("/units?group={}", app.seed.group_huyen))
        .await
        .body;
    assert!(by_group.contains("Huyện Ea Kar") && !by_group.contains("Sở Tư pháp"));
    app
});

web_test!(groups_are_data, |app: TestApp| async move {
    let mut client = app.login_as("thuky").await;
    let r = client
        .post(
            "/unit-groups",
            &[
                ("code", "xa"),
                ("name_vi", "UBND xã, phường"),
                ("sort_order", "3"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let dup = client
        .post("/unit-groups", &[("code", "SO"), ("name_vi", "Trùng")])
        .await;
    assert_eq!(dup.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(dup.body.contains("Mã nhóm «SO» đã tồn tại"));
    let page = client.get("/unit-groups").await.body;
    assert!(page.contains("UBND xã, phường"));
    app
});

const GOOD_CSV: &str = "Mã đơn vị,Tên đơn vị,Nhóm,Đơn vị cha,Hiệu lực từ,Hiệu lực đến,Đơn vị kế thừa\n\
STC,Sở Tài chính,SO,,01/01/2021,,\n\
SKHDT,Sở Kế hoạch và Đầu tư,SO,,01/01/2021,28/02/2025,STC\n\
X-EAKAR,Xã Ea Kar,HUYEN,H-EAKAR,01/01/2021,,\n";

web_test!(
    import_reports_then_saves_everything_in_one_go,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let mut admin = app.login_as("admin").await;
        let units_before = app.store().count_units().await.unwrap();
        let audit_before = audit_len(&app).await;
        let report = client
            .upload("/units/import", "file", "don-vi.csv", GOOD_CSV.as_bytes())
            .await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        assert!(
            report.body.contains("Tất cả các dòng đều hợp lệ")
                && report.body.contains("Sở Kế hoạch và Đầu tư")
        );
        // Nothing is saved by the report.
        assert_eq!(app.store().count_units().await.unwrap(), units_before);
        let marker = "action=\"/units/import/";
        let start = report.body.find(marker).unwrap() + marker.len();
        let stash: String = report.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        // Another user cannot confirm someone else's import.
        assert_eq!(
            admin
                .post(&format!("/units/import/{stash}/confirm"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let confirmed = client
            .post(&format!("/units/import/{stash}/confirm"), &[])
            .await;
        assert_eq!(
            confirmed.status,
            StatusCode::SEE_OTHER,
            "{}",
            confirmed.body
        );
        assert_eq!(app.store().count_units().await.unwrap(), units_before + 3);
        assert_eq!(audit_len(&app).await, audit_before + 3);
        let merged = app
            .store()
            .find_unit_by_code("SKHDT")
            .await
            .unwrap()
            .unwrap();
        let successor = app.store().find_unit_by_code("STC").await.unwrap().unwrap();
        assert_eq!(
            (merged.successor_id, merged.valid_to.as_deref()),
            (Some(successor.id), Some("2025-02-28"))
        );
        let commune = app
            .store()
            .find_unit_by_code("X-EAKAR")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(commune.parent_id, Some(app.seed.unit_huyen));
        // Confirming twice does nothing more.
        assert_eq!(
            client
                .post(&format!("/units/import/{stash}/confirm"), &[])
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        app
    }
);

web_test!(
    an_import_with_bad_rows_saves_nothing_and_lists_them,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let csv = "Mã đơn vị;Tên đơn vị;Nhóm;Hiệu lực từ\n\
STC;Sở Tài chính;SO;01/01/2021\n\
STP;Trùng với danh mục;SO;01/01/2021\n\
SXD;;SO;01/01/2021\n\
SCT;Sở Công Thương;KHONGCO;01/01/2021\n\
SYT;Sở Y tế;SO;31/02/2021\n";
        let units_before = app.store().count_units().await.unwrap();
        let report = client
            .upload("/units/import", "file", "loi.csv", csv.as_bytes())
            .await;
        assert_eq!(report.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(report.body.contains("chưa lưu dòng nào"));
        for (line, text) in [
            (3, "đã có trong danh mục"),
            (5, "không tồn tại"),
            (6, "31/02/2021"),
        ] {
            assert!(
                report.body.contains(&format!("<td>{line}</td>")),
                "line {line}"
            );
            assert!(report.body.contains(text), "{text}");
        }
        assert!(report.body.contains("<td>4</td>"), "the row without a name");
        assert!(!report.body.contains("/confirm"), "no confirmation offered");
        assert_eq!(app.store().count_units().await.unwrap(), units_before);
        app
    }
);

web_test!(
    imports_refuse_bad_files_with_a_message,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        let units_before = app.store().count_units().await.unwrap();
        let pdf = client
            .upload(
                "/units/import",
                "file",
                "khong-phai.csv",
                b"%PDF-1.4\n\x00\x01\x02binary",
            )
            .await;
        assert_eq!(pdf.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(pdf.body.contains("không đúng định dạng"), "{}", pdf.body);
        let empty = client
            .upload("/units/import", "file", "rong.csv", b"")
            .await;
        assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
        let big = vec![b'a'; 11 * 1024 * 1024];
        let too_big = client
            .upload("/units/import", "file", "lon.csv", &big)
            .await;
        assert!(too_big.status.is_client_error(), "{}", too_big.status);
        assert_eq!(app.store().count_units().await.unwrap(), units_before);
        // An Excel file with Vietnamese text imports like a CSV.
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet();
        for (col, title) in ["Mã đơn vị", "Tên đơn vị", "Nhóm", "Hiệu lực từ"]
            .iter()
            .enumerate()
        {
            sheet.write_string(0, col as u16, *title).unwrap();
        }
        for (col, value) in ["SGDDT", "Sở Giáo dục và Đào tạo", "SO", "01/01/2021"]
            .iter()
            .enumerate()
        {
            sheet.write_string(1, col as u16, *value).unwrap();
        }
        let bytes = book.save_to_buffer().unwrap();
        let report = client
            .upload("/units/import", "file", "don-vi.xlsx", &bytes)
            .await;
        assert_eq!(report.status, StatusCode::OK, "{}", report.body);
        assert!(report.body.contains("Sở Giáo dục và Đào tạo"));
        app
    }
);
