//! Relations onto words: each text-bound annotation's word span, and each brat relation (`R`)
//! or event (`E`) as the head–tail pairs a relation model scores.
//!
//! A relation `TYPE Arg1:A Arg2:B` is one pair, `A` -> `B`. An event (a line with a trigger) names
//! its arguments by role, numbered when repeated (`Targ`, `Targ2`, `Cont`, `Cont2`, ...): the
//! head's role is the first role the corpus's `annotation.conf` defines for the event type
//! (`Contains Targ+:Target, Cont+:<CMP>`: `Targ`; [`EventHeads`]), and every argument of another
//! role is a tail, so a `Contains` event with two targets and three components is six
//! Target–component pairs, each with its role (`Cont2`). An event type the configuration does
//! not define (or a corpus without one) has its trigger as the head of every argument (MSPT's
//! `Operation:T3 Recipe_Precursor:T15 ...`: the operation word and each material). The
//! order of an event's arguments in the `.ann` says nothing (Mars writes `Cont` first in 223 of
//! its 367 events). An argument naming another event stands for that event's trigger (counted:
//! MSPT's `Next_Operation Arg1:E2 Arg2:E3` joins two operations). Pairs that cannot be placed
//! on words are dropped and counted by reason: an argument naming neither an entity nor an event
//! with a trigger, or an entity that no token overlaps.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::read::document::Document;

/// A text-bound annotation's place in its document's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityWords {
    /// The first token overlapping the entity and one past the last; `None` when no token does.
    pub words: Option<(usize, usize)>,
    /// The sentence of its first word.
    pub sentence: Option<u32>,
}

/// One head–tail pair of a relation or event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pair {
    /// The `R` or `E` id it comes from.
    pub id: String,
    pub ty: String,
    /// The tail's role (`Arg2`, `Cont`, `Cont2`, ...).
    pub role: String,
    /// Indices into the document's `entities`.
    pub head: usize,
    pub tail: usize,
}

