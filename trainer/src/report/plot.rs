//! Figures of runs and experiments with `plotters`, each written as SVG and
//! PNG: lines with a ± std band (learning curves, dev F1 per epoch) and
//! points with ± std whiskers per row (F1, seconds per epoch; an axis
//! around the values rather than from zero, so differences of a point show)
//! and grouped bars with ± std whiskers (per-type F1 of each row).
//!
//! Text is drawn with DejaVu Sans, vendored in `assets/fonts` (its licence
//! beside it), so a figure looks the same on every machine.

use std::path::{Path, PathBuf};
use std::sync::Once;

use anyhow::Context;
use plotters::coord::Shift;
use plotters::prelude::*;

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (900, 540);

fn register_font() -> anyhow::Result<()> {
    static ONCE: Once = Once::new();
    let mut result = Ok(());
    ONCE.call_once(|| {
        result = plotters::style::register_font(
            FONT,
            FontStyle::Normal,
            include_bytes!("../../../assets/fonts/DejaVuSans.ttf"),
        )
        .map_err(|_| anyhow::anyhow!("the vendored font does not load"));
    });
    result
}

/// One line: its label and points `(x, mean, std)`.
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// One row's point: its label, mean and std.
pub struct Point {
    pub label: String,
    pub mean: f64,
    pub std: f64,
}

/// `stem.svg` and `stem.png` from the same drawing, `size` pixels.
fn both(
    stem: &Path,
    size: (u32, u32),
    draw_svg: impl Fn(&DrawingArea<SVGBackend, Shift>) -> anyhow::Result<()>,
    draw_png: impl Fn(&DrawingArea<BitMapBackend, Shift>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<PathBuf>> {
    register_font()?;
    if let Some(dir) = stem.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let (svg, png) = (stem.with_extension("svg"), stem.with_extension("png"));
    {
        let area = SVGBackend::new(&svg, size).into_drawing_area();
        draw_svg(&area)?;
        area.present().map_err(|e| anyhow::anyhow!("writing {}: {e}", svg.display()))?;
    }
    {
        let area = BitMapBackend::new(&png, size).into_drawing_area();
        draw_png(&area)?;
        area.present().map_err(|e| anyhow::anyhow!("writing {}: {e}", png.display()))?;
    }
    Ok(vec![svg, png])
}

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow::anyhow!("drawing: {e:?}")
}

/// The series' legend, framed, at the lower right.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)
}

fn range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if lo.is_finite() {
        (lo - pad, hi + pad)
    } else {
        (0.0, 1.0)
    }
}

/// Lines with a shaded ± std band, legend at the lower right; the y axis
/// starts at `y_from` when given (0 for rates, so that a small change looks small).
pub fn lines(
    stem: &Path,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_from: Option<f64>,
) -> anyhow::Result<Vec<PathBuf>> {
    fn draw<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        title: &str,
        x_label: &str,
        y_label: &str,
        series: &[Series],
        y_from: Option<f64>,
    ) -> anyhow::Result<()> {
        area.fill(&WHITE).map_err(err)?;
        let points = || series.iter().flat_map(|s| s.points.iter());
        let (x0, x1) = range(points().map(|p| p.0), 0.0);
        let (y0, y1) = range(points().flat_map(|p| [p.1 - p.2, p.1 + p.2]), 1.0);
        let y0 = y_from.map_or(y0, |f| f.min(y0));
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(x0..x1.max(x0 + 1e-9), y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_label)
            .y_desc(y_label)
            .label_style((FONT, 15))
            .draw()
            .map_err(err)?;
        for (i, s) in series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let band: Vec<(f64, f64)> = s
                .points
                .iter()
                .map(|p| (p.0, p.1 + p.2))
                .chain(s.points.iter().rev().map(|p| (p.0, p.1 - p.2)))
                .collect();
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.18)))).map_err(err)?;
            chart
                .draw_series(LineSeries::new(
                    s.points.iter().map(|p| (p.0, p.1)),
                    color.stroke_width(2),
                ))
                .map_err(err)?
                .label(s.label.as_str())
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                });
            chart
                .draw_series(s.points.iter().map(|p| Circle::new((p.0, p.1), 3, color.filled())))
                .map_err(err)?;
        }
        legend(&mut chart)
    }
    both(
        stem,
        SIZE,
        |a: &DrawingArea<SVGBackend, Shift>| draw(a, title, x_label, y_label, series, y_from),
        |a: &DrawingArea<BitMapBackend, Shift>| draw(a, title, x_label, y_label, series, y_from),
    )
}

