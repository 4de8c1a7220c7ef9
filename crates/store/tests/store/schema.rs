//! The SQLite and PostgreSQL migrations build the same schema: the same tables with the same
//! columns (by name; the types differ by design, e.g. BLOB and BYTEA).

use std::collections::BTreeSet;

use parindex_store::testing::TestDb;
use parindex_store::{Backend, Store};
use sqlx::Row;

/// "table.column" for every column of every table.
async fn columns(store: &Store) -> BTreeSet<String> {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS table_name, CAST(column_name AS TEXT) AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema()"
        }
    };
    sqlx::query(sql)
        .fetch_all(store.raw_pool_for_tests())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            let table: String = r.try_get("table_name").unwrap();
            let column: String = r.try_get("column_name").unwrap();
            format!("{table}.{column}")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn sqlite_and_postgres_have_the_same_tables_and_columns() {
    let pg = TestDb::new(Backend::Postgres).await;
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let on_sqlite = columns(&sqlite.store).await;
    let on_postgres = columns(&pg.store).await;
    assert!(on_sqlite.len() > 50, "{on_sqlite:?}");
    let only_sqlite: Vec<_> = on_sqlite.difference(&on_postgres).collect();
    let only_postgres: Vec<_> = on_postgres.difference(&on_sqlite).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only on SQLite: {only_sqlite:?}; only on PostgreSQL: {only_postgres:?}"
    );
    sqlite.cleanup().await;
    pg.cleanup().await;
}
