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
//!   `.txt` (or the reverse), invalid UTF-8, a malformed CoNLL-U line or a
//!   sentence that is not one tree, a parse whose tokens do not match the `.txt`
//!   or leave part of it uncovered, a document without tokens. The whole
//!   document is left out: without its text or its parse there is nothing to
//!   train on.
//! - one flawed `.ann` line: a span past the end of the text or reversed, a
//!   surface text that differs from the `.txt`, a second line with the same id,
//!   a malformed line, or a line of an unknown kind (not T, R, E, A, M, N, # or
//!   *). That annotation is left out and the rest of the document is kept: one
//!   slip of an annotator costs one annotation, not the document.
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
    /// An entry of an input folder that is no document of its own (a second
    /// way to a folder or file already walked): counted under its reason only.
    Entry,
}

/// Skipped input, counted by reason, with the first few messages (each names
/// its file and line).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SkipReport {
    pub documents: usize,
    pub lines: usize,
    pub reasons: BTreeMap<String, ReasonCount>,
    /// Every skip in the order it happened, `(reason, message)`, for [`SkipReport::to_tsv`];
    /// not serialised (manifests and statistics keep the counts and the first locations).
    #[serde(skip)]
    pub all: Vec<(String, String)>,
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
            Unit::Entry => {}
        }
        let r = self.reasons.entry(reason.to_string()).or_default();
        r.count += 1;
        if r.first.len() < EXAMPLES_PER_REASON {
            r.first.push(message.clone());
        }
        self.all.push((reason.to_string(), message));
    }

    /// Every skip as a tab-separated table with a header: `path`, `line:column` (empty when
    /// the message names none), `reason` and the whole `message`. Tabs and line breaks inside
    /// a field are written as spaces.
    pub fn to_tsv(&self) -> String {
        let clean = |s: &str| s.replace(['\t', '\n', '\r'], " ");
        let mut out = String::from("path\tline:column\treason\tmessage\n");
        for (reason, message) in &self.all {
            let (path, at) = location(message);
            out += &format!("{}\t{}\t{}\t{}\n", clean(path), at, clean(reason), clean(message));
        }
        out
    }

    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Fold another report into this one (splits into a corpus total).
    /// Rewrite every message with `rename` (the import names the user's own files in place of
    /// the copies it laid out).
    pub fn rename_paths(&mut self, rename: impl Fn(&str) -> String) {
        for c in self.reasons.values_mut() {
            c.first.iter_mut().for_each(|m| *m = rename(m));
        }
        self.all.iter_mut().for_each(|(_, m)| *m = rename(m));
    }

    pub fn merge(&mut self, other: &SkipReport) {
        self.documents += other.documents;
        self.lines += other.lines;
        self.all.extend(other.all.iter().cloned());
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

/// The file and `line:column` a skip message starts with (`a/b.txt:3:7: invalid UTF-8` gives
/// `a/b.txt` and `3:7`; `a/b.txt: missing .conllu` gives `a/b.txt` and nothing).
fn location(message: &str) -> (&str, &str) {
    let head = message.split_once(": ").map_or(message, |(head, _)| head);
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let mut path_end = head.len();
    for _ in 0..2 {
        match head[..path_end].rsplit_once(':') {
            Some((rest, n)) if numeric(n) => path_end = rest.len(),
            _ => break,
        }
    }
    (&head[..path_end], head[path_end..].trim_start_matches(':'))
}

impl fmt::Display for SkipReport {
    /// The end-of-run summary: one block per reason.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return writeln!(f, "skipped: nothing");
        }
        writeln!(
            f,
            "skipped: {} document(s), {} line(s) (--strict makes these errors)",
            self.documents, self.lines
        )?;
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
        assert!(
            text.contains("missing .ann: 7")
                && text.contains("... and 2 more")
                && text.contains("x.ann:3"),
            "{text}"
        );
        let mut total = SkipReport::default();
        total.merge(&r);
        total.merge(&r);
        assert_eq!(total.reasons["missing .ann"].count, 14);
        assert_eq!(total.documents, 14);
        assert_eq!(total.all.len(), 16, "every skip, not only the first five per reason");
    }

    #[test]
    fn the_table_lists_every_skip_with_its_path_and_location() {
        let mut r = SkipReport::default();
        r.add(Unit::Document, "invalid UTF-8", "in/a b.txt:3:7: invalid UTF-8".into());
        r.add(Unit::Document, "missing .conllu", "in/c.txt: missing .conllu".into());
        r.add(Unit::Line, "JSONL line not JSON", "in.jsonl:12: not JSON:\tbad".into());
        let tsv = r.to_tsv();
        let rows: Vec<&str> = tsv.lines().collect();
        assert_eq!(rows[0], "path\tline:column\treason\tmessage");
        assert_eq!(rows[1], "in/a b.txt\t3:7\tinvalid UTF-8\tin/a b.txt:3:7: invalid UTF-8");
        assert_eq!(rows[2], "in/c.txt\t\tmissing .conllu\tin/c.txt: missing .conllu");
        assert_eq!(rows[3], "in.jsonl\t12\tJSONL line not JSON\tin.jsonl:12: not JSON: bad");
        assert_eq!(rows.len(), 4);
    }
}
