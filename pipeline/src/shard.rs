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

use enrelg_schemas::tables::{self, acronyms, doc_edges, documents, edges, tokens, windows};
use enrelg_schemas::{LabelSet, FORMAT_VERSION};
use polars::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::align::{align, AlignConfig, AlignReport};
use crate::graph::{document_graphs, DependencyVariant, DocEdge, Edge, DOC_COREF_NEIGHBOURS};
use crate::read::corpus::{self, CorpusError};
use crate::read::document::Document;
use crate::skips::SkipReport;
use crate::window::{windows, Window, WindowConfig, WindowError, WindowReport, WordPieceTokenizer};
use crate::words::acronym::{self, Acronym};
use crate::words::lemma::Lemmatizer;

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
        align: align_report,
        windowing,
    })
}

fn polars_err(path: &Path) -> impl FnOnce(PolarsError) -> ShardError + '_ {
    move |source| ShardError::Polars { path: path.to_path_buf(), source }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> ShardError + '_ {
    move |source| ShardError::Io { path: path.to_path_buf(), source }
}

fn list_u32(name: &str, rows: Vec<Vec<u32>>) -> Column {
    let series: Vec<Series> = rows.into_iter().map(|r| Series::new(PlSmallStr::EMPTY, r)).collect();
    Series::new(name.into(), series).into_column()
}

fn write_ipc(path: &Path, columns: Vec<Column>) -> Result<String, ShardError> {
    let mut df = DataFrame::new_infer_height(columns).map_err(polars_err(path))?;
    let mut file = std::fs::File::create(path).map_err(io_err(path))?;
    IpcWriter::new(&mut file).finish(&mut df).map_err(polars_err(path))?;
    file.sync_all().map_err(io_err(path))?;
    Ok(crate::fs::sha256_file(path)?)
}

/// Write the tables of one split into the shard folder `root`; returns file checksums and the summary.
fn write_split(
    root: &Path,
    split: &str,
    data: &[DocumentData],
    tags: &LabelSet,
    files: &mut BTreeMap<String, String>,
) -> Result<SplitSummary, ShardError> {
    let dir = root.join(split);
    std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
    let mut summary = SplitSummary { documents: data.len(), ..Default::default() };
    let docs_cols = documents_table(split, data);
    let token_cols = tokens_table(data, &mut summary);
    let [window_cols, edge_cols] = windows_tables(data, tags, &mut summary);
    let acronym_cols = acronyms_table(data, &mut summary);
    let doc_edge_cols = doc_edges_table(data, &mut summary);
    for (name, cols) in tables::ALL.into_iter().zip([
        docs_cols,
        token_cols,
        window_cols,
        edge_cols,
        acronym_cols,
        doc_edge_cols,
    ]) {
        let rel = tables::table_file(split, name);
        let sha = write_ipc(&root.join(&rel), cols)?;
        files.insert(rel, sha);
    }
    Ok(summary)
}

