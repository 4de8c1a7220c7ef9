//! Index-set files as the secretariat and the open internet bring them: the shipped sets,
//! lossless YAML and Excel round trips, and malformed or hostile files.

use std::time::{Duration, Instant};

use parindex_domain::index_set::{AdjustmentDoc, AdjustmentKind, FORMAT, IndexSetDoc, NodeDoc};
use parindex_domain::rules::{
    CountTier, FormulaVariable, LeafInput, PercentTier, RuleKind, RuleSpec, ZeroOfZero,
};
use parindex_domain::{IndexSet, Points};
use parindex_formats::{
    FormatError, parse_index_set_file, parse_index_set_xlsx, parse_index_set_yaml,
    write_index_set_xlsx, write_index_set_yaml,
};
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_xlsxwriter::Workbook;

const SO: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/index-sets/minh-hoa-2021-so.yaml"
));
const HUYEN: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../data/index-sets/minh-hoa-2021-huyen.yaml"
));

fn parse_ok(bytes: &[u8]) -> IndexSetDoc {
    match parse_index_set_yaml(bytes) {
        Ok(doc) => doc,
        Err(error) => panic!("expected the file to parse, got: {error}"),
    }
}

fn yaml_error(text: &str) -> FormatError {
    match parse_index_set_yaml(text.as_bytes()) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(error) => error,
    }
}

fn xlsx_error(bytes: &[u8]) -> FormatError {
    match parse_index_set_xlsx(bytes) {
        Ok(_) => panic!("expected the workbook to be refused"),
        Err(error) => error,
    }
}

// -------------------------------------------------------------------------------------
// The shipped sets
// -------------------------------------------------------------------------------------

fn check_shipped(bytes: &[u8], code: &str, levels: [usize; 3]) {
    let doc = parse_ok(bytes);
    assert_eq!(doc.code, code);
    assert!(doc.illustrative, "{code} must be marked illustrative");
    let set = match IndexSet::from_doc(&doc, None) {
        Ok(set) => set,
        Err(report) => panic!("{code} does not validate: {report}"),
    };
    let summary = set.summary();
    assert_eq!(summary.counts_per_level, levels.to_vec(), "{code}");
    assert_eq!(summary.appraised_total, Points::from_int(75), "{code}");
    assert_eq!(summary.survey_total, Points::from_int(25), "{code}");
    assert_eq!(summary.scale, Points::from_int(100), "{code}");
    for kind in RuleKind::ALL {
        assert!(
            summary.leaves_by_kind.get(&kind).copied().unwrap_or(0) > 0,
            "{code} uses no {} rule",
            kind.code()
        );
    }
    assert!(summary.bonus_items >= 1, "{code} has no bonus item");
    assert!(summary.penalty_items >= 1, "{code} has no penalty item");
    let expected = format!(
        "{} lĩnh vực / {} tiêu chí / {} tiêu chí thành phần; 75 + 25 = 100 điểm",
        levels[0], levels[1], levels[2]
    );
    assert_eq!(summary.to_string(), expected);

    // The 8 domains of shared/DOMAIN.md §2, in order.
    let domains: Vec<&str> = set.domains().map(|d| d.title.as_str()).collect();
    assert_eq!(domains, DOMAIN_TITLES, "{code}");
    // Some leaves may be declared not applicable, each with a reason.
    let na = set.leaves().filter(|l| l.not_applicable_allowed).count();
    assert!(na >= 1, "{code}: no leaf allows «không áp dụng»");
    let reason = LeafInput::NotApplicable {
        reason: "Đơn vị không có nhiệm vụ này".into(),
    };
    for leaf in set.leaves().filter(|l| l.not_applicable_allowed) {
        let score = set.evaluate(&leaf.code, &reason).unwrap();
        assert_eq!(score.points, None, "{code} {}", leaf.code);
    }
    // Every formula leaf can be scored by a unit with nothing to count (all variables 0):
    // a divisor is guarded, never a division-by-zero error.
    let formulas: Vec<_> = set
        .leaves()
        .filter(|l| l.kind() == Some(RuleKind::Formula))
        .collect();
    assert!(!formulas.is_empty());
    for leaf in formulas {
        let Some(RuleSpec::Formula { variables, .. }) = &leaf.rule else {
            unreachable!()
        };
        let zeros = LeafInput::Variables(
            variables
                .iter()
                .map(|v| (v.name.clone(), Decimal::ZERO))
                .collect(),
        );
        let score = set
            .evaluate(&leaf.code, &zeros)
            .unwrap_or_else(|e| panic!("{code} {}: {e}", leaf.code));
        assert_eq!(score.points, Some(leaf.max), "{code} {}", leaf.code);
    }
}

/// shared/DOMAIN.md §2: the 8 domains of Decision 2450/QĐ-UBND, in both shipped sets.
const DOMAIN_TITLES: [&str; 8] = [
    "Công tác chỉ đạo, điều hành cải cách hành chính",
    "Cải cách thể chế",
    "Cải cách thủ tục hành chính",
    "Cải cách tổ chức bộ máy hành chính nhà nước",
    "Cải cách chế độ công vụ",
    "Cải cách tài chính công",
    "Xây dựng và phát triển chính quyền điện tử, chính quyền số",
    "Tác động của cải cách hành chính",
];

#[test]
fn the_shipped_digitisation_leaves_score_by_the_ratio_and_in_full_without_dossiers() {
    for (bytes, leaf) in [(SO, "3.5.4"), (HUYEN, "3.7.4")] {
        let set = IndexSet::from_doc(&parse_ok(bytes), None).unwrap();
        let vars = |a: i64, b: i64| {
            LeafInput::Variables(
                [
                    ("a".to_owned(), Decimal::from(a)),
                    ("b".to_owned(), Decimal::from(b)),
                ]
                .into_iter()
                .collect(),
            )
        };
        let score = |a, b| set.evaluate(leaf, &vars(a, b)).unwrap().points.unwrap();
        assert_eq!(score(0, 0), Points::from_int(1), "{leaf}");
        assert_eq!(score(3, 4), Points::parse("0,75").unwrap(), "{leaf}");
        assert_eq!(score(0, 4), Points::ZERO, "{leaf}");
    }
}

