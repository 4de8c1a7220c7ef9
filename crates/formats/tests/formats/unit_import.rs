//! The unit-registry import as users feed it: CSV in every encoding offices produce, Excel
//! workbooks, files with mistakes, and files made to hurt.

use parindex_formats::{
    DetectedEncoding, FormatError, ImportLimits, RawUnitRow, UnitImportParse, decode_text,
    parse_unit_import,
};
use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
use time::macros::date;

fn parse(bytes: &[u8]) -> Result<UnitImportParse, FormatError> {
    parse_unit_import(bytes, &ImportLimits::default())
}

fn parse_ok(bytes: &[u8]) -> UnitImportParse {
    match parse(bytes) {
        Ok(parsed) => parsed,
        Err(error) => panic!("expected the file to parse, got: {error}"),
    }
}

const SAMPLE: &str = "Mã đơn vị,Tên đơn vị,Nhóm,Đơn vị cha,Hiệu lực từ,Hiệu lực đến\n\
STP,Sở Tư pháp,so,,01/01/2024,\n\
h-eakar,\"Huyện Ea Kar, Đắk Lắk\",HUYEN,,2024-01-15,31/12/2025\n";

fn assert_sample(parsed: &UnitImportParse) {
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(
        parsed.rows,
        vec![
            RawUnitRow {
                line: 2,
                code: "STP".into(),
                name_vi: "Sở Tư pháp".into(),
                name_en: None,
                group_code: "SO".into(),
                parent_code: None,
                valid_from: Some(date!(2024 - 01 - 01)),
                valid_to: None,
                successor_code: None,
            },
            RawUnitRow {
                line: 3,
                code: "H-EAKAR".into(),
                name_vi: "Huyện Ea Kar, Đắk Lắk".into(),
                name_en: None,
                group_code: "HUYEN".into(),
                parent_code: None,
                valid_from: Some(date!(2024 - 01 - 15)),
                valid_to: Some(date!(2025 - 12 - 31)),
                successor_code: None,
            },
        ]
    );
}

#[test]
fn utf8_csv() {
    let parsed = parse_ok(SAMPLE.as_bytes());
    assert_eq!(parsed.encoding, Some(DetectedEncoding::Utf8));
    assert_sample(&parsed);
}

#[test]
fn utf8_csv_with_bom() {
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(SAMPLE.as_bytes());
    let parsed = parse_ok(&bytes);
    assert_eq!(parsed.encoding, Some(DetectedEncoding::Utf8Bom));
    assert_sample(&parsed);
}

#[test]
fn utf16_le_csv_with_bom() {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(SAMPLE.encode_utf16().flat_map(u16::to_le_bytes));
    let parsed = parse_ok(&bytes);
    assert_eq!(parsed.encoding, Some(DetectedEncoding::Utf16Le));
    assert_sample(&parsed);
}

#[test]
fn windows_1258_text_is_decoded_and_composed() {
    let original = "Sở Tư pháp, Huyện Ea Kar, Đắk Lắk";
    // Windows-1258 has no "ở", "ệ" or "ắ": Windows writes the letter and a combining tone,
    // and encoding_rs's encoder does not decompose by itself.
    let decomposed = "S\u{01A1}\u{0309} T\u{01B0} pha\u{0301}p, Huy\u{00EA}\u{0323}n Ea Kar, \
                      \u{0110}\u{0103}\u{0301}k L\u{0103}\u{0301}k";
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_1258.encode(decomposed);
    assert!(
        !had_errors,
        "the test text must be representable in Windows-1258"
    );
    assert!(std::str::from_utf8(&bytes).is_err());

    let (text, encoding) = decode_text(&bytes).unwrap();
    assert_eq!(encoding, DetectedEncoding::Windows1258);
    assert_eq!(text, original);
    assert_eq!(
        encoding.label_vi(),
        "Windows-1258 (bảng mã tiếng Việt của Windows)"
    );
}

