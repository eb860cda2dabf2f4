//! Reader for brat standoff annotation (`.txt` + `.ann`).
//!
//! Offsets are Unicode character offsets into the `.txt` (as brat, a Python
//! program, counts them), end exclusive. The `.txt` is taken verbatim except
//! for a leading UTF-8 byte order mark, which is removed before counting;
//! a `\r` of a CRLF line ending is a character like any other, so offsets
//! written by brat on CRLF files stay valid. Text-bound (`T`) lines become
//! [`Entity`] values, checked against the text; relations (`R`) and events (`E`)
//! become [`Relation`] values, their arguments checked to name annotations of the
//! file; every other line kind (`A`/`M`, `N`, `#`, `*`) is syntax-checked and counted. A line
//! of an unknown kind is returned as a warning ([`BratError::UnknownKind`])
//! and left out; every other problem is an error (see [`crate::skips`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::read::document::{Entity, Relation};
use crate::read::text::{is_space, read_document_file, read_utf8_file, ReadError, Text};

#[derive(Debug, Error)]
pub enum BratError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: invalid UTF-8 (byte {byte}); brat files must be UTF-8", path.display())]
    Encoding { path: PathBuf, line: usize, column: usize, byte: usize },
    #[error("{}:{line}:{column}: {message}", path.display())]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{}:{line}: {id} has span {start}-{end}, outside {} ({len} characters)", path.display(), txt.display())]
    OutOfRange {
        path: PathBuf,
        line: usize,
        id: String,
        start: usize,
        end: usize,
        txt: PathBuf,
        len: usize,
    },
    #[error("{}:{line}: {id} has reversed or empty span {start}-{end}", path.display())]
    Reversed { path: PathBuf, line: usize, id: String, start: usize, end: usize },
    #[error("{}:{line}: {id} says {expected:?} but {} has {found:?} at {spans}", path.display(), txt.display())]
    SurfaceMismatch {
        path: PathBuf,
        line: usize,
        id: String,
        expected: String,
        txt: PathBuf,
        found: String,
        spans: String,
    },
    #[error("{}:{line}: annotation id {id} already used on line {first}", path.display())]
    DuplicateId { path: PathBuf, line: usize, id: String, first: usize },
    #[error("{}:{line}:1: unknown annotation id {id:?}: expected T, R, E, A, M, N, # or * followed by a number", path.display())]
    UnknownKind { path: PathBuf, line: usize, id: String },
    #[error("{}:{line}: {id}'s argument {role}:{argument} names no annotation of the file", path.display())]
    DanglingArgument { path: PathBuf, line: usize, id: String, role: String, argument: String },
}

impl BratError {
    /// The reason this error is counted under when its document is skipped.
    pub fn reason(&self) -> &'static str {
        match self {
            BratError::Io { .. } => "unreadable file",
            BratError::Encoding { .. } => "invalid UTF-8",
            BratError::Syntax { .. } => "malformed .ann line",
            BratError::OutOfRange { .. } => ".ann span past the end of the text",
            BratError::Reversed { .. } => ".ann span reversed or empty",
            BratError::SurfaceMismatch { .. } => ".ann surface text differs from the .txt",
            BratError::DuplicateId { .. } => "duplicate .ann id",
            BratError::UnknownKind { .. } => "unknown .ann line kind",
            BratError::DanglingArgument { .. } => ".ann relation argument names no annotation",
        }
    }
}

/// What an `.ann` file holds: entities, relations and events, lines per kind, and the lines
/// left out.
#[derive(Debug, Default)]
pub struct Annotations {
    pub entities: Vec<Entity>,
    /// `R` and `E` lines whose arguments all name annotations of the file.
    pub relations: Vec<Relation>,
    pub annotation_lines: BTreeMap<String, usize>,
    /// Lines left out, each with its reason and place: of an unknown kind
    /// ([`BratError::UnknownKind`]), or a flawed annotation (a span outside the text or
    /// reversed, a surface that differs from the text, a second line with one id, a malformed
    /// line). The rest of the file is read.
    pub skipped: Vec<BratError>,
}

