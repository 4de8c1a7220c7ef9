//! The survey's persistence: the period's survey settings, respondent groups, versioned
//! questionnaires and the units they ask about, single-use links (stored as token hashes),
//! responses from every channel, exclusions, and import jobs.

use serde::Serialize;
use sqlx::Row;

use crate::error::StoreError;
use crate::{Store, WriteTx};

/// A respondent group of a period, with its weight and sampling plan.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SurveyGroup {
    pub id: i64,
    pub period_id: i64,
    pub code: String,
    pub name: String,
    /// Weight × 1000 (1000 = 1).
    pub weight_milli: i64,
    /// N, for the sample-size helper.
    pub population: i64,
    /// Target number of responses per evaluated unit.
    pub target_per_unit: i64,
}

/// A questionnaire (mẫu phiếu) as stored.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Questionnaire {
    pub id: i64,
    pub period_id: i64,
    pub group_id: i64,
    pub group_code: String,
    pub version: i64,
    pub title: String,
    /// `parindex_domain::survey::QuestionnaireDoc` as JSON.
    pub definition: String,
    /// `draft`, `open` or `closed`.
    pub status: String,
    pub updated_at: i64,
}

/// A single-use link.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SurveyLink {
    pub id: i64,
    pub questionnaire_id: i64,
    pub unit_id: Option<i64>,
    pub batch: String,
    pub created_at: i64,
    pub response_id: Option<i64>,
    pub used_at: Option<i64>,
}

/// A response, as scoring and quality checks read it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SurveyResponse {
    pub id: i64,
    pub questionnaire_id: i64,
    pub group_code: String,
    /// `online`, `paper` or `import`.
    pub channel: String,
    pub link_id: Option<i64>,
    pub paper_ref: Option<String>,
    pub entry_no: i64,
    pub answers: String,
    /// `draft` or `submitted`.
    pub status: String,
    pub created_at: i64,
    pub submitted_at: Option<i64>,
    pub excluded_at: Option<i64>,
    pub exclusion_reason: Option<String>,
}

impl SurveyResponse {
    /// Whether the response counts (in scores, progress and quality checks): submitted, not
    /// excluded, and for paper only the first entry of a double entry (the second is a check
    /// of the first, so it is meant to be identical and is no second respondent).
    pub fn counts(&self) -> bool {
        self.status == "submitted"
            && self.excluded_at.is_none()
            && (self.channel != "paper" || self.entry_no == 1)
    }
}

/// A response to add in bulk (paper entry, import).
#[derive(Debug, Clone)]
pub struct NewResponse {
    pub channel: &'static str,
    pub source_key: Option<String>,
    pub paper_ref: Option<String>,
    pub entry_no: i64,
    pub answers: String,
    pub submitted_at: i64,
}

/// An import job and its outcome.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ImportJob {
    pub id: i64,
    pub questionnaire_id: i64,
    pub file_name: String,
    pub sha256: String,
    pub size: i64,
    pub mapping: String,
    /// `pending`, `running`, `done`, `failed`.
    pub status: String,
    pub total_rows: i64,
    pub inserted: i64,
    pub duplicates: i64,
    /// A JSON report (bad rows, or a failure).
    pub report: String,
    pub created_by: Option<i64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

const GROUP_SELECT: &str = "SELECT id, period_id, code, name, weight_milli, population, target_per_unit FROM survey_groups";

fn group_from_row(r: &sqlx::any::AnyRow) -> Result<SurveyGroup, sqlx::Error> {
    Ok(SurveyGroup {
        id: r.try_get("id")?,
        period_id: r.try_get("period_id")?,
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        weight_milli: r.try_get("weight_milli")?,
        population: r.try_get("population")?,
        target_per_unit: r.try_get("target_per_unit")?,
    })
}

const QUESTIONNAIRE_SELECT: &str = "SELECT q.id, q.period_id, q.group_id, g.code AS group_code, q.version, q.title, q.definition, q.status, q.updated_at \
     FROM questionnaires q JOIN survey_groups g ON g.id = q.group_id";

