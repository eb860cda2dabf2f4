//! `enrelg data`: build the Arrow shards of a corpus (windows, graphs, labels).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use enrelg_pipeline::graph::DependencyVariant;
use enrelg_pipeline::read::corpus;
use enrelg_pipeline::read::import::{self, ImportOptions, SplitShares};
use enrelg_pipeline::read::manifest::Manifest;
use enrelg_pipeline::read::tree::{Depth, Links};
use enrelg_pipeline::shard::{build, BuildOptions, ShardManifest, StageTimes};
use enrelg_pipeline::window::{WindowConfig, WordPieceTokenizer};
use enrelg_schemas::LabelSet;
use indicatif::{ProgressBar, ProgressStyle};

use super::stats::PolicyArgs;
use super::ParserArgs;

#[derive(Args)]
pub struct DataArgs {
    /// Standoff corpus folder (standoff/ + conllu/) with --manifest; without
    /// it, any folder of brat .txt + .ann files (flat, nested, or in
    /// train/dev/test subfolders), laid out and parsed beside --out.
    #[arg(long)]
    pub corpus: PathBuf,
    /// Dataset manifest (label set, splits); none for a brat folder.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// A brat folder's entity types to label (default: annotation.conf's, else all in the .ann files).
    #[arg(long, value_delimiter = ',', conflicts_with = "manifest")]
    pub types: Option<Vec<String>>,
    /// A brat folder without split subfolders: train/dev/test shares by document.
    #[arg(long, default_value = "70/10/20", conflicts_with = "manifest")]
    pub split: SplitShares,
    /// The seed of that split.
    #[arg(long, default_value_t = 1, conflicts_with = "manifest")]
    pub split_seed: u64,
    /// Parses a brat folder's texts.
    #[command(flatten)]
    pub parser: ParserArgs,
    /// Hugging Face model folder holding tokenizer.json (or the file itself).
    #[arg(long, default_value = "models/minilm")]
    pub model: PathBuf,
    /// Output shard folder (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Subtokens per window including [CLS] and [SEP].
    #[arg(long, default_value_t = 128)]
    pub max_subtokens: usize,
    /// Dependency edge set recorded as the default for training (all kinds are stored).
    #[arg(long, value_enum, default_value = "compound-key")]
    pub dep_variant: DependencyVariant,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Entity types labelled beside the manifest's, for a model to learn but
    /// not to be scored on (comma-separated, e.g. Locality,Formation); they
    /// never displace an entity of a manifest type.
    #[arg(long, value_delimiter = ',')]
    pub auxiliary_types: Vec<String>,
    /// Compare the shard statistics (windows, subtokens, edges per kind, ...) with
    /// an expected JSON file; exit 1 and list every difference on drift.
    #[arg(long, conflicts_with = "write_stats")]
    pub check_stats: Option<PathBuf>,
    /// Write the shard statistics as the new expected file.
    #[arg(long)]
    pub write_stats: Option<PathBuf>,
}

