//! Evidence use cases: storing uploads, attaching them to a leaf (the self-assessment or an
//! explanation: one pipeline that always re-checks the stage, the deadline and the submission
//! inside its transaction), citing library files, removing citations, and opening a file.

use futures_util::Stream;
use parindex_domain::Action;
use parindex_domain::appraisal::{Stage, check_explanation_write, explanation_due};
use parindex_store::evidence::{EvidenceDownload, StoredBlob, UploadLimits, safe_display_name};
use parindex_store::evidence_library::{EvidenceFile, NewEvidenceFile};
use parindex_store::{StoreError, WriteTx};

use crate::App;
use crate::error::{AppError, Message};
use crate::evaluation::UnitEvaluation;
use crate::sheet::{Caller, refusal_error, self_write_check, writable_leaf};

/// Where a file is attached: the leaf of the self-assessment, or the leaf's answer in the
/// open explanation round (supplementary evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvidenceFor {
    Sheet,
    Explanation,
}

/// One leaf of one unit's sheet in one period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRef {
    pub period_id: i64,
    pub unit_id: i64,
    pub code: String,
}

/// A file received and stored, with the name it is shown under.
#[derive(Debug, Clone)]
pub struct ReceivedFile {
    pub name: String,
    pub blob: StoredBlob,
}

/// A file to send: its library entry and its content.
pub struct OpenedEvidence {
    pub file: EvidenceFile,
    pub download: EvidenceDownload,
}

/// Whether a file of this type is shown in the browser (PDF, images), never run.
pub fn viewable(content_type: &str) -> bool {
    content_type == "application/pdf" || content_type.starts_with("image/")
}

impl App {
    /// Who may attach to the leaf, and whether it is a leaf they may write: what no later
    /// change of the period can alter.
    async fn authorize_attach(
        &self,
        caller: &Caller,
        kind: EvidenceFor,
        leaf: &LeafRef,
    ) -> Result<(), AppError> {
        let unit_id = leaf.unit_id;
        match kind {
            EvidenceFor::Sheet => {
                caller.require(Action::EditSelfAssessment { unit_id })?;
                let (_, unit, set) = self.unit_set(leaf.period_id, unit_id).await?;
                writable_leaf(&set, &unit.group_code, &leaf.code)?;
            }
            EvidenceFor::Explanation => {
                caller.require(Action::ExplainLeaves { unit_id })?;
            }
        }
        Ok(())
    }

    /// The early check of an attachment, before any body is read: the policy, the leaf, and
    /// the stage, deadline and submission as they are now. [`App::attach_evidence`] repeats
    /// the stage, deadline and submission inside its transaction.
    pub async fn check_attach(
        &self,
        caller: &Caller,
        kind: EvidenceFor,
        leaf: &LeafRef,
    ) -> Result<(), AppError> {
        self.authorize_attach(caller, kind, leaf).await?;
        let now = self.now_ms();
        match kind {
            EvidenceFor::Sheet => {
                let period = self.store.get_period(leaf.period_id).await?;
                let unit = self.store.period_unit(leaf.period_id, leaf.unit_id).await?;
                self_write_check(&period, &unit, now).map_err(AppError::forbidden)
            }
            EvidenceFor::Explanation => {
                let ev = UnitEvaluation::load(self, leaf.period_id, leaf.unit_id).await?;
                let flagged = match ev.stage {
                    Stage::Explanation(k) => ev.flagged_in(&leaf.code, k),
                    _ => false,
                };
                let due = self.open_explanation_due(&ev).await?;
                check_explanation_write(
                    ev.stage,
                    flagged,
                    ev.unit.explanation_submitted_round,
                    due,
                    now,
                )
                .map(|_| ())
                .map_err(refusal_error)
            }
        }
    }

