//! The account pages' view models.

use askama::Template;

use crate::page::Page;

#[derive(Template)]
#[template(path = "account/login.html")]
pub struct LoginPage {
    pub p: Page,
    pub next: String,
    pub username: String,
    pub error: Option<String>,
    pub expired: bool,
    pub bye: bool,
}

/// One of the user's sessions, for the account page.
pub struct SessionRow {
    pub started: String,
    pub last_seen: String,
    pub ip: String,
    pub agent: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "account/account.html")]
pub struct AccountPage {
    pub p: Page,
    pub sessions: Vec<SessionRow>,
}

#[derive(Template)]
#[template(path = "account/password.html")]
pub struct PasswordPage {
    pub p: Page,
    pub forced: bool,
    pub error: Option<String>,
}

/// A wait in words, rounded up: "3 giây", "2 phút".
pub fn wait_text(lang: crate::i18n::Lang, seconds: u64) -> String {
    let seconds = seconds.max(1);
    if seconds < 60 {
        lang.format("login.wait_seconds", &[("n", seconds.to_string())])
    } else {
        lang.format(
            "login.wait_minutes",
            &[("n", seconds.div_ceil(60).to_string())],
        )
    }
}
