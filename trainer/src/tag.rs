//! `enrelg tag`: raw text in, entities out, in one command.
//!
//! The input is a folder tree of `.txt` files or one JSONL file of
//! `{"id", "text"}` records. Each document is checked first (UTF-8, not
//! empty, not longer than a limit); what fails a check is reported with its
//! file or line and left out, the rest is parsed with spaCy where no
//! up-to-date `.conllu` exists (the same `scripts/parse_conllu.py` as `make
//! parses`, embedded in the binary) and tagged as `enrelg predict` tags.
//! Work files (JSONL texts, parses) live under `OUT/.enrelg` and are reused by
//! a rerun.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use enrelg_pipeline::skips::{SkipReport, Unit};
use enrelg_pipeline::text::{read_utf8_file, ReadError};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::predict::PredictedEntity;
use crate::run::RunInfo;

/// The parse export, so that the binary parses without the repository beside it.
pub const PARSE_SCRIPT: &str = include_str!("../../scripts/parse_conllu.py");

/// Longest document tagged by default, in characters (about 30k words; a
/// Mars abstract has 3-10k characters). Longer input is almost always a
/// concatenation that should be split into documents.
pub const DEFAULT_MAX_CHARS: usize = 200_000;

/// Where `enrelg tag` keeps its work files inside the output folder.
pub const WORK_DIR: &str = ".enrelg";

/// One record of a JSONL input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonlRecord {
    /// 1-based line in the input file.
    pub line: usize,
    pub id: String,
    pub text: String,
}

impl JsonlRecord {
    /// The record's text file name under the work folder: a hash of the id,
    /// so any id is a safe file name and a rerun finds its earlier parse.
    pub fn file_stem(&self) -> String {
        let digest = Sha256::digest(self.id.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The records of a JSONL file; a line that is not a JSON object with a
/// string `id` (or an integer one) and a string `text`, or that repeats an
/// earlier id, is reported in `skipped` (file and line) and left out. Blank
/// lines hold nothing and are passed over.
pub fn read_jsonl(path: &Path, skipped: &mut SkipReport) -> anyhow::Result<Vec<JsonlRecord>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::new();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let at = format!("{}:{line}", path.display());
        let Ok(raw) = std::str::from_utf8(raw) else {
            skipped.add(Unit::Line, "JSONL line not UTF-8", format!("{at}: not UTF-8"));
            continue;
        };
        let raw = raw.trim_start_matches('\u{feff}').trim();
        if raw.is_empty() {
            continue;
        }
        let value: serde_json::Value = match serde_json::from_str(raw) {
            Ok(v) => v,
            Err(e) => {
                skipped.add(Unit::Line, "JSONL line not JSON", format!("{at}: not JSON: {e}"));
                continue;
            }
        };
        let id = match value.get("id") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
            _ => {
                skipped.add(Unit::Line, "JSONL record without an id", format!("{at}: no string or integer \"id\""));
                continue;
            }
        };
        let Some(text) = value.get("text").and_then(|t| t.as_str()) else {
            skipped.add(Unit::Line, "JSONL record without a text", format!("{at}: no string \"text\" (id {id:?})"));
            continue;
        };
        if let Some(first) = first_line.get(&id) {
            skipped.add(Unit::Line, "JSONL duplicate id", format!("{at}: duplicate id {id:?} (first on line {first}); this record is not tagged"));
            continue;
        }
        first_line.insert(id.clone(), line);
        out.push(JsonlRecord { line, id, text: text.to_string() });
    }
    Ok(out)
}

/// What the checks found in one document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextCheck {
    /// Words to tag.
    Text,
    /// Nothing but whitespace: tagged as no entities without running the model.
    Empty,
}

/// Check one text before parsing: whitespace-only texts are [`TextCheck::Empty`];
/// one longer than `max_chars` characters is refused (the message says how
/// to proceed).
pub fn check_text(text: &str, max_chars: usize) -> Result<TextCheck, String> {
    if text.trim().is_empty() {
        return Ok(TextCheck::Empty);
    }
    let chars = text.chars().count();
    if chars > max_chars {
        let lines = text.lines().count();
        return Err(format!("{chars} characters in {lines} line(s), more than --max-chars {max_chars}: split it into documents, or raise --max-chars"));
    }
    Ok(TextCheck::Text)
}

