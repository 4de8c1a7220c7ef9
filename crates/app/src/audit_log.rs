//! Reading the audit log: one page of records, with the content hashes of evidence hidden
//! from a reader who may not open that evidence.

use std::collections::BTreeSet;

use parindex_domain::Action;
use parindex_store::{AuditEntry, AuditFilter};

use crate::acting::Acting;
use crate::{App, AppError};

/// One page of the audit log and every action name (for the filter).
pub struct AuditListing {
    pub entries: Vec<AuditEntry>,
    pub actions: Vec<String>,
}

impl App {
    /// The records that match `filter`, newest first, for the secretariat and the
    /// administrator.
    pub async fn audit_entries(
        &self,
        by: &Acting,
        filter: &AuditFilter,
    ) -> Result<AuditListing, AppError> {
        by.require(Action::ViewAuditLog)?;
        let mut entries = self.store.audit_list(filter).await?;
        hide_evidence_hashes(self, by, &mut entries).await?;
        Ok(AuditListing {
            entries,
            actions: self.store.audit_actions().await?,
        })
    }
}

/// What replaces an evidence file's content hash for a reader who may not open the file.
const HIDDEN_HASH: &str = "[ẩn: chỉ người được xem tài liệu kiểm chứng mới thấy mã băm]";

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Every string in `value` that looks like a content hash.
fn collect_hashes(value: &serde_json::Value, into: &mut BTreeSet<String>) {
    match value {
        serde_json::Value::String(s) if is_sha256_hex(s) => {
            into.insert(s.to_ascii_lowercase());
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_hashes(v, into)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_hashes(v, into)),
        _ => {}
    }
}

/// Replaces the hashes in `hidden`; true when something was replaced.
fn redact(value: &mut serde_json::Value, hidden: &BTreeSet<String>) -> bool {
    match value {
        serde_json::Value::String(s) if hidden.contains(&s.to_ascii_lowercase()) => {
            *value = serde_json::Value::String(HIDDEN_HASH.to_owned());
            true
        }
        serde_json::Value::Array(items) => {
            // Every item, not only up to the first change.
            let mut changed = false;
            for v in items {
                changed |= redact(v, hidden);
            }
            changed
        }
        serde_json::Value::Object(map) => {
            let mut changed = false;
            for v in map.values_mut() {
                changed |= redact(v, hidden);
            }
            changed
        }
        _ => false,
    }
}

/// The audit log keeps every evidence file's content hash, and a hash is enough to reach the
/// content through other doors; a reader who may not open a unit's evidence (the system
/// administrator) sees the record without the hash. A hash is shown when the reader may open
/// the evidence of some unit that holds that content.
async fn hide_evidence_hashes(
    app: &App,
    by: &Acting,
    entries: &mut [AuditEntry],
) -> Result<(), AppError> {
    let mut found = BTreeSet::new();
    let parsed: Vec<[Option<serde_json::Value>; 2]> = entries
        .iter()
        .map(|e| {
            [&e.before_json, &e.after_json].map(|json| {
                json.as_deref()
                    .and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
            })
        })
        .collect();
    for value in parsed.iter().flatten().flatten() {
        collect_hashes(value, &mut found);
    }
    let found: Vec<String> = found.into_iter().collect();
    let mut hidden = BTreeSet::new();
    let mut visible = BTreeSet::new();
    for (sha, unit_id) in app.store.evidence_units_of_hashes(&found).await? {
        let sha = sha.to_ascii_lowercase();
        if by.can(Action::ViewEvidence { unit_id }) {
            visible.insert(sha);
        } else {
            hidden.insert(sha);
        }
    }
    let hidden: BTreeSet<String> = hidden.difference(&visible).cloned().collect();
    if hidden.is_empty() {
        return Ok(());
    }
    for (entry, values) in entries.iter_mut().zip(parsed) {
        let [before, after] = values;
        for (slot, value) in [
            (&mut entry.before_json, before),
            (&mut entry.after_json, after),
        ] {
            if let Some(mut v) = value
                && redact(&mut v, &hidden)
            {
                *slot = Some(v.to_string());
            }
        }
    }
    Ok(())
}
