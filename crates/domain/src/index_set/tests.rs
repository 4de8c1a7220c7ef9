use super::*;
use crate::test_support::{sample_doc, sample_json};

fn p(text: &str) -> Points {
    Points::parse(text).unwrap()
}

fn sample() -> IndexSet {
    IndexSet::from_doc(&sample_doc(), Some(&["SO", "HUYEN"])).unwrap()
}

fn messages(report: &ValidationReport) -> Vec<String> {
    report.problems.iter().map(ToString::to_string).collect()
}

fn assert_reports(report: &ValidationReport, expected: &str) {
    let all = messages(report);
    assert!(
        all.iter().any(|m| m.contains(expected)),
        "«{expected}» not in:\n{}",
        all.join("\n")
    );
}

#[test]
fn sample_validates_with_a_summary() {
    let set = sample();
    let summary = set.summary();
    assert_eq!(summary.counts_per_level, [3, 8, 2]);
    assert_eq!(summary.leaf_count, 9);
    assert_eq!(summary.leaves_by_kind.len(), 9);
    assert_eq!(
        summary.to_string(),
        "3 lĩnh vực / 8 tiêu chí / 2 tiêu chí thành phần; 8 + 2 = 10 điểm"
    );
    assert!(summary.kinds_vi().contains("1 đạt / không đạt"));
    assert_eq!((summary.bonus_items, summary.penalty_items), (1, 1));
}

#[test]
fn tree_access() {
    let set = sample();
    let leaves: Vec<&str> = set.leaves().map(|n| n.code.as_str()).collect();
    assert_eq!(
        leaves,
        [
            "1.1.1", "1.1.2", "1.2", "2.1", "2.2", "2.3", "2.4", "2.5", "3.1"
        ]
    );
    let domains: Vec<&str> = set.domains().map(|n| n.code.as_str()).collect();
    assert_eq!(domains, ["1", "2", "3"]);
    assert_eq!(set.parent_of("1.1.2").unwrap().code, "1.1");
    assert!(set.parent_of("1").is_none());
    assert_eq!(set.level_of("1.1.2"), Some(3));
    assert_eq!(set.domain_of("1.1.2").unwrap().code, "1");
    assert_eq!(set.domain_of("2").unwrap().code, "2");
    let one = set.node("1").unwrap();
    let children: Vec<&str> = set.children_of(one).map(|n| n.code.as_str()).collect();
    assert_eq!(children, ["1.1", "1.2"]);
    assert!(set.node("9").is_none());
    let ext = set.index_of("2.5").unwrap();
    assert!(set.applies_to_group(ext, "HUYEN"));
    assert!(!set.applies_to_group(ext, "SO"));
    assert_eq!(set.adjustment("T1").unwrap().kind, AdjustmentKind::Bonus);
}

#[test]
fn leaves_are_evaluated_through_the_set() {
    let set = sample();
    let s = set
        .evaluate(
            "1.1.2",
            &LeafInput::Ratio {
                numerator: 18.into(),
                denominator: 20.into(),
            },
        )
        .unwrap();
    assert_eq!(s.points, Some(p("0.5")));
    let na = LeafInput::NotApplicable {
        reason: "Không có hồ sơ".into(),
    };
    assert!(set.evaluate("2.1", &na).unwrap().points.is_none());
    let refused = set.evaluate("1.1.1", &na).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "Tiêu chí này không được khai «không áp dụng»"
    );
    assert!(set.evaluate("1.1", &LeafInput::YesNo(true)).is_err());
    assert!(set.evaluate("7.7", &LeafInput::YesNo(true)).is_err());
}

#[test]
fn json_round_trip_is_lossless_and_canonical() {
    let doc = sample_doc();
    let text = serde_json::to_string(&doc).unwrap();
    let again: IndexSetDoc = serde_json::from_str(&text).unwrap();
    assert_eq!(again, doc);
    assert_eq!(serde_json::to_string(&again).unwrap(), text);
    // Defaults are left out, and fields come in the order of the format.
    let leaf = &doc.nodes[0].children[0].children[1];
    assert_eq!(
        serde_json::to_string(leaf).unwrap(),
        r#"{"code":"1.1.2","title":"Hoàn thành kế hoạch","max":1,"method":"100%: 1 điểm; 80–<100%: 0,5 điểm","evidence":"Báo cáo","rule":{"kind":"tiered_percent","counted":"nhiệm vụ","tiers":[{"min_percent":100,"points":1},{"min_percent":80,"points":0.5}]}}"#
    );
    let value = serde_json::to_value(&doc).unwrap();
    assert_eq!(value["penalty_cap"], serde_json::json!(0.5));
    assert_eq!(value, sample_json());
}

