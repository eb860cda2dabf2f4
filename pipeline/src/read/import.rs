//! A brat folder as users have it -> a corpus the pipeline reads.
//!
//! The input is a folder of `.txt` + `.ann` files, flat or nested, with or
//! without `train/`, `dev/` (or `devel/`), `test/` subfolders, perhaps with
//! brat's `annotation.conf`; no manifest, no parses. [`plan`] decides the
//! entity types and the split, [`write`] lays the documents out as
//! `standoff/SPLIT/ID.{txt,ann}` with a generated `manifest.json` recording
//! both, so a rerun builds the same split and a user can inspect it. Parsing
//! the texts into `conllu/SPLIT/` is the caller's (it needs spaCy).
//!
//! The split without split folders is by document, deterministic: documents
//! are ordered by SHA-256 of (seed, relative path) and cut at the ratios
//! (70/10/20 by default), so adding a document moves no other one.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::fs::{io_err, write_atomic, FsError};
use crate::read::corpus::{split_rank, split_role};
use crate::read::manifest::{Manifest, SplitSpec};
use crate::read::tree::{walk_exts, Depth, Links};
use crate::skips::SkipReport;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error(transparent)]
    Io(#[from] FsError),
    #[error("{}: no .ann file anywhere under it: a corpus needs brat annotations (.txt + .ann per document)", dir.display())]
    NoAnnotations { dir: PathBuf },
    #[error("{}:{line}: entity type {ty:?} is not among the [entities] of {} ({})", path.display(), conf.display(), known.join(", "))]
    UnknownType { path: PathBuf, line: usize, ty: String, conf: PathBuf, known: Vec<String> },
    #[error("{}: the {split} split has no documents{}", dir.display(), hint)]
    EmptySplit { dir: PathBuf, split: String, hint: String },
    #[error("{}: none of its {files} .ann files holds an entity (a T line), so there is nothing to learn; annotate entities in brat first", dir.display())]
    NoEntities { dir: PathBuf, files: usize },
    #[error("{}: a .txt without its .ann (--strict refuses unannotated documents)", path.display())]
    Unannotated { path: PathBuf },
    #[error("--types {wanted}: {missing:?} not among the corpus's entity types ({})", found.join(", "))]
    UnknownChoice { wanted: String, missing: Vec<String>, found: Vec<String> },
    #[error("--split {0}: three shares above zero, of train, dev and test (e.g. 70/10/20)")]
    BadSplit(String),
    #[error("{} and {}: both become document id {id:?}; rename one", a.display(), b.display())]
    SameId { a: PathBuf, b: PathBuf, id: String },
    #[error("{}: a document id must be UTF-8", path.display())]
    NotUtf8 { path: PathBuf },
}

/// How to split a folder without split subfolders: shares of train, dev, test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SplitShares {
    pub train: f64,
    pub dev: f64,
    pub test: f64,
}

impl Default for SplitShares {
    fn default() -> Self {
        Self { train: 70.0, dev: 10.0, test: 20.0 }
    }
}

impl std::str::FromStr for SplitShares {
    type Err = ImportError;

    /// `70/10/20` (or with commas); the shares need not sum to 100.
    fn from_str(s: &str) -> Result<Self, ImportError> {
        let parts: Vec<f64> = s
            .split(['/', ','])
            .map(|p| p.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| ImportError::BadSplit(s.into()))?;
        match parts[..] {
            [train, dev, test]
                if train > 0.0 && dev > 0.0 && test > 0.0 && (train + dev + test).is_finite() =>
            {
                Ok(Self { train, dev, test })
            }
            _ => Err(ImportError::BadSplit(s.into())),
        }
    }
}

impl std::fmt::Display for SplitShares {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.train, self.dev, self.test)
    }
}

