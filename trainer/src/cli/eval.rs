//! `enrelg eval`: score a trained run on a split.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use enrelg::decode::consistency::ConsistencyRecord;
use enrelg::evaluate;

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
    evaluate_run(&args.run, &args.split, &args.device, args.consistency)?;
    Ok(ExitCode::SUCCESS)
}

/// Score a run on a split and print conlleval's report (and, with
/// `consistency`, a line on consistency decoding); the records go into the run folder.
pub fn evaluate_run(
    run: &Path,
    split: &str,
    device: &DeviceArgs,
    consistency: bool,
) -> anyhow::Result<()> {
    let evaluation =
        evaluate::evaluate_run(run, split, &device.device()?, &device.cache_dir, consistency)?;
    print!("{}", evaluation.score.conlleval_report());
    if let Some((_, record)) = &evaluation.consistency {
        report_consistency(record);
    }
    Ok(())
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
