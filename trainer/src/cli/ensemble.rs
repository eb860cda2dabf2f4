//! `enrelg ensemble`: decode a split with several runs together.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use enrelg::run::{ensemble_file, RunDir};
use enrelg_pipeline::fs::write_atomic;

use super::DeviceArgs;

#[derive(Args)]
pub struct EnsembleArgs {
    /// Trained run folders of the same shards (repeat the flag), e.g. one per seed.
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Folder for ensemble-SPLIT.json (members and their own scores), eval-SPLIT.json and predictions-SPLIT.conll.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Also decode with document-level label consistency (threshold chosen
    /// on the ensemble's dev predictions), as `eval --consistency`.
    #[arg(long)]
    pub consistency: bool,
}

/// Decode a split with the mean scores of several runs; print conlleval's
/// report and each member's own F1; write the record, score and predictions.
pub fn run(args: EnsembleArgs) -> anyhow::Result<ExitCode> {
    let out = RunDir::lock(&args.out)?;
    let device = args.device.device()?;
    let decoded =
        enrelg::decode::ensemble::decode(&args.runs, &args.split, &args.device.cache_dir, &device)?;
    let (info, score, conll) = decoded.score(&args.split)?;
    print!("{}", score.conlleval_report());
    for m in &info.members {
        println!("member {} (seed {}): {} F1 {:.2}", m.run.display(), m.seed, args.split, m.f1);
    }
    let mean = info.members.iter().map(|m| m.f1).sum::<f64>() / info.members.len() as f64;
    println!(
        "ensemble of {}: {} F1 {:.2} (members' mean {mean:.2})",
        info.members.len(),
        args.split,
        info.f1
    );
    write_atomic(
        &args.out.join(ensemble_file(&args.split)),
        (serde_json::to_string_pretty(&info)? + "\n").as_bytes(),
    )?;
    out.write_eval(&args.split, &score, &conll)?;
    if args.consistency {
        let dev_split = enrelg::decode::consistency::dev_split(&decoded.info)?;
        let dev = enrelg::decode::ensemble::decode(
            &args.runs,
            &dev_split,
            &args.device.cache_dir,
            &device,
        )?;
        let (score, conll, record) = enrelg::decode::consistency::decide(
            &decoded.info,
            (&dev_split, &dev.records, &dev.pred),
            (&args.split, &decoded.records, &decoded.pred),
        )?;
        super::eval::report_consistency(&record);
        out.write_consistency(&args.split, &score, &conll, &record)?;
    }
    Ok(ExitCode::SUCCESS)
}