#[test]
fn unknown_fields_and_bad_numbers_are_refused_when_reading() {
    let mut json = sample_json();
    json["nodes"][0]["children"][0]["children"][0]["evidnce"] = "x".into();
    assert!(serde_json::from_value::<IndexSetDoc>(json).is_err());
    let mut json = sample_json();
    json["nodes"][0]["children"][0]["children"][0]["rule"]["kind"] = "magic".into();
    assert!(serde_json::from_value::<IndexSetDoc>(json).is_err());
    let mut json = sample_json();
    json["nodes"][0]["children"][0]["children"][0]["rule"]["tiers"] = serde_json::json!([]);
    assert!(serde_json::from_value::<IndexSetDoc>(json).is_err());
    let mut json = sample_json();
    json["nodes"][0]["children"][0]["children"][1]["rule"]["tirs"] = serde_json::json!([]);
    assert!(serde_json::from_value::<IndexSetDoc>(json).is_err());
    let mut json = sample_json();
    json["scale"] = "mười".into();
    assert!(serde_json::from_value::<IndexSetDoc>(json).is_err());
    let mut json = sample_json();
    json["scale"] = "10,0".into();
    assert_eq!(
        serde_json::from_value::<IndexSetDoc>(json).unwrap().scale,
        p("10")
    );
}

/// A document with one of every mistake the validator knows.
fn broken() -> IndexSetDoc {
    let mut json = sample_json();
    json["format"] = "parindex-index-set/9".into();
    json["code"] = "x".into();
    json["title"] = " ".into();
    json["year"] = 1890.into();
    json["unit_group"] = "TINH".into();
    json["bonus_cap"] = (-1).into();
    json["appraised_max"] = 7.into();
    let n = &mut json["nodes"];
    n[0]["max"] = 4.into(); // ≠ 1.5 + 1.5
    n[0]["children"][0]["children"][0]["code"] = "1.2.1".into(); // not under 1.1
    n[0]["children"][0]["children"][1]["rule"]["tiers"] = serde_json::json!([
        { "min_percent": 80, "points": 0.5 }, { "min_percent": 80, "points": 5 }
    ]);
    n[0]["children"][1]["rule"] = serde_json::json!(
        { "kind": "deduction", "start": 2, "per_violation": 0 });
    n[0]["children"][1]["method"] = serde_json::Value::Null;
    n[1]["children"][0]["evidence"] = " ".into();
    n[1]["children"][0]["applies_to"] = serde_json::json!(["XA", "XA", "bad group"]);
    n[1]["children"][1]["rule"]["floor_percent"] = 0.into();
    n[1]["children"][2]["rule"]["tiers"] = serde_json::json!([]);
    n[1]["children"][3]["rule"]["expression"] = "a / c".into();
    n[1]["children"][4]["rule"]["provider"] = "".into();
    n[1]["children"][4]["code"] = "2.4".into(); // duplicate
    n[1]["children"][4]["max"] = 0.0001.into();
    n[2]["children"][0]["children"] = serde_json::json!([
        { "code": "3.1.1", "title": "", "max": 2 }
    ]); // a rule and children; the child has neither rule nor title
    n[2]["code"] = "3.0".into();
    json["adjustments"][1]["code"] = "T1".into();
    json["adjustments"][1]["max"] = 0.into();
    serde_json::from_value(json).unwrap()
}

