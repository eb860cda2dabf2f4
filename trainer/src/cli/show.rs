//! `enrelg show`: static HTML pages of a split's documents, entities,
//! predictions and graphs, plus an index with the error analysis.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use enrelg::run::{predictions_file, RunInfo};
use enrelg::show::html::{document_page, errors, index_page, page_name, IndexRow, Palette};
use enrelg::show::{load, read_predictions, ErrorSummary, Outcome, ShowDoc, WindowOrder};
use enrelg_pipeline::fs::{sha256_file, write_atomic};
use enrelg_pipeline::graph::DependencyVariant;
use enrelg_schemas::tables::MANIFEST;

#[derive(Args)]
pub struct ShowArgs {
    /// Shard folder (`enrelg data --out`).
    #[arg(long)]
    pub shards: PathBuf,
    #[arg(long, default_value = "test")]
    pub split: String,
    /// A trained run whose predictions on the split (`enrelg eval --run RUN
    /// --split SPLIT` writes them) are shown beside the gold; its dependency
    /// edge set is the one drawn (default without a run: key + compound).
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Only these documents (repeat the flag); default: all of the split.
    #[arg(long = "doc")]
    pub docs: Vec<String>,
    /// Output folder: index.html and one page per document.
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(args: ShowArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    let info = args.run.as_deref().map(RunInfo::read).transpose()?;
    // The dependency edges the run uses (the default variant's without a run).
    let variant =
        info.as_ref().map_or_else(DependencyVariant::default, |i| i.config.dependency_variant);
    let (mut docs, order) = load(&args.shards, &args.split, variant.kinds())?;
    let scored = match (&args.run, &info) {
        (Some(run), Some(info)) => Some(read_run(&args, run, info, &mut docs, &order)?),
        _ => None,
    };
    if !args.docs.is_empty() {
        for id in &args.docs {
            anyhow::ensure!(
                docs.iter().any(|d| &d.id == id),
                "--doc {id}: no such document in split {} of {}",
                args.split,
                args.shards.display()
            );
        }
        docs.retain(|d| args.docs.contains(&d.id));
    }
    let palette = Palette::new(
        docs.iter()
            .flat_map(|d| {
                d.words.iter().flat_map(|w| [w.gold.as_str(), w.pred.as_deref().unwrap_or("O")])
            })
            .filter_map(|t| t.split_once('-').map(|(_, ty)| ty)),
    );
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut summary = ErrorSummary::default();
    let mut rows = Vec::with_capacity(docs.len());
    let mut largest = (0usize, String::new());
    let run_name = args.run.as_ref().map(|r| r.display().to_string());
    for (i, doc) in docs.iter().enumerate() {
        let (gold, pred) = doc.mentions(scored.as_deref());
        let nav =
            (i.checked_sub(1).map(|p| docs[p].id.as_str()), docs.get(i + 1).map(|n| n.id.as_str()));
        let html = document_page(doc, &gold, &pred, nav, &palette, run_name.as_deref());
        let name = page_name(&doc.id);
        write_atomic(&args.out.join(&name), html.as_bytes())?;
        if html.len() > largest.0 {
            largest = (html.len(), name);
        }
        summary.add(doc, &gold, &pred);
        let correct = pred.iter().filter(|m| m.outcome == Some(Outcome::Correct)).count();
        rows.push(IndexRow {
            id: &doc.id,
            words: doc.words.len(),
            gold: gold.len(),
            pred: pred.len(),
            correct,
            errors: errors(&gold, &pred),
        });
    }
    let title = format!(
        "{} · {} split{}",
        args.shards.display(),
        args.split,
        run_name.as_ref().map_or(String::new(), |r| format!(" · {r}"))
    );
    let index = index_page(&title, &mut rows, scored.as_ref().map(|_| &summary), &palette);
    write_atomic(&args.out.join("index.html"), index.as_bytes())?;
    println!(
        "{} pages in {:.2} s (largest {} kB: {}) -> {}",
        docs.len(),
        start.elapsed().as_secs_f64(),
        largest.0 / 1024,
        largest.1,
        args.out.join("index.html").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The run's predictions on the split into the documents (its shards must be these); the entity
/// types it scores.
fn read_run(
    args: &ShowArgs,
    run: &Path,
    info: &RunInfo,
    docs: &mut [ShowDoc],
    order: &WindowOrder,
) -> anyhow::Result<Vec<String>> {
    let found = sha256_file(&args.shards.join(MANIFEST))?;
    anyhow::ensure!(
        found == info.shard_manifest_sha256,
        "{}: not the shards run {} was trained on (manifest sha256 {} vs {} in its run.json; it used {})",
        args.shards.display(),
        run.display(),
        &found[..12],
        &info.shard_manifest_sha256[..12.min(info.shard_manifest_sha256.len())],
        info.shards.display()
    );
    let predictions = run.join(predictions_file(&args.split));
    anyhow::ensure!(
        predictions.exists(),
        "{}: no predictions on {}; write them with `enrelg eval --run {} --split {}`",
        predictions.display(),
        args.split,
        run.display(),
        args.split
    );
    read_predictions(&predictions, docs, order)?;
    let mut types: Vec<String> = info
        .scored_tags()
        .iter()
        .filter_map(|t| t.split_once('-').map(|(_, ty)| ty.to_string()))
        .collect();
    types.dedup();
    Ok(types)
}
