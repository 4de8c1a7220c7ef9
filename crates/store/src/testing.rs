//! Test support shared by every crate's tests: a fresh database on SQLite or on PostgreSQL (the
//! server in `PARINDEX_TEST_DATABASE_URL`), so the same test proves both, removed again when the
//! test ends, even by a panic.

use crate::{Backend, Store};

/// The environment variable naming a PostgreSQL server for tests (any database on it; each test
/// creates and drops its own).
pub const PG_URL_VAR: &str = "PARINDEX_TEST_DATABASE_URL";

/// A fresh, migrated database, removed when this value is dropped (also when the test panics),
/// so a failing test leaks nothing. `cleanup` does the same without blocking.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Option<Cleanup>,
}

#[derive(Debug)]
enum Cleanup {
    File(std::path::PathBuf),
    PgDatabase { admin_url: String, name: String },
}

fn random_suffix() -> String {
    let mut bytes = [0u8; 6];
    getrandom::fill(&mut bytes).expect("OS randomness");
    hex::encode(bytes)
}

/// The reason a PostgreSQL test is ignored where no server is configured (the `ignore` text of
/// `both_backends!`; the web tests use the same words).
pub const NEEDS_POSTGRES: &str = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL";

impl TestDb {
    /// A new database on `backend`. PostgreSQL tests are ignored at compile time where no server
    /// is configured (the `parindex_pg` cfg, see `build-support/test_services.rs`), so reaching
    /// this without `PARINDEX_TEST_DATABASE_URL` (under `CI=true`, or with `--ignored`) fails.
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("parindex-test-{}", random_suffix()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path = dir.join("test.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                // The guard exists before the store, so that a failed connect removes the folder.
                let cleanup = Some(Cleanup::File(dir));
                let store = Store::connect(&url, 8).await.expect("sqlite store");
                TestDb {
                    store,
                    url,
                    cleanup,
                }
            }
            Backend::Postgres => {
                let admin_url = pg_url();
                let name = format!("parindex_test_{}", random_suffix());
                let admin = Store::connect_admin(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = replace_db_name(&admin_url, &name);
                let cleanup = Cleanup::PgDatabase { admin_url, name };
                let store = match Store::connect(&url, 8).await {
                    Ok(store) => store,
                    Err(e) => {
                        cleanup.run_blocking();
                        panic!("postgres store: {e}");
                    }
                };
                TestDb {
                    store,
                    url,
                    cleanup: Some(cleanup),
                }
            }
        }
    }

    /// Closes the pool and removes the database (what `Drop` does, without blocking a thread).
    pub async fn cleanup(mut self) {
        self.store.pool().close().await;
        if let Some(cleanup) = self.cleanup.take() {
            cleanup.run().await;
        }
    }
}

impl Cleanup {
    async fn run(self) {
        match self {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::PgDatabase { admin_url, name } => {
                let admin = Store::connect_admin(&admin_url).await;
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&admin)
                .await;
                admin.close().await;
            }
        }
    }

    /// `run` from synchronous code, on a thread and runtime of its own: `Drop` may run inside
    /// the test's runtime (which must not be blocked) or while it unwinds.
    fn run_blocking(self) {
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime")
                .block_on(self.run());
        })
        .join();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            // FORCE ends the connections the pool still holds.
            cleanup.run_blocking();
        }
    }
}

/// The PostgreSQL server for tests; panics, saying what to set, when there is none.
pub fn pg_url() -> String {
    match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{NEEDS_POSTGRES} (e.g. {PG_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres); \
             under CI=true the PostgreSQL tests are required"
        ),
    }
}

/// An empty PostgreSQL database on the test server, not yet migrated (for tests of the
/// migrations themselves); panics like [`pg_url`] when no server is configured. Drop it with
/// [`EmptyPgDatabase::drop_database`].
pub async fn empty_pg_database() -> EmptyPgDatabase {
    let admin_url = pg_url();
    let name = format!("parindex_test_{}", random_suffix());
    let admin = Store::connect_admin(&admin_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    EmptyPgDatabase {
        url: replace_db_name(&admin_url, &name),
        admin_url,
        name,
    }
}

/// See [`empty_pg_database`].
#[derive(Debug)]
pub struct EmptyPgDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl EmptyPgDatabase {
    /// Drops the database (closing whatever is still connected to it).
    pub async fn drop_database(self) {
        let admin = Store::connect_admin(&self.admin_url).await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        )))
        .execute(&admin)
        .await;
        admin.close().await;
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Store {
    async fn connect_admin(url: &str) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect to the PostgreSQL test server")
    }
}

/// Raw access and bulk fixtures for tests and benchmarks only: what goes through here writes
/// no audit record, which is why application code has no such door.
impl Store {
    /// The pool, for tests that read or corrupt rows directly.
    pub fn raw_pool_for_tests(&self) -> &sqlx::AnyPool {
        self.pool()
    }

    /// Writes leaf entries in bulk for a benchmark or a large fixture: `(unit id, leaf code,
    /// score in thousandths)` each, with empty facts and explanation, in one transaction.
    pub async fn bulk_fixture_leaf_entries(
        &self,
        period_id: i64,
        rows: &[(i64, &str, i64)],
        at: i64,
    ) -> Result<(), crate::StoreError> {
        const CHUNK: usize = 50;
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(CHUNK) {
            let mut sql = String::from(
                "INSERT INTO leaf_entries (period_id, unit_id, leaf_code, input_json, score_milli, explanation, updated_at) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                let b = 2 + i * 3;
                sql.push_str(&format!(
                    "($1, ${}, ${}, '{{}}', ${}, '', $2)",
                    b + 1,
                    b + 2,
                    b + 3
                ));
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(period_id)
                .bind(at);
            for (unit, code, score) in chunk {
                q = q.bind(*unit).bind(*code).bind(*score);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

impl crate::WriteTx {
    /// The transaction's connection, for tests that write rows the store has no function
    /// for; the transaction still needs its audit record to commit.
    pub fn raw_conn_for_tests(&mut self) -> &mut sqlx::AnyConnection {
        self.conn()
    }
}

/// Runs a test body against SQLite and PostgreSQL:
/// `both_backends!(name, |store: Store| async move { … })` defines `name::sqlite` and
/// `name::postgres`. The PostgreSQL one is ignored, with the reason, where no server is
/// configured (not under `CI=true`); the crate using this needs the `parindex_pg` cfg from
/// `build-support/test_services.rs` in its build script.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::Backend::Sqlite).await;
                ($body)(db.store.clone()).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(
                not(parindex_pg),
                ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
            )]
            async fn postgres() {
                let db = $crate::testing::TestDb::new($crate::Backend::Postgres).await;
                ($body)(db.store.clone()).await;
                db.cleanup().await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_name_is_replaced() {
        assert_eq!(
            super::replace_db_name("postgres://u@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u@h:5432/x?sslmode=disable"
        );
        assert_eq!(
            super::replace_db_name("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
