//! Survey collection (DOMAIN §5, issue 6 §3): single-use anonymous links generated in batches
//! (shown once, with a QR code each, or downloaded as CSV), the public no-login form behind a
//! link (works without JavaScript; resume before submitting; one submission per link), and
//! paper entry with optional double entry and the report of forms whose two entries differ.
//! The use cases live in `parindex_app::survey_collect`.

mod forms;
mod handlers;
mod public;
mod style;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/questionnaires/{qid}/links", handlers::links)
        .post("/questionnaires/{qid}/links", handlers::generate)
        .get("/questionnaires/{qid}/paper", handlers::paper)
        .post("/questionnaires/{qid}/paper", handlers::paper_save)
        .get(
            "/questionnaires/{qid}/paper/mismatches",
            handlers::mismatches,
        )
        .get("/s/{token}", public::form)
        .post("/s/{token}", public::save)
        .open_get("/survey.css", style::stylesheet)
}
