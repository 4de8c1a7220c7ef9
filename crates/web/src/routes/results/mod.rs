//! Results for staff: the ranking per group (ranks, ties, bands, change against last year,
//! charts), the units × domains heat map, and the open-data files (CSV, JSON). Provisional
//! until the period is published, official after. The public page (`routes::public`) and the
//! API (`routes::api`) draw on the same loader, `parindex_app::results`.

mod handlers;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    Routes::new()
        .get("/results", periods)
        .get("/periods/{id}/ranking", ranking)
        .get("/periods/{id}/ranking.xlsx", ranking_xlsx)
        .get("/periods/{id}/ranking.pdf", ranking_pdf)
        .get("/periods/{id}/matrix", matrix)
        .get("/periods/{id}/units/{unit_id}/scorecard", unit_scorecard)
        .get(
            "/periods/{id}/units/{unit_id}/scorecard.pdf",
            unit_scorecard_pdf,
        )
        .get("/periods/{id}/results.csv", results_csv)
        .get("/periods/{id}/results.json", results_json)
}
