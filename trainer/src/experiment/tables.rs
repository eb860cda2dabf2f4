//! The spec's tables from its finished cells, with the significance of each comparison.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context;
use enrelg_pipeline::fs::write_atomic;
use serde::Serialize;

use super::runner::{finished_runs, Layout};
use super::spec::{Spec, DATASET};
use crate::metrics::conlleval::Score;
use crate::metrics::significance::{compare, holm, Comparison, RESAMPLES};
use crate::report::summary::{markdown, summarize, EvaluatedRun, Row};
use crate::run::consistent_split;

/// A row tested against its reference row ([`Spec::reference`]).
#[derive(Debug, Clone, Serialize)]
pub struct Tested {
    pub dataset: String,
    pub row: String,
    pub reference: String,
    #[serde(flatten)]
    pub comparison: Comparison,
    /// Both p-values corrected by Holm's method across the dataset's comparisons.
    pub p_holm: f64,
    pub seed_p_holm: f64,
}

/// A row's label in the significance table: variant and inputs.
fn label(r: &Row) -> String {
    format!("{} ({})", r.variant, r.additions)
}

/// Each row that has a reference row, tested against it with a paired
/// bootstrap over documents and a permutation test across seeds
/// ([`crate::metrics::significance`]), each family Holm-corrected per dataset.
fn significance(spec: &Spec, rows: &[Row], runs: &[EvaluatedRun]) -> anyhow::Result<Vec<Tested>> {
    let Some(overrides) = &spec.reference else {
        return Ok(Vec::new());
    };
    let scores = |r: &Row| -> Vec<(u64, &Score)> {
        runs.iter()
            .filter(|e| r.runs.contains(&e.dir))
            .map(|e| (e.info.config.seed, &e.score))
            .collect()
    };
    let mut out = Vec::new();
    for row in rows {
        let mut wanted = row.config.clone();
        for (k, v) in overrides {
            wanted[k.as_str()] = serde_json::to_value(v)?;
        }
        let Some(reference) = rows
            .iter()
            .find(|r| r.dataset == row.dataset && r.config == wanted && r.config != row.config)
        else {
            continue;
        };
        // The seed of the bootstrap is fixed so a table is reproducible.
        if let Some(comparison) = compare(&scores(row), &scores(reference), RESAMPLES, 20_211_111) {
            out.push(Tested {
                dataset: row.dataset.clone(),
                row: label(row),
                reference: label(reference),
                comparison,
                p_holm: 1.0,
                seed_p_holm: 1.0,
            });
        }
    }
    let datasets: BTreeSet<String> = out.iter().map(|t| t.dataset.clone()).collect();
    for dataset in datasets {
        let family: Vec<usize> = (0..out.len()).filter(|&i| out[i].dataset == dataset).collect();
        let p: Vec<f64> = family.iter().map(|&i| out[i].comparison.p_value).collect();
        let seed_p: Vec<f64> = family.iter().map(|&i| out[i].comparison.seed_p_value).collect();
        for ((&i, a), b) in family.iter().zip(holm(&p)).zip(holm(&seed_p)) {
            (out[i].p_holm, out[i].seed_p_holm) = (a, b);
        }
    }
    Ok(out)
}

fn significance_markdown(tested: &[Tested], split: &str) -> String {
    if tested.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Against the reference, on the seeds both rows ran (all of each when they share none): Δ F1 of their means; a paired percentile bootstrap over {split} documents ({RESAMPLES} resamples) and a permutation test across seeds (exact sign flips of the per-seed differences; group labels exchanged when no seed is shared), each a one-sided p that the row is not better, raw and Holm-corrected across the dataset's comparisons; the seeds on which the row scored higher.\n\n| dataset | row | reference | Δ F1 | bootstrap p | Holm | seed p | Holm | seeds better |\n|---|---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for t in tested {
        let c = &t.comparison;
        out += &format!(
            "| {} | {} | {} | {:+.2} | {:.3} | {:.3} | {:.3} | {:.3} | {}/{} |\n",
            t.dataset,
            t.row,
            t.reference,
            c.delta_f1,
            c.p_value,
            t.p_holm,
            c.seed_p_value,
            t.seed_p_holm,
            c.seeds_better,
            c.paired_seeds
        );
    }
    out
}

