//! The run folder: everything a training run writes and everything that
//! reads one back goes through here.
//!
//! A run folder holds `run.json` ([`RunInfo`]), the best checkpoint
//! (`head.bpk` for a frozen encoder, `model.bpk` when fine-tuned),
//! `metrics.jsonl` (one line per epoch), `last/` (the resume checkpoint of
//! the last complete epoch, with its [`Progress`] in `state.json`), and the
//! evaluations (`eval-SPLIT.json`, `predictions-SPLIT.conll`). A process
//! that writes a run folder holds its [`RunLock`] (`run.lock`) for as long
//! as it writes: see [`RunDir`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use burn::tensor::Device;
use enrelg_pipeline::fs::{is_leftover, replace_dir, sha256_file, write_atomic, write_atomic_with};
use enrelg_pipeline::window::WindowConfig;
use enrelg_schemas::LabelSet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::TrainConfig;
use crate::eval::Score;
use crate::model::{BertEncoder, Enrelg, EnrelgConfig};
use crate::vocab::WordVocab;

/// The run folder layout this build writes. Version 1 folders (the label
/// set as `tags` plus `auxiliary_types`) are still read.
pub const RUN_FORMAT_VERSION: u32 = 2;
/// The run's record.
pub const RUN_JSON: &str = "run.json";
/// One JSON line per completed epoch.
pub const METRICS: &str = "metrics.jsonl";
/// The writer's lock.
pub const LOCK: &str = "run.lock";
/// The resume checkpoint folder of the last complete epoch.
pub const LAST: &str = "last";
/// The progress file inside [`LAST`], written last.
const STATE_JSON: &str = "state.json";
/// The weights in [`LAST`] (the head, or encoder and head).
pub const LAST_MODULE: &str = "module.bpk";
/// The optimizer state in [`LAST`] of a frozen-encoder run.
pub const LAST_OPTIM: &str = "optim.bpk";
/// The encoder's and the head's optimizer states in [`LAST`] of a fine-tuned run.
pub const LAST_OPTIM_ENCODER: &str = "optim_encoder.bpk";
pub const LAST_OPTIM_HEAD: &str = "optim_head.bpk";
/// The best checkpoint of a frozen-encoder run (the head only).
pub const HEAD_CHECKPOINT: &str = "head.bpk";
/// The best checkpoint of a fine-tuned run (encoder and head).
pub const MODEL_CHECKPOINT: &str = "model.bpk";

/// `eval-SPLIT.json`: the conlleval score of a split.
pub fn eval_file(split: &str) -> String {
    format!("eval-{split}.json")
}

/// `predictions-SPLIT.conll`: `word gold predicted` lines of a split.
pub fn predictions_file(split: &str) -> String {
    format!("predictions-{split}.conll")
}

/// `consistency-SPLIT.json`: how consistency decoding was chosen and what it changed.
pub fn consistency_file(split: &str) -> String {
    format!("consistency-{split}.json")
}

/// The name under which a split decoded with consistency decoding is scored
/// (`eval-SPLIT-consistency.json`, `summarize --split SPLIT-consistency`).
pub fn consistent_split(split: &str) -> String {
    format!("{split}-consistency")
}

/// `ensemble-SPLIT.json`: the members of an ensemble and their own scores.
pub fn ensemble_file(split: &str) -> String {
    format!("ensemble-{split}.json")
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("{}: run format version {found} but this build reads versions 1 to {RUN_FORMAT_VERSION}; retrain with this build", path.display())]
    Version { path: PathBuf, found: u64 },
    #[error("{} is being written by another process ({holder}); wait for it, or stop it first", dir.display())]
    Locked { dir: PathBuf, holder: String },
}

/// What a run folder records about itself (`run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    pub format_version: u32,
    pub config: TrainConfig,
    pub shards: PathBuf,
    pub shard_manifest_sha256: String,
    pub model: PathBuf,
    pub model_sha256: String,
    pub tokenizer_sha256: String,
    /// The shards' label set, auxiliary types included: the model's tags.
    pub labels: LabelSet,
    /// Windowing of the shards the run was trained on (prediction uses the same).
    #[serde(default)]
    pub window: WindowConfig,
    pub d_encoder: usize,
    pub best_epoch: usize,
    pub best_dev_f1: f64,
    /// SHA-256 of the best checkpoint once one is saved.
    #[serde(default)]
    pub checkpoint_sha256: Option<String>,
    /// The word-identity vocabulary in id order, when the run embeds words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub word_vocab: Vec<String>,
    /// The run whose weights this one started from (`--init-from`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_start: Option<WarmStart>,
}

