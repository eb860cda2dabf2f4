//! Fuzz harnesses: the bodies of the `cargo fuzz` targets in `fuzz/`, kept
//! here so that every input the fuzzer ever found is replayed by the normal
//! test run (`pipeline/tests/fuzz_regressions.rs`) without cargo-fuzz.
//!
//! Each harness feeds arbitrary bytes to a reader and checks what the rest of
//! the pipeline relies on when the reader accepts them; a reader may reject
//! any input, but only with an error, never a panic.

use std::path::Path;

use enrelg_schemas::LabelSet;

use crate::align::{align, AlignConfig};
use crate::read::document::Document;
use crate::read::input::{check_text, parse_jsonl, TextCheck};
use crate::read::text::{decode_document, decode_utf8, is_blank, Text};
use crate::skips::SkipReport;
use crate::{graph, read::brat, read::conllu, read::enrelg_conll, words::acronym, words::lemma};

/// Split fuzz input into `n` parts at NUL bytes (missing parts are empty).
fn parts(data: &[u8], n: usize) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = data.splitn(n, |&b| b == 0).map(<[u8]>::to_vec).collect();
    out.resize(n, Vec::new());
    out
}

fn text_of(bytes: Vec<u8>) -> Option<String> {
    decode_utf8(bytes).ok()
}

/// `.txt` NUL `.ann`: the brat reader.
pub fn brat(data: &[u8]) {
    let [txt, ann]: [Vec<u8>; 2] = parts(data, 2).try_into().expect("two parts");
    let (Some(txt), Some(ann)) = (text_of(txt), text_of(ann)) else {
        return;
    };
    let text = Text::new(txt);
    if let Ok(a) = brat::parse_ann(&ann, &text, Path::new("f.ann"), Path::new("f.txt")) {
        for e in &a.entities {
            for &(s, t) in &e.spans {
                assert!(
                    s < t && t <= text.len_chars(),
                    "span {s}-{t} outside {} characters",
                    text.len_chars()
                );
                assert!(text.slice(s, t).is_some());
            }
        }
        // Only line-level problems are skipped; a file-level one is an error.
        assert!(a
            .skipped
            .iter()
            .all(|e| !matches!(e, brat::BratError::Io { .. } | brat::BratError::Encoding { .. })));
    }
}

/// `.conllu` NUL `.txt`: the CoNLL-U reader and its alignment to the text.
pub fn conllu(data: &[u8]) {
    let [parse, txt]: [Vec<u8>; 2] = parts(data, 2).try_into().expect("two parts");
    let (Some(parse), Some(txt)) = (text_of(parse), text_of(txt)) else {
        return;
    };
    let Ok(file) = conllu::parse(&parse, Path::new("f.conllu")) else {
        return;
    };
    let text = Text::new(txt);
    if let Ok((tokens, sentences)) =
        conllu::to_tokens(&file, &text, Path::new("f.conllu"), Path::new("f.txt"))
    {
        check_tokens(&tokens, &sentences, &text);
    }
}

/// An EnRel-G release file: its reader.
pub fn enrelg(data: &[u8]) {
    let Some(content) = text_of(data.to_vec()) else {
        return;
    };
    if let Ok(f) = enrelg_conll::parse(&content, Path::new("train.conll"), "train") {
        for doc in &f.documents {
            check_tokens(&doc.tokens, &doc.sentences, &doc.text);
            for e in &doc.entities {
                assert!(e.spans.iter().all(|&(s, t)| s < t && t <= doc.text.len_chars()));
            }
        }
    }
}

/// `.txt` NUL `.ann` NUL `.conllu`: one whole document through the readers,
/// alignment to BIO labels, lemmas, acronyms and the coreference inputs.
pub fn document(data: &[u8]) {
    let [txt, ann, parse]: [Vec<u8>; 3] = parts(data, 3).try_into().expect("three parts");
    let (Some(txt), Some(ann), Some(parse)) = (text_of(txt), text_of(ann), text_of(parse)) else {
        return;
    };
    let text = Text::new(txt);
    let Ok(a) = brat::parse_ann(&ann, &text, Path::new("f.ann"), Path::new("f.txt")) else {
        return;
    };
    let Ok(file) = conllu::parse(&parse, Path::new("f.conllu")) else {
        return;
    };
    let Ok((tokens, sentences)) =
        conllu::to_tokens(&file, &text, Path::new("f.conllu"), Path::new("f.txt"))
    else {
        return;
    };
    let types: std::collections::BTreeSet<String> =
        a.entities.iter().map(|e| e.ty.clone()).collect();
    let doc = Document {
        id: "f".into(),
        text,
        tokens,
        sentences,
        entities: a.entities,
        relations: a.relations,
        annotation_lines: a.annotation_lines,
    };
    let Ok(labels) = LabelSet::new(types) else {
        return;
    };
    let (aligned, report) = align(&doc, &labels, &AlignConfig::default());
    assert_eq!(aligned.labels.len(), doc.tokens.len());
    assert_eq!(report.entities_out, aligned.entities.len());
    let lemmatizer = lemma::Lemmatizer::default();
    for t in &doc.tokens {
        let _ = lemmatizer.lemma(t);
    }
    let acronyms = acronym::detect(&doc);
    let occurrences = graph::long_form_occurrences(&doc, &acronyms);
    assert_eq!(occurrences.len(), acronyms.len());
}

