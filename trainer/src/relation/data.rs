//! A split's documents as the relation model reads them: words with their sentence and
//! dependency head, the gold entities and the gold head–tail pairs of the shards' `entities` and
//! `relations` tables, and the candidate pairs among a document's mentions.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use enrelg_pipeline::shard::{optional_u32s, read_table, strings, u32s};
use enrelg_schemas::tables::{self, documents, entities, relations, tokens};

/// An entity mention on words: `start..end` of its document, and its type.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub ty: String,
}

/// A relation between two mentions of one document.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Triple {
    pub doc: String,
    pub head: Mention,
    pub tail: Mention,
    pub ty: String,
}

/// One document of a split.
#[derive(Debug, Clone, Default)]
pub struct RelDocument {
    pub id: String,
    /// The sentence of each word and its dependency head (a word of the document).
    pub sentence_of: Vec<u32>,
    pub head_of: Vec<Option<u32>>,
    /// Every annotated entity with words, all types (triggers included).
    pub entities: Vec<Mention>,
    /// The document's text and each word's character range in it.
    pub text: Vec<char>,
    pub chars: Vec<(u32, u32)>,
}

impl RelDocument {
    /// The text of words `start..end`, as the document writes it.
    pub fn span_text(&self, start: usize, end: usize) -> String {
        if start >= end || end > self.chars.len() {
            return String::new();
        }
        let (from, to) = (self.chars[start].0 as usize, self.chars[end - 1].1 as usize);
        self.text.get(from..to).map(|c| c.iter().collect()).unwrap_or_default()
    }

    /// The text of the sentences words `a` and `b` are in, and of those between them.
    pub fn sentences_text(&self, a: usize, b: usize) -> String {
        let (s, t) = (
            self.sentence_of[a].min(self.sentence_of[b]),
            self.sentence_of[a].max(self.sentence_of[b]),
        );
        let start = self.sentence_of.partition_point(|&x| x < s);
        let end = self.sentence_of.partition_point(|&x| x <= t);
        self.span_text(start, end)
    }
}

/// A split's documents (in `tokens` order) and its gold relations.
pub struct RelSplit {
    pub documents: Vec<RelDocument>,
    pub gold: BTreeSet<Triple>,
    /// Gold pairs whose head and tail start in different sentences.
    pub cross_sentence: usize,
}

/// Read `split` of the shard folder `shards`.
pub fn load(shards: &Path, split: &str) -> anyhow::Result<RelSplit> {
    let tok = read_table(shards, split, tables::TOKENS)?;
    let (doc_ids, sentences, heads) = (
        strings(&tok, tokens::DOC_ID)?,
        u32s(&tok, tokens::SENTENCE)?,
        optional_u32s(&tok, tokens::HEAD)?,
    );
    let (starts, ends) = (u32s(&tok, tokens::START)?, u32s(&tok, tokens::END)?);
    let mut documents: Vec<RelDocument> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (row, doc) in doc_ids.into_iter().enumerate() {
        let i = *index.entry(doc.clone()).or_insert_with(|| {
            documents.push(RelDocument { id: doc.clone(), ..Default::default() });
            documents.len() - 1
        });
        documents[i].sentence_of.push(sentences[row]);
        documents[i].head_of.push(heads[row]);
        documents[i].chars.push((starts[row], ends[row]));
    }
    let docs = read_table(shards, split, tables::DOCUMENTS)?;
    for (id, text) in
        strings(&docs, documents::DOC_ID)?.into_iter().zip(strings(&docs, documents::TEXT)?)
    {
        if let Some(&i) = index.get(&id) {
            documents[i].text = text.chars().collect();
        }
    }
    let ent = read_table(shards, split, tables::ENTITIES)?;
    let (e_doc, e_id, e_ty) = (
        strings(&ent, entities::DOC_ID)?,
        strings(&ent, entities::ENTITY_ID)?,
        strings(&ent, entities::TYPE)?,
    );
    let (e_start, e_end) =
        (optional_u32s(&ent, entities::WORD_START)?, optional_u32s(&ent, entities::WORD_END)?);
    let mut by_id: HashMap<(String, String), Mention> = HashMap::new();
    for row in 0..ent.height() {
        let (Some(start), Some(end)) = (e_start[row], e_end[row]) else { continue };
        let mention = Mention { start: start as usize, end: end as usize, ty: e_ty[row].clone() };
        let Some(&d) = index.get(&e_doc[row]) else {
            anyhow::bail!("entities table, row {row}: document {} has no tokens", e_doc[row])
        };
        if !documents[d].entities.contains(&mention) {
            documents[d].entities.push(mention.clone());
        }
        by_id.insert((e_doc[row].clone(), e_id[row].clone()), mention);
    }
    let rel = read_table(shards, split, tables::RELATIONS)?;
    let (r_doc, r_ty, r_head, r_tail) = (
        strings(&rel, relations::DOC_ID)?,
        strings(&rel, relations::TYPE)?,
        strings(&rel, relations::HEAD)?,
        strings(&rel, relations::TAIL)?,
    );
    let (mut gold, mut cross_sentence) = (BTreeSet::new(), 0);
    for row in 0..rel.height() {
        let mention = |id: &str| {
            by_id.get(&(r_doc[row].clone(), id.to_string())).cloned().ok_or_else(|| {
                anyhow::anyhow!("relations table, row {row}: {id} names no entity with words")
            })
        };
        let (head, tail) = (mention(&r_head[row])?, mention(&r_tail[row])?);
        let d = &documents[index[&r_doc[row]]];
        if d.sentence_of[head.start] != d.sentence_of[tail.start] {
            cross_sentence += 1;
        }
        gold.insert(Triple { doc: r_doc[row].clone(), head, tail, ty: r_ty[row].clone() });
    }
    Ok(RelSplit { documents, gold, cross_sentence })
}

