//! User management for the system administrator: accounts, role grants, password resets
//! (which force a change at the next login) and disabling.

use parindex_domain::account::Email;
use parindex_domain::unit::parse_name;
use parindex_domain::{Action, Role, RoleGrant, Username};
use parindex_store::units::{Unit, UnitFilter};
use parindex_store::users::{NewUser, StoredGrant, User};

use crate::error::{FieldError, Message};
use crate::sessions::SessionInfo;
use crate::{App, AppError, password};

/// A new account as typed.
#[derive(Debug, Clone, Default)]
pub struct NewAccount {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub role: Option<Role>,
    /// The unit's id as typed; empty for a province-wide grant.
    pub unit_id: String,
}

/// An account with the one-time password it was given, to be shown once.
#[derive(Debug, Clone)]
pub struct OneTimePassword {
    pub user: User,
    pub password: String,
}

/// One account's page: the person, their grants, and what the grant form offers.
#[derive(Debug, Clone)]
pub struct UserDetail {
    pub user: User,
    pub grants: Vec<StoredGrant>,
    pub units: Vec<Unit>,
    /// When the person appraises and is also bound to units by their grants: the names of the
    /// units they will never be assigned to, appraise, or read the evidence of.
    pub conflict_units: Option<Vec<String>>,
}

/// Parses a role and its unit from form fields.
pub fn parse_grant(role: Option<Role>, unit_id: &str) -> Result<RoleGrant, AppError> {
    let role =
        role.ok_or_else(|| AppError::invalid_field("role", Message::key("users.pick_role")))?;
    let unit_id = match unit_id.trim() {
        "" => None,
        typed => Some(
            typed
                .parse::<i64>()
                .map_err(|_| AppError::invalid_field("unit_id", Message::key("users.bad_unit")))?,
        ),
    };
    let grant = RoleGrant { role, unit_id };
    grant.validate()?;
    Ok(grant)
}

/// The units an appraiser with other unit-bound grants is kept away from (an officer of one
/// unit given an appraiser grant from another); None in the usual case.
fn conflict_units(grants: &[StoredGrant]) -> Option<Vec<String>> {
    if !grants.iter().any(|g| g.role == Role::Appraiser) {
        return None;
    }
    let mut units: Vec<(i64, String)> = Vec::new();
    for g in grants {
        if let Some(unit_id) = g.unit_id
            && !units.iter().any(|(id, _)| *id == unit_id)
        {
            units.push((unit_id, g.unit_name_vi.clone().unwrap_or_default()));
        }
    }
    let bound_otherwise = grants
        .iter()
        .any(|g| g.role != Role::Appraiser && g.unit_id.is_some());
    if units.len() < 2 && !bound_otherwise {
        // Only the appraiser's home agency: the usual case, nothing to point out.
        return None;
    }
    Some(units.into_iter().map(|(_, name)| name).collect())
}

/// The value, or its problem added to `fields`.
fn keep<T>(
    fields: &mut Vec<FieldError>,
    result: Result<T, parindex_domain::InvalidInput>,
) -> Option<T> {
    result
        .map_err(|e| {
            fields.push(FieldError {
                field: e.field.to_string(),
                message: e.message.into(),
            })
        })
        .ok()
}

/// Gathers every problem of a new account's fields.
fn parse_new_account(
    form: &NewAccount,
) -> Result<(Username, String, Option<String>, RoleGrant), AppError> {
    let mut fields: Vec<FieldError> = Vec::new();
    let username = keep(&mut fields, Username::parse(&form.username));
    let full_name = keep(&mut fields, parse_name(&form.full_name, "full_name"));
    let email = match form.email.trim() {
        "" => Some(None),
        typed => keep(&mut fields, Email::parse(typed)).map(|e| Some(e.as_str().to_owned())),
    };
    let grant = match parse_grant(form.role, &form.unit_id) {
        Ok(grant) => Some(grant),
        Err(AppError::Invalid { fields: more, .. }) => {
            fields.extend(more);
            None
        }
        Err(other) => return Err(other),
    };
    match (username, full_name, email, grant) {
        (Some(u), Some(n), Some(e), Some(g)) if fields.is_empty() => Ok((u, n, e, g)),
        _ => Err(AppError::Invalid {
            message: fields
                .first()
                .map(|f| f.message.clone())
                .unwrap_or_else(|| Message::key("form.fix_errors")),
            fields,
        }),
    }
}

