//! `enrelg relations`: train the relation head on a tagger run, one head per seed, and score it
//! on a split with gold entities and end to end; one JSON record with every seed, the mean and
//! standard deviation, and the baselines.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use enrelg::relation::score::{Prf, ALL};
use enrelg::relation::{self, PairInput, RelationConfig, RelationTask, SeedScores, COMPOSITION};
use enrelg::report::summary::MeanStd;
use enrelg::run::LoadedRun;
use serde::Serialize;

use super::DeviceArgs;

#[derive(Args)]
pub struct RelationsArgs {
    /// A trained tagger run (its shards must hold `entities` and `relations`, format 4).
    #[arg(long)]
    pub run: PathBuf,
    /// The split scored; the head learns on the shards' `train` and picks its epoch on dev.
    #[arg(long, default_value = "test")]
    pub split: String,
    /// One head per seed.
    #[arg(long, value_delimiter = ',', default_value = "1,2,3,4,5")]
    pub seeds: Vec<u64>,
    #[arg(long, default_value_t = RelationConfig::default().epochs)]
    pub epochs: usize,
    /// Dropout on the pair vector and the hidden layer.
    #[arg(long, default_value_t = RelationConfig::default().dropout)]
    pub dropout: f64,
    #[arg(long, default_value_t = RelationConfig::default().d_hidden)]
    pub hidden: usize,
    #[arg(long, default_value_t = RelationConfig::default().weight_decay)]
    pub weight_decay: f64,
    /// What a pair's vector holds: the evidence (the default), or the tagger's word representations too.
    #[arg(long, value_enum, default_value_t = PairInput::default())]
    pub input: PairInput,
    /// The JSON record.
    #[arg(long)]
    pub out: PathBuf,
    /// The first seed's end-to-end relations on the split, one JSON object per line.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// The split's gold relations in the same form.
    #[arg(long)]
    pub gold: Option<PathBuf>,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Mean and sample standard deviation over seeds, with their number (what `make figures` reads).
#[derive(Debug, Serialize)]
struct OverSeeds {
    #[serde(flatten)]
    stat: MeanStd,
    /// Seeds.
    n: usize,
}

fn over_seeds(xs: &[f64]) -> OverSeeds {
    OverSeeds { stat: MeanStd::of(xs), n: xs.len() }
}

#[derive(Serialize)]
struct Record {
    run: PathBuf,
    split: String,
    config: RelationConfig,
    classes: Vec<String>,
    /// Gold pairs of the split per type, and those no candidate can reach (across sentences).
    gold_pairs: BTreeMap<String, usize>,
    gold_cross_sentence: usize,
    seeds: Vec<SeedScores>,
    /// Over seeds: `gold_entities` and `end_to_end`, for `all` and `composition`.
    f1: BTreeMap<String, OverSeeds>,
    precision: BTreeMap<String, OverSeeds>,
    recall: BTreeMap<String, OverSeeds>,
    /// The dev F1 that chose each seed's epoch and threshold (gold entities, every type).
    dev_f1: OverSeeds,
    baselines: BTreeMap<String, BTreeMap<String, Prf>>,
}

pub fn run(args: RelationsArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(!args.seeds.is_empty(), "--seeds names no seed");
    for path in
        [Some(&args.out), args.predictions.as_ref(), args.gold.as_ref()].into_iter().flatten()
    {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
    }
    let device = args.device.device()?;
    let run = LoadedRun::open(&args.run, &device)?;
    let manifest = enrelg_pipeline::shard::ShardManifest::read(&run.info.shards)?;
    let dev = manifest.dev_split().ok_or_else(|| {
        anyhow::anyhow!("{}: no dev split to choose the epoch on", run.info.shards.display())
    })?;
    let cache = &args.device.cache_dir;
    let with_words = args.input != PairInput::Evidence;
    let views = ["train", dev, args.split.as_str()]
        .map(|split| relation::view(&run, split, cache, &device, with_words));
    let [train, dev, eval] = views;
    let (train, dev, eval) = (train?, dev?, eval?);
    let task = RelationTask::from_train(&train.split, train.d, args.input);
    let cfg = RelationConfig {
        epochs: args.epochs,
        input: args.input,
        dropout: args.dropout,
        d_hidden: args.hidden,
        weight_decay: args.weight_decay,
        ..Default::default()
    };
    tracing::info!(width = task.features.width(), "pair vectors");
    let mut seeds = Vec::new();
    for (i, &seed) in args.seeds.iter().enumerate() {
        let trained = relation::train(&task, &cfg, [&train, &dev, &eval], seed, &device)?;
        let s = &trained.scores;
        println!(
            "seed {seed}: epoch {}, threshold {}, dev F1 {:.2}; {} F1 with gold entities {:.2} (composition {:.2}), end to end {:.2} (composition {:.2})",
            s.best_epoch,
            s.threshold,
            s.dev_f1,
            args.split,
            s.gold_entities[ALL].f1,
            s.gold_entities[COMPOSITION].f1,
            s.end_to_end[ALL].f1,
            s.end_to_end[COMPOSITION].f1,
        );
        if let (0, Some(path)) = (i, &args.predictions) {
            let lines = relation::json_lines(&eval.split.documents, &trained.predicted);
            enrelg_pipeline::fs::write_atomic(path, lines.as_bytes())?;
        }
        seeds.push(trained.scores);
    }
    if let Some(path) = &args.gold {
        let lines = relation::json_lines(&eval.split.documents, &eval.split.gold);
        enrelg_pipeline::fs::write_atomic(path, lines.as_bytes())?;
    }
    let mut f1 = BTreeMap::new();
    let mut precision = BTreeMap::new();
    let mut recall = BTreeMap::new();
    type Pick = fn(&SeedScores) -> &BTreeMap<String, Prf>;
    let kinds: [(&str, Pick); 2] =
        [("gold_entities", |s| &s.gold_entities), ("end_to_end", |s| &s.end_to_end)];
    for (name, pick) in kinds {
        for key in [ALL, COMPOSITION] {
            let of = |value: fn(&Prf) -> f64| {
                let xs: Vec<f64> =
                    seeds.iter().map(|s| pick(s).get(key).map_or(0.0, value)).collect();
                over_seeds(&xs)
            };
            f1.insert(format!("{name}.{key}"), of(|p| p.f1));
            precision.insert(format!("{name}.{key}"), of(|p| p.precision));
            recall.insert(format!("{name}.{key}"), of(|p| p.recall));
        }
    }
    let dev_f1 = over_seeds(&seeds.iter().map(|s| s.dev_f1).collect::<Vec<_>>());
    let mut gold_pairs: BTreeMap<String, usize> = BTreeMap::new();
    for t in &eval.split.gold {
        *gold_pairs.entry(t.ty.clone()).or_default() += 1;
    }
    let record = Record {
        run: args.run.clone(),
        split: args.split.clone(),
        config: cfg,
        classes: task.classes.clone(),
        gold_pairs,
        gold_cross_sentence: eval.split.cross_sentence,
        baselines: relation::baselines(&task, &train.split, &eval),
        seeds,
        f1,
        precision,
        recall,
        dev_f1,
    };
    for (k, v) in &record.f1 {
        println!("{k}: F1 {:.2} ± {:.2} over {} seeds", v.stat.mean, v.stat.std, v.n);
    }
    let json = serde_json::to_string_pretty(&record)? + "\n";
    enrelg_pipeline::fs::write_atomic(&args.out, json.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
