//! Inline SVG charts drawn on the server: a few hundred bytes each, no script, readable
//! without colour (every chart has its numbers in a table beside it). Colours are classes
//! from `app.css`, or a computed `fill` for the heat map's scale.

use maud::{html, Markup};

const W: f64 = 720.0;
const H: f64 = 220.0;
const LEFT: f64 = 44.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 10.0;

/// One stacked series: its name, CSS class and one value per column.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: String,
    pub values: Vec<u64>,
}

/// A "nice" axis maximum at or above `v` (1, 2, 5 × 10ⁿ).
pub fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// An axis label: quarters of a small maximum keep their fraction (1.25, not "1").
fn fmt(v: f64) -> String {
    if v >= 1000.0 {
        format!("{}k", fmt(v / 1000.0))
    } else if v.fract().abs() > 1e-9 {
        format!("{v:.2}").trim_end_matches('0').to_string()
    } else {
        format!("{v:.0}")
    }
}

/// Columns (days) of stacked bars, with a legend. `title` names it for screen readers.
pub fn stacked_bars(title: &str, columns: &[String], series: &[Series]) -> Markup {
    let n = columns.len().max(1);
    let totals: Vec<u64> = (0..columns.len())
        .map(|i| {
            series
                .iter()
                .map(|s| s.values.get(i).copied().unwrap_or(0))
                .sum()
        })
        .collect();
    let max = nice_max(totals.iter().copied().max().unwrap_or(0) as f64);
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = (slot * 0.75).max(1.0);
    let label_every = (n / 8).max(1);
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) preserveAspectRatio="xMidYMid meet" {
            title { (title) }
            @for i in 0..=4 {
                @let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
                line.grid x1=(LEFT) x2=(W - 8.0) y1=(y) y2=(y) {}
                text.axis x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" { (fmt(max * f64::from(i) / 4.0)) }
            }
            @for (i, col) in columns.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                g {
                    title { (col) ": " (totals[i]) }
                    @for (class, y, h) in stack(series, i, TOP + plot_h, plot_h / max) {
                        rect class=(class) x=(format!("{x:.1}")) y=(format!("{y:.1}")) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {}
                    }
                }
                @if i % label_every == 0 {
                    text.axis x=(format!("{:.1}", x + bar / 2.0)) y=(H - 8.0) text-anchor="middle" { (col.get(5..).unwrap_or(col)) }
                }
            }
        }
        ul.legend {
            @for s in series { li { span class=(format!("swatch {}", s.class)) aria-hidden="true" {} (s.name) } }
        }
    }
}

/// The segments of column `i`, bottom up: (class, top y, height), zero values left out.
fn stack<'a>(series: &'a [Series], i: usize, base: f64, scale: f64) -> Vec<(&'a str, f64, f64)> {
    let mut y = base;
    let mut out = Vec::with_capacity(series.len());
    for s in series {
        let v = s.values.get(i).copied().unwrap_or(0);
        if v == 0 {
            continue;
        }
        let h = v as f64 * scale;
        y -= h;
        out.push((s.class.as_str(), y, h));
    }
    out
}

/// Simple bars of a share (0–1) per label, `None` drawn as a gap.
pub fn share_bars(title: &str, labels: &[String], shares: &[Option<f64>]) -> Markup {
    let n = labels.len().max(1);
    let plot_w = W - LEFT - 8.0;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let bar = slot * 0.6;
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
            title { (title) }
            @for i in 0..=4 {
                @let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
                line.grid x1=(LEFT) x2=(W - 8.0) y1=(y) y2=(y) {}
                text.axis x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" { (i * 25) "%" }
            }
            @for (i, label) in labels.iter().enumerate() {
                @let x = LEFT + slot * i as f64 + (slot - bar) / 2.0;
                @if let Some(s) = shares.get(i).copied().flatten() {
                    @let h = plot_h * s.clamp(0.0, 1.0);
                    rect.c-share x=(format!("{x:.1}")) y=(format!("{:.1}", TOP + plot_h - h)) width=(format!("{bar:.1}")) height=(format!("{h:.1}")) {
                        title { (label) ": " (format!("{:.0}%", s * 100.0)) }
                    }
                }
                text.axis x=(format!("{:.1}", x + bar / 2.0)) y=(H - 8.0) text-anchor="middle" { (label) }
            }
        }
    }
}

