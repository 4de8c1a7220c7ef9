//! Importing survey responses from a CSV or Excel file: upload (stored by content hash in the
//! evidence store), a mapping screen (file column → question × evaluated unit, respondent id,
//! date) with a preview, then a background job whose page shows its progress and, for a
//! refused file, every bad row with its reason.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use parindex_domain::Action;
use parindex_domain::survey::QuestionnaireDoc;
use parindex_domain::text::fold_for_search;
use parindex_store::evidence::{UploadLimits, safe_display_name};
use parindex_store::survey::{ImportJob, Questionnaire};

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{FormList, Multipart, Path};
use crate::page::{Page, datetime_vi};
use parindex_app::survey_jobs::{AnswerColumn, FailureReport, ImportMapping};

/// Rows shown in the preview.
const PREVIEW_ROWS: usize = 5;

/// The pending-import kind that binds an uploaded survey file to its uploader.
const UPLOAD_KIND: &str = "survey_upload";

/// What binds an upload to its questionnaire: `{questionnaire}:{sha256}`.
fn upload_key(qid: i64, sha: &str) -> String {
    format!("{qid}:{sha}")
}

async fn open_questionnaire(
    state: &AppState,
    user: &CurrentUser,
    qid: i64,
) -> Result<(Questionnaire, QuestionnaireDoc), WebError> {
    user.require(Action::ManageSurvey)?;
    let q = state.store.questionnaire(qid).await?;
    if q.status != "open" {
        return Err(WebError::ForbiddenBecause(
            user.ctx.lang.t("survey_import.not_open").into(),
        ));
    }
    parindex_app::survey_scoring::check_writable(&state.store.get_period(q.period_id).await?)?;
    let doc: QuestionnaireDoc = serde_json::from_str(&q.definition)
        .map_err(|e| WebError::Internal(format!("questionnaire {qid}: {e}")))?;
    Ok((q, doc))
}

/// The evaluated units of a questionnaire: (id, code, name).
async fn units_of(state: &AppState, qid: i64) -> Result<Vec<(i64, String, String)>, WebError> {
    let mut units = Vec::new();
    for id in state.store.questionnaire_units(qid).await? {
        let u = state.store.get_unit(id).await?;
        units.push((u.id, u.code, u.name_vi));
    }
    Ok(units)
}

pub struct JobRow {
    pub id: i64,
    pub file_name: String,
    pub status: &'static str,
    pub total_rows: i64,
    pub inserted: i64,
    pub duplicates: i64,
    pub created_at: String,
}

#[derive(Template)]
#[template(path = "survey_import_upload.html")]
struct UploadPage {
    p: Page,
    q: Questionnaire,
    error: Option<String>,
    jobs: Vec<JobRow>,
}

async fn upload_page(
    state: &AppState,
    user: &CurrentUser,
    q: Questionnaire,
    error: Option<String>,
) -> Result<Response, WebError> {
    let lang = user.ctx.lang;
    let jobs = state
        .store
        .import_jobs(q.id)
        .await?
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            file_name: j.file_name,
            status: lang.t(&format!("survey_import.status_{}", j.status)),
            total_rows: j.total_rows,
            inserted: j.inserted,
            duplicates: j.duplicates,
            created_at: datetime_vi(j.created_at),
        })
        .collect();
    let page = UploadPage {
        p: Page::for_user(state, user, "survey_import.title"),
        q,
        jobs,
        error: error.clone(),
    };
    match error {
        Some(_) => super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page),
        None => super::render(&page),
    }
}

/// `GET /questionnaires/{qid}/import`: the upload form and the questionnaire's past imports.
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    let (q, _) = open_questionnaire(&state, &user, qid).await?;
    upload_page(&state, &user, q, None).await
}

pub struct SelectRow {
    /// The form field: `a:{unit_id}:{question}`.
    pub field: String,
    pub unit_code: String,
    pub question: String,
    pub text: String,
    /// The preselected column index, or empty.
    pub selected: String,
}

pub struct ColumnOption {
    pub value: String,
    pub label: String,
}

fn index_text(index: Option<usize>) -> String {
    index.map_or_else(String::new, |i| i.to_string())
}

#[derive(Template)]
#[template(path = "survey_import_mapping.html")]
struct MappingPage {
    p: Page,
    q: Questionnaire,
    sha256: String,
    file_name: String,
    encoding: String,
    width: String,
    headers: Vec<String>,
    columns: Vec<ColumnOption>,
    preview: Vec<(usize, Vec<String>)>,
    selects: Vec<SelectRow>,
    respondent: String,
    date: String,
}

