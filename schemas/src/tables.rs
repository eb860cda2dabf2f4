//! The shard tables: their names, their columns, and the files and graphs
//! they are stored in. Writers and readers name a table or a column only
//! through these constants.

use serde::{Deserialize, Serialize};

/// The shard folder's manifest (format version, label set, statistics, checksums).
pub const MANIFEST: &str = "manifest.json";

/// One row per document of a split.
pub const DOCUMENTS: &str = "documents";
/// One row per token of each document.
pub const TOKENS: &str = "tokens";
/// One row per 128-subtoken window.
pub const WINDOWS: &str = "windows";
/// One row per undirected graph edge of a window.
pub const EDGES: &str = "edges";
/// One row per acronym definition (short form and its long form).
pub const ACRONYMS: &str = "acronyms";
/// One row per coreference edge between words of two windows of one document.
pub const DOC_EDGES: &str = "doc_edges";
/// One row per text-bound annotation (entities, event triggers), every type.
pub const ENTITIES: &str = "entities";
/// One row per head–tail pair of a relation or event.
pub const RELATIONS: &str = "relations";
/// Every table of a split, in the order they are written.
pub const ALL: [&str; 8] =
    [DOCUMENTS, TOKENS, WINDOWS, EDGES, ACRONYMS, DOC_EDGES, ENTITIES, RELATIONS];

/// A table's file inside the shard folder, relative to it (`SPLIT/TABLE.arrow`).
pub fn table_file(split: &str, table: &str) -> String {
    format!("{split}/{table}.arrow")
}

pub mod documents {
    pub const DOC_ID: &str = "doc_id";
    pub const SPLIT: &str = "split";
    pub const TEXT: &str = "text";
}

pub mod tokens {
    pub const DOC_ID: &str = "doc_id";
    /// The token's position in its document.
    pub const IDX: &str = "idx";
    pub const SENTENCE: &str = "sentence";
    pub const FORM: &str = "form";
    pub const LEMMA: &str = "lemma";
    pub const UPOS: &str = "upos";
    pub const DEPREL: &str = "deprel";
    pub const HEAD: &str = "head";
    pub const START: &str = "start";
    pub const END: &str = "end";
    /// The BIO label after alignment.
    pub const LABEL: &str = "label";
}

pub mod windows {
    pub const WINDOW_ID: &str = "window_id";
    pub const DOC_ID: &str = "doc_id";
    pub const WINDOW_INDEX: &str = "window_index";
    pub const WORD_START: &str = "word_start";
    pub const WORD_END: &str = "word_end";
    pub const INPUT_IDS: &str = "input_ids";
    pub const WORD_FIRST_SUBTOKEN: &str = "word_first_subtoken";
    /// Tag indices into the manifest's `tags`.
    pub const LABELS: &str = "labels";
    pub const WORD_SHAPES: &str = "word_shapes";
}

pub mod edges {
    pub const WINDOW_ID: &str = "window_id";
    /// [`super::Graph`] by name.
    pub const GRAPH: &str = "graph";
    pub const KIND: &str = "kind";
    pub const SRC: &str = "src";
    pub const DST: &str = "dst";
}

pub mod doc_edges {
    pub const DOC_ID: &str = "doc_id";
    /// Each end as its window (`windows.window_id`) and position in that window; `src` comes first in the document.
    pub const SRC_WINDOW: &str = "src_window";
    pub const SRC: &str = "src";
    pub const DST_WINDOW: &str = "dst_window";
    pub const DST: &str = "dst";
    /// exact, lemma or acronym.
    pub const KIND: &str = "kind";
}

pub mod acronyms {
    pub const DOC_ID: &str = "doc_id";
    pub const SHORT_FORM: &str = "short_form";
    pub const SHORT: &str = "short";
    pub const LONG_START: &str = "long_start";
    pub const LONG_END: &str = "long_end";
    pub const LONG_FORM: &str = "long_form";
}

pub mod entities {
    pub const DOC_ID: &str = "doc_id";
    /// The annotation id (`T3`), unique in its document.
    pub const ENTITY_ID: &str = "entity_id";
    pub const TYPE: &str = "type";
    /// The character range covering every span, end exclusive.
    pub const START: &str = "start";
    pub const END: &str = "end";
    /// The tokens it overlaps (`tokens.idx`), end exclusive; null when none does.
    pub const WORD_START: &str = "word_start";
    pub const WORD_END: &str = "word_end";
    /// The sentence of its first word; null without words.
    pub const SENTENCE: &str = "sentence";
}

pub mod relations {
    pub const DOC_ID: &str = "doc_id";
    /// The `R` or `E` annotation the pair comes from.
    pub const RELATION_ID: &str = "relation_id";
    pub const TYPE: &str = "type";
    /// The tail's role (`Arg2`, `Cont`, `Cont2`, ...).
    pub const ROLE: &str = "role";
    /// Head and tail as `entities.entity_id`.
    pub const HEAD: &str = "head";
    pub const TAIL: &str = "tail";
    /// The sentences their first words are in.
    pub const HEAD_SENTENCE: &str = "head_sentence";
    pub const TAIL_SENTENCE: &str = "tail_sentence";
}

/// The two entity relation graphs of the paper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Graph {
    /// Coreferent mentions: exact, lemma and acronym matches.
    Coref,
    /// Dependency-related words.
    Dep,
}

impl Graph {
    /// The name stored in the `graph` column.
    pub fn name(self) -> &'static str {
        match self {
            Self::Coref => "coref",
            Self::Dep => "dep",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graph_names_match_their_serialised_form() {
        for g in [Graph::Coref, Graph::Dep] {
            assert_eq!(serde_json::to_string(&g).unwrap(), format!("\"{}\"", g.name()));
        }
        assert_eq!(table_file("dev", EDGES), "dev/edges.arrow");
    }
}