#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Entity types to label (default: all of `annotation.conf`, else all in the `.ann` files).
    pub types: Option<Vec<String>>,
    pub shares: SplitShares,
    pub seed: u64,
    /// Refuse a `.txt` without `.ann` instead of leaving it out with a count.
    pub strict: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self { types: None, shares: SplitShares::default(), seed: 1, strict: false }
    }
}

/// One document of the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    /// Its id in the corpus: the relative path without extension, `/` as `__`.
    pub id: String,
    /// Its `.txt`, relative to the source folder (the `.ann` is beside it).
    pub txt: PathBuf,
}

/// (split, its documents sorted by id), in canonical split order.
pub type Splits = Vec<(String, Vec<Doc>)>;

/// What [`plan`] decided.
#[derive(Debug)]
pub struct ImportPlan {
    pub name: String,
    pub label_types: Vec<String>,
    /// Entity mentions per type in the `.ann` files, chosen or not.
    pub type_counts: BTreeMap<String, usize>,
    /// (split, documents sorted by id), in canonical split order.
    pub splits: Splits,
    /// How the split was made, for the manifest.
    pub split_rule: String,
    /// `.txt` files without `.ann`, left out.
    pub unannotated: Vec<PathBuf>,
    /// What the folder walk passed over (links, FIFOs, ...).
    pub skipped: SkipReport,
}

/// Each laid-out copy of an imported document's file with the user's file it came from.
pub type SourcePaths = Vec<(PathBuf, PathBuf)>;

impl ImportPlan {
    /// Each laid-out copy (under `dst`, as [`write`] lays it out) with the user's file it was
    /// copied from (under `src`), byte for byte, so that a line number in one is the line in
    /// the other.
    pub fn source_paths(&self, src: &Path, dst: &Path) -> SourcePaths {
        let mut out = Vec::new();
        for (split, docs) in &self.splits {
            for d in docs {
                for ext in ["txt", "ann"] {
                    out.push((
                        dst.join("standoff").join(split).join(format!("{}.{ext}", d.id)),
                        src.join(d.txt.with_extension(ext)),
                    ));
                }
            }
        }
        out
    }
}

/// Rewrite a message naming laid-out copies to name the user's files ([`ImportPlan::source_paths`]).
pub fn name_sources(message: &str, sources: &[(PathBuf, PathBuf)]) -> String {
    let mut out = message.to_string();
    for (copy, source) in sources {
        let copy = copy.display().to_string();
        if out.contains(&copy) {
            out = out.replace(&copy, &source.display().to_string());
        }
    }
    out
}

/// Decide types and split for the brat folder `dir`.
pub fn plan(dir: &Path, opts: &ImportOptions) -> Result<ImportPlan, ImportError> {
    let mut skipped = SkipReport::default();
    let tree = walk_exts(dir, &["txt", "ann"], Depth::Tree, Links::Follow)?;
    tree.report(&mut skipped);
    let (anns, txts): (Vec<&PathBuf>, Vec<&PathBuf>) =
        tree.files.iter().partition(|f| f.extension() == Some(OsStr::new("ann")));
    if anns.is_empty() {
        return Err(ImportError::NoAnnotations { dir: dir.to_path_buf() });
    }
    let ann_set: BTreeSet<PathBuf> = anns.iter().map(|f| f.with_extension("")).collect();
    let mut docs = Vec::new();
    let mut unannotated = Vec::new();
    for &txt in &txts {
        if ann_set.contains(&txt.with_extension("")) {
            docs.push(txt.clone());
        } else if opts.strict {
            return Err(ImportError::Unannotated { path: dir.join(txt) });
        } else {
            unannotated.push(txt.clone());
        }
    }
    let (type_counts, label_types) = choose_types(dir, &docs, opts)?;
    if type_counts.values().sum::<usize>() == 0 {
        return Err(ImportError::NoEntities { dir: dir.to_path_buf(), files: anns.len() });
    }
    let (splits, split_rule) = split(dir, &docs, opts)?;
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "corpus".into());
    Ok(ImportPlan { name, label_types, type_counts, splits, split_rule, unannotated, skipped })
}

