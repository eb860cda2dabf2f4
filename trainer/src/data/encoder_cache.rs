//! The frozen-encoder cache: a frozen encoder's word vectors are the same
//! every epoch, so they are computed once per split and kept on disk, keyed
//! by what the encoder sees (subtoken ids and word starts) and its weights.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use enrelg_pipeline::fs::write_atomic;
use indicatif::{ProgressBar, ProgressStyle};
use sha2::Digest;

use crate::config::TrainConfig;
use crate::data::{make_batch, WindowRecord};
use crate::model::inference::{HostEncoder, Precision, HOST_PASS_WINDOWS};
use crate::model::pooling::encoder_words;
use crate::model::{BertEncoder, WordPool};

/// Encoder word vectors of each window, `[words, width]` row-major.
#[derive(Default)]
pub struct Embedded {
    /// Floats per word: the encoder's size, or that times its hidden states with the layer mix.
    pub width: usize,
    pub words: Vec<Vec<f32>>,
}

/// SHA-256 of what the encoder sees of each window (its subtoken ids, the
/// first subtoken of each word and, with document context, its extent): the key of the frozen-encoder cache, so
/// shards that differ only in labels or graphs share their encoder outputs.
pub fn windows_sha256(records: &[WindowRecord]) -> String {
    let mut h = sha2::Sha256::new();
    for r in records {
        for list in [&r.input_ids, &r.word_first_subtoken] {
            h.update((list.len() as u64).to_le_bytes());
            list.iter().for_each(|v| h.update(v.to_le_bytes()));
        }
        // Where a window's own subtokens end; hashed only with context, so
        // the keys of windows without it stay those of earlier builds.
        if r.right_context > 0 {
            h.update(r.right_context.to_le_bytes());
        }
    }
    format!("{:x}", h.finalize())
}

/// The version of the encoder's numerics in cache file names, raised whenever a change to the
/// encoder's kernels moves its outputs, even by rounding, so that a cache an older build wrote is
/// not read as this build's (a frozen run trains and scores on the cache, `predict` runs the
/// encoder live, and the two must agree). 2: the fused attention (`model::kernels::attention`); 3: the host encoder
/// (`model::inference`).
const ENCODER_NUMERICS: u32 = 3;

/// The cache file of one split's windows for these weights: the layer mix
/// caches every hidden state and mean pooling other vectors, so each has its own file.
pub fn cache_file(
    cfg: &TrainConfig,
    cache_dir: &Path,
    records: &[WindowRecord],
    model_sha: &str,
    split: &str,
) -> PathBuf {
    let mix = if cfg.model.layer_mix { "-all-layers" } else { "" };
    let pool = match cfg.model.word_pool {
        WordPool::First => "",
        WordPool::Mean => "-mean",
    };
    cache_dir.join(format!(
        "{}-{}-e{ENCODER_NUMERICS}{mix}{pool}-{split}.bin",
        &windows_sha256(records)[..16],
        &model_sha[..16]
    ))
}

/// The frozen encoder's word vectors of `records` under `cfg` (last layer,
/// or every hidden state side by side with the layer mix), from the cache
/// file when it holds them, else computed and cached.
pub fn embed(
    encoder: &BertEncoder,
    cfg: &TrainConfig,
    records: &[WindowRecord],
    cache: &Path,
    device: &Device,
    label: &str,
) -> anyhow::Result<Embedded> {
    let all_layers = cfg.model.layer_mix;
    let d = encoder.d_model() * if all_layers { encoder.num_hidden_states() } else { 1 };
    if let Ok(bytes) = std::fs::read(cache) {
        if let Some(e) = decode(&bytes, records, d) {
            tracing::info!("encoder outputs for {label} from {}", cache.display());
            return Ok(e);
        }
        tracing::warn!("{} is incomplete or stale; recomputing", cache.display());
    }
    let bar = ProgressBar::new(records.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "encoding {msg} [{bar:30}] {pos}/{len} windows ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    let mut words = Vec::with_capacity(records.len());
    let host = HostEncoder::for_inference(encoder, Precision::F32, device);
    // The host encoder packs windows without padding, so more per pass only fills its products.
    let per_pass = if host.is_some() { HOST_PASS_WINDOWS } else { 16 };
    for chunk in records.chunks(per_pass) {
        let refs: Vec<&WindowRecord> = chunk.iter().collect();
        let batch = make_batch(&refs, device);
        let pooled = encoder_words(encoder, host.as_ref(), &batch, all_layers, cfg.model.word_pool);
        let l = pooled.dims()[1];
        let flat: Vec<f32> = pooled
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| anyhow::anyhow!("reading encoder outputs back: {e:?}"))?;
        for (r, rec) in chunk.iter().enumerate() {
            let n = rec.word_first_subtoken.len();
            words.push(flat[r * l * d..(r * l + n) * d].to_vec());
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    let e = Embedded { width: d, words };
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir)?;
    }
    write_atomic(cache, &encode(&e))?;
    Ok(e)
}

