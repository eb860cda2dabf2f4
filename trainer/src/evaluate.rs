//! Evaluating a trained run on a split, as `enrelg eval` and `enrelg train`
//! do: decode the split, score it as conlleval, and record the score and the
//! predictions in the run folder (holding its lock); optionally decode the
//! same predictions with document-level label consistency too.

use std::path::Path;

use burn::tensor::Device;

use crate::decode::consistency::{self, ConsistencyRecord};
use crate::decode::emissions::decode;
use crate::metrics::conlleval::{score_predictions, Score};
use crate::run::{Decoding, LoadedRun, RunDir};

/// What an evaluation found and wrote.
pub struct Evaluation {
    /// The plain (Viterbi) decoding's score: `eval-SPLIT.json`.
    pub score: Score,
    /// With consistency decoding: its score (`eval-SPLIT-consistency.json`)
    /// and what it chose and changed (`consistency-SPLIT.json`).
    pub consistency: Option<(Score, ConsistencyRecord)>,
}

/// Score `run` on `split`; write `eval-SPLIT.json` and `predictions-SPLIT.conll`
/// into the run folder and, with `consistency`, the consistent decoding's
/// score, predictions and record (threshold chosen on the shards' dev split),
/// and the chosen threshold as the run's default decoding (`decoding.json`).
pub fn evaluate_run(
    run: &Path,
    split: &str,
    device: &Device,
    cache_dir: &Path,
    consistency: bool,
) -> anyhow::Result<Evaluation> {
    let writer = RunDir::lock(run)?;
    let loaded = LoadedRun::open(run, device)?;
    let (records, pred) = decode(&loaded, split, cache_dir, device)?;
    let (score, conll) = score_predictions(&loaded.info, split, &records, &pred)?;
    writer.write_eval(split, &score, &conll)?;
    let consistency = if consistency {
        let (score, conll, record) =
            consistency::evaluate(&loaded, (split, &records, &pred), cache_dir, device)?;
        writer.write_consistency(split, &score, &conll, &record)?;
        // The threshold chosen on dev becomes how the run tags new text.
        writer.write_decoding(&Decoding {
            consistency_threshold: record.choice.threshold,
            chosen_on: record.dev_split.clone(),
            dev_f1: record.choice.dev_f1.clone(),
        })?;
        Some((score, record))
    } else {
        None
    };
    Ok(Evaluation { score, consistency })
}
