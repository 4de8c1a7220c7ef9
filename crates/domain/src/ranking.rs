//! Ranking and bands (DOMAIN §6): units ranked within their group by the published index,
//! equal published indices sharing a rank (1, 2, 2, 4); bands from the period's thresholds;
//! the change against last year; and the median and distribution the charts draw. Pure and
//! exact: the index is compared as the decision publishes it (2 decimals, half-up), never as
//! a float.

use std::collections::BTreeMap;

use rust_decimal::Decimal;
use serde::Serialize;

use crate::Points;

/// The tie rule, as the ranking pages state it.
pub const TIE_RULE_VI: &str = "Các đơn vị có Chỉ số CCHC (làm tròn đến 2 chữ số thập phân) \
bằng nhau được xếp cùng hạng; hạng kế tiếp bỏ qua số đơn vị cùng hạng (ví dụ 1, 2, 2, 4).";
/// The tie rule in English.
pub const TIE_RULE_EN: &str = "Units whose PAR Index (rounded to 2 decimals) is equal share a \
rank; the next rank skips as many places as units share it (e.g. 1, 2, 2, 4).";

/// A band (xếp loại).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Band {
    Good,
    Fair,
    Average,
    Weak,
}

impl Band {
    pub fn label_vi(self) -> &'static str {
        match self {
            Band::Good => "Tốt",
            Band::Fair => "Khá",
            Band::Average => "Trung bình",
            Band::Weak => "Yếu",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Band::Good => "Good",
            Band::Fair => "Fair",
            Band::Average => "Average",
            Band::Weak => "Weak",
        }
    }

    /// A stable code for CSS classes and open data.
    pub fn code(self) -> &'static str {
        match self {
            Band::Good => "good",
            Band::Fair => "fair",
            Band::Average => "average",
            Band::Weak => "weak",
        }
    }
}

/// The period's band thresholds, as index percentages: Tốt ≥ good, Khá ≥ fair,
/// Trung bình ≥ average, Yếu below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BandThresholds {
    pub good: Decimal,
    pub fair: Decimal,
    pub average: Decimal,
}

impl BandThresholds {
    /// From the stored thousandths of a percentage point (85 % = 85 000).
    pub fn from_millis(good: i64, fair: i64, average: i64) -> BandThresholds {
        let d = |m: i64| Decimal::new(m, 3).normalize();
        BandThresholds {
            good: d(good),
            fair: d(fair),
            average: d(average),
        }
    }

    /// The band of an index, decided on its published (rounded) figure.
    pub fn band_of(&self, index: Decimal) -> Band {
        let published = Points::new(index).published();
        if published >= self.good {
            Band::Good
        } else if published >= self.fair {
            Band::Fair
        } else if published >= self.average {
            Band::Average
        } else {
            Band::Weak
        }
    }
}

/// One unit to rank: its group and its exact index (None when nothing applied to it, or it
/// has no result; such a unit is listed without a rank).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RankEntry<K> {
    pub key: K,
    pub group: String,
    pub index: Option<Decimal>,
}

/// A ranked unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked<K> {
    pub key: K,
    pub group: String,
    pub index: Option<Decimal>,
    /// 1-based rank within the group; None without an index.
    pub rank: Option<u32>,
    /// Whether another unit of the group has the same rank.
    pub tied: bool,
    pub band: Option<Band>,
}

