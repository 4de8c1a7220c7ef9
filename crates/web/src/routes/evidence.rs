//! Evidence: uploading files to a unit's library (streamed to the evidence store, size-limited,
//! type-sniffed, content-addressed), citing them on leaves with a section or page reference,
//! and downloading or viewing them with safe headers, for the people allowed to see them.

use crate::routes::table::Routes;

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use parindex_domain::Action;
use parindex_store::evidence::{StoredBlob, UploadLimits, safe_display_name};
use parindex_store::evidence_library::NewEvidenceFile;
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};

/// Refuses a write on a unit's sheet once the appraisal started, outside its window, or after
/// submission. The store checks again inside the write ([`super::self_assessment::claim`]).
async fn check_window(state: &AppState, period_id: i64, unit_id: i64) -> Result<(), WebError> {
    let period = state.store.get_period(period_id).await?;
    let unit = state.store.period_unit(period_id, unit_id).await?;
    super::self_assessment::self_write_check(&period, &unit).map_err(WebError::ForbiddenBecause)
}

/// Refuses, before any body is read, evidence on a leaf the unit may not write: the window as
/// in [`check_window`], and the leaf as on the sheet (a leaf of the unit's set, applying to
/// its group, self-assessed; never a survey or external leaf, never an unknown code).
async fn check_leaf(
    state: &AppState,
    user: &CurrentUser,
    period_id: i64,
    unit_id: i64,
    code: &str,
) -> Result<(), WebError> {
    let (period, unit, set) = super::self_assessment::unit_set(state, period_id, unit_id).await?;
    super::self_assessment::writable_leaf(&set, &unit.group_code, code)
        .map_err(|r| r.into_web(user.ctx.lang))?;
    super::self_assessment::self_write_check(&period, &unit).map_err(WebError::ForbiddenBecause)
}

fn sheet_url(period_id: i64, unit_id: i64, code: &str, ok: &str) -> String {
    format!("/periods/{period_id}/units/{unit_id}/sheet?ok={ok}#leaf-{code}")
}

/// Reads an upload form: the optional `reference` field and every `file` field, each streamed
/// into the evidence store (size-limited, type-sniffed). Refuses a form with no file.
pub(crate) async fn receive_files(
    state: &AppState,
    user: &CurrentUser,
    multipart: &mut Multipart,
) -> Result<(String, Vec<(String, StoredBlob)>), WebError> {
    let limits = UploadLimits {
        max_bytes: state.config.max_upload_bytes,
    };
    let mut reference = String::new();
    let mut stored = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(WebError::BadRequest(format!(
                    "{} ({})",
                    user.ctx.lang.t("import.upload_failed"),
                    e.body_text()
                )));
            }
        };
        match field.name() {
            Some("reference") => {
                reference = field
                    .text()
                    .await
                    .unwrap_or_default()
                    .chars()
                    .take(200)
                    .collect::<String>()
                    .trim()
                    .to_owned();
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                if name.is_empty() {
                    continue;
                }
                let stream = field.map_err(std::io::Error::other);
                let blob = state
                    .evidence
                    .put_stream(stream, &name, &limits)
                    .await
                    .map_err(WebError::from)?;
                stored.push((safe_display_name(&name), blob));
            }
            _ => {}
        }
    }
    if stored.is_empty() {
        return Err(WebError::BadRequest(
            user.ctx.lang.t("evidence.no_file").into(),
        ));
    }
    Ok((reference, stored))
}

/// Adds a stored blob to the unit's library under its sanitised name.
pub(crate) async fn add_to_library(
    tx: &mut parindex_store::WriteTx,
    unit_id: i64,
    name: &str,
    blob: &StoredBlob,
) -> Result<parindex_store::evidence_library::EvidenceFile, WebError> {
    Ok(tx
        .add_evidence_file(&NewEvidenceFile {
            unit_id,
            sha256: blob.sha256_hex.clone(),
            size: blob.size as i64,
            content_type: blob.content_type.to_owned(),
            extension: blob.extension.to_owned(),
            display_name: name.to_owned(),
        })
        .await?)
}

