//! Index sets (bộ chỉ số): list, import (YAML or Excel), create, edit nodes, validate, publish,
//! clone, export, diff and old → new code mappings. Every rule is checked on the server; a
//! published set is immutable (the store refuses, whatever the page sends).

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::index_set::{CodeMapping, NodeDoc, SetDiff, diff_with, level_name_vi};
use parindex_domain::rules::RuleSpec;
use parindex_domain::{Action, IndexSet, IndexSetDoc, Points};
use parindex_store::index_sets::{IndexSetContent, SetStatus, StoredIndexSet};
use serde::Deserialize;

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::{Page, datetime_vi};

// ----- shared helpers -----

/// A set's code: 2–40 characters of A–Z, 0–9, `_`, `-`, `.` (already upper-cased).
fn is_set_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || matches!(c, '_' | '-' | '.'))
}

/// The document of a stored set.
fn load_doc(stored: &StoredIndexSet) -> Result<IndexSetDoc, WebError> {
    serde_json::from_str(&stored.definition)
        .map_err(|e| WebError::Internal(format!("stored index set {}: {e}", stored.id)))
}

/// What the store keeps for a document: its canonical JSON and the list columns.
fn content_of(doc: &IndexSetDoc) -> Result<IndexSetContent, WebError> {
    Ok(IndexSetContent {
        code: doc.code.clone(),
        year: i64::from(doc.year),
        unit_group: doc.unit_group.clone(),
        title: doc.title.clone(),
        illustrative: doc.illustrative,
        definition: serde_json::to_string(doc).map_err(|e| WebError::Internal(e.to_string()))?,
        node_count: count_nodes(&doc.nodes) as i64,
    })
}

fn count_nodes(nodes: &[NodeDoc]) -> usize {
    // Iterative: a hostile document must not exhaust the stack here either.
    let mut stack: Vec<&NodeDoc> = nodes.iter().collect();
    let mut count = 0;
    while let Some(node) = stack.pop() {
        count += 1;
        stack.extend(node.children.iter());
    }
    count
}

/// The unit-group codes of the registry, for validating `applies_to` and the set's group.
async fn known_groups(state: &AppState) -> Result<Vec<String>, WebError> {
    Ok(state
        .store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.code)
        .collect())
}

/// Validates a document against the registry's groups.
async fn validate(
    state: &AppState,
    doc: &IndexSetDoc,
) -> Result<Result<IndexSet, Vec<String>>, WebError> {
    let groups = known_groups(state).await?;
    let refs: Vec<&str> = groups.iter().map(String::as_str).collect();
    Ok(IndexSet::from_doc(doc, Some(&refs))
        .map_err(|report| report.problems.iter().map(|p| p.to_string()).collect()))
}

/// Finds a node by code anywhere in the tree, for editing.
fn find_node_mut<'a>(nodes: &'a mut [NodeDoc], code: &str) -> Option<&'a mut NodeDoc> {
    for node in nodes.iter_mut() {
        if node.code == code {
            return Some(node);
        }
        if code.starts_with(&format!("{}.", node.code)) {
            return find_node_mut(&mut node.children, code);
        }
    }
    None
}

/// The children list a node with `code` belongs in (the top level for a domain).
fn siblings_mut<'a>(nodes: &'a mut Vec<NodeDoc>, code: &str) -> Option<&'a mut Vec<NodeDoc>> {
    match code.rsplit_once('.') {
        None => Some(nodes),
        Some((parent, _)) => find_node_mut(nodes, parent).map(|p| &mut p.children),
    }
}

async fn store_new_set(
    state: &AppState,
    user: &CurrentUser,
    doc: &IndexSetDoc,
    cloned_from: Option<i64>,
) -> Result<StoredIndexSet, WebError> {
    let content = content_of(doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let stored = tx.create_index_set(&content, cloned_from).await?;
    tx.commit().await?;
    Ok(stored)
}

// ----- list, create, import -----

#[derive(Template)]
#[template(path = "index_sets_list.html")]
struct ListPage {
    p: Page,
    sets: Vec<StoredIndexSet>,
    can_manage: bool,
    error: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    super::render(&ListPage {
        p: Page::for_user(&state, &user, "sets.title").with_notice(q.ok.as_deref()),
        sets: state.store.list_index_sets().await?,
        can_manage: user.can(Action::ManageIndexSets),
        error: None,
    })
}

async fn list_with_error(
    state: &AppState,
    user: &CurrentUser,
    message: String,
) -> Result<Response, WebError> {
    super::render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &ListPage {
            p: Page::for_user(state, user, "sets.title"),
            sets: state.store.list_index_sets().await?,
            can_manage: true,
            error: Some(message),
        },
    )
}

