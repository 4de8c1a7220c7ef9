//! Survey scoring on a hand-computed example, the answer encoding, the sample-size helper and
//! the quality checks.

use super::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn answer(group: &str, percent: Option<&str>) -> LeafAnswer {
    LeafAnswer {
        group: group.into(),
        percent: percent.map(d),
    }
}

/// Hand-computed: leaf max 2 points.
/// Group DN (businesses): A=100, B=60, C=20, "don't know" → valid 100, 60, 20: mean 60%.
/// Group CD (citizens): A=100, A=100, D=0, "don't know", "don't know" → valid 100, 100, 0:
///   mean 66,666…%.
/// Unweighted: (100+60+20+100+100+0)/6 = 380/6 = 63,333…% → 2 × 0,63333… = 1,26666… → 1,267.
/// Weighted DN 1, CD 3: (1×0,6 + 3×0,666…)/4 = (0,6 + 2)/4 = 0,65 → 1,300.
#[test]
fn scoring_matches_the_hand_computed_example() {
    let max = Points::parse("2").unwrap();
    let answers = vec![
        answer("DN", Some("100")),
        answer("DN", Some("60")),
        answer("DN", Some("20")),
        answer("DN", None),
        answer("CD", Some("100")),
        answer("CD", Some("100")),
        answer("CD", Some("0")),
        answer("CD", None),
        answer("CD", None),
    ];
    let plain = score_leaf(max, &answers, None, 5);
    assert_eq!(plain.valid, 6);
    assert_eq!(plain.dont_know, 3);
    assert_eq!(plain.points, Points::parse("1,267"));
    assert!(!plain.below_minimum);
    assert_eq!(plain.groups.len(), 2);
    assert_eq!(plain.groups[0].group, "CD");
    assert_eq!(plain.groups[0].valid, 3);
    assert_eq!(plain.groups[0].dont_know, 2);
    assert_eq!(plain.groups[1].mean, Some(d("0.6")));

    let weights: BTreeMap<String, Decimal> =
        [("DN".to_owned(), d("1")), ("CD".to_owned(), d("3"))].into();
    let weighted = score_leaf(max, &answers, Some(&weights), 5);
    assert_eq!(weighted.mean.map(|m| m.round_dp(10)), Some(d("0.65")));
    assert_eq!(weighted.points, Points::parse("1,3"));

    // The interval contains the mean and stays inside 0–1.
    let (low, high) = (plain.ci_low.unwrap(), plain.ci_high.unwrap());
    let m = plain.mean.unwrap();
    assert!(low < m && m < high, "{low} < {m} < {high}");
    assert!(low >= Decimal::ZERO && high <= Decimal::ONE);
    // s² of (1; 0,6; 0,2; 1; 1; 0) with mean 0,6333…: Σ(x−m)² = 0,99333… → s² = 0,198666…,
    // s²/n = 0,033111…, se = 0,181965…, half = 1,96 × se = 0,356652… → [0,2767; 0,9900].
    assert_eq!(low, d("0.2767"));
    assert_eq!(high, d("0.9900"));
}

#[test]
fn below_the_minimum_sample_the_score_is_kept_and_flagged() {
    let max = Points::parse("1,5").unwrap();
    let few = score_leaf(
        max,
        &[answer("CD", Some("60")), answer("CD", None)],
        None,
        30,
    );
    assert!(few.below_minimum);
    assert_eq!(few.valid, 1);
    assert_eq!(few.points, Points::parse("0,9"));
    assert_eq!(few.ci_low, None, "no interval from one answer");
    // Only "don't know": no score at all.
    let none = score_leaf(max, &[answer("CD", None)], None, 30);
    assert_eq!(none.points, None);
    assert_eq!(none.mean, None);
    // A group weighted 0 does not count.
    let weights: BTreeMap<String, Decimal> = [("CD".to_owned(), d("0"))].into();
    let zero = score_leaf(max, &[answer("CD", Some("100"))], Some(&weights), 1);
    assert_eq!(zero.points, None);
}

