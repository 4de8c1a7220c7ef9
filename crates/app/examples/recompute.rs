//! The issue-7 recompute benchmark: a national-scale synthetic period (10,000 units × 100
//! leaves by default), then every unit's provisional result computed, ranked and banded with
//! the product's own loader (`PeriodResults::load`), timed, with the process's peak RSS.
//!
//! Run (release; built only with the `bench` feature, so `cargo test` never builds it):
//!
//! ```sh
//! cargo run --release --locked -p parindex-app --features bench --example recompute -- \
//!     [--database-url sqlite:///tmp/recompute.db?mode=rwc | postgres://…/db] [--units 10000] [--leaves 100] [--runs 3]
//!     [--user-password PW]   # also creates the secretariat account `bench` with this password
//!     [--publish]            # then publishes the results (stage `published`, one snapshot per unit)
//! ```
//!
//! `bench/ranking.sh` uses the last two to serve the ranking page of 200 units.
//!
//! The data is synthetic and written with bulk statements (no audit records: it is a
//! benchmark fixture, never a real period). The database must be empty or new.

use std::time::Instant;

use parindex_app::App;
use parindex_app::results::{Audience, PeriodResults};
use parindex_domain::{GroupCode, UnitCode, UnitDraft, UnitName};
use parindex_store::index_sets::IndexSetContent;
use parindex_store::periods::PeriodSettings;
use parindex_store::{AuditActor, Store};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| default.to_owned())
}

