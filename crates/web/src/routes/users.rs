//! User management for the system administrator: accounts, role grants, password resets
//! (which force a change at the next login) and disabling.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::unit::parse_name;
use parindex_domain::{Action, Role, RoleGrant, Username};
use parindex_store::units::{Unit, UnitFilter};
use parindex_store::users::{NewUser, StoredGrant, User};
use serde::Deserialize;

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::Page;
use parindex_app::password;

#[derive(Template)]
#[template(path = "users_list.html")]
struct ListPage {
    p: Page,
    users: Vec<User>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    super::render(&ListPage {
        p: Page::for_user(&state, &user, "users.title").with_notice(q.ok.as_deref()),
        users: state.store.list_users().await?,
    })
}

/// Role choices for the forms, in the user's language.
fn role_options(lang: crate::i18n::Lang) -> Vec<(&'static str, &'static str)> {
    Role::ALL
        .iter()
        .map(|r| (r.code(), lang.role(*r)))
        .collect()
}

#[derive(Template)]
#[template(path = "user_new.html")]
struct NewPage {
    p: Page,
    form: NewUserForm,
    error: Option<String>,
    roles: Vec<(&'static str, &'static str)>,
    units: Vec<Unit>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit_id: String,
}

async fn all_units(state: &AppState) -> Result<Vec<Unit>, WebError> {
    Ok(state.store.list_units(&UnitFilter::default()).await?)
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    super::render(&NewPage {
        p: Page::for_user(&state, &user, "users.new_title"),
        form: NewUserForm::default(),
        error: None,
        roles: role_options(user.ctx.lang),
        units: all_units(&state).await?,
    })
}

/// Parses a role and its unit from form fields.
fn parse_grant(role: &str, unit_id: &str) -> Result<RoleGrant, String> {
    let role = Role::from_code(role).ok_or_else(|| "Hãy chọn vai trò".to_string())?;
    let unit_id = if unit_id.trim().is_empty() {
        None
    } else {
        Some(
            unit_id
                .trim()
                .parse::<i64>()
                .map_err(|_| "Đơn vị không hợp lệ".to_string())?,
        )
    };
    let grant = RoleGrant { role, unit_id };
    grant.validate().map_err(|e| e.message)?;
    Ok(grant)
}

#[derive(Template)]
#[template(path = "user_password_once.html")]
struct PasswordOncePage {
    p: Page,
    target: User,
    password: String,
}

/// Creates an account with a one-time password shown once; the user must change it.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewUserForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    let parsed = (|| {
        let username = Username::parse(&form.username).map_err(|e| e.message)?;
        let full_name = parse_name(&form.full_name, "full_name").map_err(|e| e.message)?;
        let email = match form.email.trim() {
            "" => None,
            typed => Some(
                parindex_domain::account::Email::parse(typed)
                    .map_err(|e| e.message)?
                    .as_str()
                    .to_owned(),
            ),
        };
        let grant = parse_grant(&form.role, &form.unit_id)?;
        Ok((username, full_name, email, grant))
    })();
    let refuse = async |message: String| {
        super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                p: Page::for_user(&state, &user, "users.new_title"),
                form: form.clone(),
                error: Some(message),
                roles: role_options(user.ctx.lang),
                units: all_units(&state).await?,
            },
        )
    };
    let (username, full_name, email, grant) = match parsed {
        Ok(v) => v,
        Err(message) => return refuse(message).await,
    };
    let one_time = password::generate_password();
    let hash = password::hash(one_time.clone()).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let created = match tx
        .create_user(&NewUser {
            username,
            full_name,
            email,
            password_hash: hash,
            must_change_password: true,
        })
        .await
    {
        Ok(u) => u,
        Err(e) => return refuse(WebError::from(e).message(user.ctx.lang)).await,
    };
    if let Err(e) = tx.grant_role(created.id, &grant).await {
        return refuse(WebError::from(e).message(user.ctx.lang)).await;
    }
    tx.commit().await?;
    super::render(&PasswordOncePage {
        p: Page::for_user(&state, &user, "users.created_title"),
        target: created,
        password: one_time,
    })
}

#[derive(Template)]
#[template(path = "user_show.html")]
struct ShowPage {
    p: Page,
    target: User,
    grants: Vec<StoredGrant>,
    roles: Vec<(&'static str, &'static str)>,
    units: Vec<Unit>,
    error: Option<String>,
    is_self: bool,
    /// Set when the person is an appraiser and also belongs to units through their grants:
    /// which units they will never be assigned to, appraise, or read the evidence of.
    conflict_warning: Option<String>,
}

