//! Tagging new documents: `.txt` + `.conllu` in, brat `.ann` and JSONL out.
//!
//! Documents go through the same pipeline stages as the training shards
//! (`enrelg_pipeline::shard::process`) with the run's tokenizer, windowing and
//! graph configuration, then the model decodes each window with Viterbi and
//! the word-level BIO tags are turned back into character spans.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Instant;

use anyhow::Context;
use burn::tensor::Device;
use enrelg_pipeline::align::AlignConfig;
use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::read::brat;
use enrelg_pipeline::read::corpus::load_unannotated;
use enrelg_pipeline::read::document::Document;
use enrelg_pipeline::read::tree::{strip_ext, walk, with_ext, Depth, Links};
use enrelg_pipeline::shard::{process, BuildOptions, DocumentData};
use enrelg_pipeline::skips::{SkipReport, Unit};
use enrelg_pipeline::window::{Window, WordPieceTokenizer};
use enrelg_pipeline::words::syntax::{deprel_id, upos_id};
use enrelg_schemas::chunks;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::data::{DocLink, WindowRecord, WindowWords};
use crate::decode::emissions::full_emissions;
use crate::model::crf::CrfPotentials;
use crate::model::inference::{HostEncoder, Precision};
use crate::model::CorefScope;
use crate::run::LoadedRun;
use crate::tag::batcher::Batcher;
use crate::tag::output::OutputDir;

/// One predicted entity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PredictedEntity {
    pub doc: String,
    #[serde(rename = "type")]
    pub ty: String,
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// The model's confidence: the mean over the entity's words of the CRF's marginal
    /// probability of the tag it was given (forward-backward on the decoded emissions),
    /// rounded to four decimals so that it reads the same from every batch.
    pub score: f32,
}

/// Relative paths, without extension, of the `.txt` files under `root`
/// (the input rules of [`enrelg_pipeline::read::tree`]), sorted; what the walk
/// passes over (FIFOs, broken links, second ways into a folder) goes into
/// `skipped`.
pub fn txt_files(
    root: &Path,
    links: Links,
    skipped: &mut SkipReport,
) -> anyhow::Result<Vec<PathBuf>> {
    let tree = walk(root, "txt", Depth::Tree, links)?;
    tree.report(skipped);
    Ok(tree.files.iter().map(|f| strip_ext(f)).collect())
}

/// (`.txt`, `.conllu`, relative path) under `input`; parses beside the text
/// or in a `parses` tree mirroring it. The parse may be missing: the caller
/// decides (predict skips the document and counts it).
pub fn find_inputs(
    input: &Path,
    parses: Option<&Path>,
    links: Links,
    skipped: &mut SkipReport,
) -> anyhow::Result<Vec<(PathBuf, PathBuf, PathBuf)>> {
    let rels = txt_files(input, links, skipped)?;
    Ok(rels
        .into_iter()
        .map(|rel| {
            (with_ext(input, &rel, "txt"), with_ext(parses.unwrap_or(input), &rel, "conllu"), rel)
        })
        .collect())
}

/// One or more trained runs ready to tag documents: models, tokenizer and
/// the runs' pipeline settings, built once. Several runs (a seed ensemble)
/// decode with the mean of their emission and CRF scores, as `enrelg ensemble`.
pub struct Tagger<'a> {
    runs: &'a [LoadedRun],
    opts: BuildOptions<'a>,
    crf: CrfPotentials,
    scored_tags: Vec<String>,
    /// Consistency decoding within each document at this threshold ([`crate::decode::consistency`]).
    consistency: Option<f64>,
    /// The encoder's arithmetic ([`Precision::Int8`]: quantized inference).
    precision: Precision,
}

