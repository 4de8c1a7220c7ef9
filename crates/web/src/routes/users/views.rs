//! The user-management pages' view models.

use askama::Template;
use parindex_app::users::UserDetail;
use parindex_domain::Role;
use parindex_store::units::Unit;
use parindex_store::users::{StoredGrant, User};

use super::forms::NewUserForm;
use crate::i18n::Lang;
use crate::page::Page;

/// A role in a select: its code (the option's value), its label, whether it is chosen.
pub struct RoleOption {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// Role choices for the forms, in the user's language.
pub fn role_options(lang: Lang, chosen: Option<Role>) -> Vec<RoleOption> {
    Role::ALL
        .iter()
        .map(|r| RoleOption {
            code: r.code(),
            label: lang.role(*r),
            selected: chosen == Some(*r),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "users/users_list.html")]
pub struct ListPage {
    pub p: Page,
    pub users: Vec<User>,
}

#[derive(Template)]
#[template(path = "users/user_new.html")]
pub struct NewPage {
    pub p: Page,
    pub form: NewUserForm,
    pub error: Option<String>,
    pub roles: Vec<RoleOption>,
    pub units: Vec<Unit>,
}

#[derive(Template)]
#[template(path = "users/user_password_once.html")]
pub struct PasswordOncePage {
    pub p: Page,
    pub target: User,
    pub password: String,
}

#[derive(Template)]
#[template(path = "users/user_show.html")]
pub struct ShowPage {
    pub p: Page,
    pub target: User,
    pub grants: Vec<StoredGrant>,
    pub roles: Vec<RoleOption>,
    pub units: Vec<Unit>,
    pub error: Option<String>,
    pub is_self: bool,
    /// Set when the person is an appraiser and also belongs to units through their grants:
    /// which units they will never be assigned to, appraise, or read the evidence of.
    pub conflict_warning: Option<String>,
}

impl ShowPage {
    pub fn new(p: Page, detail: UserDetail, me: i64, error: Option<String>) -> ShowPage {
        let lang = p.lang;
        ShowPage {
            conflict_warning: detail
                .conflict_units
                .map(|names| lang.format("users.conflict_warning", &[("units", names.join(", "))])),
            roles: role_options(lang, None),
            is_self: detail.user.id == me,
            target: detail.user,
            grants: detail.grants,
            units: detail.units,
            error,
            p,
        }
    }
}
