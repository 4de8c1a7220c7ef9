//! Use cases of one's own account: login (with growing delays), logout, password change, role switch.

use std::net::IpAddr;

use parindex_domain::{NewPassword, Username};
use parindex_store::AuditActor;
use parindex_store::sessions::SessionRecord;
use parindex_store::throttle::{DelayPolicy, LoginAttempt, Reservation, ThrottleKey};

use crate::error::Message;
use crate::sessions::{SessionInfo, random_token, token_hash};
use crate::{App, AppError, password};

/// How failed password attempts are counted and delayed (see parindex_store::throttle).
#[derive(Debug, Clone, Copy)]
pub struct LoginPolicy {
    /// How long a failure is remembered.
    pub window_ms: i64,
    /// Free failures per account within the window.
    pub max_failures_per_account: i64,
    /// Free failures per client address within the window.
    pub max_failures_per_ip: i64,
    pub delays: DelayPolicy,
}

/// A login as typed, with where it came from.
#[derive(Debug, Clone)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
    pub client: IpAddr,
    pub user_agent: Option<String>,
    /// The interface language the session starts with.
    pub locale: String,
}

/// A successful login: the token for the cookie (only its hash is stored).
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub token: String,
    /// The account must set a new password before anything else.
    pub must_change_password: bool,
}

/// A password change as typed.
#[derive(Debug, Clone)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// A password attempt reserved before the password is checked, in the account's bucket and
/// the client address's, so parallel guesses cannot all slip under the limit. The login
/// form and the password-change form share it.
struct ReservedAttempt {
    attempt: LoginAttempt,
    /// The account's bucket, whose failures a success forgets.
    account_key: String,
    /// Failures before this are outside the window.
    window_start: i64,
}

/// Seconds to wait, rounded up, for a wait in milliseconds.
fn wait_secs(ms: i64) -> u64 {
    u64::try_from((ms.max(1) + 999) / 1000).unwrap_or(1)
}

impl App {
    async fn reserve_password_attempt(
        &self,
        policy: &LoginPolicy,
        username: &str,
        client: IpAddr,
        now: i64,
    ) -> Result<ReservedAttempt, AppError> {
        let window_start = now - policy.window_ms;
        let account_key = format!("user:{username}");
        let keys = [
            ThrottleKey {
                key: account_key.clone(),
                limit: policy.max_failures_per_account,
            },
            ThrottleKey {
                key: format!("ip:{client}"),
                limit: policy.max_failures_per_ip,
            },
        ];
        match self
            .store
            .reserve_login_attempt(&keys, policy.delays, now, window_start)
            .await?
        {
            Reservation::Allowed(attempt) => Ok(ReservedAttempt {
                attempt,
                account_key,
                window_start,
            }),
            Reservation::Wait(ms) => Err(AppError::TooManyAttempts {
                retry_after_secs: wait_secs(ms),
            }),
        }
    }

    /// A success forgets the account's failures (the reserved attempt included).
    async fn password_attempt_succeeded(&self, reserved: &ReservedAttempt) -> Result<(), AppError> {
        self.store
            .login_succeeded(
                &reserved.attempt,
                &reserved.account_key,
                reserved.window_start,
            )
            .await?;
        Ok(())
    }