/// The (head type, tail type) pairs each relation type joins in `gold`: which mention pairs are
/// candidates, and for which types.
pub fn signatures(gold: &BTreeSet<Triple>) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for t in gold {
        out.entry((t.head.ty.clone(), t.tail.ty.clone())).or_default().insert(t.ty.clone());
    }
    out
}

/// A candidate pair: two mentions of one document (indices into `mentions`) near each other
/// ([`SENTENCE_REACH`]), with a signature some relation type has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub doc: usize,
    pub head: usize,
    pub tail: usize,
}

/// How many sentences apart a candidate's mentions may start: a target named in one sentence
/// and its components in the next is how Mars often writes (16 of the 77 element and mineral
/// `Contains` pairs of its test split, 49 of 352 in train; 51 and 195 in the same sentence).
pub const SENTENCE_REACH: u32 = 1;

/// Every ordered pair of `mentions[d]` at most [`SENTENCE_REACH`] sentences apart in
/// `documents[d]` whose types a relation type joins.
pub fn candidates(
    documents: &[RelDocument],
    mentions: &[Vec<Mention>],
    signatures: &BTreeMap<(String, String), BTreeSet<String>>,
) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (d, (doc, ms)) in documents.iter().zip(mentions).enumerate() {
        for (h, head) in ms.iter().enumerate() {
            for (t, tail) in ms.iter().enumerate() {
                let joined = signatures.contains_key(&(head.ty.clone(), tail.ty.clone()));
                let (sh, st) = (doc.sentence_of[head.start], doc.sentence_of[tail.start]);
                if h != t && joined && sh.abs_diff(st) <= SENTENCE_REACH {
                    out.push(Candidate { doc: d, head: h, tail: t });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start: usize, end: usize, ty: &str) -> Mention {
        Mention { start, end, ty: ty.into() }
    }

    #[test]
    fn candidates_are_typed_pairs_within_a_sentence() {
        let doc = RelDocument {
            id: "d".into(),
            sentence_of: vec![0, 0, 0, 0, 1, 2],
            head_of: vec![None; 6],
            ..Default::default()
        };
        let gold = BTreeSet::from([Triple {
            doc: "d".into(),
            head: m(0, 1, "Target"),
            tail: m(2, 3, "Element"),
            ty: "Contains".into(),
        }]);
        let sig = signatures(&gold);
        let ms = vec![vec![
            m(0, 1, "Target"),
            m(2, 3, "Element"),
            m(3, 4, "Element"),
            m(5, 6, "Element"),
        ]];
        let c = candidates(&[doc], &ms, &sig);
        let pairs: Vec<(usize, usize)> = c.iter().map(|c| (c.head, c.tail)).collect();
        // Element -> Target is no signature; the last Element is two sentences on.
        assert_eq!(pairs, [(0, 1), (0, 2)]);
    }
}
