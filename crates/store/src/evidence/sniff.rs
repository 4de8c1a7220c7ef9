//! What a file really is, from its first bytes, and whether that agrees with its extension.
//!
//! Plain formats (PDF, images, executables, archives…) are recognised by `infer`'s magic numbers.
//! Two containers need a closer look, bounded to the bytes already read ([`SNIFF_LEN`]):
//! - ZIP: Office Open XML (`.docx`, `.xlsx`) and ODF (`.odt`, `.ods`, `.odp`) are ZIPs. The local
//!   file headers at the start name the entries: ODF opens with a stored `mimetype` entry,
//!   OOXML has `[Content_Types].xml` and a `word/` or `xl/` part.
//! - OLE2 (`.doc`, `.xls`, but also `.ppt` and `.msi` installers): the root entry's class id and
//!   the stream names in the first directory sector tell Word from Excel from the rest.

use super::error::EvidenceError;

/// How many leading bytes are read before deciding (or the whole file, if smaller).
pub const SNIFF_LEN: usize = 64 * 1024;

/// The kinds of document accepted as evidence, as users group them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Pdf,
    Image,
    Word,
    Excel,
    Odf,
}

impl Family {
    /// The family an extension (lowercase, no dot) promises, if it is accepted at all.
    pub fn of_extension(extension: &str) -> Option<Family> {
        Some(match extension {
            "pdf" => Family::Pdf,
            "jpg" | "jpeg" | "png" | "gif" | "webp" | "tif" | "tiff" => Family::Image,
            "doc" | "docx" => Family::Word,
            "xls" | "xlsx" => Family::Excel,
            "odt" | "ods" | "odp" => Family::Odf,
            _ => return None,
        })
    }

    /// The family in a Vietnamese sentence: "không phải là {…} thật".
    pub fn noun_vi(self) -> &'static str {
        match self {
            Family::Pdf => "PDF",
            Family::Image => "ảnh",
            Family::Word => "tài liệu Word",
            Family::Excel => "bảng tính Excel",
            Family::Odf => "tài liệu ODF",
        }
    }
}

/// An accepted type: its family, MIME type and canonical extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub family: Family,
    pub content_type: &'static str,
    pub extension: &'static str,
    /// How the type is named in a refusal ("nội dung là {…}").
    pub description_vi: &'static str,
}

macro_rules! kind {
    ($name:ident, $family:ident, $mime:literal, $ext:literal, $vi:literal) => {
        pub const $name: Kind = Kind {
            family: Family::$family,
            content_type: $mime,
            extension: $ext,
            description_vi: $vi,
        };
    };
}

kind!(PDF, Pdf, "application/pdf", "pdf", "PDF");
kind!(JPEG, Image, "image/jpeg", "jpg", "ảnh JPEG");
kind!(PNG, Image, "image/png", "png", "ảnh PNG");
kind!(GIF, Image, "image/gif", "gif", "ảnh GIF");
kind!(WEBP, Image, "image/webp", "webp", "ảnh WebP");
kind!(TIFF, Image, "image/tiff", "tiff", "ảnh TIFF");
kind!(DOC, Word, "application/msword", "doc", "tài liệu Word");
#[rustfmt::skip]
kind!(DOCX, Word, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "tài liệu Word");
kind!(
    XLS,
    Excel,
    "application/vnd.ms-excel",
    "xls",
    "bảng tính Excel"
);
#[rustfmt::skip]
kind!(XLSX, Excel, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "bảng tính Excel");
kind!(
    ODT,
    Odf,
    "application/vnd.oasis.opendocument.text",
    "odt",
    "văn bản ODF"
);
kind!(
    ODS,
    Odf,
    "application/vnd.oasis.opendocument.spreadsheet",
    "ods",
    "bảng tính ODF"
);
#[rustfmt::skip]
kind!(ODP, Odf, "application/vnd.oasis.opendocument.presentation", "odp", "trình chiếu ODF");

/// What the first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Detected {
    Accepted(Kind),
    /// An OLE2 compound file that is neither clearly Word nor clearly something else (old
    /// writers leave the class id empty): the extension decides between `.doc` and `.xls`.
    OfficeLegacy,
    /// An Office Open XML package whose part folder lies beyond the bytes read.
    OfficeOpenXml,
    /// Anything else, described for the refusal.
    Other(String),
}

