//! The spec's figures from its rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;

use super::spec::Spec;
use super::tables::{row_label, varying_axes};
use crate::report::plot::{bars, lines, points, Bars, Point, Series};
use crate::report::summary::{epoch_costs, MeanStd, Row};
use crate::run::consistency_file;

/// The spec's figures under `dir` (`SPEC-DATASET-f1`, `-types` (per-type
/// F1 of every row), `-consistency` (mixed-label shares) when it decodes
/// with consistency, `-seconds`, and `-curve` when it varies
/// `train_fraction`) from its rows on its split, SVG and PNG; the PNG paths.
pub fn write_figures(
    spec: &Spec,
    spec_name: &str,
    rows: &[Row],
    dir: &Path,
) -> anyhow::Result<Vec<PathBuf>> {
    let axes = varying_axes(spec);
    let datasets: std::collections::BTreeSet<&String> = rows.iter().map(|r| &r.dataset).collect();
    let mut out = Vec::new();
    for dataset in datasets {
        let rows: Vec<&Row> = rows.iter().filter(|r| &r.dataset == dataset).collect();
        let labels = rows.iter().map(|r| row_label(r, &axes)).collect();
        let figures = Figures { spec, spec_name, dataset, dir, rows, labels };
        out.push(figures.f1()?);
        out.extend(figures.per_type()?);
        if spec.consistency {
            out.push(figures.consistency()?);
        }
        out.extend(figures.seconds()?);
        if axes.iter().any(|a| a == "train_fraction") {
            out.push(figures.curve(&axes)?);
        }
    }
    Ok(out)
}

/// The figures of one dataset's rows of a spec ([`write_figures`]); each returns its PNG path.
struct Figures<'a> {
    spec: &'a Spec,
    spec_name: &'a str,
    dataset: &'a str,
    dir: &'a Path,
    rows: Vec<&'a Row>,
    /// Each row's label: the values of the axes the spec varies.
    labels: Vec<String>,
}

