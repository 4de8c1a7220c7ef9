//! Browser journeys in a real headless Chromium (see `support::browser`).

use parindex_store::Backend;

use crate::support::browser::{BrowserApp, WINDOW};

/// The secretariat logs in, creates a unit, is refused a duplicate code, and logs out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn secretariat_creates_a_unit_and_logs_out() {
    let b = BrowserApp::start(Backend::Sqlite).await;

    b.login_as("thuky").await;
    let role = b.text("[data-testid=active-role]").await;
    assert!(
        role.contains("Thường trực"),
        "header shows the role, got {role:?}"
    );

    b.goto("/units").await;
    b.click("[data-testid=new-unit]").await;
    b.wait_for_path("/units/new", |p| p == "/units/new").await;
    b.fill("#code", "STC").await;
    b.fill("#name_vi", "Sở Tài chính").await;
    let group = b.select_starting_with("#group_id", "SO").await;
    assert!(group.starts_with("SO"), "{group}");
    b.fill("#valid_from", "01/01/2021").await;
    b.click("[data-testid=save-unit]").await;

    let path = b
        .wait_for_path("the new unit's page", |p| {
            p.strip_prefix("/units/")
                .is_some_and(|id| id.parse::<i64>().is_ok())
        })
        .await;
    assert_eq!(b.text("[data-testid=unit-code]").await, "STC");
    assert_eq!(
        b.text("h1").await,
        "Sở Tài chính",
        "the name keeps its diacritics"
    );
    assert!(b.body_text().await.contains("Sở Tài chính"));
    b.screenshot("unit-created").await;

    let unit = b
        .store()
        .find_unit_by_code("STC")
        .await
        .unwrap()
        .expect("STC is in the database");
    assert_eq!(unit.name_vi, "Sở Tài chính");
    assert_eq!(unit.group_id, b.app.seed.group_so);
    assert_eq!(unit.valid_from, "2021-01-01");
    assert_eq!(path, format!("/units/{}", unit.id));
    let units_before = b.store().count_units().await.unwrap();

    // A duplicate code is refused on the form, and nothing is created.
    b.goto("/units/new").await;
    b.fill("#code", "STP").await;
    b.fill("#name_vi", "Sở Tư pháp (bản sao)").await;
    b.select_starting_with("#group_id", "SO").await;
    b.fill("#valid_from", "01/01/2021").await;
    b.click("[data-testid=save-unit]").await;
    b.wait_for_text(".error, .field-error", "đã tồn tại").await;
    assert_eq!(
        b.find("#code")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("STP"),
        "the form keeps what was typed"
    );
    b.screenshot("unit-duplicate-code").await;
    assert_eq!(
        b.store().count_units().await.unwrap(),
        units_before,
        "nothing new was created"
    );
    let stp = b.store().find_unit_by_code("STP").await.unwrap().unwrap();
    assert_eq!(stp.name_vi, "Sở Tư pháp", "the existing unit is untouched");

    b.logout().await;
    assert_eq!(b.current_path().await, "/login");
    b.goto("/units").await;
    b.wait_for_path("the login page", |p| p == "/login").await;
    b.find("#username").await;

    b.close().await;
}

/// The units page fits a 1366×768 screen without horizontal scrolling.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn units_page_fits_1366_wide() {
    let b = BrowserApp::start(Backend::Sqlite).await;
    b.login_as("thuky").await;
    b.goto("/units").await;
    b.find("[data-testid=units-table]").await;

    let inner = b.execute("return window.innerWidth;").await;
    assert_eq!(
        inner.as_u64(),
        Some(u64::from(WINDOW.0)),
        "the viewport is {}px wide",
        WINDOW.0
    );
    let width = b
        .execute("return document.documentElement.scrollWidth;")
        .await;
    let width = width.as_u64().expect("a number");
    b.screenshot("units-1366x768").await;
    assert!(
        width <= u64::from(WINDOW.0),
        "the page is {width}px wide: it scrolls sideways at {}px",
        WINDOW.0
    );

    b.close().await;
}

