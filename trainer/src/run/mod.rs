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

use std::path::{Path, PathBuf};

use anyhow::Context;
use enrelg_pipeline::fs::sha256_file;
use enrelg_pipeline::window::WindowConfig;
use enrelg_schemas::LabelSet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::config::TrainConfig;
use crate::data::vocab::{Lexicon, WordVocab};
use crate::model::EnrelgConfig;

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

/// `decoding.json`: how the run decodes new text by default ([`Decoding`]), chosen on dev.
pub const DECODING: &str = "decoding.json";

/// How a run decodes by default (`predict`, `tag`, the Python `Tagger`), written when training
/// or evaluation chose consistency decoding's threshold on the shards' dev split. Without the
/// file a run decodes plainly (Viterbi per window).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decoding {
    /// The consistency threshold (1.0: never changes a label, plain decoding).
    pub consistency_threshold: f64,
    /// The split it was chosen on.
    pub chosen_on: String,
    /// Dev F1 under each threshold tried.
    pub dev_f1: Vec<(f64, f64)>,
}

impl Decoding {
    /// The run's `decoding.json`, if it has one.
    pub fn read(run: &Path) -> anyhow::Result<Option<Self>> {
        let path = run.join(DECODING);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(
                serde_json::from_str(&text).with_context(|| format!("{}", path.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
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
    /// The affix vocabulary in id order, when the run embeds affixes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub affix_vocab: Vec<String>,
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
    pub fn check(
        from: &Path,
        info: &RunInfo,
        mcfg: &EnrelgConfig,
        hidden_states: usize,
    ) -> anyhow::Result<(WarmStart, PathBuf)> {
        let prev = RunInfo::read(from).context("--init-from")?;
        let name = from.display();
        anyhow::ensure!(
            prev.model_sha256 == info.model_sha256,
            "--init-from {name}: trained from another encoder checkpoint (sha256 {} vs {})",
            &prev.model_sha256[..12],
            &info.model_sha256[..12]
        );
        anyhow::ensure!(
            prev.labels == info.labels,
            "--init-from {name}: tags {:?} differ from these shards' {:?}",
            prev.labels.tags(),
            info.labels.tags()
        );
        anyhow::ensure!(
            prev.word_vocab == info.word_vocab && prev.affix_vocab == info.affix_vocab,
            "--init-from {name}: its word or affix vocabulary ({} words, {} affixes) differs from this run's ({} words, {} affixes)",
            prev.word_vocab.len(),
            prev.affix_vocab.len(),
            info.word_vocab.len(),
            info.affix_vocab.len()
        );
        let shape = |c: &EnrelgConfig| {
            serde_json::to_value(c).map(|mut v| {
                // The vocabularies were compared above, dropout rates may
                // change, the coreference scope only changes which edges the
                // same GAT sees and the document context what the same encoder
                // reads; the rest fixes every parameter's shape and meaning.
                if let Some(m) = v.as_object_mut() {
                    for key in [
                        "word_vocab",
                        "affix_vocab",
                        "dropout",
                        "gat_dropout",
                        "word_dropout",
                        "coref_scope",
                        "context",
                    ] {
                        m.remove(key);
                    }
                }
                v
            })
        };
        let prev_mcfg = prev.config.model_config(
            prev.labels.num_tags(),
            prev.d_encoder,
            hidden_states,
            (mcfg.word_vocab, mcfg.affix_vocab),
        );
        anyhow::ensure!(
            shape(&prev_mcfg)? == shape(mcfg)?,
            "--init-from {name}: its model has another shape:\n  that run: {}\n  this run: {}",
            shape(&prev_mcfg)?,
            shape(mcfg)?
        );
        anyhow::ensure!(
            !info.config.freeze_encoder || prev.config.freeze_encoder,
            "--init-from {name}: that run fine-tuned its encoder, but a frozen run trains on the pretrained encoder's outputs; fine-tune this one too (--fine-tune)"
        );
        let (checkpoint, sha) = prev.checked_checkpoint(from).context("--init-from")?;
        tracing::info!(
            "starting from {} (best dev F1 {:.2} at epoch {})",
            checkpoint.display(),
            prev.best_dev_f1,
            prev.best_epoch
        );
        Ok((
            WarmStart {
                run: from.to_path_buf(),
                checkpoint_sha256: sha,
                frozen: prev.config.freeze_encoder,
            },
            checkpoint,
        ))
    }
}

impl RunInfo {
    /// Read and check a run folder's `run.json` (any readable format version).
    pub fn read(run: &Path) -> anyhow::Result<Self> {
        let path = run.join(RUN_JSON);
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes)
            .with_context(|| format!("parsing {}", path.display()))?;
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
    pub fn ensure_same_labels(
        &self,
        name: &str,
        first: &RunInfo,
        first_name: &str,
    ) -> anyhow::Result<()> {
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

    /// The run's lexical vocabularies, those its model embeds.
    pub fn lexicon(&self) -> Lexicon {
        let m = &self.config.model;
        Lexicon {
            words: (m.word_dim > 0).then(|| WordVocab::from_words(self.word_vocab.clone())),
            affixes: (m.affix_dim > 0).then(|| WordVocab::from_words(self.affix_vocab.clone())),
        }
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
        anyhow::ensure!(
            checkpoint.exists(),
            "{}: no checkpoint (the run saved none yet; resume it with --resume)",
            checkpoint.display()
        );
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
            let run = std::fs::canonicalize(run)
                .with_context(|| format!("{}: cannot open the run folder", run.display()))?;
            candidates.extend(run.ancestors().map(|dir| dir.join(&self.model)));
        }
        let mut tried = Vec::new();
        for dir in candidates {
            let Ok(weights) = crate::model::pretrained::weights_path(&dir) else {
                tried.push(format!("{} (no weights)", dir.display()));
                continue;
            };
            match sha256_file(&weights) {
                Ok(sha) if sha == self.model_sha256 => return Ok(dir),
                Ok(sha) => tried.push(format!(
                    "{} (weights SHA-256 {}, not {})",
                    dir.display(),
                    &sha[..12],
                    &self.model_sha256[..12.min(self.model_sha256.len())]
                )),
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
    let strings = |key: &str| -> Vec<String> {
        value
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
            .unwrap_or_default()
    };
    let labels = LabelSet::from_tags(&strings("tags"), &strings("auxiliary_types"))?;
    let object = value.as_object_mut().context("run.json is not a JSON object")?;
    object.insert("labels".into(), serde_json::to_value(labels)?);
    object.insert("format_version".into(), RUN_FORMAT_VERSION.into());
    Ok(())
}

pub mod dir;
pub mod lock;
pub mod open;
pub mod progress;

pub use dir::{save_module, RunDir};
pub use lock::RunLock;
pub use open::{newest_run, LoadedRun};
pub use progress::{EpochRecord, Outcome, Progress};

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

    use super::lock::{process_start, Holder};
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
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_run_without_decoding_json_decodes_plainly_and_one_written_reads_back() {
        let out = scratch("decoding");
        assert_eq!(Decoding::read(&out).unwrap(), None);
        let chosen = Decoding {
            consistency_threshold: 0.7,
            chosen_on: "dev".into(),
            dev_f1: vec![(0.5, 88.1), (0.7, 89.0), (1.0, 88.4)],
        };
        RunDir::lock(&out).unwrap().write_decoding(&chosen).unwrap();
        assert_eq!(Decoding::read(&out).unwrap(), Some(chosen));
        std::fs::write(out.join(DECODING), "{").unwrap();
        let err = format!("{:#}", Decoding::read(&out).unwrap_err());
        assert!(err.contains(DECODING), "{err}");
        let _ = std::fs::remove_dir_all(&out);
    }

    #[test]
    fn a_kill_between_the_checkpoint_renames_is_recovered() {
        let out = scratch("last");
        let run = RunDir::lock(&out).unwrap();
        run.save_last(&state(1), |_| Ok(())).unwrap();
        assert_eq!(run.load_last().unwrap().unwrap().epoch, 1);
        // Every checkpoint file is checked against state.json.
        run.save_last(&state(1), |dir| Ok(std::fs::write(dir.join("module.bpk"), b"weights")?))
            .unwrap();
        assert_eq!(run.load_last().unwrap().unwrap().files.len(), 1);
        std::fs::write(out.join("last/module.bpk"), b"weighs").unwrap();
        assert!(run.load_last().unwrap_err().to_string().contains("module.bpk: SHA-256 differs"));
        run.save_last(&state(1), |_| Ok(())).unwrap();
        // Killed after `last` became `.last.old-*` and before `.last.tmp-*` took its place:
        std::fs::rename(out.join("last"), out.join(".last.old-41")).unwrap();
        std::fs::create_dir_all(out.join(".last.tmp-41")).unwrap();
        std::fs::write(
            out.join(".last.tmp-41/state.json"),
            serde_json::to_string(&state(2)).unwrap(),
        )
        .unwrap();
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
        assert!(
            err.contains("is being written by another process")
                && err.contains(&format!("process {}", std::process::id())),
            "{err}"
        );
        drop(first);
        // A holder that no longer exists: a process id far above any in use.
        let dead =
            Holder { pid: u32::MAX - 1, start: Some(1), command: "enrelg train (killed)".into() };
        std::fs::write(out.join(LOCK), serde_json::to_string(&dead).unwrap()).unwrap();
        let taken = RunDir::lock(&out).unwrap();
        assert!(std::fs::read_to_string(out.join(LOCK))
            .unwrap()
            .contains(&format!("\"pid\":{}", std::process::id())));
        drop(taken);
        // Our own id with another start time is another (earlier) process.
        let reused = Holder {
            pid: std::process::id(),
            start: Some(0),
            command: "an earlier process".into(),
        };
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
        let zombie =
            Holder { pid, start: process_start(pid), command: "enrelg train (killed)".into() };
        assert!(zombie.start.is_some() && zombie.is_alive(), "a running writer holds its lock");
        std::fs::write(out.join(LOCK), serde_json::to_string(&zombie).unwrap()).unwrap();
        assert!(RunDir::lock(&out).is_err());
        // SIGKILL (`Child::kill`), no wait: the process becomes a zombie.
        child.kill().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z"))
        {
            assert!(std::time::Instant::now() < deadline, "the killed child never became a zombie");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(
            std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "a zombie keeps its /proc entry"
        );
        assert!(!zombie.is_alive());
        drop(RunDir::lock(&out).unwrap());
        child.wait().unwrap();
        std::fs::remove_dir_all(&out).unwrap();
    }

    #[test]
    fn early_stopping_counts_epochs_without_a_better_dev_f1() {
        let mut p = Progress::new();
        assert_eq!(
            p.after_epoch(1, 0.0, 2),
            Outcome::Improved,
            "any first score is the best so far"
        );
        assert_eq!(p.after_epoch(2, 50.0, 2), Outcome::Improved);
        assert_eq!(p.after_epoch(3, 50.0, 2), Outcome::Continue, "a tie is no improvement");
        assert_eq!(p.after_epoch(4, 40.0, 2), Outcome::Stop);
        assert_eq!((p.best_epoch, p.best_dev_f1, p.epoch, p.stopped_early), (2, 50.0, 4, true));
    }

    #[test]
    fn version_1_records_are_read_with_their_label_set() {
        let out = scratch("v1");
        let mut v: serde_json::Value = serde_json::from_str(include_str!(
            "../../../results/cpu-flex/mars-aux-cd-shape32-chars50-mix-mean-seed1/run.json"
        ))
        .unwrap();
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

    #[test]
    fn no_run_says_how_to_train_one() {
        let dir = scratch("runs");
        let err = newest_run(&dir, "mars").unwrap_err().to_string();
        assert!(err.contains("make train DATASET=mars") && err.contains("RUN=DIR"), "{err}");
    }
}
