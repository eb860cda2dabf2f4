//! The error policy: what stops a run and what is skipped with a counted warning.
//!
//! **Stops the run**, with the file (and line and column where there is one):
//! the command line, the dataset manifest, the tokenizer, the corpus layout
//! (no `standoff/` folder, no split folders, a split without `.txt` files), a
//! folder that cannot be listed, shards or checkpoints that fail their format
//! version or checksum, and any failure to write an output.
//!
//! **Skipped with a counted warning**, by default:
//! - a document whose files are missing or broken: no `.ann` or `.conllu` for a
//!   `.txt` (or the reverse), invalid UTF-8, a malformed `.ann` line, a span
//!   past the end of the text or reversed, a surface text that differs from the
//!   `.txt`, a malformed CoNLL-U line or a sentence that is not one tree, a
//!   parse whose tokens do not match the `.txt` or leave part of it uncovered,
//!   a document without tokens. The whole document is left out: half a
//!   document would train on wrong labels or a wrong graph.
//! - an `.ann` line of an unknown kind (not T, R, E, A, M, N, # or *): the line
//!   is left out; it carries no entity.
//!
//! `--strict` turns every such warning into an error that stops the run at the
//! first problem. Changes that the alignment policy makes by design (nested,
//! discontinuous or partial-token entities) are not warnings: they follow the
//! configured policy and are counted in the alignment report.
//!
//! Every run prints a [`SkipReport`]: each reason with its count and the
//! first locations, and shard manifests and statistics record it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How many locations a report keeps per reason.
pub const EXAMPLES_PER_REASON: usize = 5;

/// What is left out when a problem is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Document,
    Line,
}

/// Skipped input, counted by reason, with the first few messages (each names
/// its file and line).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkipReport {
    pub documents: usize,
    pub lines: usize,
    pub reasons: BTreeMap<String, ReasonCount>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReasonCount {
    pub count: usize,
    pub first: Vec<String>,
}

impl SkipReport {
    pub fn add(&mut self, unit: Unit, reason: &str, message: String) {
        match unit {
            Unit::Document => self.documents += 1,
            Unit::Line => self.lines += 1,
        }
        let r = self.reasons.entry(reason.to_string()).or_default();
        r.count += 1;
        if r.first.len() < EXAMPLES_PER_REASON {
            r.first.push(message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Fold another report into this one (splits into a corpus total).
    pub fn merge(&mut self, other: &SkipReport) {
        self.documents += other.documents;
        self.lines += other.lines;
        for (reason, c) in &other.reasons {
            let r = self.reasons.entry(reason.clone()).or_default();
            r.count += c.count;
            for m in &c.first {
                if r.first.len() < EXAMPLES_PER_REASON {
                    r.first.push(m.clone());
                }
            }
        }
    }
}

impl fmt::Display for SkipReport {
    /// The end-of-run summary: one block per reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "skipped: nothing");
        }
        writeln!(f, "skipped: {} document(s), {} line(s) (--strict makes these errors)", self.documents, self.lines)?;
        for (reason, c) in &self.reasons {
            writeln!(f, "  {reason}: {}", c.count)?;
            for m in &c.first {
                writeln!(f, "    {m}")?;
            }
            if c.count > c.first.len() {
                writeln!(f, "    ... and {} more", c.count - c.first.len())?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_every_skip_and_keeps_the_first_locations() {
        let mut r = SkipReport::default();
        for i in 0..7 {
            r.add(Unit::Document, "missing .ann", format!("d{i}.ann"));
        }
        r.add(Unit::Line, "unknown .ann line kind", "x.ann:3".into());
        assert_eq!((r.documents, r.lines), (7, 1));
        assert_eq!(r.reasons["missing .ann"].count, 7);
        assert_eq!(r.reasons["missing .ann"].first.len(), EXAMPLES_PER_REASON);
        let text = r.to_string();
        assert!(text.contains("missing .ann: 7") && text.contains("... and 2 more") && text.contains("x.ann:3"), "{text}");
        let mut total = SkipReport::default();
        total.merge(&r);
        total.merge(&r);
        assert_eq!(total.reasons["missing .ann"].count, 14);
        assert_eq!(total.documents, 14);
    }
}
