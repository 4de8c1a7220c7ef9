//! The appraisal state machine: every allowed transition, every refused one, and the write
//! guards of each stage.

use super::*;

const ALL_TRANSITIONS: [Transition; 5] = [
    Transition::StartAppraisal,
    Transition::CloseRound,
    Transition::OpenNextRound,
    Transition::RecordDecision,
    Transition::Publish,
];

fn all_stages(rounds: Rounds) -> Vec<Stage> {
    let mut stages = vec![Stage::SelfAssessment];
    for k in 1..=rounds.get() {
        stages.push(Stage::Round(k));
        if k < rounds.get() {
            stages.push(Stage::Explanation(k));
        }
    }
    stages.extend([Stage::CouncilReview, Stage::Approved, Stage::Published]);
    stages
}

fn done(unit_id: i64, code: &str, rounds: &[(u8, bool)]) -> LeafProgress {
    LeafProgress {
        unit_id,
        leaf_code: code.into(),
        assigned: true,
        rounds: rounds.iter().copied().collect(),
    }
}

#[test]
fn the_whole_state_machine_allows_exactly_the_expected_transitions() {
    for n in 1..=MAX_ROUNDS {
        let rounds = Rounds::parse(i64::from(n)).unwrap();
        // Every leaf appraised in every round: no guard blocks.
        let progress = vec![done(
            1,
            "1.1",
            &(1..=n).map(|k| (k, false)).collect::<Vec<_>>(),
        )];
        let mut walked = vec![Stage::SelfAssessment];
        for stage in all_stages(rounds) {
            for t in ALL_TRANSITIONS {
                let expected = match (stage, t) {
                    (Stage::SelfAssessment, Transition::StartAppraisal) => Some(Stage::Round(1)),
                    (Stage::Round(k), Transition::CloseRound) if k < n => {
                        Some(Stage::Explanation(k))
                    }
                    (Stage::Round(k), Transition::CloseRound) if k == n => {
                        Some(Stage::CouncilReview)
                    }
                    (Stage::Explanation(k), Transition::OpenNextRound) => Some(Stage::Round(k + 1)),
                    (Stage::CouncilReview, Transition::RecordDecision) => Some(Stage::Approved),
                    (Stage::Approved, Transition::Publish) => Some(Stage::Published),
                    _ => None,
                };
                let got = transition(stage, rounds, t, 0, &[], &progress);
                match expected {
                    Some(next) => {
                        assert_eq!(got, Ok(next), "{stage:?} --{t:?}--> with {n} rounds");
                        if walked.last() == Some(&stage) {
                            walked.push(next);
                        }
                    }
                    None => assert_eq!(
                        got,
                        Err(Refusal::WrongStage(stage)),
                        "{stage:?} --{t:?}--> must be refused with {n} rounds"
                    ),
                }
            }
        }
        // Following the allowed transitions walks every stage once, in order.
        assert_eq!(walked, all_stages(rounds), "{n} rounds");
    }
}

#[test]
fn stages_round_trip_through_storage() {
    for stage in all_stages(Rounds::parse(5).unwrap()) {
        let (code, round) = stage.stored();
        assert_eq!(Stage::from_stored(code, round), Some(stage));
    }
    assert_eq!(Stage::from_stored("round", 0), None);
    assert_eq!(Stage::from_stored("round", 6), None);
    assert_eq!(Stage::from_stored("explanation", 5), None);
    assert_eq!(Stage::from_stored("nonsense", 1), None);
    assert!(Rounds::parse(0).is_err() && Rounds::parse(6).is_err());
    assert_eq!(Rounds::parse(2), Ok(Rounds::DEFAULT));
}

#[test]
fn appraisal_starts_only_when_every_unit_submitted_or_is_late() {
    let units = [
        UnitReadiness {
            unit_name: "Sở Tư pháp".into(),
            submitted: true,
            deadline: 100,
        },
        UnitReadiness {
            unit_name: "Huyện Ea Xanh".into(),
            submitted: false,
            deadline: 200,
        },
    ];
    let rounds = Rounds::DEFAULT;
    assert_eq!(
        transition(
            Stage::SelfAssessment,
            rounds,
            Transition::StartAppraisal,
            150,
            &units,
            &[]
        ),
        Err(Refusal::UnitsStillAssessing(vec!["Huyện Ea Xanh".into()]))
    );
    assert_eq!(
        transition(
            Stage::SelfAssessment,
            rounds,
            Transition::StartAppraisal,
            201,
            &units,
            &[]
        ),
        Ok(Stage::Round(1))
    );
}

