//! A unit's evidence library and citations: which stored files a unit has, and which leaves
//! cite them, with a section or page reference. Upload once, cite many times.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A file in a unit's library.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EvidenceFile {
    pub id: i64,
    pub unit_id: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub extension: String,
    pub display_name: String,
    pub uploaded_by: Option<i64>,
    pub uploaded_at: i64,
}

/// A leaf's citation of a library file.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Citation {
    pub id: i64,
    pub leaf_code: String,
    pub reference: String,
    /// `self` (the self-assessment) or `explanation` (supplementary, in the explanation round).
    pub stage: String,
    pub file: EvidenceFile,
}

/// The file's columns, named `file_…` so that they never collide with a joined table's.
const FILE_COLUMNS: &str = "f.id AS file_id, f.unit_id AS file_unit_id, f.sha256 AS file_sha256, f.size AS file_size, \
     f.content_type AS file_content_type, f.extension AS file_extension, f.display_name AS file_display_name, \
     f.uploaded_by AS file_uploaded_by, f.uploaded_at AS file_uploaded_at";

fn file_from_row(row: &sqlx::any::AnyRow) -> Result<EvidenceFile, sqlx::Error> {
    Ok(EvidenceFile {
        id: row.try_get("file_id")?,
        unit_id: row.try_get("file_unit_id")?,
        sha256: row.try_get("file_sha256")?,
        size: row.try_get("file_size")?,
        content_type: row.try_get("file_content_type")?,
        extension: row.try_get("file_extension")?,
        display_name: row.try_get("file_display_name")?,
        uploaded_by: row.try_get("file_uploaded_by")?,
        uploaded_at: row.try_get("file_uploaded_at")?,
    })
}

/// What an upload adds to the library.
#[derive(Debug, Clone)]
pub struct NewEvidenceFile {
    pub unit_id: i64,
    pub sha256: String,
    pub size: i64,
    pub content_type: String,
    pub extension: String,
    pub display_name: String,
}

impl Store {
    /// (content hash, unit) of every evidence file whose content is one of `hashes`: which
    /// units' evidence a hash seen elsewhere (an audit record) would reveal.
    pub async fn evidence_units_of_hashes(
        &self,
        hashes: &[String],
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=hashes.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT DISTINCT sha256, unit_id FROM evidence_files WHERE sha256 IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for h in hashes {
            query = query.bind(h);
        }
        let rows = query.fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| Ok((r.try_get("sha256")?, r.try_get("unit_id")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }

    /// Every SHA-256 a row refers to: library files, decision PDFs, survey import files and
    /// survey uploads waiting for their column mapping.
    /// A stored blob outside this set is an orphan (see `EvidenceStore::sweep_orphan_blobs`);
    /// a new table naming blobs must be added here.
    pub async fn referenced_blobs(&self) -> Result<std::collections::HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "SELECT sha256 FROM evidence_files \
             UNION SELECT decision_sha256 FROM periods WHERE decision_sha256 IS NOT NULL \
             UNION SELECT sha256 FROM survey_import_jobs",
        )
        .fetch_all(self.pool())
        .await?;
        let mut referenced: std::collections::HashSet<String> = rows
            .iter()
            .map(|r| {
                r.try_get::<String, _>("sha256")
                    .map(|s| s.to_ascii_lowercase())
            })
            .collect::<Result<_, _>>()?;
        // A survey file uploaded but not yet mapped is held by its stash ("qid:sha256"), bound
        // to its uploader; the sweep must not take it from under the mapping page.
        let stashed =
            sqlx::query("SELECT payload FROM pending_imports WHERE kind = 'survey_upload'")
                .fetch_all(self.pool())
                .await?;
        for row in &stashed {
            let payload: String = row.try_get("payload")?;
            if let Some((_, sha)) = payload.split_once(':') {
                referenced.insert(sha.to_ascii_lowercase());
            }
        }
        Ok(referenced)
    }

    pub async fn evidence_file(&self, id: i64) -> Result<EvidenceFile, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM evidence_files f WHERE f.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(file_from_row(&row)?)
    }

    /// A unit's library, newest first.
    pub async fn unit_evidence(&self, unit_id: i64) -> Result<Vec<EvidenceFile>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM evidence_files f WHERE f.unit_id = $1 ORDER BY f.uploaded_at DESC, f.id DESC"
        )))
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.iter().map(file_from_row).collect::<Result<_, _>>()?)
    }

    /// Whether a file is cited on the sheet of a unit, in a period, that `appraiser_id` is
    /// assigned to there: what lets an appraiser open the file.
    pub async fn evidence_cited_for_appraiser(
        &self,
        evidence_id: i64,
        appraiser_id: i64,
    ) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM evidence_citations c JOIN appraisal_assignments a \
             ON a.period_id = c.period_id AND a.unit_id = c.unit_id \
             WHERE c.evidence_id = $1 AND a.appraiser_id = $2",
        )
        .bind(evidence_id)
        .bind(appraiser_id)
        .fetch_one(self.pool())
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(n > 0)
    }

    /// Every citation of a unit's sheet in a period, by leaf code.
    pub async fn citations(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Vec<Citation>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT c.id, c.leaf_code, c.reference, c.stage, {FILE_COLUMNS} FROM evidence_citations c JOIN evidence_files f ON f.id = c.evidence_id \
             WHERE c.period_id = $1 AND c.unit_id = $2 ORDER BY c.leaf_code, c.id"
        )))
        .bind(period_id)
        .bind(unit_id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Citation {
                    id: r.try_get("id")?,
                    leaf_code: r.try_get("leaf_code")?,
                    reference: r.try_get("reference")?,
                    stage: r.try_get("stage")?,
                    file: file_from_row(r)?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::from)
    }
}

