//! Use cases of survey imports: starting the job, following it.

use parindex_store::AuditActor;

use crate::survey_jobs::{ImportMapping, Progress};
use crate::{App, AppError};

impl App {
    /// Records an import of the stored file `sha256` with its mapping and enqueues its job in
    /// the same transaction (so the job exists exactly when the import does), then starts it
    /// in this instance unless another instance's runner is quicker. Returns the import's id.
    pub async fn start_survey_import(
        &self,
        actor: AuditActor,
        questionnaire_id: i64,
        file_name: &str,
        sha256: &str,
        size: u64,
        mapping: &ImportMapping,
    ) -> Result<i64, AppError> {
        let mapping_json =
            serde_json::to_string(mapping).map_err(|e| AppError::Internal(Box::new(e)))?;
        let mut tx = self.store.begin_write(actor).await?;
        let import_id = tx
            .create_import_job(
                questionnaire_id,
                file_name,
                sha256,
                i64::try_from(size).unwrap_or(i64::MAX),
                &mapping_json,
            )
            .await?;
        let job_id = crate::survey_jobs::enqueue(&mut tx, import_id).await?;
        tx.commit().await?;
        if let Some(job_id) = job_id {
            crate::survey_jobs::start(self, job_id);
        }
        Ok(import_id)
    }

    /// The stored progress of a running import (from whichever instance runs it).
    pub async fn survey_import_progress(
        &self,
        import_id: i64,
    ) -> Result<Option<Progress>, AppError> {
        Ok(crate::survey_jobs::progress(self, import_id).await?)
    }
}
