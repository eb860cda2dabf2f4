//! Training data from shards: windows with their graphs, and padded batches.

mod batch;
pub mod context;
pub mod encoder_cache;
pub mod npy;
pub mod vocab;

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use enrelg_pipeline::graph::{Edge, EdgeKind};
use enrelg_pipeline::shard::{read_table, strings, u32_list, u32s, ShardManifest};
use enrelg_pipeline::window::Window;
use enrelg_pipeline::words::affix::AFFIXES;
use enrelg_pipeline::words::syntax::{deprel_id, upos_id, NUM_DEPRELS, NUM_UPOS};
use enrelg_schemas::tables::{self, doc_edges, edges, tokens, windows};
use enrelg_schemas::Graph;
use polars::prelude::*;

use crate::model::{Batch, CorefScope, NodeEdges};

pub use batch::{
    first_documents, make_batch, pad, pad_for, plan_batches, prefetched, BatchPlan, PaddedBatch,
};

/// One window as the model sees it.
#[derive(Debug, Clone)]
pub struct WindowRecord {
    pub window_id: u32,
    pub doc_id: String,
    pub word_start: u32,
    /// `[CLS]`, the subtokens the encoder reads, `[SEP]`: the window's own,
    /// with [`context`] its document's before and after them too.
    pub input_ids: Vec<u32>,
    /// Position of each word's first subtoken in `input_ids`.
    pub word_first_subtoken: Vec<u32>,
    /// Subtokens of document context after the window's own ([`context`]).
    pub right_context: u32,
    pub tags: Vec<u32>,
    /// Word shape class of each word (`enrelg_pipeline::words::shape`).
    pub shapes: Vec<u32>,
    /// Character ids of each word (`enrelg_pipeline::words::chars`).
    pub chars: Vec<Vec<u32>>,
    /// The words themselves.
    pub forms: Vec<String>,
    /// UPOS and dependency-relation ids of each word (`enrelg_pipeline::words::syntax`).
    pub upos: Vec<u32>,
    pub deprel: Vec<u32>,
    /// Word-identity ids ([`crate::data::vocab`]); empty unless a run uses them.
    pub word_ids: Vec<u32>,
    /// [`AFFIXES`] affix ids per word, word after word; empty unless a run uses them.
    pub affix_ids: Vec<u32>,
    /// Undirected edges between word positions, `src < dst`.
    pub coref: Vec<(u32, u32)>,
    pub dep: Vec<(u32, u32)>,
    /// Document coreference edges from this window's words to another
    /// window's, each edge listed once, by the window of its earlier end.
    pub doc_coref: Vec<DocLink>,
}

/// A window's words as the model reads them, each list one entry per word.
pub struct WindowWords<'a> {
    pub forms: &'a [String],
    /// Tag indices of the label set (all 0 for new documents).
    pub tags: Vec<u32>,
    /// Word shape classes (`enrelg_pipeline::words::shape`).
    pub shapes: Vec<u32>,
    /// UPOS and dependency-relation ids (`enrelg_pipeline::words::syntax`).
    pub upos: Vec<u32>,
    pub deprel: Vec<u32>,
}

/// A document coreference edge seen from one end: `(word, the other
/// window's id, the word there)`.
pub type DocLink = (u32, u32, u32);

/// Each document's words in order: forms and syntactic ids.
#[derive(Default)]
struct DocumentWords {
    forms: Vec<String>,
    upos: Vec<u32>,
    deprel: Vec<u32>,
}

/// Each document's words, from a split's `tokens` table.
fn words_by_document(table: &DataFrame) -> anyhow::Result<HashMap<String, DocumentWords>> {
    let docs = table.column(tokens::DOC_ID)?.str()?;
    let idx = table.column(tokens::IDX)?.u32()?;
    let forms = table.column(tokens::FORM)?.str()?;
    let (upos, deprel) = (table.column(tokens::UPOS)?.str()?, table.column(tokens::DEPREL)?.str()?);
    let mut out: HashMap<String, DocumentWords> = HashMap::new();
    for row in 0..table.height() {
        let (doc, i, form) = (
            docs.get(row).unwrap_or(""),
            idx.get(row).unwrap_or(u32::MAX) as usize,
            forms.get(row).unwrap_or(""),
        );
        let words = out.entry(doc.to_string()).or_default();
        anyhow::ensure!(
            i == words.forms.len(),
            "tokens table: document {doc} has token {i} where {} was expected (row {row})",
            words.forms.len()
        );
        words.forms.push(form.to_string());
        words.upos.push(upos_id(upos.get(row).unwrap_or("")));
        words.deprel.push(deprel_id(deprel.get(row).unwrap_or("")));
    }
    Ok(out)
}

