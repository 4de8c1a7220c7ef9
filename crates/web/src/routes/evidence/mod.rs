//! Evidence: uploading files to a unit's library (streamed to the evidence store, size-limited,
//! type-sniffed, content-addressed) and citing them on leaves with a section or page reference,
//! for the self-assessment and for an explanation; downloading or viewing them with safe
//! headers, for the people allowed to see them.

mod forms;
mod handlers;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .post(
            "/periods/{id}/units/{unit_id}/leaves/{code}/cite",
            handlers::cite,
        )
        .post(
            "/periods/{id}/units/{unit_id}/citations/{citation_id}/delete",
            handlers::uncite,
        )
        .get("/evidence/{id}", handlers::download)
        .upload(
            "/periods/{id}/units/{unit_id}/leaves/{code}/evidence",
            handlers::upload,
        )
        .upload(
            "/periods/{id}/units/{unit_id}/explanation/{code}/evidence",
            handlers::upload_explanation,
        )
}
