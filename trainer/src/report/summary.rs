//! Multi-seed tables: runs that differ only in their seed are one row, with
//! the mean and sample standard deviation of their scores on a split.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;

use crate::config::TrainConfig;
use crate::metrics::conlleval::Score;
use crate::run::{eval_file, RunInfo};

/// One evaluated run.
pub struct EvaluatedRun {
    pub dir: PathBuf,
    pub info: RunInfo,
    pub score: Score,
    /// Mean seconds per training epoch and peak resident memory (MiB), from
    /// `metrics.jsonl` (memory is missing from records older than the field).
    pub seconds_per_epoch: Option<f64>,
    pub peak_rss_mib: Option<f64>,
}

/// What a run's `metrics.jsonl` says of its cost: each epoch's seconds, the
/// largest peak memory recorded (none in records older than the field,
/// nothing at all when the file is missing) and where its epochs ran.
#[derive(Debug, Default)]
pub struct EpochCosts {
    pub seconds: Vec<f64>,
    pub peak_rss_mib: Option<f64>,
    /// Epochs per machine ("CPU, N threads"; "unknown CPU" where the
    /// system does not say); epochs of records older than the fields count
    /// under [`NOT_RECORDED`].
    pub machines: BTreeMap<String, usize>,
    /// Each epoch's one-minute load average at its end (None in records
    /// older than the field): how busy the machine was beside the run.
    pub loads: Vec<Option<f64>>,
}

/// The machine of epochs whose record does not say.
pub const NOT_RECORDED: &str = "not recorded";

/// Read a run folder's [`EpochCosts`].
pub fn epoch_costs(dir: &Path) -> anyhow::Result<EpochCosts> {
    let path = dir.join(crate::run::METRICS);
    if !path.exists() {
        return Ok(EpochCosts::default());
    }
    let mut costs = EpochCosts::default();
    for r in crate::run::EpochRecord::read_all(&path)? {
        costs.seconds.push(r.seconds);
        costs.loads.push(r.load_average);
        if let Some(m) = r.peak_rss_mib {
            costs.peak_rss_mib = Some(costs.peak_rss_mib.map_or(m, |p| p.max(m)));
        }
        let machine = match (r.threads, r.cpu.as_deref().unwrap_or(crate::device::UNKNOWN_CPU)) {
            (Some(1), cpu) => format!("{cpu}, 1 thread"),
            (Some(n), cpu) => format!("{cpu}, {n} threads"),
            (None, _) => NOT_RECORDED.to_string(),
        };
        *costs.machines.entry(machine).or_default() += 1;
    }
    Ok(costs)
}

/// Read `run.json` and `eval-SPLIT.json` of a run folder.
pub fn read_run(dir: &Path, split: &str) -> anyhow::Result<EvaluatedRun> {
    let info = RunInfo::read(dir)?;
    let eval_path = dir.join(eval_file(split));
    let score: Score = serde_json::from_slice(&std::fs::read(&eval_path).with_context(|| {
        format!(
            "reading {} (run `enrelg eval --run {} --split {split}`)",
            eval_path.display(),
            dir.display()
        )
    })?)
    .with_context(|| format!("parsing {}", eval_path.display()))?;
    let costs = epoch_costs(dir)?;
    let seconds_per_epoch = (!costs.seconds.is_empty()).then(|| MeanStd::of(&costs.seconds).mean);
    Ok(EvaluatedRun {
        dir: dir.to_path_buf(),
        info,
        score,
        seconds_per_epoch,
        peak_rss_mib: costs.peak_rss_mib,
    })
}

/// Mean and sample standard deviation (0 for a single value).
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct MeanStd {
    pub mean: f64,
    pub std: f64,
}

impl MeanStd {
    pub fn of(values: &[f64]) -> Self {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n.max(1.0);
        let std = if values.len() > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Self { mean, std }
    }
}

impl std::fmt::Display for MeanStd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.2} ± {:.2}", self.mean, self.std)
    }
}

/// One row: a configuration and its seeds.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub dataset: String,
    pub variant: String,
    pub encoder: String,
    /// Inputs beyond the paper: "shape 32 + chars 50 + layer mix", or "none".
    pub additions: String,
    /// The configuration without its seed, for telling rows apart.
    pub config: serde_json::Value,
    pub seeds: Vec<u64>,
    pub runs: Vec<PathBuf>,
    pub precision: MeanStd,
    pub recall: MeanStd,
    pub f1: MeanStd,
    pub per_type_f1: BTreeMap<String, MeanStd>,
    pub per_type_recall: BTreeMap<String, MeanStd>,
    pub best_dev_f1: MeanStd,
    /// Over the runs that recorded them.
    pub seconds_per_epoch: Option<MeanStd>,
    pub peak_rss_mib: Option<f64>,
}

