//! The background job runner: started at boot in every instance, it polls the job table,
//! claims a due job (or one whose instance died: its lease ran out), runs the handler of its
//! kind while renewing the lease and storing its progress, and records the outcome. It also
//! schedules the periodic jobs, deadline reminders and the e-mail outbox, once per interval
//! for the whole cluster (a dedupe key per interval), so that several instances behind one
//! load balancer do the work once.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use parindex_store::jobs::{Job, NewJob, Retry};

use crate::App;
use crate::notify::SmtpConfig;

/// A survey import (payload `{"import_job": id}`), see [`crate::survey_jobs`].
pub const SURVEY_IMPORT: &str = "survey_import";
/// Deadline reminders for the whole cluster, once per interval.
pub const REMINDERS: &str = "reminders";
/// One pass over the e-mail outbox, once per interval.
pub const EMAILS: &str = "emails";

const KINDS: &[&str] = &[SURVEY_IMPORT, REMINDERS, EMAILS];

/// How this instance takes part in running jobs. Part of [`App`], because a use case that
/// enqueues a job may also start it at once in this instance.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// This instance's name in the job table (`locked_by`): host, process and a random part,
    /// so two instances in one process (tests) are told apart too.
    pub worker: String,
    /// How long a claim holds without renewal: an instance that died gives its jobs up after
    /// this long.
    pub lease: Duration,
    /// How often the runner looks for due jobs.
    pub poll: Duration,
    /// How often deadline reminders run (cluster-wide).
    pub reminders_every: Duration,
    /// How often the e-mail outbox is drained (cluster-wide).
    pub emails_every: Duration,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            worker: new_worker_name(),
            lease: Duration::from_secs(60),
            poll: Duration::from_secs(2),
            reminders_every: crate::notify::INTERVAL,
            emails_every: Duration::from_secs(60),
        }
    }
}

impl JobSettings {
    fn lease_ms(&self) -> i64 {
        i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Renewals come three times per lease, and progress is stored at least every second.
    fn heartbeat(&self) -> Duration {
        (self.lease / 3)
            .min(Duration::from_secs(1))
            .max(Duration::from_millis(50))
    }
}

fn new_worker_name() -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!("{host}:{}:{}", std::process::id(), hex::encode(random))
}

/// A name for this process, for work done outside an [`App`]'s runner.
pub fn process_worker() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(new_worker_name)
}

/// Where a running job is, shared between its handler (which sets it) and the heartbeat
/// (which stores it).
#[derive(Debug, Default, Clone)]
pub struct JobContext {
    progress: Arc<Mutex<Option<serde_json::Value>>>,
}

impl JobContext {
    /// Records the job's progress; the next heartbeat stores it.
    pub fn set_progress(&self, progress: serde_json::Value) {
        if let Ok(mut slot) = self.progress.lock() {
            *slot = Some(progress);
        }
    }

    fn take(&self) -> Option<serde_json::Value> {
        self.progress.lock().ok()?.take()
    }
}

/// What the runner needs besides the [`App`].
#[derive(Debug, Clone, Default)]
pub struct RunnerConfig {
    /// E-mail copies of notifications go out only with a relay.
    pub smtp: Option<SmtpConfig>,
    /// The start of links in e-mails.
    pub public_url: Option<String>,
}

/// The running runner of one instance. Dropping it stops it too.
#[derive(Debug)]
pub struct Runner {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Runner {
    /// Stops polling; a job in progress is dropped (a survey import's transaction rolls back)
    /// and taken up again, by any instance, when its lease runs out.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }

    /// Kills the runner and its job on the spot, as a crash would: the job keeps its lease
    /// until the lease runs out. For tests of the takeover.
    pub fn kill(mut self) {
        self.stop.take();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Starts the runner of this instance in the background.
pub fn start(app: App, config: RunnerConfig) -> Runner {
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(run(app, config, stopped));
    Runner {
        stop: Some(stop),
        task: Some(task),
    }
}

/// Aborts a spawned task when dropped: a handler dies with the runner that runs it.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(app: App, config: RunnerConfig, mut stopped: tokio::sync::oneshot::Receiver<()>) {
    let settings = app.jobs.clone();
    let mut scheduled: [Option<i64>; 2] = [None, None];
    let mut last_purge = 0i64;
    let mut ticker = tokio::time::interval(settings.poll);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = ticker.tick() => {}
        }
        schedule_periodic(&app, &config, &mut scheduled).await;
        let now = app.now_ms();
        if now - last_purge > 3_600_000 {
            last_purge = now;
            if let Err(error) = app.store.purge_finished_jobs(now - 7 * 86_400_000).await {
                tracing::warn!(%error, "purging old jobs failed");
            }
        }
        // Every due job, one after the other, before sleeping again.
        loop {
            let job = match app
                .store
                .claim_job(&settings.worker, KINDS, settings.lease_ms())
                .await
            {
                Ok(Some(job)) => job,
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(%error, "claiming a job failed");
                    break;
                }
            };
            let work = execute(&app, &config, job);
            tokio::pin!(work);
            tokio::select! {
                () = &mut work => {}
                _ = &mut stopped => return,
            }
        }
    }
}

