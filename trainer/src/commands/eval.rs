//! `enrelg eval`: score a trained run on a split.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use enrelg::inference::evaluate;
use enrelg::run::{LoadedRun, RunDir};

use super::DeviceArgs;

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value = "test")]
    pub split: String,
    #[command(flatten)]
    pub device: DeviceArgs,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    evaluate_run(&args.run, &args.split, &args.device)?;
    Ok(ExitCode::SUCCESS)
}

/// Score a run on a split; print conlleval's report; write eval-SPLIT.json
/// and predictions-SPLIT.conll into the run folder (holding its lock).
pub fn evaluate_run(run: &Path, split: &str, device: &DeviceArgs) -> anyhow::Result<()> {
    let writer = RunDir::lock(run)?;
    let dev = device.device()?;
    let loaded = LoadedRun::open(run, &dev)?;
    let (score, conll) = evaluate(&loaded, split, &device.cache_dir, &dev)?;
    print!("{}", score.conlleval_report());
    writer.write_eval(split, &score, &conll)
}
