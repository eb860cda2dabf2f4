//! The two entity relation graphs of EnRel-G, per window, over its words.
//!
//! Nodes are the words of a window (positions `0..n`). Edges are undirected,
//! stored once with `src < dst`; self loops are implied and not stored. Every
//! edge carries its kind, so an ablation is a filter over kinds, not a rebuild.
//!
//! - [`CorefGraph`] links words that may mention the same entity: two nouns or
//!   proper nouns with the same form (`exact`) or, failing that, the same lemma
//!   (`lemma`), and a short form with every content word of its long form
//!   (`acronym`). Stop words, punctuation and numbers never link.
//! - [`DependencyGraph`] links, within a sentence, the subject-type and
//!   object-type dependents of one head to that head (`key_head`) and to each
//!   other (`key_sibling`); compound modifiers to a head that is in a key
//!   edge (`compound`); other modifiers of such a head (`modifier`); and every
//!   other dependency arc (`arc`). A pair gets the first kind that applies in
//!   that order.

use enrelg_schemas::Graph;
use serde::{Deserialize, Serialize};

use crate::read::document::Document;
use crate::window::Window;
use crate::words::acronym::Acronym;

mod coref;
mod dependency;

pub use coref::{
    long_form_occurrences, CorefGraph, DocEdge, DocumentCorefGraph, DOC_COREF_NEIGHBOURS,
};
pub use dependency::{
    DependencyGraph, DependencyVariant, COMPOUND_RELS, MODIFIER_RELS, OBJECT_RELS, SUBJECT_RELS,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    Exact,
    Lemma,
    Acronym,
    KeyHead,
    KeySibling,
    Compound,
    Modifier,
    Arc,
}

impl EdgeKind {
    pub const ALL: [EdgeKind; 8] = [
        Self::Exact,
        Self::Lemma,
        Self::Acronym,
        Self::KeyHead,
        Self::KeySibling,
        Self::Compound,
        Self::Modifier,
        Self::Arc,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Lemma => "lemma",
            Self::Acronym => "acronym",
            Self::KeyHead => "key_head",
            Self::KeySibling => "key_sibling",
            Self::Compound => "compound",
            Self::Modifier => "modifier",
            Self::Arc => "arc",
        }
    }

    /// Which graph the kind belongs to.
    pub fn graph(self) -> Graph {
        match self {
            Self::Exact | Self::Lemma | Self::Acronym => Graph::Coref,
            _ => Graph::Dep,
        }
    }

    /// The kind named `name` in the `kind` column, if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub kind: EdgeKind,
    pub src: u32,
    pub dst: u32,
}

fn pair(a: usize, b: usize) -> (u32, u32) {
    (a.min(b) as u32, a.max(b) as u32)
}

/// Edges sorted by pair, one per pair: the first one pushed for it (a
/// stable sort keeps the order of pushes). Cheaper than a `BTreeMap` per
/// window, and the same result as its `insert`-then-`or_insert` order.
fn first_per_pair<K: Ord + Copy>(mut edges: Vec<(K, EdgeKind)>) -> Vec<(K, EdgeKind)> {
    edges.sort_by_key(|&(pair, _)| pair);
    edges.dedup_by_key(|&mut (pair, _)| pair);
    edges
}

/// The graph stage of one document, as the shards hold it: each window's
/// coreference and dependency edges (in the order of `windows`), and the
/// coreference edges between windows (each word's `DOC_COREF_NEIGHBOURS`
/// nearest mentions).
pub fn document_graphs(
    doc: &Document,
    windows: &[Window],
    lemmas: &[String],
    acronyms: &[Acronym],
) -> (Vec<Vec<Edge>>, Vec<DocEdge>) {
    let long_forms = long_form_occurrences(doc, acronyms);
    let per_window = windows
        .iter()
        .map(|w| {
            let mut edges =
                CorefGraph::edges(doc, w.word_start, w.word_end, lemmas, acronyms, &long_forms);
            edges.extend(DependencyGraph::edges(doc, w.word_start, w.word_end));
            edges
        })
        .collect();
    let ranges: Vec<(usize, usize)> = windows.iter().map(|w| (w.word_start, w.word_end)).collect();
    let doc_edges = DocumentCorefGraph::edges(
        doc,
        &ranges,
        lemmas,
        acronyms,
        &long_forms,
        DOC_COREF_NEIGHBOURS,
    );
    (per_window, doc_edges)
}

#[cfg(test)]
mod tests {
    use super::coref::nearest_outside_window;
    use super::*;
    use crate::read::document::{Sentence, Token};
    use crate::read::text::Text;

