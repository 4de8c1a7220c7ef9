//! The `CurrentUser` extractor: a handler that takes one requires a logged-in user and gets
//! the role in use, ready for the authorization policy.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use parindex_domain::{Access, Action, Actor};
use parindex_store::AuditActor;

use super::{RequestCtx, SessionInfo};
use crate::error::WebError;

/// A logged-in user, with the request context.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub ctx: RequestCtx,
    pub session: Arc<SessionInfo>,
}

impl CurrentUser {
    /// The actor for the policy: the user with the role in use. An account with no role
    /// can do nothing but manage its own password and sessions.
    pub fn actor(&self) -> Result<Actor, WebError> {
        Ok(self.session.actor()?)
    }

    /// Asks the policy; a refusal becomes 403, or 404 for an object outside the user's scope.
    pub fn require(&self, action: Action) -> Result<Actor, WebError> {
        Ok(self.session.require(action)?)
    }

    /// Whether the policy allows `action` (for showing or hiding links and buttons).
    pub fn can(&self, action: Action) -> bool {
        self.actor().is_ok_and(|a| a.may(action) == Access::Allowed)
    }

    /// Who to write in the audit log.
    pub fn audit_actor(&self) -> AuditActor {
        self.session.audit_actor()
    }

    pub fn user_id(&self) -> i64 {
        self.session.user.id
    }
}

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx = parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| WebError::Internal("session layer missing".into()))?;
        match ctx.session.clone() {
            Some(session) => Ok(CurrentUser { ctx, session }),
            None => Err(WebError::LoginRequired {
                next: ctx.path_and_query.clone(),
                expired: ctx.session_expired,
            }),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| WebError::Internal("session layer missing".into()))
    }
}