fn questionnaire_from_row(r: &sqlx::any::AnyRow) -> Result<Questionnaire, sqlx::Error> {
    Ok(Questionnaire {
        id: r.try_get("id")?,
        period_id: r.try_get("period_id")?,
        group_id: r.try_get("group_id")?,
        group_code: r.try_get("group_code")?,
        version: r.try_get("version")?,
        title: r.try_get("title")?,
        definition: r.try_get("definition")?,
        status: r.try_get("status")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const LINK_SELECT: &str = "SELECT id, questionnaire_id, unit_id, batch, created_at, response_id, used_at FROM survey_links";

fn link_from_row(r: &sqlx::any::AnyRow) -> Result<SurveyLink, sqlx::Error> {
    Ok(SurveyLink {
        id: r.try_get("id")?,
        questionnaire_id: r.try_get("questionnaire_id")?,
        unit_id: r.try_get("unit_id")?,
        batch: r.try_get("batch")?,
        created_at: r.try_get("created_at")?,
        response_id: r.try_get("response_id")?,
        used_at: r.try_get("used_at")?,
    })
}

const RESPONSE_SELECT: &str = "SELECT r.id, r.questionnaire_id, g.code AS group_code, r.channel, r.link_id, r.paper_ref, r.entry_no, r.answers, r.status, \
     r.created_at, r.submitted_at, r.excluded_at, r.exclusion_reason FROM survey_responses r \
     JOIN questionnaires q ON q.id = r.questionnaire_id JOIN survey_groups g ON g.id = q.group_id";

fn response_from_row(r: &sqlx::any::AnyRow) -> Result<SurveyResponse, sqlx::Error> {
    Ok(SurveyResponse {
        id: r.try_get("id")?,
        questionnaire_id: r.try_get("questionnaire_id")?,
        group_code: r.try_get("group_code")?,
        channel: r.try_get("channel")?,
        link_id: r.try_get("link_id")?,
        paper_ref: r.try_get("paper_ref")?,
        entry_no: r.try_get("entry_no")?,
        answers: r.try_get("answers")?,
        status: r.try_get("status")?,
        created_at: r.try_get("created_at")?,
        submitted_at: r.try_get("submitted_at")?,
        excluded_at: r.try_get("excluded_at")?,
        exclusion_reason: r.try_get("exclusion_reason")?,
    })
}

const JOB_SELECT: &str = "SELECT id, questionnaire_id, file_name, sha256, size, mapping, status, total_rows, inserted, duplicates, report, \
     created_by, created_at, finished_at FROM survey_import_jobs";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<ImportJob, sqlx::Error> {
    Ok(ImportJob {
        id: r.try_get("id")?,
        questionnaire_id: r.try_get("questionnaire_id")?,
        file_name: r.try_get("file_name")?,
        sha256: r.try_get("sha256")?,
        size: r.try_get("size")?,
        mapping: r.try_get("mapping")?,
        status: r.try_get("status")?,
        total_rows: r.try_get("total_rows")?,
        inserted: r.try_get("inserted")?,
        duplicates: r.try_get("duplicates")?,
        report: r.try_get("report")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

fn all<T>(
    rows: &[sqlx::any::AnyRow],
    f: fn(&sqlx::any::AnyRow) -> Result<T, sqlx::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(f).collect::<Result<_, _>>()?)
}

impl Store {
    pub async fn survey_groups(&self, period_id: i64) -> Result<Vec<SurveyGroup>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{GROUP_SELECT} WHERE period_id = $1 ORDER BY code"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, group_from_row)
    }

    pub async fn questionnaires(&self, period_id: i64) -> Result<Vec<Questionnaire>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{QUESTIONNAIRE_SELECT} WHERE q.period_id = $1 ORDER BY g.code, q.version"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, questionnaire_from_row)
    }

    pub async fn questionnaire(&self, id: i64) -> Result<Questionnaire, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{QUESTIONNAIRE_SELECT} WHERE q.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(questionnaire_from_row(&row)?)
    }

    /// The units a questionnaire asks about.
    pub async fn questionnaire_units(&self, questionnaire_id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT unit_id FROM questionnaire_units WHERE questionnaire_id = $1 ORDER BY unit_id",
        )
        .bind(questionnaire_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get("unit_id"))
            .collect::<Result<_, _>>()?)
    }

    pub async fn survey_links(&self, questionnaire_id: i64) -> Result<Vec<SurveyLink>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE questionnaire_id = $1 ORDER BY id"
        )))
        .bind(questionnaire_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, link_from_row)
    }

    /// The link whose token hashes to `token_hash`.
    pub async fn survey_link_by_hash(
        &self,
        token_hash: &str,
    ) -> Result<Option<SurveyLink>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(link_from_row).transpose()?)
    }

    pub async fn survey_response(&self, id: i64) -> Result<SurveyResponse, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RESPONSE_SELECT} WHERE r.id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(response_from_row(&row)?)
    }

    /// Every response of a period (all questionnaires, drafts included), oldest first.
    pub async fn period_survey_responses(
        &self,
        period_id: i64,
    ) -> Result<Vec<SurveyResponse>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RESPONSE_SELECT} WHERE q.period_id = $1 ORDER BY r.id"
        )))
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, response_from_row)
    }

    /// How many of a period's responses count towards its scores (`SurveyResponse::counts`:
    /// submitted, not excluded, the first entry of a paper form).
    pub async fn counted_survey_responses(&self, period_id: i64) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM survey_responses r JOIN questionnaires q ON q.id = r.questionnaire_id \
             WHERE q.period_id = $1 AND r.status = 'submitted' AND r.excluded_at IS NULL \
             AND (r.channel <> 'paper' OR r.entry_no = 1)",
        )
        .bind(period_id)
        .fetch_one(self.pool())
        .await?;
        Ok(row.try_get("n")?)
    }

    /// The responses of one questionnaire, oldest first.
    pub async fn questionnaire_responses(
        &self,
        questionnaire_id: i64,
    ) -> Result<Vec<SurveyResponse>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{RESPONSE_SELECT} WHERE r.questionnaire_id = $1 ORDER BY r.id"
        )))
        .bind(questionnaire_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, response_from_row)
    }

    pub async fn import_job(&self, id: i64) -> Result<ImportJob, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{JOB_SELECT} WHERE id = $1")))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(job_from_row(&row)?)
    }

    pub async fn import_jobs(&self, questionnaire_id: i64) -> Result<Vec<ImportJob>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{JOB_SELECT} WHERE questionnaire_id = $1 ORDER BY id DESC"
        )))
        .bind(questionnaire_id)
        .fetch_all(self.pool())
        .await?;
        all(&rows, job_from_row)
    }

    /// A fingerprint of everything a period's survey score depends on: counts, maxima and
    /// sums of ids and times of responses and exclusions, every group's (id, weight) and every
    /// questionnaire's (id, last change), and the period's version (its survey settings).
    /// Groups and questionnaires are listed row by row rather than summed: a period has a
    /// handful of them, and a sum lets two edits cancel out (swapping two groups' weights
    /// left it unchanged, so a stale score was served). Any write to any of them moves at
    /// least one value, so a cached score is reused only while it is still right, whichever
    /// instance wrote.
    pub async fn survey_fingerprint(&self, period_id: i64) -> Result<Vec<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT CAST(COUNT(*) AS BIGINT) AS responses, CAST(COALESCE(MAX(r.id), 0) AS BIGINT) AS last_id, \
             CAST(COALESCE(SUM(CASE WHEN r.status = 'submitted' THEN r.id ELSE 0 END), 0) AS BIGINT) AS submitted_ids, \
             CAST(COALESCE(SUM(CASE WHEN r.excluded_at IS NULL THEN 0 ELSE r.id END), 0) AS BIGINT) AS excluded_ids, \
             CAST(COALESCE(MAX(r.excluded_at), 0) AS BIGINT) AS last_excluded_at \
             FROM survey_responses r JOIN questionnaires q ON q.id = r.questionnaire_id WHERE q.period_id = $1",
        )
        .bind(period_id)
        .fetch_one(self.pool())
        .await?;
        let mut values = Vec::with_capacity(16);
        for column in [
            "responses",
            "last_id",
            "submitted_ids",
            "excluded_ids",
            "last_excluded_at",
        ] {
            values.push(row.try_get::<i64, _>(column)?);
        }
        let version = sqlx::query(
            "SELECT CAST(COALESCE((SELECT version FROM periods WHERE id = $1), 0) AS BIGINT) AS period_version",
        )
        .bind(period_id)
        .fetch_one(self.pool())
        .await?;
        values.push(version.try_get::<i64, _>("period_version")?);
        // A marker between the lists keeps "one more group" from reading as "one more
        // questionnaire".
        let groups = sqlx::query(
            "SELECT id, weight_milli FROM survey_groups WHERE period_id = $1 ORDER BY id",
        )
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        values.push(-1);
        for g in &groups {
            values.push(g.try_get::<i64, _>("id")?);
            values.push(g.try_get::<i64, _>("weight_milli")?);
        }
        let questionnaires = sqlx::query(
            "SELECT id, updated_at FROM questionnaires WHERE period_id = $1 ORDER BY id",
        )
        .bind(period_id)
        .fetch_all(self.pool())
        .await?;
        values.push(-2);
        for q in &questionnaires {
            values.push(q.try_get::<i64, _>("id")?);
            values.push(q.try_get::<i64, _>("updated_at")?);
        }
        Ok(values)
    }

    /// Calls `each` with the source key and answers of every response of a questionnaire
    /// whose key starts with `prefix_a` or `prefix_b` (plain prefixes: letters, digits and
    /// `:` only), streamed rather than collected, so checking a re-import of a million rows
    /// does not hold them all at once.
    pub async fn for_each_keyed_response(
        &self,
        questionnaire_id: i64,
        prefix_a: &str,
        prefix_b: &str,
        mut each: impl FnMut(&str, &str),
    ) -> Result<(), StoreError> {
        use futures_util::TryStreamExt;
        let mut rows = sqlx::query(
            "SELECT source_key, answers FROM survey_responses \
             WHERE questionnaire_id = $1 AND (source_key LIKE $2 OR source_key LIKE $3)",
        )
        .bind(questionnaire_id)
        .bind(format!("{prefix_a}%"))
        .bind(format!("{prefix_b}%"))
        .fetch(self.pool());
        while let Some(row) = rows.try_next().await? {
            let key: String = row.try_get("source_key")?;
            let answers: String = row.try_get("answers")?;
            each(&key, &answers);
        }
        Ok(())
    }

    /// Jobs waiting for a worker (after a restart, for instance), oldest first.
    pub async fn pending_import_jobs(&self) -> Result<Vec<ImportJob>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{JOB_SELECT} WHERE status = 'pending' ORDER BY id"
        )))
        .fetch_all(self.pool())
        .await?;
        all(&rows, job_from_row)
    }
}

