//! Use cases of the survey setup: the period's survey settings, respondent groups and their
//! sampling plan, live progress against the plan, and the questionnaires (mẫu phiếu): drafts
//! with their questions tied to survey leaves, the draft → open → closed life cycle, and new
//! versions.

use std::collections::{BTreeMap, BTreeSet};

use parindex_domain::survey::{
    AnswerOption, Question, QuestionnaireDoc, ResponseAnswers, is_code, sample_size,
};
use parindex_domain::text::{day_start_ms, parse_date_vi};
use parindex_domain::{Action, Actor};
use parindex_store::AuditActor;
use parindex_store::periods::{Period, PeriodUnit};
use parindex_store::survey::{Questionnaire, SurveyGroup};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::App;
use crate::error::{AppError, FieldError, Message};
use crate::survey_scoring::{authorize, authorize_view};

/// A questionnaire's place in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionnaireStatus {
    Draft,
    Open,
    Closed,
}

impl QuestionnaireStatus {
    /// The stored code (`draft`, `open`, `closed`).
    pub fn from_stored(code: &str) -> Option<QuestionnaireStatus> {
        match code {
            "draft" => Some(QuestionnaireStatus::Draft),
            "open" => Some(QuestionnaireStatus::Open),
            "closed" => Some(QuestionnaireStatus::Closed),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            QuestionnaireStatus::Draft => "draft",
            QuestionnaireStatus::Open => "open",
            QuestionnaireStatus::Closed => "closed",
        }
    }

    /// The stored status of a questionnaire.
    pub fn of(q: &Questionnaire) -> Result<QuestionnaireStatus, AppError> {
        QuestionnaireStatus::from_stored(&q.status).ok_or_else(|| {
            AppError::internal(format!("questionnaire {}: status {}", q.id, q.status))
        })
    }
}

/// A change of a questionnaire's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChange {
    /// Draft → open (the questionnaire must be complete).
    Open,
    /// Open → closed.
    Close,
    /// Closed → open.
    Reopen,
}

/// The period's survey settings as typed by the user.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub open: String,
    pub close: String,
    pub min_sample: String,
    /// `None` when neither yes nor no was chosen.
    pub weighted: Option<bool>,
}

/// A respondent group as typed by the user.
#[derive(Debug, Clone, Default)]
pub struct GroupInput {
    pub code: String,
    pub name: String,
    pub weight: String,
    pub population: String,
    pub target: String,
}

/// A questionnaire's title and evaluated units as typed: the ids of the checked `unit_<id>`
/// boxes, or `all_group`, a unit group whose period units are all evaluated.
#[derive(Debug, Clone, Default)]
pub struct TitleUnitsInput {
    pub title: String,
    pub unit_ids: Vec<String>,
    pub all_group: String,
}

/// A question as typed: options one a line, "A|Rất hài lòng|100".
#[derive(Debug, Clone, Default)]
pub struct QuestionInput {
    pub code: String,
    pub text: String,
    pub leaf: String,
    pub options: String,
}

/// A questionnaire of the setup page, with its counts.
#[derive(Debug, Clone)]
pub struct QuestionnaireLine {
    pub q: Questionnaire,
    pub status: QuestionnaireStatus,
    pub questions: usize,
    pub units: usize,
    pub responses: i64,
}

/// Responses collected for one unit from one respondent group, against the plan.
#[derive(Debug, Clone)]
pub struct ProgressLine {
    pub group: String,
    pub unit_id: i64,
    pub count: i64,
    pub target: i64,
}

/// Everything the period's survey setup page shows.
#[derive(Debug)]
pub struct SetupOverview {
    pub period: Period,
    pub period_units: Vec<PeriodUnit>,
    pub groups: Vec<SurveyGroup>,
    pub questionnaires: Vec<QuestionnaireLine>,
    pub progress: Vec<ProgressLine>,
}

