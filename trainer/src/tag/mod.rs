//! `enrelg tag`: raw text in, entities out, in one command.
//!
//! The input is a folder tree of `.txt` files or one JSONL file of
//! `{"id", "text"}` records. Each document is checked first
//! ([`enrelg_pipeline::read::input`]: UTF-8, not empty, not longer than a limit);
//! what fails a check is reported with its
//! file or line and left out, the rest is parsed with spaCy where no
//! up-to-date `.conllu` exists (the same `scripts/parse_conllu.py` as `make
//! parses`, embedded in the binary) and tagged as `enrelg predict` tags.
//! Work files (JSONL texts, parses) live under `OUT/.enrelg` and are reused by
//! a rerun; the output folder itself is [`crate::tag::output::OutputDir`].

pub mod batcher;
pub mod chunk;
pub mod output;
pub mod predict;

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use burn::tensor::Device;
use enrelg_pipeline::read::corpus::unannotated;
use enrelg_pipeline::read::text::is_blank;
use enrelg_pipeline::read::tree::with_ext;
use serde::Serialize;

use crate::tag::batcher::Batcher;
use crate::tag::predict::{PredictedEntity, Tagger};

/// The parse export, so that the binary parses without the repository beside it.
pub const PARSE_SCRIPT: &str = include_str!("../../../scripts/parse_conllu.py");

/// The file in a parse folder naming the parser that made its parses (the
/// script's SHA-256 and the spaCy model).
const PARSER_STAMP: &str = ".parser";

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
        // Parses made by another parser (script or spaCy model) are stale too.
        let stamp_path = parses.join(PARSER_STAMP);
        let stamp = format!(
            "{} {}\n",
            enrelg_pipeline::fs::sha256_hex(PARSE_SCRIPT.as_bytes()),
            self.model
        );
        let same_parser = std::fs::read_to_string(&stamp_path).is_ok_and(|s| s == stamp);
        if !same_parser && parses.exists() {
            // `parses` is a cache of this command's own: nothing of it is kept.
            std::fs::remove_dir_all(parses).with_context(|| {
                format!("removing the parses of another parser, {}", parses.display())
            })?;
        }
        let stale: Vec<&PathBuf> = rels
            .iter()
            .filter(|rel| {
                !same_parser
                    || !up_to_date(&with_ext(parses, rel, "conllu"), &with_ext(texts, rel, "txt"))
            })
            .collect();
        if stale.is_empty() {
            return Ok(());
        }
        anyhow::ensure!(self.python.exists(), "{}: no Python for the spaCy parser; create the environment with `make parse-venv` or pass --python", self.python.display());
        std::fs::create_dir_all(parses)
            .with_context(|| format!("creating {}", parses.display()))?;
        // Names of this process's own, removed after the parse.
        let script = enrelg_pipeline::fs::temp_path(&parses.join("parse_conllu.py"));
        let list = enrelg_pipeline::fs::temp_path(&parses.join("to-parse"));
        let _cleanup = RemoveOnDrop(vec![script.clone(), list.clone()]);
        std::fs::write(&script, PARSE_SCRIPT)
            .with_context(|| format!("writing {}", script.display()))?;
        // NUL-ended names: any file name the OS allows.
        let mut listing = Vec::new();
        for rel in &stale {
            listing.extend_from_slice(with_ext(Path::new(""), rel, "txt").as_os_str().as_bytes());
            listing.push(0);
        }
        std::fs::write(&list, listing).with_context(|| format!("writing {}", list.display()))?;
        let status = Command::new(&self.python)
            .arg(&script)
            .args(["--model", &self.model, "--force"])
            .arg("--input")
            .arg(texts)
            .arg("--output")
            .arg(parses)
            .arg("--files0")
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
        if !same_parser {
            enrelg_pipeline::fs::write_atomic(&stamp_path, stamp.as_bytes())?;
        }
        Ok(())
    }
}

/// Files removed when dropped.
struct RemoveOnDrop(Vec<PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for path in &self.0 {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether `derived` exists and is at least as new as `source`.
pub fn up_to_date(derived: &Path, source: &Path) -> bool {
    let time = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((time(derived), time(source)), (Some(d), Some(s)) if d >= s)
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
    pub score: f32,
}

impl<'a> TaggedRecord<'a> {
    pub fn new(id: &'a str, entities: &'a [PredictedEntity]) -> Self {
        Self {
            id,
            entities: entities
                .iter()
                .map(|e| TaggedEntity {
                    ty: &e.ty,
                    start: e.start,
                    end: e.end,
                    text: &e.text,
                    score: e.score,
                })
                .collect(),
        }
    }

    /// Its line of `tagged.jsonl`, without the line break.
    pub fn to_json(&self) -> String {
        // A struct of strings and numbers always serialises.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// One text to tag that was parsed in memory (the Python package runs spaCy in-process with
/// the parse script `enrelg tag` runs, [`PARSE_SCRIPT`]).
pub struct ParsedText {
    pub id: String,
    pub text: String,
    /// Its CoNLL-U parse; empty for a blank text (no entities, no model).
    pub conllu: String,
}

/// Tag texts parsed in memory, in order: each one's `tagged.jsonl` line as `enrelg tag` writes
/// it for the same record, or why it was not tagged (a parse that does not fit its text). The
/// documents go through the same batches as `enrelg tag` puts them in ([`Batcher`]); an error of
/// the model itself fails the call.
pub fn tag_parsed(
    tagger: &Tagger,
    texts: Vec<ParsedText>,
    device: &Device,
) -> anyhow::Result<Vec<Result<String, String>>> {
    let mut out: Vec<Result<String, String>> = vec![Ok(String::new()); texts.len()];
    let ids: Vec<String> = texts.iter().map(|t| t.id.clone()).collect();
    let mut batcher: Batcher<usize> = Batcher::default();
    let write = |done: Vec<(Vec<PredictedEntity>, usize)>,
                 out: &mut Vec<Result<String, String>>| {
        for (entities, i) in done {
            out[i] = Ok(TaggedRecord::new(&ids[i], &entities).to_json());
        }
    };
    for (i, t) in texts.into_iter().enumerate() {
        if is_blank(&t.text) {
            out[i] = Ok(TaggedRecord::new(&t.id, &[]).to_json());
            continue;
        }
        let origin = PathBuf::from(format!("text {i} (id {:?})", t.id));
        let doc = match unannotated(t.id, t.text, &t.conllu, &origin) {
            Ok(doc) => doc,
            Err(e) => {
                out[i] = Err(e.to_string());
                continue;
            }
        };
        let prepared = match tagger.prepare(doc) {
            Ok(p) => p,
            Err(e) => {
                out[i] = Err(format!("{e:#}"));
                continue;
            }
        };
        write(batcher.push(tagger, prepared, i, device)?, &mut out);
    }
    write(batcher.finish(tagger, device)?, &mut out);
    Ok(out)
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
    fn up_to_date_compares_times() {
        let dir = scratch("times");
        let (a, b) = (dir.join("a.txt"), dir.join("a.conllu"));
        std::fs::write(&a, "x").unwrap();
        assert!(!up_to_date(&b, &a));
        std::fs::write(&b, "y").unwrap();
        assert!(up_to_date(&b, &a));
    }
}
