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
mod load;

pub use load::{load, read_predictions, WindowOrder};

use std::collections::{BTreeMap, HashMap};

use enrelg_pipeline::graph::EdgeKind;
use enrelg_schemas::chunks;

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
