//! The sociological survey (DOMAIN §5): questionnaires and their answers, the compact form a
//! response's answers are stored in, the sample-size helper, quality checks, and the scoring of
//! a survey leaf: max × (weighted) mean of the normalised valid answers, with the number of
//! responses and a 95% confidence interval. Exact decimals throughout; pure.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::appraisal::Stage;
use crate::{InvalidInput, Points};

/// One closed answer of a question: its code (A, B, …), its label, and its value in percent
/// (100 = fully satisfied); `None` is "không biết" (don't know), left out of the mean.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerOption {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub percent: Option<Decimal>,
}

/// A question, tied to one survey-scored leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Question {
    pub code: String,
    pub text: String,
    pub leaf_code: String,
    pub options: Vec<AnswerOption>,
}

/// The questions of a questionnaire (mẫu phiếu); stored as JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuestionnaireDoc {
    pub questions: Vec<Question>,
}

/// Whether a code (question or answer) is well formed: 1–16 of `A–Z a–z 0–9 . _ -`. Codes
/// travel in the compact answer encoding, so `:`, `=`, `,` and `;` can never appear.
pub fn is_code(code: &str) -> bool {
    (1..=16).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl QuestionnaireDoc {
    /// Checks codes, options and values; `survey_leaves` are the leaf codes a question may be
    /// tied to (the survey leaves of the evaluated units' sets).
    pub fn validate(&self, survey_leaves: &BTreeSet<String>) -> Result<(), Vec<String>> {
        let mut problems = Vec::new();
        let mut seen = BTreeSet::new();
        if self.questions.is_empty() {
            problems.push("Mẫu phiếu chưa có câu hỏi nào.".to_owned());
        }
        for q in &self.questions {
            if !is_code(&q.code) {
                problems.push(format!(
                    "Mã câu hỏi «{}» không hợp lệ (1–16 ký tự chữ, số, . _ -).",
                    q.code
                ));
            }
            if !seen.insert(q.code.as_str()) {
                problems.push(format!("Mã câu hỏi {} bị trùng.", q.code));
            }
            if q.text.trim().is_empty() {
                problems.push(format!("Câu hỏi {} chưa có nội dung.", q.code));
            }
            if !survey_leaves.contains(&q.leaf_code) {
                problems.push(format!(
                    "Câu hỏi {}: {} không phải tiêu chí chấm bằng điều tra xã hội học của bộ chỉ số.",
                    q.code, q.leaf_code
                ));
            }
            let mut option_codes = BTreeSet::new();
            for o in &q.options {
                if !is_code(&o.code) || !option_codes.insert(o.code.as_str()) {
                    problems.push(format!(
                        "Câu hỏi {}: phương án «{}» không hợp lệ hoặc bị trùng.",
                        q.code, o.code
                    ));
                }
                if let Some(p) = o.percent
                    && (p < Decimal::ZERO || p > Decimal::ONE_HUNDRED || p.scale() > 3)
                {
                    problems.push(format!(
                        "Câu hỏi {}: giá trị của phương án {} phải từ 0 đến 100%.",
                        q.code, o.code
                    ));
                }
            }
            if !q.options.iter().any(|o| o.percent.is_some()) {
                problems.push(format!(
                    "Câu hỏi {} cần ít nhất một phương án có giá trị.",
                    q.code
                ));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    pub fn question(&self, code: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.code == code)
    }

    /// The value of answer `option` to question `question`: `Ok(None)` for "don't know";
    /// `Err` for an unknown question or option.
    pub fn value_of(&self, question: &str, option: &str) -> Result<Option<Decimal>, InvalidInput> {
        let q = self
            .question(question)
            .ok_or_else(|| InvalidInput::new("question", format!("Không có câu hỏi {question}")))?;
        q.options
            .iter()
            .find(|o| o.code.eq_ignore_ascii_case(option))
            .map(|o| o.percent)
            .ok_or_else(|| {
                InvalidInput::new(
                    "option",
                    format!("Câu {question}: không có phương án «{option}»"),
                )
            })
    }
}

/// The answers of one response: evaluated unit → question code → option code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseAnswers(pub BTreeMap<i64, BTreeMap<String, String>>);

impl ResponseAnswers {
    /// `unit:Q1=A,Q2=B;unit2:Q1=C` — compact, so a million responses stay small.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (unit, answers)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(&unit.to_string());
            out.push(':');
            for (j, (q, o)) in answers.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push_str(q);
                out.push('=');
                out.push_str(o);
            }
        }
        out
    }

    pub fn decode(text: &str) -> Option<ResponseAnswers> {
        let mut map = BTreeMap::new();
        if text.is_empty() {
            return Some(ResponseAnswers(map));
        }
        for block in text.split(';') {
            let (unit, rest) = block.split_once(':')?;
            let unit: i64 = unit.parse().ok()?;
            let mut answers = BTreeMap::new();
            if !rest.is_empty() {
                for pair in rest.split(',') {
                    let (q, o) = pair.split_once('=')?;
                    if !is_code(q) || !is_code(o) {
                        return None;
                    }
                    answers.insert(q.to_owned(), o.to_owned());
                }
            }
            map.insert(unit, answers);
        }
        Some(ResponseAnswers(map))
    }

    /// Number of answers over all units.
    pub fn len(&self) -> usize {
        self.0.values().map(BTreeMap::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sample size for a population of `population` at margin of error `e` (e.g. 0,05):
/// n = N / (1 + N·e²), rounded up.
pub fn sample_size(population: u64, margin: Decimal) -> u64 {
    if population == 0 {
        return 0;
    }
    let n = Decimal::from(population);
    let denominator = Decimal::ONE + n * margin * margin;
    let raw = n / denominator;
    let up = raw.ceil();
    u64::try_from(up).unwrap_or(population).min(population)
}

/// One response's observation of a unit's leaf, from a respondent group: the mean of its
/// valid answers on the leaf (see [`response_observations`]), or "don't know".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafAnswer {
    pub group: String,
    /// Percent 0–100; `None` is "don't know".
    pub percent: Option<Decimal>,
}

/// One response's observations: for each (evaluated unit, leaf) it answered about, the mean
/// of its valid answers to that leaf's questions, or `None` ("don't know") when every answer
/// there was "don't know". A leaf asked about in several questions thus counts each
/// respondent once, so n, the minimum sample and the interval are about responses, not
/// answers (three questions on a leaf would otherwise triple one person's weight and narrow
/// the interval as if three people had answered). Unknown questions and options are ignored.
pub fn response_observations(
    doc: &QuestionnaireDoc,
    answers: &ResponseAnswers,
) -> BTreeMap<(i64, String), Option<Decimal>> {
    let mut per_leaf: BTreeMap<(i64, String), Vec<Option<Decimal>>> = BTreeMap::new();
    for (unit_id, by_question) in &answers.0 {
        for (question, option) in by_question {
            let (Some(q), Ok(percent)) = (doc.question(question), doc.value_of(question, option))
            else {
                continue;
            };
            per_leaf
                .entry((*unit_id, q.leaf_code.clone()))
                .or_default()
                .push(percent);
        }
    }
    per_leaf
        .into_iter()
        .map(|(key, values)| {
            let valid: Vec<Decimal> = values.into_iter().flatten().collect();
            (key, mean(&valid))
        })
        .collect()
}

/// Per respondent group: count and mean (as a fraction 0–1) of its valid observations (one
/// per response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMean {
    pub group: String,
    pub valid: usize,
    pub dont_know: usize,
    pub mean: Option<Decimal>,
    pub weight: Decimal,
}

/// The survey result of one leaf for one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeafSurveyScore {
    /// Responses with at least one valid answer on the leaf.
    pub valid: usize,
    /// Responses that answered the leaf with "don't know" only.
    pub dont_know: usize,
    /// The (weighted) mean of the normalised answers, 0–1.
    pub mean: Option<Decimal>,
    /// 95% confidence interval of the mean (normal approximation), clamped to 0–1.
    pub ci_low: Option<Decimal>,
    pub ci_high: Option<Decimal>,
    /// max × mean, rounded half-up to a thousandth of a point; `None` with no valid answer.
    pub points: Option<Points>,
    pub below_minimum: bool,
    pub groups: Vec<GroupMean>,
}

