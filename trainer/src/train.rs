//! Training: frozen-encoder (cached word embeddings) or fine-tuned, with
//! AdamW, linear warm-up and decay, gradient clipping, dev evaluation every
//! epoch, the best checkpoint kept and early stopping.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::optim::grad_clipping::GradientClippingConfig;
use burn::tensor::{Device, Tensor, TensorData};
use enrelg_pipeline::graph::DependencyVariant;
use enrelg_pipeline::shard::ShardManifest;
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::data::{load_split, make_batch, pad, prefetched, WindowRecord};
use crate::eval::{Score, Scorer};
use crate::model::crf::{host_rows, CrfPotentials};
use crate::model::{BertEncoder, Enrelg, EnrelgConfig, EnrelgHead, Fusion, Variant, WordPool};

/// Everything a run needs besides its inputs; read from TOML, defaults from the paper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub variant: Variant,
    pub fusion: Fusion,
    pub dependency_variant: DependencyVariant,
    pub seed: u64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Stop after this many epochs without a better dev F1.
    pub patience: usize,
    /// Learning rate of the encoder when fine-tuned (the paper: 5e-5).
    pub lr_encoder: f64,
    /// Learning rate of the new layers (BiLSTM, GAT, fusion, CRF).
    pub lr_head: f64,
    /// Fraction of steps with linear warm-up, then linear decay to 0.
    pub warmup: f64,
    pub weight_decay: f64,
    /// Gradient norm clipping.
    pub grad_clip: f64,
    /// Train only the layers after the encoder, on cached encoder outputs.
    pub freeze_encoder: bool,
    pub lstm_hidden: usize,
    pub gat_heads: usize,
    pub gat_head_dim: usize,
    pub gat_dropout: f64,
    pub dropout: f64,
    /// Word-shape embedding size (0 = off, as in the paper).
    pub shape_dim: usize,
    /// Feed the head a learned scalar mix of every encoder hidden state
    /// instead of the last layer (off, as in the paper).
    pub layer_mix: bool,
    /// Character-CNN filters concatenated to the encoder output (0 = off, as in the paper).
    pub char_dim: usize,
    /// How a word's vector is pooled from its subtokens (the paper: the first).
    pub word_pool: WordPool,
    /// Word-identity embedding size (0 = off, as in the paper); its
    /// vocabulary is the training split's words seen `word_min_count` times.
    pub word_dim: usize,
    pub word_min_count: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            variant: Variant::Cd,
            fusion: Fusion::Linear,
            dependency_variant: DependencyVariant::CompoundKey,
            seed: 1,
            batch_size: 32,
            max_epochs: 30,
            patience: 5,
            lr_encoder: 5e-5,
            lr_head: 1e-3,
            warmup: 0.1,
            weight_decay: 0.01,
            grad_clip: 5.0,
            freeze_encoder: true,
            lstm_hidden: 256,
            gat_heads: 4,
            gat_head_dim: 128,
            gat_dropout: 0.6,
            dropout: 0.5,
            shape_dim: 0,
            layer_mix: false,
            char_dim: 0,
            word_pool: WordPool::First,
            word_dim: 0,
            word_min_count: 2,
        }
    }
}

impl TrainConfig {
    /// AdamW with decoupled weight decay and gradient-norm clipping.
    pub fn optimizer(&self) -> AdamWConfig {
        AdamWConfig::new()
            .with_weight_decay(self.weight_decay as f32)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(self.grad_clip as f32)))
    }

    /// The model for this config; `hidden_states` is the encoder's count (for
    /// the layer mix), `word_vocab` the rows of the word embedding.
    pub fn model_config(&self, num_tags: usize, d_encoder: usize, hidden_states: usize, word_vocab: usize) -> EnrelgConfig {
        EnrelgConfig::new(num_tags, self.variant, d_encoder)
            .with_fusion(self.fusion)
            .with_lstm_hidden(self.lstm_hidden)
            .with_gat_heads(self.gat_heads)
            .with_gat_head_dim(self.gat_head_dim)
            .with_gat_dropout(self.gat_dropout)
            .with_dropout(self.dropout)
            .with_shape_dim(self.shape_dim)
            .with_layer_mix(if self.layer_mix { hidden_states } else { 0 })
            .with_char_dim(self.char_dim)
            .with_word_pool(self.word_pool)
            .with_word_dim(self.word_dim)
            .with_word_vocab(word_vocab)
    }

    /// The frozen-encoder cache of one split's windows for these weights
    /// (`windows_sha` from [`windows_sha256`]): the layer mix caches every
    /// hidden state and mean pooling other vectors, so each has its own file.
    pub fn cache_file(&self, cache_dir: &Path, windows_sha: &str, model_sha: &str, split: &str) -> PathBuf {
        let mix = if self.layer_mix { "-all-layers" } else { "" };
        let pool = match self.word_pool {
            WordPool::First => "",
            WordPool::Mean => "-mean",
        };
        cache_dir.join(format!("{}-{}{mix}{pool}-{split}.bin", &windows_sha[..16], &model_sha[..16]))
    }
}

/// What a run folder records about itself (`run.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunInfo {
    /// Layout of a run folder; a build refuses runs of another version.
    #[serde(default = "first_run_format")]
    pub format_version: u32,
    pub config: TrainConfig,
    pub shards: PathBuf,
    pub shard_manifest_sha256: String,
    pub model: PathBuf,
    pub model_sha256: String,
    pub tokenizer_sha256: String,
    pub tags: Vec<String>,
    /// Windowing of the shards the run was trained on (prediction uses the same).
    #[serde(default)]
    pub window: enrelg_pipeline::window::WindowConfig,
    pub d_encoder: usize,
    pub best_epoch: usize,
    pub best_dev_f1: f64,
    /// SHA-256 of the best checkpoint (`head.bpk` or `model.bpk`) once one is saved.
    #[serde(default)]
    pub checkpoint_sha256: Option<String>,
    /// The word-identity vocabulary in id order, when the run embeds words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub word_vocab: Vec<String>,
    /// Types of the shards' label set that the model learns but is not
    /// scored on (their tags read as O in evaluation and prediction).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auxiliary_types: Vec<String>,
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

/// The run folder format this build writes and reads.
pub const RUN_FORMAT_VERSION: u32 = 1;