/// Pairs kept per relation type, and what was dropped, per reason with examples.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RelationReport {
    /// `R` and `E` annotations read.
    pub relations_in: usize,
    /// Head–tail pairs per relation type.
    pub pairs: BTreeMap<String, usize>,
    /// Pairs whose head and tail start in different sentences.
    pub cross_sentence: usize,
    /// Arguments that name another event, placed at that event's trigger (absent when none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub event_arguments: usize,
    /// Pairs left out, per reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, usize>,
    /// Up to three `doc:line ID` per reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub examples: BTreeMap<String, Vec<String>>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl RelationReport {
    pub fn is_empty(&self) -> bool {
        self.relations_in == 0
    }

    pub fn merge(&mut self, other: &RelationReport) {
        self.relations_in += other.relations_in;
        self.cross_sentence += other.cross_sentence;
        self.event_arguments += other.event_arguments;
        for (k, v) in &other.pairs {
            *self.pairs.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.dropped {
            *self.dropped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.examples {
            let e = self.examples.entry(k.clone()).or_default();
            e.extend(v.iter().take(3usize.saturating_sub(e.len())).cloned());
        }
    }

    fn drop(&mut self, reason: &str, example: String) {
        *self.dropped.entry(reason.to_string()).or_default() += 1;
        let e = self.examples.entry(reason.to_string()).or_default();
        if e.len() < 3 {
            e.push(example);
        }
    }
}

/// Reasons a pair is dropped.
pub const ARGUMENT_NOT_ENTITY: &str = "argument_not_entity";
pub const ENTITY_WITHOUT_WORDS: &str = "entity_without_words";

/// The head role of each event type, from the `[events]` section of a brat `annotation.conf`:
/// the first role of the type's definition, without its quantifier (`Targ+` -> `Targ`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventHeads(pub BTreeMap<String, String>);

impl EventHeads {
    /// Parse the text of an `annotation.conf`; lines it cannot read as a definition are skipped
    /// (macros `<X>=...`, comments, other sections).
    pub fn parse(conf: &str) -> Self {
        let mut heads = BTreeMap::new();
        let mut in_events = false;
        for line in conf.lines() {
            let line = line.trim();
            if line.starts_with('[') {
                in_events = line == "[events]";
                continue;
            }
            if !in_events || line.is_empty() || line.starts_with('#') || line.starts_with('<') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let (Some(ty), Some(first)) = (fields.next(), fields.next()) else { continue };
            let Some((role, _)) = first.split_once(':') else { continue };
            let role = role.trim_end_matches(['+', '?', '*']);
            let role = role.split('{').next().unwrap_or(role);
            heads.entry(ty.to_string()).or_insert_with(|| role_base(role).to_string());
        }
        Self(heads)
    }
}

/// The word span and sentence of every entity of `doc`, in its order.
pub fn entity_words(doc: &Document, sentence_of: &[u32]) -> Vec<EntityWords> {
    doc.entities
        .iter()
        .map(|e| {
            let (start, end) = e.cover();
            // Tokens are in text order: the first ending after the start, then those starting before the end.
            let first = doc.tokens.partition_point(|t| t.end <= start);
            let last = first + doc.tokens[first..].iter().take_while(|t| t.start < end).count();
            let words = (last > first).then_some((first, last));
            EntityWords { words, sentence: words.map(|(w, _)| sentence_of[w]) }
        })
        .collect()
}

/// The base of a role, without the number brat adds to repeated roles (`Cont2` -> `Cont`).
fn role_base(role: &str) -> &str {
    role.trim_end_matches(|c: char| c.is_ascii_digit())
}

/// Every relation and event of `doc` as head–tail pairs (rules in the module's doc).
pub fn pairs(
    doc: &Document,
    words: &[EntityWords],
    heads: &EventHeads,
) -> (Vec<Pair>, RelationReport) {
    let mut index: HashMap<&str, usize> =
        doc.entities.iter().enumerate().map(|(i, e)| (e.id.as_str(), i)).collect();
    // An event stands where its trigger is: a relation between two events (MSPT's
    // `Next_Operation Arg1:E2 Arg2:E3`) joins their triggers.
    let events: HashMap<&str, usize> = doc
        .relations
        .iter()
        .filter_map(|r| Some((r.id.as_str(), *index.get(r.trigger.as_deref()?)?)))
        .collect();
    index.extend(events.iter().map(|(id, i)| (*id, *i)));
    let mut report = RelationReport { relations_in: doc.relations.len(), ..Default::default() };
    let mut out = Vec::new();
    for r in &doc.relations {
        let Some((first_role, _)) = r.arguments.first() else { continue };
        let trigger = r.trigger.as_ref().map(|t| ("trigger".to_string(), t.clone()));
        // A relation's `Arg1` and `Arg2` share their base, so only an event groups by role.
        let (head_args, tail_args): (Vec<_>, Vec<_>) = match (&trigger, heads.0.get(&r.ty)) {
            (Some(_), Some(head_role)) => {
                r.arguments.iter().partition(|(role, _)| role_base(role) == head_role)
            }
            // An event type the configuration does not define: its trigger heads every argument.
            (Some(trigger), None) => (vec![trigger], r.arguments.iter().collect()),
            (None, _) => r.arguments.iter().partition(|(role, _)| role == first_role),
        };
        let example = |id: &str| format!("{}:{} {} {id}", doc.id, r.line, r.id);
        for (_, head) in &head_args {
            for (role, tail) in &tail_args {
                let (Some(&h), Some(&t)) = (index.get(head.as_str()), index.get(tail.as_str()))
                else {
                    let missing = if index.contains_key(head.as_str()) { tail } else { head };
                    report.drop(ARGUMENT_NOT_ENTITY, example(missing));
                    continue;
                };
                if words[h].words.is_none() || words[t].words.is_none() {
                    let missing = if words[h].words.is_none() { head } else { tail };
                    report.drop(ENTITY_WITHOUT_WORDS, example(missing));
                    continue;
                }
                if words[h].sentence != words[t].sentence {
                    report.cross_sentence += 1;
                }
                report.event_arguments +=
                    [head, tail].into_iter().filter(|id| events.contains_key(id.as_str())).count();
                *report.pairs.entry(r.ty.clone()).or_default() += 1;
                out.push(Pair {
                    id: r.id.clone(),
                    ty: r.ty.clone(),
                    role: role.clone(),
                    head: h,
                    tail: t,
                });
            }
        }
    }
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::document::{Entity, Relation, Sentence, Token};
    use crate::read::text::Text;

    fn doc() -> Document {
        // "Jake contains Fe and Mg . Ithaca shows veins ."
        let words = ["Jake", "contains", "Fe", "and", "Mg", ".", "Ithaca", "shows", "veins", "."];
        let (mut text, mut tokens) = (String::new(), Vec::new());
        for w in words {
            let start = text.chars().count();
            text.push_str(w);
            tokens.push(Token::plain(w, start, text.chars().count()));
            text.push(' ');
        }
        let entity = |id: &str, ty: &str, s: usize, e: usize| Entity {
            id: id.into(),
            ty: ty.into(),
            spans: vec![(s, e)],
            line: 1,
        };
        let relation = |id: &str, ty: &str, args: &[(&str, &str)]| Relation {
            id: id.into(),
            ty: ty.into(),
            trigger: id.starts_with('E').then(|| "T2".to_string()),
            arguments: args.iter().map(|(r, a)| (r.to_string(), a.to_string())).collect(),
            line: 9,
        };
        Document {
            id: "d".into(),
            text: Text::new(text),
            tokens,
            sentences: vec![
                Sentence { id: None, start: 0, end: 6 },
                Sentence { id: None, start: 6, end: 10 },
            ],
            entities: vec![
                entity("T1", "Target", 0, 4),
                entity("T2", "Contains", 5, 13),
                entity("T3", "Element", 14, 16),
                entity("T4", "Element", 21, 23),
                entity("T5", "Target", 26, 32),
                entity("T6", "Feature", 39, 44),
                // Inside the space between two tokens: no word.
                entity("T7", "Element", 44, 45),
            ],
            relations: vec![
                // Components first, as Mars often writes them.
                relation(
                    "E1",
                    "Contains",
                    &[("Cont", "T3"), ("Targ", "T1"), ("Cont2", "T4"), ("Targ2", "T5")],
                ),
                relation("R1", "Shows", &[("Arg1", "T5"), ("Arg2", "T6")]),
                relation("R2", "Shows", &[("Arg1", "E1"), ("Arg2", "T6")]),
                relation("R3", "Shows", &[("Arg1", "T5"), ("Arg2", "T7")]),
                relation("R4", "Shows", &[("Arg1", "R1"), ("Arg2", "T6")]),
            ],
            annotation_lines: BTreeMap::new(),
        }
    }

    #[test]
    fn entities_land_on_the_tokens_they_overlap() {
        let d = doc();
        let w = entity_words(&d, &[0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        assert_eq!(w[0], EntityWords { words: Some((0, 1)), sentence: Some(0) });
        assert_eq!(w[4], EntityWords { words: Some((6, 7)), sentence: Some(1) });
        assert_eq!(w[6], EntityWords { words: None, sentence: None });
    }

    #[test]
    fn events_become_one_pair_per_head_and_tail_and_the_rest_is_counted() {
        let d = doc();
        let w = entity_words(&d, &[0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        let conf = "[entities]\nTarget\n[events]\n<CMP>=Element|Mineral\nContains\tTarg+:Target, Cont+:<CMP>\n[attributes]\nX Arg:<EVENT>\n";
        let heads = EventHeads::parse(conf);
        assert_eq!(heads.0, BTreeMap::from([("Contains".to_string(), "Targ".to_string())]));
        let (pairs, report) = pairs(&d, &w, &heads);
        let got: Vec<(&str, &str, usize, usize)> =
            pairs.iter().map(|p| (p.id.as_str(), p.role.as_str(), p.head, p.tail)).collect();
        assert_eq!(
            got,
            [
                ("E1", "Cont", 0, 2),
                ("E1", "Cont2", 0, 3),
                ("E1", "Cont", 4, 2),
                ("E1", "Cont2", 4, 3),
                ("R1", "Arg2", 4, 5),
                // The event E1 stands at its trigger, T2.
                ("R2", "Arg2", 1, 5),
            ]
        );
        assert_eq!(report.relations_in, 5);
        assert_eq!(report.pairs, BTreeMap::from([("Contains".into(), 4), ("Shows".into(), 2)]));
        assert_eq!(report.event_arguments, 1);
        // Ithaca (sentence 1) with Fe and Mg (sentence 0); "contains" (0) with veins (1).
        assert_eq!(report.cross_sentence, 3);
        assert_eq!(
            report.dropped,
            BTreeMap::from([(ARGUMENT_NOT_ENTITY.into(), 1), (ENTITY_WITHOUT_WORDS.into(), 1)])
        );
        // A relation is not an argument.
        assert_eq!(report.examples[ARGUMENT_NOT_ENTITY], ["d:9 R4 R1"]);
        // Without the configuration the trigger ("contains", T2) heads every argument.
        let (pairs, _) = super::pairs(&d, &w, &EventHeads::default());
        let got: Vec<(usize, usize, &str)> =
            pairs.iter().take(4).map(|p| (p.head, p.tail, p.role.as_str())).collect();
        assert_eq!(got, [(1, 2, "Cont"), (1, 0, "Targ"), (1, 3, "Cont2"), (1, 4, "Targ2")]);
    }
}