/// Horizontal bars, largest first: one row per (label, value, link), the label written
/// inside the chart so long request titles stay readable.
pub fn ranked_bars(title: &str, rows: &[(String, u64, String)]) -> Markup {
    const ROW: f64 = 26.0;
    const LABEL_W: f64 = 300.0;
    let h = (rows.len().max(1) as f64) * ROW + 8.0;
    let max = nice_max(rows.iter().map(|r| r.1).max().unwrap_or(0) as f64);
    let plot_w = W - LABEL_W - 60.0;
    html! {
        svg.chart.ranked viewBox=(format!("0 0 {W} {h}")) role="img" aria-label=(title) {
            title { (title) }
            @for (i, (label, value, href)) in rows.iter().enumerate() {
                @let y = 4.0 + ROW * i as f64;
                @let w = plot_w * (*value as f64 / max);
                a href=(href) {
                    text.axis x=(LABEL_W - 8.0) y=(format!("{:.1}", y + ROW * 0.62)) text-anchor="end" { (ellipsis(label, 42)) }
                    rect.c-share x=(LABEL_W) y=(format!("{:.1}", y + 3.0)) width=(format!("{:.1}", w.max(1.0))) height=(format!("{:.1}", ROW - 8.0)) {
                        title { (label) ": " (value) }
                    }
                    text.axis x=(format!("{:.1}", LABEL_W + w + 6.0)) y=(format!("{:.1}", y + ROW * 0.62)) { (value) }
                }
            }
        }
    }
}

fn ellipsis(s: &str, max_chars: usize) -> String {
    if s.chars().count() <= max_chars {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max_chars - 1).collect();
    out.push('…');
    out
}

/// A grid of cells (rows × columns) shaded by value: light is fast, dark is slow; an empty
/// cell had no conversation.
pub fn heatmap(
    title: &str,
    rows: &[&str],
    columns: &[String],
    values: &[Vec<Option<i64>>],
) -> Markup {
    let max = values
        .iter()
        .flatten()
        .flatten()
        .copied()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let cell_w = (W - LEFT - 8.0) / columns.len().max(1) as f64;
    let cell_h = 24.0;
    let height = TOP + cell_h * rows.len() as f64 + BOTTOM;
    html! {
        svg.chart viewBox=(format!("0 0 {W} {height}")) role="img" aria-label=(title) {
            title { (title) }
            @for (r, row) in rows.iter().enumerate() {
                @let y = TOP + cell_h * r as f64;
                text.axis x=(LEFT - 6.0) y=(y + cell_h * 0.65) text-anchor="end" { (row) }
                @for (c, col) in columns.iter().enumerate() {
                    @let x = LEFT + cell_w * c as f64;
                    @let v = values.get(r).and_then(|row| row.get(c)).copied().flatten();
                    rect x=(format!("{x:.1}")) y=(y) width=(format!("{:.1}", cell_w - 1.0)) height=(cell_h - 1.0)
                        fill=(shade(v.map(|v| v as f64 / max))) {
                        title { (row) " " (col) ":00 — " (match v { Some(s) => format!("median {}", crate::web::layout::duration(s)), None => "no conversations".into() }) }
                    }
                }
            }
            @for (c, col) in columns.iter().enumerate() {
                @if c % 3 == 0 {
                    text.axis x=(format!("{:.1}", LEFT + cell_w * c as f64 + cell_w / 2.0)) y=(height - 8.0) text-anchor="middle" { (col) }
                }
            }
        }
        p.legend-scale { span.swatch.scale-lo aria-hidden="true" {} "fast" span.swatch.scale-hi aria-hidden="true" {} "slow (up to " (crate::web::layout::duration(max as i64)) ")" span.swatch.scale-none aria-hidden="true" {} "no conversations" }
    }
}

/// Light teal for fast through dark blue for slow; pale grey for nothing.
fn shade(t: Option<f64>) -> String {
    let Some(t) = t else {
        return "#f1f3f5".into();
    };
    let t = t.clamp(0.0, 1.0);
    let lerp = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        lerp(204.0, 30.0),
        lerp(236.0, 58.0),
        lerp(230.0, 138.0)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn axis_labels_keep_their_fractions() {
        assert_eq!(fmt(1.25), "1.25");
        assert_eq!(fmt(2.5), "2.5");
        assert_eq!(fmt(4.0), "4");
        assert_eq!(fmt(2500.0), "2.5k");
        assert_eq!(fmt(20000.0), "20k");
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(7.0), 10.0);
        assert_eq!(nice_max(130.0), 200.0);
        assert_eq!(nice_max(4_900.0), 5_000.0);
    }

    #[test]
    fn bars_are_drawn_for_each_value() {
        let svg = stacked_bars(
            "t",
            &["2026-11-01".into(), "2026-11-02".into()],
            &[Series {
                name: "complaint",
                class: "c-complaint".into(),
                values: vec![3, 0],
            }],
        )
        .into_string();
        assert_eq!(svg.matches("<rect").count(), 1, "zero draws nothing");
        assert!(svg.contains("2026-11-01: 3"));
    }

    #[test]
    fn shades_run_from_light_to_dark() {
        assert_eq!(shade(Some(0.0)), "#ccece6");
        assert_eq!(shade(Some(1.0)), "#1e3a8a");
        assert_eq!(shade(None), "#f1f3f5");
    }
}