/// z for a two-sided 95% interval.
const Z95: Decimal = Decimal::from_parts(196, 0, 0, false, 2);

/// Scores a survey leaf: max × mean of the normalised valid observations, one per response
/// (see [`response_observations`]). With `weights` (group → weight), the mean is
/// Σ wₘ·meanₘ / Σ wₘ over the groups that have valid observations; without, every valid
/// response counts once. "Don't know" never counts. `min_sample` is the number of valid
/// responses below which the secretariat is warned.
pub fn score_leaf(
    max: Points,
    answers: &[LeafAnswer],
    weights: Option<&BTreeMap<String, Decimal>>,
    min_sample: usize,
) -> LeafSurveyScore {
    // Per group: valid values as fractions.
    let mut by_group: BTreeMap<&str, (Vec<Decimal>, usize)> = BTreeMap::new();
    for a in answers {
        let entry = by_group.entry(a.group.as_str()).or_default();
        match a.percent {
            Some(p) => entry.0.push(p / Decimal::ONE_HUNDRED),
            None => entry.1 += 1,
        }
    }
    let valid: usize = by_group.values().map(|(v, _)| v.len()).sum();
    let dont_know: usize = by_group.values().map(|(_, d)| *d).sum();
    let mut groups = Vec::new();
    for (group, (values, dk)) in &by_group {
        let weight = weights
            .map(|w| w.get(*group).copied().unwrap_or(Decimal::ZERO))
            .unwrap_or(Decimal::ONE);
        groups.push(GroupMean {
            group: (*group).to_owned(),
            valid: values.len(),
            dont_know: *dk,
            mean: mean(values),
            weight,
        });
    }

    // The estimate and its variance: one pooled group without weights, else a weighted sum of
    // group means (Var = Σ aₘ² sₘ²/nₘ with aₘ = wₘ / Σw).
    let (estimate, variance) = match weights {
        None => {
            let all: Vec<Decimal> = by_group.values().flat_map(|(v, _)| v.clone()).collect();
            (mean(&all), variance_of_mean(&all))
        }
        Some(_) => {
            let used: Vec<(&GroupMean, &Vec<Decimal>)> = groups
                .iter()
                .filter(|g| g.valid > 0 && g.weight > Decimal::ZERO)
                .map(|g| (g, &by_group[g.group.as_str()].0))
                .collect();
            let total_weight: Decimal = used.iter().map(|(g, _)| g.weight).sum();
            if total_weight.is_zero() {
                (None, None)
            } else {
                let mut est = Decimal::ZERO;
                let mut var = Some(Decimal::ZERO);
                for (g, values) in &used {
                    let a = g.weight / total_weight;
                    est += a * g.mean.unwrap_or_default();
                    var = match (var, variance_of_mean(values)) {
                        (Some(acc), Some(v)) => Some(acc + a * a * v),
                        _ => None,
                    };
                }
                (Some(est), var)
            }
        }
    };
    let (ci_low, ci_high) = match (estimate, variance.and_then(sqrt)) {
        (Some(m), Some(se)) => {
            let half = Z95 * se;
            (
                Some((m - half).max(Decimal::ZERO).round_dp(4)),
                Some((m + half).min(Decimal::ONE).round_dp(4)),
            )
        }
        _ => (None, None),
    };
    let points = estimate.map(|m| {
        let raw = (max.value() * m)
            .round_dp_with_strategy(3, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        Points::new(raw.min(max.value()).max(Decimal::ZERO))
    });
    LeafSurveyScore {
        valid,
        dont_know,
        mean: estimate,
        ci_low,
        ci_high,
        points,
        below_minimum: valid < min_sample,
        groups,
    }
}

fn mean(values: &[Decimal]) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    Some(values.iter().sum::<Decimal>() / Decimal::from(values.len()))
}

