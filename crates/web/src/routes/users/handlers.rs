//! The user-management handlers: parse, call one use case of `parindex_app::users`, render.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_domain::Action;

use super::forms::{GrantForm, NewUserForm};
use super::views::{ListPage, NewPage, PasswordOncePage, ShowPage, role_options};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::refusal::{OkQuery, Refusal, web_error};

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let users = state.app.list_users(&user.session).await?;
    render(&ListPage {
        p: Page::for_user(&state, &user, "users.title").with_notice(q.ok.as_deref()),
        users,
    })
}

/// The new-account form, empty or as typed with the reason it was refused.
async fn new_page(
    state: &AppState,
    user: &CurrentUser,
    form: NewUserForm,
    error: Option<String>,
) -> Result<NewPage, WebError> {
    Ok(NewPage {
        p: Page::for_user(state, user, "users.new_title"),
        roles: role_options(user.ctx.lang, form.role),
        form,
        error,
        units: state.app.grant_units(&user.session).await?,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    render(&new_page(&state, &user, NewUserForm::default(), None).await?)
}

/// Creates an account with a one-time password shown once; the user must change it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewUserForm>,
) -> Result<Response, WebError> {
    match state.app.create_user(&user.session, &form.account()).await {
        Ok(created) => render(&PasswordOncePage {
            p: Page::for_user(&state, &user, "users.created_title"),
            target: created.user,
            password: created.password,
        }),
        Err(err) => {
            let refusal = Refusal::of_invalid(err, user.ctx.lang)?;
            let page = new_page(&state, &user, form, Some(refusal.message)).await?;
            render_status(refusal.status, &page)
        }
    }
}

/// The account's page, with an error from the grant form when there is one.
async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ShowPage, WebError> {
    let detail = state.app.user_detail(&user.session, id).await?;
    let p = Page::for_user(state, user, "users.show_title").with_notice(ok);
    Ok(ShowPage::new(p, detail, user.user_id(), error))
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    render(&show_page(&state, &user, id, q.ok.as_deref(), None).await?)
}

pub async fn grant_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<GrantForm>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let granted = (state.app)
        .grant_role(&user.session, id, form.role, &form.unit_id)
        .await;
    let message = match granted {
        Ok(()) => return Ok(Redirect::to(&format!("/users/{id}?ok=role_granted")).into_response()),
        Err(AppError::NotFound) => WebError::NotFound.message(lang),
        Err(err) => Refusal::of_invalid(err, lang)?.message,
    };
    // The page itself answers 404 when the account does not exist.
    let page = show_page(&state, &user, id, None, Some(message)).await?;
    render_status(StatusCode::UNPROCESSABLE_ENTITY, &page)
}

pub async fn revoke_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, grant_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    (state.app)
        .revoke_role(&user.session, id, grant_id)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    Ok(Redirect::to(&format!("/users/{id}?ok=role_revoked")).into_response())
}

/// Resets a password to a one-time one, shown once; the user must change it at next login.
pub async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let reset = state.app.reset_password(&user.session, id).await?;
    render(&PasswordOncePage {
        p: Page::for_user(&state, &user, "users.reset_title"),
        target: reset.user,
        password: reset.password,
    })
}

async fn set_disabled(
    state: AppState,
    user: CurrentUser,
    id: i64,
    disabled: bool,
) -> Result<Response, WebError> {
    (state.app)
        .set_user_disabled(&user.session, id, disabled)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    let ok = if disabled { "disabled" } else { "enabled" };
    Ok(Redirect::to(&format!("/users/{id}?ok={ok}")).into_response())
}

pub async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_disabled(state, user, id, true).await
}

pub async fn enable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    set_disabled(state, user, id, false).await
}
