//! Raw documents in: the records of a JSONL input and the checks every
//! text passes before it is parsed and tagged (`enrelg tag`).
//!
//! What fails a check is reported with its file and line (or line and
//! column) and left out; the rest goes on. `enrelg_pipeline::fuzzing::tag_input`
//! fuzzes these readers.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fs::{io_err, FsError};
use crate::read::text::{is_blank, read_document_file, ReadError, BOM};
use crate::skips::{SkipReport, Unit};

/// Longest document tagged by default, in characters (about 30k words; a
/// Mars abstract has 3-10k characters). Longer input is almost always a
/// concatenation that should be split into documents.
pub const DEFAULT_MAX_CHARS: usize = 200_000;

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
pub fn read_jsonl(path: &Path, skipped: &mut SkipReport) -> Result<Vec<JsonlRecord>, FsError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    Ok(parse_jsonl(&bytes, path, skipped))
}

/// The records of JSONL `bytes` read from `path` (named in the messages), as [`read_jsonl`].
pub fn parse_jsonl(bytes: &[u8], path: &Path, skipped: &mut SkipReport) -> Vec<JsonlRecord> {
    let mut out = Vec::new();
    let mut first_line: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = i + 1;
        let at = format!("{}:{line}", path.display());
        let Ok(raw) = std::str::from_utf8(raw) else {
            skipped.add(Unit::Line, "JSONL line not UTF-8", format!("{at}: not UTF-8"));
            continue;
        };
        let raw = raw.trim_start_matches(BOM).trim();
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
                skipped.add(
                    Unit::Line,
                    "JSONL record without an id",
                    format!("{at}: no string or integer \"id\""),
                );
                continue;
            }
        };
        let Some(text) = value.get("text").and_then(|t| t.as_str()) else {
            skipped.add(
                Unit::Line,
                "JSONL record without a text",
                format!("{at}: no string \"text\" (id {id:?})"),
            );
            continue;
        };
        if let Some(first) = first_line.get(&id) {
            skipped.add(
                Unit::Line,
                "JSONL duplicate id",
                format!(
                    "{at}: duplicate id {id:?} (first on line {first}); this record is not tagged"
                ),
            );
            continue;
        }
        first_line.insert(id.clone(), line);
        out.push(JsonlRecord { line, id, text: text.to_string() });
    }
    out
}

/// What the checks found in one document's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextCheck {
    /// Words to tag.
    Text,
    /// Nothing but whitespace: tagged as no entities without running the model.
    Empty,
}

/// Check one text before parsing: whitespace-only texts (the parser's
/// whitespace, [`is_blank`]) are [`TextCheck::Empty`];
/// one longer than `max_chars` characters is refused (the message says how
/// to proceed).
pub fn check_text(text: &str, max_chars: usize) -> Result<TextCheck, String> {
    if is_blank(text) {
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
pub fn read_checked(
    path: &Path,
    max_chars: usize,
) -> Result<(String, TextCheck), (&'static str, String)> {
    let text = read_document_file(path).map_err(|e| match e {
        ReadError::Io(e) => ("unreadable file", format!("{}: {e}", path.display())),
        ReadError::Encoding { line, column, byte } => (
            "not UTF-8",
            format!(
                "{}:{line}:{column}: not UTF-8 (invalid byte at offset {byte})",
                path.display()
            ),
        ),
    })?;
    let check = check_text(&text, max_chars)
        .map_err(|why| ("too long", format!("{}: {why}", path.display())))?;
    Ok((text, check))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("enrelg-input-{name}-{}", std::process::id()));
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
        assert_eq!(
            records.iter().map(|r| (r.line, r.id.as_str())).collect::<Vec<_>>(),
            vec![(1, "a"), (4, "7")]
        );
        assert_eq!(skipped.lines, 5);
        let text = skipped.to_string();
        assert!(text.contains(&format!("{}:2: not JSON", path.display())), "{text}");
        assert!(
            text.contains(&format!("{}:5: duplicate id \"a\" (first on line 1)", path.display())),
            "{text}"
        );
        assert!(text.contains(":6: no string or integer \"id\""), "{text}");
        assert!(text.contains(":7: no string \"text\""), "{text}");
        assert!(text.contains(":8: no string or integer \"id\""), "{text}");
        // Distinct ids, distinct stable file names.
        assert_ne!(records[0].file_stem(), records[1].file_stem());
        assert_eq!(
            records[0].file_stem(),
            JsonlRecord { line: 9, id: "a".into(), text: String::new() }.file_stem()
        );
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
    fn a_bom_counts_and_the_parsers_whitespace_is_blank() {
        let dir = scratch("bom");
        let bom = dir.join("bom.txt");
        std::fs::write(&bom, b"\xef\xbb\xbfFe").unwrap();
        assert_eq!(read_checked(&bom, 100).unwrap(), ("\u{feff}Fe".to_string(), TextCheck::Text));
        assert_eq!(check_text("\u{feff}\u{1c}\u{1f} \n", 100), Ok(TextCheck::Empty));
    }
}
