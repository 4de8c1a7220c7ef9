//! Index sets (bộ chỉ số): list, import (YAML or Excel), create, edit nodes, validate, publish,
//! clone, export, diff and old → new code mappings. Every rule is checked by the use cases
//! (`parindex_app::index_sets`); a published set is immutable.

mod editing;
mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use editing::*;
    use handlers::*;
    Routes::new()
        .get("/index-sets", list)
        .post("/index-sets", create)
        .post("/index-sets/import", import)
        .post("/index-sets/shipped", load_shipped)
        .get("/index-sets/format", format_doc)
        .get("/index-sets/diff", diff)
        .get("/index-sets/{id}", show)
        .post("/index-sets/{id}/publish", publish)
        .post("/index-sets/{id}/clone", clone)
        .post("/index-sets/{id}/delete", delete)
        .post("/index-sets/{id}/mapping", save_mapping)
        .post("/index-sets/{id}/nodes", node_add)
        .get("/index-sets/{id}/meta", meta_form)
        .post("/index-sets/{id}/meta", meta_save)
        .post("/index-sets/{id}/adjustments", adjustment_add)
        .post(
            "/index-sets/{id}/adjustments/{code}/delete",
            adjustment_delete,
        )
        .get("/index-sets/{id}/nodes/{code}", node_form)
        .post("/index-sets/{id}/nodes/{code}", node_save)
        .post("/index-sets/{id}/nodes/{code}/delete", node_delete)
        .get("/index-sets/{id}/export/{format}", export)
}
