//! The job table and the e-mail outbox: the background work of every instance behind one
//! load balancer, claimed with a lease so that each job runs in one instance at a time and a
//! job whose instance died is taken over by another.
//!
//! A job is enqueued inside the write transaction of its cause ([`WriteTx::enqueue_job`]), or
//! scheduled by the runner itself ([`Store::schedule_job`], idempotent through its dedupe
//! key). [`Store::claim_job`] takes the next due job, or a running one whose lease ran out:
//! on PostgreSQL with `SELECT … FOR UPDATE SKIP LOCKED` and an `UPDATE` in one transaction, on
//! SQLite inside a write transaction (the database's write lock). The holder renews its lease
//! with [`Store::heartbeat_job`] (which also stores the progress) and ends with
//! [`Store::complete_job`] or [`Store::fail_job`] (retried after an exponential backoff).
//! Every call after the claim names the worker: a worker whose lease was taken over can no
//! longer change the job.
//!
//! Job bookkeeping is delivery state, like an e-mail's "sent" mark: it is not audited (the
//! cause's transaction, and the job's own effects, are).

use sqlx::Row;

use crate::db::{Backend, Store, WriteTx};
use crate::error::StoreError;

/// A job row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON.
    pub payload: String,
    pub dedupe_key: Option<String>,
    /// `queued`, `running`, `done`, `failed`.
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub run_after: i64,
    pub locked_by: Option<String>,
    pub locked_until: Option<i64>,
    /// JSON, written by the worker while it runs.
    pub progress: String,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub finished_at: Option<i64>,
}

impl Job {
    /// The payload parsed (an empty object when it does not parse).
    pub fn payload_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.payload).unwrap_or_else(|_| serde_json::json!({}))
    }

    /// The progress parsed (an empty object when none was stored).
    pub fn progress_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.progress).unwrap_or_else(|_| serde_json::json!({}))
    }
}

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: serde_json::Value,
    /// At most one job per key, ever: enqueueing the same key again does nothing.
    pub dedupe_key: Option<String>,
    /// Not before this instant (ms since the epoch).
    pub run_after: i64,
    pub max_attempts: i64,
}

impl NewJob {
    /// A job of `kind`, due now, tried at most 5 times.
    pub fn new(kind: &str, payload: serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_owned(),
            payload,
            dedupe_key: None,
            run_after: crate::now_ms(),
            max_attempts: 5,
        }
    }

    pub fn dedupe_key(mut self, key: impl Into<String>) -> NewJob {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn max_attempts(mut self, attempts: i64) -> NewJob {
        self.max_attempts = attempts.max(1);
        self
    }
}

/// What [`Store::fail_job`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Queued again, due at this instant.
    At(i64),
    /// No attempts left: the job is `failed`.
    GaveUp,
    /// The worker no longer held the job (its lease was taken over): nothing changed.
    LeaseLost,
}

/// The first retry waits this long; each further one twice as long as the one before.
pub const BACKOFF_BASE_MS: i64 = 5_000;
/// No retry waits longer than this.
pub const BACKOFF_MAX_MS: i64 = 3_600_000;

/// The wait before retry number `attempts` (1 after the first failure).
pub fn backoff_ms(attempts: i64) -> i64 {
    let shift = u32::try_from(attempts.clamp(1, 20) - 1).unwrap_or(0);
    BACKOFF_BASE_MS
        .saturating_mul(1i64 << shift)
        .min(BACKOFF_MAX_MS)
}

const JOB_COLUMNS: &str = "id, kind, payload, dedupe_key, status, attempts, max_attempts, run_after, locked_by, \
     locked_until, progress, last_error, created_at, updated_at, finished_at";

fn job_from_row(r: &sqlx::any::AnyRow) -> Result<Job, sqlx::Error> {
    Ok(Job {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        payload: r.try_get("payload")?,
        dedupe_key: r.try_get("dedupe_key")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        max_attempts: r.try_get("max_attempts")?,
        run_after: r.try_get("run_after")?,
        locked_by: r.try_get("locked_by")?,
        locked_until: r.try_get("locked_until")?,
        progress: r.try_get("progress")?,
        last_error: r.try_get("last_error")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        finished_at: r.try_get("finished_at")?,
    })
}

const INSERT_JOB: &str = "INSERT INTO jobs (kind, payload, dedupe_key, status, attempts, max_attempts, run_after, progress, created_at, updated_at) \
     VALUES ($1, $2, $3, 'queued', 0, $4, $5, '{}', $6, $6) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id";

async fn insert_job<'c, E>(executor: E, job: &NewJob) -> Result<Option<i64>, StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    let row = sqlx::query(INSERT_JOB)
        .bind(job.kind.clone())
        .bind(job.payload.to_string())
        .bind(job.dedupe_key.clone())
        .bind(job.max_attempts)
        .bind(job.run_after)
        .bind(crate::now_ms())
        .fetch_optional(executor)
        .await?;
    Ok(row.map(|r| r.try_get::<i64, _>(0)).transpose()?)
}

