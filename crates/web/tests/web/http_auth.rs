//! Logging in and out, throttling, CSRF, session expiry, passwords, headers and cookies.

use axum::http::StatusCode;
use parindex_store::AuditFilter;

use crate::support::{PASSWORD, TestApp};
use crate::web_test;

web_test!(
    login_success_sets_a_safe_session_cookie,
    |app: TestApp| async move {
        let mut client = app.client();
        let login_page = client.get("/login").await;
        assert_eq!(login_page.status, StatusCode::OK);
        assert!(login_page.body.contains("Đăng nhập"));
        let response = client.login("thuky", PASSWORD).await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(response.location(), "/");
        let cookie = response.header("set-cookie");
        assert!(cookie.starts_with("parindex_session="), "{cookie}");
        assert!(
            cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
        assert!(
            !cookie.contains("Secure"),
            "plain HTTP test server: no Secure flag"
        );
        let home = client.get("/").await;
        assert_eq!(home.status, StatusCode::OK);
        // The header shows the user and the role in use.
        assert!(
            home.body.contains("Thường trực (Sở Nội vụ)"),
            "{}",
            home.body
        );
        // The session is stored server-side, hashed.
        let sessions = app
            .store()
            .user_sessions(app.seed.users["thuky"])
            .await
            .unwrap();
        assert_eq!(sessions.len(), 1);
        let token = &client.cookies["parindex_session"];
        assert_ne!(&sessions[0].token_hash, token);
        app
    }
);

web_test!(
    login_failure_is_generic_and_changes_nothing,
    |app: TestApp| async move {
        let mut client = app.client();
        let wrong_password = client.login("thuky", "sai-mat-khau-1").await;
        let no_such_user = client.login("khong-ton-tai", PASSWORD).await;
        assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
        assert_eq!(no_such_user.status, StatusCode::UNAUTHORIZED);
        let message = "Tên đăng nhập hoặc mật khẩu không đúng.";
        assert!(wrong_password.body.contains(message) && no_such_user.body.contains(message));
        assert!(!client.cookies.contains_key("parindex_session"));
        assert!(
            app.store()
                .user_sessions(app.seed.users["thuky"])
                .await
                .unwrap()
                .is_empty()
        );
        app
    }
);

/// A long first delay, so that the throttle tests do not depend on how fast the machine is.
fn slow_delays() -> parindex_web::WebConfig {
    parindex_web::WebConfig {
        login_delay_base: std::time::Duration::from_secs(60),
        ..Default::default()
    }
}

/// Moves the recorded attempts of `key` back by `ms`, as if that much time had passed.
async fn age_attempts(app: &TestApp, key: &str, ms: i64) {
    sqlx::query("UPDATE login_failures SET at = at - $1 WHERE key = $2")
        .bind(ms)
        .bind(key)
        .execute(app.store().raw_pool_for_tests())
        .await
        .unwrap();
}

web_test!(
    login_is_throttled_per_account_and_per_ip,
    slow_delays(),
    |app: TestApp| async move {
        let mut client = app.client();
        for _ in 0..5 {
            let r = client.login("canbo.stp", "sai-mat-khau-1").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        // The sixth try must wait, even with the right password.
        let throttled = client.login("canbo.stp", PASSWORD).await;
        assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(throttled.body.contains("Hãy chờ"), "{}", throttled.body);
        assert!(!throttled.header("retry-after").is_empty());
        // Once the wait has passed, the right password works: a delay, never a lockout.
        age_attempts(&app, "user:canbo.stp", 61_000).await;
        assert_eq!(
            client.login("canbo.stp", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        // Another account from the same address is not locked by that account's failures.
        let other = client.login("thuky", PASSWORD).await;
        assert_eq!(other.status, StatusCode::SEE_OTHER);

        // Per IP: many accounts tried from one address.
        let mut attacker = app.client();
        attacker.ip = "10.9.8.7:4000".parse().unwrap();
        for i in 0..30 {
            attacker
                .login(&format!("khong-co-{i}"), "x-sai-mat-khau")
                .await;
        }
        let blocked = attacker.login("lanhdao", PASSWORD).await;
        assert_eq!(blocked.status, StatusCode::TOO_MANY_REQUESTS);
        // The same account from another address still works.
        let mut elsewhere = app.client();
        elsewhere.ip = "10.1.1.1:4000".parse().unwrap();
        assert_eq!(
            elsewhere.login("lanhdao", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        app
    }
);

web_test!(
    parallel_guesses_do_not_beat_the_throttle,
    slow_delays(),
    |app: TestApp| async move {
        // Twenty wrong passwords at once: each client holds its login form's CSRF token, then
        // all post together, so every request is in flight during the others' argon2 checks.
        let mut clients = Vec::new();
        for _ in 0..20 {
            let mut client = app.client();
            let token = client.csrf().await;
            clients.push((client, token));
        }
        let responses =
            futures_util::future::join_all(clients.iter_mut().map(|(client, token)| async move {
                let form = [
                    ("username", "canbo.stp"),
                    ("password", "sai-mat-khau-song-song"),
                    ("csrf", token.as_str()),
                ];
                client.post_raw("/login", &form).await
            }))
            .await;
        let verified = responses
            .iter()
            .filter(|r| r.status == StatusCode::UNAUTHORIZED)
            .count();
        let throttled = responses
            .iter()
            .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
            .count();
        assert_eq!(verified + throttled, 20, "only 401 or 429 expected");
        // Exactly the limit reach the password check, however the requests interleave.
        assert_eq!(verified, 5, "{verified} guesses reached the password check");
        // Exactly the checked guesses are on record as failures; refused ones are not.
        assert_eq!(
            app.store()
                .login_failures_since("user:canbo.stp", 0)
                .await
                .unwrap(),
            5
        );
        // A later right password must wait too, while the delay runs...
        let mut late = app.client();
        let right = late.login("canbo.stp", PASSWORD).await;
        assert_eq!(
            right.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            right.body
        );
        assert!(
            app.store()
                .user_sessions(app.seed.users["canbo.stp"])
                .await
                .unwrap()
                .is_empty()
        );
        // ... and works once it has passed.
        age_attempts(&app, "user:canbo.stp", 61_000).await;
        assert_eq!(
            late.login("canbo.stp", PASSWORD).await.status,
            StatusCode::SEE_OTHER
        );
        app
    }
);

web_test!(
    csrf_is_required_on_every_state_change,
    |app: TestApp| async move {
        // Before login: the login form itself.
        let mut anonymous = app.client();
        anonymous.get("/login").await;
        let no_token = anonymous
            .post_raw("/login", &[("username", "thuky"), ("password", PASSWORD)])
            .await;
        assert_eq!(no_token.status, StatusCode::FORBIDDEN);
        assert!(no_token.body.contains("Biểu mẫu đã hết hạn"));

        let mut client = app.login_as("thuky").await;
        let before = app.store().count_units().await.unwrap();
        let fields = [
            ("code", "STC"),
            ("name_vi", "Sở Tài chính"),
            ("group_id", "1"),
            ("valid_from", "01/01/2021"),
        ];
        let missing = client.post_raw("/units", &fields).await;
        assert_eq!(missing.status, StatusCode::FORBIDDEN);
        let mut forged = fields.to_vec();
        forged.push((
            "csrf",
            "0000000000000000000000000000000000000000000000000000000000000000",
        ));
        assert_eq!(
            client.post_raw("/units", &forged).await.status,
            StatusCode::FORBIDDEN
        );
        // Another session's token is no good either.
        let mut other = app.login_as("admin").await;
        let other_token = other.csrf().await;
        let mut stolen = fields.to_vec();
        stolen.push(("csrf", &other_token));
        assert_eq!(
            client.post_raw("/units", &stolen).await.status,
            StatusCode::FORBIDDEN
        );
        assert_eq!(app.store().count_units().await.unwrap(), before);
        // With the right token it works.
        assert_eq!(
            client.post("/units", &fields).await.status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(app.store().count_units().await.unwrap(), before + 1);
        // Logout is a state change too.
        assert_eq!(
            client.post_raw("/logout", &[]).await.status,
            StatusCode::FORBIDDEN
        );
        app
    }
);

web_test!(
    idle_and_absolute_session_expiry,
    |app: TestApp| async move {
        let mut client = app.login_as("thuky").await;
        assert_eq!(client.get("/units").await.status, StatusCode::OK);
        // Idle: last seen 31 minutes ago.
        let old = parindex_store::now_ms() - 31 * 60 * 1000;
        sqlx::query("UPDATE sessions SET last_seen_at = $1")
            .bind(old)
            .execute(app.store().raw_pool_for_tests())
            .await
            .unwrap();
        let expired = client.get("/units").await;
        assert_eq!(expired.status, StatusCode::SEE_OTHER);
        assert_eq!(expired.location(), "/login?expired=1&next=/units");
        assert!(
            app.store()
                .user_sessions(app.seed.users["thuky"])
                .await
                .unwrap()
                .is_empty()
        );
        let login = client.get(expired.location()).await;
        assert!(login.body.contains("Phiên làm việc đã hết hạn"));

        // Absolute: active a second ago, but created 13 hours ago.
        let mut client = app.login_as("thuky").await;
        let created = parindex_store::now_ms() - 13 * 3600 * 1000;
        sqlx::query("UPDATE sessions SET created_at = $1")
            .bind(created)
            .execute(app.store().raw_pool_for_tests())
            .await
            .unwrap();
        assert_eq!(client.get("/units").await.status, StatusCode::SEE_OTHER);
        app
    }
);

web_test!(logout_and_logout_everywhere, |app: TestApp| async move {
    let mut first = app.login_as("lanhdao").await;
    let mut second = app.login_as("lanhdao").await;
    let out = first.post("/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(first.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(second.get("/").await.status, StatusCode::OK);
    let mut third = app.login_as("lanhdao").await;
    let account = second.get("/account").await;
    assert!(account.body.contains("phiên này"));
    assert_eq!(
        second.post("/account/logout-all", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(second.get("/").await.status, StatusCode::SEE_OTHER);
    assert_eq!(third.get("/").await.status, StatusCode::SEE_OTHER);
    let actions: Vec<String> = app
        .store()
        .audit_list(&AuditFilter {
            username: Some("lanhdao".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(
        actions.contains(&"session.logout".to_string())
            && actions.contains(&"session.logout_all".to_string())
    );
    app
});

web_test!(
    admin_reset_forces_a_password_change,
    |app: TestApp| async move {
        let mut admin = app.login_as("admin").await;
        let target = app.seed.users["canbo.stp"];
        let mut victim_session = app.login_as("canbo.stp").await;
        let reset = admin
            .post(&format!("/users/{target}/reset-password"), &[])
            .await;
        assert_eq!(reset.status, StatusCode::OK);
        let marker = "data-testid=\"one-time-password\">";
        let start = reset.body.find(marker).unwrap() + marker.len();
        let temporary = reset.body[start..start + 19].to_owned();
        // The reset ended the user's sessions.
        assert_eq!(victim_session.get("/").await.status, StatusCode::SEE_OTHER);
        // The old password no longer works; the temporary one does, and forces a change.
        let mut user = app.client();
        assert_eq!(
            user.login("canbo.stp", PASSWORD).await.status,
            StatusCode::UNAUTHORIZED
        );
        let login = user.login("canbo.stp", &temporary).await;
        assert_eq!(login.location(), "/account/password");
        let blocked = user.get("/units").await;
        assert_eq!(
            (blocked.status, blocked.location()),
            (StatusCode::SEE_OTHER, "/account/password")
        );
        // A weak password is refused with the rule, and nothing changes.
        let weak = user
            .post(
                "/account/password",
                &[
                    ("current_password", &temporary),
                    ("new_password", "ngan"),
                    ("confirm_password", "ngan"),
                ],
            )
            .await;
        assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(weak.body.contains("ít nhất 10 ký tự"));
        let changed = user
            .post(
                "/account/password",
                &[
                    ("current_password", &temporary),
                    ("new_password", "Hoa-mai-2027"),
                    ("confirm_password", "Hoa-mai-2027"),
                ],
            )
            .await;
        assert_eq!(changed.status, StatusCode::SEE_OTHER);
        assert_eq!(user.get("/units").await.status, StatusCode::OK);
        let mut again = app.client();
        assert_eq!(
            again.login("canbo.stp", "Hoa-mai-2027").await.status,
            StatusCode::SEE_OTHER
        );
        // The stored hash is argon2id.
        assert!(
            app.store()
                .password_hash(target)
                .await
                .unwrap()
                .starts_with("$argon2id$")
        );
        app
    }
);

web_test!(
    disabled_accounts_cannot_log_in_and_lose_their_sessions,
    |app: TestApp| async move {
        let mut admin = app.login_as("admin").await;
        let mut viewer = app.login_as("lanhdao").await;
        let id = app.seed.users["lanhdao"];
        assert_eq!(
            admin
                .post(&format!("/users/{id}/disable"), &[])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        assert_eq!(viewer.get("/").await.status, StatusCode::SEE_OTHER);
        let mut again = app.client();
        let refused = again.login("lanhdao", PASSWORD).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(
            refused
                .body
                .contains("Tên đăng nhập hoặc mật khẩu không đúng.")
        );
        // An administrator cannot lock themselves out.
        let own = app.seed.users["admin"];
        assert_eq!(
            admin
                .post(&format!("/users/{own}/disable"), &[])
                .await
                .status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
        app
    }
);

web_test!(
    security_headers_on_every_response,
    |app: TestApp| async move {
        let mut client = app.client();
        for path in ["/login", "/healthz", "/static/app.css", "/no-such-page"] {
            let r = client.get(path).await;
            let csp = r.header("content-security-policy");
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{path}: {csp}"
            );
            assert!(csp.contains("frame-ancestors 'none'"), "{path}");
            assert_eq!(r.header("x-content-type-options"), "nosniff", "{path}");
            assert_eq!(r.header("referrer-policy"), "same-origin", "{path}");
        }
        // No inline script anywhere in our pages.
        let login = client.get("/login").await;
        assert!(!login.body.contains("<script>") && !login.body.contains("onclick="));
        assert_eq!(
            client.get("/no-such-page").await.status,
            StatusCode::NOT_FOUND
        );
        app
    }
);

web_test!(
    secure_cookies_over_https,
    parindex_web::WebConfig {
        secure_cookies: true,
        ..Default::default()
    },
    |app: TestApp| async move {
        let mut client = app.client();
        let r = client.login("thuky", PASSWORD).await;
        assert!(r.header("set-cookie").contains("; Secure"));
        app
    }
);

web_test!(english_is_a_second_locale, |app: TestApp| async move {
    let mut client = app.login_as("thuky").await;
    let switched = client.get("/locale/en?next=/units").await;
    assert_eq!(switched.location(), "/units");
    let page = client.get("/units").await;
    assert!(page.body.contains("Unit registry"), "{}", page.body);
    assert!(page.body.contains("lang=\"en\""));
    // An open redirect is not possible through the language switch.
    assert_eq!(
        client
            .get("/locale/vi?next=//evil.example")
            .await
            .location(),
        "/"
    );
    app
});

web_test!(health_and_readiness, |app: TestApp| async move {
    let mut client = app.client();
    let health = client.get("/healthz").await;
    assert_eq!(
        (health.status, health.body.as_str()),
        (StatusCode::OK, "ok")
    );
    let ready = client.get("/readyz").await;
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (StatusCode::OK, "ready")
    );
    app.store().raw_pool_for_tests().close().await;
    assert_eq!(
        client.get("/readyz").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    app
});
