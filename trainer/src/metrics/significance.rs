//! Is a configuration better than its reference? A paired bootstrap over
//! test documents (Berg-Kirkpatrick et al., 2012; Dror et al., 2018) and a
//! per-seed comparison.
//!
//! Each resample draws the split's documents with replacement; both
//! configurations are scored on the same draw, each as the mean over its
//! seeds of the micro F1 of the drawn documents' summed entity counts. The
//! one-sided p-value is the share of resamples in which the configuration
//! does not beat its reference, `(#{delta <= 0} + 1) / (B + 1)`.
//!
//! Seeds are paired too: while a grid is unfinished one configuration may
//! have run seeds the other has not, and a seed's own spread would then
//! pass for a difference, so only the seeds both ran are compared (all of
//! each side's seeds only when they share none).

use serde::Serialize;

use crate::metrics::conlleval::{Counts, Score};

/// Resamples drawn per comparison.
pub const RESAMPLES: usize = 1000;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Comparison {
    /// Mean F1 over the compared seeds minus the reference's, on the whole split.
    pub delta_f1: f64,
    pub p_value: f64,
    pub resamples: usize,
    /// Seeds both configurations ran, and in how many of them this one scored higher.
    pub paired_seeds: usize,
    pub seeds_better: usize,
}

fn f1(c: &Counts) -> f64 {
    c.prf().f1
}

/// Mean over runs of the micro F1 of the documents `draw` (with repeats).
fn mean_f1(runs: &[&Score], docs: &[&String], draw: &[usize]) -> f64 {
    let total: f64 = runs
        .iter()
        .map(|s| {
            let mut c = Counts::default();
            for &d in draw {
                let x = &s.per_document[docs[d]];
                (c.gold, c.predicted, c.correct) =
                    (c.gold + x.gold, c.predicted + x.predicted, c.correct + x.correct);
            }
            f1(&c)
        })
        .sum();
    total / runs.len() as f64
}

/// Compare `runs` against `reference` (each `(seed, score)`) on the seeds
/// both ran (see the module docs), over the documents every score counts.
/// None when a side has no run or no per-document counts (records older
/// than them).
pub fn compare(
    runs: &[(u64, &Score)],
    reference: &[(u64, &Score)],
    resamples: usize,
    seed: u64,
) -> Option<Comparison> {
    // The seeds both sides ran, as (row, reference) pairs: found once, used
    // for the bootstrap and for the per-seed comparison.
    let pairs: Vec<(&Score, &Score)> = runs
        .iter()
        .filter_map(|(seed, s)| reference.iter().find(|(r, _)| r == seed).map(|(_, r)| (*s, *r)))
        .collect();
    let (a, b): (Vec<&Score>, Vec<&Score>) = if pairs.is_empty() {
        (runs.iter().map(|(_, s)| *s).collect(), reference.iter().map(|(_, s)| *s).collect())
    } else {
        pairs.iter().copied().unzip()
    };
    let all: Vec<&Score> = a.iter().chain(&b).copied().collect();
    if a.is_empty() || b.is_empty() || all.iter().any(|s| s.per_document.is_empty()) {
        return None;
    }
    let docs: Vec<&String> = all[0]
        .per_document
        .keys()
        .filter(|d| all.iter().all(|s| s.per_document.contains_key(*d)))
        .collect();
    let everything: Vec<usize> = (0..docs.len()).collect();
    let delta_f1 = mean_f1(&a, &docs, &everything) - mean_f1(&b, &docs, &everything);
    let mut rng = crate::rng::SplitMix64::new(seed);
    let mut not_better = 0;
    for _ in 0..resamples {
        let draw: Vec<usize> =
            (0..docs.len()).map(|_| (rng.next_u64() % docs.len() as u64) as usize).collect();
        if mean_f1(&a, &docs, &draw) - mean_f1(&b, &docs, &draw) <= 0.0 {
            not_better += 1;
        }
    }
    Some(Comparison {
        delta_f1,
        p_value: (not_better + 1) as f64 / (resamples + 1) as f64,
        resamples,
        paired_seeds: pairs.len(),
        seeds_better: pairs.iter().filter(|(x, y)| x.micro.f1 > y.micro.f1).count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A score whose documents have the given (gold, predicted, correct) counts.
    fn score(docs: &[(usize, usize, usize)]) -> Score {
        let per_document = docs
            .iter()
            .enumerate()
            .map(|(i, &(gold, predicted, correct))| {
                (format!("d{i:02}"), Counts { gold, predicted, correct })
            })
            .collect();
        let mut s = Score { per_document, ..Score::default() };
        let total = docs.iter().fold(Counts::default(), |c, &(g, p, k)| Counts {
            gold: c.gold + g,
            predicted: c.predicted + p,
            correct: c.correct + k,
        });
        s.micro = total.prf();
        s
    }

    #[test]
    fn a_clearly_better_system_gets_a_small_p_and_an_equal_one_does_not() {
        let good = score(&[(10, 10, 9); 30]);
        let bad = score(&[(10, 10, 6); 30]);
        let c = compare(&[(1, &good)], &[(1, &bad)], 500, 7).unwrap();
        assert!(c.delta_f1 > 25.0 && c.p_value < 0.01, "{c:?}");
        assert_eq!((c.paired_seeds, c.seeds_better), (1, 1));
        let same = compare(&[(1, &bad)], &[(1, &bad)], 500, 7).unwrap();
        assert_eq!(same.delta_f1, 0.0);
        assert!(same.p_value > 0.99, "no resample can favour a copy: {same:?}");
    }

    #[test]
    fn a_gain_on_one_document_only_is_not_significant() {
        // Equal on 29 documents, better on one: the resamples that miss it show no gain.
        let mut docs = vec![(10, 10, 7); 30];
        let base = score(&docs);
        docs[0] = (10, 10, 10);
        let c = compare(&[(1, &score(&docs))], &[(1, &base)], 1000, 3).unwrap();
        assert!(c.delta_f1 > 0.0);
        assert!(c.p_value > 0.2, "{c:?}");
    }

    #[test]
    fn only_the_seeds_both_sides_ran_are_compared() {
        let (weak, strong, middle) =
            (score(&[(10, 10, 6); 30]), score(&[(10, 10, 9); 30]), score(&[(10, 10, 7); 30]));
        // Seed 2 of the row is strong, but the reference never ran seed 2: only seed 1 counts.
        let c = compare(&[(1, &middle), (2, &strong)], &[(1, &middle)], 200, 5).unwrap();
        assert_eq!((c.delta_f1, c.paired_seeds, c.seeds_better), (0.0, 1, 0), "{c:?}");
        assert!(c.p_value > 0.99, "{c:?}");
        // No seed in common: every run of each side.
        let c = compare(&[(1, &strong), (2, &middle)], &[(3, &weak)], 200, 5).unwrap();
        assert!(
            (c.delta_f1 - (80.0 - 60.0)).abs() < 1e-9 && c.paired_seeds == 0,
            "the mean of 90 and 70 against 60: {c:?}"
        );
    }

    #[test]
    fn records_without_document_counts_are_not_compared() {
        let s = Score::default();
        assert!(compare(&[(1, &s)], &[(1, &s)], 10, 1).is_none());
    }
}
