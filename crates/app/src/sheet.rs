//! Use cases of a unit's sheet: load it, save a leaf (self-assessment and appraisal share one
//! pipeline), submit it, and the data of its report.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parindex_domain::appraisal::{Refusal, check_appraisal_write, score_changed};
use parindex_domain::index_set::Node;
use parindex_domain::rules::{LeafInput, LeafScore, LeafSource, RuleSpec};
use parindex_domain::survey::LeafSurveyScore;
use parindex_domain::text::datetime_vi;
use parindex_domain::workflow::{
    LeafStatus, Missing, SelfAssessmentWindow, SelfWriteRefusal, check_self_write, completeness,
};
use parindex_domain::{Access, Action, Actor, IndexSet, Points, Role};
use parindex_store::appraisal::{AppraisalWrite, ExternalValue};
use parindex_store::evidence_library::{Citation, EvidenceFile};
use parindex_store::periods::{LeafEntry, LeafEntryWrite, Period, PeriodUnit};
use parindex_store::{AuditActor, StoreError};

use crate::App;
use crate::error::{AppError, Message};
use crate::evaluation::{LoadedSet, UnitEvaluation, is_assigned, is_self_assessed};

/// Who asks: the actor the policy judges and the name the audit log records.
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub audit: AuditActor,
}

impl Caller {
    /// Asks the policy; a refusal is forbidden, or not found for an object outside the scope.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        match self.actor.may(action) {
            Access::Allowed => Ok(()),
            Access::Forbidden => Err(AppError::Forbidden(None)),
            Access::NotFound => Err(AppError::NotFound),
        }
    }

    /// Whether the policy allows `action` (for showing links and forms).
    pub fn can(&self, action: Action) -> bool {
        self.actor.may(action) == Access::Allowed
    }

    pub fn user_id(&self) -> i64 {
        self.actor.user_id
    }

    pub fn role(&self) -> Role {
        self.actor.role()
    }
}

/// Everything a sheet shows, loaded once.
pub struct Sheet {
    pub period: Period,
    pub unit: PeriodUnit,
    pub set: Arc<LoadedSet>,
    pub entries: HashMap<String, LeafEntry>,
    pub citations: Vec<Citation>,
    pub library: Vec<EvidenceFile>,
    /// External values of the unit, by leaf code.
    pub external: HashMap<String, ExternalValue>,
    /// The survey's current result for this unit's survey leaves.
    pub survey: HashMap<String, LeafSurveyScore>,
    /// Why the unit may not write on its sheet now, if so.
    pub refusal: Option<Message>,
}

impl Sheet {
    /// The self-assessment deadline (the extension included).
    pub fn deadline(&self) -> i64 {
        window_of(&self.period, &self.unit).deadline()
    }

    /// The leaves of the set that apply to the unit's group, in tree order.
    pub fn applicable_leaves(&self) -> impl Iterator<Item = &Node> + '_ {
        let set = &self.set.set;
        set.leaves().filter(move |leaf| {
            set.index_of(&leaf.code)
                .is_some_and(|i| set.applies_to_group(i, &self.unit.group_code))
        })
    }

    /// What is missing before the unit may submit.
    pub fn missing(&self) -> Missing {
        let inputs: HashMap<&str, LeafInput> = self
            .entries
            .iter()
            .filter_map(|(code, e)| {
                serde_json::from_str(&e.input_json)
                    .ok()
                    .map(|i| (code.as_str(), i))
            })
            .collect();
        let statuses = self
            .applicable_leaves()
            .map(|leaf| LeafStatus {
                code: &leaf.code,
                self_assessed: is_self_assessed(leaf),
                input: inputs.get(leaf.code.as_str()),
                has_evidence: self.citations.iter().any(|c| c.leaf_code == leaf.code),
                has_note: self
                    .entries
                    .get(&leaf.code)
                    .is_some_and(|e| !e.note.trim().is_empty()),
            })
            .collect::<Vec<_>>();
        completeness(statuses)
    }

    /// The unit's own total: the sum of its stored leaf scores.
    pub fn self_total(&self) -> Points {
        Points::from_millipoints(self.entries.values().filter_map(|e| e.score_milli).sum())
    }
}