/// Imports a YAML or Excel file as a new draft; the validation report is on its page.
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let mut bytes: Option<Vec<u8>> = None;
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) if field.name() == Some("file") => match field.bytes().await {
                Ok(b) => bytes = Some(b.to_vec()),
                Err(e) => {
                    return list_with_error(
                        &state,
                        &user,
                        format!(
                            "{} ({})",
                            user.ctx.lang.t("import.upload_failed"),
                            e.body_text()
                        ),
                    )
                    .await;
                }
            },
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) => {
                return list_with_error(
                    &state,
                    &user,
                    format!(
                        "{} ({})",
                        user.ctx.lang.t("import.upload_failed"),
                        e.body_text()
                    ),
                )
                .await;
            }
        }
    }
    let Some(bytes) = bytes.filter(|b| !b.is_empty()) else {
        return list_with_error(&state, &user, user.ctx.lang.t("sets.no_file").into()).await;
    };
    let doc = match parindex_formats::parse_index_set_file(&bytes) {
        Ok(doc) => doc,
        Err(e) => return list_with_error(&state, &user, e.to_string()).await,
    };
    match store_new_set(&state, &user, &doc, None).await {
        Ok(stored) => {
            Ok(Redirect::to(&format!("/index-sets/{}?ok=set_imported", stored.id)).into_response())
        }
        Err(WebError::BadRequest(m)) => list_with_error(&state, &user, m).await,
        Err(e) => Err(e),
    }
}

/// Loads the shipped illustrative sets as drafts (those whose code is not there yet).
pub async fn load_shipped(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let mut created = 0;
    for (name, yaml) in parindex_app::shipped::SHIPPED_INDEX_SETS {
        let doc = parindex_formats::parse_index_set_file(yaml.as_bytes())
            .map_err(|e| WebError::Internal(format!("shipped set {name}: {e}")))?;
        if state
            .store
            .find_index_set_by_code(&doc.code)
            .await?
            .is_none()
        {
            store_new_set(&state, &user, &doc, None).await?;
            created += 1;
        }
    }
    if created == 0 {
        return list_with_error(
            &state,
            &user,
            user.ctx.lang.t("sets.shipped_already").into(),
        )
        .await;
    }
    Ok(Redirect::to("/index-sets?ok=set_imported").into_response())
}

#[derive(Deserialize)]
pub struct NewSetForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    unit_group: String,
}

/// Creates an empty draft to be filled node by node.
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<NewSetForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let code = form.code.trim().to_uppercase();
    let title = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    let year: Option<i32> = form
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    let groups = known_groups(&state).await?;
    let problem = if !is_set_code(&code) {
        Some(user.ctx.lang.t("sets.bad_code"))
    } else if title.chars().count() < 2 {
        Some(user.ctx.lang.t("sets.bad_title"))
    } else if year.is_none() {
        Some(user.ctx.lang.t("sets.bad_year"))
    } else if !groups.contains(&form.unit_group) {
        Some(user.ctx.lang.t("sets.bad_group"))
    } else {
        None
    };
    if let Some(message) = problem {
        return list_with_error(&state, &user, message.into()).await;
    }
    let doc = IndexSetDoc {
        format: parindex_domain::index_set::FORMAT.into(),
        code,
        title,
        title_en: None,
        year: year.unwrap_or(2026),
        unit_group: form.unit_group.clone(),
        illustrative: false,
        source_document: None,
        scale: Points::from_int(100),
        appraised_max: Points::from_int(75),
        survey_max: Points::from_int(25),
        bonus_cap: Points::ZERO,
        penalty_cap: Points::ZERO,
        nodes: Vec::new(),
        adjustments: Vec::new(),
    };
    match store_new_set(&state, &user, &doc, None).await {
        Ok(stored) => {
            Ok(Redirect::to(&format!("/index-sets/{}?ok=created", stored.id)).into_response())
        }
        Err(WebError::BadRequest(m)) => list_with_error(&state, &user, m).await,
        Err(e) => Err(e),
    }
}

// ----- show -----

