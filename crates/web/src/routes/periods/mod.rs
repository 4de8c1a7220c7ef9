//! Evaluation periods for the secretariat: set one up (windows, which published set applies
//! to which group, participating units, caps, bands), the progress board of every unit, and
//! per-unit extensions and reopenings, each with its reason.

mod export;
mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// Kept for the areas that still reach it here; it lives in the application layer.
pub use parindex_app::periods::day_end_ms;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    Routes::new()
        .get("/periods", list)
        .post("/periods", create)
        .get("/periods/{id}", show)
        .get("/periods/{id}/board.xlsx", board_xlsx)
        .post("/periods/{id}/units/{unit_id}/extension", extension)
        .post("/periods/{id}/units/{unit_id}/reopen", reopen)
}
