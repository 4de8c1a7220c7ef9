//! Handlers of the staff results pages and their exports: parse, call the loader, render.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use parindex_domain::Action;
use parindex_domain::Points;
use parindex_domain::ranking::{Band, TIE_RULE_VI};
use parindex_formats::report::results::{
    ResultsGroup, ResultsReport, ResultsRow, ScorecardLine, UnitScorecardReport, write_results_pdf,
    write_results_xlsx, write_unit_scorecard_pdf,
};
use rust_decimal::Decimal;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Path, Query};
use crate::i18n::Lang;
use crate::page::Page;
use parindex_app::results::{Audience, Mark, PeriodResults, node_figures};

use crate::views::acting::acting;
use crate::views::open_data::{csv_download, download, json_download};
use crate::views::results::{
    DomainLine, GroupView, RowView, TableQuery, band_label, band_legend, domain_lines,
    filter_and_sort, group_view, pts, row_view, tie_rule, unit_radar,
};

#[derive(Template)]
#[template(path = "results/ranking.html")]
struct RankingPage {
    p: Page,
    period_id: i64,
    period_name: String,
    official: bool,
    tie_rule: &'static str,
    band_legend: String,
    last_year: Option<String>,
    groups: Vec<GroupView>,
    group_codes: Vec<String>,
    q: String,
    group: String,
    band: String,
    sort: String,
    /// The filters as a query string, percent-encoded, for the sort links.
    filter_query: String,
}

/// The filters (group, search, band) as a percent-encoded query string.
fn filter_query(q: &TableQuery) -> String {
    let enc = |v: &Option<String>| crate::page::url_encode(v.as_deref().unwrap_or_default());
    format!(
        "group={}&q={}&band={}",
        enc(&q.group),
        enc(&q.q),
        enc(&q.band)
    )
}

/// `GET /periods/{id}/ranking`: the ranking of every group, with filters, sort and charts.
pub async fn ranking(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let lang = user.ctx.lang;
    let results = PeriodResults::load(&state, id, Audience::Internal).await?;
    let group_codes = results
        .groups
        .iter()
        .map(|g| g.group_code.clone())
        .collect();
    let groups = results
        .groups
        .iter()
        .filter(|g| q.shows_group(&g.group_code))
        .map(|g| group_view(lang, g, &q))
        .collect();
    let mut p = Page::for_user(&state, &user, "results.ranking_title");
    p.title = format!("{} — {}", p.title, results.period.name);
    crate::routes::render(&RankingPage {
        p,
        period_id: id,
        period_name: results.period.name.clone(),
        official: results.official(),
        tie_rule: tie_rule(lang),
        band_legend: band_legend(lang, &results),
        last_year: results.last_year.as_ref().map(|(_, n)| n.clone()),
        groups,
        group_codes,
        q: q.q.clone().unwrap_or_default(),
        group: q.group.clone().unwrap_or_default(),
        band: q.band.clone().unwrap_or_default(),
        sort: q.sort.clone().unwrap_or_else(|| "rank".to_owned()),
        filter_query: filter_query(&q),
    })
}

/// One cell of the heat map.
pub struct HeatCell {
    pub percent: String,
    /// 0–10: the tenth of 100 % the value falls in, for the colour; `na` without a value.
    pub level: String,
}

pub struct HeatRow {
    pub unit_code: String,
    pub unit_name: String,
    pub index: String,
    pub cells: Vec<HeatCell>,
}

pub struct HeatGroup {
    pub code: String,
    pub domains: Vec<(String, String)>,
    pub rows: Vec<HeatRow>,
}

fn heat_cell(percent: Option<Decimal>) -> HeatCell {
    match percent {
        None => HeatCell {
            percent: "—".to_owned(),
            level: "na".to_owned(),
        },
        Some(p) => {
            let published = Points::new(p).published();
            let level = (published / Decimal::TEN)
                .floor()
                .clamp(Decimal::ZERO, Decimal::TEN);
            HeatCell {
                percent: Points::new(p).display_vi(),
                level: level.normalize().to_string(),
            }
        }
    }
}