/// One row of the tree view.
struct TreeRow {
    code: String,
    title: String,
    level: usize,
    max: String,
    is_leaf: bool,
    kind: String,
    rule: String,
    source: String,
    method: String,
    evidence: String,
    applies_to: String,
    not_applicable_allowed: bool,
}

/// A domain and the rows under it (each domain is a collapsible block).
struct DomainBlock {
    head: TreeRow,
    rows: Vec<TreeRow>,
}

#[derive(Template)]
#[template(path = "index_set_show.html")]
struct ShowPage {
    p: Page,
    set: StoredIndexSet,
    doc: IndexSetDoc,
    summary: Option<String>,
    level_counts: Vec<(String, usize)>,
    kinds: String,
    problems: Vec<String>,
    /// Valid, but where a unit can be hurt (an unguarded division): shown before publication.
    warnings: Vec<String>,
    domains: Vec<DomainBlock>,
    adjustments: Vec<(String, String, String, String, String)>,
    can_manage: bool,
    is_draft: bool,
    other_sets: Vec<StoredIndexSet>,
    mapping_count: usize,
    mapping_text: String,
    mapping_from: Option<i64>,
    error: Option<String>,
}

fn rows_of(doc: &IndexSetDoc) -> Vec<DomainBlock> {
    fn row(node: &NodeDoc, level: usize) -> TreeRow {
        let (kind, rule, source) = match &node.rule {
            Some(rule) => {
                let source = match rule.source() {
                    parindex_domain::rules::LeafSource::SelfAssessed => "Tự đánh giá".to_owned(),
                    parindex_domain::rules::LeafSource::Survey => "Điều tra XHH".to_owned(),
                    parindex_domain::rules::LeafSource::External { provider } => {
                        format!("Bên ngoài: {provider}")
                    }
                };
                (
                    rule.kind().label_vi().to_owned(),
                    rule.describe_vi(),
                    source,
                )
            }
            None => (String::new(), String::new(), String::new()),
        };
        TreeRow {
            code: node.code.clone(),
            title: node.title.clone(),
            level,
            max: node.max.exact_vi(),
            is_leaf: node.children.is_empty(),
            kind,
            rule,
            source,
            method: node.method.clone().unwrap_or_default(),
            evidence: node.evidence.clone().unwrap_or_default(),
            applies_to: node.applies_to.join(", "),
            not_applicable_allowed: node.not_applicable_allowed,
        }
    }
    doc.nodes
        .iter()
        .map(|domain| {
            let mut rows = Vec::new();
            // Depth-first, in document order, without recursion.
            let mut stack: Vec<(&NodeDoc, usize)> =
                domain.children.iter().rev().map(|c| (c, 2)).collect();
            while let Some((node, level)) = stack.pop() {
                rows.push(row(node, level));
                stack.extend(node.children.iter().rev().map(|c| (c, level + 1)));
            }
            DomainBlock {
                head: row(domain, 1),
                rows,
            }
        })
        .collect()
}

async fn show_page(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    ok: Option<&str>,
    error: Option<String>,
) -> Result<ShowPage, WebError> {
    let set = state.store.get_index_set(id).await?;
    let doc = load_doc(&set)?;
    let mut warnings = Vec::new();
    let (summary, level_counts, kinds, problems) = match validate(state, &doc).await? {
        Ok(valid) => {
            warnings = valid.warnings().iter().map(|w| w.to_string()).collect();
            let s = valid.summary();
            let counts = s
                .counts_per_level
                .iter()
                .enumerate()
                .map(|(i, n)| (level_name_vi(i + 1), *n))
                .collect();
            (Some(s.to_string()), counts, s.kinds_vi(), Vec::new())
        }
        Err(problems) => (None, Vec::new(), String::new(), problems),
    };
    let adjustments = doc
        .adjustments
        .iter()
        .map(|a| {
            (
                a.code.clone(),
                a.kind.label_vi().to_owned(),
                a.title.clone(),
                a.max.exact_vi(),
                a.method.clone().unwrap_or_default(),
            )
        })
        .collect();
    let mappings = state.store.code_mappings(id).await?;
    let mut p = Page::for_user(state, user, "sets.show_title").with_notice(ok);
    p.title = format!("{} — {}", set.code, set.title);
    Ok(ShowPage {
        p,
        domains: rows_of(&doc),
        adjustments,
        summary,
        level_counts,
        kinds,
        problems,
        warnings,
        can_manage: user.can(Action::ManageIndexSets),
        is_draft: set.status == SetStatus::Draft,
        other_sets: state
            .store
            .list_index_sets()
            .await?
            .into_iter()
            .filter(|s| s.id != id)
            .collect(),
        mapping_count: mappings.len(),
        mapping_text: mapping_lines(&mappings),
        mapping_from: mappings
            .first()
            .map(|(from, _, _)| *from)
            .or(set.cloned_from),
        set,
        doc,
        error,
    })
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    super::render(&show_page(&state, &user, id, q.ok.as_deref(), None).await?)
}

