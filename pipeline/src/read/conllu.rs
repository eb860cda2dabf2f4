//! Reader for CoNLL-U dependency parses.
//!
//! All ten columns are read. Comments give `# newdoc id`, `# doc_id`,
//! `# sent_id` and `# text`. Multiword token lines (`1-2`) are kept as ranges
//! over their syntactic words, which share the multiword token's character
//! offsets; empty nodes (`5.1`) belong to enhanced dependencies only and are
//! counted, not turned into tokens. Character offsets come from
//! `TokenRange=START:END` in MISC (code points, end exclusive); when it is
//! missing, FORMs are aligned to the document text in order.
//!
//! Every sentence must be one well-formed tree: heads in range, exactly one
//! root, no cycle. A parse that breaks this would silently corrupt the
//! dependency graph, so it stops the run with the file and line.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::read::document::{Sentence, Token};
use crate::read::text::{read_utf8_file, ReadError, Text};

#[derive(Debug, Error)]
pub enum ConlluError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: invalid UTF-8 (byte {byte})", path.display())]
    Encoding { path: PathBuf, line: usize, column: usize, byte: usize },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}:{line}: sentence starting here is not a tree: {message}", path.display())]
    Tree { path: PathBuf, line: usize, message: String },
    #[error("{}:{line}: TokenRange={start}:{end} gives {found:?} in {} but FORM is {form:?}", path.display(), txt.display())]
    TokenRange {
        path: PathBuf,
        line: usize,
        start: usize,
        end: usize,
        found: String,
        form: String,
        txt: PathBuf,
    },
    #[error("{}:{line}: FORM {form:?} not found at character {at} of {} (text there: {context:?})", path.display(), txt.display())]
    Unaligned { path: PathBuf, line: usize, form: String, at: usize, context: String, txt: PathBuf },
    #[error("{}: {count} non-space character(s) of {} are in no token, the first at {}:{line}:{column} ({context:?}); is the parse of another text?", path.display(), txt.display(), txt.display())]
    Uncovered {
        path: PathBuf,
        txt: PathBuf,
        count: usize,
        line: usize,
        column: usize,
        context: String,
    },
}

impl ConlluError {
    /// The reason this error is counted under when its document is skipped.
    pub fn reason(&self) -> &'static str {
        match self {
            ConlluError::Io { .. } => "unreadable file",
            ConlluError::Encoding { .. } => "invalid UTF-8",
            ConlluError::Syntax { .. } => "malformed CoNLL-U line",
            ConlluError::Tree { .. } => "CoNLL-U sentence not a tree",
            ConlluError::TokenRange { .. }
            | ConlluError::Unaligned { .. }
            | ConlluError::Uncovered { .. } => "parse does not match the .txt",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub id: usize,
    pub form: String,
    pub lemma: Option<String>,
    pub upos: String,
    pub xpos: Option<String>,
    pub feats: Option<String>,
    /// 0 for the root, else the 1-based id of the head word in the sentence.
    pub head: usize,
    pub deprel: String,
    pub deps: Option<String>,
    pub misc: Option<String>,
    pub range: Option<(usize, usize)>,
    pub space_after: bool,
    /// 1-based line in the file.
    pub line: usize,
}

/// A multiword token (`3-4 don't`): one surface token over several words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multiword {
    pub first: usize,
    pub last: usize,
    pub form: String,
    pub range: Option<(usize, usize)>,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConlluSentence {
    pub sent_id: Option<String>,
    pub doc_id: Option<String>,
    pub text: Option<String>,
    pub words: Vec<Word>,
    pub multiwords: Vec<Multiword>,
    pub empty_nodes: usize,
    /// Line of the sentence's first token.
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConlluFile {
    pub newdoc_id: Option<String>,
    pub sentences: Vec<ConlluSentence>,
}

pub fn read(path: &Path) -> Result<ConlluFile, ConlluError> {
    let content = read_utf8_file(path).map_err(|e| match e {
        ReadError::Io(source) => ConlluError::Io { path: path.to_path_buf(), source },
        ReadError::Encoding { line, column, byte } => {
            ConlluError::Encoding { path: path.to_path_buf(), line, column, byte }
        }
    })?;
    parse(&content, path)
}

/// Parse CoNLL-U content; `path` is only used in errors.
pub fn parse(content: &str, path: &Path) -> Result<ConlluFile, ConlluError> {
    let mut file = ConlluFile::default();
    let mut current = ConlluSentence::default();
    for (i, raw) in content.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            finish_sentence(&mut file, &mut current, path)?;
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim();
            let value = |key: &str| {
                comment
                    .strip_prefix(key)
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix('='))
                    .map(|v| v.trim().to_string())
            };
            if let Some(v) = value("newdoc id") {
                file.newdoc_id = Some(v);
            } else if let Some(v) = value("sent_id") {
                current.sent_id = Some(v);
            } else if let Some(v) = value("doc_id") {
                current.doc_id = Some(v);
            } else if let Some(v) = value("text") {
                current.text = Some(v);
            }
            continue;
        }
        parse_token_line(line, line_no, &mut current, path)?;
    }
    finish_sentence(&mut file, &mut current, path)?;
    Ok(file)
}

