//! The appraisal workflow (DOMAIN §4, steps 3–8): the period's stages from self-assessment to
//! publication, every transition and its guard, who may write which value in which stage, and
//! which of a leaf's values counts. Pure: the caller passes the clock and the facts.

use std::collections::BTreeMap;

use crate::Points;
use crate::rules::LeafScore;

/// The most appraisal rounds a period may have.
pub const MAX_ROUNDS: u8 = 5;

/// Where a period stands. Rounds count from 1; an explanation round follows every appraisal
/// round but the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Units assess themselves (tự đánh giá).
    SelfAssessment,
    /// Appraisal round k (thẩm định lần k).
    Round(u8),
    /// Units answer the leaves flagged in round k (giải trình).
    Explanation(u8),
    /// Appraisal closed; the council reviews the provisional results.
    CouncilReview,
    /// The approval decision is recorded; not yet published.
    Approved,
    /// Results frozen and published.
    Published,
}

impl Stage {
    /// Reads the stored pair (`stage`, `stage_round`).
    pub fn from_stored(code: &str, round: i64) -> Option<Stage> {
        let round = u8::try_from(round).ok();
        match (code, round) {
            ("self", _) => Some(Stage::SelfAssessment),
            ("round", Some(k)) if (1..=MAX_ROUNDS).contains(&k) => Some(Stage::Round(k)),
            ("explanation", Some(k)) if (1..MAX_ROUNDS).contains(&k) => Some(Stage::Explanation(k)),
            ("council", _) => Some(Stage::CouncilReview),
            ("approved", _) => Some(Stage::Approved),
            ("published", _) => Some(Stage::Published),
            _ => None,
        }
    }

    /// The stored pair (`stage`, `stage_round`).
    pub fn stored(self) -> (&'static str, i64) {
        match self {
            Stage::SelfAssessment => ("self", 0),
            Stage::Round(k) => ("round", i64::from(k)),
            Stage::Explanation(k) => ("explanation", i64::from(k)),
            Stage::CouncilReview => ("council", 0),
            Stage::Approved => ("approved", 0),
            Stage::Published => ("published", 0),
        }
    }

    pub fn label_vi(self) -> String {
        match self {
            Stage::SelfAssessment => "Tự đánh giá".into(),
            Stage::Round(k) => format!("Thẩm định lần {k}"),
            Stage::Explanation(k) => format!("Giải trình (sau thẩm định lần {k})"),
            Stage::CouncilReview => "Hội đồng xem xét kết quả".into(),
            Stage::Approved => "Đã có quyết định phê duyệt".into(),
            Stage::Published => "Đã công bố".into(),
        }
    }

    pub fn label_en(self) -> String {
        match self {
            Stage::SelfAssessment => "Self-assessment".into(),
            Stage::Round(k) => format!("Appraisal round {k}"),
            Stage::Explanation(k) => format!("Explanation (after round {k})"),
            Stage::CouncilReview => "Council review".into(),
            Stage::Approved => "Approved".into(),
            Stage::Published => "Published".into(),
        }
    }

    /// Results are frozen from the approval decision on.
    pub fn is_frozen(self) -> bool {
        matches!(self, Stage::Approved | Stage::Published)
    }
}

/// The number of appraisal rounds of a period (default 2), parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounds(u8);

impl Rounds {
    pub const DEFAULT: Rounds = Rounds(2);

