//! What the evidence requests carry: the upload form (read as a stream), a citation, a
//! download's options.

use parindex_app::App;
use parindex_app::evidence::ReceivedFile;
use serde::Deserialize;

use crate::error::WebError;
use crate::extract::Multipart;
use crate::i18n::Lang;

#[derive(Debug, Deserialize)]
pub struct CiteForm {
    pub evidence_id: i64,
    #[serde(default)]
    pub reference: String,
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    #[serde(default)]
    pub inline: Option<String>,
}

/// An upload form as received: the optional `reference` and every `file`, each streamed into
/// the evidence store as it arrives (never held in memory).
pub struct Upload {
    pub reference: String,
    pub files: Vec<ReceivedFile>,
}

/// Reads an upload form. Refuses a form with no file.
pub async fn read_upload(
    app: &App,
    lang: Lang,
    max_bytes: u64,
    multipart: &mut Multipart,
) -> Result<Upload, WebError> {
    let mut reference = String::new();
    let mut files = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                let message = format!("{} ({})", lang.t("import.upload_failed"), e.body_text());
                return Err(WebError::BadRequest(message));
            }
        };
        match field.name() {
            Some("reference") => {
                let text = field.text().await.unwrap_or_default();
                reference = text.chars().take(200).collect::<String>().trim().to_owned();
            }
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_owned();
                if name.is_empty() {
                    continue;
                }
                files.push(app.receive_evidence(field, &name, max_bytes).await?);
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(WebError::BadRequest(lang.t("evidence.no_file").into()));
    }
    Ok(Upload { reference, files })
}