#[test]
fn answers_round_trip_through_the_compact_encoding() {
    let mut a = ResponseAnswers::default();
    a.0.entry(12).or_default().insert("Q1".into(), "A".into());
    a.0.entry(12).or_default().insert("Q2".into(), "K".into());
    a.0.entry(7).or_default().insert("Q1".into(), "C".into());
    let text = a.encode();
    assert_eq!(text, "7:Q1=C;12:Q1=A,Q2=K");
    assert_eq!(ResponseAnswers::decode(&text), Some(a));
    assert_eq!(ResponseAnswers::decode("x:Q1=A"), None);
    assert_eq!(ResponseAnswers::decode("1:Q1=A;B"), None);
    assert_eq!(ResponseAnswers::decode("1:Q 1=A"), None);
}

#[test]
fn sample_size_follows_the_formula() {
    // n = N / (1 + N e²): 10 000 at 5% → 10 000 / 26 = 384,6 → 385.
    assert_eq!(sample_size(10_000, d("0.05")), 385);
    assert_eq!(sample_size(100, d("0.05")), 80);
    assert_eq!(sample_size(0, d("0.05")), 0);
    assert_eq!(sample_size(5, d("0")), 5);
}

#[test]
fn questionnaires_are_validated() {
    let leaves: BTreeSet<String> = ["8.1.1".to_owned()].into();
    let good = QuestionnaireDoc {
        questions: vec![Question {
            code: "Q1".into(),
            text: "Mức độ hài lòng".into(),
            leaf_code: "8.1.1".into(),
            options: vec![
                AnswerOption {
                    code: "A".into(),
                    label: "Rất hài lòng".into(),
                    percent: Some(d("100")),
                },
                AnswerOption {
                    code: "K".into(),
                    label: "Không biết".into(),
                    percent: None,
                },
            ],
        }],
    };
    assert!(good.validate(&leaves).is_ok());
    assert_eq!(good.value_of("Q1", "a").unwrap(), Some(d("100")));
    assert_eq!(good.value_of("Q1", "K").unwrap(), None);
    assert!(good.value_of("Q1", "Z").is_err());
    let mut bad = good.clone();
    bad.questions[0].leaf_code = "1.1".into();
    bad.questions[0].options[0].percent = Some(d("120"));
    bad.questions.push(bad.questions[0].clone());
    let problems = bad.validate(&leaves).unwrap_err();
    assert!(
        problems.iter().any(|p| p.contains("bị trùng")),
        "{problems:?}"
    );
    assert!(problems.iter().any(|p| p.contains("1.1")), "{problems:?}");
    assert!(
        problems.iter().any(|p| p.contains("0 đến 100")),
        "{problems:?}"
    );
}

#[test]
fn quality_checks_flag_duplicates_straight_lines_and_late_answers() {
    let straight = "1:Q1=A,Q2=A,Q3=A,Q4=A,Q5=A";
    let varied = "1:Q1=A,Q2=B,Q3=A,Q4=A,Q5=A";
    let responses = [
        ResponseForChecks {
            id: 1,
            questionnaire_id: 9,
            answers: varied,
            submitted_at: Some(50),
        },
        ResponseForChecks {
            id: 2,
            questionnaire_id: 9,
            answers: varied,
            submitted_at: Some(60),
        },
        ResponseForChecks {
            id: 3,
            questionnaire_id: 9,
            answers: straight,
            submitted_at: Some(500),
        },
        ResponseForChecks {
            id: 4,
            questionnaire_id: 10,
            answers: varied,
            submitted_at: Some(60),
        },
    ];
    let flags = quality_flags(&responses, (Some(10), Some(100)));
    assert_eq!(flags.get(&1), None);
    assert_eq!(flags[&2], [QualityFlag::Duplicate]);
    assert_eq!(
        flags[&3],
        [QualityFlag::StraightLining, QualityFlag::OutsideWindow]
    );
    assert_eq!(
        flags.get(&4),
        None,
        "another questionnaire is not a duplicate"
    );
}

