//! Survey import jobs: the mapping from file columns to (unit, question), the row checks, and
//! the runner that imports a file in the background.
//!
//! A job runs in two passes over the file (read once from the evidence store into memory):
//! pass 1 checks every row and keeps the first [`MAX_PROBLEMS`] problems; a file with any bad
//! row is refused whole and nothing is saved. Pass 2 turns the rows into responses, in chunks
//! of [`CHUNK_ROWS`] handed from a parsing thread to the database through a small channel, all
//! inside one transaction that also records the outcome. Responses carry a source key (the
//! respondent id, or the file hash and row number), so importing a file again adds nothing;
//! pass 1 reports as a bad row a key that comes back (earlier in the file, or already saved)
//! with different answers, which would otherwise be dropped without a word.
//!
//! A job is a row of the job table ([`crate::jobs`], kind `survey_import`), enqueued in the
//! transaction that records the import: any instance's runner may run it, and one whose
//! instance died (its lease ran out) is run again by another. Its progress is stored in the
//! job row, so every instance's page shows it; the import's own row holds the final status.
//! Running it again is safe: the responses are saved in one transaction at the end, so an
//! interrupted run saved nothing.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use futures_util::TryStreamExt;
use parindex_domain::survey::{QuestionnaireDoc, check_survey_write};
use parindex_domain::text::parse_date_vi;
use parindex_store::audit::AuditActor;
use parindex_store::evidence::EvidenceStore;
use parindex_store::jobs::NewJob;
use parindex_store::survey::NewResponse;
use parindex_store::{Store, StoreError, WriteTx};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::jobs::JobContext;

/// The most problems a failed job lists.
pub const MAX_PROBLEMS: usize = 1000;
/// Rows per chunk handed to the database.
pub const CHUNK_ROWS: usize = 50_000;

/// Which file column answers which question about which unit, and the optional respondent id
/// and date columns (0-based column indexes). Stored as the job's `mapping` JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportMapping {
    pub answers: Vec<AnswerColumn>,
    #[serde(default)]
    pub respondent: Option<usize>,
    #[serde(default)]
    pub date: Option<usize>,
    /// The number of header columns a CSV row must have; `None` for a workbook (which drops
    /// trailing empty cells).
    #[serde(default)]
    pub width: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerColumn {
    pub unit_id: i64,
    pub question: String,
    pub column: usize,
}

/// A bad row and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowProblem {
    pub row: usize,
    pub reason: String,
}

/// The report of a failed job (JSON in the job row).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReport {
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub bad_rows: usize,
    #[serde(default)]
    pub problems: Vec<RowProblem>,
}

/// Where a running job is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// `validating` or `inserting`.
    pub phase: &'static str,
    pub processed: u64,
    /// Known after pass 1.
    pub total: Option<u64>,
}

impl Progress {
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "phase": self.phase, "processed": self.processed, "total": self.total })
    }

    /// The progress a job row stores; `None` before the worker stored any.
    fn from_json(value: &serde_json::Value) -> Option<Progress> {
        let phase = match value.get("phase")?.as_str()? {
            "validating" => "validating",
            "inserting" => "inserting",
            _ => return None,
        };
        Some(Progress {
            phase,
            processed: value
                .get("processed")
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0),
            total: value.get("total").and_then(serde_json::Value::as_u64),
        })
    }
}

/// The job table's key of an import's job.
fn job_key(import_id: i64) -> String {
    format!("{}:{import_id}", crate::jobs::SURVEY_IMPORT)
}

/// Enqueues the job of import `import_id` in the transaction that records it; returns the
/// job's id, to start it at once with [`start`].
pub async fn enqueue(tx: &mut WriteTx, import_id: i64) -> Result<Option<i64>, StoreError> {
    tx.enqueue_job(
        &NewJob::new(
            crate::jobs::SURVEY_IMPORT,
            serde_json::json!({ "import_job": import_id }),
        )
        .dedupe_key(job_key(import_id))
        .max_attempts(3),
    )
    .await
}

/// Starts an enqueued job in this instance at once (unless another instance took it).
pub fn start(app: &App, job_id: i64) {
    crate::jobs::run_now(app, job_id);
}

/// The stored progress of a running import, whichever instance runs it.
pub async fn progress(app: &App, import_id: i64) -> Result<Option<Progress>, StoreError> {
    Ok(app
        .store
        .job_by_key(&job_key(import_id))
        .await?
        .filter(|job| job.status == "running")
        .and_then(|job| Progress::from_json(&job.progress_json())))
}

