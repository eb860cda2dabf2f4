//! `enrelg train`: train a model variant on shards.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::config::TrainConfig;
use enrelg::model::{CorefScope, Variant, WordPool};
use enrelg::run::RunInfo;
use enrelg::train::{train, Start, TrainInputs};

use super::DeviceArgs;

#[derive(Args)]
pub struct TrainArgs {
    /// Shard folder (`enrelg data --out`; `make data` writes `shards/DATASET`). `--data`, its
    /// name before, is accepted too.
    #[arg(long, alias = "data")]
    pub shards: PathBuf,
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
    /// Share of known words replaced by the unknown word in training (word dropout; 0 = none).
    #[arg(long)]
    pub word_dropout: Option<f64>,
    /// Embedding size of each of a word's prefixes and suffixes of 2-4 characters (0 = off).
    #[arg(long)]
    pub affix_dim: Option<usize>,
    /// How a word's vector is pooled from its subtokens (the paper: first).
    #[arg(long, value_enum)]
    pub word_pool: Option<WordPool>,
    /// UPOS and dependency-relation embeddings of this size each, from the parse (0 = off, the paper's model).
    #[arg(long)]
    pub pos_dim: Option<usize>,
    /// The coreference graph's reach: window (the paper) or document (edges between windows too).
    #[arg(long, value_enum)]
    pub coref_scope: Option<CorefScope>,
    /// Subtokens of document context the encoder reads on each side of a
    /// window (0: the window alone, as in the paper); eval, predict, tag and
    /// ensemble follow the run.
    #[arg(long)]
    pub context: Option<usize>,
    /// Run folder (checkpoint, metrics.jsonl, run.json, evaluations).
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Evaluate the best checkpoint on test after training.
    #[arg(long)]
    pub test: bool,
    /// Choose consistency decoding's threshold on dev after training and make it the run's
    /// default decoding (`decoding.json`, read by eval --consistency, predict, tag and the
    /// Python Tagger); with --test, test is also scored with it.
    #[arg(long)]
    pub consistency: bool,
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

pub fn run(args: TrainArgs) -> anyhow::Result<ExitCode> {
    // A resumed run keeps the configuration it started with.
    let mut cfg: TrainConfig = match &args.config {
        _ if args.resume => RunInfo::read(&args.out).context("resume")?.config,
        Some(p) => TrainConfig::read_toml(p)?,
        None => TrainConfig::default(),
    };
    if let Some(v) = args.variant {
        cfg.model.variant = v;
    }
    if let Some(s) = args.seed {
        cfg.seed = s;
    }
    if let Some(e) = args.epochs {
        cfg.max_epochs = e;
    }
    if let Some(d) = args.shape_dim {
        cfg.model.shape_dim = d;
    }
    if let Some(d) = args.char_dim {
        cfg.model.char_dim = d;
    }
    if args.layer_mix {
        cfg.model.layer_mix = true;
    }
    if let Some(d) = args.word_dim {
        cfg.model.word_dim = d;
    }
    if let Some(p) = args.word_dropout {
        anyhow::ensure!((0.0..1.0).contains(&p), "--word-dropout {p}: a share in [0, 1)");
        cfg.model.word_dropout = p;
    }
    if let Some(d) = args.affix_dim {
        cfg.model.affix_dim = d;
    }
    if let Some(p) = args.word_pool {
        cfg.model.word_pool = p;
    }
    if let Some(d) = args.pos_dim {
        cfg.model.pos_dim = d;
    }
    if let Some(c) = args.coref_scope {
        cfg.model.coref_scope = c;
    }
    if let Some(n) = args.context {
        cfg.model.context = n;
    }
    if args.freeze_encoder {
        cfg.freeze_encoder = true;
    }
    if args.fine_tune {
        cfg.freeze_encoder = false;
    }
    let start = match (&args.init_from, args.resume) {
        (_, true) => Start::Resume,
        (Some(from), false) => Start::InitFrom(from),
        (None, false) => Start::Fresh,
    };
    let clock = std::time::Instant::now();
    let inputs = TrainInputs {
        shards: &args.shards,
        model_dir: &args.model,
        out: &args.out,
        cache_dir: &args.device.cache_dir,
        device: args.device.device()?,
        start,
        stop_after: args.stop_after_epoch,
    };
    let info = train(&cfg, &inputs)?;
    println!(
        "trained {:?} in {:.0} s; best dev F1 {:.2} at epoch {} -> {}",
        cfg.model.variant,
        clock.elapsed().as_secs_f64(),
        info.best_dev_f1,
        info.best_epoch,
        args.out.display()
    );
    if args.test {
        super::eval::evaluate_run(&args.out, "test", &args.device, args.consistency)?;
    } else if args.consistency {
        let dev = enrelg::decode::consistency::dev_split(&RunInfo::read(&args.out)?)?;
        super::eval::evaluate_run(&args.out, &dev, &args.device, true)?;
    }
    Ok(ExitCode::SUCCESS)
}
