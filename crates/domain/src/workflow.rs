//! The workflow's guards: when a unit may still change its self-assessment, and what a
//! submission needs. Pure: the caller passes the clock.

use crate::rules::LeafInput;

/// A unit's self-assessment window in a period, with its extension and submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfAssessmentWindow {
    /// Milliseconds since the epoch.
    pub opens_at: i64,
    pub closes_at: i64,
    /// A per-unit extension (gia hạn); the later of this and `closes_at` is the deadline.
    pub extension_until: Option<i64>,
    pub submitted_at: Option<i64>,
}

/// Why a self-assessment write is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteRefusal {
    NotOpenYet { opens_at: i64 },
    DeadlinePassed { deadline: i64 },
    Submitted { at: i64 },
}

impl WriteRefusal {
    /// The message for the user, with instants formatted by `when` (dd/mm/yyyy HH:MM).
    pub fn message_vi(&self, when: impl Fn(i64) -> String) -> String {
        match self {
            WriteRefusal::NotOpenYet { opens_at } => {
                format!(
                    "Chưa đến thời gian tự đánh giá: bắt đầu từ {}.",
                    when(*opens_at)
                )
            }
            WriteRefusal::DeadlinePassed { deadline } => format!(
                "Đã hết hạn tự đánh giá ({}). Không thể sửa nữa; nếu cần, đề nghị Sở Nội vụ gia hạn.",
                when(*deadline)
            ),
            WriteRefusal::Submitted { at } => format!(
                "Đơn vị đã nộp (chốt) điểm tự chấm lúc {}. Không thể sửa nữa; nếu cần, đề nghị Sở Nội vụ mở lại.",
                when(*at)
            ),
        }
    }
}

impl SelfAssessmentWindow {
    /// The effective deadline: the window's close, or a later extension.
    pub fn deadline(&self) -> i64 {
        self.extension_until
            .map_or(self.closes_at, |e| e.max(self.closes_at))
    }

    /// Whether the unit may write at `now`: open, before the deadline, not yet submitted.
    pub fn check_write(&self, now: i64) -> Result<(), WriteRefusal> {
        if let Some(at) = self.submitted_at {
            return Err(WriteRefusal::Submitted { at });
        }
        if now < self.opens_at {
            return Err(WriteRefusal::NotOpenYet {
                opens_at: self.opens_at,
            });
        }
        if now > self.deadline() {
            return Err(WriteRefusal::DeadlinePassed {
                deadline: self.deadline(),
            });
        }
        Ok(())
    }
}

/// Why a self-assessment write is refused: the period has left the self-assessment stage, or
/// the unit's own window refuses it (not open, past the deadline, submitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelfWriteRefusal {
    Stage(crate::appraisal::Refusal),
    Window(WriteRefusal),
}

impl SelfWriteRefusal {
    /// The message for the user, with instants formatted by `when`.
    pub fn message_vi(&self, when: impl Fn(i64) -> String) -> String {
        match self {
            SelfWriteRefusal::Stage(r) => r.to_string(),
            SelfWriteRefusal::Window(r) => r.message_vi(when),
        }
    }
}

/// The one rule for every write on a unit's sheet (a leaf, a citation, the submission): the
/// period still in self-assessment, then the unit's window. Checked by the handler before
/// reading a body and again by the store inside the write's transaction.
pub fn check_self_write(
    stage: crate::appraisal::Stage,
    window: &SelfAssessmentWindow,
    now: i64,
) -> Result<(), SelfWriteRefusal> {
    crate::appraisal::check_self_assessment_stage(stage).map_err(SelfWriteRefusal::Stage)?;
    window.check_write(now).map_err(SelfWriteRefusal::Window)
}

/// Why a date typed by the secretariat is not plausible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateRefusal {
    /// A decision signed after today.
    DecisionInFuture { date: time::Date },
    /// An extension that does not end after the deadline in force.
    ExtensionNotAfterDeadline { deadline: i64 },
    /// An extension of a round with no deadline that ends in the past.
    ExtensionInPast,
    /// An extension past the end of the year after the period's.
    ExtensionBeyondYear { last_year: i32 },
}

