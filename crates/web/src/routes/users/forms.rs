//! The user-management forms, as typed. A role comes as its code and is parsed into a
//! [`Role`] here; an empty or unknown code is no role (the use case says to choose one).

use parindex_app::users::NewAccount;
use parindex_domain::Role;
use serde::{Deserialize, Deserializer};

/// A role from its code; empty or unknown is None.
fn role_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Role>, D::Error> {
    let code = String::deserialize(deserializer)?;
    Ok(Role::from_code(code.trim()))
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewUserForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub email: String,
    #[serde(default, deserialize_with = "role_code")]
    pub role: Option<Role>,
    #[serde(default)]
    pub unit_id: String,
}

impl NewUserForm {
    pub fn account(&self) -> NewAccount {
        NewAccount {
            username: self.username.clone(),
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            role: self.role,
            unit_id: self.unit_id.clone(),
        }
    }
}

#[derive(Deserialize)]
pub struct GrantForm {
    #[serde(default, deserialize_with = "role_code")]
    pub role: Option<Role>,
    #[serde(default)]
    pub unit_id: String,
}
