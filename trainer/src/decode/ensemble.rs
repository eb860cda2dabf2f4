//! Seed ensembles: several trained runs of the same shards decode a split
//! together. Their emission scores and CRF potentials are averaged and one
//! Viterbi pass finds the path with the highest summed score of the members
//! (a product of the members' CRFs), so the result is still a valid BIO path.

use std::path::{Path, PathBuf};

use anyhow::Context;
use burn::tensor::Device;
use serde::Serialize;

use crate::data::WindowRecord;
use crate::decode::emissions::{split_records, viterbi_all, window_emissions};
use crate::metrics::conlleval::{score_predictions, score_windows, Score};
use crate::model::crf::CrfPotentials;
use crate::run::{LoadedRun, RunInfo};

/// One member of an ensemble, as `ensemble-SPLIT.json` records it.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    pub run: PathBuf,
    pub checkpoint_sha256: String,
    pub seed: u64,
    /// The member's own micro F1 on the split (its own Viterbi decode).
    pub f1: f64,
}

/// What `ensemble-SPLIT.json` records: the members and how they were combined.
#[derive(Debug, Clone, Serialize)]
pub struct EnsembleInfo {
    pub split: String,
    pub decoding: &'static str,
    pub members: Vec<Member>,
    pub f1: f64,
}

/// A split decoded by an ensemble.
pub struct Decoded {
    pub members: Vec<Member>,
    /// The first member's run record (tags, shards).
    pub info: RunInfo,
    pub records: Vec<WindowRecord>,
    pub pred: Vec<Vec<usize>>,
}

/// Decode `split` with the mean of the runs' emissions and CRF potentials.
/// The runs must share their tags and the split's windows and gold labels
/// (the same shards, possibly in another folder); they may differ in
/// anything else (seed, variant, additions, frozen or fine-tuned).
pub fn decode(
    runs: &[PathBuf],
    split: &str,
    cache_dir: &Path,
    device: &Device,
) -> anyhow::Result<Decoded> {
    anyhow::ensure!(!runs.is_empty(), "an ensemble needs at least one run");
    // The first member's run record and windows (with their gold labels).
    let mut first: Option<(PathBuf, RunInfo, Vec<WindowRecord>)> = None;
    let mut members = Vec::new();
    let mut emissions: Vec<Vec<Vec<f32>>> = Vec::new();
    let mut potentials = Vec::new();
    for dir in runs {
        let member = || format!("ensemble member {}", dir.display());
        let run = LoadedRun::open(dir, device).with_context(member)?;
        // Each member reads the windows with its own graphs and word ids.
        let records = split_records(&run, split).with_context(member)?;
        if let Some((dir0, info0, records0)) = &first {
            let (a, b) = (dir.display(), dir0.display());
            run.info.ensure_same_labels(&a.to_string(), info0, &b.to_string())?;
            // The same words in the same windows; the members may read them
            // with different document context (or tokenizers).
            let same_windows = records.len() == records0.len()
                && records.iter().zip(records0).all(|(r, r0)| {
                    (&r.doc_id, r.word_start, &r.forms) == (&r0.doc_id, r0.word_start, &r0.forms)
                });
            anyhow::ensure!(same_windows, "{a}: its {split} windows differ from {b}'s (other shards); an ensemble decodes the same windows");
            anyhow::ensure!(
                records.iter().zip(records0).all(|(r, r0)| r.tags == r0.tags),
                "{a}: its {split} gold labels differ from {b}'s (other shards)"
            );
        }
        let em = window_emissions(&run, &records, split, cache_dir, device).with_context(member)?;
        let crf = run.model.head.crf.potentials()?;
        let f1 = score_windows(&records, &viterbi_all(&em, &crf), &run.info.scored_tags()).micro.f1;
        tracing::info!("{}: {split} F1 {f1:.2} alone", dir.display());
        members.push(Member {
            run: dir.clone(),
            checkpoint_sha256: run.checkpoint_sha256.clone(),
            seed: run.info.config.seed,
            f1,
        });
        emissions.push(em);
        potentials.push(crf);
        if first.is_none() {
            first = Some((dir.clone(), run.info, records));
        }
    }
    let (_, info0, records) = first.context("no member loaded")?;
    let pred = decode_mean(&emissions, &potentials).context("no member loaded")?;
    Ok(Decoded { members, info: info0, records, pred })
}