async fn show_with_error(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    status: StatusCode,
    message: String,
) -> Result<Response, WebError> {
    super::render_status(
        status,
        &show_page(state, user, id, None, Some(message)).await?,
    )
}

// ----- lifecycle -----

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
}

/// Publishes a draft, but only a valid one.
pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    let doc = load_doc(&set)?;
    if let Err(problems) = validate(&state, &doc).await? {
        let message = format!(
            "{} {}",
            user.ctx.lang.t("sets.invalid_cannot_publish"),
            problems.len()
        );
        return show_with_error(&state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, message).await;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    match tx.publish_index_set(id, form.version).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(Redirect::to(&format!("/index-sets/{id}?ok=published")).into_response())
        }
        Err(e) => {
            let e = WebError::from(e);
            show_with_error(&state, &user, id, e.status(), e.message(user.ctx.lang)).await
        }
    }
}

#[derive(Deserialize)]
pub struct CloneForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    year: String,
}

/// Clones a set (typically last year's) into a new draft with a new code and year.
pub async fn clone(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<CloneForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let source = state.store.get_index_set(id).await?;
    let mut doc = load_doc(&source)?;
    let code = form.code.trim().to_uppercase();
    let year: Option<i32> = form
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    if !is_set_code(&code) {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            user.ctx.lang.t("sets.bad_code").into(),
        )
        .await;
    }
    let Some(year) = year else {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            user.ctx.lang.t("sets.bad_year").into(),
        )
        .await;
    };
    doc.code = code;
    doc.year = year;
    match store_new_set(&state, &user, &doc, Some(id)).await {
        Ok(stored) => {
            Ok(Redirect::to(&format!("/index-sets/{}?ok=created", stored.id)).into_response())
        }
        Err(WebError::BadRequest(m)) => {
            show_with_error(&state, &user, id, StatusCode::UNPROCESSABLE_ENTITY, m).await
        }
        Err(e) => Err(e),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx.delete_draft_index_set(id, form.version).await {
        let e = WebError::from(e);
        return show_with_error(&state, &user, id, e.status(), e.message(user.ctx.lang)).await;
    }
    tx.commit().await?;
    Ok(Redirect::to("/index-sets?ok=deleted").into_response())
}

/// Downloads the set as YAML (canonical) or Excel (for the secretariat to fill by hand).
pub async fn export(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, format)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    let doc = load_doc(&set)?;
    let file_stem = set.code.to_lowercase();
    let (body, content_type, extension) = match format.as_str() {
        "yaml" => (
            parindex_formats::write_index_set_yaml(&doc)
                .map_err(|e| WebError::Internal(e.to_string()))?
                .into_bytes(),
            "application/yaml; charset=utf-8",
            "yaml",
        ),
        "xlsx" => (
            parindex_formats::write_index_set_xlsx(&doc)
                .map_err(|e| WebError::Internal(e.to_string()))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
        _ => return Err(WebError::NotFound),
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_stem}.{extension}\""),
            ),
        ],
        body,
    )
        .into_response())
}

// ----- node editing -----

#[derive(Template)]
#[template(path = "index_set_node.html")]
struct NodePage {
    p: Page,
    set: StoredIndexSet,
    form: NodeForm,
    is_leaf: bool,
    error: Option<String>,
}

/// A node as the edit form shows it; the rule is its text form (`kind: …` plus parameters).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    evidence: String,
    #[serde(default)]
    applies_to: String,
    #[serde(default)]
    not_applicable_allowed: Option<String>,
    #[serde(default)]
    sum_exempt: Option<String>,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    version: String,
}

fn draft_or_refuse(set: &StoredIndexSet, lang: crate::i18n::Lang) -> Result<(), WebError> {
    if set.status != SetStatus::Draft {
        return Err(WebError::BadRequest(
            lang.t("sets.published_immutable").into(),
        ));
    }
    Ok(())
}

