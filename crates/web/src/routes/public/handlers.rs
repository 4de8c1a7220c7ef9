//! Handlers of the public results pages: parse, call the loader, render.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_domain::Points;

use crate::AppState;
use crate::auth::RequestCtx;
use crate::error::WebError;
use crate::extract::{Path, Query};
use crate::page::Page;
use crate::views::open_data::{csv_download, json_download};
use crate::views::results::{
    DomainLine, GroupView, RowView, TableQuery, band_legend, domain_lines, group_view, row_view,
    tie_rule, unit_radar,
};
use parindex_app::results::{Audience, PeriodResults};

pub struct PublishedPeriod {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "public/index.html")]
struct IndexPage {
    p: Page,
    periods: Vec<PublishedPeriod>,
}

fn decision_text(number: Option<&String>, date: Option<&String>) -> String {
    match (number, date) {
        (Some(n), Some(d)) => format!("Quyết định số {n} ngày {d}"),
        (Some(n), None) => format!("Quyết định số {n}"),
        _ => String::new(),
    }
}

/// `GET /public`: the published periods, newest first.
pub async fn index(State(state): State<AppState>, ctx: RequestCtx) -> Result<Response, WebError> {
    let mut periods = Vec::new();
    for period in state.published_periods().await? {
        periods.push(PublishedPeriod {
            decision: decision_text(
                period.decision_number.as_ref(),
                period.decision_date.as_ref(),
            ),
            id: period.id,
            name: period.name,
            year: period.year,
        });
    }
    periods.sort_by(|a, b| b.year.cmp(&a.year).then(b.id.cmp(&a.id)));
    crate::routes::render(&IndexPage {
        p: Page::anonymous(&state, &ctx, "results.public_title"),
        periods,
    })
}

/// A survey group's weight, for the methodology.
pub struct SurveyShareLine {
    pub name: String,
    pub weight: String,
}

/// The methodology of one group: its set, the survey's share and the formula.
pub struct Methodology {
    pub group: String,
    pub set_title: String,
    pub illustrative: bool,
    pub domains: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "public/period.html")]
struct PeriodPage {
    p: Page,
    period_id: i64,
    period_name: String,
    decision: String,
    tie_rule: &'static str,
    band_legend: String,
    groups: Vec<GroupView>,
    methodology: Vec<Methodology>,
    survey_groups: Vec<SurveyShareLine>,
    q: String,
}

/// `GET /public/periods/{id}`: the published ranking, methodology and downloads.
pub async fn period(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, WebError> {
    let r = PeriodResults::load(&state, id, Audience::Public).await?;
    let lang = ctx.lang;
    let survey_groups = state
        .survey_shares(id)
        .await?
        .into_iter()
        .map(|g| SurveyShareLine {
            name: g.name,
            weight: Points::from_millipoints(g.weight_milli).exact_vi(),
        })
        .collect();
    let mut p = Page::anonymous(&state, &ctx, "results.public_title");
    p.title = format!("{} — {}", p.title, r.period.name);
    crate::routes::render(&PeriodPage {
        p,
        period_id: id,
        period_name: r.period.name.clone(),
        decision: decision_text(
            r.period.decision_number.as_ref(),
            r.period.decision_date.as_ref(),
        ),
        tie_rule: tie_rule(lang),
        band_legend: band_legend(lang, &r),
        groups: r.groups.iter().map(|g| group_view(lang, g, &q)).collect(),
        methodology: r
            .groups
            .iter()
            .map(|g| Methodology {
                group: g.group_code.clone(),
                set_title: g.set_title.clone(),
                illustrative: g.set_illustrative,
                domains: g.domains.clone(),
            })
            .collect(),
        survey_groups,
        q: q.q.unwrap_or_default(),
    })
}

#[derive(Template)]
#[template(path = "public/unit.html")]
struct UnitPage {
    p: Page,
    period_id: i64,
    period_name: String,
    group: String,
    row: RowView,
    domains: Vec<DomainLine>,
    radar_svg: String,
}

/// `GET /public/periods/{id}/units/{unit_id}`: one unit's published breakdown.
pub async fn unit(
    State(state): State<AppState>,
    ctx: RequestCtx,
    Path((id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let r = PeriodResults::load(&state, id, Audience::Public).await?;
    let u = r.unit(unit_id).ok_or(WebError::NotFound)?;
    let domains = domain_lines(&r, unit_id).ok_or(WebError::NotFound)?;
    let mut p = Page::anonymous(&state, &ctx, "results.unit_title");
    p.title = format!("{} — {}", u.unit_name, r.period.name);
    crate::routes::render(&UnitPage {
        p,
        period_id: id,
        period_name: r.period.name.clone(),
        group: u.group_code.clone(),
        row: row_view(ctx.lang, u),
        domains,
        radar_svg: unit_radar(&r, unit_id),
    })
}

/// `GET /public/periods/{id}/results.csv`
pub async fn results_csv(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let r = PeriodResults::load(&state, id, Audience::Public).await?;
    Ok(csv_download(&r))
}

/// `GET /public/periods/{id}/results.json`
pub async fn results_json(
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    let r = PeriodResults::load(&state, id, Audience::Public).await?;
    json_download(&r)
}
