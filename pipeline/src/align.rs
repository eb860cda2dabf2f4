//! Alignment of character-span entities onto tokens as word-level BIO labels.
//!
//! BIO holds one flat layer of contiguous, token-aligned entities, and brat
//! holds more than that. The policy, applied in this order:
//!
//! 1. types outside the label set are excluded (counted per type);
//! 2. discontinuous entities are dropped, or with `Cover` replaced by the
//!    span from their first to their last character;
//! 3. a span is projected onto every token it overlaps; a span over no token
//!    (whitespace only) is dropped; a span whose edge cuts a token is
//!    expanded to the token boundaries, or with `Drop` dropped;
//! 4. a second entity of the same type on the same tokens is a duplicate
//!    and dropped; one of another type on the same tokens is dropped too (the
//!    first in file order wins);
//! 5. overlapping entities: with `Outer` (the default, what most BIO corpora
//!    do) the longest wins and the entities inside it are dropped as nested;
//!    with `Inner` the innermost win and their enclosing entities are
//!    dropped; a partial overlap that is not nesting drops the later one as
//!    crossing; entities of auxiliary types (see [`LabelSet`]) come after
//!    all others, so one never displaces an entity of a scored type, and
//!    one that overlaps a kept scored entity is dropped as such;
//! 6. a kept entity that runs across a sentence boundary is kept and counted.
//!
//! Every change and every drop is counted by reason in [`AlignReport`].

use std::collections::BTreeMap;

use enrelg_schemas::LabelSet;
use serde::{Deserialize, Serialize};