/// Group runs by everything but the seed (configuration, shards, checkpoint).
pub fn summarize(runs: &[EvaluatedRun]) -> anyhow::Result<Vec<Row>> {
    let mut groups: BTreeMap<String, Vec<&EvaluatedRun>> = BTreeMap::new();
    for run in runs {
        let mut config = serde_json::to_value(&run.info.config)?;
        if let Some(m) = config.as_object_mut() {
            m.remove("seed");
        }
        let key = serde_json::to_string(&(
            config,
            &run.info.shard_manifest_sha256,
            &run.info.model_sha256,
            encoder(&run.info),
        ))?;
        groups.entry(key).or_default().push(run);
    }
    let mut rows = Vec::new();
    for group in groups.into_values() {
        let first = &group[0].info;
        let mut config = serde_json::to_value(&first.config)?;
        if let Some(m) = config.as_object_mut() {
            m.remove("seed");
        }
        let micro = |f: fn(&Score) -> f64| {
            MeanStd::of(&group.iter().map(|r| f(&r.score)).collect::<Vec<_>>())
        };
        let types: std::collections::BTreeSet<&String> =
            group.iter().flat_map(|r| r.score.per_type.keys()).collect();
        let per_type =
            |f: fn(&crate::metrics::conlleval::Prf) -> f64| -> BTreeMap<String, MeanStd> {
                types
                    .iter()
                    .map(|&t| {
                        (
                            t.clone(),
                            MeanStd::of(
                                &group
                                    .iter()
                                    .map(|r| r.score.per_type.get(t).map_or(0.0, f))
                                    .collect::<Vec<_>>(),
                            ),
                        )
                    })
                    .collect()
            };
        let seconds: Vec<f64> = group.iter().filter_map(|r| r.seconds_per_epoch).collect();
        rows.push(Row {
            dataset: first.shards.file_name().map_or_else(
                || first.shards.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            variant: format!("{:?}", first.config.model.variant).to_lowercase(),
            encoder: encoder(first).into(),
            additions: additions(&first.config, first.labels.auxiliary_types()),
            config,
            seeds: group.iter().map(|r| r.info.config.seed).collect(),
            runs: group.iter().map(|r| r.dir.clone()).collect(),
            precision: micro(|s| s.micro.precision),
            recall: micro(|s| s.micro.recall),
            f1: micro(|s| s.micro.f1),
            per_type_f1: per_type(|p| p.f1),
            per_type_recall: per_type(|p| p.recall),
            seconds_per_epoch: (!seconds.is_empty()).then(|| MeanStd::of(&seconds)),
            peak_rss_mib: group.iter().filter_map(|r| r.peak_rss_mib).reduce(f64::max),
            best_dev_f1: MeanStd::of(&group.iter().map(|r| r.info.best_dev_f1).collect::<Vec<_>>()),
        });
    }
    rows.sort_by(|a, b| {
        (&a.dataset, &a.encoder, &a.additions, &a.variant).cmp(&(
            &b.dataset,
            &b.encoder,
            &b.additions,
            &b.variant,
        ))
    });
    Ok(rows)
}

/// How the run treated the encoder; a warm start from a frozen run is the
/// two-stage recipe (head on the frozen encoder, then everything fine-tuned).
fn encoder(info: &RunInfo) -> &'static str {
    match (info.config.freeze_encoder, &info.warm_start) {
        (true, _) => "frozen",
        (false, Some(w)) if w.frozen => "frozen, then fine-tuned",
        (false, Some(_)) => "fine-tuned, then fine-tuned",
        (false, None) => "fine-tuned",
    }
}

/// The inputs a configuration (and auxiliary label types) add to the paper's model.
pub fn additions(config: &TrainConfig, auxiliary_types: &[String]) -> String {
    let mut parts = Vec::new();
    if config.model.shape_dim > 0 {
        parts.push(format!("shape {}", config.model.shape_dim));
    }
    if config.model.char_dim > 0 {
        parts.push(format!("chars {}", config.model.char_dim));
    }
    if config.model.layer_mix {
        parts.push("layer mix".to_string());
    }
    if config.model.word_dim > 0 {
        parts.push(format!("words {}", config.model.word_dim));
    }
    if config.model.word_dropout > 0.0 {
        parts.push(format!("word dropout {}", config.model.word_dropout));
    }
    if config.model.affix_dim > 0 {
        parts.push(format!("affixes {}", config.model.affix_dim));
    }
    if config.model.word_pool == crate::model::WordPool::Mean {
        parts.push("mean pool".to_string());
    }
    if config.train_fraction < 1.0 {
        parts.push(format!("{:.0} % of train", 100.0 * config.train_fraction));
    }
    if config.model.pos_dim > 0 {
        parts.push(format!("syntax {}", config.model.pos_dim));
    }
    if config.model.coref_scope == crate::model::CorefScope::Document {
        parts.push("document coref".to_string());
    }
    if config.model.context > 0 {
        parts.push(format!("context {}", config.model.context));
    }
    if config.layer_decay != 1.0 {
        parts.push(format!("layer decay {}", config.layer_decay));
    }
    // Table 2's axis: a row with another dependency edge set than the default.
    if config.model.variant.uses_dep()
        && config.dependency_variant != enrelg_pipeline::graph::DependencyVariant::default()
    {
        let name = serde_json::to_value(config.dependency_variant)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        parts.push(format!("dependency edges {name}"));
    }
    if !auxiliary_types.is_empty() {
        parts.push(format!("{} auxiliary types", auxiliary_types.len()));
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(" + ")
    }
}