/// Each window's edges, from a split's `edges` table.
fn edges_by_window(table: &DataFrame) -> anyhow::Result<HashMap<u32, Vec<Edge>>> {
    let win = table.column(edges::WINDOW_ID)?.u32()?;
    let kinds = table.column(edges::KIND)?.str()?;
    let src = table.column(edges::SRC)?.u32()?;
    let dst = table.column(edges::DST)?.u32()?;
    let mut out: HashMap<u32, Vec<Edge>> = HashMap::new();
    for row in 0..table.height() {
        let name = kinds.get(row).unwrap_or("");
        let kind = EdgeKind::from_name(name)
            .with_context(|| format!("edges table, row {row}: unknown edge kind {name:?}"))?;
        let (Some(w), Some(s), Some(d)) = (win.get(row), src.get(row), dst.get(row)) else {
            anyhow::bail!("edges table, row {row}: a null window or end")
        };
        out.entry(w).or_default().push(Edge { kind, src: s, dst: d });
    }
    Ok(out)
}

/// Each window's document coreference edges, from a split's `doc_edges` table.
fn doc_edges_by_window(table: &DataFrame) -> anyhow::Result<HashMap<u32, Vec<DocLink>>> {
    let col = |name: &str| -> anyhow::Result<Vec<Option<u32>>> {
        Ok(table.column(name)?.u32()?.iter().collect())
    };
    let (sw, s, dw, d) = (
        col(doc_edges::SRC_WINDOW)?,
        col(doc_edges::SRC)?,
        col(doc_edges::DST_WINDOW)?,
        col(doc_edges::DST)?,
    );
    let mut out: HashMap<u32, Vec<DocLink>> = HashMap::new();
    for row in 0..table.height() {
        let (Some(sw), Some(s), Some(dw), Some(d)) = (sw[row], s[row], dw[row], d[row]) else {
            anyhow::bail!("doc_edges table, row {row}: a null window or end")
        };
        out.entry(sw).or_default().push((s, dw, d));
    }
    Ok(out)
}

/// Load a split's windows, keeping the dependency edges of `dep_kinds`, each
/// window encoded with `context` subtokens of its document on each side ([`context`]).
pub fn load_split(
    shards: &Path,
    split: &str,
    dep_kinds: &[EdgeKind],
    context: usize,
) -> anyhow::Result<Vec<WindowRecord>> {
    let table = read_table(shards, split, tables::WINDOWS)?;
    let mut edges = edges_by_window(&read_table(shards, split, tables::EDGES)?)?;
    let mut doc_links = doc_edges_by_window(&read_table(shards, split, tables::DOC_EDGES)?)?;
    let words_of = words_by_document(&read_table(shards, split, tables::TOKENS)?)?;
    let (ids, docs) = (u32s(&table, windows::WINDOW_ID)?, strings(&table, windows::DOC_ID)?);
    let (index, starts) =
        (u32s(&table, windows::WINDOW_INDEX)?, u32s(&table, windows::WORD_START)?);
    let num_tags = ShardManifest::read(shards)?.tags.len();
    let mut records = Vec::with_capacity(ids.len());
    for (row, &id) in ids.iter().enumerate() {
        let word_first_subtoken = u32_list(&table, windows::WORD_FIRST_SUBTOKEN, row)?;
        let (start, words) = (starts[row] as usize, word_first_subtoken.len());
        let doc_words = words_of
            .get(&docs[row])
            .with_context(|| format!("window {id}: document {} has no tokens", docs[row]))?;
        let range = start..start + words;
        let window_forms = doc_words.forms.get(range.clone()).with_context(|| {
            format!(
                "window {id}: words {start}..{} outside document {}'s {} tokens",
                start + words,
                docs[row],
                doc_words.forms.len()
            )
        })?;
        let window = Window {
            doc_id: docs[row].clone(),
            index: index[row] as usize,
            word_start: start,
            word_end: start + words,
            input_ids: u32_list(&table, windows::INPUT_IDS, row)?,
            word_first_subtoken,
        };
        let words = WindowWords {
            forms: window_forms,
            tags: u32_list(&table, windows::LABELS, row)?,
            shapes: u32_list(&table, windows::WORD_SHAPES, row)?,
            upos: doc_words.upos[range.clone()].to_vec(),
            deprel: doc_words.deprel[range].to_vec(),
        };
        let (edges, links) =
            (edges.remove(&id).unwrap_or_default(), doc_links.remove(&id).unwrap_or_default());
        let record = WindowRecord::new(id, window, words, &edges, dep_kinds, links);
        record.check(num_tags).with_context(|| {
            format!(
                "{}: split {split}, window {id} of document {}",
                shards.display(),
                record.doc_id
            )
        })?;
        records.push(record);
    }
    if let Some(id) = edges.keys().chain(doc_links.keys()).next() {
        anyhow::bail!("{}: split {split}: the edges or doc_edges table names window {id}, which the windows table lacks", shards.display());
    }
    check_doc_links(shards, split, &records)?;
    context::add_context(&mut records, context);
    Ok(records)
}

