//! The output folder of `enrelg tag` and `enrelg predict` (OUT): one writer
//! at a time, every file written atomically, and a rerun that leaves no
//! output of a document it no longer tags.
//!
//! OUT's own files live under `OUT/.enrelg`: the lock ([`RunLock`], taken
//! over when its holder is gone) and the list of the files the last run
//! wrote (`outputs`, NUL-separated relative paths, so any file name fits),
//! which the next run compares with its own to remove what it did not write
//! again.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use enrelg_pipeline::fs::write_atomic;

use crate::run::RunLock;

/// Where OUT keeps its own files (and `enrelg tag` its work files).
pub const WORK_DIR: &str = ".enrelg";
const LOCK: &str = "writer.lock";
const OUTPUTS: &str = "outputs";

/// An output folder held by this process.
pub struct OutputDir {
    root: PathBuf,
    written: BTreeSet<PathBuf>,
    _lock: RunLock,
}

impl OutputDir {
    /// Create (if needed) and lock `root`; refused while another process writes it.
    pub fn open(root: &Path) -> anyhow::Result<Self> {
        let work = root.join(WORK_DIR);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let lock = RunLock::acquire_file(root, &work.join(LOCK))?;
        Ok(Self { root: root.to_path_buf(), written: BTreeSet::new(), _lock: lock })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The work folder inside OUT.
    pub fn work(&self) -> PathBuf {
        self.root.join(WORK_DIR)
    }

    /// Write `path` (inside OUT) atomically and remember it as this run's output.
    pub fn write(&mut self, path: &Path, contents: &[u8]) -> anyhow::Result<()> {
        let rel = path.strip_prefix(&self.root).with_context(|| {
            format!("{} is outside the output folder {}", path.display(), self.root.display())
        })?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_atomic(path, contents)?;
        self.written.insert(rel.to_path_buf());
        Ok(())
    }

    /// Remove what the previous run wrote and this one did not (a document
    /// no longer tagged, or no longer readable), record this run's files,
    /// and release the folder. Returns the files removed.
    pub fn finish(self) -> anyhow::Result<Vec<PathBuf>> {
        let list = self.work().join(OUTPUTS);
        let before = match std::fs::read(&list) {
            Ok(bytes) => bytes
                .split(|&b| b == 0)
                .filter(|n| !n.is_empty())
                .map(|n| PathBuf::from(OsStr::from_bytes(n)))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", list.display())),
        };
        let mut removed = Vec::new();
        for rel in before.iter().filter(|rel| !self.written.contains(*rel)) {
            // Only plain relative paths: a damaged list never reaches outside OUT.
            if rel.is_absolute()
                || rel.components().any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                continue;
            }
            let path = self.root.join(rel);
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("removing the stale output {}", path.display()))
                }
            }
        }
        let mut bytes = Vec::new();
        for rel in &self.written {
            bytes.extend_from_slice(rel.as_os_str().as_bytes());
            bytes.push(0);
        }
        write_atomic(&list, &bytes)?;
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_writer_and_a_rerun_removes_what_it_no_longer_writes() {
        let root = std::env::temp_dir().join(format!("enrelg-output-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let odd = PathBuf::from(OsStr::from_bytes(b"b/new\nline\xff.ann"));
        let mut out = OutputDir::open(&root).unwrap();
        let Err(second) = OutputDir::open(&root) else { panic!("a second writer was let in") };
        assert!(second.to_string().contains("being written by another process"), "{second}");
        out.write(&root.join("a.ann"), b"T1").unwrap();
        out.write(&root.join(&odd), b"T2").unwrap();
        assert!(out.write(Path::new("/elsewhere.ann"), b"").is_err());
        assert!(out.finish().unwrap().is_empty());
        // The user's own file in OUT is never touched.
        std::fs::write(root.join("notes.txt"), "mine").unwrap();
        let mut out = OutputDir::open(&root).unwrap();
        out.write(&root.join("a.ann"), b"T1").unwrap();
        assert_eq!(out.finish().unwrap(), vec![root.join(&odd)]);
        assert!(
            !root.join(&odd).exists()
                && root.join("a.ann").exists()
                && root.join("notes.txt").exists()
        );
    }
}
