//! Sessions: what a request's cookie stands for (the user, their grants, the role in use), the
//! timeouts that end it, and the actor a session gives the authorization policy.

use parindex_domain::{Access, Action, Actor};
use parindex_store::AuditActor;
use parindex_store::sessions::SessionRecord;
use parindex_store::users::{StoredGrant, User};

use crate::{App, AppError};

/// A logged-in user's session, as loaded for this request.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub token_hash: String,
    pub record: SessionRecord,
    pub user: User,
    pub grants: Vec<StoredGrant>,
    /// The grant the user acts with now; None for an account with no role at all.
    pub active: Option<StoredGrant>,
    /// Unread notifications, for the header (one COUNT per request).
    pub unread_notifications: i64,
}

impl SessionInfo {
    /// Every unit any of the person's grants is bound to, whatever the role in use.
    pub fn own_units(&self) -> Vec<i64> {
        self.grants.iter().filter_map(|g| g.unit_id).collect()
    }

    /// The actor for the policy: the user with the role in use. An account with no role can
    /// do nothing but manage its own password and sessions.
    pub fn actor(&self) -> Result<Actor, AppError> {
        let grant = self.active.as_ref().ok_or(AppError::Forbidden(None))?;
        Ok(Actor {
            user_id: self.user.id,
            grant: grant.grant(),
            own_units: self.own_units(),
        })
    }

    /// Asks the policy; a refusal is `Forbidden`, or `NotFound` for an object outside the
    /// actor's scope.
    pub fn require(&self, action: Action) -> Result<Actor, AppError> {
        let actor = self.actor()?;
        match actor.may(action) {
            Access::Allowed => Ok(actor),
            Access::Forbidden => Err(AppError::Forbidden(None)),
            Access::NotFound => Err(AppError::NotFound),
        }
    }

    /// Who to write in the audit log.
    pub fn audit_actor(&self) -> AuditActor {
        AuditActor {
            user_id: Some(self.user.id),
            username: self.user.username.clone(),
            role: self.active.as_ref().map(|g| g.role).into(),
        }
    }
}

/// How long a session lives: idle (since its last request) and absolute (since login).
#[derive(Debug, Clone, Copy)]
pub struct SessionTimeouts {
    pub idle_ms: i64,
    pub absolute_ms: i64,
}

/// What a session cookie turned out to be.
#[derive(Debug)]
pub enum SessionLookup {
    /// It does not exist (any more), timed out, or its account was disabled; it is ended now.
    Expired,
    Active(Box<SessionInfo>),
}

/// 32 random bytes, hex-encoded: session tokens, CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}

/// What the database stores for a session token: its SHA-256, never the token itself.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Writing last_seen on every request would make every read a write; once a minute is precise
/// enough for a 30-minute idle timeout.
const TOUCH_EVERY_MS: i64 = 60_000;

impl App {
    /// Loads the session whose token hashes to `hash`, ending it when it has timed out or its
    /// account is disabled.
    pub async fn load_session(
        &self,
        hash: &str,
        timeouts: SessionTimeouts,
    ) -> Result<SessionLookup, AppError> {
        let Some(record) = self.store.get_session(hash).await? else {
            return Ok(SessionLookup::Expired);
        };
        let now = self.now_ms();
        if now - record.last_seen_at > timeouts.idle_ms
            || now - record.created_at > timeouts.absolute_ms
        {
            self.store.expire_session(hash).await?;
            return Ok(SessionLookup::Expired);
        }
        let user = self.store.get_user(record.user_id).await?;
        if user.disabled {
            self.store.expire_session(hash).await?;
            return Ok(SessionLookup::Expired);
        }
        let grants = self.store.user_grants(user.id).await?;
        let active = record
            .active_role_id
            .and_then(|id| grants.iter().find(|g| g.id == id))
            .or_else(|| grants.first())
            .cloned();
        self.store.touch_session(hash, now, TOUCH_EVERY_MS).await?;
        let unread_notifications = self.store.unread_notification_count(user.id).await?;
        Ok(SessionLookup::Active(Box::new(SessionInfo {
            token_hash: hash.to_owned(),
            record,
            user,
            grants,
            active,
            unread_notifications,
        })))
    }
}
