//! `enrelg show`: what a split's documents, entities, predictions and graphs
//! look like, as static HTML (one page per document and an index).
//!
//! The data comes from the shards (documents, tokens, windows, edges,
//! doc_edges, acronyms) and, with a run, from the `predictions-SPLIT.conll`
//! that `enrelg eval` writes (one block per window, in the windows table's
//! order). Entities are the BIO chunks within each sentence, as conlleval
//! scores them; [`Outcome`] classifies every gold and predicted mention.
//! Rendering is in [`html`].

pub mod html;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::Context;
use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::shard::{read_table, strings, u32s};
use enrelg_schemas::tables::{self, acronyms, doc_edges, documents, edges, tokens, windows};
use enrelg_schemas::{chunks, Graph};
use polars::prelude::DataFrame;

/// One word of a document, as the shards hold it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Word {
    pub form: String,
    pub lemma: String,
    pub upos: String,
    pub deprel: String,
    pub sentence: u32,
    /// Character offsets into the document text, end exclusive.
    pub start: usize,
    pub end: usize,
    pub gold: String,
    /// The run's tag, when a run is shown.
    pub pred: Option<String>,
    /// "acronym of ..." or "long form of ...", from the acronyms table.
    pub acronym: Option<String>,
}

/// One edge of a window's graph, between window positions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Arc {
    pub kind: EdgeKind,
    pub src: u32,
    pub dst: u32,
}

/// One end of a document-level coreference edge that lies in this window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocEdgeEnd {
    pub kind: String,
    /// Position in this window.
    pub pos: u32,
    /// The other end: window id and position there.
    pub other_window: u32,
    pub other_pos: u32,
}

#[derive(Debug, Clone, Default)]
pub struct ShowWindow {
    pub id: u32,
    pub index: u32,
    pub word_start: usize,
    pub word_end: usize,
    pub arcs: Vec<Arc>,
    pub doc_edges: Vec<DocEdgeEnd>,
}

/// A document with everything a page shows.
#[derive(Debug, Clone, Default)]
pub struct ShowDoc {
    pub id: String,
    pub text: String,
    pub words: Vec<Word>,
    pub windows: Vec<ShowWindow>,
}

/// How a mention compares with the other side (gold against predicted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Outcome {
    Correct,
    /// The same words with another type.
    WrongType,
    /// Overlaps a mention of the other side, with other boundaries.
    WrongSpan,
    /// Gold, not found at all.
    Missed,
    /// Predicted, overlapping no gold mention.
    Spurious,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Self::Correct => "correct",
            Self::WrongType => "wrong type",
            Self::WrongSpan => "wrong span",
            Self::Missed => "missed",
            Self::Spurious => "spurious",
        }
    }

    /// The CSS class of the outcome.
    pub fn class(self) -> &'static str {
        match self {
            Self::Correct => "ok",
            Self::WrongType => "wt",
            Self::WrongSpan => "ws",
            Self::Missed => "fn",
            Self::Spurious => "fp",
        }
    }
}

/// A mention: words `[start, end)` of its document and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub ty: String,
    /// Against the other side; `None` when there is no other side (no run).
    pub outcome: Option<Outcome>,
}

impl ShowDoc {
    /// The character span of words `[start, end)`.
    pub fn char_span(&self, m: &Mention) -> (usize, usize) {
        (self.words[m.start].start, self.words[m.end - 1].end)
    }

    /// The text of a mention, sliced from the document by character offsets.
    pub fn surface(&self, m: &Mention) -> String {
        let (s, e) = self.char_span(m);
        self.text.chars().skip(s).take(e - s).collect()
    }

    fn chunks_of(&self, tag: impl Fn(&Word) -> &str) -> Vec<Mention> {
        let mut out = Vec::new();
        let mut start = 0;
        while start < self.words.len() {
            let sentence = self.words[start].sentence;
            let end =
                start + self.words[start..].iter().take_while(|w| w.sentence == sentence).count();
            let tags: Vec<&str> = self.words[start..end].iter().map(&tag).collect();
            out.extend(chunks(&tags).chunks.into_iter().map(|c| Mention {
                start: start + c.start,
                end: start + c.end,
                ty: c.ty,
                outcome: None,
            }));
            start = end;
        }
        out
    }

    /// Gold and predicted mentions, each with its [`Outcome`] when the
    /// document has predictions. Gold is restricted to `scored` types when
    /// given (the types the run predicts).
    pub fn mentions(&self, scored: Option<&[String]>) -> (Vec<Mention>, Vec<Mention>) {
        let mut gold = self.chunks_of(|w| w.gold.as_str());
        if let Some(types) = scored {
            gold.retain(|m| types.contains(&m.ty));
        }
        if self.words.iter().all(|w| w.pred.is_none()) {
            return (gold, Vec::new());
        }
        let mut pred = self.chunks_of(|w| w.pred.as_deref().unwrap_or("O"));
        classify(&mut gold, &mut pred);
        (gold, pred)
    }
}