/// One answer column ready for checking: the option codes it accepts (as written in the
/// questionnaire, matched case-insensitively).
#[derive(Debug, Clone)]
struct PlanColumn {
    unit_id: i64,
    question: String,
    column: usize,
    options: Vec<String>,
}

/// A mapping checked against the questionnaire, ready to read rows.
#[derive(Debug, Clone)]
pub struct ImportPlan {
    /// Sorted by (unit, question), the order of the compact answer encoding.
    columns: Vec<PlanColumn>,
    respondent: Option<usize>,
    date: Option<usize>,
    width: Option<usize>,
}

/// A row turned into a response's parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowValue {
    /// `ResponseAnswers::encode` of the row's answers.
    pub answers: String,
    pub respondent: Option<String>,
    pub submitted_at: Option<i64>,
}

impl ImportPlan {
    /// Checks that every mapped question exists; at least one answer column is needed.
    pub fn new(mapping: &ImportMapping, doc: &QuestionnaireDoc) -> Result<ImportPlan, String> {
        if mapping.answers.is_empty() {
            return Err("Chưa chọn cột nào cho câu trả lời.".to_owned());
        }
        let mut columns = Vec::with_capacity(mapping.answers.len());
        for a in &mapping.answers {
            let q = doc
                .question(&a.question)
                .ok_or_else(|| format!("Mẫu phiếu không có câu hỏi {}.", a.question))?;
            columns.push(PlanColumn {
                unit_id: a.unit_id,
                question: a.question.clone(),
                column: a.column,
                options: q.options.iter().map(|o| o.code.clone()).collect(),
            });
        }
        columns.sort_by(|a, b| (a.unit_id, &a.question).cmp(&(b.unit_id, &b.question)));
        if columns
            .windows(2)
            .any(|w| w[0].unit_id == w[1].unit_id && w[0].question == w[1].question)
        {
            return Err("Một câu hỏi của một đơn vị được gán cho hai cột.".to_owned());
        }
        Ok(ImportPlan {
            columns,
            respondent: mapping.respondent,
            date: mapping.date,
            width: mapping.width,
        })
    }

    /// Checks one row; `Err` lists its problems (Vietnamese).
    pub fn read_row(&self, cells: &[String]) -> Result<RowValue, Vec<String>> {
        let mut problems = Vec::new();
        if let Some(width) = self.width
            && cells.len() != width
        {
            problems.push(format!(
                "có {} cột, dòng tiêu đề có {width} cột",
                cells.len()
            ));
        }
        let cell = |i: usize| cells.get(i).map_or("", String::as_str);
        let mut answers = String::new();
        let mut count = 0usize;
        let mut open_unit: Option<i64> = None;
        for c in &self.columns {
            let value = cell(c.column);
            if value.is_empty() {
                continue;
            }
            let Some(option) = c.options.iter().find(|o| o.eq_ignore_ascii_case(value)) else {
                problems.push(format!(
                    "cột {}: câu {} không có phương án «{}»",
                    c.column + 1,
                    c.question,
                    value
                ));
                continue;
            };
            if open_unit != Some(c.unit_id) {
                if open_unit.is_some() {
                    answers.push(';');
                }
                answers.push_str(&c.unit_id.to_string());
                answers.push(':');
                open_unit = Some(c.unit_id);
            } else {
                answers.push(',');
            }
            answers.push_str(&c.question);
            answers.push('=');
            answers.push_str(option);
            count += 1;
        }
        if count == 0 && problems.is_empty() {
            problems.push("không có câu trả lời nào".to_owned());
        }
        let respondent = match self.respondent {
            Some(i) if cell(i).is_empty() => {
                problems.push("thiếu mã người trả lời".to_owned());
                None
            }
            Some(i) => Some(cell(i).to_owned()),
            None => None,
        };
        let submitted_at = match self.date.map(cell) {
            None | Some("") => None,
            Some(text) => match parse_date_vi(text) {
                Some(date) => Some(parindex_domain::text::day_start_ms(date)),
                None => {
                    problems.push(format!("ngày «{text}» không đúng dạng dd/mm/yyyy"));
                    None
                }
            },
        };
        if problems.is_empty() {
            Ok(RowValue {
                answers,
                respondent,
                submitted_at,
            })
        } else {
            Err(problems)
        }
    }
}

/// The key that makes a response's import idempotent: its respondent id, or without one the
/// file's hash and the row number.
fn source_key(value: &RowValue, sha: &str, row: usize) -> String {
    match &value.respondent {
        Some(id) => format!("id:{id}"),
        None => format!("{sha}:{row}"),
    }
}