impl Figures<'_> {
    /// `SPEC-DATASET-WHAT`, without extension.
    fn stem(&self, what: &str) -> PathBuf {
        self.dir.join(format!("{}-{}-{what}", self.spec_name, self.dataset))
    }

    /// The title of a figure: `SPEC, DATASET: WHAT`.
    fn title(&self, what: &str) -> String {
        format!("{}, {}: {what}", self.spec_name, self.dataset)
    }

    fn f1(&self) -> anyhow::Result<PathBuf> {
        let split = &self.spec.split;
        let f1: Vec<Point> = self
            .rows
            .iter()
            .zip(&self.labels)
            .map(|(r, label)| Point { label: label.clone(), mean: r.f1.mean, std: r.f1.std })
            .collect();
        let title = self.title(&format!("{split} F1 (mean ± std over seeds)"));
        Ok(points(&self.stem("f1"), &title, &format!("{split} F1"), &f1)?[1].clone())
    }

    /// Per-type F1 of every row, when the rows have per-type scores.
    fn per_type(&self) -> anyhow::Result<Option<PathBuf>> {
        let split = &self.spec.split;
        let types: Vec<String> = self
            .rows
            .iter()
            .flat_map(|r| r.per_type_f1.keys().cloned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if types.is_empty() {
            return Ok(None);
        }
        let per_type: Vec<Bars> = self
            .rows
            .iter()
            .zip(&self.labels)
            .map(|(r, label)| Bars {
                label: label.clone(),
                values: types
                    .iter()
                    .map(|t| r.per_type_f1.get(t).map(|m| (m.mean, m.std)))
                    .collect(),
            })
            .collect();
        let title = self.title(&format!("{split} F1 per type (mean ± std over seeds)"));
        let stem = self.stem("types");
        Ok(Some(bars(&stem, &title, &format!("{split} F1"), 100.0, &types, &per_type)?[1].clone()))
    }

    /// Mixed-label shares of repeated names, without and with consistency decoding.
    fn consistency(&self) -> anyhow::Result<PathBuf> {
        let runs: Vec<&[PathBuf]> = self.rows.iter().map(|r| r.runs.as_slice()).collect();
        let shares = mixed_label_shares(&runs, &self.spec.split)?;
        let x_max = shares
            .iter()
            .flat_map(|b| b.values.iter().flatten())
            .map(|(m, s)| m + s)
            .fold(10.0, f64::max);
        let title = self.title(&format!(
            "repeated names with mixed labels ({}, mean ± std over seeds)",
            self.spec.split
        ));
        let (stem, x_max) = (self.stem("consistency"), (x_max / 10.0).ceil() * 10.0);
        Ok(bars(&stem, &title, "% of repeated strings", x_max, &self.labels, &shares)?[1].clone())
    }

    /// Seconds per training epoch, when the rows recorded them.
    fn seconds(&self) -> anyhow::Result<Option<PathBuf>> {
        let seconds: Vec<Point> = self
            .rows
            .iter()
            .zip(&self.labels)
            .filter_map(|(r, label)| {
                r.seconds_per_epoch.map(|m| Point {
                    label: label.clone(),
                    mean: m.mean,
                    std: m.std,
                })
            })
            .collect();
        if seconds.is_empty() {
            return Ok(None);
        }
        let title = format!("{}{}", self.title("seconds per training epoch"), self.load_note()?);
        Ok(Some(points(&self.stem("seconds"), &title, "seconds per epoch", &seconds)?[1].clone()))
    }

    /// Whether the seconds were measured in one setting: the range of the
    /// runs' mean load averages, or how many runs did not record theirs.
    fn load_note(&self) -> anyhow::Result<String> {
        let mut means = Vec::new();
        let (mut unrecorded, mut cells) = (0, 0);
        for dir in self.rows.iter().flat_map(|r| &r.runs) {
            let loads = epoch_costs(dir)?.loads;
            cells += 1;
            match loads.iter().copied().collect::<Option<Vec<f64>>>() {
                Some(l) if !l.is_empty() => means.push(l.iter().sum::<f64>() / l.len() as f64),
                _ => unrecorded += 1,
            }
        }
        let (lo, hi) = means.iter().fold((f64::MAX, f64::MIN), |(a, b), &m| (a.min(m), b.max(m)));
        Ok(if cells == 0 {
            String::new()
        } else if unrecorded > 0 {
            format!(" (load unrecorded in {unrecorded} of {cells} runs: not one setting)")
        } else if hi - lo > 0.5 {
            format!(" (mean load {lo:.1} to {hi:.1}: not one setting)")
        } else {
            format!(" (mean load {lo:.1} to {hi:.1})")
        })
    }

    /// F1 against the share of training documents, one line per setting of the other axes.
    fn curve(&self, axes: &[String]) -> anyhow::Result<PathBuf> {
        let curve_axes: Vec<String> =
            axes.iter().filter(|a| a.as_str() != "train_fraction").cloned().collect();
        let mut series: BTreeMap<String, Vec<(f64, f64, f64)>> = BTreeMap::new();
        for r in &self.rows {
            let x =
                r.config.get("train_fraction").and_then(serde_json::Value::as_f64).unwrap_or(1.0);
            series.entry(row_label(r, &curve_axes)).or_default().push((
                100.0 * x,
                r.f1.mean,
                r.f1.std,
            ));
        }
        let series: Vec<Series> = series
            .into_iter()
            .map(|(label, mut points)| {
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                Series { label, points }
            })
            .collect();
        let (title, y) = (self.title("learning curve"), format!("{} F1", self.spec.split));
        let x = "% of the training documents";
        Ok(lines(&self.stem("curve"), &title, x, &y, &series, None)?[1].clone())
    }
}

/// Per row, given its runs' record folders (a group of bars): the share of
/// repeated names whose mentions carry mixed labels in gold and in the
/// predictions without and with
/// consistency decoding, in % (mean ± std over the row's seeds), from each
/// run's `consistency-SPLIT.json` (see [`crate::decode::consistency::Consistency`]).
pub(super) fn mixed_label_shares(rows: &[&[PathBuf]], split: &str) -> anyhow::Result<Vec<Bars>> {
    use crate::decode::consistency::ConsistencyRecord;
    let mut per_row: Vec<[Vec<f64>; 3]> = Vec::new();
    for runs in rows {
        let mut shares: [Vec<f64>; 3] = Default::default();
        for dir in runs.iter() {
            let path = dir.join(consistency_file(split));
            if !path.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let record: ConsistencyRecord = serde_json::from_str(&text)
                .with_context(|| format!("parsing {}", path.display()))?;
            for (list, c) in shares.iter_mut().zip([
                &record.gold,
                &record.predicted_plain,
                &record.predicted_consistent,
            ]) {
                list.push(100.0 * c.share);
            }
        }
        per_row.push(shares);
    }
    let names = ["gold", "predicted", "predicted + consistency decoding"];
    Ok(names
        .iter()
        .enumerate()
        .map(|(i, name)| Bars {
            label: name.to_string(),
            values: per_row
                .iter()
                .map(|s| {
                    (!s[i].is_empty()).then(|| {
                        let m = MeanStd::of(&s[i]);
                        (m.mean, m.std)
                    })
                })
                .collect(),
        })
        .collect())
}
