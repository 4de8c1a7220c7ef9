//! The hot reads timed through each way of reaching the database (ADR 0007): a period row
//! (27 columns), a sheet's leaf entries (150 rows of 9 columns) and a period's leaf entries
//! (15,150 rows, what a recompute reads), through the `AnyPool` the store uses (decoded by
//! name, as now, and by position, as before) and through a typed per-backend pool
//! (`SqlitePool` / `PgPool`) decoded by name.
//!
//! `cargo run -p parindex-store --release --example hot_reads` (SQLite), with
//! `PARINDEX_TEST_DATABASE_URL=postgres://…` for PostgreSQL too.

use std::time::{Duration, Instant};

use parindex_domain::{GroupCode, UnitCode, UnitDraft, UnitName};
use parindex_store::periods::{LeafEntry, PeriodSettings};
use parindex_store::testing::TestDb;
use parindex_store::{AuditActor, Backend, Store};
use sqlx::Row;

const LEAVES: usize = 150;
/// The leaf entries of a second unit, so that the period holds a bulk read.
const BULK: usize = 15_000;
const PERIOD_SQL: &str = "SELECT id, year, name, self_open_at, self_close_at, explanation_due_at, appraisal_open_at, appraisal_close_at, \
     bonus_cap_milli, penalty_cap_milli, band_good_milli, band_fair_milli, band_average_milli, version, \
     appraisal_rounds, stage, stage_round, decision_number, decision_date, decision_sha256, decision_file_name, decision_file_size, published_at, \
     survey_open_at, survey_close_at, survey_min_sample, survey_weighted FROM periods WHERE id = $1";
const PERIOD_ENTRIES_SQL: &str = "SELECT leaf_code, input_json, score_milli, not_applicable, explanation, note, version, updated_by, updated_at, unit_id \
     FROM leaf_entries WHERE period_id = $1 ORDER BY unit_id, leaf_code";
const ENTRIES_SQL: &str = "SELECT leaf_code, input_json, score_milli, not_applicable, explanation, note, version, updated_by, updated_at \
     FROM leaf_entries WHERE period_id = $1 AND unit_id = $2 ORDER BY leaf_code";

/// The period's columns by name, for any row type (the values are summed so nothing is
/// optimised away).
macro_rules! period_by_name {
    ($r:expr) => {{
        let r = $r;
        let mut n: i64 = 0;
        for c in [
            "id",
            "year",
            "self_open_at",
            "self_close_at",
            "bonus_cap_milli",
            "penalty_cap_milli",
            "band_good_milli",
            "band_fair_milli",
            "band_average_milli",
            "version",
            "appraisal_rounds",
            "stage_round",
            "survey_min_sample",
            "survey_weighted",
        ] {
            n += r.try_get::<i64, _>(c).unwrap();
        }
        for c in [
            "explanation_due_at",
            "appraisal_open_at",
            "appraisal_close_at",
            "decision_file_size",
            "published_at",
            "survey_open_at",
            "survey_close_at",
        ] {
            n += r.try_get::<Option<i64>, _>(c).unwrap().unwrap_or(0);
        }
        for c in ["name", "stage"] {
            n += r.try_get::<String, _>(c).unwrap().len() as i64;
        }
        for c in [
            "decision_number",
            "decision_date",
            "decision_sha256",
            "decision_file_name",
        ] {
            n += r
                .try_get::<Option<String>, _>(c)
                .unwrap()
                .map_or(0, |s| s.len() as i64);
        }
        n
    }};
}

macro_rules! entry_by_name {
    ($r:expr) => {{
        let r = $r;
        LeafEntry {
            leaf_code: r.try_get("leaf_code").unwrap(),
            input_json: r.try_get("input_json").unwrap(),
            score_milli: r.try_get("score_milli").unwrap(),
            not_applicable: r.try_get::<i64, _>("not_applicable").unwrap() != 0,
            explanation: r.try_get("explanation").unwrap(),
            note: r.try_get("note").unwrap(),
            version: r.try_get("version").unwrap(),
            updated_by: r.try_get("updated_by").unwrap(),
            updated_at: r.try_get("updated_at").unwrap(),
        }
    }};
}

fn entry_by_position(r: &sqlx::any::AnyRow) -> LeafEntry {
    LeafEntry {
        leaf_code: r.try_get(0).unwrap(),
        input_json: r.try_get(1).unwrap(),
        score_milli: r.try_get(2).unwrap(),
        not_applicable: r.try_get::<i64, _>(3).unwrap() != 0,
        explanation: r.try_get(4).unwrap(),
        note: r.try_get(5).unwrap(),
        version: r.try_get(6).unwrap(),
        updated_by: r.try_get(7).unwrap(),
        updated_at: r.try_get(8).unwrap(),
    }
}

