//! Document-level label consistency at decoding: the simple baseline a
//! document-level graph must beat.
//!
//! Windows are decoded alone, so the same name can be tagged differently in
//! two windows of one document. Here every word string that occurs at least
//! twice in a document as a one-word mention or outside any entity gets one
//! label for all those occurrences (an entity type, or none) when the
//! majority of its occurrences agree on it by more than `threshold`; words
//! inside longer predicted entities are neither counted nor changed, and a
//! word is not made an entity where the next word continues another one.
//! The threshold is chosen on dev ([`choose_threshold`]), never on test.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use burn::tensor::Device;
use enrelg_pipeline::shard::ShardManifest;
use serde::{Deserialize, Serialize};

use crate::data::WindowRecord;
use crate::decode::emissions::decode;
use crate::metrics::conlleval::{score_predictions, score_windows, Score};
use crate::run::{LoadedRun, RunInfo};

/// The thresholds tried on dev: the share of a string's occurrences its
/// majority label must exceed. 1.0 never changes anything (plain decoding).
pub const THRESHOLDS: [f64; 6] = [0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// What a word's occurrence counts as: a one-word entity of a type, or O.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Vote {
    Outside,
    /// The entity type's index in the label set (tag `1 + 2 * type`).
    Entity(usize),
}

fn vote(path: &[usize], w: usize) -> Option<Vote> {
    let next_inside =
        |t: usize| path.get(w + 1).is_some_and(|&n| n != 0 && n % 2 == 0 && (n - 2) / 2 == t);
    match path[w] {
        0 => Some(Vote::Outside),
        b if b % 2 == 1 && !next_inside((b - 1) / 2) => Some(Vote::Entity((b - 1) / 2)),
        _ => None, // part of a longer entity
    }
}

/// One voting occurrence of a word string: its window, its position there, its vote.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    window: usize,
    word: usize,
    vote: Vote,
}

/// Each document's voting occurrences of each word string: `(document, form)` -> occurrences.
type Votes<'a> = HashMap<(&'a str, &'a str), Vec<Occurrence>>;

fn votes<'a>(records: &'a [WindowRecord], paths: &[Vec<usize>]) -> Votes<'a> {
    let mut out: Votes = HashMap::new();
    for (window, (rec, path)) in records.iter().zip(paths).enumerate() {
        for word in 0..path.len() {
            if let Some(vote) = vote(path, word) {
                out.entry((rec.doc_id.as_str(), rec.forms[word].as_str()))
                    .or_default()
                    .push(Occurrence { window, word, vote });
            }
        }
    }
    out
}

/// Relabel `pred` (one tag path per window of `records`) for consistency
/// within each document; returns the new paths and how many words changed.
pub fn apply(
    records: &[WindowRecord],
    pred: &[Vec<usize>],
    threshold: f64,
) -> (Vec<Vec<usize>>, usize) {
    let mut out = pred.to_vec();
    let mut changed = 0;
    for list in votes(records, pred).values().filter(|l| l.len() >= 2) {
        let mut counts: HashMap<Vote, usize> = HashMap::new();
        list.iter().for_each(|o| *counts.entry(o.vote).or_default() += 1);
        let (&winner, &n) = counts
            .iter()
            .max_by_key(|(v, n)| (**n, matches!(v, Vote::Outside)))
            .unwrap_or((&Vote::Outside, &0));
        if (n as f64) <= threshold * list.len() as f64 {
            continue;
        }
        for o in list.iter().filter(|o| o.vote != winner) {
            let path = &mut out[o.window];
            let tag = match winner {
                Vote::Outside => 0,
                // Would continue into the next word's entity: leave it.
                Vote::Entity(_) if path.get(o.word + 1).is_some_and(|&n| n != 0 && n % 2 == 0) => {
                    continue
                }
                Vote::Entity(t) => 1 + 2 * t,
            };
            path[o.word] = tag;
            changed += 1;
        }
    }
    (out, changed)
}

/// Dev F1 under each threshold and the best one (ties: the larger threshold,
/// the smaller change).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ThresholdChoice {
    pub threshold: f64,
    pub dev_f1: Vec<(f64, f64)>,
}

pub fn choose_threshold(
    dev: &[WindowRecord],
    dev_pred: &[Vec<usize>],
    tags: &[String],
) -> ThresholdChoice {
    let dev_f1: Vec<(f64, f64)> = THRESHOLDS
        .iter()
        .map(|&t| (t, score_windows(dev, &apply(dev, dev_pred, t).0, tags).micro.f1))
        .collect();
    let best = dev_f1.iter().fold((1.0, f64::MIN), |best, &(t, f)| {
        if f > best.1 || (f == best.1 && t > best.0) {
            (t, f)
        } else {
            best
        }
    });
    ThresholdChoice { threshold: best.0, dev_f1 }
}

/// How consistently a document labels its repeated names: among the word
/// strings that occur at least twice in a document (as votes, see the
/// module docs) and are labelled an entity at least once, the share whose
/// occurrences carry more than one label (an entity type or none).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Consistency {
    pub repeated_strings: usize,
    pub inconsistent: usize,
    pub share: f64,
}

pub fn consistency(records: &[WindowRecord], paths: &[Vec<usize>]) -> Consistency {
    let votes = votes(records, paths);
    let repeated: Vec<&Vec<Occurrence>> = votes
        .values()
        .filter(|l| l.len() >= 2 && l.iter().any(|o| o.vote != Vote::Outside))
        .collect();
    let inconsistent = repeated.iter().filter(|l| l.iter().any(|o| o.vote != l[0].vote)).count();
    Consistency {
        repeated_strings: repeated.len(),
        inconsistent,
        share: inconsistent as f64 / repeated.len().max(1) as f64,
    }
}

