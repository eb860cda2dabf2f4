//! `enrelg bench-model`: time the training step of `make train`'s model on real batches from the
//! shards, phase by phase (host padding, to device, forward, backward, AdamW), then inference on
//! the same batches, and report the peak memory. By default the encoder is fine-tuned with the
//! head; with `--frozen` the head trains on cached encoder outputs. `--export` writes the timed
//! batches and `--export-inference` every window in `predict`'s batches, for
//! `bench/torch_reference.py` to time PyTorch on the same inputs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use clap::Args;
use enrelg::config::TrainConfig;
use enrelg::data::encoder_cache::{cache_file, embed};
use enrelg::data::{load_split, pad_for, PaddedBatch, WindowRecord};
use enrelg::decode::emissions::INFERENCE_WINDOWS;
use enrelg::device::peak_rss_mib;
use enrelg::model::crf::host_rows;
use enrelg::model::inference::{HostEncoder, Precision};
use enrelg::model::pretrained::weights_path;
use enrelg::model::{BertEncoder, Enrelg, Fusion, Variant};
use enrelg::train::{FineTuned, FrozenHead, SplitData, TrainStep};
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
    /// Time the frozen-encoder training step (the head on cached encoder outputs) instead of
    /// fine-tuning the encoder with the head.
    #[arg(long)]
    pub frozen: bool,
    /// TOML file with TrainConfig fields (make train's: bench/make-train.toml); --variant and
    /// --fusion override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write each timed batch as .npy files into this folder, for `bench/torch_reference.py` to
    /// time PyTorch on the same batches.
    #[arg(long)]
    pub export: Option<PathBuf>,
    /// Write every window of --split in `predict`'s batches as .npy files into this folder (for
    /// `bench/torch_reference.py --predict`), time nothing.
    #[arg(long, conflicts_with_all = ["frozen", "export"])]
    pub export_inference: Option<PathBuf>,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let manifest = ShardManifest::read(&args.shards)?;
    let records = load_split(&args.shards, &args.split, DependencyVariant::default().kinds(), 0)?;
    if let Some(dir) = &args.export_inference {
        return export_inference(&args, dir, &records);
    }
    anyhow::ensure!(
        records.len() >= args.batch,
        "{} has only {} windows",
        args.split,
        records.len()
    );
    if args.frozen {
        frozen(&args, manifest.tags.len(), &records)
    } else {
        fine_tune(&args, manifest.tags.len(), &records)
    }
}

/// `make train`'s config from `--config` (or the defaults) with `--variant` and `--fusion`.
fn train_config(args: &BenchArgs) -> anyhow::Result<TrainConfig> {
    let mut cfg: TrainConfig = match &args.config {
        Some(p) => TrainConfig::read_toml(p)?,
        None => TrainConfig::default(),
    };
    (cfg.model.variant, cfg.model.fusion) = (args.variant, args.fusion);
    Ok(cfg)
}

/// The windows of timed step `step` (0 is the warm-up): consecutive batches through the split.
fn step_windows(step: usize, batch: usize, records: &[WindowRecord]) -> Vec<usize> {
    let start = (step * batch) % (records.len() - batch + 1);
    (start..start + batch).collect()
}

