//! Reader for the EnRel-G token-level release (`TOKEN LABEL POS DEP HEAD`).
//!
//! One token per line, five space-separated columns; `-DOCSTART-` opens a
//! document and blank lines separate segments. We read it to compare our
//! corpora with the paper's exact tokens and labels. The HEAD column is kept
//! raw in [`Token::raw_head`] and never used as a tree: it indexes token
//! positions in the unit the parser saw (a whole Mars document including
//! whitespace tokens; an AnatEM sentence unit), not the segment. Dependency
//! trees come from CoNLL-U.
//!
//! Each document becomes a [`Document`] whose text is its tokens joined by
//! single spaces, one segment per line, and whose entities are the BIO
//! chunks read with conlleval's rules.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use enrelg_schemas::chunks;
use thiserror::Error;

use crate::read::document::{Document, Entity, Sentence, Token};
use crate::read::text::{read_utf8_file, ReadError, Text};

#[derive(Debug, Error)]
pub enum EnrelgError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: invalid UTF-8 (byte {byte})", path.display())]
    Encoding { path: PathBuf, line: usize, column: usize, byte: usize },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
}

/// A release file: its documents, plus what only this format can tell.
#[derive(Debug, Clone)]
pub struct EnrelgFile {
    pub documents: Vec<Document>,
    /// Blank-line segments over all documents.
    pub segments: usize,
    /// Tokens whose DEP is `ROOT`: one per parse tree.
    pub root_tokens: usize,
    /// `I-` tags that start a chunk (conlleval accepts them).
    pub bio_violations: usize,
}

pub fn read(path: &Path, id_prefix: &str) -> Result<EnrelgFile, EnrelgError> {
    let content = read_utf8_file(path).map_err(|e| match e {
        ReadError::Io(source) => EnrelgError::Io { path: path.to_path_buf(), source },
        ReadError::Encoding { line, column, byte } => {
            EnrelgError::Encoding { path: path.to_path_buf(), line, column, byte }
        }
    })?;
    parse(&content, path, id_prefix)
}

struct Row<'a> {
    form: &'a str,
    label: &'a str,
    pos: &'a str,
    dep: &'a str,
    head: i64,
}

/// Parse release content; documents are named `{id_prefix}-0001`, ... in file order.
pub fn parse(content: &str, path: &Path, id_prefix: &str) -> Result<EnrelgFile, EnrelgError> {
    let mut out =
        EnrelgFile { documents: Vec::new(), segments: 0, root_tokens: 0, bio_violations: 0 };
    // Documents as lists of segments of rows.
    let mut docs: Vec<Vec<Vec<Row>>> = Vec::new();
    let mut open_doc = false;
    for (i, raw) in content.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            if let Some(doc) = docs.last_mut() {
                if doc.last().is_some_and(|s| !s.is_empty()) {
                    doc.push(Vec::new());
                }
            }
            continue;
        }
        let cols: Vec<&str> = line.split(' ').collect();
        let syntax = |k: usize, message: String| EnrelgError::Syntax {
            path: path.to_path_buf(),
            line: line_no,
            column: cols[..k.min(cols.len())].iter().map(|c| c.chars().count() + 1).sum::<usize>()
                + 1,
            message,
        };
        if cols[0] == "-DOCSTART-" {
            docs.push(vec![Vec::new()]);
            open_doc = true;
            continue;
        }
        if cols.len() != 5 {
            return Err(syntax(
                0,
                format!(
                    "expected 5 space-separated columns (TOKEN LABEL POS DEP HEAD), found {}",
                    cols.len()
                ),
            ));
        }
        if let Some(k) = cols.iter().position(|c| c.is_empty()) {
            // An empty TOKEN would become an empty span in the text (found by fuzzing).
            return Err(syntax(
                k,
                format!("empty column {} (a leading, trailing or double space)", k + 1),
            ));
        }
        if !open_doc {
            return Err(syntax(0, "token before the first -DOCSTART- line".into()));
        }
        let label = cols[1];
        let label_ok = label == "O"
            || label
                .strip_prefix("B-")
                .or_else(|| label.strip_prefix("I-"))
                .is_some_and(|t| !t.is_empty());
        if !label_ok {
            return Err(syntax(1, format!("bad label {label:?}: expected O, B-TYPE or I-TYPE")));
        }
        let head = cols[4]
            .parse::<i64>()
            .map_err(|_| syntax(4, format!("HEAD {:?} is not an integer", cols[4])))?;
        let row = Row { form: cols[0], label, pos: cols[2], dep: cols[3], head };
        if let Some(seg) = docs.last_mut().and_then(|d| d.last_mut()) {
            seg.push(row);
        }
    }
    for (n, mut segments) in docs.into_iter().enumerate() {
        segments.retain(|s| !s.is_empty());
        out.segments += segments.len();
        let doc = build_document(format!("{id_prefix}-{:04}", n + 1), &segments, &mut out);
        out.documents.push(doc);
    }
    Ok(out)
}

