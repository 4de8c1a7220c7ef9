//! Use cases of the survey collection: single-use anonymous links generated in batches (the
//! tokens exist only in the answer; only their SHA-256 is stored), the public form behind a
//! link (resume before submitting; one submission per link), and paper entry by operators
//! with optional double entry and the report of forms whose two entries differ.

use std::collections::{BTreeMap, BTreeSet};

use parindex_domain::survey::{QuestionnaireDoc, ResponseAnswers};
use parindex_domain::{Action, Actor};
use parindex_store::periods::Period;
use parindex_store::survey::{NewResponse, Questionnaire, SurveyLink};
use parindex_store::{AuditActor, StoreError};

use crate::App;
use crate::error::{AppError, FieldError, Message};
use crate::survey_scoring::{authorize, check_writable, check_writable_in};
use crate::survey_setup::QuestionnaireStatus;

/// The largest batch of links generated at once.
pub const MAX_LINKS: usize = 5000;

/// An evaluated unit of a questionnaire.
#[derive(Debug, Clone)]
pub struct UnitRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

/// A questionnaire with its definition, period and evaluated units.
#[derive(Debug, Clone)]
pub struct Survey {
    pub q: Questionnaire,
    pub status: QuestionnaireStatus,
    pub doc: QuestionnaireDoc,
    pub period: Period,
    pub units: Vec<UnitRef>,
}

impl Survey {
    pub fn unit(&self, id: i64) -> Option<&UnitRef> {
        self.units.iter().find(|u| u.id == id)
    }
}

/// The links of one batch (and unit), counted.
#[derive(Debug, Clone)]
pub struct BatchLine {
    pub batch: String,
    pub unit: Option<UnitRef>,
    pub created: usize,
    pub started: usize,
    pub used: usize,
    pub created_at: i64,
}

/// A batch of links to generate, as typed.
#[derive(Debug, Clone, Default)]
pub struct LinkRequest {
    pub count: String,
    pub batch: String,
    pub unit: String,
}

/// Links just generated: the tokens exist only here.
#[derive(Debug)]
pub struct GeneratedLinks {
    pub survey: Survey,
    pub tokens: Vec<String>,
    pub batch: String,
    pub unit: Option<UnitRef>,
}

/// Why a link cannot be answered now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    /// No such link.
    Invalid,
    /// Already submitted.
    Used,
    /// The questionnaire or the survey window is closed (or the survey frozen).
    Closed,
    /// The survey window has not opened yet.
    NotYet,
}

/// A link that may be answered now.
#[derive(Debug)]
pub struct OpenLink {
    pub link: SurveyLink,
    pub survey: Survey,
    /// The units this link asks about.
    pub units: Vec<UnitRef>,
}

/// What the public form shows for a link.
#[derive(Debug)]
pub enum LinkForm {
    Open {
        open: Box<OpenLink>,
        answers: ResponseAnswers,
    },
    Refused(LinkRefusal),
}

/// What became of a respondent's answers.
#[derive(Debug)]
pub enum LinkSave {
    /// Kept as a draft, to finish later.
    Saved,
    /// Submitted: the link is used.
    Submitted,
    /// Not saved: the link cannot be answered.
    Refused(LinkRefusal),
    /// Not saved: the answers have problems (or, on submit, questions left unanswered).
    Problems {
        open: Box<OpenLink>,
        answers: ResponseAnswers,
        problems: Vec<Message>,
        /// The problems are unanswered questions (marked on the form).
        missing: bool,
    },
}

/// The paper-entry page: the questionnaire and how many paper forms were keyed.
#[derive(Debug)]
pub struct PaperEntry {
    pub survey: Survey,
    pub entered: usize,
}

/// A paper form as keyed: `a:{unit}:{question}` fields, `paper_ref`, `entry_no`.
#[derive(Debug, Clone, Default)]
pub struct PaperInput {
    pub paper_ref: String,
    pub entry_no: String,
    pub fields: Vec<(String, String)>,
}

/// What became of a keyed paper form.
#[derive(Debug)]
pub enum PaperSave {
    Saved {
        paper_ref: String,
        entry_no: i64,
    },
    Refused {
        entry: Box<PaperEntry>,
        answers: ResponseAnswers,
        problems: Vec<Message>,
        /// The form was keyed with this entry number already (409).
        duplicate: bool,
    },
}

