//! Training: frozen-encoder (cached word vectors) or fine-tuned, with
//! AdamW, linear warm-up and decay, gradient clipping, dev evaluation every
//! epoch, the best checkpoint kept, early stopping and crash-safe resume.
//!
//! One epoch loop (`Epochs::run`) drives either model through the
//! [`TrainStep`] trait; the run folder and its records belong to
//! [`crate::run`].

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Gradients};
use enrelg_pipeline::fs::sha256_file;
use enrelg_pipeline::shard::ShardManifest;
use enrelg_schemas::tables::MANIFEST;
use indicatif::{ProgressBar, ProgressStyle};

use crate::config::TrainConfig;
use crate::data::context::check_fits;
use crate::data::encoder_cache::{cache_file, embed, Embedded, PaddedWords};
use crate::data::vocab::Lexicon;
use crate::data::{
    first_documents, load_split, pad_for, plan_batches, prefetched, PaddedBatch, WindowRecord,
};
use crate::decode::emissions::{cached_emissions, full_emissions, viterbi_all};
use crate::metrics::conlleval::score_windows;
use crate::model::{BertEncoder, CorefScope, Enrelg, EnrelgConfig, EnrelgHead};
use crate::run::{
    EpochRecord, Outcome, Progress, RunDir, RunInfo, WarmStart, LAST, LAST_MODULE, LAST_OPTIM,
    LAST_OPTIM_ENCODER, LAST_OPTIM_HEAD, RUN_FORMAT_VERSION,
};

/// How a run begins.
#[derive(Debug, Clone, Copy)]
pub enum Start<'a> {
    /// New weights (the pretrained encoder and a fresh head).
    Fresh,
    /// Continue the run in the output folder from its last complete epoch.
    Resume,
    /// Start from the best checkpoint of this earlier run (`--init-from`).
    InitFrom(&'a Path),
}

pub struct TrainInputs<'a> {
    pub shards: &'a Path,
    pub model_dir: &'a Path,
    pub out: &'a Path,
    pub cache_dir: &'a Path,
    pub device: Device,
    pub start: Start<'a>,
    /// Stop (as if interrupted) after this epoch; `--resume` continues.
    pub stop_after: Option<usize>,
}

/// One split's windows and, for a frozen encoder, their cached word vectors.
pub struct SplitData {
    pub name: String,
    pub records: Vec<WindowRecord>,
    /// The frozen encoder's word vectors (empty when the encoder is fine-tuned).
    pub embedded: Embedded,
    /// How its windows are batched and padded (the run's coreference scope).
    pub scope: CorefScope,
}

impl SplitData {
    /// Keep the first `keep` windows (the first documents of a training fraction), encoded
    /// outputs included.
    fn keep_first(&mut self, keep: usize, fraction: f64) {
        if keep < self.records.len() {
            tracing::info!(
                "training on the first {} % of the documents: {keep} of {} windows",
                100.0 * fraction,
                self.records.len()
            );
            self.records.truncate(keep);
            self.embedded.words.truncate(keep);
        }
    }
}

/// The phases of one training step after the host's padding, in order; `bench-model` times each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    ToDevice,
    Forward,
    Backward,
    Optimizer,
}

mod schedule;
mod step;

pub use schedule::schedule;
pub use step::{FineTuned, FrozenHead, TrainStep};

fn record_err(what: String) -> impl FnOnce(burn::store::RecordError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{what}: {e:?}")
}

