//! Walking an input folder: the one walker of every command that reads a
//! tree of documents (`tag`, `predict`, `score`, `data`, `stats`).
//!
//! Users' folders hold more than plain files, so the rules are explicit:
//! - only regular files are documents; a FIFO, socket or device with a
//!   document's extension is named and skipped (reading a FIFO blocks forever);
//! - a symbolic link to a file is followed; a broken one is named and skipped;
//! - a symbolic link to a folder is followed at most once per real folder (a
//!   link back to a parent, or two links to one folder, add nothing and are
//!   named), or never with [`Links::Skip`];
//! - a file reached twice (a link beside its target) is listed once;
//! - any file name the OS allows: paths stay `OsStr` and are never rebuilt
//!   from their display form (which is lossy for names that are not UTF-8).

use std::collections::HashSet;
use std::ffi::OsStr;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::fs::{io_err, FsError};
use crate::skips::{SkipReport, Unit};

/// What to do with symbolic links to folders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Links {
    /// Follow each at most once per real folder.
    Follow,
    /// Name it as skipped and go no further.
    Skip,
}

/// How deep to walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// The whole tree.
    Tree,
    /// The folder's own entries only (a corpus split).
    Flat,
}

/// The documents of a tree and what was passed over.
#[derive(Debug, Default)]
pub struct Tree {
    /// Paths relative to the root, extension included, sorted by their bytes.
    pub files: Vec<PathBuf>,
    /// Entries passed over: (unit, reason, message naming the path).
    pub skipped: Vec<(Unit, &'static str, String)>,
}

impl Tree {
    /// Add what was passed over to a skip report.
    pub fn report(&self, report: &mut SkipReport) {
        for (unit, reason, message) in &self.skipped {
            report.add(*unit, reason, message.clone());
        }
    }
}

/// The files under `root` whose extension is `ext`, by the rules above. An
/// error only when a folder cannot be listed.
///
/// The real tree is walked first and the symbolic links after it, so a file
/// or folder is always listed under its own path, never under a link's, and
/// a link only adds what the tree does not hold.
pub fn walk(root: &Path, ext: &str, depth: Depth, links: Links) -> Result<Tree, FsError> {
    walk_exts(root, &[ext], depth, links)
}

/// [`walk`] for files of any of the extensions `exts`, in one pass.
pub fn walk_exts(root: &Path, exts: &[&str], depth: Depth, links: Links) -> Result<Tree, FsError> {
    let meta = std::fs::metadata(root).map_err(io_err(root))?;
    let mut w = Walker {
        root,
        exts,
        depth,
        links,
        tree: Tree::default(),
        folders: HashSet::from([id(&meta)]),
        files: HashSet::new(),
        pending: Vec::new(),
    };
    w.walk_real(PathBuf::new())?;
    // Links found while following links join the queue.
    let mut next = 0;
    while let Some(rel) = w.pending.get(next).cloned() {
        next += 1;
        w.follow(rel)?;
    }
    w.tree.files.sort();
    Ok(w.tree)
}

struct Walker<'a> {
    root: &'a Path,
    exts: &'a [&'a str],
    depth: Depth,
    links: Links,
    tree: Tree,
    /// (device, inode) of each folder and file already taken.
    folders: HashSet<(u64, u64)>,
    files: HashSet<(u64, u64)>,
    /// Symbolic links met, in walk order, to follow after the real tree.
    pending: Vec<PathBuf>,
}