/// A point with ± std whiskers per row, labels under each.
pub fn points(
    stem: &Path,
    title: &str,
    y_label: &str,
    rows: &[Point],
) -> anyhow::Result<Vec<PathBuf>> {
    fn draw<DB: DrawingBackend>(
        area: &DrawingArea<DB, Shift>,
        title: &str,
        y_label: &str,
        rows: &[Point],
    ) -> anyhow::Result<()> {
        area.fill(&WHITE).map_err(err)?;
        let (y0, y1) = range(rows.iter().flat_map(|r| [r.mean - r.std, r.mean + r.std]), 1.0);
        let last = rows.len().max(1) - 1;
        let mut chart = ChartBuilder::on(area)
            .caption(title, (FONT, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64)
            .build_cartesian_2d((0..last).into_segmented(), y0..y1)
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc(y_label)
            .x_labels(rows.len())
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) => {
                    rows.get(*i).map_or(String::new(), |r| r.label.clone())
                }
                _ => String::new(),
            })
            .label_style((FONT, 13))
            .draw()
            .map_err(err)?;
        for (i, r) in rows.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            let x = SegmentValue::CenterOf(i);
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x.clone(), r.mean - r.std), (x.clone(), r.mean + r.std)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
            chart
                .draw_series(std::iter::once(Circle::new((x, r.mean), 6, color.filled())))
                .map_err(err)?;
        }
        Ok(())
    }
    both(
        stem,
        SIZE,
        |a: &DrawingArea<SVGBackend, Shift>| draw(a, title, y_label, rows),
        |a: &DrawingArea<BitMapBackend, Shift>| draw(a, title, y_label, rows),
    )
}

/// One row of a bar chart: its label and, per group, `(mean, std)` or
/// `None` where the row has no value.
pub struct Bars {
    pub label: String,
    pub values: Vec<Option<(f64, f64)>>,
}

/// Horizontal bars from 0 to `x_max`, one group per entry of `groups` (top to
/// bottom, its name on the left) holding one bar per row with ± std
/// whiskers, a legend of the rows in free space below the last group; the
/// height grows with the number of bars so that each stays readable.
pub fn bars(
    stem: &Path,
    title: &str,
    x_label: &str,
    x_max: f64,
    groups: &[String],
    rows: &[Bars],
) -> anyhow::Result<Vec<PathBuf>> {
    // Bar slots from the top: group g, row r at g * (rows + 1) + r, a gap
    // after each group, then two empty slots per row for the legend.
    let slots = (groups.len() * (rows.len() + 1) + 2 * rows.len()) as i32;
    let size = (SIZE.0, SIZE.1.max(120 + 10 * slots as u32));
    both(
        stem,
        size,
        |a: &DrawingArea<SVGBackend, Shift>| {
            draw_bars(a, title, x_label, x_max, groups, rows, slots)
        },
        |a: &DrawingArea<BitMapBackend, Shift>| {
            draw_bars(a, title, x_label, x_max, groups, rows, slots)
        },
    )
}

