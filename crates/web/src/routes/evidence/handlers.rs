//! The evidence handlers: parse, call one use case, answer.

use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use futures_util::TryStreamExt;
use parindex_app::evidence::{EvidenceFor, LeafRef, viewable};

use super::forms::{CiteForm, DownloadQuery, read_upload};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Form, Multipart, Path, Query};
use crate::views::app_error::caller;

fn sheet_url(leaf: &LeafRef, ok: &str) -> String {
    format!(
        "/periods/{}/units/{}/sheet?ok={ok}#leaf-{}",
        leaf.period_id, leaf.unit_id, leaf.code
    )
}

/// Receives an upload for a leaf (the self-assessment or the explanation): checked before
/// the body is read, and again inside the write once it has arrived.
async fn attach(
    state: &AppState,
    user: &CurrentUser,
    kind: EvidenceFor,
    leaf: &LeafRef,
    multipart: &mut Multipart,
) -> Result<(), WebError> {
    let caller = caller(user)?;
    state.check_attach(&caller, kind, leaf).await?;
    let max = state.config.max_upload_bytes;
    let upload = read_upload(state, user.ctx.lang, max, multipart).await?;
    Ok(state
        .attach_evidence(&caller, kind, leaf, &upload.reference, &upload.files)
        .await?)
}

/// Uploads one or more files for a leaf of the sheet: each is added to the unit's library
/// and cited on the leaf with the given reference.
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    attach(&state, &user, EvidenceFor::Sheet, &leaf, &mut multipart).await?;
    Ok(Redirect::to(&sheet_url(&leaf, "evidence_added")).into_response())
}

/// Supplementary evidence of an explanation: uploaded to the library, cited as `explanation`.
pub async fn upload_explanation(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    mut multipart: Multipart,
) -> Result<Response, WebError> {
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    attach(
        &state,
        &user,
        EvidenceFor::Explanation,
        &leaf,
        &mut multipart,
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/periods/{period_id}/units/{unit_id}/explanation?ok=evidence_added#leaf-{}",
        leaf.code
    ))
    .into_response())
}

/// Cites a file already in the unit's library on another leaf (upload once, cite many times).
pub async fn cite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, code)): Path<(i64, i64, String)>,
    Form(form): Form<CiteForm>,
) -> Result<Response, WebError> {
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    state
        .cite_evidence(&caller(&user)?, &leaf, form.evidence_id, &form.reference)
        .await?;
    Ok(Redirect::to(&sheet_url(&leaf, "evidence_added")).into_response())
}

/// Removes a citation from a leaf (the file stays in the library).
pub async fn uncite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((period_id, unit_id, citation_id)): Path<(i64, i64, i64)>,
) -> Result<Response, WebError> {
    let code = state
        .uncite_evidence(&caller(&user)?, period_id, unit_id, citation_id)
        .await?;
    let leaf = LeafRef {
        period_id,
        unit_id,
        code,
    };
    Ok(Redirect::to(&sheet_url(&leaf, "evidence_removed")).into_response())
}

/// Streams a file. Always `nosniff`; `attachment` unless an inline view of a PDF or an image
/// was asked for (those are the only types a browser shows without running anything).
pub async fn download(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<DownloadQuery>,
) -> Result<Response, WebError> {
    let opened = state.open_evidence(&caller(&user)?, id).await?;
    let file = opened.file;
    let inline = q.inline.is_some() && viewable(&file.content_type);
    let disposition = format!(
        "{}; filename=\"{}\"; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        ascii_name(&file.display_name),
        crate::page::url_encode(&file.display_name)
    );
    let stream = opened.download.stream.map_err(std::io::Error::other);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, file.content_type.clone()),
            (header::CONTENT_LENGTH, opened.download.size.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

/// The name is ours (sanitised at upload); quoted safely for the header, the Vietnamese
/// original going in the RFC 5987 form.
fn ascii_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
