//! The view models of the survey collection's pages, and the links' presentation (address,
//! QR code, CSV).

use askama::Template;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use parindex_app::survey_collect::{
    BatchLine, GeneratedLinks, MismatchReport, PaperEntry, Survey, UnitRef,
};
use parindex_app::survey_setup::QuestionnaireStatus;
use parindex_domain::survey::{QuestionnaireDoc, ResponseAnswers};
use parindex_store::survey::Questionnaire;

use super::forms::GenerateForm;
use crate::AppState;
use crate::auth::{CurrentUser, RequestCtx};
use crate::i18n::Lang;
use crate::page::{Page, datetime_vi};

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

/// The answer blocks of a form, one per unit, with the given answers checked.
pub fn blocks(
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

fn unit_label(lang: Lang, unit: Option<&UnitRef>) -> String {
    match unit {
        Some(u) => format!("{} — {}", u.code, u.name),
        None => lang.t("survey_collect.all_units").to_owned(),
    }
}

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
#[template(path = "survey_collect/links.html")]
pub struct LinksPage {
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

impl LinksPage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        (survey, batches): (Survey, Vec<BatchLine>),
        form: &GenerateForm,
        errors: Vec<String>,
    ) -> LinksPage {
        let lang = user.ctx.lang;
        let selected: Option<i64> = form.unit.parse().ok();
        LinksPage {
            p: Page::for_user(state, user, "survey_collect.links_title"),
            period_name: survey.period.name.clone(),
            is_open: survey.status == QuestionnaireStatus::Open,
            batches: batches
                .into_iter()
                .map(|b| BatchRow {
                    unit: unit_label(lang, b.unit.as_ref()),
                    batch: b.batch,
                    created: b.created,
                    started: b.started,
                    used: b.used,
                    created_at: datetime_vi(b.created_at),
                })
                .collect(),
            units: survey
                .units
                .iter()
                .map(|u| UnitChoice {
                    id: u.id,
                    label: unit_label(lang, Some(u)),
                    selected: selected == Some(u.id),
                })
                .collect(),
            count: if form.count.is_empty() {
                "50".into()
            } else {
                form.count.clone()
            },
            batch: form.batch.clone(),
            csv: form.format == super::forms::LinkFormat::Csv,
            errors,
            q: survey.q,
        }
    }
}

pub struct LinkCard {
    pub url: String,
    pub svg: String,
}

#[derive(Template)]
#[template(path = "survey_collect/links_print.html")]
pub struct PrintPage {
    p: Page,
    q: Questionnaire,
    batch: String,
    unit: String,
    cards: Vec<LinkCard>,
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

/// The links' full addresses.
pub fn link_urls(state: &AppState, headers: &HeaderMap, links: &GeneratedLinks) -> Vec<String> {
    let base = base_url(state, headers);
    links
        .tokens
        .iter()
        .map(|t| format!("{base}/s/{t}"))
        .collect()
}

impl PrintPage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        links: GeneratedLinks,
        urls: Vec<String>,
    ) -> PrintPage {
        PrintPage {
            p: Page::for_user(state, user, "survey_collect.print_title"),
            unit: unit_label(user.ctx.lang, links.unit.as_ref()),
            cards: urls
                .into_iter()
                .map(|url| LinkCard {
                    svg: qr_svg(&url),
                    url,
                })
                .collect(),
            batch: links.batch,
            q: links.survey.q,
        }
    }
}