fn first_run_format() -> u32 {
    1
}

impl RunInfo {
    /// Read a run folder's `run.json`.
    pub fn read(run: &Path) -> anyhow::Result<Self> {
        let path = run.join("run.json");
        serde_json::from_slice(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?).with_context(|| format!("parsing {}", path.display()))
    }

    /// The label set behind the run's BIO tags.
    pub fn label_set(&self) -> anyhow::Result<enrelg_schemas::LabelSet> {
        let labels = enrelg_schemas::LabelSet::new(self.tags.iter().filter_map(|t| t.strip_prefix("B-")).map(String::from))?;
        anyhow::ensure!(labels.tags() == self.tags, "tags {:?} are not O followed by B-/I- pairs of one label set", self.tags);
        Ok(labels)
    }

    /// The tag names to score and to write: those of auxiliary types read as O.
    pub fn scored_tags(&self) -> Vec<String> {
        scored_tags(&self.tags, &self.auxiliary_types)
    }

    /// Check that this run (called `name`) decodes into the tags of run
    /// `first` (called `first_name`): what an ensemble of the two needs.
    pub fn ensure_same_tags(&self, name: &str, first: &RunInfo, first_name: &str) -> anyhow::Result<()> {
        anyhow::ensure!(self.tags == first.tags, "{name}: tags {:?} differ from {first_name}'s {:?}; an ensemble decodes one tag set", self.tags, first.tags);
        anyhow::ensure!(self.auxiliary_types == first.auxiliary_types, "{name}: auxiliary types {:?} differ from {first_name}'s {:?}", self.auxiliary_types, first.auxiliary_types);
        Ok(())
    }

    /// The run's word vocabulary, when its model embeds word identities.
    pub fn vocab(&self) -> Option<crate::vocab::WordVocab> {
        (self.config.word_dim > 0).then(|| crate::vocab::WordVocab::from_words(self.word_vocab.clone()))
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

    /// The best checkpoint's file name in the run folder.
    pub fn checkpoint_file(&self) -> &'static str {
        if self.config.freeze_encoder {
            "head.bpk"
        } else {
            "model.bpk"
        }
    }
}

/// Save a module to `path` through a temporary file and a rename, so that a
/// kill leaves the previous file or the new one, never half of one.
fn save_atomic<M: Module>(module: M, path: &Path) -> anyhow::Result<()> {
    let name = path.file_name().context("checkpoint path has no file name")?.to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    module.save_file(&tmp).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))
}

#[derive(Debug, Serialize)]
struct EpochLog {
    epoch: usize,
    loss: f64,
    dev_precision: f64,
    dev_recall: f64,
    dev_f1: f64,
    seconds: f64,
    subtokens_per_second: f64,
    lr_head: f64,
}

pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(format!("{:x}", sha2::Sha256::digest(&bytes)))
}

/// Encoder word embeddings of each window, `[words, width]` row-major.
pub struct Embedded {
    /// Floats per word: the encoder's size, or that times its hidden states with `all_layers`.
    pub width: usize,
    pub words: Vec<Vec<f32>>,
}

/// SHA-256 of what the encoder sees of each window (its subtoken ids and the
/// first subtoken of each word): the key of the frozen-encoder cache, so
/// shards that differ only in labels or graphs share their encoder outputs.
pub fn windows_sha256(records: &[WindowRecord]) -> String {
    let mut h = sha2::Sha256::new();
    for r in records {
        for list in [&r.input_ids, &r.word_first_subtoken] {
            h.update((list.len() as u64).to_le_bytes());
            list.iter().for_each(|v| h.update(v.to_le_bytes()));
        }
    }
    format!("{:x}", h.finalize())
}

/// Compute (or read from the cache) the frozen encoder's word embeddings:
/// the last layer, or with `all_layers` every hidden state side by side.
pub fn embed(encoder: &BertEncoder, records: &[WindowRecord], all_layers: bool, pool: WordPool, cache: &Path, device: &Device, label: &str) -> anyhow::Result<Embedded> {
    let d = encoder.d_model() * if all_layers { encoder.num_hidden_states() } else { 1 };
    if let Ok(bytes) = std::fs::read(cache) {
        if let Some(e) = decode_cache(&bytes, records, d) {
            tracing::info!("encoder outputs for {label} from {}", cache.display());
            return Ok(e);
        }
        tracing::warn!("{} is incomplete or stale; recomputing", cache.display());
    }
    let bar = ProgressBar::new(records.len() as u64);
    bar.set_style(ProgressStyle::with_template("encoding {msg} [{bar:30}] {pos}/{len} windows ({per_sec}, eta {eta})")?.progress_chars("=> "));
    bar.set_message(label.to_string());
    let mut words = Vec::with_capacity(records.len());
    for chunk in records.chunks(16) {
        let refs: Vec<&WindowRecord> = chunk.iter().collect();
        let batch = make_batch(&refs, device);
        let pooled = crate::model::enrelg::encoder_words(encoder, &batch, all_layers, pool);
        let l = pooled.dims()[1];
        let flat: Vec<f32> = pooled.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| anyhow::anyhow!("{e:?}"))?;
        for (r, rec) in chunk.iter().enumerate() {
            let n = rec.word_first_subtoken.len();
            words.push(flat[r * l * d..(r * l + n) * d].to_vec());
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let e = Embedded { width: d, words };
    write_cache(cache, &e)?;
    Ok(e)
}

const CACHE_MAGIC: &[u8; 8] = b"ENRELGE1";

fn write_cache(path: &Path, e: &Embedded) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = Vec::new();
    bytes.extend_from_slice(CACHE_MAGIC);
    bytes.extend_from_slice(&(e.width as u64).to_le_bytes());
    bytes.extend_from_slice(&(e.words.len() as u64).to_le_bytes());
    for w in &e.words {
        bytes.extend_from_slice(&(w.len() as u64).to_le_bytes());
        for v in w {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    // Checksum last: a half-written cache never validates.
    let sum = sha2::Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

fn decode_cache(bytes: &[u8], records: &[WindowRecord], d: usize) -> Option<Embedded> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    if sha2::Sha256::digest(body).as_slice() != sum || body.get(..8)? != CACHE_MAGIC {
        return None;
    }
    let u64_at = |at: usize| -> Option<usize> { Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?) as usize) };
    if u64_at(8)? != d || u64_at(16)? != records.len() {
        return None;
    }
    let mut at = 24;
    let mut words = Vec::with_capacity(records.len());
    for rec in records {
        let n = u64_at(at)?;
        at += 8;
        if n != rec.word_first_subtoken.len() * d {
            return None;
        }
        let raw = body.get(at..at + 4 * n)?;
        words.push(raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect());
        at += 4 * n;
    }
    Some(Embedded { width: d, words })
}

