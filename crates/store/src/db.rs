//! Connecting to SQLite or PostgreSQL through sqlx's Any driver, running the embedded
//! migrations, and the write transaction every state change goes through.

use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Connection, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::audit::{self, AuditActor, AuditEntry};
use crate::error::StoreError;

/// Which database the store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// One migration: its version, its name and the SQL for each backend.
struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }

    /// The file the SQL came from, for messages.
    fn file(&self, backend: Backend) -> String {
        let dir = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        format!(
            "crates/store/migrations/{dir}/{:04}_{}.sql",
            self.version, self.name
        )
    }
}

/// The PostgreSQL advisory lock every instance takes while it migrates (an arbitrary
/// constant: "parindex" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x7061_7269_6e64_6578;

fn sha256_hex(text: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(text.as_bytes()))
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "foundation",
        sqlite: include_str!("../migrations/sqlite/0001_foundation.sql"),
        postgres: include_str!("../migrations/postgres/0001_foundation.sql"),
    },
    Migration {
        version: 2,
        name: "index_sets",
        sqlite: include_str!("../migrations/sqlite/0002_index_sets.sql"),
        postgres: include_str!("../migrations/postgres/0002_index_sets.sql"),
    },
    Migration {
        version: 3,
        name: "self_assessment",
        sqlite: include_str!("../migrations/sqlite/0003_self_assessment.sql"),
        postgres: include_str!("../migrations/postgres/0003_self_assessment.sql"),
    },
    Migration {
        version: 4,
        name: "evidence",
        sqlite: include_str!("../migrations/sqlite/0004_evidence.sql"),
        postgres: include_str!("../migrations/postgres/0004_evidence.sql"),
    },
    Migration {
        version: 5,
        name: "appraisal",
        sqlite: include_str!("../migrations/sqlite/0005_appraisal.sql"),
        postgres: include_str!("../migrations/postgres/0005_appraisal.sql"),
    },
    Migration {
        version: 6,
        name: "survey",
        sqlite: include_str!("../migrations/sqlite/0006_survey.sql"),
        postgres: include_str!("../migrations/postgres/0006_survey.sql"),
    },
    Migration {
        version: 7,
        name: "explanation_deadlines",
        sqlite: include_str!("../migrations/sqlite/0007_explanation_deadlines.sql"),
        postgres: include_str!("../migrations/postgres/0007_explanation_deadlines.sql"),
    },
    Migration {
        version: 8,
        name: "instances",
        sqlite: include_str!("../migrations/sqlite/0008_instances.sql"),
        postgres: include_str!("../migrations/postgres/0008_instances.sql"),
    },
];

/// How SQLite syncs a commit to disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    /// Every commit is on disk before it is acknowledged, like evidence files, which are
    /// fsynced before their upload is answered (the default).
    #[default]
    Full,
    /// In WAL mode, a commit survives a crash of the process but the last commits before a
    /// power loss or an OS crash may be lost (the database stays consistent). Faster writes.
    Normal,
}

impl SqliteSync {
    /// `full` or `normal` (case-insensitive), as `PARINDEX_SQLITE_SYNCHRONOUS` states it.
    pub fn parse(text: &str) -> Option<SqliteSync> {
        match text.trim().to_ascii_lowercase().as_str() {
            "full" => Some(SqliteSync::Full),
            "normal" => Some(SqliteSync::Normal),
            _ => None,
        }
    }

    fn pragma(self) -> &'static str {
        match self {
            SqliteSync::Full => "PRAGMA synchronous = FULL;",
            SqliteSync::Normal => "PRAGMA synchronous = NORMAL;",
        }
    }
}

/// How the store connects: pool size, how long a request waits for a connection, durability.
#[derive(Debug, Clone, Copy)]
pub struct StoreOptions {
    pub max_connections: u32,
    /// How long a request waits for a pooled connection (or a new one) before it is answered
    /// "temporarily unavailable"; a database outage then costs seconds, not minutes.
    pub acquire_timeout: Duration,
    pub sqlite_synchronous: SqliteSync,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            sqlite_synchronous: SqliteSync::Full,
        }
    }
}

