//! Reviewing the sociological survey (issue 6 §4–§6): the scores of every unit on every
//! survey leaf with the minimum-sample warning, the report per unit and respondent group
//! (page and Excel workbook), and the quality checks with the secretariat's exclusions (and
//! re-inclusions). The use cases live in `parindex_app::survey_review`.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/periods/{id}/survey/scores", handlers::scores)
        .get("/periods/{id}/survey/report", handlers::report)
        .get("/periods/{id}/survey/report.xlsx", handlers::report_xlsx)
        .get("/periods/{id}/survey/quality", handlers::quality)
        .post("/survey-responses/{rid}/exclude", handlers::exclude)
        .post("/survey-responses/{rid}/include", handlers::include)
}