/// Padded `[B, L, H]` word embeddings of a batch from the cache, on the host.
pub struct PaddedWords {
    dims: [usize; 3],
    data: Vec<f32>,
}

impl PaddedWords {
    fn into_device(self, device: &Device) -> Tensor<3> {
        Tensor::from_data(TensorData::new(self.data, self.dims), device)
    }
}

fn pad_words(e: &Embedded, idx: &[usize], records: &[WindowRecord]) -> PaddedWords {
    let l = idx.iter().map(|&i| records[i].word_first_subtoken.len()).max().unwrap_or(1).max(1);
    let d = e.width;
    let mut data = vec![0f32; idx.len() * l * d];
    for (r, &i) in idx.iter().enumerate() {
        let w = &e.words[i];
        data[r * l * d..r * l * d + w.len()].copy_from_slice(w);
    }
    PaddedWords { dims: [idx.len(), l, d], data }
}

fn words_tensor(e: &Embedded, idx: &[usize], records: &[WindowRecord], device: &Device) -> Tensor<3> {
    pad_words(e, idx, records).into_device(device)
}

/// Deterministic shuffle (SplitMix64), so a seed fixes the batch order.
fn shuffled(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut state = seed ^ ((epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Linear warm-up then linear decay, as a factor of the base rate.
pub fn schedule(step: usize, total: usize, warmup: f64) -> f64 {
    let warm = ((total as f64) * warmup).ceil().max(1.0);
    let s = step as f64 + 1.0;
    if s <= warm {
        s / warm
    } else {
        ((total as f64 - s) / (total as f64 - warm).max(1.0)).max(0.0)
    }
}

/// Tag names with those of the `auxiliary` types replaced by O: a model that
/// learns auxiliary types is scored on the others only.
pub fn scored_tags(tags: &[String], auxiliary: &[String]) -> Vec<String> {
    tags.iter()
        .map(|t| match t.strip_prefix("B-").or_else(|| t.strip_prefix("I-")) {
            Some(ty) if auxiliary.iter().any(|a| a == ty) => "O".to_string(),
            _ => t.clone(),
        })
        .collect()
}

/// Tag names of each window's words, gold and predicted, for scoring.
pub fn score_windows(records: &[WindowRecord], predicted: &[Vec<usize>], tags: &[String]) -> Score {
    let mut scorer = Scorer::default();
    for (rec, pred) in records.iter().zip(predicted) {
        let gold: Vec<&str> = rec.tags.iter().map(|&t| tags[t as usize].as_str()).collect();
        let guess: Vec<&str> = pred.iter().map(|&t| tags[t].as_str()).collect();
        scorer.add(&gold, &guess);
    }
    scorer.score()
}

/// Emission scores of every window (`[words, N]` row-major, on the host)
/// from a head on cached encoder outputs.
pub fn cached_emissions(head: &EnrelgHead, e: &Embedded, records: &[WindowRecord], device: &Device) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(records.len());
    let idx: Vec<usize> = (0..records.len()).collect();
    for chunk in idx.chunks(64) {
        let batch = make_batch(&chunk.iter().map(|&i| &records[i]).collect::<Vec<_>>(), device);
        out.extend(host_rows(head.emissions(words_tensor(e, chunk, records, device), &batch), batch.word_mask.clone()));
    }
    out
}

/// Emission scores of every window through the full model (encoder included).
pub fn full_emissions(model: &Enrelg, records: &[WindowRecord], device: &Device) -> Vec<Vec<f32>> {
    let mut out = Vec::with_capacity(records.len());
    for chunk in records.chunks(16) {
        let batch = make_batch(&chunk.iter().collect::<Vec<_>>(), device);
        out.extend(host_rows(model.head.emissions(model.words(&batch), &batch), batch.word_mask.clone()));
    }
    out
}

/// The Viterbi path of every window's emissions under one CRF.
pub fn viterbi_all(emissions: &[Vec<f32>], crf: &CrfPotentials) -> Vec<Vec<usize>> {
    emissions.iter().map(|e| crf.viterbi(e)).collect()
}

pub struct TrainInputs<'a> {
    pub shards: &'a Path,
    pub model_dir: &'a Path,
    pub out: &'a Path,
    pub cache_dir: &'a Path,
    pub device: Device,
    /// Continue from `out/last` (the last complete epoch checkpoint).
    pub resume: bool,
    /// Stop (as if interrupted) after this epoch; `--resume` continues.
    pub stop_after: Option<usize>,
    /// Start from the best checkpoint of this run instead of fresh head weights.
    pub init_from: Option<&'a Path>,
}

/// Where training stood after an epoch (`last/state.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct ResumeState {
    epoch: usize,
    step: usize,
    since_best: usize,
    best_epoch: usize,
    best_dev_f1: f64,
    /// Early stopping ended the run at this epoch: a resume has nothing left to train.
    #[serde(default)]
    stopped_early: bool,
    /// SHA-256 of every other file of the checkpoint folder, checked on resume.
    #[serde(default)]
    files: std::collections::BTreeMap<String, String>,
}

