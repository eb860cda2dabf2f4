//! Loading a corpus folder: brat standoff joined with its CoNLL-U parses.
//!
//! Layout (that of `shared/data/mars` and `shared/data/anatem`):
//! `standoff/SPLIT/NAME.txt`, `standoff/SPLIT/NAME.ann`,
//! `conllu/SPLIT/NAME.conllu`. Every `.txt` needs its `.ann` and its
//! `.conllu`, and every `.conllu` its `.txt`: a file without its partner is
//! an error, never skipped.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::brat::{self, BratError};
use crate::conllu::{self, ConlluError};
use crate::document::Document;
use crate::enrelg_conll::{self, EnrelgError, EnrelgFile};

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
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CorpusError + '_ {
    move |source| CorpusError::Io { path: path.to_path_buf(), source }
}

/// Canonical split order: train, dev/devel, test, then any others by name.
pub fn split_rank(name: &str) -> (usize, String) {
    let rank = match name {
        "train" => 0,
        "dev" | "devel" | "valid" | "validation" => 1,
        "test" => 2,
        _ => 3,
    };
    (rank, name.to_string())
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
        return Err(CorpusError::Layout { path: standoff, what: "no split folders (expected standoff/SPLIT/*.txt)".into() });
    }
    names.sort_by_key(|n| split_rank(n));
    Ok(names)
}

/// File stems with the given extension in a folder, sorted.
fn stems(dir: &Path, ext: &str) -> Result<BTreeSet<String>, CorpusError> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == ext) {
            if let Some(stem) = path.file_stem() {
                out.insert(stem.to_string_lossy().into_owned());
            }
        }
    }
    Ok(out)
}

/// The documents of one split, sorted by id, read in parallel.
pub fn load_split(dir: &Path, split: &str) -> Result<Vec<Document>, CorpusError> {
    let standoff = dir.join("standoff").join(split);
    let parses = dir.join("conllu").join(split);
    let txt = stems(&standoff, "txt")?;
    let ann = stems(&standoff, "ann")?;
    let conllu = stems(&parses, "conllu")?;
    if txt.is_empty() {
        return Err(CorpusError::Layout { path: standoff, what: "no .txt files".into() });
    }
    let missing = |have: &BTreeSet<String>, need: &BTreeSet<String>, dir: &Path, ext: &str| -> Result<(), CorpusError> {
        if let Some(stem) = need.difference(have).next() {
            let n = need.difference(have).count();
            return Err(CorpusError::Layout {
                path: dir.join(format!("{stem}.{ext}")),
                what: format!("missing ({n} file(s) of this kind missing in this folder)"),
            });
        }
        Ok(())
    };
    missing(&ann, &txt, &standoff, "ann")?;
    missing(&conllu, &txt, &parses, "conllu")?;
    missing(&txt, &ann, &standoff, "txt")?;
    missing(&txt, &conllu, &standoff, "txt")?;
    let stems: Vec<String> = txt.into_iter().collect();
    stems
        .par_iter()
        .map(|stem| load_document(&standoff.join(format!("{stem}.txt")), &standoff.join(format!("{stem}.ann")), &parses.join(format!("{stem}.conllu"))))
        .collect()
}

/// One document from its `.txt`, `.ann` and `.conllu`.
pub fn load_document(txt: &Path, ann: &Path, parse: &Path) -> Result<Document, CorpusError> {
    let standoff = brat::read(txt, ann)?;
    let parsed = conllu::read(parse)?;
    let (tokens, sentences) = conllu::to_tokens(&parsed, &standoff.text, parse, txt)?;
    Ok(Document {
        id: standoff.id,
        text: standoff.text,
        tokens,
        sentences,
        entities: standoff.entities,
        annotation_lines: standoff.annotation_lines,
    })
}

/// A document to tag: its `.txt` and `.conllu`, no annotations.
pub fn load_unannotated(txt: &Path, parse: &Path) -> Result<Document, CorpusError> {
    let text = brat::read_text(txt)?;
    let parsed = conllu::read(parse)?;
    let (tokens, sentences) = conllu::to_tokens(&parsed, &text, parse, txt)?;
    let id = txt.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Document { id, text, tokens, sentences, entities: Vec::new(), annotation_lines: Default::default() })
}

/// The `*.conll` files of an EnRel-G release folder as (split, file), in
/// canonical split order; the split is the file name up to its first dot.
pub fn load_enrelg_dir(dir: &Path) -> Result<Vec<(String, EnrelgFile)>, CorpusError> {
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "conll") {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let split = name.split('.').next().unwrap_or_default().to_string();
            files.push((split, path));
        }
    }
    if files.is_empty() {
        return Err(CorpusError::Layout { path: dir.to_path_buf(), what: "no *.conll files".into() });
    }
    files.sort_by_key(|(s, _)| split_rank(s));
    files.into_par_iter().map(|(split, path)| Ok((split.clone(), enrelg_conll::read(&path, &split)?))).collect()
}

/// SHA-256 over every file under `dir` (relative path and content, sorted by
/// path), so that statistics name the exact input they were computed from.
pub fn tree_sha256(dir: &Path) -> Result<String, CorpusError> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
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
