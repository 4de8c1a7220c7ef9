//! The index-set handlers for the list, a set's page and its lifecycle (import, create,
//! publish, clone, delete, export, diff, mapping): parse, call one use case of
//! `parindex_app::index_sets`, render.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::AppError;
use parindex_app::index_sets::ExportFormat;
use parindex_domain::Action;

use super::forms::{CloneForm, DiffQuery, MappingForm, NewSetForm, VersionForm};
use super::views::{DiffPage, FormatPage, ListPage, ShowPage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::refusal::{OkQuery, Refusal, web_error};
use crate::views::upload::file_field;

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    render(&ListPage {
        p: Page::for_user(&state, &user, "sets.title").with_notice(q.ok.as_deref()),
        sets: state.app.list_index_sets(&user.session).await?,
        can_manage: user.can(Action::ManageIndexSets),
        error: None,
    })
}

/// The list again, with why the import or creation was refused (422).
async fn list_with_error(
    state: &AppState,
    user: &CurrentUser,
    message: String,
) -> Result<Response, WebError> {
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ListPage {
            p: Page::for_user(state, user, "sets.title"),
            sets: state.app.list_index_sets(&user.session).await?,
            can_manage: true,
            error: Some(message),
        },
    )
}

/// Where a new set goes, or the list with the refusal.
async fn created_or_list(
    state: &AppState,
    user: &CurrentUser,
    result: Result<i64, AppError>,
    ok: &str,
) -> Result<Response, WebError> {
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/index-sets/{id}?ok={ok}")).into_response()),
        Err(err) => {
            let message = Refusal::of_invalid(err, user.ctx.lang)?.message;
            list_with_error(state, user, message).await
        }
    }
}

/// A set's page, with an error from one of its forms when there is one.
pub(super) async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ShowPage, WebError> {
    let detail = state.app.index_set_detail(&user.session, id).await?;
    let p = Page::for_user(state, user, "sets.show_title").with_notice(ok);
    Ok(ShowPage::new(
        p,
        detail,
        user.can(Action::ManageIndexSets),
        error,
    ))
}

/// The set's page showing a refusal with its status, or the error page for the rest.
pub(super) async fn show_refusal(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    err: AppError,
) -> Result<Response, WebError> {
    let refusal = Refusal::of(err, user.ctx.lang)?;
    let page = show_page(state, user, id, None, Some(refusal.message)).await?;
    render_status(refusal.status, &page)
}

/// Imports a YAML or Excel file as a new draft; the validation report is on its page.
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let lang = user.ctx.lang;
    let bytes = match file_field(&mut multipart, "file").await {
        Ok(Some((_, bytes))) if !bytes.is_empty() => bytes,
        Ok(_) => return list_with_error(&state, &user, lang.t("sets.no_file").into()).await,
        Err(why) => {
            let message = format!("{} ({why})", lang.t("import.upload_failed"));
            return list_with_error(&state, &user, message).await;
        }
    };
    let imported = state.app.import_index_set(&user.session, &bytes).await;
    created_or_list(&state, &user, imported.map(|s| s.id), "set_imported").await
}

/// Loads the shipped illustrative sets as drafts (those whose code is not there yet).
pub async fn load_shipped(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    match state.app.load_shipped_index_sets(&user.session).await {
        Ok(_) => Ok(Redirect::to("/index-sets?ok=set_imported").into_response()),
        Err(err) => {
            let message = Refusal::of_invalid(err, user.ctx.lang)?.message;
            list_with_error(&state, &user, message).await
        }
    }
}

/// Creates an empty draft to be filled node by node.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewSetForm>,
) -> Result<Response, WebError> {
    let created = state
        .app
        .create_index_set(&user.session, &form.input())
        .await;
    created_or_list(&state, &user, created.map(|s| s.id), "created").await
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    render(&show_page(&state, &user, id, q.ok.as_deref(), None).await?)
}

/// Publishes a draft, but only a valid one.
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    match state
        .app
        .publish_index_set(&user.session, id, form.version)
        .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/index-sets/{id}?ok=published")).into_response()),
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

/// Clones a set (typically last year's) into a new draft with a new code and year.
pub async fn clone(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<CloneForm>,
) -> Result<Response, WebError> {
    let cloned = (state.app)
        .clone_index_set(&user.session, id, &form.code, &form.year)
        .await;
    match cloned {
        Ok(new) => Ok(Redirect::to(&format!("/index-sets/{}?ok=created", new.id)).into_response()),
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    match state
        .app
        .delete_index_set(&user.session, id, form.version)
        .await
    {
        Ok(()) => Ok(Redirect::to("/index-sets?ok=deleted").into_response()),
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

/// Downloads the set as YAML (canonical) or Excel (for the secretariat to fill by hand).
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (format, content_type, extension) = match format.as_str() {
        "yaml" => (
            ExportFormat::Yaml,
            "application/yaml; charset=utf-8",
            "yaml",
        ),
        "xlsx" => (
            ExportFormat::Xlsx,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        _ => return Err(WebError::NotFound),
    };
    let (stem, body) = state
        .app
        .export_index_set(&user.session, id, format)
        .await?;
    let disposition = format!("attachment; filename=\"{stem}.{extension}\"");
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// Lists added, removed and changed nodes between two sets.
pub async fn diff(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<DiffQuery>,
) -> Result<Response, WebError> {
    let compared = (state.app)
        .compare_index_sets(&user.session, q.old, q.new)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    render(&DiffPage {
        p: Page::for_user(&state, &user, "sets.diff_title"),
        mapped: compared.mapped,
        old: compared.old,
        new: compared.new,
        diff: compared.diff,
    })
}

/// Records the old → new code pairs of a draft, one "old → new" (or "old new") per line.
pub async fn save_mapping(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<MappingForm>,
) -> Result<Response, WebError> {
    let saved = (state.app)
        .save_code_mapping(&user.session, id, form.from_set, &form.pairs)
        .await;
    match saved {
        Ok(()) => {
            let to = format!("/index-sets/diff?old={}&new={id}", form.from_set);
            Ok(Redirect::to(&to).into_response())
        }
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

/// The documented file format (YAML and the Excel column layout), for secretariats filling
/// a workbook by hand.
pub async fn format_doc(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    render(&FormatPage {
        p: Page::for_user(&state, &user, "sets.format_link"),
        text: include_str!("../../../../../docs/index-set-format.md"),
    })
}
