//! Two instances on one database, as behind a load balancer: two `App`s on one PostgreSQL
//! database (and on one SQLite file), each running its own job runner. A reminder e-mail is
//! sent once (counted at a test SMTP sink), every outbox row goes out once however many
//! instances drain the outbox at the same time, and a survey import whose instance is killed
//! while it holds the job's lease is finished by the other.
//!
//! Without `PARINDEX_TEST_DATABASE_URL` the PostgreSQL half is reported ignored (and runs, so
//! fails, under `CI=true`), like every PostgreSQL test of the workspace.

mod support;

use std::time::Duration;

use parindex_app::App;
use parindex_app::jobs::{JobSettings, RunnerConfig};
use parindex_app::notify::SmtpConfig;
use parindex_store::Backend;
use parindex_store::appraisal::NewNotification;

use support::{Cluster, SmtpSink, seed_reminder_case, seed_survey_case, system_tx};

/// Short intervals and a short lease, so that the tests take seconds.
fn fast(lease: Duration) -> JobSettings {
    JobSettings {
        lease,
        poll: Duration::from_millis(100),
        reminders_every: Duration::from_millis(400),
        emails_every: Duration::from_millis(300),
        ..JobSettings::default()
    }
}

async fn reminder_email_is_sent_once(backend: Backend) {
    let cluster = Cluster::new(backend, fast(Duration::from_secs(5))).await;
    let (a, b) = (&cluster.a, &cluster.b);
    let officer = seed_reminder_case(a).await;
    let sink = SmtpSink::start().await;
    let config = RunnerConfig {
        smtp: Some(sink.config()),
        public_url: Some("https://cchc.example.vn".into()),
    };
    let runner_a = parindex_app::jobs::start(a.clone(), config.clone());
    let runner_b = parindex_app::jobs::start(b.clone(), config);

    // Both runners schedule reminders and outbox passes every few hundred milliseconds.
    let mut waited = Duration::ZERO;
    while sink.messages() == 0 {
        assert!(
            waited < Duration::from_secs(30),
            "no reminder e-mail in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    // Several more rounds of both runners: still one.
    tokio::time::sleep(Duration::from_secs(2)).await;
    runner_a.stop().await;
    runner_b.stop().await;
    assert_eq!(sink.messages(), 1, "{:?}", sink.recipients());
    assert_eq!(
        sink.recipients(),
        vec!["canbo.hethong@daklak.gov.vn".to_owned()]
    );
    assert_eq!(a.store.notifications(officer, 10).await.unwrap().len(), 1);
    assert!(a.store.pending_emails(10).await.unwrap().is_empty());
    // The outbox on its own: 30 e-mails, both instances draining it at the same time, each
    // e-mail sent once.
    let mut tx = system_tx(a).await;
    for i in 0..30 {
        tx.notify(
            &[officer],
            &NewNotification {
                kind: "test",
                dedupe_key: None,
                title: format!("Thông báo {i}"),
                body: String::new(),
                link: String::new(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
    let smtp = sink.config();
    let (sent_a, sent_b) = tokio::join!(
        parindex_app::notify::send_pending_emails_as(&a.store, &smtp, None, &a.jobs.worker),
        parindex_app::notify::send_pending_emails_as(&b.store, &smtp, None, &b.jobs.worker),
    );
    let mut sent = sent_a.unwrap() + sent_b.unwrap();
    // A pass stops at its first failed send and leaves the rest to the next pass.
    for _ in 0..5 {
        if sent == 30 {
            break;
        }
        sent += parindex_app::notify::send_pending_emails_as(&b.store, &smtp, None, &b.jobs.worker)
            .await
            .unwrap();
    }
    assert_eq!(sent, 30);
    // Each one reached the relay once: nothing was sent twice.
    assert_eq!(sink.messages(), 31, "{:?}", sink.recipients().len());
    assert!(a.store.pending_emails(100).await.unwrap().is_empty());
    cluster.cleanup().await;
}

async fn import_of_a_killed_instance_is_finished_by_the_other(backend: Backend) {
    let lease = Duration::from_millis(1500);
    let cluster = Cluster::new(backend, fast(lease)).await;
    let (a, b) = (&cluster.a, &cluster.b);
    let case = seed_survey_case(a, 40_000).await;
    let import = a.start_survey_import_queued(&case).await;
    let key = format!("survey_import:{import}");

    // Instance A takes the job; it is killed while it holds the lease.
    let runner_a = parindex_app::jobs::start(a.clone(), RunnerConfig::default());
    let mut waited = Duration::ZERO;
    loop {
        let job = a.store.job_by_key(&key).await.unwrap().unwrap();
        if job.status == "running" && job.locked_by.as_deref() == Some(a.jobs.worker.as_str()) {
            break;
        }
        assert!(
            job.status != "done",
            "the import ended before it could be interrupted"
        );
        assert!(
            waited < Duration::from_secs(30),
            "A never claimed the job: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        waited += Duration::from_millis(5);
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    runner_a.kill();
    let job = a.store.job_by_key(&key).await.unwrap().unwrap();
    assert_eq!(job.status, "running", "killed mid-job: {job:?}");
    assert_eq!(
        a.store
            .questionnaire_responses(case.questionnaire)
            .await
            .unwrap()
            .len(),
        0,
        "an interrupted import saved nothing"
    );

    // Instance B takes it over once the lease ran out, and finishes it.
    let runner_b = parindex_app::jobs::start(b.clone(), RunnerConfig::default());
    let mut waited = Duration::ZERO;
    let finished = loop {
        let j = b.store.import_job(import).await.unwrap();
        if j.status == "done" || j.status == "failed" {
            break j;
        }
        assert!(
            waited < Duration::from_secs(120),
            "B did not finish the import: {j:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    };
    // The job's own row is marked done just after the import's.
    let mut waited = Duration::ZERO;
    let job = loop {
        let job = b.store.job_by_key(&key).await.unwrap().unwrap();
        if job.status != "running" || waited > Duration::from_secs(30) {
            break job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    };
    runner_b.stop().await;
    assert_eq!(finished.status, "done", "{}", finished.report);
    assert_eq!(finished.inserted, 40_000);
    assert_eq!(
        b.store
            .questionnaire_responses(case.questionnaire)
            .await
            .unwrap()
            .len(),
        40_000
    );
    assert_eq!(job.status, "done");
    assert_eq!(job.attempts, 2, "A's attempt, then B's: {job:?}");
    cluster.cleanup().await;
}

/// Enqueues an import without starting it, so that the runners alone decide who runs it.
trait QueueImport {
    async fn start_survey_import_queued(&self, case: &support::SurveyCase) -> i64;
}

impl QueueImport for App {
    async fn start_survey_import_queued(&self, case: &support::SurveyCase) -> i64 {
        let mut tx = system_tx(self).await;
        let import = tx
            .create_import_job(
                case.questionnaire,
                "lon.csv",
                &case.sha256,
                case.size,
                &case.mapping,
            )
            .await
            .unwrap();
        parindex_app::survey_jobs::enqueue(&mut tx, import)
            .await
            .unwrap()
            .expect("a new job");
        tx.commit().await.unwrap();
        import
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn a_reminder_email_is_sent_once_by_two_instances_on_postgres() {
    reminder_email_is_sent_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reminder_email_is_sent_once_by_two_instances_on_sqlite() {
    reminder_email_is_sent_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(
    not(parindex_pg),
    ignore = "needs PostgreSQL: set PARINDEX_TEST_DATABASE_URL"
)]
async fn an_import_of_a_killed_instance_is_finished_by_the_other_on_postgres() {
    import_of_a_killed_instance_is_finished_by_the_other(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_import_of_a_killed_instance_is_finished_by_the_other_on_sqlite() {
    import_of_a_killed_instance_is_finished_by_the_other(Backend::Sqlite).await;
}

#[test]
fn smtp_config_default_is_plain_port_25() {
    let c = SmtpConfig::default();
    assert_eq!(c.port, 25);
    assert!(c.user.is_none());
}