#[test]
fn every_mistake_is_reported() {
    let report = IndexSet::from_doc(&broken(), Some(&["SO", "HUYEN"])).unwrap_err();
    for expected in [
        "Bộ chỉ số: Định dạng «parindex-index-set/9» không được hỗ trợ",
        "Bộ chỉ số: Mã bộ chỉ số «x» không hợp lệ",
        "Bộ chỉ số: Thiếu tên bộ chỉ số",
        "Bộ chỉ số: Năm 1890 không hợp lệ",
        "Bộ chỉ số: Nhóm «TINH» không có trong danh mục nhóm đơn vị",
        "Bộ chỉ số: Mức thưởng tối đa (bonus_cap) không được âm",
        "Bộ chỉ số: Điểm đánh giá 7 + điểm điều tra 2 = 9, khác thang điểm 10",
        "Bộ chỉ số: Tổng điểm tối đa các tiêu chí chấm qua đánh giá là",
        "Mã 1: Điểm tối đa 4 khác tổng điểm tối đa các nút con (3)",
        "Mã 1.2.1: Mã phải là mã nút cha «1.1» thêm một số",
        "Mã 1.1.2: Bậc 2: các bậc phải xếp theo tỷ lệ giảm dần",
        "Mã 1.1.2: Bậc 2: điểm (5) vượt quá điểm tối đa 1",
        "Mã 1.2: Điểm khởi đầu (2) vượt quá điểm tối đa 1,5",
        "Mã 1.2: Điểm trừ mỗi lần vi phạm phải lớn hơn 0",
        "Mã 1.2: Thiếu cách chấm điểm (method)",
        "Mã 2.1: Thiếu tài liệu kiểm chứng (evidence)",
        "Mã 2.1: applies_to: Nhóm «XA» không có trong danh mục",
        "Mã 2.1: Nhóm «XA» lặp lại trong applies_to",
        "Mã 2.1: applies_to: Mã nhóm «bad group» không hợp lệ",
        "Mã 2.2: Ngưỡng 0% phải lớn hơn 0%",
        "Mã 2.3: Quy tắc bậc theo số lượng phải có ít nhất một bậc",
        "Mã 2.4: Công thức không hợp lệ: Biến «c» chưa được khai báo",
        "Mã 2.4: Mã bị trùng",
        "Mã 2.4: Quy tắc do cơ quan khác cung cấp phải nêu tên cơ quan",
        "Mã 2.4: Điểm tối đa (0,0001) có quá 3 chữ số thập phân",
        "Mã 3.0: Mã không đúng dạng",
        "Mã 3.1: Nút có nút con thì không có quy tắc chấm điểm",
        "Mã 3.1.1: Thiếu tên (title)",
        "Mã 3.1.1: Nút không có nút con phải có quy tắc chấm điểm (rule)",
        "Mã T1: Mã điểm thưởng/điểm trừ bị trùng",
        "Mã T1: Điểm tối đa phải lớn hơn 0",
    ] {
        assert_reports(&report, expected);
    }
    assert!(report.to_string().starts_with("Bộ chỉ số có "));
}

#[test]
fn declared_but_unused_formula_variable_is_reported() {
    let mut json = sample_json();
    json["nodes"][1]["children"][3]["rule"]["expression"] = "min(1, a) * 1".into();
    let doc: IndexSetDoc = serde_json::from_value(json).unwrap();
    let report = IndexSet::from_doc(&doc, None).unwrap_err();
    assert_eq!(
        messages(&report),
        ["Mã 2.4: Biến «b» được khai báo nhưng không dùng trong công thức"]
    );
}

#[test]
fn sum_exempt_parents_need_not_add_up() {
    let mut json = sample_json();
    json["nodes"][0]["children"][0]["max"] = 2.into();
    let doc: IndexSetDoc = serde_json::from_value(json.clone()).unwrap();
    assert!(IndexSet::from_doc(&doc, None).is_err());
    json["nodes"][0]["children"][0]["sum_exempt"] = true.into();
    json["nodes"][0]["sum_exempt"] = true.into();
    let doc: IndexSetDoc = serde_json::from_value(json).unwrap();
    assert!(IndexSet::from_doc(&doc, None).is_ok());
}

fn leaf(code: String) -> NodeDoc {
    let mut node = NodeDoc::new(code, "x", Points::from_int(1));
    node.rule = Some(RuleSpec::Binary);
    node
}

fn doc_with(nodes: Vec<NodeDoc>) -> IndexSetDoc {
    let mut doc = sample_doc();
    doc.nodes = nodes;
    doc
}

