//! Connecting to SQLite or PostgreSQL through sqlx's Any driver, running the embedded
//! migrations, and the write transaction every state change goes through.

use std::sync::Arc;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor, Transaction};
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
];

/// The handle to the database. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite allows one writer at a time. Queuing writers here, in order, instead of letting
    /// them collide on the file lock is what keeps concurrent saves from failing.
    sqlite_writer: Option<Arc<Mutex<()>>>,
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
        sqlx::any::install_default_drivers();
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
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(sqlx::raw_sql(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;",
                        ))
                        .await?;
                    }
                    Ok(())
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
        };
        store.migrate().await?;
        Ok(store)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// True when the database answers a trivial query (used by /readyz).
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    /// The SQLite journal mode, for checks and operations ("wal" expected).
    pub async fn sqlite_pragma(&self, pragma: &'static str) -> Result<String, StoreError> {
        use sqlx::Row;
        let sql = match pragma {
            "journal_mode" => "PRAGMA journal_mode",
            "foreign_keys" => "PRAGMA foreign_keys",
            _ => return Err(StoreError::Invalid("unknown pragma".into())),
        };
        let row = sqlx::query(sql).fetch_one(&self.pool).await?;
        // journal_mode answers text, foreign_keys an integer.
        Ok(row
            .try_get::<String, _>(0)
            .or_else(|_| row.try_get::<i64, _>(0).map(|v| v.to_string()))?)
    }

    /// Applies the migrations not yet applied, each in its own transaction.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        use sqlx::Row;
        let _writer = self.lock_writer().await;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>(0))
            .collect::<Result<_, _>>()?;
        for migration in MIGRATIONS {
            if applied.contains(&migration.version) {
                continue;
            }
            let sql = match self.backend {
                Backend::Sqlite => migration.sqlite,
                Backend::Postgres => migration.postgres,
            };
            let mut tx = self.pool.begin().await?;
            tx.execute(sqlx::raw_sql(sqlx::AssertSqlSafe(sql))).await?;
            sqlx::query(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(migration.version)
            .bind(migration.name)
            .bind(crate::now_ms())
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

    /// Begins a state-changing transaction on behalf of `actor`.
    pub async fn begin_write(&self, actor: AuditActor) -> Result<WriteTx, StoreError> {
        let guard = self.lock_writer().await;
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
    /// The connection, for repository functions.
    pub fn conn(&mut self) -> &mut sqlx::AnyConnection {
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