/// Write the last-epoch checkpoint: files into a fresh folder, `state.json`
/// last, then swapped in by rename, so a kill at any moment leaves either the
/// previous complete checkpoint or the new one.
fn save_last(out: &Path, state: &ResumeState, write: impl FnOnce(&Path) -> anyhow::Result<()>) -> anyhow::Result<()> {
    let tmp = out.join(format!(".last.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    write(&tmp)?;
    let mut state = state.clone();
    for entry in std::fs::read_dir(&tmp)? {
        let path = entry?.path();
        state.files.insert(path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(), sha256_file(&path)?);
    }
    std::fs::write(tmp.join("state.json"), serde_json::to_string_pretty(&state)?)?;
    let last = out.join("last");
    let old = out.join(format!(".last.old-{}", std::process::id()));
    if last.exists() {
        std::fs::rename(&last, &old)?;
    }
    std::fs::rename(&tmp, &last)?;
    let _ = std::fs::remove_dir_all(&old);
    Ok(())
}

/// The state of the last complete epoch checkpoint, after putting it back in
/// place if a kill came between the two renames of [`save_last`] (then `last`
/// is missing and the complete checkpoint is `.last.old-*` or `.last.tmp-*`:
/// a folder with a readable `state.json` is complete, as that file is written
/// last). `None` when no epoch was completed: the run starts again.
fn load_state(out: &Path) -> anyhow::Result<Option<ResumeState>> {
    let read = |dir: &Path| -> Option<ResumeState> { serde_json::from_slice(&std::fs::read(dir.join("state.json")).ok()?).ok() };
    let last = out.join("last");
    if !last.exists() {
        let mut best: Option<(usize, PathBuf)> = None;
        for entry in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
            let path = entry?.path();
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if name.starts_with(".last.old-") || name.starts_with(".last.tmp-") {
                if let Some(state) = read(&path) {
                    if best.as_ref().is_none_or(|(e, _)| state.epoch > *e) {
                        best = Some((state.epoch, path));
                    }
                }
            }
        }
        if let Some((epoch, dir)) = best {
            tracing::warn!("{}: recovering the epoch {epoch} checkpoint from {}", last.display(), dir.display());
            std::fs::rename(&dir, &last).with_context(|| format!("renaming {} to {}", dir.display(), last.display()))?;
        }
    }
    remove_leftovers(out)?;
    let path = last.join("state.json");
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let state: ResumeState = serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    for (name, expected) in &state.files {
        let found = sha256_file(&last.join(name))?;
        anyhow::ensure!(&found == expected, "{}: SHA-256 differs from the one in state.json; the checkpoint changed after it was written", last.join(name).display());
    }
    Ok(Some(state))
}

/// Remove what killed saves left behind: never complete, never read. Every
/// save in a run folder writes a hidden temporary first (`.last.tmp-*` and
/// `.last.old-*` folders, `.NAME.tmp*` files), so those are all there is to find.
fn remove_leftovers(out: &Path) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(out).with_context(|| format!("reading {}", out.display()))? {
        let path = entry?.path();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if name.starts_with(".last.") {
            std::fs::remove_dir_all(&path).with_context(|| format!("removing {}", path.display()))?;
        } else if name.starts_with('.') && name.contains(".tmp") {
            std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        }
    }
    Ok(())
}

/// Keep the first `n` lines of metrics.jsonl (epochs logged after the last checkpoint are redone).
fn truncate_metrics(path: &Path, n: usize) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let kept: String = text.lines().take(n).map(|l| format!("{l}\n")).collect();
    std::fs::write(path, kept)?;
    Ok(())
}

