//! Reading the one file of a small upload form (unit imports, index-set imports), which
//! areas share.

use crate::extract::Multipart;

/// The uploaded file of field `name`: (file name, bytes), None when the form had none. A
/// broken upload is `Err` with the reason the client gets.
pub async fn file_field(
    multipart: &mut Multipart,
    name: &str,
) -> Result<Option<(String, Vec<u8>)>, String> {
    let mut file = None;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => return Ok(file),
            Err(e) => return Err(e.body_text()),
        };
        if field.name() != Some(name) {
            continue;
        }
        let file_name = field
            .file_name()
            .unwrap_or("tep-tai-len")
            .chars()
            .take(200)
            .collect::<String>();
        match field.bytes().await {
            Ok(bytes) => file = Some((file_name, bytes.to_vec())),
            Err(e) => return Err(e.body_text()),
        }
    }
}
