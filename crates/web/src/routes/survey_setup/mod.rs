//! Survey setup (issue 6 §1–§2): the period's survey settings, respondent groups and their
//! sampling plan with the sample-size helper, live progress against the plan, and the
//! questionnaires (mẫu phiếu) with their life cycle and a printable paper version. The use
//! cases live in `parindex_app::survey_setup`.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;
use handlers::*;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/survey", periods)
        .get("/periods/{id}/survey", show)
        .post("/periods/{id}/survey/settings", save_settings)
        .post("/periods/{id}/survey/groups", save_group)
        .post("/periods/{id}/survey/questionnaires", create_questionnaire)
        .get("/questionnaires/{qid}", questionnaire)
        .post("/questionnaires/{qid}", update_questionnaire)
        .post("/questionnaires/{qid}/questions", add_question)
        .post(
            "/questionnaires/{qid}/questions/{code}/remove",
            remove_question,
        )
        .post("/questionnaires/{qid}/status", set_status)
        .post("/questionnaires/{qid}/new-version", new_version)
        .get("/questionnaires/{qid}/print", print)
}