/// A digest of a response's encoded answers, to tell a repeated key with the same answers (a
/// re-import, skipped) from one with other answers (a bad row). Only answers under the same
/// key are ever compared, so 64 bits leave no practical room for a collision, and a million
/// keys cost 8 bytes each rather than their answers.
fn digest(answers: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    answers.hash(&mut h);
    h.finish()
}

/// What a job ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done {
        total: u64,
        inserted: u64,
        duplicates: u64,
    },
    Failed(FailureReport),
    /// Another worker had claimed it.
    NotClaimed,
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    User(String),
}

/// Runs an import to its end here and now, outside the job table (tests, tools): claims it,
/// checks every row, then saves all responses in one transaction (or none).
pub async fn run_job(app: &App, import_id: i64) -> Result<Outcome, StoreError> {
    run_import(app, import_id, &JobContext::default()).await
}

/// The handler of a `survey_import` job: runs import `import_id`, reporting progress to
/// `context`. Errors other than the database's are recorded on the import.
pub async fn run_import(
    app: &App,
    import_id: i64,
    context: &JobContext,
) -> Result<Outcome, StoreError> {
    let (store, evidence) = (&app.store, &app.evidence);
    let job_id = import_id;
    let job = store.import_job(job_id).await?;
    let actor = AuditActor {
        user_id: job.created_by,
        ..AuditActor::system("survey-import")
    };
    let mut tx = store.begin_write(actor.clone()).await?;
    // Pending, or running in an instance that died (the job table's lease says who may run
    // it); done or failed imports are not run again.
    if !tx.claim_import_job(job_id).await? {
        return Ok(Outcome::NotClaimed);
    }
    tx.commit().await?;
    context.set_progress(
        Progress {
            phase: "validating",
            processed: 0,
            total: None,
        }
        .to_json(),
    );
    let result = import(store, evidence, context, &job, &actor).await;
    match result {
        Ok(outcome) => Ok(outcome),
        Err(error) => {
            let report = FailureReport {
                error: Some(match &error {
                    JobError::User(m) => m.clone(),
                    JobError::Store(e) => format!("Lỗi cơ sở dữ liệu: {e}"),
                }),
                ..FailureReport::default()
            };
            let mut tx = store.begin_write(actor).await?;
            tx.finish_import_job(
                job_id,
                "failed",
                0,
                0,
                0,
                &serde_json::to_string(&report).unwrap_or_default(),
            )
            .await?;
            tx.commit().await?;
            Ok(Outcome::Failed(report))
        }
    }
}

