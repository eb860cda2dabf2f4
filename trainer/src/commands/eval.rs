//! `enrelg eval`: score a trained run on a split.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use enrelg::consistency::ConsistencyRecord;
use enrelg::inference::evaluate;
use enrelg::run::{consistency_file, consistent_split, LoadedRun, RunDir};
use enrelg_pipeline::fs::write_atomic;

use super::DeviceArgs;

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value = "test")]
    pub split: String,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Also decode with document-level label consistency (threshold chosen
    /// on dev): writes eval-SPLIT-consistency.json, its predictions and
    /// consistency-SPLIT.json.
    #[arg(long)]
    pub consistency: bool,
}

pub fn run(args: EvalArgs) -> anyhow::Result<ExitCode> {
    evaluate_run(&args.run, &args.split, &args.device)?;
    if args.consistency {
        let writer = RunDir::lock(&args.run)?;
        let dev = args.device.device()?;
        let loaded = LoadedRun::open(&args.run, &dev)?;
        let (score, conll, record) = enrelg::consistency::evaluate(&loaded, &args.split, &args.device.cache_dir, &dev)?;
        report_consistency(&record);
        writer.write_eval(&consistent_split(&args.split), &score, &conll)?;
        write_atomic(&args.run.join(consistency_file(&args.split)), (serde_json::to_string_pretty(&record)? + "\n").as_bytes())?;
    }
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

/// One line on what consistency decoding chose and changed.
pub fn report_consistency(record: &ConsistencyRecord) {
    println!(
        "consistency decoding (threshold {} chosen on {}): {} F1 {:.2} -> {:.2}, {} words relabelled; repeated names with mixed labels: gold {:.1} %, predicted {:.1} % -> {:.1} %",
        record.choice.threshold,
        record.dev_split,
        record.split,
        record.f1_plain,
        record.f1_consistent,
        record.changed_words,
        100.0 * record.gold.share,
        100.0 * record.predicted_plain.share,
        100.0 * record.predicted_consistent.share
    );
}