/// JSONL NUL `.txt` NUL two span bytes: what `enrelg tag` checks of its
/// input before parsing, and the `.ann` line it writes for a span of a text.
pub fn tag_input(data: &[u8]) {
    let [jsonl, txt, span]: [Vec<u8>; 3] = parts(data, 3).try_into().expect("three parts");
    let path = Path::new("in.jsonl");
    let mut skipped = SkipReport::default();
    let records = parse_jsonl(&jsonl, path, &mut skipped);
    let lines = jsonl.split(|&b| b == b'\n').count();
    let ids: std::collections::BTreeSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), records.len(), "duplicate ids kept");
    assert!(records.iter().all(|r| (1..=lines).contains(&r.line)));
    assert_eq!(skipped.lines, skipped.all.len(), "every skip is a line");
    assert!(
        skipped.all.iter().all(|(_, m)| m.starts_with("in.jsonl:")),
        "a message without its line"
    );
    for r in &records {
        let _ = check_text(&r.text, 1000);
    }
    let Ok(text) = decode_document(txt) else {
        return;
    };
    match check_text(&text, 1000) {
        Ok(TextCheck::Empty) => assert!(is_blank(&text)),
        Ok(TextCheck::Text) => assert!(!is_blank(&text) && text.chars().count() <= 1000),
        Err(_) => assert!(text.chars().count() > 1000),
    }
    // Any span of the text, written as an .ann line, reads back as itself.
    let text = Text::new(text);
    let n = text.len_chars();
    let (Some(&a), Some(&b)) = (span.first(), span.get(1)) else {
        return;
    };
    let (start, end) = (usize::from(a) % (n + 1), usize::from(b) % (n + 1));
    let (start, end) = (start.min(end), start.max(end));
    let Some(surface) = text.slice(start, end) else {
        return;
    };
    if start == end || is_blank(surface) {
        return;
    }
    let line = brat::entity_line(1, "T", start, end, surface);
    assert_eq!(
        line.matches(crate::read::text::is_line_break).count(),
        1,
        "{line:?} is more than one line for brat"
    );
    // brat's fragments: none holds a tab or a line break between two of its words, and the
    // fragments' texts joined by spaces are the line's surface.
    let fields: Vec<&str> = line.trim_end_matches('\n').splitn(3, '\t').collect();
    let mut parts = Vec::new();
    for frag in fields[1].split_once(' ').expect("TYPE SPANS").1.split(';') {
        let (s, e) = frag.split_once(' ').expect("START END");
        let (s, e): (usize, usize) = (s.parse().unwrap(), e.parse().unwrap());
        let part = text.slice(s, e).expect("fragment inside the text");
        let inner = part.trim_matches(crate::read::text::is_space);
        assert!(
            !inner.contains(|c: char| c == '\t' || crate::read::text::is_line_break(c)),
            "{line:?}: fragment {s}-{e} spans a break"
        );
        parts.push(part.replace(|c: char| c == '\t' || crate::read::text::is_line_break(c), " "));
    }
    assert_eq!(parts.join(" "), fields[2], "{line:?}: fragments slice to the surface");
    let read = brat::parse_ann(&line, &text, Path::new("f.ann"), Path::new("f.txt"))
        .expect("our own line reads back");
    assert_eq!(read.entities.len(), 1);
    assert_eq!(read.entities[0].spans, vec![(start, end)]);
}

/// What every later stage assumes of a document's tokens.
fn check_tokens(tokens: &[crate::Token], sentences: &[crate::Sentence], text: &Text) {
    for t in tokens {
        assert!(
            t.start <= t.end && t.end <= text.len_chars(),
            "token {}-{} outside {} characters",
            t.start,
            t.end,
            text.len_chars()
        );
        if let Some(h) = t.head {
            assert!(h < tokens.len(), "head {h} of {} tokens", tokens.len());
        }
    }
    let mut next = 0;
    for s in sentences {
        assert_eq!(s.start, next, "sentences must partition the tokens");
        assert!(s.end >= s.start);
        for t in &tokens[s.range()] {
            if let Some(h) = t.head {
                assert!(s.range().contains(&h), "head outside its sentence");
            }
        }
        next = s.end;
    }
    assert_eq!(next, tokens.len());
}
