//! Appraisal (thẩm định, DOMAIN §4): the appraiser's worklist, a unit's appraisal page (the
//! unit's self-assessment beside every round's appraised value, remark and flag), saving an
//! appraised value, bonus and penalty items, the unit's explanation round (giải trình), the
//! comment threads and a leaf's history. The explanation's evidence upload is in `evidence`.

mod explanation;
mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/appraisal", handlers::worklist)
        .get("/periods/{id}/units/{unit_id}/appraisal", handlers::show)
        .post(
            "/periods/{id}/units/{unit_id}/appraisal/{code}",
            handlers::save,
        )
        .post(
            "/periods/{id}/units/{unit_id}/adjustments",
            handlers::add_adjustment,
        )
        .post(
            "/periods/{id}/units/{unit_id}/adjustments/{adj_id}/remove",
            handlers::remove_adjustment,
        )
        .get(
            "/periods/{id}/units/{unit_id}/explanation",
            explanation::show,
        )
        .post(
            "/periods/{id}/units/{unit_id}/explanation/submit",
            explanation::submit,
        )
        .post(
            "/periods/{id}/units/{unit_id}/explanation/{code}",
            explanation::save,
        )
        .post(
            "/periods/{id}/units/{unit_id}/leaves/{code}/comments",
            explanation::comment,
        )
        .get("/periods/{id}/units/{unit_id}/history", handlers::history)
}