/// Train, keep the best checkpoint by dev F1, and return the run's record.
pub fn train(cfg: &TrainConfig, inp: &TrainInputs) -> anyhow::Result<RunInfo> {
    let run = RunDir::lock(inp.out)?;
    let manifest = ShardManifest::read(inp.shards)?;
    let dev_split = manifest.dev_split().context("shards have no dev split")?.to_string();
    let (mut train, mut dev, keep, lexicon) = splits(cfg, inp.shards, &dev_split)?;
    let plain = inp.device.clone();
    plain.seed(cfg.seed);
    let encoder = BertEncoder::from_pretrained(inp.model_dir, &plain)?;
    for split in [&train, &dev] {
        check_fits(&split.records, cfg.model.context, encoder.max_positions())?;
    }
    let mcfg = cfg.model_config(
        manifest.tags.len(),
        encoder.d_model(),
        encoder.num_hidden_states(),
        lexicon.rows(),
    );
    let mut info = new_info(cfg, inp, &manifest, &encoder, lexicon)?;
    let (progress, init_file) =
        begin(&run, inp.start, &mut info, &mcfg, encoder.num_hidden_states())?;
    // run.json from the start, so a killed run can be resumed.
    run.write_info(&mut info)?;
    if !info.labels.auxiliary_types().is_empty() {
        tracing::info!(
            "learning the auxiliary types {:?} too; dev F1 counts the others",
            info.labels.auxiliary_types()
        );
    }
    let auto = plain.clone().autodiff();
    let resumed = progress.is_some();
    let mut epochs = Epochs {
        cfg,
        run: &run,
        info,
        progress: progress.unwrap_or_else(Progress::new),
        stop_after: inp.stop_after,
        device: auto.clone(),
    };
    if cfg.freeze_encoder {
        for split in [&mut train, &mut dev] {
            let cache = cache_file(
                cfg,
                inp.cache_dir,
                &split.records,
                &epochs.info.model_sha256,
                &split.name,
            );
            split.embedded = embed(&encoder, cfg, &split.records, &cache, &plain, &split.name)?;
        }
    }
    train.keep_first(keep, cfg.train_fraction);
    if cfg.freeze_encoder {
        let mut head = mcfg.init_head(&auto);
        if let Some(file) = &init_file {
            head = head.try_load_file(file).map_err(record_err(format!(
                "loading the warm-start checkpoint {}",
                file.display()
            )))?;
        }
        let learner = FrozenHead::new(cfg, head, auto, plain);
        epochs.run(learner, resumed, &train, &dev)?;
    } else {
        let model = warm_model(encoder, &mcfg, &auto, init_file.as_deref(), &epochs.info)?;
        let learner = FineTuned::new(cfg, model, auto, plain);
        epochs.run(learner, resumed, &train, &dev)?;
    }
    let mut info = epochs.info;
    run.write_info(&mut info)?;
    Ok(info)
}

/// The training split (all of it, and how many windows the training fraction keeps) and the
/// dev split, with lexical ids from the vocabularies of the kept windows for the lexical
/// embeddings the model uses.
fn splits(
    cfg: &TrainConfig,
    shards: &Path,
    dev_split: &str,
) -> anyhow::Result<(SplitData, SplitData, usize, Lexicon)> {
    let kinds = cfg.dependency_variant.kinds();
    let split = |name: &str| -> anyhow::Result<SplitData> {
        Ok(SplitData {
            name: name.into(),
            records: load_split(shards, name, kinds, cfg.model.context)?,
            embedded: Embedded::default(),
            scope: cfg.model.coref_scope,
        })
    };
    let (mut train, mut dev) = (split("train")?, split(dev_split)?);
    // Encoded whole (one cache for every fraction), then cut to the fraction's windows.
    let keep = first_documents(&train.records, cfg.train_fraction)?;
    // Built from the training windows trained on alone, the same on every (re)run.
    let lexicon = Lexicon::from_forms(
        train.records[..keep].iter().flat_map(|r| r.forms.iter().map(String::as_str)),
        cfg.model.word_dim > 0,
        cfg.model.affix_dim > 0,
        cfg.word_min_count,
    );
    for (what, v) in [("words", &lexicon.words), ("affixes", &lexicon.affixes)] {
        if let Some(v) = v {
            tracing::info!(
                "{what} vocabulary: {} keys seen at least {} times in train",
                v.words().len(),
                cfg.word_min_count
            );
        }
    }
    train
        .records
        .iter_mut()
        .chain(dev.records.iter_mut())
        .for_each(|r| r.set_lexical_ids(&lexicon));
    Ok((train, dev, keep, lexicon))
}

