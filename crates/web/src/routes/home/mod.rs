//! The home page: where each role starts.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::page::Page;

#[derive(Template)]
#[template(path = "home/home.html")]
struct HomePage {
    p: Page,
    no_role: bool,
    unit_count: usize,
}

pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let unit_count = match user.actor() {
        Ok(actor) => state.visible_unit_count(&actor).await?,
        Err(_) => 0,
    };
    crate::routes::render(&HomePage {
        p: Page::for_user(&state, &user, "home.title"),
        no_role: user.session.active.is_none(),
        unit_count,
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new().get("/", show)
}