    pub fn parse(n: i64) -> Result<Rounds, crate::InvalidInput> {
        match u8::try_from(n) {
            Ok(k) if (1..=MAX_ROUNDS).contains(&k) => Ok(Rounds(k)),
            _ => Err(crate::InvalidInput::new(
                "appraisal_rounds",
                format!("Số vòng thẩm định phải từ 1 đến {MAX_ROUNDS}"),
            )),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A change of the period's stage, asked for by the secretariat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Self-assessment → round 1.
    StartAppraisal,
    /// Round k → explanation k (or → council review after the last round).
    CloseRound,
    /// Explanation k → round k + 1.
    OpenNextRound,
    /// Council review → approved (decision number, date, signed PDF).
    RecordDecision,
    /// Approved → published.
    Publish,
}

/// Why the server refuses a transition or a write. Display is Vietnamese, for the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Không thể thực hiện ở giai đoạn hiện tại ({}).", .0.label_vi())]
    WrongStage(Stage),
    #[error("Còn {} đơn vị chưa nộp điểm tự chấm và chưa hết hạn: {}.", .0.len(), .0.join(", "))]
    UnitsStillAssessing(Vec<String>),
    #[error("Chưa thể kết thúc vòng thẩm định: còn {} việc chưa xong.", .0.len())]
    AppraisalNotDone(Vec<Pending>),
    #[error("Chỉ được đánh dấu \"cần giải trình\" ở các vòng trước vòng cuối.")]
    FlagInLastRound,
    #[error(
        "Điểm thẩm định khác điểm tự chấm hoặc tiêu chí được đánh dấu cần giải trình: phải ghi nhận xét (lý do)."
    )]
    RemarkRequired,
    #[error("Tiêu chí này không bị đánh dấu cần giải trình ở vòng này.")]
    NotFlagged,
    #[error("Đơn vị đã nộp giải trình của vòng này; không thể sửa nữa.")]
    ExplanationSubmitted,
    #[error("Đã hết hạn giải trình.")]
    ExplanationDeadlinePassed,
    #[error("Thành viên tổ thẩm định không được thẩm định chính đơn vị của mình.")]
    ConflictOfInterest,
    #[error("Kết quả đã công bố; chỉ sửa được khi Sở Nội vụ mở lại đơn vị để đính chính.")]
    Frozen,
    #[error("Không thể thay đổi phân công ở giai đoạn hiện tại ({}): việc thẩm định đã kết thúc.", .0.label_vi())]
    AssignmentsClosed(Stage),
    #[error("Không thể mở lại phần tự đánh giá: kỳ đánh giá đã sang giai đoạn {}. Việc chấm điểm của đơn vị đã khóa.", .0.label_vi())]
    SelfAssessmentClosed(Stage),
    #[error(
        "Chưa thể mở vòng thẩm định tiếp theo: còn {} đơn vị được đề nghị giải trình chưa nộp giải trình và chưa hết hạn giải trình: {}. Hãy chờ các đơn vị này nộp hoặc hết hạn, hoặc ghi lý do để vẫn mở vòng tiếp theo.",
        .0.len(),
        .0.join(", ")
    )]
    ExplanationsPending(Vec<String>),
    #[error(
        "Bộ chỉ số có tiêu chí điều tra xã hội học nhưng kỳ đánh giá chưa có phiếu khảo sát nào được tính: chưa thể chuyển sang Hội đồng xem xét kết quả (điểm điều tra sẽ là 0). Hãy nhập dữ liệu khảo sát, hoặc xác nhận và ghi lý do."
    )]
    NoSurveyData,
    #[error("Tổng {kind} {total} vượt mức trần {cap} của kỳ đánh giá.")]
    OverCap {
        kind: &'static str,
        total: String,
        cap: String,
    },
}

/// One thing that keeps a round from closing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub unit_id: i64,
    pub leaf_code: String,
    pub why: PendingWhy,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingWhy {
    /// No appraiser is assigned to the leaf.
    Unassigned,
    /// Never appraised.
    NotAppraised,
    /// Flagged in the previous round and not re-appraised in this one.
    NotReappraised,
}

impl PendingWhy {
    pub fn label_vi(self) -> &'static str {
        match self {
            PendingWhy::Unassigned => "chưa phân công người thẩm định",
            PendingWhy::NotAppraised => "chưa thẩm định",
            PendingWhy::NotReappraised => "cần giải trình nhưng chưa thẩm định lại ở vòng này",
        }
    }
}

/// What the closing check needs to know about one (unit, leaf) pair to be appraised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafProgress {
    pub unit_id: i64,
    pub leaf_code: String,
    pub assigned: bool,
    /// Round → whether the appraiser flagged the leaf in that round.
    pub rounds: BTreeMap<u8, bool>,
}

impl LeafProgress {
    /// Done for round `k`: appraised in some round ≤ k, and, if it was flagged in round
    /// k − 1, appraised again in round k.
    pub fn pending_in(&self, k: u8) -> Option<PendingWhy> {
        if !self.assigned {
            return Some(PendingWhy::Unassigned);
        }
        if self.rounds.range(..=k).next().is_none() {
            return Some(PendingWhy::NotAppraised);
        }
        if k > 1 && self.rounds.get(&(k - 1)) == Some(&true) && !self.rounds.contains_key(&k) {
            return Some(PendingWhy::NotReappraised);
        }
        None
    }

    /// Status for worklists.
    pub fn status(&self, stage: Stage) -> WorkStatus {
        let Some((&last, &flagged)) = self.rounds.iter().next_back() else {
            return WorkStatus::ToDo;
        };
        match stage {
            Stage::Round(k) if flagged && last + 1 == k => WorkStatus::ToReappraise,
            _ if flagged => WorkStatus::Flagged,
            _ => WorkStatus::Done,
        }
    }
}

