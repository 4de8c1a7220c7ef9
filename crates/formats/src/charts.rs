//! Charts drawn as SVG on the server (DESIGN §3): a bar chart of indices, a histogram of their
//! distribution, and a radar of a unit's domains against its group's median. The same SVG
//! goes into pages and PDFs; no script draws anything in the browser.
//!
//! Values are exact decimals; they become floating-point only as pixel coordinates, never as
//! scores. Every label is XML-escaped.

use std::fmt::Write;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

/// Escapes text for SVG content and attributes.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A pixel coordinate from an exact value (display only).
fn px(value: Decimal) -> f64 {
    value.to_f64().unwrap_or(0.0)
}

/// The published figure with a decimal comma ("90,65").
fn figure(value: Decimal) -> String {
    parindex_domain::Points::new(value).display_vi()
}

/// One bar: its label, its value on a 0–100 scale, and a CSS class (e.g. the band).
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: Decimal,
    pub class: String,
}

/// Horizontal bars on a 0–100 scale, highest first as given, with the value at each bar's end.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    const ROW: f64 = 22.0;
    const LABEL_W: f64 = 260.0;
    const BAR_W: f64 = 380.0;
    let height = 40.0 + ROW * bars.len() as f64;
    let width = LABEL_W + BAR_W + 70.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart bar-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    for tick in [0u32, 25, 50, 75, 100] {
        let x = LABEL_W + BAR_W * f64::from(tick) / 100.0;
        let _ = write!(
            svg,
            r##"<line x1="{x:.1}" y1="18" x2="{x:.1}" y2="{y2:.1}" stroke="#ccc" stroke-width="1"/><text x="{x:.1}" y="12" font-size="10" text-anchor="middle" fill="#555">{tick}</text>"##,
            y2 = height - 10.0
        );
    }
    for (i, bar) in bars.iter().enumerate() {
        let y = 24.0 + ROW * i as f64;
        let w = BAR_W * px(bar.value.clamp(Decimal::ZERO, Decimal::ONE_HUNDRED)) / 100.0;
        let _ = write!(
            svg,
            r##"<text x="{lx:.1}" y="{ty:.1}" font-size="11" text-anchor="end" fill="#222">{label}</text><rect class="bar {class}" x="{LABEL_W}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{label}: {v}</title></rect><text x="{vx:.1}" y="{ty:.1}" font-size="11" fill="#222">{v}</text>"##,
            lx = LABEL_W - 6.0,
            ty = y + 12.0,
            label = esc(&bar.label),
            class = esc(&bar.class),
            h = ROW - 6.0,
            vx = LABEL_W + w + 4.0,
            v = figure(bar.value),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Columns counting the indices per bin of `width` points (from `ranking::distribution`).
pub fn histogram(title: &str, bins: &[usize], width: u32) -> String {
    const CHART_H: f64 = 160.0;
    const COL_W: f64 = 44.0;
    let highest = bins.iter().copied().max().unwrap_or(0).max(1);
    let total_w = 40.0 + COL_W * bins.len() as f64;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart histogram" viewBox="0 0 {total_w} 210" width="{total_w}" height="210" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    for (i, count) in bins.iter().enumerate() {
        let h = CHART_H * *count as f64 / highest as f64;
        let x = 30.0 + COL_W * i as f64;
        let from = u32::try_from(i).unwrap_or(0) * width;
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}"><title>{from}–{to}: {count}</title></rect><text x="{cx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle">{count}</text><text x="{cx:.1}" y="200" font-size="10" text-anchor="middle" fill="#555">{from}</text>"##,
            y = 20.0 + CHART_H - h,
            w = COL_W - 6.0,
            cx = x + (COL_W - 6.0) / 2.0,
            ty = 16.0 + CHART_H - h,
            to = (from + width).min(100),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A radar: one axis per domain (0–100 %), one polygon per series (e.g. the unit and its
/// group's median). A missing value (nothing applicable) sits at the centre.
pub fn radar(title: &str, axes: &[String], series: &[(String, Vec<Option<Decimal>>)]) -> String {
    const C: f64 = 170.0;
    const R: f64 = 120.0;
    let n = axes.len().max(3);
    let angle =
        |i: usize| -std::f64::consts::FRAC_PI_2 + std::f64::consts::TAU * i as f64 / n as f64;
    let point = |i: usize, pct: f64| {
        let r = R * pct.clamp(0.0, 100.0) / 100.0;
        (C + r * angle(i).cos(), C + r * angle(i).sin())
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart radar" viewBox="0 0 340 370" width="340" height="370" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = esc(title)
    );
    for ring in [25.0, 50.0, 75.0, 100.0] {
        let pts: Vec<String> = (0..n)
            .map(|i| {
                let (x, y) = point(i, ring);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r##"<polygon points="{}" fill="none" stroke="#ddd"/>"##,
            pts.join(" ")
        );
    }
    for (i, label) in axes.iter().enumerate() {
        let (x, y) = point(i, 100.0);
        let (lx, ly) = point(i, 114.0);
        let _ = write!(
            svg,
            r##"<line x1="{C}" y1="{C}" x2="{x:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{lx:.1}" y="{ly:.1}" font-size="11" text-anchor="middle" dominant-baseline="middle">{}</text>"##,
            esc(label)
        );
    }
    for (s, (name, values)) in series.iter().enumerate() {
        let pts: Vec<String> = (0..n)
            .map(|i| {
                let v = values.get(i).copied().flatten().map_or(0.0, px);
                let (x, y) = point(i, v);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polygon class="series-{s}" points="{}"><title>{}</title></polygon>"#,
            pts.join(" "),
            esc(name)
        );
        let _ = write!(
            svg,
            r#"<rect class="series-{s}" x="10" y="{y}" width="12" height="12"/><text x="28" y="{ty}" font-size="11">{}</text>"#,
            esc(name),
            y = 322 + 18 * s,
            ty = 332 + 18 * s,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(v: i64, scale: u32) -> Decimal {
        Decimal::new(v, scale)
    }

    #[test]
    fn bars_escape_labels_and_print_published_figures() {
        let svg = bar_chart(
            "Chỉ số <CCHC>",
            &[
                Bar {
                    label: "Sở Tư pháp & \"Nội vụ\"".into(),
                    value: d(906_549, 4),
                    class: "good".into(),
                },
                Bar {
                    label: "Huyện Ea Xanh".into(),
                    value: d(120, 0),
                    class: "weak".into(),
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("Chỉ số &lt;CCHC&gt;"));
        assert!(svg.contains("Sở Tư pháp &amp; &quot;Nội vụ&quot;"));
        assert!(svg.contains(">90,65<"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 2);
        // A value above 100 is drawn to the end of the scale, but labelled as it is.
        assert!(svg.contains(r#"width="380.0""#), "{svg}");
        assert!(svg.contains(">120,00<"));
    }

    #[test]
    fn histogram_and_radar_draw_every_item() {
        let svg = histogram("Phân bố", &[0, 2, 5, 1], 25);
        assert_eq!(svg.matches("<rect").count(), 4);
        assert!(svg.contains("<title>25–50: 2</title>"));
        let axes: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
        let svg = radar(
            "Lĩnh vực",
            &axes,
            &[
                ("Sở Tư pháp".into(), vec![Some(d(90, 0)); 8]),
                ("Trung vị nhóm".into(), vec![None; 8]),
            ],
        );
        assert_eq!(svg.matches("<polygon").count(), 4 + 2, "rings and series");
        assert!(svg.contains("Trung vị nhóm"));
    }
}
