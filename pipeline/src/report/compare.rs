//! Why brat entity counts differ from the EnRel-G release: a per-split
//! accounting of every difference by kind.
//!
//! Each brat entity of a labelled type is projected onto the CoNLL-U tokens
//! (no policy applied) and compared with the BIO chunks of the EnRel-G
//! document with the same token sequence. The fields mirror the table in
//! `shared/data/README.md`.

use std::collections::{BTreeSet, HashMap};

use enrelg_schemas::LabelSet;
use serde::{Deserialize, Serialize};

use crate::align::tokens_overlapping;
use crate::read::document::Document;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comparison {
    pub brat_entities: usize,
    pub brat_exact_duplicate: usize,
    pub brat_same_span_multiple_types: usize,
    /// Pairs of distinct token spans where one contains the other.
    pub brat_nested_pairs: usize,
    /// Pairs of token spans that overlap without nesting.
    pub brat_crossing_pairs: usize,
    pub brat_boundary_inside_token: usize,
    pub brat_discontinuous: usize,
    pub brat_no_token: usize,
    pub brat_projected: usize,
    pub brat_distinct_token_spans: usize,
    /// Same type and token span in both.
    pub matched: usize,
    pub brat_only: usize,
    pub brat_only_same_span_other_type_in_enrelg: usize,
    pub brat_only_inside_enrelg_chunk: usize,
    pub brat_only_contains_enrelg_chunks: usize,
    pub brat_only_crossing_enrelg_chunk: usize,
    pub brat_only_no_enrelg_entity_there: usize,
    pub enrelg_only: usize,
    pub enrelg_only_overlaps_brat_entity: usize,
    pub enrelg_only_no_brat_entity_there: usize,
    /// Standoff documents with no EnRel-G document of the same tokens.
    pub unmatched_documents: usize,
}

type Span = (usize, usize, String);

fn overlaps(a: &Span, b: &Span) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn contains(outer: &Span, inner: &Span) -> bool {
    outer.0 <= inner.0 && inner.1 <= outer.1
}

/// Compare one split. Documents are paired by identical token form sequences.
pub fn compare(standoff: &[Document], enrelg: &[Document], labels: &LabelSet) -> Comparison {
    let by_tokens: HashMap<Vec<&str>, &Document> =
        enrelg.iter().map(|d| (d.tokens.iter().map(|t| t.form.as_str()).collect(), d)).collect();
    let mut c = Comparison::default();
    for doc in standoff {
        let key: Vec<&str> = doc.tokens.iter().map(|t| t.form.as_str()).collect();
        let Some(other) = by_tokens.get(&key) else {
            c.unmatched_documents += 1;
            continue;
        };
        compare_document(doc, other, labels, &mut c);
    }
    c
}

/// Pairs of distinct brat token spans that nest or cross.
fn count_overlapping_pairs(spans: &[(usize, usize)], c: &mut Comparison) {
    for (i, a) in spans.iter().enumerate() {
        for b in &spans[i + 1..] {
            if a.0 < b.1 && b.0 < a.1 {
                if (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1) {
                    c.brat_nested_pairs += 1;
                } else {
                    c.brat_crossing_pairs += 1;
                }
            }
        }
    }
}

fn compare_document(doc: &Document, enrelg: &Document, labels: &LabelSet, c: &mut Comparison) {
    let mut seen_char_spans: HashMap<(Vec<(usize, usize)>, String), usize> = HashMap::new();
    let mut brat: Vec<Span> = Vec::new();
    for e in doc.entities.iter().filter(|e| labels.contains(&e.ty)) {
        c.brat_entities += 1;
        let n = seen_char_spans.entry((e.spans.clone(), e.ty.clone())).or_default();
        *n += 1;
        if *n > 1 {
            c.brat_exact_duplicate += 1;
        }
        if e.is_discontinuous() {
            c.brat_discontinuous += 1;
        }
        let (start, end) = e.cover();
        let toks = tokens_overlapping(doc, start, end);
        if toks.is_empty() {
            c.brat_no_token += 1;
            continue;
        }
        if doc.tokens[toks.start].start != start || doc.tokens[toks.end - 1].end != end {
            c.brat_boundary_inside_token += 1;
        }
        c.brat_projected += 1;
        brat.push((toks.start, toks.end, e.ty.clone()));
    }
    let distinct: BTreeSet<Span> = brat.iter().cloned().collect();
    c.brat_distinct_token_spans += distinct.len();
    let spans: BTreeSet<(usize, usize)> = distinct.iter().map(|s| (s.0, s.1)).collect();
    c.brat_same_span_multiple_types += distinct.len() - spans.len();
    count_overlapping_pairs(&spans.into_iter().collect::<Vec<_>>(), c);

    // EnRel-G chunks on the same token positions (the token sequences are equal).
    let chunks: BTreeSet<Span> = enrelg
        .entities
        .iter()
        .map(|e| {
            let (s, t) = e.cover();
            let r = tokens_overlapping(enrelg, s, t);
            (r.start, r.end, e.ty.clone())
        })
        .collect();
    for b in &distinct {
        if chunks.contains(b) {
            c.matched += 1;
            continue;
        }
        c.brat_only += 1;
        if chunks.iter().any(|k| k.0 == b.0 && k.1 == b.1) {
            c.brat_only_same_span_other_type_in_enrelg += 1;
        } else if chunks.iter().any(|k| contains(k, b)) {
            c.brat_only_inside_enrelg_chunk += 1;
        } else if chunks.iter().any(|k| overlaps(k, b) && !contains(b, k)) {
            // Crossing wins over containing: a span that both holds one chunk
            // and cuts another was not simply un-nested.
            c.brat_only_crossing_enrelg_chunk += 1;
        } else if chunks.iter().any(|k| contains(b, k)) {
            c.brat_only_contains_enrelg_chunks += 1;
        } else {
            c.brat_only_no_enrelg_entity_there += 1;
        }
    }
    for k in chunks.difference(&distinct) {
        c.enrelg_only += 1;
        if distinct.iter().any(|b| overlaps(b, k)) {
            c.enrelg_only_overlaps_brat_entity += 1;
        } else {
            c.enrelg_only_no_brat_entity_there += 1;
        }
    }
}