/// Uploads one or more files for a leaf: each is streamed into the evidence store (never held
/// in memory), added to the unit's library and cited on the leaf with the given reference.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    user.require(Action::EditSelfAssessment { unit_id })?;
    check_leaf(&state, &user, period_id, unit_id, &code).await?;
    let (reference, stored) = receive_files(&state, &user, &mut multipart).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    // The body may have taken minutes to arrive: the submission and deadline are read again.
    super::self_assessment::claim(&mut tx, period_id, unit_id).await?;
    for (name, blob) in &stored {
        let file = add_to_library(&mut tx, unit_id, name, blob).await?;
        match tx
            .cite_evidence(period_id, unit_id, &code, file.id, &reference)
            .await
        {
            Ok(_) => {}
            // Already cited on this leaf: the upload stands, nothing more to do.
            Err(parindex_store::StoreError::Duplicate { .. }) => {
                return Err(WebError::BadRequest(
                    user.ctx.lang.t("evidence.already_cited").into(),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(Redirect::to(&sheet_url(period_id, unit_id, &code, "evidence_added")).into_response())
}

#[derive(Deserialize)]
pub struct CiteForm {
    evidence_id: i64,
    #[serde(default)]
    reference: String,
}

/// Cites a file already in the unit's library on another leaf (upload once, cite many times).
pub async fn cite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CiteForm>,
) -> Result<Response, WebError> {
    user.require(Action::EditSelfAssessment { unit_id })?;
    check_leaf(&state, &user, period_id, unit_id, &code).await?;
    let reference: String = form.reference.trim().chars().take(200).collect();
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    super::self_assessment::claim(&mut tx, period_id, unit_id).await?;
    tx.cite_evidence(period_id, unit_id, &code, form.evidence_id, &reference)
        .await?;
    tx.commit().await?;
    Ok(Redirect::to(&sheet_url(period_id, unit_id, &code, "evidence_added")).into_response())
}

/// Removes a citation from a leaf (the file stays in the library).
pub async fn uncite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, citation_id)): Path<(i64, i64, i64)>,
) -> Result<Response, WebError> {
    user.require(Action::EditSelfAssessment { unit_id })?;
    check_window(&state, period_id, unit_id).await?;
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    super::self_assessment::claim(&mut tx, period_id, unit_id).await?;
    let code = tx.remove_citation(period_id, unit_id, citation_id).await?;
    tx.commit().await?;
    Ok(Redirect::to(&sheet_url(period_id, unit_id, &code, "evidence_removed")).into_response())
}

#[derive(Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    inline: Option<String>,
}

/// Streams a file. Always `nosniff`; `attachment` unless an inline view of a PDF or an image
/// was asked for (those are the only types a browser shows without running anything).
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    let file = state.store.evidence_file(id).await?;
    let actor = user.require(Action::ViewEvidence {
        unit_id: file.unit_id,
    })?;
    // An appraiser opens a file only where it is cited on a sheet assigned to them.
    if actor.role() == parindex_domain::Role::Appraiser
        && !state
            .store
            .evidence_cited_for_appraiser(file.id, user.user_id())
            .await?
    {
        return Err(WebError::NotFound);
    }
    let download = state
        .evidence
        .get(&file.sha256)
        .await
        .map_err(|e| match e {
            parindex_store::evidence::EvidenceError::NotFound => WebError::NotFound,
            other => WebError::Internal(other.to_string()),
        })?;
    let viewable =
        file.content_type == "application/pdf" || file.content_type.starts_with("image/");
    let inline = q.inline.is_some() && viewable;
    // The name is ours (sanitised at upload); quote it safely for the header, with the
    // Vietnamese original in the RFC 5987 form.
    let ascii: String = file
        .display_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let disposition = format!(
        "{}; filename=\"{ascii}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        crate::page::url_encode(&file.display_name)
    );
    let stream = download.stream.map_err(std::io::Error::other);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (header::CONTENT_LENGTH, download.size.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .post("/periods/{id}/units/{unit_id}/leaves/{code}/cite", cite)
        .post(
            "/periods/{id}/units/{unit_id}/citations/{citation_id}/delete",
            uncite,
        )
        .get("/evidence/{id}", download)
        .upload(
            "/periods/{id}/units/{unit_id}/leaves/{code}/evidence",
            upload,
        )
}
