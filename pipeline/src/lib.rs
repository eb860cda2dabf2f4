//! The enrelg data pipeline: brat standoff and CoNLL-U in, training data out.
//!
//! One folder or file per stage of the paper, in the order data flows:
//! 1. [`read`]: brat, CoNLL-U and the EnRel-G release into one [`Document`]
//!    model; a corpus folder with its manifest, or a user's brat folder imported;
//! 2. [`align`]: entities onto parse tokens, BIO labels, every change counted;
//! 3. [`words`]: lemmas and acronyms (what the coreference graph links), and the
//!    per-word inputs the model may embed (affixes, shape, characters, syntax);
//! 4. [`window`]: 128-subtoken windows of whole sentences;
//! 5. [`graph`]: `CorefGraph` and `DependencyGraph`;
//! 6. [`relation`]: entities on words and relations as head–tail pairs;
//! 7. [`shard`]: the Arrow files and their manifest.
//!
//! Beside them: [`report`] (statistics, the Mars comparison), [`skips`] (every
//! dropped or changed item, counted with its file and line), [`fs`] (atomic
//! writes), [`fuzzing`] (the fuzz harnesses' checks).

// Errors carry file, line and both texts so they can say what is wrong; they
// are the cold path, so their size does not matter.
#![allow(clippy::result_large_err)]
// Library code reports bad input as errors: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod align;
pub mod fs;
// Fuzz harnesses assert on purpose: a failed check is a finding.
#[allow(clippy::unwrap_used, clippy::expect_used)]
pub mod fuzzing;
pub mod graph;
pub mod read;
pub mod relation;
pub mod report;
pub mod shard;
pub mod skips;
pub mod window;
pub mod words;

pub use read::document::{Document, Entity, Sentence, Token};