/// Where a warm-started run took its first weights: the best checkpoint of an
/// earlier run of the same model. From a frozen run only the head is taken
/// (the encoder starts pretrained), which is the two-stage recipe of training
/// the new layers on a frozen encoder first and fine-tuning everything after.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WarmStart {
    pub run: PathBuf,
    pub checkpoint_sha256: String,
    /// That run kept its encoder frozen.
    pub frozen: bool,
}

impl WarmStart {
    /// Check that run `from` can start this one: the same encoder weights, tags,
    /// word vocabulary and model shape, and a frozen run only from a frozen one
    /// (its cached encoder outputs are those of the pretrained encoder). Returns
    /// the warm start and the checkpoint to load.
    pub fn check(from: &Path, info: &RunInfo, mcfg: &EnrelgConfig, hidden_states: usize) -> anyhow::Result<(WarmStart, PathBuf)> {
        let prev = RunInfo::read(from).context("--init-from")?;
        let name = from.display();
        anyhow::ensure!(
            prev.model_sha256 == info.model_sha256,
            "--init-from {name}: trained from another encoder checkpoint (sha256 {} vs {})",
            &prev.model_sha256[..12],
            &info.model_sha256[..12]
        );
        anyhow::ensure!(prev.labels == info.labels, "--init-from {name}: tags {:?} differ from these shards' {:?}", prev.labels.tags(), info.labels.tags());
        anyhow::ensure!(
            prev.word_vocab == info.word_vocab,
            "--init-from {name}: its word vocabulary ({} words) differs from this run's ({} words)",
            prev.word_vocab.len(),
            info.word_vocab.len()
        );
        let shape = |c: &EnrelgConfig| {
            serde_json::to_value(c).map(|mut v| {
                // The word vocabulary was compared above, dropout rates may
                // change and the coreference scope only changes which edges
                // the same GAT sees; the rest fixes every parameter's shape and meaning.
                if let Some(m) = v.as_object_mut() {
                    for key in ["word_vocab", "dropout", "gat_dropout", "coref_scope"] {
                        m.remove(key);
                    }
                }
                v
            })
        };
        let prev_mcfg = prev.config.model_config(prev.labels.num_tags(), prev.d_encoder, hidden_states, mcfg.word_vocab);
        anyhow::ensure!(shape(&prev_mcfg)? == shape(mcfg)?, "--init-from {name}: its model has another shape:\n  that run: {}\n  this run: {}", shape(&prev_mcfg)?, shape(mcfg)?);
        anyhow::ensure!(
            !info.config.freeze_encoder || prev.config.freeze_encoder,
            "--init-from {name}: that run fine-tuned its encoder, but a frozen run trains on the pretrained encoder's outputs; fine-tune this one too (--fine-tune)"
        );
        let (checkpoint, sha) = prev.checked_checkpoint(from).context("--init-from")?;
        tracing::info!("starting from {} (best dev F1 {:.2} at epoch {})", checkpoint.display(), prev.best_dev_f1, prev.best_epoch);
        Ok((WarmStart { run: from.to_path_buf(), checkpoint_sha256: sha, frozen: prev.config.freeze_encoder }, checkpoint))
    }
}

impl RunInfo {
    /// Read and check a run folder's `run.json` (any readable format version).
    pub fn read(run: &Path) -> anyhow::Result<Self> {
        let path = run.join(RUN_JSON);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        let version = value.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(1);
        match version {
            1 => upgrade_v1(&mut value).with_context(|| format!("{}", path.display()))?,
            v if v == u64::from(RUN_FORMAT_VERSION) => {}
            found => return Err(RunError::Version { path, found }.into()),
        }
        serde_json::from_value(value).with_context(|| format!("parsing {}", path.display()))
    }

    /// The tag names to score and to write: those of auxiliary types read as O.
    pub fn scored_tags(&self) -> Vec<String> {
        self.labels.scored_tags()
    }