fn parse_token_line(
    line: &str,
    line_no: usize,
    sent: &mut ConlluSentence,
    path: &Path,
) -> Result<(), ConlluError> {
    let cols: Vec<&str> = line.split('\t').collect();
    let column_of = |k: usize| cols[..k].iter().map(|c| c.chars().count() + 1).sum::<usize>() + 1;
    let syntax = |column: usize, message: String| ConlluError::Syntax {
        path: path.to_path_buf(),
        line: line_no,
        column,
        message,
    };
    if cols.len() != 10 {
        return Err(syntax(1, format!("expected 10 tab-separated columns, found {}", cols.len())));
    }
    if sent.words.is_empty() && sent.multiwords.is_empty() && sent.empty_nodes == 0 {
        sent.line = line_no;
    }
    let opt = |s: &str| (s != "_").then(|| s.to_string());
    let misc = opt(cols[9]);
    let (range, space_after) = parse_misc(cols[9]).map_err(|m| syntax(column_of(9), m))?;
    let id = cols[0];
    if let Some((a, b)) = id.split_once('-') {
        let (Ok(first), Ok(last)) = (a.parse::<usize>(), b.parse::<usize>()) else {
            return Err(syntax(1, format!("bad multiword token range {id:?}")));
        };
        if first == 0 || last <= first || first != sent.words.len() + 1 {
            return Err(syntax(1, format!("multiword token range {id:?} must start at the next word id ({}) and span at least two words", sent.words.len() + 1)));
        }
        sent.multiwords.push(Multiword {
            first,
            last,
            form: cols[1].to_string(),
            range,
            line: line_no,
        });
        return Ok(());
    }
    if id.contains('.') {
        if !is_empty_node_id(id) {
            return Err(syntax(1, format!("bad empty node id {id:?}")));
        }
        sent.empty_nodes += 1;
        return Ok(());
    }
    let expected = sent.words.len() + 1;
    match id.parse::<usize>() {
        Ok(n) if n == expected => {}
        _ => return Err(syntax(1, format!("word id {id:?} out of sequence: expected {expected}"))),
    }
    let head = cols[6].parse::<usize>().map_err(|_| {
        syntax(column_of(6), format!("HEAD {:?} is not a non-negative integer", cols[6]))
    })?;
    if cols[1].is_empty() {
        return Err(syntax(column_of(1), "empty FORM".into()));
    }
    if cols[7].is_empty() || cols[7] == "_" {
        return Err(syntax(column_of(7), "missing DEPREL".into()));
    }
    sent.words.push(Word {
        id: expected,
        form: cols[1].to_string(),
        lemma: opt(cols[2]),
        upos: cols[3].to_string(),
        xpos: opt(cols[4]),
        feats: opt(cols[5]),
        head,
        deprel: cols[7].to_string(),
        deps: opt(cols[8]),
        misc,
        range,
        space_after,
        line: line_no,
    });
    Ok(())
}

/// An empty node's id: `N.M`, both numbers.
fn is_empty_node_id(id: &str) -> bool {
    id.split_once('.')
        .is_some_and(|(a, b)| a.parse::<usize>().is_ok() && b.parse::<usize>().is_ok())
}