#[test]
fn windows_1258_csv() {
    let csv = "Ma\u{0303} \u{0111}\u{01A1}n vi\u{0323};T\u{00EA}n \u{0111}\u{01A1}n vi\u{0323};Nho\u{0301}m\n\
               STP;S\u{01A1}\u{0309} T\u{01B0} pha\u{0301}p;SO\n";
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_1258.encode(csv);
    assert!(!had_errors);
    let parsed = parse_ok(&bytes);
    assert_eq!(parsed.encoding, Some(DetectedEncoding::Windows1258));
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.rows[0].name_vi, "Sở Tư pháp");
}

#[test]
fn semicolon_delimiter_and_unaccented_headers() {
    let csv = "Ma don vi;TEN DON VI;nhom;Ten tieng Anh;Don vi cha;Tu ngay;Den ngay;Don vi ke thua\n\
               stp;Sở Tư pháp;SO;Department of Justice;UBND;1/2/2024;;\n\
               xa-a;Xã A;XA;;H-EAKAR;01/01/2020;30/06/2025;XA-B\n";
    let parsed = parse_ok(csv.as_bytes());
    assert_eq!(parsed.problems, vec![]);
    assert_eq!(parsed.rows.len(), 2);
    let stp = &parsed.rows[0];
    assert_eq!(stp.code, "STP");
    assert_eq!(stp.name_en.as_deref(), Some("Department of Justice"));
    assert_eq!(stp.parent_code.as_deref(), Some("UBND"));
    assert_eq!(stp.valid_from, Some(date!(2024 - 02 - 01)));
    let xa = &parsed.rows[1];
    assert_eq!(xa.successor_code.as_deref(), Some("XA-B"));
    assert_eq!(xa.valid_to, Some(date!(2025 - 06 - 30)));
}

#[test]
fn english_headers_title_row_unknown_columns_and_blank_lines() {
    let csv = "DANH SÁCH ĐƠN VỊ NĂM 2024\n\
               \n\
               Note,code,name,group,valid_from\n\
               ghi chú,STP,Sở Tư pháp,SO,2024-01-01\n\
               ,,,,\n\
               \n\
               ,XA-A,\"Xã A\nthôn 1\",XA,\n\
               chỉ ghi chú,,,,\n";
    let parsed = parse_ok(csv.as_bytes());
    assert_eq!(parsed.problems, vec![]);
    let lines: Vec<(usize, &str)> = parsed
        .rows
        .iter()
        .map(|row| (row.line, row.code.as_str()))
        .collect();
    assert_eq!(lines, vec![(4, "STP"), (7, "XA-A")]);
    assert_eq!(parsed.rows[1].name_vi, "Xã A thôn 1");
}

#[test]
fn line_numbers_survive_crlf_blank_lines_and_quoted_newlines() {
    let csv =
        "code,name,group\r\n\r\n\r\nA1,\"Tên\r\nhai dòng\",XA\r\n\r\nB2,Tên B,XA\r\nC3,Tên C,\r\n";
    let parsed = parse_ok(csv.as_bytes());
    let lines: Vec<usize> = parsed.rows.iter().map(|row| row.line).collect();
    assert_eq!(lines, vec![4, 7]);
    assert_eq!(parsed.problems[0].line, 8);
}

#[test]
fn missing_required_column_names_it_in_vietnamese() {
    let error = parse("Mã đơn vị,Tên đơn vị\nSTP,Sở Tư pháp\n".as_bytes()).unwrap_err();
    assert_eq!(
        error,
        FormatError::MissingColumns {
            columns: vec!["Nhóm"]
        }
    );
    assert_eq!(error.to_string(), "Thiếu cột bắt buộc: Nhóm");

    let error = parse("Mã,Tên,Nhóm,Mã nhóm\n".as_bytes()).unwrap_err();
    assert_eq!(error, FormatError::DuplicateColumn { column: "Nhóm" });

    assert_eq!(parse(b"\n\n  \n").unwrap_err(), FormatError::Empty);
    assert_eq!(parse(b"").unwrap_err(), FormatError::Empty);
}

