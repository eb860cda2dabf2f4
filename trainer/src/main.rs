//! The `enrelg` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

mod commands;

#[derive(Parser)]
#[command(name = "enrelg", version, about = "Domain-specific NER with entity relation graphs (EnRel-G)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Corpus statistics: documents, sentences, tokens, entities, alignment losses per split.
    Stats(commands::stats::StatsArgs),
    /// Explain how a brat corpus's entities differ from the EnRel-G release, per kind of difference.
    Compare(commands::compare::CompareArgs),
    /// Build Arrow shards: windows, coreference and dependency graphs, labels.
    Data(commands::data::DataArgs),
    /// Inspect shards: windows, subtokens, edges per kind, degrees, a sample window.
    Inspect(commands::inspect::InspectArgs),
    /// Time a forward + backward pass of the model on real batches; report peak memory.
    BenchModel(commands::bench::BenchArgs),
    /// Train a model variant on shards; keeps the best checkpoint by dev F1.
    Train(commands::train::TrainArgs),
    /// Score a trained run on a split (conlleval-exact), write eval-SPLIT.json and predictions.
    Eval(commands::eval::EvalArgs),
    /// Decode a split with several runs together (mean emission and CRF scores), e.g. one per seed.
    Ensemble(commands::ensemble::EnsembleArgs),
    /// Mean ± std over seeds of evaluated runs, one row per configuration (Markdown or JSON).
    Summarize(commands::summarize::SummarizeArgs),
    /// Run a grid of training runs from a spec (resumable; skips finished cells) and write its tables.
    Experiment(commands::experiment::ExperimentArgs),
    /// Dev F1 per epoch of runs as a figure (SVG and PNG).
    Plot(commands::plot::PlotArgs),
    /// docs/results.md from the experiments' records: tables, what ran and what remains.
    Results(commands::results::ResultsArgs),
    /// Score a CoNLL file (token gold predicted) exactly as conlleval does.
    Conlleval(commands::conlleval::ConllevalArgs),
    /// Tag new documents (.txt + .conllu) with a trained run; writes brat .ann and entities.jsonl.
    Predict(commands::predict::PredictArgs),
    /// Static HTML pages of a split: text, gold and predicted entities, errors, both graphs as arcs.
    Show(commands::show::ShowArgs),
    /// Raw text in (a .txt tree or a JSONL file), entities out: parses what has no parse, then predicts.
    Tag(commands::tag::TagArgs),
    /// Exact-span, exact-type P/R/F1 between a gold and a predicted brat tree.
    Score(commands::predict::ScoreArgs),
}

fn main() -> ExitCode {
    enrelg::device::keep_freed_buffers();
    tracing_subscriber::fmt().with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))).with_writer(std::io::stderr).init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Stats(args) => commands::stats::run(args),
        Command::Compare(args) => commands::compare::run(args),
        Command::Data(args) => commands::data::run(args),
        Command::Inspect(args) => commands::inspect::run(args),
        Command::BenchModel(args) => commands::bench::run(args),
        Command::Train(args) => commands::train::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Ensemble(args) => commands::ensemble::run(args),
        Command::Summarize(args) => commands::summarize::run(args),
        Command::Experiment(args) => commands::experiment::run_experiment(args),
        Command::Results(args) => commands::results::run(args),
        Command::Plot(args) => commands::plot::run(args),
        Command::Conlleval(args) => commands::conlleval::run(args),
        Command::Predict(args) => commands::predict::run_predict(args),
        Command::Show(args) => commands::show::run(args),
        Command::Tag(args) => commands::tag::run(args),
        Command::Score(args) => commands::predict::run_score(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