pub async fn node_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let mut doc = load_doc(&set)?;
    let node = find_node_mut(&mut doc.nodes, &code).ok_or(WebError::NotFound)?;
    let form = NodeForm {
        code: node.code.clone(),
        title: node.title.clone(),
        title_en: node.title_en.clone().unwrap_or_default(),
        max: node.max.exact_vi(),
        method: node.method.clone().unwrap_or_default(),
        evidence: node.evidence.clone().unwrap_or_default(),
        applies_to: node.applies_to.join(", "),
        not_applicable_allowed: node.not_applicable_allowed.then(|| "1".into()),
        sum_exempt: node.sum_exempt.then(|| "1".into()),
        rule: node
            .rule
            .as_ref()
            .map(parindex_formats::rule_text)
            .unwrap_or_default(),
        version: set.version.to_string(),
    };
    let is_leaf = node.children.is_empty();
    super::render(&NodePage {
        p: Page::for_user(&state, &user, "sets.node_title"),
        set,
        form,
        is_leaf,
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
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let mut doc = load_doc(&set)?;
    let lang = user.ctx.lang;
    let refuse = |message: String, is_leaf: bool| {
        super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NodePage {
                p: Page::for_user(&state, &user, "sets.node_title"),
                set: set.clone(),
                form: form.clone(),
                is_leaf,
                error: Some(message),
            },
        )
    };
    let node = find_node_mut(&mut doc.nodes, &code).ok_or(WebError::NotFound)?;
    let is_leaf = node.children.is_empty();
    let Some(max) =
        Points::parse(&form.max).filter(|p| !p.is_negative() && p.decimal_places() <= 3)
    else {
        return refuse(lang.t("sets.bad_max").into(), is_leaf);
    };
    let title = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.chars().count() < 2 {
        return refuse(lang.t("sets.bad_title").into(), is_leaf);
    }
    let rule: Option<RuleSpec> = if is_leaf {
        match parindex_formats::parse_rule_text(&form.rule) {
            Ok(rule) => Some(rule),
            Err(e) => return refuse(e.to_string(), is_leaf),
        }
    } else {
        None
    };
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    node.title = title;
    node.title_en = non_empty(&form.title_en);
    node.max = max;
    node.method = non_empty(&form.method);
    node.evidence = non_empty(&form.evidence);
    node.applies_to = form
        .applies_to
        .split(',')
        .map(|g| g.trim().to_uppercase())
        .filter(|g| !g.is_empty())
        .collect();
    node.not_applicable_allowed = form.not_applicable_allowed.is_some();
    node.sum_exempt = form.sum_exempt.is_some();
    node.rule = rule;
    let Ok(version) = form.version.parse::<i64>() else {
        return Err(WebError::BadRequest(lang.t("sets.stale").into()));
    };
    save_doc(&state, &user, id, version, &doc).await?;
    Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved#n-{code}")).into_response())
}

async fn save_doc(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    version: i64,
    doc: &IndexSetDoc,
) -> Result<(), WebError> {
    let content = content_of(doc)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    match tx.save_index_set(id, version, &content).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(())
        }
        Err(parindex_store::StoreError::Stale) => {
            Err(WebError::Conflict(user.ctx.lang.t("sets.stale").into()))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct AddNodeForm {
    /// Empty for a new domain.
    #[serde(default)]
    parent: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    max: String,
    version: i64,
}

/// Adds a node at the end of its parent's children (or a new domain), numbered next.
pub async fn node_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<AddNodeForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let lang = user.ctx.lang;
    let mut doc = load_doc(&set)?;
    let title = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(max) =
        Points::parse(&form.max).filter(|p| !p.is_negative() && p.decimal_places() <= 3)
    else {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("sets.bad_max").into(),
        )
        .await;
    };
    if title.chars().count() < 2 {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("sets.bad_title").into(),
        )
        .await;
    }
    let parent = form.parent.trim().to_owned();
    let siblings = if parent.is_empty() {
        &mut doc.nodes
    } else {
        match find_node_mut(&mut doc.nodes, &parent) {
            Some(node) => {
                // A leaf that gets children stops being scored itself.
                node.rule = None;
                &mut node.children
            }
            None => return Err(WebError::NotFound),
        }
    };
    let next = siblings
        .iter()
        .filter_map(|n| {
            n.code
                .rsplit('.')
                .next()
                .and_then(|last| last.parse::<u32>().ok())
        })
        .max()
        .unwrap_or(0)
        + 1;
    let code = if parent.is_empty() {
        next.to_string()
    } else {
        format!("{parent}.{next}")
    };
    let mut node = NodeDoc::new(code.clone(), title, max);
    node.rule = Some(RuleSpec::Binary);
    siblings.push(node);
    save_doc(&state, &user, id, form.version, &doc).await?;
    Ok(Redirect::to(&format!("/index-sets/{id}/nodes/{code}")).into_response())
}

