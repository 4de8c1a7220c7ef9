//! Presenters of results shared by the staff pages, the public pages and the exports: the
//! ranking tables with their filters, the band legend, a unit's domains and radar.

use parindex_app::results::{GroupResults, PeriodResults, UnitResult};
use parindex_domain::Points;
use parindex_domain::ranking::{Band, TIE_RULE_EN, TIE_RULE_VI, distribution};
use parindex_domain::text::fold_for_search;
use parindex_formats::charts::{Bar, bar_chart, histogram};
use rust_decimal::Decimal;
use serde::Deserialize;

use crate::i18n::Lang;
pub use crate::views::points::pts;

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

pub fn band_label(lang: Lang, band: Option<Band>) -> &'static str {
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

/// A unit's result in one domain.
pub struct DomainLine {
    pub code: String,
    pub title: String,
    pub achieved: String,
    pub max: String,
    pub lost: String,
    pub percent: String,
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