impl WriteTx {
    /// Enqueues a job in this transaction, so that it exists exactly when its cause does.
    /// `None` when a job with the same dedupe key already exists.
    pub async fn enqueue_job(&mut self, job: &NewJob) -> Result<Option<i64>, StoreError> {
        insert_job(&mut *self.tx, job).await
    }
}

impl Store {
    /// Enqueues a job on its own (the runner's periodic jobs): `None` when a job with the same
    /// dedupe key exists already, which is how one reminder run per interval is scheduled for
    /// the whole cluster however many instances ask.
    pub async fn schedule_job(&self, job: &NewJob) -> Result<Option<i64>, StoreError> {
        let _writer = self.lock_writer().await;
        insert_job(self.pool(), job).await
    }

    pub async fn job(&self, id: i64) -> Result<Job, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or(StoreError::NotFound)?;
        Ok(job_from_row(&row)?)
    }

    /// The job enqueued under `key`, if any.
    pub async fn job_by_key(&self, key: &str) -> Result<Option<Job>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE dedupe_key = $1"
        )))
        .bind(key)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.as_ref().map(job_from_row).transpose()?)
    }

    /// Claims for `worker` the next due job of one of `kinds` (oldest due first): a queued
    /// job whose time has come, or a running one whose lease ran out. The claim holds for
    /// `lease_ms` and counts as an attempt. A running job whose lease ran out with no attempts
    /// left is marked failed instead of being run again.
    pub async fn claim_job(
        &self,
        worker: &str,
        kinds: &[&str],
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        self.claim(worker, kinds, None, lease_ms).await
    }

    /// [`Store::claim_job`] for one job: the instance that enqueued it runs it at once, unless
    /// another already holds it.
    pub async fn claim_job_by_id(
        &self,
        id: i64,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        self.claim(worker, &[], Some(id), lease_ms).await
    }

    async fn claim(
        &self,
        worker: &str,
        kinds: &[&str],
        id: Option<i64>,
        lease_ms: i64,
    ) -> Result<Option<Job>, StoreError> {
        if kinds.is_empty() && id.is_none() {
            return Ok(None);
        }
        // Kinds are the runner's own constants; they are bound, not spliced in.
        let mut filter = String::new();
        if id.is_some() {
            filter.push_str(" AND id = $2");
        } else {
            let marks: Vec<String> = (0..kinds.len()).map(|i| format!("${}", 2 + i)).collect();
            filter.push_str(&format!(" AND kind IN ({})", marks.join(", ")));
        }
        let due = format!(
            "((status = 'queued' AND run_after <= $1) OR (status = 'running' AND locked_until < $1)) \
             AND attempts < max_attempts{filter}"
        );
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let select =
            format!("SELECT id FROM jobs WHERE {due} ORDER BY run_after, id LIMIT 1{lock}");
        let now = crate::now_ms();

        let _writer = self.lock_writer().await;
        let mut tx = match self.backend() {
            // The write lock up front: two processes on one file claim one after the other.
            Backend::Sqlite => self.pool().begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool().begin().await?,
        };
        // Leases that ran out with no attempts left: the job is given up, not run forever.
        sqlx::query(
            "UPDATE jobs SET status = 'failed', locked_by = NULL, locked_until = NULL, finished_at = $1, updated_at = $1, \
             last_error = COALESCE(last_error, 'the worker stopped before the job ended') \
             WHERE status = 'running' AND locked_until < $1 AND attempts >= max_attempts",
        )
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let mut query = sqlx::query(sqlx::AssertSqlSafe(select)).bind(now);
        if let Some(id) = id {
            query = query.bind(id);
        } else {
            for kind in kinds {
                query = query.bind(*kind);
            }
        }
        let Some(row) = query.fetch_optional(&mut *tx).await? else {
            tx.commit().await?;
            return Ok(None);
        };
        let job_id: i64 = row.try_get("id")?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2, updated_at = $3 \
             WHERE id = $4 RETURNING {JOB_COLUMNS}"
        )))
        .bind(worker)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(job_id)
        .fetch_one(&mut *tx)
        .await?;
        let job = job_from_row(&row)?;
        tx.commit().await?;
        Ok(Some(job))
    }

    /// Renews `worker`'s lease on a job for `lease_ms` from now and stores its progress
    /// (when given). False when the worker no longer holds the job: it must stop.
    pub async fn heartbeat_job(
        &self,
        id: i64,
        worker: &str,
        lease_ms: i64,
        progress: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let now = crate::now_ms();
        let _writer = self.lock_writer().await;
        let n = sqlx::query(
            "UPDATE jobs SET locked_until = $1, progress = COALESCE($2, progress), updated_at = $3 \
             WHERE id = $4 AND status = 'running' AND locked_by = $5",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(progress.map(serde_json::Value::to_string))
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Marks `worker`'s job done. False when the worker no longer held it.
    pub async fn complete_job(&self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let now = crate::now_ms();
        let _writer = self.lock_writer().await;
        let n = sqlx::query(
            "UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, finished_at = $1, updated_at = $1 \
             WHERE id = $2 AND status = 'running' AND locked_by = $3",
        )
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records a failed attempt of `worker`'s job: queued again after [`backoff_ms`], or
    /// failed for good when it has no attempts left.
    pub async fn fail_job(&self, id: i64, worker: &str, error: &str) -> Result<Retry, StoreError> {
        let now = crate::now_ms();
        let error: String = error.chars().take(2000).collect();
        let _writer = self.lock_writer().await;
        let row = sqlx::query(
            "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND status = 'running' AND locked_by = $2",
        )
        .bind(id)
        .bind(worker)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(Retry::LeaseLost);
        };
        let attempts: i64 = row.try_get("attempts")?;
        let max_attempts: i64 = row.try_get("max_attempts")?;
        let (status, run_after, finished, retry) = if attempts >= max_attempts {
            ("failed", now, Some(now), Retry::GaveUp)
        } else {
            let at = now.saturating_add(backoff_ms(attempts));
            ("queued", at, None, Retry::At(at))
        };
        let n = sqlx::query(
            "UPDATE jobs SET status = $1, run_after = $2, finished_at = $3, last_error = $4, locked_by = NULL, \
             locked_until = NULL, updated_at = $5 WHERE id = $6 AND status = 'running' AND locked_by = $7",
        )
        .bind(status)
        .bind(run_after)
        .bind(finished)
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(worker)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(if n == 1 { retry } else { Retry::LeaseLost })
    }

    /// Deletes the jobs that ended before `before` (ms): the table keeps recent history only.
    pub async fn purge_finished_jobs(&self, before: i64) -> Result<u64, StoreError> {
        let _writer = self.lock_writer().await;
        let n =
            sqlx::query("DELETE FROM jobs WHERE status IN ('done', 'failed') AND finished_at < $1")
                .bind(before)
                .execute(self.pool())
                .await?
                .rows_affected();
        Ok(n)
    }

    /// Claims the oldest unsent e-mail copy of a notification for `worker` for `lease_ms`:
    /// one `UPDATE … RETURNING`, so two instances never take the same row. A claim that ran
    /// out (the instance died before marking it sent) is taken again.
    pub async fn claim_email(
        &self,
        worker: &str,
        lease_ms: i64,
    ) -> Result<Option<crate::appraisal::PendingEmail>, StoreError> {
        let now = crate::now_ms();
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE OF n SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let _writer = self.lock_writer().await;
        let claimed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE notifications SET email_claimed_by = $1, email_claimed_until = $2 WHERE id = ( \
             SELECT n.id FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.email_sent_at IS NULL AND (n.email_claimed_until IS NULL OR n.email_claimed_until < $3) \
             AND u.email IS NOT NULL AND u.email <> '' AND u.disabled = 0 ORDER BY n.id LIMIT 1{lock}) \
             AND email_sent_at IS NULL AND (email_claimed_until IS NULL OR email_claimed_until < $3) RETURNING id"
        )))
        .bind(worker)
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(claimed) = claimed else {
            return Ok(None);
        };
        let id: i64 = claimed.try_get("id")?;
        let row = sqlx::query(
            "SELECT n.id AS id, u.email AS email, n.title AS title, n.body AS body, n.link AS link \
             FROM notifications n JOIN users u ON u.id = n.user_id WHERE n.id = $1",
        )
        .bind(id)
        .fetch_one(self.pool())
        .await?;
        Ok(Some(crate::appraisal::PendingEmail {
            notification_id: row.try_get("id")?,
            email: row.try_get("email")?,
            title: row.try_get("title")?,
            body: row.try_get("body")?,
            link: row.try_get("link")?,
        }))
    }

    /// Gives a claimed e-mail back (sending failed): the next run tries it again.
    pub async fn release_email(
        &self,
        notification_id: i64,
        worker: &str,
    ) -> Result<(), StoreError> {
        let _writer = self.lock_writer().await;
        sqlx::query(
            "UPDATE notifications SET email_claimed_by = NULL, email_claimed_until = NULL \
             WHERE id = $1 AND email_claimed_by = $2 AND email_sent_at IS NULL",
        )
        .bind(notification_id)
        .bind(worker)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The change counter of a period's results data (see migration 0008): one primary-key
    /// lookup; 0 for a period without a counter yet.
    pub async fn results_version(&self, period_id: i64) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT version FROM results_versions WHERE period_id = $1")
                .bind(period_id)
                .fetch_optional(self.pool())
                .await?;
        Ok(version.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_a_bound() {
        assert_eq!(backoff_ms(1), BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(2), 2 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(3), 4 * BACKOFF_BASE_MS);
        assert_eq!(backoff_ms(40), BACKOFF_MAX_MS);
    }
}