/// Checks the leading bytes of a file against its declared extension and returns the type to
/// store, or the refusal to show. `name` is the display name, only used in messages.
pub fn check(head: &[u8], extension: &str, name: &str) -> Result<Kind, EvidenceError> {
    let Some(family) = Family::of_extension(extension) else {
        return Err(EvidenceError::ExtensionNotAllowed {
            name: name.to_string(),
            extension: extension.to_string(),
        });
    };
    let refuse = |detected: String| EvidenceError::TypeNotAllowed {
        name: name.to_string(),
        extension: extension.to_string(),
        expected: family.noun_vi(),
        detected,
    };
    match detect(head) {
        Detected::Accepted(kind) if kind.family == family => Ok(kind),
        Detected::Accepted(kind) => Err(refuse(kind.description_vi.to_string())),
        Detected::OfficeLegacy => match family {
            Family::Word => Ok(DOC),
            Family::Excel => Ok(XLS),
            _ => Err(refuse("tài liệu Office 97–2003".to_string())),
        },
        Detected::OfficeOpenXml => match family {
            Family::Word => Ok(DOCX),
            Family::Excel => Ok(XLSX),
            _ => Err(refuse("tài liệu Office Open XML".to_string())),
        },
        Detected::Other(what) => Err(refuse(what)),
    }
}

fn detect(head: &[u8]) -> Detected {
    if head.starts_with(b"PK\x03\x04") {
        return detect_zip(head);
    }
    if head.starts_with(&OLE2_MAGIC) {
        return detect_ole2(head);
    }
    if head.starts_with(b"#!") {
        return Detected::Other("tệp thực thi (script)".to_string());
    }
    let Some(found) = infer::get(head) else {
        return Detected::Other(describe_unknown(head));
    };
    match found.mime_type() {
        "application/pdf" => Detected::Accepted(PDF),
        "image/jpeg" => Detected::Accepted(JPEG),
        "image/png" => Detected::Accepted(PNG),
        "image/gif" => Detected::Accepted(GIF),
        "image/webp" => Detected::Accepted(WEBP),
        "image/tiff" => Detected::Accepted(TIFF),
        _ => Detected::Other(describe_other(&found)),
    }
}

fn describe_other(found: &infer::Type) -> String {
    use infer::MatcherType as M;
    let ext = found.extension().to_uppercase();
    match found.matcher_type() {
        M::App => "tệp thực thi".to_string(),
        M::Archive => format!("tệp nén {ext}"),
        M::Audio => format!("âm thanh {ext}"),
        M::Video => format!("video {ext}"),
        M::Image => format!("ảnh {ext}, định dạng không được chấp nhận"),
        M::Book => format!("sách điện tử {ext}"),
        M::Font => format!("phông chữ {ext}"),
        M::Text => format!("văn bản {ext}"),
        M::Doc | M::Custom => format!("tệp {ext}"),
    }
}

fn describe_unknown(head: &[u8]) -> String {
    // What infer wants more bytes for (a truncated header) is still an executable to refuse.
    if [&b"MZ"[..], b"\x7fELF"].iter().any(|m| head.starts_with(m)) {
        return "tệp thực thi".to_string();
    }
    let sample = &head[..head.len().min(512)];
    let printable = sample
        .iter()
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80);
    if printable {
        "văn bản thuần, không phải tài liệu".to_string()
    } else {
        "một định dạng không nhận ra được".to_string()
    }
}

// --- ZIP: OOXML and ODF ----------------------------------------------------------------------

const ZIP_LOCAL_HEADER: &[u8; 4] = b"PK\x03\x04";
/// Enough entries to get past `[Content_Types].xml`, `_rels/`, `docProps/` and `customXml/`.
const ZIP_MAX_ENTRIES: usize = 64;

fn detect_zip(head: &[u8]) -> Detected {
    let mut offset = 0;
    let mut has_content_types = false;
    for index in 0..ZIP_MAX_ENTRIES {
        let Some(entry) = zip_local_entry(head, offset) else {
            break;
        };
        if index == 0 && entry.name == b"mimetype" {
            return detect_odf(entry.stored_data);
        }
        if entry.name == b"[Content_Types].xml" {
            has_content_types = true;
        } else if entry.name.starts_with(b"word/") {
            return Detected::Accepted(DOCX);
        } else if entry.name.starts_with(b"xl/") {
            return Detected::Accepted(XLSX);
        } else if entry.name.starts_with(b"ppt/") {
            return Detected::Other("trình chiếu PowerPoint".to_string());
        }
        match entry.next {
            Some(next) => offset = next,
            None => break,
        }
    }
    if has_content_types {
        Detected::OfficeOpenXml
    } else {
        Detected::Other("tệp nén ZIP".to_string())
    }
}

fn detect_odf(mimetype: Option<&[u8]>) -> Detected {
    match mimetype {
        Some(b"application/vnd.oasis.opendocument.text") => Detected::Accepted(ODT),
        Some(b"application/vnd.oasis.opendocument.spreadsheet") => Detected::Accepted(ODS),
        Some(b"application/vnd.oasis.opendocument.presentation") => Detected::Accepted(ODP),
        Some(b"application/epub+zip") => Detected::Other("sách điện tử EPUB".to_string()),
        _ => Detected::Other("tệp nén ZIP".to_string()),
    }
}