fn build_document(id: String, segments: &[Vec<Row>], out: &mut EnrelgFile) -> Document {
    let mut text = String::new();
    let mut chars = 0usize;
    let mut tokens = Vec::new();
    let mut sentences = Vec::new();
    for seg in segments {
        let first = tokens.len();
        for (k, row) in seg.iter().enumerate() {
            if k > 0 {
                text.push(' ');
                chars += 1;
            }
            let len = row.form.chars().count();
            text.push_str(row.form);
            tokens.push(Token {
                form: row.form.to_string(),
                lemma: None,
                upos: row.pos.to_string(),
                xpos: None,
                deprel: row.dep.to_string(),
                head: None,
                raw_head: Some(row.head),
                start: chars,
                end: chars + len,
            });
            chars += len;
            if row.dep == "ROOT" {
                out.root_tokens += 1;
            }
        }
        text.push('\n');
        chars += 1;
        sentences.push(Sentence { id: None, start: first, end: tokens.len() });
    }
    // Chunks are read over the whole document, as the release's own counts
    // are: a parse tree (and an entity) may run across a segment break, and
    // its I- tags continue the chunk rather than start one.
    let labels: Vec<&str> = segments.iter().flatten().map(|r| r.label).collect();
    let report = chunks(&labels);
    out.bio_violations += report.violations;
    let entities: Vec<Entity> = report
        .chunks
        .into_iter()
        .enumerate()
        .map(|(i, c)| Entity {
            id: format!("T{}", i + 1),
            ty: c.ty,
            spans: vec![(tokens[c.start].start, tokens[c.end - 1].end)],
            line: 0,
        })
        .collect();
    let annotation_lines = BTreeMap::from([("T".to_string(), entities.len())]);
    // The release has no relations: its rows are tokens and BIO tags.
    Document {
        id,
        text: Text::new(text),
        tokens,
        sentences,
        entities,
        relations: Vec::new(),
        annotation_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "-DOCSTART- O X X X\nThe O DET det 3\niron B-Element NOUN compound 3\noxides I-Element NOUN ROOT 3\n\nSchröder B-Target PROPN ROOT 7\n\n-DOCSTART- O X X X\nstray I-Mineral NOUN ROOT 0\n\nno O X X 0\n\n-DOCSTART- O X X X\nLate B-Cell X X 0\n\nsplit I-Cell X X 0\n";

    #[test]
    fn reads_documents_segments_and_chunks() {
        let f = parse(SAMPLE, Path::new("train.conll"), "train").unwrap();
        assert_eq!(f.documents.len(), 3);
        assert_eq!(f.segments, 6);
        assert_eq!(f.root_tokens, 3);
        assert_eq!(f.bio_violations, 1);
        let d = &f.documents[0];
        assert_eq!(d.id, "train-0001");
        assert_eq!(d.text.as_str(), "The iron oxides\nSchröder\n");
        assert_eq!(d.sentences.len(), 2);
        assert_eq!(d.entities[0].spans, vec![(4, 15)]);
        assert_eq!(d.text.slice(16, 24), Some("Schröder"));
        assert_eq!(d.entities[1].spans, vec![(16, 24)]);
        // HEAD is kept raw and never turned into a tree.
        assert_eq!(d.tokens[3].raw_head, Some(7));
        assert!(d.tokens.iter().all(|t| t.head.is_none()));
        // A chunk continues across a segment break, as in the release's own counts.
        let d = &f.documents[2];
        assert_eq!(d.text.as_str(), "Late\nsplit\n");
        assert_eq!(d.entities.len(), 1);
        assert_eq!(d.entities[0].spans, vec![(0, 10)]);
    }

    #[test]
    fn rejects_bad_rows() {
        let err = parse("-DOCSTART- O X X X\niron B-Element NOUN\n", Path::new("x.conll"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.conll:2:1: expected 5"), "{err}");
        let err = parse("-DOCSTART- O X X X\niron Element NOUN dep 1\n", Path::new("x.conll"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.conll:2:6: bad label"), "{err}");
        let err = parse("-DOCSTART- O X X X\niron O NOUN dep x\n", Path::new("x.conll"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.conll:2:17: HEAD"), "{err}");
        let err = parse("iron O NOUN dep 1\n", Path::new("x.conll"), "x").unwrap_err().to_string();
        assert!(err.contains("before the first -DOCSTART-"), "{err}");
        // An empty token (leading space) would be an empty entity span: fuzzing found it.
        let err = parse("-DOCSTART- O X X X\n I-O PAR case 234\n", Path::new("x.conll"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.conll:2:1: empty column 1"), "{err}");
        let err = parse("-DOCSTART- O X X X\niron  O NOUN dep\n", Path::new("x.conll"), "x")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.conll:2:6: empty column 2"), "{err}");
    }
}
