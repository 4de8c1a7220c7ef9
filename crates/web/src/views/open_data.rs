//! The open-data files of a period's results (CSV, JSON) and downloads with safe headers,
//! for the staff pages, the public pages and the API.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use parindex_app::results::PeriodResults;
use parindex_domain::Points;
use parindex_domain::ranking::{Band, TIE_RULE_VI};
use rust_decimal::Decimal;

use crate::error::WebError;

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
