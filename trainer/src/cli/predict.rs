//! `enrelg predict` (tag documents into brat `.ann`) and `enrelg score`
//! (exact-span, exact-type P/R/F1 between two brat trees).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::metrics::conlleval::{score_spans, Span};
use enrelg::model::inference::Precision;
use enrelg::tag::output::OutputDir;
use enrelg::tag::predict::{
    check_threshold, find_inputs, open_runs, tag_documents, txt_files, Tagger, SKIPPED_TSV,
};
use enrelg_pipeline::read::brat;
use enrelg_pipeline::read::tree::{with_ext, Links};
use enrelg_pipeline::skips::SkipReport;

use super::DeviceArgs;

#[derive(Args)]
pub struct PredictArgs {
    /// Trained run folder; repeat the flag to tag with a seed ensemble
    /// (the mean of the runs' scores, as `enrelg ensemble`).
    #[arg(long = "run", required = true)]
    pub runs: Vec<PathBuf>,
    /// Tree of `.txt` files (with `.conllu` beside them unless --parses is given).
    #[arg(long)]
    pub input: PathBuf,
    /// Tree of `.conllu` parses mirroring --input.
    #[arg(long)]
    pub parses: Option<PathBuf>,
    /// Output tree of `.ann` files, plus entities.jsonl.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Decode with document-level label consistency at this threshold instead of
    /// the run's own (`decoding.json`, chosen on dev by `train --consistency` or
    /// `eval --consistency`); 1.0 decodes plainly.
    #[arg(long, value_name = "THRESHOLD")]
    pub consistency: Option<f64>,
    /// The encoder's arithmetic: f32 as trained, or int8 (8-bit weights per output channel and
    /// activations per subtoken, on the flex backend; docs/performance.md measures what it
    /// changes).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub quantize: Precision,
    /// Stop at the first document that cannot be read instead of skipping it
    /// with a counted warning.
    #[arg(long)]
    pub strict: bool,
    /// Do not follow symbolic links to folders in --input (links to files are followed).
    #[arg(long)]
    pub no_follow_links: bool,
}

/// How the input walk treats links to folders.
pub fn links(no_follow: bool) -> Links {
    if no_follow {
        Links::Skip
    } else {
        Links::Follow
    }
}

pub fn run_predict(args: PredictArgs) -> anyhow::Result<ExitCode> {
    let device = args.device.device()?;
    check_threshold(args.consistency)?;
    let (runs, tokenizer) = open_runs(&args.runs, &device)?;
    let tagger = Tagger::new(&runs, &tokenizer)?
        .with_consistency(args.consistency)
        .with_precision(args.quantize, &device)?;
    if let Some(t) = tagger.consistency() {
        eprintln!("consistency decoding at threshold {t}");
    }
    let mut walked = SkipReport::default();
    let inputs =
        find_inputs(&args.input, args.parses.as_deref(), links(args.no_follow_links), &mut walked)?;
    anyhow::ensure!(!inputs.is_empty(), "{}: no .txt files", args.input.display());
    anyhow::ensure!(
        !args.strict || walked.is_empty(),
        "{}: {}",
        args.input.display(),
        walked.all.first().map_or("", |(_, m)| m.as_str())
    );
    let mut out = OutputDir::open(&args.out)?;
    let mut tagged = tag_documents(&tagger, &inputs, &mut out, &args.out, &device, args.strict)?;
    walked.merge(&tagged.skipped);
    tagged.skipped = walked;
    out.write(&args.out.join(SKIPPED_TSV), tagged.skipped.to_tsv().as_bytes())?;
    report_removed(&out.finish()?);
    super::report_skips(std::iter::once(&tagged.skipped));
    println!("{}", tagged.summary(&args.device.name, &args.out));
    Ok(ExitCode::SUCCESS)
}

