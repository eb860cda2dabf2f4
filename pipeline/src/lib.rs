//! The enrelg data pipeline: brat standoff and CoNLL-U in, training data out.
//!
//! Stages, each one module with one public entry:
//! readers ([`brat`], [`conllu`], [`enrelg_conll`]) -> [`corpus`] (one
//! [`Document`] per file pair) -> [`align`] (BIO labels) -> [`lemma`] and
//! [`acronym`] -> [`window`] (128-subtoken windows) -> [`graph`]
//! (`CorefGraph`, `DependencyGraph`) -> [`shard`] (Arrow files). Statistics
//! over the way: [`stats`], [`compare`]. Raw text to tag enters through
//! [`input`] (JSONL records, text checks) and [`tree`] (input folders).

// Errors carry file, line and both texts so they can say what is wrong; they
// are the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]
// Library code reports bad input as errors: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod acronym;
pub mod affix;
pub mod align;
pub mod brat;
pub mod chars;
pub mod compare;
pub mod conllu;
pub mod corpus;
pub mod document;
pub mod enrelg_conll;
pub mod fs;
// Fuzz harnesses assert on purpose: a failed check is a finding.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod fuzzing;
pub mod graph;
pub mod import;
pub mod input;
pub mod lemma;
pub mod manifest;
pub mod shape;
pub mod shard;
pub mod skips;
pub mod stats;
pub mod syntax;
pub mod text;
pub mod tree;
pub mod window;

pub use document::{Document, Entity, Sentence, Token};