fn id(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

impl Walker<'_> {
    /// Walk the real folders from `start` (relative), queueing the links met.
    fn walk_real(&mut self, start: PathBuf) -> Result<(), FsError> {
        let mut stack = vec![start];
        while let Some(rel) = stack.pop() {
            let dir = self.root.join(&rel);
            let mut names = std::fs::read_dir(&dir)
                .map_err(io_err(&dir))?
                .map(|e| e.map(|e| e.file_name()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(io_err(&dir))?;
            names.sort();
            let mut folders = Vec::new();
            for name in names {
                let rel = rel.join(&name);
                // Gone since it was listed: nothing to read.
                let Ok(meta) = std::fs::symlink_metadata(self.root.join(&rel)) else {
                    continue;
                };
                if meta.file_type().is_symlink() {
                    self.pending.push(rel);
                } else if let Some(folder) = self.take(rel, &meta, false) {
                    folders.push(folder);
                }
            }
            // Walked in name order.
            stack.extend(folders.into_iter().rev());
        }
        Ok(())
    }

    /// Follow the link `rel`: a new file is listed, a new folder walked.
    fn follow(&mut self, rel: PathBuf) -> Result<(), FsError> {
        let path = self.root.join(&rel);
        match std::fs::metadata(&path) {
            Ok(meta) => match self.take(rel, &meta, true) {
                Some(folder) => self.walk_real(folder),
                None => Ok(()),
            },
            Err(e) => {
                if self.is_doc(&rel) {
                    self.tree.skipped.push((
                        Unit::Document,
                        "broken symbolic link",
                        format!("{}: a symbolic link to nothing readable ({e})", path.display()),
                    ));
                }
                Ok(())
            }
        }
    }

    fn is_doc(&self, rel: &Path) -> bool {
        rel.extension().is_some_and(|e| self.exts.iter().any(|x| e == OsStr::new(x)))
    }

    /// Take the entry `rel` (through a link when `link`): a document is
    /// listed, a folder to walk is returned, anything else is named or passed over.
    fn take(&mut self, rel: PathBuf, meta: &std::fs::Metadata, link: bool) -> Option<PathBuf> {
        let shown = self.root.join(&rel);
        let shown = shown.display();
        let kind = meta.file_type();
        let skipped = if kind.is_dir() {
            if self.depth == Depth::Flat {
                return None;
            }
            if link && self.links == Links::Skip {
                (
                    Unit::Entry,
                    "folder link not followed",
                    format!("{shown}: a symbolic link to a folder, not followed"),
                )
            } else if !self.folders.insert(id(meta)) {
                (Unit::Entry, "folder already walked", format!("{shown}: leads to a folder already walked (a link loop or a second link to it)"))
            } else {
                return Some(rel);
            }
        } else if !self.is_doc(&rel) {
            return None;
        } else if !kind.is_file() {
            (
                Unit::Document,
                "not a regular file",
                format!("{shown}: a {}, not a regular file", kind_name(kind)),
            )
        } else if !self.files.insert(id(meta)) {
            (
                Unit::Entry,
                "file already listed",
                format!("{shown}: the same file as another path of the input"),
            )
        } else {
            self.tree.files.push(rel);
            return None;
        };
        self.tree.skipped.push(skipped);
        None
    }
}

fn kind_name(kind: std::fs::FileType) -> &'static str {
    if kind.is_fifo() {
        "FIFO"
    } else if kind.is_socket() {
        "socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "device"
    } else {
        "special file"
    }
}

/// `base/rel.ext` for a relative path without extension; keeps dots inside a
/// stem (`a.b` -> `a.b.ext`) and any bytes of the name.
pub fn with_ext(base: &Path, rel: &Path, ext: &str) -> PathBuf {
    let mut name = rel.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    base.join(name)
}

/// `rel` without its last extension (`a/b.c.txt` -> `a/b.c`), bytes kept.
pub fn strip_ext(rel: &Path) -> PathBuf {
    rel.with_extension("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enrelg-tree-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(tree: &Tree) -> Vec<String> {
        tree.files.iter().map(|p| p.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn links_loops_fifos_and_odd_names() {
        let root = scratch("walk");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        std::fs::write(root.join("a/b/x.txt"), "x").unwrap();
        std::fs::write(root.join("a/y.txt"), "y").unwrap();
        std::fs::write(root.join("a/y.ann"), "").unwrap();
        std::fs::write(root.join("new\nline.txt"), "n").unwrap();
        let odd = root.join(OsStr::from_bytes(b"bad\xff.txt"));
        std::fs::write(&odd, "o").unwrap();
        // Loops and second ways in.
        std::os::unix::fs::symlink("..", root.join("a/up")).unwrap();
        std::os::unix::fs::symlink(".", root.join("a/b/self")).unwrap();
        std::os::unix::fs::symlink("a", root.join("again")).unwrap();
        std::os::unix::fs::symlink("a/y.txt", root.join("z.txt")).unwrap();
        std::os::unix::fs::symlink("gone.txt", root.join("broken.txt")).unwrap();
        let fifo = root.join("fifo.txt");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());

        let tree = walk(&root, "txt", Depth::Tree, Links::Follow).unwrap();
        assert_eq!(tree.files.len(), 4, "{:?}", tree.files);
        assert!(tree.files.contains(&PathBuf::from(OsStr::from_bytes(b"bad\xff.txt"))));
        assert!(
            root.join(&tree.files[0]).is_file()
                && tree.files.iter().all(|f| root.join(f).is_file())
        );
        assert!(names(&tree).contains(&"new\nline.txt".to_string()));
        // Each file under its own path, never a link's: x.txt through a/, not
        // again/; y.txt as a/y.txt, z.txt (a link to it) named as already listed.
        assert!(
            tree.files.contains(&PathBuf::from("a/b/x.txt"))
                && tree.files.contains(&PathBuf::from("a/y.txt")),
            "{:?}",
            tree.files
        );
        assert!(tree.skipped.iter().any(|s| s.1 == "file already listed" && s.2.contains("z.txt")));
        let reasons: Vec<&str> = tree.skipped.iter().map(|s| s.1).collect();
        assert_eq!(
            reasons.iter().filter(|r| **r == "folder already walked").count(),
            3,
            "{:?}",
            tree.skipped
        );
        assert!(
            reasons.contains(&"file already listed") && reasons.contains(&"broken symbolic link")
        );
        assert!(tree
            .skipped
            .iter()
            .any(|s| s.1 == "not a regular file" && s.2.contains("fifo.txt: a FIFO")));
        let mut report = SkipReport::default();
        tree.report(&mut report);
        assert_eq!(report.documents, 2, "the FIFO and the broken link are documents not read");

        let flat = walk(&root, "txt", Depth::Tree, Links::Skip).unwrap();
        assert_eq!(flat.skipped.iter().filter(|s| s.1 == "folder link not followed").count(), 3);
        let top = walk(&root.join("a"), "txt", Depth::Flat, Links::Follow).unwrap();
        assert_eq!(names(&top), ["y.txt"]);
    }

    #[test]
    fn extensions_keep_every_byte_of_the_name() {
        let rel = Path::new(OsStr::from_bytes(b"d/a.b\xff"));
        assert_eq!(
            with_ext(Path::new("/o"), rel, "ann").as_os_str().as_bytes(),
            b"/o/d/a.b\xff.ann"
        );
        assert_eq!(strip_ext(Path::new("d/a.b.txt")), Path::new("d/a.b"));
    }
}