/// Decode `split` with the mean of the runs' emissions and CRF potentials
/// (see [`decode`]) and score it: the record, the score and the predictions
/// as CoNLL lines.
pub fn ensemble(
    runs: &[PathBuf],
    split: &str,
    cache_dir: &Path,
    device: &Device,
) -> anyhow::Result<(EnsembleInfo, Score, String)> {
    decode(runs, split, cache_dir, device)?.score(split)
}

impl Decoded {
    /// The ensemble's record, score and CoNLL lines on `split`.
    pub fn score(&self, split: &str) -> anyhow::Result<(EnsembleInfo, Score, String)> {
        let (score, conll) = score_predictions(&self.info, split, &self.records, &self.pred)?;
        let info = EnsembleInfo {
            split: split.to_string(),
            decoding: "Viterbi over the mean emission and CRF scores of the members",
            members: self.members.clone(),
            f1: score.micro.f1,
        };
        Ok((info, score, conll))
    }
}

/// Decode every window with the mean of the members' emissions (`[member][window]`,
/// each `[words, N]`) and CRF potentials. None without members.
pub fn decode_mean(
    emissions: &[Vec<Vec<f32>>],
    potentials: &[CrfPotentials],
) -> Option<Vec<Vec<usize>>> {
    let mean = CrfPotentials::mean(potentials)?;
    Some(mean_emissions(emissions)?.iter().map(|avg| mean.viterbi(avg)).collect())
}

/// The members' mean emission scores of each window (`emissions[member][window]`).
pub fn mean_emissions(emissions: &[Vec<Vec<f32>>]) -> Option<Vec<Vec<f32>>> {
    let windows = emissions.first()?.len();
    Some(
        (0..windows)
            .map(|w| {
                let len = emissions[0][w].len();
                (0..len)
                    .map(|i| {
                        emissions.iter().map(|m| m[w][i]).sum::<f32>() / emissions.len() as f32
                    })
                    .collect()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_member_counts_in_the_mean() {
        let flat = CrfPotentials {
            num_tags: 2,
            transitions: vec![0.0; 4],
            start: vec![0.0; 2],
            end: vec![0.0; 2],
        };
        // One word, two tags: the first and last members prefer tag 1, the
        // middle one tag 0 strongly enough to carry the mean.
        let members = vec![vec![vec![0.0, 1.0]], vec![vec![3.0, 0.0]], vec![vec![0.0, 1.0]]];
        let alone: Vec<usize> = members.iter().map(|m| flat.viterbi(&m[0])[0]).collect();
        assert_eq!(alone, [1, 0, 1]);
        assert_eq!(decode_mean(&members, &vec![flat.clone(); 3]).unwrap(), [vec![0]]);
        // Transitions are averaged too: a member forbidding 1 -> 1 outweighs one that allows it.
        let two_words = vec![vec![vec![0.0, 1.0, 0.0, 1.0]], vec![vec![0.0, 1.0, 0.0, 1.0]]];
        let forbid = CrfPotentials { transitions: vec![0.0, 0.0, 0.0, -10.0], ..flat.clone() };
        assert_eq!(decode_mean(&two_words, &[flat.clone(), flat.clone()]).unwrap(), [vec![1, 1]]);
        assert_ne!(decode_mean(&two_words, &[flat.clone(), forbid]).unwrap(), [vec![1, 1]]);
        assert!(decode_mean(&[], &[]).is_none());
    }
}