/// Each document edge's far end is a word of another window of the same document.
fn check_doc_links(shards: &Path, split: &str, records: &[WindowRecord]) -> anyhow::Result<()> {
    let far: HashMap<u32, (&str, usize)> =
        records.iter().map(|r| (r.window_id, (r.doc_id.as_str(), r.forms.len()))).collect();
    for r in records {
        let wrong = |&&(_, other, o): &&DocLink| {
            far.get(&other).is_none_or(|&(doc, words)| doc != r.doc_id || o as usize >= words)
        };
        if let Some(&(w, other, o)) = r.doc_coref.iter().find(wrong) {
            anyhow::bail!(
                "{}: split {split}: doc_edges links word {w} of window {} (document {}) to word {o} of window {other}, not a word of another window of that document",
                shards.display(),
                r.window_id,
                r.doc_id
            );
        }
    }
    Ok(())
}

impl WindowRecord {
    /// The one way to build a window record (for the shards and for new documents alike): the
    /// pipeline's window, its words, its edges (of which the model keeps the coreference graph
    /// whole and the dependency kinds of `dep_kinds`) and its document coreference links.
    pub fn new(
        window_id: u32,
        window: Window,
        words: WindowWords,
        edges: &[Edge],
        dep_kinds: &[EdgeKind],
        doc_coref: Vec<DocLink>,
    ) -> Self {
        let pairs = |keep: &dyn Fn(EdgeKind) -> bool| {
            edges.iter().filter(|e| keep(e.kind)).map(|e| (e.src, e.dst)).collect()
        };
        Self {
            window_id,
            word_start: window.word_start as u32,
            doc_id: window.doc_id,
            input_ids: window.input_ids,
            word_first_subtoken: window.word_first_subtoken,
            right_context: 0,
            tags: words.tags,
            shapes: words.shapes,
            chars: words.forms.iter().map(|f| enrelg_pipeline::words::chars::char_ids(f)).collect(),
            forms: words.forms.to_vec(),
            upos: words.upos,
            deprel: words.deprel,
            word_ids: Vec::new(),
            affix_ids: Vec::new(),
            coref: pairs(&|k| k.graph() == Graph::Coref),
            dep: pairs(&|k| dep_kinds.contains(&k)),
            doc_coref,
        }
    }

