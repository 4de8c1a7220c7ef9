//! Configuration from flags and PARINDEX_* environment variables, read once into typed
//! structs; and starting the server with it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use parindex_store::{SqliteSync, Store, StoreOptions};
use parindex_web::server::ServerLimits;
use parindex_web::{AppState, WebConfig};

/// Where the data lives.
#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Folder for the embedded database and evidence files.
    #[arg(long, env = "PARINDEX_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL: sqlite://path?mode=rwc or postgres://user@host/db. Default: SQLite in the data folder.
    #[arg(long, env = "PARINDEX_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Evidence storage: a local folder (file:///path, or a plain path) or s3://bucket/prefix
    /// (with PARINDEX_S3_ENDPOINT, _REGION, _ACCESS_KEY_ID, _SECRET_ACCESS_KEY). Default: <data-dir>/evidence.
    #[arg(long, env = "PARINDEX_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Database connections in the pool.
    #[arg(long, env = "PARINDEX_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Seconds a request waits for a database connection before it is answered 503
    /// ("temporarily unavailable", with Retry-After).
    #[arg(
        long,
        env = "PARINDEX_DB_ACQUIRE_TIMEOUT_SECONDS",
        default_value_t = 5.0
    )]
    pub db_acquire_timeout_seconds: f64,
    /// SQLite durability: `full` (every acknowledged write survives a power loss) or
    /// `normal` (faster; the last commits may be lost on a power loss, never corrupted).
    #[arg(long, env = "PARINDEX_SQLITE_SYNCHRONOUS", default_value = "full", value_parser = parse_sync)]
    pub sqlite_synchronous: SqliteSync,
}

fn parse_sync(text: &str) -> Result<SqliteSync, String> {
    SqliteSync::parse(text).ok_or_else(|| format!("expected full or normal, not {text}"))
}

/// A positive number of seconds (fractions allowed, e.g. 0.5).
fn seconds(value: f64) -> Duration {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .unwrap_or(Duration::from_millis(1))
}

impl DbArgs {
    /// Creates the data folder as needed, connects and migrates. Returns the store and the
    /// evidence storage URL.
    pub async fn open(&self) -> Result<(Store, String), String> {
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => {
                std::fs::create_dir_all(&self.data_dir)
                    .map_err(|e| format!("cannot create {}: {e}", self.data_dir.display()))?;
                format!(
                    "sqlite://{}?mode=rwc",
                    self.data_dir.join("parindex.db").display()
                )
            }
        };
        let evidence = self.evidence_url();
        let options = StoreOptions {
            max_connections: self.db_max_connections.max(1),
            acquire_timeout: seconds(self.db_acquire_timeout_seconds),
            sqlite_synchronous: self.sqlite_synchronous,
        };
        let store = Store::connect_with(&url, options).await.map_err(|e| {
            format!(
                "cannot open the database {}: {e}",
                parindex_store::db::redact_url(&url)
            )
        })?;
        Ok((store, evidence))
    }

    fn evidence_url(&self) -> String {
        match self.storage_url.as_deref() {
            Some(url) => url.to_owned(),
            None => self.data_dir.join("evidence").display().to_string(),
        }
    }

    /// Opens the evidence store (creating a local folder if needed).
    pub fn open_evidence(&self) -> Result<parindex_store::evidence::EvidenceStore, String> {
        let url = self.evidence_url();
        parindex_store::evidence::EvidenceStore::from_env(&url)
            .map_err(|e| format!("evidence storage {url}: {e}"))
    }
}