/// The column whose folded header equals one of `names`.
fn find_column(folded: &[String], names: &[String]) -> Option<usize> {
    names
        .iter()
        .find_map(|n| folded.iter().position(|h| *h == fold_for_search(n)))
}

/// `POST /questionnaires/{qid}/import`: stores the file and shows the mapping screen.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let (q, doc) = open_questionnaire(&state, &user, qid).await?;
    let limits = UploadLimits {
        max_bytes: state.config.max_upload_bytes,
    };
    let mut stored = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let message = format!(
                    "{} ({})",
                    user.ctx.lang.t("import.upload_failed"),
                    e.body_text()
                );
                return upload_page(&state, &user, q, Some(message)).await;
            }
        };
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("").to_owned();
        if name.is_empty() {
            continue;
        }
        let stream = field.map_err(std::io::Error::other);
        match state.evidence.put_data_stream(stream, &name, &limits).await {
            Ok(blob) => stored = Some((safe_display_name(&name), blob)),
            Err(e) if e.is_internal() => return Err(WebError::Internal(e.to_string())),
            Err(e) => return upload_page(&state, &user, q, Some(e.to_string())).await,
        }
    }
    let Some((file_name, blob)) = stored else {
        let message = user.ctx.lang.t("evidence.no_file").to_owned();
        return upload_page(&state, &user, q, Some(message)).await;
    };
    // The stored file is bound to its uploader and this questionnaire: only they may start
    // an import from it (a content hash read elsewhere opens nothing).
    state
        .store
        .stash_import(
            user.user_id(),
            UPLOAD_KIND,
            &file_name,
            &upload_key(qid, &blob.sha256_hex),
        )
        .await?;
    let bytes = read_blob(&state, &blob.sha256_hex).await?;
    let parsed = tokio::task::spawn_blocking(move || {
        let sheet = parindex_formats::survey_import::open(&bytes)?;
        let preview = sheet.preview(PREVIEW_ROWS)?;
        let encoding = sheet.encoding();
        Ok::<_, parindex_formats::FormatError>((sheet.headers().to_vec(), preview, encoding))
    })
    .await
    .map_err(|e| WebError::Internal(e.to_string()))?;
    let (headers, preview, encoding) = match parsed {
        Ok(p) => p,
        Err(e) => return upload_page(&state, &user, q, Some(e.to_string())).await,
    };

    let units = units_of(&state, qid).await?;
    let folded: Vec<String> = headers.iter().map(|h| fold_for_search(h)).collect();
    let mut selects = Vec::new();
    for (unit_id, unit_code, _) in &units {
        for question in &doc.questions {
            let mut names = vec![
                format!("{unit_code}_{}", question.code),
                format!("{unit_code}.{}", question.code),
            ];
            if units.len() == 1 {
                names.push(question.code.clone());
            }
            selects.push(SelectRow {
                field: format!("a:{unit_id}:{}", question.code),
                unit_code: unit_code.clone(),
                question: question.code.clone(),
                text: question.text.clone(),
                selected: index_text(find_column(&folded, &names)),
            });
        }
    }
    let id_names: Vec<String> = [
        "ma nguoi tra loi",
        "ma phieu",
        "respondent",
        "respondent id",
        "id",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let date_names: Vec<String> = ["ngay", "ngay tra loi", "ngay nop", "date", "submitted"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    super::render(&MappingPage {
        p: Page::for_user(&state, &user, "survey_import.mapping_title"),
        q,
        sha256: blob.sha256_hex,
        file_name,
        encoding: encoding
            .map_or("Excel (.xlsx)", |e| e.label_vi())
            .to_owned(),
        width: if encoding.is_some() {
            headers.len().to_string()
        } else {
            String::new()
        },
        respondent: index_text(find_column(&folded, &id_names)),
        date: index_text(find_column(&folded, &date_names)),
        columns: headers
            .iter()
            .enumerate()
            .map(|(i, h)| ColumnOption {
                value: i.to_string(),
                label: h.clone(),
            })
            .collect(),
        headers,
        preview,
        selects,
    })
}

async fn read_blob(state: &AppState, sha: &str) -> Result<Vec<u8>, WebError> {
    let download = state
        .evidence
        .get(sha)
        .await
        .map_err(|_| WebError::NotFound)?;
    let mut bytes = Vec::with_capacity(usize::try_from(download.size).unwrap_or(0));
    let mut stream = download.stream;
    while let Some(chunk) = stream
        .try_next()
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
    {
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn column(value: &str) -> Result<Option<usize>, WebError> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    value
        .trim()
        .parse::<usize>()
        .map(Some)
        .map_err(|_| WebError::BadRequest(format!("Cột «{value}» không hợp lệ")))
}

/// `POST /questionnaires/{qid}/import/{sha256}/start`: records the job with its mapping and
/// starts it in the background.
pub async fn start(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((qid, sha)): Path<(i64, String)>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    let (_, doc) = open_questionnaire(&state, &user, qid).await?;
    if !is_sha256(&sha) {
        return Err(WebError::NotFound);
    }
    // Only a file this user uploaded for this questionnaire starts an import; any other
    // stored content (another user's upload, an evidence file) is refused, with nothing saved.
    let Some(uploaded_name) = state
        .store
        .stashed_by(user.user_id(), UPLOAD_KIND, &upload_key(qid, &sha))
        .await?
    else {
        return Err(WebError::ForbiddenBecause(
            user.ctx.lang.t("survey_import.not_your_upload").into(),
        ));
    };
    let units: Vec<i64> = state.store.questionnaire_units(qid).await?;
    let mut mapping = ImportMapping::default();
    // The name recorded at upload is kept; the form's copy is only informative.
    let file_name = uploaded_name;
    for (key, value) in &fields {
        match key.as_str() {
            "respondent" => mapping.respondent = column(value)?,
            "date" => mapping.date = column(value)?,
            "width" => mapping.width = column(value)?,
            _ => {
                let Some(rest) = key.strip_prefix("a:") else {
                    continue;
                };
                let Some(col) = column(value)? else {
                    continue;
                };
                let (unit, question) = rest
                    .split_once(':')
                    .ok_or_else(|| WebError::BadRequest(format!("Trường «{key}» không hợp lệ")))?;
                let unit_id: i64 = unit
                    .parse()
                    .map_err(|_| WebError::BadRequest(format!("Trường «{key}» không hợp lệ")))?;
                if !units.contains(&unit_id) || doc.question(question).is_none() {
                    return Err(WebError::BadRequest(format!(
                        "Trường «{key}» không thuộc mẫu phiếu"
                    )));
                }
                mapping.answers.push(AnswerColumn {
                    unit_id,
                    question: question.to_owned(),
                    column: col,
                });
            }
        }
    }
    parindex_app::survey_jobs::ImportPlan::new(&mapping, &doc).map_err(WebError::BadRequest)?;
    let size = state
        .evidence
        .get(&sha)
        .await
        .map_err(|_| WebError::NotFound)?
        .size;
    let job_id = state
        .start_survey_import(user.audit_actor(), qid, &file_name, &sha, size, &mapping)
        .await?;
    Ok(Redirect::to(&format!("/import-jobs/{job_id}")).into_response())
}

pub struct ProblemRow {
    pub row: usize,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "survey_import_job.html")]
struct JobPage {
    p: Page,
    job: ImportJob,
    running: bool,
    status_label: &'static str,
    phase: String,
    processed: u64,
    total: String,
    error: Option<String>,
    bad_rows: usize,
    problems: Vec<ProblemRow>,
    finished_at: String,
}

/// `GET /import-jobs/{id}`: the job's status, progress while it runs, and its report.
pub async fn job(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let job = state.store.import_job(id).await?;
    let running = matches!(job.status.as_str(), "pending" | "running");
    let progress = state.survey_import_progress(id).await?;
    let report: FailureReport = if job.report.is_empty() {
        FailureReport::default()
    } else {
        serde_json::from_str(&job.report).unwrap_or_default()
    };
    let lang = user.ctx.lang;
    let page = JobPage {
        p: Page::for_user(&state, &user, "survey_import.job_title"),
        running,
        status_label: lang.t(&format!("survey_import.status_{}", job.status)),
        phase: progress
            .as_ref()
            .map_or("", |p| lang.t(&format!("survey_import.phase_{}", p.phase)))
            .to_owned(),
        processed: progress.as_ref().map_or(0, |p| p.processed),
        total: progress
            .as_ref()
            .and_then(|p| p.total)
            .map_or_else(String::new, |t| t.to_string()),
        error: report.error,
        bad_rows: report.bad_rows,
        problems: report
            .problems
            .into_iter()
            .map(|p| ProblemRow {
                row: p.row,
                reason: p.reason,
            })
            .collect(),
        finished_at: job.finished_at.map(datetime_vi).unwrap_or_default(),
        job,
    };
    let mut response = super::render(&page)?;
    if running {
        response
            .headers_mut()
            .insert(header::REFRESH, HeaderValue::from_static("2"));
    }
    Ok(response)
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/questionnaires/{qid}/import", show)
        .post("/questionnaires/{qid}/import/{sha256}/start", start)
        .get("/import-jobs/{id}", job)
        .upload("/questionnaires/{qid}/import", upload)
}
