//! BIO sequences to entity chunks, with the chunk rules of conlleval.
//!
//! conlleval (the CoNLL-2000 evaluation script) starts a chunk at every `B-`,
//! and also at an `I-` that follows `O` or a tag of another type; a chunk
//! ends before `O`, `B-` or a tag of another type. Reading tags this way is
//! what makes our entity counts and scores comparable with published ones.

use serde::Serialize;

/// One entity: tokens `start..end` (end exclusive) of type `ty`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Chunk {
    pub start: usize,
    pub end: usize,
    pub ty: String,
}

/// Chunks plus the number of `I-` tags that started a chunk (a BIO
/// violation: conlleval accepts them, but they usually signal a data bug).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkReport {
    pub chunks: Vec<Chunk>,
    pub violations: usize,
}

/// Split a tag into (prefix, type) as conlleval does: `B-X` -> ("B", "X"),
/// `O` -> ("O", ""), and a tag without a dash keeps an empty type.
fn split(tag: &str) -> (&str, &str) {
    tag.split_once('-').unwrap_or((tag, ""))
}

/// Extract chunks from one sequence of BIO tags (one sentence or document).
pub fn chunks<S: AsRef<str>>(tags: &[S]) -> ChunkReport {
    let mut report = ChunkReport::default();
    let mut open: Option<(usize, &str)> = None;
    let mut prev = ("O", "");
    for (i, tag) in tags.iter().enumerate() {
        let (prefix, ty) = split(tag.as_ref());
        let starts = match prefix {
            "B" | "S" => true,
            "O" => false,
            _ => prev.0 == "O" || prev.0 == "E" || prev.0 == "S" || prev.1 != ty,
        };
        let ends = prefix == "O" || starts;
        if ends {
            if let Some((s, t)) = open.take() {
                report.chunks.push(Chunk { start: s, end: i, ty: t.to_string() });
            }
        }
        if starts {
            if prefix == "I" {
                report.violations += 1;
            }
            open = Some((i, ty));
        }
        prev = (prefix, ty);
    }
    if let Some((s, t)) = open {
        report.chunks.push(Chunk { start: s, end: tags.len(), ty: t.to_string() });
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(start: usize, end: usize, ty: &str) -> Chunk {
        Chunk { start, end, ty: ty.into() }
    }

    #[test]
    fn plain_bio() {
        let r = chunks(&["B-A", "I-A", "O", "B-B", "B-B", "I-B"]);
        assert_eq!(r.chunks, vec![c(0, 2, "A"), c(3, 4, "B"), c(4, 6, "B")]);
        assert_eq!(r.violations, 0);
    }

    #[test]
    fn conlleval_starts_chunks_at_stray_i_tags() {
        // I- after O, I- after another type, and I- at the start all open chunks.
        let r = chunks(&["I-A", "O", "I-A", "I-B", "I-B", "B-A", "I-A"]);
        assert_eq!(r.chunks, vec![c(0, 1, "A"), c(2, 3, "A"), c(3, 5, "B"), c(5, 7, "A")]);
        assert_eq!(r.violations, 3);
    }

    #[test]
    fn empty_and_all_outside() {
        assert!(chunks::<&str>(&[]).chunks.is_empty());
        assert!(chunks(&["O", "O"]).chunks.is_empty());
    }
}
