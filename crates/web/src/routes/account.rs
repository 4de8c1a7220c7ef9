//! Logging in and out, the user's own account: password, role in use, sessions, language.

use crate::routes::table::Routes;

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::{NewPassword, Username};
use parindex_store::AuditActor;
use parindex_store::sessions::SessionRecord;
use parindex_store::throttle::{Reservation, ThrottleKey};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{CurrentUser, RequestCtx, cookies, random_token, token_hash};
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::{Page, datetime_vi, safe_next};
use parindex_app::password;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    p: Page,
    next: String,
    username: String,
    error: Option<String>,
    expired: bool,
    bye: bool,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
    bye: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    if ctx.session.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    super::render(&LoginPage {
        p: Page::anonymous(&state, &ctx, "login.title"),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        expired: q.expired.is_some(),
        bye: q.bye.is_some(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// Logs in. Bad user, bad password and disabled account get one generic message; failures
/// are counted per account and per client address, and past the free ones each attempt must
/// wait a growing delay (never a lockout; see parindex_store::throttle).
pub async fn login(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let cfg = &state.config;
    let now = parindex_store::now_ms();
    let typed = form.username.trim().to_lowercase();
    let client = crate::client_ip::client_ip(addr, &headers, &cfg.trusted_proxies);
    let next = safe_next(form.next.as_deref());
    let page = |error: String| LoginPage {
        p: Page::anonymous(&state, &ctx, "login.title"),
        next: next.clone(),
        username: form.username.chars().take(64).collect(),
        error: Some(error),
        expired: false,
        bye: false,
    };

    let ReservedAttempt {
        reservation,
        account_key,
        window_start,
    } = reserve_password_attempt(&state, &typed, client, now).await?;
    let attempt = match reservation {
        Reservation::Allowed(attempt) => attempt,
        Reservation::Wait(ms) => {
            let message = ctx
                .lang
                .t("login.throttled")
                .replace("{wait}", &wait_text(ctx.lang, ms));
            return throttled(
                super::render_status(StatusCode::TOO_MANY_REQUESTS, &page(message))?,
                ms,
            );
        }
    };

    let account = match Username::parse(&typed) {
        Ok(name) => state.store.user_for_login(name.as_str()).await?,
        Err(_) => None,
    };
    let stored_hash = account.as_ref().map(|(_, h)| h.clone());
    let password_ok = password::verify(form.password.clone(), stored_hash).await?;
    let user = match account {
        Some((user, _)) if password_ok && !user.disabled => user,
        // The recorded attempt stays: it is this failure.
        _ => {
            return super::render_status(
                StatusCode::UNAUTHORIZED,
                &page(ctx.lang.t("login.failed").into()),
            );
        }
    };
    state
        .store
        .login_succeeded(&attempt, &account_key, window_start)
        .await?;

    let grants = state.store.user_grants(user.id).await?;
    let token = random_token();
    let record = SessionRecord {
        token_hash: token_hash(&token),
        user_id: user.id,
        csrf_token: random_token(),
        active_role_id: grants.first().map(|g| g.id),
        locale: ctx.lang.code().into(),
        ip: Some(client.to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(200).collect()),
        created_at: now,
        last_seen_at: now,
    };
    let actor = AuditActor {
        user_id: Some(user.id),
        username: user.username.clone(),
        role: grants.first().map(|g| g.role).into(),
    };
    let mut tx = state.store.begin_write(actor).await?;
    tx.create_session(&record).await?;
    tx.commit().await?;

    let target = if user.must_change_password {
        "/account/password".to_owned()
    } else {
        next
    };
    let mut response = Redirect::to(&target).into_response();
    set_cookie(
        &mut response,
        &cookies::set(cookies::SESSION, &token, cfg.secure_cookies, None),
    );
    Ok(response)
}

/// A password attempt reserved before the password is checked, in the account's bucket and
/// the client address's, so parallel guesses cannot all slip under the limit (see
/// parindex_store::throttle). The login form and the password-change form share it.
struct ReservedAttempt {
    reservation: Reservation,
    /// The account's bucket, whose failures a success forgets.
    account_key: String,
    /// Failures before this are outside the window.
    window_start: i64,
}

async fn reserve_password_attempt(
    state: &AppState,
    username: &str,
    client: std::net::IpAddr,
    now: i64,
) -> Result<ReservedAttempt, WebError> {
    let cfg = &state.config;
    let window_start = now - cfg.login_failure_window.as_millis() as i64;
    let account_key = format!("user:{username}");
    let keys = [
        ThrottleKey {
            key: account_key.clone(),
            limit: cfg.login_max_failures_per_account,
        },
        ThrottleKey {
            key: format!("ip:{client}"),
            limit: cfg.login_max_failures_per_ip,
        },
    ];
    let reservation = state
        .store
        .reserve_login_attempt(&keys, cfg.login_delays(), now, window_start)
        .await?;
    Ok(ReservedAttempt {
        reservation,
        account_key,
        window_start,
    })
}

/// A wait in words, rounded up: "3 giây", "2 phút".
fn wait_text(lang: crate::i18n::Lang, ms: i64) -> String {
    let seconds = (ms.max(1) + 999) / 1000;
    if seconds < 60 {
        lang.t("login.wait_seconds")
            .replace("{n}", &seconds.to_string())
    } else {
        lang.t("login.wait_minutes")
            .replace("{n}", &((seconds + 59) / 60).to_string())
    }
}

/// Adds `Retry-After` to a throttled answer.
fn throttled(mut response: Response, ms: i64) -> Result<Response, WebError> {
    let seconds = (ms.max(1) + 999) / 1000;
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.delete_session(user.user_id(), &user.session.token_hash)
        .await?;
    tx.commit().await?;
    let mut response = Redirect::to("/login?bye=1").into_response();
    set_cookie(
        &mut response,
        &cookies::clear(cookies::SESSION, state.config.secure_cookies),
    );
    Ok(response)
}

pub async fn logout_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.delete_all_sessions(user.user_id()).await?;
    tx.commit().await?;
    let mut response = Redirect::to("/login?bye=1").into_response();
    set_cookie(
        &mut response,
        &cookies::clear(cookies::SESSION, state.config.secure_cookies),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct LocaleQuery {
    next: Option<String>,
}

/// Switches the interface language (a preference cookie; nothing on the server changes).
pub async fn set_locale(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> Result<Response, WebError> {
    let lang = crate::i18n::Lang::from_code(&code).ok_or(WebError::NotFound)?;
    let mut response = Redirect::to(&safe_next(q.next.as_deref())).into_response();
    set_cookie(
        &mut response,
        &cookies::set(
            cookies::LANG,
            lang.code(),
            state.config.secure_cookies,
            Some(365 * 24 * 3600),
        ),
    );
    Ok(response)
}

/// One of the user's sessions, for the account page.
struct SessionRow {
    started: String,
    last_seen: String,
    ip: String,
    agent: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    p: Page,
    sessions: Vec<SessionRow>,
}

#[derive(Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let sessions = state
        .store
        .user_sessions(user.user_id())
        .await?
        .into_iter()
        .map(|s| SessionRow {
            started: datetime_vi(s.created_at),
            last_seen: datetime_vi(s.last_seen_at),
            ip: s.ip.unwrap_or_default(),
            agent: s.user_agent.unwrap_or_default(),
            current: s.token_hash == user.session.token_hash,
        })
        .collect();
    super::render(&AccountPage {
        p: Page::for_user(&state, &user, "account.title").with_notice(q.ok.as_deref()),
        sessions,
    })
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    p: Page,
    forced: bool,
    error: Option<String>,
}

pub async fn password_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    super::render(&PasswordPage {
        forced: user.session.user.must_change_password,
        p: Page::for_user(&state, &user, "password.title"),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
}

/// Changes the user's own password. A wrong current password counts as a failed login of
/// the account (and of the client's address): a stolen session cannot be used to guess the
/// password faster than the login form allows.
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let fail = |status: StatusCode, message: String| {
        super::render_status(
            status,
            &PasswordPage {
                forced: user.session.user.must_change_password,
                p: Page::for_user(&state, &user, "password.title"),
                error: Some(message),
            },
        )
    };
    let client = crate::client_ip::client_ip(addr, &headers, &state.config.trusted_proxies);
    let ReservedAttempt {
        reservation,
        account_key,
        window_start,
    } = reserve_password_attempt(
        &state,
        &user.session.user.username,
        client,
        parindex_store::now_ms(),
    )
    .await?;
    let attempt = match reservation {
        Reservation::Allowed(attempt) => attempt,
        Reservation::Wait(ms) => {
            let message = user
                .ctx
                .lang
                .t("password.throttled")
                .replace("{wait}", &wait_text(user.ctx.lang, ms));
            return throttled(fail(StatusCode::TOO_MANY_REQUESTS, message)?, ms);
        }
    };
    let stored = state.store.password_hash(user.user_id()).await?;
    if !password::verify(form.current_password.clone(), Some(stored)).await? {
        // The recorded attempt stays: it is this failure.
        return fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            user.ctx.lang.t("password.wrong_current").into(),
        );
    }
    state
        .store
        .login_succeeded(&attempt, &account_key, window_start)
        .await?;
    let fail = |message: String| fail(StatusCode::UNPROCESSABLE_ENTITY, message);
    if form.new_password != form.confirm_password {
        return fail(user.ctx.lang.t("password.mismatch").into());
    }
    if form.new_password == form.current_password {
        return fail(user.ctx.lang.t("password.same").into());
    }
    let new = match NewPassword::parse(&form.new_password, &user.session.user.username) {
        Ok(p) => p,
        Err(e) => return fail(e.message),
    };
    let me = &user.session.user;
    if let Some(message) = password::weakness(
        new.expose(),
        &[&me.username, &me.full_name, &state.config.province_name],
    ) {
        return fail(message);
    }
    let hash = password::hash(new.expose().to_owned()).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_password(user.user_id(), &hash, false, Some(&user.session.token_hash))
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/account?ok=password_changed").into_response())
}

#[derive(Deserialize)]
pub struct RoleForm {
    grant_id: i64,
}

/// Switches the role the user acts with (only among their own grants).
pub async fn switch_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_session_role(&user.session.token_hash, user.user_id(), form.grant_id)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to("/?ok=role_switched").into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/login", login_page)
        .post("/login", login)
        .post("/logout", logout)
        .get("/locale/{code}", set_locale)
        .get("/account", show)
        .get("/account/password", password_page)
        .post("/account/password", change_password)
        .post("/account/role", switch_role)
        .post("/account/logout-all", logout_all)
}