#[test]
fn shipped_department_set_is_8_38_85_with_75_plus_25() {
    check_shipped(SO, "MH-2021-SO", [8, 38, 85]);
}

#[test]
fn shipped_district_set_is_8_44_94_with_75_plus_25() {
    check_shipped(HUYEN, "MH-2021-HUYEN", [8, 44, 94]);
}

#[test]
fn yaml_round_trip_of_the_shipped_sets_is_lossless() {
    for bytes in [SO, HUYEN] {
        let doc = parse_ok(bytes);
        let yaml = write_index_set_yaml(&doc).unwrap();
        assert!(yaml.starts_with(&format!("# parindex index set — {}\n", doc.code)));
        assert!(yaml.contains("# BỘ CHỈ SỐ MINH HỌA — không phải nội dung chính thức\n"));
        let back = parse_ok(yaml.as_bytes());
        assert_eq!(back, doc);
        // Canonical: writing again gives the same text.
        assert_eq!(write_index_set_yaml(&back).unwrap(), yaml);
        // The stored form (JSON) says the same.
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&doc).unwrap()
        );
    }
}

#[test]
fn excel_round_trip_of_the_shipped_sets_is_lossless() {
    for bytes in [SO, HUYEN] {
        let doc = parse_ok(bytes);
        let xlsx = write_index_set_xlsx(&doc).unwrap();
        let back = parse_index_set_xlsx(&xlsx).unwrap();
        assert_eq!(back, doc);
        // And the detection by content picks the right reader for each.
        assert_eq!(parse_index_set_file(&xlsx).unwrap(), doc);
        assert_eq!(parse_index_set_file(bytes).unwrap(), doc);
        // YAML → Excel → YAML gives back the same file.
        assert_eq!(
            write_index_set_yaml(&back).unwrap(),
            write_index_set_yaml(&doc).unwrap()
        );
    }
}

#[test]
fn a_non_illustrative_set_has_no_warning_header() {
    let mut doc = parse_ok(SO);
    doc.illustrative = false;
    let yaml = write_index_set_yaml(&doc).unwrap();
    assert!(!yaml.contains("MINH HỌA —"));
    assert!(!yaml.contains("illustrative:"));
    assert_eq!(parse_ok(yaml.as_bytes()), doc);
    assert_eq!(
        parse_index_set_xlsx(&write_index_set_xlsx(&doc).unwrap()).unwrap(),
        doc
    );
}

#[test]
fn a_code_with_a_newline_cannot_escape_the_comment_header() {
    let mut doc = parse_ok(SO);
    doc.code = "X\nnodes: 5".to_owned();
    let yaml = write_index_set_yaml(&doc).unwrap();
    assert!(yaml.starts_with("# parindex index set — X nodes: 5\n"));
    assert_eq!(parse_ok(yaml.as_bytes()), doc);
}

// -------------------------------------------------------------------------------------
// Random documents round-trip through YAML and Excel
// -------------------------------------------------------------------------------------

/// Vietnamese-looking text with diacritics, punctuation that YAML cares about, and digits.
fn vn_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-zàáảãạăắằẳẵặâấầẩẫậđèéẻẽẹêếềểễệìíỉĩịòóỏõọôốồổỗộơớờởỡợùúủũụưứừửữựỳýỷỹỵĐƠƯ ]{1,30}",
        "[a-zA-Zđươăâêô0-9 ,.:;()%#&*!?\"'/\\-\\[\\]{}|>@`]{1,30}",
        Just("Kế hoạch cải cách hành chính năm".to_owned()),
        Just("true".to_owned()),
        Just("0,5".to_owned()),
        Just("- mục: một".to_owned()),
    ]
    .prop_filter("not blank", |text| !text.trim().is_empty())
}

/// Longer text, sometimes over several lines (methods and evidence are paragraphs).
fn vn_paragraph() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => vn_text(),
        1 => (vn_text(), vn_text()).prop_map(|(a, b)| format!("{a}\n{b}")),
    ]
}

/// Points with at most 3 decimals, negatives included (a valid-ish, not valid, document).
fn points() -> impl Strategy<Value = Points> {
    prop_oneof![
        (0i64..200).prop_map(Points::from_int),
        (-2_000i64..200_000).prop_map(Points::from_millipoints),
    ]
}

fn counted() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), vn_text()]
}

fn zero_of_zero() -> impl Strategy<Value = ZeroOfZero> {
    prop_oneof![Just(ZeroOfZero::Full), Just(ZeroOfZero::Zero)]
}

fn rule() -> impl Strategy<Value = RuleSpec> {
    prop_oneof![
        Just(RuleSpec::Binary),
        Just(RuleSpec::Survey),
        (
            counted(),
            prop::collection::vec((points(), points()), 0..4),
            zero_of_zero()
        )
            .prop_map(|(counted, tiers, zero_of_zero)| RuleSpec::TieredPercent {
                counted,
                tiers: tiers
                    .into_iter()
                    .map(|(min_percent, points)| PercentTier {
                        min_percent: min_percent.value(),
                        points,
                    })
                    .collect(),
                zero_of_zero,
            }),
        (counted(), zero_of_zero()).prop_map(|(counted, zero_of_zero)| {
            RuleSpec::Proportional {
                counted,
                zero_of_zero,
            }
        }),
        (counted(), points(), zero_of_zero()).prop_map(|(counted, floor, zero_of_zero)| {
            RuleSpec::ProportionalFloor {
                counted,
                floor_percent: floor.value(),
                zero_of_zero,
            }
        }),
        (
            counted(),
            prop::collection::vec((0u64..1000, points()), 0..4)
        )
            .prop_map(|(counted, tiers)| RuleSpec::CountTiered {
                counted,
                tiers: tiers
                    .into_iter()
                    .map(|(max_count, points)| CountTier { max_count, points })
                    .collect(),
            }),
        (counted(), points(), points()).prop_map(|(counted, start, per_violation)| {
            RuleSpec::Deduction {
                counted,
                start,
                per_violation,
            }
        }),
        (
            prop::collection::vec(("[a-z][a-z0-9_]{0,5}", counted()), 0..3),
            "[a-z0-9 +*/()<=>,.×÷-]{0,30}"
        )
            .prop_map(|(variables, expression)| RuleSpec::Formula {
                variables: variables
                    .into_iter()
                    .map(|(name, label)| FormulaVariable { name, label })
                    .collect(),
                expression,
            }),
        counted().prop_map(|provider| RuleSpec::External { provider }),
    ]
}

