//! Background notifications: deadline reminders (self-assessment and explanation) created as
//! in-app notifications, and, when an SMTP relay is configured, the e-mail copies of pending
//! notifications, an outbox: each row is claimed by one instance before it is sent through
//! lettre (plain SMTP to a relay inside the province's network by default; STARTTLS or TLS
//! and AUTH when configured).

use std::collections::BTreeSet;
use std::time::Duration;

use parindex_store::appraisal::NewNotification;
use parindex_store::error::StoreError;
use parindex_store::{AuditActor, Store};

use parindex_domain::text::datetime_vi;

const DAY_MS: i64 = 24 * 3600 * 1000;
/// Reminders start this long before the self-assessment deadline.
const SELF_WINDOW_MS: i64 = 3 * DAY_MS;
/// Reminders start this long before the explanation deadline.
const EXPLANATION_WINDOW_MS: i64 = 2 * DAY_MS;
/// How often the background task runs.
pub const INTERVAL: Duration = Duration::from_secs(15 * 60);

/// One reminder to create: the unit's users, the text and the dedupe key.
struct Reminder {
    unit_id: i64,
    title: String,
    link: String,
    key: String,
}

/// "Còn N ngày" counts started days: 5 hours left is still "1 ngày".
fn days_left(deadline: i64, now_ms: i64) -> i64 {
    (deadline - now_ms + DAY_MS - 1) / DAY_MS
}

/// Creates deadline reminders for the officers and heads of units that have not submitted
/// and whose deadline is near (3 days for the self-assessment, 2 for explanations). Each is
/// created once per unit and deadline (a moved deadline reminds again). Returns how many
/// notifications were created; everything is one transaction, committed only if any was.
pub async fn send_deadline_reminders(store: &Store, now_ms: i64) -> Result<usize, StoreError> {
    let mut reminders = Vec::new();
    for period in store.list_periods().await? {
        match period.stage.stored().0 {
            "self" => {
                for unit in store.period_units(period.id).await? {
                    if unit.submitted_at.is_some() {
                        continue;
                    }
                    let deadline = unit.extension_until.unwrap_or(period.self_close_at);
                    if deadline <= now_ms || deadline - now_ms > SELF_WINDOW_MS {
                        continue;
                    }
                    reminders.push(Reminder {
                        unit_id: unit.unit_id,
                        title: format!(
                            "Còn {} ngày đến hạn tự đánh giá ({})",
                            days_left(deadline, now_ms),
                            datetime_vi(deadline)
                        ),
                        link: "/self-assessment".into(),
                        key: format!("deadline:self:{}:{}:{deadline}", period.id, unit.unit_id),
                    });
                }
            }
            "explanation" => {
                let round = period.stage.stored().1;
                let Ok(k) = u8::try_from(round) else {
                    continue;
                };
                let flagged: BTreeSet<i64> = store
                    .period_appraisals(period.id)
                    .await?
                    .into_iter()
                    .filter(|a| a.round == round && a.needs_explanation)
                    .map(|a| a.unit_id)
                    .collect();
                for unit in store.period_units(period.id).await? {
                    if !flagged.contains(&unit.unit_id) || unit.explanation_submitted_round >= round
                    {
                        continue;
                    }
                    // Each unit's own deadline: the round's, or its extension.
                    let Some(deadline) =
                        crate::deadlines::explanation_due_for(store, &period, unit.unit_id, k)
                            .await?
                    else {
                        continue;
                    };
                    if deadline <= now_ms || deadline - now_ms > EXPLANATION_WINDOW_MS {
                        continue;
                    }
                    reminders.push(Reminder {
                        unit_id: unit.unit_id,
                        title: format!(
                            "Còn {} ngày đến hạn giải trình ({})",
                            days_left(deadline, now_ms),
                            datetime_vi(deadline)
                        ),
                        link: format!("/periods/{}/units/{}/explanation", period.id, unit.unit_id),
                        key: format!(
                            "deadline:explanation:{}:{}:{round}:{deadline}",
                            period.id, unit.unit_id
                        ),
                    });
                }
            }
            _ => {}
        }
    }
    if reminders.is_empty() {
        return Ok(0);
    }
    let mut recipients = Vec::with_capacity(reminders.len());
    for r in &reminders {
        let mut users: Vec<i64> = store
            .users_with_role("unit_officer", Some(r.unit_id))
            .await?
            .into_iter()
            .chain(store.users_with_role("unit_head", Some(r.unit_id)).await?)
            .map(|(id, _)| id)
            .collect();
        users.sort_unstable();
        users.dedup();
        recipients.push(users);
    }
    let mut tx = store.begin_write(AuditActor::system("reminders")).await?;
    let mut created = 0;
    for (r, users) in reminders.iter().zip(&recipients) {
        if users.is_empty() {
            continue;
        }
        created += tx
            .notify(
                users,
                &NewNotification {
                    kind: "deadline",
                    dedupe_key: Some(r.key.clone()),
                    title: r.title.clone(),
                    body: String::new(),
                    link: r.link.clone(),
                },
            )
            .await?;
    }
    if created > 0 {
        tx.commit().await?;
    }
    // Otherwise the transaction is dropped (rolled back): nothing was written.
    Ok(created)
}