impl DateRefusal {
    /// The message for the user, with instants formatted by `when` (dd/mm/yyyy HH:MM).
    pub fn message_vi(&self, when: impl Fn(i64) -> String) -> String {
        match self {
            DateRefusal::DecisionInFuture { date } => format!(
                "Ngày ký quyết định ({}) không được sau ngày hôm nay: hãy nhập đúng ngày ký (dd/mm/yyyy).",
                crate::text::format_date_vi(*date)
            ),
            DateRefusal::ExtensionNotAfterDeadline { deadline } => format!(
                "Ngày gia hạn phải sau hạn hiện tại ({}). Muốn rút ngắn thì hãy bỏ gia hạn (để trống ngày) rồi gia hạn lại.",
                when(*deadline)
            ),
            DateRefusal::ExtensionInPast => "Ngày gia hạn phải sau thời điểm hiện tại.".to_owned(),
            DateRefusal::ExtensionBeyondYear { last_year } => format!(
                "Ngày gia hạn quá xa: chỉ được gia hạn đến hết ngày 31/12/{last_year} (năm sau năm của kỳ đánh giá)."
            ),
        }
    }
}

/// A decision (the People's Committee's approval) is dated today or earlier.
pub fn check_decision_date(date: time::Date, today: time::Date) -> Result<(), DateRefusal> {
    if date > today {
        Err(DateRefusal::DecisionInFuture { date })
    } else {
        Ok(())
    }
}

/// An extension (of a unit's self-assessment or explanation round) ends after the deadline in
/// force (`current_deadline`, with any earlier extension; `None` when the round has none, then
/// after `now`), on a day no later than 31/12 of the year after the period's.
pub fn check_extension(
    until_day: time::Date,
    until_ms: i64,
    current_deadline: Option<i64>,
    now: i64,
    period_year: i64,
) -> Result<(), DateRefusal> {
    let last_year = i32::try_from(period_year.saturating_add(1)).unwrap_or(i32::MAX);
    if until_day.year() > last_year {
        return Err(DateRefusal::ExtensionBeyondYear { last_year });
    }
    match current_deadline {
        Some(deadline) if until_ms <= deadline => {
            Err(DateRefusal::ExtensionNotAfterDeadline { deadline })
        }
        None if until_ms <= now => Err(DateRefusal::ExtensionInPast),
        _ => Ok(()),
    }
}

/// What one leaf contributes to the completeness check before submission.
#[derive(Debug, Clone)]
pub struct LeafStatus<'a> {
    pub code: &'a str,
    /// Survey and external leaves are not self-assessed and never block a submission.
    pub self_assessed: bool,
    pub input: Option<&'a LeafInput>,
    pub has_evidence: bool,
    pub has_note: bool,
}

/// What is missing before a unit may submit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Missing {
    /// Self-assessed leaves with no facts entered.
    pub unscored: Vec<String>,
    /// Scored leaves with neither evidence nor an explanation.
    pub unexplained: Vec<String>,
}

impl Missing {
    pub fn is_empty(&self) -> bool {
        self.unscored.is_empty() && self.unexplained.is_empty()
    }
}