/// The parts of a node other than its code and children.
#[derive(Debug, Clone)]
struct NodeParts {
    title: String,
    title_en: Option<String>,
    max: Points,
    sum_exempt: bool,
    method: Option<String>,
    evidence: Option<String>,
    applies_to: Vec<String>,
    not_applicable_allowed: bool,
    rule: RuleSpec,
}

fn node_parts() -> impl Strategy<Value = NodeParts> {
    (
        (
            vn_text(),
            prop::option::of(vn_text()),
            points(),
            any::<bool>(),
        ),
        (
            prop::option::of(vn_paragraph()),
            prop::option::of(vn_paragraph()),
            prop::collection::vec("[A-Z]{2,6}", 0..3),
            any::<bool>(),
            rule(),
        ),
    )
        .prop_map(
            |(
                (title, title_en, max, sum_exempt),
                (method, evidence, applies_to, not_applicable_allowed, rule),
            )| NodeParts {
                title,
                title_en,
                max,
                sum_exempt,
                method,
                evidence,
                applies_to,
                not_applicable_allowed,
                rule,
            },
        )
}

/// A tree of at most three levels: each part is used by one node in tree order; `shape`
/// says how many children each domain and criterion has.
fn build_nodes(shape: &[Vec<usize>], parts: &[NodeParts]) -> Vec<NodeDoc> {
    let mut parts = parts.iter().cycle();
    let mut node = |code: String, is_leaf: bool| {
        let p = parts.next().expect("parts are cycled").clone();
        let mut node = NodeDoc::new(code, p.title, p.max);
        node.title_en = p.title_en;
        node.sum_exempt = p.sum_exempt;
        node.evidence = p.evidence;
        node.applies_to = p.applies_to;
        node.method = p.method;
        if is_leaf {
            node.not_applicable_allowed = p.not_applicable_allowed;
            node.rule = Some(p.rule);
        }
        node
    };
    let mut domains = Vec::new();
    for (d, criteria) in shape.iter().enumerate() {
        let code = format!("{}", d + 1);
        let mut domain = node(code.clone(), criteria.is_empty());
        for (c, &subs) in criteria.iter().enumerate() {
            let code = format!("{code}.{}", c + 1);
            let mut criterion = node(code.clone(), subs == 0);
            for s in 0..subs {
                criterion
                    .children
                    .push(node(format!("{code}.{}", s + 1), true));
            }
            domain.children.push(criterion);
        }
        domains.push(domain);
    }
    domains
}

fn adjustment() -> impl Strategy<Value = (bool, String, Points, Option<String>)> {
    (
        any::<bool>(),
        vn_text(),
        points(),
        prop::option::of(vn_paragraph()),
    )
}