impl<'a> Tagger<'a> {
    pub fn new(runs: &'a [LoadedRun], tokenizer: &'a WordPieceTokenizer) -> anyhow::Result<Self> {
        let first = runs.first().context("no run to tag with")?;
        for (i, run) in runs.iter().enumerate().skip(1) {
            let (a, b) = (&run.info, &first.info);
            a.ensure_same_labels(&format!("run {} of the ensemble", i + 1), b, "the first run")?;
            anyhow::ensure!(
                a.window == b.window && a.tokenizer_sha256 == b.tokenizer_sha256,
                "run {} of the ensemble: another tokenizer or windowing than the first run's",
                i + 1
            );
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
        let potentials =
            runs.iter().map(|r| r.model.head.crf.potentials()).collect::<Result<Vec<_>, _>>()?;
        let crf = CrfPotentials::mean(&potentials).context("no run to tag with")?;
        // One run decodes as it was chosen on dev (`decoding.json`); an ensemble's members
        // chose alone, so it decodes plainly unless told a threshold.
        let consistency = match runs {
            [run] => run.decoding.as_ref().map(|d| d.consistency_threshold),
            _ => None,
        };
        let scored_tags = first.info.scored_tags();
        Ok(Self { runs, opts, crf, scored_tags, consistency, precision: Precision::F32 })
    }

    /// Decode each document with label consistency at `threshold` instead of the run's
    /// own choice (`None` keeps it; 1.0 never changes a label: plain decoding).
    pub fn with_consistency(mut self, threshold: Option<f64>) -> Self {
        if threshold.is_some() {
            self.consistency = threshold;
        }
        self
    }

    /// Run the encoder in `precision` (f32 as trained, or int8 weights and activations). Where the
    /// device has no host encoder (libtorch), int8 is refused.
    pub fn with_precision(mut self, precision: Precision, device: &Device) -> anyhow::Result<Self> {
        anyhow::ensure!(
            precision == Precision::F32 || HostEncoder::supports(device),
            "--quantize {precision}: quantized inference runs on the flex backend only (device {device:?})"
        );
        self.precision = precision;
        Ok(self)
    }

    /// The consistency threshold this tagger decodes with (`None`: plain decoding).
    pub fn consistency(&self) -> Option<f64> {
        self.consistency
    }

    /// Tag one document.
    pub fn tag(&self, doc: Document, device: &Device) -> anyhow::Result<Vec<PredictedEntity>> {
        let mut tagged = self.tag_many(vec![self.prepare(doc)?], device)?;
        Ok(tagged.pop().unwrap_or_default())
    }

    /// A document through the pipeline stages (alignment, lemmas, acronyms, windows, graphs),
    /// ready for [`Tagger::tag_many`].
    pub fn prepare(&self, doc: Document) -> anyhow::Result<DocumentData> {
        let clocks = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
        Ok(process(doc, &self.opts, &clocks)?)
    }

    /// Tag prepared documents together: their windows share the model's batches (at most
    /// [`crate::decode::emissions::INFERENCE_WINDOWS`] each), so that many short documents fill the
    /// encoder's batches as one long one would. Each document's entities are the same as
    /// [`Tagger::tag`] gives it alone: windows are independent in window scope, and in document
    /// scope a document's windows are grouped as they are alone (whole documents per batch, a long
    /// one cut into the same consecutive groups).
    pub fn tag_many(
        &self,
        docs: Vec<DocumentData>,
        device: &Device,
    ) -> anyhow::Result<Vec<Vec<PredictedEntity>>> {
        let counts: Vec<usize> = docs.iter().map(|d| d.windows.len()).collect();
        // Each member sees the windows with its own dependency edges and word ids.
        let mut emissions = Vec::with_capacity(self.runs.len());
        let mut first_records = None;
        for run in self.runs {
            let mut records = Vec::with_capacity(counts.iter().sum());
            for (k, data) in docs.iter().enumerate() {
                records.extend(run_records(run, data, k, records.len()));
            }
            let host = run.host_encoder(self.precision, device);
            let scope = run.info.config.model.coref_scope;
            emissions.push(full_emissions(&run.model, host, &records, scope, device)?);
            first_records.get_or_insert(records);
        }
        let mean =
            crate::decode::ensemble::mean_emissions(&emissions).context("no run to tag with")?;
        let records = first_records.context("no run to tag with")?;
        let mut out = Vec::with_capacity(docs.len());
        let mut start = 0;
        for (data, n) in docs.iter().zip(counts) {
            let windows = &mean[start..start + n];
            let mut paths: Vec<Vec<usize>> = windows.iter().map(|e| self.crf.viterbi(e)).collect();
            if let Some(threshold) = self.consistency {
                paths = crate::decode::consistency::apply(
                    &records[start..start + n],
                    &paths,
                    threshold,
                )
                .0;
            }
            start += n;
            out.push(self.entities(&data.doc, &paths, &self.tag_probabilities(windows, &paths)));
        }
        Ok(out)
    }

    /// Each word's marginal probability of the tag in `paths`, the windows' words in order.
    /// Only words of entities are ever read: a window tagged all `O` skips the forward-backward
    /// pass and holds NaN.
    fn tag_probabilities(&self, emissions: &[Vec<f32>], paths: &[Vec<usize>]) -> Vec<f64> {
        let n = self.crf.num_tags;
        let mut out = Vec::with_capacity(paths.iter().map(Vec::len).sum());
        for (e, path) in emissions.iter().zip(paths) {
            if path.iter().all(|&t| self.scored_tags[t] == "O") {
                out.extend(std::iter::repeat_n(f64::NAN, path.len()));
                continue;
            }
            let unary = self.crf.marginals(e).unary;
            out.extend(path.iter().enumerate().map(|(t, &tag)| unary[t * n + tag]));
        }
        out
    }

    /// A document's entities from the tag paths of its windows and each word's tag probability.
    fn entities(
        &self,
        doc: &Document,
        paths: &[Vec<usize>],
        probabilities: &[f64],
    ) -> Vec<PredictedEntity> {
        // Auxiliary types are learned, not output.
        let tags: Vec<&str> =
            paths.iter().flatten().map(|&t| self.scored_tags[t].as_str()).collect();
        let mut out = Vec::new();
        // Chunks per sentence: an entity never spans a sentence in the output.
        for sent in &doc.sentences {
            for c in chunks(&tags[sent.range()]).chunks {
                let (first, last) = (sent.start + c.start, sent.start + c.end - 1);
                let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
                let text = doc.text.slice(start, end).unwrap_or_default().to_string();
                let mean =
                    probabilities[first..=last].iter().sum::<f64>() / (last + 1 - first) as f64;
                let score = ((mean * 1e4).round() / 1e4) as f32;
                out.push(PredictedEntity {
                    doc: doc.id.clone(),
                    ty: c.ty,
                    start,
                    end,
                    text,
                    score,
                });
            }
        }
        out
    }
}

/// The model inputs of document number `k` of a [`Tagger::tag_many`] call as `run` reads them,
/// its windows numbered from `first_window`. Window ids are unique across the call and the
/// document id is its number in the call, so that documents never merge in a batch plan and the
/// document-scope edges find their windows.
fn run_records(
    run: &LoadedRun,
    data: &DocumentData,
    k: usize,
    first_window: usize,
) -> Vec<WindowRecord> {
    let dep_kinds: &[EdgeKind] = run.info.config.dependency_variant.kinds();
    // Document edges in document scope, listed by the window of their earlier end.
    let mut links: Vec<Vec<DocLink>> = vec![Vec::new(); data.windows.len()];
    if run.info.config.model.coref_scope == CorefScope::Document {
        let starts: Vec<usize> = data.windows.iter().map(|(w, _)| w.word_start).collect();
        for e in &data.doc_edges {
            let [(sw, sp), (dw, dp)] = e.ends(&starts);
            links[sw].push((sp, (first_window + dw) as u32, dp));
        }
    }
    let mut records: Vec<WindowRecord> = data
        .windows
        .iter()
        .zip(links)
        .map(|((w, edges), links)| {
            let tokens = &data.doc.tokens[w.word_start..w.word_end];
            let forms: Vec<String> = tokens.iter().map(|t| t.form.clone()).collect();
            let words = WindowWords {
                forms: &forms,
                tags: vec![0; tokens.len()],
                shapes: tokens
                    .iter()
                    .map(|t| enrelg_pipeline::words::shape::shape(&t.form))
                    .collect(),
                upos: tokens.iter().map(|t| upos_id(&t.upos)).collect(),
                deprel: tokens.iter().map(|t| deprel_id(&t.deprel)).collect(),
            };
            let window = Window { doc_id: k.to_string(), ..w.clone() };
            let id = (first_window + w.index) as u32;
            WindowRecord::new(id, window, words, edges, dep_kinds, links)
        })
        .collect();
    records.iter_mut().for_each(|r| r.set_lexical_ids(&run.lexicon));
    crate::data::context::add_context(&mut records, run.info.config.model.context);
    records
}

/// The `.ann` content for a document's entities ([`brat::entity_line`]).
pub fn to_ann(entities: &[PredictedEntity]) -> String {
    entities
        .iter()
        .enumerate()
        .map(|(i, e)| brat::entity_line(i + 1, &e.ty, e.start, e.end, &e.text))
        .collect()
}

/// Load the runs that tag together and the tokenizer of their model
/// folder, refusing a folder whose tokenizer differs from the one a run was
/// trained with.
pub fn open_runs(
    dirs: &[PathBuf],
    device: &Device,
) -> anyhow::Result<(Vec<LoadedRun>, WordPieceTokenizer)> {
    let runs =
        dirs.iter().map(|r| LoadedRun::open(r, device)).collect::<anyhow::Result<Vec<_>>>()?;
    let first = runs.first().context("no run to tag with")?;
    let tokenizer = WordPieceTokenizer::from_model_dir(&first.model_dir)?;
    for (run, dir) in runs.iter().zip(dirs) {
        anyhow::ensure!(
            tokenizer.sha256 == run.info.tokenizer_sha256,
            "{}: tokenizer sha256 {} differs from the one run {} was trained with ({}); predict with the run's own model folder",
            tokenizer.source.display(),
            &tokenizer.sha256[..12],
            dir.display(),
            &run.info.tokenizer_sha256[..12]
        );
    }
    Ok((runs, tokenizer))
}

/// A consistency-decoding threshold must be a majority.
pub fn check_threshold(threshold: Option<f64>) -> anyhow::Result<()> {
    if let Some(t) = threshold {
        anyhow::ensure!(
            (0.5..=1.0).contains(&t),
            "--consistency {t}: a majority threshold between 0.5 and 1.0"
        );
    }
    Ok(())
}

/// What [`tag_documents`] did.
pub struct Tagged {
    /// Entities per tagged document, by relative path.
    pub entities: BTreeMap<PathBuf, Vec<PredictedEntity>>,
    pub words: usize,
    pub seconds: f64,
    pub skipped: SkipReport,
}

impl Tagged {
    pub fn summary(&self, device: &str, out: &Path) -> String {
        let total: usize = self.entities.values().map(Vec::len).sum();
        format!(
            "{} documents, {} words, {total} entities in {:.1} s ({:.0} words/s on {device}) -> {}",
            self.entities.len(),
            self.words,
            self.seconds,
            self.words as f64 / self.seconds.max(1e-9),
            out.display()
        )
    }
}

/// Every document or line `predict` and `tag` skipped, with its reason and location
/// ([`SkipReport::to_tsv`]), in their output folder.
pub const SKIPPED_TSV: &str = "skipped.tsv";

/// Where `predict` and `tag` write every entity of a folder input.
pub const ENTITIES_JSONL: &str = "entities.jsonl";

/// One line of [`ENTITIES_JSONL`]: the document's `.txt` path relative to
/// the input (documents named alike in two folders stay apart; a name that
/// is not UTF-8 is shown with U+FFFD) and the entity.
#[derive(Serialize)]
struct EntityLine<'a> {
    path: String,
    #[serde(flatten)]
    entity: &'a PredictedEntity,
}

