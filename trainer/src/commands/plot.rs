//! `enrelg plot`: dev F1 per epoch of runs, one line each (SVG and PNG).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::plot::{lines, Series};
use enrelg::run::METRICS;

#[derive(Args)]
pub struct PlotArgs {
    /// Run folders (or kept records) with a metrics.jsonl.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// The figure without extension: STEM.svg and STEM.png.
    #[arg(long, default_value = "dev-f1")]
    pub out: PathBuf,
}

pub fn run(args: PlotArgs) -> anyhow::Result<ExitCode> {
    let mut series = Vec::new();
    for run in &args.runs {
        let path = run.join(METRICS);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut points = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let v: serde_json::Value = serde_json::from_str(line).with_context(|| format!("{}, line {}", path.display(), i + 1))?;
            let (Some(epoch), Some(f1)) = (v["epoch"].as_f64(), v["dev_f1"].as_f64()) else { anyhow::bail!("{}, line {}: no epoch or dev_f1", path.display(), i + 1) };
            points.push((epoch, f1, 0.0));
        }
        let label = run.file_name().map_or_else(|| run.display().to_string(), |n| n.to_string_lossy().into_owned());
        series.push(Series { label, points });
    }
    for file in lines(&args.out, "Dev F1 per epoch", "epoch", "dev F1", &series)? {
        println!("wrote {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}
