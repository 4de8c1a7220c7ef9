//! Two `App`s on one database, the data the tests need, and an SMTP sink that counts what it
//! receives.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use parindex_app::App;
use parindex_app::jobs::JobSettings;
use parindex_app::notify::SmtpConfig;
use parindex_domain::survey::{AnswerOption, Question, QuestionnaireDoc};
use parindex_domain::{GroupCode, Role, RoleGrant, UnitCode, UnitDraft, UnitName, Username};
use parindex_store::evidence::{EvidenceStore, UploadLimits};
use parindex_store::periods::PeriodSettings;
use parindex_store::testing::TestDb;
use parindex_store::users::NewUser;
use parindex_store::{AuditActor, Backend, Store, WriteTx};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const DAY: i64 = 24 * 3600 * 1000;

/// Two instances on one database and one evidence folder.
pub struct Cluster {
    pub a: App,
    pub b: App,
    db: TestDb,
    evidence_dir: std::path::PathBuf,
}

impl Cluster {
    /// Two instances on a fresh database of `backend` (the PostgreSQL tests are ignored where
    /// no server is configured: the `parindex_pg` cfg).
    pub async fn new(backend: Backend, settings: JobSettings) -> Cluster {
        let db = TestDb::new(backend).await;
        let mut random = [0u8; 6];
        getrandom::fill(&mut random).unwrap();
        let evidence_dir =
            std::env::temp_dir().join(format!("parindex-app-evidence-{}", hex::encode(random)));
        let instance = |store: Store, name: &str| {
            let evidence =
                EvidenceStore::open(evidence_dir.to_str().unwrap(), &Default::default()).unwrap();
            let mut app = App::new(store, evidence);
            app.jobs = Arc::new(JobSettings {
                worker: format!("{}-{name}", settings.worker),
                ..settings.clone()
            });
            app
        };
        // The second instance has its own pool, as another process would.
        let other = Store::connect(&db.url, 8).await.unwrap();
        let a = instance(db.store.clone(), "a");
        let b = instance(other, "b");
        Cluster {
            a,
            b,
            db,
            evidence_dir,
        }
    }

    pub async fn cleanup(self) {
        self.b.store.close().await;
        self.db.cleanup().await;
        let _ = std::fs::remove_dir_all(self.evidence_dir);
    }
}

pub async fn system_tx(app: &App) -> WriteTx {
    app.store
        .begin_write(AuditActor::system("test"))
        .await
        .unwrap()
}