fn period_by_position(r: &sqlx::any::AnyRow) -> i64 {
    let mut n: i64 = 0;
    for i in [0, 1, 3, 4, 8, 9, 10, 11, 12, 13, 14, 16, 25, 26] {
        n += r.try_get::<i64, _>(i).unwrap();
    }
    for i in [5, 6, 7, 21, 22, 23, 24] {
        n += r.try_get::<Option<i64>, _>(i).unwrap().unwrap_or(0);
    }
    for i in [2, 15] {
        n += r.try_get::<String, _>(i).unwrap().len() as i64;
    }
    for i in [17, 18, 19, 20] {
        n += r
            .try_get::<Option<String>, _>(i)
            .unwrap()
            .map_or(0, |s| s.len() as i64);
    }
    n
}

fn draft(code: &str, group: i64) -> UnitDraft {
    UnitDraft {
        code: UnitCode::parse(code).unwrap(),
        name_vi: UnitName::parse("Sở Tư pháp").unwrap(),
        name_en: None,
        group_id: group,
        parent_id: None,
        valid_from: time::macros::date!(2021 - 01 - 01),
        valid_to: None,
        successor_id: None,
    }
}

async fn seed(store: &Store) -> (i64, i64) {
    let actor = AuditActor::system("bench");
    let mut tx = store.begin_write(actor).await.unwrap();
    let group = tx
        .create_group(&GroupCode::parse("SO").unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .unwrap()
        .id;
    let unit = tx.create_unit(&draft("STP", group)).await.unwrap().id;
    let other = tx.create_unit(&draft("SNV", group)).await.unwrap().id;
    let now = parindex_store::now_ms();
    let period = tx
        .create_period(
            &PeriodSettings {
                year: 2026,
                name: "Kỳ đánh giá 2026".into(),
                self_open_at: now - 86_400_000,
                self_close_at: now + 86_400_000,
                explanation_due_at: None,
                appraisal_open_at: None,
                appraisal_close_at: None,
                bonus_cap_milli: 0,
                penalty_cap_milli: 0,
                band_good_milli: 85_000,
                band_fair_milli: 70_000,
                band_average_milli: 50_000,
                appraisal_rounds: 2,
            },
            &[],
            &[unit, other],
        )
        .await
        .unwrap()
        .id;
    tx.commit().await.unwrap();
    let codes: Vec<String> = (0..LEAVES)
        .map(|i| format!("{}.{}.{}", i / 50 + 1, i / 10 % 5 + 1, i % 10 + 1))
        .collect();
    let rows: Vec<(i64, &str, i64)> = codes.iter().map(|c| (unit, c.as_str(), 1000)).collect();
    store
        .bulk_fixture_leaf_entries(period, &rows, now)
        .await
        .unwrap();
    let codes: Vec<String> = (0..BULK)
        .map(|i| format!("9.{}.{}", i / 100, i % 100))
        .collect();
    let rows: Vec<(i64, &str, i64)> = codes.iter().map(|c| (other, c.as_str(), 0)).collect();
    store
        .bulk_fixture_leaf_entries(period, &rows, now)
        .await
        .unwrap();
    (period, unit)
}

/// Mean time per call over `n` calls, after `n / 10` warm-up calls.
async fn time<F, Fut>(n: u32, mut f: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for _ in 0..n / 10 {
        f().await;
    }
    let t = Instant::now();
    for _ in 0..n {
        f().await;
    }
    t.elapsed() / n
}

fn report(backend: &str, what: &str, d: Duration) {
    println!("{backend:<10} {what:<44} {:>9.1} µs", d.as_secs_f64() * 1e6);
}

async fn run(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = db.store.clone();
    let (period, unit) = seed(&store).await;
    let name = format!("{backend:?}");
    let any = store.raw_pool_for_tests().clone();
    const N_PERIOD: u32 = 3000;
    const N_ENTRIES: u32 = 500;

    let d = time(N_PERIOD, || async {
        assert_eq!(store.get_period(period).await.unwrap().id, period)
    })
    .await;
    report(&name, "period: Store::get_period (Any, by name)", d);
    let d = time(N_PERIOD, || async {
        let r = sqlx::query(PERIOD_SQL)
            .bind(period)
            .fetch_one(&any)
            .await
            .unwrap();
        assert!(period_by_name!(&r) > 0);
    })
    .await;
    report(&name, "period: AnyPool, by name", d);
    let d = time(N_PERIOD, || async {
        let r = sqlx::query(PERIOD_SQL)
            .bind(period)
            .fetch_one(&any)
            .await
            .unwrap();
        assert!(period_by_position(&r) > 0);
    })
    .await;
    report(&name, "period: AnyPool, by position", d);

    let d = time(N_ENTRIES, || async {
        assert_eq!(
            store.leaf_entries(period, unit).await.unwrap().len(),
            LEAVES
        )
    })
    .await;
    report(&name, "leaf entries: Store::leaf_entries (Any, name)", d);
    let d = time(N_ENTRIES, || async {
        let rows = sqlx::query(ENTRIES_SQL)
            .bind(period)
            .bind(unit)
            .fetch_all(&any)
            .await
            .unwrap();
        let v: Vec<LeafEntry> = rows.iter().map(|r| entry_by_name!(r)).collect();
        assert_eq!(v.len(), LEAVES);
    })
    .await;
    report(&name, "leaf entries: AnyPool, by name", d);
    let d = time(N_ENTRIES, || async {
        let rows = sqlx::query(ENTRIES_SQL)
            .bind(period)
            .bind(unit)
            .fetch_all(&any)
            .await
            .unwrap();
        let v: Vec<LeafEntry> = rows.iter().map(entry_by_position).collect();
        assert_eq!(v.len(), LEAVES);
    })
    .await;
    report(&name, "leaf entries: AnyPool, by position", d);
    const N_BULK: u32 = 10;
    let d = time(N_BULK, || async {
        assert_eq!(
            store.period_leaf_entries(period).await.unwrap().len(),
            LEAVES + BULK
        )
    })
    .await;
    report(&name, "period entries: Store::period_leaf_entries", d);

    match backend {
        Backend::Sqlite => {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(8)
                .connect(&db.url)
                .await
                .unwrap();
            let d = time(N_PERIOD, || async {
                let r = sqlx::query(PERIOD_SQL)
                    .bind(period)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert!(period_by_name!(&r) > 0);
            })
            .await;
            report(&name, "period: SqlitePool, by name", d);
            let d = time(N_ENTRIES, || async {
                let rows = sqlx::query(ENTRIES_SQL)
                    .bind(period)
                    .bind(unit)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                let v: Vec<LeafEntry> = rows.iter().map(|r| entry_by_name!(r)).collect();
                assert_eq!(v.len(), LEAVES);
            })
            .await;
            report(&name, "leaf entries: SqlitePool, by name", d);
            let d = time(N_BULK, || async {
                let rows = sqlx::query(PERIOD_ENTRIES_SQL)
                    .bind(period)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                let v: Vec<(i64, LeafEntry)> = rows
                    .iter()
                    .map(|r| (r.try_get::<i64, _>("unit_id").unwrap(), entry_by_name!(r)))
                    .collect();
                assert_eq!(v.len(), LEAVES + BULK);
            })
            .await;
            report(&name, "period entries: SqlitePool, by name", d);
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(8)
                .connect(&db.url)
                .await
                .unwrap();
            let d = time(N_PERIOD, || async {
                let r = sqlx::query(PERIOD_SQL)
                    .bind(period)
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                assert!(period_by_name!(&r) > 0);
            })
            .await;
            report(&name, "period: PgPool, by name", d);
            let d = time(N_ENTRIES, || async {
                let rows = sqlx::query(ENTRIES_SQL)
                    .bind(period)
                    .bind(unit)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                let v: Vec<LeafEntry> = rows.iter().map(|r| entry_by_name!(r)).collect();
                assert_eq!(v.len(), LEAVES);
            })
            .await;
            report(&name, "leaf entries: PgPool, by name", d);
            let d = time(N_BULK, || async {
                let rows = sqlx::query(PERIOD_ENTRIES_SQL)
                    .bind(period)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
                let v: Vec<(i64, LeafEntry)> = rows
                    .iter()
                    .map(|r| (r.try_get::<i64, _>("unit_id").unwrap(), entry_by_name!(r)))
                    .collect();
                assert_eq!(v.len(), LEAVES + BULK);
            })
            .await;
            report(&name, "period entries: PgPool, by name", d);
            pool.close().await;
        }
    }
    db.cleanup().await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    run(Backend::Sqlite).await;
    run(Backend::Postgres).await;
}
