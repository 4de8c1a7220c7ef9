//! Browsing and filtering the audit log (secretariat and administrator).

use crate::routes::table::Routes;

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_domain::Action;
use parindex_domain::text::parse_date_vi;
use parindex_store::{AuditEntry, AuditFilter};
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::Query;
use crate::page::{Page, day_start_ms, url_encode};

const PAGE_SIZE: i64 = 100;

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    object_type: String,
    #[serde(default)]
    object_id: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    p: Page,
    q: AuditQuery,
    actions: Vec<String>,
    entries: Vec<AuditEntry>,
    error: Option<String>,
    next_page: Option<String>,
}

fn non_empty(s: &str) -> Option<String> {
    Some(s.trim().to_owned()).filter(|s| !s.is_empty())
}

/// What replaces an evidence file's content hash for a reader who may not open the file.
const HIDDEN_HASH: &str = "[ẩn: chỉ người được xem tài liệu kiểm chứng mới thấy mã băm]";

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every string in `value` that looks like a content hash.
fn collect_hashes(value: &serde_json::Value, into: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::String(s) if is_sha256_hex(s) => {
            into.insert(s.to_ascii_lowercase());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_hashes(v, into)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_hashes(v, into)),
        _ => {}
    }
}

/// Replaces the hashes in `hidden`; true when something was replaced.
fn redact(value: &mut serde_json::Value, hidden: &BTreeSet<String>) -> bool {
    match value {
        serde_json::Value::String(s) if hidden.contains(&s.to_ascii_lowercase()) => {
            *value = serde_json::Value::String(HIDDEN_HASH.to_owned());
            true
        }
        serde_json::Value::Array(items) => {
            // Every item, not only up to the first change.
            let mut changed = false;
            for v in items {
                changed |= redact(v, hidden);
            }
            changed
        }
        serde_json::Value::Object(map) => {
            let mut changed = false;
            for v in map.values_mut() {
                changed |= redact(v, hidden);
            }
            changed
        }
        _ => false,
    }
}

/// The audit log keeps every evidence file's content hash, and a hash is enough to reach the
/// content through other doors; a reader who may not open a unit's evidence (the system
/// administrator) sees the record without the hash. A hash is shown when the reader may open
/// the evidence of some unit that holds that content.
async fn hide_evidence_hashes(
    state: &AppState,
    user: &CurrentUser,
    entries: &mut [AuditEntry],
) -> Result<(), WebError> {
    let mut found = BTreeSet::new();
    let parsed: Vec<[Option<serde_json::Value>; 2]> = entries
        .iter()
        .map(|e| {
            [&e.before_json, &e.after_json].map(|json| {
                json.as_deref()
                    .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            })
        })
        .collect();
    for value in parsed.iter().flatten().flatten() {
        collect_hashes(value, &mut found);
    }
    let found: Vec<String> = found.into_iter().collect();
    let mut hidden = BTreeSet::new();
    let mut visible = BTreeSet::new();
    for (sha, unit_id) in state.store.evidence_units_of_hashes(&found).await? {
        let sha = sha.to_ascii_lowercase();
        if user.can(Action::ViewEvidence { unit_id }) {
            visible.insert(sha);
        } else {
            hidden.insert(sha);
        }
    }
    let hidden: BTreeSet<String> = hidden.difference(&visible).cloned().collect();
    if hidden.is_empty() {
        return Ok(());
    }
    for (entry, values) in entries.iter_mut().zip(parsed) {
        let [before, after] = values;
        for (slot, value) in [
            (&mut entry.before_json, before),
            (&mut entry.after_json, after),
        ] {
            if let Some(mut v) = value
                && redact(&mut v, &hidden)
            {
                *slot = Some(v.to_string());
            }
        }
    }
    Ok(())
}

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewAuditLog)?;
    let mut error = None;
    let mut date = |s: &str, end: bool| -> Option<i64> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        match parse_date_vi(s) {
            // "to" includes the whole day.
            Some(d) => Some(day_start_ms(d) + if end { 86_400_000 } else { 0 }),
            None => {
                error = Some(format!("Ngày không hợp lệ: «{s}» (dùng dạng dd/mm/yyyy)"));
                None
            }
        }
    };
    let filter = AuditFilter {
        action: non_empty(&q.action),
        object_type: non_empty(&q.object_type),
        object_id: non_empty(&q.object_id),
        username: non_empty(&q.user).map(|u| u.to_lowercase()),
        from_ms: date(&q.from, false),
        to_ms: date(&q.to, true),
        before_seq: q.before,
        limit: PAGE_SIZE,
    };
    let mut entries = state.store.audit_list(&filter).await?;
    hide_evidence_hashes(&state, &user, &mut entries).await?;
    let next_page = (entries.len() as i64 == PAGE_SIZE).then(|| {
        let last = entries.last().map(|e| e.seq).unwrap_or(0);
        format!(
            "/audit?action={}&object_type={}&object_id={}&user={}&from={}&to={}&before={last}",
            url_encode(&q.action),
            url_encode(&q.object_type),
            url_encode(&q.object_id),
            url_encode(&q.user),
            url_encode(&q.from),
            url_encode(&q.to)
        )
    });
    let status = if error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    super::render_status(
        status,
        &AuditPage {
            p: Page::for_user(&state, &user, "audit.title"),
            actions: state.store.audit_actions().await?,
            q,
            entries,
            error,
            next_page,
        },
    )
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new().get("/audit", list)
}
