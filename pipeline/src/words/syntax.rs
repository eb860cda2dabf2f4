//! Syntactic classes of a word from its parse: universal part of speech and
//! dependency relation, as small integer ids for the model's optional
//! syntactic inputs (`--pos-dim`; an addition beyond the paper, whose
//! dependency graph uses the parse only for its edges). A feature CRF gets
//! much of its strength from these.

/// The 17 universal POS tags of UD v2; id 0 is kept for anything else.
pub const UPOS: [&str; 17] = [
    "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
    "PUNCT", "SCONJ", "SYM", "VERB", "X",
];

/// Dependency relations: UD v2's universal relations, then the ClearNLP
/// labels spaCy's English pipelines write (`dobj`, `pobj`, `prep`, ...);
/// a subtype (`acl:relcl`) counts as its relation. Id 0 is kept for anything else.
pub const DEPRELS: [&str; 60] = [
    "acl",
    "advcl",
    "advmod",
    "amod",
    "appos",
    "aux",
    "case",
    "cc",
    "ccomp",
    "clf",
    "compound",
    "conj",
    "cop",
    "csubj",
    "dep",
    "det",
    "discourse",
    "dislocated",
    "expl",
    "fixed",
    "flat",
    "goeswith",
    "iobj",
    "list",
    "mark",
    "nmod",
    "nsubj",
    "nummod",
    "obj",
    "obl",
    "orphan",
    "parataxis",
    "punct",
    "reparandum",
    "root",
    "vocative",
    "xcomp", // UD v2
    "acomp",
    "agent",
    "attr",
    "auxpass",
    "csubjpass",
    "dative",
    "dobj",
    "intj",
    "meta",
    "mwe",
    "neg",
    "npadvmod",
    "nsubjpass",
    "oprd",
    "pcomp",
    "pobj",
    "poss",
    "preconj",
    "predet",
    "prep",
    "prt",
    "quantmod",
    "relcl", // ClearNLP (spaCy)
];

/// Number of UPOS ids (`0..NUM_UPOS`, 0 = other).
pub const NUM_UPOS: usize = UPOS.len() + 1;
/// Number of relation ids (`0..NUM_DEPRELS`, 0 = other).
pub const NUM_DEPRELS: usize = DEPRELS.len() + 1;

/// The id of a UPOS tag (0 when it is not one of UD's 17).
pub fn upos_id(upos: &str) -> u32 {
    UPOS.iter().position(|&t| t == upos).map_or(0, |i| i as u32 + 1)
}

/// The id of a dependency relation, case-insensitive, subtypes folded into
/// their relation (0 when it is not listed).
pub fn deprel_id(deprel: &str) -> u32 {
    let relation = deprel.split(':').next().unwrap_or("").to_ascii_lowercase();
    DEPRELS.iter().position(|&r| r == relation).map_or(0, |i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_relations_get_their_own_ids_and_anything_else_zero() {
        assert_eq!(upos_id("ADJ"), 1);
        assert_eq!(upos_id("X"), 17);
        assert_eq!(upos_id("_"), 0);
        assert_eq!(deprel_id("ROOT"), deprel_id("root"));
        assert_eq!(deprel_id("acl:relcl"), deprel_id("acl"));
        assert_eq!(deprel_id("nmod:poss"), deprel_id("nmod"));
        assert_ne!(deprel_id("dobj"), 0);
        assert_eq!(deprel_id("frobnicate"), 0);
        let ids: Vec<u32> = DEPRELS.iter().map(|r| deprel_id(r)).collect();
        assert_eq!(ids, (1..NUM_DEPRELS as u32).collect::<Vec<_>>(), "no relation listed twice");
        let ids: Vec<u32> = UPOS.iter().map(|t| upos_id(t)).collect();
        assert_eq!(ids, (1..NUM_UPOS as u32).collect::<Vec<_>>());
    }
}
