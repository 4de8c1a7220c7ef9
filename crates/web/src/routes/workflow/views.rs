//! The pages of the workflow and their view models.

use std::collections::HashMap;

use askama::Template;
use parindex_app::publishing::{PeriodResults, UnitResult};
use parindex_app::workflow::{Assignments, DomainChoice, OverridableGuard, PendingItem, Workload};
use parindex_domain::appraisal::Stage;
use parindex_store::appraisal::Assignment;
use parindex_store::periods::{Period, PeriodUnit};

use crate::page::Page;
use crate::views::points::pts;

/// An appraiser offered on the bulk form.
pub struct AppraiserChoice {
    pub id: i64,
    pub name: String,
}

#[derive(Template)]
#[template(path = "workflow/assignments.html")]
pub struct AssignmentsPage {
    pub p: Page,
    pub period: Period,
    pub stage_label: String,
    pub assignments: Vec<Assignment>,
    pub node_titles: HashMap<(i64, String), String>,
    pub appraisers: Vec<AppraiserChoice>,
    pub units: Vec<PeriodUnit>,
    pub groups: Vec<String>,
    pub domains: Vec<DomainChoice>,
    pub workload: Vec<Workload>,
    pub errors: Vec<String>,
    /// Pairs a bulk assignment left out (an appraiser's own unit), with the reason.
    pub skipped: Vec<String>,
    /// Why assignments can no longer change (the appraisal is closed), if so.
    pub closed: Option<String>,
}

impl AssignmentsPage {
    pub fn new(p: Page, a: Assignments, errors: Vec<String>, skipped: Vec<String>) -> Self {
        AssignmentsPage {
            p,
            stage_label: a.stage.label_vi(),
            period: a.period,
            assignments: a.assignments,
            node_titles: a.node_titles,
            appraisers: a
                .appraisers
                .into_iter()
                .map(|(id, name)| AppraiserChoice { id, name })
                .collect(),
            units: a.units,
            groups: a.groups,
            domains: a.domains,
            workload: a.workload,
            errors,
            skipped,
            closed: a.closed,
        }
    }
}

#[derive(Template)]
#[template(path = "workflow/pending.html")]
pub struct PendingPage {
    pub p: Page,
    pub period: Period,
    pub message: String,
    pub pending: Vec<PendingItem>,
}

/// A unit a refusal that may be overridden is about.
pub struct WaitingRow {
    pub code: String,
    pub name: String,
    /// Empty when no deadline is set.
    pub deadline: String,
}

/// A refusal the secretariat may override with a reason: what it says, the units it is
/// about, and the form to confirm.
#[derive(Template)]
#[template(path = "workflow/override.html")]
pub struct OverridePage {
    pub p: Page,
    pub period: Period,
    pub heading: &'static str,
    pub message: String,
    pub units: Vec<WaitingRow>,
    pub action: &'static str,
    pub explanation_due: String,
    pub error: Option<String>,
}

/// The catalogue key of the override page's heading.
pub fn override_heading(guard: OverridableGuard) -> &'static str {
    match guard {
        OverridableGuard::ExplanationsPending => "workflow.override_next_title",
        OverridableGuard::NoSurveyData => "workflow.override_council_title",
    }
}

/// One publication of a unit, for the history under its line.
pub struct PublicationRow {
    pub publication: i64,
    pub total: String,
    pub reason: String,
    pub when: String,
}

/// A unit's line of the results table.
pub struct ResultRow {
    pub unit_id: i64,
    pub unit_name: String,
    pub official: bool,
    pub snap: parindex_app::results::ResultSnapshot,
    pub publications: Vec<PublicationRow>,
    pub correction_reason: Option<String>,
}

/// The units of one group.
pub struct ResultGroup {
    pub code: String,
    pub rows: Vec<ResultRow>,
}

#[derive(Template)]
#[template(path = "workflow/results.html")]
pub struct ResultsPage {
    pub p: Page,
    pub period: Period,
    pub stage_label: String,
    /// Corrections are offered (managing, and the period published).
    pub correcting: bool,
    /// The decision form is offered (managing, and the council reviewing).
    pub deciding: bool,
    /// The publish button is offered (managing, and the decision recorded).
    pub publishing: bool,
    pub groups: Vec<ResultGroup>,
    pub error: Option<String>,
}

fn result_row(r: UnitResult) -> ResultRow {
    ResultRow {
        unit_id: r.unit_id,
        unit_name: r.unit_name,
        official: r.official,
        snap: r.snap,
        publications: r
            .publications
            .into_iter()
            .map(|l| PublicationRow {
                publication: l.publication,
                total: pts(l.total_milli),
                reason: l.reason,
                when: crate::page::datetime_vi(l.published_at),
            })
            .collect(),
        correction_reason: r.correction_reason,
    }
}

impl ResultsPage {
    pub fn new(mut p: Page, r: PeriodResults, error: Option<String>) -> Self {
        p.title = format!("{} — {}", p.title, r.period.name);
        ResultsPage {
            p,
            stage_label: r.stage.label_vi(),
            correcting: r.manage && r.stage == Stage::Published,
            deciding: r.manage && r.stage == Stage::CouncilReview,
            publishing: r.manage && r.stage == Stage::Approved,
            period: r.period,
            groups: r
                .groups
                .into_iter()
                .map(|(code, rows)| ResultGroup {
                    code,
                    rows: rows.into_iter().map(result_row).collect(),
                })
                .collect(),
            error,
        }
    }
}