pub fn run(mut args: DataArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    // An imported folder's messages name the user's files, not the copies laid out here.
    let mut sources: import::SourcePaths = Vec::new();
    let manifest_path = match args.manifest.clone() {
        Some(path) => path,
        None => {
            let (corpus, manifest, copies) = import_brat_folder(&args)?;
            args.corpus = corpus;
            sources = copies;
            manifest
        }
    };
    let name_sources = |m: &str| import::name_sources(m, &sources);
    let manifest = Manifest::read(&manifest_path)?;
    let tokenizer = WordPieceTokenizer::from_model_dir(&args.model)?;
    let splits = corpus::splits(&args.corpus)?;
    let bar = progress_bar(&args.corpus, &splits)?;
    bar.set_message(format!("building {}", manifest.name));
    let opts = BuildOptions {
        corpus_name: manifest.name.clone(),
        labels: LabelSet::with_auxiliary(
            manifest.label_set()?.types().iter().cloned(),
            args.auxiliary_types.iter().cloned(),
        )
        .with_context(|| {
            format!("--auxiliary-types with the label types of {}", manifest_path.display())
        })?,
        align: args.policy.config(),
        window: WindowConfig { max_subtokens: args.max_subtokens },
        dependency_variant: args.dep_variant,
        tokenizer: &tokenizer,
        splits,
        strict: args.policy.strict,
    };
    let (shards, times) = build(&args.corpus, &args.out, &opts, &|n| bar.inc(n))
        .map_err(|e| anyhow::anyhow!(name_sources(&format!("{e:#}"))))?;
    bar.finish_and_clear();
    print_statistics(&args, &shards, &times, start);
    let skipped: Vec<_> = shards
        .statistics
        .values()
        .map(|s| {
            let mut s = s.skipped.clone();
            s.rename_paths(name_sources);
            s
        })
        .collect();
    super::report_skips(skipped.iter());
    warn_unused_auxiliary(&args, &shards)?;
    let found = serde_json::to_value(&shards.statistics)?;
    if let Some(path) = &args.write_stats {
        enrelg_pipeline::fs::write_atomic(
            path,
            (serde_json::to_string_pretty(&found)? + "\n").as_bytes(),
        )?;
        tracing::info!("wrote {}", path.display());
    }
    if let Some(path) = &args.check_stats {
        if !super::matches_expected(path, &found, "shard statistics", "--write-stats")? {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A bar over the documents of the corpus's splits.
fn progress_bar(corpus: &Path, splits: &[String]) -> anyhow::Result<ProgressBar> {
    let total: usize = splits
        .iter()
        .map(|s| {
            enrelg_pipeline::read::tree::walk(
                &corpus.join("standoff").join(s),
                "txt",
                Depth::Flat,
                Links::Follow,
            )
            .map_or(0, |t| t.files.len())
        })
        .sum();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {pos}/{len} documents ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    Ok(bar)
}

/// The table of each split's statistics, edges and document edges per kind, and stage times.
fn print_statistics(args: &DataArgs, shards: &ShardManifest, times: &StageTimes, start: Instant) {
    println!("{} -> {}", args.corpus.display(), args.out.display());
    println!(
        "{:<8} {:>6} {:>8} {:>8} {:>10} {:>10} {:>9} {:>8}",
        "split", "docs", "tokens", "windows", "words/win", "subtok/win", "acronyms", "dropped"
    );
    for split in &shards.splits {
        let s = &shards.statistics[split];
        println!(
            "{:<8} {:>6} {:>8} {:>8} {:>10.1} {:>10.1} {:>9} {:>8}",
            split,
            s.documents,
            s.tokens,
            s.windows,
            s.mean_words_per_window,
            s.mean_subtokens_per_window,
            s.acronym_pairs,
            s.alignment.dropped()
        );
    }
    let kinds: std::collections::BTreeSet<&String> =
        shards.statistics.values().flat_map(|s| s.edges.keys()).collect();
    println!("\nedges per kind");
    for k in kinds {
        print!("{k:<12}");
        for split in &shards.splits {
            print!(" {:>8}", shards.statistics[split].edges.get(k).unwrap_or(&0));
        }
        println!();
    }
    let doc_kinds: std::collections::BTreeSet<&String> =
        shards.statistics.values().flat_map(|s| s.doc_edges.keys()).collect();
    println!(
        "\ndocument edges per kind (between windows; each word keeps its {} nearest mentions)",
        shards.document_coref_neighbours
    );
    for k in doc_kinds {
        print!("{k:<12}");
        for split in &shards.splits {
            print!(" {:>8}", shards.statistics[split].doc_edges.get(k).unwrap_or(&0));
        }
        println!();
    }
    println!(
        "\nstage seconds: ingest {:.2} (wall), align+lemmas+acronyms {:.2}, windows {:.2}, graphs {:.2} (CPU, summed over documents), write {:.2} (wall); total wall {:.2}",
        times.ingest,
        times.align_lemmas_acronyms,
        times.windows,
        times.graphs,
        times.write,
        start.elapsed().as_secs_f64()
    );
}

/// The folder beside the shards `out` where a brat folder is laid out as a
/// corpus (`OUT.corpus/{standoff,conllu}/SPLIT`, `manifest.json`).
pub fn imported_corpus_dir(out: &Path) -> PathBuf {
    let mut name = out.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "shards".into());
    name.push(".corpus");
    out.with_file_name(name)
}

/// Lay the brat folder `--corpus` out as a corpus beside the shards, parse
/// what has no up-to-date parse, and say what was decided: (corpus folder,
/// generated manifest, each laid-out copy with the user's file).
fn import_brat_folder(args: &DataArgs) -> anyhow::Result<(PathBuf, PathBuf, import::SourcePaths)> {
    anyhow::ensure!(
        !args.corpus.join("standoff").is_dir(),
        "{}: a corpus with standoff/ needs its --manifest (a brat folder without one has no standoff/ folder)",
        args.corpus.display()
    );
    let opts = ImportOptions {
        types: args.types.clone(),
        shares: args.split,
        seed: args.split_seed,
        strict: args.policy.strict,
    };
    let plan = import::plan(&args.corpus, &opts)?;
    let staged = imported_corpus_dir(&args.out);
    let manifest = import::write(&plan, &args.corpus, &staged)?;
    let counts: Vec<String> =
        manifest.splits.iter().map(|s| format!("{} {}", s.name, s.documents)).collect();
    eprintln!(
        "{}: {} documents ({}; split {})",
        args.corpus.display(),
        manifest.splits.iter().map(|s| s.documents).sum::<usize>(),
        counts.join(", "),
        plan.split_rule
    );
    for (ty, n) in &plan.type_counts {
        let chosen =
            if plan.label_types.contains(ty) { "labelled" } else { "not labelled (--types)" };
        eprintln!("  {ty}: {n} mention(s), {chosen}");
    }
    if !plan.unannotated.is_empty() {
        eprintln!(
            "{} .txt file(s) without .ann left out (--strict refuses them), e.g. {}",
            plan.unannotated.len(),
            args.corpus.join(&plan.unannotated[0]).display()
        );
    }
    if !plan.skipped.is_empty() {
        super::report_skips(std::iter::once(&plan.skipped));
    }
    let rels: Vec<PathBuf> = plan
        .splits
        .iter()
        .flat_map(|(split, docs)| docs.iter().map(move |d| Path::new(split).join(&d.id)))
        .collect();
    args.parser.parser().parse(&staged.join("standoff"), &rels, &staged.join("conllu"))?;
    for (split, _) in &plan.splits {
        std::fs::create_dir_all(staged.join("conllu").join(split))?;
    }
    eprintln!("corpus laid out in {} (manifest.json records the split)", staged.display());
    let sources = plan.source_paths(&args.corpus, &staged);
    Ok((staged.clone(), staged.join("manifest.json"), sources))
}

/// An auxiliary type that labels no word in any split is most likely a typo:
/// say so, with the corpus's types left outside the label set.
fn warn_unused_auxiliary(
    args: &DataArgs,
    shards: &enrelg_pipeline::shard::ShardManifest,
) -> anyhow::Result<()> {
    if args.auxiliary_types.is_empty() {
        return Ok(());
    }
    let mut used = std::collections::BTreeSet::new();
    for split in &shards.splits {
        let tokens =
            enrelg_pipeline::shard::read_table(&args.out, split, enrelg_schemas::tables::TOKENS)?;
        used.extend(
            tokens
                .column(enrelg_schemas::tables::tokens::LABEL)?
                .str()?
                .iter()
                .flatten()
                .filter_map(|l| l.strip_prefix("B-"))
                .map(String::from),
        );
    }
    let mut outside = std::collections::BTreeMap::<&String, usize>::new();
    for s in shards.statistics.values() {
        for (ty, n) in &s.alignment.excluded_types {
            *outside.entry(ty).or_default() += n;
        }
    }
    for ty in args.auxiliary_types.iter().filter(|t| !used.contains(*t)) {
        tracing::warn!("--auxiliary-types: {ty} labels no entity in {} (types outside the label set there: {outside:?})", args.corpus.display());
    }
    Ok(())
}
