//! Arrow shards: the pipeline's output and the trainer's input.
//!
//! Layout of a shard folder (one per corpus):
//!
//! ```text
//! manifest.json                       format version, inputs, tokenizer, labels, configs, statistics
//! SPLIT/documents.arrow               doc_id, split, text
//! SPLIT/tokens.arrow                  doc_id, idx, sentence, form, lemma, upos, deprel, head, start, end, label
//! SPLIT/windows.arrow                 window_id, doc_id, window_index, word_start, word_end,
//!                                     input_ids, word_first_subtoken, labels (tag indices), word_shapes
//! SPLIT/edges.arrow                   window_id, graph, kind, src, dst (words of the window, src < dst)
//! SPLIT/acronyms.arrow                doc_id, short_form, short, long_start, long_end, long_form
//! ```
//!
//! Arrow IPC files (uncompressed) written through polars. The whole folder is
//! written under a temporary name and renamed into place, so a crash leaves
//! no folder that a reader would accept, and the same input gives the same
//! bytes (no timestamps, documents in id order).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use enrelg_schemas::tables::{
    self, acronyms, doc_edges, documents, edges, entities, relations, tokens, windows,
};
use enrelg_schemas::{LabelSet, FORMAT_VERSION};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::align::{align, AlignConfig, AlignReport};
use crate::graph::{document_graphs, DependencyVariant, DocEdge, Edge, DOC_COREF_NEIGHBOURS};
use crate::read::corpus::{self, CorpusError};
use crate::read::document::Document;
use crate::relation::{self, EntityWords, EventHeads, Pair, RelationReport};
use crate::skips::SkipReport;
use crate::window::{windows, Window, WindowConfig, WindowError, WindowReport, WordPieceTokenizer};
use crate::words::acronym::{self, Acronym};
use crate::words::lemma::Lemmatizer;

mod read;
mod write;

pub use read::{optional_u32s, read_table, strings, u32_list, u32s};
use write::write_split;

