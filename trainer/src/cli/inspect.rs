//! `enrelg inspect`: look inside a shard folder with polars.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use enrelg_pipeline::shard::{read_table, strings, u32s, ShardManifest};
use enrelg_schemas::tables::{self, doc_edges, edges, tokens, windows};
use enrelg_schemas::Graph;
use polars::prelude::DataFrame;

#[derive(Args)]
pub struct InspectArgs {
    /// Shard folder written by `enrelg data`.
    pub shards: PathBuf,
    /// Split to print a sample window from (default: the first).
    #[arg(long)]
    pub split: Option<String>,
    /// Which window of that split to print.
    #[arg(long, default_value_t = 0)]
    pub window: u32,
}

pub fn run(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let manifest = ShardManifest::read(&args.shards)?;
    println!(
        "{}: format {}, tokenizer sha256 {}, {} tags, dependency variant {:?}",
        manifest.corpus,
        manifest.format_version,
        &manifest.tokenizer.sha256[..12],
        manifest.tags.len(),
        manifest.dependency_variant
    );
    for split in &manifest.splits {
        print_split(&args.shards, &manifest, split)?;
    }
    let split = args.split.clone().unwrap_or_else(|| manifest.splits[0].clone());
    print_window(&args.shards, &split, args.window)?;
    Ok(ExitCode::SUCCESS)
}

/// A split's windows, edges per kind, document edges and each graph's degree histogram.
fn print_split(shards: &Path, manifest: &ShardManifest, split: &str) -> anyhow::Result<()> {
    let windows = read_table(shards, split, tables::WINDOWS)?;
    let edges = read_table(shards, split, tables::EDGES)?;
    let n = windows.height();
    let lens: Vec<usize> = windows
        .column(windows::INPUT_IDS)?
        .list()?
        .iter()
        .map(|s| s.map_or(0, |s| s.len()))
        .collect();
    let (min, max) =
        (lens.iter().min().copied().unwrap_or(0), lens.iter().max().copied().unwrap_or(0));
    let mean = lens.iter().sum::<usize>() as f64 / n.max(1) as f64;
    println!("\n[{split}] {n} windows; subtokens per window mean {mean:.1}, min {min}, max {max}");
    let kinds = strings(&edges, edges::KIND)?;
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &kinds {
        *per_kind.entry(k).or_default() += 1;
    }
    println!(
        "  edges per kind: {}",
        per_kind.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    );
    let doc_edges = read_table(shards, split, tables::DOC_EDGES)?;
    let mut doc_kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let doc_kind_names = strings(&doc_edges, doc_edges::KIND)?;
    doc_kind_names.iter().for_each(|k| *doc_kinds.entry(k.as_str()).or_default() += 1);
    let linked: std::collections::BTreeSet<(u32, u32)> = u32s(&doc_edges, doc_edges::SRC_WINDOW)?
        .into_iter()
        .zip(u32s(&doc_edges, doc_edges::DST_WINDOW)?)
        .collect();
    println!(
        "  document edges (between windows, {} nearest mentions per word): {}; {} window pairs linked",
        manifest.document_coref_neighbours,
        doc_kinds.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
        linked.len()
    );
    print_degrees(&windows, &edges)
}

/// How many words have 0, 1, ..., 5+ edges in each graph, over all windows.
fn print_degrees(windows: &DataFrame, edges: &DataFrame) -> anyhow::Result<()> {
    let graphs = strings(edges, edges::GRAPH)?;
    let starts = u32s(windows, windows::WORD_START)?;
    let ends = u32s(windows, windows::WORD_END)?;
    let (win, src, dst) =
        (u32s(edges, edges::WINDOW_ID)?, u32s(edges, edges::SRC)?, u32s(edges, edges::DST)?);
    for graph in [Graph::Coref, Graph::Dep].map(Graph::name) {
        let mut degree: BTreeMap<(u32, u32), usize> = BTreeMap::new();
        for i in 0..win.len() {
            if graphs[i] == graph {
                *degree.entry((win[i], src[i])).or_default() += 1;
                *degree.entry((win[i], dst[i])).or_default() += 1;
            }
        }
        let nodes: usize = starts.iter().zip(&ends).map(|(s, e)| (e - s) as usize).sum();
        let mut hist: BTreeMap<usize, usize> = BTreeMap::new();
        hist.insert(0, nodes - degree.len());
        for d in degree.values() {
            *hist.entry(if *d >= 5 { 5 } else { *d }).or_default() += 1;
        }
        let show = hist
            .iter()
            .map(|(d, c)| format!("{}{}: {c}", d, if *d == 5 { "+" } else { "" }))
            .collect::<Vec<_>>()
            .join(", ");
        let max = degree.values().max().copied().unwrap_or(0);
        println!("  {graph} degree (words): {show}; max {max}");
    }
    Ok(())
}

/// One window with its words, their labels and its edges.
fn print_window(shards: &Path, split: &str, window: u32) -> anyhow::Result<()> {
    let windows = read_table(shards, split, tables::WINDOWS)?;
    let edges = read_table(shards, split, tables::EDGES)?;
    let tokens = read_table(shards, split, tables::TOKENS)?;
    let ids = u32s(&windows, windows::WINDOW_ID)?;
    let Some(row) = ids.iter().position(|&i| i == window) else {
        anyhow::bail!("{split} has no window {window}");
    };
    let doc = strings(&windows, windows::DOC_ID)?[row].clone();
    let (ws, we) =
        (u32s(&windows, windows::WORD_START)?[row], u32s(&windows, windows::WORD_END)?[row]);
    let (tdoc, tidx, forms, labels) = (
        strings(&tokens, tokens::DOC_ID)?,
        u32s(&tokens, tokens::IDX)?,
        strings(&tokens, tokens::FORM)?,
        strings(&tokens, tokens::LABEL)?,
    );
    let words: Vec<(String, String)> = (0..tdoc.len())
        .filter(|&i| tdoc[i] == doc && tidx[i] >= ws && tidx[i] < we)
        .map(|i| (forms[i].clone(), labels[i].clone()))
        .collect();
    println!("\nsample: {split} window {} = {doc} words {ws}..{we}", window);
    println!(
        "  {}",
        words
            .iter()
            .map(|(f, l)| if l == "O" { f.clone() } else { format!("{f}/{l}") })
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (win, kinds, src, dst) = (
        u32s(&edges, edges::WINDOW_ID)?,
        strings(&edges, edges::KIND)?,
        u32s(&edges, edges::SRC)?,
        u32s(&edges, edges::DST)?,
    );
    for i in (0..win.len()).filter(|&i| win[i] == window) {
        let (a, b) = (&words[src[i] as usize].0, &words[dst[i] as usize].0);
        println!("  {:<12} {a} -- {b}", kinds[i]);
    }
    Ok(())
}