use crate::read::document::Document;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum NestedPolicy {
    /// Keep the outermost entity, drop those nested in it.
    #[default]
    Outer,
    /// Keep the innermost entities, drop those that enclose them.
    Inner,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum PartialTokenPolicy {
    /// Grow the span to the boundaries of the tokens it touches.
    #[default]
    Expand,
    Drop,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DiscontinuousPolicy {
    #[default]
    Drop,
    /// Replace the fragments by one span from the first to the last character.
    Cover,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlignConfig {
    pub nested: NestedPolicy,
    pub partial_token: PartialTokenPolicy,
    pub discontinuous: DiscontinuousPolicy,
}

/// What happened to an entity on its way to BIO labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlignEvent {
    /// Kept, span grown to token boundaries.
    ExpandedToToken,
    /// Kept, discontinuous fragments replaced by their cover.
    CoveredDiscontinuous,
    /// Kept, runs across a sentence boundary.
    CrossesSentence,
    DroppedDiscontinuous,
    DroppedPartialToken,
    DroppedNoToken,
    DroppedDuplicate,
    DroppedSameSpanOtherType,
    DroppedNested,
    DroppedCrossing,
    /// An auxiliary-type entity on or overlapping the tokens of a kept entity of a scored type.
    DroppedUnderScoredType,
}

impl AlignEvent {
    pub fn is_drop(self) -> bool {
        !matches!(self, Self::ExpandedToToken | Self::CoveredDiscontinuous | Self::CrossesSentence)
    }
}

/// Counts per reason, over one document or a whole corpus.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlignReport {
    /// Entities of types in the label set, before alignment.
    pub entities_in: usize,
    /// Entities labelled in the output.
    pub entities_out: usize,
    /// Entities of types outside the label set, per type.
    pub excluded_types: BTreeMap<String, usize>,
    pub events: BTreeMap<AlignEvent, usize>,
    /// The first few cases of each event, as `doc:line id type "surface"`.
    pub examples: BTreeMap<AlignEvent, Vec<String>>,
}

const EXAMPLES_PER_EVENT: usize = 3;

impl AlignReport {
    pub fn merge(&mut self, other: &AlignReport) {
        self.entities_in += other.entities_in;
        self.entities_out += other.entities_out;
        for (k, v) in &other.excluded_types {
            *self.excluded_types.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.events {
            *self.events.entry(*k).or_default() += v;
        }
        for (k, v) in &other.examples {
            let mine = self.examples.entry(*k).or_default();
            mine.extend(v.iter().take(EXAMPLES_PER_EVENT.saturating_sub(mine.len())).cloned());
        }
    }

    pub fn dropped(&self) -> usize {
        self.events.iter().filter(|(k, _)| k.is_drop()).map(|(_, v)| v).sum()
    }

    fn record(&mut self, event: AlignEvent, example: impl FnOnce() -> String) {
        *self.events.entry(event).or_default() += 1;
        let ex = self.examples.entry(event).or_default();
        if ex.len() < EXAMPLES_PER_EVENT {
            ex.push(example());
        }
    }
}

/// An entity on tokens `start..end` (end exclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenEntity {
    pub ty: String,
    pub start: usize,
    pub end: usize,
    /// Source annotation id.
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aligned {
    /// One BIO label per token of the document.
    pub labels: Vec<String>,
    /// Kept entities, sorted by position.
    pub entities: Vec<TokenEntity>,
}

pub fn align(doc: &Document, label_set: &LabelSet, cfg: &AlignConfig) -> (Aligned, AlignReport) {
    let mut report = AlignReport::default();
    let candidates = candidates(doc, label_set, cfg, &mut report);
    let unique = one_per_span(doc, label_set, candidates, &mut report);
    let kept = without_overlaps(doc, label_set, cfg, &unique, &mut report);
    let aligned = labelled(doc, &unique, kept, &mut report);
    report.entities_out = aligned.entities.len();
    (aligned, report)
}

/// Each entity of a chosen type on the tokens it covers, with the index of its source entity;
/// discontinuous and partial-token entities as `cfg` says.
fn candidates(
    doc: &Document,
    label_set: &LabelSet,
    cfg: &AlignConfig,
    report: &mut AlignReport,
) -> Vec<(TokenEntity, usize)> {
    let mut candidates: Vec<(TokenEntity, usize)> = Vec::new(); // entity, index of source
    for (k, e) in doc.entities.iter().enumerate() {
        if !label_set.contains(&e.ty) {
            *report.excluded_types.entry(e.ty.clone()).or_default() += 1;
            continue;
        }
        report.entities_in += 1;
        let example = || {
            let surface: Vec<&str> =
                e.spans.iter().filter_map(|&(s, t)| doc.text.slice(s, t)).collect();
            format!("{}:{} {} {} {:?}", doc.id, e.line, e.id, e.ty, surface.join(" "))
        };
        let (start, end) = if e.is_discontinuous() {
            match cfg.discontinuous {
                DiscontinuousPolicy::Drop => {
                    report.record(AlignEvent::DroppedDiscontinuous, example);
                    continue;
                }
                DiscontinuousPolicy::Cover => {
                    report.record(AlignEvent::CoveredDiscontinuous, example);
                    e.cover()
                }
            }
        } else {
            e.spans[0]
        };
        let std::ops::Range { start: first, end: last } = tokens_overlapping(doc, start, end);
        if first == last {
            report.record(AlignEvent::DroppedNoToken, example);
            continue;
        }
        if doc.tokens[first].start < start || doc.tokens[last - 1].end > end {
            match cfg.partial_token {
                PartialTokenPolicy::Drop => {
                    report.record(AlignEvent::DroppedPartialToken, example);
                    continue;
                }
                PartialTokenPolicy::Expand => report.record(AlignEvent::ExpandedToToken, example),
            }
        }
        candidates
            .push((TokenEntity { ty: e.ty.clone(), start: first, end: last, id: e.id.clone() }, k));
    }
    candidates
}

/// One entity per token span: the first in file order wins, but a scored type over an
/// auxiliary one.
fn one_per_span(
    doc: &Document,
    label_set: &LabelSet,
    candidates: Vec<(TokenEntity, usize)>,
    report: &mut AlignReport,
) -> Vec<(TokenEntity, usize)> {
    let mut unique: Vec<(TokenEntity, usize)> = Vec::new();
    for (cand, k) in candidates {
        match unique.iter().position(|(u, _)| u.start == cand.start && u.end == cand.end) {
            Some(p)
                if label_set.is_auxiliary(&unique[p].0.ty) && !label_set.is_auxiliary(&cand.ty) =>
            {
                report.record(AlignEvent::DroppedUnderScoredType, || example_of(doc, unique[p].1));
                unique[p] = (cand, k);
            }
            Some(p) => {
                let u = &unique[p].0;
                let event = if u.ty == cand.ty {
                    AlignEvent::DroppedDuplicate
                } else if label_set.is_auxiliary(&cand.ty) && !label_set.is_auxiliary(&u.ty) {
                    AlignEvent::DroppedUnderScoredType
                } else {
                    AlignEvent::DroppedSameSpanOtherType
                };
                report.record(event, || example_of(doc, k));
            }
            None => unique.push((cand, k)),
        }
    }
    unique
}

/// The entities kept when overlaps are resolved by `cfg.nested`, in text order (indices into
/// `unique`).
fn without_overlaps(
    doc: &Document,
    label_set: &LabelSet,
    cfg: &AlignConfig,
    unique: &[(TokenEntity, usize)],
    report: &mut AlignReport,
) -> Vec<usize> {
    // Overlaps: visit in priority order and keep what does not overlap a kept entity.
    let mut order: Vec<usize> = (0..unique.len()).collect();
    // Auxiliary types last: the scored entities are what they would be without them.
    let aux = |i: usize| label_set.is_auxiliary(&unique[i].0.ty);
    match cfg.nested {
        NestedPolicy::Outer => order.sort_by_key(|&i| {
            (aux(i), usize::MAX - (unique[i].0.end - unique[i].0.start), unique[i].0.start, i)
        }),
        NestedPolicy::Inner => order
            .sort_by_key(|&i| (aux(i), unique[i].0.end - unique[i].0.start, unique[i].0.start, i)),
    }
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        let e = &unique[i].0;
        let clash = kept.iter().map(|&j| &unique[j].0).find(|o| o.start < e.end && e.start < o.end);
        match clash {
            None => kept.push(i),
            Some(o) => {
                let nested = (o.start <= e.start && e.end <= o.end)
                    || (e.start <= o.start && o.end <= e.end);
                let event = if aux(i) && !label_set.is_auxiliary(&o.ty) {
                    AlignEvent::DroppedUnderScoredType
                } else if nested {
                    AlignEvent::DroppedNested
                } else {
                    AlignEvent::DroppedCrossing
                };
                report.record(event, || example_of(doc, unique[i].1));
            }
        }
    }
    kept.sort_by_key(|&i| unique[i].0.start);
    kept
}

/// BIO labels of the kept entities; an entity across a sentence boundary is counted.
fn labelled(
    doc: &Document,
    unique: &[(TokenEntity, usize)],
    kept: Vec<usize>,
    report: &mut AlignReport,
) -> Aligned {
    let mut sentence_of = vec![0usize; doc.tokens.len()];
    for (s, sent) in doc.sentences.iter().enumerate() {
        sentence_of[sent.range()].fill(s);
    }
    let mut labels = vec!["O".to_string(); doc.tokens.len()];
    let mut entities = Vec::with_capacity(kept.len());
    for i in kept {
        let (e, k) = &unique[i];
        if sentence_of[e.start] != sentence_of[e.end - 1] {
            report.record(AlignEvent::CrossesSentence, || example_of(doc, *k));
        }
        labels[e.start] = format!("B-{}", e.ty);
        for l in &mut labels[e.start + 1..e.end] {
            *l = format!("I-{}", e.ty);
        }
        entities.push(e.clone());
    }
    Aligned { labels, entities }
}

/// The tokens that overlap characters `start..end` (tokens are in text order).
pub fn tokens_overlapping(doc: &Document, start: usize, end: usize) -> std::ops::Range<usize> {
    let first = doc.tokens.partition_point(|t| t.end <= start);
    let mut last = first;
    while last < doc.tokens.len() && doc.tokens[last].start < end {
        last += 1;
    }
    first..last
}

fn example_of(doc: &Document, k: usize) -> String {
    let e = &doc.entities[k];
    let surface: Vec<&str> = e.spans.iter().filter_map(|&(s, t)| doc.text.slice(s, t)).collect();
    format!("{}:{} {} {} {:?}", doc.id, e.line, e.id, e.ty, surface.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::document::{Entity, Sentence, Token};
    use crate::read::text::Text;

    /// A document whose tokens are the whitespace-separated words of `text`,
    /// one sentence per line.
    fn doc(text: &str, entities: &[(&str, &[(usize, usize)])]) -> Document {
        let mut tokens = Vec::new();
        let mut sentences = Vec::new();
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            let first = tokens.len();
            let mut pos = offset;
            for word in line.split(|c: char| c.is_whitespace()) {
                let len = word.chars().count();
                if len > 0 {
                    tokens.push(Token::plain(word, pos, pos + len));
                }
                pos += len + 1;
            }
            offset += line.chars().count();
            sentences.push(Sentence { id: None, start: first, end: tokens.len() });
        }
        let entities = entities
            .iter()
            .enumerate()
            .map(|(i, (ty, spans))| Entity {
                id: format!("T{}", i + 1),
                ty: ty.to_string(),
                spans: spans.to_vec(),
                line: i + 1,
            })
            .collect();
        Document {
            id: "d".into(),
            text: Text::new(text.into()),
            tokens,
            sentences,
            entities,
            relations: vec![],
            annotation_lines: BTreeMap::new(),
        }
    }

    fn labels() -> LabelSet {
        LabelSet::new(["Element", "Mineral"]).unwrap()
    }

    #[test]
    fn plain_entities_become_bio() {
        let d = doc("calcium sulfate veins", &[("Mineral", &[(0, 15)])]);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Mineral", "I-Mineral", "O"]);
        assert_eq!(r.entities_in, 1);
        assert_eq!(r.entities_out, 1);
        assert!(r.events.is_empty());
    }

    #[test]
    fn nested_outer_keeps_enclosing_and_inner_keeps_nested() {
        let ents: &[(&str, &[(usize, usize)])] = &[("Mineral", &[(0, 15)]), ("Element", &[(0, 7)])];
        let d = doc("calcium sulfate veins", ents);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Mineral", "I-Mineral", "O"]);
        assert_eq!(r.events[&AlignEvent::DroppedNested], 1);
        assert_eq!(r.examples[&AlignEvent::DroppedNested], vec!["d:2 T2 Element \"calcium\""]);
        let cfg = AlignConfig { nested: NestedPolicy::Inner, ..Default::default() };
        let (a, r) = align(&d, &labels(), &cfg);
        assert_eq!(a.labels, vec!["B-Element", "O", "O"]);
        assert_eq!(r.events[&AlignEvent::DroppedNested], 1);
    }

    #[test]
    fn auxiliary_types_never_displace_scored_ones() {
        let labels =
            LabelSet::with_auxiliary(["Element", "Target"], ["Formation", "Site"]).unwrap();
        // Listed first and longer, the formation would win under `Outer`; the
        // target inside it is kept instead, and the site on the target's own
        // tokens yields too, wherever it is in the file.
        let ents: &[(&str, &[(usize, usize)])] = &[
            ("Formation", &[(0, 16)]),
            ("Site", &[(25, 33)]),
            ("Target", &[(0, 6)]),
            ("Target", &[(25, 33)]),
            ("Site", &[(34, 39)]),
        ];
        let d = doc("Murray formation near at Rocknest Bagno", ents);
        for nested in [NestedPolicy::Outer, NestedPolicy::Inner] {
            let (a, r) = align(&d, &labels, &AlignConfig { nested, ..Default::default() });
            assert_eq!(a.labels, vec!["B-Target", "O", "O", "O", "B-Target", "B-Site"]);
            assert_eq!(r.events[&AlignEvent::DroppedUnderScoredType], 2);
            assert_eq!(
                r.examples[&AlignEvent::DroppedUnderScoredType],
                vec!["d:2 T2 Site \"Rocknest\"", "d:1 T1 Formation \"Murray formation\""]
            );
            assert_eq!(r.entities_out, 3);
        }
        // The scored entities are those of the label set without the auxiliary types.
        let plain = LabelSet::new(["Element", "Target"]).unwrap();
        let (a, _) = align(&d, &plain, &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Target", "O", "O", "O", "B-Target", "O"]);
    }

    #[test]
    fn crossing_duplicates_and_same_span() {
        let ents: &[(&str, &[(usize, usize)])] = &[
            ("Mineral", &[(0, 15)]),
            ("Mineral", &[(8, 21)]),
            ("Mineral", &[(0, 15)]),
            ("Element", &[(0, 15)]),
        ];
        let d = doc("calcium sulfate veins", ents);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Mineral", "I-Mineral", "O"]);
        assert_eq!(r.events[&AlignEvent::DroppedCrossing], 1);
        assert_eq!(r.events[&AlignEvent::DroppedDuplicate], 1);
        assert_eq!(r.events[&AlignEvent::DroppedSameSpanOtherType], 1);
        assert_eq!(r.dropped(), 3);
    }

    #[test]
    fn partial_tokens_expand_or_drop() {
        let d = doc("K-jarosite here", &[("Element", &[(0, 1)])]);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Element", "O"]);
        assert_eq!(r.events[&AlignEvent::ExpandedToToken], 1);
        let cfg = AlignConfig { partial_token: PartialTokenPolicy::Drop, ..Default::default() };
        let (a, r) = align(&d, &labels(), &cfg);
        assert_eq!(a.labels, vec!["O", "O"]);
        assert_eq!(r.events[&AlignEvent::DroppedPartialToken], 1);
    }

    #[test]
    fn discontinuous_dropped_or_covered() {
        let d = doc("iron and magnesium oxides", &[("Mineral", &[(0, 4), (19, 25)])]);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert!(a.labels.iter().all(|l| l == "O"));
        assert_eq!(r.events[&AlignEvent::DroppedDiscontinuous], 1);
        let cfg = AlignConfig { discontinuous: DiscontinuousPolicy::Cover, ..Default::default() };
        let (a, r) = align(&d, &labels(), &cfg);
        assert_eq!(a.labels, vec!["B-Mineral", "I-Mineral", "I-Mineral", "I-Mineral"]);
        assert_eq!(r.events[&AlignEvent::CoveredDiscontinuous], 1);
    }

    #[test]
    fn excluded_types_whitespace_spans_and_sentence_crossing() {
        let ents: &[(&str, &[(usize, usize)])] =
            &[("Target", &[(0, 4)]), ("Element", &[(4, 5)]), ("Element", &[(6, 10)])];
        let d = doc("Gale \niron ore", ents);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(r.excluded_types["Target"], 1);
        assert_eq!(r.entities_in, 2);
        assert_eq!(r.events[&AlignEvent::DroppedNoToken], 1);
        assert_eq!(a.labels, vec!["O", "B-Element", "O"]);
        let d = doc("Gale\ncrater", &[("Element", &[(0, 11)])]);
        let (a, r) = align(&d, &labels(), &AlignConfig::default());
        assert_eq!(a.labels, vec!["B-Element", "I-Element"]);
        assert_eq!(r.events[&AlignEvent::CrossesSentence], 1);
    }
}
