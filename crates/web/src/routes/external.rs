//! External values (điểm do cơ quan khác cung cấp): the provider's matrix of units × external
//! leaves with the current values and where they came from, direct entry per cell, and the
//! file import (CSV or Excel) that is checked row by row, previewed, and saved only when
//! every row is good and the user confirms, in one transaction.

use crate::routes::table::Routes;

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use parindex_domain::appraisal::{Stage, check_external_write};
use parindex_domain::authz::provider_is_agency;
use parindex_domain::{Action, Points, Role};
use parindex_formats::external_import::{ExternalRow, MAX_EXTERNAL_BYTES, parse_external_import};
use parindex_store::appraisal::{ExternalValue, ExternalWrite};
use parindex_store::periods::{Period, PeriodUnit};
use serde::Deserialize;

use super::account::OkQuery;
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::page::{Page, datetime_vi};
use parindex_app::evaluation::{LoadedSet, external_provider, stage_of};

/// The provenance source of a value typed on the matrix page.
pub const DIRECT_SOURCE: &str = "Nhập trực tiếp";
/// Kind of the pending import row.
const IMPORT_KIND: &str = "external";
/// Longest note kept.
const MAX_NOTE_CHARS: usize = 2000;

/// The agency an external data provider's grant names: it writes only the leaves whose
/// provider (in the index set) is this agency.
struct Agency {
    code: String,
    name: String,
}

/// A period with what checking external values needs: its units, each group's set, and
/// (for a provider) the agency whose leaves the user may write.
struct Context {
    period: Period,
    stage: Stage,
    units: Vec<PeriodUnit>,
    sets: HashMap<String, Arc<LoadedSet>>,
    /// None: every external leaf (the secretariat, the administrator).
    agency: Option<Agency>,
}

/// The agency of a provider's grant; None for the roles that write every external leaf. A
/// provider grant that names no unit (granted before agencies were required) names an agency
/// that provides nothing, so it writes nothing.
async fn agency_of(state: &AppState, user: &CurrentUser) -> Result<Option<Agency>, WebError> {
    let actor = user.actor()?;
    if actor.role() != Role::ExternalProvider {
        return Ok(None);
    }
    Ok(Some(match actor.grant.unit_id {
        Some(unit_id) => {
            let unit = state.store.get_unit(unit_id).await?;
            Agency {
                code: unit.code,
                name: unit.name_vi,
            }
        }
        None => Agency {
            code: String::new(),
            name: String::new(),
        },
    }))
}

async fn load_context(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
) -> Result<Context, WebError> {
    let period = state.store.get_period(period_id).await?;
    let (stage, _) = stage_of(&period)?;
    let units = state.store.period_units(period_id).await?;
    let mut sets = HashMap::new();
    for (group, set_id) in state.store.period_sets(period_id).await? {
        sets.insert(group, state.published_set(set_id).await?);
    }
    Ok(Context {
        period,
        stage,
        units,
        sets,
        agency: agency_of(state, user).await?,
    })
}

impl Context {
    /// Why this user may not write a leaf that `provider` provides, if so.
    fn agency_refusal(&self, leaf_code: &str, provider: &str) -> Option<String> {
        let agency = self.agency.as_ref()?;
        if provider_is_agency(provider, &agency.code, &agency.name) {
            return None;
        }
        Some(if agency.name.is_empty() {
            format!(
                "Tài khoản cung cấp số liệu chưa gắn với cơ quan nào, nên không được nhập tiêu chí {leaf_code} (do {provider} cung cấp). Đề nghị quản trị hệ thống gắn vai trò với cơ quan của bạn."
            )
        } else {
            format!(
                "Tiêu chí {leaf_code} do {provider} cung cấp số liệu, không phải {}: bạn không được nhập giá trị này",
                agency.name
            )
        })
    }

    /// The writes are refused outside the stages that take external values.
    fn write_check(&self) -> Result<(), WebError> {
        check_external_write(self.stage).map_err(|r| WebError::ForbiddenBecause(r.to_string()))
    }

