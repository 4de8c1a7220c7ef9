//! Browsing and filtering the audit log (secretariat and administrator).

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_domain::text::parse_date_vi;
use parindex_store::{AuditEntry, AuditFilter};
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::Query;
use crate::page::{Page, day_start_ms, url_encode};
use crate::views::acting::acting;

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
#[template(path = "audit/list.html")]
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

pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    Query(q): Query<AuditQuery>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
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
                error = Some(lang.format("audit.bad_date", &[("value", s.to_owned())]));
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
    let listing = state.audit_entries(&acting(&user)?, &filter).await?;
    let entries = listing.entries;
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
    crate::routes::render_status(
        status,
        &AuditPage {
            p: Page::for_user(&state, &user, "audit.title"),
            actions: listing.actions,
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