prop_compose! {
    fn document()(
        code in "[A-Z][A-Z0-9_.-]{1,12}",
        title in vn_text(),
        title_en in prop::option::of(vn_text()),
        year in 2000i32..2100,
        unit_group in "[A-Z]{2,6}",
        illustrative in any::<bool>(),
        source_document in prop::option::of(vn_paragraph()),
        totals in (points(), points(), points(), points(), points()),
        shape in prop::collection::vec(prop::collection::vec(0usize..4, 0..4), 0..4),
        parts in prop::collection::vec(node_parts(), 1..8),
        adjustments in prop::collection::vec(adjustment(), 0..4),
    ) -> IndexSetDoc {
        let (scale, appraised_max, survey_max, bonus_cap, penalty_cap) = totals;
        IndexSetDoc {
            format: FORMAT.to_owned(),
            code,
            title,
            title_en,
            year,
            unit_group,
            illustrative,
            source_document,
            scale,
            appraised_max,
            survey_max,
            bonus_cap,
            penalty_cap,
            nodes: build_nodes(&shape, &parts),
            adjustments: adjustments
                .into_iter()
                .enumerate()
                .map(|(i, (bonus, title, max, method))| AdjustmentDoc {
                    code: format!("{}{}", if bonus { "T" } else { "P" }, i + 1),
                    kind: if bonus { AdjustmentKind::Bonus } else { AdjustmentKind::Penalty },
                    title,
                    max,
                    method,
                })
                .collect(),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn random_documents_round_trip_through_yaml(doc in document()) {
        let yaml = write_index_set_yaml(&doc).unwrap();
        let back = parse_index_set_yaml(yaml.as_bytes());
        prop_assert_eq!(back.as_ref(), Ok(&doc), "YAML:\n{}", yaml);
    }

    #[test]
    fn random_documents_round_trip_through_excel(doc in document()) {
        let xlsx = write_index_set_xlsx(&doc).unwrap();
        let back = parse_index_set_xlsx(&xlsx);
        prop_assert_eq!(back.as_ref(), Ok(&doc));
    }
}

// -------------------------------------------------------------------------------------
// Malformed YAML: clear messages with a position and the field's name
// -------------------------------------------------------------------------------------

fn so_with(from: &str, to: &str) -> String {
    let text = std::str::from_utf8(SO).unwrap();
    assert!(text.contains(from), "the sample has no «{from}»");
    text.replacen(from, to, 1)
}

fn assert_invalid_yaml(error: &FormatError, line: usize, words: &[&str]) {
    match error {
        FormatError::InvalidYaml { line: Some(at), .. } => assert_eq!(*at, line, "{error}"),
        other => panic!("expected InvalidYaml at line {line}, got {other:?}"),
    }
    let message = error.to_string();
    assert!(
        message.starts_with("Tệp YAML không hợp lệ (dòng "),
        "{message}"
    );
    for word in words {
        assert!(message.contains(word), "«{word}» missing from: {message}");
    }
}

#[test]
fn unclosed_quote() {
    let error = yaml_error("format: parindex-index-set/1\ncode: \"MH-2021\ntitle: x\n");
    assert_invalid_yaml(&error, 2, &["dấu nháy chưa được đóng"]);
}

#[test]
fn bad_indentation() {
    let error = yaml_error("format: parindex-index-set/1\ncode: MH\n  title: x\n year: 2021\n");
    assert_invalid_yaml(&error, 3, &["sai cú pháp YAML"]);
}

#[test]
fn text_where_points_are_expected_names_the_field() {
    let error = yaml_error(&so_with("max: 8.5", "max: nhiều"));
    assert_invalid_yaml(&error, 27, &["trường «max»", "«nhiều»", "số thập phân"]);
    assert_eq!(
        error.to_string(),
        "Tệp YAML không hợp lệ (dòng 27, cột 10): trường «max»: «nhiều» không phải là số thập \
         phân hợp lệ (ví dụ 0,5 hoặc 1.25)"
    );
}

#[test]
fn a_bad_value_inside_a_rule_is_found_at_its_own_line() {
    let error = yaml_error(&so_with(
        "{ min_percent: 100, points: 1 }",
        "{ min_percent: 100, points: abc }",
    ));
    assert_invalid_yaml(&error, 49, &["trường «points»", "«abc»"]);
}

#[test]
fn wrong_types_are_named() {
    let minimal = "format: parindex-index-set/1\ncode: MH\ntitle: t\nyear: 2021\nunit_group: SO\n\
                   scale: 1\nappraised_max: 1\nsurvey_max: 0\nnodes: 5\n";
    let error = yaml_error(minimal);
    assert_invalid_yaml(&error, 9, &["trường «nodes»", "«5»", "cần một danh sách"]);

    let error = yaml_error(&so_with("year: 2021", "year: hai nghìn"));
    assert_invalid_yaml(&error, 14, &["trường «year»", "cần một số nguyên"]);

    let error = yaml_error(&so_with("illustrative: true", "illustrative: có"));
    assert_invalid_yaml(&error, 16, &["trường «illustrative»", "true hoặc false"]);

    let error = yaml_error(&so_with("kind: binary", "kind: binarx"));
    assert_invalid_yaml(&error, 39, &["«binarx» không hợp lệ", "tiered_percent"]);
}

#[test]
fn missing_unknown_and_duplicate_fields_are_named() {
    let error = yaml_error("format: parindex-index-set/1\ncode: MH\n");
    assert!(
        error.to_string().contains("thiếu trường bắt buộc «title»"),
        "{error}"
    );

    let error = yaml_error(&so_with(
        "title_en: \"PAR Index for",
        "titel: \"PAR Index for",
    ));
    assert_invalid_yaml(&error, 13, &["trường «titel» không có", "title_en"]);

    let error = yaml_error(&so_with("year: 2021", "year: 2021\nyear: 2022"));
    assert_invalid_yaml(&error, 15, &["khóa «year» xuất hiện hai lần"]);

    let error = yaml_error(&so_with(
        "{ min_percent: 100, points: 1 }",
        "{ min_percent: 100 }",
    ));
    assert!(
        error.to_string().contains("thiếu trường bắt buộc «points»"),
        "{error}"
    );
}

#[test]
fn not_utf8_empty_and_too_large() {
    let mut bytes = b"format: parindex-index-set/1\ncode: MH\ntitle: ".to_vec();
    bytes.extend_from_slice(&[0xC0, 0xAF, b'\n']);
    assert_eq!(
        parse_index_set_yaml(&bytes).unwrap_err(),
        FormatError::NotUtf8 { line: 3 }
    );
    assert!(matches!(
        parse_index_set_yaml(b"  \n\n").unwrap_err(),
        FormatError::InvalidYaml { .. }
    ));
    // A byte-order mark is fine.
    let mut with_bom = b"\xEF\xBB\xBF".to_vec();
    with_bom.extend_from_slice(SO);
    assert_eq!(parse_ok(&with_bom), parse_ok(SO));
}

// -------------------------------------------------------------------------------------
// Hostile YAML: refused within bounds, quickly, never a panic
// -------------------------------------------------------------------------------------

/// Runs `f` and checks that it finished within ten times `limit`. This is a guard against
/// runaway work (exponential parsing, a hang), not a performance target: speed is measured by
/// benchmarks. `limit` is what a debug build needs on an idle machine; the factor of ten keeps
/// a loaded 2-core CI machine, running every test binary's threads at once, from failing it.
fn within<T>(limit: Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let took = start.elapsed();
    let guard = limit * 10;
    assert!(took < guard, "took {took:?}, more than {guard:?}");
    out
}

const HEAD: &str = "format: parindex-index-set/1\ncode: MH\ntitle: t\nyear: 2021\n\
                    unit_group: SO\nscale: 1\nappraised_max: 1\nsurvey_max: 0\n";

#[test]
fn ten_thousand_levels_deep_is_refused_before_recursion() {
    // Flow style: every level a node whose children hold the next.
    let mut flow = format!("{HEAD}nodes: ");
    for level in 0..10_000 {
        flow.push_str(&format!(
            "[{{code: \"{level}\", title: t, max: 1, children: "
        ));
    }
    flow.push_str("[]");
    flow.push_str(&"}]".repeat(10_000));
    let error = within(Duration::from_secs(2), || yaml_error(&flow));
    assert!(
        matches!(error, FormatError::YamlTooComplex { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("lồng nhau quá"), "{error}");

    // Block style, as a hand-edited file would nest.
    let mut block = format!("{HEAD}nodes:\n");
    for level in 0..10_000 {
        let indent = " ".repeat(2 * level);
        block.push_str(&format!(
            "{indent}- code: \"{level}\"\n{indent}  title: t\n{indent}  max: 1\n{indent}  children:\n"
        ));
        if block.len() > 4_000_000 {
            break;
        }
    }
    let error = within(Duration::from_secs(2), || yaml_error(&block));
    assert!(
        matches!(error, FormatError::YamlTooComplex { .. }),
        "{error:?}"
    );

    // Plain nested lists at the top.
    let lists = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(matches!(
        within(Duration::from_secs(2), || yaml_error(&lists)),
        FormatError::YamlTooComplex { .. } | FormatError::InvalidYaml { .. }
    ));
}

#[test]
fn billion_laughs_is_refused() {
    // Ten levels of ten aliases each: 10^9 nodes once expanded, all of valid types.
    let mut bomb = format!("{HEAD}nodes:\n  - &a0 {{code: \"1\", title: lol, max: 1}}\n");
    for i in 1..10 {
        let previous = format!("*a{}", i - 1);
        let children = [previous.as_str(); 10].join(", ");
        bomb.push_str(&format!(
            "  - &a{i} {{code: \"1\", title: lol, max: 1, children: [{children}]}}\n"
        ));
    }
    let error = within(Duration::from_secs(2), || yaml_error(&bomb));
    assert!(
        matches!(error, FormatError::YamlTooComplex { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("bí danh"), "{error}");
}

#[test]
fn cycles_are_refused_with_a_clear_message() {
    // A YAML anchor whose alias sits inside itself would make the tree a cycle.
    let direct =
        format!("{HEAD}nodes:\n  - &a {{code: \"1\", title: t, max: 1, children: [*a]}}\n");
    // The same through a second anchor: 1 → 1.1 → 1.
    let indirect = format!(
        "{HEAD}nodes:\n  - &a {{code: \"1\", title: t, max: 1, children: \
         [&b {{code: \"1.1\", title: t, max: 1, children: [*a]}}]}}\n"
    );
    for text in [direct, indirect] {
        let error = within(Duration::from_millis(200), || yaml_error(&text));
        let message = error.to_string();
        assert!(
            matches!(
                error,
                FormatError::InvalidYaml { .. } | FormatError::YamlTooComplex { .. }
            ),
            "{error:?}"
        );
        assert!(
            message.contains("tự tham chiếu") && message.contains("vòng lặp"),
            "{message}"
        );
        assert!(!message.contains("recursive"), "no English left: {message}");
    }
    // Excel cannot express a cycle: a row's parent is not a column but follows from its code
    // (the parent of 1.2.3 is 1.2, index_set_xlsx.rs, `rsplit_once('.')`), and it must be a
    // row above it, so every parent comes strictly before its children. A child above its
    // parent is refused with its row number instead.
    let child_first = workbook(&[LEAF_1, DOMAIN], &INFO);
    let message = xlsx_error(&child_first).to_string();
    assert!(message.contains("nút cha trước nút con"), "{message}");
}

fn many_nodes_yaml(target_bytes: usize) -> String {
    let mut text = format!("{HEAD}nodes:\n");
    let mut i = 0u64;
    while text.len() < target_bytes {
        text.push_str(&format!("- {{code: \"{i}\", title: t, max: 1}}\n"));
        i += 1;
    }
    text
}

#[test]
fn a_million_nodes_is_refused_by_size() {
    let huge = within(Duration::from_secs(5), || {
        let mut text = format!("{HEAD}nodes:\n");
        for i in 0..1_000_000u64 {
            text.push_str("- {code: \"");
            text.push_str(&i.to_string());
            text.push_str("\", title: t, max: 1}\n");
        }
        text
    });
    assert!(huge.len() > 30_000_000);
    let error = within(Duration::from_millis(200), || {
        parse_index_set_yaml(huge.as_bytes()).unwrap_err()
    });
    assert_eq!(error, FormatError::TooLarge { max_bytes: 5 << 20 });
    assert_eq!(error.to_string(), "Tệp quá lớn: tối đa 5 MB");
}

#[test]
fn many_nodes_under_the_size_limit_are_refused_by_the_node_budget() {
    let text = many_nodes_yaml(4_900_000);
    assert!(text.len() <= 5 << 20);
    let error = within(Duration::from_secs(5), || yaml_error(&text));
    assert!(
        matches!(error, FormatError::YamlTooComplex { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("quá nhiều phần tử"), "{error}");
}

#[test]
fn a_deep_document_in_memory_is_refused_by_the_writers() {
    let mut doc = parse_ok(SO);
    let mut node = NodeDoc::new("1", "t", Points::from_int(1));
    for _ in 0..10_000 {
        let mut parent = NodeDoc::new("1", "t", Points::from_int(1));
        parent.children.push(node);
        node = parent;
    }
    doc.nodes = vec![node];
    assert_eq!(
        write_index_set_yaml(&doc).unwrap_err(),
        FormatError::TooDeep { max_depth: 16 }
    );
    assert_eq!(
        write_index_set_xlsx(&doc).unwrap_err(),
        FormatError::TooDeep { max_depth: 16 }
    );
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
fn random_bytes_are_an_error_not_a_panic() {
    for seed in 0..100 {
        let bytes = pseudo_random_bytes(seed, 16 + seed as usize * 53);
        assert!(parse_index_set_file(&bytes).is_err(), "seed {seed}");
        assert!(parse_index_set_xlsx(&bytes).is_err(), "seed {seed}");
    }
    // Random printable text is YAML-ish: still an error, never a panic.
    const YAML_ISH: &[u8] = b" -:{}[]\"'&*!|>#\nabc01.,";
    for seed in 0..100 {
        let text: String = pseudo_random_bytes(seed, 300)
            .into_iter()
            .map(|b| char::from(YAML_ISH[usize::from(b) % YAML_ISH.len()]))
            .collect();
        assert!(
            parse_index_set_yaml(text.as_bytes()).is_err(),
            "seed {seed}"
        );
    }
    let mut xls = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    xls.extend_from_slice(&[0; 504]);
    assert_eq!(
        parse_index_set_file(&xls).unwrap_err(),
        FormatError::LegacyXls
    );
}

// -------------------------------------------------------------------------------------
// Hostile and faulty Excel files
// -------------------------------------------------------------------------------------

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
fn xlsx_zip_bombs_are_refused_before_decompression() {
    let declares_4_gib = hand_made_zip("xl/sharedStrings.xml", &[0; 64], 64, 0xFFFF_FFF0);
    let error = within(Duration::from_millis(200), || xlsx_error(&declares_4_gib));
    assert!(
        matches!(error, FormatError::XlsxTooLarge { .. }),
        "{error:?}"
    );
    assert!(
        matches!(
            parse_index_set_file(&declares_4_gib),
            Err(FormatError::XlsxTooLarge { .. })
        ),
        "detection by content must reach the same guard"
    );

    let absurd_ratio = hand_made_zip("xl/worksheets/sheet1.xml", &[0; 4096], 4096, 40 << 20);
    assert_eq!(
        xlsx_error(&absurd_ratio),
        FormatError::SuspiciousCompression
    );
}

#[test]
fn corrupt_workbooks_are_errors_not_panics() {
    let xlsx = write_index_set_xlsx(&parse_ok(SO)).unwrap();
    // Cut short at many points.
    for cut in (0..xlsx.len()).step_by(xlsx.len() / 97 + 1) {
        assert!(parse_index_set_xlsx(&xlsx[..cut]).is_err(), "cut at {cut}");
    }
    // Bytes flipped here and there (the data, the directory, the end record).
    for seed in 0..60u64 {
        let mut damaged = xlsx.clone();
        for (i, byte) in pseudo_random_bytes(seed, 8).into_iter().enumerate() {
            let at = (seed as usize * 7919 + i * 104_729) % damaged.len();
            damaged[at] ^= byte | 1;
        }
        // Either refused or, if the damage missed everything that matters, read.
        let _ = parse_index_set_xlsx(&damaged);
    }
    // A ZIP that is not a workbook.
    let not_a_workbook = hand_made_zip("hello.txt", b"hello", 5, 5);
    assert!(matches!(
        xlsx_error(&not_a_workbook),
        FormatError::CorruptXlsx { .. }
    ));
    let mut fake = b"PK\x03\x04".to_vec();
    fake.extend(pseudo_random_bytes(3, 5000));
    assert!(parse_index_set_xlsx(&fake).is_err());
}

/// The `Thông tin` rows of a small valid set.
const INFO: [(&str, &str); 9] = [
    ("format", "parindex-index-set/1"),
    ("code", "TEST-2024"),
    ("title", "Bộ chỉ số thử"),
    ("year", "2024"),
    ("unit_group", "SO"),
    ("illustrative", "có"),
    ("scale", "1,5"),
    ("appraised_max", "1.5"),
    ("survey_max", "0"),
];

const HEADER: [&str; 11] = [
    "Mã",
    "Tên",
    "Tên tiếng Anh",
    "Điểm tối đa",
    "Loại quy tắc",
    "Tham số",
    "Cách chấm điểm",
    "Tài liệu kiểm chứng",
    "Áp dụng cho nhóm",
    "Được khai không áp dụng",
    "Không bắt buộc tổng",
];

/// A workbook made by hand, as a secretariat might: every cell text, in the given rows.
fn workbook(rows: &[&[&str]], info: &[(&str, &str)]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Bộ chỉ số").unwrap();
    for (r, row) in std::iter::once(&HEADER[..])
        .chain(rows.iter().copied())
        .enumerate()
    {
        for (c, value) in row.iter().enumerate() {
            if !value.is_empty() {
                sheet.write_string(r as u32, c as u16, *value).unwrap();
            }
        }
    }
    let sheet = workbook.add_worksheet();
    sheet.set_name("Thông tin").unwrap();
    for (r, (key, value)) in info.iter().enumerate() {
        sheet.write_string(r as u32, 0, *key).unwrap();
        sheet.write_string(r as u32, 1, *value).unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

const DOMAIN: &[&str] = &["1", "Lĩnh vực một", "", "1,5"];
const LEAF_1: &[&str] = &[
    "1.1",
    "Tiêu chí",
    "",
    "1",
    "binary",
    "",
    "Đạt: 1 điểm",
    "Báo cáo",
];
const LEAF_2: &[&str] = &[
    "1.2",
    "Tiêu chí hai",
    "",
    "0.5",
    "tiered_percent",
    "{counted: hồ sơ, tiers: [{min_percent: 100, points: \"0,5\"}]}",
    "Theo tỷ lệ",
    "Báo cáo",
    "SO, HUYEN",
    "x",
];
const BONUS: &[&str] = &["T1", "Sáng kiến", "", "1", "bonus", "", "Mỗi sáng kiến 0,5"];

#[test]
fn a_hand_made_workbook_reads_with_decimal_commas_and_text_cells() {
    let bytes = workbook(&[DOMAIN, LEAF_1, LEAF_2, BONUS], &INFO);
    let doc = parse_index_set_xlsx(&bytes).unwrap();
    assert_eq!(doc.code, "TEST-2024");
    assert!(doc.illustrative);
    assert_eq!(doc.year, 2024);
    assert_eq!(doc.scale, Points::parse("1.5").unwrap());
    assert_eq!(doc.bonus_cap, Points::ZERO);
    assert_eq!(doc.nodes.len(), 1);
    let domain = &doc.nodes[0];
    assert_eq!(domain.max, Points::parse("1,5").unwrap());
    assert_eq!(domain.children.len(), 2);
    let leaf = &domain.children[1];
    assert_eq!(leaf.applies_to, vec!["SO".to_owned(), "HUYEN".to_owned()]);
    assert!(leaf.not_applicable_allowed);
    assert_eq!(
        leaf.rule,
        Some(RuleSpec::TieredPercent {
            counted: "hồ sơ".to_owned(),
            tiers: vec![PercentTier {
                min_percent: Points::from_int(100).value(),
                points: Points::parse("0.5").unwrap(),
            }],
            zero_of_zero: ZeroOfZero::Full,
        })
    );
    assert_eq!(doc.adjustments.len(), 1);
    assert_eq!(doc.adjustments[0].kind, AdjustmentKind::Bonus);
    assert!(IndexSet::from_doc(&doc, None).is_ok());
}

fn sheet_problems(error: &FormatError) -> Vec<String> {
    match error {
        FormatError::SheetProblems { problems, .. } => {
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected row problems, got {other:?}"),
    }
}

#[test]
fn a_child_before_its_parent_is_refused_naming_the_row() {
    let bytes = workbook(&[LEAF_1, DOMAIN, LEAF_2], &INFO);
    let error = xlsx_error(&bytes);
    let problems = sheet_problems(&error);
    // Only the misplaced row: 1.2 comes after 1 and is fine.
    assert_eq!(problems.len(), 1, "{error}");
    assert!(
        problems[0].starts_with("Dòng 2, cột A: mã «1.1» nằm dưới «1»"),
        "{error}"
    );
    assert!(problems[0].contains("nút cha trước nút con"), "{error}");
    assert!(
        error
            .to_string()
            .starts_with("Trang tính 'Bộ chỉ số' có 1 lỗi"),
        "{error}"
    );
}

#[test]
fn a_duplicate_code_is_refused_naming_both_rows() {
    let bytes = workbook(&[DOMAIN, LEAF_1, LEAF_2, LEAF_1], &INFO);
    let error = xlsx_error(&bytes);
    assert_eq!(
        sheet_problems(&error),
        vec!["Dòng 5, cột A: mã «1.1» trùng với dòng 3".to_owned()]
    );
    assert_eq!(
        error.to_string(),
        "Trang tính 'Bộ chỉ số' có 1 lỗi cần sửa:\n- Dòng 5, cột A: mã «1.1» trùng với dòng 3"
    );
}

#[test]
fn a_node_under_a_missing_or_adjustment_parent_is_refused() {
    let orphan: &[&str] = &["2.1", "Mồ côi", "", "1", "binary", "", "m", "e"];
    let under_bonus: &[&str] = &["T1.1", "Dưới mục thưởng", "", "1", "binary", "", "m", "e"];
    let bytes = workbook(&[DOMAIN, LEAF_1, orphan, BONUS, under_bonus], &INFO);
    let problems = sheet_problems(&xlsx_error(&bytes));
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("Dòng 4, cột A: mã «2.1» nằm dưới «2»"));
    assert!(problems[1].starts_with("Dòng 6, cột A: mã «T1.1» nằm dưới «T1»"));
    assert!(problems[1].contains("điểm thưởng"));
}

#[test]
fn wrong_cells_are_all_reported_with_rows_and_columns() {
    let text_max: &[&str] = &["1.1", "Tiêu chí", "", "nhiều", "binary", "", "m", "e"];
    let garbage_params: &[&str] = &[
        "1.2",
        "Tiêu chí",
        "",
        "1",
        "tiered_percent",
        "{tiers: [{min_percent: 100, points: abc}",
        "m",
        "e",
    ];
    let unknown_kind: &[&str] = &["1.3", "Tiêu chí", "", "1", "thủ công", "", "m", "e"];
    let wrong_param: &[&str] = &[
        "1.4",
        "Tiêu chí",
        "",
        "1",
        "deduction",
        "{start: 1, per_violaton: 0.25}",
        "m",
        "e",
    ];
    let bad_flag: &[&str] = &[
        "1.5",
        "Tiêu chí",
        "",
        "1",
        "binary",
        "",
        "m",
        "e",
        "",
        "có lẽ",
    ];
    let params_on_parent: &[&str] = &["2", "Lĩnh vực", "", "1", "", "{counted: x}"];
    let bytes = workbook(
        &[
            DOMAIN,
            text_max,
            garbage_params,
            unknown_kind,
            wrong_param,
            bad_flag,
            params_on_parent,
        ],
        &INFO,
    );
    let error = xlsx_error(&bytes);
    let problems = sheet_problems(&error);
    assert_eq!(problems.len(), 6, "{error}");
    assert!(
        problems[0].starts_with("Dòng 3, cột D: điểm tối đa «nhiều» không phải là số thập phân"),
        "{error}"
    );
    assert!(
        problems[1].starts_with("Dòng 4, cột F: tham số không hợp lệ"),
        "{error}"
    );
    assert!(
        problems[2].starts_with("Dòng 5, cột E: loại quy tắc «thủ công» không hợp lệ"),
        "{error}"
    );
    assert!(
        problems[3].starts_with("Dòng 6, cột F: tham số không hợp lệ")
            && problems[3].contains("per_violaton"),
        "{error}"
    );
    assert!(
        problems[4].starts_with("Dòng 7, cột J: «có lẽ» không hợp lệ"),
        "{error}"
    );
    assert!(
        problems[5].starts_with("Dòng 8, cột F: cột 'Tham số' phải để trống"),
        "{error}"
    );
}

#[test]
fn at_most_twenty_problems_are_listed() {
    let rows: Vec<Vec<String>> = (1..=30)
        .map(|i| {
            vec![
                format!("{i}"),
                "T".to_owned(),
                String::new(),
                "x".to_owned(),
            ]
        })
        .collect();
    let rows: Vec<Vec<&str>> = rows
        .iter()
        .map(|row| row.iter().map(String::as_str).collect())
        .collect();
    let rows: Vec<&[&str]> = rows.iter().map(Vec::as_slice).collect();
    let error = xlsx_error(&workbook(&rows, &INFO));
    match &error {
        FormatError::SheetProblems {
            problems, total, ..
        } => {
            assert_eq!(problems.len(), 20);
            assert_eq!(*total, 30);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        error.to_string().ends_with("\n- … và 10 lỗi khác"),
        "{error}"
    );
}

#[test]
fn missing_sheets_columns_and_info_are_refused() {
    // No `Thông tin` sheet.
    let mut book = Workbook::new();
    book.add_worksheet().set_name("Bộ chỉ số").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert_eq!(
        xlsx_error(&bytes),
        FormatError::MissingSheet {
            sheet: "Thông tin"
        }
    );
    assert_eq!(
        xlsx_error(&bytes).to_string(),
        "Tệp Excel thiếu trang tính 'Thông tin': hãy dùng mẫu tệp xuất từ hệ thống"
    );

    // Columns swapped.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Bộ chỉ số").unwrap();
    for (c, header) in ["Mã", "Điểm tối đa", "Tên"].iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    book.add_worksheet().set_name("Thông tin").unwrap();
    let error = xlsx_error(&book.save_to_buffer().unwrap());
    assert!(
        matches!(error, FormatError::WrongHeader { column: 'B', .. }),
        "{error:?}"
    );

    // Only the first columns.
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Bộ chỉ số").unwrap();
    for (c, header) in HEADER[..4].iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    let info = book.add_worksheet().set_name("Thông tin").unwrap();
    for (r, (key, value)) in INFO.iter().enumerate() {
        info.write_string(r as u32, 0, *key).unwrap();
        info.write_string(r as u32, 1, *value).unwrap();
    }
    let error = xlsx_error(&book.save_to_buffer().unwrap());
    assert!(
        error
            .to_string()
            .starts_with("Thiếu cột bắt buộc: Loại quy tắc, Tham số"),
        "{error}"
    );

    // Information rows missing, unknown or wrong.
    let error = xlsx_error(&workbook(&[DOMAIN], &INFO[..3]));
    assert_eq!(
        error,
        FormatError::MissingInfoFields {
            fields: vec!["year", "unit_group", "scale", "appraised_max", "survey_max"]
        }
    );
    let mut info = INFO.to_vec();
    info[3] = ("year", "năm nay");
    info.push(("colour", "đỏ"));
    info.push(("code", "AGAIN"));
    let problems = sheet_problems(&xlsx_error(&workbook(&[DOMAIN], &info)));
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(problems[0].starts_with("Dòng 10, cột A: trường «colour» không có"));
    assert!(problems[1].starts_with("Dòng 11, cột A: trường «code» đã có ở dòng 2"));
    assert!(problems[2].starts_with("Dòng 4, cột B: năm (year) phải là một số nguyên"));
}

#[test]
fn too_many_rows_are_refused() {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet().set_name("Bộ chỉ số").unwrap();
    for (c, header) in HEADER.iter().enumerate() {
        sheet.write_string(0, c as u16, *header).unwrap();
    }
    for r in 1..=20_001u32 {
        sheet.write_number(r, 3, 1.0).unwrap();
    }
    book.add_worksheet().set_name("Thông tin").unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let error = within(Duration::from_secs(5), || xlsx_error(&bytes));
    assert_eq!(error, FormatError::TooManyNodes { max_rows: 20_000 });
}

#[test]
fn awkward_texts_and_fine_points_survive_both_round_trips() {
    let awkward = [
        "tab\there",
        "windows\r\nline",
        "_x0041_ looks escaped",
        "=SUM(A1:A2)",
        "'apostrophe first",
        "  spaces around  ",
        "trailing newline\n",
        "null",
        "~",
        "- dash",
        "# hash",
        "@at `tick`",
        "emoji 🎉 and ½",
        "Ứng dụng CNTT; tỷ lệ ≥ 80%: 0,5 điểm",
    ];
    let mut doc = parse_ok(SO);
    let fine = Points::parse("0.1234567890123456789").unwrap();
    doc.scale = fine;
    {
        let leaf = &mut doc.nodes[0].children[0].children[0];
        leaf.max = Points::parse("0.0000001").unwrap();
        leaf.rule = Some(RuleSpec::External {
            provider: awkward.join(" | "),
        });
    }
    for (i, text) in awkward.iter().enumerate() {
        let count = doc.nodes.len();
        let node = &mut doc.nodes[i % count];
        node.title = (*text).to_owned();
        node.title_en = Some(format!("{text} (en)"));
        let leaf = &mut node.children[0].children[0];
        leaf.method = Some((*text).to_owned());
        leaf.evidence = Some(format!("{text}\n{text}"));
    }
    doc.adjustments[0].title = awkward.concat();

    let yaml = write_index_set_yaml(&doc).unwrap();
    assert_eq!(parse_ok(yaml.as_bytes()), doc, "YAML:\n{yaml}");
    let xlsx = write_index_set_xlsx(&doc).unwrap();
    let back = parse_index_set_xlsx(&xlsx).unwrap();
    for (a, b) in back.nodes.iter().zip(&doc.nodes) {
        assert_eq!(a.title, b.title);
        assert_eq!(
            a.children[0].children[0].evidence,
            b.children[0].children[0].evidence
        );
    }
    assert_eq!(back, doc);
}

#[test]
fn a_text_longer_than_a_cell_is_refused_by_the_excel_export() {
    let mut doc = parse_ok(SO);
    doc.nodes[1].children[0].children[0].method = Some("ô".repeat(40_000));
    let code = doc.nodes[1].children[0].children[0].code.clone();
    assert_eq!(
        write_index_set_xlsx(&doc).unwrap_err(),
        FormatError::CellTooLong {
            code,
            column: "Cách chấm điểm"
        }
    );
}