/// Settings of `serve` and `demo`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on.
    #[arg(long, env = "PARINDEX_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The province's name, shown in the header.
    #[arg(long, env = "PARINDEX_PROVINCE_NAME")]
    pub province_name: Option<String>,
    /// The public URL: the start of survey links and QR codes and of links in e-mails; an
    /// https:// URL makes cookies Secure.
    #[arg(long, env = "PARINDEX_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Minutes of inactivity that end a session.
    #[arg(long, env = "PARINDEX_SESSION_IDLE_MINUTES", default_value_t = 30)]
    pub session_idle_minutes: u64,
    /// The largest evidence file accepted, in MB.
    #[arg(long, env = "PARINDEX_MAX_UPLOAD_MB", default_value_t = 100)]
    pub max_upload_mb: u64,
    /// Hours after which a session ends, however active.
    #[arg(long, env = "PARINDEX_SESSION_MAX_HOURS", default_value_t = 12)]
    pub session_max_hours: u64,
    /// Reverse proxies (IP addresses or CIDR networks, comma-separated) whose
    /// X-Forwarded-For header gives the client's address for login throttling; without
    /// them the socket address is the client's and the header is ignored.
    #[arg(long, env = "PARINDEX_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// An SMTP relay for e-mail copies of notifications; none: in-app only.
    #[arg(long, env = "PARINDEX_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// The relay's port.
    #[arg(long, env = "PARINDEX_SMTP_PORT", default_value_t = 25)]
    pub smtp_port: u16,
    /// The sender address of notification e-mails (required with PARINDEX_SMTP_HOST).
    #[arg(long, env = "PARINDEX_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// How the relay connection is secured: `none` (plain SMTP, the default), `starttls`
    /// (required upgrade, usually port 587) or `tls` (TLS from the start, usually port 465).
    #[arg(long, env = "PARINDEX_SMTP_TLS", default_value = "none")]
    pub smtp_tls: String,
    /// The relay's user name for AUTH (with PARINDEX_SMTP_PASSWORD); none: no AUTH.
    #[arg(long, env = "PARINDEX_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// The relay's password for AUTH.
    #[arg(long, env = "PARINDEX_SMTP_PASSWORD", hide_env_values = true)]
    pub smtp_password: Option<String>,
    /// Seconds a background job stays claimed by an instance without renewal: the jobs of an
    /// instance that died are taken over by another after this long.
    #[arg(long, env = "PARINDEX_JOB_LEASE_SECONDS", default_value_t = 60.0)]
    pub job_lease_seconds: f64,
    /// Seconds a client has to send a request's headers; a slower one is disconnected.
    #[arg(
        long,
        env = "PARINDEX_HEADER_READ_TIMEOUT_SECONDS",
        default_value_t = 15.0
    )]
    pub header_read_timeout_seconds: f64,
    /// Seconds a connection may stay silent (an idle keep-alive) before it is closed.
    #[arg(long, env = "PARINDEX_IDLE_TIMEOUT_SECONDS", default_value_t = 10.0)]
    pub idle_timeout_seconds: f64,
    /// Connections served at once (kept below the open-files limit); more are answered 503.
    #[arg(long, env = "PARINDEX_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Seconds requests in flight get to finish after SIGTERM before connections are closed.
    #[arg(
        long,
        env = "PARINDEX_SHUTDOWN_TIMEOUT_SECONDS",
        default_value_t = 20.0
    )]
    pub shutdown_timeout_seconds: f64,
}

impl ServeArgs {
    /// The server's limits, the connection limit kept under the open-files limit `nofile`
    /// (with room for the database, evidence files and logs).
    fn limits(&self, nofile: Option<u64>) -> ServerLimits {
        let mut max_connections = self.max_connections.max(1);
        if let Some(nofile) = nofile {
            let room = usize::try_from(nofile.saturating_sub(FD_RESERVE))
                .unwrap_or(usize::MAX)
                .max(1);
            if max_connections > room {
                tracing::warn!(
                    configured = max_connections,
                    open_files_limit = nofile,
                    using = room,
                    "PARINDEX_MAX_CONNECTIONS is above what the open-files limit allows"
                );
                max_connections = room;
            }
        }
        ServerLimits {
            header_read_timeout: seconds(self.header_read_timeout_seconds),
            idle_timeout: seconds(self.idle_timeout_seconds),
            max_connections,
            shutdown_timeout: seconds(self.shutdown_timeout_seconds),
        }
    }
}

/// File descriptors kept for everything but client connections.
const FD_RESERVE: u64 = 128;

/// Raises the open-files soft limit to the hard limit (a systemd unit starts at 1,024 soft
/// with a much larger hard limit); returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_open_files_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => {
            tracing::info!(from = soft, to = hard, "raised the open-files limit");
            Some(hard)
        }
        Err(e) => {
            tracing::warn!(soft, hard, error = %e, "could not raise the open-files limit");
            Some(soft)
        }
    }
}

