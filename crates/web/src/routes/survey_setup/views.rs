//! The view models of the survey setup's pages.

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use parindex_app::survey_setup::{
    QuestionnaireSetup, QuestionnaireStatus, SetupOverview, sample_at_five_percent, sample_size_for,
};
use parindex_domain::Action;
use parindex_domain::survey::AnswerOption;
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::survey::Questionnaire;
use rust_decimal::Decimal;

use super::forms::{PeriodQuery, QuestionForm};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::page::{Page, datetime_vi};

/// The default answer scale a new question is prefilled with (one option a line; the
/// catalogue writes the line breaks as `\n`).
fn default_options(user: &CurrentUser) -> String {
    user.ctx
        .lang
        .t("survey_setup.default_options")
        .replace("\\n", "\n")
}

/// A stored instant as its Vietnamese calendar day (dd/mm/yyyy).
fn date_of(ms: Option<i64>) -> String {
    ms.map(|m| datetime_vi(m).chars().take(10).collect())
        .unwrap_or_default()
}

fn weight_text(milli: i64) -> String {
    Decimal::new(milli, 3)
        .normalize()
        .to_string()
        .replace('.', ",")
}

fn status_key(status: QuestionnaireStatus) -> &'static str {
    match status {
        QuestionnaireStatus::Draft => "survey_setup.status_draft",
        QuestionnaireStatus::Open => "survey_setup.status_open",
        QuestionnaireStatus::Closed => "survey_setup.status_closed",
    }
}

fn unit_label(u: &PeriodUnit) -> String {
    format!("{} — {}", u.unit_code, u.unit_name)
}

fn unit_groups(units: &[PeriodUnit]) -> Vec<String> {
    let groups: BTreeSet<String> = units.iter().map(|u| u.group_code.clone()).collect();
    groups.into_iter().collect()
}

#[derive(Template)]
#[template(path = "survey_setup/periods.html")]
pub struct PeriodsPage {
    pub p: Page,
    pub periods: Vec<Period>,
}

pub struct GroupRow {
    code: String,
    name: String,
    weight: String,
    population: i64,
    target: i64,
    sample: u64,
}

pub struct ProgressRow {
    group: String,
    unit: String,
    count: i64,
    target: i64,
    percent: String,
}

pub struct QuestionnaireRow {
    id: i64,
    group: String,
    version: i64,
    title: String,
    status_class: &'static str,
    status_label: &'static str,
    questions: usize,
    units: usize,
    responses: i64,
}

pub struct Calculator {
    n: String,
    e: String,
    result: Option<u64>,
    error: Option<String>,
}

/// A unit to tick as evaluated by a questionnaire.
pub struct UnitChoice {
    id: i64,
    label: String,
    checked: bool,
}

#[derive(Template)]
#[template(path = "survey_setup/period.html")]
pub struct PeriodPage {
    p: Page,
    period: Period,
    can_manage: bool,
    error: Option<String>,
    open: String,
    close: String,
    groups: Vec<GroupRow>,
    calc: Calculator,
    progress: Vec<ProgressRow>,
    questionnaires: Vec<QuestionnaireRow>,
    units: Vec<UnitChoice>,
    unit_groups: Vec<String>,
}

fn calculator(user: &CurrentUser, q: &PeriodQuery) -> Calculator {
    let n = q.n.as_deref().unwrap_or("").trim().to_owned();
    let e = q.e.as_deref().unwrap_or("5").trim().to_owned();
    let (result, error) = match sample_size_for(&n, &e) {
        None => (None, None),
        Some(Ok(r)) => (Some(r), None),
        Some(Err(m)) => (None, Some(user.ctx.lang.message(&m))),
    };
    Calculator {
        n,
        e,
        result,
        error,
    }
}

impl PeriodPage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        o: SetupOverview,
        q: &PeriodQuery,
        error: Option<String>,
    ) -> PeriodPage {
        let lang = user.ctx.lang;
        let names: BTreeMap<i64, String> = o
            .period_units
            .iter()
            .map(|u| (u.unit_id, unit_label(u)))
            .collect();
        let progress = o
            .progress
            .into_iter()
            .map(|l| ProgressRow {
                percent: if l.target > 0 {
                    format!("{}%", l.count * 100 / l.target)
                } else {
                    "—".to_owned()
                },
                unit: names
                    .get(&l.unit_id)
                    .cloned()
                    .unwrap_or_else(|| format!("#{}", l.unit_id)),
                group: l.group,
                count: l.count,
                target: l.target,
            })
            .collect();
        let questionnaires = o
            .questionnaires
            .into_iter()
            .map(|l| QuestionnaireRow {
                id: l.q.id,
                group: l.q.group_code,
                version: l.q.version,
                title: l.q.title,
                status_class: l.status.code(),
                status_label: lang.t(status_key(l.status)),
                questions: l.questions,
                units: l.units,
                responses: l.responses,
            })
            .collect();
        PeriodPage {
            p: Page::for_user(state, user, "survey_setup.period_title")
                .with_notice(q.ok.as_deref()),
            can_manage: user.can(Action::ManageSurvey),
            error,
            open: date_of(o.period.survey_open_at),
            close: date_of(o.period.survey_close_at),
            groups: o
                .groups
                .iter()
                .map(|g| GroupRow {
                    code: g.code.clone(),
                    name: g.name.clone(),
                    weight: weight_text(g.weight_milli),
                    population: g.population,
                    target: g.target_per_unit,
                    sample: sample_at_five_percent(g),
                })
                .collect(),
            calc: calculator(user, q),
            progress,
            questionnaires,
            units: o
                .period_units
                .iter()
                .map(|u| UnitChoice {
                    id: u.unit_id,
                    label: format!("{} · {}", u.group_code, unit_label(u)),
                    checked: false,
                })
                .collect(),
            unit_groups: unit_groups(&o.period_units),
            period: o.period,
        }
    }
}