    /// Logs in. Bad user, bad password and disabled account are one `Forbidden(None)`;
    /// failures are counted per account and per client address, and past the free ones each
    /// attempt must wait a growing delay (`TooManyAttempts`, never a lockout).
    pub async fn login(
        &self,
        policy: &LoginPolicy,
        request: LoginRequest,
    ) -> Result<LoggedIn, AppError> {
        let now = self.now_ms();
        let typed = request.username.trim().to_lowercase();
        let reserved = self
            .reserve_password_attempt(policy, &typed, request.client, now)
            .await?;
        let account = match Username::parse(&typed) {
            Ok(name) => self.store.user_for_login(name.as_str()).await?,
            Err(_) => None,
        };
        let stored_hash = account.as_ref().map(|(_, h)| h.clone());
        let password_ok = password::verify(request.password, stored_hash).await?;
        let user = match account {
            Some((user, _)) if password_ok && !user.disabled => user,
            // The recorded attempt stays: it is this failure.
            _ => return Err(AppError::Forbidden(None)),
        };
        self.password_attempt_succeeded(&reserved).await?;

        let grants = self.store.user_grants(user.id).await?;
        let token = random_token();
        let record = SessionRecord {
            token_hash: token_hash(&token),
            user_id: user.id,
            csrf_token: random_token(),
            active_role_id: grants.first().map(|g| g.id),
            locale: request.locale,
            ip: Some(request.client.to_string()),
            user_agent: request.user_agent.map(|s| s.chars().take(200).collect()),
            created_at: now,
            last_seen_at: now,
        };
        let actor = AuditActor {
            user_id: Some(user.id),
            username: user.username.clone(),
            role: grants.first().map(|g| g.role).into(),
        };
        let mut tx = self.store.begin_write(actor).await?;
        tx.create_session(&record).await?;
        tx.commit().await?;
        Ok(LoggedIn {
            token,
            must_change_password: user.must_change_password,
        })
    }

    /// Ends this session.
    pub async fn logout(&self, session: &SessionInfo) -> Result<(), AppError> {
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.delete_session(session.user.id, &session.token_hash)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of the user, on every device.
    pub async fn logout_everywhere(&self, session: &SessionInfo) -> Result<(), AppError> {
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.delete_all_sessions(session.user.id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user's live sessions, most recent first.
    pub async fn own_sessions(
        &self,
        session: &SessionInfo,
    ) -> Result<Vec<SessionRecord>, AppError> {
        Ok(self.store.user_sessions(session.user.id).await?)
    }

    /// Changes the user's own password. A wrong current password counts as a failed login of
    /// the account (and of the client's address): a stolen session cannot be used to guess
    /// the password faster than the login form allows. `context_words` are names a guesser
    /// would try (the province's).
    pub async fn change_password(
        &self,
        session: &SessionInfo,
        policy: &LoginPolicy,
        client: IpAddr,
        change: PasswordChange,
        context_words: &[&str],
    ) -> Result<(), AppError> {
        let me = &session.user;
        let reserved = self
            .reserve_password_attempt(policy, &me.username, client, self.now_ms())
            .await?;
        let stored = self.store.password_hash(me.id).await?;
        if !password::verify(change.current.clone(), Some(stored)).await? {
            // The recorded attempt stays: it is this failure.
            return Err(AppError::invalid_field(
                "current_password",
                Message::key("password.wrong_current"),
            ));
        }
        self.password_attempt_succeeded(&reserved).await?;
        if change.new != change.confirm {
            return Err(AppError::invalid_field(
                "confirm_password",
                Message::key("password.mismatch"),
            ));
        }
        if change.new == change.current {
            return Err(AppError::invalid_field(
                "new_password",
                Message::key("password.same"),
            ));
        }
        let new = NewPassword::parse(&change.new, &me.username)?;
        let mut words = vec![me.username.as_str(), me.full_name.as_str()];
        words.extend_from_slice(context_words);
        if let Some(message) = password::weakness(new.expose(), &words) {
            return Err(AppError::invalid_field("new_password", message));
        }
        let hash = password::hash(new.expose().to_owned()).await?;
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_password(me.id, &hash, false, Some(&session.token_hash))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Switches the role the user acts with, only among their own grants (the store refuses
    /// another's).
    pub async fn switch_role(&self, session: &SessionInfo, grant_id: i64) -> Result<(), AppError> {
        let mut tx = self.store.begin_write(session.audit_actor()).await?;
        tx.set_session_role(&session.token_hash, session.user.id, grant_id)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