#[cfg(not(unix))]
pub fn raise_open_files_limit() -> Option<u64> {
    None
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("PARINDEX_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn"));
    let json = std::env::var("PARINDEX_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

pub async fn serve(mut args: ServeArgs, demo: bool) -> Result<(), String> {
    let limits = args.limits(raise_open_files_limit());
    if demo {
        // The demo never touches real data: it gets its own folder, wiped at each start, for
        // its SQLite database and its evidence files. A configured evidence storage is
        // ignored (the demo would mix its files into real ones); a configured database is
        // used only if it holds no accounts yet (checked below), since it is never wiped.
        args.db.data_dir = args.db.data_dir.join("demo");
        let _ = std::fs::remove_dir_all(&args.db.data_dir);
        if args.db.storage_url.take().is_some() {
            eprintln!(
                "demo: PARINDEX_STORAGE_URL is ignored; demo evidence goes to {}",
                args.db.data_dir.join("evidence").display()
            );
        }
    }
    let (store, evidence) = args.db.open().await?;
    if demo
        && args.db.database_url.is_some()
        && !store
            .list_users()
            .await
            .map_err(|e| e.to_string())?
            .is_empty()
    {
        return Err(format!(
            "demo: cơ sở dữ liệu {} đã có tài khoản, có thể là dữ liệu thật; bản demo chỉ chạy trên cơ sở dữ liệu trống. \
             Bỏ PARINDEX_DATABASE_URL để dùng ./data/demo/ (the database already holds accounts; the demo refuses to write into it)",
            parindex_store::db::redact_url(args.db.database_url.as_deref().unwrap_or_default())
        ));
    }
    let evidence_store = args.db.open_evidence()?;
    let province_name = match (&args.province_name, demo) {
        (Some(name), _) => name.clone(),
        (None, true) => crate::demo::PROVINCE_NAME.to_owned(),
        (None, false) => WebConfig::default().province_name,
    };
    if demo {
        let accounts = crate::demo::seed(&store).await?;
        crate::demo::print_accounts(&accounts, args.bind);
    } else if store
        .list_users()
        .await
        .map_err(|e| e.to_string())?
        .is_empty()
    {
        eprintln!(
            "No accounts yet. Create the first administrator with:\n  parindex user create --username admin --full-name \"Quản trị hệ thống\" --role system_admin"
        );
    }
    let config = WebConfig {
        province_name,
        demo,
        secure_cookies: args
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://")),
        public_url: args.public_url.clone().filter(|u| !u.trim().is_empty()),
        session_idle_timeout: Duration::from_secs(args.session_idle_minutes.max(1) * 60),
        session_absolute_timeout: Duration::from_secs(args.session_max_hours.max(1) * 3600),
        max_upload_bytes: args.max_upload_mb.max(1).saturating_mul(1024 * 1024),
        trusted_proxies: parindex_web::client_ip::IpNet::parse_list(&args.trusted_proxies)
            .map_err(|e| format!("PARINDEX_TRUSTED_PROXIES: {e}"))?,
        ..WebConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.bind))?;
    tracing::info!(
        bind = %args.bind,
        backend = ?store.backend(),
        evidence = %evidence,
        "parindex listening on http://{}",
        args.bind
    );
    let smtp = smtp_config(&args)?;
    let mut app = parindex_app::App::new(store.clone(), evidence_store.clone());
    app.jobs = std::sync::Arc::new(parindex_app::jobs::JobSettings {
        lease: seconds(args.job_lease_seconds.max(1.0)),
        ..parindex_app::jobs::JobSettings::default()
    });
    // The job runner of this instance: survey imports, deadline reminders and the e-mail
    // outbox, shared through the job table with every other instance; stopped with the server.
    let runner = parindex_app::jobs::start(
        app.clone(),
        parindex_app::jobs::RunnerConfig {
            smtp,
            public_url: args.public_url.clone(),
        },
    );
    // Uploads cut off by a crash: swept at start and then every hour (ADR 0004).
    let sweeper = tokio::spawn(parindex_app::maintenance::sweep_uploads_periodically(
        store.clone(),
        evidence_store.clone(),
        config.upload_timeout,
    ));
    let served = parindex_web::serve_with(
        listener,
        AppState::from_app(app, config),
        limits,
        shutdown_signal(),
    )
    .await;
    runner.stop().await;
    sweeper.abort();
    served.map_err(|e| e.to_string())?;
    tracing::info!("stopped");
    Ok(())
}

/// The relay settings, `None` without PARINDEX_SMTP_HOST.
fn smtp_config(args: &ServeArgs) -> Result<Option<parindex_app::notify::SmtpConfig>, String> {
    let tls = parindex_app::notify::SmtpTls::parse(&args.smtp_tls).ok_or_else(|| {
        format!(
            "PARINDEX_SMTP_TLS: expected none, starttls or tls, not {}",
            args.smtp_tls
        )
    })?;
    let user = args.smtp_user.clone().filter(|u| !u.is_empty());
    let password = args.smtp_password.clone().filter(|p| !p.is_empty());
    if user.is_some() != password.is_some() {
        return Err("PARINDEX_SMTP_USER and PARINDEX_SMTP_PASSWORD go together".into());
    }
    match (&args.smtp_host, &args.smtp_from) {
        (Some(host), Some(from)) if !host.is_empty() => {
            Ok(Some(parindex_app::notify::SmtpConfig {
                host: host.clone(),
                port: args.smtp_port,
                from: from.clone(),
                tls,
                user,
                password,
            }))
        }
        (Some(host), None) if !host.is_empty() => {
            Err("PARINDEX_SMTP_HOST needs PARINDEX_SMTP_FROM (the sender address)".into())
        }
        _ => Ok(None),
    }
}

/// Resolves on Ctrl-C or SIGTERM; the server then finishes the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing requests in flight");
}