/// Write `table.md`, `table.csv` and `table.json` (mean ± std over seeds of
/// every finished configuration, each row tested against its reference;
/// one Markdown table per split and corpus) into the spec's results
/// folder; returns the Markdown and the rows of each split.
pub fn write_tables(
    layout: &Layout,
    spec: &Spec,
    spec_name: &str,
) -> anyhow::Result<(String, BTreeMap<String, Vec<Row>>)> {
    let dir = layout.results_root.join(spec_name);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut md = format!("# {spec_name}: {}\n\n", spec.description);
    let mut all: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    let mut tests: BTreeMap<String, Vec<Tested>> = BTreeMap::new();
    let mut splits = vec![spec.split.clone()];
    if spec.consistency {
        splits.push(consistent_split(&spec.split));
    }
    for split in splits {
        let runs = finished_runs(layout, spec, &split)?;
        let rows = summarize(&runs)?;
        let tested = significance(spec, &rows, &runs)?;
        // One table per corpus, so that each carries only its own entity types.
        md += &format!("## {split}\n\n");
        let datasets: std::collections::BTreeSet<&String> =
            rows.iter().map(|r| &r.dataset).collect();
        for dataset in datasets {
            let mine: Vec<Row> = rows.iter().filter(|r| &r.dataset == dataset).cloned().collect();
            md += &format!("### {split}, {dataset}\n\n{}\n", markdown(&mine, &split));
        }
        md += &format!("{}\n", significance_markdown(&tested, &split));
        all.insert(split.clone(), rows);
        tests.insert(split, tested);
    }
    write_atomic(&dir.join("table.md"), md.as_bytes())?;
    write_atomic(
        &dir.join("table.json"),
        serde_json::to_string_pretty(&serde_json::json!({ "rows": all, "significance": tests }))?
            .as_bytes(),
    )?;
    write_atomic(&dir.join("table.csv"), csv(&all).as_bytes())?;
    Ok((md, all))
}

/// The axes a spec varies besides dataset and seed, in grid order of first
/// appearance: what tells its rows apart in a figure.
pub fn varying_axes(spec: &Spec) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for grid in &spec.grid {
        for key in grid.keys().filter(|k| k.as_str() != DATASET && k.as_str() != "seed") {
            if !out.contains(key) {
                out.push(key.clone());
            }
        }
    }
    out
}

/// A row's short label in a figure: its values on `axes` (`cd document 16`).
pub fn row_label(row: &Row, axes: &[String]) -> String {
    axes.iter()
        .map(|a| {
            row.config.get(a).map_or("?".to_string(), |v| {
                v.as_str().map_or_else(|| v.to_string(), str::to_string)
            })
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line per row and split: the configuration's axes and the scores (mean, std).
fn csv(tables: &BTreeMap<String, Vec<Row>>) -> String {
    let types: std::collections::BTreeSet<&String> =
        tables.values().flatten().flat_map(|r| r.per_type_f1.keys()).collect();
    let mut out = "split,dataset,variant,encoder,additions,seeds,precision,precision_std,recall,recall_std,f1,f1_std".to_string();
    for t in &types {
        out += &format!(",{t}_f1,{t}_f1_std,{t}_recall,{t}_recall_std");
    }
    out += ",best_dev_f1,seconds_per_epoch,peak_rss_mib\n";
    let quote = |s: &str| {
        if s.contains([',', '"']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for (split, rows) in tables {
        for r in rows {
            let seeds = r.seeds.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
            out += &format!(
                "{},{},{},{},{},{seeds},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4}",
                quote(split),
                quote(&r.dataset),
                r.variant,
                quote(&r.encoder),
                quote(&r.additions),
                r.precision.mean,
                r.precision.std,
                r.recall.mean,
                r.recall.std,
                r.f1.mean,
                r.f1.std
            );
            for t in &types {
                let (f, rc) = (r.per_type_f1.get(*t), r.per_type_recall.get(*t));
                out += &format!(
                    ",{},{},{},{}",
                    f.map_or(String::new(), |m| format!("{:.4}", m.mean)),
                    f.map_or(String::new(), |m| format!("{:.4}", m.std)),
                    rc.map_or(String::new(), |m| format!("{:.4}", m.mean)),
                    rc.map_or(String::new(), |m| format!("{:.4}", m.std))
                );
            }
            out += &format!(
                ",{:.4},{},{}\n",
                r.best_dev_f1.mean,
                r.seconds_per_epoch.map_or(String::new(), |m| format!("{:.1}", m.mean)),
                r.peak_rss_mib.map_or(String::new(), |m| format!("{m:.0}"))
            );
        }
    }
    out
}
