//! `enrelg results`: docs/results.md from the experiments' records — each
//! spec's tables, what ran and what remains, the commands, the encoder and
//! the machine — with the hand-written reading in `experiments/NOTES.md`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::experiment::{plan, write_figures, write_tables, Layout, Spec, Status};
use enrelg::report::summary::epoch_costs;
use enrelg_pipeline::fs::write_atomic;

#[derive(Args)]
pub struct ResultsArgs {
    /// Specs, in the order of the page.
    #[arg(required = true)]
    pub specs: Vec<PathBuf>,
    /// The reading of the numbers, written by hand, placed after the tables.
    #[arg(long, default_value = "experiments/NOTES.md")]
    pub notes: PathBuf,
    #[arg(long, default_value = "docs/results.md")]
    pub out: PathBuf,
    /// Where the figures go (SVG and PNG), linked from the page.
    #[arg(long, default_value = "docs/figures")]
    pub figures: PathBuf,
    /// Run folders [default: runs/experiments, or runs/F for a spec with `records = "F"`].
    #[arg(long)]
    pub runs: Option<PathBuf>,
    /// Kept records [default: results/experiments, or results/F for a spec with `records = "F"`].
    #[arg(long)]
    pub results: Option<PathBuf>,
}

/// `path` relative to `base` when it lies under it (figures beside the page), else as given.
fn pathdiff(path: &std::path::Path, base: &std::path::Path) -> PathBuf {
    path.strip_prefix(base).map_or_else(|_| path.to_path_buf(), std::path::Path::to_path_buf)
}

/// The CPU's model name and the cores (Linux).
fn machine() -> String {
    let cpu = enrelg::device::cpu_model();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores ({})", cpu.as_deref().unwrap_or(enrelg::device::UNKNOWN_CPU))
}

/// Where the finished cells' epochs ran, from their `metrics.jsonl`.
fn machines_line(machines: &std::collections::BTreeMap<String, usize>) -> String {
    if machines.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = machines.iter().map(|(m, n)| format!("{m}: {n}")).collect();
    format!("Epochs by machine (the CPU and threads each epoch recorded; older records did not record them): {}.\n\n", parts.join("; "))
}

pub fn run(args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let mut page = String::from("# Results\n\nProduced by `make results` (`enrelg results`) from the records of `make experiments` (under `results/experiments/`, or the folder a spec names after its tables); ");
    page += &format!(
        "do not edit by hand (the reading below comes from `{}`). Encoder: all-MiniLM-L6-v2 (uncased, 6 layers, 384 dimensions), frozen; its outputs cached, the layers after it trained on the CPU, flex backend. This page was written on {}; which machine trained which records, and how many cells shared it, is in the notes.\n\n",
        args.notes.display(),
        machine()
    );
    let mut seen_seconds = std::collections::BTreeSet::new();
    let mut cpu_seconds = 0.0;
    let mut machines = std::collections::BTreeMap::<String, usize>::new();
    for path in &args.specs {
        let spec = Spec::read(path)?;
        let name = path.file_stem().and_then(|s| s.to_str()).context("a spec needs a file name")?;
        let (runs_root, results_root) =
            Layout::folders(&spec, args.runs.clone(), args.results.clone());
        let layout = Layout {
            shards_root: "shards".into(),
            model: "models/minilm".into(),
            runs_root,
            results_root,
            cache_dir: "cache/encoder".into(),
        };
        let cells = plan(&layout, &spec, &[])?;
        let finished = cells.iter().filter(|c| c.1 == Status::Finished).count();
        let left: f64 = cells.iter().filter(|c| c.1 != Status::Finished).filter_map(|c| c.2).sum();
        let unknown = cells.iter().filter(|c| c.1 != Status::Finished && c.2.is_none()).count();
        for (cell, status, _) in &cells {
            // Cells shared between specs count once.
            if *status == Status::Finished && seen_seconds.insert(cell.name.clone()) {
                let costs = epoch_costs(&layout.record_dir(cell))?;
                cpu_seconds += costs.seconds.iter().sum::<f64>();
                for (machine, epochs) in costs.machines {
                    *machines.entry(machine).or_default() += epochs;
                }
            }
        }
        let (tables, rows) = write_tables(&layout, &spec, name)?;
        // The spec's own headings one level down (deepest first).
        page += &tables
            .replace("\n### ", "\n#### ")
            .replacen("# ", "## ", 1)
            .replace("\n## ", "\n### ");
        for png in write_figures(
            &spec,
            name,
            rows.get(&spec.split).map_or(&[][..], Vec::as_slice),
            &args.figures,
        )? {
            // Linked relative to the page.
            let rel = pathdiff(&png, args.out.parent().unwrap_or(std::path::Path::new(".")));
            page += &format!(
                "![{}]({})\n\n",
                png.file_stem().and_then(|s| s.to_str()).unwrap_or("figure"),
                rel.display()
            );
        }
        page += &format!(
            "{finished} of {} cells finished; left: about {:.1} h of training at one cell at a time{}. Command: `make experiments SPECS={name}` (spec `{}`, records `{}`).\n\n",
            cells.len(),
            left / 3600.0 + 0.0, // an empty sum is -0.0
            if unknown > 0 { format!(" plus {unknown} cells of a dataset with no finished cell to estimate from") } else { String::new() },
            path.display(),
            layout.results_root.display()
        );
    }
    page += &format!("Training time of all finished cells: {:.1} h (sum of epoch seconds; encoder caching and evaluation not counted).\n\n", cpu_seconds / 3600.0);
    page += &machines_line(&machines);
    let notes = std::fs::read_to_string(&args.notes)
        .with_context(|| format!("reading {}", args.notes.display()))?;
    page += &notes;
    write_atomic(&args.out, page.as_bytes())?;
    println!("wrote {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}
