//! The unit registry pages: list and search, create, edit, deactivate, unit groups, and the
//! import from Excel or CSV with a row-by-row report before anything is saved.

mod forms;
mod handlers;
mod import;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    use import::*;
    Routes::new()
        .get("/units", list)
        .post("/units", create)
        .get("/units/new", new_form)
        .get("/units/import", import_page)
        .post("/units/import", import_upload)
        .post("/units/import/{stash_id}/confirm", import_confirm)
        .get("/units/{id}", show)
        .post("/units/{id}", update)
        .get("/units/{id}/edit", edit_form)
        .post("/units/{id}/deactivate", deactivate)
        .post("/units/{id}/reactivate", reactivate)
        .get("/unit-groups", groups)
        .post("/unit-groups", create_group)
}
