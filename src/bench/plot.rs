//! The scaling sweep drawn: a text chart for the terminal, an SVG (plotters) for the book.

use super::scaling::{Step, Sweep};
use crate::t;
use anyhow::{Result, anyhow};
use plotters::prelude::*;
use std::fmt::Write;
use std::path::Path;

/// The idle-connection counts any model reached, in order.
fn steps(sweeps: &[Sweep]) -> Vec<usize> {
    let mut s: Vec<usize> = sweeps
        .iter()
        .flat_map(|w| w.steps.iter().map(|st| st.idle))
        .collect();
    s.sort_unstable();
    s.dedup();
    s
}

/// The decades a log axis spans to hold every value `pick` takes: (10^lo, 10^hi).
fn decades(sweeps: &[Sweep], pick: fn(&Step) -> f64) -> (f64, f64) {
    let values = || sweeps.iter().flat_map(|w| w.steps.iter().map(pick));
    let min = values().filter(|v| *v > 0.0).fold(f64::INFINITY, f64::min);
    let max = values().fold(0.0f64, f64::max);
    if !min.is_finite() {
        return (0.0, 1.0);
    }
    let lo = min.log10().floor();
    (lo, max.log10().ceil().max(lo + 1.0))
}

/// Server CPU per echo, one bar per model, grouped by the number of idle connections. The bars
/// are on a log scale: poll at 10,000 idle costs a hundred times epoll, and a linear bar would
/// flatten every other figure to one character.
pub fn text_chart(sweeps: &[Sweep]) -> String {
    const WIDTH: f64 = 50.0;
    let (lo, hi) = decades(sweeps, |s| s.cpu_per_echo_us);
    let name_w = sweeps.iter().map(|w| w.model.len()).max().unwrap_or(5);
    let mut out = t!(
        "bench-chart-title",
        lo = 10f64.powf(lo).to_string(),
        hi = 10f64.powf(hi).to_string()
    ) + "\n";
    for idle in steps(sweeps) {
        let _ = writeln!(
            out,
            "{}",
            t!("bench-chart-idle", idle = format!("{idle:>7}"))
        );
        for w in sweeps {
            if let Some(st) = w.steps.iter().find(|s| s.idle == idle) {
                let v = st.cpu_per_echo_us.max(10f64.powf(lo));
                let n = ((v.log10() - lo) / (hi - lo) * WIDTH).round() as usize;
                let _ = writeln!(
                    out,
                    "        {:<name_w$} {} {:.1}",
                    w.model,
                    "█".repeat(n.max(1)),
                    st.cpu_per_echo_us
                );
            }
        }
    }
    out
}

/// Okabe and Ito's palette, safe for the common colour-blindnesses (yellow left out: it
/// vanishes on white).
const COLORS: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(0, 0, 0),
];

/// Writes the sweep as an SVG: CPU per echo (left) and p99 latency (right) against the number
/// of idle connections, one line per model, both on log scales (the figures span decades). The
/// x axis is the sweep's steps, evenly spaced (0 included): no scale, and it says so. Drawn
/// 1000 px wide with 18-22 px text, so that at a book page's width (about 750 px) no text is
/// under 13 px.
pub fn svg(path: &Path, sweeps: &[Sweep]) -> Result<()> {
    let err = |e: &dyn std::fmt::Display| {
        anyhow!(t!(
            "bench-err-draw",
            file = path.display().to_string(),
            why = e.to_string()
        ))
    };
    let xs = steps(sweeps);
    let root = SVGBackend::new(path, (1000, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let panels = root.split_evenly((1, 2));
    type Pick = fn(&Step) -> f64;
    let figures: [(String, String, Pick); 2] = [
        (t!("bench-plot-cpu"), t!("bench-plot-cpu-unit"), |s| {
            s.cpu_per_echo_us
        }),
        (t!("bench-plot-p99"), t!("bench-plot-p99-unit"), |s| {
            s.p99_us
        }),
    ];
    for (area, (title, unit, pick)) in panels.iter().zip(figures) {
        let (lo, hi) = decades(sweeps, pick);
        let xmax = (xs.len().max(2) - 1) as f64;
        let mut chart = ChartBuilder::on(area)
            .caption(&title, ("sans-serif", 24))
            .margin(12)
            .margin_right(28)
            .x_label_area_size(64)
            .y_label_area_size(76)
            .build_cartesian_2d(
                -0.2f64..xmax + 0.2,
                (10f64.powf(lo)..10f64.powf(hi)).log_scale(),
            )
            .map_err(|e| err(&e))?;
        let label = |x: &f64| {
            let i = x.round();
            if (x - i).abs() < 1e-6 {
                xs.get(i as usize).map_or(String::new(), |v| v.to_string())
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .x_labels(xs.len().max(2))
            .x_label_formatter(&label)
            .x_desc(t!("bench-plot-x"))
            .y_desc(t!("bench-plot-y", unit = unit))
            .y_label_formatter(&|v| format!("{v}"))
            .label_style(("sans-serif", 18))
            .axis_desc_style(("sans-serif", 18))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, w) in sweeps.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            let points: Vec<(f64, f64)> = w
                .steps
                .iter()
                .filter(|s| pick(s) > 0.0)
                .filter_map(|s| Some((xs.iter().position(|&x| x == s.idle)? as f64, pick(s))))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(w.model.as_str())
                .legend(move |(x, y)| {
                    // The marker as its glyph: one element type for every shape.
                    let glyph = ["●", "▲", "✕", "■"][i % 4];
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (24, 0)], color.stroke_width(2))
                        + Text::new(glyph, (6, -9), ("sans-serif", 16).into_font().color(&color))
                });
            // Each model's own marker (circle, triangle, cross, square): colour is never the
            // only cue.
            let at = points.into_iter();
            match i % 4 {
                0 => chart.draw_series(at.map(|p| Circle::new(p, 5, color.filled()))),
                1 => chart.draw_series(at.map(|p| TriangleMarker::new(p, 7, color.filled()))),
                2 => chart.draw_series(at.map(|p| Cross::new(p, 6, color.stroke_width(3)))),
                _ => chart.draw_series(at.map(|p| {
                    EmptyElement::at(p) + Rectangle::new([(-5, -5), (5, 5)], color.filled())
                })),
            }
            .map_err(|e| err(&e))?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 18))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(&e))?;
    }
    root.present().map_err(|e| err(&e))?;
    Ok(())
}
