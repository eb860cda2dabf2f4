//! The run folder's writer lock (`run.lock`), taken over from a holder that is gone.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::{RunError, LOCK};

/// The exclusive right to write a run folder, as the file `run.lock` naming
/// its holder (process id, the process's start time, command line). A second
/// writer is refused with [`RunError::Locked`]. A lock whose holder is gone
/// (killed: no such process, or another process that reuses its id) is
/// stale and taken over. Released when dropped.
pub struct RunLock {
    path: PathBuf,
    holder: String,
}

impl RunLock {
    pub fn acquire(dir: &Path) -> anyhow::Result<Self> {
        Self::acquire_file(dir, &dir.join(LOCK))
    }

    /// The lock of folder `dir` held as the file `path` (another folder's
    /// writer, e.g. `enrelg tag`'s output folder, [`crate::tag::output`]).
    pub fn acquire_file(dir: &Path, path: &Path) -> anyhow::Result<Self> {
        let path = path.to_path_buf();
        let me = Holder::current();
        let holder = serde_json::to_string(&me)?;
        // Written in full under a private name, then linked into place: the
        // lock appears atomically, complete, or not at all.
        let staged = enrelg_pipeline::fs::temp_path(&path);
        std::fs::write(&staged, &holder)
            .with_context(|| format!("writing {}", staged.display()))?;
        let result = Self::link(&staged, &path, dir);
        let _ = std::fs::remove_file(&staged);
        result?;
        Ok(Self { path, holder })
    }

    fn link(staged: &Path, path: &Path, dir: &Path) -> anyhow::Result<()> {
        for _ in 0..2 {
            match std::fs::hard_link(staged, path) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let holder: Option<Holder> = serde_json::from_str(&text).ok();
            if let Some(h) = holder.as_ref().filter(|h| h.is_alive()) {
                return Err(
                    RunError::Locked { dir: dir.to_path_buf(), holder: h.to_string() }.into()
                );
            }
            // Stale: move it aside under a name of our own, so that of two
            // processes taking it over only one succeeds.
            let aside = enrelg_pipeline::fs::old_path(path);
            if std::fs::rename(path, &aside).is_ok() {
                let moved = std::fs::read_to_string(&aside).unwrap_or_default();
                let _ = std::fs::remove_file(&aside);
                if moved != text {
                    anyhow::bail!(
                        "{}: the lock changed hands while it was being taken over; try again",
                        dir.display()
                    );
                }
                tracing::warn!(
                    "{}: taking over the stale lock of {}",
                    dir.display(),
                    holder.map_or_else(|| "an unreadable holder".into(), |h| h.to_string())
                );
            }
        }
        Err(RunError::Locked {
            dir: dir.to_path_buf(),
            holder: "another process taking over a stale lock".into(),
        }
        .into())
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Only our own lock: never one a later holder took over.
        if std::fs::read_to_string(&self.path).is_ok_and(|t| t == self.holder) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Who holds a lock.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Holder {
    pub(super) pid: u32,
    /// The process's start time (clock ticks since boot, Linux), which tells
    /// the holder from a later process that reuses its id.
    pub(super) start: Option<u64>,
    pub(super) command: String,
}

impl Holder {
    fn current() -> Self {
        let pid = std::process::id();
        Self {
            pid,
            start: process_start(pid),
            command: std::env::args().collect::<Vec<_>>().join(" "),
        }
    }

    pub(super) fn is_alive(&self) -> bool {
        if !Path::new("/proc/self").exists() {
            return true; // no way to tell: never take a lock over
        }
        match process_start(self.pid) {
            None => false,
            Some(start) => self.start.is_none_or(|s| s == start),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "process {}: {}", self.pid, self.command)
    }
}

/// A process's start time from `/proc/PID/stat` (field 22), None when no
/// such process exists or it has ended: a zombie (state `Z`, killed but not
/// yet reaped by its parent, which in a container whose first process never
/// reaps is forever) or a dying one (`X`) writes nothing more.
pub(super) fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    if matches!(fields.next()?, "Z" | "X" | "x") {
        return None;
    }
    fields.nth(18)?.parse().ok()
}
