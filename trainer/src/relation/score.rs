//! Relation precision, recall and F1: a predicted relation counts when its type and both
//! arguments' word spans and types equal a gold one's (with gold entities this tests the relation
//! alone; end to end, the tagger's entities too).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::data::Triple;

/// The key of the score over every relation type.
pub const ALL: &str = "all";

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Prf {
    pub tp: usize,
    pub fp: usize,
    #[serde(rename = "fn")]
    pub fn_: usize,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    fn new(tp: usize, fp: usize, fn_: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { 100.0 * a as f64 / b as f64 };
        let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self { tp, fp, fn_, precision, recall, f1 }
    }
}

/// Scores per relation type and over all ([`ALL`]) of the triples `keep` accepts.
pub fn score(
    pred: &BTreeSet<Triple>,
    gold: &BTreeSet<Triple>,
    keep: impl Fn(&Triple) -> bool,
) -> BTreeMap<String, Prf> {
    let pred: BTreeSet<&Triple> = pred.iter().filter(|t| keep(t)).collect();
    let gold: BTreeSet<&Triple> = gold.iter().filter(|t| keep(t)).collect();
    let types: BTreeSet<&str> = pred.iter().chain(&gold).map(|t| t.ty.as_str()).collect();
    let count = |ty: Option<&str>| {
        let of = |t: &&&Triple| ty.is_none_or(|ty| t.ty == ty);
        let tp = pred.iter().filter(of).filter(|t| gold.contains(**t)).count();
        let p = pred.iter().filter(of).count();
        let g = gold.iter().filter(of).count();
        Prf::new(tp, p - tp, g - tp)
    };
    let mut out: BTreeMap<String, Prf> =
        types.into_iter().map(|ty| (ty.to_string(), count(Some(ty)))).collect();
    out.insert(ALL.into(), count(None));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relation::data::Mention;

    fn t(head: usize, tail: usize, tail_ty: &str, ty: &str) -> Triple {
        Triple {
            doc: "d".into(),
            head: Mention { start: head, end: head + 1, ty: "Target".into() },
            tail: Mention { start: tail, end: tail + 1, ty: tail_ty.into() },
            ty: ty.into(),
        }
    }

    #[test]
    fn a_relation_counts_only_with_its_type_spans_and_argument_types() {
        let gold = BTreeSet::from([
            t(0, 2, "Element", "Contains"),
            t(0, 4, "Mineral", "Contains"),
            t(0, 6, "Feature", "Shows"),
        ]);
        let pred = BTreeSet::from([
            t(0, 2, "Element", "Contains"),
            // Right spans, wrong argument type.
            t(0, 4, "Element", "Contains"),
            t(0, 6, "Feature", "Shows"),
            t(0, 8, "Feature", "Shows"),
        ]);
        let s = score(&pred, &gold, |_| true);
        assert_eq!((s["Contains"].tp, s["Contains"].fp, s["Contains"].fn_), (1, 1, 1));
        assert_eq!((s["Shows"].tp, s["Shows"].fp, s["Shows"].fn_), (1, 1, 0));
        assert_eq!((s[ALL].tp, s[ALL].fp, s[ALL].fn_), (2, 2, 1));
        assert!((s[ALL].f1 - 2.0 * 50.0 * (200.0 / 3.0) / (50.0 + 200.0 / 3.0)).abs() < 1e-9);
        let contains = score(&pred, &gold, |t| t.ty == "Contains");
        assert!(!contains.contains_key("Shows"));
    }
}
