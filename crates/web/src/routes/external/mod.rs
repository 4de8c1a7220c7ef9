//! External values (điểm do cơ quan khác cung cấp): the provider's matrix of units × external
//! leaves with the current values and where they came from, direct entry per cell, and the
//! file import (CSV or Excel) that is checked row by row, previewed, and saved only when
//! every row is good and the user confirms, in one transaction.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/external", handlers::periods)
        .get("/periods/{id}/external", handlers::matrix)
        .post(
            "/periods/{id}/external/import/{token}/confirm",
            handlers::confirm,
        )
        .post(
            "/periods/{id}/external/{unit_id}/{code}",
            handlers::save_direct,
        )
        .upload("/periods/{id}/external/import", handlers::import)
}