#[test]
fn bad_rows_are_reported_by_line_and_left_out() {
    let csv = "Mã đơn vị,Tên đơn vị,Nhóm,Hiệu lực từ,Hiệu lực đến,Đơn vị cha\n\
               STP,Sở Tư pháp,SO,,,\n\
               SNV,,SO,,,\n\
               SYT,Sở Y tế,SO,31/02/2024,,\n\
               STP,Sở Tư pháp (trùng),SO,,,\n\
               S,Sở Một Chữ,SO,,,\n\
               SỞ,Sở Có Dấu,SO,,,\n\
               SXD,Sở Xây dựng,SO,01/01/2025,01/01/2024,\n\
               SGD,Sở Giáo dục,,,,SGD\n\
               SCT,Sở Công Thương,SO,01/01/2024,31/12/2024,UBND\n";
    let parsed = parse_ok(csv.as_bytes());
    let codes: Vec<(usize, &str)> = parsed
        .rows
        .iter()
        .map(|row| (row.line, row.code.as_str()))
        .collect();
    assert_eq!(codes, vec![(2, "STP"), (10, "SCT")]);

    let problems: Vec<(usize, Option<&str>, &str)> = parsed
        .problems
        .iter()
        .map(|p| (p.line, p.column.as_deref(), p.message.as_str()))
        .collect();
    assert_eq!(problems[0], (3, Some("Tên đơn vị"), "Chưa nhập Tên đơn vị"));
    assert_eq!(
        problems[1],
        (
            4,
            Some("Hiệu lực từ"),
            "Ngày không hợp lệ: '31/02/2024' (dùng dạng dd/mm/yyyy)"
        )
    );
    assert_eq!(
        problems[2],
        (5, Some("Mã đơn vị"), "Mã đơn vị 'STP' trùng với dòng 2")
    );
    assert_eq!(problems[3].0, 6);
    assert!(
        problems[3].2.starts_with("Mã đơn vị 'S' không hợp lệ."),
        "{}",
        problems[3].2
    );
    assert_eq!(problems[4].0, 7);
    assert!(problems[4].2.starts_with("Mã đơn vị 'SỞ' không hợp lệ."));
    assert_eq!(
        problems[5],
        (
            8,
            Some("Hiệu lực đến"),
            "Ngày hết hiệu lực 01/01/2024 trước ngày bắt đầu hiệu lực 01/01/2025"
        )
    );
    // Every problem of a row is reported at once.
    assert_eq!(problems[6], (9, Some("Nhóm"), "Chưa nhập Nhóm"));
    assert_eq!(
        problems[7],
        (
            9,
            Some("Đơn vị cha"),
            "Đơn vị không thể là đơn vị cha của chính nó"
        )
    );
    assert_eq!(problems.len(), 8);
}

fn sample_workbook() -> Vec<u8> {
    let mut workbook = Workbook::new();
    let date_format = Format::new().set_num_format("dd/mm/yyyy");
    let sheet = workbook.add_worksheet();
    let header = [
        "Mã đơn vị",
        "Tên đơn vị",
        "Nhóm",
        "Hiệu lực từ",
        "Hiệu lực đến",
        "Ghi chú",
    ];
    for (column, title) in header.iter().enumerate() {
        sheet.write_string(0, column as u16, *title).unwrap();
    }
    sheet.write_string(1, 0, "stp").unwrap();
    sheet.write_string(1, 1, "Sở Tư pháp").unwrap();
    sheet.write_string(1, 2, "SO").unwrap();
    sheet
        .write_datetime_with_format(
            1,
            3,
            ExcelDateTime::from_ymd(2024, 1, 15).unwrap(),
            &date_format,
        )
        .unwrap();
    sheet.write_string(1, 4, "31/12/2025").unwrap();
    // Row 3 left blank on purpose.
    sheet.write_number(3, 0, 1001).unwrap();
    sheet.write_string(3, 1, "Huyện Ea Kar").unwrap();
    sheet.write_string(3, 2, "HUYEN").unwrap();
    // An unformatted date is a bare serial number: 45306 is 15/01/2024.
    sheet.write_number(3, 3, 45306).unwrap();
    sheet.write_string(3, 5, "ghi chú").unwrap();
    sheet.write_string(4, 0, "XA").unwrap();
    sheet.write_string(4, 1, "Xã Một").unwrap();
    sheet.write_string(4, 2, "XA").unwrap();
    sheet.write_string(4, 3, "32/01/2024").unwrap();
    workbook.save_to_buffer().unwrap()
}

