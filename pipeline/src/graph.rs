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

use std::collections::{BTreeMap, BTreeSet, HashMap};

use enrelg_schemas::Graph;
use serde::{Deserialize, Serialize};

use crate::read::document::{Document, Token};
use crate::window::Window;
use crate::words::acronym::Acronym;
use crate::words::lemma::{is_number, is_punctuation, is_stop_word};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    pub kind: EdgeKind,
    pub src: u32,
    pub dst: u32,
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

fn is_content(t: &Token) -> bool {
    // Cheapest tests first; the stop-word lookup is the costly one.
    t.upos != "PUNCT"
        && t.upos != "NUM"
        && t.upos != "SYM"
        && !is_punctuation(&t.form)
        && !is_number(&t.form)
        && !is_stop_word(&t.form)
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

/// Where each acronym's long form occurs in a document (token starts),
/// matched case-insensitively; computed once per document.
///
/// One pass over the document finds where each long form's first word
/// occurs, and only those places are compared further, so the cost grows
/// with the document rather than with documents times definitions (a
/// long document repeats its definitions: the naive scan of every token
/// for every acronym was quadratic). Acronyms with the same long form share
/// one list.
pub fn long_form_occurrences(doc: &Document, acronyms: &[Acronym]) -> Vec<Vec<usize>> {
    let tokens = &doc.tokens;
    let longs: Vec<Vec<String>> = acronyms
        .iter()
        .map(|a| tokens[a.long_start..a.long_end].iter().map(|t| t.form.to_lowercase()).collect())
        .collect();
    let mut starts: HashMap<&str, Vec<usize>> =
        longs.iter().filter_map(|l| l.first()).map(|w| (w.as_str(), Vec::new())).collect();
    if !starts.is_empty() {
        let mut lower = String::new();
        for (p, t) in tokens.iter().enumerate() {
            lower.clear();
            if t.form.is_ascii() {
                lower.extend(t.form.chars().map(|c| c.to_ascii_lowercase()));
            } else {
                lower.push_str(&t.form.to_lowercase());
            }
            if let Some(at) = starts.get_mut(lower.as_str()) {
                at.push(p);
            }
        }
    }
    // `form.to_lowercase() == l` without allocating: `l` is lowercase, so an
    // ASCII word needs only std's ASCII-folding comparison.
    let same = |form: &str, l: &str| {
        if form.is_ascii() {
            form.eq_ignore_ascii_case(l)
        } else {
            form.to_lowercase() == l
        }
    };
    let mut done: HashMap<&[String], Vec<usize>> = HashMap::new();
    longs
        .iter()
        .map(|long| {
            let Some(first) = long.first() else {
                return (0..=tokens.len()).collect();
            };
            done.entry(long.as_slice())
                .or_insert_with(|| {
                    starts[first.as_str()]
                        .iter()
                        .copied()
                        .filter(|&p| {
                            p + long.len() <= tokens.len()
                                && long[1..]
                                    .iter()
                                    .enumerate()
                                    .all(|(i, l)| same(&tokens[p + 1 + i].form, l))
                        })
                        .collect()
                })
                .clone()
        })
        .collect()
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

/// Coreference edges among words `start..end` of `doc`.
pub struct CorefGraph;

impl CorefGraph {
    pub fn edges(
        doc: &Document,
        start: usize,
        end: usize,
        lemmas: &[String],
        acronyms: &[Acronym],
        long_forms: &[Vec<usize>],
    ) -> Vec<Edge> {
        // Lemma edges first: they win over an acronym edge on the same pair.
        let mut edges: Vec<((u32, u32), EdgeKind)> = Vec::new();
        let nouns: Vec<usize> = (start..end)
            .filter(|&w| {
                matches!(doc.tokens[w].upos.as_str(), "NOUN" | "PROPN")
                    && is_content(&doc.tokens[w])
            })
            .collect();
        let mut by_lemma: HashMap<&str, Vec<usize>> = HashMap::new();
        for &w in &nouns {
            by_lemma.entry(lemmas[w].as_str()).or_default().push(w);
        }
        for group in by_lemma.values() {
            for (i, &a) in group.iter().enumerate() {
                for &b in &group[i + 1..] {
                    let kind = if doc.tokens[a].form == doc.tokens[b].form {
                        EdgeKind::Exact
                    } else {
                        EdgeKind::Lemma
                    };
                    edges.push((pair(a - start, b - start), kind));
                }
            }
        }
        for (a, occurrences) in acronyms.iter().zip(long_forms) {
            let from = a.short.min(a.long_start);
            let mentions = (start.max(from)..end).filter(|&w| doc.tokens[w].form == a.short_form);
            let long_len = a.long_end - a.long_start;
            let long_words: BTreeSet<usize> = occurrences
                .iter()
                .flat_map(|&p| p..p + long_len)
                .filter(|&w| w >= start && w < end && is_content(&doc.tokens[w]))
                .collect();
            for m in mentions {
                for &w in &long_words {
                    if w != m {
                        edges.push((pair(m - start, w - start), EdgeKind::Acronym));
                    }
                }
            }
        }
        first_per_pair(edges)
            .into_iter()
            .map(|((src, dst), kind)| Edge { kind, src, dst })
            .collect()
    }
}

/// A coreference edge between words of two different windows of one
/// document, by the words' positions in the document (`src < dst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DocEdge {
    pub kind: EdgeKind,
    pub src: usize,
    pub dst: usize,
}

impl DocEdge {
    /// Each end as (index of its window, position in that window), given
    /// the first word of each of the document's windows in order (windows
    /// tile the document without overlap).
    pub fn ends(&self, window_starts: &[usize]) -> [(usize, u32); 2] {
        let locate = |word: usize| {
            let i = window_starts.partition_point(|&s| s <= word) - 1;
            (i, (word - window_starts[i]) as u32)
        };
        [locate(self.src), locate(self.dst)]
    }
}

/// Coreference edges across the windows of a document: the rules of
/// [`CorefGraph`] (exact form, lemma, acronym; stop words, punctuation and
/// numbers never link) between words of *different* windows (pairs inside
/// one window are [`CorefGraph`]'s). A frequent word must not tie every
/// window to every other, so each word keeps only its `k` nearest
/// (by position in the document, the earlier on a tie) matching mentions in
/// other windows; an edge stands when either end keeps it.
pub struct DocumentCorefGraph;

/// How many nearest matching mentions in other windows each word keeps
/// ([`DocumentCorefGraph`]); recorded in the shard manifest.
pub const DOC_COREF_NEIGHBOURS: usize = 2;

impl DocumentCorefGraph {
    /// `windows`: each window's word range `(start, end)`, in order, covering the document.
    pub fn edges(
        doc: &Document,
        windows: &[(usize, usize)],
        lemmas: &[String],
        acronyms: &[Acronym],
        long_forms: &[Vec<usize>],
        k: usize,
    ) -> Vec<DocEdge> {
        let mut window_of = vec![usize::MAX; doc.tokens.len()];
        for (i, &(start, end)) in windows.iter().enumerate() {
            window_of[start..end].fill(i);
        }
        // Lemma edges first: they win over an acronym edge on the same pair.
        let mut edges: Vec<((usize, usize), EdgeKind)> = Vec::new();
        let nearest =
            |w: usize, candidates: &[usize]| nearest_outside_window(&window_of, w, candidates, k);
        let mut by_lemma: HashMap<&str, Vec<usize>> = HashMap::new();
        for (w, (t, lemma)) in doc.tokens.iter().zip(lemmas).enumerate() {
            if matches!(t.upos.as_str(), "NOUN" | "PROPN") && is_content(t) {
                by_lemma.entry(lemma.as_str()).or_default().push(w);
            }
        }
        for group in by_lemma.values() {
            for &a in group {
                for b in nearest(a, group) {
                    let kind = if doc.tokens[a].form == doc.tokens[b].form {
                        EdgeKind::Exact
                    } else {
                        EdgeKind::Lemma
                    };
                    edges.push(((a.min(b), a.max(b)), kind));
                }
            }
        }
        for (a, occurrences) in acronyms.iter().zip(long_forms) {
            let from = a.short.min(a.long_start);
            let mentions: Vec<usize> =
                (from..doc.tokens.len()).filter(|&w| doc.tokens[w].form == a.short_form).collect();
            let long_len = a.long_end - a.long_start;
            let long_words: Vec<usize> = occurrences
                .iter()
                .flat_map(|&p| p..p + long_len)
                .filter(|&w| is_content(&doc.tokens[w]))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            for &m in &mentions {
                for w in nearest(m, &long_words) {
                    edges.push(((m.min(w), m.max(w)), EdgeKind::Acronym));
                }
            }
            for &w in &long_words {
                for m in nearest(w, &mentions) {
                    edges.push(((m.min(w), m.max(w)), EdgeKind::Acronym));
                }
            }
        }
        first_per_pair(edges)
            .into_iter()
            .filter(|((a, b), _)| a != b)
            .map(|((src, dst), kind)| DocEdge { kind, src, dst })
            .collect()
    }
}

/// The `k` nearest of `candidates` (ascending word positions) to word `w`
/// that lie outside w's window (`window_of`: each word's window), nearest
/// first, the earlier on a tie. Windows are contiguous, so the candidates
/// inside w's window are one run: walk outwards from both of its ends
/// rather than sorting every candidate by distance.
fn nearest_outside_window(
    window_of: &[usize],
    w: usize,
    candidates: &[usize],
    k: usize,
) -> Vec<usize> {
    let mine = window_of[w];
    let lo = candidates.partition_point(|&c| c < w && window_of[c] != mine);
    let hi = lo + candidates[lo..].iter().take_while(|&&c| window_of[c] == mine).count();
    // candidates[..left] lie before the window, candidates[right..] after it.
    let (mut left, mut right) = (lo, hi);
    let mut out = Vec::with_capacity(k);
    while out.len() < k {
        let next =
            match (left.checked_sub(1).map(|i| candidates[i]), candidates.get(right).copied()) {
                (Some(l), Some(r)) if w - l <= r - w => {
                    left -= 1;
                    l
                }
                (Some(l), None) => {
                    left -= 1;
                    l
                }
                (_, Some(r)) => {
                    right += 1;
                    r
                }
                (None, None) => break,
            };
        out.push(next);
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::document::Sentence;
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
