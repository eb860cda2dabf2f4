//! The one writer of a run folder ([`RunDir`]): creates it, saves checkpoints, `last/` and
//! the evaluations, all atomically.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::module::Module;
use enrelg_pipeline::fs::{is_leftover, replace_dir, sha256_file, write_atomic, write_atomic_with};
use serde::Serialize;

use super::lock::RunLock;
use super::progress::Progress;
use super::{
    consistency_file, consistent_split, eval_file, predictions_file, Decoding, RunInfo, DECODING,
    HEAD_CHECKPOINT, LAST, LOCK, METRICS, MODEL_CHECKPOINT, RUN_JSON, STATE_JSON,
};

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
        info.checkpoint_sha256 =
            if checkpoint.exists() { Some(sha256_file(&checkpoint)?) } else { None };
        write_atomic(
            &self.dir.join(RUN_JSON),
            (serde_json::to_string_pretty(info)? + "\n").as_bytes(),
        )?;
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
            Some(n) => std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .take(n)
                .map(|l| format!("{l}\n"))
                .collect(),
            None => String::new(),
        };
        write_atomic(&path, kept.as_bytes())?;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .with_context(|| format!("opening {}", path.display()))
    }

    /// Write the resume checkpoint: `write` fills a fresh folder, the
    /// progress (with the checksum of every file) goes in last, and the
    /// folder replaces `last/`, so a kill at any moment leaves the previous
    /// complete checkpoint or the new one.
    pub fn save_last(
        &self,
        progress: &Progress,
        write: impl FnOnce(&Path) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        replace_dir(&self.dir.join(LAST), |tmp| {
            write(tmp)?;
            let mut progress = progress.clone();
            progress.files.clear();
            for entry in std::fs::read_dir(tmp)? {
                let path = entry?.path();
                progress.files.insert(
                    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
                    sha256_file(&path)?,
                );
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
        let read = |dir: &Path| -> Option<Progress> {
            serde_json::from_slice(&std::fs::read(dir.join(STATE_JSON)).ok()?).ok()
        };
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
                tracing::warn!(
                    "{}: recovering the epoch {epoch} checkpoint from {}",
                    last.display(),
                    dir.display()
                );
                std::fs::rename(&dir, &last)
                    .with_context(|| format!("renaming {} to {}", dir.display(), last.display()))?;
            }
        }
        self.remove_leftovers()?;
        let path = last.join(STATE_JSON);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let progress: Progress = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
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
        for entry in std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading {}", self.dir.display()))?
        {
            let path = entry?.path();
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            if [LAST, RUN_JSON, METRICS, HEAD_CHECKPOINT, MODEL_CHECKPOINT, LOCK]
                .iter()
                .any(|t| is_leftover(&name, t))
            {
                out.push(path);
            }
        }
        Ok(out)
    }

    /// Remove what killed writers left behind: never complete, never read.
    pub fn remove_leftovers(&self) -> anyhow::Result<()> {
        for path in self.leftovers()? {
            let removed = if path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else {
                std::fs::remove_file(&path)
            };
            removed.with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }

    /// Write what consistency decoding of `split` gave: its score and
    /// predictions under [`consistent_split`] and `consistency-SPLIT.json`.
    /// (`score` is a [`crate::metrics::conlleval::Score`], `record` a
    /// [`crate::decode::consistency::ConsistencyRecord`]: the run folder only stores them.)
    pub fn write_consistency(
        &self,
        split: &str,
        score: &impl Serialize,
        conll: &str,
        record: &impl Serialize,
    ) -> anyhow::Result<()> {
        self.write_eval(&consistent_split(split), score, conll)?;
        write_atomic(
            &self.dir.join(consistency_file(split)),
            (serde_json::to_string_pretty(record)? + "\n").as_bytes(),
        )?;
        Ok(())
    }

    /// Write `decoding.json`: how the run decodes new text by default.
    pub fn write_decoding(&self, decoding: &Decoding) -> anyhow::Result<()> {
        write_atomic(
            &self.dir.join(DECODING),
            (serde_json::to_string_pretty(decoding)? + "\n").as_bytes(),
        )?;
        Ok(())
    }

    /// Write `eval-SPLIT.json` and `predictions-SPLIT.conll`.
    pub fn write_eval(
        &self,
        split: &str,
        score: &impl Serialize,
        conll: &str,
    ) -> anyhow::Result<()> {
        write_atomic(
            &self.dir.join(eval_file(split)),
            (serde_json::to_string_pretty(score)? + "\n").as_bytes(),
        )?;
        write_atomic(&self.dir.join(predictions_file(split)), conll.as_bytes())?;
        Ok(())
    }
}

/// Save a module to `path` atomically.
pub fn save_module<M: Module>(module: M, path: &Path) -> anyhow::Result<()> {
    write_atomic_with(path, |tmp| {
        module.save_file(tmp).map_err(|e| anyhow::anyhow!("saving {}: {e:?}", tmp.display()))
    })
}
