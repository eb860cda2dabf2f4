//! Where training stands: one line of `metrics.jsonl` per epoch ([`EpochRecord`], read and
//! written through this type only) and the schedule and early stopping saved with `last/`
//! ([`Progress`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};

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
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        text.lines()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .with_context(|| format!("{}, line {}", path.display(), i + 1))
            })
            .collect()
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
            tracing::info!(
                "early stop after epoch {epoch}: no better dev F1 for {patience} epochs"
            );
            self.stopped_early = true;
            return Outcome::Stop;
        }
        Outcome::Continue
    }
}