fn status_kb(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// A set of `leaves` binary leaves of 1 point each, in 10 domains.
fn set_yaml(leaves: usize) -> String {
    let per_domain = leaves.div_ceil(10);
    let mut yaml = format!(
        "format: parindex-index-set/1\ncode: BENCH-{leaves}\ntitle: \"Bộ chỉ số tổng hợp cho đo hiệu năng\"\nyear: 2026\nunit_group: SO\nillustrative: true\nscale: {leaves}\nappraised_max: {leaves}\nsurvey_max: 0\nnodes:\n"
    );
    let mut left = leaves;
    for d in 1..=10 {
        let n = per_domain.min(left);
        if n == 0 {
            break;
        }
        left -= n;
        yaml.push_str(&format!(
            "  - code: \"{d}\"\n    title: \"Lĩnh vực {d}\"\n    max: {n}\n    children:\n"
        ));
        for l in 1..=n {
            yaml.push_str(&format!(
                "      - code: \"{d}.{l}\"\n        title: \"Tiêu chí {d}.{l}\"\n        max: 1\n        method: \"Đạt: 1 điểm\"\n        evidence: \"Văn bản\"\n        rule: {{ kind: binary }}\n"
            ));
        }
    }
    yaml
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = arg(
        &args,
        "--database-url",
        "sqlite:///tmp/parindex-recompute.db?mode=rwc",
    );
    let units: usize = arg(&args, "--units", "10000").parse().expect("--units");
    let leaves: usize = arg(&args, "--leaves", "100").parse().expect("--leaves");
    let runs: usize = arg(&args, "--runs", "3").parse().expect("--runs");

    let store = Store::connect(&url, 8).await.expect("connect");
    store.migrate().await.expect("migrate");
    let t = Instant::now();
    let mut tx = store
        .begin_write(AuditActor::system("bench"))
        .await
        .expect("tx");
    let group = tx
        .create_group(&GroupCode::parse("SO").unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .expect("group (the database must be empty)");
    let doc = parindex_formats::parse_index_set_file(set_yaml(leaves).as_bytes()).expect("set");
    let set = parindex_domain::IndexSet::from_doc(&doc, None).expect("valid set");
    let leaf_codes: Vec<String> = set.leaves().map(|l| l.code.clone()).collect();
    let stored = tx
        .create_index_set(
            &IndexSetContent {
                code: doc.code.clone(),
                year: 2026,
                unit_group: "SO".into(),
                title: doc.title.clone(),
                illustrative: true,
                definition: serde_json::to_string(&doc).unwrap(),
                node_count: set.nodes().len() as i64,
            },
            None,
        )
        .await
        .expect("set");
    tx.publish_index_set(stored.id, 1).await.expect("publish");
    let mut unit_ids = Vec::with_capacity(units);
    for i in 0..units {
        let unit = tx
            .create_unit(&UnitDraft {
                code: UnitCode::parse(&format!("U{i:05}")).unwrap(),
                name_vi: UnitName::parse(&format!("Đơn vị thử {i:05}")).unwrap(),
                name_en: None,
                group_id: group.id,
                parent_id: None,
                valid_from: time::macros::date!(2021 - 01 - 01),
                valid_to: None,
                successor_id: None,
            })
            .await
            .expect("unit");
        unit_ids.push(unit.id);
    }
    let now = parindex_store::now_ms();
    let period = tx
        .create_period(
            &PeriodSettings {
                year: 2026,
                name: "Kỳ đo hiệu năng".into(),
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
            &[("SO".to_owned(), stored.id)],
            &unit_ids,
        )
        .await
        .expect("period");
    tx.commit().await.expect("commit");
    // Leaf entries: every leaf of every unit, scored 0 or 1 by a fixed pattern.
    let pairs: Vec<(i64, &str, i64)> = unit_ids
        .iter()
        .enumerate()
        .flat_map(|(u, id)| {
            leaf_codes.iter().enumerate().map(move |(l, code)| {
                (
                    *id,
                    code.as_str(),
                    if (u * 7 + l * 3) % 10 < 8 { 1000 } else { 0 },
                )
            })
        })
        .collect();
    store
        .bulk_fixture_leaf_entries(period.id, &pairs, now)
        .await
        .expect("entries");
    eprintln!(
        "dataset: {units} units × {leaves} leaves = {} leaf entries, written in {:.1} s",
        pairs.len(),
        t.elapsed().as_secs_f64()
    );

    let evidence_dir = std::env::temp_dir().join("parindex-recompute-evidence");
    // A fresh state (so an empty results cache) for every run: each run computes.
    let fresh_state = || {
        let evidence = parindex_store::evidence::EvidenceStore::open(
            evidence_dir.to_str().unwrap(),
            &Default::default(),
        )
        .expect("evidence");
        App::new(store.clone(), evidence)
    };
    if let Some(password) = args
        .iter()
        .position(|a| a == "--user-password")
        .and_then(|i| args.get(i + 1))
    {
        let hash = parindex_app::password::hash(password.clone())
            .await
            .expect("hash");
        let mut tx = store
            .begin_write(AuditActor::system("bench"))
            .await
            .expect("tx");
        let user = tx
            .create_user(&parindex_store::users::NewUser {
                username: parindex_domain::Username::parse("bench").unwrap(),
                full_name: "Tài khoản đo hiệu năng".into(),
                email: None,
                password_hash: hash,
                must_change_password: false,
            })
            .await
            .expect("user");
        tx.grant_role(
            user.id,
            &parindex_domain::RoleGrant {
                role: parindex_domain::Role::Secretariat,
                unit_id: None,
            },
        )
        .await
        .expect("grant");
        tx.commit().await.expect("commit user");
    }
    let rss_before = status_kb("VmRSS:");
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    println!(
        "| run | units | leaves | recompute + rank s | ranked units | peak RSS MB (process) | RSS before MB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for run in 1..=runs {
        let state = fresh_state();
        let t = Instant::now();
        let results = PeriodResults::load(&state, period.id, Audience::Internal)
            .await
            .expect("results");
        let secs = t.elapsed().as_secs_f64();
        let ranked: usize = results
            .groups
            .iter()
            .map(|g| g.units.iter().filter(|u| u.rank.is_some()).count())
            .sum();
        assert_eq!(ranked, units, "every unit ranked");
        if run == runs && args.iter().any(|a| a == "--publish") {
            let mut published = Vec::with_capacity(units);
            for ev in parindex_app::evaluation::UnitEvaluation::load_period(&state, period.id)
                .await
                .expect("evaluations")
            {
                let snap = parindex_app::results::snapshot(&ev, &ev.scorecard().expect("card"))
                    .expect("snapshot");
                published.push(parindex_store::appraisal::ResultToPublish {
                    unit_id: ev.unit.unit_id,
                    total_milli: snap.total_milli,
                    applicable_max_milli: snap.applicable_max_milli,
                    result_json: serde_json::to_string(&snap).unwrap(),
                });
            }
            let mut tx = store
                .begin_write(AuditActor::system("bench"))
                .await
                .expect("tx");
            tx.set_period_stage(period.id, ("self", 0), ("published", 0))
                .await
                .expect("stage");
            tx.publish_results(period.id, &published, "")
                .await
                .expect("publish");
            tx.commit().await.expect("commit publication");
            eprintln!("published period {}", period.id);
        }
        println!(
            "| {run} | {units} | {leaves} | {secs:.2} | {ranked} | {:.0} | {:.0} |",
            status_kb("VmHWM:") as f64 / 1024.0,
            rss_before as f64 / 1024.0
        );
    }
}
