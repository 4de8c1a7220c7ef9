//! External values over HTTP: a file with bad rows is refused whole with every bad row and its
//! reason listed; a good CSV (UTF-8 with BOM, Vietnamese headers, decimal comma) or .xlsx is
//! previewed, confirmed and saved with its provenance, which the unit's sheet then shows;
//! direct entry; only providers and the secretariat may write, and only in the right stages.
//! The seeded provider `cungcap` belongs to Sở Tư pháp, so it writes leaf 2.1.3 (provided by
//! Sở Tư pháp) here; the rule that it writes nothing else is in http_trust_workflow.rs.

use axum::http::StatusCode;
use parindex_domain::rules::RuleSpec;
use parindex_store::AuditActor;

use crate::support::fixtures::{open_period, so_set};
use crate::support::{TestApp, TestResponse};
use crate::web_test;

/// A self-assessed (binary) leaf of the shipped set: not an external one.
fn binary_leaf() -> String {
    so_set()
        .leaves()
        .find(|l| matches!(l.rule, Some(RuleSpec::Binary)))
        .unwrap()
        .code
        .clone()
}

/// The confirm action of a preview page.
fn confirm_path(r: &TestResponse) -> String {
    let start = r.body.find("/external/import/").expect("confirm form");
    let begin = r.body[..start].rfind("action=\"").unwrap() + "action=\"".len();
    let end = begin + r.body[begin..].find('"').unwrap();
    r.body[begin..end].to_owned()
}