/// A new run's record, before training.
fn new_info(
    cfg: &TrainConfig,
    inp: &TrainInputs,
    manifest: &ShardManifest,
    encoder: &BertEncoder,
    lexicon: Lexicon,
) -> anyhow::Result<RunInfo> {
    Ok(RunInfo {
        format_version: RUN_FORMAT_VERSION,
        config: cfg.clone(),
        shards: inp.shards.to_path_buf(),
        shard_manifest_sha256: sha256_file(&inp.shards.join(MANIFEST))?,
        model: inp.model_dir.to_path_buf(),
        model_sha256: sha256_file(&crate::model::pretrained::weights_path(inp.model_dir)?)?,
        tokenizer_sha256: manifest.tokenizer.sha256.clone(),
        labels: manifest.labels()?,
        window: manifest.window,
        d_encoder: encoder.d_model(),
        best_epoch: 0,
        best_dev_f1: -1.0,
        checkpoint_sha256: None,
        word_vocab: lexicon.words.map(|v| v.words().to_vec()).unwrap_or_default(),
        affix_vocab: lexicon.affixes.map(|v| v.words().to_vec()).unwrap_or_default(),
        warm_start: None,
    })
}

/// The whole model to fine-tune, from a warm-start checkpoint when the run has one (from a
/// frozen run only the head: the encoder starts pretrained).
fn warm_model(
    encoder: BertEncoder,
    mcfg: &EnrelgConfig,
    auto: &Device,
    init_file: Option<&Path>,
    info: &RunInfo,
) -> anyhow::Result<Enrelg> {
    let mut model = Enrelg { encoder: encoder.to_device(auto), head: mcfg.init_head(auto) };
    let err =
        |file: &Path| record_err(format!("loading the warm-start checkpoint {}", file.display()));
    match (init_file, &info.warm_start) {
        (Some(file), Some(w)) if w.frozen => {
            model.head = model.head.try_load_file(file).map_err(err(file))?
        }
        (Some(file), _) => model = model.try_load_file(file).map_err(err(file))?,
        (None, _) => {}
    }
    Ok(model)
}

/// Prepare the run folder for `start`: the progress to resume from (None:
/// from epoch 1) and the warm-start checkpoint to load, if any, recorded in `info`.
fn begin(
    run: &RunDir,
    start: Start,
    info: &mut RunInfo,
    mcfg: &EnrelgConfig,
    hidden_states: usize,
) -> anyhow::Result<(Option<Progress>, Option<PathBuf>)> {
    let (progress, from, kept) = match start {
        Start::Fresh => {
            run.remove_leftovers()?;
            (None, None, None)
        }
        Start::InitFrom(from) => {
            run.remove_leftovers()?;
            (None, Some(from.to_path_buf()), None)
        }
        Start::Resume => {
            let prev = RunInfo::read(run.path()).context("resume")?;
            anyhow::ensure!(
                prev.shard_manifest_sha256 == info.shard_manifest_sha256
                    && prev.model_sha256 == info.model_sha256,
                "resume: {} was trained on other shards or another checkpoint",
                run.path().display()
            );
            let progress = run.load_last()?;
            if progress.is_none() {
                // Killed before its first epoch checkpoint: nothing to keep.
                tracing::warn!(
                    "{}: no complete epoch checkpoint yet; training from epoch 1",
                    run.path().display()
                );
            }
            // A resumed run keeps the warm start it began with, and loads it
            // again only when no epoch checkpoint was written yet (otherwise
            // the starting run is not read at all: it may be gone).
            let from = progress
                .is_none()
                .then(|| prev.warm_start.as_ref().map(|w| w.run.clone()))
                .flatten();
            (progress, from, prev.warm_start)
        }
    };
    let warm = from.map(|from| WarmStart::check(&from, info, mcfg, hidden_states)).transpose()?;
    if let (Some(old), Some((new, _))) = (&kept, &warm) {
        anyhow::ensure!(
            old.checkpoint_sha256 == new.checkpoint_sha256,
            "resume: {} changed since this run started from it",
            old.run.display()
        );
    }
    info.warm_start = warm.as_ref().map(|(w, _)| w.clone()).or(kept);
    if let Some(p) = &progress {
        (info.best_epoch, info.best_dev_f1) = (p.best_epoch, p.best_dev_f1);
    }
    Ok((progress, warm.map(|(_, file)| file)))
}