/// What `/readyz` learns from [`Store::readiness`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// A write transaction can start (and, on SQLite, allocate space).
    Ready,
    /// The database has no room for a write.
    StorageFull,
    /// The database is unreachable, locked or too slow; the reason is for operators.
    Unavailable(String),
}

/// The handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time. Queuing writers here, in order, instead of letting
    /// them collide on the file lock is what keeps concurrent saves from failing.
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// The longest a request waits for a connection, the SQLite write lock or the writer
    /// queue before it is told the database is unavailable.
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish()
    }
}

impl Store {
    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`) and runs migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        Self::connect_with(
            url,
            StoreOptions {
                max_connections,
                ..StoreOptions::default()
            },
        )
        .await
    }

    /// [`Store::connect`] with every option.
    pub async fn connect_with(url: &str, options: StoreOptions) -> Result<Store, StoreError> {
        let StoreOptions {
            max_connections,
            acquire_timeout,
            sqlite_synchronous,
        } = options;
        sqlx::any::install_default_drivers();
        let acquire_timeout = acquire_timeout.max(Duration::from_millis(100));
        let busy_timeout_ms = acquire_timeout.as_millis().min(i32::MAX as u128);
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Invalid(format!(
                "unsupported database URL (expected sqlite:// or postgres://): {}",
                redact_url(url)
            )));
        };
        let options: AnyConnectOptions = url.parse()?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(acquire_timeout)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Another process holding the write lock (the CLI, a backup) is waited
                        // for as long as a pooled connection would be, then reported as busy.
                        conn.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_timeout_ms};"
                        ))))
                        .await?;
                        conn.execute(sqlx::raw_sql(sqlite_synchronous.pragma()))
                            .await?;
                    }
                    Ok(())
                })
            })
            // A connection whose transaction could not be ended (a COMMIT or ROLLBACK that
            // failed, e.g. on a full disk, after SQLite had already rolled back) would refuse
            // every later BEGIN ("non-zero transaction depth"): it is closed instead of being
            // pooled again, and the pool opens a fresh one.
            .after_release(|conn, _meta| {
                Box::pin(async move {
                    if !conn.is_in_transaction() {
                        return Ok(true);
                    }
                    // A rollback queued by a dropped transaction runs on the next use: flush it.
                    if conn.ping().await.is_err() {
                        return Ok(false);
                    }
                    let healthy = !conn.is_in_transaction();
                    if !healthy {
                        tracing::warn!(
                            "discarding a database connection left inside a transaction"
                        );
                    }
                    Ok(healthy)
                })
            })
            .connect_with(options)
            .await?;
        if backend == Backend::Sqlite {
            pool.execute(sqlx::raw_sql("PRAGMA journal_mode = WAL;"))
                .await?;
        }
        let store = Store {
            pool,
            backend,
            sqlite_writer: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            acquire_timeout,
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for the repositories of this crate only: outside it every change goes
    /// through [`Store::begin_write`] and its audit record.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Closes every connection (a backup or restore then has the file to itself).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// True when the database answers a trivial query (used by /readyz).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// Whether a write can happen now, answered within `deadline`: a write transaction
    /// begins (SQLite: takes the write lock and allocates 64 KiB, then rolls back; PostgreSQL:
    /// a read-write transaction, refused on a standby).
    pub async fn readiness(&self, deadline: Duration) -> Readiness {
        match tokio::time::timeout(deadline, self.probe_write()).await {
            Ok(Ok(())) => Readiness::Ready,
            Ok(Err(e)) if e.is_storage_full() => Readiness::StorageFull,
            Ok(Err(e)) => Readiness::Unavailable(e.to_string()),
            Err(_) => Readiness::Unavailable(format!(
                "no write transaction could start within {} ms",
                deadline.as_millis()
            )),
        }
    }

    async fn probe_write(&self) -> Result<(), StoreError> {
        let _writer = self.lock_writer_bounded().await?;
        match self.backend {
            Backend::Sqlite => {
                let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
                // Rolled back: nothing is kept, but the pages must fit in the database.
                tx.execute(sqlx::raw_sql(
                    "CREATE TABLE parindex_readiness_probe (b BLOB); \
                     INSERT INTO parindex_readiness_probe VALUES (zeroblob(65536));",
                ))
                .await?;
                tx.rollback().await?;
            }
            Backend::Postgres => {
                let mut tx = self.pool.begin_with("BEGIN READ WRITE").await?;
                tx.execute(sqlx::raw_sql("SELECT 1")).await?;
                tx.rollback().await?;
            }
        }
        Ok(())
    }

    /// Writes a consistent copy of the SQLite database to `dest` (a file that must not exist)
    /// with `VACUUM INTO`: one read transaction, so the copy is the database as of one
    /// commit, while the server goes on serving and writing.
    pub async fn sqlite_backup_into(&self, dest: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Invalid(
                "VACUUM INTO is for SQLite; back PostgreSQL up with pg_dump".into(),
            ));
        }
        let dest = dest
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup path is not valid UTF-8".into()))?;
        sqlx::query("VACUUM INTO $1")
            .bind(dest)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// True when the database holds anything a person entered: an account or an audit record.
    pub async fn holds_data(&self) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT CAST((SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM audit_log) AS BIGINT)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(count > 0)
    }

    /// The head of the audit chain: the last record's number and hash.
    pub async fn audit_head(&self) -> Result<(i64, String), StoreError> {
        use sqlx::Row;
        let row = sqlx::query("SELECT seq, last_hash FROM audit_head WHERE id = 1")
            .fetch_one(&self.pool)
            .await?;
        Ok((row.try_get("seq")?, row.try_get("last_hash")?))
    }

    /// A SQLite pragma's value, for checks and operations (`journal_mode` "wal",
    /// `foreign_keys` "1", `synchronous` "2" for FULL).
    pub async fn sqlite_pragma(&self, pragma: &'static str) -> Result<String, StoreError> {
        use sqlx::Row;
        let sql = match pragma {
            "journal_mode" => "PRAGMA journal_mode",
            "foreign_keys" => "PRAGMA foreign_keys",
            "synchronous" => "PRAGMA synchronous",
            _ => return Err(StoreError::Invalid("unknown pragma".into())),
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        // journal_mode answers text, foreign_keys an integer.
        Ok(row
            .try_get::<String, _>(pragma)
            .or_else(|_| row.try_get::<i64, _>(pragma).map(|v| v.to_string()))?)
    }

    /// Applies the migrations not yet applied, each in its own transaction, after checking
    /// that every migration already applied is still the file it was (its SHA-256). On
    /// PostgreSQL the whole run holds an advisory lock, so instances starting together apply
    /// each migration once; on SQLite the writer queue and each migration's `BEGIN IMMEDIATE`
    /// do the same for this process and any other.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let _writer = self.lock_writer().await;
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT CAST(1 AS BIGINT) AS locked FROM pg_advisory_lock($1)")
                .bind(MIGRATION_LOCK_KEY)
                .fetch_one(&mut *conn)
                .await?;
        }
        let outcome = self.migrate_on(&mut conn).await;
        if self.backend == Backend::Postgres {
            let unlocked =
                sqlx::query("SELECT CAST(1 AS BIGINT) AS unlocked FROM pg_advisory_unlock($1)")
                    .bind(MIGRATION_LOCK_KEY)
                    .fetch_one(&mut *conn)
                    .await;
            if unlocked.is_err() {
                // A session lock lives as long as its connection: never pool it again.
                conn.close().await.ok();
            }
        }
        outcome
    }

    async fn migrate_on(&self, conn: &mut sqlx::AnyConnection) -> Result<(), StoreError> {
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL, checksum TEXT)",
        )
        .execute(&mut *conn)
        .await?;
        // Databases migrated before checksums were recorded have the table without the column.
        let has_checksum = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = 0")
            .fetch_optional(&mut *conn)
            .await
            .is_ok();
        if !has_checksum {
            sqlx::query("ALTER TABLE schema_migrations ADD COLUMN checksum TEXT")
                .execute(&mut *conn)
                .await?;
        }
        for migration in MIGRATIONS {
            let sql = migration.sql(self.backend);
            let checksum = sha256_hex(sql);
            let begin = match self.backend {
                Backend::Sqlite => "BEGIN IMMEDIATE",
                Backend::Postgres => "BEGIN",
            };
            let mut tx = sqlx::Connection::begin_with(&mut *conn, begin).await?;
            // Read inside the transaction: on SQLite another process may have just applied it.
            let applied = sqlx::query("SELECT checksum FROM schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(row) = applied {
                use sqlx::Row;
                match row.try_get::<Option<String>, _>("checksum")? {
                    Some(recorded) if recorded == checksum => {}
                    Some(recorded) => {
                        return Err(StoreError::MigrationChanged {
                            file: migration.file(self.backend),
                            applied: recorded,
                            current: checksum,
                        });
                    }
                    None => {
                        // Applied before checksums existed: the file as it is now is taken as
                        // the one applied, and any later change is refused.
                        sqlx::query(
                            "UPDATE schema_migrations SET checksum = $1 WHERE version = $2",
                        )
                        .bind(&checksum)
                        .bind(migration.version)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                tx.commit().await?;
                continue;
            }
            tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at, checksum) VALUES ($1, $2, $3, $4)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::now_ms())
            .bind(&checksum)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(
                version = migration.version,
                name = migration.name,
                "migration applied"
            );
        }
        Ok(())
    }

    pub(crate) async fn lock_writer(&self) -> Option<OwnedMutexGuard<()>> {
        match &self.sqlite_writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        }
    }

    /// [`Store::lock_writer`], waiting at most the acquire timeout (then "unavailable").
    async fn lock_writer_bounded(&self) -> Result<Option<OwnedMutexGuard<()>>, StoreError> {
        tokio::time::timeout(self.acquire_timeout, self.lock_writer())
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::PoolTimedOut))
    }

    /// Begins a state-changing transaction on behalf of `actor`.
    pub async fn begin_write(&self, actor: AuditActor) -> Result<WriteTx, StoreError> {
        let guard = self.lock_writer_bounded().await?;
        let tx = match self.backend {
            // IMMEDIATE takes the write lock up front, so a reader never has to upgrade and
            // fail with SQLITE_BUSY halfway through (another process, such as the CLI, may
            // also write).
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(WriteTx {
            tx,
            backend: self.backend,
            actor,
            audited: 0,
            _writer: guard,
        })
    }
}

/// A state-changing transaction. Every change made through it must be recorded with
/// [`WriteTx::audit`]; [`WriteTx::commit`] refuses to commit a transaction that recorded none.
pub struct WriteTx {
    pub(crate) tx: Transaction<'static, sqlx::Any>,
    backend: Backend,
    actor: AuditActor,
    audited: usize,
    _writer: Option<OwnedMutexGuard<()>>,
}

impl WriteTx {
    /// The connection, for the repository functions of this crate.
    pub(crate) fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.tx
    }

    pub fn actor(&self) -> &AuditActor {
        &self.actor
    }

    /// The backend this transaction runs on, for the few statements whose best shape differs
    /// (bulk inserts).
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Appends an audit record for a change made in this transaction.
    pub async fn audit(
        &mut self,
        action: &str,
        object_type: &str,
        object_id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> Result<AuditEntry, StoreError> {
        let entry = audit::append(
            &mut self.tx,
            &self.actor,
            action,
            object_type,
            &object_id.to_string(),
            before,
            after,
        )
        .await?;
        self.audited += 1;
        Ok(entry)
    }

    /// Commits the change together with its audit records.
    pub async fn commit(self) -> Result<(), StoreError> {
        if self.audited == 0 {
            return Err(StoreError::MissingAudit);
        }
        self.tx.commit().await?;
        Ok(())
    }
}

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}://{}:***@{}", &url[..scheme_end], user, &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}
