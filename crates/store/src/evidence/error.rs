//! The evidence store's error type. Policy: every variant but [`EvidenceError::Internal`] and
//! [`EvidenceError::Config`] is the uploader's business and carries a Vietnamese sentence saying
//! what to fix (the web layer shows it as is, with a 4xx); `Internal` is a storage outage or a
//! bug and becomes a logged 500; `Config` stops the server at start.

use std::error::Error as StdError;

/// The types accepted, as users know them; the end of every refusal about types.
pub const ALLOWED_TYPES_VI: &str = "PDF, ảnh (JPG, PNG, GIF, WebP, TIFF), Word, Excel, ODF";

/// What went wrong with an upload, a download or the store itself.
#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// The upload went past the size limit; nothing was stored.
    #[error("Tệp quá lớn: mỗi tệp minh chứng tối đa {max_mb} MB")]
    TooLarge { max_mb: u64 },
    /// The upload had no content.
    #[error("Tệp «{name}» rỗng (0 byte)")]
    Empty { name: String },
    /// The declared name's extension is not one of the accepted types.
    #[error(
        "Tệp «{name}» có phần mở rộng «{extension}» không được chấp nhận; chỉ chấp nhận {ALLOWED_TYPES_VI}"
    )]
    ExtensionNotAllowed { name: String, extension: String },
    /// The content is not what the extension claims (a renamed executable, a ZIP called .docx…).
    #[error(
        "Tệp «{name}» không phải là {expected} thật (nội dung là {detected}); chỉ chấp nhận {ALLOWED_TYPES_VI}"
    )]
    TypeNotAllowed {
        /// The display name (see [`safe_display_name`](super::safe_display_name)).
        name: String,
        /// The declared extension, lowercased, without the dot.
        extension: String,
        /// What the extension promised, in Vietnamese ("PDF", "tài liệu Word", …).
        expected: &'static str,
        /// What the content is, in Vietnamese ("tệp thực thi", "tệp nén ZIP", …).
        detected: String,
    },
    /// The client's stream failed part-way (connection dropped, body limit…); nothing was stored.
    #[error("Tải tệp lên bị gián đoạn; xin thử lại")]
    Interrupted(#[source] Box<dyn StdError + Send + Sync>),
    /// Not a SHA-256 in lowercase hex: never reaches the storage.
    #[error("Mã tệp minh chứng không hợp lệ")]
    InvalidSha256,
    /// No blob with that SHA-256.
    #[error("Không tìm thấy tệp minh chứng")]
    NotFound,
    /// The disk holding the evidence store is full (or over its quota); nothing was stored.
    #[error(
        "Máy chủ đã hết dung lượng lưu trữ nên tệp chưa được lưu. Hãy báo quản trị hệ thống giải phóng dung lượng, rồi tải lên lại"
    )]
    StorageFull,
    /// The storage URL or the S3 settings are unusable.
    #[error("evidence storage configuration: {0}")]
    Config(String),
    /// The storage failed (disk, network, S3 error).
    #[error("evidence storage failed while {context}: {source}")]
    Internal {
        context: &'static str,
        #[source]
        source: Box<dyn StdError + Send + Sync>,
    },
}

impl EvidenceError {
    /// True when the error is ours (a 500 to log), false when it is the user's to fix.
    pub fn is_internal(&self) -> bool {
        matches!(
            self,
            EvidenceError::Internal { .. } | EvidenceError::Config(_)
        )
    }

    pub(crate) fn internal(
        context: &'static str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> EvidenceError {
        let source = source.into();
        if is_no_space(source.as_ref()) {
            tracing::error!(context, error = %source, "evidence storage full");
            return EvidenceError::StorageFull;
        }
        EvidenceError::Internal { context, source }
    }
}

/// Whether an error, or one of its causes, is the disk saying it is full (ENOSPC, EDQUOT).
fn is_no_space(err: &(dyn StdError + 'static)) -> bool {
    if let Some(io) = err.downcast_ref::<std::io::Error>() {
        if matches!(
            io.kind(),
            std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
        ) {
            return true;
        }
        // An io::Error wrapping another hides it from `source()`.
        if io.get_ref().is_some_and(|inner| is_no_space(inner)) {
            return true;
        }
    }
    err.source().is_some_and(is_no_space)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_as_such() {
        let full = std::io::Error::from_raw_os_error(28); // ENOSPC
        let err = EvidenceError::internal("writing a temporary file", full);
        assert!(matches!(err, EvidenceError::StorageFull));
        assert!(!err.is_internal());
        assert!(err.to_string().contains("hết dung lượng lưu trữ"));
        // Wrapped, as object_store wraps it.
        let wrapped = std::io::Error::other(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(matches!(
            EvidenceError::internal("publishing", wrapped),
            EvidenceError::StorageFull
        ));
        let other = EvidenceError::internal("x", std::io::Error::other("boom"));
        assert!(other.is_internal());
    }
}
