//! The migration runner: a migration file changed after it was applied is refused by name,
//! a database migrated before checksums existed gets them recorded, and on PostgreSQL two
//! instances starting at once apply every migration once.

use parindex_store::testing::{TestDb, empty_pg_database};
use parindex_store::{Backend, Store, StoreError};
use sqlx::Row;

/// (version, checksum) of every applied migration, in order.
async fn applied(store: &Store) -> Vec<(i64, Option<String>)> {
    sqlx::query("SELECT version, checksum FROM schema_migrations ORDER BY version")
        .fetch_all(store.raw_pool_for_tests())
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("version").unwrap(),
                r.try_get("checksum").unwrap(),
            )
        })
        .collect()
}

async fn changed_migration_is_refused(backend: Backend) {
    let db = TestDb::new(backend).await;
    let recorded = applied(&db.store).await;
    assert!(recorded.len() >= 7, "{recorded:?}");
    assert!(
        recorded
            .iter()
            .all(|(_, sum)| sum.as_deref().is_some_and(|s| s.len() == 64)),
        "every applied migration records its SHA-256: {recorded:?}"
    );
    // As if 0003 had been edited after it was applied: the recorded and the file's sums differ.
    sqlx::query("UPDATE schema_migrations SET checksum = $1 WHERE version = 3")
        .bind("0".repeat(64))
        .execute(db.store.raw_pool_for_tests())
        .await
        .unwrap();
    let dir = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let refused = Store::connect(&db.url, 2)
        .await
        .expect_err("a changed migration");
    match &refused {
        StoreError::MigrationChanged { file, applied, .. } => {
            assert_eq!(
                file,
                &format!("crates/store/migrations/{dir}/0003_self_assessment.sql")
            );
            assert_eq!(applied, &"0".repeat(64));
        }
        other => panic!("expected MigrationChanged, got {other:?}"),
    }
    assert!(
        refused.to_string().contains("0003_self_assessment.sql"),
        "the message names the file: {refused}"
    );
    // The running store refuses too, and nothing was changed by the refusals.
    assert!(matches!(
        db.store.migrate().await,
        Err(StoreError::MigrationChanged { .. })
    ));
    assert_eq!(
        applied(&db.store).await[2].1.as_deref(),
        Some(&*"0".repeat(64))
    );
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_migration_is_refused_sqlite() {
    changed_migration_is_refused(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn changed_migration_is_refused_postgres() {
    changed_migration_is_refused(Backend::Postgres).await;
}

async fn checksums_are_recorded_for_older_databases(backend: Backend) {
    let db = TestDb::new(backend).await;
    let fresh = applied(&db.store).await;
    // A database migrated before checksums existed: no column at all.
    sqlx::query("ALTER TABLE schema_migrations DROP COLUMN checksum")
        .execute(db.store.raw_pool_for_tests())
        .await
        .unwrap();
    db.store.migrate().await.unwrap();
    assert_eq!(applied(&db.store).await, fresh);
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checksums_are_recorded_for_older_databases_sqlite() {
    checksums_are_recorded_for_older_databases(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn checksums_are_recorded_for_older_databases_postgres() {
    checksums_are_recorded_for_older_databases(Backend::Postgres).await;
}

/// Two instances starting at the same moment against one fresh database: the advisory lock
/// lets one migrate while the other waits, then finds everything applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn two_instances_starting_at_once_migrate_once_postgres() {
    let db = empty_pg_database().await;
    let (a, b) = tokio::join!(Store::connect(&db.url, 2), Store::connect(&db.url, 2));
    let a = a.expect("first instance starts");
    let b = b.expect("second instance starts");
    let rows = sqlx::query(
        "SELECT version, CAST(COUNT(*) AS BIGINT) AS times FROM schema_migrations GROUP BY version ORDER BY version",
    )
    .fetch_all(a.raw_pool_for_tests())
    .await
    .unwrap();
    assert!(rows.len() >= 7);
    for row in &rows {
        assert_eq!(row.try_get::<i64, _>("times").unwrap(), 1);
    }
    // Both see the same migrated schema.
    assert_eq!(applied(&a).await, applied(&b).await);
    assert!(a.holds_data().await.is_ok() && b.holds_data().await.is_ok());
    a.close().await;
    b.close().await;
    db.drop_database().await;
}
