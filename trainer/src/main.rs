//! The `enrelg` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod cli;

#[derive(Parser)]
#[command(
    name = "enrelg",
    version,
    about = "Domain-specific NER with entity relation graphs (EnRel-G)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Corpus statistics: documents, sentences, tokens, entities, alignment losses per split.
    Stats(cli::stats::StatsArgs),
    /// Explain how a brat corpus's entities differ from the EnRel-G release, per kind of difference.
    Compare(cli::compare::CompareArgs),
    /// Build Arrow shards: windows, coreference and dependency graphs, labels.
    Data(cli::data::DataArgs),
    /// Inspect shards: windows, subtokens, edges per kind, degrees, a sample window.
    Inspect(cli::inspect::InspectArgs),
    /// Time a forward + backward pass of the model on real batches; report peak memory.
    BenchModel(cli::bench::BenchArgs),
    /// Train a model variant on shards; keeps the best checkpoint by dev F1.
    Train(cli::train::TrainArgs),
    /// Score a trained run on a split (conlleval-exact), write eval-SPLIT.json and predictions.
    Eval(cli::eval::EvalArgs),
    /// Decode a split with several runs together (mean emission and CRF scores), e.g. one per seed.
    Ensemble(cli::ensemble::EnsembleArgs),
    /// Mean ± std over seeds of evaluated runs, one row per configuration (Markdown or JSON).
    Summarize(cli::summarize::SummarizeArgs),
    /// Run a grid of training runs from a spec (resumable; skips finished cells) and write its tables.
    Experiment(cli::experiment::ExperimentArgs),
    /// Dev F1 per epoch of runs as a figure (SVG and PNG).
    Plot(cli::plot::PlotArgs),
    /// docs/results.md from the experiments' records: tables, what ran and what remains.
    Results(cli::results::ResultsArgs),
    /// Score a CoNLL file (token gold predicted) exactly as conlleval does.
    Conlleval(cli::conlleval::ConllevalArgs),
    /// Train the relation head (Contains, ...) on a tagger run and score it, gold entities and end to end.
    Relations(cli::relations::RelationsArgs),
    /// Tag new documents (.txt + .conllu) with a trained run; writes brat .ann and entities.jsonl.
    Predict(cli::predict::PredictArgs),
    /// Static HTML pages of a split: text, gold and predicted entities, errors, both graphs as arcs.
    Show(cli::show::ShowArgs),
    /// Raw text in (a .txt tree or a JSONL file), entities out: parses what has no parse, then predicts.
    Tag(cli::tag::TagArgs),
    /// Exact-span, exact-type P/R/F1 between a gold and a predicted brat tree.
    Score(cli::predict::ScoreArgs),
}

fn main() -> ExitCode {
    enrelg::device::keep_freed_buffers();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stats(args) => cli::stats::run(args),
        Command::Compare(args) => cli::compare::run(args),
        Command::Data(args) => cli::data::run(args),
        Command::Inspect(args) => cli::inspect::run(args),
        Command::BenchModel(args) => cli::bench::run(args),
        Command::Train(args) => cli::train::run(args),
        Command::Eval(args) => cli::eval::run(args),
        Command::Ensemble(args) => cli::ensemble::run(args),
        Command::Summarize(args) => cli::summarize::run(args),
        Command::Experiment(args) => cli::experiment::run_experiment(args),
        Command::Results(args) => cli::results::run(args),
        Command::Plot(args) => cli::plot::run(args),
        Command::Conlleval(args) => cli::conlleval::run(args),
        Command::Relations(args) => cli::relations::run(args),
        Command::Predict(args) => cli::predict::run_predict(args),
        Command::Show(args) => cli::show::run(args),
        Command::Tag(args) => cli::tag::run(args),
        Command::Score(args) => cli::predict::run_score(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every command names the shard folder `--shards`; `train` still accepts `--data`, its
    /// old name, so the commands in older records run as written.
    #[test]
    fn train_reads_shards_under_both_names() {
        for flag in ["--shards", "--data"] {
            let cli = Cli::try_parse_from([
                "enrelg",
                "train",
                flag,
                "shards/mars",
                "--model",
                "m",
                "--out",
                "o",
            ])
            .unwrap_or_else(|e| panic!("{flag}: {e}"));
            let Command::Train(args) = cli.command else { panic!("not train") };
            assert_eq!(args.shards, std::path::PathBuf::from("shards/mars"), "{flag}");
        }
    }
}
