//! Entity-level scoring exactly as conlleval does it.
//!
//! Sequences (sentences or windows) are read with conlleval's chunk rules
//! ([`enrelg_schemas::chunks`]); a predicted entity is correct when its
//! start, end and type all equal a gold entity's. Precision, recall and F1
//! are micro-averaged over all entities, and also given per type.
//!
//! Besides window tag sequences ([`score_windows`]) the same counts score
//! character spans ([`score_spans`], for brat trees in `enrelg score`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use enrelg_schemas::chunks;
use serde::{Deserialize, Serialize};

use crate::data::WindowRecord;
use crate::run::RunInfo;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    /// Percentages, as conlleval prints them.
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub gold: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl Counts {
    pub fn prf(&self) -> Prf {
        let p = if self.predicted > 0 {
            100.0 * self.correct as f64 / self.predicted as f64
        } else {
            0.0
        };
        let r = if self.gold > 0 { 100.0 * self.correct as f64 / self.gold as f64 } else { 0.0 };
        let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        Prf {
            precision: p,
            recall: r,
            f1: f,
            gold: self.gold,
            predicted: self.predicted,
            correct: self.correct,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub tokens: usize,
    pub correct_tokens: usize,
    pub micro: Prf,
    pub per_type: BTreeMap<String, Prf>,
    /// Entity counts of each document, for significance tests that resample
    /// documents ([`crate::metrics::significance`]); empty where sequences have no
    /// document (`enrelg conlleval`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub per_document: BTreeMap<String, Counts>,
}

/// Accumulates gold and predicted tag sequences.
#[derive(Debug, Default)]
pub struct Scorer {
    tokens: usize,
    correct_tokens: usize,
    total: Counts,
    per_type: BTreeMap<String, Counts>,
    per_document: BTreeMap<String, Counts>,
}

impl Scorer {
    /// Add a sequence; returns its own counts.
    pub fn add<S: AsRef<str>>(&mut self, gold: &[S], predicted: &[S]) -> Counts {
        assert_eq!(gold.len(), predicted.len(), "gold and predicted sequences differ in length");
        self.tokens += gold.len();
        self.correct_tokens +=
            gold.iter().zip(predicted).filter(|(g, p)| g.as_ref() == p.as_ref()).count();
        let g: BTreeSet<_> = chunks(gold).chunks.into_iter().collect();
        let p: BTreeSet<_> = chunks(predicted).chunks.into_iter().collect();
        for c in &g {
            self.total.gold += 1;
            self.per_type.entry(c.ty.clone()).or_default().gold += 1;
        }
        for c in &p {
            self.total.predicted += 1;
            self.per_type.entry(c.ty.clone()).or_default().predicted += 1;
        }
        for c in g.intersection(&p) {
            self.total.correct += 1;
            self.per_type.entry(c.ty.clone()).or_default().correct += 1;
        }
        Counts { gold: g.len(), predicted: p.len(), correct: g.intersection(&p).count() }
    }

    /// Add a sequence of document `doc`, counted in its document's counts too.
    pub fn add_in<S: AsRef<str>>(&mut self, doc: &str, gold: &[S], predicted: &[S]) {
        let c = self.add(gold, predicted);
        let d = self.per_document.entry(doc.to_string()).or_default();
        (d.gold, d.predicted, d.correct) =
            (d.gold + c.gold, d.predicted + c.predicted, d.correct + c.correct);
    }

    pub fn score(&self) -> Score {
        Score {
            tokens: self.tokens,
            correct_tokens: self.correct_tokens,
            micro: self.total.prf(),
            per_type: self.per_type.iter().map(|(k, v)| (k.clone(), v.prf())).collect(),
            per_document: self.per_document.clone(),
        }
    }
}

impl Score {
    /// The report in conlleval's own layout.
    pub fn conlleval_report(&self) -> String {
        let m = &self.micro;
        let accuracy = if self.tokens > 0 {
            100.0 * self.correct_tokens as f64 / self.tokens as f64
        } else {
            0.0
        };
        let mut out = format!(
            "processed {} tokens with {} phrases; found: {} phrases; correct: {}.\n",
            self.tokens, m.gold, m.predicted, m.correct
        );
        out += &format!(
            "accuracy: {:6.2}%; precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}\n",
            accuracy, m.precision, m.recall, m.f1
        );
        for (ty, p) in &self.per_type {
            out += &format!(
                "{:>17}: precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}  {}\n",
                ty, p.precision, p.recall, p.f1, p.predicted
            );
        }
        out
    }
}

/// Score predicted tag ids against each window's gold tags, both read
/// through `tags` (the run's scored tags: auxiliary types as O).
pub fn score_windows(records: &[WindowRecord], predicted: &[Vec<usize>], tags: &[String]) -> Score {
    let mut scorer = Scorer::default();
    for (rec, pred) in records.iter().zip(predicted) {
        let gold: Vec<&str> = rec.tags.iter().map(|&t| tags[t as usize].as_str()).collect();
        let guess: Vec<&str> = pred.iter().map(|&t| tags[t].as_str()).collect();
        scorer.add_in(&rec.doc_id, &gold, &guess);
    }
    scorer.score()
}

/// Score a run's predictions on a split of its shards and lay them out as
/// CoNLL lines (`word gold predicted`, a blank line after each window).
pub fn score_predictions(
    info: &RunInfo,
    split: &str,
    records: &[WindowRecord],
    pred: &[Vec<usize>],
) -> anyhow::Result<(Score, String)> {
    use enrelg_schemas::tables::{self, tokens};
    let tags = info.scored_tags();
    let score = score_windows(records, pred, &tags);
    let table = enrelg_pipeline::shard::read_table(&info.shards, split, tables::TOKENS)?;
    let forms: Vec<String> =
        table.column(tokens::FORM)?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    let docs = table.column(tokens::DOC_ID)?.str()?;
    let idx = table.column(tokens::IDX)?.u32()?;
    let mut row_of = HashMap::new();
    for (row, (d, i)) in docs.iter().zip(idx.iter()).enumerate() {
        row_of.insert((d.unwrap_or("").to_string(), i.unwrap_or(u32::MAX)), row);
    }
    let mut conll = String::new();
    for (rec, p) in records.iter().zip(pred) {
        for (w, (&g, &t)) in rec.tags.iter().zip(p).enumerate() {
            let form = row_of
                .get(&(rec.doc_id.clone(), rec.word_start + w as u32))
                .map_or("?", |&r| forms[r].as_str());
            conll += &format!("{form} {} {}\n", tags[g as usize], tags[t]);
        }
        conll.push('\n');
    }
    Ok((score, conll))
}

/// An entity as a character span: (document, type, start, end).
pub type Span = (String, String, usize, usize);

/// Exact-span, exact-type counts of predicted against gold spans, in total
/// and per type, over the spans of `types` only.
pub fn score_spans(
    gold: &BTreeSet<Span>,
    pred: &BTreeSet<Span>,
    types: &BTreeSet<String>,
) -> (Counts, BTreeMap<String, Counts>) {
    let mut per: BTreeMap<String, Counts> =
        types.iter().map(|t| (t.clone(), Counts::default())).collect();
    let mut total = Counts::default();
    for g in gold.iter().filter(|g| types.contains(&g.1)) {
        total.gold += 1;
        per.entry(g.1.clone()).or_default().gold += 1;
    }
    for p in pred.iter().filter(|p| types.contains(&p.1)) {
        total.predicted += 1;
        per.entry(p.1.clone()).or_default().predicted += 1;
        if gold.contains(p) {
            total.correct += 1;
            per.entry(p.1.clone()).or_default().correct += 1;
        }
    }
    (total, per)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_count_only_exact_matches_of_the_scored_types() {
        let span = |ty: &str, s: usize, e: usize| ("d".to_string(), ty.to_string(), s, e);
        let gold: BTreeSet<Span> = [span("A", 0, 3), span("B", 5, 9), span("C", 10, 12)].into();
        let pred: BTreeSet<Span> = [span("A", 0, 3), span("B", 5, 8), span("C", 10, 12)].into();
        let types: BTreeSet<String> = ["A".to_string(), "B".to_string()].into();
        let (total, per) = score_spans(&gold, &pred, &types);
        assert_eq!(total, Counts { gold: 2, predicted: 2, correct: 1 });
        assert_eq!(per["B"], Counts { gold: 1, predicted: 1, correct: 0 });
        assert!(!per.contains_key("C"), "a type outside the scored ones is not counted");
    }

    #[test]
    fn exact_match_with_conlleval_chunks() {
        let mut s = Scorer::default();
        // Gold: A(0..2), B(3..4). Predicted: A(0..2) correct, B(3..5) wrong span, stray I-A at 5 starts a chunk.
        s.add(&["B-A", "I-A", "O", "B-B", "O", "O"], &["B-A", "I-A", "O", "B-B", "I-B", "I-A"]);
        let score = s.score();
        assert_eq!((score.micro.gold, score.micro.predicted, score.micro.correct), (2, 3, 1));
        assert!((score.micro.precision - 100.0 / 3.0).abs() < 1e-9);
        assert!((score.micro.recall - 50.0).abs() < 1e-9);
        assert!((score.micro.f1 - 40.0).abs() < 1e-9);
        assert_eq!(score.per_type["A"].correct, 1);
        assert_eq!(score.per_type["B"].correct, 0);
        assert!(score
            .conlleval_report()
            .contains("processed 6 tokens with 2 phrases; found: 3 phrases; correct: 1."));
    }

    #[test]
    fn no_predictions_give_zero_not_nan() {
        let mut s = Scorer::default();
        s.add(&["B-A"], &["O"]);
        let m = s.score().micro;
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
    }
}