/// One brat document: its text and what its `.ann` holds.
#[derive(Debug)]
pub struct Standoff {
    pub id: String,
    pub text: Text,
    pub entities: Vec<Entity>,
    /// Relations and events ([`Annotations::relations`]).
    pub relations: Vec<Relation>,
    /// Lines per annotation kind (`T`, `R`, `E`, `A`, `M`, `N`, `#`, `*`).
    pub annotation_lines: BTreeMap<String, usize>,
    /// Lines left out ([`Annotations::skipped`]).
    pub skipped: Vec<BratError>,
}

/// Read `stem.txt` and `stem.ann`; the document id is the file stem.
pub fn read(txt_path: &Path, ann_path: &Path) -> Result<Standoff, BratError> {
    let text = read_text(txt_path)?;
    let ann = read_utf8(ann_path)?;
    let Annotations { entities, relations, annotation_lines, skipped } =
        parse_ann(&ann, &text, ann_path, txt_path)?;
    let id = txt_path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(Standoff { id, text, entities, relations, annotation_lines, skipped })
}

/// Read a `.txt` file as document text: UTF-8, a byte order mark kept as its
/// first character, since brat counts it in the offsets.
pub fn read_text(path: &Path) -> Result<Text, BratError> {
    Ok(Text::new(read_with(path, read_document_file)?))
}

fn read_utf8(path: &Path) -> Result<String, BratError> {
    read_with(path, read_utf8_file)
}

fn read_with(
    path: &Path,
    read: fn(&Path) -> Result<String, ReadError>,
) -> Result<String, BratError> {
    read(path).map_err(|e| match e {
        ReadError::Io(source) => BratError::Io { path: path.to_path_buf(), source },
        ReadError::Encoding { line, column, byte } => {
            BratError::Encoding { path: path.to_path_buf(), line, column, byte }
        }
    })
}

/// The kind of an annotation line, from its id: `T12` -> `T`, `#3` -> `#`.
fn line_kind(id: &str) -> Option<&'static str> {
    Some(match id.chars().next()? {
        'T' => "T",
        'R' => "R",
        'E' => "E",
        'A' => "A",
        'M' => "M",
        'N' => "N",
        '#' => "#",
        '*' => "*",
        _ => return None,
    })
}

/// One entity line of an `.ann` file, `T{n}\tTYPE START END\tSURFACE\n`, for the entity over
/// characters `start..end` whose text is `surface`. Where the text holds a tab or a line break
/// between two words ([`crate::read::text::is_line_break`], which would end the line for brat's
/// reader), the entity is written as brat writes such a span: cut at each of those whitespace
/// runs into fragments `S1 E1;S2 E2`, its surface the fragments' texts joined by single spaces,
/// so that every fragment slices to its part of the surface. [`parse_ann`] reads the line back
/// as the one entity over `start..end`; an entity without them is one span, as before.
pub fn entity_line(n: usize, ty: &str, start: usize, end: usize, surface: &str) -> String {
    let chars: Vec<char> = surface.chars().collect();
    debug_assert_eq!(chars.len(), end - start, "surface of {start}..{end}");
    let frags = fragments(&chars);
    let spans: Vec<String> =
        frags.iter().map(|&(s, e)| format!("{} {}", start + s, start + e)).collect();
    // A break left inside a fragment (one at the entity's edge) still becomes a space.
    let texts: Vec<String> = frags
        .iter()
        .map(|&(s, e)| {
            chars[s..e]
                .iter()
                .map(|&c| if c == '\t' || crate::read::text::is_line_break(c) { ' ' } else { c })
                .collect()
        })
        .collect();
    format!("T{n}\t{ty} {}\t{}\n", spans.join(";"), texts.join(" "))
}

