//! The index-set handlers that edit a draft: its nodes, its own fields, its bonus and penalty
//! items. Parse, call one use case of `parindex_app::index_sets`, render.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_app::index_sets::NewNodeInput;

use super::forms::{AddNodeForm, AdjustmentForm, MetaForm, NodeForm, VersionForm};
use super::handlers::show_refusal;
use super::views::{MetaPage, NodePage};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Path};
use crate::page::Page;
use crate::routes::{render, render_status};
use crate::views::refusal::{Refusal, web_error};

fn saved(id: i64) -> Response {
    Redirect::to(&format!("/index-sets/{id}?ok=saved")).into_response()
}

pub async fn node_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    let (set, node) = (state.app)
        .index_set_node(&user.session, id, &code)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    render(&NodePage {
        p: Page::for_user(&state, &user, "sets.node_title"),
        form: NodeForm::from_node(&node, set.version),
        is_leaf: node.children.is_empty(),
        set,
        error: None,
    })
}

/// Saves one node of a draft; the whole set is re-validated on its page afterwards (a draft
/// may be invalid while it is being built; publishing requires it valid).
pub async fn node_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(form): Form<NodeForm>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let version = form.version.parse::<i64>().ok();
    let Err(err) = (state.app)
        .save_index_set_node(&user.session, id, &code, &form.input(), version)
        .await
    else {
        return Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved#n-{code}")).into_response());
    };
    let refusal = Refusal::of_invalid(err, lang)?;
    let (set, node) = (state.app)
        .index_set_node(&user.session, id, &code)
        .await
        .map_err(|e| web_error(e, lang))?;
    let page = NodePage {
        p: Page::for_user(&state, &user, "sets.node_title"),
        set,
        form,
        is_leaf: node.children.is_empty(),
        error: Some(refusal.message),
    };
    render_status(refusal.status, &page)
}

/// Adds a node at the end of its parent's children (or a new domain), numbered next.
pub async fn node_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<AddNodeForm>,
) -> Result<Response, WebError> {
    let input = NewNodeInput {
        parent: form.parent,
        title: form.title,
        max: form.max,
    };
    let added = (state.app)
        .add_index_set_node(&user.session, id, &input, form.version)
        .await;
    match added {
        Ok(code) => Ok(Redirect::to(&format!("/index-sets/{id}/nodes/{code}")).into_response()),
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

pub async fn node_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    (state.app)
        .delete_index_set_node(&user.session, id, &code, form.version)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    Ok(saved(id))
}

pub async fn meta_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let (set, doc) = (state.app)
        .index_set_meta(&user.session, id)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    render(&MetaPage {
        p: Page::for_user(&state, &user, "sets.meta_title"),
        form: MetaForm::from_doc(&doc, set.version),
        set,
        error: None,
    })
}

pub async fn meta_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<MetaForm>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let version = form.version.parse::<i64>().ok();
    let Err(err) = (state.app)
        .save_index_set_meta(&user.session, id, &form.input(), version)
        .await
    else {
        return Ok(saved(id));
    };
    let refusal = Refusal::of_invalid(err, lang)?;
    let (set, _) = (state.app)
        .index_set_meta(&user.session, id)
        .await
        .map_err(|e| web_error(e, lang))?;
    let page = MetaPage {
        p: Page::for_user(&state, &user, "sets.meta_title"),
        set,
        form,
        error: Some(refusal.message),
    };
    render_status(refusal.status, &page)
}

/// Adds a bonus or penalty item to a draft.
pub async fn adjustment_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<AdjustmentForm>,
) -> Result<Response, WebError> {
    let added = (state.app)
        .add_adjustment(&user.session, id, &form.input(), form.version)
        .await;
    match added {
        Ok(()) => Ok(saved(id)),
        Err(err) => show_refusal(&state, &user, id, err).await,
    }
}

pub async fn adjustment_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    (state.app)
        .delete_adjustment(&user.session, id, &code, form.version)
        .await
        .map_err(|e| web_error(e, user.ctx.lang))?;
    Ok(saved(id))
}