/// The self-assessment window of a unit in a period.
pub fn window_of(period: &Period, unit: &PeriodUnit) -> SelfAssessmentWindow {
    SelfAssessmentWindow {
        opens_at: period.self_open_at,
        closes_at: period.self_close_at,
        extension_until: unit.extension_until,
        submitted_at: unit.submitted_at,
    }
}

fn self_refusal(r: &SelfWriteRefusal) -> Message {
    Message::Text(r.message_vi(datetime_vi))
}

/// Whether the unit may write on its sheet now: the period still in self-assessment, the
/// window open, the sheet not submitted. The early check; the write repeats it inside its
/// transaction (`claim_self_assessment`).
pub fn self_write_check(period: &Period, unit: &PeriodUnit, now: i64) -> Result<(), Message> {
    check_self_write(period.stage, &window_of(period, unit), now).map_err(|r| self_refusal(&r))
}

/// A refusal of the appraisal workflow: a missing remark or a cap is the input to fix,
/// anything else is not allowed now.
pub fn refusal_error(r: Refusal) -> AppError {
    match r {
        Refusal::RemarkRequired | Refusal::OverCap { .. } => AppError::invalid(r.to_string()),
        _ => AppError::forbidden(r.to_string()),
    }
}

/// Why the unit may not write on a leaf (enter facts, attach evidence).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeafRefusal {
    /// Not a leaf of the unit's set: answered as not found, like any unknown object.
    Missing,
    /// A leaf of an index that does not apply to the unit's group.
    NotForGroup,
    /// A survey or external leaf: read-only for the unit.
    ReadOnly,
}

impl From<LeafRefusal> for AppError {
    fn from(r: LeafRefusal) -> AppError {
        match r {
            LeafRefusal::Missing => AppError::NotFound,
            LeafRefusal::NotForGroup => AppError::invalid(Message::key("sheet.not_for_group")),
            LeafRefusal::ReadOnly => AppError::forbidden(Message::key("sheet.read_only_leaf")),
        }
    }
}

/// The leaf `code` of `set` if the unit of `group_code` may write on it: a leaf, of an index
/// applying to the group, scored by the unit itself. One place for the sheet and the evidence.
pub fn writable_leaf<'a>(
    set: &'a IndexSet,
    group_code: &str,
    code: &str,
) -> Result<(&'a Node, &'a RuleSpec), LeafRefusal> {
    let node = set
        .node(code)
        .filter(|n| n.is_leaf())
        .ok_or(LeafRefusal::Missing)?;
    let index = set.index_of(code).ok_or(LeafRefusal::Missing)?;
    if !set.applies_to_group(index, group_code) {
        return Err(LeafRefusal::NotForGroup);
    }
    let rule = node.rule.as_ref().ok_or(LeafRefusal::Missing)?;
    if !matches!(rule.source(), LeafSource::SelfAssessed) {
        return Err(LeafRefusal::ReadOnly);
    }
    Ok((node, rule))
}

