//! Housekeeping of the evidence store: temporary uploads and blobs left without a row by a
//! crash are deleted once older than the upload timeout, at start and then every hour
//! (ADR 0004).

use std::time::Duration;

use parindex_store::Store;
use parindex_store::evidence::EvidenceStore;

/// How often the sweep runs after the one at start.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(3600);

/// What one sweep removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub temporaries: usize,
    pub orphans: usize,
}

/// Deletes temporary uploads and orphan blobs older than `older_than`. An upload still in
/// progress is younger than the upload timeout, so it is never touched.
pub async fn sweep_uploads(
    store: &Store,
    evidence: &EvidenceStore,
    older_than: Duration,
) -> Result<SweepReport, String> {
    let older_than_ms = i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    let temporaries = evidence
        .sweep_temporaries(older_than_ms)
        .await
        .map_err(|e| e.to_string())?;
    // The rows are read before the blobs are listed: a blob stored after this read is
    // younger than the cut-off, so it is kept whatever its row.
    let referenced = store.referenced_blobs().await.map_err(|e| e.to_string())?;
    let orphans = evidence
        .sweep_orphan_blobs(&referenced, older_than_ms)
        .await
        .map_err(|e| e.to_string())?;
    Ok(SweepReport {
        temporaries,
        orphans,
    })
}

/// Sweeps now, then every [`SWEEP_INTERVAL`]; a failed sweep is logged and tried again at
/// the next tick. Runs until the task is aborted.
pub async fn sweep_uploads_periodically(
    store: Store,
    evidence: EvidenceStore,
    older_than: Duration,
) {
    let mut tick = tokio::time::interval(SWEEP_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match sweep_uploads(&store, &evidence, older_than).await {
            Ok(report) if report.temporaries + report.orphans > 0 => tracing::info!(
                temporaries = report.temporaries,
                orphans = report.orphans,
                "swept uploads left by a crash"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "upload sweep failed"),
        }
    }
}
