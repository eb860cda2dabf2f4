pub mod bench;
pub mod compare;
pub mod predict;
pub mod conlleval;
pub mod data;
pub mod inspect;
pub mod stats;
pub mod train;

use std::path::Path;

use anyhow::Context;
use enrelg_pipeline::manifest::Manifest;
use enrelg_pipeline::skips::SkipReport;
use enrelg_schemas::LabelSet;

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
        tracing::warn!("{} document(s) and {} line(s) of the input were skipped", total.documents, total.lines);
        eprint!("{total}");
    }
}

/// Write `contents` to `path` atomically: a temporary file in the same
/// folder, then a rename, so readers never see a half-written file.
pub fn write_atomic(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().context("output path has no file name")?.to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, contents).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    Ok(())
}

/// Compare computed statistics with an expected JSON file, listing every
/// difference on stderr. Returns whether they match.
pub fn matches_expected(path: &Path, found: &serde_json::Value, what: &str, regenerate_flag: &str) -> anyhow::Result<bool> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let expected: serde_json::Value = serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))?;
    let diffs = enrelg_pipeline::stats::drift(&expected, found);
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
