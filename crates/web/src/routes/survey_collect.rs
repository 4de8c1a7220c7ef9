//! Survey collection (DOMAIN §5, issue 6 §3): single-use anonymous links generated in batches
//! (shown once, with a QR code each, or downloaded as CSV; only their SHA-256 is stored), the
//! public no-login form behind a link (works without JavaScript; resume before submitting;
//! one submission per link), and paper entry by operators with optional double entry and the
//! report of forms whose two entries differ.

use crate::routes::table::Routes;

use std::collections::{BTreeMap, BTreeSet};

use askama::Template;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use parindex_domain::Action;
use parindex_domain::survey::{QuestionnaireDoc, ResponseAnswers};
use parindex_store::AuditActor;
use parindex_store::StoreError;
use parindex_store::periods::Period;
use parindex_store::survey::{NewResponse, Questionnaire, SurveyLink};
use serde::Deserialize;

use crate::AppState;
use crate::auth::{CurrentUser, RequestCtx};
use crate::error::WebError;
use crate::extract::{Form, FormList, Path, Query};
use crate::i18n::Lang;
use crate::page::{Page, datetime_vi};

/// The largest batch of links generated at once.
const MAX_LINKS: usize = 5000;

// ---------------------------------------------------------------------------------------------
// Shared: the questionnaire with its units, the answer blocks of a form, parsing posted answers.

#[derive(Debug, Clone)]
pub struct UnitRef {
    pub id: i64,
    pub code: String,
    pub name: String,
}

struct Survey {
    q: Questionnaire,
    doc: QuestionnaireDoc,
    period: Period,
    units: Vec<UnitRef>,
}

impl Survey {
    fn unit(&self, id: i64) -> Option<&UnitRef> {
        self.units.iter().find(|u| u.id == id)
    }
}

async fn load_survey(state: &AppState, qid: i64) -> Result<Survey, WebError> {
    let q = state.store.questionnaire(qid).await?;
    let doc: QuestionnaireDoc = serde_json::from_str(&q.definition)
        .map_err(|e| WebError::Internal(format!("questionnaire {qid}: {e}")))?;
    let period = state.store.get_period(q.period_id).await?;
    let ids = state.store.questionnaire_units(qid).await?;
    let period_units = state.store.period_units(q.period_id).await?;
    let mut units = Vec::with_capacity(ids.len());
    for id in ids {
        match period_units.iter().find(|u| u.unit_id == id) {
            Some(u) => units.push(UnitRef {
                id,
                code: u.unit_code.clone(),
                name: u.unit_name.clone(),
            }),
            None => {
                let u = state.store.get_unit(id).await?;
                units.push(UnitRef {
                    id,
                    code: u.code,
                    name: u.name_vi,
                });
            }
        }
    }
    Ok(Survey {
        q,
        doc,
        period,
        units,
    })
}

pub struct OptionView {
    pub id: String,
    pub code: String,
    pub label: String,
    pub checked: bool,
    pub dont_know: bool,
}

pub struct QuestionView {
    pub code: String,
    pub text: String,
    pub field: String,
    pub options: Vec<OptionView>,
    pub missing: bool,
}

/// The questions about one evaluated unit.
pub struct UnitBlock {
    pub name: String,
    pub questions: Vec<QuestionView>,
}

