//! File-system writes that a kill cannot leave half done, and file checksums.
//!
//! Every file or folder the project writes for others to read (shards, run
//! records, checkpoints, caches, evaluations) goes through here: it is
//! written under a hidden temporary name beside its target and renamed into
//! place, so a reader sees the previous version or the new one, never a part.
//! The temporary names (`.NAME.tmp-PID`, `.NAME.old-PID`) are defined here
//! only; [`is_leftover`] recognises what a killed writer left behind.

use std::path::{Path, PathBuf};

use sha2::Digest;
use thiserror::Error;

/// An I/O error with the path it happened on.
#[derive(Debug, Error)]
#[error("{}: {source}", path.display())]
pub struct FsError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// Attach `path` to an I/O error.
pub fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError { path: path.to_path_buf(), source }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of a file's contents.
pub fn sha256_file(path: &Path) -> Result<String, FsError> {
    let mut file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut hasher = sha2::Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io_err(path))?;
    Ok(format!("{:x}", hasher.finalize()))
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let name = path.file_name().map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.join(format!(".{name}.{suffix}-{}", std::process::id()))
}

/// Where this process stages a new version of `path` (`.NAME.tmp-PID`).
pub fn temp_path(path: &Path) -> PathBuf {
    sibling(path, "tmp")
}

/// Where this process parks the previous version of folder `path` while the
/// new one takes its place (`.NAME.old-PID`).
pub fn old_path(path: &Path) -> PathBuf {
    sibling(path, "old")
}

/// Whether `name` (a file name) is a staging or parked name of `target`'s,
/// left by a writer that was killed: never complete, never to be read.
pub fn is_leftover(name: &str, target: &str) -> bool {
    let prefix = format!(".{target}.");
    name.strip_prefix(&prefix)
        .is_some_and(|rest| rest.starts_with("tmp-") || rest.starts_with("old-"))
}

/// Write a file through `write` (given the temporary path) and rename it
/// into `path`.
pub fn write_atomic_with<E: From<FsError>>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), E> {
    let tmp = temp_path(path);
    if let Err(e) = write(&tmp) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(io_err(path))?;
    Ok(())
}

/// Write `contents` to `path` atomically.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), FsError> {
    write_atomic_with(path, |tmp| std::fs::write(tmp, contents).map_err(io_err(tmp)))
}

/// Build folder `dir` afresh: `fill` writes into an empty staging folder,
/// which then replaces `dir` (the previous one is parked under
/// [`old_path`] between two renames, then removed). A kill leaves `dir` as
/// it was, or the new one, or (between the renames) no `dir` and both
/// complete versions under their hidden names.
pub fn replace_dir<T, E: From<FsError>>(
    dir: &Path,
    fill: impl FnOnce(&Path) -> Result<T, E>,
) -> Result<T, E> {
    let tmp = temp_path(dir);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
    let value = match fill(&tmp) {
        Ok(v) => v,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
    };
    let old = old_path(dir);
    if dir.exists() {
        std::fs::rename(dir, &old).map_err(io_err(dir))?;
    }
    std::fs::rename(&tmp, dir).map_err(io_err(dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io_err(&old))?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enrelg-fs-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_failed_write_leaves_the_previous_file_and_no_temporary() {
        let dir = scratch("write");
        let path = dir.join("run.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let failed: Result<(), FsError> = write_atomic_with(&path, |tmp| {
            std::fs::write(tmp, b"half").unwrap();
            Err(io_err(tmp)(std::io::Error::other("disk full")))
        });
        assert!(failed.unwrap_err().to_string().contains("disk full"));
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        assert_eq!(names(&dir), ["run.json"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_folder_is_replaced_whole() {
        let dir = scratch("dir");
        let target = dir.join("shards");
        replace_dir(&target, |tmp| std::fs::write(tmp.join("a"), b"1").map_err(io_err(tmp)))
            .unwrap();
        replace_dir(&target, |tmp| std::fs::write(tmp.join("b"), b"2").map_err(io_err(tmp)))
            .unwrap();
        assert_eq!(names(&target), ["b"], "nothing of the previous folder survives");
        let failed: Result<(), FsError> =
            replace_dir(&target, |tmp| Err(io_err(tmp)(std::io::Error::other("killed"))));
        assert!(failed.is_err());
        assert_eq!(names(&target), ["b"]);
        assert_eq!(names(&dir), ["shards"], "no staging folder is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn leftovers_are_recognised_by_name() {
        let tmp = temp_path(Path::new("runs/r/last"));
        assert_eq!(tmp.parent().unwrap(), Path::new("runs/r"));
        let name = tmp.file_name().unwrap().to_string_lossy().into_owned();
        assert!(is_leftover(&name, "last"));
        assert!(is_leftover(
            &old_path(Path::new("last")).file_name().unwrap().to_string_lossy(),
            "last"
        ));
        assert!(
            !is_leftover("last", "last")
                && !is_leftover(".last.json", "last")
                && !is_leftover(&name, "run.json")
        );
    }

    #[test]
    fn checksums_of_bytes_and_files_agree() {
        let dir = scratch("sha");
        let path = dir.join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_file(&path).unwrap(), sha256_hex(b"abc"));
        assert!(sha256_file(&dir.join("missing")).unwrap_err().to_string().contains("missing"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
