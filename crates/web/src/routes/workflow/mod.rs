//! The period's appraisal workflow for the secretariat: assigning appraisers (never to their own
//! unit), moving the period through its stages with their guards, the council's provisional
//! results, the approval decision with its signed PDF, publication, and the correction of a
//! published unit (reopen, corrected leaf values, a new publication that keeps the earlier one).

mod forms;
mod handlers;
mod publishing;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    use publishing::*;
    Routes::new()
        .get("/periods/{id}/assignments", assignments)
        .post("/periods/{id}/assignments", assign)
        .post("/periods/{id}/assignments/{assignment_id}/remove", unassign)
        .post("/periods/{id}/stage", change_stage)
        .post("/periods/{id}/explanation-deadline", explanation_deadline)
        .post(
            "/periods/{id}/units/{unit_id}/explanation-extension",
            explanation_extension,
        )
        .get("/periods/{id}/results", results)
        .get("/periods/{id}/decision.pdf", decision_pdf)
        .post("/periods/{id}/publish", publish)
        .post("/periods/{id}/units/{unit_id}/corrections", correct)
        .post(
            "/periods/{id}/units/{unit_id}/corrections/{code}",
            correct_leaf,
        )
        .post("/periods/{id}/units/{unit_id}/republish", republish)
        .upload("/periods/{id}/decision", decision)
}