/// The fragments (relative character ranges) of an entity's text: cut at every run of
/// whitespace between two words that holds a tab or a line break.
fn fragments(chars: &[char]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let (mut frag_start, mut i) = (0, 0);
    while i < chars.len() {
        if !is_space(chars[i]) {
            i += 1;
            continue;
        }
        let run_start = i;
        while i < chars.len() && is_space(chars[i]) {
            i += 1;
        }
        let breaks =
            chars[run_start..i].iter().any(|&c| c == '\t' || crate::read::text::is_line_break(c));
        if breaks && run_start > 0 && i < chars.len() {
            out.push((frag_start, run_start));
            frag_start = i;
        }
    }
    out.push((frag_start, chars.len()));
    out
}

/// Fragments separated only by whitespace are one continuous entity (brat cuts a span at line
/// breaks, and [`entity_line`] at tabs too): merge them into their cover.
fn join_whitespace_gaps(spans: Vec<(usize, usize)>, text: &Text) -> Vec<(usize, usize)> {
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        if let Some(last) = out.last_mut() {
            if last.1 <= s && text.slice(last.1, s).is_some_and(|gap| gap.chars().all(is_space)) {
                last.1 = e;
                continue;
            }
        }
        out.push((s, e));
    }
    out
}

/// Parse the content of an `.ann` file against its text.
pub fn parse_ann(
    ann: &str,
    text: &Text,
    ann_path: &Path,
    txt_path: &Path,
) -> Result<Annotations, BratError> {
    let mut skipped = Vec::new();
    let mut entities = Vec::new();
    let mut relations = Vec::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, raw) in ann.split('\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        let mut fields = line.splitn(3, '\t');
        let id = fields.next().unwrap_or_default();
        let at = AnnLine { path: ann_path, txt: txt_path, line_no, id, line };
        let Some(kind) = line_kind(id) else {
            skipped.push(BratError::UnknownKind {
                path: ann_path.to_path_buf(),
                line: line_no,
                id: id.into(),
            });
            continue;
        };
        // A flawed line costs that annotation only: it is left out with its reason and place,
        // and the rest of the document is read (the caller counts it, or stops with --strict).
        let Some(body) = fields.next() else {
            skipped.push(
                at.syntax(id.chars().count() + 1, "missing tab after the annotation id".into()),
            );
            continue;
        };
        if kind != "*" {
            if let Some(first) = seen.insert(id.to_string(), line_no) {
                skipped.push(BratError::DuplicateId {
                    path: ann_path.to_path_buf(),
                    line: line_no,
                    id: id.into(),
                    first,
                });
                continue;
            }
        }
        if kind != "T" {
            if body.split_whitespace().next().is_none() {
                skipped.push(
                    at.syntax(
                        id.chars().count() + 2,
                        format!("{kind} annotation {id} has no type"),
                    ),
                );
                continue;
            }
            *kinds.entry(kind.to_string()).or_default() += 1;
            if kind == "R" || kind == "E" {
                match parse_relation(&at, kind, body) {
                    Ok(relation) => relations.push(relation),
                    Err(e) => skipped.push(e),
                }
            }
            continue;
        }
        match parse_entity(&at, body, fields.next(), text) {
            Ok(entity) => {
                *kinds.entry(kind.to_string()).or_default() += 1;
                entities.push(entity);
            }
            Err(e) => skipped.push(e),
        }
    }
    // Arguments may name annotations further down the file: checked once every id is known.
    let (relations, dangling) = check_arguments(relations, &seen, ann_path);
    skipped.extend(dangling);
    Ok(Annotations { entities, relations, annotation_lines: kinds, skipped })
}