    /// The external leaves of a group's set that apply to the group: (code, title, max, provider).
    fn external_leaves(&self, group: &str) -> Vec<(String, String, Points, String)> {
        let Some(set) = self.sets.get(group) else {
            return Vec::new();
        };
        set.leaves()
            .filter(|leaf| {
                set.index_of(&leaf.code)
                    .is_some_and(|i| set.applies_to_group(i, group))
            })
            .filter_map(|leaf| {
                external_provider(leaf).map(|provider| {
                    (
                        leaf.code.clone(),
                        leaf.title.clone(),
                        leaf.max,
                        provider.to_owned(),
                    )
                })
            })
            .collect()
    }
}

/// One row checked against the period.
#[derive(Debug, Clone)]
struct CheckedRow {
    row: ExternalRow,
    unit_name: String,
    /// Set when the row is good.
    write: Option<ExternalWrite>,
    problems: Vec<String>,
}

/// Checks one value for a unit and leaf; the write when good, or the problems.
fn check_value(
    ctx: &Context,
    unit: &PeriodUnit,
    leaf_code: &str,
    points_text: &str,
    note: &str,
    source: &str,
) -> Result<ExternalWrite, Vec<String>> {
    let mut problems = Vec::new();
    let group = &unit.group_code;
    let node = match ctx.sets.get(group) {
        None => {
            problems.push(format!(
                "Nhóm {group} chưa được gán bộ chỉ số trong kỳ đánh giá này"
            ));
            None
        }
        Some(set) => match set.node(leaf_code) {
            None if leaf_code.is_empty() => {
                problems.push("Chưa nhập mã tiêu chí".to_owned());
                None
            }
            None => {
                problems.push(format!(
                    "Mã tiêu chí '{leaf_code}' không có trong bộ chỉ số của nhóm {group}"
                ));
                None
            }
            Some(node) => match external_provider(node) {
                None => {
                    problems.push(format!(
                        "Tiêu chí {leaf_code} không phải tiêu chí do cơ quan khác cung cấp điểm"
                    ));
                    None
                }
                Some(_)
                    if !set
                        .index_of(leaf_code)
                        .is_some_and(|i| set.applies_to_group(i, group)) =>
                {
                    problems.push(format!(
                        "Tiêu chí {leaf_code} không áp dụng cho nhóm {group}"
                    ));
                    None
                }
                Some(provider) => {
                    if let Some(refusal) = ctx.agency_refusal(leaf_code, provider) {
                        problems.push(refusal);
                    }
                    Some((node.max, provider.to_owned()))
                }
            },
        },
    };
    let points = if points_text.trim().is_empty() {
        problems.push("Chưa nhập điểm".to_owned());
        None
    } else {
        match Points::parse(points_text) {
            None => {
                problems.push(format!("Điểm '{points_text}' không phải là số"));
                None
            }
            Some(p) if p.is_negative() => {
                problems.push("Điểm không được âm".to_owned());
                None
            }
            Some(p) if p.decimal_places() > 3 => {
                problems.push("Điểm có quá 3 chữ số thập phân".to_owned());
                None
            }
            Some(p) => Some(p),
        }
    };
    if let (Some(points), Some((max, _))) = (points, &node)
        && points > *max
    {
        problems.push(format!(
            "Điểm {} vượt điểm tối đa {} của tiêu chí {leaf_code}",
            points.exact_vi(),
            max.exact_vi()
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(points), Some((_, provider))) = (points, node) else {
        return Err(vec!["Giá trị không hợp lệ".to_owned()]);
    };
    let Some(score_milli) = points.to_millipoints() else {
        return Err(vec!["Điểm có quá 3 chữ số thập phân".to_owned()]);
    };
    Ok(ExternalWrite {
        unit_id: unit.unit_id,
        leaf_code: leaf_code.to_owned(),
        score_milli,
        provider,
        source: source.to_owned(),
        note: note.chars().take(MAX_NOTE_CHARS).collect(),
    })
}

/// Checks every row of a file against the period (all problems of every row).
fn check_rows(ctx: &Context, rows: &[ExternalRow], source: &str) -> Vec<CheckedRow> {
    let units: HashMap<&str, &PeriodUnit> = ctx
        .units
        .iter()
        .map(|u| (u.unit_code.as_str(), u))
        .collect();
    let mut first_row: HashMap<(String, String), usize> = HashMap::new();
    rows.iter()
        .map(|row| {
            let mut problems = Vec::new();
            if let Some(first) = first_row.get(&(row.unit_code.clone(), row.leaf_code.clone())) {
                problems.push(format!(
                    "Trùng đơn vị {} và tiêu chí {} với dòng {first}",
                    row.unit_code, row.leaf_code
                ));
            } else {
                first_row.insert(
                    (row.unit_code.clone(), row.leaf_code.clone()),
                    row.row_number,
                );
            }
            let unit = units.get(row.unit_code.as_str());
            let mut write = None;
            match unit {
                None if row.unit_code.is_empty() => problems.push("Chưa nhập mã đơn vị".into()),
                None => problems.push(format!(
                    "Mã đơn vị '{}' không tồn tại hoặc không tham gia kỳ đánh giá này",
                    row.unit_code
                )),
                Some(unit) => match check_value(
                    ctx,
                    unit,
                    &row.leaf_code,
                    &row.points_text,
                    &row.note,
                    source,
                ) {
                    Ok(w) => write = Some(w),
                    Err(mut p) => problems.append(&mut p),
                },
            }
            CheckedRow {
                row: row.clone(),
                unit_name: unit.map(|u| u.unit_name.clone()).unwrap_or_default(),
                write: if problems.is_empty() { write } else { None },
                problems,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Pages

#[derive(Template)]
#[template(path = "external_periods.html")]
struct PeriodsPage {
    p: Page,
    periods: Vec<(i64, String, String)>,
}

/// The periods to enter external values for.
pub async fn periods(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    user.require(Action::EnterExternalValues)?;
    let periods = state
        .store
        .list_periods()
        .await?
        .into_iter()
        .map(|p| {
            let stage = stage_of(&p).map(|(s, _)| s.label_vi()).unwrap_or_default();
            (p.id, p.name, stage)
        })
        .collect();
    super::render(&PeriodsPage {
        p: Page::for_user(&state, &user, "external.title"),
        periods,
    })
}

/// One cell of the matrix.
struct CellView {
    unit_id: i64,
    code: String,
    value: Option<ValueView>,
    /// Whether this user may write the cell (a provider writes its agency's leaves only).
    editable: bool,
}

/// A stored value with its provenance, as shown.
pub struct ValueView {
    pub points: String,
    pub provider: String,
    pub source: String,
    pub note: String,
    pub by: String,
    pub at: String,
}

impl ValueView {
    pub fn of(v: &ExternalValue) -> ValueView {
        ValueView {
            points: Points::from_millipoints(v.score_milli).display_vi(),
            provider: v.provider.clone(),
            source: v.source.clone(),
            note: v.note.clone(),
            by: v.updated_by_name.clone().unwrap_or_default(),
            at: datetime_vi(v.updated_at),
        }
    }
}

struct UnitRowView {
    code: String,
    name: String,
    cells: Vec<CellView>,
}

struct GroupView {
    group: String,
    /// (code, title, max, provider)
    leaves: Vec<(String, String, String, String)>,
    units: Vec<UnitRowView>,
}

#[derive(Template)]
#[template(path = "external_matrix.html")]
struct MatrixPage {
    p: Page,
    period_id: i64,
    period_name: String,
    stage: String,
    refusal: Option<String>,
    groups: Vec<GroupView>,
}

/// The matrix of units × external leaves with values, provenance and direct-entry forms.
pub async fn matrix(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(period_id): Path<i64>,
    Query(q): Query<OkQuery>,
) -> Result<Response, WebError> {
    user.require(Action::EnterExternalValues)?;
    let ctx = load_context(&state, &user, period_id).await?;
    let values: HashMap<(i64, String), ExternalValue> = state
        .store
        .external_values(period_id, None)
        .await?
        .into_iter()
        .map(|v| ((v.unit_id, v.leaf_code.clone()), v))
        .collect();
    let mut group_codes: Vec<&String> = ctx.sets.keys().collect();
    group_codes.sort();
    let groups = group_codes
        .into_iter()
        .map(|group| {
            let leaves = ctx.external_leaves(group);
            let units = ctx
                .units
                .iter()
                .filter(|u| &u.group_code == group)
                .map(|u| UnitRowView {
                    code: u.unit_code.clone(),
                    name: u.unit_name.clone(),
                    cells: leaves
                        .iter()
                        .map(|(code, _, _, provider)| CellView {
                            unit_id: u.unit_id,
                            code: code.clone(),
                            value: values.get(&(u.unit_id, code.clone())).map(ValueView::of),
                            editable: ctx.agency_refusal(code, provider).is_none(),
                        })
                        .collect(),
                })
                .collect();
            GroupView {
                group: group.clone(),
                leaves: leaves
                    .into_iter()
                    .map(|(c, t, m, p)| (c, t, m.exact_vi(), p))
                    .collect(),
                units,
            }
        })
        .collect();
    let mut p = Page::for_user(&state, &user, "external.title").with_notice(q.ok.as_deref());
    p.title = format!("{} — {}", p.title, ctx.period.name);
    super::render(&MatrixPage {
        p,
        period_id,
        period_name: ctx.period.name.clone(),
        stage: ctx.stage.label_vi(),
        refusal: ctx.write_check().err().map(|e| e.to_string()),
        groups,
    })
}

#[derive(Debug, Deserialize)]
pub struct DirectForm {
    #[serde(default)]
    points: String,
    #[serde(default)]
    note: String,
}

/// Saves one value typed on the matrix page.
pub async fn save_direct(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<DirectForm>,
) -> Result<Response, WebError> {
    user.require(Action::EnterExternalValues)?;
    let ctx = load_context(&state, &user, period_id).await?;
    ctx.write_check()?;
    let unit = ctx
        .units
        .iter()
        .find(|u| u.unit_id == unit_id)
        .ok_or(WebError::NotFound)?;
    // Another agency's leaf is not this provider's to write: refused as such, not as bad input.
    if let Some(refusal) = ctx
        .sets
        .get(&unit.group_code)
        .and_then(|set| set.node(&code))
        .and_then(external_provider)
        .and_then(|provider| ctx.agency_refusal(&code, provider))
    {
        return Err(WebError::ForbiddenBecause(refusal));
    }
    let write = check_value(
        &ctx,
        unit,
        &code,
        &form.points,
        form.note.trim(),
        DIRECT_SOURCE,
    )
    .map_err(|problems| WebError::BadRequest(problems.join("; ")))?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.save_external_values(period_id, &[write]).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/external?ok=saved")).into_response())
}

struct PreviewRow {
    row_number: usize,
    unit_code: String,
    unit_name: String,
    leaf_code: String,
    points: String,
    note: String,
    problems: Vec<String>,
}

#[derive(Template)]
#[template(path = "external_preview.html")]
struct PreviewPage {
    p: Page,
    period_id: i64,
    period_name: String,
    file_name: String,
    encoding: String,
    error: Option<String>,
    rows: Vec<PreviewRow>,
    bad: usize,
    token: Option<i64>,
}

/// Receives a file, checks every row and shows the preview; nothing is saved here. A clean
/// file is kept as a pending import until the user confirms.
pub async fn import(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(period_id): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::EnterExternalValues)?;
    let ctx = load_context(&state, &user, period_id).await?;
    ctx.write_check()?;
    let page = |file_name: String, error: Option<String>| PreviewPage {
        p: Page::for_user(&state, &user, "external.preview_title"),
        period_id,
        period_name: ctx.period.name.clone(),
        file_name,
        encoding: String::new(),
        error,
        rows: Vec::new(),
        bad: 0,
        token: None,
    };
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let message = format!(
                    "{} ({})",
                    user.ctx.lang.t("external.upload_failed"),
                    e.body_text()
                );
                return super::render_status(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &page(String::new(), Some(message)),
                );
            }
        };
        if field.name() == Some("file") {
            let name: String = field
                .file_name()
                .unwrap_or("tep-tai-len")
                .chars()
                .filter(|c| !c.is_control())
                .take(200)
                .collect();
            // Read in chunks so that an oversized upload is refused at the limit, not after
            // the whole body (this route shares the evidence uploads' larger body limit).
            let mut field = field;
            let mut bytes = Vec::new();
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        if bytes.len() + chunk.len() > MAX_EXTERNAL_BYTES {
                            let message = parindex_formats::FormatError::TooLarge {
                                max_bytes: MAX_EXTERNAL_BYTES,
                            }
                            .to_string();
                            return super::render_status(
                                StatusCode::PAYLOAD_TOO_LARGE,
                                &page(name, Some(message)),
                            );
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        let message = format!(
                            "{} ({})",
                            user.ctx.lang.t("external.upload_failed"),
                            e.body_text()
                        );
                        return super::render_status(
                            StatusCode::UNPROCESSABLE_ENTITY,
                            &page(name, Some(message)),
                        );
                    }
                }
            }
            file = Some((name, bytes));
        }
    }
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(
                String::new(),
                Some(user.ctx.lang.t("external.no_file").into()),
            ),
        );
    };
    let parsed = match parse_external_import(&bytes) {
        Ok(p) => p,
        Err(e) => {
            return super::render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &page(file_name, Some(e.to_string())),
            );
        }
    };
    if parsed.rows.is_empty() {
        return super::render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(file_name, Some(user.ctx.lang.t("external.empty").into())),
        );
    }
    let checked = check_rows(&ctx, &parsed.rows, &file_name);
    let bad = checked.iter().filter(|c| !c.problems.is_empty()).count();
    let token = if bad == 0 {
        let payload =
            serde_json::to_string(&parsed.rows).map_err(|e| WebError::Internal(e.to_string()))?;
        Some(
            state
                .store
                .stash_import(user.user_id(), IMPORT_KIND, &file_name, &payload)
                .await?,
        )
    } else {
        None
    };
    let mut preview = page(file_name, None);
    preview.encoding = parsed
        .encoding
        .map(|e| e.label_vi().to_owned())
        .unwrap_or_else(|| "Excel (.xlsx)".into());
    preview.bad = bad;
    preview.token = token;
    preview.rows = checked
        .into_iter()
        .map(|c| PreviewRow {
            row_number: c.row.row_number,
            unit_code: c.row.unit_code,
            unit_name: c.unit_name,
            leaf_code: c.row.leaf_code,
            points: c
                .write
                .as_ref()
                .map(|w| Points::from_millipoints(w.score_milli).exact_vi())
                .unwrap_or(c.row.points_text),
            note: c.row.note,
            problems: c.problems,
        })
        .collect();
    let status = if bad == 0 {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    super::render_status(status, &preview)
}

