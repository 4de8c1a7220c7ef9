//! Results for staff: the ranking per group (ranks, ties, bands, change against last year,
//! charts), the units × domains heat map, and the open-data files (CSV, JSON). Provisional
//! until the period is published, official after. The public page (`routes::public`) and the
//! API (`routes::api`) draw on the same loader, `parindex_app::results`.

use crate::routes::table::Routes;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use parindex_domain::Action;
use parindex_domain::Points;
use parindex_domain::ranking::{Band, TIE_RULE_EN, TIE_RULE_VI, distribution};
use parindex_domain::text::fold_for_search;
use parindex_formats::charts::{Bar, bar_chart, histogram};
use parindex_formats::report::results::{
    ResultsGroup, ResultsReport, ResultsRow, ScorecardLine, UnitScorecardReport, write_results_pdf,
    write_results_xlsx, write_unit_scorecard_pdf,
};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::AppState;
use crate::auth::CurrentUser;
use crate::error::WebError;
use crate::extract::{Path, Query};
use crate::i18n::Lang;
use crate::page::Page;
use parindex_app::results::{
    Audience, GroupResults, Mark, PeriodResults, UnitResult, node_figures,
};

/// Filters and sort order of a ranking table (all optional, from the query string).
#[derive(Debug, Default, Deserialize)]
pub struct TableQuery {
    /// One group only.
    pub group: Option<String>,
    /// Text in the unit's code or name; "danh gia" finds "đánh giá".
    pub q: Option<String>,
    /// One band only (`good`, `fair`, `average`, `weak`).
    pub band: Option<String>,
    /// `rank` (default), `name`, `appraised`, `survey`, `total`, `index`, `change`.
    pub sort: Option<String>,
}

impl TableQuery {
    /// Whether the table of group `code` is shown (no group chosen shows every group).
    pub fn shows_group(&self, code: &str) -> bool {
        self.group
            .as_deref()
            .filter(|c| !c.is_empty())
            .is_none_or(|c| c == code)
    }
}

/// A ranking row as shown.
pub struct RowView {
    pub unit_id: i64,
    pub unit_code: String,
    pub unit_name: String,
    pub rank: String,
    pub tied: bool,
    pub self_total: String,
    pub appraised: String,
    pub survey: String,
    pub bonus: String,
    pub penalty: String,
    pub total: String,
    pub max: String,
    pub index: String,
    pub band_code: &'static str,
    pub band_label: &'static str,
    pub rank_change: String,
    pub index_change: String,
    pub official: bool,
}

pub fn pts(milli: i64) -> String {
    Points::from_millipoints(milli).display_vi()
}

fn band_label(lang: Lang, band: Option<Band>) -> &'static str {
    match (band, lang) {
        (None, _) => "—",
        (Some(b), Lang::En) => b.label_en(),
        (Some(b), Lang::Vi) => b.label_vi(),
    }
}

pub fn row_view(lang: Lang, u: &UnitResult) -> RowView {
    RowView {
        unit_id: u.unit_id,
        unit_code: u.unit_code.clone(),
        unit_name: u.unit_name.clone(),
        rank: u.rank.map_or_else(|| "—".to_owned(), |r| r.to_string()),
        tied: u.tied,
        self_total: pts(u.snap.self_total_milli),
        appraised: pts(u.snap.appraised_milli),
        survey: pts(u.snap.survey_milli),
        bonus: pts(u.snap.bonus_milli),
        penalty: pts(u.snap.penalty_milli),
        total: pts(u.snap.total_milli),
        max: pts(u.snap.applicable_max_milli),
        index: u.index_vi(),
        band_code: u.band.map_or("none", Band::code),
        band_label: band_label(lang, u.band),
        rank_change: u.change.rank_display(),
        index_change: u.change.index_display_vi(),
        official: u.official,
    }
}

