//! Corpus-scale tagging in fixed chunks: the same work and output names on
//! every machine, so a Slurm job array (`enrelg tag --chunk i/N`) or any
//! other scheduler covers a corpus by chunk and a rerun redoes only what is
//! missing.
//!
//! A chunk is `size` consecutive lines of one JSONL input file (blank and bad
//! lines included, so chunk boundaries never depend on what is valid); the
//! chunks of all input files, files in path order, are numbered globally and
//! task `i` of `N` takes those whose number is `i` modulo `N`. Chunk `k` of
//! `DIR/a.jsonl` writes `OUT/DIR-relative/a/k.jsonl` (zero-padded `k`: five
//! digits) with one line per record, and `k.skipped.tsv`; a chunk whose
//! `.jsonl` exists is done.

use std::path::{Path, PathBuf};

use anyhow::Context;
use enrelg_pipeline::read::tree::{walk, Depth, Links};

/// Records per chunk by default: about a minute of tagging on one core.
pub const DEFAULT_CHUNK_LINES: usize = 1000;

/// Task `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Task {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Task {
    type Err = String;

    /// `i/N` (0-based `i`), or `slurm`: `SLURM_ARRAY_TASK_ID` of
    /// `SLURM_ARRAY_TASK_COUNT` (a job array `--array=0-(N-1)`).
    fn from_str(s: &str) -> Result<Self, String> {
        if s == "slurm" {
            let var = |name: &str| {
                std::env::var(name).map_err(|_| {
                    format!("--chunk slurm: {name} is not set (run inside an sbatch --array job)")
                })
            };
            let (id, count) = (var("SLURM_ARRAY_TASK_ID")?, var("SLURM_ARRAY_TASK_COUNT")?);
            return format!("{id}/{count}").parse().map_err(|e| format!("--chunk slurm: {e}"));
        }
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("--chunk {s}: expected i/N (0 <= i < N) or slurm"))?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|e| format!("--chunk {s}: {e}"))?,
            n.trim().parse::<usize>().map_err(|e| format!("--chunk {s}: {e}"))?,
        );
        if count == 0 || index >= count {
            return Err(format!("--chunk {s}: expected 0 <= i < N"));
        }
        Ok(Self { index, count })
    }
}

/// One chunk of one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The input file, relative to the input folder (its name for a single file).
    pub file: PathBuf,
    /// Chunk number within its file.
    pub index: usize,
    /// Its number among all chunks of the input.
    pub global: usize,
    /// 1-based first line and the number of lines.
    pub first_line: usize,
    pub lines: usize,
    /// Where its lines lie in the file, in bytes (line breaks included), so
    /// a task reads its chunk and not the whole file.
    pub bytes: std::ops::Range<u64>,
}

impl Chunk {
    /// `OUT/<file without .jsonl>/<index>.EXT` ([`output_path`]).
    pub fn output(&self, out: &Path, ext: &str) -> PathBuf {
        output_path(out, &self.file, self.index, ext)
    }

    /// Its lines, read from `path` (the file it was planned from), preceded by blank lines so
    /// that a JSONL reader names the lines of the whole file ([`read_lines`]).
    pub fn read(&self, path: &Path) -> anyhow::Result<Vec<u8>> {
        read_lines(path, self.first_line, self.bytes.clone())
    }
}

/// Where chunk `index` of input file `file` (relative to the input) writes:
/// `OUT/<file without its extension>/<index, five digits>.EXT`, for JSONL and any other input.
pub fn output_path(out: &Path, file: &Path, index: usize, ext: &str) -> PathBuf {
    out.join(file.with_extension("")).join(format!("{index:05}.{ext}"))
}

/// The lines at `bytes` of `path`, whose first is line `first_line`, preceded by that many blank
/// lines less one and ended by a line break.
pub fn read_lines(
    path: &Path,
    first_line: usize,
    bytes: std::ops::Range<u64>,
) -> anyhow::Result<Vec<u8>> {
    use std::io::{Read, Seek};
    let mut out = vec![b'\n'; first_line - 1];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    file.seek(std::io::SeekFrom::Start(bytes.start))
        .with_context(|| format!("reading {}", path.display()))?;
    file.take(bytes.end - bytes.start)
        .read_to_end(&mut out)
        .with_context(|| format!("reading {}", path.display()))?;
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    Ok(out)
}

/// The JSONL files of `input` (the file itself, or every `*.jsonl` under a folder) and their chunks.
pub fn plan(input: &Path, size: usize) -> anyhow::Result<Vec<Chunk>> {
    anyhow::ensure!(size > 0, "--chunk-lines must be above zero");
    let files: Vec<(PathBuf, PathBuf)> = if input.is_dir() {
        walk(input, "jsonl", Depth::Tree, Links::Follow)?
            .files
            .into_iter()
            .map(|rel| (input.join(&rel), rel))
            .collect()
    } else {
        vec![(
            input.to_path_buf(),
            PathBuf::from(input.file_name().context("an input file without a name")?),
        )]
    };
    anyhow::ensure!(!files.is_empty(), "{}: no .jsonl files", input.display());
    let mut chunks = Vec::new();
    for (path, rel) in files {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        // Where each line starts, and the end of the file after the last.
        let mut starts: Vec<u64> = std::iter::once(0)
            .chain(bytes.iter().enumerate().filter(|(_, &b)| b == b'\n').map(|(i, _)| i as u64 + 1))
            .collect();
        if bytes.ends_with(b"\n") || bytes.is_empty() {
            starts.pop();
        }
        let lines = starts.len();
        starts.push(bytes.len() as u64);
        for index in 0..lines.div_ceil(size) {
            let (first, last) = (index * size, lines.min((index + 1) * size));
            chunks.push(Chunk {
                file: rel.clone(),
                index,
                global: chunks.len(),
                first_line: first + 1,
                lines: last - first,
                bytes: starts[first]..starts[last],
            });
        }
    }
    Ok(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_every_line_once_and_tasks_split_them() {
        let dir = std::env::temp_dir().join(format!("enrelg-chunks-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::write(dir.join("a.jsonl"), "1\n2\n3\n4\n5\n").unwrap();
        std::fs::write(dir.join("b/c.jsonl"), "1\n\n3").unwrap();
        let chunks = plan(&dir, 2).unwrap();
        let shape: Vec<(String, usize, usize, usize)> = chunks
            .iter()
            .map(|c| (c.file.display().to_string(), c.index, c.first_line, c.lines))
            .collect();
        assert_eq!(
            shape,
            [
                ("a.jsonl".into(), 0, 1, 2),
                ("a.jsonl".into(), 1, 3, 2),
                ("a.jsonl".into(), 2, 5, 1),
                ("b/c.jsonl".into(), 0, 1, 2),
                ("b/c.jsonl".into(), 1, 3, 1)
            ]
        );
        assert_eq!(chunks[1].read(&dir.join("a.jsonl")).unwrap(), b"\n\n3\n4\n");
        assert_eq!(
            chunks[4].read(&dir.join("b/c.jsonl")).unwrap(),
            b"\n\n3\n",
            "a last line without its break gets one"
        );
        assert_eq!(chunks[4].output(Path::new("/o"), "jsonl"), Path::new("/o/b/c/00001.jsonl"));
        assert_eq!("1/3".parse::<Task>().unwrap(), Task { index: 1, count: 3 });
        assert!("3/3".parse::<Task>().is_err() && "x".parse::<Task>().is_err());
        let single = plan(&dir.join("a.jsonl"), 1000).unwrap();
        assert_eq!((single.len(), single[0].lines), (1, 5));
    }
}