/// One questionnaire with what its page needs.
#[derive(Debug)]
pub struct QuestionnaireSetup {
    pub q: Questionnaire,
    pub status: QuestionnaireStatus,
    pub period: Period,
    pub period_units: Vec<PeriodUnit>,
    /// The evaluated units' ids.
    pub units: Vec<i64>,
    pub doc: QuestionnaireDoc,
    /// The survey leaves (code → title) of the evaluated units' sets.
    pub leaves: BTreeMap<String, String>,
    pub group_name: String,
}

fn refuse(message: Message) -> AppError {
    AppError::invalid(message)
}

fn stale(key: &'static str) -> AppError {
    AppError::Conflict {
        message: Message::key(key),
        current_version: None,
    }
}

/// Refused with a list of problems (each its own line under the message).
fn with_problems(key: &'static str, problems: Vec<Message>) -> AppError {
    AppError::Invalid {
        message: Message::key(key),
        fields: problems
            .into_iter()
            .map(|message| FieldError {
                field: String::new(),
                message,
            })
            .collect(),
    }
}

/// A whole number typed by the user; `key` names the field in its message (`{min}`, `{max}`).
fn parse_count(text: &str, key: &'static str, min: i64, max: i64) -> Result<i64, AppError> {
    let t = text.trim();
    let value = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<i64>().ok()
    } else {
        None
    };
    match value {
        Some(v) if (min..=max).contains(&v) => Ok(v),
        _ => Err(refuse(
            Message::key(key)
                .arg("min", min.to_string())
                .arg("max", max.to_string()),
        )),
    }
}

/// A decimal typed with a decimal comma ("1,5"); a dot is refused (it reads as a thousands
/// separator in Vietnamese).
pub fn parse_decimal_comma(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || t.contains('.') {
        return None;
    }
    Decimal::from_str_exact(&t.replace(',', ".")).ok()
}

/// The sample-size helper: n for a population `n` and a margin `e` in percent ("5", "2,5").
/// `None` when no population was typed.
pub fn sample_size_for(n: &str, e: &str) -> Option<Result<u64, Message>> {
    let n = n.trim();
    if n.is_empty() {
        return None;
    }
    let population = n
        .parse::<u64>()
        .ok()
        .filter(|_| n.bytes().all(|b| b.is_ascii_digit()))
        .filter(|p| *p <= 1_000_000_000);
    let margin = parse_decimal_comma(e)
        .filter(|m| *m > Decimal::ZERO && *m <= Decimal::from(50))
        .map(|m| m / Decimal::ONE_HUNDRED);
    Some(match (population, margin) {
        (Some(p), Some(m)) => Ok(sample_size(p, m)),
        (None, _) => Err(Message::key("survey_setup.calc_bad_population")),
        (_, None) => Err(Message::key("survey_setup.calc_bad_margin")),
    })
}

/// The sample size of a group at e = 5%.
pub fn sample_at_five_percent(group: &SurveyGroup) -> u64 {
    sample_size(
        u64::try_from(group.population).unwrap_or(0),
        Decimal::new(5, 2),
    )
}

fn parse_settings(
    input: &SettingsInput,
) -> Result<(Option<i64>, Option<i64>, i64, bool), AppError> {
    let date = |text: &str, key: &'static str| -> Result<Option<time::Date>, AppError> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        parse_date_vi(t)
            .map(Some)
            .ok_or_else(|| refuse(Message::key(key)))
    };
    let open = date(&input.open, "survey_setup.bad_open_date")?;
    let close = date(&input.close, "survey_setup.bad_close_date")?;
    if let (Some(o), Some(c)) = (open, close)
        && c < o
    {
        return Err(refuse(Message::key("survey_setup.close_before_open")));
    }
    let min_sample = parse_count(
        &input.min_sample,
        "survey_setup.count_min_sample",
        1,
        1_000_000,
    )?;
    let weighted = input
        .weighted
        .ok_or_else(|| refuse(Message::key("survey_setup.choose_weighted")))?;
    Ok((
        open.map(day_start_ms),
        close.map(|d| day_start_ms(d) + 86_400_000 - 1),
        min_sample,
        weighted,
    ))
}

