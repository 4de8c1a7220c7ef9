//! Who performs a use case: the policy's actor and the name the audit log records.

use parindex_domain::{Access, Action, Actor};
use parindex_store::AuditActor;

use crate::AppError;

/// The person acting through the role in use, as the policy sees them and as the audit log
/// names them. Every state-changing use case of the workflow takes one.
#[derive(Debug, Clone)]
pub struct Acting {
    pub actor: Actor,
    pub audit: AuditActor,
}

impl Acting {
    /// Asks the policy; a refusal is `Forbidden`, an object outside the actor's scope
    /// `NotFound` (its existence is not revealed).
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        match self.actor.may(action) {
            Access::Allowed => Ok(()),
            Access::Forbidden => Err(AppError::Forbidden(None)),
            Access::NotFound => Err(AppError::NotFound),
        }
    }

    /// Whether the policy allows `action` (what a page offers).
    pub fn can(&self, action: Action) -> bool {
        self.actor.may(action) == Access::Allowed
    }
}
