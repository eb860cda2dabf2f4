//! [`CorefGraph`]: words that may mention the same entity, within a window; and
//! [`DocumentCorefGraph`], the same rules between the windows of a document.

use std::collections::{BTreeSet, HashMap};

use super::{first_per_pair, pair, Edge, EdgeKind};
use crate::read::document::{Document, Token};
use crate::words::acronym::Acronym;
use crate::words::lemma::{is_number, is_punctuation, is_stop_word};

fn is_content(t: &Token) -> bool {
    // Cheapest tests first; the stop-word lookup is the costly one.
    t.upos != "PUNCT"
        && t.upos != "NUM"
        && t.upos != "SYM"
        && !is_punctuation(&t.form)
        && !is_number(&t.form)
        && !is_stop_word(&t.form)
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
pub(super) fn nearest_outside_window(
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
