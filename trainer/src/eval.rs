//! Entity-level scoring exactly as conlleval does it.
//!
//! Sequences (sentences or windows) are read with conlleval's chunk rules
//! ([`enrelg_schemas::chunks`]); a predicted entity is correct when its
//! start, end and type all equal a gold entity's. Precision, recall and F1
//! are micro-averaged over all entities, and also given per type.

use std::collections::{BTreeMap, BTreeSet};

use enrelg_schemas::chunks;
use serde::{Deserialize, Serialize};

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
        let p = if self.predicted > 0 { 100.0 * self.correct as f64 / self.predicted as f64 } else { 0.0 };
        let r = if self.gold > 0 { 100.0 * self.correct as f64 / self.gold as f64 } else { 0.0 };
        let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        Prf { precision: p, recall: r, f1: f, gold: self.gold, predicted: self.predicted, correct: self.correct }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub tokens: usize,
    pub correct_tokens: usize,
    pub micro: Prf,
    pub per_type: BTreeMap<String, Prf>,
}

/// Accumulates gold and predicted tag sequences.
#[derive(Debug, Default)]
pub struct Scorer {
    tokens: usize,
    correct_tokens: usize,
    total: Counts,
    per_type: BTreeMap<String, Counts>,
}

impl Scorer {
    pub fn add<S: AsRef<str>>(&mut self, gold: &[S], predicted: &[S]) {
        assert_eq!(gold.len(), predicted.len(), "gold and predicted sequences differ in length");
        self.tokens += gold.len();
        self.correct_tokens += gold.iter().zip(predicted).filter(|(g, p)| g.as_ref() == p.as_ref()).count();
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
    }

    pub fn score(&self) -> Score {
        Score {
            tokens: self.tokens,
            correct_tokens: self.correct_tokens,
            micro: self.total.prf(),
            per_type: self.per_type.iter().map(|(k, v)| (k.clone(), v.prf())).collect(),
        }
    }
}

impl Score {
    /// The report in conlleval's own layout.
    pub fn conlleval_report(&self) -> String {
        let m = &self.micro;
        let accuracy = if self.tokens > 0 { 100.0 * self.correct_tokens as f64 / self.tokens as f64 } else { 0.0 };
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

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(score.conlleval_report().contains("processed 6 tokens with 2 phrases; found: 3 phrases; correct: 1."));
    }

    #[test]
    fn no_predictions_give_zero_not_nan() {
        let mut s = Scorer::default();
        s.add(&["B-A"], &["O"]);
        let m = s.score().micro;
        assert_eq!((m.precision, m.recall, m.f1), (0.0, 0.0, 0.0));
    }
}