/// s²/n with the sample variance s² (n − 1); None below two values.
fn variance_of_mean(values: &[Decimal]) -> Option<Decimal> {
    let n = values.len();
    if n < 2 {
        return None;
    }
    let m = mean(values)?;
    let ss: Decimal = values.iter().map(|v| (*v - m) * (*v - m)).sum();
    Some(ss / Decimal::from(n - 1) / Decimal::from(n))
}

/// Square root by Newton's method, in decimals (the interval is shown, never scored, but it
/// stays exact and reproducible like everything else).
fn sqrt(x: Decimal) -> Option<Decimal> {
    if x < Decimal::ZERO {
        return None;
    }
    if x.is_zero() {
        return Some(Decimal::ZERO);
    }
    let mut guess = if x > Decimal::ONE {
        x / Decimal::TWO
    } else {
        Decimal::ONE
    };
    for _ in 0..60 {
        let next = (guess + x / guess) / Decimal::TWO;
        if (next - guess).abs() < Decimal::new(1, 12) {
            return Some(next);
        }
        guess = next;
    }
    Some(guess)
}

/// Why the survey's data can no longer change: the period has reached council review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Dữ liệu khảo sát đã được chốt từ khi Hội đồng xem xét kết quả (giai đoạn hiện tại: {}): không thể nhận, nhập hay nhập tệp phiếu, cũng không thể loại hoặc tính lại phiếu.",
    .0.label_vi()
)]
pub struct SurveyFrozen(pub Stage);

