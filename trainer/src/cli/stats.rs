//! `enrelg stats`: corpus statistics as a table or JSON, and the CI drift check.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use enrelg_pipeline::align::{AlignConfig, DiscontinuousPolicy, NestedPolicy, PartialTokenPolicy};
use enrelg_pipeline::read::corpus::split_rank;
use enrelg_pipeline::report::stats::{enrelg_stats, standoff_stats, CorpusStats, SplitStats};

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    /// `standoff/SPLIT/*.txt|*.ann` + `conllu/SPLIT/*.conllu`
    Standoff,
    /// EnRel-G token-level release: `*.conll` files
    Enrelg,
}

#[derive(Args)]
pub struct StatsArgs {
    /// Corpus folder.
    #[arg(long)]
    pub corpus: PathBuf,
    #[arg(long, value_enum, default_value = "standoff")]
    pub format: Format,
    /// Dataset manifest giving the label set (datasets/NAME/manifest.json).
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Comma-separated entity types to label (overrides the manifest).
    #[arg(long)]
    pub types: Option<String>,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Compare with expected statistics (JSON); exit 1 and list every difference on drift.
    #[arg(long, conflicts_with = "write")]
    pub check: Option<PathBuf>,
    /// Write the statistics as the new expected file.
    #[arg(long)]
    pub write: Option<PathBuf>,
}

/// The alignment policy for entities that BIO cannot hold as they are.
#[derive(Args)]
pub struct PolicyArgs {
    /// Overlapping entities: keep the outermost or the innermost.
    #[arg(long, value_enum, default_value = "outer")]
    pub nested: NestedPolicy,
    /// Entity edges inside a token: expand to the token or drop the entity.
    #[arg(long, value_enum, default_value = "expand")]
    pub partial_token: PartialTokenPolicy,
    /// Discontinuous entities: drop, or cover from first to last character.
    #[arg(long, value_enum, default_value = "drop")]
    pub discontinuous: DiscontinuousPolicy,
    /// Stop at the first broken input document instead of skipping it with a
    /// counted warning (see the error policy in the README).
    #[arg(long)]
    pub strict: bool,
}

impl PolicyArgs {
    pub fn config(&self) -> AlignConfig {
        AlignConfig {
            nested: self.nested,
            partial_token: self.partial_token,
            discontinuous: self.discontinuous,
        }
    }
}

pub fn run(args: StatsArgs) -> anyhow::Result<ExitCode> {
    let labels = super::label_set(args.manifest.as_deref(), args.types.as_deref())?;
    let cfg = args.policy.config();
    let stats = match args.format {
        Format::Standoff => standoff_stats(&args.corpus, labels, &cfg, args.policy.strict)?,
        Format::Enrelg => enrelg_stats(&args.corpus, labels, &cfg)?,
    };
    let json = serde_json::to_string_pretty(&stats)? + "\n";
    if let Some(path) = &args.write {
        enrelg_pipeline::fs::write_atomic(path, json.as_bytes())?;
        tracing::info!("wrote {}", path.display());
    }
    if args.json {
        print!("{json}");
    } else {
        print!("{}", table(&stats));
    }
    super::report_skips(stats.splits.values().map(|s| &s.skipped));
    if let Some(path) = &args.check {
        if !super::matches_expected(path, &serde_json::to_value(&stats)?, "statistics", "--write")?
        {
            return Ok(ExitCode::FAILURE);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// A plain-text report for people.
pub fn table(stats: &CorpusStats) -> String {
    use std::fmt::Write;
    let mut splits: Vec<_> = stats.splits.iter().collect();
    splits.sort_by_key(|(name, _)| split_rank(name));
    let mut out = String::new();
    let _ = writeln!(out, "format {}  input sha256 {}", stats.format, &stats.input_sha256);
    let _ = writeln!(
        out,
        "\n{:<8} {:>6} {:>9} {:>8} {:>9} {:>8} {:>8}",
        "split", "docs", "sentences", "tokens", "entities", "aligned", "dropped"
    );
    for (name, s) in &splits {
        let _ = writeln!(
            out,
            "{:<8} {:>6} {:>9} {:>8} {:>9} {:>8} {:>8}",
            name,
            s.documents,
            s.sentences,
            s.tokens,
            s.entities_total,
            s.alignment.entities_out,
            s.alignment.dropped()
        );
    }
    let _ = write!(out, "\n{:<34}", "entities per type (source/aligned)");
    for (name, _) in &splits {
        let _ = write!(out, " {:>13}", name);
    }
    out.push('\n');
    for ty in &stats.label_types {
        let _ = write!(out, "{ty:<34}");
        for (_, s) in &splits {
            let cell = format!(
                "{}/{}",
                s.entities.get(ty).unwrap_or(&0),
                s.aligned_entities.get(ty).unwrap_or(&0)
            );
            let _ = write!(out, " {cell:>13}");
        }
        out.push('\n');
    }
    alignment_section(&mut out, &splits);
    let excluded: std::collections::BTreeSet<&String> =
        splits.iter().flat_map(|(_, s)| s.alignment.excluded_types.keys()).collect();
    let title = "types outside the label set (not labelled)";
    count_section(&mut out, &splits, title, excluded, |s, ty| {
        *s.alignment.excluded_types.get(*ty).unwrap_or(&0)
    });
    let kinds: std::collections::BTreeSet<&String> =
        splits.iter().flat_map(|(_, s)| s.annotation_lines.keys()).collect();
    count_section(&mut out, &splits, "annotation lines by kind", kinds, |s, k| {
        *s.annotation_lines.get(*k).unwrap_or(&0)
    });
    if splits.iter().any(|(_, s)| s.root_tokens.is_some()) {
        let _ = write!(out, "\n{:<34}", "ROOT tokens / BIO violations");
        for (_, s) in &splits {
            let cell = format!("{}/{}", s.root_tokens.unwrap_or(0), s.bio_violations.unwrap_or(0));
            let _ = write!(out, " {cell:>13}");
        }
        out.push('\n');
    }
    out
}

/// A titled section of rows, one per key, with a count per split; nothing without keys.
fn count_section<K: std::fmt::Display>(
    out: &mut String,
    splits: &[(&String, &SplitStats)],
    title: &str,
    keys: impl IntoIterator<Item = K>,
    count: impl Fn(&SplitStats, &K) -> usize,
) {
    use std::fmt::Write;
    let keys: Vec<K> = keys.into_iter().collect();
    if keys.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n{title}");
    for key in &keys {
        let _ = write!(out, "{:<34}", key.to_string());
        for (_, s) in splits {
            let _ = write!(out, " {:>13}", count(s, key));
        }
        out.push('\n');
    }
}

/// What alignment changed or dropped, per event and split, with an example of each.
fn alignment_section(out: &mut String, splits: &[(&String, &SplitStats)]) {
    use std::fmt::Write;
    let events: std::collections::BTreeSet<_> =
        splits.iter().flat_map(|(_, s)| s.alignment.events.keys().copied()).collect();
    if !events.is_empty() {
        let _ = writeln!(out, "\nalignment changes and losses");
        for ev in &events {
            let name = serde_json::to_value(ev)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default();
            let _ = write!(out, "{name:<34}");
            for (_, s) in splits {
                let _ = write!(out, " {:>13}", s.alignment.events.get(ev).unwrap_or(&0));
            }
            out.push('\n');
            for (_, s) in splits {
                for ex in s.alignment.examples.get(ev).into_iter().flatten().take(1) {
                    let _ = writeln!(out, "    e.g. {ex}");
                }
            }
        }
    }
}