struct ParsedGroup {
    code: String,
    name: String,
    weight_milli: i64,
    population: i64,
    target: i64,
}

fn parse_group(input: &GroupInput) -> Result<ParsedGroup, AppError> {
    let code = input.code.trim().to_owned();
    if !is_code(&code) {
        return Err(refuse(Message::key("survey_setup.bad_group_code")));
    }
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() || name.chars().count() > 200 {
        return Err(refuse(Message::key("survey_setup.bad_group_name")));
    }
    let weight = parse_decimal_comma(&input.weight)
        .filter(|w| *w > Decimal::ZERO && *w <= Decimal::from(1000))
        .filter(|w| w.normalize().scale() <= 3)
        .ok_or_else(|| refuse(Message::key("survey_setup.bad_weight")))?;
    let weight_milli = (weight * Decimal::from(1000))
        .to_i64()
        .ok_or_else(|| refuse(Message::key("survey_setup.bad_weight_value")))?;
    let population = parse_count(
        &input.population,
        "survey_setup.count_population",
        0,
        1_000_000_000,
    )?;
    let target = parse_count(&input.target, "survey_setup.count_target", 0, 1_000_000)?;
    Ok(ParsedGroup {
        code,
        name,
        weight_milli,
        population,
        target,
    })
}

/// The title and the evaluated units of a questionnaire form.
fn parse_title_units(
    input: &TitleUnitsInput,
    period_units: &[PeriodUnit],
) -> Result<(String, Vec<i64>), AppError> {
    let title = input.title.split_whitespace().collect::<Vec<_>>().join(" ");
    if title.is_empty() || title.chars().count() > 300 {
        return Err(refuse(Message::key("survey_setup.bad_title")));
    }
    let mut units = BTreeSet::new();
    for id in &input.unit_ids {
        let id: i64 = id
            .parse()
            .map_err(|_| refuse(Message::key("survey_setup.bad_unit")))?;
        if !period_units.iter().any(|u| u.unit_id == id) {
            return Err(refuse(Message::key("survey_setup.unit_not_in_period")));
        }
        units.insert(id);
    }
    let all_group = input.all_group.trim();
    if !all_group.is_empty() {
        let of_group: Vec<i64> = period_units
            .iter()
            .filter(|u| u.group_code == all_group)
            .map(|u| u.unit_id)
            .collect();
        if of_group.is_empty() {
            return Err(refuse(
                Message::key("survey_setup.no_unit_of_group").arg("group", all_group),
            ));
        }
        units.extend(of_group);
    }
    if units.is_empty() {
        return Err(refuse(Message::key("survey_setup.choose_units")));
    }
    Ok((title, units.into_iter().collect()))
}

/// Parses the option lines "A|Rất hài lòng|100"; an empty value is "don't know".
fn parse_options(text: &str) -> Result<Vec<AnswerOption>, AppError> {
    let mut options = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let n = (i + 1).to_string();
        let parts: Vec<&str> = line.split('|').map(str::trim).collect();
        let [code, label, value] = parts[..] else {
            return Err(refuse(
                Message::key("survey_setup.option_shape").arg("n", n),
            ));
        };
        if !is_code(code) {
            return Err(refuse(
                Message::key("survey_setup.option_code")
                    .arg("n", n)
                    .arg("code", code),
            ));
        }
        if label.is_empty() {
            return Err(refuse(
                Message::key("survey_setup.option_label").arg("n", n),
            ));
        }
        let percent = if value.is_empty() {
            None
        } else {
            Some(parse_decimal_comma(value).ok_or_else(|| {
                refuse(
                    Message::key("survey_setup.option_value")
                        .arg("n", n.clone())
                        .arg("value", value),
                )
            })?)
        };
        options.push(AnswerOption {
            code: code.to_owned(),
            label: label.to_owned(),
            percent,
        });
    }
    if options.len() < 2 {
        return Err(refuse(Message::key("survey_setup.two_options")));
    }
    Ok(options)
}

