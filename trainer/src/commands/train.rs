//! `enrelg train` and `enrelg eval`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::device;
use enrelg::model::{Variant, WordPool};
use enrelg::train::{evaluate, load_run, train, TrainConfig, TrainInputs};

#[derive(Args)]
pub struct TrainArgs {
    /// Shard folder (make data).
    #[arg(long)]
    pub data: PathBuf,
    /// Hugging Face BERT checkpoint folder.
    #[arg(long, default_value = "models/minilm")]
    pub model: PathBuf,
    /// TOML file with any TrainConfig field; flags below override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[arg(long, value_enum)]
    pub variant: Option<Variant>,
    #[arg(long)]
    pub seed: Option<u64>,
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Train only the layers after the encoder, on cached encoder outputs.
    #[arg(long)]
    pub freeze_encoder: bool,
    /// Fine-tune the encoder too (overrides a config's freeze_encoder = true).
    #[arg(long, conflicts_with = "freeze_encoder")]
    pub fine_tune: bool,
    /// Word-shape embedding size (0 = off, the paper's model).
    #[arg(long)]
    pub shape_dim: Option<usize>,
    /// Feed the head a learned scalar mix of every encoder layer instead of the last (not in the paper).
    #[arg(long)]
    pub layer_mix: bool,
    /// Character-CNN filters concatenated to the encoder output (0 = off, the paper's model).
    #[arg(long)]
    pub char_dim: Option<usize>,
    /// Word-identity embedding size, vocabulary from the training split (0 = off, the paper's model).
    #[arg(long)]
    pub word_dim: Option<usize>,
    /// How a word's vector is pooled from its subtokens (the paper: first).
    #[arg(long, value_enum)]
    pub word_pool: Option<WordPool>,
    /// Run folder (checkpoint, metrics.jsonl, run.json, evaluations).
    #[arg(long)]
    pub out: PathBuf,
    /// Where frozen-encoder outputs are cached.
    #[arg(long, default_value = "cache/encoder")]
    pub cache_dir: PathBuf,
    #[arg(long, default_value = "flex")]
    pub device: String,
    /// Evaluate the best checkpoint on test after training.
    #[arg(long)]
    pub test: bool,
    /// Continue the run in --out from its last complete epoch (model, optimizer, schedule, RNG, epoch).
    #[arg(long)]
    pub resume: bool,
    /// Stop after this epoch, as an interruption would (for time-boxed runs and the resume test).
    #[arg(long)]
    pub stop_after_epoch: Option<usize>,
    /// Start from the best checkpoint of this run (same model shape): from a
    /// frozen run, its trained head with the pretrained encoder, to fine-tune
    /// both as a second stage.
    #[arg(long, conflicts_with = "resume")]
    pub init_from: Option<PathBuf>,
}