#[test]
fn a_round_closes_only_when_every_assigned_leaf_is_done() {
    let rounds = Rounds::DEFAULT;
    let unassigned = LeafProgress {
        assigned: false,
        ..done(1, "1.1", &[])
    };
    let progress = vec![
        done(1, "1.2", &[]),
        unassigned,
        done(2, "1.2", &[(1, true)]),
        done(2, "1.3", &[(1, false)]),
    ];
    let Err(Refusal::AppraisalNotDone(pending)) = transition(
        Stage::Round(1),
        rounds,
        Transition::CloseRound,
        0,
        &[],
        &progress,
    ) else {
        panic!("round 1 must not close");
    };
    let whys: Vec<(i64, &str, PendingWhy)> = pending
        .iter()
        .map(|p| (p.unit_id, p.leaf_code.as_str(), p.why))
        .collect();
    assert_eq!(
        whys,
        [
            (1, "1.2", PendingWhy::NotAppraised),
            (1, "1.1", PendingWhy::Unassigned)
        ]
    );

    // Round 2: the leaf flagged in round 1 must be appraised again; the others carry over.
    let progress = vec![done(2, "1.2", &[(1, true)]), done(2, "1.3", &[(1, false)])];
    let Err(Refusal::AppraisalNotDone(pending)) = transition(
        Stage::Round(2),
        rounds,
        Transition::CloseRound,
        0,
        &[],
        &progress,
    ) else {
        panic!("round 2 must not close with a flagged leaf not re-appraised");
    };
    assert_eq!(pending[0].why, PendingWhy::NotReappraised);
    let progress = vec![
        done(2, "1.2", &[(1, true), (2, false)]),
        done(2, "1.3", &[(1, false)]),
    ];
    assert_eq!(
        transition(
            Stage::Round(2),
            rounds,
            Transition::CloseRound,
            0,
            &[],
            &progress
        ),
        Ok(Stage::CouncilReview)
    );
}

#[test]
fn worklist_status_follows_the_rounds() {
    let leaf = done(1, "1.1", &[]);
    assert_eq!(leaf.status(Stage::Round(1)), WorkStatus::ToDo);
    let flagged = done(1, "1.1", &[(1, true)]);
    assert_eq!(flagged.status(Stage::Round(1)), WorkStatus::Flagged);
    assert_eq!(flagged.status(Stage::Explanation(1)), WorkStatus::Flagged);
    assert_eq!(flagged.status(Stage::Round(2)), WorkStatus::ToReappraise);
    let final_ = done(1, "1.1", &[(1, true), (2, false)]);
    assert_eq!(final_.status(Stage::Round(2)), WorkStatus::Done);
}

