//! Corpus statistics: what `enrelg stats` prints and CI compares.

use std::collections::BTreeMap;
use std::path::Path;

use enrelg_schemas::LabelSet;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::align::{align, AlignConfig, AlignReport};
use crate::read::corpus::{self, CorpusError};
use crate::read::document::Document;
use crate::read::enrelg_conll::EnrelgFile;
use crate::skips::SkipReport;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitStats {
    pub documents: usize,
    pub sentences: usize,
    pub tokens: usize,
    /// Text-bound annotations per type in the label set (all types without one).
    pub entities: BTreeMap<String, usize>,
    pub entities_total: usize,
    /// Entities per type after alignment to BIO labels.
    pub aligned_entities: BTreeMap<String, usize>,
    pub alignment: AlignReport,
    /// Annotation lines per kind (standoff only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotation_lines: BTreeMap<String, usize>,
    /// EnRel-G release only: tokens whose DEP is ROOT (one per parse tree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_tokens: Option<usize>,
    /// EnRel-G release only: I- tags that start a chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bio_violations: Option<usize>,
    /// Documents and lines left out (absent when nothing was, so that any skip
    /// shows as drift against the expected statistics).
    #[serde(default, skip_serializing_if = "SkipReport::is_empty")]
    pub skipped: SkipReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorpusStats {
    /// `standoff` (brat + CoNLL-U) or `enrelg` (token-level release).
    pub format: String,
    /// [`corpus::corpus_sha256`] (standoff) or [`corpus::tree_sha256`] (EnRel-G folder) of the input.
    pub input_sha256: String,
    pub label_types: Vec<String>,
    pub align_config: AlignConfig,
    pub splits: BTreeMap<String, SplitStats>,
}

/// Statistics of one split's documents.
pub fn split_stats(docs: &[Document], labels: &LabelSet, cfg: &AlignConfig) -> SplitStats {
    let per_doc: Vec<SplitStats> =
        docs.par_iter().map(|d| document_stats(d, labels, cfg)).collect();
    let mut out = SplitStats::default();
    for s in per_doc {
        out.documents += 1;
        out.sentences += s.sentences;
        out.tokens += s.tokens;
        for (k, v) in s.entities {
            *out.entities.entry(k).or_default() += v;
        }
        for (k, v) in s.aligned_entities {
            *out.aligned_entities.entry(k).or_default() += v;
        }
        for (k, v) in s.annotation_lines {
            *out.annotation_lines.entry(k).or_default() += v;
        }
        out.alignment.merge(&s.alignment);
    }
    out.entities_total = out.entities.values().sum();
    out
}

fn document_stats(doc: &Document, labels: &LabelSet, cfg: &AlignConfig) -> SplitStats {
    let (aligned, report) = align(doc, labels, cfg);
    let mut s = SplitStats {
        documents: 1,
        sentences: doc.sentences.len(),
        tokens: doc.tokens.len(),
        ..Default::default()
    };
    for e in doc.entities.iter().filter(|e| labels.contains(&e.ty)) {
        *s.entities.entry(e.ty.clone()).or_default() += 1;
    }
    for e in &aligned.entities {
        *s.aligned_entities.entry(e.ty.clone()).or_default() += 1;
    }
    s.annotation_lines = doc.annotation_lines.clone();
    s.alignment = report;
    s
}

/// The label set to count with: the given one, or every type in the corpus.
pub fn label_set_or_all<'a>(
    given: Option<LabelSet>,
    docs: impl Iterator<Item = &'a Document>,
) -> Option<LabelSet> {
    given.or_else(|| {
        let types: std::collections::BTreeSet<String> =
            docs.flat_map(|d| d.entities.iter().map(|e| e.ty.clone())).collect();
        LabelSet::new(types).ok()
    })
}

/// Statistics of a standoff corpus folder (`standoff/` + `conllu/`); with
/// `strict`, a broken document is an error instead of a counted skip.
pub fn standoff_stats(
    dir: &Path,
    labels: Option<LabelSet>,
    cfg: &AlignConfig,
    strict: bool,
) -> Result<CorpusStats, CorpusError> {
    let mut loaded = Vec::new();
    for split in corpus::splits(dir)? {
        let split_docs = corpus::load_split(dir, &split, strict)?;
        loaded.push((split, split_docs));
    }
    let labels = label_set_or_all(labels, loaded.iter().flat_map(|(_, l)| l.documents.iter()));
    let labels = labels.unwrap_or_else(LabelSet::fallback);
    let splits = loaded
        .into_iter()
        .map(|(name, l)| {
            let mut s = split_stats(&l.documents, &labels, cfg);
            s.skipped = l.skipped;
            (name, s)
        })
        .collect();
    Ok(CorpusStats {
        format: "standoff".into(),
        input_sha256: corpus::corpus_sha256(dir)?,
        label_types: labels.types().to_vec(),
        align_config: *cfg,
        splits,
    })
}

/// Statistics of an EnRel-G release folder (`*.conll`).
pub fn enrelg_stats(
    dir: &Path,
    labels: Option<LabelSet>,
    cfg: &AlignConfig,
) -> Result<CorpusStats, CorpusError> {
    let files: Vec<(String, EnrelgFile)> = corpus::load_enrelg_dir(dir)?;
    let labels = label_set_or_all(labels, files.iter().flat_map(|(_, f)| f.documents.iter()));
    let labels = labels.unwrap_or_else(LabelSet::fallback);
    let splits = files
        .iter()
        .map(|(name, f)| {
            let mut s = split_stats(&f.documents, &labels, cfg);
            s.annotation_lines.clear();
            s.root_tokens = Some(f.root_tokens);
            s.bio_violations = Some(f.bio_violations);
            (name.clone(), s)
        })
        .collect();
    Ok(CorpusStats {
        format: "enrelg".into(),
        input_sha256: corpus::tree_sha256(dir)?,
        label_types: labels.types().to_vec(),
        align_config: *cfg,
        splits,
    })
}

/// Differences between expected and computed statistics, one line per
/// differing leaf, as `path: expected X, found Y`.
pub fn drift(expected: &serde_json::Value, found: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    diff_values("", expected, found, &mut out);
    out
}

fn diff_values(path: &str, a: &serde_json::Value, b: &serde_json::Value, out: &mut Vec<String>) {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => diff_values(&p, va, vb, out),
                    (Some(va), None) => out.push(format!("{p}: expected {va}, missing")),
                    (None, Some(vb)) => out.push(format!("{p}: not expected, found {vb}")),
                    (None, None) => {}
                }
            }
        }
        _ if a != b => out.push(format!("{path}: expected {a}, found {b}")),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_lists_every_differing_leaf() {
        let a = serde_json::json!({"splits": {"train": {"tokens": 10, "entities": {"A": 1}}}});
        let b =
            serde_json::json!({"splits": {"train": {"tokens": 11, "entities": {"A": 1, "B": 2}}}});
        assert_eq!(
            drift(&a, &b),
            vec![
                "splits.train.entities.B: not expected, found 2",
                "splits.train.tokens: expected 10, found 11"
            ]
        );
        assert!(drift(&a, &a).is_empty());
    }
}
