//! Issue 10, the holes found when the product was attacked, on the authentication and input
//! paths: open redirects through `next=`, login throttling that never locks out the right
//! password, control characters, exact facts, the order of refusals, and account hygiene.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use parindex_domain::IndexSet;
use parindex_domain::rules::RuleSpec;
use parindex_store::throttle::DelayPolicy;
use tower::ServiceExt;

use crate::support::fixtures::{open_period, so_set};
use crate::support::{PASSWORD, TestApp, TestClient, TestResponse, extract_csrf};
use crate::web_test;

fn leaf_of_kind(set: &IndexSet, pick: impl Fn(&RuleSpec) -> bool) -> String {
    set.leaves()
        .find(|l| l.rule.as_ref().is_some_and(&pick))
        .unwrap()
        .code
        .clone()
}

/// Posts `fields` (and the CSRF token) with extra request headers.
async fn post_with(
    client: &mut TestClient,
    path: &str,
    fields: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> TestResponse {
    let token = client.csrf().await;
    let mut all = fields.to_vec();
    all.push(("csrf", &token));
    let mut request =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let body = serde_urlencoded::to_string(&all).unwrap();
    client.send(request.body(Body::from(body)).unwrap()).await
}

/// Posts a body exactly as given (already urlencoded), with the CSRF token appended.
async fn post_body(client: &mut TestClient, path: &str, body: &str) -> TestResponse {
    let token = client.csrf().await;
    client
        .send(
            Request::post(path)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("{body}&csrf={token}")))
                .unwrap(),
        )
        .await
}

fn is_safe_answer(r: &TestResponse) -> bool {
    r.status.is_client_error() || (r.status.is_redirection() && r.location() == "/")
}