/// Read and check one `.txt` file: its text, or the reason (with line and
/// column for invalid UTF-8) it is left out.
pub fn read_checked(path: &Path, max_chars: usize) -> Result<(String, TextCheck), (&'static str, String)> {
    let text = read_utf8_file(path).map_err(|e| match e {
        ReadError::Io(e) => ("unreadable file", format!("{}: {e}", path.display())),
        ReadError::Encoding { line, column, byte } => ("not UTF-8", format!("{}:{line}:{column}: not UTF-8 (invalid byte at offset {byte})", path.display())),
    })?;
    let check = check_text(&text, max_chars).map_err(|why| ("too long", format!("{}: {why}", path.display())))?;
    Ok((text, check))
}

/// The newest `make train` run of `dataset` under `runs_dir` (folders
/// `DATASET-*` directly inside it holding `run.json` and a checkpoint), by
/// checkpoint time; an error that says how to train one when there is none.
pub fn newest_run(runs_dir: &Path, dataset: &str) -> anyhow::Result<PathBuf> {
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
    let prefix = format!("{dataset}-");
    if let Ok(entries) = std::fs::read_dir(runs_dir) {
        for entry in entries.flatten() {
            let dir = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with(&prefix) || !dir.join("run.json").exists() {
                continue;
            }
            let Ok(info) = RunInfo::read(&dir) else { continue };
            if let Ok(modified) = std::fs::metadata(dir.join(info.checkpoint_file())).and_then(|m| m.modified()) {
                found.push((modified, dir));
            }
        }
    }
    found.sort();
    found.pop().map(|(_, dir)| dir).with_context(|| {
        format!(
            "no trained {dataset} run under {}/ (a folder {prefix}* with run.json and a checkpoint): train one with `make train DATASET={dataset}`, or name a run with RUN=DIR (enrelg tag --run DIR)",
            runs_dir.display()
        )
    })
}

/// The spaCy environment that parses the documents.
pub struct Parser {
    pub python: PathBuf,
    /// An installed spaCy pipeline package or a folder.
    pub model: String,
}

impl Parser {
    /// Parse `texts/REL.txt` into `parses/REL.conllu` for each of `rels` whose
    /// parse is missing or older than its text. Documents the parser cannot
    /// handle are named on stderr and get no parse (the tagger then counts
    /// them as skipped).
    pub fn parse(&self, texts: &Path, rels: &[PathBuf], parses: &Path) -> anyhow::Result<()> {
        let stale: Vec<&PathBuf> = rels.iter().filter(|rel| !up_to_date(&with_ext(parses, rel, "conllu"), &with_ext(texts, rel, "txt"))).collect();
        if stale.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(self.python.exists(), "{}: no Python for the spaCy parser; create the environment with `make parse-venv` or pass --python", self.python.display());
        std::fs::create_dir_all(parses).with_context(|| format!("creating {}", parses.display()))?;
        let script = parses.join(".parse_conllu.py");
        std::fs::write(&script, PARSE_SCRIPT).with_context(|| format!("writing {}", script.display()))?;
        let list = parses.join(".to-parse.txt");
        let listing: String = stale.iter().map(|rel| format!("{}.txt\n", rel.display())).collect();
        std::fs::write(&list, listing).with_context(|| format!("writing {}", list.display()))?;
        let status = Command::new(&self.python)
            .arg(&script)
            .args(["--model", &self.model, "--force"])
            .arg("--input")
            .arg(texts)
            .arg("--output")
            .arg(parses)
            .arg("--files")
            .arg(&list)
            .status()
            .with_context(|| format!("running {}", self.python.display()))?;
        // 3: some documents could not be parsed, each named on stderr.
        anyhow::ensure!(
            status.success() || status.code() == Some(3),
            "the spaCy parser failed ({status}): {} {} --model {} (is `{}` installed in that environment?)",
            self.python.display(),
            script.display(),
            self.model,
            self.model
        );
        Ok(())
    }
}

/// Whether `derived` exists and is at least as new as `source`.
pub fn up_to_date(derived: &Path, source: &Path) -> bool {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((time(derived), time(source)), (Some(d), Some(s)) if d >= s)
}

fn with_ext(base: &Path, rel: &Path, ext: &str) -> PathBuf {
    crate::predict::with_ext(base, rel, ext)
}