/// `TokenRange=s:e` and `SpaceAfter=No` from a MISC column.
fn parse_misc(misc: &str) -> Result<(Option<(usize, usize)>, bool), String> {
    let mut range = None;
    let mut space_after = true;
    if misc == "_" {
        return Ok((range, space_after));
    }
    for item in misc.split('|') {
        if let Some(v) = item.strip_prefix("TokenRange=") {
            let parsed = v
                .split_once(':')
                .and_then(|(s, e)| Some((s.parse::<usize>().ok()?, e.parse::<usize>().ok()?)));
            match parsed {
                Some((s, e)) if s <= e => range = Some((s, e)),
                _ => {
                    return Err(format!(
                        "bad TokenRange {v:?}: expected START:END with START <= END"
                    ))
                }
            }
        } else if item == "SpaceAfter=No" {
            space_after = false;
        }
    }
    Ok((range, space_after))
}

fn finish_sentence(
    file: &mut ConlluFile,
    sent: &mut ConlluSentence,
    path: &Path,
) -> Result<(), ConlluError> {
    let sent = std::mem::take(sent);
    if sent.words.is_empty() {
        if !sent.multiwords.is_empty() || sent.empty_nodes > 0 {
            return Err(ConlluError::Tree {
                path: path.to_path_buf(),
                line: sent.line,
                message: "no words".into(),
            });
        }
        return Ok(());
    }
    check_tree(&sent).map_err(|message| ConlluError::Tree {
        path: path.to_path_buf(),
        line: sent.line,
        message,
    })?;
    if let Some(mw) = sent.multiwords.iter().find(|m| m.last > sent.words.len()) {
        return Err(ConlluError::Syntax {
            path: path.to_path_buf(),
            line: mw.line,
            column: 1,
            message: format!(
                "multiword token {}-{} goes past the last word ({})",
                mw.first,
                mw.last,
                sent.words.len()
            ),
        });
    }
    file.sentences.push(sent);
    Ok(())
}

/// Heads in range, exactly one root, every word reaches the root.
fn check_tree(sent: &ConlluSentence) -> Result<(), String> {
    let n = sent.words.len();
    if let Some(w) = sent.words.iter().find(|w| w.head > n) {
        return Err(format!(
            "word {} (line {}) has HEAD {} but the sentence has {n} words",
            w.id, w.line, w.head
        ));
    }
    let roots: Vec<&Word> = sent.words.iter().filter(|w| w.head == 0).collect();
    match roots.len() {
        0 => return Err("no root (no word has HEAD 0)".into()),
        1 => {}
        _ => {
            return Err(format!(
                "{} roots (words {})",
                roots.len(),
                roots.iter().map(|w| w.id.to_string()).collect::<Vec<_>>().join(", ")
            ))
        }
    }
    for w in &sent.words {
        let mut at = w.id;
        for _ in 0..=n {
            at = sent.words[at - 1].head;
            if at == 0 {
                break;
            }
        }
        if at != 0 {
            return Err(format!("word {} (line {}) is on a cycle or leads into one", w.id, w.line));
        }
    }
    Ok(())
}