#[test]
fn write_guards_refuse_what_the_stage_does_not_allow() {
    let rounds = Rounds::DEFAULT;
    // Appraisal writes only in a round; a round-2 score before round 1 closes lands in round 1.
    assert_eq!(
        check_appraisal_write(Stage::Round(1), rounds, true, false, "Cần bổ sung văn bản"),
        Ok(1)
    );
    // A flag tells the unit to explain: it needs a remark even when the score is accepted.
    assert_eq!(
        check_appraisal_write(Stage::Round(1), rounds, true, false, " "),
        Err(Refusal::RemarkRequired)
    );
    assert_eq!(
        check_appraisal_write(Stage::Round(2), rounds, false, false, ""),
        Ok(2)
    );
    assert_eq!(
        check_appraisal_write(Stage::Round(2), rounds, true, false, ""),
        Err(Refusal::FlagInLastRound)
    );
    assert_eq!(
        check_appraisal_write(Stage::Round(1), rounds, false, true, "  "),
        Err(Refusal::RemarkRequired)
    );
    assert_eq!(
        check_appraisal_write(Stage::Round(1), rounds, false, true, "Thiếu văn bản"),
        Ok(1)
    );
    for stage in [
        Stage::SelfAssessment,
        Stage::Explanation(1),
        Stage::CouncilReview,
        Stage::Approved,
    ] {
        assert_eq!(
            check_appraisal_write(stage, rounds, false, false, ""),
            Err(Refusal::WrongStage(stage))
        );
    }
    assert_eq!(
        check_appraisal_write(Stage::Published, rounds, false, false, ""),
        Err(Refusal::Frozen)
    );

    // A unit's own sheet is closed once the appraisal starts.
    assert_eq!(check_self_assessment_stage(Stage::SelfAssessment), Ok(()));
    assert_eq!(
        check_self_assessment_stage(Stage::Round(1)),
        Err(Refusal::WrongStage(Stage::Round(1)))
    );
    assert_eq!(
        check_self_assessment_stage(Stage::Published),
        Err(Refusal::Frozen)
    );

    // Reopening a unit's self-assessment: only while the period is in self-assessment.
    assert_eq!(check_self_assessment_reopen(Stage::SelfAssessment), Ok(()));
    for stage in all_stages(rounds) {
        if stage != Stage::SelfAssessment {
            assert_eq!(
                check_self_assessment_reopen(stage),
                Err(Refusal::SelfAssessmentClosed(stage))
            );
        }
    }
    // Assignments: until the appraisal closes.
    for stage in all_stages(rounds) {
        let expected = match stage {
            Stage::SelfAssessment | Stage::Round(_) | Stage::Explanation(_) => Ok(()),
            Stage::Published => Err(Refusal::Frozen),
            other => Err(Refusal::AssignmentsClosed(other)),
        };
        assert_eq!(check_assignment_stage(stage), expected, "{stage:?}");
    }

    // Explanations: only in the explanation round, on flagged leaves, before the deadline and
    // the unit's submission.
    assert_eq!(
        check_explanation_write(Stage::Explanation(1), true, 0, Some(100), 50),
        Ok(1)
    );
    assert_eq!(
        check_explanation_write(Stage::Explanation(1), false, 0, None, 50),
        Err(Refusal::NotFlagged)
    );
    assert_eq!(
        check_explanation_write(Stage::Explanation(1), true, 1, None, 50),
        Err(Refusal::ExplanationSubmitted)
    );
    assert_eq!(
        check_explanation_write(Stage::Explanation(1), true, 0, Some(100), 101),
        Err(Refusal::ExplanationDeadlinePassed)
    );
    assert_eq!(
        check_explanation_write(Stage::Round(2), true, 0, None, 0),
        Err(Refusal::WrongStage(Stage::Round(2)))
    );

    // External values until the appraisal closes.
    assert!(check_external_write(Stage::Explanation(1)).is_ok());
    assert!(check_external_write(Stage::CouncilReview).is_err());
    assert_eq!(check_external_write(Stage::Published), Err(Refusal::Frozen));

    // Bonus and penalty in the last round, or while a published unit is reopened.
    assert!(check_adjustment_write(Stage::Round(2), rounds, false).is_ok());
    assert!(check_adjustment_write(Stage::Round(1), rounds, false).is_err());
    assert_eq!(
        check_adjustment_write(Stage::Published, rounds, false),
        Err(Refusal::Frozen)
    );
    assert!(check_adjustment_write(Stage::Published, rounds, true).is_ok());

    // Any change after publication needs a reopening.
    assert_eq!(
        check_correction_write(Stage::Published, false),
        Err(Refusal::Frozen)
    );
    assert!(check_correction_write(Stage::Published, true).is_ok());
    assert!(check_correction_write(Stage::CouncilReview, true).is_err());
}

#[test]
fn conflicts_of_interest_and_caps_are_refused() {
    assert_eq!(
        check_assignment(&[7, 9], 9),
        Err(Refusal::ConflictOfInterest)
    );
    assert!(check_assignment(&[7], 9).is_ok());
    let p = |s: &str| Points::parse(s).unwrap();
    assert!(check_within_cap("thưởng", &[p("1")], p("1"), p("2")).is_ok());
    assert_eq!(
        check_within_cap("thưởng", &[p("1,5")], p("1"), p("2")),
        Err(Refusal::OverCap {
            kind: "thưởng",
            total: "2,50".into(),
            cap: "2,00".into()
        })
    );
}

#[test]
fn the_effective_value_prefers_correction_then_latest_round_then_external_then_self() {
    let score = |s: &str| LeafScore {
        points: Some(Points::parse(s).unwrap()),
        explanation: String::new(),
    };
    let mut v = LeafValues::default();
    assert_eq!(v.effective(), None);
    v.self_score = Some(score("2"));
    assert_eq!(v.effective(), Some(&score("2")));
    v.external = Some(score("1,5"));
    assert_eq!(v.effective(), Some(&score("1,5")));
    v.rounds.insert(1, score("1"));
    v.rounds.insert(2, score("0,5"));
    assert_eq!(v.effective(), Some(&score("0,5")));
    v.correction = Some(score("0,75"));
    assert_eq!(v.effective(), Some(&score("0,75")));
    assert!(score_changed(Some(&score("2")), &score("1")));
    assert!(!score_changed(Some(&score("2")), &score("2")));
    assert!(score_changed(None, &score("2")));
}

