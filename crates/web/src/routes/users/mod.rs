//! User management for the system administrator: accounts, role grants, password resets
//! (which force a change at the next login) and disabling.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    Routes::new()
        .get("/users", list)
        .post("/users", create)
        .get("/users/new", new_form)
        .get("/users/{id}", show)
        .post("/users/{id}/roles", grant_role)
        .post("/users/{id}/roles/{grant_id}/delete", revoke_role)
        .post("/users/{id}/reset-password", reset_password)
        .post("/users/{id}/disable", disable)
        .post("/users/{id}/enable", enable)
}