pub async fn node_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let mut doc = load_doc(&set)?;
    let siblings = siblings_mut(&mut doc.nodes, &code).ok_or(WebError::NotFound)?;
    let before = siblings.len();
    siblings.retain(|n| n.code != code);
    if siblings.len() == before {
        return Err(WebError::NotFound);
    }
    save_doc(&state, &user, id, form.version, &doc).await?;
    Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved")).into_response())
}

// ----- diff and code mapping -----

#[derive(Template)]
#[template(path = "index_set_diff.html")]
struct DiffPage {
    p: Page,
    old: StoredIndexSet,
    new: StoredIndexSet,
    diff: SetDiff,
    mapped: usize,
}

#[derive(Deserialize)]
pub struct DiffQuery {
    old: i64,
    new: i64,
}

/// Lists added, removed and changed nodes between two sets, pairing codes through the new
/// set's mapping from the old one when there is one.
pub async fn diff(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<DiffQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    let old = state.store.get_index_set(q.old).await?;
    let new = state.store.get_index_set(q.new).await?;
    let (old_doc, new_doc) = (load_doc(&old)?, load_doc(&new)?);
    let invalid = |which: &StoredIndexSet| {
        WebError::BadRequest(format!(
            "{} {}",
            user.ctx.lang.t("sets.diff_needs_valid"),
            which.code
        ))
    };
    let old_set = IndexSet::from_doc(&old_doc, None).map_err(|_| invalid(&old))?;
    let new_set = IndexSet::from_doc(&new_doc, None).map_err(|_| invalid(&new))?;
    let pairs: Vec<(String, String)> = state
        .store
        .code_mappings(new.id)
        .await?
        .into_iter()
        .filter(|(from, _, _)| *from == old.id)
        .map(|(_, a, b)| (a, b))
        .collect();
    let mapping = CodeMapping::new(
        pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
        &old_set,
        &new_set,
    )
    .map_err(|e| WebError::BadRequest(e.to_string()))?;
    let diff = diff_with(&old_set, &new_set, &mapping);
    super::render(&DiffPage {
        p: Page::for_user(&state, &user, "sets.diff_title"),
        mapped: pairs.len(),
        old,
        new,
        diff,
    })
}

#[derive(Deserialize)]
pub struct MappingForm {
    from_set: i64,
    #[serde(default)]
    pairs: String,
}

/// Records the old → new code pairs of a draft, one "old → new" (or "old new") per line.
pub async fn save_mapping(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<MappingForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let lang = user.ctx.lang;
    let target = state.store.get_index_set(id).await?;
    let source = state.store.get_index_set(form.from_set).await?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (n, line) in form.pairs.lines().enumerate() {
        let cleaned = line.replace("→", " ").replace("->", " ").replace(',', " ");
        let parts: Vec<&str> = cleaned.split_whitespace().collect();
        match parts.as_slice() {
            [] => {}
            [a, b] => pairs.push(((*a).to_owned(), (*b).to_owned())),
            _ => {
                let message = format!(
                    "{} {}: «{}»",
                    lang.t("sets.mapping_bad_line"),
                    n + 1,
                    line.trim()
                );
                return show_with_error(
                    &state,
                    &user,
                    id,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    message,
                )
                .await;
            }
        }
    }
    // Both ends must exist: check against the two sets as they are.
    let old_set = IndexSet::from_doc(&load_doc(&source)?, None);
    let new_set = IndexSet::from_doc(&load_doc(&target)?, None);
    if let (Ok(old_set), Ok(new_set)) = (&old_set, &new_set) {
        if let Err(e) = CodeMapping::new(
            pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())),
            old_set,
            new_set,
        ) {
            return show_with_error(
                &state,
                &user,
                id,
                StatusCode::UNPROCESSABLE_ENTITY,
                e.to_string(),
            )
            .await;
        }
    } else {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.t("sets.diff_needs_valid").into(),
        )
        .await;
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx.set_code_mapping(id, source.id, &pairs).await {
        let e = WebError::from(e);
        return show_with_error(&state, &user, id, e.status(), e.message(lang)).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/index-sets/diff?old={}&new={id}", source.id)).into_response())
}