/// The entity types of `annotation.conf`'s `[entities]` (abstract `!` types
/// and comments left out), or None without the file.
pub fn conf_types(dir: &Path) -> Result<Option<Vec<String>>, FsError> {
    let path = dir.join("annotation.conf");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(&path)(e)),
    };
    let mut in_entities = false;
    let mut types = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('[') {
            in_entities = line == "[entities]";
            continue;
        }
        if in_entities && !line.starts_with('!') {
            if let Some(ty) = line.split_whitespace().next() {
                types.push(ty.to_string());
            }
        }
    }
    Ok(Some(types))
}

/// Mentions per type in the `.ann` files, checked against `annotation.conf`,
/// and the types to label.
fn choose_types(
    dir: &Path,
    docs: &[PathBuf],
    opts: &ImportOptions,
) -> Result<(BTreeMap<String, usize>, Vec<String>), ImportError> {
    let conf = conf_types(dir)?;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for txt in docs {
        let path = dir.join(txt.with_extension("ann"));
        let text = std::fs::read(&path).map_err(io_err(&path))?;
        // Broken lines are the reader's to report, with the document.
        for (i, line) in String::from_utf8_lossy(&text).lines().enumerate() {
            let mut fields = line.split('\t');
            let (Some(id), Some(body)) = (fields.next(), fields.next()) else {
                continue;
            };
            if !id.starts_with('T') {
                continue;
            }
            let Some(ty) = body.split_whitespace().next() else {
                continue;
            };
            if let Some(known) = conf.as_ref().filter(|k| !k.iter().any(|k| k == ty)) {
                return Err(ImportError::UnknownType {
                    path,
                    line: i + 1,
                    ty: ty.into(),
                    conf: dir.join("annotation.conf"),
                    known: known.clone(),
                });
            }
            *counts.entry(ty.to_string()).or_default() += 1;
        }
    }
    let found: Vec<String> = match &conf {
        Some(types) => types.clone(),
        None => counts.keys().cloned().collect(),
    };
    let chosen = match &opts.types {
        None => found,
        Some(wanted) => {
            let missing: Vec<String> =
                wanted.iter().filter(|w| !found.contains(w)).cloned().collect();
            if !missing.is_empty() {
                return Err(ImportError::UnknownChoice {
                    wanted: wanted.join(","),
                    missing,
                    found,
                });
            }
            wanted.clone()
        }
    };
    Ok((counts, chosen))
}

/// The split: by the folder's split subfolders, else seeded by document.
fn split(
    dir: &Path,
    docs: &[PathBuf],
    opts: &ImportOptions,
) -> Result<(Splits, String), ImportError> {
    let top = |txt: &PathBuf| {
        txt.components()
            .next()
            .filter(|_| txt.components().count() > 1)
            .and_then(|c| c.as_os_str().to_str())
            .and_then(split_role)
    };
    let by_folder = docs.iter().any(|t| top(t).is_some());
    let mut splits: BTreeMap<&'static str, Vec<PathBuf>> = BTreeMap::new();
    let rule = if by_folder {
        for txt in docs {
            // Documents outside the split folders belong to none: say so.
            let split = top(txt).ok_or_else(|| ImportError::EmptySplit {
                dir: dir.join(txt),
                split: "(none)".into(),
                hint: ": this document lies outside the train/dev/test folders; move it into one"
                    .into(),
            })?;
            splits.entry(split).or_default().push(txt.clone());
        }
        "the folder's train/dev/test subfolders".to_string()
    } else {
        seeded_split(docs, opts, &mut splits);
        let s = opts.shares;
        format!("by document, SHA-256 of (seed {}, relative path) order, shares {s}", opts.seed)
    };
    let mut out = Vec::new();
    for split in ["train", "dev", "test"] {
        let files = splits.remove(split).unwrap_or_default();
        if files.is_empty() {
            let hint = if by_folder {
                format!(": add a {split}/ folder with documents")
            } else {
                format!(
                    " ({} documents at shares {}): add documents or change --split",
                    docs.len(),
                    opts.shares
                )
            };
            return Err(ImportError::EmptySplit {
                dir: dir.to_path_buf(),
                split: split.into(),
                hint,
            });
        }
        let mut seen: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut list = Vec::new();
        for txt in files {
            let id = doc_id(dir, &txt, by_folder)?;
            if let Some(a) = seen.insert(id.clone(), txt.clone()) {
                return Err(ImportError::SameId { a: dir.join(a), b: dir.join(&txt), id });
            }
            list.push(Doc { id, txt });
        }
        list.sort_by(|a, b| a.id.cmp(&b.id));
        out.push((split.to_string(), list));
    }
    out.sort_by_key(|(s, _)| split_rank(s));
    Ok((out, rule))
}