/// The `documents` table.
fn documents_table(split: &str, data: &[DocumentData]) -> Vec<Column> {
    vec![
        Column::new(
            documents::DOC_ID.into(),
            data.iter().map(|d| d.doc.id.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(documents::SPLIT.into(), vec![split; data.len()]),
        Column::new(
            documents::TEXT.into(),
            data.iter().map(|d| d.doc.text.as_str()).collect::<Vec<_>>(),
        ),
    ]
}

/// The `tokens` table.
fn tokens_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    let mut t = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for d in data {
        for (i, tok) in d.doc.tokens.iter().enumerate() {
            t.0.push(d.doc.id.as_str());
            t.1.push(i as u32);
            t.2.push(d.sentence_of[i]);
            t.3.push(tok.form.as_str());
            t.4.push(d.lemmas[i].as_str());
            t.5.push(tok.upos.as_str());
            t.6.push(tok.deprel.as_str());
            t.7.push(tok.head.map(|h| h as u32));
            t.8.push(tok.start as u32);
            t.9.push(tok.end as u32);
            t.10.push(d.labels[i].as_str());
        }
    }
    summary.tokens = t.0.len();
    vec![
        Column::new(tokens::DOC_ID.into(), t.0),
        Column::new(tokens::IDX.into(), t.1),
        Column::new(tokens::SENTENCE.into(), t.2),
        Column::new(tokens::FORM.into(), t.3),
        Column::new(tokens::LEMMA.into(), t.4),
        Column::new(tokens::UPOS.into(), t.5),
        Column::new(tokens::DEPREL.into(), t.6),
        Column::new(tokens::HEAD.into(), t.7),
        Column::new(tokens::START.into(), t.8),
        Column::new(tokens::END.into(), t.9),
        Column::new(tokens::LABEL.into(), t.10),
    ]
}

/// The `windows` and `edges` tables.
fn windows_tables(
    data: &[DocumentData],
    tags: &LabelSet,
    summary: &mut SplitSummary,
) -> [Vec<Column>; 2] {
    let (mut w_id, mut w_doc, mut w_index, mut w_start, mut w_end) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut w_ids, mut w_first, mut w_labels, mut w_shapes) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut e_win, mut e_graph, mut e_kind, mut e_src, mut e_dst) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut words = 0usize;
    for d in data {
        summary.alignment.merge(&d.align);
        summary.windowing.merge(&d.windowing);
        for (w, edges) in &d.windows {
            let id = w_id.len() as u32;
            w_id.push(id);
            w_doc.push(d.doc.id.as_str());
            w_index.push(w.index as u32);
            w_start.push(w.word_start as u32);
            w_end.push(w.word_end as u32);
            w_ids.push(w.input_ids.clone());
            w_first.push(w.word_first_subtoken.clone());
            // Labels were validated against the label set by alignment, so every tag is known.
            w_labels.push(
                d.labels[w.word_start..w.word_end]
                    .iter()
                    .map(|l| tags.tag_index(l).unwrap_or(0) as u32)
                    .collect::<Vec<u32>>(),
            );
            w_shapes.push(
                d.doc.tokens[w.word_start..w.word_end]
                    .iter()
                    .map(|t| crate::words::shape::shape(&t.form))
                    .collect::<Vec<u32>>(),
            );
            words += w.word_end - w.word_start;
            for e in edges {
                e_win.push(id);
                e_graph.push(e.kind.graph().name());
                e_kind.push(e.kind.name());
                e_src.push(e.src);
                e_dst.push(e.dst);
                *summary.edges.entry(e.kind.name().to_string()).or_default() += 1;
            }
        }
    }
    summary.windows = w_id.len();
    if summary.windows > 0 {
        summary.mean_words_per_window = round3(words as f64 / summary.windows as f64);
        summary.mean_subtokens_per_window =
            round3(summary.windowing.subtokens as f64 / summary.windows as f64);
    }
    let window_cols = vec![
        Column::new(windows::WINDOW_ID.into(), w_id),
        Column::new(windows::DOC_ID.into(), w_doc),
        Column::new(windows::WINDOW_INDEX.into(), w_index),
        Column::new(windows::WORD_START.into(), w_start),
        Column::new(windows::WORD_END.into(), w_end),
        list_u32(windows::INPUT_IDS, w_ids),
        list_u32(windows::WORD_FIRST_SUBTOKEN, w_first),
        list_u32(windows::LABELS, w_labels),
        list_u32(windows::WORD_SHAPES, w_shapes),
    ];
    let edge_cols = vec![
        Column::new(edges::WINDOW_ID.into(), e_win),
        Column::new(edges::GRAPH.into(), e_graph),
        Column::new(edges::KIND.into(), e_kind),
        Column::new(edges::SRC.into(), e_src),
        Column::new(edges::DST.into(), e_dst),
    ];
    [window_cols, edge_cols]
}