/// One answer that differs between the two entries of a paper form.
#[derive(Debug, Clone)]
pub struct Difference {
    pub unit: String,
    pub question: String,
    pub first: Option<String>,
    pub second: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Mismatch {
    pub paper_ref: String,
    pub differences: Vec<Difference>,
}

/// The double-entry report.
#[derive(Debug)]
pub struct MismatchReport {
    pub q: Questionnaire,
    pub compared: usize,
    pub mismatches: Vec<Mismatch>,
    /// Forms keyed only once: (paper ref, entry number).
    pub singles: Vec<(String, i64)>,
}

const BASE32: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// 128 random bits from the OS, base32 (lowercase, no padding): 26 characters.
fn new_token() -> String {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("OS randomness");
    base32(&bytes)
}

fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut buf: u32 = 0;
    let mut bits = 0u32;
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buf >> bits) & 31) as usize] as char);
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(BASE32[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

fn well_formed_token(token: &str) -> bool {
    token.len() == 26 && token.bytes().all(|b| BASE32.contains(&b))
}

/// What the database stores for a link token: its SHA-256, never the token itself.
fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Reads the answers of a posted form: fields `a:{unit}:{question}` = option code. Every
/// answer is checked against the questionnaire; an unknown unit, question, option or field is
/// a problem (nothing is ignored). `extra` names the other fields the form carries.
fn parse_answers(
    doc: &QuestionnaireDoc,
    units: &[UnitRef],
    fields: &[(String, String)],
    extra: &[&str],
) -> (ResponseAnswers, Vec<Message>) {
    let mut answers: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, value) in fields {
        if key == "csrf" || extra.contains(&key.as_str()) {
            continue;
        }
        let Some((unit, question)) = key.strip_prefix("a:").and_then(|r| r.split_once(':')) else {
            problems.push(Message::key("survey_collect.bad_field").arg("field", key.as_str()));
            continue;
        };
        let Some(unit) = unit
            .parse::<i64>()
            .ok()
            .and_then(|id| units.iter().find(|u| u.id == id))
        else {
            problems.push(Message::key("survey_collect.foreign_unit").arg("unit", unit));
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        // The questionnaire decides: an unknown question or option is refused, not skipped.
        if let Err(e) = doc.value_of(question, value) {
            problems.push(Message::Text(format!("{}: {}.", unit.name, e.message)));
            continue;
        }
        let Some((q, option)) = doc.question(question).and_then(|q| {
            q.options
                .iter()
                .find(|o| o.code.eq_ignore_ascii_case(value))
                .map(|o| (q, o))
        }) else {
            continue;
        };
        let slot = answers.entry(unit.id).or_default();
        if let Some(previous) = slot.insert(q.code.clone(), option.code.clone())
            && previous != option.code
        {
            problems.push(
                Message::key("survey_collect.one_option")
                    .arg("unit", unit.name.as_str())
                    .arg("question", q.code.as_str()),
            );
        }
    }
    (ResponseAnswers(answers), problems)
}

/// The (unit, question) pairs left unanswered ("Không biết" is an answer).
fn missing_answers(
    doc: &QuestionnaireDoc,
    units: &[UnitRef],
    answers: &ResponseAnswers,
) -> Vec<Message> {
    let mut out = Vec::new();
    for u in units {
        let given = answers.0.get(&u.id);
        for q in &doc.questions {
            if given.and_then(|g| g.get(&q.code)).is_none() {
                out.push(
                    Message::key("survey_collect.unanswered")
                        .arg("unit", u.name.as_str())
                        .arg("question", q.code.as_str()),
                );
            }
        }
    }
    out
}

fn problems_error(problems: Vec<Message>) -> AppError {
    AppError::Invalid {
        message: Message::key("survey_collect.fix_errors"),
        fields: problems
            .into_iter()
            .map(|message| FieldError {
                field: String::new(),
                message,
            })
            .collect(),
    }
}

impl App {
    /// A questionnaire with its definition, period and evaluated units.
    pub async fn load_survey(&self, qid: i64) -> Result<Survey, AppError> {
        let q = self.store.questionnaire(qid).await?;
        let doc: QuestionnaireDoc = serde_json::from_str(&q.definition)
            .map_err(|e| AppError::internal(format!("questionnaire {qid}: {e}")))?;
        let period = self.store.get_period(q.period_id).await?;
        let ids = self.store.questionnaire_units(qid).await?;
        let period_units = self.store.period_units(q.period_id).await?;
        let mut units = Vec::with_capacity(ids.len());
        for id in ids {
            match period_units.iter().find(|u| u.unit_id == id) {
                Some(u) => units.push(UnitRef {
                    id,
                    code: u.unit_code.clone(),
                    name: u.unit_name.clone(),
                }),
                None => {
                    let u = self.store.get_unit(id).await?;
                    units.push(UnitRef {
                        id,
                        code: u.code,
                        name: u.name_vi,
                    });
                }
            }
        }
        Ok(Survey {
            status: QuestionnaireStatus::of(&q)?,
            q,
            doc,
            period,
            units,
        })
    }

    /// A questionnaire to collect for, with its batches of links.
    pub async fn survey_links(
        &self,
        actor: &Actor,
        qid: i64,
    ) -> Result<(Survey, Vec<BatchLine>), AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let survey = self.load_survey(qid).await?;
        let batches = self.batches(&survey).await?;
        Ok((survey, batches))
    }

    async fn batches(&self, survey: &Survey) -> Result<Vec<BatchLine>, AppError> {
        let links = self.store.survey_links(survey.q.id).await?;
        let mut rows: Vec<BatchLine> = Vec::new();
        let mut index: BTreeMap<(String, Option<i64>), usize> = BTreeMap::new();
        for l in &links {
            let i = *index
                .entry((l.batch.clone(), l.unit_id))
                .or_insert_with(|| {
                    rows.push(BatchLine {
                        batch: l.batch.clone(),
                        unit: l.unit_id.and_then(|id| survey.unit(id)).cloned(),
                        created: 0,
                        started: 0,
                        used: 0,
                        created_at: l.created_at,
                    });
                    rows.len() - 1
                });
            rows[i].created += 1;
            if l.used_at.is_some() {
                rows[i].used += 1;
            } else if l.response_id.is_some() {
                rows[i].started += 1;
            }
        }
        Ok(rows)
    }

    /// Generates a batch of single-use links for an open questionnaire. `more` are problems
    /// the caller found in its own part of the form (the output format), reported together.
    pub async fn generate_survey_links(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        request: &LinkRequest,
        more: Vec<Message>,
    ) -> Result<GeneratedLinks, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let survey = self.load_survey(qid).await?;
        if survey.status != QuestionnaireStatus::Open {
            return Err(AppError::forbidden(Message::key(
                "survey_collect.links_only_open",
            )));
        }
        let mut problems = Vec::new();
        let count = match request.count.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_LINKS).contains(&n) => n,
            _ => {
                problems.push(
                    Message::key("survey_collect.bad_count").arg("max", MAX_LINKS.to_string()),
                );
                0
            }
        };
        let batch = request.batch.trim().to_owned();
        if batch.is_empty() || batch.chars().count() > 100 {
            problems.push(Message::key("survey_collect.bad_batch"));
        }
        let unit = match request.unit.trim() {
            "" => None,
            raw => match raw.parse::<i64>().ok().and_then(|id| survey.unit(id)) {
                Some(u) => Some(u.clone()),
                None => {
                    problems.push(Message::key("survey_collect.foreign_link_unit"));
                    None
                }
            },
        };
        problems.extend(more);
        if !problems.is_empty() {
            return Err(problems_error(problems));
        }
        let tokens: Vec<String> = (0..count).map(|_| new_token()).collect();
        let hashes: Vec<String> = tokens.iter().map(|t| token_hash(t)).collect();
        let mut tx = self.store.begin_write(audit.clone()).await?;
        tx.create_survey_links(qid, unit.as_ref().map(|u| u.id), &batch, &hashes)
            .await?;
        tx.commit().await?;
        Ok(GeneratedLinks {
            survey,
            tokens,
            batch,
            unit,
        })
    }

    /// The link behind a token, if it may be answered now.
    async fn gate(&self, token: &str) -> Result<Result<OpenLink, LinkRefusal>, AppError> {
        if !well_formed_token(token) {
            return Ok(Err(LinkRefusal::Invalid));
        }
        let Some(link) = self.store.survey_link_by_hash(&token_hash(token)).await? else {
            return Ok(Err(LinkRefusal::Invalid));
        };
        if link.used_at.is_some() {
            return Ok(Err(LinkRefusal::Used));
        }
        let survey = self.load_survey(link.questionnaire_id).await?;
        if survey.status != QuestionnaireStatus::Open {
            return Ok(Err(LinkRefusal::Closed));
        }
        // From council review on the survey is frozen (`check_survey_write`): the link answers
        // as a closed survey.
        if check_writable(&survey.period).is_err() {
            return Ok(Err(LinkRefusal::Closed));
        }
        let now = self.now_ms();
        if survey.period.survey_open_at.is_some_and(|t| now < t) {
            return Ok(Err(LinkRefusal::NotYet));
        }
        if survey.period.survey_close_at.is_some_and(|t| now > t) {
            return Ok(Err(LinkRefusal::Closed));
        }
        let units: Vec<UnitRef> = match link.unit_id {
            Some(id) => survey.unit(id).cloned().into_iter().collect(),
            None => survey.units.clone(),
        };
        Ok(Ok(OpenLink {
            link,
            survey,
            units,
        }))
    }

    /// The public form behind a link, with the answers saved so far.
    pub async fn survey_link_form(&self, token: &str) -> Result<LinkForm, AppError> {
        let open = match self.gate(token).await? {
            Ok(open) => open,
            Err(refusal) => return Ok(LinkForm::Refused(refusal)),
        };
        let answers = match open.link.response_id {
            Some(id) => {
                let response = self.store.survey_response(id).await?;
                ResponseAnswers::decode(&response.answers).unwrap_or_default()
            }
            None => ResponseAnswers::default(),
        };
        Ok(LinkForm::Open {
            open: Box::new(open),
            answers,
        })
    }

    /// Saves a respondent's draft, or submits it (every question answered for every unit).
    /// `submit` is `None` when the form named neither.
    pub async fn save_survey_link(
        &self,
        token: &str,
        fields: &[(String, String)],
        submit: Option<bool>,
    ) -> Result<LinkSave, AppError> {
        let open = match self.gate(token).await? {
            Ok(open) => open,
            Err(refusal) => return Ok(LinkSave::Refused(refusal)),
        };
        let submit =
            submit.ok_or_else(|| AppError::invalid(Message::key("survey_collect.bad_action")))?;
        let (answers, problems) = parse_answers(&open.survey.doc, &open.units, fields, &["action"]);
        let (problems, missing) = if !problems.is_empty() {
            (problems, false)
        } else if submit {
            (
                missing_answers(&open.survey.doc, &open.units, &answers),
                true,
            )
        } else {
            (Vec::new(), false)
        };
        if !problems.is_empty() {
            return Ok(LinkSave::Problems {
                open: Box::new(open),
                answers,
                problems,
                missing,
            });
        }
        let mut tx = self
            .store
            .begin_write(AuditActor::system("survey-link"))
            .await?;
        if check_writable_in(&mut tx, open.survey.period.id)
            .await
            .is_err()
        {
            return Ok(LinkSave::Refused(LinkRefusal::Closed));
        }
        match tx
            .save_link_response(open.link.id, &answers.encode(), submit)
            .await
        {
            Ok(_) => {}
            // Submitted through the same link meanwhile.
            Err(StoreError::Invalid(_) | StoreError::Stale) => {
                return Ok(LinkSave::Refused(LinkRefusal::Used));
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(if submit {
            LinkSave::Submitted
        } else {
            LinkSave::Saved
        })
    }

    async fn paper_entry_of(&self, survey: Survey) -> Result<PaperEntry, AppError> {
        let entered = self
            .store
            .questionnaire_responses(survey.q.id)
            .await?
            .iter()
            .filter(|r| r.channel == "paper")
            .count();
        Ok(PaperEntry { survey, entered })
    }

    /// The paper-entry page of a questionnaire.
    pub async fn paper_entry(&self, actor: &Actor, qid: i64) -> Result<PaperEntry, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let survey = self.load_survey(qid).await?;
        self.paper_entry_of(survey).await
    }

    /// Records a paper form as keyed (entry 1 or 2 of a double entry).
    pub async fn save_paper_form(
        &self,
        actor: &Actor,
        audit: &AuditActor,
        qid: i64,
        input: &PaperInput,
    ) -> Result<PaperSave, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let survey = self.load_survey(qid).await?;
        check_writable(&survey.period)?;
        if survey.status == QuestionnaireStatus::Draft {
            return Err(AppError::forbidden(Message::key(
                "survey_collect.paper_draft",
            )));
        }
        let paper_ref = input.paper_ref.trim().to_owned();
        let (answers, mut problems) = parse_answers(
            &survey.doc,
            &survey.units,
            &input.fields,
            &["paper_ref", "entry_no"],
        );
        if paper_ref.is_empty() || paper_ref.chars().count() > 64 {
            problems.insert(0, Message::key("survey_collect.paper_ref_required"));
        }
        let entry_no: i64 = match input.entry_no.trim() {
            "1" => 1,
            "2" => 2,
            _ => {
                problems.push(Message::key("survey_collect.bad_entry_no"));
                1
            }
        };
        if problems.is_empty() && answers.is_empty() {
            problems.push(Message::key("survey_collect.no_answer"));
        }
        if !problems.is_empty() {
            return Ok(PaperSave::Refused {
                entry: Box::new(self.paper_entry_of(survey).await?),
                answers,
                problems,
                duplicate: false,
            });
        }
        let mut tx = self.store.begin_write(audit.clone()).await?;
        check_writable_in(&mut tx, survey.period.id).await?;
        let (inserted, _) = tx
            .add_survey_responses(
                qid,
                &[NewResponse {
                    channel: "paper",
                    source_key: None,
                    paper_ref: Some(paper_ref.clone()),
                    entry_no,
                    answers: answers.encode(),
                    submitted_at: self.now_ms(),
                }],
                serde_json::json!({ "paper_ref": paper_ref, "entry_no": entry_no }),
            )
            .await?;
        if inserted == 0 {
            drop(tx);
            let problem = Message::key("survey_collect.paper_duplicate")
                .arg("paper_ref", paper_ref.as_str())
                .arg("entry_no", entry_no.to_string());
            return Ok(PaperSave::Refused {
                entry: Box::new(self.paper_entry_of(survey).await?),
                answers,
                problems: vec![problem],
                duplicate: true,
            });
        }
        tx.commit().await?;
        Ok(PaperSave::Saved {
            paper_ref,
            entry_no,
        })
    }

    /// The double-entry report: for each paper form keyed twice, the answers that differ; and
    /// the forms keyed only once.
    pub async fn paper_mismatches(
        &self,
        actor: &Actor,
        qid: i64,
    ) -> Result<MismatchReport, AppError> {
        authorize(actor, Action::ManageSurvey)?;
        let survey = self.load_survey(qid).await?;
        let responses = self.store.questionnaire_responses(qid).await?;
        let mut by_ref: BTreeMap<String, BTreeMap<i64, ResponseAnswers>> = BTreeMap::new();
        for r in responses.iter().filter(|r| r.channel == "paper") {
            if let Some(paper_ref) = &r.paper_ref {
                by_ref.entry(paper_ref.clone()).or_default().insert(
                    r.entry_no,
                    ResponseAnswers::decode(&r.answers).unwrap_or_default(),
                );
            }
        }
        let mut report = MismatchReport {
            q: survey.q.clone(),
            compared: 0,
            mismatches: Vec::new(),
            singles: Vec::new(),
        };
        for (paper_ref, entries) in by_ref {
            match (entries.get(&1), entries.get(&2)) {
                (Some(a), Some(b)) => {
                    report.compared += 1;
                    let differences = differences(&survey, a, b);
                    if !differences.is_empty() {
                        report.mismatches.push(Mismatch {
                            paper_ref,
                            differences,
                        });
                    }
                }
                _ => {
                    for entry_no in entries.keys() {
                        report.singles.push((paper_ref.clone(), *entry_no));
                    }
                }
            }
        }
        Ok(report)
    }
}

