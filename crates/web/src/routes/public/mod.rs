//! The public results page, open without login: the published periods, each with its ranking
//! per group, the methodology (the index set, the survey, the formula), every unit's breakdown
//! and the open-data downloads. Only published periods and their published snapshots are
//! reachable: anything else answers 404, whoever asks.

mod handlers;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    Routes::new()
        .get("/public", index)
        .get("/public/periods/{id}", period)
        .get("/public/periods/{id}/units/{unit_id}", unit)
        .get("/public/periods/{id}/results.csv", results_csv)
        .get("/public/periods/{id}/results.json", results_json)
}