/// The bar chart of [`bars`] on one backend, in `slots` bar slots.
fn draw_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    x_max: f64,
    groups: &[String],
    rows: &[Bars],
    slots: i32,
) -> anyhow::Result<()> {
    area.fill(&WHITE).map_err(err)?;
    let per_group = rows.len() + 1;
    // Segments 0..=slots + 1 bottom to top; the slot counted from the top sits at `slots - top`.
    let y_of = |top: usize| slots - top as i32;
    let longest = groups.iter().map(|g| g.chars().count()).max().unwrap_or(0);
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 22))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size((24 + 8 * longest).min(320) as u32)
        .build_cartesian_2d(0f64..x_max, (0..slots + 1).into_segmented())
        .map_err(err)?;
    let label_of = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(y) => {
            let top = (slots - y) as usize;
            if top % per_group == (rows.len().max(1) - 1) / 2 {
                groups.get(top / per_group).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(x_label)
        .y_labels(slots as usize + 2)
        .y_label_formatter(&label_of)
        .label_style((FONT, 13))
        .draw()
        .map_err(err)?;
    for (r, row) in rows.iter().enumerate() {
        let color = Palette99::pick(r).to_rgba();
        let bars = row
            .values
            .iter()
            .enumerate()
            .filter_map(|(g, v)| v.map(|v| (y_of(g * per_group + r), v)));
        chart
            .draw_series(bars.clone().map(|(y, (mean, _))| {
                let mut bar = Rectangle::new(
                    [(0.0, SegmentValue::Exact(y)), (mean, SegmentValue::Exact(y + 1))],
                    color.filled(),
                );
                bar.set_margin(1, 1, 0, 0);
                bar
            }))
            .map_err(err)?
            .label(row.label.as_str())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], color.filled()));
        chart
            .draw_series(bars.map(|(y, (mean, std))| {
                PathElement::new(
                    vec![
                        ((mean - std).max(0.0), SegmentValue::CenterOf(y)),
                        ((mean + std).min(x_max), SegmentValue::CenterOf(y)),
                    ],
                    BLACK.stroke_width(1),
                )
            }))
            .map_err(err)?;
    }
    legend(&mut chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_points_write_svg_with_their_labels_and_a_png() {
        let dir = std::env::temp_dir().join(format!("enrelg-plot-{}", std::process::id()));
        let series = [Series {
            label: "CD".into(),
            points: vec![(0.25, 80.0, 1.0), (0.5, 84.0, 0.5), (1.0, 87.0, 0.4)],
        }];
        let files =
            lines(&dir.join("curve"), "Learning curve", "share of train", "test F1", &series, None)
                .unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            svg.contains("Learning curve") && svg.contains("CD") && svg.contains("<polygon"),
            "{svg}"
        );
        assert!(!svg.contains("\n0.0\n"), "the axis fits the points:\n{svg}");
        assert_eq!(&std::fs::read(&files[1]).unwrap()[1..4], b"PNG");
        let files = lines(
            &dir.join("from-zero"),
            "Learning curve",
            "share of train",
            "test F1",
            &series,
            Some(0.0),
        )
        .unwrap();
        assert!(
            std::fs::read_to_string(&files[0]).unwrap().contains("\n0.0\n"),
            "the axis starts at 0"
        );
        let rows = [
            Point { label: "baseline".into(), mean: 87.1, std: 0.1 },
            Point { label: "cd".into(), mean: 86.8, std: 0.6 },
            Point { label: "doc".into(), mean: 87.5, std: 0.3 },
        ];
        let files = points(&dir.join("points"), "F1", "test F1", &rows).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(svg.contains("baseline") && svg.contains("cd"), "{svg}");
        let groups = ["Element".to_string(), "Mineral".to_string(), "Target".to_string()];
        let rows = [
            Bars {
                label: "baseline".into(),
                values: vec![Some((90.0, 1.0)), Some((80.0, 2.0)), Some((67.0, 3.0))],
            },
            Bars { label: "cd".into(), values: vec![Some((91.0, 0.5)), None, Some((70.0, 1.5))] },
        ];
        let files =
            bars(&dir.join("bars"), "Per-type F1", "test F1", 100.0, &groups, &rows).unwrap();
        let svg = std::fs::read_to_string(&files[0]).unwrap();
        assert!(
            groups.iter().all(|g| svg.contains(g.as_str()))
                && svg.contains("baseline")
                && svg.contains("cd"),
            "{svg}"
        );
        // Five bars (one value is missing), each a filled rectangle in its row's colour.
        let [first, second] = [0, 1].map(|i| Palette99::pick(i).to_rgba());
        let fill =
            |c: plotters::style::RGBAColor| format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2);
        assert_eq!(
            svg.matches(&fill(first)).count(),
            3 + 1,
            "three bars and a legend swatch:\n{svg}"
        );
        assert_eq!(
            svg.matches(&fill(second)).count(),
            2 + 1,
            "two bars and a legend swatch:\n{svg}"
        );
        assert_eq!(&std::fs::read(&files[1]).unwrap()[1..4], b"PNG");
        if std::env::var_os("ENRELG_KEEP_PLOTS").is_none() {
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}
