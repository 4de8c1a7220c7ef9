//! The home page: where each role starts.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_store::units::UnitFilter;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::page::Page;

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    p: Page,
    no_role: bool,
    unit_count: usize,
}

pub async fn show(State(state): State<AppState>, user: CurrentUser) -> Result<Response, WebError> {
    let unit_count = match user.actor() {
        Ok(actor) => state
            .store
            .list_units(&UnitFilter {
                only_unit_id: actor.unit_restriction(),
                ..Default::default()
            })
            .await?
            .len(),
        Err(_) => 0,
    };
    super::render(&HomePage {
        p: Page::for_user(&state, &user, "home.title"),
        no_role: user.session.active.is_none(),
        unit_count,
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new().get("/", show)
}
