//! A pre-flight check of a ZIP container (.xlsx) before any decompression, against zip bombs.
//!
//! An .xlsx of a few hundred kilobytes can declare gigabytes of XML. calamine loads the
//! shared-string table whole, so the declared sizes are checked first, by reading the ZIP
//! central directory by hand: it is a small, fixed format and reading it needs no inflating.
//! Lying about the sizes does not help an attacker: the `zip` crate under calamine stops an
//! entry that inflates past the uncompressed size its central directory declares.

use crate::FormatError;

const EOCD_SIGNATURE: u32 = 0x0605_4b50;
const EOCD_LEN: usize = 22;
const ZIP64_LOCATOR_SIGNATURE: u32 = 0x0706_4b50;
const ZIP64_LOCATOR_LEN: usize = 20;
const ZIP64_EOCD_SIGNATURE: u32 = 0x0606_4b50;
const ZIP64_EOCD_LEN: usize = 56;
const CENTRAL_HEADER_SIGNATURE: u32 = 0x0201_4b50;
const CENTRAL_HEADER_LEN: usize = 46;
const ZIP64_EXTRA_FIELD_ID: u16 = 0x0001;

/// Real spreadsheet XML compresses 5–50:1; deflate cannot go much beyond 1032:1, so a ratio
/// above this means a part made to be inflated, not read.
const MAX_COMPRESSION_RATIO: u64 = 1000;
/// Entries smaller than this cannot hurt whatever their ratio (tiny parts of repeated
/// characters compress absurdly well), so the ratio is only checked above it.
const RATIO_CHECK_FLOOR: u64 = 1024 * 1024;

/// Checks the sizes a ZIP archive declares in its central directory: their sum must not exceed
/// `max_uncompressed_bytes` and no large entry may be compressed more than 1000:1.
/// A structure that cannot be read is [`FormatError::CorruptXlsx`].
pub(crate) fn check_zip_bounds(
    bytes: &[u8],
    max_uncompressed_bytes: u64,
) -> Result<(), FormatError> {
    let directory = find_central_directory(bytes)?;
    let mut offset = directory.offset;
    let mut total_uncompressed: u64 = 0;
    for _ in 0..directory.entries {
        let entry = read_central_entry(bytes, offset)?;
        total_uncompressed = total_uncompressed.saturating_add(entry.uncompressed);
        if total_uncompressed > max_uncompressed_bytes {
            return Err(FormatError::XlsxTooLarge {
                max_uncompressed_bytes,
            });
        }
        if entry.uncompressed > RATIO_CHECK_FLOOR
            && entry.uncompressed / entry.compressed.max(1) > MAX_COMPRESSION_RATIO
        {
            return Err(FormatError::SuspiciousCompression);
        }
        offset = entry.next_offset;
    }
    Ok(())
}

struct CentralDirectory {
    offset: usize,
    entries: u64,
}

struct CentralEntry {
    compressed: u64,
    uncompressed: u64,
    next_offset: usize,
}

fn corrupt(detail: &str) -> FormatError {
    FormatError::CorruptXlsx {
        detail: format!("zip: {detail}"),
    }
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let slice = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([slice[0], slice[1]]))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([slice[0], slice[1], slice[2], slice[3]]))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at.checked_add(8)?)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(slice);
    Some(u64::from_le_bytes(word))
}

/// Finds the End Of Central Directory record (searching back over the at most 64 KiB comment)
/// and, for ZIP64 archives, follows it to the ZIP64 record.
fn find_central_directory(bytes: &[u8]) -> Result<CentralDirectory, FormatError> {
    let last_start = bytes
        .len()
        .checked_sub(EOCD_LEN)
        .ok_or_else(|| corrupt("too short for an end of central directory"))?;
    let first_start = last_start.saturating_sub(usize::from(u16::MAX));
    let eocd = (first_start..=last_start)
        .rev()
        .find(|&at| u32_at(bytes, at) == Some(EOCD_SIGNATURE))
        .ok_or_else(|| corrupt("no end of central directory"))?;

    let field = |at: usize| u16_at(bytes, eocd + at).ok_or_else(|| corrupt("truncated eocd"));
    let entries = field(10)?;
    let size = u32_at(bytes, eocd + 12).ok_or_else(|| corrupt("truncated eocd"))?;
    let offset = u32_at(bytes, eocd + 16).ok_or_else(|| corrupt("truncated eocd"))?;

    let (entries, size, offset) = if entries == u16::MAX || size == u32::MAX || offset == u32::MAX {
        read_zip64_directory(bytes, eocd)?
    } else {
        (u64::from(entries), u64::from(size), u64::from(offset))
    };

    let offset = usize::try_from(offset).map_err(|_| corrupt("directory offset"))?;
    let size = usize::try_from(size).map_err(|_| corrupt("directory size"))?;
    let end = offset
        .checked_add(size)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| corrupt("central directory outside the file"))?;
    // Each entry takes at least 46 bytes, which bounds the loop by the file size whatever
    // count is declared.
    if entries > ((end - offset) / CENTRAL_HEADER_LEN) as u64 {
        return Err(corrupt("more entries declared than fit the directory"));
    }
    Ok(CentralDirectory { offset, entries })
}