/// How the connection to the relay is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SmtpTls {
    /// Plain SMTP: a relay inside the province's network (the default).
    #[default]
    None,
    /// Plain connection upgraded with STARTTLS, which the server must offer (port 587).
    StartTls,
    /// TLS from the first byte ("SMTPS", port 465).
    Tls,
}

impl SmtpTls {
    /// `none`, `starttls` or `tls` (case-insensitive), as `PARINDEX_SMTP_TLS` states it.
    pub fn parse(text: &str) -> Option<SmtpTls> {
        match text.trim().to_ascii_lowercase().as_str() {
            "" | "none" | "off" => Some(SmtpTls::None),
            "starttls" => Some(SmtpTls::StartTls),
            "tls" | "smtps" => Some(SmtpTls::Tls),
            _ => None,
        }
    }
}

/// Where e-mail goes out.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender address (`cchc@daklak.gov.vn`).
    pub from: String,
    pub tls: SmtpTls,
    /// AUTH (PLAIN or LOGIN, as the server offers) when both are set.
    pub user: Option<String>,
    pub password: Option<String>,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        SmtpConfig {
            host: String::new(),
            port: 25,
            from: String::new(),
            tls: SmtpTls::None,
            user: None,
            password: None,
        }
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from)
            .field("tls", &self.tls)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Why a message could not be sent (for the logs).
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("smtp: {0}")]
    Smtp(#[from] lettre::transport::smtp::Error),
    #[error("message: {0}")]
    Message(#[from] lettre::error::Error),
    #[error("invalid address: {0}")]
    BadAddress(String),
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// An address goes into the envelope and the headers: nothing that could end a line or a
/// bracket is allowed, so no header can be injected; then lettre checks its syntax.
fn check_address(address: &str) -> Result<lettre::message::Mailbox, SmtpError> {
    let bad = || SmtpError::BadAddress(address.chars().take(80).collect());
    let ok = address.contains('@')
        && address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"'));
    if !ok {
        return Err(bad());
    }
    let address: lettre::Address = address.parse().map_err(|_| bad())?;
    Ok(lettre::message::Mailbox::new(None, address))
}

/// The message: UTF-8 plain text, base64 (so no line of it starts with a dot or runs long),
/// CRLF line ends, the subject in RFC 2047 encoded words.
fn message(
    from: lettre::message::Mailbox,
    to: lettre::message::Mailbox,
    subject: &str,
    body: &str,
) -> Result<lettre::Message, SmtpError> {
    use lettre::message::SinglePart;
    use lettre::message::header::{ContentTransferEncoding, ContentType};
    let body = body.replace("\r\n", "\n").replace('\n', "\r\n");
    Ok(lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(subject)
        .singlepart(
            SinglePart::builder()
                .header(ContentType::TEXT_PLAIN)
                .header(ContentTransferEncoding::Base64)
                .body(body),
        )?)
}

/// Sends one plain-text message through the relay (STARTTLS or TLS and AUTH as configured);
/// the connection and every step within 10 seconds.
pub async fn send_email(
    config: &SmtpConfig,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), SmtpError> {
    use lettre::AsyncTransport;
    use lettre::transport::smtp::client::{Tls, TlsParameters};
    let from = check_address(&config.from)?;
    let to = check_address(to)?;
    let message = message(from, to, subject, body)?;
    let tls = match config.tls {
        SmtpTls::None => Tls::None,
        SmtpTls::StartTls => Tls::Required(TlsParameters::new(config.host.clone())?),
        SmtpTls::Tls => Tls::Wrapper(TlsParameters::new(config.host.clone())?),
    };
    let mut transport =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(tls)
            .timeout(Some(SMTP_TIMEOUT));
    if let (Some(user), Some(password)) = (&config.user, &config.password) {
        transport =
            transport.credentials(lettre::transport::smtp::authentication::Credentials::new(
                user.clone(),
                password.clone(),
            ));
    }
    transport.build().send(message).await?;
    Ok(())
}

/// How long an instance holds an e-mail it is sending before another may take it.
const EMAIL_CLAIM_MS: i64 = 5 * 60 * 1000;

/// Sends the pending notifications by e-mail (oldest first, at most 100 per run), each one
/// claimed from the outbox first so that no other instance sends it too, and marked sent;
/// stops at the first failure (giving that one back) so the rest is retried next time.
pub async fn send_pending_emails(
    store: &Store,
    config: &SmtpConfig,
    public_url: Option<&str>,
) -> Result<usize, StoreError> {
    send_pending_emails_as(store, config, public_url, crate::jobs::process_worker()).await
}

/// [`send_pending_emails`] as the worker `worker` (an instance's name in the outbox).
pub async fn send_pending_emails_as(
    store: &Store,
    config: &SmtpConfig,
    public_url: Option<&str>,
    worker: &str,
) -> Result<usize, StoreError> {
    let mut sent = 0;
    for _ in 0..100 {
        let Some(email) = store.claim_email(worker, EMAIL_CLAIM_MS).await? else {
            break;
        };
        let link = match public_url {
            Some(base) if email.link.starts_with('/') => {
                format!("{}{}", base.trim_end_matches('/'), email.link)
            }
            _ => email.link.clone(),
        };
        let mut body = email.body.clone();
        if !link.is_empty() {
            if !body.is_empty() {
                body.push_str("\n\n");
            }
            body.push_str(&link);
        }
        if let Err(error) = send_email(config, &email.email, &email.title, &body).await {
            tracing::warn!(%error, notification = email.notification_id, "e-mail not sent");
            if matches!(error, SmtpError::BadAddress(_)) {
                // A bad address never gets better: do not retry it forever.
                store.mark_email_sent(email.notification_id).await?;
                continue;
            }
            store.release_email(email.notification_id, worker).await?;
            break;
        }
        store.mark_email_sent(email.notification_id).await?;
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_cannot_inject() {
        assert!(check_address("a@b.vn").is_ok());
        assert!(check_address("a@b.vn>\r\nRCPT TO:<x@y").is_err());
        assert!(check_address("nobody").is_err());
    }

    #[test]
    fn the_subject_is_encoded_and_the_body_base64() {
        let m = message(
            check_address("a@b.vn").unwrap(),
            check_address("c@d.vn").unwrap(),
            "Còn 2 ngày đến hạn",
            "Xin chào\nđơn vị",
        )
        .unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.is_ascii(), "{text}");
        assert!(text.contains("Content-Transfer-Encoding: base64"), "{text}");
        assert!(!text.contains("Còn"));
    }

    #[test]
    fn tls_modes_parse() {
        assert_eq!(SmtpTls::parse("STARTTLS"), Some(SmtpTls::StartTls));
        assert_eq!(SmtpTls::parse(""), Some(SmtpTls::None));
        assert_eq!(SmtpTls::parse("tls"), Some(SmtpTls::Tls));
        assert_eq!(SmtpTls::parse("ssl3"), None);
    }

    #[test]
    fn days_are_counted_up() {
        assert_eq!(days_left(5 * 3600 * 1000, 0), 1);
        assert_eq!(days_left(2 * DAY_MS, 0), 2);
        assert_eq!(days_left(2 * DAY_MS + 1, 0), 3);
    }
}