/// Every window of the split in the batches `predict` runs (each document's windows together,
/// at most [`INFERENCE_WINDOWS`] per batch), as `.npy` files `batchK-NAME.npy`, for
/// `bench/torch_reference.py --predict` to time the same forward passes in PyTorch.
fn export_inference(
    args: &BenchArgs,
    dir: &Path,
    records: &[WindowRecord],
) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let cfg = train_config(args)?;
    let (mut batches, mut words, mut start) = (0usize, 0usize, 0usize);
    while start < records.len() {
        let end = start
            + records[start..].iter().take_while(|r| r.doc_id == records[start].doc_id).count();
        for chunk in (start..end).collect::<Vec<_>>().chunks(INFERENCE_WINDOWS) {
            let refs: Vec<&WindowRecord> = chunk.iter().map(|&i| &records[i]).collect();
            words += refs.iter().map(|r| r.tags.len()).sum::<usize>();
            pad_for(&refs, cfg.model.coref_scope).export(dir, &format!("batch{batches}"))?;
            batches += 1;
        }
        start = end;
    }
    println!(
        "{} windows of {} in {batches} batches, {words} words -> {}",
        records.len(),
        args.split,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Seconds of each phase of a training step, summed over the timed steps, and their subtokens.
#[derive(Default)]
struct Phases {
    pad: f64,
    to_device: f64,
    forward: f64,
    backward: f64,
    optimizer: f64,
    subtokens: usize,
}

/// A stopwatch: each call returns the seconds since the previous call (or since its creation).
fn laps() -> impl FnMut() -> f64 {
    let mut clock = Instant::now();
    move || {
        let secs = clock.elapsed().as_secs_f64();
        clock = Instant::now();
        secs
    }
}

/// Write timed step `step`'s batch as `.npy` files into `dir` (`--export`).
fn export(dir: &Path, padded: &PaddedBatch, step: usize) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    padded.export(dir, &format!("step{step}"))
}

/// `--frozen`: the head's training step on consecutive batches of cached
/// encoder outputs, as `enrelg train` runs it (same config, optimizer and rate).
fn frozen(args: &BenchArgs, num_tags: usize, records: &[WindowRecord]) -> anyhow::Result<ExitCode> {
    let cfg = train_config(args)?;
    let plain = args.device.device()?;
    plain.seed(cfg.seed);
    let auto = plain.clone().autodiff();
    let encoder = BertEncoder::from_pretrained(&args.model, &plain)?;
    let model_sha = sha256_file(&weights_path(&args.model)?)?;
    let cache = cache_file(&cfg, &args.device.cache_dir, records, &model_sha, &args.split);
    let embedded = embed(&encoder, &cfg, records, &cache, &plain, &args.split)?;
    let head = cfg
        .model_config(num_tags, encoder.d_model(), encoder.num_hidden_states(), (0, 0))
        .init_head(&auto);
    let mut learner = FrozenHead::new(&cfg, head, auto, plain.clone());
    let data = SplitData {
        name: args.split.clone(),
        records: records.to_vec(),
        embedded,
        scope: cfg.model.coref_scope,
    };
    let mut phases = Phases::default();
    for step in 0..=args.steps {
        let idx = step_windows(step, args.batch, records);
        let mut lap = laps();
        let prepared = FrozenHead::prepare(&data, &idx);
        let t_pad = lap();
        if let Some(dir) = args.export.as_ref().filter(|_| step > 0) {
            export(dir, &prepared.0, step)?;
            prepared.1.export(dir, &format!("step{step}"))?;
            lap(); // the export is not part of the step
        }
        let mut t = [t_pad, 0.0, 0.0, 0.0, 0.0];
        let value;
        (learner, value) =
            learner.step(prepared, 1.0, &mut |phase| t[phase as usize + 1] = lap())?;
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &records[i]).collect();
        phases.record(step, value as f32, t, &refs)?;
    }
    let embedded = &data.embedded;
    // Inference as eval runs it: the head without autodiff, on the same batches.
    let valid = learner.head().valid();
    let mut inference = 0.0;
    for step in 1..=args.steps {
        let idx = step_windows(step, args.batch, records);
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &records[i]).collect();
        let (batch, words) = (
            pad_for(&refs, cfg.model.coref_scope).into_device(&plain),
            embedded.pad(&idx, records).into_device(&plain),
        );
        let clock = Instant::now();
        host_rows(valid.emissions(words, &batch), batch.word_mask.clone())?;
        inference += clock.elapsed().as_secs_f64();
    }
    phases.report(&format!("frozen head {:?}", cfg.model.variant), args, inference);
    Ok(ExitCode::SUCCESS)
}

