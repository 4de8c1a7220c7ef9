//! The unit registry pages: list and search, create, edit, deactivate, unit groups, and the
//! import from Excel or CSV with a row-by-row report before anything is saved.

use crate::routes::table::Routes;

use std::collections::HashSet;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::text::{format_date_iso, parse_date_vi};
use parindex_domain::unit::{ImportCandidate, ImportProblem, check_import_references, parse_name};
use parindex_domain::{Action, GroupCode, UnitCode, UnitDraft, UnitName};
use parindex_formats::{ImportLimits, parse_unit_import};
use parindex_store::units::{Unit, UnitFilter, UnitGroup};
use serde::{Deserialize, Serialize};

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::{Page, date_vi};

// ----- list -----

#[derive(Template)]
#[template(path = "units_list.html")]
struct ListPage {
    p: Page,
    units: Vec<Unit>,
    groups: Vec<UnitGroup>,
    q: String,
    group: Option<i64>,
    inactive: bool,
    can_manage: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    q: Option<String>,
    group: Option<String>,
    inactive: Option<String>,
    ok: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, WebError> {
    let actor = user.require(Action::ListUnits)?;
    let group = query.group.as_deref().and_then(|g| g.parse().ok());
    let inactive = query.inactive.is_some();
    let units = state
        .store
        .list_units(&UnitFilter {
            group_id: group,
            include_inactive: inactive,
            search: query.q.clone(),
            only_unit_id: actor.unit_restriction(),
        })
        .await?;
    super::render(&ListPage {
        p: Page::for_user(&state, &user, "units.title").with_notice(query.ok.as_deref()),
        units,
        groups: state.store.list_groups().await?,
        q: query.q.unwrap_or_default(),
        group,
        inactive,
        can_manage: user.can(Action::ManageUnits),
    })
}

// ----- show -----

#[derive(Template)]
#[template(path = "unit_show.html")]
struct ShowPage {
    p: Page,
    unit: Unit,
    parent: Option<Unit>,
    successor: Option<Unit>,
    can_manage: bool,
    can_audit: bool,
}

pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewUnit { unit_id: id })?;
    let unit = state.store.get_unit(id).await?;
    let (parent, successor) = related_units(&state, &unit).await?;
    let mut p = Page::for_user(&state, &user, "units.show_title").with_notice(q.ok.as_deref());
    p.title = format!("{} — {}", unit.code, unit.name_vi);
    super::render(&ShowPage {
        p,
        unit,
        parent,
        successor,
        can_manage: user.can(Action::ManageUnits),
        can_audit: user.can(Action::ViewAuditLog),
    })
}

/// The parent and successor a unit refers to.
async fn related_units(
    state: &AppState,
    unit: &Unit,
) -> Result<(Option<Unit>, Option<Unit>), WebError> {
    let parent = match unit.parent_id {
        Some(id) => Some(state.store.get_unit(id).await?),
        None => None,
    };
    let successor = match unit.successor_id {
        Some(id) => Some(state.store.get_unit(id).await?),
        None => None,
    };
    Ok((parent, successor))
}

// ----- create and edit -----

/// The unit form as typed; every field text, so a bad value can be shown back as typed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UnitForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_vi: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    group_id: String,
    #[serde(default)]
    parent_code: String,
    #[serde(default)]
    valid_from: String,
    #[serde(default)]
    valid_to: String,
    #[serde(default)]
    successor_code: String,
    #[serde(default)]
    version: String,
}

impl UnitForm {
    fn from_unit(unit: &Unit, parent: Option<&Unit>, successor: Option<&Unit>) -> UnitForm {
        UnitForm {
            code: unit.code.clone(),
            name_vi: unit.name_vi.clone(),
            name_en: unit.name_en.clone().unwrap_or_default(),
            group_id: unit.group_id.to_string(),
            parent_code: parent.map(|u| u.code.clone()).unwrap_or_default(),
            valid_from: date_vi(&unit.valid_from),
            valid_to: unit.valid_to.as_deref().map(date_vi).unwrap_or_default(),
            successor_code: successor.map(|u| u.code.clone()).unwrap_or_default(),
            version: unit.version.to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "unit_form.html")]
struct FormPage {
    p: Page,
    form: UnitForm,
    errors: Vec<(String, String)>,
    groups: Vec<UnitGroup>,
    all_codes: Vec<(String, String)>,
    /// None when creating.
    unit_id: Option<i64>,
}

impl FormPage {
    fn error_for(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, m)| m.as_str())
    }
    fn general_errors(&self) -> Vec<&str> {
        self.errors
            .iter()
            .filter(|(f, _)| f.is_empty())
            .map(|(_, m)| m.as_str())
            .collect()
    }
}

