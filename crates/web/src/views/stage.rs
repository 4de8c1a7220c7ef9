//! The stage actions the period page offers and the workflow's stage form takes.

use parindex_domain::appraisal::{Stage, Transition};
use serde::{Deserialize, Serialize};

/// The buttons of the stage panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StageAction {
    Start,
    CloseRound,
    NextRound,
}

impl StageAction {
    pub fn transition(self) -> Transition {
        match self {
            StageAction::Start => Transition::StartAppraisal,
            StageAction::CloseRound => Transition::CloseRound,
            StageAction::NextRound => Transition::OpenNextRound,
        }
    }

    /// The form value (what the hidden field of a confirmation page sends back).
    pub fn value(self) -> &'static str {
        match self {
            StageAction::Start => "start",
            StageAction::CloseRound => "close_round",
            StageAction::NextRound => "next_round",
        }
    }

    /// The catalogue key of its button.
    pub fn label_key(self) -> &'static str {
        match self {
            StageAction::Start => "workflow.action_start",
            StageAction::CloseRound => "workflow.action_close_round",
            StageAction::NextRound => "workflow.action_next_round",
        }
    }

    /// What the period in `stage` may do next.
    pub fn offered(stage: Option<Stage>) -> Vec<StageAction> {
        match stage {
            Some(Stage::SelfAssessment) => vec![StageAction::Start],
            Some(Stage::Round(_)) => vec![StageAction::CloseRound],
            Some(Stage::Explanation(_)) => vec![StageAction::NextRound],
            _ => Vec::new(),
        }
    }
}
