//! The pages of the periods area and their view models.

use askama::Template;
use parindex_app::periods::{Board, PeriodList, SelfProgress, StageSummary, UnitWorkflow};
use parindex_domain::appraisal::Stage;
use parindex_store::index_sets::StoredIndexSet;
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::units::Unit;

use crate::page::{Page, datetime_vi};
use crate::views::points::pts;
use crate::views::stage::StageAction;

#[derive(Template)]
#[template(path = "periods/list.html")]
pub struct ListPage {
    pub p: Page,
    pub periods: Vec<Period>,
    pub units: Vec<Unit>,
    pub published_sets: Vec<StoredIndexSet>,
    pub groups: Vec<String>,
    pub error: Option<String>,
}

impl ListPage {
    pub fn new(p: Page, list: PeriodList, error: Option<String>) -> Self {
        ListPage {
            p,
            periods: list.periods,
            units: list.units,
            published_sets: list.published_sets,
            groups: list.groups,
            error,
        }
    }
}

/// A button of the stage panel.
pub struct StageButton {
    pub value: &'static str,
    pub label: &'static str,
    /// Closing a round that leads to an explanation round asks for its deadline.
    pub asks_due: bool,
}

/// The stage of the period and the next actions the secretariat may take.
pub struct StagePanel {
    pub label: String,
    pub rounds: i64,
    /// Whether the units' self-assessment is still open (reopening a unit makes sense).
    pub self_open: bool,
    pub deadline_round: Option<u8>,
    /// That round's deadline as set (dd/mm/yyyy HH:MM).
    pub deadline: Option<String>,
    /// The open explanation round (per-unit extensions are granted in it).
    pub explanation_round: Option<u8>,
    pub actions: Vec<StageButton>,
    pub results_hint: bool,
}

impl StagePanel {
    fn new(s: StageSummary) -> StagePanel {
        let stage = s.stage;
        StagePanel {
            label: stage.map(Stage::label_vi).unwrap_or_default(),
            rounds: s.rounds,
            self_open: stage == Some(Stage::SelfAssessment),
            deadline_round: s.deadline_round,
            deadline: s.deadline.map(datetime_vi),
            explanation_round: match stage {
                Some(Stage::Explanation(k)) => Some(k),
                _ => None,
            },
            actions: StageAction::offered(stage)
                .into_iter()
                .map(|a| StageButton {
                    value: a.value(),
                    label: a.label_key(),
                    asks_due: a == StageAction::CloseRound && s.deadline_round.is_some(),
                })
                .collect(),
            results_hint: matches!(
                stage,
                Some(Stage::CouncilReview | Stage::Approved | Stage::Published)
            ),
        }
    }
}

/// A unit's extension of the open explanation round.
pub struct ExtensionNote {
    pub until: String,
    pub reason: String,
}

/// The appraisal columns of a board line.
pub struct WorkflowCells {
    pub appraised: usize,
    pub to_appraise: usize,
    pub flagged: usize,
    pub explanation_round: i64,
    pub correction_open: bool,
    pub published_total: Option<String>,
    pub explanation_extension: Option<ExtensionNote>,
}

impl WorkflowCells {
    fn new(w: UnitWorkflow) -> Self {
        WorkflowCells {
            appraised: w.appraised,
            to_appraise: w.to_appraise,
            flagged: w.flagged,
            explanation_round: w.explanation_round,
            correction_open: w.correction_open,
            published_total: w.published_total_milli.map(pts),
            explanation_extension: w
                .explanation_extension
                .map(|(until, reason)| ExtensionNote {
                    until: datetime_vi(until),
                    reason,
                }),
        }
    }
}

/// One line of the progress board.
pub struct BoardLine {
    pub unit: PeriodUnit,
    pub scored: usize,
    pub total: usize,
    pub percent: u32,
    /// The catalogue key of the self-assessment's progress.
    pub stage: &'static str,
    pub workflow: WorkflowCells,
}

/// The catalogue key of a unit's self-assessment progress.
pub fn progress_key(p: SelfProgress) -> &'static str {
    match p {
        SelfProgress::NotStarted => "periods.stage_not_started",
        SelfProgress::InProgress => "periods.stage_in_progress",
        SelfProgress::Submitted => "periods.stage_submitted",
    }
}

/// The index set of one group.
pub struct SetLine {
    pub group: String,
    pub set: StoredIndexSet,
}

#[derive(Template)]
#[template(path = "periods/show.html")]
pub struct ShowPage {
    pub p: Page,
    pub period: Period,
    pub sets: Vec<SetLine>,
    pub rows: Vec<BoardLine>,
    pub groups: Vec<String>,
    pub group: String,
    pub error: Option<String>,
    pub stage: StagePanel,
    /// Ticked units left out at creation because their group has no set.
    pub skipped: Vec<String>,
}

impl ShowPage {
    pub fn new(mut p: Page, board: Board, group: &str, error: Option<String>) -> Self {
        p.title = board.period.name.clone();
        ShowPage {
            p,
            period: board.period,
            sets: board
                .sets
                .into_iter()
                .map(|(group, set)| SetLine { group, set })
                .collect(),
            rows: board
                .rows
                .into_iter()
                .map(|r| BoardLine {
                    stage: progress_key(r.progress),
                    workflow: WorkflowCells::new(r.workflow),
                    unit: r.unit,
                    scored: r.scored,
                    total: r.total,
                    percent: r.percent,
                })
                .collect(),
            groups: board.groups,
            group: group.to_owned(),
            error,
            stage: StagePanel::new(board.stage),
            skipped: board.skipped,
        }
    }
}
