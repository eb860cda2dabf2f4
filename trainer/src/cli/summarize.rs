//! `enrelg summarize`: multi-seed tables of evaluated runs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

#[derive(Args)]
pub struct SummarizeArgs {
    /// Run folders (each with run.json and eval-SPLIT.json); runs that differ
    /// only in their seed become one row.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    #[arg(long, default_value = "test")]
    pub split: String,
    /// Print JSON (every row with its runs and full configuration).
    #[arg(long)]
    pub json: bool,
}

/// Mean ± sample std over seeds of P/R/F1 and per-type F1, as a Markdown table.
pub fn run(args: SummarizeArgs) -> anyhow::Result<ExitCode> {
    let runs = args
        .runs
        .iter()
        .map(|d| enrelg::report::summary::read_run(d, &args.split))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let rows = enrelg::report::summary::summarize(&runs)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", enrelg::report::summary::markdown(&rows, &args.split));
    }
    Ok(ExitCode::SUCCESS)
}
