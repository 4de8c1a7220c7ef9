//! The unit's self-assessment sheet (tự đánh giá): every leaf of its set with the input its rule
//! asks for, the score the server computes with its explanation, a note, progress per domain;
//! saving a leaf (a plain form, or JSON for the autosave script), the submission and the report.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods/{id}/units/{unit_id}/sheet", handlers::show)
        .post(
            "/periods/{id}/units/{unit_id}/leaves/{code}",
            handlers::save_leaf,
        )
        .post("/periods/{id}/units/{unit_id}/submit", handlers::submit)
        .get(
            "/periods/{id}/units/{unit_id}/report/{format}",
            handlers::report,
        )
        .get("/self-assessment", handlers::mine)
}