pub fn run_train(args: TrainArgs) -> anyhow::Result<ExitCode> {
    // A resumed run keeps the configuration it started with.
    let saved = args.out.join("run.json");
    let mut cfg: TrainConfig = match &args.config {
        _ if args.resume => {
            let info: enrelg::train::RunInfo = serde_json::from_slice(&std::fs::read(&saved).with_context(|| format!("resume: reading {}", saved.display()))?)?;
            info.config
        }
        Some(p) => toml::from_str(&std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?)
            .with_context(|| format!("parsing {}", p.display()))?,
        None => TrainConfig::default(),
    };
    if let Some(v) = args.variant {
        cfg.variant = v;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(e) = args.epochs {
        cfg.max_epochs = e;
    }
    if let Some(d) = args.shape_dim {
        cfg.shape_dim = d;
    }
    if let Some(d) = args.char_dim {
        cfg.char_dim = d;
    }
    if args.layer_mix {
        cfg.layer_mix = true;
    }
    if let Some(d) = args.word_dim {
        cfg.word_dim = d;
    }
    if let Some(p) = args.word_pool {
        cfg.word_pool = p;
    }
    if args.freeze_encoder {
        cfg.freeze_encoder = true;
    }
    if args.fine_tune {
        cfg.freeze_encoder = false;
    }
    let device = device::by_name(&args.device)?;
    let start = std::time::Instant::now();
    let info = train(&cfg, &TrainInputs { shards: &args.data, model_dir: &args.model, out: &args.out, cache_dir: &args.cache_dir, device: device.clone(), resume: args.resume, stop_after: args.stop_after_epoch, init_from: args.init_from.as_deref() })?;
    println!(
        "trained {:?} in {:.0} s; best dev F1 {:.2} at epoch {} -> {}",
        cfg.variant,
        start.elapsed().as_secs_f64(),
        info.best_dev_f1,
        info.best_epoch,
        args.out.display()
    );
    if args.test {
        write_eval(&args.out, "test", &args.cache_dir, &args.device)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct EvalArgs {
    #[arg(long)]
    pub run: PathBuf,
    #[arg(long, default_value = "test")]
    pub split: String,
    #[arg(long, default_value = "cache/encoder")]
    pub cache_dir: PathBuf,
    #[arg(long, default_value = "flex")]
    pub device: String,
}

pub fn run_eval(args: EvalArgs) -> anyhow::Result<ExitCode> {
    write_eval(&args.run, &args.split, &args.cache_dir, &args.device)?;
    Ok(ExitCode::SUCCESS)
}

/// Score a run on a split; print conlleval's report; write eval-SPLIT.json and predictions-SPLIT.conll.
fn write_eval(run: &std::path::Path, split: &str, cache: &std::path::Path, device: &str) -> anyhow::Result<()> {
    let device = device::by_name(device)?;
    let loaded = load_run(run, &device)?;
    let (score, conll) = evaluate(&loaded, split, cache, &device)?;
    print!("{}", score.conlleval_report());
    write_scored(run, split, &score, &conll)
}

/// Write `eval-SPLIT.json` and `predictions-SPLIT.conll` into `dir`.
fn write_scored(dir: &std::path::Path, split: &str, score: &enrelg::eval::Score, conll: &str) -> anyhow::Result<()> {
    super::write_atomic(&dir.join(format!("eval-{split}.json")), (serde_json::to_string_pretty(score)? + "\n").as_bytes())?;
    super::write_atomic(&dir.join(format!("predictions-{split}.conll")), conll.as_bytes())
}

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
    #[arg(long, default_value = "cache/encoder")]
    pub cache_dir: PathBuf,
    #[arg(long, default_value = "flex")]
    pub device: String,
}

/// Decode a split with the mean scores of several runs; print conlleval's
/// report and each member's own F1; write the record, score and predictions.
pub fn run_ensemble(args: EnsembleArgs) -> anyhow::Result<ExitCode> {
    let device = device::by_name(&args.device)?;
    let (info, score, conll) = enrelg::ensemble::ensemble(&args.runs, &args.split, &args.cache_dir, &device)?;
    print!("{}", score.conlleval_report());
    for m in &info.members {
        println!("member {} (seed {}): {} F1 {:.2}", m.run.display(), m.seed, args.split, m.f1);
    }
    let mean = info.members.iter().map(|m| m.f1).sum::<f64>() / info.members.len() as f64;
    println!("ensemble of {}: {} F1 {:.2} (members' mean {mean:.2})", info.members.len(), args.split, info.f1);
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    super::write_atomic(&args.out.join(format!("ensemble-{}.json", args.split)), (serde_json::to_string_pretty(&info)? + "\n").as_bytes())?;
    write_scored(&args.out, &args.split, &score, &conll)?;
    Ok(ExitCode::SUCCESS)
}

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
pub fn run_summarize(args: SummarizeArgs) -> anyhow::Result<ExitCode> {
    let runs = args.runs.iter().map(|d| enrelg::summary::read_run(d, &args.split)).collect::<anyhow::Result<Vec<_>>>()?;
    let rows = enrelg::summary::summarize(runs)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", enrelg::summary::markdown(&rows, &args.split));
    }
    Ok(ExitCode::SUCCESS)
}