/// Turns the typed fields into the facts the leaf's rule asks for.
pub fn parse_input(
    rule: &RuleSpec,
    fields: &BTreeMap<String, String>,
) -> Result<LeafInput, Message> {
    let field = |name: &str| fields.get(name).map(|v| v.trim()).unwrap_or("");
    if fields.contains_key("na") {
        let reason = field("na_reason")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(LeafInput::NotApplicable { reason });
    }
    let decimal = |name: &str, label: String| -> Result<rust_decimal::Decimal, Message> {
        let text = field(name);
        if text.is_empty() {
            return Err(Message::key("sheet.input_missing").arg("label", label));
        }
        Points::parse(text).map(|p| p.value()).ok_or_else(|| {
            Message::key("sheet.input_not_number")
                .arg("label", label)
                .arg("text", text)
        })
    };
    match rule {
        RuleSpec::Binary => match field("value") {
            "yes" => Ok(LeafInput::YesNo(true)),
            "no" => Ok(LeafInput::YesNo(false)),
            _ => Err(Message::key("sheet.input_choose_yes_no")),
        },
        RuleSpec::TieredPercent { .. }
        | RuleSpec::Proportional { .. }
        | RuleSpec::ProportionalFloor { .. } => Ok(LeafInput::Ratio {
            numerator: decimal("numerator", NUMERATOR_LABEL.to_owned())?,
            denominator: decimal("denominator", DENOMINATOR_LABEL.to_owned())?,
        }),
        RuleSpec::CountTiered { .. } | RuleSpec::Deduction { .. } => {
            let text = field("count");
            parindex_domain::points::parse_count(text)
                .map(LeafInput::Count)
                .ok_or_else(|| Message::key("sheet.input_bad_count").arg("text", text))
        }
        RuleSpec::Formula { variables, .. } => {
            let mut vars = BTreeMap::new();
            for v in variables {
                let label = if v.label.is_empty() {
                    v.name.clone()
                } else {
                    v.label.clone()
                };
                vars.insert(v.name.clone(), decimal(&format!("var_{}", v.name), label)?);
            }
            Ok(LeafInput::Variables(vars))
        }
        RuleSpec::Survey | RuleSpec::External { .. } => Err(Message::key("sheet.input_not_self")),
    }
}

// Labels of the ratio's two numbers, put into the messages above (the sheet's forms name
// them in Vietnamese, like the rule texts of the set).
const NUMERATOR_LABEL: &str = "tử số (số đạt)";
const DENOMINATOR_LABEL: &str = "mẫu số (tổng số)";

/// Which side saves a leaf, with what only that side gives.
#[derive(Debug, Clone)]
pub enum LeafSide {
    /// The unit's self-assessment, with its note (explanation of the facts).
    SelfAssessment { note: String },
    /// An appraiser in the open round, with a remark, the "needs explanation" flag, and
    /// whether the unit's own facts are accepted as they are.
    Appraisal {
        remark: String,
        flag: bool,
        accept: bool,
    },
}

/// A save of one leaf: its typed facts and the version the user saw.
#[derive(Debug, Clone)]
pub struct LeafSave {
    pub period_id: i64,
    pub unit_id: i64,
    pub code: String,
    /// The version the form was loaded with; None when missing or unreadable.
    pub version: Option<i64>,
    /// The typed fields (`value`, `numerator`, `var_a`, `na`, …).
    pub fields: BTreeMap<String, String>,
    pub side: LeafSide,
}

/// What a save stored.
#[derive(Debug, Clone)]
pub struct SavedLeaf {
    pub version: i64,
    pub score: LeafScore,
    pub max: Points,
}

/// Longest note or remark kept.
const MAX_NOTE_CHARS: usize = 10_000;

/// A leaf as its last writer left it, for a conflict message.
#[derive(Debug, Clone)]
pub struct CurrentLeaf {
    pub entry: LeafEntry,
    /// The full name of who saved it last (empty if unknown).
    pub by: String,
}

impl App {
    /// A unit's place in a period and the published set of its group.
    pub async fn unit_set(
        &self,
        period_id: i64,
        unit_id: i64,
    ) -> Result<(Period, PeriodUnit, Arc<LoadedSet>), AppError> {
        let period = self.store.get_period(period_id).await?;
        let unit = self.store.period_unit(period_id, unit_id).await?;
        let set = self.set_for_group(period_id, &unit.group_code).await?;
        Ok((period, unit, set))
    }