#[derive(Debug, Error)]
pub enum ShardError {
    #[error(transparent)]
    Corpus(#[from] CorpusError),
    #[error(transparent)]
    Window(#[from] WindowError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Fs(#[from] crate::fs::FsError),
    #[error("{}: {source}", path.display())]
    Polars { path: PathBuf, source: PolarsError },
    #[error("{}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error("column {column}: {message}")]
    Column { column: String, message: String },
    #[error("{}: SHA-256 {found} differs from {expected} in the shard manifest; the file changed after it was written (rebuild with `make data`)", path.display())]
    Checksum { path: PathBuf, expected: String, found: String },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SplitSummary {
    pub documents: usize,
    pub tokens: usize,
    pub windows: usize,
    pub mean_words_per_window: f64,
    pub mean_subtokens_per_window: f64,
    pub edges: BTreeMap<String, usize>,
    /// Coreference edges between windows of a document, per kind.
    pub doc_edges: BTreeMap<String, usize>,
    pub acronym_pairs: usize,
    /// Relation and event pairs per type, and those dropped (absent without relations).
    #[serde(default, skip_serializing_if = "RelationReport::is_empty")]
    pub relations: RelationReport,
    pub alignment: AlignReport,
    pub windowing: WindowReport,
    /// Documents and lines the readers left out (absent when none).
    #[serde(default, skip_serializing_if = "SkipReport::is_empty")]
    pub skipped: SkipReport,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TokenizerIdentity {
    /// Folder or file the tokenizer came from, as given.
    pub source: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ShardManifest {
    pub format_version: u32,
    pub corpus: String,
    pub corpus_sha256: String,
    pub tokenizer: TokenizerIdentity,
    /// Every labelled type, the auxiliary ones last.
    pub label_types: Vec<String>,
    /// The types labelled and learned but not scored (`enrelg data --auxiliary-types`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auxiliary_types: Vec<String>,
    /// BIO tags in index order (the `labels` column of `windows`).
    pub tags: Vec<String>,
    pub align: AlignConfig,
    pub window: WindowConfig,
    /// The dependency edge set a model uses unless told otherwise; all kinds are stored.
    pub dependency_variant: DependencyVariant,
    /// Nearest matching mentions in other windows each word keeps in `doc_edges`.
    pub document_coref_neighbours: usize,
    pub splits: Vec<String>,
    pub statistics: BTreeMap<String, SplitSummary>,
    /// SHA-256 of every Arrow file, by relative path.
    pub files: BTreeMap<String, String>,
}

impl ShardManifest {
    /// Read and check a shard folder's manifest.
    pub fn read(dir: &Path) -> Result<Self, ShardError> {
        let path = dir.join(tables::MANIFEST);
        let bytes =
            std::fs::read(&path).map_err(|source| ShardError::Io { path: path.clone(), source })?;
        let bad = |message: String| ShardError::Manifest { path: path.clone(), message };
        let value: serde_json::Value =
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
        // The version first: shards of another version may lack fields this build expects.
        let version = value.get("format_version").and_then(serde_json::Value::as_u64);
        if version != Some(u64::from(FORMAT_VERSION)) {
            let found = version.map_or_else(|| "missing".to_string(), |v| v.to_string());
            return Err(bad(format!("shard format version {found} but this build reads version {FORMAT_VERSION}; rebuild with `make data`")));
        }
        let m: ShardManifest = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        let labels = m
            .labels()
            .map_err(|e| ShardError::Manifest { path: path.clone(), message: e.to_string() })?;
        if labels.types() != m.label_types {
            return Err(ShardError::Manifest {
                path,
                message: format!(
                    "label_types {:?} disagree with the tags {:?}",
                    m.label_types, m.tags
                ),
            });
        }
        Ok(m)
    }

    /// The split that picks models and settings (`dev`, AnatEM's `devel`: [`crate::read::corpus::split_role`]), if
    /// the shards have one.
    pub fn dev_split(&self) -> Option<&str> {
        self.splits
            .iter()
            .map(String::as_str)
            .find(|s| crate::read::corpus::split_role(s) == Some("dev"))
    }

    /// The label set the shards were labelled with (their `tags`, the
    /// auxiliary types last).
    pub fn labels(&self) -> Result<LabelSet, enrelg_schemas::LabelError> {
        LabelSet::from_tags(&self.tags, &self.auxiliary_types)
    }
}

pub struct BuildOptions<'a> {
    pub corpus_name: String,
    pub labels: LabelSet,
    pub align: AlignConfig,
    pub window: WindowConfig,
    pub dependency_variant: DependencyVariant,
    pub tokenizer: &'a WordPieceTokenizer,
    /// Split folder names to build, in order.
    pub splits: Vec<String>,
    /// Stop at the first broken document instead of skipping it ([`crate::skips`]).
    pub strict: bool,
}

/// Seconds spent per stage, summed over documents (CPU time for the
/// per-document stages, wall time for reading and writing).
#[derive(Debug, Default, Clone, Serialize)]
pub struct StageTimes {
    pub ingest: f64,
    pub align_lemmas_acronyms: f64,
    pub windows: f64,
    pub graphs: f64,
    pub write: f64,
}

/// One document through every stage: labels, lemmas, acronyms, windows and
/// their graphs. Training shards and prediction both go through here.
pub struct DocumentData {
    pub doc: Document,
    pub labels: Vec<String>,
    pub lemmas: Vec<String>,
    pub sentence_of: Vec<u32>,
    pub acronyms: Vec<Acronym>,
    pub windows: Vec<(Window, Vec<Edge>)>,
    /// Coreference edges between words of different windows.
    pub doc_edges: Vec<DocEdge>,
    /// Each of `doc.entities` on words, and the relations as head–tail pairs (filled by
    /// [`DocumentData::place_relations`] for shards; empty when tagging).
    pub entity_words: Vec<EntityWords>,
    pub pairs: Vec<Pair>,
    pub relation_report: RelationReport,
    pub align: AlignReport,
    pub windowing: WindowReport,
}

/// Run the per-document stages; `clocks` collect CPU nanoseconds per stage.
pub fn process(
    doc: Document,
    opts: &BuildOptions,
    clocks: &[AtomicU64; 3],
) -> Result<DocumentData, ShardError> {
    let t0 = Instant::now();
    let (aligned, align_report) = align(&doc, &opts.labels, &opts.align);
    let lemmatizer = Lemmatizer::default();
    let lemmas: Vec<String> = doc.tokens.iter().map(|t| lemmatizer.lemma(t)).collect();
    let acronyms = acronym::detect(&doc);
    let t1 = Instant::now();
    let (wins, windowing) = windows(&doc, opts.tokenizer, &opts.window)?;
    let t2 = Instant::now();
    let (edges, doc_edges) = document_graphs(&doc, &wins, &lemmas, &acronyms);
    let windows: Vec<(Window, Vec<Edge>)> = wins.into_iter().zip(edges).collect();
    let t3 = Instant::now();
    for (clock, d) in clocks.iter().zip([t1 - t0, t2 - t1, t3 - t2]) {
        clock.fetch_add(d.as_nanos() as u64, Ordering::Relaxed);
    }
    let mut sentence_of = vec![0u32; doc.tokens.len()];
    for (s, sent) in doc.sentences.iter().enumerate() {
        sentence_of[sent.range()].fill(s as u32);
    }
    Ok(DocumentData {
        doc,
        labels: aligned.labels,
        lemmas,
        sentence_of,
        acronyms,
        windows,
        doc_edges,
        entity_words: Vec::new(),
        pairs: Vec::new(),
        relation_report: RelationReport::default(),
        align: align_report,
        windowing,
    })
}

impl DocumentData {
    /// The entities on words and the relations as pairs ([`crate::relation`]).
    pub fn place_relations(&mut self, heads: &EventHeads) {
        self.entity_words = relation::entity_words(&self.doc, &self.sentence_of);
        (self.pairs, self.relation_report) = relation::pairs(&self.doc, &self.entity_words, heads);
    }
}

/// The event head roles of a corpus folder's `standoff/annotation.conf` (none without one).
fn event_heads(corpus_dir: &Path) -> Result<EventHeads, ShardError> {
    let path = corpus_dir.join("standoff").join("annotation.conf");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(EventHeads::parse(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(EventHeads::default()),
        Err(source) => Err(ShardError::Io { path, source }),
    }
}

fn polars_err(path: &Path) -> impl FnOnce(PolarsError) -> ShardError + '_ {
    move |source| ShardError::Polars { path: path.to_path_buf(), source }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io { path: path.to_path_buf(), source }
}

/// Build the shards of a corpus folder into `out` (replaced atomically).
///
/// `progress` is called once per processed document.
pub fn build(
    corpus_dir: &Path,
    out: &Path,
    opts: &BuildOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(ShardManifest, StageTimes), ShardError> {
    let parent = out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io_err(parent))?;
    crate::fs::replace_dir(out, |tmp| build_into(corpus_dir, tmp, opts, progress))
}

/// Write every split and then the manifest into the empty folder `tmp`.
fn build_into(
    corpus_dir: &Path,
    tmp: &Path,
    opts: &BuildOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(ShardManifest, StageTimes), ShardError> {
    let mut times = StageTimes::default();
    let clocks = [AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)];
    let mut files = BTreeMap::new();
    let mut statistics = BTreeMap::new();
    let heads = event_heads(corpus_dir)?;
    for split in &opts.splits {
        let t = Instant::now();
        let loaded = corpus::load_split(corpus_dir, split, opts.strict)?;
        times.ingest += t.elapsed().as_secs_f64();
        // Skipped documents still move the bar, which counts .txt files.
        progress(loaded.skipped.documents as u64);
        let data: Vec<DocumentData> = loaded
            .documents
            .into_par_iter()
            .map(|d| {
                let r = process(d, opts, &clocks).map(|mut data| {
                    data.place_relations(&heads);
                    data
                });
                progress(1);
                r
            })
            .collect::<Result<_, _>>()?;
        let t = Instant::now();
        let mut summary = write_split(tmp, split, &data, &opts.labels, &mut files)?;
        summary.skipped = loaded.skipped;
        times.write += t.elapsed().as_secs_f64();
        statistics.insert(split.clone(), summary);
    }
    let secs = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / 1e9;
    times.align_lemmas_acronyms = secs(&clocks[0]);
    times.windows = secs(&clocks[1]);
    times.graphs = secs(&clocks[2]);
    let manifest = ShardManifest {
        format_version: FORMAT_VERSION,
        corpus: opts.corpus_name.clone(),
        corpus_sha256: corpus::corpus_sha256(corpus_dir)?,
        tokenizer: TokenizerIdentity {
            source: opts.tokenizer.source.display().to_string(),
            sha256: opts.tokenizer.sha256.clone(),
        },
        label_types: opts.labels.types().to_vec(),
        auxiliary_types: opts.labels.auxiliary_types().to_vec(),
        tags: opts.labels.tags(),
        align: opts.align,
        window: opts.window,
        dependency_variant: opts.dependency_variant,
        document_coref_neighbours: DOC_COREF_NEIGHBOURS,
        splits: opts.splits.clone(),
        statistics,
        files,
    };
    // The manifest is written last: a folder without it is never complete.
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| ShardError::Manifest {
        path: tmp.join(tables::MANIFEST),
        message: e.to_string(),
    })? + "\n";
    std::fs::write(tmp.join(tables::MANIFEST), json).map_err(io_err(tmp))?;
    Ok((manifest, times))
}