/// Saves a checked import: every row in one transaction, or nothing.
pub async fn confirm(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, token)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::EnterExternalValues)?;
    let ctx = load_context(&state, &user, period_id).await?;
    ctx.write_check()?;
    let (file_name, payload) = state
        .store
        .take_import(token, user.user_id(), IMPORT_KIND)
        .await?;
    let rows: Vec<ExternalRow> =
        serde_json::from_str(&payload).map_err(|e| WebError::Internal(e.to_string()))?;
    // The period may have changed since the preview: check again.
    let checked = check_rows(&ctx, &rows, &file_name);
    if let Some(bad) = checked.iter().find(|c| !c.problems.is_empty()) {
        return Err(WebError::BadRequest(format!(
            "{} (dòng {}: {})",
            user.ctx.lang.t("external.changed_since"),
            bad.row.row_number,
            bad.problems.join("; ")
        )));
    }
    let writes: Vec<ExternalWrite> = checked.into_iter().filter_map(|c| c.write).collect();
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.save_external_values(period_id, &writes).await?;
    tx.commit().await?;
    state.store.drop_import(token).await?;
    Ok(Redirect::to(&format!("/periods/{period_id}/external?ok=imported")).into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/external", periods)
        .get("/periods/{id}/external", matrix)
        .post("/periods/{id}/external/import/{token}/confirm", confirm)
        .post("/periods/{id}/external/{unit_id}/{code}", save_direct)
        .upload("/periods/{id}/external/import", import)
}