/// The secretariat imports an index set from Excel, reads the validation report, publishes it
/// and browses the tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn secretariat_imports_an_index_set_from_excel_and_publishes_it() {
    let b = BrowserApp::start(Backend::Sqlite).await;
    // The Excel file a secretariat would upload: the shipped departments set, as a workbook.
    let yaml = include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml");
    let doc = parindex_formats::parse_index_set_file(yaml.as_bytes()).unwrap();
    let xlsx = parindex_formats::write_index_set_xlsx(&doc).unwrap();
    let dir = std::env::temp_dir().join(format!("parindex-browser-xlsx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bo-chi-so-cap-so.xlsx");
    std::fs::write(&file, &xlsx).unwrap();

    b.login_as("thuky").await;
    b.goto("/index-sets").await;
    b.find("#set-file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    b.click("[data-testid=import-set]").await;
    b.wait_for_path("the imported set's page", |p| {
        p.strip_prefix("/index-sets/")
            .is_some_and(|id| id.parse::<i64>().is_ok())
    })
    .await;
    let summary = b.text("[data-testid=set-summary]").await;
    assert!(
        summary.contains("8 lĩnh vực / 38 tiêu chí / 85 tiêu chí thành phần"),
        "{summary}"
    );
    assert!(summary.contains("75 + 25 = 100"), "{summary}");
    assert!(
        b.text("[data-testid=illustrative-note]")
            .await
            .contains("MINH HỌA")
    );
    assert_eq!(b.text("[data-testid=set-status]").await, "Bản nháp");
    b.screenshot("index-set-imported").await;

    // Publishing asks for confirmation (our small script); accept it.
    b.click("[data-testid=publish-set]").await;
    let _ = b.client.accept_alert().await;
    b.wait_for_text("[data-testid=set-status]", "Đã ban hành")
        .await;
    let stored = b
        .store()
        .find_index_set_by_code("MH-2021-SO")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        stored.status,
        parindex_store::index_sets::SetStatus::Published
    );

    // The tree: 8 collapsible domains with maxima and rule text; a domain folds away.
    let domains = b.find_all("details.domain").await;
    assert_eq!(domains.len(), 8);
    let body = b.body_text().await;
    assert!(
        body.contains("Cải cách thủ tục hành chính") && body.contains("Tỷ lệ"),
        "rule text shown"
    );
    assert!(
        !b.exists("a.edit").await,
        "a published set offers no edit links"
    );
    b.click("details.domain > summary").await;
    let open = b
        .execute("return document.querySelector('details.domain').open")
        .await;
    assert_eq!(
        open,
        serde_json::Value::Bool(false),
        "the first domain collapsed"
    );
    b.screenshot("index-set-published-tree").await;
    let _ = std::fs::remove_dir_all(&dir);
    b.close().await;
}