    /// Check that this run (called `name`) decodes into the tags of run
    /// `first` (called `first_name`): what an ensemble of the two needs.
    pub fn ensure_same_labels(&self, name: &str, first: &RunInfo, first_name: &str) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.labels == first.labels,
            "{name}: label set {:?} (auxiliary {:?}) differs from {first_name}'s {:?} (auxiliary {:?}); an ensemble decodes one tag set",
            self.labels.types(),
            self.labels.auxiliary_types(),
            first.labels.types(),
            first.labels.auxiliary_types()
        );
        Ok(())
    }

    /// The run's word vocabulary, when its model embeds word identities.
    pub fn vocab(&self) -> Option<WordVocab> {
        (self.config.word_dim > 0).then(|| WordVocab::from_words(self.word_vocab.clone()))
    }

    /// The best checkpoint's file name in the run folder.
    pub fn checkpoint_file(&self) -> &'static str {
        if self.config.freeze_encoder {
            HEAD_CHECKPOINT
        } else {
            MODEL_CHECKPOINT
        }
    }

    /// The best checkpoint of the run in folder `run` and its SHA-256, after
    /// checking that it exists and is the file training wrote.
    pub fn checked_checkpoint(&self, run: &Path) -> anyhow::Result<(PathBuf, String)> {
        let checkpoint = run.join(self.checkpoint_file());
        anyhow::ensure!(checkpoint.exists(), "{}: no checkpoint (the run saved none yet; resume it with --resume)", checkpoint.display());
        let found = sha256_file(&checkpoint)?;
        if let Some(expected) = &self.checkpoint_sha256 {
            anyhow::ensure!(
                &found == expected,
                "{}: SHA-256 {} differs from {} in run.json; the checkpoint changed after training wrote it (resume the run with --resume, or retrain)",
                checkpoint.display(),
                &found[..12],
                &expected[..12.min(expected.len())]
            );
        }
        Ok((checkpoint, found))
    }

    /// The encoder folder of the run in folder `run`, from any working directory.
    ///
    /// `run.json` names the folder as training was given it, often relative to the folder
    /// training ran in (`models/minilm`). Tried in order: that path as it stands (absolute, or
    /// relative to the working directory), then the same relative path under each folder that
    /// holds the run (`runs/x` trained in `project/` finds `project/models/minilm`, wherever the
    /// project was moved or copied with its model). A candidate counts only when its weights
    /// have the SHA-256 the run recorded.
    pub fn model_dir(&self, run: &Path) -> anyhow::Result<PathBuf> {
        let mut candidates = vec![self.model.clone()];
        if self.model.is_relative() {
            let run = std::fs::canonicalize(run).with_context(|| format!("{}: cannot open the run folder", run.display()))?;
            candidates.extend(run.ancestors().map(|dir| dir.join(&self.model)));
        }
        let mut tried = Vec::new();
        for dir in candidates {
            let Ok(weights) = crate::model::checkpoint::weights_path(&dir) else {
                tried.push(format!("{} (no weights)", dir.display()));
                continue;
            };
            match sha256_file(&weights) {
                Ok(sha) if sha == self.model_sha256 => return Ok(dir),
                Ok(sha) => tried.push(format!("{} (weights SHA-256 {}, not {})", dir.display(), &sha[..12], &self.model_sha256[..12.min(self.model_sha256.len())])),
                Err(_) => tried.push(format!("{} (unreadable weights)", dir.display())),
            }
        }
        anyhow::bail!(
            "{}: the encoder it was trained with ({}) is not where run.json says; tried {}. Keep the model folder at the same place relative to the run's project folder, or run from that folder",
            run.join(RUN_JSON).display(),
            self.model.display(),
            tried.join(", ")
        )
    }
}

/// Version 1 recorded the label set as its BIO `tags` and the
/// `auxiliary_types` among them; version 2 records the [`LabelSet`].
fn upgrade_v1(value: &mut serde_json::Value) -> anyhow::Result<()> {
    let strings =
        |key: &str| -> Vec<String> { value.get(key).and_then(|v| v.as_array()).map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect()).unwrap_or_default() };
    let labels = LabelSet::from_tags(&strings("tags"), &strings("auxiliary_types"))?;
    let object = value.as_object_mut().context("run.json is not a JSON object")?;
    object.insert("labels".into(), serde_json::to_value(labels)?);
    object.insert("format_version".into(), RUN_FORMAT_VERSION.into());
    Ok(())
}

