//! The user's notifications (thông báo): the newest 100, unread ones highlighted, each linking
//! to what it is about; marking one or all read. Read state is view state, not audited.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::Path;
use crate::page::{Page, datetime_vi, safe_next};

/// How many notifications the page shows.
const SHOWN: i64 = 100;

struct Item {
    id: i64,
    title: String,
    body: String,
    link: String,
    at: String,
    unread: bool,
}

#[derive(Template)]
#[template(path = "notifications/list.html")]
struct NotificationsPage {
    p: Page,
    items: Vec<Item>,
    unread: usize,
}

pub async fn list(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let items: Vec<Item> = state
        .notifications_of(user.user_id(), SHOWN)
        .await?
        .into_iter()
        .map(|n| Item {
            id: n.id,
            title: n.title,
            body: n.body,
            // Links are written by the server; still, only local paths are followed.
            link: if n.link.is_empty() {
                String::new()
            } else {
                safe_next(Some(&n.link))
            },
            at: datetime_vi(n.created_at),
            unread: n.read_at.is_none(),
        })
        .collect();
    crate::routes::render(&NotificationsPage {
        p: Page::for_user(&state, &user, "notify.title"),
        unread: items.iter().filter(|i| i.unread).count(),
        items,
    })
}

/// Marks one of the user's notifications read; another user's is not found.
pub async fn read(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    state.mark_read(user.user_id(), Some(id)).await?;
    Ok(Redirect::to("/notifications").into_response())
}

pub async fn read_all(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    state.mark_read(user.user_id(), None).await?;
    Ok(Redirect::to("/notifications").into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/notifications", list)
        .post("/notifications/read-all", read_all)
        .post("/notifications/{id}/read", read)
}