/// An `R` body, `TYPE Arg1:ID Arg2:ID`, or an `E` body, `TYPE:TRIGGER ROLE:ID ...`.
fn parse_relation(at: &AnnLine, kind: &str, body: &str) -> Result<Relation, BratError> {
    let mut words = body.split_whitespace();
    let head = words.next().unwrap_or_default();
    let pair = |word: &str| {
        word.split_once(':')
            .filter(|(role, id)| !role.is_empty() && !id.is_empty())
            .map(|(role, id)| (role.to_string(), id.to_string()))
    };
    let (ty, trigger) = if kind == "E" {
        let (ty, trigger) = pair(head).ok_or_else(|| {
            at.syntax(
                at.id.chars().count() + 2,
                format!("event {} needs TYPE:TRIGGER first, not {head:?}", at.id),
            )
        })?;
        (ty, Some(trigger))
    } else {
        (head.to_string(), None)
    };
    let arguments = words
        .map(|w| {
            pair(w).ok_or_else(|| {
                at.syntax(
                    at.id.chars().count() + 2,
                    format!("{} argument {w:?} is not ROLE:ID", at.id),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if kind == "R" && arguments.len() != 2 {
        let message = format!("relation {} has {} arguments, not 2", at.id, arguments.len());
        return Err(at.syntax(at.id.chars().count() + 2, message));
    }
    Ok(Relation { id: at.id.to_string(), ty, trigger, arguments, line: at.line_no })
}

/// The relations whose trigger and arguments all name annotations of the file, and an error for
/// each one that names an id the file lacks.
fn check_arguments(
    relations: Vec<Relation>,
    ids: &HashMap<String, usize>,
    path: &Path,
) -> (Vec<Relation>, Vec<BratError>) {
    let mut kept = Vec::with_capacity(relations.len());
    let mut dangling = Vec::new();
    for r in relations {
        let trigger = r.trigger.iter().map(|t| ("trigger".to_string(), t.clone()));
        let missing =
            r.arguments.iter().cloned().chain(trigger).find(|(_, id)| !ids.contains_key(id));
        match missing {
            None => kept.push(r),
            Some((role, argument)) => dangling.push(BratError::DanglingArgument {
                path: path.to_path_buf(),
                line: r.line,
                id: r.id.clone(),
                role,
                argument,
            }),
        }
    }
    (kept, dangling)
}

/// One `.ann` line being read, for its errors.
struct AnnLine<'a> {
    path: &'a Path,
    txt: &'a Path,
    line_no: usize,
    id: &'a str,
    line: &'a str,
}

impl AnnLine<'_> {
    fn syntax(&self, column: usize, message: String) -> BratError {
        BratError::Syntax { path: self.path.to_path_buf(), line: self.line_no, column, message }
    }
}

/// An entity line's `TYPE START END[;START END...]` body and surface text, checked against the
/// document's text.
fn parse_entity(
    at: &AnnLine,
    body: &str,
    surface: Option<&str>,
    text: &Text,
) -> Result<Entity, BratError> {
    let (id, line_no) = (at.id, at.line_no);
    let body_col = id.chars().count() + 2;
    let (ty, spans_str) = body.split_once(' ').ok_or_else(|| {
        at.syntax(body_col, format!("{id}: expected \"TYPE START END\", found {body:?}"))
    })?;
    if ty.is_empty() {
        return Err(at.syntax(body_col, format!("{id}: empty entity type")));
    }
    let spans = parse_spans(at, spans_str, body_col + ty.chars().count() + 1, text)?;
    let Some(surface) = surface else {
        return Err(at.syntax(
            at.line.chars().count() + 1,
            format!("{id}: missing tab-separated surface text"),
        ));
    };
    // brat joins the fragments of a discontinuous span with a space, and a
    // newline inside an entity is written as a space, so compare with all
    // whitespace folded to a single space character.
    let found = spans.iter().filter_map(|&(s, e)| text.slice(s, e)).collect::<Vec<_>>().join(" ");
    if fold_ws(&found) != fold_ws(surface) {
        let spans_desc =
            spans.iter().map(|(s, e)| format!("{s}-{e}")).collect::<Vec<_>>().join(";");
        return Err(BratError::SurfaceMismatch {
            path: at.path.to_path_buf(),
            line: line_no,
            id: id.into(),
            expected: surface.into(),
            txt: at.txt.to_path_buf(),
            found,
            spans: spans_desc,
        });
    }
    let spans = join_whitespace_gaps(spans, text);
    Ok(Entity { id: id.into(), ty: ty.into(), spans, line: line_no })
}

/// The `START END` fragments of an entity (`column`: where they start on the line), each
/// within the text and not reversed.
fn parse_spans(
    at: &AnnLine,
    spans_str: &str,
    column: usize,
    text: &Text,
) -> Result<Vec<(usize, usize)>, BratError> {
    let (id, line_no) = (at.id, at.line_no);
    let mut spans = Vec::new();
    for frag in spans_str.split(';') {
        let nums: Vec<&str> = frag.split_whitespace().collect();
        let parse = |s: &str| s.parse::<usize>().ok();
        let (Some(start), Some(end)) =
            (nums.first().and_then(|s| parse(s)), nums.get(1).and_then(|s| parse(s)))
        else {
            return Err(at.syntax(
                column,
                format!(
                    "{id}: bad span {frag:?}, expected two non-negative integers \"START END\""
                ),
            ));
        };
        if nums.len() != 2 {
            return Err(
                at.syntax(column, format!("{id}: bad span {frag:?}, expected \"START END\""))
            );
        }
        if start >= end {
            return Err(BratError::Reversed {
                path: at.path.to_path_buf(),
                line: line_no,
                id: id.into(),
                start,
                end,
            });
        }
        if end > text.len_chars() {
            return Err(BratError::OutOfRange {
                path: at.path.to_path_buf(),
                line: line_no,
                id: id.into(),
                start,
                end,
                txt: at.txt.to_path_buf(),
                len: text.len_chars(),
            });
        }
        spans.push((start, end));
    }
    Ok(spans)
}

fn fold_ws(s: &str) -> String {
    s.chars().map(|c| if is_space(c) { ' ' } else { c }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(txt: &str, ann: &str) -> Result<(Vec<Entity>, BTreeMap<String, usize>), BratError> {
        parse_ann(ann, &Text::new(txt.to_string()), Path::new("d.ann"), Path::new("d.txt"))
            .map(|a| (a.entities, a.annotation_lines))
    }

    /// The one annotation a flawed `.ann` loses, and why.
    fn flaw(txt: &str, ann: &str) -> BratError {
        let mut a =
            parse_ann(ann, &Text::new(txt.to_string()), Path::new("d.ann"), Path::new("d.txt"))
                .unwrap();
        assert_eq!(a.skipped.len(), 1, "{:?}", a.skipped);
        a.skipped.pop().unwrap()
    }

    #[test]
    fn multibyte_characters_before_an_entity() {
        let (e, _) =
            parse("Schröder and Fairén found jarosite.", "T1\tMineral 26 34\tjarosite\n").unwrap();
        assert_eq!(e[0].spans, vec![(26, 34)]);
        assert_eq!(e[0].ty, "Mineral");
    }

    #[test]
    fn discontinuous_spans() {
        let (e, _) = parse("left and right lobes", "T1\tOrgan 0 4;15 20\tleft lobes\n").unwrap();
        assert_eq!(e[0].spans, vec![(0, 4), (15, 20)]);
        assert!(e[0].is_discontinuous());
        assert_eq!(e[0].cover(), (0, 20));
    }

    #[test]
    fn crlf_lines_and_crlf_text() {
        let txt = "Iron.\r\nSulfur.\r\n";
        let (e, k) = parse(txt, "T1\tElement 0 4\tIron\r\nT2\tElement 7 13\tSulfur\r\n").unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].spans, vec![(7, 13)]);
        assert_eq!(k["T"], 2);
    }

    /// brat reads the `.txt` with Python's "utf-8" codec: a byte order mark
    /// is character 0 of the text; the `.ann`'s is only a signature.
    #[test]
    fn a_documents_bom_counts_as_brat_counts_it() {
        let dir = std::env::temp_dir().join(format!("enrelg-brat-bom-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("d.txt"), b"\xef\xbb\xbfFe and Mg").unwrap();
        std::fs::write(dir.join("d.ann"), b"\xef\xbb\xbfT1\tElement 1 3\tFe\n").unwrap();
        let doc = read(&dir.join("d.txt"), &dir.join("d.ann")).unwrap();
        assert_eq!(doc.entities[0].spans, vec![(1, 3)]);
        assert_eq!(doc.id, "d");
        std::fs::write(dir.join("d.ann"), b"T1\tElement 0 2\tFe\n").unwrap();
        let early = read(&dir.join("d.txt"), &dir.join("d.ann")).unwrap();
        assert!(
            early.entities.is_empty()
                && matches!(early.skipped[..], [BratError::SurfaceMismatch { .. }]),
            "offsets that skip the mark point one character early"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entity_lines_stay_one_line_for_brat_and_read_back() {
        let text = Text::new("Fe\u{2028}oxide\u{1c}x\tMg".to_string());
        let line = entity_line(1, "Mineral", 0, 12, text.slice(0, 12).unwrap());
        assert_eq!(line, "T1\tMineral 0 2;3 8;9 10;11 12\tFe oxide x M\n");
        let read = parse_ann(&line, &text, Path::new("f.ann"), Path::new("f.txt")).unwrap();
        assert_eq!(read.entities[0].spans, vec![(0, 12)]);
    }

    /// Each kind of break inside an entity: fragments that slice to the surface, read back as
    /// the one entity; without a break the line is one span, as it always was.
    #[test]
    fn entities_over_breaks_are_fragments_that_slice_to_their_surface() {
        let cases = [
            ("Serpentine\t Epidote\tN", "0 10;12 19;20 21", "Serpentine Epidote N"),
            ("Gale\u{2028}crater", "0 4;5 11", "Gale crater"),
            ("Gale\u{85}crater", "0 4;5 11", "Gale crater"),
            ("Gale\r\ncrater", "0 4;6 12", "Gale crater"),
            ("Gale\rcrater", "0 4;5 11", "Gale crater"),
            ("Gale\u{b}crater", "0 4;5 11", "Gale crater"),
            ("Gale  crater", "0 12", "Gale  crater"),
        ];
        for (raw, spans, surface) in cases {
            let text = Text::new(format!("x {raw} y"));
            let n = raw.chars().count();
            let line = entity_line(3, "Target", 2, 2 + n, text.slice(2, 2 + n).unwrap());
            let shifted: Vec<String> = spans
                .split(';')
                .map(|f| {
                    let (s, e) = f.split_once(' ').unwrap();
                    format!(
                        "{} {}",
                        s.parse::<usize>().unwrap() + 2,
                        e.parse::<usize>().unwrap() + 2
                    )
                })
                .collect();
            assert_eq!(line, format!("T3\tTarget {}\t{surface}\n", shifted.join(";")), "{raw:?}");
            let parts: Vec<&str> = shifted
                .iter()
                .map(|f| {
                    let (s, e) = f.split_once(' ').unwrap();
                    text.slice(s.parse().unwrap(), e.parse().unwrap()).unwrap()
                })
                .collect();
            assert_eq!(parts.join(" "), surface, "{raw:?}: fragments slice to the surface");
            let read = parse_ann(&line, &text, Path::new("f.ann"), Path::new("f.txt")).unwrap();
            assert_eq!(read.entities[0].spans, vec![(2, 2 + n)], "{raw:?}");
        }
    }

    #[test]
    fn fragments_with_words_between_stay_discontinuous() {
        let (e, _) = parse("left\nand\tright", "T1\tOrgan 0 4;9 14\tleft right\n").unwrap();
        assert_eq!(e[0].spans, vec![(0, 4), (9, 14)]);
    }

    #[test]
    fn newline_inside_entity_text() {
        let (e, _) = parse("Gale\ncrater", "T1\tLocality 0 11\tGale crater\n").unwrap();
        assert_eq!(e[0].spans, vec![(0, 11)]);
    }

    #[test]
    fn mismatching_surface_names_both_texts() {
        let err = flaw("Fe and Mg", "T1\tElement 0 2\tMg\n").to_string();
        assert!(err.contains("d.ann:1"), "{err}");
        assert!(err.contains("\"Mg\"") && err.contains("\"Fe\""), "{err}");
        assert!(err.contains("d.txt"), "{err}");
    }

    #[test]
    fn out_of_range_offsets() {
        let err = flaw("Fe", "T1\tElement 0 5\tFe and\n");
        assert!(matches!(err, BratError::OutOfRange { end: 5, len: 2, .. }), "{err}");
        assert!(err.to_string().contains("d.ann:1"));
    }

    #[test]
    fn reversed_span() {
        let err = flaw("Fe and Mg", "T1\tElement 5 2\tx\n");
        assert!(matches!(err, BratError::Reversed { start: 5, end: 2, .. }));
    }

    #[test]
    fn other_lines_are_counted() {
        let ann = "T1\tTarget 0 4\tJohn\nT2\tContains 5 13\tcontains\nE1\tContains:T2 Container:T1\nR1\tRel Arg1:T1 Arg2:T2\nA1\tNeg E1\nN1\tRef T1 W:1\tJohn\n#1\tAnnotatorNotes T1\tnote\n*\tEquiv T1 T2\n";
        let (e, k) = parse("John contains Fe", ann).unwrap();
        assert_eq!(e.len(), 2);
        let kinds: Vec<(&str, usize)> = k.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(
            kinds,
            vec![("#", 1), ("*", 1), ("A", 1), ("E", 1), ("N", 1), ("R", 1), ("T", 2)]
        );
    }

    #[test]
    fn relations_and_events_keep_their_types_and_arguments() {
        let ann = "T1\tTarget 0 4\tJohn\nE1\tContains:T2 Targ:T1 Cont:T3 Cont2:T4\nT2\tContains 5 13\tcontains\nT3\tElement 14 16\tFe\nT4\tElement 21 23\tMg\nR1\tShows Arg1:T1 Arg2:T3\n";
        let a = parse_ann(
            ann,
            &Text::new("John contains Fe and Mg".into()),
            Path::new("d.ann"),
            Path::new("d.txt"),
        )
        .unwrap();
        assert!(a.skipped.is_empty(), "{:?}", a.skipped);
        let pairs = |v: &[(&str, &str)]| {
            v.iter().map(|(r, i)| (r.to_string(), i.to_string())).collect::<Vec<_>>()
        };
        assert_eq!(
            a.relations,
            vec![
                Relation {
                    id: "E1".into(),
                    ty: "Contains".into(),
                    trigger: Some("T2".into()),
                    arguments: pairs(&[("Targ", "T1"), ("Cont", "T3"), ("Cont2", "T4")]),
                    line: 2
                },
                Relation {
                    id: "R1".into(),
                    ty: "Shows".into(),
                    trigger: None,
                    arguments: pairs(&[("Arg1", "T1"), ("Arg2", "T3")]),
                    line: 6
                },
            ]
        );
    }

    #[test]
    fn flawed_relations_are_left_out_naming_file_line_and_argument() {
        let ann = "T1\tElement 0 2\tFe\nR1\tShows Arg1:T1 Arg2:T9\nR2\tShows Arg1:T1\nE1\tContains Targ:T1\nR3\tShows Arg1:T1 Arg2\n";
        let a = parse_ann(ann, &Text::new("Fe".into()), Path::new("d.ann"), Path::new("d.txt"))
            .unwrap();
        assert!(a.relations.is_empty());
        let lines: Vec<String> = a.skipped.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(
            lines[0].starts_with("d.ann:3:") && lines[0].contains("1 arguments, not 2"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("d.ann:4:") && lines[1].contains("TYPE:TRIGGER"), "{lines:?}");
        assert!(lines[2].starts_with("d.ann:5:") && lines[2].contains("not ROLE:ID"), "{lines:?}");
        assert_eq!(lines[3], "d.ann:2: R1's argument Arg2:T9 names no annotation of the file");
        // Counted as lines of their kind, as before; left out as relations.
        assert_eq!(a.annotation_lines["R"], 3);
    }

    #[test]
    fn unknown_line_kinds_are_skipped_with_their_line() {
        let a = parse_ann(
            "T1\tElement 0 2\tFe\nX1\tfoo\nnot an annotation\n",
            &Text::new("Fe".into()),
            Path::new("d.ann"),
            Path::new("d.txt"),
        )
        .unwrap();
        assert_eq!(a.entities.len(), 1);
        let lines: Vec<String> = a.skipped.iter().map(|e| e.to_string()).collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].starts_with("d.ann:2:1: unknown annotation id \"X1\""), "{lines:?}");
        assert!(lines[1].starts_with("d.ann:3:1:"), "{lines:?}");
        assert_eq!(a.annotation_lines.values().sum::<usize>(), 1);
    }

    #[test]
    fn tab_inside_entity_text() {
        // brat keeps everything after the second tab as the surface text.
        let (e, _) = parse("Gale\tcrater rim", "T1\tLocality 0 11\tGale\tcrater\n").unwrap();
        assert_eq!(e[0].spans, vec![(0, 11)]);
    }

    #[test]
    fn empty_ann_has_no_entities() {
        let (e, k) = parse("Fe and Mg", "").unwrap();
        assert!(e.is_empty() && k.is_empty());
        let (e, _) = parse("", "\n\n").unwrap();
        assert!(e.is_empty());
    }

    #[test]
    fn missing_files_name_the_path() {
        let err =
            read(Path::new("/nonexistent/d.txt"), Path::new("/nonexistent/d.ann")).unwrap_err();
        assert!(matches!(err, BratError::Io { .. }));
        assert!(err.to_string().starts_with("/nonexistent/d.txt: cannot read"), "{err}");
    }

    #[test]
    fn syntax_errors_name_line_and_column() {
        let err = flaw("Fe", "T1\tElement 0 2\n").to_string();
        assert!(
            err.starts_with("d.ann:1:") && err.contains("missing tab-separated surface text"),
            "{err}"
        );
        let err = flaw("Fe", "T1\n").to_string();
        assert!(err.starts_with("d.ann:1:3:"), "{err}");
        let err = flaw("Fe", "T1\tElement -1 2\tFe\n").to_string();
        assert!(err.starts_with("d.ann:1:12:"), "{err}");
        let err = flaw("Fe", "T1\tElement zero 2\tFe\n").to_string();
        assert!(err.starts_with("d.ann:1:12:"), "{err}");
        let err = flaw("Fe", "T1\tElement 0 2\tFe\nT1\tElement 0 2\tFe\n");
        assert!(matches!(err, BratError::DuplicateId { line: 2, first: 1, .. }));
    }

    /// A flawed line costs its annotation only: the lines around it are read.
    #[test]
    fn a_flawed_annotation_leaves_the_others_in_place() {
        let ann = "T1\tElement 0 2\tFe\nT2\tElement 0 99\tFe\nT3\tElement 7 9\tMg\nT3\tElement 0 2\tFe\nT4\tMineral 0 2\tMg\nR1\t\n";
        let a =
            parse_ann(ann, &Text::new("Fe and Mg".into()), Path::new("d.ann"), Path::new("d.txt"))
                .unwrap();
        let kept: Vec<&str> = a.entities.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(kept, ["T1", "T3"]);
        let lines: Vec<usize> = a
            .skipped
            .iter()
            .map(|e| match e {
                BratError::OutOfRange { line, .. }
                | BratError::DuplicateId { line, .. }
                | BratError::SurfaceMismatch { line, .. }
                | BratError::Syntax { line, .. } => *line,
                other => panic!("{other}"),
            })
            .collect();
        assert_eq!(lines, [2, 4, 5, 6]);
        assert_eq!(a.annotation_lines.get("T"), Some(&2));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = std::env::temp_dir().join(format!("enrelg-brat-latin1-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("d.txt"), b"ok\nSchr\xf6der").unwrap();
        std::fs::write(dir.join("d.ann"), b"").unwrap();
        let err = read(&dir.join("d.txt"), &dir.join("d.ann")).unwrap_err();
        assert!(matches!(err, BratError::Encoding { line: 2, column: 5, byte: 7, .. }), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
