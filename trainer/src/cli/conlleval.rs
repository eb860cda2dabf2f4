//! `enrelg conlleval FILE`: score a CoNLL file (`... gold predicted` per
//! line, blank lines between sentences) exactly as conlleval does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::metrics::conlleval::Scorer;

#[derive(Args)]
pub struct ConllevalArgs {
    pub file: PathBuf,
    /// Print JSON instead of conlleval's report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ConllevalArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("reading {}", args.file.display()))?;
    let mut scorer = Scorer::default();
    let (mut gold, mut pred) = (Vec::new(), Vec::new());
    for (i, line) in text.lines().enumerate() {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.is_empty() || cols[0] == "-DOCSTART-" {
            scorer.add(&gold, &pred);
            gold.clear();
            pred.clear();
            continue;
        }
        anyhow::ensure!(
            cols.len() >= 3,
            "{}:{}: expected at least 3 columns (token gold predicted), found {}",
            args.file.display(),
            i + 1,
            cols.len()
        );
        gold.push(cols[cols.len() - 2].to_string());
        pred.push(cols[cols.len() - 1].to_string());
    }
    scorer.add(&gold, &pred);
    let score = scorer.score();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&score)?);
    } else {
        print!("{}", score.conlleval_report());
    }
    Ok(ExitCode::SUCCESS)
}