fn blocks(
    doc: &QuestionnaireDoc,
    units: &[UnitRef],
    answers: &ResponseAnswers,
    mark_missing: bool,
) -> Vec<UnitBlock> {
    units
        .iter()
        .map(|u| {
            let given = answers.0.get(&u.id);
            UnitBlock {
                name: u.name.clone(),
                questions: doc
                    .questions
                    .iter()
                    .enumerate()
                    .map(|(qi, q)| {
                        let chosen = given.and_then(|g| g.get(&q.code));
                        QuestionView {
                            code: q.code.clone(),
                            text: q.text.clone(),
                            field: format!("a:{}:{}", u.id, q.code),
                            options: q
                                .options
                                .iter()
                                .enumerate()
                                .map(|(oi, o)| OptionView {
                                    id: format!("o-{}-{qi}-{oi}", u.id),
                                    code: o.code.clone(),
                                    label: o.label.clone(),
                                    checked: chosen == Some(&o.code),
                                    dont_know: o.percent.is_none(),
                                })
                                .collect(),
                            missing: mark_missing && chosen.is_none(),
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

/// Reads the answers of a posted form: fields `a:{unit}:{question}` = option code. Every
/// answer is checked against the questionnaire; an unknown unit, question, option or field is
/// a problem (nothing is ignored). `extra` names the other fields the form carries.
fn parse_answers(
    doc: &QuestionnaireDoc,
    units: &[UnitRef],
    fields: &[(String, String)],
    extra: &[&str],
) -> (ResponseAnswers, Vec<String>) {
    let mut answers: BTreeMap<i64, BTreeMap<String, String>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (key, value) in fields {
        if key == "csrf" || extra.contains(&key.as_str()) {
            continue;
        }
        let Some(rest) = key.strip_prefix("a:") else {
            problems.push(format!("Trường không hợp lệ: «{key}»."));
            continue;
        };
        let Some((unit, question)) = rest.split_once(':') else {
            problems.push(format!("Trường không hợp lệ: «{key}»."));
            continue;
        };
        let Some(unit) = unit
            .parse::<i64>()
            .ok()
            .and_then(|id| units.iter().find(|u| u.id == id))
        else {
            problems.push(format!("Đơn vị «{unit}» không thuộc phiếu này."));
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        // The questionnaire decides: an unknown question or option is refused, not skipped.
        if let Err(e) = doc.value_of(question, value) {
            problems.push(format!("{}: {}.", unit.name, e.message));
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
            problems.push(format!(
                "{}, câu {}: chỉ được chọn một phương án.",
                unit.name, q.code
            ));
        }
    }
    (ResponseAnswers(answers), problems)
}

/// The (unit, question) pairs left unanswered ("Không biết" is an answer).
fn missing_answers(
    doc: &QuestionnaireDoc,
    units: &[UnitRef],
    answers: &ResponseAnswers,
) -> Vec<String> {
    let mut out = Vec::new();
    for u in units {
        let given = answers.0.get(&u.id);
        for q in &doc.questions {
            if given.and_then(|g| g.get(&q.code)).is_none() {
                out.push(format!("{}: câu {} chưa trả lời.", u.name, q.code));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Tokens.

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

/// The public address links start with: the configured public URL (`PARINDEX_PUBLIC_URL`)
/// when there is one, and then no request header is looked at, since a link printed on a
/// thousand paper forms must not carry whatever host a client or proxy sent. Without it, the
/// request's host (behind a proxy, its forwarded host and scheme).
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = state
        .config
        .public_url
        .as_deref()
        .map(|u| u.trim().trim_end_matches('/'))
        .filter(|u| !u.is_empty())
    {
        return url.to_owned();
    }
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(header::HOST))
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .filter(|s| *s == "https" || *s == "http")
        .unwrap_or(if state.config.secure_cookies {
            "https"
        } else {
            "http"
        });
    format!("{scheme}://{host}")
}

fn qr_svg(url: &str) -> String {
    match qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color>()
                .min_dimensions(150, 150)
                .quiet_zone(true)
                .build();
            svg.find("<svg")
                .map(|i| svg[i..].to_owned())
                .unwrap_or_default()
        }
        Err(_) => String::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Links (ManageSurvey).

pub struct BatchRow {
    pub batch: String,
    pub unit: String,
    pub created: usize,
    pub started: usize,
    pub used: usize,
    pub created_at: String,
}

pub struct UnitChoice {
    pub id: i64,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "survey_collect_links.html")]
struct LinksPage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    is_open: bool,
    batches: Vec<BatchRow>,
    units: Vec<UnitChoice>,
    count: String,
    batch: String,
    csv: bool,
    errors: Vec<String>,
}

#[derive(Deserialize, Default)]
pub struct GenerateForm {
    #[serde(default)]
    count: String,
    #[serde(default)]
    batch: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    format: String,
}

fn unit_label(unit: Option<&UnitRef>) -> String {
    match unit {
        Some(u) => format!("{} — {}", u.code, u.name),
        None => "Tất cả đơn vị của phiếu".to_owned(),
    }
}

async fn links_page_for(
    state: &AppState,
    user: &CurrentUser,
    survey: &Survey,
    form: &GenerateForm,
    errors: Vec<String>,
) -> Result<LinksPage, WebError> {
    let links = state.store.survey_links(survey.q.id).await?;
    let mut rows: Vec<BatchRow> = Vec::new();
    let mut index: BTreeMap<(String, Option<i64>), usize> = BTreeMap::new();
    for l in &links {
        let key = (l.batch.clone(), l.unit_id);
        let i = *index.entry(key).or_insert_with(|| {
            rows.push(BatchRow {
                batch: l.batch.clone(),
                unit: unit_label(l.unit_id.and_then(|id| survey.unit(id))),
                created: 0,
                started: 0,
                used: 0,
                created_at: datetime_vi(l.created_at),
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
    let selected: Option<i64> = form.unit.parse().ok();
    Ok(LinksPage {
        p: Page::for_user(state, user, "survey_collect.links_title"),
        period_name: survey.period.name.clone(),
        is_open: survey.q.status == "open",
        batches: rows,
        units: survey
            .units
            .iter()
            .map(|u| UnitChoice {
                id: u.id,
                label: unit_label(Some(u)),
                selected: selected == Some(u.id),
            })
            .collect(),
        count: if form.count.is_empty() {
            "50".into()
        } else {
            form.count.clone()
        },
        batch: form.batch.clone(),
        csv: form.format == "csv",
        errors,
        q: survey.q.clone(),
    })
}

pub async fn links(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let survey = load_survey(&state, qid).await?;
    let page = links_page_for(&state, &user, &survey, &GenerateForm::default(), Vec::new()).await?;
    super::render(&page)
}

pub struct LinkCard {
    pub url: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "survey_collect_links_print.html")]
struct PrintPage {
    p: Page,
    q: Questionnaire,
    batch: String,
    unit: String,
    cards: Vec<LinkCard>,
}

/// Generates a batch of links. The tokens exist only in this response: a printable page with
/// a QR code per link, or a CSV attachment (`link,unit,batch`).
pub async fn generate(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    headers: HeaderMap,
    Form(form): Form<GenerateForm>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let survey = load_survey(&state, qid).await?;
    if survey.q.status != "open" {
        return Err(WebError::ForbiddenBecause(
            "Chỉ tạo được đường dẫn cho mẫu phiếu đang mở khảo sát.".into(),
        ));
    }
    let mut errors = Vec::new();
    let count = match form.count.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_LINKS).contains(&n) => n,
        _ => {
            errors.push(format!(
                "Số đường dẫn phải là số nguyên từ 1 đến {MAX_LINKS}."
            ));
            0
        }
    };
    let batch = form.batch.trim().to_owned();
    if batch.is_empty() || batch.chars().count() > 100 {
        errors.push("Tên đợt phải có từ 1 đến 100 ký tự.".into());
    }
    let unit = match form.unit.trim() {
        "" => None,
        raw => match raw.parse::<i64>().ok().and_then(|id| survey.unit(id)) {
            Some(u) => Some(u.clone()),
            None => {
                errors.push("Đơn vị được chọn không thuộc mẫu phiếu này.".into());
                None
            }
        },
    };
    let csv = match form.format.as_str() {
        "" | "page" => false,
        "csv" => true,
        _ => {
            errors.push("Định dạng phải là trang in hoặc CSV.".into());
            false
        }
    };
    if !errors.is_empty() {
        let page = links_page_for(&state, &user, &survey, &form, errors).await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let tokens: Vec<String> = (0..count).map(|_| new_token()).collect();
    let hashes: Vec<String> = tokens.iter().map(|t| crate::auth::token_hash(t)).collect();
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    tx.create_survey_links(qid, unit.as_ref().map(|u| u.id), &batch, &hashes)
        .await?;
    tx.commit().await?;

    let base = base_url(&state, &headers);
    let urls: Vec<String> = tokens.iter().map(|t| format!("{base}/s/{t}")).collect();
    let unit_text = unit_label(unit.as_ref());
    if csv {
        use parindex_formats::{CsvCell, CsvWriter};
        let mut table = CsvWriter::new(&["link", "unit", "batch"]);
        let unit_cell = unit.as_ref().map(|u| u.code.as_str()).unwrap_or("");
        for url in &urls {
            table.row(&[
                CsvCell::text(url.as_str()),
                CsvCell::text(unit_cell),
                CsvCell::text(batch.as_str()),
            ]);
        }
        let out = table.finish();
        let slug: String = batch
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect::<String>()
            .split('-')
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        let slug = if slug.is_empty() {
            "links".to_owned()
        } else {
            slug
        };
        let disposition = format!("attachment; filename=\"khao-sat-{qid}-{slug}.csv\"");
        return Ok((
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/csv; charset=utf-8"),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&disposition)
                        .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
                ),
            ],
            out,
        )
            .into_response());
    }
    let cards = urls
        .into_iter()
        .map(|url| LinkCard {
            svg: qr_svg(&url),
            url,
        })
        .collect();
    super::render(&PrintPage {
        p: Page::for_user(&state, &user, "survey_collect.print_title"),
        q: survey.q,
        batch,
        unit: unit_text,
        cards,
    })
}

// ---------------------------------------------------------------------------------------------
// The public form behind a link: no login.

#[derive(Template)]
#[template(path = "survey_form.html")]
struct PublicForm {
    lang: Lang,
    csrf: String,
    province: String,
    title: String,
    blocks: Vec<UnitBlock>,
    errors: Vec<String>,
    saved: bool,
}

#[derive(Template)]
#[template(path = "survey_collect_public_message.html")]
struct PublicMessage {
    lang: Lang,
    province: String,
    title: &'static str,
    message: &'static str,
    testid: &'static str,
}

impl PublicForm {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }
}

fn public_message(
    state: &AppState,
    ctx: &RequestCtx,
    status: StatusCode,
    key: &'static str,
) -> Response {
    let page = PublicMessage {
        lang: ctx.lang,
        province: state.config.province_name.clone(),
        title: ctx.lang.t(&format!("survey_collect.{key}_title")),
        message: ctx.lang.t(&format!("survey_collect.{key}_text")),
        testid: key,
    };
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => WebError::from(e).into_response(),
    }
}

/// A link that may be answered now, or the page that says why not.
enum Gate {
    Open(Box<(SurveyLink, Survey, Vec<UnitRef>)>),
    Refused(StatusCode, &'static str),
}

async fn gate(state: &AppState, token: &str) -> Result<Gate, WebError> {
    if !well_formed_token(token) {
        return Ok(Gate::Refused(StatusCode::NOT_FOUND, "invalid"));
    }
    let Some(link) = state
        .store
        .survey_link_by_hash(&crate::auth::token_hash(token))
        .await?
    else {
        return Ok(Gate::Refused(StatusCode::NOT_FOUND, "invalid"));
    };
    if link.used_at.is_some() {
        return Ok(Gate::Refused(StatusCode::GONE, "used"));
    }
    let survey = load_survey(state, link.questionnaire_id).await?;
    if survey.q.status != "open" {
        return Ok(Gate::Refused(StatusCode::GONE, "closed"));
    }
    // From council review on the survey is frozen (`check_survey_write`): the link answers
    // as a closed survey.
    if parindex_app::survey_scoring::check_writable(&survey.period).is_err() {
        return Ok(Gate::Refused(StatusCode::GONE, "closed"));
    }
    let now = parindex_store::now_ms();
    if survey.period.survey_open_at.is_some_and(|t| now < t) {
        return Ok(Gate::Refused(StatusCode::FORBIDDEN, "not_yet"));
    }
    if survey.period.survey_close_at.is_some_and(|t| now > t) {
        return Ok(Gate::Refused(StatusCode::GONE, "closed"));
    }
    let units: Vec<UnitRef> = match link.unit_id {
        Some(id) => survey.unit(id).cloned().into_iter().collect(),
        None => survey.units.clone(),
    };
    Ok(Gate::Open(Box::new((link, survey, units))))
}

#[expect(
    clippy::too_many_arguments,
    reason = "the form's parts, each from a different source"
)]
fn render_public_form(
    state: &AppState,
    ctx: &RequestCtx,
    status: StatusCode,
    survey: &Survey,
    units: &[UnitRef],
    answers: &ResponseAnswers,
    errors: Vec<String>,
    mark_missing: bool,
    saved: bool,
) -> Result<Response, WebError> {
    let page = PublicForm {
        lang: ctx.lang,
        csrf: ctx.csrf.clone(),
        province: state.config.province_name.clone(),
        title: survey.q.title.clone(),
        blocks: blocks(&survey.doc, units, answers, mark_missing),
        errors,
        saved,
    };
    super::render_status(status, &page)
}

#[derive(Deserialize)]
pub struct PublicQuery {
    saved: Option<String>,
}

pub async fn public_form(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    Query(query): Query<PublicQuery>,
) -> Result<Response, WebError> {
    let (link, survey, units) = match gate(&state, &token).await? {
        Gate::Open(open) => *open,
        Gate::Refused(status, key) => return Ok(public_message(&state, &ctx, status, key)),
    };
    let answers = match link.response_id {
        Some(id) => {
            let response = state.store.survey_response(id).await?;
            ResponseAnswers::decode(&response.answers).unwrap_or_default()
        }
        None => ResponseAnswers::default(),
    };
    render_public_form(
        &state,
        &ctx,
        StatusCode::OK,
        &survey,
        &units,
        &answers,
        Vec::new(),
        false,
        query.saved.is_some(),
    )
}

/// Saves a draft ("Lưu để làm tiếp") or submits ("Gửi phiếu": every question answered for
/// every unit).
pub async fn public_save(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    let (link, survey, units) = match gate(&state, &token).await? {
        Gate::Open(open) => *open,
        Gate::Refused(status, key) => return Ok(public_message(&state, &ctx, status, key)),
    };
    let submit = match fields
        .iter()
        .find(|(k, _)| k == "action")
        .map(|(_, v)| v.as_str())
    {
        Some("submit") => true,
        Some("save") | None => false,
        Some(_) => return Err(WebError::BadRequest("Thao tác không hợp lệ.".into())),
    };
    let (answers, problems) = parse_answers(&survey.doc, &units, &fields, &["action"]);
    if !problems.is_empty() {
        return render_public_form(
            &state,
            &ctx,
            StatusCode::UNPROCESSABLE_ENTITY,
            &survey,
            &units,
            &answers,
            problems,
            false,
            false,
        );
    }
    if submit {
        let missing = missing_answers(&survey.doc, &units, &answers);
        if !missing.is_empty() {
            return render_public_form(
                &state,
                &ctx,
                StatusCode::UNPROCESSABLE_ENTITY,
                &survey,
                &units,
                &answers,
                missing,
                true,
                false,
            );
        }
    }
    let mut tx = state
        .store
        .begin_write(AuditActor::system("survey-link"))
        .await?;
    match tx
        .save_link_response(link.id, &answers.encode(), submit)
        .await
    {
        Ok(_) => {}
        // Submitted through the same link meanwhile.
        Err(StoreError::Invalid(_) | StoreError::Stale) => {
            return Ok(public_message(&state, &ctx, StatusCode::GONE, "used"));
        }
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    if submit {
        Ok(public_message(&state, &ctx, StatusCode::OK, "thanks"))
    } else {
        Ok(Redirect::to(&format!("/s/{token}?saved=1")).into_response())
    }
}

/// The respondent form's own small stylesheet: phone first, large tap targets, no script.
const SURVEY_CSS: &str = "\
*{box-sizing:border-box}
body.survey{margin:0;font-family:Roboto,\"Noto Sans\",Arial,sans-serif;font-size:17px;line-height:1.45;color:#1b1f24;background:#f5f6f8}
.survey header{background:#003a70;color:#fff;padding:10px 14px;font-size:15px}
.survey main{max-width:640px;margin:0 auto;padding:12px;background:#fff;min-height:80vh}
.survey h1{font-size:21px;margin:6px 0 12px}
.unit-block h2{font-size:18px;margin:18px 0 6px;padding:6px 8px;background:#e4e9f0;border-radius:4px}
fieldset.question{border:1px solid #d5dbe3;border-radius:6px;margin:10px 0;padding:8px 10px;max-width:640px}
fieldset.question.missing{border:2px solid #b3261e;background:#fff5f4}
fieldset.question legend{font-weight:600;padding:0 4px}
label.opt{display:flex;align-items:center;gap:10px;min-height:48px;padding:8px 10px;margin:4px 0;border:1px solid #c9d1dc;border-radius:6px;background:#fafbfc;cursor:pointer;font-weight:normal}
label.opt input{width:24px;height:24px;margin:0;flex:none}
label.opt.dk{color:#5f6b7a}
label.opt input:checked+span{font-weight:700}
.paper-form label.opt{min-height:0;padding:4px 8px;display:inline-flex;margin:2px 6px 2px 0}
.survey .buttons{display:flex;flex-direction:column;gap:10px;margin:18px 0}
.survey button{font:inherit;min-height:52px;padding:10px 14px;border-radius:6px;border:1px solid #0b57a4;background:#0b57a4;color:#fff;cursor:pointer}
.survey button.secondary{background:#fff;color:#0b57a4}
.survey .error{background:#fdecea;border:1px solid #e5a39d;padding:8px 10px;color:#8c1d18;border-radius:4px}
.survey .notice{background:#e7f4ea;border:1px solid #9bcfa6;padding:8px 10px;border-radius:4px}
.survey .hint{color:#5f6b7a;font-size:15px}
@media (min-width:700px){.survey .buttons{flex-direction:row}}
ol.qr-cards{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(60mm,1fr));gap:6mm}
li.qr-card{border:1px dashed #9aa6b4;padding:4mm;text-align:center;break-inside:avoid;page-break-inside:avoid}
li.qr-card svg{width:40mm;height:40mm}
code.survey-link{font-size:10px;word-break:break-all}
@media print{ol.qr-cards{grid-template-columns:repeat(3,1fr)}}
";

pub async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        SURVEY_CSS,
    )
        .into_response()
}

/// Respondent pages carry their token in the path: no referrer may leave them, and search
/// engines are asked not to index them. Runs outside the general security headers.
pub async fn public_headers(request: Request, next: Next) -> Response {
    let public = is_public_path(request.uri().path());
    let mut response = next.run(request).await;
    if public {
        let h = response.headers_mut();
        h.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
        h.insert(
            header::HeaderName::from_static("x-robots-tag"),
            HeaderValue::from_static("noindex, nofollow"),
        );
    }
    response
}

fn is_public_path(path: &str) -> bool {
    path.starts_with("/s/")
}

/// The request span of the trace layer, with respondent tokens cut out of the path.
#[derive(Debug, Clone, Copy, Default)]
pub struct RedactedSpan;

impl<B> tower_http::trace::MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &axum::http::Request<B>) -> tracing::Span {
        let path = request.uri().path();
        let uri = if is_public_path(path) {
            "/s/[redacted]".to_owned()
        } else {
            request.uri().to_string()
        };
        tracing::debug_span!(
            "request",
            method = %request.method(),
            uri = %uri,
            version = ?request.version(),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Paper entry (ManageSurvey).

#[derive(Template)]
#[template(path = "survey_collect_paper.html")]
struct PaperPage {
    p: Page,
    q: Questionnaire,
    period_name: String,
    blocks: Vec<UnitBlock>,
    paper_ref: String,
    entry_no: String,
    errors: Vec<String>,
    done: Option<String>,
    entered: usize,
}

#[derive(Deserialize)]
pub struct PaperQuery {
    done: Option<String>,
    entry: Option<String>,
}

#[expect(
    clippy::too_many_arguments,
    reason = "the page's parts, each from a different source"
)]
async fn paper_page_for(
    state: &AppState,
    user: &CurrentUser,
    survey: &Survey,
    answers: &ResponseAnswers,
    paper_ref: &str,
    entry_no: &str,
    errors: Vec<String>,
    done: Option<String>,
) -> Result<PaperPage, WebError> {
    let entered = state
        .store
        .questionnaire_responses(survey.q.id)
        .await?
        .iter()
        .filter(|r| r.channel == "paper")
        .count();
    Ok(PaperPage {
        p: Page::for_user(state, user, "survey_collect.paper_title"),
        q: survey.q.clone(),
        period_name: survey.period.name.clone(),
        blocks: blocks(&survey.doc, &survey.units, answers, false),
        paper_ref: paper_ref.to_owned(),
        entry_no: entry_no.to_owned(),
        errors,
        done,
        entered,
    })
}

pub async fn paper(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    Query(query): Query<PaperQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let survey = load_survey(&state, qid).await?;
    let entry = query.entry.filter(|e| e == "1" || e == "2");
    let done = query.done.map(|r| {
        format!(
            "Đã lưu phiếu số {r} (lần nhập {}).",
            entry.as_deref().unwrap_or("1")
        )
    });
    let page = paper_page_for(
        &state,
        &user,
        &survey,
        &ResponseAnswers::default(),
        "",
        entry.as_deref().unwrap_or("1"),
        Vec::new(),
        done,
    )
    .await?;
    super::render(&page)
}

pub async fn paper_save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
    FormList(fields): FormList,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let survey = load_survey(&state, qid).await?;
    parindex_app::survey_scoring::check_writable(&survey.period)?;
    if survey.q.status == "draft" {
        return Err(WebError::ForbiddenBecause(
            "Mẫu phiếu còn ở trạng thái nháp; hãy mở khảo sát trước khi nhập phiếu giấy.".into(),
        ));
    }
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let paper_ref = field("paper_ref");
    let entry_raw = field("entry_no");
    let (answers, mut problems) = parse_answers(
        &survey.doc,
        &survey.units,
        &fields,
        &["paper_ref", "entry_no"],
    );
    if paper_ref.is_empty() || paper_ref.chars().count() > 64 {
        problems.insert(0, "Số phiếu là bắt buộc (tối đa 64 ký tự).".into());
    }
    let entry_no: i64 = match entry_raw.as_str() {
        "1" => 1,
        "2" => 2,
        _ => {
            problems.push("Lần nhập phải là 1 hoặc 2.".into());
            1
        }
    };
    if problems.is_empty() && answers.is_empty() {
        problems.push("Phiếu chưa có câu trả lời nào.".into());
    }
    if !problems.is_empty() {
        let page = paper_page_for(
            &state, &user, &survey, &answers, &paper_ref, &entry_raw, problems, None,
        )
        .await?;
        return super::render_status(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    let mut tx = state.store.begin_write(user.audit_actor()).await?;
    let (inserted, _) = tx
        .add_survey_responses(
            qid,
            &[NewResponse {
                channel: "paper",
                source_key: None,
                paper_ref: Some(paper_ref.clone()),
                entry_no,
                answers: answers.encode(),
                submitted_at: parindex_store::now_ms(),
            }],
            serde_json::json!({ "paper_ref": paper_ref, "entry_no": entry_no }),
        )
        .await?;
    if inserted == 0 {
        drop(tx);
        let page = paper_page_for(
            &state,
            &user,
            &survey,
            &answers,
            &paper_ref,
            &entry_raw,
            vec![format!("Phiếu số {paper_ref} đã được nhập lần {entry_no}.")],
            None,
        )
        .await?;
        return super::render_status(StatusCode::CONFLICT, &page);
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!(
        "/questionnaires/{qid}/paper?done={}&entry={entry_no}",
        crate::page::url_encode(&paper_ref)
    ))
    .into_response())
}

pub struct Difference {
    pub unit: String,
    pub question: String,
    pub first: String,
    pub second: String,
}

pub struct MismatchRow {
    pub paper_ref: String,
    pub differences: Vec<Difference>,
}

pub struct SingleRow {
    pub paper_ref: String,
    pub entry_no: i64,
}

#[derive(Template)]
#[template(path = "survey_collect_mismatches.html")]
struct MismatchPage {
    p: Page,
    q: Questionnaire,
    compared: usize,
    mismatches: Vec<MismatchRow>,
    singles: Vec<SingleRow>,
}

/// The double-entry report: for each paper form keyed twice, the answers that differ; and
/// the forms keyed only once.
pub async fn mismatches(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(qid): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ManageSurvey)?;
    let survey = load_survey(&state, qid).await?;
    let responses = state.store.questionnaire_responses(qid).await?;
    let mut by_ref: BTreeMap<String, BTreeMap<i64, ResponseAnswers>> = BTreeMap::new();
    for r in responses.iter().filter(|r| r.channel == "paper") {
        if let Some(paper_ref) = &r.paper_ref {
            by_ref.entry(paper_ref.clone()).or_default().insert(
                r.entry_no,
                ResponseAnswers::decode(&r.answers).unwrap_or_default(),
            );
        }
    }
    let unit_name = |id: i64| {
        survey
            .unit(id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let mut compared = 0;
    let mut mismatches = Vec::new();
    let mut singles = Vec::new();
    for (paper_ref, entries) in by_ref {
        match (entries.get(&1), entries.get(&2)) {
            (Some(a), Some(b)) => {
                compared += 1;
                let mut differences = Vec::new();
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
                            differences.push(Difference {
                                unit: unit_name(unit),
                                question: code.to_owned(),
                                first: x.cloned().unwrap_or_else(|| "—".into()),
                                second: y.cloned().unwrap_or_else(|| "—".into()),
                            });
                        }
                    }
                }
                if !differences.is_empty() {
                    mismatches.push(MismatchRow {
                        paper_ref,
                        differences,
                    });
                }
            }
            _ => {
                for entry_no in entries.keys() {
                    singles.push(SingleRow {
                        paper_ref: paper_ref.clone(),
                        entry_no: *entry_no,
                    });
                }
            }
        }
    }
    super::render(&MismatchPage {
        p: Page::for_user(&state, &user, "survey_collect.mismatch_title"),
        q: survey.q,
        compared,
        mismatches,
        singles,
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/questionnaires/{qid}/links", links)
        .post("/questionnaires/{qid}/links", generate)
        .get("/questionnaires/{qid}/paper", paper)
        .post("/questionnaires/{qid}/paper", paper_save)
        .get("/questionnaires/{qid}/paper/mismatches", mismatches)
        .get("/s/{token}", public_form)
        .post("/s/{token}", public_save)
        .open_get("/survey.css", stylesheet)
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
