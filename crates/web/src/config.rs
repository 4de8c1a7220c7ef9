//! Web settings, read once (by the CLI from flags and PARINDEX_* variables) into a typed struct.

use std::time::Duration;

/// How the web layer behaves. `Default` is the zero-configuration embedded setup.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Shown in the header: the province running the evaluation.
    pub province_name: String,
    /// True for `parindex demo`: every page carries a demo banner.
    pub demo: bool,
    /// Sets `Secure` on cookies; on when the public URL is https.
    pub secure_cookies: bool,
    /// The address the public reaches the server at (`PARINDEX_PUBLIC_URL`, e.g.
    /// `https://cchc.example.gov.vn`), used for survey links and QR codes; without it they
    /// are built from the request's host.
    pub public_url: Option<String>,
    /// A session unused this long is ended.
    pub session_idle_timeout: Duration,
    /// A session this old is ended, however active.
    pub session_absolute_timeout: Duration,
    /// Failed logins per account within the window before delays start for the account.
    pub login_max_failures_per_account: i64,
    /// Failed logins per IP address within the window before delays start for the address.
    pub login_max_failures_per_ip: i64,
    /// How long a failed login is remembered.
    pub login_failure_window: Duration,
    /// The wait after the first failure past the free ones; it doubles with each further
    /// failure (never a lockout: the right password works once the wait has passed).
    pub login_delay_base: Duration,
    /// The longest wait between two attempts of a throttled account or address.
    pub login_delay_max: Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed for the client's address
    /// (`PARINDEX_TRUSTED_PROXIES`); empty: the socket address is the client's.
    pub trusted_proxies: Vec<crate::client_ip::IpNet>,
    /// Largest request body for ordinary forms and imports.
    pub max_body_bytes: usize,
    /// A request taking longer is answered 408 (evidence uploads have their own, longer limit).
    pub request_timeout: Duration,
    /// The largest evidence file accepted.
    pub max_upload_bytes: u64,
    /// How long an evidence upload may take.
    pub upload_timeout: Duration,
}

impl WebConfig {
    /// The login delay policy, in the store's terms.
    pub fn login_delays(&self) -> parindex_store::throttle::DelayPolicy {
        parindex_store::throttle::DelayPolicy {
            base_ms: i64::try_from(self.login_delay_base.as_millis()).unwrap_or(i64::MAX),
            max_ms: i64::try_from(self.login_delay_max.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            province_name: "Chỉ số cải cách hành chính".into(),
            demo: false,
            secure_cookies: false,
            public_url: None,
            session_idle_timeout: Duration::from_secs(30 * 60),
            session_absolute_timeout: Duration::from_secs(12 * 3600),
            login_max_failures_per_account: 5,
            login_max_failures_per_ip: 30,
            login_failure_window: Duration::from_secs(3600),
            login_delay_base: Duration::from_secs(2),
            login_delay_max: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            request_timeout: Duration::from_secs(60),
            max_upload_bytes: 100 * 1024 * 1024,
            upload_timeout: Duration::from_secs(30 * 60),
        }
    }
}