const MAGIC: &[u8; 8] = b"ENRELGE1";

/// `MAGIC`, width, windows, then each window's length and floats
/// (little-endian), and last the SHA-256 of all that: a half-written or
/// corrupted cache never validates.
fn encode(e: &Embedded) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&(e.width as u64).to_le_bytes());
    bytes.extend_from_slice(&(e.words.len() as u64).to_le_bytes());
    for w in &e.words {
        bytes.extend_from_slice(&(w.len() as u64).to_le_bytes());
        for v in w {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
    }
    let sum = sha2::Sha256::digest(&bytes);
    bytes.extend_from_slice(&sum);
    bytes
}

fn decode(bytes: &[u8], records: &[WindowRecord], d: usize) -> Option<Embedded> {
    let (body, sum) = bytes.split_at(bytes.len().checked_sub(32)?);
    if sha2::Sha256::digest(body).as_slice() != sum || body.get(..8)? != MAGIC {
        return None;
    }
    let u64_at = |at: usize| -> Option<usize> {
        Some(u64::from_le_bytes(body.get(at..at + 8)?.try_into().ok()?) as usize)
    };
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
        words.push(
            raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        );
        at += 4 * n;
    }
    Some(Embedded { width: d, words })
}

/// Padded `[B, L, H]` word vectors of a batch from the cache, on the host
/// (what the data thread prepares).
pub struct PaddedWords {
    dims: [usize; 3],
    data: Vec<f32>,
}

impl PaddedWords {
    /// Write the vectors as `PREFIX-words.npy` into `dir` (see [`crate::data::PaddedBatch::export`]).
    pub fn export(&self, dir: &Path, prefix: &str) -> anyhow::Result<()> {
        crate::data::npy::write(
            &dir.join(format!("{prefix}-words.npy")),
            &self.dims,
            crate::data::npy::NpyData::F32(&self.data),
        )
    }

    pub fn into_device(self, device: &Device) -> Tensor<3> {
        Tensor::from_data(TensorData::new(self.data, self.dims), device)
    }
}

impl Embedded {
    /// The windows `idx` of `records`, padded to the longest.
    pub fn pad(&self, idx: &[usize], records: &[WindowRecord]) -> PaddedWords {
        let l = idx.iter().map(|&i| records[i].word_first_subtoken.len()).max().unwrap_or(1).max(1);
        let d = self.width;
        let mut data = vec![0f32; idx.len() * l * d];
        for (r, &i) in idx.iter().enumerate() {
            let w = &self.words[i];
            data[r * l * d..r * l * d + w.len()].copy_from_slice(w);
        }
        PaddedWords { dims: [idx.len(), l, d], data }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_encoder_cache_key_is_what_the_encoder_sees() {
        let rec = WindowRecord::for_test(&["hello", "world"]);
        let key = windows_sha256(std::slice::from_ref(&rec));
        // Labels and graphs do not change the encoder's outputs, nor the key.
        let relabelled = WindowRecord { tags: vec![3, 4], coref: Vec::new(), ..rec.clone() };
        assert_eq!(windows_sha256(&[relabelled]), key);
        // Subtokens and word boundaries do.
        let mut other_ids = rec.clone();
        other_ids.input_ids[2] += 1;
        assert_ne!(windows_sha256(&[other_ids]), key);
        assert_ne!(
            windows_sha256(&[WindowRecord { word_first_subtoken: vec![1], ..rec.clone() }]),
            key
        );
        assert_ne!(windows_sha256(&[rec.clone(), rec]), key);
    }

    #[test]
    fn a_cache_round_trips_and_rejects_any_change() {
        let recs = [WindowRecord::for_test(&["a", "b"]), WindowRecord::for_test(&["c"])];
        let e = Embedded { width: 2, words: vec![vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0]] };
        let bytes = encode(&e);
        assert_eq!(decode(&bytes, &recs, 2).unwrap().words, e.words);
        assert!(decode(&bytes, &recs, 3).is_none(), "another width");
        assert!(decode(&bytes, &recs[..1], 2).is_none(), "other windows");
        let mut flipped = bytes.clone();
        flipped[30] ^= 1;
        assert!(decode(&flipped, &recs, 2).is_none(), "a changed byte");
        assert!(decode(&bytes[..bytes.len() - 1], &recs, 2).is_none(), "a truncated file");
    }
}