/// Two questions on leaf 8.1.1 (Q1, Q2) and one on 8.1.2 (Q3); A = 100, C = 20, D = 0,
/// K = don't know. Per response and leaf, the mean of its valid answers is one observation:
/// R1 Q1=A, Q2=D → 50; R2 Q1=A, Q2=K → 100; R3 Q1=K, Q2=K → don't know. So 8.1.1 has two
/// valid responses and one "don't know", mean 75% → 2 × 0,75 = 1,5, below a minimum of 3.
/// Counted per answer it would have been 100, 0, 100: three "valid", 66,67% and not below.
#[test]
fn several_questions_on_one_leaf_count_each_response_once() {
    let option = |code: &str, percent: Option<&str>| AnswerOption {
        code: code.into(),
        label: code.into(),
        percent: percent.map(d),
    };
    let options = vec![
        option("A", Some("100")),
        option("C", Some("20")),
        option("D", Some("0")),
        option("K", None),
    ];
    let question = |code: &str, leaf: &str| Question {
        code: code.into(),
        text: code.into(),
        leaf_code: leaf.into(),
        options: options.clone(),
    };
    let doc = QuestionnaireDoc {
        questions: vec![
            question("Q1", "8.1.1"),
            question("Q2", "8.1.1"),
            question("Q3", "8.1.2"),
        ],
    };
    let leaf = |unit: i64, code: &str| (unit, code.to_owned());
    let r1 = ResponseAnswers::decode("7:Q1=A,Q2=D,Q3=C").unwrap();
    let r2 = ResponseAnswers::decode("7:Q1=A,Q2=K").unwrap();
    let r3 = ResponseAnswers::decode("7:Q1=K,Q2=K,Q9=A;8:Q1=Z").unwrap();
    let o1 = response_observations(&doc, &r1);
    assert_eq!(o1.len(), 2);
    assert_eq!(o1[&leaf(7, "8.1.1")], Some(d("50")));
    assert_eq!(o1[&leaf(7, "8.1.2")], Some(d("20")));
    assert_eq!(
        response_observations(&doc, &r2)[&leaf(7, "8.1.1")],
        Some(d("100"))
    );
    let o3 = response_observations(&doc, &r3);
    assert_eq!(o3[&leaf(7, "8.1.1")], None, "only don't know");
    assert_eq!(
        o3.len(),
        1,
        "an unknown question or option is no observation"
    );

    let observations: Vec<LeafAnswer> = [o1, response_observations(&doc, &r2), o3]
        .iter()
        .map(|o| LeafAnswer {
            group: "CD".into(),
            percent: o[&leaf(7, "8.1.1")],
        })
        .collect();
    let score = score_leaf(Points::parse("2").unwrap(), &observations, None, 3);
    assert_eq!(score.valid, 2);
    assert_eq!(score.dont_know, 1);
    assert_eq!(score.mean, Some(d("0.75")));
    assert_eq!(score.points, Points::parse("1,5"));
    assert!(score.below_minimum, "two respondents are below three");
    // The interval is over the two responses (0,5 and 1): s² = 0,125, s²/n = 0,0625,
    // se = 0,25, half = 0,49 → [0,26; 1] (clamped).
    assert_eq!(score.ci_low, Some(d("0.2600")));
    assert_eq!(score.ci_high, Some(d("1")));
}

#[test]
fn survey_writes_stop_at_council_review() {
    for open in [
        Stage::SelfAssessment,
        Stage::Round(1),
        Stage::Explanation(1),
        Stage::Round(2),
    ] {
        assert_eq!(check_survey_write(open), Ok(()), "{open:?}");
    }
    for frozen in [Stage::CouncilReview, Stage::Approved, Stage::Published] {
        let refusal = check_survey_write(frozen).unwrap_err();
        assert_eq!(refusal, SurveyFrozen(frozen));
        assert!(
            refusal.to_string().contains(&frozen.label_vi()),
            "{refusal}"
        );
        assert!(refusal.to_string().contains("đã được chốt"));
    }
}