/// A (unit, leaf) pair's status on an appraiser's worklist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkStatus {
    ToDo,
    Flagged,
    ToReappraise,
    Done,
}

impl WorkStatus {
    pub fn label_vi(self) -> &'static str {
        match self {
            WorkStatus::ToDo => "Chưa thẩm định",
            WorkStatus::Flagged => "Chờ giải trình",
            WorkStatus::ToReappraise => "Cần thẩm định lại",
            WorkStatus::Done => "Đã thẩm định",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            WorkStatus::ToDo => "todo",
            WorkStatus::Flagged => "flagged",
            WorkStatus::ToReappraise => "reappraise",
            WorkStatus::Done => "done",
        }
    }
}

/// A unit's self-assessment situation, for the start-of-appraisal guard.
#[derive(Debug, Clone)]
pub struct UnitReadiness {
    pub unit_name: String,
    pub submitted: bool,
    /// The unit's deadline, with its extension.
    pub deadline: i64,
}

/// The period's next stage after `transition`, or why not.
///
/// `units` and `progress` feed the guards of `StartAppraisal` and `CloseRound`.
pub fn transition(
    stage: Stage,
    rounds: Rounds,
    transition: Transition,
    now: i64,
    units: &[UnitReadiness],
    progress: &[LeafProgress],
) -> Result<Stage, Refusal> {
    match (stage, transition) {
        (Stage::SelfAssessment, Transition::StartAppraisal) => {
            let waiting: Vec<String> = units
                .iter()
                .filter(|u| !u.submitted && now <= u.deadline)
                .map(|u| u.unit_name.clone())
                .collect();
            if waiting.is_empty() {
                Ok(Stage::Round(1))
            } else {
                Err(Refusal::UnitsStillAssessing(waiting))
            }
        }
        (Stage::Round(k), Transition::CloseRound) => {
            let pending: Vec<Pending> = progress
                .iter()
                .filter_map(|p| {
                    p.pending_in(k).map(|why| Pending {
                        unit_id: p.unit_id,
                        leaf_code: p.leaf_code.clone(),
                        why,
                    })
                })
                .collect();
            if !pending.is_empty() {
                return Err(Refusal::AppraisalNotDone(pending));
            }
            Ok(if k < rounds.get() {
                Stage::Explanation(k)
            } else {
                Stage::CouncilReview
            })
        }
        (Stage::Explanation(k), Transition::OpenNextRound) => Ok(Stage::Round(k + 1)),
        (Stage::CouncilReview, Transition::RecordDecision) => Ok(Stage::Approved),
        (Stage::Approved, Transition::Publish) => Ok(Stage::Published),
        (stage, _) => Err(Refusal::WrongStage(stage)),
    }
}

/// A unit's situation in an open explanation round, for the guard of the next round.
#[derive(Debug, Clone)]
pub struct ExplanationReadiness {
    /// Code and name, as the refusal lists it.
    pub unit_label: String,
    /// Whether the round flagged any of the unit's leaves.
    pub flagged: bool,
    /// Whether the unit submitted its explanations of this round.
    pub submitted: bool,
    /// The unit's deadline, with its extension; None: no deadline set.
    pub due: Option<i64>,
}

/// The next round opens only when every flagged unit has answered or run out of time:
/// opening it ends the explanation round, so a unit still within its (extended) deadline
/// would silently lose the right to explain. A round with no deadline waits for every
/// flagged unit's submission. The secretariat may override with a recorded reason.
pub fn check_explanations_answered(
    units: &[ExplanationReadiness],
    now: i64,
) -> Result<(), Refusal> {
    let waiting: Vec<String> = units
        .iter()
        .filter(|u| u.flagged && !u.submitted && u.due.is_none_or(|due| now <= due))
        .map(|u| u.unit_label.clone())
        .collect();
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(Refusal::ExplanationsPending(waiting))
    }
}

/// The council reviews scores that include the survey: a period whose sets have survey
/// leaves does not go to the council with no counted response (every survey leaf would read
/// 0), unless the secretariat confirms with a recorded reason.
pub fn check_survey_data(has_survey_leaves: bool, counted_responses: u64) -> Result<(), Refusal> {
    if has_survey_leaves && counted_responses == 0 {
        Err(Refusal::NoSurveyData)
    } else {
        Ok(())
    }
}

