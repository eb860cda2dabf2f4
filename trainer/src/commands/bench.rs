//! `enrelg bench-model`: time a forward + backward pass of the model on real
//! batches from the shards, and report the peak memory. With `--frozen`,
//! time the training step of the frozen-encoder mode instead (the head on
//! cached encoder outputs: host padding, forward, backward, AdamW), phase by phase.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::optim::GradientsParams;
use clap::Args;
use enrelg::config::TrainConfig;
use enrelg::data::{load_split, make_batch, pad_for, WindowRecord};
use enrelg::device::peak_rss_mib;
use enrelg::encoder_cache::{cache_file, embed};
use enrelg::model::checkpoint::weights_path;
use enrelg::model::crf::host_rows;
use enrelg::model::{BertEncoder, Enrelg, EnrelgConfig, Fusion, Variant};
use enrelg_pipeline::fs::sha256_file;
use enrelg_pipeline::graph::DependencyVariant;
use enrelg_pipeline::shard::ShardManifest;

use super::DeviceArgs;

#[derive(Args)]
pub struct BenchArgs {
    /// Shard folder (make data).
    #[arg(long, default_value = "shards/mars")]
    pub shards: PathBuf,
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Hugging Face BERT checkpoint folder.
    #[arg(long, default_value = "models/minilm")]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "cd")]
    pub variant: Variant,
    #[arg(long, value_enum, default_value = "linear")]
    pub fusion: Fusion,
    /// Windows per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Time the frozen-encoder training step (the head on cached encoder outputs).
    #[arg(long)]
    pub frozen: bool,
    /// TOML file with TrainConfig fields for the head (`--frozen`); --variant and --fusion override it.
    #[arg(long, requires = "frozen")]
    pub config: Option<PathBuf>,
    /// Write each timed batch as .npy files into this folder (`--frozen`),
    /// for `bench/torch_reference.py` to time PyTorch on the same batches.
    #[arg(long, requires = "frozen")]
    pub export: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let manifest = ShardManifest::read(&args.shards)?;
    let records = load_split(&args.shards, &args.split, DependencyVariant::default().kinds())?;
    anyhow::ensure!(records.len() >= args.batch, "{} has only {} windows", args.split, records.len());
    if args.frozen {
        return frozen(&args, manifest.tags.len(), &records);
    }
    let device = args.device.device()?.autodiff();
    let encoder = BertEncoder::from_pretrained(&args.model, &device)?;
    let config = EnrelgConfig::new(manifest.tags.len(), args.variant, encoder.d_model()).with_fusion(args.fusion);
    let model = Enrelg { head: config.init_head(&device), encoder };
    let mut times = Vec::new();
    let mut subtokens = 0usize;
    for step in 0..=args.steps {
        let start = (step * args.batch) % (records.len() - args.batch + 1);
        let refs: Vec<_> = records[start..start + args.batch].iter().collect();
        let batch = make_batch(&refs, &device);
        let t = Instant::now();
        let loss = model.loss(&batch);
        let grads = loss.backward();
        let value: f32 = loss.into_scalar::<f32>();
        drop(grads);
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(value.is_finite(), "loss is not finite: {value}");
        if step > 0 {
            times.push(secs);
            subtokens += refs.iter().map(|r| r.input_ids.len()).sum::<usize>();
        }
        println!("step {step}: loss {value:.3}, {secs:.2} s{}", if step == 0 { " (warm-up)" } else { "" });
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{} {:?} on {}: forward + backward, batch {} windows: {:.2} s per batch ({:.0} subtokens/s); peak RSS {:.0} MiB",
        args.model.display(),
        args.variant,
        args.device.name,
        args.batch,
        mean,
        subtokens as f64 / times.iter().sum::<f64>().max(1e-9),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(ExitCode::SUCCESS)
}

/// Seconds of each phase of a frozen-encoder training step, summed over the timed steps.
#[derive(Default)]
struct Phases {
    pad: f64,
    to_device: f64,
    forward: f64,
    backward: f64,
    optimizer: f64,
}

/// `--frozen`: the head's training step on consecutive batches of cached
/// encoder outputs, as `enrelg train` runs it (same config, optimizer and rate).
fn frozen(args: &BenchArgs, num_tags: usize, records: &[WindowRecord]) -> anyhow::Result<ExitCode> {
    let mut cfg: TrainConfig = match &args.config {
        Some(p) => TrainConfig::read_toml(p)?,
        None => TrainConfig::default(),
    };
    (cfg.variant, cfg.fusion) = (args.variant, args.fusion);
    let plain = args.device.device()?;
    plain.seed(cfg.seed);
    let auto = plain.clone().autodiff();
    let encoder = BertEncoder::from_pretrained(&args.model, &plain)?;
    let model_sha = sha256_file(&weights_path(&args.model)?)?;
    let cache = cache_file(&cfg, &args.device.cache_dir, records, &model_sha, &args.split);
    let embedded = embed(&encoder, &cfg, records, &cache, &plain, &args.split)?;
    let mut head = cfg.model_config(num_tags, encoder.d_model(), encoder.num_hidden_states(), 0).init_head(&auto);
    let mut optim = cfg.optimizer().init();
    let (mut phases, mut subtokens) = (Phases::default(), 0usize);
    for step in 0..=args.steps {
        let start = (step * args.batch) % (records.len() - args.batch + 1);
        let idx: Vec<usize> = (start..start + args.batch).collect();
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &records[i]).collect();
        let mut clock = Instant::now();
        let mut lap = || {
            let secs = clock.elapsed().as_secs_f64();
            clock = Instant::now();
            secs
        };
        let (padded, words) = (pad_for(&refs, cfg.coref_scope), embedded.pad(&idx, records));
        let t_pad = lap();
        if let Some(dir) = args.export.as_ref().filter(|_| step > 0) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            padded.export(dir, &format!("step{step}"))?;
            words.export(dir, &format!("step{step}"))?;
            lap(); // the export is not part of the step
        }
        let (batch, words) = (padded.into_device(&auto), words.into_device(&auto));
        let t_device = lap();
        let loss = head.loss(words, &batch);
        let value: f32 = loss.clone().into_scalar::<f32>();
        let t_forward = lap();
        let grads = GradientsParams::from_grads(loss.backward(), &head);
        let t_backward = lap();
        head = optim.step(cfg.lr_head, head, grads);
        let t_optim = lap();
        anyhow::ensure!(value.is_finite(), "loss is not finite: {value}");
        println!("step {step}: loss {value:.3}, {:.2} s{}", t_pad + t_device + t_forward + t_backward + t_optim, if step == 0 { " (warm-up)" } else { "" });
        if step > 0 {
            phases.pad += t_pad;
            phases.to_device += t_device;
            phases.forward += t_forward;
            phases.backward += t_backward;
            phases.optimizer += t_optim;
            subtokens += refs.iter().map(|r| r.input_ids.len()).sum::<usize>();
        }
    }
    // Inference as eval runs it: the head without autodiff, on the same batches.
    let valid = head.valid();
    let mut inference = 0.0;
    for step in 1..=args.steps {
        let start = (step * args.batch) % (records.len() - args.batch + 1);
        let idx: Vec<usize> = (start..start + args.batch).collect();
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &records[i]).collect();
        let (batch, words) = (pad_for(&refs, cfg.coref_scope).into_device(&plain), embedded.pad(&idx, records).into_device(&plain));
        let clock = Instant::now();
        host_rows(valid.emissions(words, &batch), batch.word_mask.clone())?;
        inference += clock.elapsed().as_secs_f64();
    }
    let n = args.steps.max(1) as f64;
    let total = phases.pad + phases.to_device + phases.forward + phases.backward + phases.optimizer;
    println!(
        "frozen head {:?} on {}, batch {}: {:.3} s per step (pad {:.3}, to device {:.3}, forward {:.3}, backward {:.3}, AdamW {:.3}); inference {:.3} s per batch; {:.0} subtokens/s; peak RSS {:.0} MiB",
        cfg.variant,
        args.device.name,
        args.batch,
        total / n,
        phases.pad / n,
        phases.to_device / n,
        phases.forward / n,
        phases.backward / n,
        phases.optimizer / n,
        inference / n,
        subtokens as f64 / total.max(1e-9),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(ExitCode::SUCCESS)
}