impl WriteTx {
    /// The period's survey window, minimum sample and weighting.
    pub async fn save_survey_settings(
        &mut self,
        period_id: i64,
        open: Option<i64>,
        close: Option<i64>,
        min_sample: i64,
        weighted: bool,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE periods SET survey_open_at = $1, survey_close_at = $2, survey_min_sample = $3, survey_weighted = $4, \
             version = version + 1, updated_at = $5 WHERE id = $6",
        )
        .bind(open)
        .bind(close)
        .bind(min_sample)
        .bind(i64::from(weighted))
        .bind(crate::now_ms())
        .bind(period_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.audit(
            "survey.settings",
            "period",
            period_id,
            None,
            Some(serde_json::json!({ "open": open, "close": close, "min_sample": min_sample, "weighted": weighted })),
        )
        .await?;
        Ok(())
    }

    /// Creates or updates (by code) a respondent group of a period.
    pub async fn save_survey_group(
        &mut self,
        period_id: i64,
        code: &str,
        name: &str,
        weight_milli: i64,
        population: i64,
        target_per_unit: i64,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO survey_groups (period_id, code, name, weight_milli, population, target_per_unit, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (period_id, code) DO UPDATE SET name = excluded.name, \
             weight_milli = excluded.weight_milli, population = excluded.population, target_per_unit = excluded.target_per_unit \
             RETURNING id",
        )
        .bind(period_id)
        .bind(code)
        .bind(name)
        .bind(weight_milli)
        .bind(population)
        .bind(target_per_unit)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.audit(
            "survey.group",
            "survey_group",
            id,
            None,
            Some(
                serde_json::json!({ "code": code, "name": name, "weight_milli": weight_milli,
                "population": population, "target_per_unit": target_per_unit }),
            ),
        )
        .await?;
        Ok(id)
    }