/// A Markdown table of the rows (per-type F1 columns for every type seen).
pub fn markdown(rows: &[Row], split: &str) -> String {
    let types: std::collections::BTreeSet<&String> =
        rows.iter().flat_map(|r| r.per_type_f1.keys()).collect();
    let mut out = format!("| dataset | variant | encoder | additions | max epochs | seeds | {split} P | {split} R | {split} F1 |");
    for t in &types {
        out += &format!(" {t} F1 |");
    }
    for t in &types {
        out += &format!(" {t} R |");
    }
    out += " best dev F1 | s/epoch | peak MiB |\n|---|---|---|---|---|---|---|---|---|";
    out += &"---|".repeat(2 * types.len() + 3);
    out.push('\n');
    for r in rows {
        let seeds = r.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let epochs = r.config.get("max_epochs").map_or("?".into(), |v| v.to_string());
        out += &format!(
            "| {} | {} | {} | {} | {epochs} | {} | {} | {} | {} |",
            r.dataset, r.variant, r.encoder, r.additions, seeds, r.precision, r.recall, r.f1
        );
        for map in [&r.per_type_f1, &r.per_type_recall] {
            for t in &types {
                out += &map.get(*t).map_or(" – |".to_string(), |m| format!(" {m} |"));
            }
        }
        let seconds = r
            .seconds_per_epoch
            .map_or("–".to_string(), |m| format!("{:.0} ± {:.0}", m.mean, m.std));
        let peak = r.peak_rss_mib.map_or("–".to_string(), |m| format!("{m:.0}"));
        out += &format!(" {} | {seconds} | {peak} |\n", r.best_dev_f1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_costs_count_the_epochs_of_each_machine() {
        let dir = std::env::temp_dir().join(format!("enrelg-epoch-costs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let lines = [
            r#"{"epoch":1,"seconds":50.0,"peak_rss_mib":2000.0}"#,
            r#"{"epoch":2,"seconds":60.0,"peak_rss_mib":2100.0,"cpu":"AMD EPYC","threads":1,"load_average":2.0}"#,
            r#"{"epoch":3,"seconds":40.0,"cpu":"AMD EPYC","threads":1}"#,
            r#"{"epoch":4,"seconds":30.0,"cpu":"Intel Xeon","threads":2}"#,
            r#"{"epoch":5,"seconds":20.0,"threads":2}"#,
        ];
        // Every record has the scores (abbreviated above).
        let lines: Vec<String> =
            lines.iter().map(|l| l.replacen('{', r#"{"loss":1.0,"dev_precision":0.0,"dev_recall":0.0,"dev_f1":0.0,"subtokens_per_second":1.0,"lr_head":0.001,"#, 1)).collect();
        std::fs::write(dir.join(crate::run::METRICS), lines.join("\n")).unwrap();
        let costs = epoch_costs(&dir).unwrap();
        assert_eq!(costs.seconds, [50.0, 60.0, 40.0, 30.0, 20.0]);
        assert_eq!(costs.peak_rss_mib, Some(2100.0));
        assert_eq!(costs.loads, [None, Some(2.0), None, None, None]);
        let machines: Vec<(&str, usize)> =
            costs.machines.iter().map(|(m, n)| (m.as_str(), *n)).collect();
        assert_eq!(
            machines,
            [
                ("AMD EPYC, 1 thread", 2),
                ("Intel Xeon, 2 threads", 1),
                (NOT_RECORDED, 1),
                ("unknown CPU, 2 threads", 1)
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mean_and_sample_standard_deviation() {
        let m = MeanStd::of(&[78.0, 80.0, 82.0]);
        assert!((m.mean - 80.0).abs() < 1e-12 && (m.std - 2.0).abs() < 1e-12);
        assert_eq!(MeanStd::of(&[75.5]), MeanStd { mean: 75.5, std: 0.0 });
        assert_eq!(m.to_string(), "80.00 ± 2.00");
    }

    #[test]
    fn additions_name_every_input_beyond_the_paper() {
        let mut c = TrainConfig::default();
        assert_eq!(additions(&c, &[]), "none");
        (
            c.model.shape_dim,
            c.model.char_dim,
            c.model.layer_mix,
            c.model.word_pool,
            c.model.word_dim,
        ) = (32, 50, true, crate::model::WordPool::Mean, 50);
        assert_eq!(
            additions(&c, &["Locality".into(), "Site".into()]),
            "shape 32 + chars 50 + layer mix + words 50 + mean pool + 2 auxiliary types"
        );
        c.dependency_variant = enrelg_pipeline::graph::DependencyVariant::KeyOnly;
        assert!(
            additions(&c, &[]).ends_with("mean pool + dependency edges key_only"),
            "{}",
            additions(&c, &[])
        );
        c.model.variant = crate::model::Variant::C;
        assert!(!additions(&c, &[]).contains("dependency"), "a model without the dependency graph");
        (c.model.context, c.layer_decay) = (64, 0.8);
        assert!(additions(&c, &[]).ends_with("mean pool + context 64 + layer decay 0.8"));
    }
}