pub fn heat_groups(r: &PeriodResults, q: &TableQuery) -> Vec<HeatGroup> {
    r.groups
        .iter()
        .filter(|g| q.shows_group(&g.group_code))
        .map(|g| HeatGroup {
            code: g.group_code.clone(),
            domains: g.domains.clone(),
            rows: filter_and_sort(&g.units, q)
                .into_iter()
                .map(|u| HeatRow {
                    unit_code: u.unit_code.clone(),
                    unit_name: u.unit_name.clone(),
                    index: u.index_vi(),
                    cells: g
                        .domains
                        .iter()
                        .map(|(code, _)| heat_cell(u.domain_percent(code)))
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "results/matrix.html")]
struct MatrixPage {
    p: Page,
    period_id: i64,
    official: bool,
    groups: Vec<HeatGroup>,
    group_codes: Vec<String>,
    q: String,
    group: String,
    sort: String,
}

/// `GET /periods/{id}/matrix`: units × domains, % of the applicable maximum, as a heat map.
pub async fn matrix(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
    Query(q): Query<TableQuery>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let results = PeriodResults::load(&state, id, Audience::Internal).await?;
    let mut p = Page::for_user(&state, &user, "results.matrix_title");
    p.title = format!("{} — {}", p.title, results.period.name);
    crate::routes::render(&MatrixPage {
        p,
        period_id: id,
        official: results.official(),
        groups: heat_groups(&results, &q),
        group_codes: results
            .groups
            .iter()
            .map(|g| g.group_code.clone())
            .collect(),
        q: q.q.clone().unwrap_or_default(),
        group: q.group.clone().unwrap_or_default(),
        sort: q.sort.clone().unwrap_or_else(|| "rank".to_owned()),
    })
}

/// `GET /periods/{id}/results.csv`
pub async fn results_csv(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let r = PeriodResults::load(&state, id, Audience::Internal).await?;
    Ok(csv_download(&r))
}

/// `GET /periods/{id}/results.json`
pub async fn results_json(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let r = PeriodResults::load(&state, id, Audience::Internal).await?;
    json_download(&r)
}

/// The results as the export files take them.
pub fn results_report(state: &AppState, r: &PeriodResults) -> ResultsReport {
    let pts = |m: i64| Points::from_millipoints(m).value();
    let status_line = match (&r.period.decision_number, &r.period.decision_date) {
        (Some(n), Some(d)) if r.official() => {
            format!("Kèm theo Quyết định số {n} ngày {d}")
        }
        (Some(n), None) if r.official() => format!("Kèm theo Quyết định số {n}"),
        _ if r.official() => "Kết quả chính thức".to_owned(),
        _ => "KẾT QUẢ TẠM TÍNH — chưa được phê duyệt, công bố".to_owned(),
    };
    ResultsReport {
        province: if state.config.province_name.is_empty() {
            "Ủy ban nhân dân tỉnh".to_owned()
        } else {
            state.config.province_name.clone()
        },
        period_name: r.period.name.clone(),
        status_line,
        official: r.official(),
        generated_at: crate::page::datetime_vi(parindex_store::now_ms()),
        tie_rule: TIE_RULE_VI.to_owned(),
        band_legend: band_legend(Lang::Vi, r),
        groups: r
            .groups
            .iter()
            .map(|g| ResultsGroup {
                code: g.group_code.clone(),
                set_title: g.set_title.clone(),
                illustrative: g.set_illustrative,
                domains: g.domains.clone(),
                rows: g
                    .units
                    .iter()
                    .map(|u| ResultsRow {
                        rank: u.rank.map_or_else(|| "—".to_owned(), |x| x.to_string()),
                        tied: u.tied,
                        unit_code: u.unit_code.clone(),
                        unit_name: u.unit_name.clone(),
                        appraised: pts(u.snap.appraised_milli),
                        survey: pts(u.snap.survey_milli),
                        bonus: pts(u.snap.bonus_milli),
                        penalty: pts(u.snap.penalty_milli),
                        total: pts(u.snap.total_milli),
                        applicable_max: pts(u.snap.applicable_max_milli),
                        index: u.index.map(|i| Points::new(i).published()),
                        band: u.band.map(Band::label_vi).unwrap_or("—").to_owned(),
                        domain_percents: g
                            .domains
                            .iter()
                            .map(|(c, _)| u.domain_percent(c).map(|p| Points::new(p).published()))
                            .collect(),
                        domain_points: g
                            .domains
                            .iter()
                            .map(|(c, _)| {
                                u.snap
                                    .domains
                                    .iter()
                                    .find(|(code, _, _)| code == c)
                                    .map_or((Decimal::ZERO, Decimal::ZERO), |(_, a, m)| {
                                        (pts(*a), pts(*m))
                                    })
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// Builds an export off the async threads (typst and the workbook writer are CPU work).
pub async fn export(
    report: ResultsReport,
    write: fn(&ResultsReport) -> Result<Vec<u8>, parindex_formats::FormatError>,
) -> Result<Vec<u8>, WebError> {
    tokio::task::spawn_blocking(move || write(&report))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))
}

/// `GET /periods/{id}/ranking.xlsx`
pub async fn ranking_xlsx(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let r = PeriodResults::load(&state, id, Audience::Internal).await?;
    let bytes = export(results_report(&state, &r), write_results_xlsx).await?;
    Ok(download(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        &format!("xep-hang-cchc-{}.xlsx", r.period.year),
        bytes,
    ))
}

/// `GET /periods/{id}/ranking.pdf`: the results annex.
pub async fn ranking_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    user.require(Action::ViewProvisionalResults)?;
    let r = PeriodResults::load(&state, id, Audience::Internal).await?;
    let bytes = export(results_report(&state, &r), write_results_pdf).await?;
    Ok(download(
        "application/pdf",
        &format!("phu-luc-ket-qua-cchc-{}.pdf", r.period.year),
        bytes,
    ))
}

/// One leaf on a unit's result scorecard: self score against each round and the final value.
pub struct LeafLine {
    pub code: String,
    pub title: String,
    pub level: usize,
    pub is_leaf: bool,
    pub max: String,
    pub self_score: String,
    pub rounds: Vec<String>,
    pub final_score: String,
    pub lost: String,
    /// The sub-index: final ÷ applicable max × 100 ("87,50"), or "—".
    pub percent: String,
    /// Scored below its maximum.
    pub not_met: bool,
    /// Declared not applicable: the scores read "Không áp dụng", the maximum is the leaf's
    /// own, nothing is lost.
    pub not_applicable: bool,
}

/// One earlier period of the unit, for the year-over-year table.
pub struct YearLine {
    pub period_id: i64,
    pub name: String,
    pub year: i64,
    pub index: String,
    pub rank: String,
    pub band: &'static str,
    /// The unit as it was named then (a predecessor's name after a rename).
    pub unit_name: String,
}

#[derive(Template)]
#[template(path = "results/unit.html")]
struct UnitScorecardPage {
    p: Page,
    /// The viewer sees provisional results (staff): links to the ranking and the survey.
    staff: bool,
    period_id: i64,
    period_name: String,
    official: bool,
    row: RowView,
    group: String,
    round_numbers: Vec<u8>,
    lines: Vec<LeafLine>,
    domains: Vec<DomainLine>,
    not_met: usize,
    /// The criteria not met: (code, title, points lost).
    not_met_list: Vec<(String, String, String)>,
    detail_missing: bool,
    radar_svg: String,
    years: Vec<YearLine>,
}

fn mark_text(m: Option<Mark>) -> String {
    m.map(Mark::display_vi).unwrap_or_default()
}

/// What a unit's scorecard shows, for the page and the PDF.
struct ScorecardData {
    results: std::sync::Arc<PeriodResults>,
    round_numbers: Vec<u8>,
    lines: Vec<LeafLine>,
    /// A published snapshot from before snapshots kept the nodes: no leaf detail to show
    /// (the current values are not the published ones).
    detail_missing: bool,
    illustrative: bool,
}

/// A unit's scorecard. Published: every figure from the published snapshot, so a value
/// changed after publication never contradicts the official total. Provisional: computed now
/// from the unit's values.
async fn load_scorecard(
    state: &AppState,
    id: i64,
    unit_id: i64,
) -> Result<ScorecardData, WebError> {
    let results = PeriodResults::load(state, id, Audience::Internal).await?;
    let unit = results.unit(unit_id).ok_or(WebError::NotFound)?;
    let set = state.set_for_group(id, &unit.group_code).await?;
    let (rounds, nodes) = if unit.official {
        (unit.snap.rounds, unit.snap.nodes.clone())
    } else {
        let ev = parindex_app::evaluation::UnitEvaluation::load(state, id, unit_id).await?;
        let card = ev.scorecard()?;
        (ev.rounds.get(), node_figures(&ev, &card, true))
    };
    let round_numbers: Vec<u8> = (1..=rounds).collect();
    let lines = nodes
        .iter()
        .filter_map(|n| {
            let node = set.set.node(&n.code)?;
            let not_applicable = n.not_applicable();
            Some(LeafLine {
                code: n.code.clone(),
                title: node.title.clone(),
                level: node.level,
                is_leaf: n.leaf,
                max: if not_applicable {
                    node.max.display_vi()
                } else {
                    pts(n.applicable_max_milli)
                },
                self_score: mark_text(n.self_mark),
                rounds: round_numbers
                    .iter()
                    .map(|r| mark_text(n.rounds.get(usize::from(*r) - 1).copied().flatten()))
                    .collect(),
                final_score: if not_applicable {
                    parindex_app::results::NOT_APPLICABLE_VI.to_owned()
                } else {
                    pts(n.achieved_milli)
                },
                lost: if not_applicable {
                    "—".to_owned()
                } else {
                    pts(n.lost_milli())
                },
                percent: n
                    .percent()
                    .map_or_else(|| "—".to_owned(), |p| Points::new(p).display_vi()),
                not_met: n.not_met(),
                not_applicable,
            })
        })
        .collect();
    Ok(ScorecardData {
        detail_missing: unit.official && nodes.is_empty(),
        results: results.clone(),
        round_numbers,
        lines,
        illustrative: set.illustrative,
    })
}

/// `GET /periods/{id}/units/{unit_id}/scorecard`: a unit's result: its parts, rank and band;
/// every node with self score against every appraisal round and the final value; the points
/// lost per domain and criterion; the criteria not met; its domains against its group's
/// median; and its earlier published years.
pub async fn unit_scorecard(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    let staff = state.scorecard_access(&acting(&user)?, id, unit_id).await?;
    let lang = user.ctx.lang;
    let data = load_scorecard(&state, id, unit_id).await?;
    let results = &data.results;
    let unit = results.unit(unit_id).ok_or(WebError::NotFound)?;
    let years = year_over_year(&state, results, unit_id).await?;
    let mut p = Page::for_user(&state, &user, "results.unit_title");
    p.title = format!("{} — {}", unit.unit_name, results.period.name);
    crate::routes::render(&UnitScorecardPage {
        p,
        staff,
        period_id: id,
        period_name: results.period.name.clone(),
        official: results.official(),
        row: row_view(lang, unit),
        group: unit.group_code.clone(),
        not_met: data.lines.iter().filter(|l| l.not_met).count(),
        not_met_list: not_met_list(&data.lines),
        detail_missing: data.detail_missing,
        round_numbers: data.round_numbers.clone(),
        domains: domain_lines(results, unit_id).unwrap_or_default(),
        radar_svg: unit_radar(results, unit_id),
        lines: data.lines,
        years,
    })
}

/// The criteria not met (leaves below their maximum): (code, title, points lost).
fn not_met_list(lines: &[LeafLine]) -> Vec<(String, String, String)> {
    lines
        .iter()
        .filter(|l| l.not_met)
        .map(|l| (l.code.clone(), l.title.clone(), l.lost.clone()))
        .collect()
}

/// `GET /periods/{id}/units/{unit_id}/scorecard.pdf`: the same scorecard, for print.
pub async fn unit_scorecard_pdf(
    State(state): State<AppState>,
    user: CurrentUser,
    Path((id, unit_id)): Path<(i64, i64)>,
) -> Result<Response, WebError> {
    state.scorecard_access(&acting(&user)?, id, unit_id).await?;
    let data = load_scorecard(&state, id, unit_id).await?;
    let results = &data.results;
    let unit = results.unit(unit_id).ok_or(WebError::NotFound)?;
    let header = results_report(&state, results);
    let row = row_view(Lang::Vi, unit);
    let report = UnitScorecardReport {
        province: header.province,
        period_name: results.period.name.clone(),
        status_line: header.status_line,
        generated_at: header.generated_at,
        unit_name: unit.unit_name.clone(),
        group: unit.group_code.clone(),
        illustrative: data.illustrative,
        summary: vec![
            (
                format!("Hạng trong nhóm {}", unit.group_code),
                row.rank.clone(),
            ),
            ("Điểm tự chấm".into(), row.self_total.clone()),
            ("Điểm thẩm định".into(), row.appraised.clone()),
            ("Điểm điều tra XHH".into(), row.survey.clone()),
            (
                "Điểm thưởng / điểm trừ".into(),
                format!("{} / {}", row.bonus, row.penalty),
            ),
            ("Tổng điểm".into(), format!("{} / {}", row.total, row.max)),
            ("Chỉ số CCHC (%)".into(), row.index.clone()),
            ("Xếp loại".into(), row.band_label.to_owned()),
        ],
        not_met: not_met_list(&data.lines),
        detail_note: if data.detail_missing {
            "Bản công bố này không lưu điểm từng tiêu chí.".to_owned()
        } else {
            String::new()
        },
        round_count: data.round_numbers.len(),
        lines: data
            .lines
            .iter()
            .map(|l| ScorecardLine {
                code: l.code.clone(),
                title: l.title.clone(),
                level: u8::try_from(l.level).unwrap_or(u8::MAX),
                max: l.max.clone(),
                self_score: l.self_score.clone(),
                rounds: l.rounds.clone(),
                final_score: l.final_score.clone(),
                lost: l.lost.clone(),
                not_met: l.not_met,
                not_applicable: l.not_applicable,
            })
            .collect(),
    };
    let bytes = tokio::task::spawn_blocking(move || write_unit_scorecard_pdf(&report))
        .await
        .map_err(|e| WebError::Internal(e.to_string()))?
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(download(
        "application/pdf",
        &format!("bang-diem-{}-{}.pdf", unit.unit_code, results.period.year),
        bytes,
    ))
}

/// The unit's published results in other periods, newest first.
async fn year_over_year(
    state: &AppState,
    current: &PeriodResults,
    unit_id: i64,
) -> Result<Vec<YearLine>, WebError> {
    Ok(state
        .other_years(current, unit_id)
        .await?
        .into_iter()
        .map(|y| YearLine {
            period_id: y.period_id,
            name: y.name,
            year: y.year,
            index: y.index,
            rank: y.rank.map_or_else(|| "—".to_owned(), |x| x.to_string()),
            band: band_label(Lang::Vi, y.band),
            unit_name: y.unit_name,
        })
        .collect())
}

pub struct PeriodLink {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub official: bool,
}

#[derive(Template)]
#[template(path = "results/periods.html")]
struct PeriodsPage {
    p: Page,
    periods: Vec<PeriodLink>,
}

/// `GET /results`: every period, newest first, with its results' pages (for the council,
/// leadership and the secretariat).
pub async fn periods(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Response, WebError> {
    let mut periods: Vec<PeriodLink> = state
        .result_periods(&acting(&user)?)
        .await?
        .into_iter()
        .map(|p| PeriodLink {
            official: parindex_app::evaluation::stage_of(&p)
                .is_ok_and(|(s, _)| s == parindex_domain::appraisal::Stage::Published),
            id: p.id,
            name: p.name,
            year: p.year,
        })
        .collect();
    periods.sort_by(|a, b| b.year.cmp(&a.year).then(b.id.cmp(&a.id)));
    crate::routes::render(&PeriodsPage {
        p: Page::for_user(&state, &user, "nav.results"),
        periods,
    })
}