/// Enqueues this interval's reminder run and outbox pass unless some instance already did.
async fn schedule_periodic(app: &App, config: &RunnerConfig, scheduled: &mut [Option<i64>; 2]) {
    let now = app.now_ms();
    let settings = &app.jobs;
    let mut periodic = vec![(0, REMINDERS, settings.reminders_every)];
    if config.smtp.is_some() {
        periodic.push((1, EMAILS, settings.emails_every));
    }
    for (i, kind, every) in periodic {
        let every = i64::try_from(every.as_millis()).unwrap_or(i64::MAX).max(1);
        let slot = now / every;
        if scheduled[i] == Some(slot) {
            continue;
        }
        let job = NewJob::new(kind, serde_json::json!({}))
            .dedupe_key(format!("{kind}:{every}:{slot}"))
            .max_attempts(3);
        match app.store.schedule_job(&job).await {
            Ok(_) => scheduled[i] = Some(slot),
            Err(error) => tracing::warn!(%error, kind, "scheduling a job failed"),
        }
    }
}

/// Claims the job `job_id` for this instance and runs it now, in the background, unless
/// another instance holds it already (then that one runs it). A use case that enqueues a job
/// calls this so the job starts without waiting for the next poll.
pub fn run_now(app: &App, job_id: i64) {
    let app = app.clone();
    tokio::spawn(async move {
        let settings = app.jobs.clone();
        match app
            .store
            .claim_job_by_id(job_id, &settings.worker, settings.lease_ms())
            .await
        {
            Ok(Some(job)) => execute(&app, &RunnerConfig::default(), job).await,
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, job_id, "claiming a job failed"),
        }
    });
}

/// Runs a claimed job's handler, renewing the lease and storing the progress meanwhile, and
/// records the outcome. A lost lease (another instance took the job over) stops the handler.
async fn execute(app: &App, config: &RunnerConfig, job: Job) {
    let settings = app.jobs.clone();
    let context = JobContext::default();
    let mut handler = AbortOnDrop(tokio::spawn(handle(
        app.clone(),
        config.clone(),
        job.clone(),
        context.clone(),
    )));
    let mut beat = tokio::time::interval(settings.heartbeat());
    beat.tick().await;
    let outcome = loop {
        tokio::select! {
            joined = &mut handler.0 => break Some(joined),
            _ = beat.tick() => {
                match app.store.heartbeat_job(job.id, &settings.worker, settings.lease_ms(), context.take().as_ref()).await {
                    Ok(true) => {}
                    Ok(false) => break None,
                    Err(error) => tracing::warn!(%error, job = job.id, "renewing a job's lease failed"),
                }
            }
        }
    };
    let result = match outcome {
        None => {
            tracing::warn!(
                job = job.id,
                kind = %job.kind,
                "another instance took the job over; stopped"
            );
            return;
        }
        Some(Ok(result)) => result,
        Some(Err(panic)) => Err(format!("the job's handler stopped: {panic}")),
    };
    if let Some(progress) = context.take() {
        let _ = app
            .store
            .heartbeat_job(
                job.id,
                &settings.worker,
                settings.lease_ms(),
                Some(&progress),
            )
            .await;
    }
    match result {
        Ok(()) => {
            if let Err(error) = app.store.complete_job(job.id, &settings.worker).await {
                tracing::error!(%error, job = job.id, "recording a finished job failed");
            }
        }
        Err(message) => match app.store.fail_job(job.id, &settings.worker, &message).await {
            Ok(Retry::At(at)) => {
                tracing::warn!(job = job.id, kind = %job.kind, error = %message, retry_at = at, "job failed; retried later");
            }
            Ok(Retry::GaveUp) => {
                tracing::error!(job = job.id, kind = %job.kind, error = %message, "job failed for good");
            }
            Ok(Retry::LeaseLost) => {}
            Err(error) => tracing::error!(%error, job = job.id, "recording a failed job failed"),
        },
    }
}

/// The handler of each kind of job.
async fn handle(
    app: App,
    config: RunnerConfig,
    job: Job,
    context: JobContext,
) -> Result<(), String> {
    match job.kind.as_str() {
        SURVEY_IMPORT => {
            let id = job
                .payload_json()
                .get("import_job")
                .and_then(serde_json::Value::as_i64)
                .ok_or("the job names no import")?;
            crate::survey_jobs::run_import(&app, id, &context)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
        REMINDERS => match crate::notify::send_deadline_reminders(&app.store, app.now_ms()).await {
            Ok(0) => Ok(()),
            Ok(n) => {
                tracing::info!(created = n, "deadline reminders");
                Ok(())
            }
            Err(error) => Err(error.to_string()),
        },
        EMAILS => {
            let Some(smtp) = &config.smtp else {
                return Ok(());
            };
            match crate::notify::send_pending_emails_as(
                &app.store,
                smtp,
                config.public_url.as_deref(),
                &app.jobs.worker,
            )
            .await
            {
                Ok(0) => Ok(()),
                Ok(n) => {
                    tracing::info!(sent = n, "notification e-mails");
                    Ok(())
                }
                Err(error) => Err(error.to_string()),
            }
        }
        other => Err(format!("no handler for jobs of kind {other}")),
    }
}