    /// Creates a draft questionnaire for a group: version = the group's last version + 1.
    pub async fn create_questionnaire(
        &mut self,
        period_id: i64,
        group_id: i64,
        title: &str,
        definition: &str,
        unit_ids: &[i64],
    ) -> Result<i64, StoreError> {
        let owner = sqlx::query("SELECT period_id FROM survey_groups WHERE id = $1")
            .bind(group_id)
            .fetch_optional(&mut *self.tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if owner.try_get::<i64, _>("period_id")? != period_id {
            return Err(StoreError::NotFound);
        }
        let last = sqlx::query(
            "SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS version FROM questionnaires WHERE period_id = $1 AND group_id = $2",
        )
        .bind(period_id)
        .bind(group_id)
        .fetch_one(&mut *self.tx)
        .await?;
        let version = last.try_get::<i64, _>("version")? + 1;
        let now = crate::now_ms();
        let row = sqlx::query(
            "INSERT INTO questionnaires (period_id, group_id, version, title, definition, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7) RETURNING id",
        )
        .bind(period_id)
        .bind(group_id)
        .bind(version)
        .bind(title)
        .bind(definition)
        .bind(self.actor().user_id)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.replace_questionnaire_units(id, unit_ids).await?;
        self.audit(
            "survey.questionnaire.create",
            "questionnaire",
            id,
            None,
            Some(serde_json::json!({ "group_id": group_id, "version": version, "title": title, "units": unit_ids })),
        )
        .await?;
        Ok(id)
    }

    async fn replace_questionnaire_units(
        &mut self,
        questionnaire_id: i64,
        unit_ids: &[i64],
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM questionnaire_units WHERE questionnaire_id = $1")
            .bind(questionnaire_id)
            .execute(&mut *self.tx)
            .await?;
        for unit_id in unit_ids {
            sqlx::query(
                "INSERT INTO questionnaire_units (questionnaire_id, unit_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(questionnaire_id)
            .bind(unit_id)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// Changes a draft questionnaire's title, questions and units (an open one is frozen:
    /// make a new version instead).
    pub async fn update_questionnaire(
        &mut self,
        id: i64,
        title: &str,
        definition: &str,
        unit_ids: &[i64],
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE questionnaires SET title = $1, definition = $2, updated_at = $3 WHERE id = $4 AND status = 'draft'",
        )
        .bind(title)
        .bind(definition)
        .bind(crate::now_ms())
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Invalid(
                "Chỉ sửa được mẫu phiếu ở trạng thái nháp; hãy tạo phiên bản mới.".into(),
            ));
        }
        self.replace_questionnaire_units(id, unit_ids).await?;
        self.audit(
            "survey.questionnaire.update",
            "questionnaire",
            id,
            None,
            Some(
                serde_json::json!({ "title": title, "definition": definition, "units": unit_ids }),
            ),
        )
        .await?;
        Ok(())
    }

    /// Moves a questionnaire draft → open → closed (and closed → open to resume).
    pub async fn set_questionnaire_status(
        &mut self,
        id: i64,
        from: &str,
        to: &str,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE questionnaires SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
        )
        .bind(to)
        .bind(crate::now_ms())
        .bind(id)
        .bind(from)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::Stale);
        }
        self.audit(
            "survey.questionnaire.status",
            "questionnaire",
            id,
            Some(serde_json::json!({ "status": from })),
            Some(serde_json::json!({ "status": to })),
        )
        .await?;
        Ok(())
    }

    /// Adds single-use links (their tokens' hashes) in one batch; returns their ids.
    pub async fn create_survey_links(
        &mut self,
        questionnaire_id: i64,
        unit_id: Option<i64>,
        batch: &str,
        token_hashes: &[String],
    ) -> Result<Vec<i64>, StoreError> {
        let now = crate::now_ms();
        let mut ids = Vec::with_capacity(token_hashes.len());
        for hash in token_hashes {
            let row = sqlx::query(
                "INSERT INTO survey_links (questionnaire_id, token_hash, unit_id, batch, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(questionnaire_id)
            .bind(hash)
            .bind(unit_id)
            .bind(batch)
            .bind(self.actor().user_id)
            .bind(now)
            .fetch_one(&mut *self.tx)
            .await?;
            ids.push(row.try_get("id")?);
        }
        self.audit(
            "survey.links.create",
            "questionnaire",
            questionnaire_id,
            None,
            Some(serde_json::json!({ "batch": batch, "unit_id": unit_id, "count": ids.len() })),
        )
        .await?;
        Ok(ids)
    }

    /// Saves a respondent's answers through their link: a draft they can resume, or the final
    /// submission (`submit`). Refused once the link's response is submitted.
    pub async fn save_link_response(
        &mut self,
        link_id: i64,
        answers: &str,
        submit: bool,
    ) -> Result<i64, StoreError> {
        let now = crate::now_ms();
        let link = sqlx::query(
            "SELECT questionnaire_id, response_id, used_at FROM survey_links WHERE id = $1",
        )
        .bind(link_id)
        .fetch_optional(&mut *self.tx)
        .await?
        .ok_or(StoreError::NotFound)?;
        let questionnaire_id: i64 = link.try_get("questionnaire_id")?;
        let response_id: Option<i64> = link.try_get("response_id")?;
        let used_at: Option<i64> = link.try_get("used_at")?;
        if used_at.is_some() {
            return Err(StoreError::Invalid(
                "Đường dẫn này đã được dùng để gửi phiếu; mỗi đường dẫn chỉ dùng một lần.".into(),
            ));
        }
        let status = if submit { "submitted" } else { "draft" };
        let submitted_at = submit.then_some(now);
        let id = match response_id {
            Some(id) => {
                sqlx::query(
                    "UPDATE survey_responses SET answers = $1, status = $2, submitted_at = $3 WHERE id = $4 AND status = 'draft'",
                )
                .bind(answers)
                .bind(status)
                .bind(submitted_at)
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                id
            }
            None => {
                let row = sqlx::query(
                    "INSERT INTO survey_responses (questionnaire_id, channel, link_id, entry_no, answers, status, created_at, submitted_at) \
                     VALUES ($1, 'online', $2, 1, $3, $4, $5, $6) RETURNING id",
                )
                .bind(questionnaire_id)
                .bind(link_id)
                .bind(answers)
                .bind(status)
                .bind(now)
                .bind(submitted_at)
                .fetch_one(&mut *self.tx)
                .await?;
                row.try_get("id")?
            }
        };
        let n = sqlx::query(
            "UPDATE survey_links SET response_id = $1, used_at = $2 WHERE id = $3 AND used_at IS NULL",
        )
        .bind(id)
        .bind(submitted_at)
        .bind(link_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            // Someone submitted through the same link in the meantime.
            return Err(StoreError::Stale);
        }
        self.audit(
            if submit {
                "survey.response.submit"
            } else {
                "survey.response.draft"
            },
            "survey_response",
            id,
            None,
            Some(serde_json::json!({ "link_id": link_id, "channel": "online" })),
        )
        .await?;
        Ok(id)
    }

    /// Adds submitted responses in bulk (paper entry, import), skipping any whose
    /// `source_key` (or paper form number and entry) is already there. Returns (inserted,
    /// skipped). Rows go in multi-row statements, so a million of them stay fast.
    pub async fn add_survey_responses(
        &mut self,
        questionnaire_id: i64,
        responses: &[NewResponse],
        audit_note: serde_json::Value,
    ) -> Result<(u64, u64), StoreError> {
        // Rows per multi-row INSERT. SQLite looks a bound parameter up by a linear scan of
        // the statement's parameter names, so binding n parameters costs O(n²): measured,
        // 400 rows (2,403 parameters) spent two thirds of a million-row import there. Small
        // statements suit SQLite (in-process, no round trip); PostgreSQL wants few round
        // trips, and binds positionally.
        let chunk_rows = match self.backend() {
            crate::Backend::Sqlite => 40,
            crate::Backend::Postgres => 1000,
        };
        let now = crate::now_ms();
        let user = self.actor().user_id;
        let mut inserted = 0u64;
        for chunk in responses.chunks(chunk_rows) {
            let mut sql = String::from(
                "INSERT INTO survey_responses (questionnaire_id, channel, source_key, paper_ref, entry_no, answers, status, created_at, submitted_at, entered_by) VALUES ",
            );
            for i in 0..chunk.len() {
                if i > 0 {
                    sql.push(',');
                }
                // Three shared binds ($1 questionnaire, $2 now, $3 user), then six per row.
                let b = 3 + i * 6;
                sql.push_str(&format!(
                    "($1, ${}, ${}, ${}, ${}, ${}, 'submitted', $2, ${}, $3)",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6
                ));
            }
            sql.push_str(" ON CONFLICT DO NOTHING");
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(questionnaire_id)
                .bind(now)
                .bind(user);
            for r in chunk {
                q = q
                    .bind(r.channel)
                    .bind(r.source_key.as_deref())
                    .bind(r.paper_ref.as_deref())
                    .bind(r.entry_no)
                    .bind(r.answers.as_str())
                    .bind(r.submitted_at);
            }
            inserted += q.execute(&mut *self.tx).await?.rows_affected();
        }
        let skipped = responses.len() as u64 - inserted;
        self.audit(
            "survey.responses.add",
            "questionnaire",
            questionnaire_id,
            None,
            Some(
                serde_json::json!({ "inserted": inserted, "skipped": skipped, "note": audit_note }),
            ),
        )
        .await?;
        Ok((inserted, skipped))
    }

    /// Excludes a response from scoring, with the reason (or includes it again with `None`).
    pub async fn set_response_exclusion(
        &mut self,
        response_id: i64,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE survey_responses SET excluded_at = $1, excluded_by = $2, exclusion_reason = $3 WHERE id = $4",
        )
        .bind(reason.map(|_| crate::now_ms()))
        .bind(reason.and(self.actor().user_id))
        .bind(reason)
        .bind(response_id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        self.audit(
            if reason.is_some() {
                "survey.response.exclude"
            } else {
                "survey.response.include"
            },
            "survey_response",
            response_id,
            None,
            Some(serde_json::json!({ "reason": reason })),
        )
        .await?;
        Ok(())
    }

    /// Records a new import job (the file is already in the evidence store by its hash).
    pub async fn create_import_job(
        &mut self,
        questionnaire_id: i64,
        file_name: &str,
        sha256: &str,
        size: i64,
        mapping: &str,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO survey_import_jobs (questionnaire_id, file_name, sha256, size, mapping, status, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING id",
        )
        .bind(questionnaire_id)
        .bind(file_name)
        .bind(sha256)
        .bind(size)
        .bind(mapping)
        .bind(self.actor().user_id)
        .bind(crate::now_ms())
        .fetch_one(&mut *self.tx)
        .await?;
        let id: i64 = row.try_get("id")?;
        self.audit(
            "survey.import.create",
            "survey_import_job",
            id,
            None,
            Some(serde_json::json!({ "questionnaire_id": questionnaire_id, "file": file_name, "sha256": sha256, "size": size })),
        )
        .await?;
        Ok(id)
    }

    /// Marks an import running for the worker that holds its job's lease (a pending one, or
    /// a running one whose worker died); false once it is done or failed.
    pub async fn claim_import_job(&mut self, id: i64) -> Result<bool, StoreError> {
        let n = sqlx::query(
            "UPDATE survey_import_jobs SET status = 'running' WHERE id = $1 AND status IN ('pending', 'running')",
        )
        .bind(id)
        .execute(&mut *self.tx)
        .await?
        .rows_affected();
        if n == 1 {
            self.audit("survey.import.start", "survey_import_job", id, None, None)
                .await?;
        }
        Ok(n == 1)
    }

    /// Records a job's outcome.
    pub async fn finish_import_job(
        &mut self,
        id: i64,
        status: &str,
        total_rows: i64,
        inserted: i64,
        duplicates: i64,
        report: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE survey_import_jobs SET status = $1, total_rows = $2, inserted = $3, duplicates = $4, report = $5, finished_at = $6 WHERE id = $7",
        )
        .bind(status)
        .bind(total_rows)
        .bind(inserted)
        .bind(duplicates)
        .bind(report)
        .bind(crate::now_ms())
        .bind(id)
        .execute(&mut *self.tx)
        .await?;
        self.audit(
            "survey.import.finish",
            "survey_import_job",
            id,
            None,
            Some(serde_json::json!({ "status": status, "total_rows": total_rows, "inserted": inserted, "duplicates": duplicates })),
        )
        .await?;
        Ok(())
    }
}