/// The links as a CSV attachment (`link,unit,batch`).
pub fn links_csv(links: &GeneratedLinks, urls: &[String]) -> Response {
    use parindex_formats::{CsvCell, CsvWriter};
    let mut table = CsvWriter::new(&["link", "unit", "batch"]);
    let unit_cell = links.unit.as_ref().map(|u| u.code.as_str()).unwrap_or("");
    for url in urls {
        table.row(&[
            CsvCell::text(url.as_str()),
            CsvCell::text(unit_cell),
            CsvCell::text(links.batch.as_str()),
        ]);
    }
    let out = table.finish();
    let slug: String = links
        .batch
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
    let qid = links.survey.q.id;
    let disposition = format!("attachment; filename=\"khao-sat-{qid}-{slug}.csv\"");
    (
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
        .into_response()
}

#[derive(Template)]
#[template(path = "survey_collect/form.html")]
pub struct PublicForm {
    lang: Lang,
    csrf: String,
    province: String,
    title: String,
    blocks: Vec<UnitBlock>,
    errors: Vec<String>,
    saved: bool,
}

impl PublicForm {
    fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    pub fn new(
        state: &AppState,
        ctx: &RequestCtx,
        survey: &Survey,
        blocks: Vec<UnitBlock>,
        errors: Vec<String>,
        saved: bool,
    ) -> PublicForm {
        PublicForm {
            lang: ctx.lang,
            csrf: ctx.csrf.clone(),
            province: state.config.province_name.clone(),
            title: survey.q.title.clone(),
            blocks,
            errors,
            saved,
        }
    }
}

#[derive(Template)]
#[template(path = "survey_collect/public_message.html")]
pub struct PublicMessage {
    pub lang: Lang,
    pub province: String,
    pub title: &'static str,
    pub message: &'static str,
    pub testid: &'static str,
}

#[derive(Template)]
#[template(path = "survey_collect/paper.html")]
pub struct PaperPage {
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

/// What the paper-entry form shows besides the questionnaire.
pub struct PaperState {
    pub answers: ResponseAnswers,
    pub paper_ref: String,
    pub entry_no: String,
    pub errors: Vec<String>,
    pub done: Option<String>,
}

impl PaperPage {
    pub fn new(
        state: &AppState,
        user: &CurrentUser,
        entry: PaperEntry,
        form: PaperState,
    ) -> PaperPage {
        let survey = entry.survey;
        PaperPage {
            p: Page::for_user(state, user, "survey_collect.paper_title"),
            period_name: survey.period.name.clone(),
            blocks: blocks(&survey.doc, &survey.units, &form.answers, false),
            q: survey.q,
            paper_ref: form.paper_ref,
            entry_no: form.entry_no,
            errors: form.errors,
            done: form.done,
            entered: entry.entered,
        }
    }
}

pub struct DifferenceRow {
    pub unit: String,
    pub question: String,
    pub first: String,
    pub second: String,
}

pub struct MismatchRow {
    pub paper_ref: String,
    pub differences: Vec<DifferenceRow>,
}

pub struct SingleRow {
    pub paper_ref: String,
    pub entry_no: i64,
}

#[derive(Template)]
#[template(path = "survey_collect/mismatches.html")]
pub struct MismatchPage {
    p: Page,
    q: Questionnaire,
    compared: usize,
    mismatches: Vec<MismatchRow>,
    singles: Vec<SingleRow>,
}

impl MismatchPage {
    pub fn new(state: &AppState, user: &CurrentUser, report: MismatchReport) -> MismatchPage {
        let dash = |v: Option<String>| v.unwrap_or_else(|| "—".into());
        MismatchPage {
            p: Page::for_user(state, user, "survey_collect.mismatch_title"),
            q: report.q,
            compared: report.compared,
            mismatches: report
                .mismatches
                .into_iter()
                .map(|m| MismatchRow {
                    paper_ref: m.paper_ref,
                    differences: m
                        .differences
                        .into_iter()
                        .map(|d| DifferenceRow {
                            unit: d.unit,
                            question: d.question,
                            first: dash(d.first),
                            second: dash(d.second),
                        })
                        .collect(),
                })
                .collect(),
            singles: report
                .singles
                .into_iter()
                .map(|(paper_ref, entry_no)| SingleRow {
                    paper_ref,
                    entry_no,
                })
                .collect(),
        }
    }
}