/// Renders a document's mapping for the page (old → new per line).
pub fn mapping_lines(pairs: &[(i64, String, String)]) -> String {
    pairs
        .iter()
        .map(|(_, a, b)| format!("{a} → {b}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Formats a stored instant for templates.
pub fn when(ms: &Option<i64>) -> String {
    ms.map(datetime_vi).unwrap_or_default()
}

#[derive(Template)]
#[template(path = "index_set_format.html")]
struct FormatPage {
    p: Page,
    text: &'static str,
}

/// The documented file format (YAML and the Excel column layout), for secretariats filling
/// a workbook by hand.
pub async fn format_doc(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ViewIndexSets)?;
    super::render(&FormatPage {
        p: Page::for_user(&state, &user, "sets.format_link"),
        text: include_str!("../../../../docs/index-set-format.md"),
    })
}

// ----- the set's own fields and its bonus / penalty items -----

#[derive(Template)]
#[template(path = "index_set_meta.html")]
struct MetaPage {
    p: Page,
    set: StoredIndexSet,
    form: MetaForm,
    error: Option<String>,
}

/// The document fields of a set, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct MetaForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    title_en: String,
    #[serde(default)]
    year: String,
    #[serde(default)]
    unit_group: String,
    #[serde(default)]
    illustrative: Option<String>,
    #[serde(default)]
    source_document: String,
    #[serde(default)]
    scale: String,
    #[serde(default)]
    appraised_max: String,
    #[serde(default)]
    survey_max: String,
    #[serde(default)]
    bonus_cap: String,
    #[serde(default)]
    penalty_cap: String,
    #[serde(default)]
    version: String,
}

pub async fn meta_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let doc = load_doc(&set)?;
    let form = MetaForm {
        code: doc.code.clone(),
        title: doc.title.clone(),
        title_en: doc.title_en.clone().unwrap_or_default(),
        year: doc.year.to_string(),
        unit_group: doc.unit_group.clone(),
        illustrative: doc.illustrative.then(|| "1".into()),
        source_document: doc.source_document.clone().unwrap_or_default(),
        scale: doc.scale.exact_vi(),
        appraised_max: doc.appraised_max.exact_vi(),
        survey_max: doc.survey_max.exact_vi(),
        bonus_cap: doc.bonus_cap.exact_vi(),
        penalty_cap: doc.penalty_cap.exact_vi(),
        version: set.version.to_string(),
    };
    super::render(&MetaPage {
        p: Page::for_user(&state, &user, "sets.meta_title"),
        set,
        form,
        error: None,
    })
}

pub async fn meta_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<MetaForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let lang = user.ctx.lang;
    let mut doc = load_doc(&set)?;
    let points = |s: &str| Points::parse(s).filter(|p| !p.is_negative() && p.decimal_places() <= 3);
    let code = form.code.trim().to_uppercase();
    let title = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    let year: Option<i32> = form
        .year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y));
    let groups = known_groups(&state).await?;
    let unit_group = form.unit_group.trim().to_uppercase();
    let parsed = (
        points(&form.scale),
        points(&form.appraised_max),
        points(&form.survey_max),
        points(&form.bonus_cap),
        points(&form.penalty_cap),
    );
    let problem = if !is_set_code(&code) {
        Some(lang.t("sets.bad_code"))
    } else if title.chars().count() < 2 {
        Some(lang.t("sets.bad_title"))
    } else if year.is_none() {
        Some(lang.t("sets.bad_year"))
    } else if !groups.contains(&unit_group) {
        Some(lang.t("sets.bad_group"))
    } else if !matches!(parsed, (Some(_), Some(_), Some(_), Some(_), Some(_))) {
        Some(lang.t("sets.bad_max"))
    } else {
        None
    };
    if let Some(message) = problem {
        return super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &MetaPage {
                p: Page::for_user(&state, &user, "sets.meta_title"),
                set,
                form,
                error: Some(message.into()),
            },
        );
    }
    let non_empty = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    doc.code = code;
    doc.title = title;
    doc.title_en = non_empty(&form.title_en);
    doc.year = year.unwrap_or(doc.year);
    doc.unit_group = unit_group;
    doc.illustrative = form.illustrative.is_some();
    doc.source_document = non_empty(&form.source_document);
    if let (Some(scale), Some(appraised), Some(survey), Some(bonus), Some(penalty)) = parsed {
        doc.scale = scale;
        doc.appraised_max = appraised;
        doc.survey_max = survey;
        doc.bonus_cap = bonus;
        doc.penalty_cap = penalty;
    }
    let version = form
        .version
        .parse::<i64>()
        .map_err(|_| WebError::BadRequest(lang.t("sets.stale").into()))?;
    match save_doc(&state, &user, id, version, &doc).await {
        Ok(()) => Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved")).into_response()),
        Err(WebError::BadRequest(m)) => super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &MetaPage {
                p: Page::for_user(&state, &user, "sets.meta_title"),
                set,
                form,
                error: Some(m),
            },
        ),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
