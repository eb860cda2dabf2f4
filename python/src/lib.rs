//! `enrelg._enrelg`: the Rust half of the Python package (`python/enrelg`).
//!
//! The tagger itself is the library's ([`enrelg::tag::predict::Tagger`] through
//! [`enrelg::tag::tag_parsed`]): texts parsed by spaCy in the Python process go through the same
//! pipeline stages, batches and decoding as `enrelg tag`, and come back as the same JSON lines.
//! The chunking of corpus-scale tagging is the library's too ([`enrelg::tag::chunk`]), so `python -m
//! enrelg.ray` and `enrelg tag --chunk` cut a corpus alike. Inference releases the GIL.

use std::path::{Path, PathBuf};

use enrelg::model::inference::Precision;
use enrelg::run::LoadedRun;
use enrelg::tag::chunk;
use enrelg::tag::predict::{check_threshold, open_runs, Tagger as RunTagger};
use enrelg::tag::{tag_parsed, ParsedText};
use enrelg_pipeline::read::input::{check_text, parse_jsonl, TextCheck, DEFAULT_MAX_CHARS};
use enrelg_pipeline::skips::SkipReport;
use enrelg_pipeline::window::WordPieceTokenizer;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyCapsule;

mod arrow;

/// A Rust error as a Python exception, with its whole chain of causes.
fn runtime(e: anyhow::Error) -> PyErr {
    PyRuntimeError::new_err(format!("{e:#}"))
}

/// One or more trained runs loaded once (several: a seed ensemble, as `enrelg tag --run A --run B`).
#[pyclass(module = "enrelg._enrelg")]
struct Tagger {
    runs: Vec<LoadedRun>,
    tokenizer: WordPieceTokenizer,
    device: burn::tensor::Device,
    consistency: Option<f64>,
    /// The encoder's arithmetic (`"f32"` or `"int8"`).
    precision: Precision,
    /// The threads inference runs on (Burn's flex kernels and the pipeline use rayon).
    pool: rayon::ThreadPool,
    run_dirs: Vec<PathBuf>,
}

#[pymethods]
impl Tagger {
    #[new]
    #[pyo3(signature = (runs, device = "cpu", threads = None, consistency = None, quantize = "f32"))]
    fn new(
        py: Python<'_>,
        runs: Vec<PathBuf>,
        device: &str,
        threads: Option<usize>,
        consistency: Option<f64>,
        quantize: &str,
    ) -> PyResult<Self> {
        check_threshold(consistency).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
        let precision = match quantize {
            "f32" => Precision::F32,
            "int8" => Precision::Int8,
            other => {
                return Err(PyValueError::new_err(format!(
                    "quantize: \"f32\" or \"int8\", not {other:?}"
                )))
            }
        };
        let threads =
            threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        if threads == 0 {
            return Err(PyValueError::new_err("threads: at least one"));
        }
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| runtime(e.into()))?;
        let device =
            enrelg::device::by_name(device).map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
        let (loaded, tokenizer) =
            py.detach(|| pool.install(|| open_runs(&runs, &device))).map_err(runtime)?;
        // Refused here rather than at the first text: int8 needs the flex backend.
        RunTagger::new(&loaded, &tokenizer)
            .and_then(|t| t.with_precision(precision, &device))
            .map_err(|e| PyValueError::new_err(format!("{e:#}")))?;
        Ok(Self { runs: loaded, tokenizer, device, consistency, precision, pool, run_dirs: runs })
    }

    /// The run folders, in the order given.
    #[getter]
    fn runs(&self) -> Vec<PathBuf> {
        self.run_dirs.clone()
    }

    /// The entity types the runs output.
    #[getter]
    fn types(&self) -> Vec<String> {
        self.runs.first().map(|r| r.info.labels.scored_types().to_vec()).unwrap_or_default()
    }

    /// Tag `(id, text, conllu)` triples parsed in Python, in order: each one's JSON line as `enrelg
    /// tag` writes it to `tagged.jsonl`, or an error line `{"id": ..., "error": ...}`. The GIL is
    /// released while the model runs.
    fn tag_parsed(
        &self,
        py: Python<'_>,
        items: Vec<(String, String, String)>,
    ) -> PyResult<Vec<String>> {
        let texts: Vec<ParsedText> =
            items.into_iter().map(|(id, text, conllu)| ParsedText { id, text, conllu }).collect();
        self.tag(py, texts)
    }

    /// As [`Tagger::tag_parsed`], the texts read from an Arrow string array (the
    /// `(schema, array)` capsules of `__arrow_c_array__`: `string`, `large_string` or
    /// `string_view`, as pyarrow and polars hand them out), not through Python strings; each
    /// document copies its own text, as every document does. A null text gets an error line.
    fn tag_arrow(
        &self,
        py: Python<'_>,
        ids: Vec<String>,
        texts: (Bound<'_, PyCapsule>, Bound<'_, PyCapsule>),
        conllus: Vec<String>,
    ) -> PyResult<Vec<String>> {
        // SAFETY: the capsules are borrowed for this call and their buffers outlive it.
        let column = unsafe { arrow::Strings::from_capsules(&texts.0, &texts.1) }
            .map_err(PyValueError::new_err)?;
        if column.len() != ids.len() || conllus.len() != ids.len() {
            return Err(PyValueError::new_err(format!(
                "{} ids, {} texts and {} parses: one of each per document",
                ids.len(),
                column.len(),
                conllus.len()
            )));
        }
        let mut lines = vec![String::new(); ids.len()];
        let mut texts = Vec::with_capacity(ids.len());
        let mut places = Vec::with_capacity(ids.len());
        for (i, (id, conllu)) in ids.into_iter().zip(conllus).enumerate() {
            match column.get(i) {
                Ok(Some(text)) => {
                    places.push(i);
                    texts.push(ParsedText { id, text: text.to_string(), conllu });
                }
                Ok(None) => lines[i] = error_line(Some(&id), "no text (null)"),
                Err(e) => lines[i] = error_line(Some(&id), &e),
            }
        }
        for (line, i) in self.tag(py, texts)?.into_iter().zip(places) {
            lines[i] = line;
        }
        Ok(lines)
    }
}

