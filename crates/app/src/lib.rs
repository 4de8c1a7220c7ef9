//! The application layer of parindex: the use cases, between HTTP (`parindex-web`) and the CLI
//! on one side and the store and the pure domain on the other.
//!
//! A use case is a function on [`App`]: it authorizes through `parindex_domain::authz`,
//! decides through the domain, and persists in one store transaction together with its audit
//! record. It returns [`AppError`], never an HTTP status; the web layer maps one to the other.

pub mod accounts;
pub mod acting;
pub mod appraisal;
pub mod audit_log;
pub mod clock;
pub mod deadlines;
pub mod error;
pub mod evaluation;
pub mod evidence;
pub mod external;
pub mod home;
pub mod index_sets;
pub mod jobs;
pub mod maintenance;
pub mod notifications;
pub mod notify;
pub mod password;
pub mod periods;
pub mod published;
pub mod publishing;
pub mod results;
pub mod sessions;
pub mod sheet;
pub mod shipped;
pub mod survey_collect;
pub mod survey_import;
pub mod survey_jobs;
pub mod survey_review;
pub mod survey_scoring;
pub mod survey_setup;
pub mod units;
pub mod users;
pub mod workflow;

use std::sync::Arc;

pub use clock::Clock;
pub use error::{AppError, FieldError};
use parindex_store::Store;
use parindex_store::evidence::EvidenceStore;

/// Everything a use case needs, shared by all requests and background tasks. Cheap to clone.
#[derive(Clone)]
pub struct App {
    /// The database. Public for now while the web handlers move into use cases; the goal is
    /// that only this crate reaches it.
    pub store: Store,
    /// Where evidence files live: a local folder or an S3 bucket.
    pub evidence: Arc<EvidenceStore>,
    /// Published index sets, parsed once (they never change).
    pub sets: Arc<evaluation::SetCache>,
    /// Survey scores per period, recomputed when the survey's data changes.
    pub survey: Arc<survey_scoring::SurveyCache>,
    /// How this instance takes part in the background jobs (its name, the lease).
    pub jobs: Arc<jobs::JobSettings>,
    /// Results per period, recomputed when the period's data changes.
    pub results: Arc<results::ResultsCache>,
    /// Where "now" comes from; tests may fix it.
    pub clock: Clock,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl App {
    pub fn new(store: Store, evidence: EvidenceStore) -> Self {
        App {
            store,
            evidence: Arc::new(evidence),
            sets: Arc::default(),
            survey: Arc::default(),
            jobs: Arc::default(),
            results: Arc::default(),
            clock: Clock::System,
        }
    }

    /// The current instant in milliseconds since the epoch, from [`App::clock`].
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }
}