/// Whether responses may be added and exclusions changed at `stage`. The council reviews,
/// and then approves and publishes, results that include the survey part, so from council
/// review on the survey's inputs are frozen: a response or an exclusion after that would
/// move figures the council has already seen.
pub fn check_survey_write(stage: Stage) -> Result<(), SurveyFrozen> {
    match stage {
        Stage::CouncilReview | Stage::Approved | Stage::Published => Err(SurveyFrozen(stage)),
        Stage::SelfAssessment | Stage::Round(_) | Stage::Explanation(_) => Ok(()),
    }
}

/// Why a response is flagged for the secretariat's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum QualityFlag {
    /// The same answers as an earlier response of the same questionnaire.
    Duplicate,
    /// Every answer (at least `STRAIGHT_LINE_MIN`) is the same option.
    StraightLining,
    /// Submitted outside the survey window.
    OutsideWindow,
}

impl QualityFlag {
    pub fn label_vi(self) -> &'static str {
        match self {
            QualityFlag::Duplicate => "Trùng với một phiếu trước",
            QualityFlag::StraightLining => "Chọn cùng một phương án cho mọi câu",
            QualityFlag::OutsideWindow => "Nộp ngoài thời gian khảo sát",
        }
    }
}

/// Straight-lining is only meaningful over enough answers.
pub const STRAIGHT_LINE_MIN: usize = 5;

/// A response as the quality checks see it.
#[derive(Debug, Clone)]
pub struct ResponseForChecks<'a> {
    pub id: i64,
    pub questionnaire_id: i64,
    pub answers: &'a str,
    pub submitted_at: Option<i64>,
}

/// Flags per response id: duplicates (same questionnaire, same encoded answers, all but the
/// first), straight-lining, and answers outside `[open, close]`.
pub fn quality_flags(
    responses: &[ResponseForChecks<'_>],
    window: (Option<i64>, Option<i64>),
) -> BTreeMap<i64, Vec<QualityFlag>> {
    let mut flags: BTreeMap<i64, Vec<QualityFlag>> = BTreeMap::new();
    let mut seen: BTreeSet<(i64, &str)> = BTreeSet::new();
    for r in responses {
        let mut f = Vec::new();
        if !r.answers.is_empty() && !seen.insert((r.questionnaire_id, r.answers)) {
            f.push(QualityFlag::Duplicate);
        }
        if let Some(decoded) = ResponseAnswers::decode(r.answers) {
            let options: Vec<&String> = decoded.0.values().flat_map(|a| a.values()).collect();
            if options.len() >= STRAIGHT_LINE_MIN && options.iter().all(|o| *o == options[0]) {
                f.push(QualityFlag::StraightLining);
            }
        }
        if let Some(at) = r.submitted_at
            && (window.0.is_some_and(|open| at < open) || window.1.is_some_and(|close| at > close))
        {
            f.push(QualityFlag::OutsideWindow);
        }
        if !f.is_empty() {
            flags.insert(r.id, f);
        }
    }
    flags
}

#[cfg(test)]
mod tests;