impl App {
    /// Every account.
    pub async fn list_users(&self, session: &SessionInfo) -> Result<Vec<User>, AppError> {
        session.require(Action::ManageUsers)?;
        Ok(self.store.list_users().await?)
    }

    /// The units a grant may be bound to (for the forms).
    pub async fn grant_units(&self, session: &SessionInfo) -> Result<Vec<Unit>, AppError> {
        session.require(Action::ManageUsers)?;
        Ok(self.store.list_units(&UnitFilter::default()).await?)
    }

    /// Creates an account with a one-time password; the user must change it at first login.
    pub async fn create_user(
        &self,
        session: &SessionInfo,
        form: &NewAccount,
    ) -> Result<OneTimePassword, AppError> {
        session.require(Action::ManageUsers)?;
        let (username, full_name, email, grant) = parse_new_account(form)?;
        let one_time = password::generate_password();
        let hash = password::hash(one_time.clone()).await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        let created = tx
            .create_user(&NewUser {
                username,
                full_name,
                email,
                password_hash: hash,
                must_change_password: true,
            })
            .await?;
        tx.grant_role(created.id, &grant).await?;
        tx.commit().await?;
        Ok(OneTimePassword {
            user: created,
            password: one_time,
        })
    }

    /// One account, its grants and the units a new grant may name.
    pub async fn user_detail(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<UserDetail, AppError> {
        session.require(Action::ManageUsers)?;
        let user = self.store.get_user(id).await?;
        let grants = self.store.user_grants(id).await?;
        Ok(UserDetail {
            user,
            conflict_units: conflict_units(&grants),
            grants,
            units: self.store.list_units(&UnitFilter::default()).await?,
        })
    }

    /// Grants a role. Nobody widens their own powers: another administrator grants an
    /// administrator's roles.
    pub async fn grant_role(
        &self,
        session: &SessionInfo,
        id: i64,
        role: Option<Role>,
        unit_id: &str,
    ) -> Result<(), AppError> {
        session.require(Action::ManageUsers)?;
        self.store.get_user(id).await?;
        if id == session.user.id {
            return Err(AppError::forbidden(Message::key("users.cannot_grant_self")));
        }
        let grant = parse_grant(role, unit_id)?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.grant_role(id, &grant).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes a grant, except the one the administrator is using right now (it would lock
    /// them out mid-request).
    pub async fn revoke_role(
        &self,
        session: &SessionInfo,
        id: i64,
        grant_id: i64,
    ) -> Result<(), AppError> {
        session.require(Action::ManageUsers)?;
        if session.active.as_ref().is_some_and(|g| g.id == grant_id) {
            return Err(AppError::invalid(Message::key("users.cannot_revoke_own")));
        }
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.revoke_role(id, grant_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resets a password to a one-time one; the user must change it at the next login.
    pub async fn reset_password(
        &self,
        session: &SessionInfo,
        id: i64,
    ) -> Result<OneTimePassword, AppError> {
        session.require(Action::ManageUsers)?;
        let user = self.store.get_user(id).await?;
        let one_time = password::generate_password();
        let hash = password::hash(one_time.clone()).await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_password(id, &hash, true, None).await?;
        tx.commit().await?;
        Ok(OneTimePassword {
            user,
            password: one_time,
        })
    }

    /// Disables or re-enables an account; an administrator cannot disable their own.
    pub async fn set_user_disabled(
        &self,
        session: &SessionInfo,
        id: i64,
        disabled: bool,
    ) -> Result<(), AppError> {
        session.require(Action::ManageUsers)?;
        if disabled && id == session.user.id {
            return Err(AppError::invalid(Message::key("users.cannot_disable_self")));
        }
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_user_disabled(id, disabled).await?;
        tx.commit().await?;
        Ok(())
    }
}