/// Name the outputs a rerun removed (documents it no longer tags).
pub fn report_removed(removed: &[PathBuf]) {
    if !removed.is_empty() {
        eprintln!("removed {} output file(s) of the previous run for documents not tagged this time, e.g. {}", removed.len(), removed[0].display());
    }
}

#[derive(Args)]
pub struct ScoreArgs {
    /// Gold tree: `.txt` + `.ann`.
    #[arg(long)]
    pub gold: PathBuf,
    /// Predicted tree: `.ann` files at the same relative paths.
    #[arg(long)]
    pub pred: PathBuf,
    /// Entity types to score (comma-separated); default: the types predicted.
    #[arg(long)]
    pub types: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// The entities of the `.ann` files under `ann_root` as spans, each checked
/// against the gold `.txt` of the same relative path.
fn read_tree(gold: &Path, ann_root: &Path, rels: &[PathBuf]) -> anyhow::Result<BTreeSet<Span>> {
    let mut out = BTreeSet::new();
    for rel in rels {
        let doc = brat::read(&with_ext(gold, rel, "txt"), &with_ext(ann_root, rel, "ann"))?;
        // A score must read every entity: a flawed line is an error here, not a skip.
        if let Some(e) =
            doc.skipped.iter().find(|e| !matches!(e, brat::BratError::UnknownKind { .. }))
        {
            anyhow::bail!("{e}");
        }
        for e in doc.entities {
            let (s, t) = e.cover();
            out.insert((rel.display().to_string(), e.ty, s, t));
        }
    }
    Ok(out)
}

pub fn run_score(args: ScoreArgs) -> anyhow::Result<ExitCode> {
    let mut walked = SkipReport::default();
    let inputs = txt_files(&args.gold, Links::Follow, &mut walked)?;
    if !walked.is_empty() {
        super::report_skips(std::iter::once(&walked));
    }
    let gold = read_tree(&args.gold, &args.gold, &inputs)?;
    let pred = read_tree(&args.gold, &args.pred, &inputs)
        .context("reading predictions (each needs the gold .txt for its surface check)")?;
    let types: BTreeSet<String> = match &args.types {
        Some(t) => t.split(',').map(|s| s.trim().to_string()).collect(),
        None => pred.iter().map(|p| p.1.clone()).collect(),
    };
    if let Some(t) = &args.types {
        let known: BTreeSet<&String> = gold.iter().chain(&pred).map(|x| &x.1).collect();
        let unknown: Vec<&String> = types.iter().filter(|t| !known.contains(t)).collect();
        anyhow::ensure!(
            unknown.is_empty(),
            "--types {t}: {unknown:?} occur in neither the gold nor the predicted .ann files"
        );
    }
    // Gold types the scoring leaves out (types the model does not know, by
    // default) are named, never dropped silently.
    let mut left_out: BTreeMap<&String, usize> = BTreeMap::new();
    for g in gold.iter().filter(|g| !types.contains(&g.1)) {
        *left_out.entry(&g.1).or_default() += 1;
    }
    for (ty, n) in &left_out {
        eprintln!("not scored: {n} gold {ty} entities (type not in --types or not predicted by the model)");
    }
    let (total, per) = score_spans(&gold, &pred, &types);
    let micro = total.prf();
    if args.json {
        let per: BTreeMap<_, _> = per.iter().map(|(k, v)| (k.clone(), v.prf())).collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({"micro": micro, "per_type": per}))?
        );
    } else {
        println!(
            "{} documents; gold {}, predicted {}, correct {}",
            inputs.len(),
            micro.gold,
            micro.predicted,
            micro.correct
        );
        println!(
            "micro: precision {:.2} recall {:.2} F1 {:.2}",
            micro.precision, micro.recall, micro.f1
        );
        for (ty, c) in &per {
            let p = c.prf();
            println!(
                "{ty:>17}: precision {:.2} recall {:.2} F1 {:.2} (gold {}, predicted {})",
                p.precision, p.recall, p.f1, p.gold, p.predicted
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