/// One line of `metrics.jsonl`: written by training once per epoch, read by
/// the summaries, `enrelg plot` and `enrelg results`. Fields added later
/// are optional when read, so older records still read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub loss: f64,
    pub dev_precision: f64,
    pub dev_recall: f64,
    pub dev_f1: f64,
    pub seconds: f64,
    pub subtokens_per_second: f64,
    pub lr_head: f64,
    /// Peak resident memory of the training process so far, MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// Where the epoch ran, to read `seconds` by: the CPU's model, the
    /// threads of the compute pool and the machine's one-minute load average
    /// at the epoch's end (about 2 on 2 cores means another job beside it).
    /// A resumed run may have epochs from several machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_average: Option<f64>,
}

impl EpochRecord {
    /// Every line of a `metrics.jsonl`, each error naming the file and line.
    pub fn read_all(path: &Path) -> anyhow::Result<Vec<Self>> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        text.lines().enumerate().map(|(i, line)| serde_json::from_str(line).with_context(|| format!("{}, line {}", path.display(), i + 1))).collect()
    }
}

/// Where training stands after a complete epoch: the schedule's position and
/// early stopping's memory. Saved with each resume checkpoint (`last/state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Progress {
    /// The last complete epoch (0 before the first).
    pub epoch: usize,
    /// Optimizer steps taken so far (the learning-rate schedule's position).
    pub step: usize,
    /// Epochs since dev F1 last improved.
    pub since_best: usize,
    pub best_epoch: usize,
    pub best_dev_f1: f64,
    /// Early stopping ended the run at `epoch`: a resume has nothing left to train.
    #[serde(default)]
    pub stopped_early: bool,
    /// SHA-256 of every other file of the checkpoint folder, checked on resume.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// What an epoch's dev score means for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A new best dev F1: keep this epoch's weights.
    Improved,
    Continue,
    /// `patience` epochs without a better dev F1.
    Stop,
}

impl Progress {
    /// A fresh run: no epoch yet, any dev F1 is an improvement.
    pub fn new() -> Self {
        Self { best_dev_f1: -1.0, ..Default::default() }
    }

    /// Record epoch `epoch`'s dev F1.
    pub fn after_epoch(&mut self, epoch: usize, dev_f1: f64, patience: usize) -> Outcome {
        self.epoch = epoch;
        if dev_f1 > self.best_dev_f1 {
            (self.best_dev_f1, self.best_epoch, self.since_best) = (dev_f1, epoch, 0);
            return Outcome::Improved;
        }
        self.since_best += 1;
        if self.since_best >= patience {
            tracing::info!("early stop after epoch {epoch}: no better dev F1 for {patience} epochs");
            self.stopped_early = true;
            return Outcome::Stop;
        }
        Outcome::Continue
    }
}

/// The one writer of a run folder: holds its [`RunLock`] for as long as it lives.
pub struct RunDir {
    dir: PathBuf,
    _lock: RunLock,
}

impl RunDir {
    /// Create (if needed) and lock `dir` for writing.
    pub fn lock(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        Ok(Self { dir: dir.to_path_buf(), _lock: RunLock::acquire(dir)? })
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Write run.json, with the checksum of the best checkpoint on disk.
    pub fn write_info(&self, info: &mut RunInfo) -> anyhow::Result<()> {
        let checkpoint = self.dir.join(info.checkpoint_file());
        info.checkpoint_sha256 = if checkpoint.exists() { Some(sha256_file(&checkpoint)?) } else { None };
        write_atomic(&self.dir.join(RUN_JSON), (serde_json::to_string_pretty(info)? + "\n").as_bytes())?;
        Ok(())
    }

    /// Save a module as file `name` of the run folder (atomically).
    pub fn save_module<M: Module>(&self, module: M, name: &str) -> anyhow::Result<()> {
        save_module(module, &self.dir.join(name))
    }

    /// Open `metrics.jsonl` for appending; a fresh run starts it empty,
    /// a resumed one keeps the first `keep` epochs (later ones are redone).
    pub fn metrics(&self, keep: Option<usize>) -> anyhow::Result<std::fs::File> {
        let path = self.dir.join(METRICS);
        let kept: String = match keep {
            Some(n) => std::fs::read_to_string(&path).unwrap_or_default().lines().take(n).map(|l| format!("{l}\n")).collect(),
            None => String::new(),
        };
        write_atomic(&path, kept.as_bytes())?;
        std::fs::OpenOptions::new().append(true).open(&path).with_context(|| format!("opening {}", path.display()))
    }

    /// Write the resume checkpoint: `write` fills a fresh folder, the
    /// progress (with the checksum of every file) goes in last, and the
    /// folder replaces `last/`, so a kill at any moment leaves the previous
    /// complete checkpoint or the new one.
    pub fn save_last(&self, progress: &Progress, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
        replace_dir(&self.dir.join(LAST), |tmp| {
            write(tmp)?;
            let mut progress = progress.clone();
            progress.files.clear();
            for entry in std::fs::read_dir(tmp)? {
                let path = entry?.path();
                progress.files.insert(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), sha256_file(&path)?);
            }
            std::fs::write(tmp.join(STATE_JSON), serde_json::to_string_pretty(&progress)?)?;
            anyhow::Ok(())
        })
    }