#[test]
fn each_explanation_round_has_its_own_deadline_and_units_may_be_extended() {
    // Round 1 falls back on the period's default; round 2 never inherits it.
    assert_eq!(explanation_due(1, Some(100), None, None), Some(100));
    assert_eq!(explanation_due(2, Some(100), None, None), None);
    assert_eq!(explanation_due(2, Some(100), Some(300), None), Some(300));
    assert_eq!(explanation_due(1, Some(100), Some(50), None), Some(50));
    // An extension only moves the deadline later.
    assert_eq!(explanation_due(1, Some(100), None, Some(200)), Some(200));
    assert_eq!(explanation_due(1, Some(100), None, Some(80)), Some(100));
    assert_eq!(explanation_due(2, None, None, Some(200)), None);

    let rounds = Rounds::parse(3).unwrap();
    assert_eq!(
        check_explanation_deadline_write(Stage::Round(1), rounds),
        Ok(1)
    );
    assert_eq!(
        check_explanation_deadline_write(Stage::Explanation(2), rounds),
        Ok(2)
    );
    assert_eq!(
        check_explanation_deadline_write(Stage::Round(3), rounds),
        Err(Refusal::WrongStage(Stage::Round(3)))
    );
    assert_eq!(
        check_explanation_deadline_write(Stage::Published, rounds),
        Err(Refusal::Frozen)
    );
    assert!(check_explanation_deadline_write(Stage::SelfAssessment, rounds).is_err());
}

#[test]
fn the_next_round_waits_for_flagged_units_within_their_deadline() {
    let unit = |label: &str, flagged, submitted, due| ExplanationReadiness {
        unit_label: label.into(),
        flagged,
        submitted,
        due,
    };
    let now = 1_000;
    let units = [
        // Waiting: flagged, not submitted, deadline ahead (or none at all).
        unit("STP — Sở Tư pháp", true, false, Some(2_000)),
        unit("STC — Sở Tài chính", true, false, None),
        // Not waiting: answered, out of time, or never flagged.
        unit("SNV — Sở Nội vụ", true, true, Some(2_000)),
        unit("SXD — Sở Xây dựng", true, false, Some(999)),
        unit("SYT — Sở Y tế", false, false, Some(2_000)),
    ];
    assert_eq!(
        check_explanations_answered(&units, now),
        Err(Refusal::ExplanationsPending(vec![
            "STP — Sở Tư pháp".into(),
            "STC — Sở Tài chính".into()
        ]))
    );
    let message = check_explanations_answered(&units, now)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("Sở Tư pháp") && message.contains("ghi lý do"),
        "{message}"
    );
    assert_eq!(check_explanations_answered(&units[2..], now), Ok(()));
    // The deadline itself still counts as within it.
    assert!(check_explanations_answered(&[unit("A", true, false, Some(now))], now).is_err());
}

#[test]
fn the_council_needs_survey_data_when_the_sets_have_survey_leaves() {
    assert_eq!(check_survey_data(true, 0), Err(Refusal::NoSurveyData));
    assert!(
        check_survey_data(true, 0)
            .unwrap_err()
            .to_string()
            .contains("điều tra xã hội học")
    );
    assert_eq!(check_survey_data(true, 1), Ok(()));
    assert_eq!(check_survey_data(false, 0), Ok(()));
}

#[test]
fn one_source_for_caps() {
    let p = |t: &str| Points::parse(t).unwrap();
    let set = |group: &str, cap: &str| SetCap {
        group: group.into(),
        cap: p(cap),
        scale: p("100"),
    };
    // Blank: the sets' cap, when they agree.
    let same = [set("SO", "2"), set("HUYEN", "2")];
    assert_eq!(period_cap("điểm thưởng", None, &same), Ok(p("2")));
    // Entered: the period's own, even above the sets' (the scorecard caps with it too).
    assert_eq!(period_cap("điểm trừ", Some(p("3")), &same), Ok(p("3")));
    // Blank with sets that disagree: say what to enter.
    let differ = [set("SO", "1"), set("HUYEN", "2")];
    assert_eq!(
        period_cap("điểm thưởng", None, &differ),
        Err("Các bộ chỉ số của kỳ có mức trần điểm thưởng khác nhau (SO: 1,00; HUYEN: 2,00): hãy nhập mức trần điểm thưởng của kỳ đánh giá.".into())
    );
    assert_eq!(
        period_cap("điểm thưởng", Some(p("1.5")), &differ),
        Ok(p("1.5"))
    );
    // Never above a set's scale.
    assert_eq!(
        period_cap("điểm trừ", Some(p("101")), &same),
        Err("Mức trần điểm trừ 101,00 vượt thang điểm 100,00 của bộ chỉ số nhóm SO: hãy nhập một số từ 0 đến 100,00.".into())
    );
}