/// The epoch loop's state: the run folder it writes, the record it keeps
/// and where training stands.
struct Epochs<'a> {
    cfg: &'a TrainConfig,
    run: &'a RunDir,
    info: RunInfo,
    progress: Progress,
    stop_after: Option<usize>,
    /// The device whose RNG draws dropout masks.
    device: Device,
}

/// Training steps per epoch. Document scope packs whole documents, so
/// batches per epoch vary a little with the shuffle; the schedule counts the
/// first epoch's (and says which documents a batch cannot hold whole).
fn steps_per_epoch(cfg: &TrainConfig, train: &SplitData) -> usize {
    let plan =
        plan_batches(&train.records, cfg.model.coref_scope, cfg.batch_size, Some((cfg.seed, 1)));
    if plan.cut_documents > 0 {
        tracing::info!(
            "{} training documents have more than {} windows: cut into groups of consecutive windows, losing {} of their document edges",
            plan.cut_documents,
            cfg.batch_size,
            plan.cut_doc_edges
        );
    }
    plan.batches.len()
}

impl Epochs<'_> {
    /// Train `learner` from the epoch after `self.progress` (loading the
    /// resume checkpoint when `resumed`) until the last epoch, early stopping
    /// or `stop_after`.
    fn run<S: TrainStep>(
        &mut self,
        mut learner: S,
        resumed: bool,
        train: &SplitData,
        dev: &SplitData,
    ) -> anyhow::Result<()> {
        if resumed {
            learner = learner.load_last(&self.run.path().join(LAST))?;
        }
        let mut metrics = self.run.metrics(resumed.then_some(self.progress.epoch))?;
        let cfg = self.cfg;
        // Where this process runs, recorded with each of its epochs.
        let (cpu, threads) = (crate::device::cpu_model(), rayon::current_num_threads());
        let total_steps = steps_per_epoch(cfg, train) * cfg.max_epochs;
        let first =
            if self.progress.stopped_early { cfg.max_epochs + 1 } else { self.progress.epoch + 1 };
        for epoch in first..=cfg.max_epochs {
            let t0 = Instant::now();
            let (next, loss, steps) = self.train_epoch(learner, epoch, total_steps, train)?;
            learner = next;
            let score = score_windows(
                &dev.records,
                &learner.dev_predictions(dev)?,
                &self.info.scored_tags(),
            );
            let lr = cfg.lr_head
                * schedule(self.progress.step.saturating_sub(1), total_steps, cfg.warmup);
            let secs = t0.elapsed().as_secs_f64();
            let subtokens: usize = train.records.iter().map(|r| r.input_ids.len()).sum();
            let log = EpochRecord {
                epoch,
                loss: loss / steps as f64,
                dev_precision: score.micro.precision,
                dev_recall: score.micro.recall,
                dev_f1: score.micro.f1,
                seconds: secs,
                subtokens_per_second: subtokens as f64 / secs.max(1e-9),
                lr_head: lr,
                peak_rss_mib: crate::device::peak_rss_mib(),
                cpu: cpu.clone(),
                threads: Some(threads),
                load_average: crate::device::load_average(),
            };
            writeln!(metrics, "{}", serde_json::to_string(&log)?)?;
            metrics.flush()?;
            tracing::info!(
                "epoch {epoch}: loss {:.4}, dev P {:.2} R {:.2} F1 {:.2}, {secs:.1} s",
                log.loss,
                log.dev_precision,
                log.dev_recall,
                log.dev_f1
            );
            let outcome = self.progress.after_epoch(epoch, score.micro.f1, cfg.patience);
            if outcome == Outcome::Improved {
                learner.save_best(self.run, self.info.checkpoint_file())?;
            }
            (self.info.best_epoch, self.info.best_dev_f1) =
                (self.progress.best_epoch, self.progress.best_dev_f1);
            self.run.write_info(&mut self.info)?;
            self.run.save_last(&self.progress, |dir| learner.save_last(dir))?;
            if outcome == Outcome::Stop || self.stop_after == Some(epoch) {
                break;
            }
        }
        Ok(())
    }

    /// One pass over the shuffled training windows; the learner, the
    /// summed loss and the number of steps.
    fn train_epoch<S: TrainStep>(
        &mut self,
        learner: S,
        epoch: usize,
        total_steps: usize,
        train: &SplitData,
    ) -> anyhow::Result<(S, f64, usize)> {
        let cfg = self.cfg;
        // Dropout masks and batch order depend on the seed and the epoch
        // only, so a resumed run draws what an uninterrupted one would.
        self.device.seed(epoch_seed(cfg.seed, epoch));
        let plan = plan_batches(
            &train.records,
            cfg.model.coref_scope,
            cfg.batch_size,
            Some((cfg.seed, epoch)),
        );
        let bar = progress_bar(plan.batches.len(), epoch)?;
        let mut loss_sum = 0.0;
        // A step takes the learner by value; the slot lends it out to the closure.
        let mut slot = Some(learner);
        prefetched(
            &plan.batches,
            |idx| S::prepare(train, idx),
            |_, batch| {
                let current = slot.take().context("model lost by a failed step")?;
                let (next, loss) = current.step(
                    batch,
                    schedule(self.progress.step, total_steps, cfg.warmup),
                    &mut |_| {},
                )?;
                slot = Some(next);
                loss_sum += loss;
                self.progress.step += 1;
                bar.set_message(format!("loss {loss:.3}"));
                bar.inc(1);
                Ok(())
            },
        )?;
        bar.finish_and_clear();
        Ok((slot.context("model lost by a failed step")?, loss_sum, plan.batches.len()))
    }
}