/// Ranks every entry within its group: by published index, highest first; equal published
/// indices share a rank and the next rank skips (competition ranking, 1, 2, 2, 4). Within a
/// rank, and for unranked units at the end, the input order is kept, so a caller that sorts
/// its input by name gets a stable, readable table. The output is grouped by group code.
pub fn rank_within_groups<K: Clone>(
    entries: &[RankEntry<K>],
    thresholds: &BandThresholds,
) -> Vec<Ranked<K>> {
    let mut groups: BTreeMap<&str, Vec<(usize, &RankEntry<K>)>> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        groups.entry(e.group.as_str()).or_default().push((i, e));
    }
    let mut out = Vec::with_capacity(entries.len());
    for (_, mut members) in groups {
        let published = |e: &RankEntry<K>| e.index.map(|i| Points::new(i).published());
        // Highest published index first; without an index last; input order within equals.
        members.sort_by(|(ia, a), (ib, b)| {
            match (published(a), published(b)) {
                (Some(x), Some(y)) => y.cmp(&x),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then(ia.cmp(ib))
        });
        let start = out.len();
        let mut previous: Option<(Decimal, u32)> = None;
        for (position, (_, e)) in members.iter().enumerate() {
            let place = u32::try_from(position + 1).unwrap_or(u32::MAX);
            let rank = published(e).map(|p| match previous {
                Some((q, r)) if q == p => r,
                _ => {
                    previous = Some((p, place));
                    place
                }
            });
            out.push(Ranked {
                key: e.key.clone(),
                group: e.group.clone(),
                index: e.index,
                rank,
                tied: false,
                band: e.index.map(|i| thresholds.band_of(i)),
            });
        }
        let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
        for r in &out[start..] {
            if let Some(rank) = r.rank {
                *counts.entry(rank).or_default() += 1;
            }
        }
        for r in &mut out[start..] {
            r.tied = r.rank.is_some_and(|rank| counts[&rank] > 1);
        }
    }
    out
}

/// A unit's change against last year: ranks (positive = moved up) and index points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Change {
    /// last year's rank − this year's rank: +2 means two places up.
    pub rank: Option<i64>,
    /// This year's published index − last year's published index.
    pub index: Option<Decimal>,
}

impl Change {
    pub fn between(
        this_rank: Option<u32>,
        this_index: Option<Decimal>,
        last_rank: Option<u32>,
        last_index: Option<Decimal>,
    ) -> Change {
        Change {
            rank: this_rank
                .zip(last_rank)
                .map(|(now, then)| i64::from(then) - i64::from(now)),
            index: this_index
                .zip(last_index)
                .map(|(now, then)| Points::new(now).published() - Points::new(then).published()),
        }
    }

    /// "▲2", "▼1", "=" or "" (no comparison).
    pub fn rank_display(&self) -> String {
        match self.rank {
            Some(0) => "=".to_owned(),
            Some(n) if n > 0 => format!("▲{n}"),
            Some(n) => format!("▼{}", -n),
            None => String::new(),
        }
    }

    /// "+1,25", "−0,40", "0,00" or "" (no comparison).
    pub fn index_display_vi(&self) -> String {
        match self.index {
            Some(d) if d > Decimal::ZERO => format!("+{}", Points::new(d).display_vi()),
            Some(d) if d < Decimal::ZERO => format!("−{}", Points::new(-d).display_vi()),
            Some(_) => "0,00".to_owned(),
            None => String::new(),
        }
    }
}

/// The median of exact values (the mean of the two middle ones for an even count); None for
/// no values.
pub fn median(values: &[Decimal]) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort();
    let n = sorted.len();
    Some(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / Decimal::TWO
    })
}

