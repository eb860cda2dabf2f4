//! The contract between the enrelg pipeline and the trainer.
//!
//! Everything both sides must agree on lives here and nowhere else: the shard
//! format version, the tables and columns of a shard, the label set and its
//! BIO encoding, and the chunking rules
//! that turn a BIO sequence back into entities (those of conlleval, so that
//! the pipeline's counts and the trainer's scores speak about the same
//! entities).

// Library code reports bad input as errors: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod chunks;
pub mod labels;
pub mod tables;

pub use chunks::{chunks, Chunk, ChunkReport};
pub use labels::{LabelError, LabelSet};
pub use tables::Graph;

/// Version of the shard layout written by the pipeline and read by the
/// trainer. Bump on any change to a table's columns or their meaning.
pub const FORMAT_VERSION: u32 = 4;
