//! The one in-memory document model that every reader produces.
//!
//! A document is its text, its tokens (syntactic words) with character
//! offsets and parse, the sentences that group them, and the entities
//! annotated on the text as character spans. Later stages (alignment,
//! lemmas, windows, graphs) only ever look at this model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::text::Text;

#[derive(Debug, Clone)]
pub struct Document {
    pub id: String,
    pub text: Text,
    /// All tokens of the document, in text order.
    pub tokens: Vec<Token>,
    /// Sentences as contiguous ranges of `tokens`.
    pub sentences: Vec<Sentence>,
    /// Text-bound annotations, in file order.
    pub entities: Vec<Entity>,
    /// How many annotation lines of each kind the source held (`T`, `R`,
    /// `E`, `A`, `N`, `#`, ...): what we do not model is still accounted for.
    pub annotation_lines: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// `sent_id` from the source, when it has one.
    pub id: Option<String>,
    /// Index of the first token and one past the last.
    pub start: usize,
    pub end: usize,
}

impl Sentence {
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub form: String,
    /// CoNLL-U LEMMA, `None` when the source has `_`.
    pub lemma: Option<String>,
    pub upos: String,
    pub xpos: Option<String>,
    pub deprel: String,
    /// Document-level index of the head token; `None` for a root or when the
    /// source has no usable tree.
    pub head: Option<usize>,
    /// The EnRel-G release's HEAD value, kept verbatim. It indexes the
    /// parser's original unit, not the segment, so it is never used as a tree.
    pub raw_head: Option<i64>,
    /// Character offsets into the document text, end exclusive.
    pub start: usize,
    pub end: usize,
}

#[cfg(test)]
impl Token {
    /// A noun with no parse, for unit tests that only need forms and offsets.
    pub(crate) fn plain(form: &str, start: usize, end: usize) -> Token {
        Token { form: form.into(), lemma: None, upos: "NOUN".into(), xpos: None, deprel: "dep".into(), head: None, raw_head: None, start, end }
    }
}

/// A text-bound annotation: one or more character spans (several when discontinuous).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entity {
    /// Annotation id (`T3`), unique in its document.
    pub id: String,
    pub ty: String,
    /// Character spans, end exclusive, in the order the source gives them.
    pub spans: Vec<(usize, usize)>,
    /// 1-based line of the annotation in its source, for reports.
    pub line: usize,
}

impl Entity {
    pub fn is_discontinuous(&self) -> bool {
        self.spans.len() > 1
    }

    /// Smallest character range covering every span.
    pub fn cover(&self) -> (usize, usize) {
        let start = self.spans.iter().map(|s| s.0).min().unwrap_or(0);
        let end = self.spans.iter().map(|s| s.1).max().unwrap_or(0);
        (start, end)
    }
}
