//! The pure domain of parindex: what a unit, a role, a permission and a point are, and the
//! rules that decide. No I/O, no async, no SQL, no HTTP live here (see docs/architecture.md).

pub mod account;
pub mod appraisal;
pub mod authz;
pub mod index_set;
pub mod points;
pub mod ranking;
pub mod role;
pub mod rules;
pub mod scorecard;
pub mod survey;
pub mod text;
pub mod unit;
pub mod workflow;

#[cfg(test)]
mod test_support;

pub use account::{NewPassword, Username};
pub use authz::{Access, Action, Actor};
pub use index_set::{IndexSet, IndexSetDoc};
pub use points::Points;
pub use role::{Role, RoleGrant};
pub use unit::{GroupCode, UnitCode, UnitDraft, UnitName};

/// A value that failed to parse into a domain type; the message is Vietnamese, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidInput {
    /// The form field or column the problem is about (`code`, `name_vi`, …).
    pub field: &'static str,
    /// What to fix, in Vietnamese.
    pub message: String,
}

impl InvalidInput {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}
