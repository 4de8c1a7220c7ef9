//! What the external values' requests carry: a typed value, and the imported file (read in
//! chunks, so an oversized one is refused at the limit, not after the whole body).

use axum::http::StatusCode;
use parindex_formats::external_import::MAX_EXTERNAL_BYTES;
use serde::Deserialize;

use crate::extract::Multipart;
use crate::i18n::Lang;

/// `?ok=…` after a redirect: which notice to show.
#[derive(Debug, Deserialize)]
pub struct OkQuery {
    pub ok: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct DirectForm {
    #[serde(default)]
    pub points: String,
    #[serde(default)]
    pub note: String,
}

/// An imported file: its name and bytes.
pub struct ImportFile {
    pub name: String,
    pub bytes: Vec<u8>,
}

/// A refusal of the upload itself: the status, the file name so far, the message.
pub type UploadRefusal = (StatusCode, String, String);

/// Reads the `file` field of an import form (this route shares the evidence uploads' larger
/// body limit, so the file's own limit is enforced here). None when no file was sent.
pub async fn read_import(
    lang: Lang,
    multipart: &mut Multipart,
) -> Result<Option<ImportFile>, UploadRefusal> {
    let failed = |name: &str, e: axum::extract::multipart::MultipartError| {
        let message = format!("{} ({})", lang.t("external.upload_failed"), e.body_text());
        (StatusCode::UNPROCESSABLE_ENTITY, name.to_owned(), message)
    };
    let mut file = None;
    loop {
        let mut field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => return Err(failed("", e)),
        };
        if field.name() != Some("file") {
            continue;
        }
        let name: String = field
            .file_name()
            .unwrap_or("tep-tai-len")
            .chars()
            .filter(|c| !c.is_control())
            .take(200)
            .collect();
        let mut bytes = Vec::new();
        loop {
            match field.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > MAX_EXTERNAL_BYTES {
                        let message = parindex_formats::FormatError::TooLarge {
                            max_bytes: MAX_EXTERNAL_BYTES,
                        }
                        .to_string();
                        return Err((StatusCode::PAYLOAD_TOO_LARGE, name, message));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(failed(&name, e)),
            }
        }
        file = Some(ImportFile { name, bytes });
    }
    Ok(file.filter(|f| !f.bytes.is_empty()))
}
