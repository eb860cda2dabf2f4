//! The shards' tables of one split read into [`ShowDoc`]s ([`load`]), and a run's predictions
//! into their words ([`read_predictions`]).

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::shard::{read_table, strings, u32s};
use enrelg_schemas::tables::{self, acronyms, doc_edges, documents, edges, tokens, windows};
use enrelg_schemas::Graph;
use polars::prelude::DataFrame;

use super::{Arc, DocEdgeEnd, ShowDoc, ShowWindow, Word};

/// (document, window) indices of the windows, in the windows table's order.
pub type WindowOrder = Vec<(usize, usize)>;

/// The documents of a split of the shards, in the documents table's order,
/// and the windows table's order as (document, window) indices. Window
/// arcs are the coreference edges and the dependency edges of `dep_kinds`
/// (those a run uses; the `All` variant's every-arc kind would bury the rest).
pub fn load(
    shards: &Path,
    split: &str,
    dep_kinds: &[EdgeKind],
) -> anyhow::Result<(Vec<ShowDoc>, WindowOrder)> {
    let table = |name: &str| {
        read_table(shards, split, name)
            .with_context(|| format!("{}: split {split}, table {name}", shards.display()))
    };
    let docs_t = table(tables::DOCUMENTS)?;
    let mut docs: Vec<ShowDoc> = strings(&docs_t, documents::DOC_ID)?
        .into_iter()
        .zip(strings(&docs_t, documents::TEXT)?)
        .map(|(id, text)| ShowDoc { id, text, ..Default::default() })
        .collect();
    let docs_of = DocIndex(docs.iter().enumerate().map(|(i, d)| (d.id.clone(), i)).collect());
    add_tokens(&mut docs, &table(tables::TOKENS)?, &docs_of)?;
    add_acronyms(&mut docs, &table(tables::ACRONYMS)?, &docs_of)?;
    let (order, windows_of) = add_windows(&mut docs, &table(tables::WINDOWS)?, &docs_of)?;
    add_edges(&mut docs, &table(tables::EDGES)?, &windows_of, dep_kinds)?;
    add_doc_edges(&mut docs, &table(tables::DOC_EDGES)?, &windows_of)?;
    Ok((docs, order))
}

/// A document's place in the documents table, by id.
struct DocIndex(HashMap<String, usize>);

impl DocIndex {
    fn find(&self, id: &str, what: &str) -> anyhow::Result<usize> {
        self.0
            .get(id)
            .copied()
            .with_context(|| format!("{what}: document {id} is not in the documents table"))
    }
}

/// A window's (document, window) place, by window id.
struct WindowIndex(HashMap<u32, (usize, usize)>);

impl WindowIndex {
    fn find(&self, id: u32, what: &str) -> anyhow::Result<(usize, usize)> {
        self.0
            .get(&id)
            .copied()
            .with_context(|| format!("{what}: window {id} is not in the windows table"))
    }
}

/// The tokens table's words, in order, into their documents.
fn add_tokens(docs: &mut [ShowDoc], t: &DataFrame, docs_of: &DocIndex) -> anyhow::Result<()> {
    let (ids, idx) = (strings(t, tokens::DOC_ID)?, u32s(t, tokens::IDX)?);
    let (form, lemma, upos, deprel, label) = (
        strings(t, tokens::FORM)?,
        strings(t, tokens::LEMMA)?,
        strings(t, tokens::UPOS)?,
        strings(t, tokens::DEPREL)?,
        strings(t, tokens::LABEL)?,
    );
    let (sentence, start, end) =
        (u32s(t, tokens::SENTENCE)?, u32s(t, tokens::START)?, u32s(t, tokens::END)?);
    for row in 0..t.height() {
        let d = &mut docs[docs_of.find(&ids[row], "tokens table")?];
        anyhow::ensure!(
            idx[row] as usize == d.words.len(),
            "tokens table, row {row}: token {} of document {} out of order",
            idx[row],
            d.id
        );
        d.words.push(Word {
            form: form[row].clone(),
            lemma: lemma[row].clone(),
            upos: upos[row].clone(),
            deprel: deprel[row].clone(),
            sentence: sentence[row],
            start: start[row] as usize,
            end: end[row] as usize,
            gold: label[row].clone(),
            pred: None,
            acronym: None,
        });
    }
    Ok(())
}

/// Mark the words of each acronym pair (the short form and its long form).
fn add_acronyms(docs: &mut [ShowDoc], a: &DataFrame, docs_of: &DocIndex) -> anyhow::Result<()> {
    let (a_doc, short, short_form, long_start, long_end, long_form) = (
        strings(a, acronyms::DOC_ID)?,
        u32s(a, acronyms::SHORT)?,
        strings(a, acronyms::SHORT_FORM)?,
        u32s(a, acronyms::LONG_START)?,
        u32s(a, acronyms::LONG_END)?,
        strings(a, acronyms::LONG_FORM)?,
    );
    for row in 0..a.height() {
        let d = &mut docs[docs_of.find(&a_doc[row], "acronyms table")?];
        let n = d.words.len();
        let word = |i: u32| (i as usize) < n;
        anyhow::ensure!(
            word(short[row]) && long_end[row] as usize <= n,
            "acronyms table, row {row}: a position outside document {}",
            d.id
        );
        d.words[short[row] as usize].acronym =
            Some(format!("acronym of \u{201c}{}\u{201d}", long_form[row]));
        for w in long_start[row]..long_end[row] {
            d.words[w as usize]
                .acronym
                .get_or_insert_with(|| format!("long form of \u{201c}{}\u{201d}", short_form[row]));
        }
    }
    Ok(())
}