    /// An appraiser reads a unit's sheet and report only on a unit assigned to them in the
    /// period (any node of it); elsewhere the unit is not found. Other roles: the policy alone.
    pub async fn require_assignment_if_appraiser(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<(), AppError> {
        if caller.role() != Role::Appraiser {
            return Ok(());
        }
        let mine = self
            .store
            .assignments_of(period_id, caller.user_id())
            .await?;
        if mine.iter().any(|a| a.unit_id == unit_id) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }

    /// A unit's sheet, for who may read it.
    pub async fn load_sheet(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Sheet, AppError> {
        caller.require(Action::ViewSelfAssessment { unit_id })?;
        self.require_assignment_if_appraiser(caller, period_id, unit_id)
            .await?;
        let (period, unit, set) = self.unit_set(period_id, unit_id).await?;
        let entries = self
            .store
            .leaf_entries(period_id, unit_id)
            .await?
            .into_iter()
            .map(|e| (e.leaf_code.clone(), e))
            .collect();
        let citations = self.store.citations(period_id, unit_id).await?;
        let library = self.store.unit_evidence(unit_id).await?;
        let external = self
            .store
            .external_values(period_id, Some(unit_id))
            .await?
            .into_iter()
            .map(|v| (v.leaf_code.clone(), v))
            .collect();
        let survey = self
            .period_survey(period_id)
            .await?
            .of_unit(unit_id)
            .into_iter()
            .map(|(code, s)| (code, s.clone()))
            .collect();
        let refusal = self_write_check(&period, &unit, self.now_ms()).err();
        Ok(Sheet {
            period,
            unit,
            set,
            entries,
            citations,
            library,
            external,
            survey,
            refusal,
        })
    }

    /// The period a unit user starts in: their unit's newest (None for other roles).
    pub async fn my_sheet(&self, caller: &Caller) -> Result<Option<(i64, i64)>, AppError> {
        let Some(unit_id) = caller.actor.unit_restriction() else {
            return Ok(None);
        };
        match self.store.periods_of_unit(unit_id).await?.first() {
            Some(p) => Ok(Some((p.id, unit_id))),
            None => Err(AppError::invalid(Message::key("sheet.no_period"))),
        }
    }

    /// A leaf as stored now, with who saved it (after a conflict).
    pub async fn current_leaf(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        code: &str,
    ) -> Result<Option<CurrentLeaf>, AppError> {
        caller.require(Action::ViewSelfAssessment { unit_id })?;
        let Some(entry) = self.store.leaf_entry(period_id, unit_id, code).await? else {
            return Ok(None);
        };
        let by = match entry.updated_by {
            Some(id) => self.store.get_user(id).await?.full_name,
            None => String::new(),
        };
        Ok(Some(CurrentLeaf { entry, by }))
    }

    /// Saves one leaf, for the unit (self-assessment) or an appraiser (the open round). One
    /// pipeline: the policy, the stage and window, the leaf, the rule's input, the score the
    /// set computes, the remark rule, then one transaction that re-reads the stage (for the
    /// unit) and writes the value with its history and audit record if nobody saved it since
    /// the version the user saw (else a conflict with the current version).
    pub async fn save_leaf(&self, caller: &Caller, save: LeafSave) -> Result<SavedLeaf, AppError> {
        let LeafSave {
            period_id,
            unit_id,
            code,
            version,
            fields,
            side,
        } = save;
        match &side {
            LeafSide::SelfAssessment { .. } => {
                caller.require(Action::EditSelfAssessment { unit_id })?
            }
            LeafSide::Appraisal { .. } => caller.require(Action::AppraiseUnit { unit_id })?,
        }
        let ev = UnitEvaluation::load(self, period_id, unit_id).await?;
        let now = self.now_ms();
        let (node, input, round) = match &side {
            LeafSide::SelfAssessment { .. } => {
                self_write_check(&ev.period, &ev.unit, now).map_err(AppError::forbidden)?;
                let (node, rule) = writable_leaf(&ev.set, &ev.unit.group_code, &code)?;
                if version.is_none() {
                    return Err(AppError::invalid(Message::key("sheet.no_version")));
                }
                (
                    node,
                    parse_input(rule, &fields).map_err(AppError::invalid)?,
                    None,
                )
            }
            LeafSide::Appraisal {
                remark,
                flag,
                accept,
            } => {
                let node = self.appraisable_leaf(caller, &ev, &code).await?;
                // The stage and the flag first: nothing else matters outside an open round.
                check_appraisal_write(ev.stage, ev.rounds, *flag, false, remark)
                    .map_err(refusal_error)?;
                let input = if *accept {
                    ev.entries
                        .get(&code)
                        .and_then(|e| serde_json::from_str::<LeafInput>(&e.input_json).ok())
                        .ok_or_else(|| AppError::invalid(Message::key("appraisal.no_self_input")))?
                } else {
                    let rule = node.rule.as_ref().ok_or_else(|| {
                        AppError::invalid(Message::key("appraisal.not_appraisable"))
                    })?;
                    parse_input(rule, &fields).map_err(AppError::invalid)?
                };
                (node, input, Some(()))
            }
        };
        let score = ev
            .set
            .evaluate(&code, &input)
            .map_err(|e| AppError::invalid(e.to_string()))?;
        let text = match &side {
            LeafSide::SelfAssessment { note } => note,
            LeafSide::Appraisal { remark, .. } => remark,
        };
        if text.chars().count() > MAX_NOTE_CHARS {
            return Err(AppError::invalid(Message::key("sheet.note_too_long")));
        }
        let round = match (&side, round) {
            (LeafSide::Appraisal { remark, flag, .. }, Some(())) => {
                let changed = score_changed(ev.self_score(&code).as_ref(), &score);
                Some(
                    check_appraisal_write(ev.stage, ev.rounds, *flag, changed, remark)
                        .map_err(refusal_error)?,
                )
            }
            _ => None,
        };
        let version = version.ok_or_else(|| AppError::invalid(Message::key("sheet.no_version")))?;
        let score_milli = match score.points {
            Some(p) => Some(
                p.to_millipoints()
                    .ok_or_else(|| AppError::internal("score finer than storage"))?,
            ),
            None => None,
        };
        let input_json = serde_json::to_string(&input).map_err(AppError::internal)?;
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        let saved = match (&side, round) {
            (LeafSide::SelfAssessment { note }, _) => {
                // The body may have taken a while: the submission and deadline are read again.
                if let Err(refused) = tx.claim_self_assessment(period_id, unit_id).await? {
                    return Err(AppError::forbidden(self_refusal(&refused)));
                }
                let write = LeafEntryWrite {
                    input_json,
                    score_milli,
                    not_applicable: score.points.is_none(),
                    explanation: score.explanation.clone(),
                    note: note.clone(),
                };
                tx.save_leaf_entry(period_id, unit_id, &code, version, &write)
                    .await
            }
            (LeafSide::Appraisal { remark, flag, .. }, Some(k)) => {
                let write = AppraisalWrite {
                    input_json,
                    score_milli,
                    not_applicable: score.points.is_none(),
                    explanation: score.explanation.clone(),
                    remark: remark.clone(),
                    needs_explanation: *flag,
                };
                tx.save_appraisal(period_id, unit_id, &code, i64::from(k), version, &write)
                    .await
            }
            (LeafSide::Appraisal { .. }, None) => {
                return Err(AppError::internal("appraisal without a round"));
            }
        };
        let new_version = match saved {
            Ok(v) => v,
            Err(StoreError::Stale) => {
                drop(tx);
                return Err(self
                    .leaf_conflict(&side, period_id, unit_id, &code, round)
                    .await);
            }
            Err(e) => return Err(e.into()),
        };
        tx.commit().await?;
        Ok(SavedLeaf {
            version: new_version,
            score,
            max: node.max,
        })
    }

    /// A leaf an appraiser may appraise: of the set, applying to the unit's group,
    /// self-assessed, and assigned to them.
    async fn appraisable_leaf<'a>(
        &self,
        caller: &Caller,
        ev: &'a UnitEvaluation,
        code: &str,
    ) -> Result<&'a Node, AppError> {
        let node = ev
            .set
            .node(code)
            .filter(|n| n.is_leaf())
            .ok_or(AppError::NotFound)?;
        let applies = ev
            .set
            .index_of(code)
            .is_some_and(|i| ev.set.applies_to_group(i, &ev.unit.group_code));
        if !applies || !is_self_assessed(node) {
            return Err(AppError::invalid(Message::key("appraisal.not_appraisable")));
        }
        let mine = self
            .store
            .assignments_of(ev.period.id, caller.user_id())
            .await?;
        if !is_assigned(
            &ev.set,
            &mine,
            ev.unit.unit_id,
            code,
            Some(caller.user_id()),
        ) {
            return Err(AppError::NotFound);
        }
        Ok(node)
    }

