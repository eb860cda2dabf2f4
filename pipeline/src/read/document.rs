//! The one in-memory document model that every reader produces.
//!
//! A document is its text, its tokens (syntactic words) with character
//! offsets and parse, the sentences that group them, and the entities
//! annotated on the text as character spans. Later stages (alignment,
//! lemmas, windows, graphs) only ever look at this model.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::read::text::Text;

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
    /// Relations (`R`) and events (`E`) between the entities, in file order.
    pub relations: Vec<Relation>,
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
        Token {
            form: form.into(),
            lemma: None,
            upos: "NOUN".into(),
            xpos: None,
            deprel: "dep".into(),
            head: None,
            raw_head: None,
            start,
            end,
        }
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

/// A relation (`R` line) or an event (`E` line) as its `.ann` line writes it: the arguments are
/// annotation ids of the same file (each checked to exist), resolved to entities by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    /// `R3` or `E2`.
    pub id: String,
    /// The relation's type (`Shows`) or the event's (`Contains`).
    pub ty: String,
    /// An event's trigger (a `T` id); `None` for a relation.
    pub trigger: Option<String>,
    /// `(role, annotation id)` in the line's order: `Arg1`, `Arg2` for a relation, the event's
    /// roles (`Targ`, `Cont`, `Cont2`, ...) for an event. An event may name another event.
    pub arguments: Vec<(String, String)>,
    /// Its line in the `.ann` (1-based).
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

impl Document {
    /// The document `k` times over, copies joined by a blank line: the text,
    /// tokens, sentences and entities of copy `c` are those of the original
    /// shifted by `c` texts (and `c` token counts for heads). Entity ids get
    /// a `.c` suffix after the first copy so that they stay unique. This is
    /// how the scaling benchmarks make long documents out of real ones.
    pub fn repeated(&self, k: usize) -> Document {
        const JOIN: &str = "\n\n";
        let chars = self.text.len_chars() + JOIN.chars().count();
        let mut text = String::with_capacity(k * (self.text.as_str().len() + JOIN.len()));
        let mut doc = Document {
            id: self.id.clone(),
            text: Text::new(String::new()),
            tokens: Vec::with_capacity(k * self.tokens.len()),
            sentences: Vec::with_capacity(k * self.sentences.len()),
            entities: Vec::with_capacity(k * self.entities.len()),
            relations: Vec::with_capacity(k * self.relations.len()),
            annotation_lines: self
                .annotation_lines
                .iter()
                .map(|(kind, n)| (kind.clone(), k * n))
                .collect(),
        };
        for copy in 0..k {
            if copy > 0 {
                text.push_str(JOIN);
            }
            text.push_str(self.text.as_str());
            let (c, t) = (copy * chars, copy * self.tokens.len());
            doc.tokens.extend(self.tokens.iter().map(|tok| Token {
                start: tok.start + c,
                end: tok.end + c,
                head: tok.head.map(|h| h + t),
                ..tok.clone()
            }));
            doc.sentences.extend(self.sentences.iter().map(|s| Sentence {
                id: s.id.as_ref().map(|id| format!("{id}.{copy}")),
                start: s.start + t,
                end: s.end + t,
            }));
            doc.entities.extend(self.entities.iter().map(|e| Entity {
                id: if copy == 0 { e.id.clone() } else { format!("{}.{copy}", e.id) },
                spans: e.spans.iter().map(|&(s, e)| (s + c, e + c)).collect(),
                ..e.clone()
            }));
            let id = |id: &str| if copy == 0 { id.to_string() } else { format!("{id}.{copy}") };
            doc.relations.extend(self.relations.iter().map(|r| Relation {
                id: id(&r.id),
                trigger: r.trigger.as_deref().map(id),
                arguments: r.arguments.iter().map(|(role, a)| (role.clone(), id(a))).collect(),
                ..r.clone()
            }));
        }
        doc.text = Text::new(text);
        doc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_document_keeps_every_offset_and_head_in_its_copy() {
        let text = "Olivine in Gale.\nIt is rare.";
        let mut tokens: Vec<Token> = [
            ("Olivine", 0),
            ("in", 8),
            ("Gale", 11),
            (".", 15),
            ("It", 17),
            ("is", 20),
            ("rare", 23),
            (".", 27),
        ]
        .iter()
        .map(|&(f, s)| Token::plain(f, s, s + f.chars().count()))
        .collect();
        tokens[0].head = Some(2);
        let doc = Document {
            id: "d".into(),
            text: Text::new(text.into()),
            tokens,
            sentences: vec![
                Sentence { id: None, start: 0, end: 4 },
                Sentence { id: Some("s2".into()), start: 4, end: 8 },
            ],
            entities: vec![Entity {
                id: "T1".into(),
                ty: "Mineral".into(),
                spans: vec![(0, 7)],
                line: 1,
            }],
            relations: vec![],
            annotation_lines: [("T".to_string(), 1)].into(),
        };
        let three = doc.repeated(3);
        assert_eq!(three.tokens.len(), 24);
        assert_eq!(three.sentences.len(), 6);
        for tok in &three.tokens {
            assert_eq!(three.text.slice(tok.start, tok.end), Some(tok.form.as_str()));
        }
        assert_eq!(three.tokens[16].head, Some(18));
        assert_eq!(three.sentences[5], Sentence { id: Some("s2.2".into()), start: 20, end: 24 });
        let ids: Vec<&str> = three.entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["T1", "T1.1", "T1.2"]);
        for e in &three.entities {
            assert_eq!(three.text.slice(e.spans[0].0, e.spans[0].1), Some("Olivine"));
        }
        assert_eq!(three.annotation_lines["T"], 3);
        assert_eq!(doc.repeated(1).text.as_str(), text);
    }
}