fn read_zip64_directory(bytes: &[u8], eocd: usize) -> Result<(u64, u64, u64), FormatError> {
    let locator = eocd
        .checked_sub(ZIP64_LOCATOR_LEN)
        .filter(|&at| u32_at(bytes, at) == Some(ZIP64_LOCATOR_SIGNATURE))
        .ok_or_else(|| corrupt("zip64 locator missing"))?;
    let record = u64_at(bytes, locator + 8)
        .and_then(|at| usize::try_from(at).ok())
        .filter(|&at| {
            at.checked_add(ZIP64_EOCD_LEN)
                .is_some_and(|end| end <= bytes.len())
        })
        .filter(|&at| u32_at(bytes, at) == Some(ZIP64_EOCD_SIGNATURE))
        .ok_or_else(|| corrupt("zip64 end of central directory missing"))?;
    let read =
        |at: usize| u64_at(bytes, record + at).ok_or_else(|| corrupt("truncated zip64 eocd"));
    Ok((read(32)?, read(40)?, read(48)?))
}

fn read_central_entry(bytes: &[u8], at: usize) -> Result<CentralEntry, FormatError> {
    let truncated = || corrupt("truncated central directory entry");
    if u32_at(bytes, at) != Some(CENTRAL_HEADER_SIGNATURE) {
        return Err(corrupt("bad central directory entry signature"));
    }
    let compressed32 = u32_at(bytes, at + 20).ok_or_else(truncated)?;
    let uncompressed32 = u32_at(bytes, at + 24).ok_or_else(truncated)?;
    let name_len = usize::from(u16_at(bytes, at + 28).ok_or_else(truncated)?);
    let extra_len = usize::from(u16_at(bytes, at + 30).ok_or_else(truncated)?);
    let comment_len = usize::from(u16_at(bytes, at + 32).ok_or_else(truncated)?);
    let extra_start = at + CENTRAL_HEADER_LEN + name_len;
    let extra = bytes
        .get(extra_start..extra_start + extra_len)
        .ok_or_else(truncated)?;

    let mut compressed = u64::from(compressed32);
    let mut uncompressed = u64::from(uncompressed32);
    if compressed32 == u32::MAX || uncompressed32 == u32::MAX {
        // The real sizes are in the ZIP64 extra field, uncompressed first, each present only
        // when its 32-bit field is saturated.
        let zip64 = find_extra_field(extra, ZIP64_EXTRA_FIELD_ID)
            .ok_or_else(|| corrupt("zip64 sizes missing"))?;
        let mut cursor = 0;
        if uncompressed32 == u32::MAX {
            uncompressed = u64_at(zip64, cursor).ok_or_else(truncated)?;
            cursor += 8;
        }
        if compressed32 == u32::MAX {
            compressed = u64_at(zip64, cursor).ok_or_else(truncated)?;
        }
    }
    Ok(CentralEntry {
        compressed,
        uncompressed,
        next_offset: extra_start + extra_len + comment_len,
    })
}

fn find_extra_field(extra: &[u8], wanted: u16) -> Option<&[u8]> {
    let mut at = 0;
    while at + 4 <= extra.len() {
        let id = u16_at(extra, at)?;
        let len = usize::from(u16_at(extra, at + 2)?);
        let data = extra.get(at + 4..at + 4 + len)?;
        if id == wanted {
            return Some(data);
        }
        at += 4 + len;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-entry archive whose central directory declares the given sizes.
    fn archive(compressed: u32, uncompressed: u32, extra: &[u8]) -> Vec<u8> {
        let name = b"xl/sharedStrings.xml";
        let mut zip = Vec::new();
        // Central directory straight away: this check never looks at local headers.
        zip.extend_from_slice(&CENTRAL_HEADER_SIGNATURE.to_le_bytes());
        zip.extend_from_slice(&[20, 0, 20, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        zip.extend_from_slice(&compressed.to_le_bytes());
        zip.extend_from_slice(&uncompressed.to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        zip.extend_from_slice(&[0; 14]); // comment length, disk, attributes, local offset
        zip.extend_from_slice(name);
        zip.extend_from_slice(extra);
        let directory_size = zip.len() as u32;
        zip.extend_from_slice(&EOCD_SIGNATURE.to_le_bytes());
        zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
        zip.extend_from_slice(&directory_size.to_le_bytes());
        zip.extend_from_slice(&0u32.to_le_bytes());
        zip.extend_from_slice(&[0, 0]);
        zip
    }

    #[test]
    fn honest_sizes_pass() {
        assert_eq!(
            check_zip_bounds(&archive(1000, 20_000, &[]), 1 << 20),
            Ok(())
        );
    }

    #[test]
    fn declared_size_over_the_limit_is_refused() {
        let result = check_zip_bounds(&archive(1000, 3_000_000, &[]), 1 << 20);
        assert!(matches!(result, Err(FormatError::XlsxTooLarge { .. })));
    }

    #[test]
    fn absurd_ratio_is_refused() {
        let result = check_zip_bounds(&archive(100, 2_000_000, &[]), 50 << 20);
        assert_eq!(result, Err(FormatError::SuspiciousCompression));
    }

    #[test]
    fn zip64_sizes_are_read_from_the_extra_field() {
        let mut extra = Vec::new();
        extra.extend_from_slice(&ZIP64_EXTRA_FIELD_ID.to_le_bytes());
        extra.extend_from_slice(&16u16.to_le_bytes());
        extra.extend_from_slice(&(8u64 << 30).to_le_bytes());
        extra.extend_from_slice(&(1u64 << 30).to_le_bytes());
        let result = check_zip_bounds(&archive(u32::MAX, u32::MAX, &extra), 50 << 20);
        assert!(matches!(result, Err(FormatError::XlsxTooLarge { .. })));
    }

    #[test]
    fn truncated_archives_are_corrupt_not_panics() {
        let whole = archive(1000, 20_000, &[]);
        for cut in 0..whole.len() {
            let result = check_zip_bounds(&whole[..cut], 1 << 20);
            assert!(
                matches!(result, Err(FormatError::CorruptXlsx { .. })),
                "cut {cut}"
            );
        }
    }
}
