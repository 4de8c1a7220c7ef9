//! A small index set used by the unit tests of several modules.

use crate::index_set::IndexSetDoc;

/// A valid set with one leaf of every rule kind: 3 domains, 8 + 2 = 10 points.
pub fn sample_json() -> serde_json::Value {
    serde_json::json!({
        "format": "parindex-index-set/1",
        "code": "MH-TEST",
        "title": "Bộ chỉ số thử",
        "year": 2021,
        "unit_group": "SO",
        "illustrative": true,
        "scale": 10,
        "appraised_max": 8,
        "survey_max": 2,
        "bonus_cap": 1,
        "penalty_cap": 0.5,
        "nodes": [
            { "code": "1", "title": "Chỉ đạo, điều hành", "max": 3, "children": [
                { "code": "1.1", "title": "Kế hoạch", "max": 1.5, "children": [
                    { "code": "1.1.1", "title": "Ban hành kế hoạch kịp thời", "max": 0.5,
                      "method": "Đúng hạn: 0,5 điểm", "evidence": "Kế hoạch",
                      "rule": { "kind": "binary" } },
                    { "code": "1.1.2", "title": "Hoàn thành kế hoạch", "max": 1,
                      "method": "100%: 1 điểm; 80–<100%: 0,5 điểm", "evidence": "Báo cáo",
                      "rule": { "kind": "tiered_percent", "counted": "nhiệm vụ",
                                "tiers": [ { "min_percent": 100, "points": 1 },
                                           { "min_percent": 80, "points": 0.5 } ] } }
                ] },
                { "code": "1.2", "title": "Báo cáo đúng hạn", "max": 1.5,
                  "method": "Mỗi báo cáo chậm trừ 0,25", "evidence": "Báo cáo",
                  "rule": { "kind": "deduction", "counted": "báo cáo chậm",
                            "start": 1.5, "per_violation": 0.25 } }
            ] },
            { "code": "2", "title": "Thủ tục hành chính", "max": 5, "children": [
                { "code": "2.1", "title": "Hồ sơ trực tuyến", "max": 1,
                  "method": "Theo tỷ lệ", "evidence": "Thống kê",
                  "not_applicable_allowed": true,
                  "rule": { "kind": "proportional", "counted": "hồ sơ" } },
                { "code": "2.2", "title": "Đào tạo", "max": 1,
                  "method": "Dưới 50%: 0 điểm", "evidence": "Báo cáo",
                  "rule": { "kind": "proportional_floor", "counted": "lớp",
                            "floor_percent": 50, "zero_of_zero": "zero" } },
                { "code": "2.3", "title": "Kỷ luật", "max": 1,
                  "method": "0: 1 điểm; 1: 0,5 điểm", "evidence": "Quyết định",
                  "rule": { "kind": "count_tiered", "counted": "cán bộ bị kỷ luật",
                            "tiers": [ { "max_count": 0, "points": 1 },
                                       { "max_count": 1, "points": 0.5 } ] } },
                { "code": "2.4", "title": "Số hóa", "max": 1,
                  "method": "min(1, a/b)", "evidence": "Thống kê",
                  "rule": { "kind": "formula",
                            "variables": [ { "name": "a", "label": "Số hồ sơ đã số hóa" },
                                           { "name": "b", "label": "Tổng số hồ sơ" } ],
                            "expression": "min(1, a / b) * 1" } },
                { "code": "2.5", "title": "Giải ngân", "max": 1,
                  "method": "Do Sở Tài chính cung cấp", "evidence": "Số liệu",
                  "applies_to": ["HUYEN"],
                  "rule": { "kind": "external", "provider": "Sở Tài chính" } }
            ] },
            { "code": "3", "title": "Tác động", "max": 2, "children": [
                { "code": "3.1", "title": "Sự hài lòng", "max": 2,
                  "method": "Điều tra", "evidence": "Phiếu",
                  "rule": { "kind": "survey" } }
            ] }
        ],
        "adjustments": [
            { "code": "T1", "kind": "bonus", "title": "Sáng kiến", "max": 1,
              "method": "0,5 điểm mỗi sáng kiến" },
            { "code": "P1", "kind": "penalty", "title": "Nộp chậm", "max": 1 }
        ]
    })
}

pub fn sample_doc() -> IndexSetDoc {
    serde_json::from_value(sample_json()).unwrap()
}