/// The gold paths of `records`, as tag ids.
pub fn gold_paths(records: &[WindowRecord]) -> Vec<Vec<usize>> {
    records.iter().map(|r| r.tags.iter().map(|&t| t as usize).collect()).collect()
}

/// What `eval --consistency` records beside the score (`consistency-SPLIT.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConsistencyRecord {
    pub split: String,
    /// The threshold, chosen on this split of the shards.
    pub dev_split: String,
    pub choice: ThresholdChoice,
    /// Words whose label changed on `split`.
    pub changed_words: usize,
    pub f1_plain: f64,
    pub f1_consistent: f64,
    pub gold: Consistency,
    pub predicted_plain: Consistency,
    pub predicted_consistent: Consistency,
}

/// The shards' dev split, on which the threshold is chosen.
pub fn dev_split(info: &RunInfo) -> anyhow::Result<String> {
    Ok(ShardManifest::read(&info.shards)?
        .dev_split()
        .context("shards have no dev split to choose the threshold on")?
        .to_string())
}

/// Choose the threshold on the dev predictions, apply it to `split`'s, and
/// score the result: its score, CoNLL lines and record. `info` is the
/// (first) run's record, for its tags and shards.
pub fn decide(
    info: &RunInfo,
    (dev_split, dev, dev_pred): (&str, &[WindowRecord], &[Vec<usize>]),
    (split, records, pred): (&str, &[WindowRecord], &[Vec<usize>]),
) -> anyhow::Result<(Score, String, ConsistencyRecord)> {
    let tags = info.scored_tags();
    let choice = choose_threshold(dev, dev_pred, &tags);
    let (paths, changed_words) = apply(records, pred, choice.threshold);
    let (score, conll) = score_predictions(info, split, records, &paths)?;
    let record = ConsistencyRecord {
        split: split.to_string(),
        dev_split: dev_split.to_string(),
        choice,
        changed_words,
        f1_plain: score_windows(records, pred, &tags).micro.f1,
        f1_consistent: score.micro.f1,
        gold: consistency(records, &gold_paths(records)),
        predicted_plain: consistency(records, pred),
        predicted_consistent: consistency(records, &paths),
    };
    Ok((score, conll, record))
}

/// Consistency decoding of a split a run has decoded (`records`, `pred`),
/// at the threshold chosen on the shards' dev split.
pub fn evaluate(
    run: &LoadedRun,
    (split, records, pred): (&str, &[WindowRecord], &[Vec<usize>]),
    cache_dir: &Path,
    device: &Device,
) -> anyhow::Result<(Score, String, ConsistencyRecord)> {
    let dev_split = dev_split(&run.info)?;
    let (dev, dev_pred) = decode(run, &dev_split, cache_dir, device)?;
    decide(&run.info, (&dev_split, &dev, &dev_pred), (split, records, pred))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(words: &[&str]) -> WindowRecord {
        WindowRecord::for_test(words)
    }

    #[test]
    fn a_clear_majority_relabels_the_other_mentions_of_a_string() {
        // Tags: O, B-A(1), I-A(2), B-B(3). "Gale" is A twice and O once; "crater" inside a longer entity does not vote.
        let rec = doc(&["Gale", "x", "Gale", "y", "Gale", "Gale", "crater"]);
        let pred = vec![vec![1, 0, 1, 0, 0, 1, 2]];
        // Gale in "Gale crater" is part of a longer entity: two votes for A of three.
        let (out, changed) = apply(std::slice::from_ref(&rec), &pred, 0.6);
        assert_eq!((out, changed), (vec![vec![1, 0, 1, 0, 1, 1, 2]], 1));
        // Not above the threshold: nothing changes.
        assert_eq!(apply(std::slice::from_ref(&rec), &pred, 0.7).1, 0);
        // O wins as well: a one-off entity among outside mentions is dropped.
        let pred = vec![vec![0, 0, 0, 0, 3, 0, 0]];
        assert_eq!(
            apply(std::slice::from_ref(&rec), &pred, 0.5).0,
            vec![vec![0, 0, 0, 0, 0, 0, 0]]
        );
    }

    #[test]
    fn votes_are_counted_per_document_across_windows() {
        let mut a = doc(&["Fe", "and", "Mg"]);
        let mut b = doc(&["Fe", "again"]);
        let mut c = doc(&["Fe", "elsewhere"]);
        (a.doc_id, b.doc_id, c.doc_id) = ("d1".into(), "d1".into(), "d2".into());
        let pred = vec![vec![3, 0, 0], vec![0, 0], vec![0, 0]];
        let records = [a, b, c];
        // d1 has Fe as B (1 vote) and O (1 vote): a tie is no majority.
        assert_eq!(apply(&records, &pred, 0.5).1, 0);
        assert_eq!(
            consistency(&records, &pred),
            Consistency { repeated_strings: 1, inconsistent: 1, share: 1.0 }
        );
        assert_eq!(consistency(&records, &gold_paths(&records)).inconsistent, 0);
    }

    #[test]
    fn the_threshold_is_the_best_on_dev_and_1_means_unchanged() {
        let rec = doc(&["Gale", "x", "Gale", "Gale"]);
        let mut gold = rec.clone();
        gold.tags = vec![1, 0, 1, 1];
        let tags: Vec<String> = ["O", "B-A", "I-A", "B-B", "I-B"].map(String::from).to_vec();
        let pred = vec![vec![1, 0, 1, 0]];
        let choice = choose_threshold(std::slice::from_ref(&gold), &pred, &tags);
        assert!(choice.threshold < 0.7, "{choice:?}");
        assert_eq!(apply(std::slice::from_ref(&gold), &pred, 1.0).0, pred);
    }
}
