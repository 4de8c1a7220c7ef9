//! Test support shared by every crate's tests: a fresh database on SQLite (always) or on
//! PostgreSQL (when `PARINDEX_TEST_DATABASE_URL` is set), so the same test proves both.

use crate::{Backend, Store};

/// The environment variable naming a PostgreSQL server for tests (any database on it; each test
/// creates and drops its own).
pub const PG_URL_VAR: &str = "PARINDEX_TEST_DATABASE_URL";

/// A fresh, migrated database that cleans up after itself when `cleanup` is called.
#[derive(Debug)]
pub struct TestDb {
    pub store: Store,
    pub url: String,
    cleanup: Cleanup,
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

impl TestDb {
    /// A new database on `backend`, or None (after saying so loudly) when the backend is not
    /// available outside CI. Under `CI=true` a missing PostgreSQL is a failure, not a skip.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("parindex-test-{}", random_suffix()));
                std::fs::create_dir_all(&dir).expect("temp dir");
                let path = dir.join("test.db");
                let url = format!("sqlite://{}?mode=rwc", path.display());
                let store = Store::connect(&url, 8).await.expect("sqlite store");
                Some(TestDb {
                    store,
                    url,
                    cleanup: Cleanup::File(dir),
                })
            }
            Backend::Postgres => {
                let admin_url = pg_url_or_skip()?;
                let name = format!("parindex_test_{}", random_suffix());
                let admin = Store::connect_admin(&admin_url).await;
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&admin)
                    .await
                    .expect("create test database");
                admin.close().await;
                let url = replace_db_name(&admin_url, &name);
                let store = Store::connect(&url, 8).await.expect("postgres store");
                Some(TestDb {
                    store,
                    url,
                    cleanup: Cleanup::PgDatabase { admin_url, name },
                })
            }
        }
    }

    /// Closes the pool and removes the database.
    pub async fn cleanup(self) {
        self.store.pool().close().await;
        match self.cleanup {
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
}

/// The PostgreSQL URL for tests, or None after printing a loud skip notice. Panics under CI.
pub fn pg_url_or_skip() -> Option<String> {
    match std::env::var(PG_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!(
                    "{PG_URL_VAR} is not set but CI=true: the PostgreSQL tests are required in CI"
                );
            }
            eprintln!(
                "\n*** SKIPPED on PostgreSQL: set {PG_URL_VAR}=postgres://postgres@127.0.0.1:5432/postgres to run this test there too ***\n"
            );
            None
        }
    }
}

/// An empty PostgreSQL database on the test server, not yet migrated (for tests of the
/// migrations themselves), or None when PostgreSQL is not configured (see [`pg_url_or_skip`]).
/// Drop it with [`EmptyPgDatabase::drop_database`].
pub async fn empty_pg_database() -> Option<EmptyPgDatabase> {
    let admin_url = pg_url_or_skip()?;
    let name = format!("parindex_test_{}", random_suffix());
    let admin = Store::connect_admin(&admin_url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .expect("create test database");
    admin.close().await;
    Some(EmptyPgDatabase {
        url: replace_db_name(&admin_url, &name),
        admin_url,
        name,
    })
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

/// Runs a test body against SQLite and, when configured, PostgreSQL:
/// `both_backends!(name, |store: Store| async move { … })` defines `name_sqlite` and `name_postgres`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::testing::TestDb::new($crate::Backend::Sqlite)
                    .await
                    .expect("sqlite is always available");
                ($body)(db.store.clone()).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = $crate::testing::TestDb::new($crate::Backend::Postgres).await else {
                    return;
                };
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