/// The RNG seed of an epoch (dropout masks), so a resumed run draws what an uninterrupted one would.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch as u64
}

fn progress_bar(steps: usize, epoch: usize) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_prefix(epoch.to_string());
    Ok(bar)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::WindowRecord;
    use crate::model::BertConfig;
    use burn::tensor::Tensor;

    /// The largest change of any weight of `a` against `b`.
    fn moved<const D: usize>(a: &Tensor<D>, b: &Tensor<D>) -> f32 {
        let diff = (a.clone() - b.clone()).abs().max().into_data();
        diff.try_to_vec::<f32>().unwrap()[0]
    }

    #[test]
    fn layer_decay_gives_each_layer_of_the_encoder_its_rate() {
        let plain = crate::device::test_device();
        let auto = plain.clone().autodiff();
        let config: BertConfig = serde_json::from_str(r#"{"vocab_size": 1100, "hidden_size": 8, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16}"#).unwrap();
        let cfg = TrainConfig {
            lr_encoder: 1e-2,
            layer_decay: 0.5,
            weight_decay: 0.0,
            model: crate::model::ModelConfig {
                lstm_hidden: 4,
                gat_heads: 2,
                gat_head_dim: 4,
                ..Default::default()
            },
            ..TrainConfig::default()
        };
        let model = Enrelg {
            encoder: config.init(&auto),
            head: cfg.model_config(3, 8, 3, (0, 0)).init_head(&auto),
        };
        let before = model.clone();
        let learner = FineTuned::new(&cfg, model, auto, plain);
        let record = WindowRecord::for_test(&["Gale", "crater", "holds", "clay", "minerals"]);
        let batch = crate::data::pad(&[&record]);
        let (learner, _) = learner.step(batch, 1.0, &mut |_| {}).unwrap();
        let after = &learner.model().encoder;
        // Adam's first step moves a weight by its rate (the gradient's sign times it).
        let rate = |a: &Tensor<2>, b: &Tensor<2>| moved(a, b) / 1e-2;
        let (l0, l1) = (&after.layers[0], &before.encoder.layers[0]);
        let (t0, t1) = (&after.layers[1], &before.encoder.layers[1]);
        for (got, want) in [
            (rate(&t0.query.weight.val(), &t1.query.weight.val()), 1.0),
            (rate(&l0.query.weight.val(), &l1.query.weight.val()), 0.5),
            (
                rate(
                    &after.word_embeddings.weight.val(),
                    &before.encoder.word_embeddings.weight.val(),
                ),
                0.25,
            ),
        ] {
            assert!((got - want).abs() < 0.02 * want, "rate {got}, expected {want}");
        }
    }
}
