//! The unit and group handlers: parse, call one use case of `parindex_app::units`, render.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::units::UnitSearch;
use parindex_domain::Action;

use super::forms::{GroupForm, ListQuery, UnitForm, VersionForm};
use super::views::{FormPage, GroupsPage, ListPage, ShowPage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::refusal::{OkQuery, Refusal};

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let search = UnitSearch {
        text: query.q.clone(),
        group_id: query.group.as_deref().and_then(|g| g.parse().ok()),
        include_inactive: query.inactive.is_some(),
    };
    let (group, inactive) = (search.group_id, search.include_inactive);
    let (units, groups) = state.app.list_units(&user.session, search).await?;
    render(&ListPage {
        p: Page::for_user(&state, &user, "units.title").with_notice(query.ok.as_deref()),
        units,
        groups,
        q: query.q.unwrap_or_default(),
        group,
        inactive,
        can_manage: user.can(Action::ManageUnits),
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    let detail = state.app.unit_detail(&user.session, id).await?;
    let mut p = Page::for_user(&state, &user, "units.show_title").with_notice(q.ok.as_deref());
    p.title = format!("{} — {}", detail.unit.code, detail.unit.name_vi);
    render(&ShowPage {
        p,
        unit: detail.unit,
        parent: detail.parent,
        successor: detail.successor,
        can_manage: user.can(Action::ManageUnits),
        can_audit: user.can(Action::ViewAuditLog),
    })
}

/// The unit form, with the problems of what was typed when there are some.
async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    form: UnitForm,
    errors: Vec<(String, String)>,
    unit_id: Option<i64>,
) -> Result<FormPage, WebError> {
    let title_key = if unit_id.is_some() {
        "units.edit_title"
    } else {
        "units.new_title"
    };
    let choices = state.app.unit_form_choices(&user.session).await?;
    Ok(FormPage {
        p: Page::for_user(state, user, title_key),
        form,
        errors,
        groups: choices.groups,
        all_codes: choices.all_codes,
        unit_id,
    })
}

/// Re-shows the form with a refusal's problems; nothing was saved.
async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    form: UnitForm,
    unit_id: Option<i64>,
    err: parindex_app::AppError,
) -> Result<Response, WebError> {
    let refusal = Refusal::of(err, user.ctx.lang)?;
    let errors = if refusal.fields.is_empty() {
        vec![(String::new(), refusal.message)]
    } else {
        refusal.fields
    };
    let page = form_page(state, user, form, errors, unit_id).await?;
    render_status(refusal.status, &page)
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let form = UnitForm {
        valid_from: parindex_domain::text::format_date_vi(time::OffsetDateTime::now_utc().date()),
        ..Default::default()
    };
    render(&form_page(&state, &user, form, Vec::new(), None).await?)
}

pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let d = state.app.unit_for_edit(&user.session, id).await?;
    let form = UnitForm::from_unit(&d.unit, d.parent.as_ref(), d.successor.as_ref());
    render(&form_page(&state, &user, form, Vec::new(), Some(id)).await?)
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<UnitForm>,
) -> Result<Response, WebError> {
    match state.app.create_unit(&user.session, &form.input()).await {
        Ok(unit) => Ok(Redirect::to(&format!("/units/{}?ok=created", unit.id)).into_response()),
        Err(err) => refuse(&state, &user, form, None, err).await,
    }
}

pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<UnitForm>,
) -> Result<Response, WebError> {
    let version = form.version.parse::<i64>().ok();
    let saved = (state.app)
        .update_unit(&user.session, id, version, &form.input())
        .await;
    match saved {
        Ok(()) => Ok(Redirect::to(&format!("/units/{id}?ok=saved")).into_response()),
        Err(err) => refuse(&state, &user, form, Some(id), err).await,
    }
}

async fn set_active(
    state: AppState,
    user: CurrentUser,
    id: i64,
    version: i64,
    active: bool,
) -> Result<Response, WebError> {
    (state.app)
        .set_unit_active(&user.session, id, version, active)
        .await?;
    let ok = if active { "reactivated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/units/{id}?ok={ok}")).into_response())
}

pub async fn deactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    set_active(state, user, id, form.version, false).await
}

pub async fn reactivate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    set_active(state, user, id, form.version, true).await
}

pub async fn groups(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    render(&GroupsPage {
        p: Page::for_user(&state, &user, "groups.title").with_notice(q.ok.as_deref()),
        groups: state.app.unit_groups(&user.session).await?,
        can_manage: user.can(Action::ManageUnits),
        error: None,
        form: GroupForm::default(),
    })
}

pub async fn create_group(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<GroupForm>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let Err(err) = state.app.create_group(&user.session, &form.input()).await else {
        return Ok(Redirect::to("/unit-groups?ok=group_created").into_response());
    };
    let refusal = Refusal::of_invalid(err, lang)?;
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &GroupsPage {
            p: Page::for_user(&state, &user, "groups.title"),
            groups: state.app.unit_groups(&user.session).await?,
            can_manage: true,
            error: Some(refusal.message),
            form,
        },
    )
}
