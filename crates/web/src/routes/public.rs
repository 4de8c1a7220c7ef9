//! The public results page, open without login: the published periods, each with its ranking
//! per group, the methodology (the index set, the survey, the formula), every unit's breakdown
//! and the open-data downloads. Only published periods and their published snapshots are
//! reachable: anything else answers 404, whoever asks.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_domain::Points;
use parindex_domain::appraisal::Stage;

use super::results::{
    GroupView, RowView, TableQuery, band_legend, csv_download, group_view, json_download, row_view,
    tie_rule,
};
use crate::AppState;
use crate::auth::RequestCtx;
use crate::error::WebError;
use crate::extract::{Path, Query};
use crate::page::Page;
use parindex_app::evaluation::stage_of;
use parindex_app::results::{Audience, PeriodResults};

pub struct PublishedPeriod {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "public_index.html")]
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
    for period in state.store.list_periods().await? {
        if stage_of(&period)?.0 == Stage::Published {
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
    }
    periods.sort_by(|a, b| b.year.cmp(&a.year).then(b.id.cmp(&a.id)));
    super::render(&IndexPage {
        p: Page::anonymous(&state, &ctx, "results.public_title"),
        periods,
    })
}

/// The methodology of one group: its set, the survey's share and the formula.
pub struct Methodology {
    pub group: String,
    pub set_title: String,
    pub illustrative: bool,
    pub domains: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "public_period.html")]
struct PeriodPage {
    p: Page,
    period_id: i64,
    period_name: String,
    decision: String,
    tie_rule: &'static str,
    band_legend: String,
    groups: Vec<GroupView>,
    methodology: Vec<Methodology>,
    survey_groups: Vec<(String, String)>,
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
        .store
        .survey_groups(id)
        .await?
        .into_iter()
        .map(|g| (g.name, Points::from_millipoints(g.weight_milli).exact_vi()))
        .collect();
    let mut p = Page::anonymous(&state, &ctx, "results.public_title");
    p.title = format!("{} — {}", p.title, r.period.name);
    super::render(&PeriodPage {
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

pub struct DomainLine {
    pub code: String,
    pub title: String,
    pub achieved: String,
    pub max: String,
    pub lost: String,
    pub percent: String,
}

#[derive(Template)]
#[template(path = "public_unit.html")]
struct UnitPage {
    p: Page,
    period_id: i64,
    period_name: String,
    group: String,
    row: RowView,
    domains: Vec<DomainLine>,
    radar_svg: String,
}

/// The domain lines of a unit's result (achieved, max, lost, %).
pub fn domain_lines(r: &PeriodResults, unit_id: i64) -> Option<Vec<DomainLine>> {
    let u = r.unit(unit_id)?;
    let g = r.group_of(unit_id)?;
    Some(
        g.domains
            .iter()
            .map(|(code, title)| {
                let (a, m) = u
                    .snap
                    .domains
                    .iter()
                    .find(|(c, _, _)| c == code)
                    .map_or((0, 0), |(_, a, m)| (*a, *m));
                DomainLine {
                    code: code.clone(),
                    title: title.clone(),
                    achieved: Points::from_millipoints(a).display_vi(),
                    max: Points::from_millipoints(m).display_vi(),
                    lost: Points::from_millipoints(m - a).display_vi(),
                    percent: u
                        .domain_percent(code)
                        .map_or_else(|| "—".to_owned(), |p| Points::new(p).display_vi()),
                }
            })
            .collect(),
    )
}

/// The radar of a unit's domains against its group's median.
pub fn unit_radar(r: &PeriodResults, unit_id: i64) -> String {
    let (Some(u), Some(g)) = (r.unit(unit_id), r.group_of(unit_id)) else {
        return String::new();
    };
    let axes: Vec<String> = g.domains.iter().map(|(c, _)| c.clone()).collect();
    let mine = g.domains.iter().map(|(c, _)| u.domain_percent(c)).collect();
    let median = g
        .domains
        .iter()
        .map(|(c, _)| {
            let values: Vec<_> = g.units.iter().filter_map(|x| x.domain_percent(c)).collect();
            parindex_domain::ranking::median(&values)
        })
        .collect();
    parindex_formats::charts::radar(
        "Tỷ lệ điểm theo lĩnh vực (%)",
        &axes,
        &[
            (u.unit_name.clone(), mine),
            (format!("Trung vị nhóm {}", g.group_code), median),
        ],
    )
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
    super::render(&UnitPage {
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

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/public", index)
        .get("/public/periods/{id}", period)
        .get("/public/periods/{id}/units/{unit_id}", unit)
        .get("/public/periods/{id}/results.csv", results_csv)
        .get("/public/periods/{id}/results.json", results_json)
}