/// Train, keep the best checkpoint by dev F1, and return the run info.
pub fn train(cfg: &TrainConfig, inp: &TrainInputs) -> anyhow::Result<RunInfo> {
    std::fs::create_dir_all(inp.out).with_context(|| format!("creating {}", inp.out.display()))?;
    let manifest = ShardManifest::read(inp.shards)?;
    let shard_sha = sha256_file(&inp.shards.join("manifest.json"))?;
    let model_sha = sha256_file(&crate::model::bert::weights_path(inp.model_dir)?)?;
    let dev_split = manifest.splits.iter().find(|s| matches!(s.as_str(), "dev" | "devel")).context("shards have no dev split")?.clone();
    let kinds = cfg.dependency_variant.kinds();
    let mut train_recs = load_split(inp.shards, "train", kinds)?;
    let mut dev_recs = load_split(inp.shards, &dev_split, kinds)?;
    // Built from the training split alone, the same on every (re)run.
    let vocab = (cfg.word_dim > 0).then(|| crate::vocab::WordVocab::from_forms(train_recs.iter().flat_map(|r| r.forms.iter().map(String::as_str)), cfg.word_min_count));
    if let Some(v) = &vocab {
        tracing::info!("word vocabulary: {} words seen at least {} times in train", v.words().len(), cfg.word_min_count);
        train_recs.iter_mut().chain(dev_recs.iter_mut()).for_each(|r| r.set_word_ids(v));
    }
    let plain = inp.device.clone();
    plain.seed(cfg.seed);
    let auto = plain.clone().autodiff();
    let encoder = BertEncoder::from_pretrained(inp.model_dir, &plain)?;
    let d_encoder = encoder.d_model();
    let tags = manifest.tags.clone();
    let mcfg = cfg.model_config(tags.len(), d_encoder, encoder.num_hidden_states(), vocab.as_ref().map_or(0, |v| v.size()));
    let mut info = RunInfo {
        format_version: RUN_FORMAT_VERSION,
        config: cfg.clone(),
        shards: inp.shards.to_path_buf(),
        shard_manifest_sha256: shard_sha.clone(),
        model: inp.model_dir.to_path_buf(),
        model_sha256: model_sha.clone(),
        tokenizer_sha256: manifest.tokenizer.sha256.clone(),
        tags: tags.clone(),
        window: manifest.window,
        d_encoder,
        best_epoch: 0,
        best_dev_f1: -1.0,
        checkpoint_sha256: None,
        word_vocab: vocab.map(|v| v.words().to_vec()).unwrap_or_default(),
        auxiliary_types: manifest.auxiliary_types.clone(),
        warm_start: None,
    };
    let mut prev_warm = None;
    let resumed = if inp.resume {
        let prev = RunInfo::read(inp.out).context("resume")?;
        prev_warm = prev.warm_start.clone();
        anyhow::ensure!(
            prev.shard_manifest_sha256 == shard_sha && prev.model_sha256 == model_sha,
            "resume: {} was trained on other shards or another checkpoint",
            inp.out.display()
        );
        match load_state(inp.out)? {
            Some(state) => {
                truncate_metrics(&inp.out.join("metrics.jsonl"), state.epoch)?;
                info.best_epoch = state.best_epoch;
                info.best_dev_f1 = state.best_dev_f1;
                Some(state)
            }
            None => {
                // Killed before its first epoch checkpoint: nothing to keep.
                tracing::warn!("{}: no complete epoch checkpoint yet; training from epoch 1", inp.out.display());
                None
            }
        }
    } else {
        remove_leftovers(inp.out)?;
        None
    };
    // A resumed run keeps the warm start it began with, and loads it again
    // only when no epoch checkpoint was written yet (otherwise the starting
    // run is not read at all: it may be gone).
    let warm = match (&resumed, inp.resume) {
        (Some(_), _) => None,
        (None, true) => prev_warm.as_ref().map(|w| w.run.clone()),
        (None, false) => inp.init_from.map(Path::to_path_buf),
    }
    .map(|from| warm_start(&from, &info, &mcfg, encoder.num_hidden_states()))
    .transpose()?;
    if let (Some(old), Some((new, _))) = (&prev_warm, &warm) {
        anyhow::ensure!(old.checkpoint_sha256 == new.checkpoint_sha256, "resume: {} changed since this run started from it", old.run.display());
    }
    info.warm_start = warm.as_ref().map(|(w, _)| w.clone()).or(prev_warm);
    let init_file = warm.map(|(_, file)| file);
    // run.json from the start, so a killed run can be resumed.
    write_run_info(inp.out, &mut info)?;
    let metrics = std::fs::OpenOptions::new().create(true).append(true).truncate(false).open(inp.out.join("metrics.jsonl"))?;
    if resumed.is_none() {
        metrics.set_len(0)?;
    }
    let scoring_tags = info.scored_tags();
    if !manifest.auxiliary_types.is_empty() {
        tracing::info!("learning the auxiliary types {:?} too; dev F1 counts the others", manifest.auxiliary_types);
    }
    let steps_per_epoch = train_recs.len().div_ceil(cfg.batch_size);
    let state = resumed.clone().unwrap_or_default();
    let first_epoch = if state.stopped_early { cfg.max_epochs + 1 } else { state.epoch + 1 };
    let mut epochs = Epochs {
        cfg,
        out: inp.out,
        stop_after: inp.stop_after,
        metrics,
        info,
        since_best: state.since_best,
        step: state.step,
        steps_per_epoch,
        total_steps: steps_per_epoch * cfg.max_epochs,
        dev_recs: &dev_recs,
        tags: &scoring_tags,
    };
    let total_steps = epochs.total_steps;
    let best = inp.out.join(epochs.info.checkpoint_file());
    let last = inp.out.join("last");
    let load_err = |e: burn::store::RecordError| anyhow::anyhow!("loading the last checkpoint: {e:?}");
    let init_err = |e: burn::store::RecordError| anyhow::anyhow!("loading the warm-start checkpoint: {e:?}");

    if cfg.freeze_encoder {
        let cache = |split: &str, recs: &[WindowRecord]| cfg.cache_file(inp.cache_dir, &windows_sha256(recs), &model_sha, split);
        let train_e = embed(&encoder, &train_recs, cfg.layer_mix, cfg.word_pool, &cache("train", &train_recs), &plain, "train")?;
        let dev_e = embed(&encoder, &dev_recs, cfg.layer_mix, cfg.word_pool, &cache(&dev_split, &dev_recs), &plain, &dev_split)?;
        let mut head = mcfg.init_head(&auto);
        if let Some(file) = &init_file {
            head = head.try_load_file(file).map_err(init_err)?;
        }
        let mut optim = cfg.optimizer().init();
        if resumed.is_some() {
            head = head.try_load_file(last.join("module.bpk")).map_err(load_err)?;
            optim = optim.load(last.join("optim.bpk")).map_err(load_err)?;
        }
        for epoch in first_epoch..=cfg.max_epochs {
            let (t0, order, bar) = epochs.start(epoch, &auto, train_recs.len())?;
            let (mut loss_sum, mut subtokens, mut step) = (0.0, 0usize, epochs.step);
            let prepare = |idx: &[usize]| {
                let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &train_recs[i]).collect();
                (pad(&refs), pad_words(&train_e, idx, &train_recs))
            };
            // The optimizer takes the module by value; the slot lends it out inside the closure.
            let mut slot = Some(head);
            prefetched(&order, cfg.batch_size, prepare, |idx, (padded, words)| {
                let current = slot.take().context("model lost by a failed step")?;
                subtokens += idx.iter().map(|&i| train_recs[i].input_ids.len()).sum::<usize>();
                let batch = padded.into_device(&auto);
                let loss = current.loss(words.into_device(&auto), &batch);
                let grads = GradientsParams::from_grads(loss.backward(), &current);
                let value: f64 = loss.into_scalar::<f64>();
                loss_sum += value;
                let lr = cfg.lr_head * schedule(step, total_steps, cfg.warmup);
                slot = Some(optim.step(lr, current, grads));
                step += 1;
                bar.set_message(format!("loss {value:.3}"));
                bar.inc(1);
                Ok(())
            })?;
            head = slot.context("model lost by a failed step")?;
            bar.finish_and_clear();
            epochs.step = step;
            let valid = head.valid();
            let pred = viterbi_all(&cached_emissions(&valid, &dev_e, &dev_recs, &plain), &valid.crf.potentials());
            let stop = epochs.finish(epoch, t0, loss_sum, subtokens, &pred, || save_atomic(head.valid(), &best), |dir| {
                head.clone().save_file(dir.join("module.bpk")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                optim.save(dir.join("optim.bpk")).map_err(|e| anyhow::anyhow!("{e:?}"))
            })?;
            if stop {
                break;
            }
        }
    } else {
        let mut model = Enrelg { encoder: encoder.to_device(&auto), head: mcfg.init_head(&auto) };
        let mut optim_enc = cfg.optimizer().init();
        let mut optim_head = cfg.optimizer().init();
        match (&init_file, &epochs.info.warm_start) {
            (Some(file), Some(w)) if w.frozen => model.head = model.head.try_load_file(file).map_err(init_err)?,
            (Some(file), _) => model = model.try_load_file(file).map_err(init_err)?,
            (None, _) => {}
        }
        if resumed.is_some() {
            model = model.try_load_file(last.join("module.bpk")).map_err(load_err)?;
            optim_enc = optim_enc.load(last.join("optim_encoder.bpk")).map_err(load_err)?;
            optim_head = optim_head.load(last.join("optim_head.bpk")).map_err(load_err)?;
        }
        for epoch in first_epoch..=cfg.max_epochs {
            let (t0, order, bar) = epochs.start(epoch, &auto, train_recs.len())?;
            let (mut loss_sum, mut subtokens, mut step) = (0.0, 0usize, epochs.step);
            let prepare = |idx: &[usize]| pad(&idx.iter().map(|&i| &train_recs[i]).collect::<Vec<_>>());
            let mut slot = Some(model);
            prefetched(&order, cfg.batch_size, prepare, |idx, padded| {
                let mut current = slot.take().context("model lost by a failed step")?;
                subtokens += idx.iter().map(|&i| train_recs[i].input_ids.len()).sum::<usize>();
                let batch = padded.into_device(&auto);
                let loss = current.loss(&batch);
                let mut grads = loss.backward();
                let value: f64 = loss.into_scalar::<f64>();
                loss_sum += value;
                let factor = schedule(step, total_steps, cfg.warmup);
                let g_enc = GradientsParams::from_module(&mut grads, &current.encoder);
                let g_head = GradientsParams::from_module(&mut grads, &current.head);
                current.encoder = optim_enc.step(cfg.lr_encoder * factor, current.encoder, g_enc);
                current.head = optim_head.step(cfg.lr_head * factor, current.head, g_head);
                slot = Some(current);
                step += 1;
                bar.set_message(format!("loss {value:.3}"));
                bar.inc(1);
                Ok(())
            })?;
            model = slot.context("model lost by a failed step")?;
            bar.finish_and_clear();
            epochs.step = step;
            let valid = model.valid();
            let pred = viterbi_all(&full_emissions(&valid, &dev_recs, &plain), &valid.head.crf.potentials());
            let stop = epochs.finish(epoch, t0, loss_sum, subtokens, &pred, || save_atomic(model.valid(), &best), |dir| {
                model.clone().save_file(dir.join("module.bpk")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                optim_enc.save(dir.join("optim_encoder.bpk")).map_err(|e| anyhow::anyhow!("{e:?}"))?;
                optim_head.save(dir.join("optim_head.bpk")).map_err(|e| anyhow::anyhow!("{e:?}"))
            })?;
            if stop {
                break;
            }
        }
    }
    let mut info = epochs.info;
    write_run_info(inp.out, &mut info)?;
    Ok(info)
}

/// Check that run `from` can start this one: the same encoder weights, tags,
/// word vocabulary and model shape, and a frozen run only from a frozen one
/// (its cached encoder outputs are those of the pretrained encoder). Returns
/// the warm start and the checkpoint to load.
fn warm_start(from: &Path, info: &RunInfo, mcfg: &EnrelgConfig, hidden_states: usize) -> anyhow::Result<(WarmStart, PathBuf)> {
    let prev = RunInfo::read(from).context("--init-from")?;
    let name = from.display();
    anyhow::ensure!(prev.format_version == RUN_FORMAT_VERSION, "--init-from {name}: run format version {} but this build reads version {RUN_FORMAT_VERSION}", prev.format_version);
    anyhow::ensure!(prev.model_sha256 == info.model_sha256, "--init-from {name}: trained from another encoder checkpoint (sha256 {} vs {})", &prev.model_sha256[..12], &info.model_sha256[..12]);
    anyhow::ensure!(prev.tags == info.tags, "--init-from {name}: tags {:?} differ from these shards' {:?}", prev.tags, info.tags);
    anyhow::ensure!(prev.word_vocab == info.word_vocab, "--init-from {name}: its word vocabulary ({} words) differs from this run's ({} words)", prev.word_vocab.len(), info.word_vocab.len());
    let shape = |c: &EnrelgConfig| serde_json::to_value(c).map(|mut v| {
        // The word vocabulary was compared above and dropout rates may
        // change; the rest fixes every parameter's shape and meaning.
        if let Some(m) = v.as_object_mut() {
            for key in ["word_vocab", "dropout", "gat_dropout"] {
                m.remove(key);
            }
        }
        v
    });
    let prev_mcfg = prev.config.model_config(prev.tags.len(), prev.d_encoder, hidden_states, mcfg.word_vocab);
    anyhow::ensure!(shape(&prev_mcfg)? == shape(mcfg)?, "--init-from {name}: its model has another shape:\n  that run: {}\n  this run: {}", shape(&prev_mcfg)?, shape(mcfg)?);
    anyhow::ensure!(
        !info.config.freeze_encoder || prev.config.freeze_encoder,
        "--init-from {name}: that run fine-tuned its encoder, but a frozen run trains on the pretrained encoder's outputs; fine-tune this one too (--fine-tune)"
    );
    let (checkpoint, sha) = prev.checked_checkpoint(from).context("--init-from")?;
    tracing::info!("starting from {} (best dev F1 {:.2} at epoch {})", checkpoint.display(), prev.best_dev_f1, prev.best_epoch);
    Ok((WarmStart { run: from.to_path_buf(), checkpoint_sha256: sha, frozen: prev.config.freeze_encoder }, checkpoint))
}

/// What every epoch does before and after its training steps, the same for
/// the frozen and the fine-tuned loop: seeding and shuffling, then dev
/// scoring, the metrics log, the best checkpoint, run.json and the resume
/// checkpoint.
struct Epochs<'a> {
    cfg: &'a TrainConfig,
    out: &'a Path,
    stop_after: Option<usize>,
    metrics: std::fs::File,
    info: RunInfo,
    since_best: usize,
    /// Optimizer steps taken so far (the learning-rate schedule's position).
    step: usize,
    steps_per_epoch: usize,
    total_steps: usize,
    dev_recs: &'a [WindowRecord],
    tags: &'a [String],
}

