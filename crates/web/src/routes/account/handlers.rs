//! The account handlers: parse, call one use case of `parindex_app::accounts`, render.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_app::accounts::{LoginPolicy, LoginRequest, PasswordChange};

use super::forms::{LocaleQuery, LoginForm, LoginQuery, PasswordForm, RoleForm};
use super::views::{AccountPage, LoginPage, PasswordPage, SessionRow, wait_text};
use crate::auth::{CurrentUser, RequestCtx, cookies};
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::{Page, datetime_vi, safe_next};
use crate::routes::{render, render_status};
use crate::views::refusal::{OkQuery, Refusal};
use crate::{AppState, WebConfig};

/// The login delay policy of the configuration.
fn login_policy(cfg: &WebConfig) -> LoginPolicy {
    LoginPolicy {
        window_ms: cfg.login_failure_window.as_millis() as i64,
        max_failures_per_account: cfg.login_max_failures_per_account,
        max_failures_per_ip: cfg.login_max_failures_per_ip,
        delays: cfg.login_delays(),
    }
}

/// A throttled answer: 429 with `Retry-After`.
fn throttled(response: Result<Response, WebError>, seconds: u64) -> Result<Response, WebError> {
    let mut response = response?;
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    Ok(response)
}

/// The browser's description of itself, for the account page's session list.
fn user_agent(headers: &HeaderMap) -> Option<String> {
    let agent = headers.get(header::USER_AGENT)?;
    agent.to_str().ok().map(str::to_owned)
}

/// A redirect that also sets (or clears) a cookie.
fn redirect_with_cookie(to: &str, cookie: &str) -> Response {
    let mut response = Redirect::to(to).into_response();
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub async fn login_page(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<LoginQuery>,
) -> Result<Response, WebError> {
    if ctx.session.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    render(&LoginPage {
        p: Page::anonymous(&state, &ctx, "login.title"),
        next: safe_next(q.next.as_deref()),
        username: String::new(),
        error: None,
        expired: q.expired.is_some(),
        bye: q.bye.is_some(),
    })
}

/// Logs in. Bad user, bad password and disabled account get one generic message; past the
/// free failures each attempt must wait a growing delay (never a lockout).
pub async fn login(
    State(state): State<AppState>,
    ctx: RequestCtx,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let cfg = &state.config;
    let next = safe_next(form.next.as_deref());
    let client = crate::client_ip::client_ip(addr, &headers, &cfg.trusted_proxies);
    let request = LoginRequest {
        username: form.username.clone(),
        password: form.password,
        client,
        user_agent: user_agent(&headers),
        locale: ctx.lang.code().into(),
    };
    let page = |error: String| LoginPage {
        p: Page::anonymous(&state, &ctx, "login.title"),
        next: next.clone(),
        username: form.username.chars().take(64).collect(),
        error: Some(error),
        expired: false,
        bye: false,
    };
    match state.app.login(&login_policy(cfg), request).await {
        Ok(done) => {
            let target = if done.must_change_password {
                "/account/password"
            } else {
                &next
            };
            let cookie = cookies::set(cookies::SESSION, &done.token, cfg.secure_cookies, None);
            Ok(redirect_with_cookie(target, &cookie))
        }
        Err(AppError::TooManyAttempts { retry_after_secs }) => {
            let wait = wait_text(ctx.lang, retry_after_secs);
            let message = ctx.lang.format("login.throttled", &[("wait", wait)]);
            let page = render_status(StatusCode::TOO_MANY_REQUESTS, &page(message));
            throttled(page, retry_after_secs)
        }
        Err(AppError::Forbidden(None)) => render_status(
            StatusCode::UNAUTHORIZED,
            &page(ctx.lang.t("login.failed").into()),
        ),
        Err(e) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    state.app.logout(&user.session).await?;
    let cookie = cookies::clear(cookies::SESSION, state.config.secure_cookies);
    Ok(redirect_with_cookie("/login?bye=1", &cookie))
}

pub async fn logout_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    state.app.logout_everywhere(&user.session).await?;
    let cookie = cookies::clear(cookies::SESSION, state.config.secure_cookies);
    Ok(redirect_with_cookie("/login?bye=1", &cookie))
}

/// Switches the interface language (a preference cookie; nothing on the server changes).
pub async fn set_locale(
    State(state): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<LocaleQuery>,
) -> Result<Response, WebError> {
    let lang = crate::i18n::Lang::from_code(&code).ok_or(WebError::NotFound)?;
    let secure = state.config.secure_cookies;
    let cookie = cookies::set(cookies::LANG, lang.code(), secure, Some(365 * 24 * 3600));
    Ok(redirect_with_cookie(&safe_next(q.next.as_deref()), &cookie))
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let sessions = state
        .app
        .own_sessions(&user.session)
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
    render(&AccountPage {
        p: Page::for_user(&state, &user, "account.title").with_notice(q.ok.as_deref()),
        sessions,
    })
}

fn password_page_with(state: &AppState, user: &CurrentUser, error: Option<String>) -> PasswordPage {
    PasswordPage {
        forced: user.session.user.must_change_password,
        p: Page::for_user(state, user, "password.title"),
        error,
    }
}

pub async fn password_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    render(&password_page_with(&state, &user, None))
}

/// Changes the user's own password; a wrong current password counts as a failed login.
pub async fn change_password(
    State(state): State<AppState>,
    user: CurrentUser,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Result<Response, WebError> {
    let cfg = &state.config;
    let client = crate::client_ip::client_ip(addr, &headers, &cfg.trusted_proxies);
    let change = PasswordChange {
        current: form.current_password,
        new: form.new_password,
        confirm: form.confirm_password,
    };
    let words = [cfg.province_name.as_str()];
    let lang = user.ctx.lang;
    let policy = login_policy(cfg);
    match (state.app)
        .change_password(&user.session, &policy, client, change, &words)
        .await
    {
        Ok(()) => Ok(Redirect::to("/account?ok=password_changed").into_response()),
        Err(AppError::TooManyAttempts { retry_after_secs }) => {
            let wait = wait_text(lang, retry_after_secs);
            let message = lang.format("password.throttled", &[("wait", wait)]);
            let page = password_page_with(&state, &user, Some(message));
            throttled(
                render_status(StatusCode::TOO_MANY_REQUESTS, &page),
                retry_after_secs,
            )
        }
        Err(err) => {
            let refusal = Refusal::of_invalid(err, lang)?;
            let page = password_page_with(&state, &user, Some(refusal.message));
            render_status(refusal.status, &page)
        }
    }
}

/// Switches the role the user acts with (only among their own grants).
pub async fn switch_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<RoleForm>,
) -> Result<Response, WebError> {
    state.app.switch_role(&user.session, form.grant_id).await?;
    Ok(Redirect::to("/?ok=role_switched").into_response())
}
