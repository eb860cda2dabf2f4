//! `enrelg experiment`: run a grid of training runs from a spec, resumably,
//! and write its tables.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::experiment::{plan, run, write_tables, Layout, Spec, Status};

#[derive(Args)]
pub struct ExperimentArgs {
    /// The spec (experiments/NAME.toml); NAME names its run and result folders.
    #[arg(long)]
    pub spec: PathBuf,
    /// Cells run at once; each gets an equal share of the cores. Two is the
    /// default: on the 2-core machine two one-thread cells take about 95 s
    /// per Mars epoch each, one two-thread cell about 75 s, so two at once
    /// finish about 1.6 times as many cells per hour.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// Only the cells with KEY=VALUE (`dataset` or a training configuration
    /// field, e.g. `dataset=mars`, `coref_scope=document`); repeatable.
    #[arg(long = "where", value_name = "KEY=VALUE", value_parser = key_value)]
    pub filter: Vec<(String, String)>,
    /// Run at most this many unfinished cells, then stop (the rest run next time).
    #[arg(long)]
    pub limit: Option<usize>,
    /// List the cells, their status and the estimated time left; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only rewrite the tables from the records already kept.
    #[arg(long, conflicts_with = "dry_run")]
    pub tables_only: bool,
    /// Folder holding each dataset's shards (`SHARDS/DATASET`).
    #[arg(long, default_value = "shards")]
    pub shards: PathBuf,
    #[arg(long, default_value = "models/minilm")]
    pub model: PathBuf,
    /// Run folders with their checkpoints (`RUNS/CELL`) [default: runs/experiments, or
    /// runs/F for a spec with `records = "F"`].
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// Kept records and tables (`RESULTS/cells/CELL`, `RESULTS/NAME/table.*`) [default:
    /// results/experiments, or results/F for a spec with `records = "F"`].
    #[arg(long)]
    pub results: Option<PathBuf>,
    #[arg(long, default_value = "cache/encoder")]
    pub cache_dir: PathBuf,
}

fn key_value(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("{s:?} is not KEY=VALUE"))
}

pub fn run_experiment(args: ExperimentArgs) -> anyhow::Result<ExitCode> {
    let spec = Spec::read(&args.spec)?;
    let name = args
        .spec
        .file_stem()
        .and_then(|s| s.to_str())
        .context("--spec needs a file name")?
        .to_string();
    let (runs_root, results_root) = Layout::folders(&spec, args.runs, args.results);
    let layout = Layout {
        shards_root: args.shards,
        model: args.model,
        runs_root,
        results_root,
        cache_dir: args.cache_dir,
    };
    if args.dry_run {
        let cells = plan(&layout, &spec, &args.filter)?;
        let mut left = 0.0;
        for (cell, status, estimate) in &cells {
            let state = match status {
                Status::Finished => "finished".to_string(),
                Status::Partial(n) => format!("{n} epochs done"),
                Status::NotStarted => "to run".to_string(),
            };
            let time = match (status, estimate) {
                (Status::Finished, _) => String::new(),
                (_, Some(s)) => format!("~{:.0} min", s / 60.0),
                (_, None) => "?".to_string(),
            };
            left += estimate.filter(|_| *status != Status::Finished).unwrap_or(0.0);
            println!(
                "{:<32} {state:<15} {time:<10} {}",
                cell.name,
                enrelg::report::summary::additions(&cell.config, &[])
            );
        }
        let finished = cells.iter().filter(|c| c.1 == Status::Finished).count();
        println!("{finished} of {} cells finished; about {:.1} h left at --jobs 1 (? = no finished cell of that dataset to estimate from)", cells.len(), left / 3600.0 + 0.0);
        return Ok(ExitCode::SUCCESS);
    }
    let mut failed = false;
    if !args.tables_only {
        let exe = std::env::current_exe().context("locating the enrelg binary")?;
        let outcome = run(&exe, &layout, &spec, &args.filter, args.jobs, args.limit)?;
        println!(
            "{} cells finished now, {} already finished, {} failed",
            outcome.finished.len(),
            outcome.skipped,
            outcome.failed.len()
        );
        for (cell, log) in &outcome.failed {
            eprintln!("  {cell}: see {log}");
        }
        failed = !outcome.failed.is_empty();
    }
    print!("{}", write_tables(&layout, &spec, &name)?.0);
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}
