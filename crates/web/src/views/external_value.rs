//! An external value with its provenance, as the matrix and the sheet show it.

use parindex_domain::Points;
use parindex_store::appraisal::ExternalValue;

use crate::page::datetime_vi;

/// A stored value with its provenance, as shown.
pub struct ValueView {
    pub points: String,
    pub provider: String,
    pub source: String,
    pub note: String,
    pub by: String,
    pub at: String,
}

impl ValueView {
    pub fn of(v: &ExternalValue) -> ValueView {
        ValueView {
            points: Points::from_millipoints(v.score_milli).display_vi(),
            provider: v.provider.clone(),
            source: v.source.clone(),
            note: v.note.clone(),
            by: v.updated_by_name.clone().unwrap_or_default(),
            at: datetime_vi(v.updated_at),
        }
    }
}