/// The notice for a person who appraises and is also bound to units by their grants (an
/// officer of one unit given an appraiser grant from another): the units they are kept
/// away from as an appraiser.
fn conflict_warning(grants: &[StoredGrant]) -> Option<String> {
    if !grants.iter().any(|g| g.role == Role::Appraiser) {
        return None;
    }
    let mut units: Vec<(i64, String)> = Vec::new();
    for g in grants {
        if let Some(unit_id) = g.unit_id
            && !units.iter().any(|(id, _)| *id == unit_id)
        {
            units.push((unit_id, g.unit_name_vi.clone().unwrap_or_default()));
        }
    }
    let bound_otherwise = grants
        .iter()
        .any(|g| g.role != Role::Appraiser && g.unit_id.is_some());
    if units.len() < 2 && !bound_otherwise {
        // Only the appraiser's home agency: the usual case, nothing to point out.
        return None;
    }
    let names: Vec<String> = units.into_iter().map(|(_, name)| name).collect();
    Some(format!(
        "Lưu ý: người này là thành viên tổ thẩm định và có vai trò gắn với các đơn vị: {}. \
         Khi dùng vai trò thẩm định, người này sẽ không được phân công, không được thẩm định \
         và không được xem tài liệu kiểm chứng của các đơn vị đó.",
        names.join(", ")
    ))
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ShowPage, WebError> {
    let target = state.store.get_user(id).await?;
    let grants = state.store.user_grants(id).await?;
    Ok(ShowPage {
        p: Page::for_user(state, user, "users.show_title").with_notice(ok),
        conflict_warning: conflict_warning(&grants),
        grants,
        roles: role_options(user.ctx.lang),
        units: all_units(state).await?,
        error,
        is_self: target.id == user.user_id(),
        target,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    super::render(&show_page(&state, &user, id, q.ok.as_deref(), None).await?)
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit_id: String,
}

pub async fn grant_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<GrantForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    state.store.get_user(id).await?;
    // Nobody widens their own powers: another administrator grants an administrator's roles.
    if id == user.user_id() {
        return Err(WebError::ForbiddenBecause(
            user.ctx.lang.t("users.cannot_grant_self").into(),
        ));
    }
    let result = match parse_grant(&form.role, &form.unit_id) {
        Ok(grant) => {
            let mut tx = state.store.begin_write(user.audit_actor()).await?;
            match tx.grant_role(id, &grant).await {
                Ok(_) => tx.commit().await.map_err(WebError::from),
                Err(e) => Err(WebError::from(e)),
            }
        }
        Err(message) => Err(WebError::BadRequest(message)),
    };
    match result {
        Ok(()) => Ok(Redirect::to(&format!("/users/{id}?ok=role_granted")).into_response()),
        Err(e @ (WebError::BadRequest(_) | WebError::NotFound)) => super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &show_page(&state, &user, id, None, Some(e.message(user.ctx.lang))).await?,
        ),
        Err(e) => Err(e),
    }
}

pub async fn revoke_role(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, grant_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    // An administrator cannot remove the grant they are using right now: it would lock them out mid-request.
    if user
        .session
        .active
        .as_ref()
        .is_some_and(|g| g.id == grant_id)
    {
        return Err(WebError::BadRequest(
            user.ctx.lang.t("users.cannot_revoke_own").into(),
        ));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.revoke_role(id, grant_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/users/{id}?ok=role_revoked")).into_response())
}

/// Resets a password to a one-time one, shown once; the user must change it at next login.
pub async fn reset_password(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    let target = state.store.get_user(id).await?;
    let one_time = password::generate_password();
    let hash = password::hash(one_time.clone()).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_password(id, &hash, true, None).await?;
    tx.commit().await?;
    super::render(&PasswordOncePage {
        p: Page::for_user(&state, &user, "users.reset_title"),
        target,
        password: one_time,
    })
}

pub async fn disable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    if id == user.user_id() {
        return Err(WebError::BadRequest(
            user.ctx.lang.t("users.cannot_disable_self").into(),
        ));
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_user_disabled(id, true).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/users/{id}?ok=disabled")).into_response())
}

pub async fn enable(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUsers)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_user_disabled(id, false).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/users/{id}?ok=enabled")).into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/users", list)
        .post("/users", create)
        .get("/users/new", new_form)
        .get("/users/{id}", show)
        .post("/users/{id}/roles", grant_role)
        .post("/users/{id}/roles/{grant_id}/delete", revoke_role)
        .post("/users/{id}/reset-password", reset_password)
        .post("/users/{id}/disable", disable)
        .post("/users/{id}/enable", enable)
}