fn decode_doc(q: &Questionnaire) -> Result<QuestionnaireDoc, AppError> {
    serde_json::from_str(&q.definition)
        .map_err(|e| AppError::internal(format!("questionnaire {} definition: {e}", q.id)))
}

fn encode_doc(doc: &QuestionnaireDoc) -> Result<String, AppError> {
    serde_json::to_string(doc).map_err(AppError::internal)
}

impl App {
    /// The survey leaves (code → title) of the sets of the given units' groups.
    async fn survey_leaves(
        &self,
        period_id: i64,
        period_units: &[PeriodUnit],
        unit_ids: &[i64],
    ) -> Result<BTreeMap<String, String>, AppError> {
        let groups: BTreeSet<&str> = period_units
            .iter()
            .filter(|u| unit_ids.contains(&u.unit_id))
            .map(|u| u.group_code.as_str())
            .collect();
        let mut leaves = BTreeMap::new();
        for group in groups {
            let set = match self.set_for_group(period_id, group).await {
                Ok(set) => set,
                Err(AppError::NotFound) => continue,
                Err(e) => return Err(e),
            };
            for node in set.leaves().filter(|n| n.is_survey()) {
                leaves
                    .entry(node.code.clone())
                    .or_insert_with(|| node.title.clone());
            }
        }
        Ok(leaves)
    }

    /// The periods, for the survey's entry page.
    pub async fn survey_periods(&self, actor: &Actor) -> Result<Vec<Period>, AppError> {
        authorize_view(actor)?;
        Ok(self.store.list_periods().await?)
    }

    /// The period's survey setup: settings, groups, questionnaires and progress.
    pub async fn survey_setup(
        &self,
        actor: &Actor,
        period_id: i64,
    ) -> Result<SetupOverview, AppError> {
        authorize_view(actor)?;
        let period = self.store.get_period(period_id).await?;
        let period_units = self.store.period_units(period_id).await?;
        let groups = self.store.survey_groups(period_id).await?;
        let stored = self.store.questionnaires(period_id).await?;
        let responses = self.store.period_survey_responses(period_id).await?;

        // Counted answers per (group, unit) and responses per questionnaire.
        let mut per_unit: BTreeMap<(String, i64), i64> = BTreeMap::new();
        let mut per_questionnaire: BTreeMap<i64, i64> = BTreeMap::new();
        for r in responses.iter().filter(|r| r.counts()) {
            *per_questionnaire.entry(r.questionnaire_id).or_default() += 1;
            if let Some(answers) = ResponseAnswers::decode(&r.answers) {
                for (unit, a) in &answers.0 {
                    if !a.is_empty() {
                        *per_unit.entry((r.group_code.clone(), *unit)).or_default() += 1;
                    }
                }
            }
        }

        let mut evaluated: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        let mut questionnaires = Vec::new();
        for qn in stored {
            let units = self.store.questionnaire_units(qn.id).await?;
            evaluated
                .entry(qn.group_code.clone())
                .or_default()
                .extend(units.iter().copied());
            questionnaires.push(QuestionnaireLine {
                status: QuestionnaireStatus::of(&qn)?,
                questions: decode_doc(&qn).map(|d| d.questions.len()).unwrap_or(0),
                units: units.len(),
                responses: per_questionnaire.get(&qn.id).copied().unwrap_or(0),
                q: qn,
            });
        }
        for (group, unit) in per_unit.keys() {
            evaluated.entry(group.clone()).or_default().insert(*unit);
        }
        let mut progress = Vec::new();
        for g in &groups {
            for unit in evaluated.get(&g.code).into_iter().flatten() {
                progress.push(ProgressLine {
                    group: g.code.clone(),
                    unit_id: *unit,
                    count: per_unit.get(&(g.code.clone(), *unit)).copied().unwrap_or(0),
                    target: g.target_per_unit,
                });
            }
        }
        Ok(SetupOverview {
            period,
            period_units,
            groups,
            questionnaires,
            progress,
        })
    }