    /// The progress of the last complete resume checkpoint, after putting it
    /// back in place if a kill came between the two renames of
    /// [`RunDir::save_last`] (then `last` is missing and the complete
    /// checkpoint is a hidden staging or parked folder: one with a readable
    /// `state.json` is complete, as that file is written last). `None` when
    /// no epoch was completed: the run starts again.
    pub fn load_last(&self) -> anyhow::Result<Option<Progress>> {
        let last = self.dir.join(LAST);
        let read = |dir: &Path| -> Option<Progress> { serde_json::from_slice(&std::fs::read(dir.join(STATE_JSON)).ok()?).ok() };
        if !last.exists() {
            let mut best: Option<(usize, PathBuf)> = None;
            for path in self.leftovers()? {
                if let Some(state) = read(&path) {
                    if best.as_ref().is_none_or(|(e, _)| state.epoch > *e) {
                        best = Some((state.epoch, path));
                    }
                }
            }
            if let Some((epoch, dir)) = best {
                tracing::warn!("{}: recovering the epoch {epoch} checkpoint from {}", last.display(), dir.display());
                std::fs::rename(&dir, &last).with_context(|| format!("renaming {} to {}", dir.display(), last.display()))?;
            }
        }
        self.remove_leftovers()?;
        let path = last.join(STATE_JSON);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let progress: Progress = serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
        for (name, expected) in &progress.files {
            let found = sha256_file(&last.join(name))?;
            anyhow::ensure!(&found == expected, "{}: SHA-256 differs from the one in state.json; the checkpoint changed after it was written", last.join(name).display());
        }
        Ok(Some(progress))
    }

    /// What killed writers left in the folder: hidden staging and parked
    /// copies of the run's files, of `last/` and of the lock.
    fn leftovers(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).with_context(|| format!("reading {}", self.dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if [LAST, RUN_JSON, METRICS, HEAD_CHECKPOINT, MODEL_CHECKPOINT, LOCK].iter().any(|t| is_leftover(&name, t)) {
                out.push(path);
            }
        }
        Ok(out)
    }

    /// Remove what killed writers left behind: never complete, never read.
    pub fn remove_leftovers(&self) -> anyhow::Result<()> {
        for path in self.leftovers()? {
            let removed = if path.is_dir() { std::fs::remove_dir_all(&path) } else { std::fs::remove_file(&path) };
            removed.with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }

    /// Write what consistency decoding of `split` gave: its score and
    /// predictions under [`consistent_split`] and `consistency-SPLIT.json`.
    pub fn write_consistency(&self, split: &str, score: &Score, conll: &str, record: &crate::consistency::ConsistencyRecord) -> anyhow::Result<()> {
        self.write_eval(&consistent_split(split), score, conll)?;
        write_atomic(&self.dir.join(consistency_file(split)), (serde_json::to_string_pretty(record)? + "\n").as_bytes())?;
        Ok(())
    }

    /// Write `eval-SPLIT.json` and `predictions-SPLIT.conll`.
    pub fn write_eval(&self, split: &str, score: &Score, conll: &str) -> anyhow::Result<()> {
        write_atomic(&self.dir.join(eval_file(split)), (serde_json::to_string_pretty(score)? + "\n").as_bytes())?;
        write_atomic(&self.dir.join(predictions_file(split)), conll.as_bytes())?;
        Ok(())
    }
}

/// Save a module to `path` atomically.
pub fn save_module<M: Module>(module: M, path: &Path) -> anyhow::Result<()> {
    write_atomic_with(path, |tmp| module.save_file(tmp).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display())))
}