/// Applies a table's filters and sort to a group's units (already in rank order).
pub fn filter_and_sort<'a>(units: &'a [UnitResult], q: &TableQuery) -> Vec<&'a UnitResult> {
    let needle =
        q.q.as_deref()
            .map(fold_for_search)
            .filter(|n| !n.trim().is_empty());
    let mut rows: Vec<&UnitResult> = units
        .iter()
        .filter(|u| {
            needle.as_ref().is_none_or(|n| {
                fold_for_search(&u.unit_name).contains(n.trim())
                    || fold_for_search(&u.unit_code).contains(n.trim())
            })
        })
        .filter(|u| {
            q.band
                .as_deref()
                .filter(|b| !b.is_empty())
                .is_none_or(|b| u.band.is_some_and(|band| band.code() == b))
        })
        .collect();
    let key_desc = |f: fn(&UnitResult) -> Option<Decimal>| {
        move |a: &&UnitResult, b: &&UnitResult| f(b).cmp(&f(a))
    };
    match q.sort.as_deref().unwrap_or("rank") {
        "name" => rows.sort_by_key(|u| fold_for_search(&u.unit_name)),
        "appraised" => rows.sort_by(key_desc(|u| Some(Decimal::from(u.snap.appraised_milli)))),
        "survey" => rows.sort_by(key_desc(|u| Some(Decimal::from(u.snap.survey_milli)))),
        "total" => rows.sort_by(key_desc(|u| Some(Decimal::from(u.snap.total_milli)))),
        "index" => rows.sort_by(key_desc(|u| u.index)),
        "change" => rows.sort_by(key_desc(|u| u.change.rank.map(Decimal::from))),
        _ => {}
    }
    rows
}

pub struct GroupView {
    pub code: String,
    pub set_title: String,
    pub illustrative: bool,
    pub rows: Vec<RowView>,
    pub bar_svg: String,
    pub histogram_svg: String,
    pub units_total: usize,
}

pub fn group_view(lang: Lang, g: &GroupResults, q: &TableQuery) -> GroupView {
    let shown = filter_and_sort(&g.units, q);
    let bars: Vec<Bar> = g
        .units
        .iter()
        .filter_map(|u| {
            Some(Bar {
                label: u.unit_name.clone(),
                value: u.index?,
                class: u.band.map_or("none", Band::code).to_owned(),
            })
        })
        .collect();
    let indices: Vec<Decimal> = g.units.iter().filter_map(|u| u.index).collect();
    let (bar_title, hist_title) = match lang {
        Lang::En => (
            "PAR Index by unit",
            "Distribution of the index (units per 10 points)",
        ),
        Lang::Vi => (
            "Chỉ số CCHC theo đơn vị",
            "Phân bố Chỉ số CCHC (số đơn vị theo khoảng 10 điểm)",
        ),
    };
    GroupView {
        code: g.group_code.clone(),
        set_title: g.set_title.clone(),
        illustrative: g.set_illustrative,
        rows: shown.iter().map(|u| row_view(lang, u)).collect(),
        bar_svg: bar_chart(&format!("{bar_title} — {}", g.group_code), &bars),
        histogram_svg: histogram(hist_title, &distribution(&indices, 10), 10),
        units_total: g.units.len(),
    }
}

pub fn tie_rule(lang: Lang) -> &'static str {
    match lang {
        Lang::En => TIE_RULE_EN,
        Lang::Vi => TIE_RULE_VI,
    }
}

/// The thresholds as the legend states them ("Tốt ≥ 85,00").
pub fn band_legend(lang: Lang, r: &PeriodResults) -> String {
    let f = |d: Decimal| Points::new(d).display_vi();
    let t = &r.thresholds;
    let l = |b: Band| band_label(lang, Some(b));
    format!(
        "{} ≥ {}; {} ≥ {}; {} ≥ {}; {} < {}",
        l(Band::Good),
        f(t.good),
        l(Band::Fair),
        f(t.fair),
        l(Band::Average),
        f(t.average),
        l(Band::Weak),
        f(t.average)
    )
}