#[test]
fn xlsx_with_date_cells_and_text_dates() {
    let parsed = parse_ok(&sample_workbook());
    assert_eq!(parsed.encoding, None);
    assert_eq!(
        parsed.rows,
        vec![
            RawUnitRow {
                line: 2,
                code: "STP".into(),
                name_vi: "Sở Tư pháp".into(),
                name_en: None,
                group_code: "SO".into(),
                parent_code: None,
                valid_from: Some(date!(2024 - 01 - 15)),
                valid_to: Some(date!(2025 - 12 - 31)),
                successor_code: None,
            },
            RawUnitRow {
                line: 4,
                code: "1001".into(),
                name_vi: "Huyện Ea Kar".into(),
                name_en: None,
                group_code: "HUYEN".into(),
                parent_code: None,
                valid_from: Some(date!(2024 - 01 - 15)),
                valid_to: None,
                successor_code: None,
            },
        ]
    );
    assert_eq!(parsed.problems.len(), 1);
    assert_eq!(parsed.problems[0].line, 5);
    assert_eq!(
        parsed.problems[0].message,
        "Ngày không hợp lệ: '32/01/2024' (dùng dạng dd/mm/yyyy)"
    );
}

#[test]
fn xlsx_missing_column_and_too_many_rows() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "code").unwrap();
    sheet.write_string(0, 1, "name").unwrap();
    let bytes = workbook.save_to_buffer().unwrap();
    assert_eq!(
        parse(&bytes).unwrap_err().to_string(),
        "Thiếu cột bắt buộc: Nhóm"
    );

    // Three data rows (one with a problem; it still counts), a blank row that does not.
    let limits = ImportLimits {
        max_rows: 3,
        ..ImportLimits::default()
    };
    assert!(parse_unit_import(&sample_workbook(), &limits).is_ok());
    let limits = ImportLimits {
        max_rows: 2,
        ..ImportLimits::default()
    };
    assert_eq!(
        parse_unit_import(&sample_workbook(), &limits).unwrap_err(),
        FormatError::TooManyRows { max_rows: 2 }
    );
}

#[test]
fn too_many_rows_or_bytes_are_refused() {
    let mut csv = String::from("code,name,group\n");
    for i in 0..5001 {
        csv.push_str(&format!("U{i:05},Đơn vị {i},XA\n"));
    }
    let error = parse(csv.as_bytes()).unwrap_err();
    assert_eq!(error, FormatError::TooManyRows { max_rows: 5000 });
    assert!(error.to_string().contains("tối đa 5000 dòng"));

    let limits = ImportLimits {
        max_bytes: 1024 * 1024,
        ..ImportLimits::default()
    };
    let big = vec![b'a'; 1024 * 1024 + 1];
    let error = parse_unit_import(&big, &limits).unwrap_err();
    assert_eq!(error.to_string(), "Tệp quá lớn: tối đa 1 MB");
}