/// A unit officer fills leaves of different rule kinds (autosaved, scored by the server) and
/// uploads evidence; the head submits; editing is then refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn officer_fills_the_sheet_with_evidence_and_the_head_submits() {
    use parindex_domain::rules::{LeafInput, RuleSpec};
    use parindex_store::AuditActor;
    let b = BrowserApp::start(Backend::Sqlite).await;
    // A published departments set and a period open now, set up directly in the store.
    let yaml = include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml");
    let doc = parindex_formats::parse_index_set_file(yaml.as_bytes()).unwrap();
    let set = parindex_domain::IndexSet::from_doc(&doc, None).unwrap();
    let store = b.store().clone();
    let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
    let stored = tx
        .create_index_set(
            &parindex_store::index_sets::IndexSetContent {
                code: doc.code.clone(),
                year: 2026,
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: 123,
            },
            None,
        )
        .await
        .unwrap();
    tx.publish_index_set(stored.id, 1).await.unwrap();
    let now = parindex_store::now_ms();
    let stp = b.app.seed.unit_stp;
    let period = tx
        .create_period(
            &parindex_store::periods::PeriodSettings {
                year: 2026,
                name: "Đánh giá CCHC năm 2026".into(),
                self_open_at: now - 86_400_000,
                self_close_at: now + 10 * 86_400_000,
                explanation_due_at: None,
                appraisal_open_at: None,
                appraisal_close_at: None,
                bonus_cap_milli: 0,
                penalty_cap_milli: 0,
                band_good_milli: 85_000,
                band_fair_milli: 70_000,
                band_average_milli: 50_000,
                appraisal_rounds: 2,
            },
            &[("SO".into(), stored.id)],
            &[stp],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let pick = |f: &dyn Fn(&RuleSpec) -> bool| {
        set.leaves()
            .find(|l| l.rule.as_ref().is_some_and(f))
            .unwrap()
            .code
            .clone()
    };
    let binary = pick(&|r| matches!(r, RuleSpec::Binary));
    let tiered = pick(&|r| matches!(r, RuleSpec::TieredPercent { .. }));
    let count = pick(&|r| matches!(r, RuleSpec::CountTiered { .. }));
    let leaf = |code: &str| format!("[id='leaf-{code}']");

    b.login_as("canbo.stp").await;
    b.goto("/self-assessment").await;
    b.wait_for_path("the sheet", |p| p.ends_with("/sheet"))
        .await;
    // Binary: a click saves it in the background and the server's score appears.
    b.click(&format!("{} input[name=value][value=yes]", leaf(&binary)))
        .await;
    let score = b
        .wait_for_text(&format!("[data-testid='score-{binary}']"), "/")
        .await;
    assert!(
        score.starts_with(&set.node(&binary).unwrap().max.display_vi()),
        "{score}"
    );
    // The progress follows the save without a reload: one leaf filled, and it needs an
    // explanation (no note, no evidence yet); the self total is the leaf's points.
    let progress = b.wait_for_text("[data-testid=progress]", "1/").await;
    let overall = |name: &str| format!("[data-testid=progress] [data-progress={name}]");
    assert_eq!(b.text(&overall("explain")).await, "1", "{progress}");
    assert_eq!(b.text(&overall("evidence")).await, "0", "{progress}");
    let domain = set.domain_of(&binary).unwrap().code.clone();
    let in_domain = format!("[data-testid='progress-{domain}'] [data-progress=filled]");
    assert_eq!(b.text(&in_domain).await, "1");
    assert_eq!(
        b.text("[data-testid=self-total]").await,
        set.node(&binary).unwrap().max.display_vi()
    );
    // The page was not reloaded: a marker set now is still there at the end of the typing.
    b.execute("window.parindexNoReload = true; return null")
        .await;
    // Tiered: 18 of 20 → the tier's points, with the explanation, no reload.
    b.fill(&format!("{} input[name=numerator]", leaf(&tiered)), "18")
        .await;
    b.fill(&format!("{} input[name=denominator]", leaf(&tiered)), "20")
        .await;
    b.click(&format!("{} textarea[name=note]", leaf(&tiered)))
        .await;
    b.wait_for_text(&format!("{} .explanation", leaf(&tiered)), "18/20")
        .await;
    // Count: none disciplined.
    b.fill(&format!("{} input[name=count]", leaf(&count)), "0")
        .await;
    b.click(&format!("{} textarea[name=note]", leaf(&count)))
        .await;
    b.wait_for_text(&format!("[data-testid='score-{count}']"), "/")
        .await;
    b.wait_for_text("[data-testid=progress]", "3/").await;
    assert_eq!(b.text(&overall("explain")).await, "3");
    assert_eq!(
        b.execute("return window.parindexNoReload === true").await,
        serde_json::Value::Bool(true),
        "the progress changed without a page reload"
    );
    // The server holds what the page shows.
    let entry = store
        .leaf_entry(period.id, stp, &tiered)
        .await
        .unwrap()
        .unwrap();
    assert!(entry.explanation.contains("18/20"));
    // Evidence for the binary leaf (a plain form post).
    let dir =
        std::env::temp_dir().join(format!("parindex-browser-evidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("Kế hoạch CCHC 2026.pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    )
    .unwrap();
    b.find(&format!("{} input[type=file]", leaf(&binary)))
        .await
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    b.fill(
        &format!("{} .evidence-box input[name=reference]", leaf(&binary)),
        "tr. 2",
    )
    .await;
    b.click(&format!(
        "{} .evidence-box button[type=submit]",
        leaf(&binary)
    ))
    .await;
    b.wait_for_text(
        &format!("{} .evidence-list", leaf(&binary)),
        "Kế hoạch CCHC 2026.pdf",
    )
    .await;
    let progress = b.text("[data-testid=progress]").await;
    assert!(progress.starts_with("3/"), "{progress}");
    b.screenshot("sheet-filled").await;

    // The rest of the sheet is filled behind the scenes, so the head can submit.
    let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
    for l in set.leaves() {
        let rule = l.rule.as_ref().unwrap();
        let input = match rule {
            RuleSpec::Binary => LeafInput::YesNo(true),
            RuleSpec::TieredPercent { .. }
            | RuleSpec::Proportional { .. }
            | RuleSpec::ProportionalFloor { .. } => LeafInput::Ratio {
                numerator: 1.into(),
                denominator: 1.into(),
            },
            RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => LeafInput::Count(0),
            RuleSpec::Formula { variables, .. } => LeafInput::Variables(
                variables
                    .iter()
                    .map(|v| (v.name.clone(), 1.into()))
                    .collect(),
            ),
            RuleSpec::Survey | RuleSpec::External { .. } => continue,
        };
        if store
            .leaf_entry(period.id, stp, &l.code)
            .await
            .unwrap()
            .is_some()
        {
            continue;
        }
        let score = set.evaluate(&l.code, &input).unwrap();
        tx.save_leaf_entry(
            period.id,
            stp,
            &l.code,
            0,
            &parindex_store::periods::LeafEntryWrite {
                input_json: serde_json::to_string(&input).unwrap(),
                score_milli: score.points.and_then(|p| p.to_millipoints()),
                not_applicable: score.points.is_none(),
                explanation: score.explanation,
                note: "Theo báo cáo năm".into(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    // The two leaves scored in the browser still need a word or evidence: add notes.
    for code in [&tiered, &count] {
        b.goto(&format!("/periods/{}/units/{stp}/sheet", period.id))
            .await;
        b.fill(
            &format!("{} textarea[name=note]", leaf(code)),
            "Số liệu theo báo cáo",
        )
        .await;
        b.click(&format!("{} button.save", leaf(code))).await;
        b.wait_for_text(&format!("{} .save-status", leaf(code)), "✔")
            .await;
    }
    b.logout().await;
    b.login_as("truong.stp").await;
    b.goto(&format!("/periods/{}/units/{stp}/sheet", period.id))
        .await;
    b.click("[data-testid=submit-sheet]").await;
    let _ = b.client.accept_alert().await;
    b.wait_for_text("[data-testid=sheet-status]", "Đã nộp")
        .await;
    // Editing is now refused: the page says so and the inputs are disabled; the server refuses too.
    assert!(
        b.text("[data-testid=sheet-locked]")
            .await
            .contains("Đơn vị đã nộp")
    );
    let disabled = b
        .execute("return document.querySelector('form.leaf-form fieldset').disabled")
        .await;
    assert_eq!(disabled, serde_json::Value::Bool(true));
    b.screenshot("sheet-submitted").await;
    let status = b
        .execute(&format!(
            "var f = document.querySelector(\"{} form.leaf-form\"); var d = new URLSearchParams(new FormData(f)); d.set('value','no'); \
             var x = new XMLHttpRequest(); x.open('POST', f.action, false); x.setRequestHeader('Content-Type','application/x-www-form-urlencoded'); \
             x.setRequestHeader('X-CSRF-Token', f.querySelector('input[name=csrf]').value); x.setRequestHeader('Accept','application/json'); x.send(d.toString()); return x.status;",
            leaf(&binary)
        ))
        .await;
    assert_eq!(status, serde_json::json!(403));
    assert!(
        store
            .period_unit(period.id, stp)
            .await
            .unwrap()
            .submitted_at
            .is_some()
    );
    let _ = std::fs::remove_dir_all(&dir);
    b.close().await;
}

/// The appraisal cycle in a browser (issue 5): the appraiser flags a leaf; the unit explains
/// with a new file and submits; the appraiser sets the final score; the secretariat closes the
/// rounds, records the approval decision with its signed PDF, and publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn appraisal_cycle_from_flag_to_publication() {
    use parindex_domain::rules::{LeafInput, RuleSpec};
    use parindex_store::AuditActor;
    use parindex_store::appraisal::AppraisalWrite;
    use parindex_store::periods::LeafEntryWrite;
    let b = BrowserApp::start(Backend::Sqlite).await;
    // Set up in the store: the departments set, a period whose unit (STP) has submitted, the
    // appraiser assigned to every domain of STP, and round 1 under way with every leaf but one
    // already appraised, so the journey below is about that one leaf.
    let yaml = include_str!("../../../../data/index-sets/minh-hoa-2021-so.yaml");
    let doc = parindex_formats::parse_index_set_file(yaml.as_bytes()).unwrap();
    let set = parindex_domain::IndexSet::from_doc(&doc, None).unwrap();
    let store = b.store().clone();
    let stp = b.app.seed.unit_stp;
    let appraiser = b.app.seed.users["thamdinh"];
    let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
    let stored = tx
        .create_index_set(
            &parindex_store::index_sets::IndexSetContent {
                code: doc.code.clone(),
                year: 2026,
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: 123,
            },
            None,
        )
        .await
        .unwrap();
    tx.publish_index_set(stored.id, 1).await.unwrap();
    let now = parindex_store::now_ms();
    let period = tx
        .create_period(
            &parindex_store::periods::PeriodSettings {
                year: 2026,
                name: "Đánh giá CCHC năm 2026".into(),
                self_open_at: now - 86_400_000,
                self_close_at: now + 10 * 86_400_000,
                explanation_due_at: Some(now + 20 * 86_400_000),
                appraisal_open_at: None,
                appraisal_close_at: None,
                bonus_cap_milli: 0,
                penalty_cap_milli: 0,
                band_good_milli: 85_000,
                band_fair_milli: 70_000,
                band_average_milli: 50_000,
                appraisal_rounds: 2,
            },
            &[("SO".into(), stored.id)],
            &[stp],
        )
        .await
        .unwrap();
    let leaf_code = set
        .leaves()
        .find(|l| matches!(l.rule, Some(RuleSpec::Binary)))
        .unwrap()
        .code
        .clone();
    let max = set.node(&leaf_code).unwrap().max;
    let yes = LeafInput::YesNo(true);
    let scored = set.evaluate(&leaf_code, &yes).unwrap();
    tx.save_leaf_entry(
        period.id,
        stp,
        &leaf_code,
        0,
        &LeafEntryWrite {
            input_json: serde_json::to_string(&yes).unwrap(),
            score_milli: scored.points.and_then(|p| p.to_millipoints()),
            not_applicable: false,
            explanation: scored.explanation.clone(),
            note: "Đã ban hành kế hoạch".into(),
        },
    )
    .await
    .unwrap();
    tx.submit_self_assessment(period.id, stp).await.unwrap();
    let domains: Vec<(i64, i64, String)> = set
        .domains()
        .map(|d| (appraiser, stp, d.code.clone()))
        .collect();
    tx.add_assignments(period.id, &domains).await.unwrap();
    tx.set_period_stage(period.id, ("self", 0), ("round", 1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.begin_write(AuditActor::system("test")).await.unwrap();
    for leaf in set.leaves().filter(|l| {
        l.code != leaf_code
            && l.rule.as_ref().is_some_and(|r| {
                matches!(r.source(), parindex_domain::rules::LeafSource::SelfAssessed)
            })
            && set
                .index_of(&l.code)
                .is_some_and(|i| set.applies_to_group(i, "SO"))
    }) {
        tx.save_appraisal(
            period.id,
            stp,
            &leaf.code,
            1,
            0,
            &AppraisalWrite {
                input_json: "{\"Points\":\"0\"}".into(),
                score_milli: Some(0),
                not_applicable: false,
                explanation: "0".into(),
                remark: "Thiết lập kiểm thử".into(),
                needs_explanation: false,
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let leaf = format!("[id='leaf-{leaf_code}']");
    let appraisal_page = format!("/periods/{}/units/{stp}/appraisal", period.id);

    // 1. The appraiser disagrees and flags the leaf.
    b.login_as("thamdinh").await;
    b.goto(&appraisal_page).await;
    b.click(&format!("{leaf} input[name=value][value=no]"))
        .await;
    b.fill(
        &format!("{leaf} textarea[name=remark]"),
        "Chưa thấy kế hoạch được ký ban hành",
    )
    .await;
    b.click(&format!("{leaf} input[name=flag]")).await;
    b.click(&format!("{leaf} button.save")).await;
    b.wait_for_text(
        &format!("[data-testid='round-{leaf_code}-1']"),
        "Chưa thấy kế hoạch",
    )
    .await;
    b.screenshot("appraisal-round1-flagged").await;
    b.logout().await;

    // 2. The secretariat closes round 1: the explanation round opens.
    b.login_as("thuky").await;
    b.goto(&format!("/periods/{}", period.id)).await;
    b.click("[data-testid=stage-panel] form button").await;
    b.wait_for_text("[data-testid=stage]", "Giải trình").await;
    b.logout().await;

    // 3. The unit explains, with a new file.
    b.login_as("canbo.stp").await;
    b.goto(&format!("/periods/{}/units/{stp}/explanation", period.id))
        .await;
    b.fill(
        &format!("{leaf} textarea[name=response]"),
        "Kế hoạch số 12/KH-STP đã được ký ngày 15/01/2026, xin gửi kèm bản scan.",
    )
    .await;
    b.click(&format!(
        "{leaf} form[action$='/explanation/{leaf_code}'] button"
    ))
    .await;
    b.wait_for_text(&format!("{leaf} textarea[name=response]"), "12/KH-STP")
        .await;
    let dir = std::env::temp_dir().join(format!("parindex-browser-explain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pdf = dir.join("Kế hoạch 12-KH-STP (bản ký).pdf");
    std::fs::write(
        &pdf,
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    )
    .unwrap();
    b.find(&format!("{leaf} .evidence-box input[type=file]"))
        .await
        .send_keys(&pdf.display().to_string())
        .await
        .unwrap();
    b.click(&format!("{leaf} .evidence-box button")).await;
    b.wait_for_text(&format!("{leaf} .evidence-list"), "Kế hoạch 12-KH-STP")
        .await;
    b.screenshot("explanation-with-file").await;
    b.logout().await;
    b.login_as("truong.stp").await;
    b.goto(&format!("/periods/{}/units/{stp}/explanation", period.id))
        .await;
    b.click("[data-testid=submit-explanation]").await;
    b.wait_for_text("[data-testid=explanation-submitted]", "")
        .await;
    b.logout().await;

    // 4. Round 2: the appraiser sets the final score, now that the plan is shown.
    b.login_as("thuky").await;
    b.goto(&format!("/periods/{}", period.id)).await;
    b.click("[data-testid=stage-panel] form button").await;
    b.wait_for_text("[data-testid=stage]", "lần 2").await;
    b.logout().await;
    b.login_as("thamdinh").await;
    b.goto(&appraisal_page).await;
    assert!(
        !b.exists(&format!("{leaf} input[name=flag]")).await,
        "no flag in the last round"
    );
    b.click(&format!("{leaf} input[name=value][value=yes]"))
        .await;
    b.fill(
        &format!("{leaf} textarea[name=remark]"),
        "Đã xem kế hoạch bổ sung khi giải trình",
    )
    .await;
    b.click(&format!("{leaf} button.save")).await;
    b.wait_for_text(
        &format!("[data-testid='round-{leaf_code}-2']"),
        &max.display_vi(),
    )
    .await;
    b.logout().await;

    // 5. The secretariat closes the appraisal, records the decision and publishes.
    b.login_as("thuky").await;
    b.goto(&format!("/periods/{}", period.id)).await;
    b.click("[data-testid=stage-panel] form button").await;
    // No survey response was collected: the secretariat confirms with a recorded reason.
    b.fill(
        "[data-testid=override-form] textarea[name=override_reason]",
        "Khảo sát được tổng hợp sau",
    )
    .await;
    b.click("[data-testid=override-form] button").await;
    b.wait_for_text("[data-testid=stage]", "Hội đồng").await;
    b.goto(&format!("/periods/{}/results", period.id)).await;
    b.fill(
        "form[action*='/decision'] input[name=number]",
        "123/QĐ-UBND",
    )
    .await;
    let signed_on = parindex_domain::text::format_date_vi(
        time::OffsetDateTime::now_utc().date() - time::Duration::days(1),
    );
    b.fill("form[action*='/decision'] input[name=date]", &signed_on)
        .await;
    let signed = dir.join("QĐ 123 phê duyệt kết quả (bản ký).pdf");
    std::fs::write(
        &signed,
        b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
    )
    .unwrap();
    b.find("form[action*='/decision'] input[type=file]")
        .await
        .send_keys(&signed.display().to_string())
        .await
        .unwrap();
    b.click("form[action*='/decision'] button").await;
    b.wait_for_text("body", "123/QĐ-UBND").await;
    b.click("form[action$='/publish'] button").await;
    let _ = b.client.accept_alert().await;
    b.wait_until(|| async {
        let p = store.get_period(period.id).await.unwrap();
        (p.stage == parindex_domain::appraisal::Stage::Published).then_some(())
    })
    .await
    .expect("the period is published");
    b.screenshot("results-published").await;

    // The server holds what the pages showed: the final value, and the whole history in order.
    let published = store.published_results(period.id).await.unwrap();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].unit_id, stp);
    let history = store
        .leaf_history(period.id, stp, Some(&leaf_code))
        .await
        .unwrap();
    let stages: Vec<(String, i64)> = history.iter().map(|h| (h.stage.clone(), h.round)).collect();
    assert_eq!(
        stages,
        [
            ("self".to_owned(), 0),
            ("round".to_owned(), 1),
            ("explanation".to_owned(), 1),
            ("round".to_owned(), 2)
        ]
    );
    assert_eq!(history[1].score_milli, Some(0));
    assert_eq!(history[3].score_milli, max.to_millipoints());
    let citations = store.citations(period.id, stp).await.unwrap();
    assert!(
        citations
            .iter()
            .any(|c| c.stage == "explanation" && c.leaf_code == leaf_code)
    );
    let _ = std::fs::remove_dir_all(&dir);
    b.close().await;
}

/// The survey operator generates a link on the links page; a respondent opens it (the URL as
/// the page shows it) on a phone-sized window without logging in, answers every
/// question by tapping the answer labels, submits, and the response is stored as submitted;
/// the secretariat then sees the units' survey scores move on the scores page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn respondent_answers_a_survey_link_on_a_phone() {
    let b = BrowserApp::start(Backend::Sqlite).await;
    let (period, qid) = crate::http_survey_collect::open_questionnaire(&b.app).await;

    // The survey operator generates one link on the links page and reads it there.
    b.login_as("khaosat").await;
    b.goto(&format!("/questionnaires/{qid}/links")).await;
    b.fill("#count", "1").await;
    b.fill("#batch", "Đợt thử").await;
    b.click(&format!(
        "form[action='/questionnaires/{qid}/links'] button[type=submit]"
    ))
    .await;
    let url = b.text("[data-testid=survey-link]").await;
    assert!(url.starts_with(&b.url("/s/")), "{url}");
    b.logout().await;
    let links = b.store().survey_links(qid).await.unwrap();
    assert_eq!(links.len(), 1);
    let link = links[0].id;

    // Before any response, STP has no survey score on leaf 1.6 (the first survey column).
    let scores = format!("/periods/{period}/survey/scores");
    b.login_as("thuky").await;
    b.goto(&scores).await;
    assert_eq!(b.text("[data-testid=score-STP-0]").await, "— / 1,50");
    b.logout().await;
    b.client
        .set_window_size(375, 740)
        .await
        .expect("a phone-sized window");

    b.client
        .goto(&url)
        .await
        .unwrap_or_else(|e| panic!("could not open {url}: {e}"));
    b.wait_for_text("h1", "Phiếu khảo sát cán bộ").await;
    let units = [b.app.seed.unit_stp, b.app.seed.unit_snv];
    // Option B ("Hài lòng") for Q1, "Không biết" (the fourth) for Q2, on both units.
    for unit in units {
        b.click(&format!("label[for='o-{unit}-0-1']")).await;
        b.click(&format!("label[for='o-{unit}-1-3']")).await;
    }
    b.screenshot("survey-phone-answered").await;
    b.click("[data-testid=submit]").await;
    b.wait_for_text("h1", "Cảm ơn").await;
    b.screenshot("survey-phone-thanks").await;

    let responses = b.store().questionnaire_responses(qid).await.unwrap();
    assert_eq!(responses.len(), 1);
    let r = &responses[0];
    assert_eq!(r.status, "submitted");
    assert_eq!(r.link_id, Some(link));
    let answers = parindex_domain::survey::ResponseAnswers::decode(&r.answers).unwrap();
    for unit in units {
        assert_eq!(answers.0[&unit]["Q1"], "B");
        assert_eq!(answers.0[&unit]["Q2"], "K");
    }
    let links = b.store().survey_links(qid).await.unwrap();
    assert!(links[0].used_at.is_some(), "the link is used up");

    // One valid answer of 60% ("Hài lòng"; "Không biết" is left out): 1,50 × 60% = 0,90.
    b.client
        .set_window_size(1366, 768)
        .await
        .expect("a desktop window");
    b.login_as("thuky").await;
    b.goto(&scores).await;
    assert_eq!(b.text("[data-testid=score-STP-0]").await, "0,90 / 1,50");
    assert_eq!(b.text("[data-testid=score-SNV-0]").await, "0,90 / 1,50");
    b.screenshot("survey-scores-after-link").await;
    b.close().await;
}

/// Fetches `href` with the browser's own session and returns (status, content type, the
/// first four bytes): what a click on a download link would save.
async fn fetch_in_browser(b: &BrowserApp, href: &str) -> (u64, String, String) {
    let value = b
        .client
        .execute_async(
            "const [url, done] = arguments;
             fetch(url).then(r => r.arrayBuffer().then(buf => done([
               r.status, r.headers.get('content-type') || '',
               Array.from(new Uint8Array(buf.slice(0, 4))).join(',')
             ]))).catch(e => done([0, String(e), '']));",
            vec![serde_json::json!(href)],
        )
        .await
        .expect("fetch in the page");
    (
        value[0].as_u64().unwrap_or(0),
        value[1].as_str().unwrap_or("").to_owned(),
        value[2].as_str().unwrap_or("").to_owned(),
    )
}

/// The secretariat opens the ranking from the period page, sees ranks, ties and bands, opens
/// the heat map, downloads the Excel workbook and the PDF annex; once published, anyone sees
/// the ranking on the public page without logging in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_browser),
    ignore = "needs chromedriver: install chromium-driver or set PARINDEX_CHROMEDRIVER"
)]
async fn secretariat_ranks_exports_and_the_public_sees_the_published_ranking() {
    let b = BrowserApp::start(Backend::Sqlite).await;
    let (period, units) = crate::http_results::province(&b.app).await;
    b.login_as("thuky").await;
    b.goto(&format!("/periods/{period}")).await;
    b.click("[data-testid=ranking-link]").await;
    b.wait_for_text("h1", "Xếp hạng Chỉ số CCHC").await;
    assert_eq!(b.text("[data-testid=index-STP]").await, "95,00");
    assert_eq!(b.text("[data-testid=rank-SNV]").await, "1*");
    assert_eq!(b.text("[data-testid=rank-STC]").await, "3");
    assert_eq!(b.text("[data-testid=band-H-KRONGPAC]").await, "Trung bình");
    assert!(
        b.text("[data-testid=tie-rule]")
            .await
            .contains("1, 2, 2, 4")
    );
    b.screenshot("results-ranking").await;

    for (link, signature, kind) in [
        ("[data-testid=xlsx-link]", "80,75,3,4", "spreadsheetml"),
        ("[data-testid=pdf-link]", "37,80,68,70", "application/pdf"),
    ] {
        let href = b
            .find(link)
            .await
            .attr("href")
            .await
            .expect("href")
            .expect("a link");
        let (status, content_type, head) = fetch_in_browser(&b, &href).await;
        assert_eq!(status, 200, "{href}");
        assert!(content_type.contains(kind), "{href}: {content_type}");
        assert_eq!(head, signature, "{href}");
    }

    // A unit's scorecard: its tables filter without diacritics and sort by a header click.
    let stc = units.iter().find(|(c, _)| *c == "STC").unwrap().1;
    b.goto(&format!("/periods/{period}/units/{stc}/scorecard"))
        .await;
    b.wait_for_text("h1", "Sở Tài chính").await;
    b.fill("[data-testid=filter-unit-leaves]", "bao cao").await;
    let visible = b
        .execute(
            "return Array.from(document.querySelectorAll('[data-testid=unit-leaves] tbody tr'))
               .filter(r => !r.hidden).map(r => r.cells[0].textContent.trim());",
        )
        .await;
    assert_eq!(visible, serde_json::json!(["1.2"]));
    let first_domain = "return document.querySelector('[data-testid=unit-domains] tbody tr').cells[0].textContent.trim();";
    b.click("[data-testid=unit-domains] thead th:nth-child(5)")
        .await;
    assert!(
        b.execute(first_domain)
            .await
            .as_str()
            .unwrap()
            .starts_with("1."),
        "66,67 % first"
    );
    b.click("[data-testid=unit-domains] thead th:nth-child(5)")
        .await;
    assert!(
        b.execute(first_domain)
            .await
            .as_str()
            .unwrap()
            .starts_with("2."),
        "75,00 % first"
    );
    b.screenshot("results-unit-scorecard").await;
    b.goto(&format!("/periods/{period}/ranking")).await;

    b.click("[data-testid=matrix-link]").await;
    b.wait_for_text("h1", "Bản đồ nhiệt").await;
    assert!(
        b.exists("table.heatmap td.heat-10").await,
        "SNV's domain 1 is 100 %"
    );
    b.screenshot("results-heatmap").await;
    b.logout().await;

    crate::http_results::publish(&b.app, period, &units).await;
    b.goto("/login").await;
    b.click("[data-testid=public-link]").await;
    b.click(&format!("[data-testid=public-period-{period}]"))
        .await;
    b.wait_for_text("h1", "Kết quả Chỉ số CCHC đã công bố")
        .await;
    assert_eq!(b.text("[data-testid=index-H-KRONGPAC]").await, "53,13");
    assert_eq!(b.text("[data-testid=rank-H-EAKAR]").await, "1");
    b.screenshot("results-public").await;
    b.close().await;
}