impl Phases {
    /// Print step `step`'s line and count its phase seconds `[pad, to device, forward, backward,
    /// optimizer]` unless it is the warm-up (step 0).
    fn record(
        &mut self,
        step: usize,
        loss: f32,
        t: [f64; 5],
        windows: &[&WindowRecord],
    ) -> anyhow::Result<()> {
        anyhow::ensure!(loss.is_finite(), "loss is not finite: {loss}");
        println!(
            "step {step}: loss {loss:.3}, {:.2} s{}",
            t.iter().sum::<f64>(),
            if step == 0 { " (warm-up)" } else { "" }
        );
        if step > 0 {
            self.pad += t[0];
            self.to_device += t[1];
            self.forward += t[2];
            self.backward += t[3];
            self.optimizer += t[4];
            self.subtokens += windows.iter().map(|r| r.input_ids.len()).sum::<usize>();
        }
        Ok(())
    }

    /// The line `bench/run.py` reads: mean seconds per step and phase, and per inference batch.
    fn report(&self, what: &str, args: &BenchArgs, inference: f64) {
        let n = args.steps.max(1) as f64;
        let total = self.pad + self.to_device + self.forward + self.backward + self.optimizer;
        println!(
            "{what} on {}, batch {}: {:.3} s per step (pad {:.3}, to device {:.3}, forward {:.3}, backward {:.3}, AdamW {:.3}); inference {:.3} s per batch; {:.0} subtokens/s; peak RSS {:.0} MiB",
            args.device.name,
            args.batch,
            total / n,
            self.pad / n,
            self.to_device / n,
            self.forward / n,
            self.backward / n,
            self.optimizer / n,
            inference / n,
            self.subtokens as f64 / total.max(1e-9),
            peak_rss_mib().unwrap_or(f64::NAN)
        );
    }
}

/// The training step of `make train`'s model with the encoder fine-tuned (`enrelg train
/// --fine-tune`): encoder and head forward from the subtokens, backward through both, one AdamW
/// step each at its own rate; then inference through the whole model on the same batches.
fn fine_tune(
    args: &BenchArgs,
    num_tags: usize,
    records: &[WindowRecord],
) -> anyhow::Result<ExitCode> {
    let cfg = train_config(args)?;
    let plain = args.device.device()?;
    plain.seed(cfg.seed);
    let auto = plain.clone().autodiff();
    let encoder = BertEncoder::from_pretrained(&args.model, &auto)?;
    let head = cfg
        .model_config(num_tags, encoder.d_model(), encoder.num_hidden_states(), (0, 0))
        .init_head(&auto);
    let mut learner = FineTuned::new(&cfg, Enrelg { head, encoder }, auto, plain.clone());
    let data = SplitData {
        name: args.split.clone(),
        records: records.to_vec(),
        embedded: Default::default(),
        scope: cfg.model.coref_scope,
    };
    let mut phases = Phases::default();
    for step in 0..=args.steps {
        let idx = step_windows(step, args.batch, records);
        let mut lap = laps();
        let padded = FineTuned::prepare(&data, &idx);
        let t_pad = lap();
        if let Some(dir) = args.export.as_ref().filter(|_| step > 0) {
            export(dir, &padded, step)?;
            lap(); // the export is not part of the step
        }
        let mut t = [t_pad, 0.0, 0.0, 0.0, 0.0];
        let value;
        (learner, value) = learner.step(padded, 1.0, &mut |phase| t[phase as usize + 1] = lap())?;
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &records[i]).collect();
        phases.record(step, value as f32, t, &refs)?;
    }
    // Inference as predict runs it: the whole model without autodiff, on the same batches.
    let valid = learner.model().valid();
    let host = HostEncoder::for_inference(&valid.encoder, Precision::F32, &plain);
    let mut inference = 0.0;
    for step in 1..=args.steps {
        let refs: Vec<&WindowRecord> =
            step_windows(step, args.batch, records).iter().map(|&i| &records[i]).collect();
        let batch = pad_for(&refs, cfg.model.coref_scope).into_device(&plain);
        let clock = Instant::now();
        let words = valid.words_with(host.as_ref(), &batch);
        host_rows(valid.head.emissions(words, &batch), batch.word_mask.clone())?;
        inference += clock.elapsed().as_secs_f64();
    }
    phases.report(&format!("fine-tuned {:?}", cfg.model.variant), args, inference);
    Ok(ExitCode::SUCCESS)
}