    /// (form, upos, deprel, head as 1-based position or 0) in one sentence.
    fn doc(rows: &[(&str, &str, &str, usize)]) -> Document {
        let mut text = String::new();
        let mut tokens = Vec::new();
        for (form, upos, deprel, head) in rows {
            let start = text.chars().count();
            text.push_str(form);
            tokens.push(Token {
                form: form.to_string(),
                lemma: None,
                upos: upos.to_string(),
                xpos: None,
                deprel: deprel.to_string(),
                head: (*head > 0).then(|| head - 1),
                raw_head: None,
                start,
                end: text.chars().count(),
            });
            text.push(' ');
        }
        let n = tokens.len();
        Document {
            id: "d".into(),
            text: Text::new(text),
            tokens,
            sentences: vec![Sentence { id: None, start: 0, end: n }],
            entities: vec![],
            relations: vec![],
            annotation_lines: Default::default(),
        }
    }

    fn e(kind: EdgeKind, src: u32, dst: u32) -> Edge {
        Edge { kind, src, dst }
    }

    #[test]
    fn dependency_key_compound_modifier_and_arc_edges() {
        // "The Curiosity rover analyzed red sandstone targets quickly"
        let d = doc(&[
            ("The", "DET", "det", 3),
            ("Curiosity", "PROPN", "compound", 3),
            ("rover", "NOUN", "nsubj", 4),
            ("analyzed", "VERB", "ROOT", 0),
            ("red", "ADJ", "amod", 7),
            ("sandstone", "NOUN", "compound", 7),
            ("targets", "NOUN", "dobj", 4),
            ("quickly", "ADV", "advmod", 4),
        ]);
        let edges = DependencyGraph::edges(&d, 0, 8);
        use EdgeKind::*;
        assert_eq!(
            edges,
            vec![
                e(Arc, 0, 2),
                e(Compound, 1, 2),
                e(KeyHead, 2, 3),
                e(KeySibling, 2, 6),
                e(KeyHead, 3, 6),
                e(Modifier, 3, 7),
                e(Modifier, 4, 6),
                e(Compound, 5, 6),
            ]
        );
        // A window that cuts the sentence keeps only edges inside it.
        let part = DependencyGraph::edges(&d, 2, 5);
        assert_eq!(part, vec![e(KeyHead, 0, 1)]);
    }

    #[test]
    fn document_edges_join_mentions_in_other_windows_only_and_stay_bounded() {
        let d = doc(&[
            ("Gale", "PROPN", "dep", 0),
            ("crater", "NOUN", "dep", 0),
            ("Gale", "PROPN", "dep", 0),
            ("the", "DET", "det", 0),
            ("Gale", "PROPN", "dep", 0),
            ("craters", "NOUN", "dep", 0),
            ("Gale", "PROPN", "dep", 0),
            ("Gale", "PROPN", "dep", 0),
        ]);
        let lemmas: Vec<String> =
            d.tokens.iter().map(|t| crate::words::lemma::Lemmatizer::default().lemma(t)).collect();
        // Three windows: words 0-2, 3-5, 6-7.
        let windows = [(0, 3), (3, 6), (6, 8)];
        let edges = DocumentCorefGraph::edges(&d, &windows, &lemmas, &[], &[], 1);
        use EdgeKind::*;
        let pairs: Vec<(EdgeKind, usize, usize)> =
            edges.iter().map(|e| (e.kind, e.src, e.dst)).collect();
        // Each Gale keeps its nearest Gale in another window (0, 2, 6 and 7 all
        // choose 4; 4 chooses 2 on the tie with 6); crater -- craters by lemma.
        assert_eq!(
            pairs,
            vec![(Exact, 0, 4), (Lemma, 1, 5), (Exact, 2, 4), (Exact, 4, 6), (Exact, 4, 7)],
            "{pairs:?}"
        );
        assert!(edges.iter().all(|e| windows.iter().position(|w| (w.0..w.1).contains(&e.src))
            != windows.iter().position(|w| (w.0..w.1).contains(&e.dst))));
        // One window: nothing crosses.
        assert!(DocumentCorefGraph::edges(&d, &[(0, 8)], &lemmas, &[], &[], 3).is_empty());
        // A larger k adds neighbours, never pairs within a window.
        let more = DocumentCorefGraph::edges(&d, &windows, &lemmas, &[], &[], 5);
        assert!(more.len() > edges.len() && more.iter().all(|e| !(e.src <= 2 && e.dst <= 2)));
    }