/// Turn parsed sentences into document tokens with character offsets into `text`.
///
/// Words inside a multiword token share its offsets. Offsets from
/// `TokenRange` must slice the text to the FORM; without `TokenRange`, each
/// surface token is looked up after the previous one, skipping whitespace.
pub fn to_tokens(
    file: &ConlluFile,
    text: &Text,
    path: &Path,
    txt: &Path,
) -> Result<(Vec<Token>, Vec<Sentence>), ConlluError> {
    let mut tokens = Vec::new();
    let mut sentences = Vec::new();
    let mut cursor = 0usize;
    for sent in &file.sentences {
        let base = tokens.len();
        // Surface units: multiword tokens and the words outside them.
        let mut w = 1;
        let mut ranges: Vec<(usize, usize)> = Vec::with_capacity(sent.words.len());
        while w <= sent.words.len() {
            let (form, range, line, count) = match sent.multiwords.iter().find(|m| m.first == w) {
                Some(m) => (&m.form, m.range, m.line, m.last - m.first + 1),
                None => {
                    let word = &sent.words[w - 1];
                    (&word.form, word.range, word.line, 1)
                }
            };
            let (start, end) = match range {
                Some((start, end)) => {
                    let found = text.slice(start, end).unwrap_or("");
                    if found != form {
                        return Err(ConlluError::TokenRange {
                            path: path.to_path_buf(),
                            line,
                            start,
                            end,
                            found: found.to_string(),
                            form: form.clone(),
                            txt: txt.to_path_buf(),
                        });
                    }
                    (start, end)
                }
                None => align_form(text, cursor, form).ok_or_else(|| ConlluError::Unaligned {
                    path: path.to_path_buf(),
                    line,
                    form: form.clone(),
                    at: cursor,
                    context: context(text, cursor),
                    txt: txt.to_path_buf(),
                })?,
            };
            cursor = end;
            ranges.extend(std::iter::repeat_n((start, end), count));
            w += count;
        }
        for (word, (start, end)) in sent.words.iter().zip(ranges) {
            tokens.push(Token {
                form: word.form.clone(),
                lemma: word.lemma.clone(),
                upos: word.upos.clone(),
                xpos: word.xpos.clone(),
                deprel: word.deprel.clone(),
                head: (word.head > 0).then(|| base + word.head - 1),
                raw_head: None,
                start,
                end,
            });
        }
        sentences.push(Sentence { id: sent.sent_id.clone(), start: base, end: tokens.len() });
    }
    check_coverage(&tokens, text, path, txt)?;
    Ok((tokens, sentences))
}

/// Every non-space character of the text must lie in a token: text outside
/// all tokens means the parse belongs to another (or an edited) text, and its
/// entities there could never be labelled.
fn check_coverage(
    tokens: &[Token],
    text: &Text,
    path: &Path,
    txt: &Path,
) -> Result<(), ConlluError> {
    let n = text.len_chars();
    let mut covered = vec![false; n];
    for t in tokens {
        covered[t.start.min(t.end).min(n)..t.end.min(n)].iter_mut().for_each(|c| *c = true);
    }
    let mut first = None;
    let mut count = 0;
    for (i, (c, &cov)) in text.as_str().chars().zip(&covered).enumerate() {
        if !cov && !crate::read::text::is_blank_at(i, c) {
            count += 1;
            first.get_or_insert(i);
        }
    }
    match first {
        None => Ok(()),
        Some(at) => {
            let byte = text.as_str().char_indices().nth(at).map_or(0, |(b, _)| b);
            let (line, column) = crate::read::text::line_col(text.as_str(), byte);
            Err(ConlluError::Uncovered {
                path: path.to_path_buf(),
                txt: txt.to_path_buf(),
                count,
                line,
                column,
                context: context(text, at),
            })
        }
    }
}

/// Find `form` at `cursor` after skipping whitespace.
fn align_form(text: &Text, cursor: usize, form: &str) -> Option<(usize, usize)> {
    let mut at = cursor;
    while text.char_at(at).is_some_and(|c| crate::read::text::is_blank_at(at, c)) {
        at += 1;
    }
    let len = form.chars().count();
    (text.slice(at, at + len) == Some(form)).then_some((at, at + len))
}