    /// The conflict of a stale save, with the version stored now.
    async fn leaf_conflict(
        &self,
        side: &LeafSide,
        period_id: i64,
        unit_id: i64,
        code: &str,
        round: Option<u8>,
    ) -> AppError {
        let (key, current) = match (side, round) {
            (LeafSide::SelfAssessment { .. }, _) => (
                "sheet.conflict",
                self.store
                    .leaf_entry(period_id, unit_id, code)
                    .await
                    .ok()
                    .flatten()
                    .map(|e| e.version),
            ),
            (LeafSide::Appraisal { .. }, round) => (
                "appraisal.conflict",
                self.store
                    .appraisals(period_id, unit_id)
                    .await
                    .ok()
                    .and_then(|all| {
                        all.into_iter()
                            .find(|a| a.leaf_code == code && Some(a.round) == round.map(i64::from))
                            .map(|a| a.version)
                    }),
            ),
        };
        AppError::Conflict {
            message: Message::key(key),
            current_version: current,
        }
    }

    /// The unit head approves and submits (chốt điểm tự chấm) once everything is there.
    pub async fn submit_self_assessment(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
    ) -> Result<Submission, AppError> {
        caller.require(Action::SubmitSelfAssessment { unit_id })?;
        let sheet = self.load_sheet(caller, period_id, unit_id).await?;
        if let Some(refusal) = sheet.refusal {
            return Err(AppError::forbidden(refusal));
        }
        let missing = sheet.missing();
        if !missing.is_empty() {
            return Ok(Submission::Incomplete(missing));
        }
        let mut tx = self.store.begin_write(caller.audit.clone()).await?;
        if let Err(refused) = tx.claim_self_assessment(period_id, unit_id).await? {
            return Err(AppError::forbidden(self_refusal(&refused)));
        }
        tx.submit_self_assessment(period_id, unit_id).await?;
        tx.commit().await?;
        Ok(Submission::Submitted)
    }