/// Whether a unit may change its self-assessment in this stage (the window and the
/// submission are checked by [`crate::workflow::SelfAssessmentWindow`]).
pub fn check_self_assessment_stage(stage: Stage) -> Result<(), Refusal> {
    match stage {
        Stage::SelfAssessment => Ok(()),
        Stage::Published => Err(Refusal::Frozen),
        other => Err(Refusal::WrongStage(other)),
    }
}

/// Whether the secretariat may reopen a unit's submitted self-assessment: only while the
/// period is still in self-assessment. Once the appraisal started the appraisers work on what
/// the unit submitted, and a reopened unit could not submit again anyway (its sheet is closed
/// by [`check_self_assessment_stage`]). After publication a reopening is a correction instead.
pub fn check_self_assessment_reopen(stage: Stage) -> Result<(), Refusal> {
    match stage {
        Stage::SelfAssessment => Ok(()),
        other => Err(Refusal::SelfAssessmentClosed(other)),
    }
}

/// Whether assignments may be added or removed: until the appraisal closes. From the council
/// review on, who appraised what is part of the record the results stand on.
pub fn check_assignment_stage(stage: Stage) -> Result<(), Refusal> {
    match stage {
        Stage::SelfAssessment | Stage::Round(_) | Stage::Explanation(_) => Ok(()),
        Stage::Published => Err(Refusal::Frozen),
        other => Err(Refusal::AssignmentsClosed(other)),
    }
}

/// An appraiser's write: in which round it lands, or why it is refused. A flag ("needs
/// explanation") is allowed only before the last round; a changed score needs a remark, and
/// so does a flag (the unit must know what to explain).
pub fn check_appraisal_write(
    stage: Stage,
    rounds: Rounds,
    flag: bool,
    score_changed: bool,
    remark: &str,
) -> Result<u8, Refusal> {
    let Stage::Round(k) = stage else {
        return Err(if stage == Stage::Published {
            Refusal::Frozen
        } else {
            Refusal::WrongStage(stage)
        });
    };
    if flag && k >= rounds.get() {
        return Err(Refusal::FlagInLastRound);
    }
    if (score_changed || flag) && remark.trim().is_empty() {
        return Err(Refusal::RemarkRequired);
    }
    Ok(k)
}

/// Whether the appraised score differs from the unit's own (a missing self score counts as
/// different, so a first-hand appraisal of an unscored leaf also needs a reason).
pub fn score_changed(self_score: Option<&LeafScore>, appraised: &LeafScore) -> bool {
    self_score.is_none_or(|s| s.points != appraised.points)
}

/// A unit's explanation write (text, supplementary evidence, submission).
pub fn check_explanation_write(
    stage: Stage,
    flagged_in_round: bool,
    submitted_round: i64,
    due_at: Option<i64>,
    now: i64,
) -> Result<u8, Refusal> {
    let Stage::Explanation(k) = stage else {
        return Err(if stage == Stage::Published {
            Refusal::Frozen
        } else {
            Refusal::WrongStage(stage)
        });
    };
    if submitted_round >= i64::from(k) {
        return Err(Refusal::ExplanationSubmitted);
    }
    if due_at.is_some_and(|due| now > due) {
        return Err(Refusal::ExplanationDeadlinePassed);
    }
    if !flagged_in_round {
        return Err(Refusal::NotFlagged);
    }
    Ok(k)
}

/// The deadline a unit answers explanation round `round` by: the round's own deadline, else
/// (round 1 only) the period's default set at creation — a later round never inherits round
/// 1's date —, moved later by the unit's extension. `None`: no deadline.
pub fn explanation_due(
    round: u8,
    period_default: Option<i64>,
    round_due: Option<i64>,
    unit_extension: Option<i64>,
) -> Option<i64> {
    let base = round_due.or(if round == 1 { period_default } else { None });
    match (base, unit_extension) {
        (Some(b), Some(e)) => Some(b.max(e)),
        (b, None) => b,
        // An extension of a round without a deadline changes nothing.
        (None, Some(_)) => None,
    }
}

/// Which explanation round's deadline the secretariat may set now: the one a round opens when
/// it closes (round k before the last), or the open explanation round itself.
pub fn check_explanation_deadline_write(stage: Stage, rounds: Rounds) -> Result<u8, Refusal> {
    match stage {
        Stage::Round(k) if k < rounds.get() => Ok(k),
        Stage::Explanation(k) => Ok(k),
        Stage::Published => Err(Refusal::Frozen),
        other => Err(Refusal::WrongStage(other)),
    }
}

