//! Loading a corpus folder: brat standoff joined with its CoNLL-U parses.
//!
//! Layout (that of `shared/data/mars` and `shared/data/anatem`):
//! `standoff/SPLIT/NAME.txt`, `standoff/SPLIT/NAME.ann`,
//! `conllu/SPLIT/NAME.conllu`. Every `.txt` needs its `.ann` and its
//! `.conllu`, and every `.ann` and `.conllu` its `.txt`: a file without its
//! partner leaves its document out, counted in the split's [`SkipReport`]
//! (an error with `strict`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::read::brat::{self, BratError};
use crate::read::conllu::{self, ConlluError};
use crate::read::document::Document;
use crate::read::enrelg_conll::{self, EnrelgError, EnrelgFile};
use crate::read::text::Text;
use crate::read::tree::{Depth, Links};
use crate::skips::{SkipReport, Unit};

#[derive(Debug, Error)]
pub enum CorpusError {
    #[error(transparent)]
    Brat(#[from] BratError),
    #[error(transparent)]
    Conllu(#[from] ConlluError),
    #[error(transparent)]
    Enrelg(#[from] EnrelgError),
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {what}", path.display())]
    Layout { path: PathBuf, what: String },
    #[error("{}: {what} (document {stem} cannot be built)", path.display())]
    Missing { path: PathBuf, what: String, stem: String },
    #[error("{}: no tokens (empty text)", path.display())]
    Empty { path: PathBuf },
}

impl CorpusError {
    /// The reason a skipped document is counted under.
    pub fn reason(&self) -> String {
        match self {
            CorpusError::Brat(e) => e.reason().to_string(),
            CorpusError::Conllu(e) => e.reason().to_string(),
            CorpusError::Enrelg(_) => "malformed EnRel-G file".into(),
            CorpusError::Io { .. } => "unreadable file".into(),
            CorpusError::Layout { .. } => "corpus layout".into(),
            CorpusError::Missing { what, .. } => what.clone(),
            CorpusError::Empty { .. } => "document without tokens".into(),
        }
    }

    /// Whether the error concerns one document's files (skipped by default)
    /// rather than the corpus as a whole (always stops the run).
    pub fn is_document_problem(&self) -> bool {
        match self {
            CorpusError::Brat(_)
            | CorpusError::Conllu(_)
            | CorpusError::Missing { .. }
            | CorpusError::Empty { .. } => true,
            CorpusError::Enrelg(_) | CorpusError::Io { .. } | CorpusError::Layout { .. } => false,
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io { path: path.to_path_buf(), source }
}

/// Canonical split order: train, dev/devel, test, then any others by name.
pub fn split_rank(name: &str) -> (usize, String) {
    let rank = match split_role(name) {
        Some("train") => 0,
        Some("dev") => 1,
        Some("test") => 2,
        _ => 3,
    };
    (rank, name.to_string())
}

/// The role of a split folder name: `train`, `dev` (also `devel`, `valid`,
/// `validation`) or `test`; None for any other name.
pub fn split_role(name: &str) -> Option<&'static str> {
    match name {
        "train" => Some("train"),
        "dev" | "devel" | "valid" | "validation" => Some("dev"),
        "test" => Some("test"),
        _ => None,
    }
}

/// Split names under `DIR/standoff`, in canonical order.
pub fn splits(dir: &Path) -> Result<Vec<String>, CorpusError> {
    let standoff = dir.join("standoff");
    let mut names: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(&standoff).map_err(io(&standoff))? {
        let entry = entry.map_err(io(&standoff))?;
        if entry.file_type().map_err(io(&standoff))?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    if names.is_empty() {
        return Err(CorpusError::Layout {
            path: standoff,
            what: "no split folders (expected standoff/SPLIT/*.txt)".into(),
        });
    }
    names.sort_by_key(|n| split_rank(n));
    Ok(names)
}

/// File stems with the given extension in a split folder, sorted, by the
/// input rules of [`crate::read::tree`] (regular files only, links followed). What
/// is passed over goes into `skipped` (a document for `.txt`, an entry for
/// its partners, which the missing partner counts); with `strict` it is the
/// error instead.
fn stems(
    dir: &Path,
    ext: &str,
    strict: bool,
    skipped: &mut SkipReport,
) -> Result<BTreeSet<String>, CorpusError> {
    let tree = crate::read::tree::walk(dir, ext, Depth::Flat, Links::Follow)
        .map_err(|e| CorpusError::Io { path: e.path, source: e.source })?;
    let mut passed = tree.skipped;
    let mut out = BTreeSet::new();
    for rel in &tree.files {
        match rel.file_stem().and_then(|s| s.to_str()) {
            Some(stem) => {
                out.insert(stem.to_string());
            }
            None => passed.push((
                Unit::Document,
                "file name not UTF-8",
                format!("{}: a document id must be UTF-8", dir.join(rel).display()),
            )),
        }
    }
    for (unit, reason, message) in passed {
        if strict {
            return Err(CorpusError::Layout { path: dir.to_path_buf(), what: message });
        }
        skipped.add(if ext == "txt" { unit } else { Unit::Entry }, reason, message);
    }
    Ok(out)
}

/// The documents of one split that could be read, and what was skipped.
#[derive(Debug, Default)]
pub struct LoadedSplit {
    pub documents: Vec<Document>,
    pub skipped: SkipReport,
}

/// The documents of one split, sorted by id, read in parallel.
///
/// A document with a missing or broken file is skipped and counted (see
/// [`crate::skips`]); with `strict`, the first such problem (in file name
/// order) is returned as the error instead.
pub fn load_split(dir: &Path, split: &str, strict: bool) -> Result<LoadedSplit, CorpusError> {
    let standoff = dir.join("standoff").join(split);
    let parses = dir.join("conllu").join(split);
    let mut skipped = SkipReport::default();
    let txt = stems(&standoff, "txt", strict, &mut skipped)?;
    let ann = stems(&standoff, "ann", strict, &mut skipped)?;
    if !parses.is_dir() {
        return Err(CorpusError::Layout {
            path: parses,
            what: "no such folder: every split needs its CoNLL-U parses (make parses CORPUS=...)"
                .into(),
        });
    }
    let conllu = stems(&parses, "conllu", strict, &mut skipped)?;
    if txt.is_empty() {
        return Err(CorpusError::Layout { path: standoff, what: "no .txt files".into() });
    }
    let orphans = orphans(&standoff, &parses, &txt, &ann, &conllu);
    let complete: Vec<&String> =
        txt.iter().filter(|s| ann.contains(*s) && conllu.contains(*s)).collect();
    let read: Vec<(&String, DocumentResult)> = complete
        .par_iter()
        .map(|stem| {
            (
                *stem,
                load_document(
                    &standoff.join(format!("{stem}.txt")),
                    &standoff.join(format!("{stem}.ann")),
                    &parses.join(format!("{stem}.conllu")),
                ),
            )
        })
        .collect();
    // In file name order, so that reports and the strict error do not depend on thread timing.
    let mut outcomes: Vec<(&String, DocumentResult)> =
        orphans.into_iter().map(|(s, e)| (s, Err(e))).chain(read).collect();
    outcomes.sort_by(|a, b| a.0.cmp(b.0));
    let mut documents = Vec::with_capacity(outcomes.len());
    for (_, outcome) in outcomes {
        match outcome {
            Ok((doc, lines)) => {
                for e in lines {
                    if strict {
                        return Err(e.into());
                    }
                    skipped.add(Unit::Line, e.reason(), e.to_string());
                }
                documents.push(doc);
            }
            Err(e) if strict || !e.is_document_problem() => return Err(e),
            Err(e) => skipped.add(Unit::Document, &e.reason(), e.to_string()),
        }
    }
    Ok(LoadedSplit { documents, skipped })
}

/// Files without their partner, by stem: the document cannot be built.
fn orphans<'a>(
    standoff: &Path,
    parses: &Path,
    txt: &'a BTreeSet<String>,
    ann: &'a BTreeSet<String>,
    conllu: &'a BTreeSet<String>,
) -> Vec<(&'a String, CorpusError)> {
    let missing = |stem: &str, path: PathBuf, what: &str| CorpusError::Missing {
        path,
        what: what.to_string(),
        stem: stem.to_string(),
    };
    let mut orphans: Vec<(&String, CorpusError)> = Vec::new();
    for stem in txt {
        if !ann.contains(stem) {
            orphans
                .push((stem, missing(stem, standoff.join(format!("{stem}.ann")), "missing .ann")));
        } else if !conllu.contains(stem) {
            orphans.push((
                stem,
                missing(stem, parses.join(format!("{stem}.conllu")), "missing .conllu"),
            ));
        }
    }
    for stem in ann.difference(txt) {
        orphans
            .push((stem, missing(stem, standoff.join(format!("{stem}.ann")), ".ann without .txt")));
    }
    for stem in conllu.difference(txt) {
        orphans.push((
            stem,
            missing(stem, parses.join(format!("{stem}.conllu")), ".conllu without .txt"),
        ));
    }
    orphans
}

/// A document with the `.ann` lines left out of it, or why it cannot be read.
pub type DocumentResult = Result<(Document, Vec<BratError>), CorpusError>;

/// One document from its `.txt`, `.ann` and `.conllu`, with the `.ann` lines
/// of an unknown kind that were left out.
pub fn load_document(txt: &Path, ann: &Path, parse: &Path) -> DocumentResult {
    let standoff = brat::read(txt, ann)?;
    let parsed = conllu::read(parse)?;
    let (tokens, sentences) = conllu::to_tokens(&parsed, &standoff.text, parse, txt)?;
    if tokens.is_empty() {
        return Err(CorpusError::Empty { path: txt.to_path_buf() });
    }
    let doc = Document {
        id: standoff.id,
        text: standoff.text,
        tokens,
        sentences,
        entities: standoff.entities,
        relations: standoff.relations,
        annotation_lines: standoff.annotation_lines,
    };
    Ok((doc, standoff.skipped))
}

/// A document to tag: its `.txt` and `.conllu`, no annotations. A missing
/// parse is [`CorpusError::Missing`], a document problem like any other.
pub fn load_unannotated(txt: &Path, parse: &Path) -> Result<Document, CorpusError> {
    if !parse.exists() {
        let stem = txt.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        return Err(CorpusError::Missing {
            path: parse.to_path_buf(),
            what: "missing .conllu".into(),
            stem,
        });
    }
    let text = brat::read_text(txt)?;
    let parsed = conllu::read(parse)?;
    let id = txt.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    unannotated_from(id, text, &parsed, parse, txt)
}

/// A document to tag from its text and CoNLL-U parse held in memory (the
/// Python package parses in-process); `origin` names it in errors. The same
/// document as [`load_unannotated`] reads from files holding the same bytes.
pub fn unannotated(
    id: String,
    text: String,
    conllu: &str,
    origin: &Path,
) -> Result<Document, CorpusError> {
    let parsed = conllu::parse(conllu, origin)?;
    unannotated_from(id, Text::new(text), &parsed, origin, origin)
}

fn unannotated_from(
    id: String,
    text: Text,
    parsed: &conllu::ConlluFile,
    parse: &Path,
    txt: &Path,
) -> Result<Document, CorpusError> {
    let (tokens, sentences) = conllu::to_tokens(parsed, &text, parse, txt)?;
    Ok(Document {
        id,
        text,
        tokens,
        sentences,
        entities: Vec::new(),
        relations: Vec::new(),
        annotation_lines: Default::default(),
    })
}

/// The `*.conll` files of an EnRel-G release folder as (split, file), in
/// canonical split order; the split is the file name up to its first dot.
pub fn load_enrelg_dir(dir: &Path) -> Result<Vec<(String, EnrelgFile)>, CorpusError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "conll") {
            let name =
                path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let split = name.split('.').next().unwrap_or_default().to_string();
            files.push((split, path));
        }
    }
    if files.is_empty() {
        return Err(CorpusError::Layout {
            path: dir.to_path_buf(),
            what: "no *.conll files".into(),
        });
    }
    files.sort_by_key(|(s, _)| split_rank(s));
    files
        .into_par_iter()
        .map(|(split, path)| Ok((split.clone(), enrelg_conll::read(&path, &split)?)))
        .collect()
}

/// The folders of a standoff corpus that hold its data (`standoff/`, `conllu/`).
pub const DATA_FOLDERS: [&str; 2] = ["standoff", "conllu"];

/// SHA-256 over the data of a standoff corpus: every file under its
/// [`DATA_FOLDERS`] (paths relative to `dir`), so that our own files kept
/// beside the corpus (`datasets/mars/manifest.json`, the expected
/// statistics) never change the hash of the data they describe.
pub fn corpus_sha256(dir: &Path) -> Result<String, CorpusError> {
    hash_files(dir, DATA_FOLDERS.iter().map(|f| dir.join(f)).filter(|p| p.is_dir()).collect())
}

/// SHA-256 over every file under `dir` (relative path and content, sorted by
/// path), so that statistics name the exact input they were computed from.
pub fn tree_sha256(dir: &Path) -> Result<String, CorpusError> {
    hash_files(dir, vec![dir.to_path_buf()])
}

/// SHA-256 over the files under `roots`, each named by its path relative to `dir`.
fn hash_files(dir: &Path, roots: Vec<PathBuf>) -> Result<String, CorpusError> {
    let mut files = Vec::new();
    let mut stack = roots;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(io(&d))? {
            let entry = entry.map_err(io(&d))?;
            let path = entry.path();
            if entry.file_type().map_err(io(&path))?.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let digests: Vec<(String, [u8; 32])> = files
        .par_iter()
        .map(|p| {
            let bytes = std::fs::read(p).map_err(io(p))?;
            let rel = p.strip_prefix(dir).unwrap_or(p).to_string_lossy().replace('\\', "/");
            Ok((rel, Sha256::digest(&bytes).into()))
        })
        .collect::<Result<_, CorpusError>>()?;
    let mut h = Sha256::new();
    for (rel, d) in digests {
        h.update(rel.as_bytes());
        h.update([0]);
        h.update(d);
    }
    Ok(format!("{:x}", h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_hash_covers_the_data_folders_only() {
        let dir = std::env::temp_dir().join(format!("enrelg-corpus-hash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in DATA_FOLDERS {
            std::fs::create_dir_all(dir.join(f).join("test")).unwrap();
            std::fs::write(dir.join(f).join("test/1.txt"), f).unwrap();
        }
        let data = corpus_sha256(&dir).unwrap();
        assert_eq!(
            data,
            tree_sha256(&dir).unwrap(),
            "with nothing beside the data both hashes agree"
        );
        std::fs::write(dir.join("manifest.json"), "{}").unwrap();
        assert_eq!(
            corpus_sha256(&dir).unwrap(),
            data,
            "a file beside the data folders changes nothing"
        );
        assert_ne!(tree_sha256(&dir).unwrap(), data);
        std::fs::write(dir.join("conllu/test/1.txt"), "changed").unwrap();
        assert_ne!(corpus_sha256(&dir).unwrap(), data, "a change in the data does");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// One CoNLL-U line per whitespace-separated word of `text`, all attached
    /// to the first word, with TokenRange offsets.
    fn parse_of(text: &str) -> String {
        let mut out = String::new();
        let mut id = 0;
        let mut at = 0;
        let chars: Vec<char> = text.chars().collect();
        while at < chars.len() {
            if chars[at].is_whitespace() {
                at += 1;
                continue;
            }
            let start = at;
            while at < chars.len() && !chars[at].is_whitespace() {
                at += 1;
            }
            id += 1;
            let form: String = chars[start..at].iter().collect();
            let (head, rel) = if id == 1 { (0, "root") } else { (1, "dep") };
            out +=
                &format!("{id}\t{form}\t_\tX\t_\t_\t{head}\t{rel}\t_\tTokenRange={start}:{at}\n");
        }
        out + "\n"
    }

    struct Fixture(PathBuf);

    impl Fixture {
        fn new(name: &str) -> Self {
            // One folder per test: tests run in parallel threads of one process.
            let dir =
                std::env::temp_dir().join(format!("enrelg-corpus-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("standoff/train")).unwrap();
            std::fs::create_dir_all(dir.join("conllu/train")).unwrap();
            Self(dir)
        }
        fn file(&self, rel: &str, bytes: impl AsRef<[u8]>) {
            std::fs::write(self.0.join(rel), bytes).unwrap();
        }
        /// A document whose three files are all well-formed.
        fn good(&self, stem: &str, text: &str, ann: &str) {
            self.file(&format!("standoff/train/{stem}.txt"), text);
            self.file(&format!("standoff/train/{stem}.ann"), ann);
            self.file(&format!("conllu/train/{stem}.conllu"), parse_of(text));
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Every kind of broken input the error policy skips, one document each.
    fn broken_corpus(name: &str) -> Fixture {
        let f = Fixture::new(name);
        f.good("a_good", "Fe and Mg in Gale", "T1\tElement 0 2\tFe\nT2\tElement 7 9\tMg\n");
        f.good("b_unknown_line", "Fe here", "T1\tElement 0 2\tFe\nX1\tweird line\n");
        f.file("standoff/train/c_crlf_bom.txt", "\u{feff}Fe\r\nMg");
        // brat counts the text's byte order mark; the .ann's is only a signature.
        f.file("standoff/train/c_crlf_bom.ann", "\u{feff}T1\tElement 5 7\tMg\r\n");
        f.file("conllu/train/c_crlf_bom.conllu", "1\tFe\t_\tX\t_\t_\t0\troot\t_\tTokenRange=1:3\n2\tMg\t_\tX\t_\t_\t1\tdep\t_\tTokenRange=5:7\n");
        f.good("d_past_end", "Fe", "T1\tElement 0 9\tFe\n");
        f.good("e_reversed", "Fe and Mg", "T1\tElement 7 2\tMg\n");
        f.good("f_surface", "Fe and Mg", "T1\tElement 0 2\tMg\n");
        f.good("g_latin1", "x", "");
        f.file("standoff/train/g_latin1.txt", b"Schr\xf6der");
        f.good("h_no_ann", "Fe", "");
        std::fs::remove_file(f.0.join("standoff/train/h_no_ann.ann")).unwrap();
        f.good("i_no_parse", "Fe", "");
        std::fs::remove_file(f.0.join("conllu/train/i_no_parse.conllu")).unwrap();
        f.file("standoff/train/j_orphan.ann", "");
        f.good("k_two_roots", "Fe Mg", "");
        f.file(
            "conllu/train/k_two_roots.conllu",
            "1\tFe\t_\tX\t_\t_\t0\troot\t_\t_\n2\tMg\t_\tX\t_\t_\t0\troot\t_\t_\n",
        );
        f.good("l_cycle", "Fe Mg", "");
        f.file(
            "conllu/train/l_cycle.conllu",
            "1\tFe\t_\tX\t_\t_\t2\tdep\t_\t_\n2\tMg\t_\tX\t_\t_\t1\tdep\t_\t_\n",
        );
        f.good("m_columns", "Fe", "");
        f.file("conllu/train/m_columns.conllu", "1\tFe\t_\tX\t0\troot\n");
        f.good("n_head_range", "Fe", "");
        f.file("conllu/train/n_head_range.conllu", "1\tFe\t_\tX\t_\t_\t7\troot\t_\t_\n");
        f.good("o_other_text", "Fe and Mg", "");
        f.file("conllu/train/o_other_text.conllu", parse_of("Cu and Zn"));
        f.good("p_empty", "", "");
        f.good("q_head_text", "x", "");
        f.file("conllu/train/q_head_text.conllu", "1\tx\t_\tX\t_\t_\tone\troot\t_\t_\n");
        f
    }

    #[test]
    fn broken_documents_are_skipped_and_counted_by_reason() {
        let f = broken_corpus("skipped");
        let loaded = load_split(&f.0, "train", false).unwrap();
        let ids: Vec<&str> = loaded.documents.iter().map(|d| d.id.as_str()).collect();
        // A flawed annotation costs that annotation, not its document.
        assert_eq!(
            ids,
            ["a_good", "b_unknown_line", "c_crlf_bom", "d_past_end", "e_reversed", "f_surface"]
        );
        assert!(loaded.documents[3..].iter().all(|d| d.entities.is_empty()));
        assert_eq!(loaded.documents[2].entities[0].spans, vec![(5, 7)]);
        let r = &loaded.skipped;
        let counts: Vec<(&str, usize)> =
            r.reasons.iter().map(|(k, v)| (k.as_str(), v.count)).collect();
        assert_eq!(
            counts,
            [
                (".ann span past the end of the text", 1),
                (".ann span reversed or empty", 1),
                (".ann surface text differs from the .txt", 1),
                (".ann without .txt", 1),
                ("CoNLL-U sentence not a tree", 3),
                ("document without tokens", 1),
                ("invalid UTF-8", 1),
                ("malformed CoNLL-U line", 2),
                ("missing .ann", 1),
                ("missing .conllu", 1),
                ("parse does not match the .txt", 1),
                ("unknown .ann line kind", 1),
            ]
        );
        assert_eq!((r.documents, r.lines), (11, 4));
        // Every message names its file; line-level ones their line too.
        let all: Vec<&String> = r.reasons.values().flat_map(|c| &c.first).collect();
        assert!(all.iter().any(|m| m.contains("d_past_end.ann:1:")), "{all:?}");
        assert!(all.iter().any(|m| m.contains("b_unknown_line.ann:2:1")), "{all:?}");
        assert!(all.iter().any(|m| m.contains("g_latin1.txt:1:5")), "{all:?}");
        assert!(all.iter().any(|m| m.contains("m_columns.conllu:1:1")), "{all:?}");
        assert!(
            all.iter().any(|m| m.contains("h_no_ann.ann") && m.contains("missing .ann")),
            "{all:?}"
        );
    }

    #[test]
    fn strict_stops_at_the_first_problem_in_file_order() {
        let f = broken_corpus("strict");
        let err = load_split(&f.0, "train", true).unwrap_err().to_string();
        assert!(err.contains("b_unknown_line.ann:2:1: unknown annotation id"), "{err}");
        std::fs::remove_file(f.0.join("standoff/train/b_unknown_line.ann")).unwrap();
        let err = load_split(&f.0, "train", true).unwrap_err().to_string();
        assert!(err.contains("b_unknown_line.ann: missing .ann"), "{err}");
    }

    #[test]
    fn layout_problems_stop_the_run() {
        let f = Fixture::new("layout");
        let err = load_split(&f.0, "train", false).unwrap_err().to_string();
        assert!(err.contains("no .txt files"), "{err}");
        f.good("a", "Fe", "");
        std::fs::remove_dir_all(f.0.join("conllu/train")).unwrap();
        let err = load_split(&f.0, "train", false).unwrap_err().to_string();
        assert!(err.contains("conllu/train: no such folder"), "{err}");
        let err = splits(&f.0.join("nowhere")).unwrap_err().to_string();
        assert!(err.contains("nowhere/standoff"), "{err}");
    }
}
