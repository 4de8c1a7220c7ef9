use super::*;

fn p(text: &str) -> Points {
    Points::parse(text).unwrap()
}

fn d(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn ratio(n: &str, den: &str) -> LeafInput {
    LeafInput::Ratio {
        numerator: d(n),
        denominator: d(den),
    }
}

fn tiered(zero_of_zero: ZeroOfZero) -> RuleSpec {
    RuleSpec::TieredPercent {
        counted: "nhiệm vụ".into(),
        tiers: vec![
            PercentTier {
                min_percent: d("100"),
                points: p("2"),
            },
            PercentTier {
                min_percent: d("80"),
                points: p("1"),
            },
        ],
        zero_of_zero,
    }
}

fn score(rule: &RuleSpec, max: &str, input: LeafInput) -> LeafScore {
    evaluate(rule, p(max), &input).unwrap()
}

fn points(rule: &RuleSpec, max: &str, input: LeafInput) -> Points {
    score(rule, max, input).points.unwrap()
}

#[test]
fn binary() {
    let s = score(&RuleSpec::Binary, "0.5", LeafInput::YesNo(true));
    assert_eq!(s.points, Some(p("0.5")));
    assert_eq!(s.explanation, "Đạt → 0,50/0,50 điểm");
    let s = score(&RuleSpec::Binary, "0.5", LeafInput::YesNo(false));
    assert_eq!(s.points, Some(Points::ZERO));
    assert_eq!(s.explanation, "Không đạt → 0,00/0,50 điểm");
}

#[test]
fn tiered_percent_boundaries() {
    let rule = tiered(ZeroOfZero::Full);
    let s = score(&rule, "2", ratio("18", "20"));
    assert_eq!(
        s.explanation,
        "18/20 nhiệm vụ = 90,00% → bậc 80–<100% → 1,00/2,00 điểm"
    );
    // 79.99% does not reach 80%, even though it displays as 79,99%.
    assert_eq!(points(&rule, "2", ratio("7999", "10000")), Points::ZERO);
    // Exactly 80% does; 1/3-style ratios are compared exactly, not by a rounded quotient.
    assert_eq!(points(&rule, "2", ratio("8000", "10000")), p("1"));
    assert_eq!(points(&rule, "2", ratio("4", "5")), p("1"));
    assert_eq!(points(&rule, "2", ratio("799999", "1000000")), Points::ZERO);
    // The text agrees: 79,9999% (not "80,00% → dưới 80%", the rounded figure).
    assert_eq!(
        score(&rule, "2", ratio("799999", "1000000")).explanation,
        "799999/1000000 nhiệm vụ = 79,9999% → dưới 80% → 0,00/2,00 điểm"
    );
    assert_eq!(
        score(&rule, "2", ratio("7999999999", "10000000000")).explanation,
        "7999999999/10000000000 nhiệm vụ < 80% → 0,00/2,00 điểm"
    );
    // Just under the top tier: not "100,00% → bậc 80–<100%".
    assert_eq!(
        score(&rule, "2", ratio("99999", "100000")).explanation,
        "99999/100000 nhiệm vụ = 99,999% → bậc 80–<100% → 1,00/2,00 điểm"
    );
    assert_eq!(points(&rule, "2", ratio("20", "20")), p("2"));
    let full = score(&rule, "2", ratio("20", "20"));
    assert_eq!(
        full.explanation,
        "20/20 nhiệm vụ = 100,00% → bậc 100% → 2,00/2,00 điểm"
    );
    let low = score(&rule, "2", ratio("1", "20"));
    assert_eq!(
        low.explanation,
        "1/20 nhiệm vụ = 5,00% → dưới 80% → 0,00/2,00 điểm"
    );
}

#[test]
fn zero_of_zero_both_modes() {
    let full = score(&tiered(ZeroOfZero::Full), "2", ratio("0", "0"));
    assert_eq!(full.points, Some(p("2")));
    assert_eq!(
        full.explanation,
        "0/0 nhiệm vụ: không có gì để đánh giá → 2,00/2,00 điểm"
    );
    assert_eq!(
        points(&tiered(ZeroOfZero::Zero), "2", ratio("0", "0")),
        Points::ZERO
    );
    for mode in [ZeroOfZero::Full, ZeroOfZero::Zero] {
        let prop = RuleSpec::Proportional {
            counted: String::new(),
            zero_of_zero: mode,
        };
        let floor = RuleSpec::ProportionalFloor {
            counted: String::new(),
            floor_percent: d("50"),
            zero_of_zero: mode,
        };
        let expected = if mode == ZeroOfZero::Full {
            p("1.5")
        } else {
            Points::ZERO
        };
        assert_eq!(points(&prop, "1.5", ratio("0", "0")), expected);
        assert_eq!(points(&floor, "1.5", ratio("0", "0")), expected);
    }
}

#[test]
fn proportional_and_floor() {
    let rule = RuleSpec::Proportional {
        counted: "hồ sơ".into(),
        zero_of_zero: ZeroOfZero::Full,
    };
    let s = score(&rule, "2", ratio("18", "20"));
    assert_eq!(s.points, Some(p("1.8")));
    assert_eq!(
        s.explanation,
        "18/20 hồ sơ = 90,00% → 2,00 × 90,00% = 1,80/2,00 điểm"
    );
    assert_eq!(points(&rule, "2", ratio("20", "20")), p("2"));
    // 2 × 1/3 is kept to the thousandth.
    assert_eq!(points(&rule, "2", ratio("1", "3")), p("0.667"));
    // A numerator above the denominator is refused, so the ratio never exceeds 1.
    assert!(matches!(
        evaluate(&rule, p("2"), &ratio("21", "20")),
        Err(RuleError::Input(_))
    ));

    let floor = RuleSpec::ProportionalFloor {
        counted: "lớp".into(),
        floor_percent: d("50"),
        zero_of_zero: ZeroOfZero::Full,
    };
    let under = score(&floor, "2", ratio("4999", "10000"));
    assert_eq!(under.points, Some(Points::ZERO));
    assert_eq!(
        under.explanation,
        "4999/10000 lớp = 49,99% < ngưỡng 50% → 0,00/2,00 điểm"
    );
    // Just under the floor, the text shows enough decimals not to contradict itself.
    let near = score(&floor, "2", ratio("499999", "1000000"));
    assert_eq!(near.points, Some(Points::ZERO));
    assert_eq!(
        near.explanation,
        "499999/1000000 lớp = 49,9999% < ngưỡng 50% → 0,00/2,00 điểm"
    );
    let closer = score(&floor, "2", ratio("4999999999", "10000000000"));
    assert_eq!(
        closer.explanation,
        "4999999999/10000000000 lớp < ngưỡng 50% → 0,00/2,00 điểm"
    );
    let at = score(&floor, "2", ratio("5", "10"));
    assert_eq!(at.points, Some(p("1")));
    assert_eq!(
        at.explanation,
        "5/10 lớp = 50,00% ≥ ngưỡng 50% → 2,00 × 50,00% = 1,00/2,00 điểm"
    );
}

#[test]
fn count_tiered() {
    let rule = RuleSpec::CountTiered {
        counted: "cán bộ bị kỷ luật".into(),
        tiers: vec![
            CountTier {
                max_count: 0,
                points: p("1"),
            },
            CountTier {
                max_count: 1,
                points: p("0.5"),
            },
            CountTier {
                max_count: 4,
                points: p("0.25"),
            },
        ],
    };
    assert_eq!(
        score(&rule, "1", LeafInput::Count(0)).explanation,
        "0 cán bộ bị kỷ luật → bậc 0 → 1,00/1,00 điểm"
    );
    assert_eq!(points(&rule, "1", LeafInput::Count(1)), p("0.5"));
    let mid = score(&rule, "1", LeafInput::Count(3));
    assert_eq!(
        mid.explanation,
        "3 cán bộ bị kỷ luật → bậc 2–4 → 0,25/1,00 điểm"
    );
    let above = score(&rule, "1", LeafInput::Count(5));
    assert_eq!(above.points, Some(Points::ZERO));
    assert_eq!(
        above.explanation,
        "5 cán bộ bị kỷ luật > 4 → 0,00/1,00 điểm"
    );
    assert_eq!(points(&rule, "1", LeafInput::Count(MAX_FACT)), Points::ZERO);
}

#[test]
fn deduction_clamps_at_zero() {
    let rule = RuleSpec::Deduction {
        counted: "báo cáo chậm".into(),
        start: p("1"),
        per_violation: p("0.25"),
    };
    let s = score(&rule, "1", LeafInput::Count(2));
    assert_eq!(s.points, Some(p("0.5")));
    assert_eq!(
        s.explanation,
        "2 báo cáo chậm × 0,25 = 0,50 → 1,00 − 0,50 = 0,50/1,00 điểm"
    );
    let s = score(&rule, "1", LeafInput::Count(5));
    assert_eq!(s.points, Some(Points::ZERO));
    assert_eq!(
        s.explanation,
        "5 báo cáo chậm × 0,25 = 1,25 → 1,00 − 1,25 < 0 → 0,00/1,00 điểm"
    );
    assert_eq!(points(&rule, "1", LeafInput::Count(MAX_FACT)), Points::ZERO);
    assert_eq!(points(&rule, "1", LeafInput::Count(0)), p("1"));
}

fn digitisation() -> RuleSpec {
    RuleSpec::Formula {
        variables: vec![
            FormulaVariable {
                name: "a".into(),
                label: "Số hồ sơ đã số hóa".into(),
            },
            FormulaVariable {
                name: "b".into(),
                label: "Tổng số hồ sơ".into(),
            },
        ],
        expression: "a / b * 2".into(),
    }
}

fn vars(a: &str, b: &str) -> LeafInput {
    LeafInput::Variables(BTreeMap::from([("a".into(), d(a)), ("b".into(), d(b))]))
}

#[test]
fn formula_division_by_zero_is_an_error_and_results_are_clamped() {
    let rule = digitisation();
    let s = score(&rule, "1", vars("30", "80"));
    assert_eq!(s.points, Some(p("0.75")));
    assert_eq!(
        s.explanation,
        "a = 30, b = 80 → a ÷ b × 2 = 0,75 → 0,75/1,00 điểm"
    );
    assert!(
        s.explanation.ends_with(" = 0,75 → 0,75/1,00 điểm"),
        "{}",
        s.explanation
    );
    // Above max: clamped, and the explanation says so.
    let s = score(&rule, "1", vars("30", "40"));
    assert_eq!(s.points, Some(p("1")));
    assert!(
        s.explanation.ends_with(" = 1,50 > 1,00 → 1,00/1,00 điểm"),
        "{}",
        s.explanation
    );
    // Division by zero: an error with a Vietnamese message, never a panic.
    let err = evaluate(&rule, p("1"), &vars("30", "0")).unwrap_err();
    assert!(matches!(err, RuleError::Formula(_)));
    assert!(err.to_string().contains("chia cho 0"), "{err}");
    // Missing and unknown variables.
    let missing = LeafInput::Variables(BTreeMap::from([("a".into(), d("1"))]));
    let err = rule.check_input(p("1"), false, &missing).unwrap_err();
    assert_eq!(err.message, "Thiếu giá trị biến «b» (Tổng số hồ sơ)");
    let mut extra = BTreeMap::from([("a".into(), d("1")), ("b".into(), d("2"))]);
    extra.insert("c".into(), d("3"));
    let err = rule
        .check_input(p("1"), false, &LeafInput::Variables(extra))
        .unwrap_err();
    assert_eq!(err.message, "Biến «c» không có trong công thức");
    let negative = rule
        .check_input(p("1"), false, &vars("-1", "2"))
        .unwrap_err();
    assert_eq!(negative.message, "Giá trị biến «a» không được âm");
}

#[test]
fn a_formula_below_zero_is_clamped_to_zero() {
    let rule = RuleSpec::Formula {
        variables: vec![
            FormulaVariable {
                name: "a".into(),
                label: String::new(),
            },
            FormulaVariable {
                name: "b".into(),
                label: String::new(),
            },
        ],
        expression: "(a - b) / 4".into(),
    };
    let s = score(&rule, "1", vars("1", "3"));
    assert_eq!(s.points, Some(Points::ZERO));
    assert_eq!(
        s.explanation,
        "a = 1, b = 3 → (a − b) ÷ 4 = -0,50 < 0 → 0,00/1,00 điểm"
    );
    // At exactly 0 nothing is clamped and the text says no "< 0".
    let s = score(&rule, "1", vars("3", "3"));
    assert_eq!(s.points, Some(Points::ZERO));
    assert!(!s.explanation.contains("< 0"), "{}", s.explanation);
}

#[test]
fn survey_and_external_take_points_within_max() {
    let survey = RuleSpec::Survey;
    let s = score(&survey, "2", LeafInput::Points(p("1.5")));
    assert_eq!(
        s.explanation,
        "Theo kết quả điều tra xã hội học: 1,50/2,00 điểm"
    );
    let ext = RuleSpec::External {
        provider: "Sở Tư pháp".into(),
    };
    let s = score(&ext, "2", LeafInput::Points(p("2")));
    assert_eq!(s.explanation, "Do Sở Tư pháp cung cấp: 2,00/2,00 điểm");
    for bad in ["2.001", "-0.5", "0.0001"] {
        assert!(
            ext.check_input(p("2"), false, &LeafInput::Points(p(bad)))
                .is_err(),
            "{bad}"
        );
    }
}

#[test]
fn inputs_are_checked() {
    let rule = tiered(ZeroOfZero::Full);
    let wrong = rule
        .check_input(p("2"), false, &LeafInput::YesNo(true))
        .unwrap_err();
    assert_eq!(
        wrong.message,
        "Tiêu chí chấm theo quy tắc «bậc theo tỷ lệ»: cần nhập tử số và mẫu số"
    );
    let over = rule
        .check_input(p("2"), false, &ratio("21", "20"))
        .unwrap_err();
    assert_eq!(over.message, "Tử số (21) không được lớn hơn mẫu số (20)");
    let negative = rule
        .check_input(p("2"), false, &ratio("-1", "20"))
        .unwrap_err();
    assert_eq!(negative.message, "Tử số không được âm");
    let huge = LeafInput::Ratio {
        numerator: Decimal::ONE,
        denominator: Decimal::MAX,
    };
    assert_eq!(
        rule.check_input(p("2"), false, &huge).unwrap_err().message,
        "Mẫu số quá lớn"
    );
    let fine = ratio("1", "3.1234567");
    assert!(rule.check_input(p("2"), false, &fine).is_err());
    assert!(
        RuleSpec::Binary
            .check_input(p("1"), false, &LeafInput::Count(1))
            .is_err()
    );
}

#[test]
fn not_applicable_leaves_no_points_and_needs_permission_and_reason() {
    let na = LeafInput::NotApplicable {
        reason: " Đơn vị không có hồ sơ ".into(),
    };
    let err = RuleSpec::Binary
        .check_input(p("1"), false, &na)
        .unwrap_err();
    assert_eq!(err.message, "Tiêu chí này không được khai «không áp dụng»");
    assert!(RuleSpec::Binary.check_input(p("1"), true, &na).is_ok());
    let empty = LeafInput::NotApplicable {
        reason: "  ".into(),
    };
    assert!(RuleSpec::Binary.check_input(p("1"), true, &empty).is_err());
    let s = score(&RuleSpec::Binary, "1", na);
    assert_eq!(s.points, None);
    assert_eq!(s.explanation, "Không áp dụng: Đơn vị không có hồ sơ");
}

#[test]
fn adjustments_are_capped_and_never_below_zero() {
    let a = apply_adjustments(p("80"), &[p("1"), p("1.5")], &[p("0.5")], p("2"), p("2"));
    assert_eq!((a.bonus, a.penalty, a.total), (p("2"), p("0.5"), p("81.5")));
    let b = apply_adjustments(p("1"), &[], &[p("3"), p("4")], p("2"), p("5"));
    assert_eq!((b.penalty, b.total), (p("5"), Points::ZERO));
    let c = apply_adjustments(p("10"), &[p("-3")], &[], p("2"), p("2"));
    assert_eq!(c.total, p("10"));
    let d = apply_adjustments(p("10"), &[p("1")], &[p("1")], Points::ZERO, Points::ZERO);
    assert_eq!(d.total, p("10"));
}

#[test]
fn rule_problems() {
    let bad = RuleSpec::TieredPercent {
        counted: String::new(),
        tiers: vec![
            PercentTier {
                min_percent: d("80"),
                points: p("0.5"),
            },
            PercentTier {
                min_percent: d("100"),
                points: p("3"),
            },
        ],
        zero_of_zero: ZeroOfZero::Full,
    };
    let problems = bad.problems(p("2"));
    assert!(
        problems.iter().any(|m| m.contains("giảm dần")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("vượt quá điểm tối đa 2")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|m| m.contains("không được nhiều điểm hơn")),
        "{problems:?}"
    );
    assert!(tiered(ZeroOfZero::Full).problems(p("2")).is_empty());
    assert!(digitisation().problems(p("1")).is_empty());
    let unused = RuleSpec::Formula {
        variables: vec![
            FormulaVariable {
                name: "a".into(),
                label: String::new(),
            },
            FormulaVariable {
                name: "b".into(),
                label: String::new(),
            },
        ],
        expression: "a * 2".into(),
    };
    assert_eq!(
        unused.problems(p("1")),
        ["Biến «b» được khai báo nhưng không dùng trong công thức"]
    );
}

#[test]
fn counts_of_tasks_are_whole_numbers_like_counts_of_violations() {
    // Tasks (nhiệm vụ): 18 of 20 is a count; 18,5 of 20 is not.
    let tasks = tiered(ZeroOfZero::Full);
    assert!(tasks.check_input(p("2"), false, &ratio("18", "20")).is_ok());
    let err = tasks
        .check_input(p("2"), false, &ratio("18.5", "20"))
        .unwrap_err();
    assert_eq!(err.field, "numerator");
    assert_eq!(
        err.message,
        "Tử số là số nhiệm vụ nên phải là số nguyên (ví dụ 18), không có phần thập phân (đang là 18,5)"
    );
    let err = tasks
        .check_input(p("2"), false, &ratio("18", "20.25"))
        .unwrap_err();
    assert_eq!(err.field, "denominator");
    // Amounts of money may have decimals (1,5 of 2 triệu đồng), as may a ratio that does not
    // say what it counts.
    let money = RuleSpec::Proportional {
        counted: "triệu đồng".into(),
        zero_of_zero: ZeroOfZero::Full,
    };
    assert!(money.check_input(p("2"), false, &ratio("1.5", "2")).is_ok());
    let plain = RuleSpec::Proportional {
        counted: String::new(),
        zero_of_zero: ZeroOfZero::Full,
    };
    assert!(plain.check_input(p("2"), false, &ratio("1.5", "2")).is_ok());
    // Violations are counted in whole numbers by the very type of their input.
    let violations = RuleSpec::Deduction {
        counted: "báo cáo chậm".into(),
        start: p("1"),
        per_violation: p("0.25"),
    };
    assert!(
        violations
            .check_input(p("1"), false, &LeafInput::Count(2))
            .is_ok()
    );
}
