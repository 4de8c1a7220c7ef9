//! The logged-in user as the use cases see them: the policy's actor and the audit's name.

use parindex_app::acting::Acting;

use crate::auth::CurrentUser;
use crate::error::WebError;

/// The user with the role in use; an account with no role may act on nothing.
pub fn acting(user: &CurrentUser) -> Result<Acting, WebError> {
    Ok(Acting {
        actor: user.actor()?,
        audit: user.audit_actor(),
    })
}
