//! `enrelg plot`: dev F1 per epoch of runs, one line each (SVG and PNG), or
//! any line chart described in a JSON file (`--lines`, as `make bench` draws
//! its scaling figure).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::report::plot::{lines, Series};
use enrelg::run::{EpochRecord, METRICS};

#[derive(Args)]
pub struct PlotArgs {
    /// Run folders (or kept records) with a metrics.jsonl.
    #[arg(required_unless_present = "lines", conflicts_with = "lines")]
    pub runs: Vec<PathBuf>,
    /// A chart as JSON instead of runs: `{"title", "x_label", "y_label",
    /// "series": [{"label", "points": [[x, mean, std], ...]}]}`, optionally
    /// `"y_from": 0` to start the y axis there.
    #[arg(long, value_name = "FILE.json")]
    pub lines: Option<PathBuf>,
    /// The figure without extension: STEM.svg and STEM.png.
    #[arg(long, default_value = "dev-f1")]
    pub out: PathBuf,
}

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    if let Some(path) = &args.lines {
        return chart(path, &args.out);
    }
    let mut series = Vec::new();
    for run in &args.runs {
        let points = EpochRecord::read_all(&run.join(METRICS))?
            .iter()
            .map(|r| (r.epoch as f64, r.dev_f1, 0.0))
            .collect();
        let label = run
            .file_name()
            .map_or_else(|| run.display().to_string(), |n| n.to_string_lossy().into_owned());
        series.push(Series { label, points });
    }
    for file in lines(&args.out, "Dev F1 per epoch", "epoch", "dev F1", &series, None)? {
        println!("wrote {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Deserialize)]
struct Chart {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<ChartSeries>,
    #[serde(default)]
    y_from: Option<f64>,
}

#[derive(serde::Deserialize)]
struct ChartSeries {
    label: String,
    points: Vec<(f64, f64, f64)>,
}

/// `--lines`: the chart a JSON file describes.
fn chart(path: &std::path::Path, out: &std::path::Path) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let chart: Chart = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a chart (title, x_label, y_label, series of label and [x, mean, std] points)",
            path.display()
        )
    })?;
    let series: Vec<Series> =
        chart.series.into_iter().map(|s| Series { label: s.label, points: s.points }).collect();
    for file in lines(out, &chart.title, &chart.x_label, &chart.y_label, &series, chart.y_from)? {
        println!("wrote {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