impl Epochs<'_> {
    /// Seed the epoch's dropout, shuffle the training windows, open a progress bar.
    fn start(&self, epoch: usize, device: &Device, windows: usize) -> anyhow::Result<(Instant, Vec<usize>, ProgressBar)> {
        device.seed(epoch_seed(self.cfg.seed, epoch));
        Ok((Instant::now(), shuffled(windows, self.cfg.seed, epoch), progress(self.steps_per_epoch, epoch)?))
    }

    /// Score the dev predictions, log the epoch, keep the best checkpoint and
    /// write the resume checkpoint; true when training should stop.
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &mut self,
        epoch: usize,
        t0: Instant,
        loss_sum: f64,
        subtokens: usize,
        pred: &[Vec<usize>],
        save_best: impl FnOnce() -> anyhow::Result<()>,
        save_last_files: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<bool> {
        let score = score_windows(self.dev_recs, pred, self.tags);
        let lr = self.cfg.lr_head * schedule(self.step.saturating_sub(1), self.total_steps, self.cfg.warmup);
        log_epoch(&mut self.metrics, epoch, loss_sum / self.steps_per_epoch as f64, &score, t0.elapsed().as_secs_f64(), subtokens, lr)?;
        let stop = end_epoch(&mut self.info, &mut self.since_best, self.cfg.patience, epoch, &score, save_best)?;
        write_run_info(self.out, &mut self.info)?;
        let state = ResumeState {
            epoch,
            step: self.step,
            since_best: self.since_best,
            best_epoch: self.info.best_epoch,
            best_dev_f1: self.info.best_dev_f1,
            stopped_early: stop,
            ..Default::default()
        };
        save_last(self.out, &state, save_last_files)?;
        Ok(stop || self.stop_after == Some(epoch))
    }
}