/// External values (cơ quan cung cấp số liệu) are accepted until the appraisal closes.
pub fn check_external_write(stage: Stage) -> Result<(), Refusal> {
    match stage {
        Stage::SelfAssessment | Stage::Round(_) | Stage::Explanation(_) => Ok(()),
        Stage::Published => Err(Refusal::Frozen),
        other => Err(Refusal::WrongStage(other)),
    }
}

/// Bonus and penalty are set in the last round (or during a correction).
pub fn check_adjustment_write(
    stage: Stage,
    rounds: Rounds,
    correction_open: bool,
) -> Result<(), Refusal> {
    match stage {
        Stage::Round(k) if k == rounds.get() => Ok(()),
        Stage::Published if correction_open => Ok(()),
        Stage::Published => Err(Refusal::Frozen),
        other => Err(Refusal::WrongStage(other)),
    }
}

/// The secretariat's correction of a published unit: only while the unit is reopened.
pub fn check_correction_write(stage: Stage, correction_open: bool) -> Result<(), Refusal> {
    match (stage, correction_open) {
        (Stage::Published, true) => Ok(()),
        (Stage::Published, false) => Err(Refusal::Frozen),
        (other, _) => Err(Refusal::WrongStage(other)),
    }
}

/// An appraiser is never assigned to their own unit.
pub fn check_assignment(appraiser_home_units: &[i64], unit_id: i64) -> Result<(), Refusal> {
    if appraiser_home_units.contains(&unit_id) {
        Err(Refusal::ConflictOfInterest)
    } else {
        Ok(())
    }
}

/// The sum of a unit's bonus (or penalty) items must stay within the period's cap.
pub fn check_within_cap(
    kind_vi: &'static str,
    existing: &[Points],
    new: Points,
    cap: Points,
) -> Result<(), Refusal> {
    let total = existing
        .iter()
        .copied()
        .fold(new, |acc, p| acc.checked_add(p).unwrap_or(acc));
    if total > cap {
        return Err(Refusal::OverCap {
            kind: kind_vi,
            total: total.display_vi(),
            cap: cap.display_vi(),
        });
    }
    Ok(())
}

/// One set of a period as its caps need it: (unit group, the set's cap of the kind, the
/// set's scale).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetCap {
    pub group: String,
    pub cap: Points,
    pub scale: Points,
}

/// A period's cap of one kind (`kind_vi`: "điểm thưởng" or "điểm trừ"): the value entered,
/// or, left blank, the cap of its sets (one source: the number the scorecard caps with is
/// the number entry is checked against). Blank with sets that disagree is refused, as is a
/// cap above a set's scale. The message is Vietnamese and says what to enter.
pub fn period_cap(
    kind_vi: &str,
    entered: Option<Points>,
    sets: &[SetCap],
) -> Result<Points, String> {
    let cap = match entered {
        Some(cap) => cap,
        None => {
            let Some(first) = sets.first() else {
                return Ok(Points::ZERO);
            };
            if sets.iter().any(|s| s.cap != first.cap) {
                let caps: Vec<String> = sets
                    .iter()
                    .map(|s| format!("{}: {}", s.group, s.cap.display_vi()))
                    .collect();
                return Err(format!(
                    "Các bộ chỉ số của kỳ có mức trần {kind_vi} khác nhau ({}): hãy nhập mức trần {kind_vi} của kỳ đánh giá.",
                    caps.join("; ")
                ));
            }
            first.cap
        }
    };
    if cap.is_negative() {
        return Err(format!("Mức trần {kind_vi} không được âm."));
    }
    if let Some(s) = sets.iter().find(|s| cap > s.scale) {
        return Err(format!(
            "Mức trần {kind_vi} {} vượt thang điểm {} của bộ chỉ số nhóm {}: hãy nhập một số từ 0 đến {}.",
            cap.display_vi(),
            s.scale.display_vi(),
            s.group,
            s.scale.display_vi()
        ));
    }
    Ok(cap)
}

/// Every value a leaf took, by source. The one that counts: a correction, else the latest
/// appraisal round, else the provider's value (external leaves), else the survey's score
/// (survey leaves), else the unit's own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeafValues {
    pub self_score: Option<LeafScore>,
    /// Round → appraised score.
    pub rounds: BTreeMap<u8, LeafScore>,
    pub external: Option<LeafScore>,
    pub survey: Option<LeafScore>,
    pub correction: Option<LeafScore>,
}

impl LeafValues {
    pub fn effective(&self) -> Option<&LeafScore> {
        self.correction
            .as_ref()
            .or_else(|| self.rounds.values().next_back())
            .or(self.external.as_ref())
            .or(self.survey.as_ref())
            .or(self.self_score.as_ref())
    }
}

#[cfg(test)]
mod tests;