pub struct QuestionView {
    code: String,
    text: String,
    leaf_code: String,
    leaf_title: String,
    /// "A: Rất hài lòng (100%)", …
    options: Vec<String>,
}

/// A survey leaf a question may score.
pub struct LeafChoice {
    code: String,
    title: String,
}

#[derive(Template)]
#[template(path = "survey_setup/questionnaire.html")]
pub struct QuestionnairePage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    group_name: String,
    status_class: &'static str,
    status_label: &'static str,
    is_draft: bool,
    is_open: bool,
    is_closed: bool,
    can_manage: bool,
    editable: bool,
    questions: Vec<QuestionView>,
    units: Vec<UnitChoice>,
    unit_groups: Vec<String>,
    evaluated: Vec<String>,
    leaves: Vec<LeafChoice>,
    error: Option<String>,
    problems: Vec<String>,
    draft: QuestionForm,
}

fn option_text(o: &AnswerOption) -> String {
    match o.percent {
        Some(p) => format!(
            "{}: {} ({}%)",
            o.code,
            o.label,
            p.normalize().to_string().replace('.', ",")
        ),
        None => format!("{}: {}", o.code, o.label),
    }
}

/// What a refused change shows on the questionnaire page: the message, its problems, and the
/// question typed (to fill the form again).
#[derive(Default)]
pub struct Refusal {
    pub error: Option<String>,
    pub problems: Vec<String>,
    pub draft: Option<QuestionForm>,
}

impl QuestionnairePage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        l: QuestionnaireSetup,
        ok: Option<&str>,
        refusal: Refusal,
    ) -> QuestionnairePage {
        let can_manage = user.can(Action::ManageSurvey);
        let questions = l
            .doc
            .questions
            .iter()
            .map(|qn| QuestionView {
                code: qn.code.clone(),
                text: qn.text.clone(),
                leaf_code: qn.leaf_code.clone(),
                leaf_title: l.leaves.get(&qn.leaf_code).cloned().unwrap_or_default(),
                options: qn.options.iter().map(option_text).collect(),
            })
            .collect();
        QuestionnairePage {
            p: Page::for_user(state, user, "survey_setup.questionnaire_title").with_notice(ok),
            period_name: l.period.name.clone(),
            group_name: l.group_name,
            status_class: l.status.code(),
            status_label: user.ctx.lang.t(status_key(l.status)),
            is_draft: l.status == QuestionnaireStatus::Draft,
            is_open: l.status == QuestionnaireStatus::Open,
            is_closed: l.status == QuestionnaireStatus::Closed,
            can_manage,
            editable: can_manage && l.status == QuestionnaireStatus::Draft,
            questions,
            units: l
                .period_units
                .iter()
                .map(|u| UnitChoice {
                    id: u.unit_id,
                    label: format!("{} · {}", u.group_code, unit_label(u)),
                    checked: l.units.contains(&u.unit_id),
                })
                .collect(),
            unit_groups: unit_groups(&l.period_units),
            evaluated: l
                .period_units
                .iter()
                .filter(|u| l.units.contains(&u.unit_id))
                .map(unit_label)
                .collect(),
            leaves: l
                .leaves
                .into_iter()
                .map(|(code, title)| LeafChoice { code, title })
                .collect(),
            error: refusal.error,
            problems: refusal.problems,
            draft: refusal.draft.unwrap_or_else(|| QuestionForm {
                options: default_options(user),
                ..QuestionForm::default()
            }),
            q: l.q,
        }
    }
}

/// A printed question with its options.
#[derive(Clone)]
pub struct PrintQuestion {
    code: String,
    text: String,
    options: Vec<PrintOption>,
}

#[derive(Clone)]
pub struct PrintOption {
    code: String,
    label: String,
}

pub struct PrintBlock {
    unit: String,
    questions: Vec<PrintQuestion>,
}

#[derive(Template)]
#[template(path = "survey_setup/print.html")]
pub struct PrintPage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    group_name: String,
    blocks: Vec<PrintBlock>,
}

impl PrintPage {
    pub fn new(state: &AppState, user: &CurrentUser, l: QuestionnaireSetup) -> PrintPage {
        let questions: Vec<PrintQuestion> = l
            .doc
            .questions
            .iter()
            .map(|q| PrintQuestion {
                code: q.code.clone(),
                text: q.text.clone(),
                options: q
                    .options
                    .iter()
                    .map(|o| PrintOption {
                        code: o.code.clone(),
                        label: o.label.clone(),
                    })
                    .collect(),
            })
            .collect();
        let blocks = l
            .period_units
            .iter()
            .filter(|u| l.units.contains(&u.unit_id))
            .map(|u| PrintBlock {
                unit: u.unit_name.clone(),
                questions: questions.clone(),
            })
            .collect();
        PrintPage {
            p: Page::for_user(state, user, "survey_setup.print_title"),
            period_name: l.period.name.clone(),
            group_name: l.group_name,
            blocks,
            q: l.q,
        }
    }
}