#[test]
fn a_million_nodes_are_refused_quickly() {
    let started = std::time::Instant::now();
    // Flat: a million domains.
    let flat = doc_with((1..=1_000_000).map(|i| leaf(i.to_string())).collect());
    let report = IndexSet::from_doc(&flat, None).unwrap_err();
    assert_eq!(
        messages(&report),
        ["Bộ chỉ số: Bộ chỉ số có quá nhiều nút (tối đa 20.000 nút)"]
    );
    drop(flat);
    // Bushy: 1000 domains of 1000 leaves each.
    let bushy = doc_with(
        (1..=1000)
            .map(|i| {
                let mut domain = NodeDoc::new(i.to_string(), "x", Points::from_int(1000));
                domain.children = (1..=1000).map(|j| leaf(format!("{i}.{j}"))).collect();
                domain
            })
            .collect(),
    );
    let report = IndexSet::from_doc(&bushy, None).unwrap_err();
    assert_eq!(report.problems.len(), 1);
    assert!(report.problems[0].message.contains("quá nhiều nút"));
    drop(bushy);
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

#[test]
fn ten_thousand_levels_are_refused_without_overflow() {
    let mut chain = leaf("1".into());
    for _ in 0..10_000 {
        let mut parent = NodeDoc::new("1", "x", Points::from_int(1));
        parent.children.push(chain);
        chain = parent;
    }
    let doc = doc_with(vec![chain]);
    let report = IndexSet::from_doc(&doc, None).unwrap_err();
    assert_eq!(messages(&report), ["Mã 1: Cây chỉ số sâu quá 12 cấp"]);
    // Dropping the chain must not overflow the stack either.
    drop(doc);
}

#[test]
fn twelve_levels_are_fine_thirteen_are_not() {
    fn chain(levels: usize) -> IndexSetDoc {
        let codes: Vec<String> = (1..=levels).map(|l| vec!["1"; l].join(".")).collect();
        let mut node = leaf(codes[levels - 1].clone());
        node.method = Some("m".into());
        node.evidence = Some("e".into());
        for code in codes.iter().rev().skip(1) {
            let mut parent = NodeDoc::new(code.clone(), "x", Points::from_int(1));
            parent.children.push(node);
            node = parent;
        }
        let mut doc = doc_with(vec![node]);
        doc.scale = Points::from_int(1);
        doc.appraised_max = Points::from_int(1);
        doc.survey_max = Points::ZERO;
        doc
    }
    let ok = IndexSet::from_doc(&chain(12), None).unwrap();
    assert_eq!(ok.summary().counts_per_level, vec![1; 12]);
    assert!(
        ok.summary()
            .to_string()
            .starts_with("1 lĩnh vực / 1 tiêu chí / 1 tiêu chí thành phần / 1 nút cấp 4")
    );
    assert!(IndexSet::from_doc(&chain(13), None).is_err());
}

fn edited(f: impl FnOnce(&mut serde_json::Value)) -> IndexSet {
    let mut json = sample_json();
    f(&mut json);
    IndexSet::from_doc(&serde_json::from_value(json).unwrap(), None).unwrap()
}

#[test]
fn diff_lists_added_removed_and_changed_in_code_order() {
    let old = sample();
    assert!(diff(&old, &old).is_empty());
    let new = edited(|j| {
        let n = &mut j["nodes"];
        // 1.1.1 retitled, 1.1.2 gets another rule and max; 1.2 gives up 0.5 to balance.
        n[0]["children"][0]["children"][0]["title"] = "Ban hành kế hoạch".into();
        n[0]["children"][0]["children"][1]["max"] = 1.5.into();
        n[0]["children"][0]["children"][1]["rule"] = serde_json::json!({"kind": "binary"});
        n[0]["children"][0]["max"] = 2.into();
        n[0]["children"][1]["max"] = 1.into();
        n[0]["children"][1]["rule"]["start"] = 1.into();
        // 2.5 removed, 2.6 added with the same max; 2.10 sorts after 2.6.
        let mut added = n[1]["children"][4].clone();
        added["code"] = "2.6".into();
        let mut tenth = n[1]["children"][0].clone();
        tenth["code"] = "2.10".into();
        n[1]["children"][4] = added;
        n[1]["children"][0]["max"] = 0.5.into();
        tenth["max"] = 0.5.into();
        n[1]["children"].as_array_mut().unwrap().push(tenth);
    });
    let d = diff(&old, &new);
    let codes = |v: &[NodeBrief]| v.iter().map(|n| n.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(&d.added), ["2.6", "2.10"]);
    assert_eq!(codes(&d.removed), ["2.5"]);
    let changed: Vec<(&str, Vec<&str>)> = d
        .changed
        .iter()
        .map(|c| {
            (
                c.old_code.as_str(),
                c.changes.iter().map(Change::label_vi).collect(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("1.1", vec!["Điểm tối đa"]),
            ("1.1.1", vec!["Tên"]),
            ("1.1.2", vec!["Điểm tối đa", "Quy tắc chấm điểm"]),
            ("1.2", vec!["Điểm tối đa", "Quy tắc chấm điểm"]),
            ("2.1", vec!["Điểm tối đa"]),
        ]
    );
    assert!(d.changed[2].changes.contains(&Change::Max {
        old: p("1"),
        new: p("1.5")
    }));
}

#[test]
fn diff_shows_values_before_and_after_with_a_decimal_comma() {
    let old = sample();
    let new = edited(|j| {
        let n = &mut j["nodes"];
        n[0]["children"][0]["children"][1]["max"] = 1.5.into();
        n[0]["children"][0]["max"] = 2.into();
        n[0]["children"][1]["max"] = 1.into();
        n[0]["children"][1]["rule"]["start"] = 1.into();
        n[1]["children"][0]["not_applicable_allowed"] = false.into();
        n[1]["children"][1]["rule"]["zero_of_zero"] = "full".into();
        n[1]["children"][4]["applies_to"] = serde_json::json!([]);
    });
    let d = diff(&old, &new);
    let shown = |code: &str| -> Vec<String> {
        let node = d.changed.iter().find(|c| c.old_code == code).unwrap();
        node.changes
            .iter()
            .map(|c| format!("{}: {} → {}", c.label_vi(), c.old_vi(), c.new_vi()))
            .collect()
    };
    assert_eq!(shown("1.1.2"), ["Điểm tối đa: 1 → 1,5"]);
    assert_eq!(
        shown("1.2"),
        [
            "Điểm tối đa: 1,5 → 1",
            "Quy tắc chấm điểm: điểm trừ: 1,5 − 0,25 × số báo cáo chậm, không thấp hơn 0 → \
             điểm trừ: 1 − 0,25 × số báo cáo chậm, không thấp hơn 0"
        ]
    );
    assert_eq!(shown("2.1"), ["Được khai không áp dụng: có → không"]);
    // Only the 0-of-0 choice changed: the texts still differ.
    let floor = shown("2.2");
    assert_eq!(floor.len(), 1);
    assert!(
        floor[0].contains("0/0 → 0 →") && floor[0].ends_with("0/0 → điểm tối đa"),
        "{floor:?}"
    );
    assert_eq!(shown("2.5"), ["Áp dụng cho nhóm: HUYEN → mọi nhóm"]);
}

#[test]
fn diff_compares_the_scale_caps_and_bonus_and_penalty_items() {
    let old = sample();
    let same_tree = edited(|j| {
        j["bonus_cap"] = 1.5.into();
        j["penalty_cap"] = 0.into();
        j["adjustments"][0]["max"] = 0.75.into();
        j["adjustments"][0]["method"] = serde_json::Value::Null;
        j["adjustments"][1] = serde_json::json!(
            { "code": "P2", "kind": "penalty", "title": "Vi phạm kỷ luật", "max": 0.5 }
        );
    });
    let d = diff(&old, &same_tree);
    assert!(!d.is_empty());
    assert!(d.added.is_empty() && d.removed.is_empty() && d.changed.is_empty());
    let fields: Vec<String> = d
        .set_changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.label_vi(), c.old_vi(), c.new_vi()))
        .collect();
    assert_eq!(
        fields,
        ["Điểm thưởng tối đa: 1 → 1,5", "Điểm trừ tối đa: 0,5 → 0"]
    );
    assert_eq!(d.adjustments_changed.len(), 1);
    assert_eq!(d.adjustments_changed[0].code, "T1");
    let items: Vec<String> = d.adjustments_changed[0]
        .changes
        .iter()
        .map(|c| format!("{}: {} → {}", c.label_vi(), c.old_vi(), c.new_vi()))
        .collect();
    assert_eq!(
        items,
        [
            "Điểm tối đa: 1 → 0,75",
            "Cách chấm điểm: 0,5 điểm mỗi sáng kiến → (trống)"
        ]
    );
    let codes = |v: &[AdjustmentBrief]| v.iter().map(|a| a.code.clone()).collect::<Vec<_>>();
    assert_eq!(codes(&d.adjustments_added), ["P2"]);
    assert_eq!(codes(&d.adjustments_removed), ["P1"]);
    assert_eq!(d.adjustments_added[0].kind_vi(), "điểm trừ");

    // The scale and both maxima: a set rescaled to 20 points.
    let rescaled = edited(|j| {
        j["scale"] = 20.into();
        j["survey_max"] = 12.into();
        j["nodes"][2]["max"] = 12.into();
        j["nodes"][2]["children"][0]["max"] = 12.into();
    });
    let d = diff(&old, &rescaled);
    assert_eq!(
        d.set_changes,
        [
            SetChange {
                field: SetField::Scale,
                old: p("10"),
                new: p("20")
            },
            SetChange {
                field: SetField::SurveyMax,
                old: p("2"),
                new: p("12")
            }
        ]
    );
    assert_eq!(
        d.set_changes[1].label_vi(),
        "Điểm điều tra xã hội học tối đa"
    );
}

#[test]
fn a_code_mapping_pairs_a_renumbered_node() {
    let old = sample();
    let new = edited(|j| {
        j["nodes"][1]["children"][4]["code"] = "2.6".into();
        j["nodes"][1]["children"][4]["title"] = "Tỷ lệ giải ngân".into();
    });
    let plain = diff(&old, &new);
    assert_eq!(plain.added.len(), 1);
    assert_eq!(plain.removed.len(), 1);
    let mapping = CodeMapping::new([("2.5", "2.6")], &old, &new).unwrap();
    assert_eq!(mapping.get("2.5"), Some("2.6"));
    let mapped = diff_with(&old, &new, &mapping);
    assert!(mapped.added.is_empty() && mapped.removed.is_empty());
    assert_eq!(mapped.changed.len(), 1);
    assert_eq!(
        mapped.changed[0].changes,
        [
            Change::Code {
                old: "2.5".into(),
                new: "2.6".into()
            },
            Change::Title {
                old: "Giải ngân".into(),
                new: "Tỷ lệ giải ngân".into()
            }
        ]
    );
    let report =
        CodeMapping::new([("2.5", "9.9"), ("7", "2.6"), ("2.4", "2.6")], &old, &new).unwrap_err();
    let all = messages(&report);
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(all[0].contains("Mã mới 9.9 không có"));
    assert!(all[1].contains("Mã cũ không có"));
    assert!(all[2].contains("đã được ghép với một mã cũ khác"));
    assert_eq!(compare_codes("1.10", "1.9"), std::cmp::Ordering::Greater);
    assert_eq!(compare_codes("2", "10"), std::cmp::Ordering::Less);
    assert_eq!(compare_codes("1", "1.1"), std::cmp::Ordering::Less);
}

#[test]
fn index_set_checks_warn_about_unguarded_division_and_fractional_counts() {
    // The sample's 2.4 is `min(1, a / b) * 1`: b = 0 gives no score.
    let set = sample();
    let warnings: Vec<String> = set.warnings().iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "Mã 2.4: công thức «min(1, a / b) * 1» chia cho «b» mà không xét trường hợp b = 0"
        ),
        "{warnings:?}"
    );
    // Guarded, no warning: by an `if` on the divisor, or by `max` with a positive number.
    for guarded in [
        "if(b > 0, min(1, a / b), 1)",
        "min(1, a / max(b, 1))",
        "min(1, a / 4 + b / 4)",
    ] {
        let mut json = sample_json();
        json["nodes"][1]["children"][3]["rule"]["expression"] = guarded.into();
        let doc: IndexSetDoc = serde_json::from_value(json).unwrap();
        let set = IndexSet::from_doc(&doc, None).unwrap();
        assert!(set.warnings().is_empty(), "{guarded}: {:?}", set.warnings());
    }
    // A count of tasks in a ratio is a whole number on entry (as a count of violations is).
    let tasks = set.node("1.1.2").unwrap().rule.as_ref().unwrap();
    let fractional = crate::rules::LeafInput::Ratio {
        numerator: "9.5".parse().unwrap(),
        denominator: "10".parse().unwrap(),
    };
    assert!(tasks.check_input(p("1"), false, &fractional).is_err());
}