/// Write run.json atomically, with the checksum of the best checkpoint on disk.
fn write_run_info(out: &Path, info: &mut RunInfo) -> anyhow::Result<()> {
    let checkpoint = out.join(info.checkpoint_file());
    info.checkpoint_sha256 = if checkpoint.exists() { Some(sha256_file(&checkpoint)?) } else { None };
    let tmp = out.join(".run.json.tmp");
    std::fs::write(&tmp, serde_json::to_string_pretty(info)? + "\n")?;
    std::fs::rename(&tmp, out.join("run.json"))?;
    Ok(())
}

/// The RNG seed of an epoch (dropout masks), so a resumed run draws what an uninterrupted one would.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ epoch as u64
}

/// Keep the checkpoint when dev F1 improved; returns true when training should stop early.
fn end_epoch(info: &mut RunInfo, since_best: &mut usize, patience: usize, epoch: usize, score: &Score, save: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<bool> {
    if score.micro.f1 > info.best_dev_f1 {
        info.best_dev_f1 = score.micro.f1;
        info.best_epoch = epoch;
        *since_best = 0;
        save()?;
        return Ok(false);
    }
    *since_best += 1;
    if *since_best >= patience {
        tracing::info!("early stop after epoch {epoch}: no better dev F1 for {patience} epochs");
        return Ok(true);
    }
    Ok(false)
}

fn progress(steps: usize, epoch: usize) -> anyhow::Result<ProgressBar> {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} batches {msg} ({per_sec}, eta {eta})")?.progress_chars("=> "));
    bar.set_prefix(epoch.to_string());
    Ok(bar)
}

fn log_epoch(out: &mut std::fs::File, epoch: usize, loss: f64, score: &Score, secs: f64, subtokens: usize, lr: f64) -> anyhow::Result<()> {
    let log = EpochLog {
        epoch,
        loss,
        dev_precision: score.micro.precision,
        dev_recall: score.micro.recall,
        dev_f1: score.micro.f1,
        seconds: secs,
        subtokens_per_second: subtokens as f64 / secs.max(1e-9),
        lr_head: lr,
    };
    writeln!(out, "{}", serde_json::to_string(&log)?)?;
    out.flush()?;
    tracing::info!("epoch {epoch}: loss {loss:.4}, dev P {:.2} R {:.2} F1 {:.2}, {secs:.1} s", score.micro.precision, score.micro.recall, score.micro.f1);
    Ok(())
}

/// Load a trained run for evaluation or prediction.
pub struct LoadedRun {
    pub info: RunInfo,
    pub encoder: BertEncoder,
    pub head: EnrelgHead,
    /// The word vocabulary, built once from `info` when the model embeds words.
    pub vocab: Option<crate::vocab::WordVocab>,
    /// SHA-256 of the checkpoint loaded (checked against run.json).
    pub checkpoint_sha256: String,
}

pub fn load_run(run: &Path, device: &Device) -> anyhow::Result<LoadedRun> {
    let path = run.join("run.json");
    let info = RunInfo::read(run)?;
    anyhow::ensure!(
        info.format_version == RUN_FORMAT_VERSION,
        "{}: run format version {} but this build reads version {RUN_FORMAT_VERSION}; retrain with this build",
        path.display(),
        info.format_version
    );
    info.label_set().with_context(|| format!("{}", path.display()))?;
    let (checkpoint, checkpoint_sha256) = info.checked_checkpoint(run)?;
    let load_err = |e: burn::store::RecordError| anyhow::anyhow!("{}: {e:?}", checkpoint.display());
    let encoder = BertEncoder::from_pretrained(&info.model, device)?;
    let vocab = info.vocab();
    let mcfg = info.config.model_config(info.tags.len(), info.d_encoder, encoder.num_hidden_states(), vocab.as_ref().map_or(0, |v| v.size()));
    if info.config.freeze_encoder {
        let head = mcfg.init_head(device).try_load_file(&checkpoint).map_err(load_err)?;
        Ok(LoadedRun { info, encoder, head, vocab, checkpoint_sha256 })
    } else {
        let model = Enrelg { encoder, head: mcfg.init_head(device) }.try_load_file(&checkpoint).map_err(load_err)?;
        Ok(LoadedRun { info, encoder: model.encoder, head: model.head, vocab, checkpoint_sha256 })
    }
}

/// Evaluate a run on a split: score plus CoNLL lines (`word gold predicted`).
pub fn evaluate(run: &LoadedRun, split: &str, cache_dir: &Path, device: &Device) -> anyhow::Result<(Score, String)> {
    let records = split_records(run, split)?;
    let pred = viterbi_all(&window_emissions(run, &records, split, cache_dir, device)?, &run.head.crf.potentials());
    score_predictions(&run.info, split, &records, &pred)
}