fn context(text: &Text, at: usize) -> String {
    let end = (at + 20).min(text.len_chars());
    text.slice(at.min(end), end).unwrap_or("").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "t.conllu";

    fn row(id: &str, form: &str, head: &str, deprel: &str, misc: &str) -> String {
        format!("{id}\t{form}\t_\tNOUN\t_\t_\t{head}\t{deprel}\t_\t{misc}\n")
    }

    #[test]
    fn reads_columns_comments_and_offsets() {
        let src = format!(
            "# newdoc id = d1\n# doc_id = d1\n# sent_id = d1-1\n# text = Fe rich\n{}{}\n",
            row("1", "Fe", "2", "compound", "TokenRange=0:2"),
            row("2", "rich", "0", "ROOT", "SpaceAfter=No|TokenRange=3:7"),
        );
        let f = parse(&src, Path::new(P)).unwrap();
        assert_eq!(f.newdoc_id.as_deref(), Some("d1"));
        let s = &f.sentences[0];
        assert_eq!(s.sent_id.as_deref(), Some("d1-1"));
        assert_eq!(s.text.as_deref(), Some("Fe rich"));
        assert_eq!(s.words[1].range, Some((3, 7)));
        assert!(!s.words[1].space_after);
        assert_eq!(s.words[0].head, 2);
        let (tokens, sents) =
            to_tokens(&f, &Text::new("Fe rich".into()), Path::new(P), Path::new("t.txt")).unwrap();
        assert_eq!(tokens[0].head, Some(1));
        assert_eq!(tokens[1].head, None);
        assert_eq!(sents[0].range(), 0..2);
    }

    #[test]
    fn multiword_tokens_share_offsets_and_empty_nodes_are_counted() {
        let src = format!(
            "{}{}{}{}{}",
            "1-2\tdel\t_\t_\t_\t_\t_\t_\t_\tTokenRange=0:3\n",
            row("1", "de", "3", "case", "_"),
            row("2", "el", "3", "det", "_"),
            row("3", "río", "0", "root", "TokenRange=4:7"),
            "3.1\tes\t_\t_\t_\t_\t_\t_\t0:root\t_\n",
        );
        let f = parse(&src, Path::new(P)).unwrap();
        assert_eq!(f.sentences[0].multiwords.len(), 1);
        assert_eq!(f.sentences[0].empty_nodes, 1);
        let (tokens, _) =
            to_tokens(&f, &Text::new("del río".into()), Path::new(P), Path::new("t.txt")).unwrap();
        assert_eq!((tokens[0].start, tokens[0].end), (0, 3));
        assert_eq!((tokens[1].start, tokens[1].end), (0, 3));
        assert_eq!((tokens[2].start, tokens[2].end), (4, 7));
    }

    #[test]
    fn aligns_forms_without_token_range() {
        let src = format!(
            "{}{}\n{}",
            row("1", "Schröder", "2", "nsubj", "_"),
            row("2", "saw", "0", "root", "_"),
            row("1", "Fe", "0", "root", "_")
        );
        let f = parse(&src, Path::new(P)).unwrap();
        let text = Text::new("  Schröder saw\n\nFe".into());
        let (tokens, sents) = to_tokens(&f, &text, Path::new(P), Path::new("t.txt")).unwrap();
        assert_eq!((tokens[0].start, tokens[0].end), (2, 10));
        assert_eq!((tokens[2].start, tokens[2].end), (16, 18));
        assert_eq!(sents.len(), 2);
        let err =
            to_tokens(&f, &Text::new("Schroder saw Fe".into()), Path::new(P), Path::new("t.txt"))
                .unwrap_err();
        assert!(matches!(err, ConlluError::Unaligned { line: 1, .. }), "{err}");
    }

    #[test]
    fn token_range_must_match_form() {
        let src = row("1", "Fe", "0", "root", "TokenRange=1:3");
        let f = parse(&src, Path::new(P)).unwrap();
        let err = to_tokens(&f, &Text::new("Fe and".into()), Path::new(P), Path::new("t.txt"))
            .unwrap_err();
        assert!(matches!(err, ConlluError::TokenRange { line: 1, .. }), "{err}");
    }

    #[test]
    fn rejects_bad_columns_heads_cycles_and_roots() {
        let err = parse("1\tFe\t_\tNOUN\t0\troot\n", Path::new(P)).unwrap_err().to_string();
        assert!(err.contains("t.conllu:1:1: expected 10 tab-separated columns, found 6"), "{err}");
        let err = parse(&row("1", "Fe", "x", "root", "_"), Path::new(P)).unwrap_err().to_string();
        assert!(err.starts_with("t.conllu:1:17: HEAD \"x\""), "{err}");
        let err = parse(
            &format!("{}{}", row("1", "a", "0", "root", "_"), row("2", "b", "5", "dep", "_")),
            Path::new(P),
        )
        .unwrap_err();
        assert!(err.to_string().contains("HEAD 5"), "{err}");
        let err = parse(
            &format!("{}{}", row("1", "a", "2", "dep", "_"), row("2", "b", "1", "dep", "_")),
            Path::new(P),
        )
        .unwrap_err();
        assert!(err.to_string().contains("no root"), "{err}");
        let src = format!(
            "{}{}{}",
            row("1", "a", "0", "root", "_"),
            row("2", "b", "3", "dep", "_"),
            row("3", "c", "2", "dep", "_")
        );
        assert!(parse(&src, Path::new(P)).unwrap_err().to_string().contains("cycle"));
        let src = format!("{}{}", row("1", "a", "0", "root", "_"), row("2", "b", "0", "root", "_"));
        assert!(parse(&src, Path::new(P)).unwrap_err().to_string().contains("2 roots"));
        let src = format!("{}{}", row("1", "a", "0", "root", "_"), row("3", "b", "1", "dep", "_"));
        assert!(parse(&src, Path::new(P)).unwrap_err().to_string().contains("out of sequence"));
    }

    #[test]
    fn crlf_and_bom() {
        let src = format!(
            "\u{feff}# text = Fe\r\n{}",
            row("1", "Fe", "0", "root", "TokenRange=0:2").replace('\n', "\r\n")
        );
        let dir = std::env::temp_dir().join(format!("enrelg-conllu-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.conllu"), src).unwrap();
        let f = read(&dir.join("a.conllu")).unwrap();
        assert_eq!(f.sentences[0].words[0].range, Some((0, 2)));
        assert_eq!(f.sentences[0].words[0].misc.as_deref(), Some("TokenRange=0:2"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_outside_every_token_is_an_error() {
        // The parse of "Fe rich" against a text that goes on: the rest is uncovered.
        let src = format!(
            "{}{}",
            row("1", "Fe", "2", "compound", "TokenRange=0:2"),
            row("2", "rich", "0", "root", "TokenRange=3:7")
        );
        let f = parse(&src, Path::new(P)).unwrap();
        let err = to_tokens(
            &f,
            &Text::new("Fe rich\nand Mg-poor.".into()),
            Path::new(P),
            Path::new("t.txt"),
        )
        .unwrap_err();
        assert!(
            matches!(err, ConlluError::Uncovered { count: 11, line: 2, column: 1, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("t.txt:2:1"), "{err}");
        // An empty parse of an empty (or blank) text is fine: no tokens.
        let empty = parse("", Path::new(P)).unwrap();
        assert!(to_tokens(&empty, &Text::new(" \n".into()), Path::new(P), Path::new("t.txt"))
            .unwrap()
            .0
            .is_empty());
        assert!(
            to_tokens(&empty, &Text::new("Fe".into()), Path::new(P), Path::new("t.txt")).is_err()
        );
    }

    #[test]
    fn negative_heads_and_bad_ids_are_syntax_errors() {
        let err = parse(&row("1", "Fe", "-1", "root", "_"), Path::new(P)).unwrap_err();
        assert!(matches!(err, ConlluError::Syntax { line: 1, .. }), "{err}");
        let err = parse(&row("1", "Fe", "0", "_", "_"), Path::new(P)).unwrap_err();
        assert!(err.to_string().contains("missing DEPREL"), "{err}");
        let err = parse("x-y\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n", Path::new(P)).unwrap_err();
        assert!(err.to_string().contains("bad multiword token range"), "{err}");
        let err = parse("1.x\tes\t_\t_\t_\t_\t_\t_\t_\t_\n", Path::new(P)).unwrap_err();
        assert!(err.to_string().contains("bad empty node id"), "{err}");
        let err = parse(&row("1", "Fe", "0", "root", "TokenRange=5:2"), Path::new(P)).unwrap_err();
        assert!(err.to_string().contains("bad TokenRange"), "{err}");
        // A multiword token over words that never come.
        let err = parse(
            &format!("1-3\tdel\t_\t_\t_\t_\t_\t_\t_\t_\n{}", row("1", "de", "0", "root", "_")),
            Path::new(P),
        )
        .unwrap_err();
        assert!(err.to_string().contains("goes past the last word"), "{err}");
    }

    #[test]
    fn invalid_utf8_in_a_parse_is_located() {
        let dir = std::env::temp_dir().join(format!("enrelg-conllu-latin1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("a.conllu"),
            b"# text = ok\n1\tFa\xefr\t_\tX\t_\t_\t0\troot\t_\t_\n",
        )
        .unwrap();
        let err = read(&dir.join("a.conllu")).unwrap_err();
        assert!(matches!(err, ConlluError::Encoding { line: 2, column: 5, .. }), "{err}");
        let err = read(&dir.join("missing.conllu")).unwrap_err();
        assert!(matches!(err, ConlluError::Io { .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