    /// Streams one uploaded file into the evidence store (never held in memory), refused
    /// above `max_bytes` or of a type not accepted.
    pub async fn receive_evidence<S, E>(
        &self,
        stream: S,
        name: &str,
        max_bytes: u64,
    ) -> Result<ReceivedFile, AppError>
    where
        S: Stream<Item = Result<bytes::Bytes, E>>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let blob = self
            .evidence
            .put_stream(stream, name, &UploadLimits { max_bytes })
            .await?;
        Ok(ReceivedFile {
            name: safe_display_name(name),
            blob,
        })
    }

    /// Adds received files to the unit's library and cites each on the leaf (or the leaf's
    /// explanation) with `reference`, in one transaction that first re-reads the stage, the
    /// deadline and the submission: a body that took minutes to arrive, or a deadline or stage
    /// that changed meanwhile, stores nothing.
    pub async fn attach_evidence(
        &self,
        caller: &Caller,
        kind: EvidenceFor,
        leaf: &LeafRef,
        reference: &str,
        files: &[ReceivedFile],
    ) -> Result<(), AppError> {
        // The stage, deadline and submission are checked below, in the transaction, as they
        // are when the write happens (the early check was before the body arrived).
        self.authorize_attach(caller, kind, leaf).await?;
        if files.is_empty() {
            return Err(AppError::invalid(Message::key("evidence.no_file")));
        }
        let reference: String = reference.trim().chars().take(200).collect();
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        self.claim_leaf(&mut tx, kind, leaf).await?;
        for received in files {
            let file = tx
                .add_evidence_file(&NewEvidenceFile {
                    unit_id: leaf.unit_id,
                    sha256: received.blob.sha256_hex.clone(),
                    size: received.blob.size as i64,
                    content_type: received.blob.content_type.to_owned(),
                    extension: received.blob.extension.to_owned(),
                    display_name: received.name.clone(),
                })
                .await?;
            let cited = match kind {
                EvidenceFor::Sheet => {
                    tx.cite_evidence(
                        leaf.period_id,
                        leaf.unit_id,
                        &leaf.code,
                        file.id,
                        &reference,
                    )
                    .await
                }
                EvidenceFor::Explanation => {
                    tx.cite_supplementary_evidence(
                        leaf.period_id,
                        leaf.unit_id,
                        &leaf.code,
                        file.id,
                        &reference,
                    )
                    .await
                }
            };
            match cited {
                Ok(_) => {}
                Err(StoreError::Duplicate { .. }) => {
                    return Err(AppError::invalid(Message::key("evidence.already_cited")));
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Re-checks, inside the write's transaction, that the unit may still write on the leaf.
    async fn claim_leaf(
        &self,
        tx: &mut WriteTx,
        kind: EvidenceFor,
        leaf: &LeafRef,
    ) -> Result<(), AppError> {
        match kind {
            EvidenceFor::Sheet => tx
                .claim_self_assessment(leaf.period_id, leaf.unit_id)
                .await?
                .map_err(|r| AppError::forbidden(r.message_vi(parindex_domain::text::datetime_vi))),
            EvidenceFor::Explanation => {
                let claim = tx
                    .claim_explanation(leaf.period_id, leaf.unit_id, &leaf.code)
                    .await?;
                let stage = Stage::from_stored(&claim.stage, claim.stage_round)
                    .ok_or_else(|| AppError::internal(format!("unknown stage {}", claim.stage)))?;
                let due = match stage {
                    Stage::Explanation(k) => explanation_due(
                        k,
                        claim.period_due_at,
                        claim.round_due_at,
                        claim.extension_until,
                    ),
                    _ => None,
                };
                check_explanation_write(
                    stage,
                    claim.flagged,
                    claim.submitted_round,
                    due,
                    self.now_ms(),
                )
                .map(|_| ())
                .map_err(refusal_error)
            }
        }
    }

    /// Cites a file already in the unit's library on another leaf (upload once, cite many).
    pub async fn cite_evidence(
        &self,
        caller: &Caller,
        leaf: &LeafRef,
        evidence_id: i64,
        reference: &str,
    ) -> Result<(), AppError> {
        self.check_attach(caller, EvidenceFor::Sheet, leaf).await?;
        let reference: String = reference.trim().chars().take(200).collect();
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        self.claim_leaf(&mut tx, EvidenceFor::Sheet, leaf).await?;
        tx.cite_evidence(
            leaf.period_id,
            leaf.unit_id,
            &leaf.code,
            evidence_id,
            &reference,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a citation from a leaf (the file stays in the library); the leaf's code.
    pub async fn uncite_evidence(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        citation_id: i64,
    ) -> Result<String, AppError> {
        caller.require(Action::EditSelfAssessment { unit_id })?;
        let period = self.store.get_period(period_id).await?;
        let unit = self.store.period_unit(period_id, unit_id).await?;
        self_write_check(&period, &unit, self.now_ms()).map_err(AppError::forbidden)?;
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        if let Err(r) = tx.claim_self_assessment(period_id, unit_id).await? {
            return Err(AppError::forbidden(
                r.message_vi(parindex_domain::text::datetime_vi),
            ));
        }
        let code = tx.remove_citation(period_id, unit_id, citation_id).await?;
        tx.commit().await?;
        Ok(code)
    }

    /// A file for who may see it: the unit's people and the roles reading every unit; an
    /// appraiser only where it is cited on a sheet assigned to them.
    pub async fn open_evidence(
        &self,
        caller: &Caller,
        id: i64,
    ) -> Result<OpenedEvidence, AppError> {
        let file = self.store.evidence_file(id).await?;
        caller.require(Action::ViewEvidence {
            unit_id: file.unit_id,
        })?;
        if caller.role() == parindex_domain::Role::Appraiser
            && !self
                .store
                .evidence_cited_for_appraiser(file.id, caller.user_id())
                .await?
        {
            return Err(AppError::NotFound);
        }
        let download = self.evidence.get(&file.sha256).await.map_err(|e| match e {
            parindex_store::evidence::EvidenceError::NotFound => AppError::NotFound,
            other => AppError::Internal(Box::new(other)),
        })?;
        Ok(OpenedEvidence { file, download })
    }
}