    /// Saves the period's survey window, minimum sample and weighting.
    pub async fn save_survey_settings(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        period_id: i64,
        input: &SettingsInput,
    ) -> Result<(), AppError> {
        authorize(actor, Action::ManageSurvey)?;
        self.store.get_period(period_id).await?;
        let (open, close, min_sample, weighted) = parse_settings(input)?;
        let mut tx = self.store.begin_write(audit.clone()).await?;
        tx.save_survey_settings(period_id, open, close, min_sample, weighted)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates or changes (by its code) a respondent group of the period.
    pub async fn save_survey_group(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        period_id: i64,
        input: &GroupInput,
    ) -> Result<(), AppError> {
        authorize(actor, Action::ManageSurvey)?;
        self.store.get_period(period_id).await?;
        let g = parse_group(input)?;
        let mut tx = self.store.begin_write(audit.clone()).await?;
        tx.save_survey_group(
            period_id,
            &g.code,
            &g.name,
            g.weight_milli,
            g.population,
            g.target,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates an empty draft questionnaire for a respondent group; returns its id.
    pub async fn create_questionnaire(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        period_id: i64,
        group_code: &str,
        input: &TitleUnitsInput,
    ) -> Result<i64, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        self.store.get_period(period_id).await?;
        let period_units = self.store.period_units(period_id).await?;
        let groups = self.store.survey_groups(period_id).await?;
        let Some(group) = groups.iter().find(|g| g.code == group_code.trim()) else {
            return Err(refuse(Message::key("survey_setup.choose_group")));
        };
        let (title, units) = parse_title_units(input, &period_units)?;
        let definition = encode_doc(&QuestionnaireDoc::default())?;
        let mut tx = self.store.begin_write(audit.clone()).await?;
        let qid = tx
            .create_questionnaire(period_id, group.id, &title, &definition, &units)
            .await?;
        tx.commit().await?;
        Ok(qid)
    }

    async fn load_questionnaire(&self, qid: i64) -> Result<QuestionnaireSetup, AppError> {
        let q = self.store.questionnaire(qid).await?;
        let period = self.store.get_period(q.period_id).await?;
        let period_units = self.store.period_units(q.period_id).await?;
        let units = self.store.questionnaire_units(qid).await?;
        let doc = decode_doc(&q)?;
        let leaves = self
            .survey_leaves(q.period_id, &period_units, &units)
            .await?;
        let group_name = self
            .store
            .survey_groups(q.period_id)
            .await?
            .into_iter()
            .find(|g| g.id == q.group_id)
            .map(|g| g.name)
            .unwrap_or_default();
        Ok(QuestionnaireSetup {
            status: QuestionnaireStatus::of(&q)?,
            q,
            period,
            period_units,
            units,
            doc,
            leaves,
            group_name,
        })
    }

    /// One questionnaire with its questions, units and the leaves they may score.
    pub async fn questionnaire_setup(
        &self,
        actor: &Actor,
        qid: i64,
    ) -> Result<QuestionnaireSetup, AppError> {
        authorize_view(actor)?;
        self.load_questionnaire(qid).await
    }

    /// A draft questionnaire, for a change; refused once it is open or closed.
    async fn draft_questionnaire(
        &self,
        actor: &Actor,
        qid: i64,
    ) -> Result<QuestionnaireSetup, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let l = self.load_questionnaire(qid).await?;
        if l.status != QuestionnaireStatus::Draft {
            return Err(refuse(Message::key("survey_setup.frozen")));
        }
        Ok(l)
    }

    async fn store_questionnaire(
        &self,
        audit: &AuditActor,
        qid: i64,
        title: &str,
        doc: &QuestionnaireDoc,
        units: &[i64],
    ) -> Result<(), AppError> {
        let definition = encode_doc(doc)?;
        let mut tx = self.store.begin_write(audit.clone()).await?;
        tx.update_questionnaire(qid, title, &definition, units)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Adds a question to a draft questionnaire.
    pub async fn add_question(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        input: &QuestionInput,
    ) -> Result<(), AppError> {
        let l = self.draft_questionnaire(actor, qid).await?;
        let code = input.code.trim().to_owned();
        let text = input.text.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() > 2000 {
            return Err(refuse(Message::key("survey_setup.question_too_long")));
        }
        if l.doc.question(&code).is_some() {
            return Err(refuse(
                Message::key("survey_setup.question_exists").arg("code", code),
            ));
        }
        let question = Question {
            code,
            text,
            leaf_code: input.leaf.trim().to_owned(),
            options: parse_options(&input.options)?,
        };
        let leaf_codes: BTreeSet<String> = l.leaves.keys().cloned().collect();
        let alone = QuestionnaireDoc {
            questions: vec![question.clone()],
        };
        if let Err(problems) = alone.validate(&leaf_codes) {
            let problems = problems.into_iter().map(Message::Text).collect();
            return Err(with_problems("survey_setup.question_invalid", problems));
        }
        let mut doc = l.doc;
        doc.questions.push(question);
        self.store_questionnaire(audit, qid, &l.q.title, &doc, &l.units)
            .await
    }

    /// Removes a question from a draft questionnaire.
    pub async fn remove_question(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        code: &str,
    ) -> Result<(), AppError> {
        let l = self.draft_questionnaire(actor, qid).await?;
        let mut doc = l.doc;
        let before = doc.questions.len();
        doc.questions.retain(|q| q.code != code);
        if doc.questions.len() == before {
            return Err(AppError::NotFound);
        }
        self.store_questionnaire(audit, qid, &l.q.title, &doc, &l.units)
            .await
    }

    /// Changes the title and the evaluated units of a draft questionnaire.
    pub async fn update_questionnaire(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        input: &TitleUnitsInput,
    ) -> Result<(), AppError> {
        let l = self.draft_questionnaire(actor, qid).await?;
        let (title, units) = parse_title_units(input, &l.period_units)?;
        self.store_questionnaire(audit, qid, &title, &l.doc, &units)
            .await
    }

    /// Opens, closes or reopens a questionnaire; opening needs a complete questionnaire.
    pub async fn set_questionnaire_status(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        change: Option<StatusChange>,
    ) -> Result<(), AppError> {
        use QuestionnaireStatus::{Closed, Draft, Open};
        authorize(actor, Action::ManageSurvey)?;
        let l = self.load_questionnaire(qid).await?;
        let Some(change) = change else {
            return Err(refuse(Message::key("survey_setup.bad_action")));
        };
        let (from, to, refusal) = match change {
            StatusChange::Open => (Draft, Open, "survey_setup.open_only_draft"),
            StatusChange::Close => (Open, Closed, "survey_setup.close_only_open"),
            StatusChange::Reopen => (Closed, Open, "survey_setup.reopen_only_closed"),
        };
        if l.status != from {
            return Err(stale(refusal));
        }
        if from == Draft {
            let leaf_codes: BTreeSet<String> = l.leaves.keys().cloned().collect();
            let mut problems: Vec<Message> = (l.doc.validate(&leaf_codes).err())
                .unwrap_or_default()
                .into_iter()
                .map(Message::Text)
                .collect();
            if l.units.is_empty() {
                problems.push(Message::key("survey_setup.no_evaluated_unit"));
            }
            if !problems.is_empty() {
                return Err(with_problems("survey_setup.cannot_open", problems));
            }
        }
        let mut tx = self.store.begin_write(audit.clone()).await?;
        tx.set_questionnaire_status(qid, from.code(), to.code())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new draft version of a questionnaire, with its questions and units; returns its id.
    pub async fn new_questionnaire_version(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
    ) -> Result<i64, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let l = self.load_questionnaire(qid).await?;
        let definition = encode_doc(&l.doc)?;
        let mut tx = self.store.begin_write(audit.clone()).await?;
        let new_id = tx
            .create_questionnaire(
                l.q.period_id,
                l.q.group_id,
                &l.q.title,
                &definition,
                &l.units,
            )
            .await?;
        tx.commit().await?;
        Ok(new_id)
    }
}
