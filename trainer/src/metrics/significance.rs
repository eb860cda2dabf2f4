//! Is a configuration better than its reference? Two tests, since a gain can
//! fail to hold over other test documents or over other training seeds:
//!
//! - a paired percentile bootstrap over test documents (Berg-Kirkpatrick et
//!   al., 2012; Dror et al., 2018): the test set's sampling variance, with
//!   each side's seeds averaged;
//! - a permutation test across seeds (Dror et al., 2019, "Deep dominance"
//!   discuss why training variance must count): the seeds' F1 on the whole
//!   split, paired by seed (exact sign flips of the per-seed differences) or,
//!   with no seed in common, by exchanging the two groups' labels.
//!
//! A table tests several rows at once, so [`holm`] corrects each family of
//! p-values (Holm, 1979) for the number of comparisons.
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
    /// The bootstrap over documents: one-sided p that the row is not better.
    pub p_value: f64,
    /// The permutation test across seeds: one-sided p that the row is not better.
    pub seed_p_value: f64,
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
    let f1s = |runs: &[&Score]| runs.iter().map(|s| s.micro.f1).collect::<Vec<f64>>();
    let seed_p_value = if pairs.is_empty() {
        permutation_p(&f1s(&a), &f1s(&b), resamples, &mut rng)
    } else {
        let diffs: Vec<f64> = pairs.iter().map(|(x, y)| x.micro.f1 - y.micro.f1).collect();
        sign_flip_p(&diffs, resamples, &mut rng)
    };
    Some(Comparison {
        delta_f1,
        p_value: (not_better + 1) as f64 / (resamples + 1) as f64,
        seed_p_value,
        resamples,
        paired_seeds: pairs.len(),
        seeds_better: pairs.iter().filter(|(x, y)| x.micro.f1 > y.micro.f1).count(),
    })
}

/// One-sided p that the mean of paired differences `diffs` is not above 0:
/// the share of sign assignments whose mean is at least the observed one,
/// all 2^n of them up to 16 pairs, else `resamples` drawn at random.
fn sign_flip_p(diffs: &[f64], resamples: usize, rng: &mut crate::rng::SplitMix64) -> f64 {
    let observed: f64 = diffs.iter().sum();
    let flipped = |signs: u64| -> f64 {
        diffs.iter().enumerate().map(|(i, d)| if signs >> i & 1 == 1 { -d } else { *d }).sum()
    };
    // A tolerance so that a tie in exact arithmetic counts as one.
    let at_least = |x: f64| x >= observed - 1e-9;
    if diffs.len() <= 16 {
        let all = 1u64 << diffs.len();
        (0..all).filter(|&s| at_least(flipped(s))).count() as f64 / all as f64
    } else {
        let hits = (0..resamples).filter(|_| at_least(flipped(rng.next_u64()))).count();
        (hits + 1) as f64 / (resamples + 1) as f64
    }
}

/// One-sided p that group `a`'s mean is not above group `b`'s: the share of
/// `resamples` random relabellings of the pooled values whose difference of
/// means is at least the observed one (counting the observed labelling).
fn permutation_p(a: &[f64], b: &[f64], resamples: usize, rng: &mut crate::rng::SplitMix64) -> f64 {
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let observed = mean(a) - mean(b);
    let mut pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let mut hits = 0;
    for _ in 0..resamples {
        // Fisher-Yates shuffle; the first |a| values are the relabelled row.
        for i in (1..pooled.len()).rev() {
            pooled.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        let (x, y) = pooled.split_at(a.len());
        hits += usize::from(mean(x) - mean(y) >= observed - 1e-9);
    }
    (hits + 1) as f64 / (resamples + 1) as f64
}

/// Holm's step-down correction of a family of p-values, in their order:
/// the i-th smallest is multiplied by (m - i), kept monotone and capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
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

    /// A score with this micro F1 and per-document counts (one document).
    fn with_f1(f1: f64) -> Score {
        let mut s = score(&[(100, 100, 90)]);
        s.micro.f1 = f1;
        s
    }

    /// Scores paired by seed: seeds 1, 2, ...
    fn by_seed(v: &[Score]) -> Vec<(u64, &Score)> {
        v.iter().enumerate().map(|(i, s)| (i as u64 + 1, s)).collect()
    }

    #[test]
    fn the_seed_test_counts_training_variance() {
        // Better on each of five seeds: the one sign assignment of 32 that is all positive.
        let (row, reference): (Vec<Score>, Vec<Score>) =
            (1..=5).map(|i| (with_f1(80.0 + i as f64), with_f1(79.0 + i as f64))).unzip();

        let c = compare(&by_seed(&row), &by_seed(&reference), 100, 1).unwrap();
        assert_eq!(c.seed_p_value, 1.0 / 32.0, "{c:?}");
        // Better on three seeds and worse by more on two: no evidence.
        let mixed: Vec<Score> = [1.0, 1.0, 1.0, -3.0, -3.0]
            .iter()
            .zip(&reference)
            .map(|(d, r)| with_f1(r.micro.f1 + d))
            .collect();
        let c = compare(&by_seed(&mixed), &by_seed(&reference), 100, 1).unwrap();
        assert!(c.seed_p_value > 0.5, "{c:?}");
        // No seed in common: the groups' labels are exchanged instead.
        let apart = [with_f1(99.0), with_f1(98.0), with_f1(97.0)];
        let below = [with_f1(50.0), with_f1(51.0), with_f1(52.0)];
        let c = compare(
            &apart.iter().map(|s| (7, s)).collect::<Vec<_>>(),
            &below.iter().map(|s| (6, s)).collect::<Vec<_>>(),
            2000,
            1,
        )
        .unwrap();
        // 1 of the 20 labellings of 3 + 3 values is as extreme as the observed one.
        assert!((c.seed_p_value - 0.05).abs() < 0.02, "{c:?}");
    }

    #[test]
    fn holm_multiplies_by_the_remaining_count_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.5]);
        let expected = [0.04, 0.09, 0.09, 0.5];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert_eq!(holm(&[0.6, 0.7]), vec![1.0, 1.0]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn records_without_document_counts_are_not_compared() {
        let s = Score::default();
        assert!(compare(&[(1, &s)], &[(1, &s)], 10, 1).is_none());
    }
}