/// The windows of a split of the run's shards, after checking that the
/// shards are those it was trained on, with the run's graphs and word ids.
pub fn split_records(run: &LoadedRun, split: &str) -> anyhow::Result<Vec<WindowRecord>> {
    let shards = &run.info.shards;
    let manifest_sha = sha256_file(&shards.join("manifest.json"))?;
    anyhow::ensure!(
        manifest_sha == run.info.shard_manifest_sha256,
        "{} changed since the run was trained (manifest sha256 {} vs {}); retrain or point the run at the original shards",
        shards.display(),
        &manifest_sha[..12],
        &run.info.shard_manifest_sha256[..12]
    );
    let mut records = load_split(shards, split, run.info.config.dependency_variant.kinds())?;
    if let Some(v) = &run.vocab {
        records.iter_mut().for_each(|r| r.set_word_ids(v));
    }
    Ok(records)
}

/// The emission scores of every window, `[words, N]` row-major, on the host:
/// from cached encoder outputs for a frozen run, else through its encoder.
pub fn window_emissions(run: &LoadedRun, records: &[WindowRecord], split: &str, cache_dir: &Path, device: &Device) -> anyhow::Result<Vec<Vec<f32>>> {
    let cfg = &run.info.config;
    if cfg.freeze_encoder {
        let cache = cfg.cache_file(cache_dir, &windows_sha256(records), &run.info.model_sha256, split);
        let e = embed(&run.encoder, records, cfg.layer_mix, cfg.word_pool, &cache, device, split)?;
        Ok(cached_emissions(&run.head, &e, records, device))
    } else {
        Ok(full_emissions(&Enrelg { encoder: run.encoder.clone(), head: run.head.clone() }, records, device))
    }
}

/// Score predicted tag ids against the windows' gold tags (auxiliary types
/// read as O) and lay them out as CoNLL lines (`word gold predicted`).
pub fn score_predictions(info: &RunInfo, split: &str, records: &[WindowRecord], pred: &[Vec<usize>]) -> anyhow::Result<(Score, String)> {
    let tags = info.scored_tags();
    let score = score_windows(records, pred, &tags);
    let tokens = enrelg_pipeline::shard::read_table(&info.shards, split, "tokens")?;
    let forms: Vec<String> = tokens.column("form")?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    let docs: Vec<String> = tokens.column("doc_id")?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    let mut row_of = std::collections::HashMap::new();
    let idx: Vec<u32> = tokens.column("idx")?.u32()?.into_no_null_iter().collect();
    for (row, (d, i)) in docs.iter().zip(&idx).enumerate() {
        row_of.insert((d.clone(), *i), row);
    }
    let mut conll = String::new();
    for (rec, p) in records.iter().zip(pred) {
        for (w, (&g, &t)) in rec.tags.iter().zip(p).enumerate() {
            let form = row_of.get(&(rec.doc_id.clone(), rec.word_start + w as u32)).map_or("?", |&r| forms[r].as_str());
            conll += &format!("{form} {} {}\n", tags[g as usize], tags[t]);
        }
        conll.push('\n');
    }
    Ok((score, conll))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(epoch: usize) -> ResumeState {
        ResumeState { epoch, step: epoch * 10, ..Default::default() }
    }

    #[test]
    fn the_encoder_cache_key_is_what_the_encoder_sees() {
        let rec = WindowRecord {
            window_id: 0,
            doc_id: "d".into(),
            word_start: 0,
            input_ids: vec![101, 7592, 2088, 102],
            word_first_subtoken: vec![1, 2],
            tags: vec![0, 1],
            shapes: vec![0, 0],
            chars: vec![vec![1], vec![2]],
            forms: vec!["hello".into(), "world".into()],
            word_ids: Vec::new(),
            coref: vec![(0, 1)],
            dep: Vec::new(),
        };
        let key = windows_sha256(std::slice::from_ref(&rec));
        // Labels and graphs do not change the encoder's outputs, nor the key.
        let relabelled = WindowRecord { tags: vec![3, 4], coref: Vec::new(), ..rec.clone() };
        assert_eq!(windows_sha256(&[relabelled]), key);
        // Subtokens and word boundaries do.
        assert_ne!(windows_sha256(&[WindowRecord { input_ids: vec![101, 7592, 2089, 102], ..rec.clone() }]), key);
        assert_ne!(windows_sha256(&[WindowRecord { word_first_subtoken: vec![1], ..rec.clone() }]), key);
        assert_ne!(windows_sha256(&[rec.clone(), rec]), key);
    }

    #[test]
    fn a_kill_between_the_checkpoint_renames_is_recovered() {
        let out = std::env::temp_dir().join(format!("enrelg-last-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        save_last(&out, &state(1), |_| Ok(())).unwrap();
        assert_eq!(load_state(&out).unwrap().unwrap().epoch, 1);
        // Every checkpoint file is checked against state.json.
        save_last(&out, &state(1), |dir| Ok(std::fs::write(dir.join("module.bpk"), b"weights")?)).unwrap();
        assert_eq!(load_state(&out).unwrap().unwrap().files.len(), 1);
        std::fs::write(out.join("last/module.bpk"), b"weighs").unwrap();
        assert!(load_state(&out).unwrap_err().to_string().contains("module.bpk: SHA-256 differs"));
        save_last(&out, &state(1), |_| Ok(())).unwrap();
        // Killed after `last` became `.last.old-*` and before `.last.tmp-*` took its place:
        std::fs::rename(out.join("last"), out.join(".last.old-41")).unwrap();
        std::fs::create_dir_all(out.join(".last.tmp-41")).unwrap();
        std::fs::write(out.join(".last.tmp-41/state.json"), serde_json::to_string(&state(2)).unwrap()).unwrap();
        // and a tmp folder of an earlier kill, killed before its state.json was written.
        std::fs::create_dir_all(out.join(".last.tmp-7")).unwrap();
        std::fs::write(out.join(".head.bpk.tmp-7"), b"half").unwrap();
        assert_eq!(load_state(&out).unwrap().unwrap().epoch, 2);
        let left: Vec<String> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["last"]);
        // A half-written state.json is not a complete checkpoint.
        std::fs::rename(out.join("last"), out.join(".last.tmp-9")).unwrap();
        std::fs::write(out.join(".last.tmp-9/state.json"), b"{\"epo").unwrap();
        assert!(load_state(&out).unwrap().is_none());
        assert!(std::fs::read_dir(&out).unwrap().next().is_none(), "the incomplete folder is removed");
        std::fs::remove_dir_all(&out).unwrap();
    }
}