#[derive(Template)]
#[template(path = "results_ranking.html")]
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
    super::render(&RankingPage {
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
#[template(path = "results_matrix.html")]
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
    super::render(&MatrixPage {
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

/// A published figure for machines: 2 decimals, decimal point ("95.00").
fn published_text(value: Decimal) -> String {
    format!("{:.2}", Points::new(value).published())
}

/// The open-data table: one line per unit, figures as exact decimals with a decimal point
/// (machine-readable) and unescaped, names with their diacritics and defused against formula
/// injection (`parindex_formats::csv_export`). `dong_hang` is 1 where another unit of the
/// group shares the rank.
pub fn open_data_csv(r: &PeriodResults) -> String {
    use parindex_formats::{CsvCell, CsvWriter};
    let mut csv = CsvWriter::new(&[
        "nam",
        "ky_danh_gia",
        "nhom",
        "ma_don_vi",
        "ten_don_vi",
        "diem_tham_dinh",
        "diem_dieu_tra",
        "diem_thuong",
        "diem_tru",
        "tong_diem",
        "diem_toi_da_ap_dung",
        "chi_so",
        "xep_hang",
        "dong_hang",
        "xep_loai",
        "chinh_thuc",
    ]);
    let exact = |m: i64| CsvCell::number(Points::from_millipoints(m).value().normalize());
    for g in &r.groups {
        for u in &g.units {
            csv.row(&[
                CsvCell::number(r.period.year),
                CsvCell::text(r.period.name.as_str()),
                CsvCell::text(g.group_code.as_str()),
                CsvCell::text(u.unit_code.as_str()),
                CsvCell::text(u.unit_name.as_str()),
                exact(u.snap.appraised_milli),
                exact(u.snap.survey_milli),
                exact(u.snap.bonus_milli),
                exact(u.snap.penalty_milli),
                exact(u.snap.total_milli),
                exact(u.snap.applicable_max_milli),
                CsvCell::optional_number(u.index.map(published_text)),
                CsvCell::optional_number(u.rank),
                CsvCell::number(u8::from(u.tied)),
                CsvCell::text(u.band.map(|b| b.label_vi()).unwrap_or_default()),
                CsvCell::number(u8::from(u.official)),
            ]);
        }
    }
    csv.finish()
}

/// The open-data document (also the API's results body).
pub fn open_data_json(r: &PeriodResults) -> serde_json::Value {
    let exact = |m: i64| Points::from_millipoints(m).value().normalize().to_string();
    serde_json::json!({
        "period": {
            "id": r.period.id,
            "year": r.period.year,
            "name": r.period.name,
            "official": r.official(),
            "decision_number": r.period.decision_number,
            "decision_date": r.period.decision_date,
        },
        "tie_rule": TIE_RULE_VI,
        "bands": {
            "good_from": r.thresholds.good.normalize().to_string(),
            "fair_from": r.thresholds.fair.normalize().to_string(),
            "average_from": r.thresholds.average.normalize().to_string(),
        },
        "groups": r.groups.iter().map(|g| serde_json::json!({
            "group": g.group_code,
            "index_set": g.set_title,
            "illustrative_index_set": g.set_illustrative,
            "units": g.units.iter().map(|u| serde_json::json!({
                "code": u.unit_code,
                "name": u.unit_name,
                "appraised": exact(u.snap.appraised_milli),
                "survey": exact(u.snap.survey_milli),
                "bonus": exact(u.snap.bonus_milli),
                "penalty": exact(u.snap.penalty_milli),
                "total": exact(u.snap.total_milli),
                "applicable_max": exact(u.snap.applicable_max_milli),
                "index": u.index.map(published_text),
                "rank": u.rank,
                "tied": u.tied,
                "band": u.band.map(Band::code),
                "rank_change": u.change.rank,
                "domains": u.snap.domains.iter().map(|(code, a, m)| serde_json::json!({
                    "code": code,
                    "achieved": exact(*a),
                    "applicable_max": exact(*m),
                })).collect::<Vec<_>>(),
                // Domains and criteria (those with sub-criteria and those scored directly;
                // not the sub-criteria), with their sub-index.
                "criteria": u.snap.nodes.iter().filter(|n| g.criteria.contains(&n.code)).map(|n| serde_json::json!({
                    "code": n.code,
                    "achieved": exact(n.achieved_milli),
                    "applicable_max": exact(n.applicable_max_milli),
                    "sub_index": n.percent().map(published_text),
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })
}

/// A download with safe headers.
pub fn download(content_type: &'static str, file_name: &str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The open-data CSV as a download.
pub fn csv_download(r: &PeriodResults) -> Response {
    download(
        "text/csv; charset=utf-8",
        &format!("ket-qua-cchc-{}.csv", r.period.year),
        open_data_csv(r).into_bytes(),
    )
}

/// The open-data JSON as a download.
pub fn json_download(r: &PeriodResults) -> Result<Response, WebError> {
    Ok(download(
        "application/json",
        &format!("ket-qua-cchc-{}.json", r.period.year),
        serde_json::to_vec_pretty(&open_data_json(r))
            .map_err(|e| WebError::Internal(e.to_string()))?,
    ))
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
#[template(path = "results_unit.html")]
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
    domains: Vec<super::public::DomainLine>,
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

/// Who may open a unit's scorecard: whoever sees provisional results, always; the unit's own
/// officers and head once the period is published (their official result, leaf by leaf), never
/// before (a provisional figure is not theirs to quote). Returns whether the viewer is staff.
async fn require_scorecard(
    state: &AppState,
    user: &CurrentUser,
    id: i64,
    unit_id: i64,
) -> Result<bool, WebError> {
    if user.can(Action::ViewProvisionalResults) {
        return Ok(true);
    }
    user.require(Action::ViewPublishedScorecard { unit_id })?;
    let period = state.store.get_period(id).await?;
    if parindex_app::evaluation::stage_of(&period)?.0
        != parindex_domain::appraisal::Stage::Published
    {
        return Err(WebError::Forbidden);
    }
    Ok(false)
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
    let staff = require_scorecard(&state, &user, id, unit_id).await?;
    let lang = user.ctx.lang;
    let data = load_scorecard(&state, id, unit_id).await?;
    let results = &data.results;
    let unit = results.unit(unit_id).ok_or(WebError::NotFound)?;
    let years = year_over_year(&state, results, unit_id).await?;
    let mut p = Page::for_user(&state, &user, "results.unit_title");
    p.title = format!("{} — {}", unit.unit_name, results.period.name);
    super::render(&UnitScorecardPage {
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
        domains: super::public::domain_lines(results, unit_id).unwrap_or_default(),
        radar_svg: super::public::unit_radar(results, unit_id),
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
    require_scorecard(&state, &user, id, unit_id).await?;
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

/// The unit's published results in other periods, newest first: its own, or where it did not
/// take part, those of the unit it succeeds (the same match as the change against last year,
/// `results::counterpart`).
async fn year_over_year(
    state: &AppState,
    current: &PeriodResults,
    unit_id: i64,
) -> Result<Vec<YearLine>, WebError> {
    let predecessors = parindex_app::results::predecessors(state).await?;
    let mut years = Vec::new();
    for period in state.store.list_periods().await? {
        if period.id == current.period.id
            || period.stage != parindex_domain::appraisal::Stage::Published
        {
            continue;
        }
        let r = PeriodResults::load(state, period.id, Audience::Public).await?;
        if let Some(u) = parindex_app::results::counterpart(&r, unit_id, &predecessors) {
            years.push(YearLine {
                period_id: period.id,
                name: period.name.clone(),
                year: period.year,
                index: u.index_vi(),
                rank: u.rank.map_or_else(|| "—".to_owned(), |x| x.to_string()),
                band: band_label(Lang::Vi, u.band),
                unit_name: u.unit_name.clone(),
            });
        }
    }
    years.sort_by_key(|y| (std::cmp::Reverse(y.year), std::cmp::Reverse(y.period_id)));
    Ok(years)
}

pub struct PeriodLink {
    pub id: i64,
    pub name: String,
    pub year: i64,
    pub official: bool,
}

#[derive(Template)]
#[template(path = "results_periods.html")]
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
    user.require(Action::ViewProvisionalResults)?;
    let mut periods: Vec<PeriodLink> = state
        .store
        .list_periods()
        .await?
        .into_iter()
        .map(|p| PeriodLink {
            official: p.stage == parindex_domain::appraisal::Stage::Published,
            id: p.id,
            name: p.name,
            year: p.year,
        })
        .collect();
    periods.sort_by(|a, b| b.year.cmp(&a.year).then(b.id.cmp(&a.id)));
    super::render(&PeriodsPage {
        p: Page::for_user(&state, &user, "nav.results"),
        periods,
    })
}

/// The routes of this area.
pub fn router() -> Routes {
    Routes::new()
        .get("/results", periods)
        .get("/periods/{id}/ranking", ranking)
        .get("/periods/{id}/ranking.xlsx", ranking_xlsx)
        .get("/periods/{id}/ranking.pdf", ranking_pdf)
        .get("/periods/{id}/matrix", matrix)
        .get("/periods/{id}/units/{unit_id}/scorecard", unit_scorecard)
        .get(
            "/periods/{id}/units/{unit_id}/scorecard.pdf",
            unit_scorecard_pdf,
        )
        .get("/periods/{id}/results.csv", results_csv)
        .get("/periods/{id}/results.json", results_json)
}
