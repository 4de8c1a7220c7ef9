//! A check of a ZIP container (.xlsx) against zip bombs, before calamine reads it.
//!
//! An .xlsx of a few hundred kilobytes can declare gigabytes of XML, and calamine loads the
//! shared-string table whole. The `zip` crate reads the central directory; the sizes it declares
//! are checked first (cheap, nothing inflated). Declared sizes can lie, so every entry is then
//! inflated once into a counter through `Read::take`, and the same limits are enforced on the
//! bytes that really come out: at most the remaining budget plus one byte is ever inflated.

use std::io::{self, Cursor, Read, Write};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::FormatError;

/// Real spreadsheet XML compresses 5–50:1; deflate cannot go much beyond 1032:1, so a ratio
/// above this means a part made to be inflated, not read.
const MAX_COMPRESSION_RATIO: u64 = 1000;
/// Entries smaller than this cannot hurt whatever their ratio (tiny parts of repeated
/// characters compress absurdly well), so the ratio is only checked above it.
const RATIO_CHECK_FLOOR: u64 = 1024 * 1024;

/// Checks a ZIP archive: the sum of its entries' uncompressed sizes must not exceed
/// `max_uncompressed_bytes` and no large entry may be compressed more than 1000:1, both as
/// declared and as really inflated. An entry that inflates to more than it declares is
/// [`FormatError::SuspiciousCompression`]; a structure that cannot be read is
/// [`FormatError::CorruptXlsx`].
pub(crate) fn check_zip_bounds(
    bytes: &[u8],
    max_uncompressed_bytes: u64,
) -> Result<(), FormatError> {
    let too_large = FormatError::XlsxTooLarge {
        max_uncompressed_bytes,
    };
    let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(corrupt)?;

    // What the central directory declares: refused before anything is inflated.
    let mut declared_total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive.by_index_raw(index).map_err(corrupt)?;
        declared_total = declared_total.saturating_add(entry.size());
        if declared_total > max_uncompressed_bytes {
            return Err(too_large);
        }
        check_ratio(entry.size(), entry.compressed_size())?;
    }

    // What really comes out.
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let mut entry = archive.by_index(index).map_err(corrupt)?;
        let declared = entry.size();
        let compressed = entry.compressed_size();
        let budget = max_uncompressed_bytes - total;
        let mut counter = Counter(0);
        let copied = io::copy(&mut (&mut entry).take(budget + 1), &mut counter);
        // The zip crate itself stops an entry one byte past its declared size with an error
        // (whose text is the only thing that tells it from a damaged stream); the counter
        // catches the same lie should it not.
        match copied {
            _ if counter.0 > declared => return Err(FormatError::SuspiciousCompression),
            Err(error) if is_size_lie(&error) => return Err(FormatError::SuspiciousCompression),
            Err(error) => return Err(corrupt(ZipError::Io(error))),
            Ok(_) => {}
        }
        if counter.0 > budget {
            return Err(too_large);
        }
        check_ratio(counter.0, compressed)?;
        total += counter.0;
    }
    Ok(())
}

/// The zip crate's refusal of an entry that inflates past the size it declares.
fn is_size_lie(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::InvalidData
        && error.to_string().contains("larger than its declared")
}

fn check_ratio(uncompressed: u64, compressed: u64) -> Result<(), FormatError> {
    if uncompressed > RATIO_CHECK_FLOOR && uncompressed / compressed.max(1) > MAX_COMPRESSION_RATIO
    {
        return Err(FormatError::SuspiciousCompression);
    }
    Ok(())
}

fn corrupt(error: ZipError) -> FormatError {
    FormatError::CorruptXlsx {
        detail: format!("zip: {error}"),
    }
}

/// A sink that only counts what is written to it.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    /// A real archive of deflated entries.
    fn archive(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, data) in entries {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
        writer.finish().unwrap().into_inner()
    }

    /// Rewrites the uncompressed size every local and central header of `zip` declares, as a
    /// bomb that wants to slip under the declared-size check does.
    fn declare_uncompressed(zip: &mut [u8], size: u32) {
        for at in 0..zip.len().saturating_sub(4) {
            let offset = match &zip[at..at + 4] {
                b"PK\x03\x04" => 22,
                b"PK\x01\x02" => 24,
                _ => continue,
            };
            zip[at + offset..at + offset + 4].copy_from_slice(&size.to_le_bytes());
        }
    }

    #[test]
    fn honest_sizes_pass() {
        let zip = archive(&[("xl/workbook.xml", b"<workbook/>"), ("a", &[b'x'; 20_000])]);
        assert_eq!(check_zip_bounds(&zip, 1 << 20), Ok(()));
    }

    #[test]
    fn declared_size_over_the_limit_is_refused() {
        let zip = archive(&[("xl/sharedStrings.xml", &vec![b'x'; 3_000_000])]);
        let result = check_zip_bounds(&zip, 1 << 20);
        assert!(matches!(result, Err(FormatError::XlsxTooLarge { .. })));
    }

    #[test]
    fn absurd_ratio_is_refused() {
        let zip = archive(&[("xl/sharedStrings.xml", &vec![0; 20_000_000])]);
        let result = check_zip_bounds(&zip, 50 << 20);
        assert_eq!(result, Err(FormatError::SuspiciousCompression));
    }

    #[test]
    fn lying_sizes_are_caught_while_inflating() {
        // 3 MB of varied text declared as 1000 bytes: under every declared limit.
        let text: Vec<u8> = (0..3_000_000u32)
            .map(|i| b"abcdefghij"[(i * 7 % 10) as usize])
            .collect();
        let mut zip = archive(&[("xl/sharedStrings.xml", &text)]);
        declare_uncompressed(&mut zip, 1000);
        assert_eq!(
            check_zip_bounds(&zip, 50 << 20),
            Err(FormatError::SuspiciousCompression)
        );
        // Two honest entries, each within the limit, together over it.
        let zip = archive(&[("a", &text), ("b", &text)]);
        assert!(matches!(
            check_zip_bounds(&zip, 5_000_000),
            Err(FormatError::XlsxTooLarge { .. })
        ));
    }

    #[test]
    fn truncated_archives_are_corrupt_not_panics() {
        let whole = archive(&[("xl/workbook.xml", &[b'x'; 20_000])]);
        for cut in 0..whole.len() {
            let result = check_zip_bounds(&whole[..cut], 1 << 20);
            assert!(
                matches!(result, Err(FormatError::CorruptXlsx { .. })),
                "cut {cut}: {result:?}"
            );
        }
    }
}
