//! Inference: emission scores on the host and Viterbi decoding, the same
//! steps for dev scoring during training, `eval`, `ensemble` and `predict`.

use std::path::Path;

use burn::tensor::{Device, Tensor};
use enrelg_pipeline::fs::sha256_file;
use enrelg_schemas::tables::MANIFEST;

use crate::data::encoder_cache::{cache_file, embed, Embedded};
use crate::data::{load_split, pad_for, plan_batches, WindowRecord};
use crate::model::crf::{host_rows, CrfPotentials};
use crate::model::inference::{HostEncoder, Precision};
use crate::model::{Batch, CorefScope, Enrelg, EnrelgHead};
use crate::run::LoadedRun;

/// Windows per forward pass, on cached encoder outputs or through the
/// encoder. One size for both, since in document scope it is also the
/// longest group of a document's windows that share one graph, and the
/// scores must not depend on how they were computed.
pub const INFERENCE_WINDOWS: usize = 64;

/// What inference reads off the head for every word: the emission scores (`[words, N]`) or the
/// word representations before the output layer (`[words, D]`, [`EnrelgHead::features`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadOutput {
    Emissions,
    Features,
}

impl HeadOutput {
    fn rows(
        self,
        head: &EnrelgHead,
        words: Tensor<3>,
        batch: &Batch,
    ) -> anyhow::Result<Vec<Vec<f32>>> {
        let out = match self {
            Self::Emissions => head.emissions(words, batch),
            Self::Features => head.features(words, batch),
        };
        Ok(host_rows(out, batch.word_mask.clone())?)
    }
}

/// Emission scores of every window (`[words, N]` row-major, on the host)
/// from a head on cached encoder outputs, in batches of the run's coreference `scope` (the data's
/// setting: which edges a batch carries, and whether a document's windows share one).
pub fn cached_emissions(
    head: &EnrelgHead,
    e: &Embedded,
    records: &[WindowRecord],
    scope: CorefScope,
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    cached_rows(head, e, records, scope, device, HeadOutput::Emissions)
}

/// [`cached_emissions`], or the word representations with [`HeadOutput::Features`].
pub fn cached_rows(
    head: &EnrelgHead,
    e: &Embedded,
    records: &[WindowRecord],
    scope: CorefScope,
    device: &Device,
    out: HeadOutput,
) -> anyhow::Result<Vec<Vec<f32>>> {
    by_batches(records, scope, INFERENCE_WINDOWS, |chunk| {
        let batch = pad_for(&chunk.iter().map(|&i| &records[i]).collect::<Vec<_>>(), scope)
            .into_device(device);
        out.rows(head, e.pad(chunk, records).into_device(device), &batch)
    })
}

/// Emission scores of every window through the full model (encoder included), the encoder
/// through `host` when given ([`crate::run::LoadedRun::host_encoder`]).
pub fn full_emissions(
    model: &Enrelg,
    host: Option<&HostEncoder>,
    records: &[WindowRecord],
    scope: CorefScope,
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    full_rows(model, host, records, scope, device, HeadOutput::Emissions)
}

/// [`full_emissions`], or the word representations with [`HeadOutput::Features`].
pub fn full_rows(
    model: &Enrelg,
    host: Option<&HostEncoder>,
    records: &[WindowRecord],
    scope: CorefScope,
    device: &Device,
    out: HeadOutput,
) -> anyhow::Result<Vec<Vec<f32>>> {
    by_batches(records, scope, INFERENCE_WINDOWS, |chunk| {
        let batch = pad_for(&chunk.iter().map(|&i| &records[i]).collect::<Vec<_>>(), scope)
            .into_device(device);
        out.rows(&model.head, model.words_with(host, &batch), &batch)
    })
}

/// `rows` of each batch of [`plan_batches`] (unshuffled; whole documents in
/// document scope), put back in the order of `records`.
fn by_batches(
    records: &[WindowRecord],
    scope: CorefScope,
    size: usize,
    mut rows: impl FnMut(&[usize]) -> anyhow::Result<Vec<Vec<f32>>>,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let mut out = vec![Vec::new(); records.len()];
    for chunk in plan_batches(records, scope, size, None).batches {
        for (i, row) in chunk.iter().zip(rows(&chunk)?) {
            out[*i] = row;
        }
    }
    Ok(out)
}

/// The Viterbi path of every window's emissions under one CRF.
pub fn viterbi_all(emissions: &[Vec<f32>], crf: &CrfPotentials) -> Vec<Vec<usize>> {
    emissions.iter().map(|e| crf.viterbi(e)).collect()
}

/// The windows of a split of the run's shards, after checking that the
/// shards are those it was trained on, with the run's graphs and word ids.
pub fn split_records(run: &LoadedRun, split: &str) -> anyhow::Result<Vec<WindowRecord>> {
    let shards = &run.info.shards;
    let manifest_sha = sha256_file(&shards.join(MANIFEST))?;
    anyhow::ensure!(
        manifest_sha == run.info.shard_manifest_sha256,
        "{} changed since the run was trained (manifest sha256 {} vs {}); retrain or point the run at the original shards",
        shards.display(),
        &manifest_sha[..12],
        &run.info.shard_manifest_sha256[..12]
    );
    let mut records = load_split(
        shards,
        split,
        run.info.config.dependency_variant.kinds(),
        run.info.config.model.context,
    )?;
    records.iter_mut().for_each(|r| r.set_lexical_ids(&run.lexicon));
    Ok(records)
}

/// The emission scores of every window, `[words, N]` row-major, on the host:
/// from cached encoder outputs for a frozen run, else through its encoder.
pub fn window_emissions(
    run: &LoadedRun,
    records: &[WindowRecord],
    split: &str,
    cache_dir: &Path,
    device: &Device,
) -> anyhow::Result<Vec<Vec<f32>>> {
    window_rows(run, records, split, cache_dir, device, HeadOutput::Emissions)
}

/// [`window_emissions`], or the word representations with [`HeadOutput::Features`].
pub fn window_rows(
    run: &LoadedRun,
    records: &[WindowRecord],
    split: &str,
    cache_dir: &Path,
    device: &Device,
    out: HeadOutput,
) -> anyhow::Result<Vec<Vec<f32>>> {
    let cfg = &run.info.config;
    if cfg.freeze_encoder {
        let cache = cache_file(cfg, cache_dir, records, &run.info.model_sha256, split);
        let e = embed(&run.model.encoder, cfg, records, &cache, device, split)?;
        cached_rows(&run.model.head, &e, records, cfg.model.coref_scope, device, out)
    } else {
        let host = run.host_encoder(Precision::F32, device);
        full_rows(&run.model, host, records, cfg.model.coref_scope, device, out)
    }
}

/// A split's windows and their Viterbi paths under a run.
pub fn decode(
    run: &LoadedRun,
    split: &str,
    cache_dir: &Path,
    device: &Device,
) -> anyhow::Result<(Vec<WindowRecord>, Vec<Vec<usize>>)> {
    let records = split_records(run, split)?;
    let pred = viterbi_all(
        &window_emissions(run, &records, split, cache_dir, device)?,
        &run.model.head.crf.potentials()?,
    );
    Ok((records, pred))
}