async fn form_page(
    state: &AppState,
    user: &CurrentUser,
    title_key: &str,
    form: UnitForm,
    errors: Vec<(String, String)>,
    unit_id: Option<i64>,
) -> Result<FormPage, WebError> {
    let all_codes = state
        .store
        .list_units(&UnitFilter {
            include_inactive: true,
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|u| (u.code, u.name_vi))
        .collect();
    Ok(FormPage {
        p: Page::for_user(state, user, title_key),
        form,
        errors,
        groups: state.store.list_groups().await?,
        all_codes,
        unit_id,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    let form = UnitForm {
        valid_from: parindex_domain::text::format_date_vi(time::OffsetDateTime::now_utc().date()),
        ..Default::default()
    };
    super::render(&form_page(&state, &user, "units.new_title", form, Vec::new(), None).await?)
}

pub async fn edit_form(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ViewUnit { unit_id: id })?;
    user.require(Action::ManageUnits)?;
    let unit = state.store.get_unit(id).await?;
    let (parent, successor) = related_units(&state, &unit).await?;
    let form = UnitForm::from_unit(&unit, parent.as_ref(), successor.as_ref());
    super::render(
        &form_page(
            &state,
            &user,
            "units.edit_title",
            form,
            Vec::new(),
            Some(id),
        )
        .await?,
    )
}

/// Parses the form into a draft, collecting every problem (field, message) at once.
async fn parse_form(
    state: &AppState,
    form: &UnitForm,
) -> Result<Result<UnitDraft, Vec<(String, String)>>, WebError> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut err = |field: &str, message: String| errors.push((field.to_owned(), message));
    let code = UnitCode::parse(&form.code)
        .map_err(|e| err("code", e.message))
        .ok();
    let name_vi = UnitName::parse(&form.name_vi)
        .map_err(|e| err("name_vi", e.message))
        .ok();
    let name_en = if form.name_en.trim().is_empty() {
        None
    } else {
        parse_name(&form.name_en, "name_en")
            .map_err(|e| err("name_en", e.message))
            .ok()
    };
    let group_id = form.group_id.parse::<i64>().ok();
    if group_id.is_none() {
        err("group_id", "Hãy chọn nhóm đơn vị".into());
    }
    let valid_from = parse_date_vi(&form.valid_from);
    if valid_from.is_none() {
        err(
            "valid_from",
            "Ngày không hợp lệ (dùng dạng dd/mm/yyyy)".into(),
        );
    }
    let valid_to = if form.valid_to.trim().is_empty() {
        None
    } else {
        let d = parse_date_vi(&form.valid_to);
        if d.is_none() {
            err(
                "valid_to",
                "Ngày không hợp lệ (dùng dạng dd/mm/yyyy)".into(),
            );
        }
        d
    };
    let mut resolve =
        async |field: &str, code: &str, what: &str| -> Result<Option<i64>, WebError> {
            let code = code.trim().to_uppercase();
            if code.is_empty() {
                return Ok(None);
            }
            match state.store.find_unit_by_code(&code).await? {
                Some(u) => Ok(Some(u.id)),
                None => {
                    errors.push((
                        field.to_owned(),
                        format!("Không tìm thấy {what} có mã «{code}»"),
                    ));
                    Ok(None)
                }
            }
        };
    let parent_id = resolve("parent_code", &form.parent_code, "đơn vị cha").await?;
    let successor_id = resolve("successor_code", &form.successor_code, "đơn vị kế thừa").await?;
    let (Some(code), Some(name_vi), Some(group_id), Some(valid_from), true) =
        (code, name_vi, group_id, valid_from, errors.is_empty())
    else {
        return Ok(Err(errors));
    };
    let draft = UnitDraft {
        code,
        name_vi,
        name_en,
        group_id,
        parent_id,
        valid_from,
        valid_to,
        successor_id,
    };
    if let Err(e) = draft.check() {
        return Ok(Err(vec![(e.field.to_owned(), e.message)]));
    }
    Ok(Ok(draft))
}

/// Re-shows the form with its problems: 422, nothing saved.
async fn refuse(
    state: &AppState,
    user: &CurrentUser,
    title_key: &str,
    form: UnitForm,
    errors: Vec<(String, String)>,
    unit_id: Option<i64>,
    status: StatusCode,
) -> Result<Response, WebError> {
    super::render_status(
        status,
        &form_page(state, user, title_key, form, errors, unit_id).await?,
    )
}

pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    Form(form): Form<UnitForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    let draft = match parse_form(&state, &form).await? {
        Ok(d) => d,
        Err(errors) => {
            return refuse(
                &state,
                &user,
                "units.new_title",
                form,
                errors,
                None,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let unit = match tx.create_unit(&draft).await {
        Ok(u) => u,
        Err(e) => return store_refusal(&state, &user, "units.new_title", form, None, e).await,
    };
    tx.commit().await?;
    Ok(Redirect::to(&format!("/units/{}?ok=created", unit.id)).into_response())
}

/// Shows a store refusal (duplicate code, bad reference, stale version) on the form.
async fn store_refusal(
    state: &AppState,
    user: &CurrentUser,
    title_key: &str,
    form: UnitForm,
    unit_id: Option<i64>,
    err: parindex_store::StoreError,
) -> Result<Response, WebError> {
    use parindex_store::StoreError;
    let (status, field, message) = match err {
        StoreError::Duplicate { field, message } => {
            (StatusCode::UNPROCESSABLE_ENTITY, field, message)
        }
        StoreError::Invalid(message) => (StatusCode::UNPROCESSABLE_ENTITY, "", message),
        StoreError::Stale => (
            StatusCode::CONFLICT,
            "",
            user.ctx.lang.t("units.stale").to_owned(),
        ),
        other => return Err(other.into()),
    };
    refuse(
        state,
        user,
        title_key,
        form,
        vec![(field.to_owned(), message)],
        unit_id,
        status,
    )
    .await
}

pub async fn update(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Form(form): Form<UnitForm>,
) -> Result<Response, WebError> {
    user.require(Action::ViewUnit { unit_id: id })?;
    user.require(Action::ManageUnits)?;
    state.store.get_unit(id).await?;
    let Ok(version) = form.version.parse::<i64>() else {
        return Err(WebError::BadRequest(
            "Thiếu phiên bản của biểu mẫu; hãy tải lại trang".into(),
        ));
    };
    let draft = match parse_form(&state, &form).await? {
        Ok(d) => d,
        Err(errors) => {
            return refuse(
                &state,
                &user,
                "units.edit_title",
                form,
                errors,
                Some(id),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
    };
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    if let Err(e) = tx.update_unit(id, version, &draft).await {
        return store_refusal(&state, &user, "units.edit_title", form, Some(id), e).await;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/units/{id}?ok=saved")).into_response())
}

#[derive(Deserialize)]
pub struct VersionForm {
    version: i64,
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

async fn set_active(
    state: AppState,
    user: CurrentUser,
    id: i64,
    version: i64,
    active: bool,
) -> Result<Response, WebError> {
    user.require(Action::ViewUnit { unit_id: id })?;
    user.require(Action::ManageUnits)?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.set_unit_active(id, version, active).await?;
    tx.commit().await?;
    let ok = if active { "reactivated" } else { "deactivated" };
    Ok(Redirect::to(&format!("/units/{id}?ok={ok}")).into_response())
}

// ----- groups -----

#[derive(Template)]
#[template(path = "unit_groups.html")]
struct GroupsPage {
    p: Page,
    groups: Vec<UnitGroup>,
    can_manage: bool,
    error: Option<String>,
    form: GroupForm,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    name_vi: String,
    #[serde(default)]
    name_en: String,
    #[serde(default)]
    sort_order: String,
}

pub async fn groups(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ListUnits)?;
    super::render(&GroupsPage {
        p: Page::for_user(&state, &user, "groups.title").with_notice(q.ok.as_deref()),
        groups: state.store.list_groups().await?,
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
    user.require(Action::ManageUnits)?;
    let parsed = GroupCode::parse(&form.code)
        .and_then(|code| Ok((code, parse_name(&form.name_vi, "name_vi")?)))
        .and_then(|(code, name)| {
            let name_en = if form.name_en.trim().is_empty() {
                None
            } else {
                Some(parse_name(&form.name_en, "name_en")?)
            };
            Ok((code, name, name_en))
        });
    let sort_order = form.sort_order.trim().parse::<i64>().unwrap_or(0);
    let result = match parsed {
        Ok((code, name, name_en)) => {
            let mut tx = state.store.begin_write(user.audit_actor()).await?;
            match tx
                .create_group(&code, &name, name_en.as_deref(), sort_order)
                .await
            {
                Ok(_) => {
                    tx.commit().await?;
                    Ok(())
                }
                Err(e) => Err(WebError::from(e).message(user.ctx.lang)),
            }
        }
        Err(e) => Err(e.message),
    };
    match result {
        Ok(()) => Ok(Redirect::to("/unit-groups?ok=group_created").into_response()),
        Err(message) => super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &GroupsPage {
                p: Page::for_user(&state, &user, "groups.title"),
                groups: state.store.list_groups().await?,
                can_manage: true,
                error: Some(message),
                form,
            },
        ),
    }
}

// ----- import -----

/// A row ready to be created, as kept between the report and the confirmation.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImportRow {
    line: usize,
    code: String,
    name_vi: String,
    name_en: Option<String>,
    group_code: String,
    parent_code: Option<String>,
    valid_from: String,
    valid_to: Option<String>,
    successor_code: Option<String>,
}

#[derive(Template)]
#[template(path = "units_import.html")]
struct ImportPage {
    p: Page,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "units_import_report.html")]
struct ReportPage {
    p: Page,
    file_name: String,
    encoding: String,
    rows: Vec<ImportRow>,
    problems: Vec<ImportProblem>,
    stash_id: Option<i64>,
}

pub async fn import_page(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    super::render(&ImportPage {
        p: Page::for_user(&state, &user, "import.title"),
        error: None,
    })
}

/// Receives the file, parses and checks every row, and shows the report. Nothing is saved
/// to the registry here; a clean file is kept (per user) until confirmed.
pub async fn import_upload(
    State(state): State<AppState>,
    user: CurrentUser,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    let refuse = |message: String| {
        super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ImportPage {
                p: Page::for_user(&state, &user, "import.title"),
                error: Some(message),
            },
        )
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return refuse(format!(
                    "{} ({})",
                    user.ctx.lang.t("import.upload_failed"),
                    e.body_text()
                ));
            }
        };
        if field.name() == Some("file") {
            let name = field
                .file_name()
                .unwrap_or("tep-tai-len")
                .chars()
                .take(200)
                .collect::<String>();
            match field.bytes().await {
                Ok(bytes) => file = Some((name, bytes.to_vec())),
                Err(e) => {
                    return refuse(format!(
                        "{} ({})",
                        user.ctx.lang.t("import.upload_failed"),
                        e.body_text()
                    ));
                }
            }
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return refuse(user.ctx.lang.t("import.no_file").into());
    };
    let parsed = match parse_unit_import(&bytes, &ImportLimits::default()) {
        Ok(p) => p,
        Err(e) => return refuse(e.to_string()),
    };
    let today = format_date_iso(time::OffsetDateTime::now_utc().date());
    let rows: Vec<ImportRow> = parsed
        .rows
        .iter()
        .map(|r| ImportRow {
            line: r.line,
            code: r.code.clone(),
            name_vi: r.name_vi.clone(),
            name_en: r.name_en.clone(),
            group_code: r.group_code.to_uppercase(),
            parent_code: r.parent_code.as_ref().map(|c| c.to_uppercase()),
            valid_from: r
                .valid_from
                .map(format_date_iso)
                .unwrap_or_else(|| today.clone()),
            valid_to: r.valid_to.map(format_date_iso),
            successor_code: r.successor_code.as_ref().map(|c| c.to_uppercase()),
        })
        .collect();
    let mut problems: Vec<ImportProblem> = parsed
        .problems
        .iter()
        .map(|p| ImportProblem {
            line: p.line,
            column: p.column.clone(),
            message: p.message.clone(),
        })
        .collect();
    problems.extend(check_rows(&state, &rows).await?);
    problems.sort_by_key(|p| p.line);
    if rows.is_empty() && problems.is_empty() {
        return refuse(user.ctx.lang.t("import.empty").into());
    }
    let stash_id = if problems.is_empty() {
        let payload =
            serde_json::to_string(&rows).map_err(|e| WebError::Internal(e.to_string()))?;
        Some(
            state
                .store
                .stash_import(user.user_id(), "units", &file_name, &payload)
                .await?,
        )
    } else {
        None
    };
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    super::render_status(
        status,
        &ReportPage {
            p: Page::for_user(&state, &user, "import.report_title"),
            file_name,
            encoding: parsed
                .encoding
                .map(|e| e.label_vi().to_owned())
                .unwrap_or_else(|| "Excel (.xlsx)".into()),
            rows,
            problems,
            stash_id,
        },
    )
}

/// Checks rows against the registry as it is now.
async fn check_rows(state: &AppState, rows: &[ImportRow]) -> Result<Vec<ImportProblem>, WebError> {
    let existing: HashSet<String> = state
        .store
        .list_units(&UnitFilter {
            include_inactive: true,
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|u| u.code)
        .collect();
    let groups: HashSet<String> = state
        .store
        .list_groups()
        .await?
        .into_iter()
        .map(|g| g.code)
        .collect();
    let candidates: Vec<ImportCandidate<'_>> = rows
        .iter()
        .map(|r| ImportCandidate {
            line: r.line,
            code: &r.code,
            group_code: &r.group_code,
            parent_code: r.parent_code.as_deref(),
            successor_code: r.successor_code.as_deref(),
        })
        .collect();
    Ok(check_import_references(&candidates, &existing, &groups))
}

/// Saves a checked import: every row in one transaction, or nothing.
pub async fn import_confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(stash_id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageUnits)?;
    let (_file_name, payload) = state
        .store
        .take_import(stash_id, user.user_id(), "units")
        .await?;
    let rows: Vec<ImportRow> =
        serde_json::from_str(&payload).map_err(|e| WebError::Internal(e.to_string()))?;
    // The registry may have changed since the report: check again.
    let problems = check_rows(&state, &rows).await?;
    if let Some(first) = problems.first() {
        return Err(WebError::BadRequest(format!(
            "{} {}: {}",
            user.ctx.lang.t("import.changed_since"),
            first.line,
            first.message
        )));
    }
    let groups = state.store.list_groups().await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let mut created: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for row in &rows {
        let find = async |code: &Option<String>,
                          created: &std::collections::HashMap<String, i64>|
               -> Result<Option<i64>, WebError> {
            match code {
                None => Ok(None),
                Some(c) => match created.get(c) {
                    Some(id) => Ok(Some(*id)),
                    None => Ok(state.store.find_unit_by_code(c).await?.map(|u| u.id)),
                },
            }
        };
        let invalid = |m: String| WebError::BadRequest(format!("Dòng {}: {m}", row.line));
        let draft = UnitDraft {
            code: UnitCode::parse(&row.code).map_err(|e| invalid(e.message))?,
            name_vi: UnitName::parse(&row.name_vi).map_err(|e| invalid(e.message))?,
            name_en: row.name_en.clone(),
            group_id: groups
                .iter()
                .find(|g| g.code == row.group_code)
                .map(|g| g.id)
                .ok_or_else(|| invalid("nhóm không tồn tại".into()))?,
            parent_id: find(&row.parent_code, &created).await?,
            valid_from: parse_date_vi(&row.valid_from)
                .ok_or_else(|| invalid("ngày không hợp lệ".into()))?,
            valid_to: row.valid_to.as_deref().and_then(parse_date_vi),
            successor_id: find(&row.successor_code, &created).await?,
        };
        draft.check().map_err(|e| invalid(e.message))?;
        let unit = tx.create_unit(&draft).await?;
        created.insert(unit.code.clone(), unit.id);
    }
    tx.commit().await?;
    state.store.drop_import(stash_id).await?;
    Ok(Redirect::to(&format!("/units?ok=imported&n={}", rows.len())).into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/units", list)
        .post("/units", create)
        .get("/units/new", new_form)
        .get("/units/import", import_page)
        .post("/units/import", import_upload)
        .post("/units/import/{stash_id}/confirm", import_confirm)
        .get("/units/{id}", show)
        .post("/units/{id}", update)
        .get("/units/{id}/edit", edit_form)
        .post("/units/{id}/deactivate", deactivate)
        .post("/units/{id}/reactivate", reactivate)
        .get("/unit-groups", groups)
        .post("/unit-groups", create_group)
}