/// A ZIP archive written by hand, one stored entry, with whatever sizes its central directory
/// should claim (a zip bomb claims gigabytes in a few bytes).
fn hand_made_zip(
    name: &str,
    data: &[u8],
    declared_compressed: u32,
    declared_uncompressed: u32,
) -> Vec<u8> {
    let mut zip = Vec::new();
    let header_fields = |zip: &mut Vec<u8>| {
        zip.extend_from_slice(&[20, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // version, flags, stored, time, date
        zip.extend_from_slice(&0u32.to_le_bytes()); // crc-32 (never checked: refused first)
        zip.extend_from_slice(&declared_compressed.to_le_bytes());
        zip.extend_from_slice(&declared_uncompressed.to_le_bytes());
        zip.extend_from_slice(&(name.len() as u16).to_le_bytes());
        zip.extend_from_slice(&0u16.to_le_bytes()); // extra field length
    };
    zip.extend_from_slice(b"PK\x03\x04");
    header_fields(&mut zip);
    zip.extend_from_slice(name.as_bytes());
    zip.extend_from_slice(data);

    let directory_offset = zip.len() as u32;
    zip.extend_from_slice(b"PK\x01\x02");
    zip.extend_from_slice(&[20, 0]); // version made by
    header_fields(&mut zip);
    zip.extend_from_slice(&[0; 10]); // comment length, disk, attributes
    zip.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    zip.extend_from_slice(name.as_bytes());
    let directory_size = zip.len() as u32 - directory_offset;

    zip.extend_from_slice(b"PK\x05\x06");
    zip.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    zip.extend_from_slice(&directory_size.to_le_bytes());
    zip.extend_from_slice(&directory_offset.to_le_bytes());
    zip.extend_from_slice(&[0, 0]);
    zip
}

#[test]
fn zip_bombs_are_refused_before_decompression() {
    let declares_4_gib = hand_made_zip("xl/sharedStrings.xml", &[0; 64], 64, 0xFFFF_FFF0);
    let error = parse(&declares_4_gib).unwrap_err();
    assert!(
        matches!(error, FormatError::XlsxTooLarge { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("tối đa 50 MB"));

    // Under the total limit, but 40 MiB from 4 KiB is no spreadsheet.
    let absurd_ratio = hand_made_zip("xl/worksheets/sheet1.xml", &[0; 4096], 4096, 40 << 20);
    assert_eq!(
        parse(&absurd_ratio).unwrap_err(),
        FormatError::SuspiciousCompression
    );
}

#[test]
fn other_zips_and_legacy_excel_are_refused_cleanly() {
    let text = b"hello";
    let not_a_workbook = hand_made_zip("hello.txt", text, 5, 5);
    assert!(matches!(
        parse(&not_a_workbook).unwrap_err(),
        FormatError::CorruptXlsx { .. }
    ));

    let mut xls = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    xls.extend_from_slice(&[0; 504]);
    assert_eq!(parse(&xls).unwrap_err(), FormatError::LegacyXls);
}

/// A small deterministic generator, so that a failure can be replayed.
fn pseudo_random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as u8
        })
        .collect()
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for seed in 0..50 {
        let bytes = pseudo_random_bytes(seed, 64 + seed as usize * 97);
        assert!(parse(&bytes).is_err(), "seed {seed}");
    }
    let error = parse(&pseudo_random_bytes(7, 4096)).unwrap_err();
    assert_eq!(error, FormatError::UnsupportedFormat);
    assert_eq!(
        error.to_string(),
        "Tệp không đúng định dạng CSV hoặc Excel (.xlsx)"
    );

    // Garbage behind the ZIP signature, and workbooks cut short or with bytes flipped.
    let mut fake_zip = b"PK\x03\x04".to_vec();
    fake_zip.extend(pseudo_random_bytes(1, 2000));
    assert!(parse(&fake_zip).is_err());

    let workbook = sample_workbook();
    for cut in (0..workbook.len()).step_by(workbook.len() / 40 + 1) {
        assert!(parse(&workbook[..cut]).is_err(), "cut at {cut}");
    }
    for (i, position) in (4..workbook.len())
        .step_by(workbook.len() / 30 + 1)
        .enumerate()
    {
        let mut damaged = workbook.clone();
        for (offset, byte) in pseudo_random_bytes(i as u64, 16).into_iter().enumerate() {
            if let Some(target) = damaged.get_mut(position + offset) {
                *target ^= byte | 1;
            }
        }
        // Some damage is harmless (a timestamp); what matters is that nothing panics.
        let _ = parse(&damaged);
    }
}