    /// A window of `words` (one subtoken each, tag O, shape 0, no edges), for tests.
    #[cfg(test)]
    pub fn for_test(words: &[&str]) -> Self {
        let n = words.len() as u32;
        let window = Window {
            doc_id: "d".into(),
            index: 0,
            word_start: 0,
            word_end: words.len(),
            input_ids: std::iter::once(101)
                .chain((0..n).map(|i| 1000 + i))
                .chain(std::iter::once(102))
                .collect(),
            word_first_subtoken: (1..=n).collect(),
        };
        let forms: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let zeros = vec![0; words.len()];
        let words = WindowWords {
            forms: &forms,
            tags: zeros.clone(),
            shapes: zeros.clone(),
            upos: zeros.clone(),
            deprel: zeros,
        };
        Self::new(0, window, words, &[], &[], Vec::new())
    }

    /// Look each word up in a run's lexical vocabularies.
    pub fn set_lexical_ids(&mut self, lexicon: &vocab::Lexicon) {
        self.word_ids = lexicon.word_ids(&self.forms);
        self.affix_ids = lexicon.affix_ids(&self.forms);
    }

    /// Indices the model will use must be in range: a shard that passes its
    /// checksum but was written by a buggy or foreign tool fails here, with
    /// its window named, rather than as a panic inside a tensor operation.
    fn check(&self, num_tags: usize) -> anyhow::Result<()> {
        let words = self.word_first_subtoken.len();
        anyhow::ensure!(words > 0, "no words");
        anyhow::ensure!(
            self.tags.len() == words
                && self.shapes.len() == words
                && self.chars.len() == words
                && self.forms.len() == words
                && self.upos.len() == words
                && self.deprel.len() == words,
            "{words} words but {} labels, {} shapes, {} character lists, {} forms, {} UPOS and {} relations",
            self.tags.len(),
            self.shapes.len(),
            self.chars.len(),
            self.forms.len(),
            self.upos.len(),
            self.deprel.len()
        );
        if self.upos.iter().any(|&u| u as usize >= NUM_UPOS)
            || self.deprel.iter().any(|&d| d as usize >= NUM_DEPRELS)
        {
            anyhow::bail!("a UPOS or relation id outside the syntax classes");
        }
        use enrelg_pipeline::words::chars::{MAX_CHARS, NUM_CHARS};
        if let Some(c) = self.chars.iter().find(|c| {
            c.is_empty() || c.len() > MAX_CHARS || c.iter().any(|&id| id as usize >= NUM_CHARS)
        }) {
            anyhow::bail!("character ids {c:?}: need 1 to {MAX_CHARS} ids below {NUM_CHARS}");
        }
        if let Some(f) =
            self.word_first_subtoken.iter().find(|&&f| f as usize >= self.input_ids.len())
        {
            anyhow::bail!(
                "first subtoken {f} outside the window's {} subtokens",
                self.input_ids.len()
            );
        }
        if let Some(t) = self.tags.iter().find(|&&t| t as usize >= num_tags) {
            anyhow::bail!("tag index {t} but the manifest has {num_tags} tags");
        }
        if let Some(s) =
            self.shapes.iter().find(|&&s| s as usize >= enrelg_pipeline::words::shape::NUM_SHAPES)
        {
            anyhow::bail!(
                "word shape {s} is not one of the {} shape classes",
                enrelg_pipeline::words::shape::NUM_SHAPES
            );
        }
        if let Some(e) = self
            .coref
            .iter()
            .chain(&self.dep)
            .find(|(a, b)| *a as usize >= words || *b as usize >= words)
        {
            anyhow::bail!("edge {e:?} outside the window's {words} words");
        }
        if let Some(e) = self
            .doc_coref
            .iter()
            .find(|(w, other, _)| *w as usize >= words || *other == self.window_id)
        {
            anyhow::bail!("document edge {e:?}: its word is outside the window's {words} words or its far end is in the same window");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_pooling_weights_span_each_words_subtokens() {
        // [CLS] w0 w1 w1 w1 w2 [SEP]: the middle word has three subtokens.
        let mut rec = WindowRecord::for_test(&["a", "b", "c"]);
        rec.input_ids = vec![101, 7, 8, 9, 10, 11, 102];
        rec.word_first_subtoken = vec![1, 2, 5];
        let short = WindowRecord::for_test(&["a"]);
        let p = pad(&[&rec, &short]);
        let [_, t, l] = p.dims;
        assert_eq!((t, l), (7, 3));
        let row = |r: usize, w: usize| p.mean[(r * l + w) * t..(r * l + w + 1) * t].to_vec();
        let third = 1.0 / 3.0;
        assert_eq!(row(0, 0), vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(row(0, 1), vec![0.0, 0.0, third, third, third, 0.0, 0.0]);
        assert_eq!(
            row(0, 2),
            vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            "the last word ends before [SEP]"
        );
        assert_eq!(row(1, 0), vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert!(
            row(1, 1).iter().chain(&row(1, 2)).all(|&v| v == 0.0),
            "padding words pool nothing"
        );
    }

    fn doc_windows(layout: &[(&str, usize)]) -> Vec<WindowRecord> {
        let mut out = Vec::new();
        for &(doc, n) in layout {
            for _ in 0..n {
                let mut r = WindowRecord::for_test(&["a", "b"]);
                (r.window_id, r.doc_id) = (out.len() as u32, doc.to_string());
                out.push(r);
            }
        }
        out
    }

    #[test]
    fn a_fraction_keeps_the_first_documents_whole() {
        let recs = doc_windows(&[("a", 2), ("b", 3), ("c", 1), ("d", 5)]);
        assert_eq!(first_documents(&recs, 0.5).unwrap(), 5);
        assert_eq!(first_documents(&recs, 0.3).unwrap(), 5, "ceil: 2 of 4 documents");
        assert_eq!(first_documents(&recs, 0.25).unwrap(), 2);
        assert_eq!(first_documents(&recs, 1.0).unwrap(), 11);
        assert!(first_documents(&recs, 0.0).is_err());
    }

    #[test]
    fn document_batches_keep_documents_whole_and_cut_only_long_ones() {
        let mut recs = doc_windows(&[("a", 2), ("b", 3), ("c", 1), ("d", 5)]);
        // Document d: window 6 links to windows 7 and 10.
        recs[6].doc_coref = vec![(0, 7, 1), (1, 10, 0)];
        for shuffle in [None, Some((1, 1)), Some((7, 3))] {
            let plan = plan_batches(&recs, CorefScope::Document, 4, shuffle);
            let mut seen: Vec<usize> = plan.batches.concat();
            seen.sort();
            assert_eq!(seen, (0..11).collect::<Vec<_>>(), "every window once");
            assert!(plan.batches.iter().all(|b| b.len() <= 4));
            for doc in ["a", "b", "c"] {
                let holding: Vec<usize> = plan
                    .batches
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.iter().any(|&i| recs[i].doc_id == doc))
                    .map(|(k, _)| k)
                    .collect();
                assert_eq!(holding.len(), 1, "document {doc} is in one batch");
            }
            // d (5 windows) is cut into 7..=9 + 10 after window 6: 6..=9 and 10; the edge 6-10 is lost.
            assert_eq!((plan.cut_documents, plan.cut_doc_edges), (1, 1));
        }
        // Window scope: consecutive chunks of the (shuffled) windows.
        let plan = plan_batches(&recs, CorefScope::Window, 4, None);
        assert_eq!(plan.batches, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7], vec![8, 9, 10]]);
    }

    #[test]
    fn document_scope_links_window_and_document_edges_both_ways_with_self_loops() {
        let mut recs = doc_windows(&[("a", 2)]);
        recs[0].coref = vec![(0, 1)];
        recs[0].doc_coref = vec![(1, 1, 0)];
        let p = pad_for(&[&recs[0], &recs[1]], CorefScope::Document);
        let (src, dst) = p.coref_nodes.unwrap();
        let mut edges: Vec<(i64, i64)> = src.into_iter().zip(dst).collect();
        edges.sort();
        // L = 2: window 0 holds nodes 0-1, window 1 nodes 2-3.
        assert_eq!(edges, vec![(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 1), (2, 2), (3, 3)]);
        // Without the far window in the batch the document edge is left out.
        let (src, _) = pad_for(&[&recs[0]], CorefScope::Document).coref_nodes.unwrap();
        assert_eq!(src.len(), 2 + 2);
        assert!(pad_for(&[&recs[0]], CorefScope::Window).coref_nodes.is_none());
    }
}
