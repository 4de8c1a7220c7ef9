//! Logging in and out, the user's own account: password, role in use, sessions, language.

mod forms;
mod handlers;
mod views;

use crate::routes::table::Routes;

/// Kept here for the areas that still import it from this path; it lives in
/// `crate::views::refusal` now.
pub use crate::views::refusal::OkQuery;

/// The routes of this area.
pub fn router() -> Routes {
    use handlers::*;
    Routes::new()
        .get("/login", login_page)
        .post("/login", login)
        .post("/logout", logout)
        .get("/locale/{code}", set_locale)
        .get("/account", show)
        .get("/account/password", password_page)
        .post("/account/password", change_password)
        .post("/account/role", switch_role)
        .post("/account/logout-all", logout_all)
}
