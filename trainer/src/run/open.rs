//! Opening a trained run: the newest of a dataset, and its model loaded ([`LoadedRun`]).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use anyhow::Context;
use burn::module::Module;
use burn::tensor::Device;

use super::{Decoding, RunInfo, RUN_JSON};
use crate::data::vocab::Lexicon;
use crate::model::inference::{HostEncoder, Precision};
use crate::model::{BertEncoder, Enrelg};

/// The newest `make train` run of `dataset` under `runs_dir` (folders
/// `DATASET-*` directly inside it holding `run.json` and a checkpoint), by
/// checkpoint time; an error that says how to train one when there is none.
pub fn newest_run(runs_dir: &Path, dataset: &str) -> anyhow::Result<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let prefix = format!("{dataset}-");
    if let Ok(entries) = std::fs::read_dir(runs_dir) {
        for entry in entries.flatten() {
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) || !dir.join(RUN_JSON).exists() {
                continue;
            }
            let Ok(info) = RunInfo::read(&dir) else {
                continue;
            };
            if let Ok(modified) =
                std::fs::metadata(dir.join(info.checkpoint_file())).and_then(|m| m.modified())
            {
                found.push((modified, dir));
            }
        }
    }
    found.sort();
    found.pop().map(|(_, dir)| dir).with_context(|| {
        format!(
            "no trained {dataset} run under {}/ (a folder {prefix}* with run.json and a checkpoint): train one with `make train DATASET={dataset}`, or name a run with RUN=DIR (enrelg tag --run DIR)",
            runs_dir.display()
        )
    })
}

/// A trained run, loaded for evaluation or prediction.
pub struct LoadedRun {
    pub info: RunInfo,
    /// The encoder (pretrained for a frozen run) and the trained head.
    pub model: Enrelg,
    /// The lexical vocabularies, built once from `info`, those the model embeds.
    pub lexicon: Lexicon,
    /// SHA-256 of the checkpoint loaded (checked against run.json).
    pub checkpoint_sha256: String,
    /// Where the encoder was found ([`RunInfo::model_dir`]).
    pub model_dir: PathBuf,
    /// How the run decodes new text by default (`decoding.json`; plain without it).
    pub decoding: Option<Decoding>,
    /// The encoder's host copies for inference, one per [`Precision`], made on first use.
    hosts: [OnceLock<Option<HostEncoder>>; 2],
}

impl LoadedRun {
    /// Read `run.json`, check the best checkpoint and load it onto `device`.
    pub fn open(run: &Path, device: &Device) -> anyhow::Result<Self> {
        let info = RunInfo::read(run)?;
        let (checkpoint, checkpoint_sha256) = info.checked_checkpoint(run)?;
        let load_err =
            |e: burn::store::RecordError| anyhow::anyhow!("{}: {e:?}", checkpoint.display());
        let model_dir = info.model_dir(run)?;
        let encoder = BertEncoder::from_pretrained(&model_dir, device)?;
        let lexicon = info.lexicon();
        let mcfg = info.config.model_config(
            info.labels.num_tags(),
            info.d_encoder,
            encoder.num_hidden_states(),
            lexicon.rows(),
        );
        let model = if info.config.freeze_encoder {
            Enrelg {
                encoder,
                head: mcfg.init_head(device).try_load_file(&checkpoint).map_err(load_err)?,
            }
        } else {
            Enrelg { encoder, head: mcfg.init_head(device) }
                .try_load_file(&checkpoint)
                .map_err(load_err)?
        };
        let decoding = Decoding::read(run)?;
        let hosts = Default::default();
        Ok(Self { info, model, lexicon, checkpoint_sha256, model_dir, decoding, hosts })
    }

    /// The encoder as inference on `device` runs it in `precision`: its host copy where the device
    /// takes one ([`HostEncoder::for_inference`], made once per run and precision), else `None`
    /// (the module runs, in f32).
    pub fn host_encoder(&self, precision: Precision, device: &Device) -> Option<&HostEncoder> {
        let slot = match precision {
            Precision::F32 => &self.hosts[0],
            Precision::Int8 => &self.hosts[1],
        };
        slot.get_or_init(|| HostEncoder::for_inference(&self.model.encoder, precision, device))
            .as_ref()
    }
}