/// One line of the JSONL output: the input record's id and its entities
/// (offsets in Unicode code points into its `text`, end exclusive, as brat).
#[derive(Debug, Serialize)]
pub struct TaggedRecord<'a> {
    pub id: &'a str,
    pub entities: Vec<TaggedEntity<'a>>,
}

#[derive(Debug, Serialize)]
pub struct TaggedEntity<'a> {
    #[serde(rename = "type")]
    pub ty: &'a str,
    pub start: usize,
    pub end: usize,
    pub text: &'a str,
}

impl<'a> TaggedRecord<'a> {
    pub fn new(id: &'a str, entities: &'a [PredictedEntity]) -> Self {
        Self { id, entities: entities.iter().map(|e| TaggedEntity { ty: &e.ty, start: e.start, end: e.end, text: &e.text }).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enrelg-tag-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn jsonl_bad_lines_are_named_and_the_rest_kept() {
        let dir = scratch("jsonl");
        let path = dir.join("in.jsonl");
        let body = [
            r#"{"id": "a", "text": "Curiosity analysed Windjana."}"#,
            r#"{"id": "b", "text": "#,
            "",
            r#"{"id": 7, "text": "Hematite at Pahrump."}"#,
            r#"{"id": "a", "text": "again"}"#,
            r#"{"text": "no id"}"#,
            r#"{"id": "c"}"#,
            r#"[1, 2]"#,
        ]
        .join("\n");
        std::fs::write(&path, body).unwrap();
        let mut skipped = SkipReport::default();
        let records = read_jsonl(&path, &mut skipped).unwrap();
        assert_eq!(records.iter().map(|r| (r.line, r.id.as_str())).collect::<Vec<_>>(), vec![(1, "a"), (4, "7")]);
        assert_eq!(skipped.lines, 5);
        let text = skipped.to_string();
        assert!(text.contains(&format!("{}:2: not JSON", path.display())), "{text}");
        assert!(text.contains(&format!("{}:5: duplicate id \"a\" (first on line 1)", path.display())), "{text}");
        assert!(text.contains(":6: no string or integer \"id\""), "{text}");
        assert!(text.contains(":7: no string \"text\""), "{text}");
        assert!(text.contains(":8: no string or integer \"id\""), "{text}");
        // Distinct ids, distinct stable file names.
        assert_ne!(records[0].file_stem(), records[1].file_stem());
        assert_eq!(records[0].file_stem(), JsonlRecord { line: 9, id: "a".into(), text: String::new() }.file_stem());
    }

    #[test]
    fn texts_are_checked_with_file_and_position() {
        let dir = scratch("check");
        let bad = dir.join("latin1.txt");
        std::fs::write(&bad, b"Gale crater\nSchr\xf6der\n").unwrap();
        let (reason, msg) = read_checked(&bad, 100).unwrap_err();
        assert_eq!(reason, "not UTF-8");
        assert!(msg.starts_with(&format!("{}:2:5: not UTF-8", bad.display())), "{msg}");
        let empty = dir.join("empty.txt");
        std::fs::write(&empty, " \n\n").unwrap();
        assert_eq!(read_checked(&empty, 100).unwrap().1, TextCheck::Empty);
        let long = dir.join("long.txt");
        std::fs::write(&long, "Fe ".repeat(50)).unwrap();
        let (reason, msg) = read_checked(&long, 100).unwrap_err();
        assert_eq!(reason, "too long");
        assert!(msg.contains("150 characters in 1 line(s), more than --max-chars 100"), "{msg}");
        assert_eq!(read_checked(&long, 150).unwrap().1, TextCheck::Text);
    }

    #[test]
    fn no_run_says_how_to_train_one() {
        let dir = scratch("runs");
        let err = newest_run(&dir, "mars").unwrap_err().to_string();
        assert!(err.contains("make train DATASET=mars") && err.contains("RUN=DIR"), "{err}");
    }

    #[test]
    fn up_to_date_compares_times() {
        let dir = scratch("times");
        let (a, b) = (dir.join("a.txt"), dir.join("a.conllu"));
        std::fs::write(&a, "x").unwrap();
        assert!(!up_to_date(&b, &a));
        std::fs::write(&b, "y").unwrap();
        assert!(up_to_date(&b, &a));
    }
}