/// The windows table's windows into their documents: the table's order and where each window is.
fn add_windows(
    docs: &mut [ShowDoc],
    w: &DataFrame,
    docs_of: &DocIndex,
) -> anyhow::Result<(WindowOrder, WindowIndex)> {
    let (w_id, w_doc, w_index, w_start, w_end) = (
        u32s(w, windows::WINDOW_ID)?,
        strings(w, windows::DOC_ID)?,
        u32s(w, windows::WINDOW_INDEX)?,
        u32s(w, windows::WORD_START)?,
        u32s(w, windows::WORD_END)?,
    );
    let mut order = Vec::with_capacity(w.height());
    let mut where_is: HashMap<u32, (usize, usize)> = HashMap::new();
    for row in 0..w.height() {
        let di = docs_of.find(&w_doc[row], "windows table")?;
        let d = &mut docs[di];
        anyhow::ensure!(
            w_start[row] <= w_end[row] && w_end[row] as usize <= d.words.len(),
            "windows table, row {row}: words outside document {}",
            d.id
        );
        where_is.insert(w_id[row], (di, d.windows.len()));
        order.push((di, d.windows.len()));
        d.windows.push(ShowWindow {
            id: w_id[row],
            index: w_index[row],
            word_start: w_start[row] as usize,
            word_end: w_end[row] as usize,
            ..Default::default()
        });
    }
    Ok((order, WindowIndex(where_is)))
}

/// The edges table's arcs into their windows (dependency arcs of `dep_kinds` only).
fn add_edges(
    docs: &mut [ShowDoc],
    e: &DataFrame,
    windows_of: &WindowIndex,
    dep_kinds: &[EdgeKind],
) -> anyhow::Result<()> {
    let (e_win, e_graph, e_kind, e_src, e_dst) = (
        u32s(e, edges::WINDOW_ID)?,
        strings(e, edges::GRAPH)?,
        strings(e, edges::KIND)?,
        u32s(e, edges::SRC)?,
        u32s(e, edges::DST)?,
    );
    for row in 0..e.height() {
        let kind = EdgeKind::from_name(&e_kind[row])
            .with_context(|| format!("edges table, row {row}: unknown kind {:?}", e_kind[row]))?;
        anyhow::ensure!(
            kind.graph().name() == e_graph[row],
            "edges table, row {row}: kind {} is not of graph {}",
            e_kind[row],
            e_graph[row]
        );
        let (di, wi) = windows_of.find(e_win[row], "edges table")?;
        if kind.graph() == Graph::Dep && !dep_kinds.contains(&kind) {
            continue;
        }
        docs[di].windows[wi].arcs.push(Arc { kind, src: e_src[row], dst: e_dst[row] });
    }
    Ok(())
}

/// Each document edge into both of its windows.
fn add_doc_edges(
    docs: &mut [ShowDoc],
    de: &DataFrame,
    windows_of: &WindowIndex,
) -> anyhow::Result<()> {
    let (sw, s, dw, dd, kind) = (
        u32s(de, doc_edges::SRC_WINDOW)?,
        u32s(de, doc_edges::SRC)?,
        u32s(de, doc_edges::DST_WINDOW)?,
        u32s(de, doc_edges::DST)?,
        strings(de, doc_edges::KIND)?,
    );
    for row in 0..de.height() {
        for (here, pos, there, other_pos) in
            [(sw[row], s[row], dw[row], dd[row]), (dw[row], dd[row], sw[row], s[row])]
        {
            let (di, wi) = windows_of.find(here, "doc_edges table")?;
            docs[di].windows[wi].doc_edges.push(DocEdgeEnd {
                kind: kind[row].clone(),
                pos,
                other_window: there,
                other_pos,
            });
        }
    }
    Ok(())
}

/// Read a run's `predictions-SPLIT.conll` (`word gold predicted`, a blank
/// line after each window, windows in the windows table's `order`) into the
/// documents' words. Every block must match its window's words.
pub fn read_predictions(
    path: &Path,
    docs: &mut [ShowDoc],
    order: &[(usize, usize)],
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut blocks = text.split("\n\n").filter(|b| !b.trim().is_empty());
    let mut line = 1;
    for &(di, wi) in order {
        let doc = &mut docs[di];
        let (first, last) = (doc.windows[wi].word_start, doc.windows[wi].word_end);
        let block = blocks.next().with_context(|| {
            format!(
                "{}: ends before window {} of document {}; predictions of other shards?",
                path.display(),
                wi,
                doc.id
            )
        })?;
        let rows: Vec<&str> = block.lines().collect();
        anyhow::ensure!(
            rows.len() == last - first,
            "{}:{line}: {} words where window {wi} of document {} has {}; predictions of other shards?",
            path.display(),
            rows.len(),
            doc.id,
            last - first
        );
        for (k, row) in rows.iter().enumerate() {
            let cols: Vec<&str> = row.split(' ').collect();
            let word = &mut doc.words[first + k];
            anyhow::ensure!(
                cols.len() >= 3,
                "{}:{}: expected `word gold predicted`",
                path.display(),
                line + k
            );
            anyhow::ensure!(
                cols[0] == word.form,
                "{}:{}: word {:?} where the shards have {:?}",
                path.display(),
                line + k,
                cols[0],
                word.form
            );
            word.pred = Some(cols[cols.len() - 1].to_string());
        }
        line += rows.len() + 1;
    }
    anyhow::ensure!(
        blocks.next().is_none(),
        "{}: more windows than the shards' split holds",
        path.display()
    );
    Ok(())
}