/// The completeness check: every self-assessed leaf scored (or declared not applicable, which
/// carries its own reason), and every scored leaf backed by evidence or an explanation.
pub fn completeness<'a>(leaves: impl IntoIterator<Item = LeafStatus<'a>>) -> Missing {
    let mut missing = Missing::default();
    for leaf in leaves {
        if !leaf.self_assessed {
            continue;
        }
        match leaf.input {
            None => missing.unscored.push(leaf.code.to_owned()),
            Some(LeafInput::NotApplicable { .. }) => {}
            Some(_) if !leaf.has_evidence && !leaf.has_note => {
                missing.unexplained.push(leaf.code.to_owned())
            }
            Some(_) => {}
        }
    }
    missing
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window() -> SelfAssessmentWindow {
        SelfAssessmentWindow {
            opens_at: 100,
            closes_at: 200,
            extension_until: None,
            submitted_at: None,
        }
    }

    #[test]
    fn writes_only_inside_the_window_before_submission() {
        let w = window();
        assert_eq!(
            w.check_write(99),
            Err(WriteRefusal::NotOpenYet { opens_at: 100 })
        );
        assert!(w.check_write(100).is_ok() && w.check_write(200).is_ok());
        assert_eq!(
            w.check_write(201),
            Err(WriteRefusal::DeadlinePassed { deadline: 200 })
        );
        let extended = SelfAssessmentWindow {
            extension_until: Some(300),
            ..w
        };
        assert!(extended.check_write(250).is_ok());
        assert_eq!(
            extended.check_write(301),
            Err(WriteRefusal::DeadlinePassed { deadline: 300 })
        );
        // An "extension" earlier than the close never shortens the window.
        assert_eq!(
            SelfAssessmentWindow {
                extension_until: Some(150),
                ..w
            }
            .deadline(),
            200
        );
        let submitted = SelfAssessmentWindow {
            submitted_at: Some(150),
            ..w
        };
        assert_eq!(
            submitted.check_write(160),
            Err(WriteRefusal::Submitted { at: 150 })
        );
    }

    #[test]
    fn decisions_and_extensions_have_plausible_dates() {
        let day = |y, m, d| time::Date::from_calendar_date(y, m, d).unwrap();
        let today = day(2026, time::Month::December, 1);
        assert!(check_decision_date(today, today).is_ok());
        assert_eq!(
            check_decision_date(day(2026, time::Month::December, 2), today),
            Err(DateRefusal::DecisionInFuture {
                date: day(2026, time::Month::December, 2)
            })
        );
        let in_2027 = day(2027, time::Month::December, 31);
        assert!(check_extension(in_2027, 2_000, Some(1_000), 0, 2026).is_ok());
        assert_eq!(
            check_extension(
                day(2028, time::Month::January, 1),
                3_000,
                Some(1_000),
                0,
                2026
            ),
            Err(DateRefusal::ExtensionBeyondYear { last_year: 2027 })
        );
        assert_eq!(
            check_extension(in_2027, 1_000, Some(1_000), 0, 2026),
            Err(DateRefusal::ExtensionNotAfterDeadline { deadline: 1_000 })
        );
        assert_eq!(
            check_extension(in_2027, 500, None, 600, 2026),
            Err(DateRefusal::ExtensionInPast)
        );
        assert!(check_extension(in_2027, 700, None, 600, 2026).is_ok());
    }

    #[test]
    fn completeness_lists_what_is_missing() {
        let yes = LeafInput::YesNo(true);
        let na = LeafInput::NotApplicable {
            reason: "không có".into(),
        };
        let leaves = vec![
            LeafStatus {
                code: "1.1",
                self_assessed: true,
                input: None,
                has_evidence: false,
                has_note: false,
            },
            LeafStatus {
                code: "1.2",
                self_assessed: true,
                input: Some(&yes),
                has_evidence: false,
                has_note: false,
            },
            LeafStatus {
                code: "1.3",
                self_assessed: true,
                input: Some(&yes),
                has_evidence: true,
                has_note: false,
            },
            LeafStatus {
                code: "1.4",
                self_assessed: true,
                input: Some(&yes),
                has_evidence: false,
                has_note: true,
            },
            LeafStatus {
                code: "1.5",
                self_assessed: true,
                input: Some(&na),
                has_evidence: false,
                has_note: false,
            },
            LeafStatus {
                code: "8.1",
                self_assessed: false,
                input: None,
                has_evidence: false,
                has_note: false,
            },
        ];
        let m = completeness(leaves);
        assert_eq!(m.unscored, ["1.1"]);
        assert_eq!(m.unexplained, ["1.2"]);
    }
}