/// The exclusive right to write a run folder, as the file `run.lock` naming
/// its holder (process id, the process's start time, command line). A second
/// writer is refused with [`RunError::Locked`]. A lock whose holder is gone
/// (killed: no such process, or another process that reuses its id) is
/// stale and taken over. Released when dropped.
pub struct RunLock {
    path: PathBuf,
    holder: String,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        Self::acquire_file(dir, &dir.join(LOCK))
    }

    /// The lock of folder `dir` held as the file `path` (another folder's
    /// writer, e.g. `enrelg tag`'s output folder, [`crate::output`]).
    pub fn acquire_file(dir: &Path, path: &Path) -> anyhow::Result<Self> {
        let path = path.to_path_buf();
        let me = Holder::current();
        let holder = serde_json::to_string(&me)?;
        // Written in full under a private name, then linked into place: the
        // lock appears atomically, complete, or not at all.
        let staged = enrelg_pipeline::fs::temp_path(&path);
        std::fs::write(&staged, &holder).with_context(|| format!("writing {}", staged.display()))?;
        let result = Self::link(&staged, &path, dir);
        let _ = std::fs::remove_file(&staged);
        result?;
        Ok(Self { path, holder })
    }

    fn link(staged: &Path, path: &Path, dir: &Path) -> anyhow::Result<()> {
        for _ in 0..2 {
            match std::fs::hard_link(staged, path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let holder: Option<Holder> = serde_json::from_str(&text).ok();
            if let Some(h) = holder.as_ref().filter(|h| h.is_alive()) {
                return Err(RunError::Locked { dir: dir.to_path_buf(), holder: h.to_string() }.into());
            }
            // Stale: move it aside under a name of our own, so that of two
            // processes taking it over only one succeeds.
            let aside = enrelg_pipeline::fs::old_path(path);
            if std::fs::rename(path, &aside).is_ok() {
                let moved = std::fs::read_to_string(&aside).unwrap_or_default();
                let _ = std::fs::remove_file(&aside);
                if moved != text {
                    anyhow::bail!("{}: the lock changed hands while it was being taken over; try again", dir.display());
                }
                tracing::warn!("{}: taking over the stale lock of {}", dir.display(), holder.map_or_else(|| "an unreadable holder".into(), |h| h.to_string()));
            }
        }
        Err(RunError::Locked { dir: dir.to_path_buf(), holder: "another process taking over a stale lock".into() }.into())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Only our own lock: never one a later holder took over.
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == self.holder) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Who holds a lock.
#[derive(Debug, Serialize, Deserialize)]
struct Holder {
    pid: u32,
    /// The process's start time (clock ticks since boot, Linux), which tells
    /// the holder from a later process that reuses its id.
    start: Option<u64>,
    command: String,
}

impl Holder {
    fn current() -> Self {
        let pid = std::process::id();
        Self { pid, start: process_start(pid), command: std::env::args().collect::<Vec<_>>().join(" ") }
    }

    fn is_alive(&self) -> bool {
        if !Path::new("/proc/self").exists() {
            return true; // no way to tell: never take a lock over
        }
        match process_start(self.pid) {
            None => false,
            Some(start) => self.start.is_none_or(|s| s == start),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {}: {}", self.pid, self.command)
    }
}

/// A process's start time from `/proc/PID/stat` (field 22), None when no
/// such process exists or it has ended: a zombie (state `Z`, killed but not
/// yet reaped by its parent, which in a container whose first process never
/// reaps is forever) or a dying one (`X`) writes nothing more.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}

/// A trained run, loaded for evaluation or prediction.
pub struct LoadedRun {
    pub info: RunInfo,
    /// The encoder (pretrained for a frozen run) and the trained head.
    pub model: Enrelg,
    /// The word vocabulary, built once from `info` when the model embeds words.
    pub vocab: Option<WordVocab>,
    /// SHA-256 of the checkpoint loaded (checked against run.json).
    pub checkpoint_sha256: String,
    /// Where the encoder was found ([`RunInfo::model_dir`]).
    pub model_dir: PathBuf,
}

impl LoadedRun {
    /// Read `run.json`, check the best checkpoint and load it onto `device`.
    pub fn open(run: &Path, device: &Device) -> anyhow::Result<Self> {
        let info = RunInfo::read(run)?;
        let (checkpoint, checkpoint_sha256) = info.checked_checkpoint(run)?;
        let load_err = |e: burn::store::RecordError| anyhow::anyhow!("{}: {e:?}", checkpoint.display());
        let model_dir = info.model_dir(run)?;
        let encoder = BertEncoder::from_pretrained(&model_dir, device)?;
        let vocab = info.vocab();
        let mcfg = info.config.model_config(info.labels.num_tags(), info.d_encoder, encoder.num_hidden_states(), vocab.as_ref().map_or(0, WordVocab::size));
        let model = if info.config.freeze_encoder {
            Enrelg { encoder, head: mcfg.init_head(device).try_load_file(&checkpoint).map_err(load_err)? }
        } else {
            Enrelg { encoder, head: mcfg.init_head(device) }.try_load_file(&checkpoint).map_err(load_err)?
        };
        Ok(Self { info, model, vocab, checkpoint_sha256, model_dir })
    }
}

#[cfg(test)]
mod tests {
    /// Records written by training, now and before the fields were added,
    /// read back; a record is written back byte for byte.
    #[test]
    fn epoch_records_read_every_generation_and_write_back_unchanged() {
        let new = r#"{"epoch":1,"loss":99.88173878009502,"dev_precision":18.78787878787879,"dev_recall":1.4492753623188406,"dev_f1":2.6909722222222223,"seconds":106.725414013,"subtokens_per_second":1856.746135235065,"lr_head":0.0003333333333333333,"peak_rss_mib":3290.52734375,"cpu":"AMD EPYC","threads":1,"load_average":2.57}"#;
        let old = r#"{"epoch":1,"loss":78.4544166907286,"dev_precision":0.0,"dev_recall":0.0,"dev_f1":0.0,"seconds":49.931042488,"subtokens_per_second":2610.5803825611483,"lr_head":0.0003333333333333333}"#;
        for line in [new, old] {
            let r: EpochRecord = serde_json::from_str(line).unwrap();
            assert_eq!(serde_json::to_string(&r).unwrap(), line);
        }
        let r: EpochRecord = serde_json::from_str(old).unwrap();
        assert_eq!((r.threads, r.peak_rss_mib), (None, None));
    }

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let out = std::env::temp_dir().join(format!("enrelg-run-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        out
    }

    fn state(epoch: usize) -> Progress {
        Progress { epoch, step: epoch * 10, ..Default::default() }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_kill_between_the_checkpoint_renames_is_recovered() {
        let out = scratch("last");
        let run = RunDir::lock(&out).unwrap();
        run.save_last(&state(1), |_| Ok(())).unwrap();
        assert_eq!(run.load_last().unwrap().unwrap().epoch, 1);
        // Every checkpoint file is checked against state.json.
        run.save_last(&state(1), |dir| Ok(std::fs::write(dir.join("module.bpk"), b"weights")?)).unwrap();
        assert_eq!(run.load_last().unwrap().unwrap().files.len(), 1);
        std::fs::write(out.join("last/module.bpk"), b"weighs").unwrap();
        assert!(run.load_last().unwrap_err().to_string().contains("module.bpk: SHA-256 differs"));
        run.save_last(&state(1), |_| Ok(())).unwrap();
        // Killed after `last` became `.last.old-*` and before `.last.tmp-*` took its place:
        std::fs::rename(out.join("last"), out.join(".last.old-41")).unwrap();
        std::fs::create_dir_all(out.join(".last.tmp-41")).unwrap();
        std::fs::write(out.join(".last.tmp-41/state.json"), serde_json::to_string(&state(2)).unwrap()).unwrap();
        // and a tmp folder of an earlier kill, killed before its state.json was written.
        std::fs::create_dir_all(out.join(".last.tmp-7")).unwrap();
        std::fs::write(out.join(".head.bpk.tmp-7"), b"half").unwrap();
        assert_eq!(run.load_last().unwrap().unwrap().epoch, 2);
        assert_eq!(names(&out), ["last", LOCK]);
        // A half-written state.json is not a complete checkpoint.
        std::fs::rename(out.join("last"), out.join(".last.tmp-9")).unwrap();
        std::fs::write(out.join(".last.tmp-9/state.json"), b"{\"epo").unwrap();
        assert!(run.load_last().unwrap().is_none());
        assert_eq!(names(&out), [LOCK], "the incomplete folder is removed");
        drop(run);
        assert!(names(&out).is_empty(), "the lock goes with its holder");
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn a_second_writer_is_refused_and_a_dead_holders_lock_is_taken_over() {
        let out = scratch("lock");
        let first = RunDir::lock(&out).unwrap();
        let err = RunDir::lock(&out).err().unwrap().to_string();
        assert!(err.contains("is being written by another process") && err.contains(&format!("process {}", std::process::id())), "{err}");
        drop(first);
        // A holder that no longer exists: a process id far above any in use.
        let dead = Holder { pid: u32::MAX - 1, start: Some(1), command: "enrelg train (killed)".into() };
        std::fs::write(out.join(LOCK), serde_json::to_string(&dead).unwrap()).unwrap();
        let taken = RunDir::lock(&out).unwrap();
        assert!(std::fs::read_to_string(out.join(LOCK)).unwrap().contains(&format!("\"pid\":{}", std::process::id())));
        drop(taken);
        // Our own id with another start time is another (earlier) process.
        let reused = Holder { pid: std::process::id(), start: Some(0), command: "an earlier process".into() };
        std::fs::write(out.join(LOCK), serde_json::to_string(&reused).unwrap()).unwrap();
        drop(RunDir::lock(&out).unwrap());
        std::fs::remove_dir_all(&out).unwrap();
    }

    /// A writer killed with SIGKILL and not reaped is a zombie: its /proc entry stays, but it
    /// writes nothing more, so its lock is taken over. (The killed child here is this test's own
    /// and unreaped until the end, as an orphan is under a first process that never reaps.)
    #[test]
    fn a_zombie_holders_lock_is_taken_over() {
        let out = scratch("zombie");
        let mut child = std::process::Command::new("sleep").arg("60").spawn().unwrap();
        let pid = child.id();
        let zombie = Holder { pid, start: process_start(pid), command: "enrelg train (killed)".into() };
        assert!(zombie.start.is_some() && zombie.is_alive(), "a running writer holds its lock");
        std::fs::write(out.join(LOCK), serde_json::to_string(&zombie).unwrap()).unwrap();
        assert!(RunDir::lock(&out).is_err());
        // SIGKILL (`Child::kill`), no wait: the process becomes a zombie.
        child.kill().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z")) {
            assert!(std::time::Instant::now() < deadline, "the killed child never became a zombie");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(std::path::Path::new(&format!("/proc/{pid}")).exists(), "a zombie keeps its /proc entry");
        assert!(!zombie.is_alive());
        drop(RunDir::lock(&out).unwrap());
        child.wait().unwrap();
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn early_stopping_counts_epochs_without_a_better_dev_f1() {
        let mut p = Progress::new();
        assert_eq!(p.after_epoch(1, 0.0, 2), Outcome::Improved, "any first score is the best so far");
        assert_eq!(p.after_epoch(2, 50.0, 2), Outcome::Improved);
        assert_eq!(p.after_epoch(3, 50.0, 2), Outcome::Continue, "a tie is no improvement");
        assert_eq!(p.after_epoch(4, 40.0, 2), Outcome::Stop);
        assert_eq!((p.best_epoch, p.best_dev_f1, p.epoch, p.stopped_early), (2, 50.0, 4, true));
    }

    #[test]
    fn version_1_records_are_read_with_their_label_set() {
        let out = scratch("v1");
        let mut v: serde_json::Value = serde_json::from_str(include_str!("../../results/cpu-flex/mars-aux-cd-shape32-chars50-mix-mean-seed1/run.json")).unwrap();
        assert_eq!(v["format_version"], 1);
        std::fs::write(out.join(RUN_JSON), v.to_string()).unwrap();
        let info = RunInfo::read(&out).unwrap();
        assert_eq!(info.labels.scored_types(), ["Element", "Mineral", "Target"]);
        assert_eq!(info.labels.auxiliary_types().len(), 7);
        assert_eq!(info.scored_tags()[..3], ["O", "B-Element", "I-Element"]);
        assert!(info.scored_tags()[7..].iter().all(|t| t == "O"));
        v["format_version"] = 9.into();
        std::fs::write(out.join(RUN_JSON), v.to_string()).unwrap();
        assert!(RunInfo::read(&out).unwrap_err().to_string().contains("run format version 9"));
        std::fs::remove_dir_all(&out).unwrap();
    }
}