/// Tag each (`.txt`, `.conllu`, relative path) of `inputs`: `ann_root/REL.ann`
/// per document and `ann_root/entities.jsonl` for all, written through `out`.
/// A document that cannot be read is skipped and counted (an error with `strict`).
pub fn tag_documents(
    tagger: &Tagger,
    inputs: &[(PathBuf, PathBuf, PathBuf)],
    out: &mut OutputDir,
    ann_root: &Path,
    device: &Device,
    strict: bool,
) -> anyhow::Result<Tagged> {
    let bar = ProgressBar::new(inputs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "tagging [{bar:30}] {pos}/{len} documents ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    let start = Instant::now();
    let mut tagged = Tagged {
        entities: BTreeMap::new(),
        words: 0,
        seconds: 0.0,
        skipped: SkipReport::default(),
    };
    let mut jsonl = String::new();
    let mut batcher: Batcher<&Path> = Batcher::default();
    let mut write = |done: Vec<(Vec<PredictedEntity>, &Path)>,
                     tagged: &mut Tagged,
                     jsonl: &mut String|
     -> anyhow::Result<()> {
        for (entities, rel) in done {
            out.write(&with_ext(ann_root, rel, "ann"), to_ann(&entities).as_bytes())?;
            let path = with_ext(Path::new(""), rel, "txt").to_string_lossy().into_owned();
            for entity in &entities {
                *jsonl +=
                    &(serde_json::to_string(&EntityLine { path: path.clone(), entity })? + "\n");
            }
            tagged.entities.insert(rel.to_path_buf(), entities);
            bar.inc(1);
        }
        Ok(())
    };
    for (txt, parse, rel) in inputs {
        let doc = match load_unannotated(txt, parse) {
            Ok(doc) => doc,
            Err(e) if !strict && e.is_document_problem() => {
                // No .ann is written for it: the summary names it.
                tagged.skipped.add(Unit::Document, &e.reason(), e.to_string());
                bar.inc(1);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        tagged.words += doc.tokens.len();
        let done = batcher.push(tagger, tagger.prepare(doc)?, rel.as_path(), device)?;
        write(done, &mut tagged, &mut jsonl)?;
    }
    write(batcher.finish(tagger, device)?, &mut tagged, &mut jsonl)?;
    bar.finish_and_clear();
    out.write(&ann_root.join(ENTITIES_JSONL), jsonl.as_bytes())?;
    tagged.seconds = start.elapsed().as_secs_f64();
    Ok(tagged)
}