pub struct AdjustmentForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    max: String,
    #[serde(default)]
    method: String,
    version: i64,
}

/// Adds a bonus or penalty item to a draft.
pub async fn adjustment_add(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<AdjustmentForm>,
) -> Result<Response, WebError> {
    use parindex_domain::index_set::{AdjustmentDoc, AdjustmentKind};
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let lang = user.ctx.lang;
    let mut doc = load_doc(&set)?;
    let code = form.code.trim().to_uppercase();
    let kind = match form.kind.as_str() {
        "bonus" => Some(AdjustmentKind::Bonus),
        "penalty" => Some(AdjustmentKind::Penalty),
        _ => None,
    };
    let max = Points::parse(&form.max).filter(|p| !p.is_negative() && p.decimal_places() <= 3);
    let title = form.title.split_whitespace().collect::<Vec<_>>().join(" ");
    let problem = if code.is_empty()
        || code.len() > 20
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        Some(lang.t("sets.bad_code"))
    } else if doc.adjustments.iter().any(|a| a.code == code) {
        Some(lang.t("sets.adjustment_exists"))
    } else if kind.is_none() {
        Some(lang.t("sets.adjustment_kind"))
    } else if max.is_none() {
        Some(lang.t("sets.bad_max"))
    } else if title.chars().count() < 2 {
        Some(lang.t("sets.bad_title"))
    } else {
        None
    };
    if let Some(message) = problem {
        return show_with_error(
            &state,
            &user,
            id,
            StatusCode::UNPROCESSABLE_ENTITY,
            message.into(),
        )
        .await;
    }
    if let (Some(kind), Some(max)) = (kind, max) {
        doc.adjustments.push(AdjustmentDoc {
            code,
            kind,
            title,
            max,
            method: Some(form.method.trim().to_owned()).filter(|m| !m.is_empty()),
        });
    }
    save_doc(&state, &user, id, form.version, &doc).await?;
    Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved")).into_response())
}

pub async fn adjustment_delete(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, code)): Path<(i64, String)>,
    Form(form): Form<VersionForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageIndexSets)?;
    let set = state.store.get_index_set(id).await?;
    draft_or_refuse(&set, user.ctx.lang)?;
    let mut doc = load_doc(&set)?;
    let before = doc.adjustments.len();
    doc.adjustments.retain(|a| a.code != code);
    if doc.adjustments.len() == before {
        return Err(WebError::NotFound);
    }
    save_doc(&state, &user, id, form.version, &doc).await?;
    Ok(Redirect::to(&format!("/index-sets/{id}?ok=saved")).into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/index-sets", list)
        .post("/index-sets", create)
        .post("/index-sets/import", import)
        .post("/index-sets/shipped", load_shipped)
        .get("/index-sets/format", format_doc)
        .get("/index-sets/diff", diff)
        .get("/index-sets/{id}", show)
        .post("/index-sets/{id}/publish", publish)
        .post("/index-sets/{id}/clone", clone)
        .post("/index-sets/{id}/delete", delete)
        .post("/index-sets/{id}/mapping", save_mapping)
        .post("/index-sets/{id}/nodes", node_add)
        .get("/index-sets/{id}/meta", meta_form)
        .post("/index-sets/{id}/meta", meta_save)
        .post("/index-sets/{id}/adjustments", adjustment_add)
        .post(
            "/index-sets/{id}/adjustments/{code}/delete",
            adjustment_delete,
        )
        .get("/index-sets/{id}/nodes/{code}", node_form)
        .post("/index-sets/{id}/nodes/{code}", node_save)
        .post("/index-sets/{id}/nodes/{code}/delete", node_delete)
        .get("/index-sets/{id}/export/{format}", export)
}