    /// A fixed linear congruential generator: `next(n)` draws from `0..n`,
    /// the same sequence on every run.
    fn lcg(seed: u64) -> impl FnMut(u64) -> usize {
        let mut state = seed;
        move |n| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((state >> 33) % n) as usize
        }
    }

    #[test]
    fn nearest_outside_window_equals_sorting_every_candidate() {
        // Windows of 1-6 words; candidate sets and words drawn by a fixed LCG.
        let mut next = lcg(12345);
        for _ in 0..500 {
            let mut window_of = Vec::new();
            for i in 0..1 + next(8) {
                window_of.extend(std::iter::repeat_n(i, 1 + next(6)));
            }
            let n = window_of.len();
            let candidates: Vec<usize> = (0..n).filter(|_| next(3) == 0).collect();
            let (w, k) = (next(n as u64), next(4));
            let mut brute: Vec<usize> =
                candidates.iter().copied().filter(|&c| window_of[c] != window_of[w]).collect();
            brute.sort_by_key(|&c| (c.abs_diff(w), c));
            brute.truncate(k);
            assert_eq!(
                nearest_outside_window(&window_of, w, &candidates, k),
                brute,
                "w {w}, k {k}, {candidates:?} in {window_of:?}"
            );
        }
    }

    #[test]
    fn long_form_occurrences_equal_scanning_every_token() {
        // Documents of mixed-case (and non-ASCII) words, long forms drawn
        // from them by a fixed LCG, some repeated as a long document repeats its definitions.
        let mut next = lcg(99);
        let vocab = [
            "Alpha", "alpha", "ALPHA", "X-ray", "x-ray", "Ωmega", "ωmega", "ΣΑΣ", "σας", "of",
            "Of", "the",
        ];
        for _ in 0..300 {
            let rows: Vec<(&str, &str, &str, usize)> = (0..1 + next(40))
                .map(|_| (vocab[next(vocab.len() as u64)], "NOUN", "dep", 0))
                .collect();
            let d = doc(&rows);
            let n = d.tokens.len();
            let acronyms: Vec<Acronym> = (0..next(6))
                .map(|_| {
                    let long_start = next(n as u64);
                    let long_end = (long_start + 1 + next(3)).min(n);
                    Acronym { short_form: "AX".into(), short: 0, long_start, long_end }
                })
                .collect();
            let scan: Vec<Vec<usize>> = acronyms
                .iter()
                .map(|a| {
                    let long: Vec<String> = d.tokens[a.long_start..a.long_end]
                        .iter()
                        .map(|t| t.form.to_lowercase())
                        .collect();
                    (0..=n - long.len())
                        .filter(|&p| {
                            long.iter()
                                .enumerate()
                                .all(|(i, l)| d.tokens[p + i].form.to_lowercase() == *l)
                        })
                        .collect()
                })
                .collect();
            assert_eq!(long_form_occurrences(&d, &acronyms), scan, "{rows:?} {acronyms:?}");
        }
    }

    #[test]
    fn coref_exact_lemma_and_acronym_edges() {
        let d = doc(&[
            ("Alpha", "PROPN", "compound", 4),
            ("Particle", "PROPN", "compound", 4),
            ("X-ray", "PROPN", "compound", 4),
            ("Spectrometer", "PROPN", "ROOT", 0),
            ("(", "PUNCT", "punct", 4),
            ("APXS", "PROPN", "appos", 4),
            (")", "PUNCT", "punct", 4),
            ("sulfates", "NOUN", "dep", 4),
            ("sulfate", "NOUN", "dep", 4),
            ("sulfate", "NOUN", "dep", 4),
            ("APXS", "PROPN", "dep", 4),
            ("the", "DET", "det", 4),
            ("the", "DET", "det", 4),
            ("2", "NUM", "nummod", 4),
            ("2", "NUM", "nummod", 4),
        ]);
        let lemmas: Vec<String> =
            d.tokens.iter().map(|t| crate::words::lemma::Lemmatizer::default().lemma(t)).collect();
        let acr = crate::words::acronym::detect(&d);
        assert_eq!(acr.len(), 1);
        let long = long_form_occurrences(&d, &acr);
        let edges = CorefGraph::edges(&d, 0, d.tokens.len(), &lemmas, &acr, &long);
        use EdgeKind::*;
        let mut want = vec![e(Exact, 5, 10), e(Lemma, 7, 8), e(Lemma, 7, 9), e(Exact, 8, 9)];
        for m in [5, 10] {
            for w in 0..4 {
                want.push(e(Acronym, w, m));
            }
        }
        want.sort_by_key(|e| (e.src, e.dst));
        assert_eq!(edges, want);
    }

    #[test]
    fn variants_are_nested_filters() {
        let all = DependencyVariant::All.kinds();
        for v in [
            DependencyVariant::KeyOnly,
            DependencyVariant::CompoundKey,
            DependencyVariant::ModifierKey,
        ] {
            assert!(v.kinds().iter().all(|k| all.contains(k)));
        }
        assert_eq!(DependencyVariant::default(), DependencyVariant::CompoundKey);
    }
}