/// Set each mention's outcome against the other side.
pub fn classify(gold: &mut [Mention], pred: &mut [Mention]) {
    fn against(m: &Mention, other: &[Mention], unmatched: Outcome) -> Outcome {
        let same_span = |o: &&Mention| o.start == m.start && o.end == m.end;
        if other.iter().any(|o| same_span(&o) && o.ty == m.ty) {
            Outcome::Correct
        } else if other.iter().any(|o| same_span(&o)) {
            Outcome::WrongType
        } else if other.iter().any(|o| o.start < m.end && m.start < o.end) {
            Outcome::WrongSpan
        } else {
            unmatched
        }
    }
    let outcomes: Vec<Outcome> = gold.iter().map(|g| against(g, pred, Outcome::Missed)).collect();
    for p in pred.iter_mut() {
        p.outcome = Some(against(p, gold, Outcome::Spurious));
    }
    for (g, o) in gold.iter_mut().zip(outcomes) {
        g.outcome = Some(o);
    }
}

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

/// Error analysis over a split: most frequent misses and false alarms,
/// errors on repeated mentions and by length.
#[derive(Debug, Default)]
pub struct ErrorSummary {
    /// (surface, type) -> count, for gold mentions not found exactly.
    pub false_negatives: BTreeMap<(String, String), usize>,
    /// (surface, type) -> count, for predicted mentions not in the gold.
    pub false_positives: BTreeMap<(String, String), usize>,
    /// [single, repeated] gold mentions (by case-folded surface within their document): (gold, found).
    pub repeated: [(usize, usize); 2],
    /// Length in words (1, 2, 3, 4+) -> (gold, found, predicted, correct).
    pub by_length: [(usize, usize, usize, usize); 4],
}

impl ErrorSummary {
    pub fn add(&mut self, doc: &ShowDoc, gold: &[Mention], pred: &[Mention]) {
        let mut seen: HashMap<String, usize> = HashMap::new();
        for g in gold {
            *seen.entry(doc.surface(g).to_lowercase()).or_default() += 1;
        }
        let len = |m: &Mention| (m.end - m.start).clamp(1, 4) - 1;
        for g in gold {
            let found = g.outcome == Some(Outcome::Correct);
            let repeated = usize::from(seen[&doc.surface(g).to_lowercase()] > 1);
            self.repeated[repeated].0 += 1;
            self.by_length[len(g)].0 += 1;
            if found {
                self.repeated[repeated].1 += 1;
                self.by_length[len(g)].1 += 1;
            } else {
                *self.false_negatives.entry((doc.surface(g), g.ty.clone())).or_default() += 1;
            }
        }
        for p in pred {
            self.by_length[len(p)].2 += 1;
            if p.outcome == Some(Outcome::Correct) {
                self.by_length[len(p)].3 += 1;
            } else {
                *self.false_positives.entry((doc.surface(p), p.ty.clone())).or_default() += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start: usize, end: usize, ty: &str) -> Mention {
        Mention { start, end, ty: ty.into(), outcome: None }
    }

    #[test]
    fn outcomes_follow_span_and_type() {
        let mut gold =
            vec![m(0, 1, "Target"), m(2, 4, "Mineral"), m(5, 6, "Element"), m(8, 9, "Target")];
        let mut pred =
            vec![m(0, 1, "Target"), m(2, 3, "Mineral"), m(5, 6, "Mineral"), m(10, 11, "Element")];
        classify(&mut gold, &mut pred);
        let g: Vec<_> = gold.iter().map(|x| x.outcome.unwrap()).collect();
        let p: Vec<_> = pred.iter().map(|x| x.outcome.unwrap()).collect();
        assert_eq!(
            g,
            vec![Outcome::Correct, Outcome::WrongSpan, Outcome::WrongType, Outcome::Missed]
        );
        assert_eq!(
            p,
            vec![Outcome::Correct, Outcome::WrongSpan, Outcome::WrongType, Outcome::Spurious]
        );
    }

    fn doc() -> ShowDoc {
        let text = "Gale crater: Windjana. Windjana has Fe.".to_string();
        let words = [
            ("Gale", 0, "B-Target", "B-Target"),
            ("crater", 5, "O", "O"),
            (":", 11, "O", "O"),
            ("Windjana", 13, "B-Target", "O"),
            (".", 21, "O", "O"),
        ]
        .into_iter()
        .map(|(f, s, g, p)| (f, s, 0, g, p))
        .chain([
            ("Windjana", 23, 1, "B-Target", "B-Target"),
            ("has", 32, 1, "O", "O"),
            ("Fe", 36, 1, "B-Element", "B-Mineral"),
            (".", 38, 1, "O", "B-Element"),
        ])
        .map(|(f, s, sent, g, p)| Word {
            form: f.into(),
            start: s,
            end: s + f.chars().count(),
            sentence: sent,
            gold: g.into(),
            pred: Some(p.into()),
            ..Default::default()
        })
        .collect();
        ShowDoc { id: "d".into(), text, words, windows: Vec::new() }
    }

    #[test]
    fn mentions_are_chunks_per_sentence_with_their_surface() {
        let d = doc();
        let (gold, pred) = d.mentions(None);
        assert_eq!(
            gold.iter().map(|g| d.surface(g)).collect::<Vec<_>>(),
            vec!["Gale", "Windjana", "Windjana", "Fe"]
        );
        assert_eq!(pred.len(), 4);
        let mut s = ErrorSummary::default();
        s.add(&d, &gold, &pred);
        assert_eq!(
            s.repeated,
            [(2, 1), (2, 1)],
            "Windjana is repeated: one of its two mentions found"
        );
        assert_eq!(
            s.false_negatives.get(&("Windjana".to_string(), "Target".to_string())),
            Some(&1)
        );
        assert_eq!(s.false_positives.get(&(".".to_string(), "Element".to_string())), Some(&1));
        assert_eq!(s.by_length[0], (4, 2, 4, 2));
    }
}