struct ZipEntry<'a> {
    name: &'a [u8],
    /// The entry's bytes when stored uncompressed and wholly within the head.
    stored_data: Option<&'a [u8]>,
    /// Where the next local header starts, when it can be known.
    next: Option<usize>,
}

fn zip_local_entry(buf: &[u8], at: usize) -> Option<ZipEntry<'_>> {
    if buf.get(at..at + 4)? != ZIP_LOCAL_HEADER {
        return None;
    }
    let u16_at = |o: usize| -> Option<usize> {
        let b = buf.get(at + o..at + o + 2)?;
        Some(u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |o: usize| -> Option<u32> {
        let b = buf.get(at + o..at + o + 4)?;
        Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let flags = u16_at(6)?;
    let method = u16_at(8)?;
    let compressed = u32_at(18)?;
    let name_len = u16_at(26)?;
    let extra_len = u16_at(28)?;
    let name_start = at + 30;
    let name = buf.get(name_start..name_start + name_len)?;
    let data_start = name_start + name_len + extra_len;
    // Sizes follow the data (bit 3) or live in a ZIP64 extra field: find the next header by its
    // signature instead, as unzip-free sniffers do.
    let sizes_unknown = flags & 0x0008 != 0 || compressed == u32::MAX;
    let (stored_data, next) = if sizes_unknown {
        let next = buf
            .get(data_start..)
            .and_then(|rest| find(rest, ZIP_LOCAL_HEADER))
            .map(|i| data_start + i);
        (None, next)
    } else {
        let end = data_start + compressed as usize;
        let data = if method == 0 {
            buf.get(data_start..end)
        } else {
            None
        };
        (data, Some(end))
    };
    Some(ZipEntry {
        name,
        stored_data,
        next,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

// --- OLE2 compound files: .doc, .xls (and what must not pass for them) -------------------------

const OLE2_MAGIC: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const CLSID_WORD: [u8; 16] = clsid(0x0002_0906);
const CLSID_EXCEL: [u8; 16] = clsid(0x0002_0820);
const CLSID_EXCEL5: [u8; 16] = clsid(0x0002_0810);

/// The `{XXXXXXXX-0000-0000-C000-000000000046}` class ids of Office, as stored (little endian).
const fn clsid(data1: u32) -> [u8; 16] {
    let d = data1.to_le_bytes();
    [
        d[0], d[1], d[2], d[3], 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46,
    ]
}

fn detect_ole2(head: &[u8]) -> Detected {
    let Some(directory) = ole2_first_directory_sector(head) else {
        return Detected::OfficeLegacy;
    };
    // Entry 0 is the root; its class id names the application that wrote the file.
    let class_id = &directory[0x50..0x60];
    if class_id == CLSID_WORD {
        return Detected::Accepted(DOC);
    }
    if class_id == CLSID_EXCEL || class_id == CLSID_EXCEL5 {
        return Detected::Accepted(XLS);
    }
    let names: Vec<String> = directory
        .chunks_exact(128)
        .filter_map(ole2_entry_name)
        .collect();
    let has = |n: &str| names.iter().any(|name| name == n);
    if has("WordDocument") {
        return Detected::Accepted(DOC);
    }
    if has("Workbook") || has("Book") {
        return Detected::Accepted(XLS);
    }
    if has("PowerPoint Document") {
        return Detected::Other("trình chiếu PowerPoint".to_string());
    }
    if class_id.iter().all(|b| *b == 0) {
        // An empty class id and no telling stream in the first sector: decide by extension.
        Detected::OfficeLegacy
    } else {
        Detected::Other("tệp OLE không phải Word hay Excel (ví dụ bộ cài MSI)".to_string())
    }
}

/// The first sector of the directory, when it lies within `head`.
fn ole2_first_directory_sector(head: &[u8]) -> Option<&[u8]> {
    let shift = u16::from_le_bytes([*head.get(0x1E)?, *head.get(0x1F)?]);
    if shift != 9 && shift != 12 {
        return None;
    }
    let sector = 1usize << shift;
    let first = u32::from_le_bytes(head.get(0x30..0x34)?.try_into().ok()?) as usize;
    let start = first.checked_add(1)?.checked_mul(sector)?;
    head.get(start..start.checked_add(sector)?)
}

fn ole2_entry_name(entry: &[u8]) -> Option<String> {
    let len = u16::from_le_bytes([entry[0x40], entry[0x41]]) as usize;
    if !(2..=64).contains(&len) {
        return None;
    }
    let units: Vec<u16> = entry[..len - 2]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16(&units).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_are_not_pdfs() {
        let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
        let err = check(elf, "pdf", "baocao.pdf").unwrap_err();
        let mut long_elf = elf.to_vec();
        long_elf.resize(4096, 0);
        assert_eq!(
            check(&long_elf, "pdf", "baocao.pdf")
                .unwrap_err()
                .to_string(),
            err.to_string()
        );
        assert!(
            check(b"#!/bin/sh\nrm -rf /", "doc", "a.doc")
                .unwrap_err()
                .to_string()
                .contains("tệp thực thi")
        );
        assert_eq!(
            err.to_string(),
            format!(
                "Tệp «baocao.pdf» không phải là PDF thật (nội dung là tệp thực thi); chỉ chấp nhận {}",
                super::super::error::ALLOWED_TYPES_VI
            )
        );
        let mut mz = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0".to_vec();
        mz.resize(256, 0);
        mz[0x3C] = 0x80;
        mz.extend_from_slice(b"PE\0\0");
        assert!(matches!(
            check(&mz, "pdf", "x.pdf"),
            Err(EvidenceError::TypeNotAllowed { .. })
        ));
    }

    #[test]
    fn family_must_agree_but_the_exact_type_may_differ() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(check(png, "jpg", "a.jpg").unwrap(), PNG);
        assert!(check(png, "pdf", "a.pdf").is_err());
        assert!(matches!(
            check(b"%PDF-1.4\n", "exe", "a.exe"),
            Err(EvidenceError::ExtensionNotAllowed { .. })
        ));
        assert!(matches!(
            check(b"%PDF-1.4\n", "", "a"),
            Err(EvidenceError::ExtensionNotAllowed { .. })
        ));
    }

    fn local_header(name: &str, data: &[u8]) -> Vec<u8> {
        let mut h = b"PK\x03\x04".to_vec();
        h.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(data.len() as u32).to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        h.extend_from_slice(data);
        h
    }

    #[test]
    fn zip_containers() {
        let odt = local_header("mimetype", b"application/vnd.oasis.opendocument.text");
        assert_eq!(check(&odt, "odt", "a.odt").unwrap(), ODT);
        let mut docx = local_header("[Content_Types].xml", b"<Types/>");
        docx.extend(local_header("_rels/.rels", b"<Relationships/>"));
        docx.extend(local_header("docProps/app.xml", b"<Properties/>"));
        docx.extend(local_header("word/document.xml", b"<w:document/>"));
        assert_eq!(check(&docx, "docx", "a.docx").unwrap(), DOCX);
        assert!(check(&docx, "xlsx", "a.xlsx").is_err());
        let plain = local_header("setup.exe", b"MZ");
        let err = check(&plain, "docx", "a.docx").unwrap_err();
        assert!(err.to_string().contains("tệp nén ZIP"), "{err}");
        let pptx = [
            local_header("[Content_Types].xml", b"<Types/>"),
            local_header("ppt/presentation.xml", b"<p/>"),
        ]
        .concat();
        assert!(check(&pptx, "docx", "a.docx").is_err());
    }

    fn ole2(class_id: [u8; 16], stream: &str) -> Vec<u8> {
        let mut file = vec![0u8; 512 * 3];
        file[..8].copy_from_slice(&OLE2_MAGIC);
        file[0x1E] = 9;
        file[0x30..0x34].copy_from_slice(&1u32.to_le_bytes());
        let dir = 512 * 2;
        for (i, name) in ["Root Entry", stream].iter().enumerate() {
            let entry = dir + i * 128;
            let units: Vec<u8> = name.encode_utf16().flat_map(u16::to_le_bytes).collect();
            file[entry..entry + units.len()].copy_from_slice(&units);
            file[entry + 0x40..entry + 0x42]
                .copy_from_slice(&((units.len() + 2) as u16).to_le_bytes());
        }
        file[dir + 0x50..dir + 0x60].copy_from_slice(&class_id);
        file
    }

    #[test]
    fn ole2_containers() {
        assert_eq!(check(&ole2(CLSID_WORD, "x"), "doc", "a.doc").unwrap(), DOC);
        assert!(check(&ole2(CLSID_WORD, "x"), "xls", "a.xls").is_err());
        assert_eq!(
            check(&ole2([0; 16], "Workbook"), "xls", "a.xls").unwrap(),
            XLS
        );
        assert_eq!(check(&ole2([0; 16], "x"), "doc", "a.doc").unwrap(), DOC);
        let msi = clsid(0x000C_1084);
        assert!(check(&ole2(msi, "x"), "doc", "a.doc").is_err());
        // The directory beyond the bytes read: the extension decides.
        assert_eq!(check(&OLE2_MAGIC, "xls", "a.xls").unwrap(), XLS);
    }
}