impl WriteTx {
    /// Adds a stored file to the unit's library (the same content twice is one entry).
    pub async fn add_evidence_file(
        &mut self,
        new: &NewEvidenceFile,
    ) -> Result<EvidenceFile, StoreError> {
        sqlx::query(
            "INSERT INTO evidence_files (unit_id, sha256, size, content_type, extension, display_name, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (unit_id, sha256) DO NOTHING",
        )
        .bind(new.unit_id)
        .bind(&new.sha256)
        .bind(new.size)
        .bind(&new.content_type)
        .bind(&new.extension)
        .bind(&new.display_name)
        .bind(self.actor().user_id)
        .bind(crate::now_ms())
        .execute(&mut *self.tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FILE_COLUMNS} FROM evidence_files f WHERE f.unit_id = $1 AND f.sha256 = $2"
        )))
        .bind(new.unit_id)
        .bind(&new.sha256)
        .fetch_one(&mut *self.tx)
        .await?;
        let file = file_from_row(&row)?;
        self.audit(
            "evidence.upload",
            "evidence_file",
            file.id,
            None,
            Some(serde_json::to_value(&file).unwrap_or_default()),
        )
        .await?;
        Ok(file)
    }

    /// Cites a library file of the same unit on a leaf, with a section or page reference.
    pub async fn cite_evidence(
        &mut self,
        period_id: i64,
        unit_id: i64,
        leaf_code: &str,
        evidence_id: i64,
        reference: &str,
    ) -> Result<i64, StoreError> {
        self.cite_evidence_in(
            period_id,
            unit_id,
            leaf_code,
            evidence_id,
            reference,
            "self",
        )
        .await
    }

    /// Cites a file as supplementary evidence of an explanation (giải trình).
    pub async fn cite_supplementary_evidence(
        &mut self,
        period_id: i64,
        unit_id: i64,
        leaf_code: &str,
        evidence_id: i64,
        reference: &str,
    ) -> Result<i64, StoreError> {
        self.cite_evidence_in(
            period_id,
            unit_id,
            leaf_code,
            evidence_id,
            reference,
            "explanation",
        )
        .await
    }

    async fn cite_evidence_in(
        &mut self,
        period_id: i64,
        unit_id: i64,
        leaf_code: &str,
        evidence_id: i64,
        reference: &str,
        stage: &str,
    ) -> Result<i64, StoreError> {
        let owner = sqlx::query("SELECT unit_id FROM evidence_files WHERE id = $1")
            .bind(evidence_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        let owner: i64 = owner.try_get("unit_id")?;
        if owner != unit_id {
            // Another unit's file: as if it did not exist.
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query(
            "INSERT INTO evidence_citations (period_id, unit_id, leaf_code, evidence_id, reference, created_by, created_at, stage) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(period_id)
        .bind(unit_id)
        .bind(leaf_code)
        .bind(evidence_id)
        .bind(reference)
        .bind(self.actor().user_id)
        .bind(crate::now_ms())
        .bind(stage)
        .fetch_one(&mut *self.tx)
        .await
        .map_err(|e| StoreError::unique_as(e, "evidence_id", "Tài liệu này đã được gắn vào tiêu chí".into()))?;
        let id: i64 = row.try_get("id")?;
        self.audit(
            "evidence.cite",
            "leaf_entry",
            format!("{period_id}/{unit_id}/{leaf_code}"),
            None,
            Some(serde_json::json!({ "citation": id, "evidence_id": evidence_id, "reference": reference, "stage": stage })),
        )
        .await?;
        Ok(id)
    }

    /// Removes a citation of the unit's sheet (the file stays in the library).
    pub async fn remove_citation(
        &mut self,
        period_id: i64,
        unit_id: i64,
        citation_id: i64,
    ) -> Result<String, StoreError> {
        let row = sqlx::query(
            "SELECT leaf_code, evidence_id, reference FROM evidence_citations WHERE id = $1 AND period_id = $2 AND unit_id = $3",
        )
        .bind(citation_id)
        .bind(period_id)
        .bind(unit_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let leaf_code: String = row.try_get("leaf_code")?;
        let evidence_id: i64 = row.try_get("evidence_id")?;
        let reference: String = row.try_get("reference")?;
        sqlx::query("DELETE FROM evidence_citations WHERE id = $1")
            .bind(citation_id)
            .execute(&mut *self.tx)
            .await?;
        self.audit(
            "evidence.uncite",
            "leaf_entry",
            format!("{period_id}/{unit_id}/{leaf_code}"),
            Some(serde_json::json!({ "citation": citation_id, "evidence_id": evidence_id, "reference": reference })),
            None,
        )
        .await?;
        Ok(leaf_code)
    }
}
