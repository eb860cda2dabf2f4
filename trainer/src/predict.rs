//! Tagging new documents: `.txt` + `.conllu` in, brat `.ann` and JSONL out.
//!
//! Documents go through the same pipeline stages as the training shards
//! (`enrelg_pipeline::shard::process`) with the run's tokenizer, windowing and
//! graph configuration, then the model decodes each window with Viterbi and
//! the word-level BIO tags are turned back into character spans.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use anyhow::Context;
use burn::tensor::Device;
use enrelg_pipeline::align::AlignConfig;
use enrelg_pipeline::brat;
use enrelg_pipeline::document::Document;
use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::shard::{process, BuildOptions};
use enrelg_pipeline::skips::SkipReport;
use enrelg_pipeline::syntax::{deprel_id, upos_id};
use enrelg_pipeline::tree::{strip_ext, walk, with_ext, Depth, Links};
use enrelg_pipeline::window::WordPieceTokenizer;
use enrelg_schemas::chunks;
use serde::Serialize;

use crate::data::WindowRecord;
use crate::inference::full_emissions;
use crate::model::crf::CrfPotentials;
use crate::model::CorefScope;
use crate::run::LoadedRun;

/// One predicted entity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PredictedEntity {
    pub doc: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// Relative paths, without extension, of the `.txt` files under `root`
/// (the input rules of [`enrelg_pipeline::tree`]), sorted; what the walk
/// passes over (FIFOs, broken links, second ways into a folder) goes into
/// `skipped`.
pub fn txt_files(root: &Path, links: Links, skipped: &mut SkipReport) -> anyhow::Result<Vec<PathBuf>> {
    let tree = walk(root, "txt", Depth::Tree, links)?;
    tree.report(skipped);
    Ok(tree.files.iter().map(|f| strip_ext(f)).collect())
}

/// (`.txt`, `.conllu`, relative path) under `input`; parses beside the text
/// or in a `parses` tree mirroring it. The parse may be missing: the caller
/// decides (predict skips the document and counts it).
pub fn find_inputs(input: &Path, parses: Option<&Path>, links: Links, skipped: &mut SkipReport) -> anyhow::Result<Vec<(PathBuf, PathBuf, PathBuf)>> {
    let rels = txt_files(input, links, skipped)?;
    Ok(rels.into_iter().map(|rel| (with_ext(input, &rel, "txt"), with_ext(parses.unwrap_or(input), &rel, "conllu"), rel)).collect())
}

/// One or more trained runs ready to tag documents: models, tokenizer and
/// the runs' pipeline settings, built once. Several runs (a seed ensemble)
/// decode with the mean of their emission and CRF scores, as `enrelg ensemble`.
pub struct Tagger<'a> {
    runs: &'a [LoadedRun],
    opts: BuildOptions<'a>,
    crf: CrfPotentials,
    scored_tags: Vec<String>,
    /// Consistency decoding within each document at this threshold ([`crate::consistency`]).
    consistency: Option<f64>,
}

impl<'a> Tagger<'a> {
    pub fn new(runs: &'a [LoadedRun], tokenizer: &'a WordPieceTokenizer) -> anyhow::Result<Self> {
        let first = runs.first().context("no run to tag with")?;
        for (i, run) in runs.iter().enumerate().skip(1) {
            let (a, b) = (&run.info, &first.info);
            a.ensure_same_labels(&format!("run {} of the ensemble", i + 1), b, "the first run")?;
            anyhow::ensure!(a.window == b.window && a.tokenizer_sha256 == b.tokenizer_sha256, "run {} of the ensemble: another tokenizer or windowing than the first run's", i + 1);
        }
        let opts = BuildOptions {
            corpus_name: String::new(),
            labels: first.info.labels.clone(),
            align: AlignConfig::default(),
            window: first.info.window,
            dependency_variant: first.info.config.dependency_variant,
            tokenizer,
            splits: Vec::new(),
            strict: true,
        };
        let potentials = runs.iter().map(|r| r.model.head.crf.potentials()).collect::<Result<Vec<_>, _>>()?;
        let crf = CrfPotentials::mean(&potentials).context("no run to tag with")?;
        Ok(Self { runs, opts, crf, scored_tags: first.info.scored_tags(), consistency: None })
    }

    /// Decode each document with label consistency at `threshold` (the one
    /// `eval --consistency` chose on dev, in `consistency-SPLIT.json`).
    pub fn with_consistency(mut self, threshold: Option<f64>) -> Self {
        self.consistency = threshold;
        self
    }

    /// Tag one document.
    pub fn tag(&self, doc: Document, device: &Device) -> anyhow::Result<Vec<PredictedEntity>> {
        let clocks = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
        let data = process(doc, &self.opts, &clocks)?;
        // Each member sees the windows with its own dependency edges and word ids.
        let mut emissions = Vec::with_capacity(self.runs.len());
        let mut first_records = None;
        for run in self.runs {
            let dep_kinds: &[EdgeKind] = run.info.config.dependency_variant.kinds();
            let mut records: Vec<WindowRecord> = data
                .windows
                .iter()
                .map(|(w, edges)| {
                    let words = &data.doc.tokens[w.word_start..w.word_end];
                    let forms: Vec<String> = words.iter().map(|t| t.form.clone()).collect();
                    let shapes = words.iter().map(|t| enrelg_pipeline::shape::shape(&t.form)).collect();
                    let mut record = WindowRecord::new(w.index as u32, w.clone(), &forms, vec![0; words.len()], shapes, edges, dep_kinds);
                    record.upos = words.iter().map(|t| upos_id(&t.upos)).collect();
                    record.deprel = words.iter().map(|t| deprel_id(&t.deprel)).collect();
                    record
                })
                .collect();
            if run.info.config.coref_scope == CorefScope::Document {
                let starts: Vec<usize> = data.windows.iter().map(|(w, _)| w.word_start).collect();
                for e in &data.doc_edges {
                    let [(sw, sp), (dw, dp)] = e.ends(&starts);
                    records[sw].doc_coref.push((sp, dw as u32, dp));
                }
            }
            if let Some(v) = &run.vocab {
                records.iter_mut().for_each(|r| r.set_word_ids(v));
            }
            emissions.push(full_emissions(&run.model, &records, device)?);
            first_records.get_or_insert(records);
        }
        let mut paths = crate::ensemble::decode_mean(&emissions, std::slice::from_ref(&self.crf)).context("no run to tag with")?;
        if let (Some(threshold), Some(records)) = (self.consistency, &first_records) {
            paths = crate::consistency::apply(records, &paths, threshold).0;
        }
        // Auxiliary types are learned, not output.
        let tags: Vec<&str> = paths.iter().flatten().map(|&t| self.scored_tags[t].as_str()).collect();
        let doc = &data.doc;
        let mut out = Vec::new();
        // Chunks per sentence: an entity never spans a sentence in the output.
        for sent in &doc.sentences {
            for c in chunks(&tags[sent.range()]).chunks {
                let (first, last) = (sent.start + c.start, sent.start + c.end - 1);
                let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
                let text = doc.text.slice(start, end).unwrap_or_default().to_string();
                out.push(PredictedEntity { doc: doc.id.clone(), ty: c.ty, start, end, text });
            }
        }
        Ok(out)
    }
}

/// The `.ann` content for a document's entities ([`brat::entity_line`]).
pub fn to_ann(entities: &[PredictedEntity]) -> String {
    entities.iter().enumerate().map(|(i, e)| brat::entity_line(i + 1, &e.ty, e.start, e.end, &e.text)).collect()
}