impl Tagger {
    fn tag(&self, py: Python<'_>, texts: Vec<ParsedText>) -> PyResult<Vec<String>> {
        let ids: Vec<String> = texts.iter().map(|t| t.id.clone()).collect();
        let tagged = py
            .detach(|| {
                self.pool.install(|| {
                    let tagger = RunTagger::new(&self.runs, &self.tokenizer)?
                        .with_consistency(self.consistency)
                        .with_precision(self.precision, &self.device)?;
                    tag_parsed(&tagger, texts, &self.device)
                })
            })
            .map_err(runtime)?;
        Ok(tagged
            .into_iter()
            .zip(&ids)
            .map(|(r, id)| r.unwrap_or_else(|e| error_line(Some(id), &e)))
            .collect())
    }
}

/// The JSON line of a document that was not tagged (`id` None: a line without a record).
#[pyfunction]
#[pyo3(signature = (id, error))]
fn error_line(id: Option<&str>, error: &str) -> String {
    #[derive(serde::Serialize)]
    struct ErrorLine<'a> {
        id: Option<&'a str>,
        error: &'a str,
    }
    serde_json::to_string(&ErrorLine { id, error }).unwrap_or_default()
}

/// `"text"`, `"empty"` (blank: no entities, no parse), or a `ValueError` saying why the text is
/// refused: the checks `enrelg tag` makes before parsing.
#[pyfunction]
#[pyo3(signature = (text, max_chars = DEFAULT_MAX_CHARS))]
fn check(text: &str, max_chars: usize) -> PyResult<&'static str> {
    match check_text(text, max_chars) {
        Ok(TextCheck::Text) => Ok("text"),
        Ok(TextCheck::Empty) => Ok("empty"),
        Err(why) => Err(PyValueError::new_err(why)),
    }
}

/// The chunks of a JSONL input (a file or a folder of them), as `enrelg tag --chunk` plans them:
/// dicts with `file`, `index`, `global`, `first_line`, `lines`, `start`, `end` (bytes) and
/// `output` (the chunk's output path relative to the output folder).
#[pyfunction]
fn plan_chunks(py: Python<'_>, input: PathBuf, size: usize) -> PyResult<Vec<Py<PyAny>>> {
    let chunks = chunk::plan(&input, size).map_err(runtime)?;
    chunks
        .iter()
        .map(|c| {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("file", &c.file)?;
            d.set_item("index", c.index)?;
            d.set_item("global", c.global)?;
            d.set_item("first_line", c.first_line)?;
            d.set_item("lines", c.lines)?;
            d.set_item("start", c.bytes.start)?;
            d.set_item("end", c.bytes.end)?;
            d.set_item("output", c.output(Path::new(""), "jsonl"))?;
            Ok(d.into_any().unbind())
        })
        .collect()
}

/// Where chunk `index` of input file `file` writes, relative to the output folder
/// ([`chunk::output_path`]), for inputs the library does not plan (Parquet).
#[pyfunction]
fn chunk_output(file: PathBuf, index: usize) -> PathBuf {
    chunk::output_path(Path::new(""), &file, index, "jsonl")
}

/// A JSONL record as Python sees it: `(line, id, text)`.
type Record = (usize, String, String);
/// A line left out: `(reason, message)`.
type Skip = (String, String);

/// The records of one planned JSONL chunk of `path` (its first line and byte range), read as `enrelg tag` reads a JSONL input:
/// `(records, skipped)`, records as `(line, id, text)` and every line left out as
/// `(reason, message)` (the message names the file and line).
#[pyfunction]
fn read_jsonl_chunk(
    path: PathBuf,
    first_line: usize,
    start: u64,
    end: u64,
) -> PyResult<(Vec<Record>, Vec<Skip>)> {
    let bytes = chunk::read_lines(&path, first_line, start..end).map_err(runtime)?;
    let mut skipped = SkipReport::default();
    let records = parse_jsonl(&bytes, &path, &mut skipped)
        .into_iter()
        .map(|r| (r.line, r.id, r.text))
        .collect();
    Ok((records, skipped.all))
}

#[pymodule]
fn _enrelg(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Tagger>()?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(error_line, m)?)?;
    m.add_function(wrap_pyfunction!(plan_chunks, m)?)?;
    m.add_function(wrap_pyfunction!(chunk_output, m)?)?;
    m.add_function(wrap_pyfunction!(read_jsonl_chunk, m)?)?;
    // The parse `enrelg tag` runs, so that the package parses alike without the repository.
    m.add("PARSE_SCRIPT", enrelg::tag::PARSE_SCRIPT)?;
    m.add("DEFAULT_MAX_CHARS", DEFAULT_MAX_CHARS)?;
    m.add("DEFAULT_CHUNK_LINES", chunk::DEFAULT_CHUNK_LINES)?;
    Ok(())
}