/// The answers that differ between two entries of one paper form.
fn differences(survey: &Survey, a: &ResponseAnswers, b: &ResponseAnswers) -> Vec<Difference> {
    let unit_name = |id: i64| {
        survey
            .unit(id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let mut out = Vec::new();
    let units: BTreeSet<i64> = a.0.keys().chain(b.0.keys()).copied().collect();
    for unit in units {
        let (ua, ub) = (a.0.get(&unit), b.0.get(&unit));
        let mut codes: Vec<&str> = survey
            .doc
            .questions
            .iter()
            .map(|q| q.code.as_str())
            .collect();
        for extra in ua.into_iter().chain(ub).flat_map(|m| m.keys()) {
            if !codes.contains(&extra.as_str()) {
                codes.push(extra);
            }
        }
        for code in codes {
            let x = ua.and_then(|m| m.get(code));
            let y = ub.and_then(|m| m.get(code));
            if x != y {
                out.push(Difference {
                    unit: unit_name(unit),
                    question: code.to_owned(),
                    first: x.cloned(),
                    second: y.cloned(),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_26_base32_characters_and_differ() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.len(), 26);
        assert!(well_formed_token(&a));
        assert_ne!(a, b);
        assert_eq!(base32(&[0xff; 5]), "77777777");
        assert_eq!(base32(b"f"), "my");
        assert_eq!(base32(b"foobar"), "mzxw6ytboi");
    }
}