/// The `acronyms` table.
fn acronyms_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    let acr: Vec<(&str, &Acronym, String)> = data
        .iter()
        .flat_map(|d| {
            d.acronyms.iter().map(move |a| {
                let long = d.doc.tokens[a.long_start..a.long_end]
                    .iter()
                    .map(|t| t.form.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                (d.doc.id.as_str(), a, long)
            })
        })
        .collect();
    summary.acronym_pairs = acr.len();
    vec![
        Column::new(acronyms::DOC_ID.into(), acr.iter().map(|a| a.0).collect::<Vec<_>>()),
        Column::new(
            acronyms::SHORT_FORM.into(),
            acr.iter().map(|a| a.1.short_form.as_str()).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::SHORT.into(),
            acr.iter().map(|a| a.1.short as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_START.into(),
            acr.iter().map(|a| a.1.long_start as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_END.into(),
            acr.iter().map(|a| a.1.long_end as u32).collect::<Vec<_>>(),
        ),
        Column::new(
            acronyms::LONG_FORM.into(),
            acr.iter().map(|a| a.2.as_str()).collect::<Vec<_>>(),
        ),
    ]
}

/// The `doc_edges` table.
fn doc_edges_table(data: &[DocumentData], summary: &mut SplitSummary) -> Vec<Column> {
    // Document edges by (window, position) of each end; a document's windows
    // are consecutive in `windows`, in order.
    let (mut d_doc, mut d_src_win, mut d_src, mut d_dst_win, mut d_dst, mut d_kind) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut first_window = 0u32;
    for d in data {
        let starts: Vec<usize> = d.windows.iter().map(|(w, _)| w.word_start).collect();
        for e in &d.doc_edges {
            let [(sw, sp), (dw, dp)] = e.ends(&starts);
            d_doc.push(d.doc.id.as_str());
            d_src_win.push(first_window + sw as u32);
            d_src.push(sp);
            d_dst_win.push(first_window + dw as u32);
            d_dst.push(dp);
            d_kind.push(e.kind.name());
            *summary.doc_edges.entry(e.kind.name().to_string()).or_default() += 1;
        }
        first_window += d.windows.len() as u32;
    }
    vec![
        Column::new(doc_edges::DOC_ID.into(), d_doc),
        Column::new(doc_edges::SRC_WINDOW.into(), d_src_win),
        Column::new(doc_edges::SRC.into(), d_src),
        Column::new(doc_edges::DST_WINDOW.into(), d_dst_win),
        Column::new(doc_edges::DST.into(), d_dst),
        Column::new(doc_edges::KIND.into(), d_kind),
    ]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
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
                let r = process(d, opts, &clocks);
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

/// Read one table of a split as a polars DataFrame, after checking the
/// manifest's format version and the file's SHA-256 against the manifest (a
/// truncated, edited or foreign file is an error, never a panic later).
pub fn read_table(dir: &Path, split: &str, table: &str) -> Result<DataFrame, ShardError> {
    let manifest = ShardManifest::read(dir)?;
    let rel = tables::table_file(split, table);
    let path = dir.join(&rel);
    let expected = manifest.files.get(&rel).ok_or_else(|| ShardError::Manifest {
        path: dir.join(tables::MANIFEST),
        message: format!("lists no file {rel} (splits: {})", manifest.splits.join(", ")),
    })?;
    let bytes = std::fs::read(&path).map_err(io_err(&path))?;
    let found = crate::fs::sha256_hex(&bytes);
    if &found != expected {
        return Err(ShardError::Checksum { path, expected: expected.clone(), found });
    }
    IpcReader::new(std::io::Cursor::new(bytes)).finish().map_err(polars_err(&path))
}

/// The shard column readers: a table's column as plain values, for every reader of shards.
fn column_err(column: &str) -> impl FnOnce(PolarsError) -> ShardError + '_ {
    move |e| ShardError::Column { column: column.into(), message: e.to_string() }
}

/// A `u32` column without nulls.
pub fn u32s(df: &DataFrame, column: &str) -> Result<Vec<u32>, ShardError> {
    let col = df.column(column).and_then(|c| c.u32()).map_err(column_err(column))?;
    if col.null_count() != 0 {
        return Err(ShardError::Column { column: column.into(), message: "holds nulls".into() });
    }
    Ok(col.into_no_null_iter().collect())
}

/// A string column; a null reads as the empty string.
pub fn strings(df: &DataFrame, column: &str) -> Result<Vec<String>, ShardError> {
    let col = df.column(column).and_then(|c| c.str()).map_err(column_err(column))?;
    Ok(col.iter().map(|s| s.unwrap_or("").to_string()).collect())
}

/// Row `row` of a `list<u32>` column.
pub fn u32_list(df: &DataFrame, column: &str, row: usize) -> Result<Vec<u32>, ShardError> {
    let list = df.column(column).and_then(|c| c.list()).map_err(column_err(column))?;
    let Some(s) = list.get_as_series(row) else {
        return Err(ShardError::Column {
            column: column.into(),
            message: format!("row {row} is null"),
        });
    };
    Ok(s.u32().map_err(column_err(column))?.into_no_null_iter().collect())
}