web_test!(no_open_redirect_through_next, |app: TestApp| async move {
    let mut client = app.client();
    // A good local path is kept.
    let kept = client.get("/locale/vi?next=/periods/1").await;
    assert_eq!(
        (kept.status, kept.location()),
        (StatusCode::SEE_OTHER, "/periods/1")
    );
    // Browsers drop the tab and read `//evil.example/`: refused, sent home.
    for next in [
        "/%09/evil.example/",
        "//evil",
        "/%5Cevil",
        "/%5C%5Cevil.example",
        "/%0D%0ASet-Cookie:%20x=1",
        "/%0a/evil.example",
        "https://evil.example/",
        "/%20/evil.example",
    ] {
        let r = client.get(&format!("/locale/vi?next={next}")).await;
        assert!(is_safe_answer(&r), "{next}: {} {}", r.status, r.location());
        assert_ne!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{next}");
        assert!(!r.location().contains("evil"), "{next}: {}", r.location());
    }
    // The login form: the same `next` never leaves the site, a good one is kept.
    for next in [
        "/\t/evil.example/",
        "//evil",
        "/\\evil",
        "/\r\nSet-Cookie: x=1",
    ] {
        let mut visitor = app.client();
        let r = visitor
            .post(
                "/login",
                &[
                    ("username", "thuky"),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert!(
            is_safe_answer(&r),
            "{next:?}: {} {}",
            r.status,
            r.location()
        );
        assert!(!r.location().contains("evil"), "{next:?}");
    }
    let mut visitor = app.client();
    let good = visitor
        .post(
            "/login",
            &[
                ("username", "thuky"),
                ("password", PASSWORD),
                ("next", "/periods/1"),
            ],
        )
        .await;
    assert_eq!(
        (good.status, good.location()),
        (StatusCode::SEE_OTHER, "/periods/1")
    );
    // The login page does not carry a bad target into its form either.
    let page = app.client().get("/login?next=/%09/evil.example/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Đăng nhập"));
    assert!(
        page.body.contains(r#"name="next" value="/">"#),
        "{}",
        page.body
    );
    app
});

/// Moves every recorded attempt of `key` back by `ms`, as if that much time had passed.
async fn age_attempts(app: &TestApp, key: &str, ms: i64) {
    sqlx::query("UPDATE login_failures SET at = at - $1 WHERE key = $2")
        .bind(ms)
        .bind(key)
        .execute(app.store().raw_pool_for_tests())
        .await
        .unwrap();
}

/// How long after its last recorded attempt `key` may try again (the account limit of 5).
async fn allowed_after_last(app: &TestApp, key: &str, policy: DelayPolicy) -> i64 {
    use sqlx::Row;
    let last: i64 =
        sqlx::query("SELECT CAST(MAX(at) AS BIGINT) FROM login_failures WHERE key = $1")
            .bind(key)
            .fetch_one(app.store().raw_pool_for_tests())
            .await
            .unwrap()
            .try_get(0)
            .unwrap();
    app.store()
        .login_allowed_at(key, 5, policy, 0)
        .await
        .unwrap()
        - last
}

web_test!(
    throttling_never_locks_out_the_right_password,
    parindex_web::WebConfig {
        trusted_proxies: parindex_web::client_ip::IpNet::parse_list("10.0.0.1").unwrap(),
        ..Default::default()
    },
    |app: TestApp| async move {
        let policy = app.state.config.login_delays();
        assert_eq!(
            policy,
            DelayPolicy {
                base_ms: 2_000,
                max_ms: 15 * 60_000
            }
        );
        // The delay grows, doubling, and is capped.
        assert_eq!(policy.delay_ms(4, 5), 0);
        assert_eq!(policy.delay_ms(5, 5), 2_000);
        assert_eq!(policy.delay_ms(6, 5), 4_000);
        assert_eq!(policy.delay_ms(8, 5), 16_000);
        assert_eq!(policy.delay_ms(500, 5), 15 * 60_000);

        let mut client = app.client();
        for _ in 0..5 {
            let r = client.login("canbo.stp", "sai-mat-khau-1").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        // Too early, even with the right password: a short wait, said in words.
        let early = client.login("canbo.stp", PASSWORD).await;
        assert_eq!(
            early.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            early.body
        );
        assert!(
            early.body.contains("Hãy chờ") && early.body.contains("giây"),
            "{}",
            early.body
        );
        let first_wait: i64 = early.header("retry-after").parse().unwrap();
        assert!((1..=2).contains(&first_wait), "{first_wait}");
        // The stored next-allowed time: the last attempt plus 2 seconds.
        assert_eq!(
            allowed_after_last(&app, "user:canbo.stp", policy).await,
            2_000
        );
        let allowed_at = app
            .store()
            .login_allowed_at("user:canbo.stp", 5, policy, 0)
            .await
            .unwrap();
        let now = parindex_store::now_ms();
        assert!(
            allowed_at > now && allowed_at <= now + 2_000,
            "{allowed_at} {now}"
        );
        // The refused attempt recorded nothing.
        assert_eq!(
            app.store()
                .login_failures_since("user:canbo.stp", 0)
                .await
                .unwrap(),
            5
        );
        // Once the wait has passed, another wrong guess doubles the next wait...
        age_attempts(&app, "user:canbo.stp", 2_500).await;
        let sixth = client.login("canbo.stp", "sai-mat-khau-2").await;
        assert_eq!(sixth.status, StatusCode::UNAUTHORIZED);
        let longer = client.login("canbo.stp", PASSWORD).await;
        assert_eq!(longer.status, StatusCode::TOO_MANY_REQUESTS);
        let second_wait: i64 = longer.header("retry-after").parse().unwrap();
        assert!((3..=4).contains(&second_wait), "{second_wait}");
        assert_eq!(
            allowed_after_last(&app, "user:canbo.stp", policy).await,
            4_000
        );
        // ... and the right password, once it has passed, works.
        age_attempts(&app, "user:canbo.stp", 4_500).await;
        let right = client.login("canbo.stp", PASSWORD).await;
        assert_eq!(right.status, StatusCode::SEE_OTHER, "{}", right.body);
        assert_eq!(
            app.store()
                .login_failures_since("user:canbo.stp", 0)
                .await
                .unwrap(),
            0
        );

        // However many failures, the wait is capped: 40 failures, then 15 minutes pass.
        let now = parindex_store::now_ms();
        for _ in 0..40 {
            app.store()
                .record_login_failure(&["user:lanhdao".into()], now)
                .await
                .unwrap();
        }
        let mut owner = app.client();
        let capped = owner.login("lanhdao", PASSWORD).await;
        assert_eq!(capped.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(capped.body.contains("15 phút"), "{}", capped.body);
        age_attempts(&app, "user:lanhdao", 15 * 60_000 + 1_000).await;
        assert_eq!(
            owner.login("lanhdao", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );

        // X-Forwarded-For counts only from a trusted proxy.
        let mut behind_proxy = app.client();
        behind_proxy.ip = "10.0.0.1:4000".parse().unwrap();
        let wrong = [("username", "thuky"), ("password", "sai-mat-khau-3")];
        let r = post_with(
            &mut behind_proxy,
            "/login",
            &wrong,
            &[("x-forwarded-for", "1.1.1.1, 198.51.100.7")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let mut stranger = app.client();
        stranger.ip = "203.0.113.9:4000".parse().unwrap();
        let r = post_with(
            &mut stranger,
            "/login",
            &wrong,
            &[("x-forwarded-for", "198.51.100.8")],
        )
        .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let count = async |key: &str| app.store().login_failures_since(key, 0).await.unwrap();
        assert_eq!(count("ip:198.51.100.7").await, 1);
        assert_eq!(count("ip:203.0.113.9").await, 1);
        assert_eq!(count("ip:10.0.0.1").await, 0);
        assert_eq!(count("ip:1.1.1.1").await, 0);
        assert_eq!(count("ip:198.51.100.8").await, 0);

        // Wrong current passwords on the password-change form are throttled too.
        let mut user = app.login_as("khaosat").await;
        let change = |current: &'static str| {
            [
                ("current_password", current),
                ("new_password", "Cay-bang-mua-thu-1987"),
                ("confirm_password", "Cay-bang-mua-thu-1987"),
            ]
        };
        for _ in 0..5 {
            let r = user
                .post("/account/password", &change("doan-sai-mat-khau"))
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
            assert!(r.body.contains("Mật khẩu hiện tại không đúng"));
        }
        let blocked = user.post("/account/password", &change(PASSWORD)).await;
        assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(blocked.body.contains("Hãy chờ"), "{}", blocked.body);
        assert_eq!(count("user:khaosat").await, 5);
        let hash_before = app
            .store()
            .password_hash(app.seed.users["khaosat"])
            .await
            .unwrap();
        age_attempts(&app, "user:khaosat", 2_500).await;
        let changed = user.post("/account/password", &change(PASSWORD)).await;
        assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
        assert_ne!(
            app.store()
                .password_hash(app.seed.users["khaosat"])
                .await
                .unwrap(),
            hash_before
        );
        app
    }
);

web_test!(control_characters_are_refused, |app: TestApp| async move {
    let mut secretariat = app.login_as("thuky").await;
    // Search: 422 with the reason, never a 500.
    let search = secretariat.get("/units?q=a%00b").await;
    assert_eq!(search.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(search.body.contains("ký tự điều khiển"), "{}", search.body);
    assert_eq!(secretariat.get("/units?q=ab").await.status, StatusCode::OK);
    // Names: controls (tab and line breaks too), bidi overrides, zero-width characters.
    let before = app.store().count_units().await.unwrap();
    let group = app.seed.group_so.to_string();
    for name in [
        "Sở\u{0}Tài chính",
        "Sở\u{1b}Tài chính",
        "Sở\tTài chính",
        "Sở Tài\nchính",
        "Sở \u{202E}hnihc iàT",
        "Sở\u{2066}Tài chính",
        "Sở\u{200B}Tài chính",
        "\u{FEFF}Sở Tài chính",
    ] {
        let r = secretariat
            .post(
                "/units",
                &[
                    ("code", "STC"),
                    ("name_vi", name),
                    ("group_id", &group),
                    ("valid_from", "01/01/2021"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{name:?}");
        assert!(
            r.body.contains("Tên chứa") || r.body.contains("ký tự điều khiển"),
            "{name:?}: {}",
            r.body
        );
    }
    assert_eq!(app.store().count_units().await.unwrap(), before);
    let ok = secretariat
        .post(
            "/units",
            &[
                ("code", "STC"),
                ("name_vi", "Sở Tài chính"),
                ("group_id", &group),
                ("valid_from", "01/01/2021"),
            ],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER, "{}", ok.body);
    assert_eq!(app.store().count_units().await.unwrap(), before + 1);
    // People's names too.
    let mut admin = app.login_as("admin").await;
    let r = admin
        .post(
            "/users",
            &[
                ("username", "nguoimoi"),
                ("full_name", "Nguyễn\u{200D} Văn A"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("ký tự vô hình"), "{}", r.body);

    // A long text keeps tabs and line breaks but refuses NUL, as a page and as JSON.
    let period = open_period(&app).await;
    let stp = app.seed.unit_stp;
    let binary = leaf_of_kind(&so_set(), |r| matches!(r, RuleSpec::Binary));
    let path = format!("/periods/{period}/units/{stp}/leaves/{binary}");
    let mut officer = app.login_as("canbo.stp").await;
    let nul = officer
        .post(
            &path,
            &[("value", "yes"), ("version", "0"), ("note", "a\u{0}b")],
        )
        .await;
    assert_eq!(nul.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(nul.body.contains("ký tự điều khiển"));
    let json = post_with(
        &mut officer,
        &path,
        &[("value", "yes"), ("version", "0"), ("note", "x\u{7}y")],
        &[("accept", "application/json")],
    )
    .await;
    assert_eq!(json.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = serde_json::from_str(&json.body).unwrap();
    assert!(body["error"].as_str().unwrap().contains("ký tự điều khiển"));
    assert!(
        app.store()
            .leaf_entry(period, stp, &binary)
            .await
            .unwrap()
            .is_none()
    );
    let saved = officer
        .post(
            &path,
            &[
                ("value", "yes"),
                ("version", "0"),
                ("note", "Dòng một\r\n\tDòng hai"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let entry = app
        .store()
        .leaf_entry(period, stp, &binary)
        .await
        .unwrap()
        .unwrap();
    assert!(entry.note.contains("Dòng hai"), "{:?}", entry.note);
    assert!(!entry.note.contains('\u{0}'));
    app
});

web_test!(facts_are_parsed_exactly, |app: TestApp| async move {
    let period = open_period(&app).await;
    let stp = app.seed.unit_stp;
    let set = so_set();
    // A ratio of amounts (triệu đồng), whose facts may have decimals: a ratio of counted
    // things (tasks, dossiers) takes whole numbers only, which would hide the rounding.
    let ratio = leaf_of_kind(&set, |r| match r {
        RuleSpec::Proportional { counted, .. } | RuleSpec::TieredPercent { counted, .. } => {
            counted.ends_with("đồng")
        }
        _ => false,
    });
    let count = leaf_of_kind(&set, |r| {
        matches!(r, RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. })
    });
    let binary = leaf_of_kind(&set, |r| matches!(r, RuleSpec::Binary));
    let leaf = |code: &str| format!("/periods/{period}/units/{stp}/leaves/{code}");
    let mut officer = app.login_as("canbo.stp").await;
    for numerator in [
        "0.99999999999999999999999999999999",
        "0,9999999",
        "1_000",
        "1E2",
        "1e2",
        "+1",
        "1.",
        ".5",
        "1.000,5",
        "0x10",
    ] {
        let r = officer
            .post(
                &leaf(&ratio),
                &[
                    ("numerator", numerator),
                    ("denominator", "1000"),
                    ("version", "0"),
                ],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{numerator}: {}",
            r.body
        );
    }
    for typed in ["1_000", "1E2", "+1", "1.0", "1,5"] {
        let r = officer
            .post(&leaf(&count), &[("count", typed), ("version", "0")])
            .await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{typed}");
    }
    // A repeated key: neither value is taken.
    let twice = post_body(&mut officer, &leaf(&binary), "value=yes&value=no&version=0").await;
    assert_eq!(twice.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(twice.body.contains("gửi nhiều lần"), "{}", twice.body);
    for code in [&ratio, &count, &binary] {
        assert!(
            app.store()
                .leaf_entry(period, stp, code)
                .await
                .unwrap()
                .is_none()
        );
    }
    // Exact input is taken, and scored exactly: 0,999999 of 1 is not 100%.
    let exact = officer
        .post(
            &leaf(&ratio),
            &[
                ("numerator", "0,999999"),
                ("denominator", "1"),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(exact.status, StatusCode::SEE_OTHER, "{}", exact.body);
    let entry = app
        .store()
        .leaf_entry(period, stp, &ratio)
        .await
        .unwrap()
        .unwrap();
    let expected = set
        .evaluate(
            &ratio,
            &parindex_domain::rules::LeafInput::Ratio {
                numerator: "0.999999".parse().unwrap(),
                denominator: 1.into(),
            },
        )
        .unwrap();
    assert_eq!(
        entry.score_milli,
        expected.points.and_then(|p| p.to_millipoints())
    );
    assert_eq!(
        officer
            .post(&leaf(&binary), &[("value", "yes"), ("version", "0")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    app
});

web_test!(
    refusals_come_in_the_right_order,
    parindex_web::WebConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    },
    |app: TestApp| async move {
        // Authorization before the form: 403 in Vietnamese, not a serde message.
        let mut officer = app.login_as("canbo.stp").await;
        let r = officer.post("/index-sets/3/publish", &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("Bạn không có quyền"), "{}", r.body);
        assert!(!r.body.contains("Failed to deserialize"));
        let r = officer.post("/periods/1/stage", &[("junk", "1")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        // A role that may publish gets the form's problem, in Vietnamese.
        let mut secretariat = app.login_as("thuky").await;
        let r = secretariat.post("/index-sets/3/publish", &[]).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains("Biểu mẫu thiếu ô «version»"), "{}", r.body);

        // An oversized body: 413 with a message, not the "form expired" page.
        let before = app.store().count_units().await.unwrap();
        let big = "x".repeat(100 * 1024);
        let r = secretariat
            .post("/units", &[("code", "STC"), ("name_vi", &big)])
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(r.body.contains("quá lớn"), "{}", r.body);
        assert!(!r.body.contains("Biểu mẫu đã hết hạn"));
        assert_eq!(app.store().count_units().await.unwrap(), before);

        // A bad id in the path: a Vietnamese 404.
        for path in [
            "/periods/abc",
            "/units/999999999999999999999",
            "/periods/1/units/x/sheet",
        ] {
            let r = secretariat.get(path).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
            assert!(r.body.contains("Không tìm thấy"), "{path}: {}", r.body);
            assert!(!r.body.contains("Invalid URL"), "{path}");
        }
        // JSON when JSON was asked for: the API, and Accept: application/json.
        let mut anonymous = app.client();
        let api = anonymous.get("/api/v1/periods/abc").await;
        assert_eq!(api.status, StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_str(&api.body).unwrap();
        assert!(body["error"].as_str().unwrap().contains("Không tìm thấy"));
        let api = anonymous.get("/api/v1/no-such-thing").await;
        assert_eq!(api.status, StatusCode::NOT_FOUND);
        assert!(api.body.starts_with('{'), "{}", api.body);
        let json = post_with(
            &mut secretariat,
            "/index-sets/3/publish",
            &[],
            &[("accept", "application/json")],
        )
        .await;
        assert_eq!(json.status, StatusCode::UNPROCESSABLE_ENTITY);
        let body: serde_json::Value = serde_json::from_str(&json.body).unwrap();
        assert!(body["error"].as_str().unwrap().contains("thiếu ô"));

        // A bad query parameter and a wrong content type: Vietnamese too.
        let r = secretariat.get("/audit?before=abc").await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(r.body.contains("tham số không hợp lệ"), "{}", r.body);
        let token = secretariat.csrf().await;
        let r = secretariat
            .send(
                Request::post("/units")
                    .header(header::CONTENT_TYPE, "application/json")
                    .header("x-csrf-token", &token)
                    .body(Body::from("{\"code\":\"STC\"}"))
                    .unwrap(),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(r.body.contains("Biểu mẫu phải được gửi"), "{}", r.body);
        let r = secretariat.post("/units/import", &[("file", "x")]).await;
        assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert!(r.body.contains("multipart/form-data"), "{}", r.body);
        app
    }
);

/// GET `path` through `router` (no cookies): the status and headers.
async fn head_of(router: &axum::Router, path: &str) -> (StatusCode, axum::http::HeaderMap) {
    let response = router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let _ = response.into_body().collect().await;
    (status, headers)
}

web_test!(
    account_hygiene,
    parindex_web::WebConfig {
        public_url: Some("https://cchc.example.gov.vn".into()),
        secure_cookies: true,
        ..Default::default()
    },
    |app: TestApp| async move {
        // HSTS over https, and not without it.
        for path in ["/login", "/healthz", "/no-such-page"] {
            let (_, headers) = head_of(&app.router, path).await;
            assert_eq!(
                headers
                    .get("strict-transport-security")
                    .map(|v| v.to_str().unwrap()),
                Some("max-age=31536000"),
                "{path}"
            );
        }
        let mut plain = app.state.clone();
        plain.config = std::sync::Arc::new(parindex_web::WebConfig::default());
        let (status, headers) = head_of(&parindex_web::app(plain), "/login").await;
        assert_eq!(status, StatusCode::OK);
        assert!(headers.contains_key("content-security-policy"));
        assert!(!headers.contains_key("strict-transport-security"));

        // E-mail addresses are validated.
        let mut admin = app.login_as("admin").await;
        let users_before = app.store().list_users().await.unwrap().len();
        for email in ["khong-hop-le", "an@x", "an@@x.vn", "an b@x.vn", "an@x..vn"] {
            let r = admin
                .post(
                    "/users",
                    &[
                        ("username", "nguoimoi"),
                        ("full_name", "Nguyễn Văn A"),
                        ("email", email),
                        ("role", "viewer"),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{email}");
            assert!(r.body.contains("Địa chỉ e-mail không hợp lệ"), "{email}");
        }
        assert_eq!(app.store().list_users().await.unwrap().len(), users_before);
        let r = admin
            .post(
                "/users",
                &[
                    ("username", "nguoimoi"),
                    ("full_name", "Nguyễn Văn A"),
                    ("email", "an.nguyen@SoTuPhap.gov.vn"),
                    ("role", "viewer"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let created = app
            .store()
            .list_users()
            .await
            .unwrap()
            .into_iter()
            .find(|u| u.username == "nguoimoi")
            .unwrap();
        assert_eq!(created.email.as_deref(), Some("an.nguyen@sotuphap.gov.vn"));

        // Common and breached-pattern passwords are refused, a strong one is taken.
        let mut user = app.login_as("lanhdao").await;
        for weak in [
            "Password123!",
            "Matkhau@123",
            "qwerty123456",
            "P@ssw0rd2026",
            "Mat-khau-2027",
            "lanhdao-2026!",
        ] {
            let r = user
                .post(
                    "/account/password",
                    &[
                        ("current_password", PASSWORD),
                        ("new_password", weak),
                        ("confirm_password", weak),
                    ],
                )
                .await;
            assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{weak}");
            assert!(
                r.body.contains("quá dễ đoán") || r.body.contains("tên đăng nhập"),
                "{weak}: {}",
                r.body
            );
        }
        let strong = "Cay-bang-mua-thu-1987";
        let r = user
            .post(
                "/account/password",
                &[
                    ("current_password", PASSWORD),
                    ("new_password", strong),
                    ("confirm_password", strong),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(
            app.client().login("lanhdao", strong).await.status,
            StatusCode::SEE_OTHER
        );

        // The `?csrf=` query token is no good on an urlencoded form...
        let mut secretariat = app.login_as("thuky").await;
        let token = secretariat.csrf().await;
        let before = app.store().count_units().await.unwrap();
        let group = app.seed.group_so.to_string();
        let fields = [
            ("code", "STC"),
            ("name_vi", "Sở Tài chính"),
            ("group_id", group.as_str()),
            ("valid_from", "01/01/2021"),
        ];
        let r = secretariat
            .post_raw(&format!("/units?csrf={token}"), &fields)
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.body.contains("Biểu mẫu đã hết hạn"));
        assert_eq!(app.store().count_units().await.unwrap(), before);
        // ... but still carries a multipart upload, whose body is streamed.
        let upload = secretariat
            .upload("/units/import", "file", "donvi.csv", b"ma,ten\n")
            .await;
        assert_ne!(upload.status, StatusCode::FORBIDDEN, "{}", upload.body);
        assert!(!upload.body.contains("Biểu mẫu đã hết hạn"));
        // And the page's own token in the form's body works.
        assert_eq!(
            secretariat.post("/units", &fields).await.status,
            StatusCode::SEE_OTHER
        );
        let page = secretariat.get("/units/new").await;
        assert!(extract_csrf(&page.body).is_some());
        app
    }
);