    /// The data of a unit's self-assessment report, for who may read the sheet.
    pub async fn self_assessment_report(
        &self,
        caller: &Caller,
        period_id: i64,
        unit_id: i64,
        province: &str,
    ) -> Result<SheetReport, AppError> {
        let sheet = self.load_sheet(caller, period_id, unit_id).await?;
        let report = report_of(&sheet, province, self.now_ms())?;
        Ok(SheetReport {
            stem: format!(
                "bao-cao-tu-danh-gia-{}-{}",
                sheet.unit.unit_code.to_lowercase(),
                sheet.period.year
            ),
            report,
        })
    }
}

/// The outcome of a submission that was allowed to be tried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Submitted,
    /// Leaves without facts or without evidence or an explanation.
    Incomplete(Missing),
}

/// A unit's report with the file name it is downloaded under (no extension).
pub struct SheetReport {
    pub stem: String,
    pub report: parindex_formats::report::SelfAssessmentReport,
}

/// The self-assessment report of a unit: the summary by domain and criterion (from the
/// scorecard, so parents are exact sums of their leaves), the explanations and the evidence.
fn report_of(
    sheet: &Sheet,
    province: &str,
    now: i64,
) -> Result<parindex_formats::report::SelfAssessmentReport, AppError> {
    use parindex_domain::scorecard::Scorecard;
    use parindex_formats::report::{
        ReportEvidence, ReportExplanation, ReportRow, SelfAssessmentReport,
    };
    let set = &sheet.set;
    let scores: BTreeMap<String, LeafScore> = sheet
        .entries
        .iter()
        .filter(|(code, _)| set.node(code).is_some_and(|n| n.is_leaf()))
        .map(|(code, e)| {
            (
                code.clone(),
                crate::evaluation::score_of(e.score_milli, e.not_applicable, &e.explanation),
            )
        })
        .collect();
    let card = Scorecard::compute(set, &sheet.unit.group_code, &scores, &BTreeMap::new())
        .map_err(|e| AppError::internal(format!("scorecard: {e}")))?;
    let mut rows = Vec::new();
    for (index, node) in set.nodes().iter().enumerate() {
        if !set.applies_to_group(index, &sheet.unit.group_code) {
            continue;
        }
        let tally = card.tally(set, &node.code);
        let entry = sheet.entries.get(&node.code);
        let source = match node.rule.as_ref().map(|r| r.source()) {
            Some(LeafSource::Survey) => REPORT_SURVEY.to_owned(),
            Some(LeafSource::External { provider }) => provider.to_owned(),
            Some(LeafSource::SelfAssessed) => REPORT_SELF.to_owned(),
            None => String::new(),
        };
        let (self_score, self_value) = if node.is_leaf() {
            match entry {
                Some(e) if e.not_applicable => (REPORT_NA.to_owned(), None),
                Some(e) => match e.score_milli.map(Points::from_millipoints) {
                    Some(p) => (p.display_vi(), Some(p.value())),
                    None => (String::new(), None),
                },
                None => (String::new(), None),
            }
        } else {
            match tally.filter(|t| t.scored > 0) {
                Some(t) => (t.achieved.display_vi(), Some(t.achieved.value())),
                None => (String::new(), None),
            }
        };
        rows.push(ReportRow {
            code: node.code.clone(),
            title: node.title.clone(),
            level: node.level.min(255) as u8,
            max: node.max.display_vi(),
            self_score,
            source,
            explanation: entry.map(|e| e.explanation.clone()).unwrap_or_default(),
            max_value: node.max.value(),
            self_value,
        });
    }
    let explanations = set
        .leaves()
        .filter_map(|leaf| {
            let e = sheet.entries.get(&leaf.code)?;
            (!e.note.trim().is_empty()).then(|| ReportExplanation {
                code: leaf.code.clone(),
                title: leaf.title.clone(),
                text: e.note.clone(),
            })
        })
        .collect();
    let total = card.overall.achieved;
    Ok(SelfAssessmentReport {
        province: province.to_owned(),
        unit_name: sheet.unit.unit_name.clone(),
        unit_code: sheet.unit.unit_code.clone(),
        period_label: sheet.period.name.clone(),
        set_title: sheet.set.title.clone(),
        illustrative: sheet.set.illustrative,
        generated_at: datetime_vi(now),
        status_label: match sheet.unit.submitted_at {
            Some(t) => format!("{REPORT_SUBMITTED_AT} {}", datetime_vi(t)),
            None => REPORT_NOT_SUBMITTED.to_owned(),
        },
        rows,
        total_self: total.display_vi(),
        total_max: set.doc().scale.display_vi(),
        total_self_value: total.value(),
        total_max_value: set.doc().scale.value(),
        explanations,
        evidence: sheet
            .citations
            .iter()
            .map(|c| ReportEvidence {
                code: c.leaf_code.clone(),
                file_name: c.file.display_name.clone(),
                reference: c.reference.clone(),
                sha256_short: c.file.sha256.chars().take(12).collect(),
                size: format!("{} KB", (c.file.size + 1023) / 1024),
            })
            .collect(),
    })
}

// The report is a Vietnamese document (the formal form sent to the secretariat), so its
// labels stay Vietnamese whatever the reader's language.
const REPORT_SURVEY: &str = "Điều tra XHH";
const REPORT_SELF: &str = "Tự đánh giá";
const REPORT_NA: &str = "Không áp dụng";
const REPORT_SUBMITTED_AT: &str = "Đã nộp lúc";
const REPORT_NOT_SUBMITTED: &str = "Chưa nộp";