/// Documents ordered by SHA-256 of (seed, relative path) and cut at the shares.
fn seeded_split(
    docs: &[PathBuf],
    opts: &ImportOptions,
    splits: &mut BTreeMap<&'static str, Vec<PathBuf>>,
) {
    let mut keyed: Vec<([u8; 32], &PathBuf)> = docs
        .iter()
        .map(|t| {
            let mut h = Sha256::new();
            h.update(opts.seed.to_le_bytes());
            h.update(t.as_os_str().as_encoded_bytes());
            (h.finalize().into(), t)
        })
        .collect();
    keyed.sort();
    let s = opts.shares;
    let n = keyed.len() as f64;
    let total = s.train + s.dev + s.test;
    let n_train = (n * s.train / total).round() as usize;
    let n_dev = ((n * (s.train + s.dev) / total).round() as usize).saturating_sub(n_train);
    for (i, (_, t)) in keyed.into_iter().enumerate() {
        let split = if i < n_train {
            "train"
        } else if i < n_train + n_dev {
            "dev"
        } else {
            "test"
        };
        splits.entry(split).or_default().push(t.clone());
    }
}

/// A document's id: its path without extension (below the split folder when
/// there is one), folders joined by `__`.
fn doc_id(dir: &Path, txt: &Path, below_split: bool) -> Result<String, ImportError> {
    let rel = txt.with_extension("");
    let parts: Vec<&str> = rel
        .components()
        .skip(usize::from(below_split))
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<_>>()
        .ok_or_else(|| ImportError::NotUtf8 { path: dir.join(txt) })?;
    Ok(parts.join("__"))
}