/// A unit whose self-assessment closes in two days, with an officer who has an e-mail
/// address; returns the officer's id.
pub async fn seed_reminder_case(app: &App) -> i64 {
    let mut tx = system_tx(app).await;
    let group = tx
        .create_group(&GroupCode::parse("SO").unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .unwrap();
    let unit = tx
        .create_unit(&UnitDraft {
            code: UnitCode::parse("STP").unwrap(),
            name_vi: UnitName::parse("Sở Tư pháp").unwrap(),
            name_en: None,
            group_id: group.id,
            parent_id: None,
            valid_from: time::macros::date!(2021 - 01 - 01),
            valid_to: None,
            successor_id: None,
        })
        .await
        .unwrap();
    let officer = tx
        .create_user(&NewUser {
            username: Username::parse("canbo.hethong").unwrap(),
            full_name: "Cán bộ thử".into(),
            email: Some("canbo.hethong@daklak.gov.vn".into()),
            password_hash: "x".into(),
            must_change_password: false,
        })
        .await
        .unwrap();
    tx.grant_role(
        officer.id,
        &RoleGrant {
            role: Role::UnitOfficer,
            unit_id: Some(unit.id),
        },
    )
    .await
    .unwrap();
    let now = parindex_store::now_ms();
    tx.create_period(&settings(now + 2 * DAY), &[], &[unit.id])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    officer.id
}

fn settings(self_close_at: i64) -> PeriodSettings {
    PeriodSettings {
        year: 2026,
        name: "Đánh giá CCHC năm 2026".into(),
        self_open_at: self_close_at - 20 * DAY,
        self_close_at,
        explanation_due_at: None,
        appraisal_open_at: None,
        appraisal_close_at: None,
        bonus_cap_milli: 0,
        penalty_cap_milli: 0,
        band_good_milli: 80_000,
        band_fair_milli: 65_000,
        band_average_milli: 50_000,
        appraisal_rounds: 2,
    }
}

/// An open questionnaire about one unit and a stored CSV of `rows` responses to import.
pub struct SurveyCase {
    pub questionnaire: i64,
    pub sha256: String,
    pub size: i64,
    pub mapping: String,
}

pub async fn seed_survey_case(app: &App, rows: usize) -> SurveyCase {
    let mut tx = system_tx(app).await;
    let group = tx
        .create_group(&GroupCode::parse("SO").unwrap(), "Sở, ban, ngành", None, 1)
        .await
        .unwrap();
    let unit = tx
        .create_unit(&UnitDraft {
            code: UnitCode::parse("STP").unwrap(),
            name_vi: UnitName::parse("Sở Tư pháp").unwrap(),
            name_en: None,
            group_id: group.id,
            parent_id: None,
            valid_from: time::macros::date!(2021 - 01 - 01),
            valid_to: None,
            successor_id: None,
        })
        .await
        .unwrap();
    let now = parindex_store::now_ms();
    let period = tx
        .create_period(&settings(now + 10 * DAY), &[], &[unit.id])
        .await
        .unwrap();
    let survey_group = tx
        .save_survey_group(period.id, "CBCC", "Cán bộ, công chức", 1000, 200, 10)
        .await
        .unwrap();
    let doc = QuestionnaireDoc {
        questions: vec![Question {
            code: "Q1".into(),
            text: "Hài lòng?".into(),
            leaf_code: "8.1".into(),
            options: ["A", "B"]
                .iter()
                .map(|c| AnswerOption {
                    code: (*c).into(),
                    label: (*c).into(),
                    percent: None,
                })
                .collect(),
        }],
    };
    let questionnaire = tx
        .create_questionnaire(
            period.id,
            survey_group,
            "Phiếu thử",
            &serde_json::to_string(&doc).unwrap(),
            &[unit.id],
        )
        .await
        .unwrap();
    tx.set_questionnaire_status(questionnaire, "draft", "open")
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let mut csv = String::from("id,Q1\r\n");
    for i in 0..rows {
        csv.push_str(&format!("R{i},{}\r\n", if i % 3 == 0 { "A" } else { "B" }));
    }
    let size = csv.len() as i64;
    let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(csv))]);
    let blob = app
        .evidence
        .put_data_stream(stream, "lon.csv", &UploadLimits { max_bytes: 1 << 30 })
        .await
        .unwrap();
    let mapping = serde_json::json!({
        "answers": [{ "unit_id": unit.id, "question": "Q1", "column": 1 }],
        "respondent": 0,
        "width": 2
    });
    SurveyCase {
        questionnaire,
        sha256: blob.sha256_hex,
        size,
        mapping: mapping.to_string(),
    }
}

/// An SMTP server on 127.0.0.1 that accepts everything and records each message's recipients.
pub struct SmtpSink {
    port: u16,
    recipients: Arc<Mutex<Vec<String>>>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let recipients = Arc::new(Mutex::new(Vec::new()));
        let recorded = recipients.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let (mut in_data, mut to) = (false, Vec::new());
                    loop {
                        let mut line = String::new();
                        match tokio::time::timeout(
                            Duration::from_secs(30),
                            reader.read_line(&mut line),
                        )
                        .await
                        {
                            Ok(Ok(n)) if n > 0 => {}
                            _ => break,
                        }
                        let line = line.trim_end_matches(['\r', '\n']).to_owned();
                        let reply: &[u8] = if in_data {
                            if line == "." {
                                in_data = false;
                                recorded.lock().unwrap().append(&mut to);
                                b"250 queued\r\n"
                            } else {
                                continue;
                            }
                        } else if line.starts_with("EHLO") {
                            b"250-sink\r\n250 8BITMIME\r\n"
                        } else if let Some(rcpt) = line.strip_prefix("RCPT TO:<") {
                            to.push(rcpt.trim_end_matches('>').to_owned());
                            b"250 ok\r\n"
                        } else if line == "DATA" {
                            in_data = true;
                            b"354 go ahead\r\n"
                        } else if line == "QUIT" {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            break;
                        } else {
                            b"250 ok\r\n"
                        };
                        if write.write_all(reply).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        SmtpSink { port, recipients }
    }

    pub fn config(&self) -> SmtpConfig {
        SmtpConfig {
            host: "127.0.0.1".into(),
            port: self.port,
            from: "cchc@daklak.gov.vn".into(),
            ..SmtpConfig::default()
        }
    }

    /// Messages accepted (one per recipient).
    pub fn messages(&self) -> usize {
        self.recipients.lock().unwrap().len()
    }

    pub fn recipients(&self) -> Vec<String> {
        self.recipients.lock().unwrap().clone()
    }
}