async fn import(
    store: &Store,
    evidence: &EvidenceStore,
    progress: &JobContext,
    job: &parindex_store::survey::ImportJob,
    actor: &AuditActor,
) -> Result<Outcome, JobError> {
    let user = |m: &str| JobError::User(m.to_owned());
    let questionnaire = store.questionnaire(job.questionnaire_id).await?;
    // A job queued before council review may run after it: the survey is frozen by then.
    let period = store.get_period(questionnaire.period_id).await?;
    let stage = period.stage;
    check_survey_write(stage).map_err(|frozen| JobError::User(frozen.to_string()))?;
    let doc: QuestionnaireDoc = serde_json::from_str(&questionnaire.definition)
        .map_err(|_| user("Mẫu phiếu không đọc được."))?;
    let mapping: ImportMapping =
        serde_json::from_str(&job.mapping).map_err(|_| user("Cách ghép cột không đọc được."))?;
    let plan = Arc::new(ImportPlan::new(&mapping, &doc).map_err(JobError::User)?);

    // The file, once, in memory (a million responses are some 60 MB of CSV).
    let download = evidence
        .get(&job.sha256)
        .await
        .map_err(|_| user("Không đọc được tệp đã tải lên."))?;
    let mut bytes = Vec::with_capacity(usize::try_from(download.size).unwrap_or(0));
    let mut stream = download.stream;
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|_| user("Không đọc được tệp đã tải lên."))?
    {
        bytes.extend_from_slice(&chunk);
    }
    let bytes = Arc::new(bytes);

    // The answers already saved under the keys this file can carry (its respondent ids, or
    // this file's rows), as digests: a key seen again must bring the same answers.
    let sha = job.sha256.clone();
    let mut saved: HashMap<Box<str>, u64> = HashMap::new();
    store
        .for_each_keyed_response(job.questionnaire_id, "id:", &format!("{sha}:"), |key, a| {
            saved.insert(key.into(), digest(a));
        })
        .await?;

    // Pass 1: check every row, off the async threads.
    let p1 = progress.clone();
    let (b1, plan1, sha1) = (bytes.clone(), plan.clone(), sha.clone());
    let checked = tokio::task::spawn_blocking(move || -> Result<(u64, u64, FailureReport), String> {
        let sheet = parindex_formats::survey_import::open(&b1).map_err(|e| e.to_string())?;
        let mut total = 0u64;
        let mut repeats = 0u64;
        let mut report = FailureReport::default();
        // Respondent key → (first row, digest of its answers) within this file.
        let mut in_file: HashMap<Box<str>, (usize, u64)> = HashMap::new();
        sheet
            .for_each_row(|row, cells| {
                total += 1;
                let problem = match plan1.read_row(cells) {
                    Err(problems) => Some(problems.join("; ")),
                    Ok(value) => {
                        let key = source_key(&value, &sha1, row);
                        let d = digest(&value.answers);
                        let id = value.respondent.as_deref().unwrap_or_default();
                        match in_file.get(key.as_str()) {
                            Some(&(first, seen)) if seen != d => Some(format!(
                                "mã người trả lời «{id}» đã có ở dòng {first} với câu trả lời khác"
                            )),
                            Some(_) => {
                                repeats += 1;
                                None
                            }
                            None => {
                                let problem = match saved.get(key.as_str()) {
                                    Some(&seen) if seen != d => Some(if value.respondent.is_some() {
                                        format!("mã người trả lời «{id}» đã có trong phiếu nhập trước đây, với câu trả lời khác")
                                    } else {
                                        "dòng này của cùng tệp đã được nhập trước đây với câu trả lời khác (cách ghép cột đã đổi?)".to_owned()
                                    }),
                                    Some(_) => {
                                        repeats += 1;
                                        None
                                    }
                                    None => None,
                                };
                                // Rows keyed by their own number never repeat in the file.
                                if value.respondent.is_some() {
                                    in_file.insert(key.into(), (row, d));
                                }
                                problem
                            }
                        }
                    }
                };
                if let Some(reason) = problem {
                    report.bad_rows += 1;
                    if report.problems.len() < MAX_PROBLEMS {
                        report.problems.push(RowProblem { row, reason });
                    }
                }
                if total.is_multiple_of(10_000) {
                    p1.set_progress(
                        Progress {
                            phase: "validating",
                            processed: total,
                            total: None,
                        }
                        .to_json(),
                    );
                }
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())?;
        Ok((total, repeats, report))
    })
    .await
    .map_err(|_| user("Lỗi khi đọc tệp."))?;
    let (total, repeats, report) = checked.map_err(JobError::User)?;
    let total_i = i64::try_from(total).unwrap_or(i64::MAX);
    if report.bad_rows > 0 || total == 0 {
        let mut report = report;
        if total == 0 {
            report.error = Some("Tệp không có dòng dữ liệu nào.".to_owned());
        }
        let mut tx = store.begin_write(actor.clone()).await?;
        tx.finish_import_job(
            job.id,
            "failed",
            total_i,
            0,
            0,
            &serde_json::to_string(&report).unwrap_or_default(),
        )
        .await?;
        tx.commit().await?;
        return Ok(Outcome::Failed(report));
    }

    // Pass 2: a parsing thread builds chunks of responses; this task saves them.
    progress.set_progress(
        Progress {
            phase: "inserting",
            processed: 0,
            total: Some(total),
        }
        .to_json(),
    );
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<NewResponse>>(2);
    let now = parindex_store::now_ms();
    let producer = tokio::task::spawn_blocking(move || -> Result<(), String> {
        let sheet = parindex_formats::survey_import::open(&bytes).map_err(|e| e.to_string())?;
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        let mut failure = None;
        sheet
            .for_each_row(|row, cells| {
                let value = match plan.read_row(cells) {
                    Ok(v) => v,
                    Err(problems) => {
                        failure = Some(format!("Dòng {row}: {}", problems.join("; ")));
                        return ControlFlow::Break(());
                    }
                };
                chunk.push(NewResponse {
                    channel: "import",
                    source_key: Some(source_key(&value, &sha, row)),
                    paper_ref: None,
                    entry_no: 1,
                    answers: value.answers,
                    submitted_at: value.submitted_at.unwrap_or(now),
                });
                if chunk.len() >= CHUNK_ROWS {
                    let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                    if sender.blocking_send(full).is_err() {
                        return ControlFlow::Break(());
                    }
                }
                ControlFlow::Continue(())
            })
            .map_err(|e| e.to_string())?;
        if let Some(f) = failure {
            return Err(f);
        }
        if !chunk.is_empty() {
            let _ = sender.blocking_send(chunk);
        }
        Ok(())
    });
    let mut tx = store.begin_write(actor.clone()).await?;
    let (mut inserted, mut duplicates, mut processed) = (0u64, 0u64, 0u64);
    while let Some(chunk) = receiver.recv().await {
        let (i, d) = tx
            .add_survey_responses(
                job.questionnaire_id,
                &chunk,
                serde_json::json!({ "import_job": job.id, "file": job.file_name }),
            )
            .await?;
        inserted += i;
        duplicates += d;
        processed += chunk.len() as u64;
        progress.set_progress(
            Progress {
                phase: "inserting",
                processed,
                total: Some(total),
            }
            .to_json(),
        );
    }
    producer
        .await
        .map_err(|_| user("Lỗi khi đọc tệp."))?
        .map_err(JobError::User)?;
    // Pass 1 foresaw exactly which rows repeat a saved response. More skipped rows means
    // another import saved some of these keys in the meantime: their answers were not
    // compared, so nothing is saved (dropping `tx` rolls back).
    if duplicates != repeats {
        return Err(user(
            "Trong lúc nhập, một lần nhập khác đã lưu phiếu có cùng mã người trả lời; chưa lưu gì, hãy nhập lại tệp để kiểm tra.",
        ));
    }
    tx.finish_import_job(
        job.id,
        "done",
        total_i,
        i64::try_from(inserted).unwrap_or(i64::MAX),
        i64::try_from(duplicates).unwrap_or(i64::MAX),
        "",
    )
    .await?;
    tx.commit().await?;
    Ok(Outcome::Done {
        total,
        inserted,
        duplicates,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use parindex_domain::survey::{AnswerOption, Question, ResponseAnswers};

    use super::*;

    fn doc() -> QuestionnaireDoc {
        let q = |code: &str| Question {
            code: code.to_owned(),
            text: "?".to_owned(),
            leaf_code: "8.1".to_owned(),
            options: ["A", "B", "K"]
                .iter()
                .map(|c| AnswerOption {
                    code: (*c).to_owned(),
                    label: (*c).to_owned(),
                    percent: None,
                })
                .collect(),
        };
        QuestionnaireDoc {
            questions: vec![q("Q1"), q("Q2")],
        }
    }

    fn plan() -> ImportPlan {
        let a = |unit_id, question: &str, column| AnswerColumn {
            unit_id,
            question: question.to_owned(),
            column,
        };
        ImportPlan::new(
            &ImportMapping {
                answers: vec![a(9, "Q2", 5), a(9, "Q1", 4), a(3, "Q1", 2), a(3, "Q2", 3)],
                respondent: Some(0),
                date: Some(1),
                width: Some(6),
            },
            &doc(),
        )
        .expect("plan")
    }

    fn cells(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn rows_encode_like_response_answers() {
        let value = plan()
            .read_row(&cells(&["R1", "02/03/2026", "a", "", "K", "b"]))
            .expect("row");
        let mut map = BTreeMap::new();
        map.insert(3, BTreeMap::from([("Q1".to_owned(), "A".to_owned())]));
        map.insert(
            9,
            BTreeMap::from([
                ("Q1".to_owned(), "K".to_owned()),
                ("Q2".to_owned(), "B".to_owned()),
            ]),
        );
        assert_eq!(value.answers, ResponseAnswers(map).encode());
        assert_eq!(value.respondent.as_deref(), Some("R1"));
        assert!(value.submitted_at.is_some());
    }

    #[test]
    fn bad_rows_say_why() {
        let p = plan();
        let e = p
            .read_row(&cells(&["R1", "31/02/2026", "X", "", "", ""]))
            .expect_err("bad");
        assert_eq!(e.len(), 2, "{e:?}");
        assert!(e[0].contains("«31/02/2026»") || e[1].contains("«31/02/2026»"));
        let e = p
            .read_row(&cells(&["R1", "", "", "", "", ""]))
            .expect_err("empty");
        assert_eq!(e, vec!["không có câu trả lời nào".to_owned()]);
        let e = p.read_row(&cells(&["R1", "", "A"])).expect_err("short");
        assert!(e[0].contains("3 cột"));
        let e = p
            .read_row(&cells(&["", "", "A", "", "", ""]))
            .expect_err("id");
        assert_eq!(e, vec!["thiếu mã người trả lời".to_owned()]);
    }
}
