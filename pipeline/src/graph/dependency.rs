//! [`DependencyGraph`]: subject-type and object-type dependents of one head, linked
//! to it and to each other, within a sentence; the edge sets of the paper's Table 2.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{pair, Edge, EdgeKind};
use crate::read::document::{Document, Token};

/// The dependency edge sets of the paper's Table 2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DependencyVariant {
    KeyOnly,
    #[default]
    CompoundKey,
    ModifierKey,
    All,
}

impl DependencyVariant {
    pub fn kinds(self) -> &'static [EdgeKind] {
        use EdgeKind::*;
        match self {
            Self::KeyOnly => &[KeyHead, KeySibling],
            Self::CompoundKey => &[KeyHead, KeySibling, Compound],
            Self::ModifierKey => &[KeyHead, KeySibling, Compound, Modifier],
            Self::All => &[KeyHead, KeySibling, Compound, Modifier, Arc],
        }
    }
}

/// Subject-type relations (ClearNLP/Stanford and UD names).
pub const SUBJECT_RELS: &[&str] = &["nsubj", "nsubjpass", "nsubj:pass"];
/// Object-type relations.
pub const OBJECT_RELS: &[&str] = &["dobj", "obj"];
pub const COMPOUND_RELS: &[&str] = &["compound", "nn"];
/// Modifier relations other than compounds.
pub const MODIFIER_RELS: &[&str] = &[
    "amod",
    "nmod",
    "nummod",
    "poss",
    "nmod:poss",
    "npadvmod",
    "nmod:npmod",
    "advmod",
    "appos",
    "quantmod",
    "acl",
    "relcl",
    "acl:relcl",
    "nounmod",
];

fn rel_in(token: &Token, rels: &[&str]) -> bool {
    // The relation names are lowercase ASCII: compare without allocating.
    rels.iter().any(|r| token.deprel.eq_ignore_ascii_case(r))
}

/// Dependency edges among words `start..end` of `doc`.
pub struct DependencyGraph;

impl DependencyGraph {
    pub fn edges(doc: &Document, start: usize, end: usize) -> Vec<Edge> {
        let inside = |w: usize| w >= start && w < end;
        // A pair found by several rules keeps the smallest kind.
        let mut edges: Vec<((u32, u32), EdgeKind)> = Vec::new();
        let mut add =
            |a: usize, b: usize, kind: EdgeKind| edges.push((pair(a - start, b - start), kind));
        let mut key_dependents: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for w in start..end {
            let t = &doc.tokens[w];
            if let Some(h) = t.head {
                if rel_in(t, SUBJECT_RELS) || rel_in(t, OBJECT_RELS) {
                    key_dependents.entry(h).or_default().push(w);
                }
            }
        }
        // Whether each word of the window is part of a key relation.
        let mut in_key = vec![false; end - start];
        for (&h, deps) in &key_dependents {
            for (i, &a) in deps.iter().enumerate() {
                if inside(h) {
                    add(a, h, EdgeKind::KeyHead);
                    in_key[h - start] = true;
                    in_key[a - start] = true;
                }
                for &b in &deps[i + 1..] {
                    add(a, b, EdgeKind::KeySibling);
                    in_key[a - start] = true;
                    in_key[b - start] = true;
                }
            }
        }
        for w in start..end {
            let t = &doc.tokens[w];
            let Some(h) = t.head.filter(|&h| inside(h) && h != w) else {
                continue;
            };
            let kind = if in_key[h - start] && rel_in(t, COMPOUND_RELS) {
                EdgeKind::Compound
            } else if in_key[h - start] && rel_in(t, MODIFIER_RELS) {
                EdgeKind::Modifier
            } else {
                EdgeKind::Arc
            };
            add(w, h, kind);
        }
        // Sorted by pair, then kind: the smallest kind of each pair comes first.
        edges.sort_unstable();
        edges.dedup_by_key(|&mut (pair, _)| pair);
        edges.into_iter().map(|((src, dst), kind)| Edge { kind, src, dst }).collect()
    }
}