web_test!(
    a_file_with_bad_rows_saves_nothing_and_lists_every_bad_row,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let binary = binary_leaf();
        let csv = format!(
            "ma_don_vi,ma_tieu_chi,diem,ghi_chu\n\
             STP,2.1.3,1,đúng\n\
             XYZ,1.5.2,1,\n\
             STP,{binary},1,\n\
             SNV,2.1.3,5,\n\
             SNV,5.2.1,abc,\n\
             STP,2.1.3,0.5,\n\
             SNV,1.5.2,-1,\n\
             SNV,2.1.3,0.1234,\n"
        );
        let mut provider = app.login_as("cungcap").await;
        let r = provider
            .upload(
                &format!("/periods/{period}/external/import"),
                "file",
                "diem.csv",
                csv.as_bytes(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
        assert!(r.body.contains("external-has-problems"), "{}", r.body);
        let problems_table = &r.body[r.body.find("data-testid=\"external-problems\"").unwrap()..];
        let problems_table = &problems_table[..problems_table.find("</table>").unwrap()];
        for (row, reason) in [
            ("3", "Mã đơn vị &#x27;XYZ&#x27; không tồn tại"),
            ("4", "không phải tiêu chí do cơ quan khác cung cấp điểm"),
            ("5", "vượt điểm tối đa 1 của tiêu chí 2.1.3"),
            ("6", "Điểm &#x27;abc&#x27; không phải là số"),
            ("7", "Trùng đơn vị STP và tiêu chí 2.1.3 với dòng 2"),
            ("8", "Điểm không được âm"),
            ("9", "quá 3 chữ số thập phân"),
        ] {
            let cell = format!("<tr><td>{row}</td>");
            let at = problems_table
                .find(&cell)
                .unwrap_or_else(|| panic!("row {row} not listed: {problems_table}"));
            let line = &problems_table[at..];
            let line = &line[..line.find("</tr>").unwrap()];
            assert!(
                line.contains(reason) || line.contains(&reason.replace("&#x27;", "&#39;")),
                "row {row}: {line}"
            );
        }
        // Row 2 is good, so it is not in the problems table.
        assert!(!problems_table.contains("<tr><td>2</td>"));
        assert!(!r.body.contains("confirm-external"));
        assert!(
            app.store()
                .external_values(period, None)
                .await
                .unwrap()
                .is_empty()
        );
        app
    }
);

web_test!(
    a_good_csv_is_previewed_confirmed_and_shown_on_the_sheet,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(
            "Mã đơn vị;Mã tiêu chí;Điểm;Ghi chú\r\nstp;2.1.3;1;Hoàn thành đúng hạn\r\nSNV;2.1.3;0,5;\r\n"
                .as_bytes(),
        );
        let mut provider = app.login_as("cungcap").await;
        let r = provider
            .upload(
                &format!("/periods/{period}/external/import"),
                "file",
                "so-tu-phap.csv",
                &bytes,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert!(r.body.contains("UTF-8"), "{}", r.body);
        // Previewed, not saved.
        assert!(
            app.store()
                .external_values(period, None)
                .await
                .unwrap()
                .is_empty()
        );
        let confirm = confirm_path(&r);
        let r = provider.post(&confirm, &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let values = app.store().external_values(period, None).await.unwrap();
        assert_eq!(values.len(), 2);
        let stp = values
            .iter()
            .find(|v| v.unit_id == app.seed.unit_stp)
            .unwrap();
        assert_eq!(stp.leaf_code, "2.1.3");
        assert_eq!(stp.score_milli, 1000);
        assert_eq!(stp.source, "so-tu-phap.csv");
        assert_eq!(stp.provider, "Sở Tư pháp");
        assert_eq!(stp.note, "Hoàn thành đúng hạn");
        assert_eq!(stp.updated_by, Some(app.seed.users["cungcap"]));
        // A pending import is confirmed once.
        let again = provider.post(&confirm, &[]).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);

        // The matrix shows the value with its provenance.
        let matrix = provider.get(&format!("/periods/{period}/external")).await;
        assert_eq!(matrix.status, StatusCode::OK);
        assert!(matrix.body.contains("so-tu-phap.csv"), "{}", matrix.body);

        // Direct entry of one cell (SNV's, so STP keeps the imported value below).
        let r = provider
            .post(
                &format!("/periods/{period}/external/{}/2.1.3", app.seed.unit_snv),
                &[("points", "0,75"), ("note", "Theo báo cáo")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let r = provider
            .post(
                &format!("/periods/{period}/external/{}/2.1.3", app.seed.unit_snv),
                &[("points", "3")],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        let values = app
            .store()
            .external_values(period, Some(app.seed.unit_snv))
            .await
            .unwrap();
        let direct = values.iter().find(|v| v.leaf_code == "2.1.3").unwrap();
        assert_eq!(direct.score_milli, 750);
        assert_eq!(direct.source, "Nhập trực tiếp");

        // The unit sees the values and where they came from on its sheet.
        let mut officer = app.login_as("canbo.stp").await;
        let sheet = officer
            .get(&format!(
                "/periods/{period}/units/{}/sheet",
                app.seed.unit_stp
            ))
            .await;
        assert_eq!(sheet.status, StatusCode::OK);
        let at = sheet.body.find("data-testid=\"external-2.1.3\"").unwrap();
        let line = &sheet.body[at..at + sheet.body[at..].find("</p>").unwrap()];
        assert!(line.contains("1,00"), "{line}");
        assert!(line.contains("so-tu-phap.csv"), "{line}");
        assert!(line.contains("Sở Tư pháp"), "{line}");
        app
    }
);

web_test!(an_xlsx_import_works, |app: TestApp| async move {
    let period = open_period(&app).await;
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, header) in ["ma_don_vi", "ma_tieu_chi", "diem", "ghi_chu"]
        .into_iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, header).unwrap();
    }
    sheet.write_string(1, 0, "SNV").unwrap();
    sheet.write_string(1, 1, "5.2.1").unwrap();
    sheet.write_number(1, 2, 0.5).unwrap();
    sheet.write_string(1, 3, "Có sai sót").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let mut secretariat = app.login_as("thuky").await;
    let r = secretariat
        .upload(
            &format!("/periods/{period}/external/import"),
            "file",
            "snv.xlsx",
            &bytes,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = secretariat.post(&confirm_path(&r), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let values = app
        .store()
        .external_values(period, Some(app.seed.unit_snv))
        .await
        .unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].score_milli, 500);
    assert_eq!(values[0].provider, "Sở Nội vụ");
    assert_eq!(values[0].source, "snv.xlsx");
    app
});

web_test!(
    only_providers_write_and_only_in_open_stages,
    |app: TestApp| async move {
        let period = open_period(&app).await;
        let csv = b"ma_don_vi,ma_tieu_chi,diem\nSTP,2.1.3,1\n";
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer.get(&format!("/periods/{period}/external")).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = officer
            .upload(
                &format!("/periods/{period}/external/import"),
                "file",
                "x.csv",
                csv,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let r = officer
            .post(
                &format!("/periods/{period}/external/{}/2.1.3", app.seed.unit_stp),
                &[("points", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);

        let mut tx = app
            .store()
            .begin_write(AuditActor::system("test"))
            .await
            .unwrap();
        tx.set_period_stage(period, ("self", 0), ("council", 0))
            .await
            .unwrap();
        tx.commit().await.unwrap();

        let mut provider = app.login_as("cungcap").await;
        let r = provider
            .upload(
                &format!("/periods/{period}/external/import"),
                "file",
                "x.csv",
                csv,
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
        assert!(
            r.body.contains("Hội đồng xem xét kết quả"),
            "the refusal says why: {}",
            r.body
        );
        let r = provider
            .post(
                &format!("/periods/{period}/external/{}/2.1.3", app.seed.unit_stp),
                &[("points", "1")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // The matrix is still readable, with the reason shown instead of the forms.
        let r = provider.get(&format!("/periods/{period}/external")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("external-locked"));
        assert!(
            app.store()
                .external_values(period, None)
                .await
                .unwrap()
                .is_empty()
        );
        app
    }
);