/// Lay the plan out under `dst` (`standoff/SPLIT/ID.{txt,ann}` and
/// `manifest.json`). A file whose content is unchanged is not rewritten, so
/// parses made from it stay up to date; files of documents no longer in the
/// plan (and their parses under `conllu/`) are removed.
pub fn write(plan: &ImportPlan, src: &Path, dst: &Path) -> Result<Manifest, ImportError> {
    let mut keep: BTreeSet<PathBuf> = BTreeSet::new();
    for (split, docs) in &plan.splits {
        let folder = dst.join("standoff").join(split);
        std::fs::create_dir_all(&folder).map_err(io_err(&folder))?;
        for d in docs {
            for ext in ["txt", "ann"] {
                let from = src.join(d.txt.with_extension(ext));
                let to = folder.join(format!("{}.{ext}", d.id));
                let bytes = std::fs::read(&from).map_err(io_err(&from))?;
                if std::fs::read(&to).ok().as_deref() != Some(bytes.as_slice()) {
                    write_atomic(&to, &bytes)?;
                }
                keep.insert(to);
            }
            keep.insert(dst.join("conllu").join(split).join(format!("{}.conllu", d.id)));
        }
    }
    // brat's configuration names each event type's roles, the first its head's
    // (`crate::relation::EventHeads`): it travels with the documents.
    let conf = src.join("annotation.conf");
    if conf.is_file() {
        let bytes = std::fs::read(&conf).map_err(io_err(&conf))?;
        write_atomic(&dst.join("standoff").join("annotation.conf"), &bytes)?;
    }
    for (top, exts) in [("standoff", &["txt", "ann"][..]), ("conllu", &["conllu"][..])] {
        let root = dst.join(top);
        if !root.is_dir() {
            continue;
        }
        for rel in walk_exts(&root, exts, Depth::Tree, Links::Skip)?.files {
            let path = root.join(&rel);
            if !keep.contains(&path) {
                std::fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
    }
    let manifest = Manifest {
        name: plan.name.clone(),
        title: format!("{} (imported from {})", plan.name, src.display()),
        label_types: plan.label_types.clone(),
        splits: plan
            .splits
            .iter()
            .map(|(split, docs)| SplitSpec {
                name: split.clone(),
                enrelg_file: None,
                documents: docs.len(),
                files: docs.iter().map(|d| d.txt.to_string_lossy().into_owned()).collect(),
            })
            .collect(),
        sources: Vec::new(),
        enrelg_sha256: BTreeMap::new(),
        license: String::new(),
        attribution: String::new(),
        split_rule: Some(plan.split_rule.clone()),
    };
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| FsError {
        path: dst.join("manifest.json"),
        source: std::io::Error::other(e),
    })? + "\n";
    write_atomic(&dst.join("manifest.json"), json.as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enrelg-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn doc(dir: &Path, rel: &str, ann: &str) {
        let txt = dir.join(format!("{rel}.txt"));
        std::fs::create_dir_all(txt.parent().unwrap()).unwrap();
        std::fs::write(&txt, "Fe and Mg in the crater.").unwrap();
        std::fs::write(txt.with_extension("ann"), ann).unwrap();
    }

    #[test]
    fn a_flat_folder_splits_by_seed_the_same_every_time() {
        let dir = scratch("flat");
        for i in 0..40 {
            doc(&dir, &format!("sub/d{i:02}"), "T1\tElement 0 2\tFe\nT2\tMineral 7 9\tMg\n");
        }
        std::fs::write(dir.join("orphan.txt"), "no annotations").unwrap();
        let p = plan(&dir, &ImportOptions::default()).unwrap();
        let sizes: Vec<(&str, usize)> =
            p.splits.iter().map(|(s, d)| (s.as_str(), d.len())).collect();
        assert_eq!(sizes, [("train", 28), ("dev", 4), ("test", 8)]);
        assert_eq!(p.label_types, ["Element", "Mineral"]);
        assert_eq!(p.type_counts["Element"], 40);
        assert_eq!(p.unannotated, [PathBuf::from("orphan.txt")]);
        assert!(p.splits[0].1.iter().all(|d| d.id.starts_with("sub__d")));
        let again = plan(&dir, &ImportOptions::default()).unwrap();
        assert_eq!(again.splits, p.splits, "the same split on a rerun");
        let other = plan(&dir, &ImportOptions { seed: 2, ..Default::default() }).unwrap();
        assert_ne!(other.splits, p.splits, "the seed moves documents");
        // Strict refuses the orphan.
        let err = plan(&dir, &ImportOptions { strict: true, ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(err.contains("orphan.txt: a .txt without its .ann"), "{err}");

        let dst = dir.join("out");
        let m = write(&p, &dir, &dst).unwrap();
        assert_eq!(m.splits[1].documents, 4);
        let first = &p.splits[1].1[0];
        assert!(dst.join(format!("standoff/dev/{}.ann", first.id)).exists());
        let read = Manifest::read(&dst.join("manifest.json")).unwrap();
        assert_eq!(read.splits[1].files[0], first.txt.to_string_lossy());
        assert!(read.split_rule.unwrap().contains("seed 1"));
        // A rerun with another split removes what moved.
        let stale = dst.join(format!("standoff/dev/{}.txt", first.id));
        write(&other, &dir, &dst).unwrap();
        let still = other.splits[1].1.iter().any(|d| d.id == first.id);
        assert_eq!(stale.exists(), still);
    }

    #[test]
    fn a_folder_without_any_entity_says_so_in_one_sentence() {
        let dir = scratch("no-entities");
        for i in 0..3 {
            doc(&dir, &format!("d{i}"), "#1\tAnnotatorNotes T1\tnothing yet\n");
        }
        std::fs::write(dir.join("annotation.conf"), "[entities]\nElement\n").unwrap();
        let err = plan(&dir, &ImportOptions::default()).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: none of its 3 .ann files holds an entity (a T line), so there is nothing to learn; annotate entities in brat first",
                dir.display()
            )
        );
    }

    #[test]
    fn split_folders_annotation_conf_and_type_choice() {
        let dir = scratch("folders");
        doc(&dir, "train/a", "T1\tElement 0 2\tFe\n");
        doc(&dir, "devel/b", "T1\tElement 0 2\tFe\n");
        doc(&dir, "test/deep/c", "T1\tMineral 7 9\tMg\n");
        std::fs::write(dir.join("annotation.conf"), "[entities]\n# comment\n!Abstract\nElement\n\tMineral\n[relations]\nPart Arg1:Element, Arg2:Mineral\n").unwrap();
        let p = plan(&dir, &ImportOptions::default()).unwrap();
        assert_eq!(p.label_types, ["Element", "Mineral"]);
        let ids: Vec<(&str, &str)> = p
            .splits
            .iter()
            .flat_map(|(s, d)| d.iter().map(move |d| (s.as_str(), d.id.as_str())))
            .collect();
        assert_eq!(ids, [("train", "a"), ("dev", "b"), ("test", "deep__c")]);
        let only = plan(
            &dir,
            &ImportOptions { types: Some(vec!["Mineral".into()]), ..Default::default() },
        )
        .unwrap();
        assert_eq!(only.label_types, ["Mineral"]);
        assert_eq!(only.type_counts["Element"], 2, "types not chosen are still counted");
        let err =
            plan(&dir, &ImportOptions { types: Some(vec!["Rock".into()]), ..Default::default() })
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("[\"Rock\"] not among the corpus's entity types (Element, Mineral)"),
            "{err}"
        );
        doc(&dir, "train/z", "T1\tRock 0 2\tFe\n");
        let err = plan(&dir, &ImportOptions::default()).unwrap_err().to_string();
        assert!(
            err.contains("train/z.ann:1: entity type \"Rock\" is not among the [entities] of")
                && err.contains("annotation.conf"),
            "{err}"
        );
    }

    #[test]
    fn errors_name_the_folder() {
        let dir = scratch("errors");
        std::fs::write(dir.join("a.txt"), "Fe").unwrap();
        let err = plan(&dir, &ImportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("no .ann file anywhere"), "{err}");
        doc(&dir, "train/a", "T1\tElement 0 2\tFe\n");
        doc(&dir, "test/b", "T1\tElement 0 2\tFe\n");
        let err = plan(&dir, &ImportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("the dev split has no documents: add a dev/ folder"), "{err}");
        let flat = scratch("errors-flat");
        doc(&flat, "a", "T1\tElement 0 2\tFe\n");
        let err = plan(&flat, &ImportOptions::default()).unwrap_err().to_string();
        assert!(err.contains("split has no documents (1 documents at shares 70/10/20)"), "{err}");
        assert_eq!(
            "80,10,10".parse::<SplitShares>().unwrap(),
            SplitShares { train: 80.0, dev: 10.0, test: 10.0 }
        );
        assert!(
            "70/0/30".parse::<SplitShares>().is_err()
                && "70/10".parse::<SplitShares>().is_err()
                && "a/b/c".parse::<SplitShares>().is_err()
        );
    }
}
