//! Background notifications: deadline reminders (self-assessment and explanation) created as
//! in-app notifications, and, when an SMTP relay is configured, the e-mail copies of pending
//! notifications sent with a minimal plain-SMTP client (no TLS: a relay inside the province's
//! network is the expected setup).

use std::collections::BTreeSet;
use std::time::Duration;

use parindex_store::appraisal::NewNotification;
use parindex_store::error::StoreError;
use parindex_store::{AuditActor, Store};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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

/// Where e-mail goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    /// The sender address (`cchc@daklak.gov.vn`).
    pub from: String,
}

/// Why a message could not be sent (for the logs).
#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    #[error("smtp i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("smtp timeout")]
    Timeout,
    #[error("smtp server said: {0}")]
    Refused(String),
    #[error("invalid address: {0}")]
    BadAddress(String),
}

const SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// An address goes into the envelope and the headers: nothing that could end a line or a
/// bracket is allowed, so no header can be injected.
fn check_address(address: &str) -> Result<(), SmtpError> {
    let ok = address.contains('@')
        && address.len() <= 254
        && !address
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || matches!(c, '<' | '>' | ',' | '"'));
    if ok {
        Ok(())
    } else {
        Err(SmtpError::BadAddress(address.chars().take(80).collect()))
    }
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> shift) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// A header value in RFC 2047 encoded words (`=?UTF-8?B?...?=`), split so that no encoded
/// word exceeds 75 characters and no UTF-8 character is cut.
pub fn encode_header(text: &str) -> String {
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // 45 bytes of UTF-8 encode to 60 base64 characters, plus 12 for the markers.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
            chunk.clear();
        }
        chunk.push(c);
    }
    if !chunk.is_empty() || words.is_empty() {
        words.push(format!("=?UTF-8?B?{}?=", base64(chunk.as_bytes())));
    }
    words.join("\r\n ")
}

/// The message as sent after DATA (headers, base64 body, CRLF line ends, no final dot).
fn message_text(from: &str, to: &str, subject: &str, body: &str) -> String {
    let encoded = base64(body.replace("\r\n", "\n").replace('\n', "\r\n").as_bytes());
    let mut lines = String::new();
    for line in encoded.as_bytes().chunks(76) {
        lines.push_str(std::str::from_utf8(line).unwrap_or_default());
        lines.push_str("\r\n");
    }
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{lines}",
        encode_header(subject)
    )
}

struct Conversation {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Conversation {
    /// Reads a (possibly multi-line) reply and checks its code.
    async fn expect(&mut self, codes: &[u16]) -> Result<(), SmtpError> {
        let mut last = String::new();
        loop {
            let mut line = String::new();
            let n = tokio::time::timeout(SMTP_TIMEOUT, self.reader.read_line(&mut line))
                .await
                .map_err(|_| SmtpError::Timeout)??;
            if n == 0 {
                return Err(SmtpError::Refused(format!(
                    "connection closed after {last}"
                )));
            }
            if line.len() > 1000 {
                return Err(SmtpError::Refused("reply line too long".into()));
            }
            let more = line.as_bytes().get(3) == Some(&b'-');
            last = line.trim_end().to_owned();
            if !more {
                break;
            }
        }
        let code: u16 = last.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
        if codes.contains(&code) {
            Ok(())
        } else {
            Err(SmtpError::Refused(last.chars().take(200).collect()))
        }
    }

    async fn send(&mut self, text: &str) -> Result<(), SmtpError> {
        tokio::time::timeout(SMTP_TIMEOUT, self.writer.write_all(text.as_bytes()))
            .await
            .map_err(|_| SmtpError::Timeout)??;
        Ok(())
    }

    async fn command(&mut self, line: &str, codes: &[u16]) -> Result<(), SmtpError> {
        self.send(&format!("{line}\r\n")).await?;
        self.expect(codes).await
    }
}

/// Sends one plain-text message: EHLO, MAIL FROM, RCPT TO, DATA, QUIT; every step within
/// 10 seconds.
pub async fn send_email(
    config: &SmtpConfig,
    to: &str,
    subject: &str,
    body: &str,
) -> Result<(), SmtpError> {
    check_address(&config.from)?;
    check_address(to)?;
    let stream = tokio::time::timeout(
        SMTP_TIMEOUT,
        TcpStream::connect((config.host.as_str(), config.port)),
    )
    .await
    .map_err(|_| SmtpError::Timeout)??;
    let (read, writer) = stream.into_split();
    let mut c = Conversation {
        reader: BufReader::new(read),
        writer,
    };
    c.expect(&[220]).await?;
    c.command("EHLO parindex", &[250]).await?;
    c.command(&format!("MAIL FROM:<{}>", config.from), &[250])
        .await?;
    c.command(&format!("RCPT TO:<{to}>"), &[250, 251]).await?;
    c.command("DATA", &[354]).await?;
    // Base64 lines never start with a dot, so no dot-stuffing is needed.
    c.send(&message_text(&config.from, to, subject, body))
        .await?;
    c.command(".", &[250]).await?;
    // The message is accepted; a failed QUIT changes nothing.
    let _ = c.command("QUIT", &[221]).await;
    Ok(())
}

/// Sends the pending notifications by e-mail (oldest first, at most 100 per run) and marks
/// each one sent; stops at the first failure so the rest is retried next time.
pub async fn send_pending_emails(
    store: &Store,
    config: &SmtpConfig,
    public_url: Option<&str>,
) -> Result<usize, StoreError> {
    let mut sent = 0;
    for email in store.pending_emails(100).await? {
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
            break;
        }
        store.mark_email_sent(email.notification_id).await?;
        sent += 1;
    }
    Ok(sent)
}

/// The background loop of `serve`: reminders (and e-mail when configured) at start and then
/// every 15 minutes, errors logged. Runs until the task is aborted.
pub async fn run_background(store: Store, smtp: Option<SmtpConfig>, public_url: Option<String>) {
    let mut ticker = tokio::time::interval(INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match send_deadline_reminders(&store, parindex_store::now_ms()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(created = n, "deadline reminders"),
            Err(error) => tracing::error!(%error, "deadline reminders failed"),
        }
        if let Some(config) = &smtp {
            match send_pending_emails(&store, config, public_url.as_deref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(sent = n, "notification e-mails"),
                Err(error) => tracing::error!(%error, "notification e-mails failed"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn subject_is_encoded_words() {
        assert_eq!(encode_header("Hạn"), "=?UTF-8?B?SOG6oW4=?=");
        let long = encode_header(&"Còn 2 ngày đến hạn tự đánh giá ".repeat(3));
        assert!(long.split("\r\n ").all(|w| w.len() <= 75));
    }

    #[test]
    fn addresses_cannot_inject() {
        assert!(check_address("a@b.vn").is_ok());
        assert!(check_address("a@b.vn>\r\nRCPT TO:<x@y").is_err());
        assert!(check_address("nobody").is_err());
    }

    #[test]
    fn days_are_counted_up() {
        assert_eq!(days_left(5 * 3600 * 1000, 0), 1);
        assert_eq!(days_left(2 * DAY_MS, 0), 2);
        assert_eq!(days_left(2 * DAY_MS + 1, 0), 3);
    }
}