/// How many published indices fall in each band of `width` percentage points, from 0 up to
/// 100: bin i counts [i·width, (i+1)·width), the last bin also holds 100. Values outside
/// [0, 100] are clamped into the first or last bin.
pub fn distribution(indices: &[Decimal], width: u32) -> Vec<usize> {
    let width = width.clamp(1, 100);
    let bins = usize::try_from(100_u32.div_ceil(width)).unwrap_or(1);
    let mut counts = vec![0usize; bins];
    let w = Decimal::from(width);
    for index in indices {
        let p = Points::new(*index).published();
        let bin = (p / w).floor();
        let bin = if bin < Decimal::ZERO {
            0
        } else {
            usize::try_from(bin.mantissa() / 10_i128.pow(bin.scale()))
                .unwrap_or(usize::MAX)
                .min(bins - 1)
        };
        counts[bin] += 1;
    }
    counts
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use proptest::prelude::*;

    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn thresholds() -> BandThresholds {
        BandThresholds::from_millis(85_000, 70_000, 50_000)
    }

    fn entry(key: &str, group: &str, index: Option<&str>) -> RankEntry<String> {
        RankEntry {
            key: key.to_owned(),
            group: group.to_owned(),
            index: index.map(d),
        }
    }

    #[test]
    fn equal_published_indices_share_a_rank_and_the_next_skips() {
        let ranked = rank_within_groups(
            &[
                entry("a", "SO", Some("80")),
                entry("b", "SO", Some("90.654")),
                // 90,65 published, like b: same rank.
                entry("c", "SO", Some("90.6549")),
                entry("d", "SO", Some("95")),
                entry("e", "SO", None),
                entry("f", "SO", Some("90.655")),
            ],
            &thresholds(),
        );
        let ranks: Vec<(&str, Option<u32>, bool)> = ranked
            .iter()
            .map(|r| (r.key.as_str(), r.rank, r.tied))
            .collect();
        assert_eq!(
            ranks,
            vec![
                ("d", Some(1), false),
                ("f", Some(2), false),
                ("b", Some(3), true),
                ("c", Some(3), true),
                ("a", Some(5), false),
                ("e", None, false),
            ]
        );
    }

    #[test]
    fn groups_are_ranked_apart() {
        let ranked = rank_within_groups(
            &[
                entry("x1", "HUYEN", Some("70")),
                entry("s1", "SO", Some("60")),
                entry("x2", "HUYEN", Some("75")),
            ],
            &thresholds(),
        );
        let ranks: Vec<(&str, Option<u32>)> =
            ranked.iter().map(|r| (r.key.as_str(), r.rank)).collect();
        assert_eq!(
            ranks,
            vec![("x2", Some(1)), ("x1", Some(2)), ("s1", Some(1))]
        );
    }

    #[test]
    fn bands_use_the_published_figure_at_the_boundaries() {
        let t = thresholds();
        assert_eq!(t.band_of(d("85")), Band::Good);
        assert_eq!(t.band_of(d("84.995")), Band::Good, "published as 85,00");
        assert_eq!(t.band_of(d("84.994")), Band::Fair);
        assert_eq!(t.band_of(d("70")), Band::Fair);
        assert_eq!(t.band_of(d("69.99")), Band::Average);
        assert_eq!(t.band_of(d("50")), Band::Average);
        assert_eq!(t.band_of(d("49.99")), Band::Weak);
        assert_eq!(t.band_of(d("0")), Band::Weak);
    }

    #[test]
    fn changes_against_last_year() {
        let c = Change::between(Some(3), Some(d("88.5")), Some(5), Some(d("90.254")));
        assert_eq!(c.rank, Some(2));
        assert_eq!(c.rank_display(), "▲2");
        assert_eq!(c.index, Some(d("-1.75")));
        assert_eq!(c.index_display_vi(), "−1,75");
        let none = Change::between(Some(1), Some(d("90")), None, None);
        assert_eq!(
            (none.rank_display(), none.index_display_vi()),
            (String::new(), String::new())
        );
        let down = Change::between(Some(4), Some(d("80")), Some(1), Some(d("79")));
        assert_eq!(
            (down.rank_display(), down.index_display_vi()),
            ("▼3".to_owned(), "+1,00".to_owned())
        );
    }

    #[test]
    fn median_and_distribution() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[d("3"), d("1"), d("2")]), Some(d("2")));
        assert_eq!(median(&[d("4"), d("1"), d("2"), d("3")]), Some(d("2.5")));
        let bins = distribution(
            &[d("0"), d("9.994"), d("9.995"), d("85"), d("100"), d("-1")],
            10,
        );
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[0], 3, "0, 9,99 and the clamped −1");
        assert_eq!(bins[1], 1, "9,995 is published as 10,00");
        assert_eq!(bins[8], 1);
        assert_eq!(bins[9], 1, "100 is in the last bin");
    }

    proptest! {
        /// Ranks are competition ranks: the best is 1, a rank r is held by the units whose
        /// published index is beaten by exactly r − 1 units, and a higher index never ranks
        /// below a lower one.
        #[test]
        fn ranks_are_competition_ranks(values in proptest::collection::vec(0u32..10_000, 1..40)) {
            let entries: Vec<RankEntry<usize>> = values
                .iter()
                .enumerate()
                .map(|(i, v)| RankEntry { key: i, group: "SO".into(), index: Some(Decimal::new(i64::from(*v), 2)) })
                .collect();
            let ranked = rank_within_groups(&entries, &thresholds());
            for r in &ranked {
                let mine = Points::new(r.index.unwrap()).published();
                let better = ranked
                    .iter()
                    .filter(|o| Points::new(o.index.unwrap()).published() > mine)
                    .count();
                prop_assert_eq!(r.rank, Some(u32::try_from(better + 1).unwrap()));
            }
        }
    }
}
