//! The forms and queries of the account pages, as typed.

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub next: Option<String>,
    pub expired: Option<String>,
    pub bye: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct LocaleQuery {
    pub next: Option<String>,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    pub current_password: String,
    pub new_password: String,
    pub confirm_password: String,
}

#[derive(Deserialize)]
pub struct RoleForm {
    pub grant_id: i64,
}
