//! Experiments: a grid of training runs from one spec file, run as child
//! `enrelg train` processes, resumable across sessions, with each finished
//! cell's records kept and the tables written from them.
//!
//! A spec (`experiments/NAME.toml`):
//!
//! ```toml
//! description = "Table 1: the graphs' ablation"
//! consistency = true          # also evaluate with consistency decoding
//! [base]                      # TrainConfig fields every cell shares
//! shape_dim = 32
//! [[grid]]                    # axes: `dataset` and any TrainConfig field
//! dataset = ["mars", "anatem"]
//! variant = ["baseline", "cd"]
//! seed = [1, 2, 3]
//! [[grid]]                    # more grids: their cells join the first's
//! dataset = ["mars"]
//! variant = ["cd"]
//! coref_scope = ["document"]
//! seed = [1, 2, 3]
//! ```
//!
//! A cell is named by its dataset, variant, seed and a hash of the rest of
//! its configuration, so every spec that names the same configuration shares
//! one run. Cells run seed-major (every configuration's first seed before
//! any second seed), so an interrupted grid already has one run of every
//! row. A cell is finished when its records hold the evaluation; a cell
//! whose run folder has a `run.json` but no evaluation is resumed
//! (`train --resume`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use enrelg_pipeline::fs::write_atomic;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::metrics::conlleval::Score;
use crate::metrics::significance::{compare, Comparison, RESAMPLES};
use crate::report::plot::{bars, lines, points, Bars, Point, Series};
use crate::report::summary::{
    epoch_costs, markdown, read_run, summarize, EvaluatedRun, MeanStd, Row,
};
use crate::run::{consistency_file, consistent_split, eval_file, METRICS, RUN_JSON};

/// The grid axis naming the shards (a folder under the shards root).
pub const DATASET: &str = "dataset";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    pub description: String,
    /// Evaluate each cell with consistency decoding as well (`eval --consistency`).
    #[serde(default)]
    pub consistency: bool,
    /// The split the tables report.
    #[serde(default = "test_split")]
    pub split: String,
    /// TrainConfig fields every cell shares.
    #[serde(default)]
    pub base: toml::Table,
    /// What each row is tested against: the row with these fields changed
    /// (e.g. `{ variant = "baseline" }`), same dataset; none when absent.
    #[serde(default)]
    pub reference: Option<toml::Table>,
    /// Grids, each axis with its values: `dataset` and TrainConfig fields.
    pub grid: Vec<BTreeMap<String, Vec<toml::Value>>>,
}

fn test_split() -> String {
    "test".into()
}

/// One run of the grid.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// Folder name: `DATASET-VARIANT-HASH-seed-N` ([`cell_name`]).
    pub name: String,
    pub dataset: String,
    pub config: TrainConfig,
}

/// Where a cell stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Its records hold the evaluation.
    Finished,
    /// A run folder with this many complete epochs (0: started, none finished).
    Partial(usize),
    NotStarted,
}

impl Spec {
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let spec: Spec =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        anyhow::ensure!(!spec.grid.is_empty(), "{}: no [[grid]]", path.display());
        for (i, grid) in spec.grid.iter().enumerate() {
            anyhow::ensure!(
                grid.get(DATASET).is_some_and(|d| !d.is_empty()),
                "{}: grid {} needs a `dataset` axis",
                path.display(),
                i + 1
            );
            if let Some((axis, _)) = grid.iter().find(|(_, values)| values.is_empty()) {
                anyhow::bail!("{}: grid {}: axis {axis} has no values", path.display(), i + 1);
            }
        }
        Ok(spec)
    }

    /// Every cell once, seed-major; a value that is not a valid TrainConfig
    /// field value is an error naming the axis.
    pub fn cells(&self) -> anyhow::Result<Vec<Cell>> {
        let mut keyed = Vec::new();
        for (g, grid) in self.grid.iter().enumerate() {
            let seeds = grid
                .get("seed")
                .cloned()
                .unwrap_or_else(|| vec![toml::Value::Integer(TrainConfig::default().seed as i64)]);
            let mut combos: Vec<Vec<(&String, &toml::Value)>> = vec![Vec::new()];
            for (axis, values) in grid.iter().filter(|(k, _)| k.as_str() != "seed") {
                combos = combos
                    .into_iter()
                    .flat_map(|c| values.iter().map(move |v| [c.clone(), vec![(axis, v)]].concat()))
                    .collect();
            }
            for (si, seed) in seeds.iter().enumerate() {
                for (ci, combo) in combos.iter().enumerate() {
                    let mut table = self.base.clone();
                    let mut dataset = None;
                    for (axis, value) in combo {
                        if axis.as_str() == DATASET {
                            dataset = Some(
                                value
                                    .as_str()
                                    .with_context(|| format!("dataset {value} is not a name"))?
                                    .to_string(),
                            );
                        } else {
                            table.insert((*axis).clone(), (*value).clone());
                        }
                    }
                    table.insert("seed".into(), seed.clone());
                    let dataset = dataset.context("a cell without a dataset")?;
                    let config: TrainConfig = toml::Value::Table(table.clone())
                        .try_into()
                        .with_context(|| format!("grid {}, cell {dataset} {table}", g + 1))?;
                    keyed.push((
                        (si, g, ci),
                        Cell { name: cell_name(&dataset, &config)?, dataset, config },
                    ));
                }
            }
        }
        keyed.sort_by_key(|(k, _)| *k);
        let mut seen = std::collections::HashSet::new();
        Ok(keyed.into_iter().map(|(_, c)| c).filter(|c| seen.insert(c.name.clone())).collect())
    }
}

impl Cell {
    /// Whether the cell has `key` = `value` (`dataset` or a TrainConfig
    /// field; strings compared without quotes), for `--where`.
    pub fn matches(&self, key: &str, value: &str) -> anyhow::Result<bool> {
        if key == DATASET {
            return Ok(self.dataset == value);
        }
        let config = serde_json::to_value(&self.config)?;
        let field = config.get(key).with_context(|| {
            format!("--where {key}: not `dataset` or a training configuration field")
        })?;
        // `16`, `0.5` and `true` as JSON; a name such as `document` as a string.
        let wanted = serde_json::from_str(value)
            .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
        Ok(*field == wanted)
    }
}

/// `DATASET-VARIANT-HASH-seed-N`: HASH is the first 8 hex digits of the
/// SHA-256 of the configuration's fields that differ from
/// [`TrainConfig::default`] (seed excluded), so a field added later with a
/// default keeps every name.
pub fn cell_name(dataset: &str, config: &TrainConfig) -> anyhow::Result<String> {
    use sha2::Digest;
    let (value, default) =
        (serde_json::to_value(config)?, serde_json::to_value(TrainConfig::default())?);
    let differs: BTreeMap<&String, &serde_json::Value> = value
        .as_object()
        .context("a configuration is an object")?
        .iter()
        .filter(|(k, v)| k.as_str() != "seed" && default.get(k.as_str()) != Some(v))
        .collect();
    let hash = sha2::Sha256::digest(serde_json::to_string(&differs)?.as_bytes());
    let hex: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    Ok(format!(
        "{dataset}-{}-{hex}-seed-{}",
        serde_json::to_value(config.variant)?.as_str().unwrap_or("variant"),
        config.seed
    ))
}

/// The folders an experiment reads and writes.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Shards of each dataset: `shards_root/DATASET`.
    pub shards_root: PathBuf,
    pub model: PathBuf,
    /// Run folders (checkpoints): `runs_root/CELL`.
    pub runs_root: PathBuf,
    /// Kept records `results_root/cells/CELL`, each spec's tables `results_root/SPEC/table.*`.
    pub results_root: PathBuf,
    pub cache_dir: PathBuf,
}

/// The record files a finished cell keeps (no checkpoints).
pub fn record_files(spec: &Spec) -> Vec<String> {
    let mut files = vec![RUN_JSON.to_string(), METRICS.to_string(), eval_file(&spec.split)];
    if spec.consistency {
        files.push(eval_file(&consistent_split(&spec.split)));
        files.push(consistency_file(&spec.split));
    }
    files
}

impl Layout {
    pub fn run_dir(&self, cell: &Cell) -> PathBuf {
        self.runs_root.join(&cell.name)
    }
    pub fn record_dir(&self, cell: &Cell) -> PathBuf {
        self.results_root.join("cells").join(&cell.name)
    }

    pub fn status(&self, spec: &Spec, cell: &Cell) -> Status {
        if record_files(spec).iter().all(|f| self.record_dir(cell).join(f).exists()) {
            return Status::Finished;
        }
        let run = self.run_dir(cell);
        if !run.join(RUN_JSON).exists() {
            return Status::NotStarted;
        }
        let epochs = std::fs::read_to_string(run.join(METRICS)).map_or(0, |t| t.lines().count());
        Status::Partial(epochs)
    }

    /// Copy a finished run's records into its record folder (atomic per file).
    fn keep_records(&self, spec: &Spec, cell: &Cell) -> anyhow::Result<()> {
        let (run, keep) = (self.run_dir(cell), self.record_dir(cell));
        std::fs::create_dir_all(&keep).with_context(|| format!("creating {}", keep.display()))?;
        // run.json last: a record folder with it is complete.
        let mut files = record_files(spec);
        files.rotate_left(1);
        for f in files {
            let bytes = std::fs::read(run.join(&f)).with_context(|| {
                format!("cell {}: reading {}", cell.name, run.join(&f).display())
            })?;
            write_atomic(&keep.join(&f), &bytes)?;
        }
        Ok(())
    }
}

/// The `enrelg train` (and `eval --consistency`) command lines of a cell.
fn commands(exe: &Path, layout: &Layout, spec: &Spec, cell: &Cell) -> anyhow::Result<Vec<Command>> {
    let run = layout.run_dir(cell);
    std::fs::create_dir_all(&run).with_context(|| format!("creating {}", run.display()))?;
    let config = run.with_extension("toml");
    write_atomic(&config, toml::to_string(&cell.config)?.as_bytes())?;
    let mut train = Command::new(exe);
    train
        .arg("train")
        .arg("--data")
        .arg(layout.shards_root.join(&cell.dataset))
        .arg("--model")
        .arg(&layout.model)
        .arg("--out")
        .arg(&run);
    train.arg("--cache-dir").arg(&layout.cache_dir).arg("--test");
    if run.join(RUN_JSON).exists() {
        train.arg("--resume");
    } else {
        train.arg("--config").arg(&config);
    }
    let mut out = vec![train];
    if spec.consistency {
        let mut eval = Command::new(exe);
        eval.arg("eval")
            .arg("--run")
            .arg(&run)
            .arg("--split")
            .arg(&spec.split)
            .arg("--consistency")
            .arg("--cache-dir")
            .arg(&layout.cache_dir);
        out.push(eval);
    }
    Ok(out)
}

/// A cell under way: its child process, the commands still to run after it, its log.
struct Running {
    cell: Cell,
    started: Instant,
    steps: Vec<Command>,
    child: Child,
    log: PathBuf,
}

fn spawn(mut cmd: Command, log: &Path, threads: Option<usize>) -> anyhow::Result<Child> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .with_context(|| format!("opening {}", log.display()))?;
    if let Some(n) = threads {
        cmd.env("RAYON_NUM_THREADS", n.to_string());
    }
    cmd.stdout(Stdio::from(file.try_clone()?)).stderr(Stdio::from(file));
    cmd.spawn().with_context(|| format!("starting {cmd:?}"))
}

/// What one invocation did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub finished: Vec<String>,
    pub failed: Vec<(String, String)>,
    pub skipped: usize,
}

/// Run the cells that are not finished, `jobs` at once, at most `limit` of
/// them; keep each finished cell's records. Children of a parallel run get
/// an equal share of the cores (`RAYON_NUM_THREADS`), as oversubscribed
/// threads slow every run down.
pub fn run(
    exe: &Path,
    layout: &Layout,
    spec: &Spec,
    filter: &[(String, String)],
    jobs: usize,
    limit: Option<usize>,
) -> anyhow::Result<Outcome> {
    let cells = select(spec.cells()?, filter)?;
    let mut outcome = Outcome::default();
    let mut todo = Vec::new();
    for cell in cells {
        match layout.status(spec, &cell) {
            Status::Finished => outcome.skipped += 1,
            // The evaluation ran but the records were not copied yet.
            _ if record_files(spec).iter().all(|f| layout.run_dir(&cell).join(f).exists()) => {
                layout.keep_records(spec, &cell)?;
                outcome.finished.push(cell.name.clone());
            }
            _ => todo.push(cell),
        }
    }
    todo.truncate(limit.unwrap_or(usize::MAX));
    let jobs = jobs.max(1);
    let threads = (jobs > 1)
        .then(|| std::thread::available_parallelism().map_or(1, |n| (n.get() / jobs).max(1)));
    let mut queue = todo.into_iter();
    let mut running: Vec<Running> = Vec::new();
    loop {
        while running.len() < jobs {
            let Some(cell) = queue.next() else { break };
            let log = layout.run_dir(&cell).with_extension("log");
            let mut steps = commands(exe, layout, spec, &cell)?;
            tracing::info!("cell {}: starting (log {})", cell.name, log.display());
            let child = spawn(steps.remove(0), &log, threads)?;
            running.push(Running { cell, started: Instant::now(), steps, child, log });
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
        let mut i = 0;
        while i < running.len() {
            let Some(status) = running[i].child.try_wait()? else {
                i += 1;
                continue;
            };
            let r = &mut running[i];
            if !status.success() {
                tracing::error!("cell {} failed ({status}); see {}", r.cell.name, r.log.display());
                outcome.failed.push((r.cell.name.clone(), r.log.display().to_string()));
                running.remove(i);
            } else if !r.steps.is_empty() {
                let next = r.steps.remove(0);
                r.child = spawn(next, &r.log, threads)?;
            } else {
                let r = running.remove(i);
                layout.keep_records(spec, &r.cell)?;
                tracing::info!(
                    "cell {}: finished in {:.0} s",
                    r.cell.name,
                    r.started.elapsed().as_secs_f64()
                );
                outcome.finished.push(r.cell.name);
            }
        }
    }
    Ok(outcome)
}

/// The cells that match every `(key, value)` of `filter`.
pub fn select(cells: Vec<Cell>, filter: &[(String, String)]) -> anyhow::Result<Vec<Cell>> {
    let mut out = Vec::new();
    for cell in cells {
        if filter
            .iter()
            .map(|(k, v)| cell.matches(k, v))
            .collect::<anyhow::Result<Vec<bool>>>()?
            .into_iter()
            .all(|m| m)
        {
            out.push(cell);
        }
    }
    Ok(out)
}

/// The finished cells' evaluated records, for `split` (e.g. `test` or `test-consistency`).
pub fn finished_runs(
    layout: &Layout,
    spec: &Spec,
    split: &str,
) -> anyhow::Result<Vec<EvaluatedRun>> {
    let mut out = Vec::new();
    for cell in spec.cells()? {
        let dir = layout.record_dir(&cell);
        if layout.status(spec, &cell) == Status::Finished && dir.join(eval_file(split)).exists() {
            out.push(read_run(&dir, split)?);
        }
    }
    Ok(out)
}

/// A row tested against its reference row ([`Spec::reference`]).
#[derive(Debug, Clone, Serialize)]
pub struct Tested {
    pub dataset: String,
    pub row: String,
    pub reference: String,
    #[serde(flatten)]
    pub comparison: Comparison,
}

/// A row's label in the significance table: variant and inputs.
fn label(r: &Row) -> String {
    format!("{} ({})", r.variant, r.additions)
}

/// Each row that has a reference row, tested against it with a paired
/// bootstrap over documents ([`crate::metrics::significance`]).
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
            });
        }
    }
    Ok(out)
}

fn significance_markdown(tested: &[Tested], split: &str) -> String {
    if tested.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "Against the reference, on the seeds both rows ran (all of each when they share none): Δ F1 of their means, a paired bootstrap over {split} documents ({RESAMPLES} resamples, one-sided p that the row is not better) and the seeds on which the row scored higher.\n\n| dataset | row | reference | Δ F1 | p | seeds better |\n|---|---|---|---:|---:|---:|\n"
    );
    for t in tested {
        let c = &t.comparison;
        out += &format!(
            "| {} | {} | {} | {:+.2} | {:.3} | {}/{} |\n",
            t.dataset, t.row, t.reference, c.delta_f1, c.p_value, c.seeds_better, c.paired_seeds
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
        let title = self.title("seconds per training epoch");
        Ok(Some(points(&self.stem("seconds"), &title, "seconds per epoch", &seconds)?[1].clone()))
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
fn mixed_label_shares(rows: &[&[PathBuf]], split: &str) -> anyhow::Result<Vec<Bars>> {
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

/// `--dry-run`: each cell, its status and an estimate of the seconds it
/// still needs from the finished cells of its dataset ([`estimate_seconds`]),
/// if any.
pub fn plan(
    layout: &Layout,
    spec: &Spec,
    filter: &[(String, String)],
) -> anyhow::Result<Vec<(Cell, Status, Option<f64>)>> {
    let cells = spec.cells()?;
    let mut per_dataset: BTreeMap<String, Vec<FinishedCost>> = BTreeMap::new();
    for cell in &cells {
        if layout.status(spec, cell) != Status::Finished {
            continue;
        }
        let seconds = epoch_costs(&layout.record_dir(cell))?.seconds;
        per_dataset
            .entry(cell.dataset.clone())
            .or_default()
            .push(FinishedCost { train_fraction: cell.config.train_fraction, seconds });
    }
    Ok(select(cells, filter)?
        .into_iter()
        .map(|cell| {
            let status = layout.status(spec, &cell);
            let left_after = |done| {
                per_dataset.get(&cell.dataset).and_then(|finished| {
                    estimate_seconds(finished, cell.config.train_fraction, done)
                })
            };
            let estimate = match status {
                Status::Finished => Some(0.0),
                Status::Partial(done) => left_after(done),
                Status::NotStarted => left_after(0),
            };
            (cell, status, estimate)
        })
        .collect())
}

/// The epoch seconds of one finished cell and the share of the training
/// documents it trained on.
struct FinishedCost {
    train_fraction: f64,
    seconds: Vec<f64>,
}

/// Seconds a cell training on `train_fraction` of the documents still needs
/// after `done` epochs: mean epochs × mean seconds per epoch of the finished
/// cells with the same fraction, or, where none has finished yet, of all of
/// them with each epoch scaled by the ratio of fractions (an epoch's cost is
/// mostly its training pass, which is linear in the documents; the devel pass
/// is not, so this underestimates small fractions until one has finished).
fn estimate_seconds(finished: &[FinishedCost], train_fraction: f64, done: usize) -> Option<f64> {
    let same: Vec<&FinishedCost> =
        finished.iter().filter(|c| (c.train_fraction - train_fraction).abs() < 1e-9).collect();
    let basis: Vec<&FinishedCost> = if same.is_empty() { finished.iter().collect() } else { same };
    if basis.is_empty() {
        return None;
    }
    let epochs = basis.iter().map(|c| c.seconds.len() as f64).sum::<f64>() / basis.len() as f64;
    let scaled_seconds: f64 = basis
        .iter()
        .map(|c| c.seconds.iter().sum::<f64>() * train_fraction / c.train_fraction)
        .sum();
    let per_epoch =
        scaled_seconds / basis.iter().map(|c| c.seconds.len()).sum::<usize>().max(1) as f64;
    Some((epochs - done as f64).max(0.0) * per_epoch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimates_prefer_the_same_training_fraction_and_else_scale_by_it() {
        let cost = |train_fraction: f64, seconds: &[f64]| FinishedCost {
            train_fraction,
            seconds: seconds.to_vec(),
        };
        // Two full-data cells: 3 epochs on average, 560 s over 6 epochs.
        let mut finished = vec![cost(1.0, &[100.0; 4]), cost(1.0, &[80.0; 2])];
        let per_epoch = 560.0 / 6.0;
        let close = |a: Option<f64>, b: f64| a.is_some_and(|a| (a - b).abs() < 1e-9);
        assert!(close(estimate_seconds(&finished, 1.0, 0), 3.0 * per_epoch));
        assert!(close(estimate_seconds(&finished, 1.0, 1), 2.0 * per_epoch));
        assert_eq!(estimate_seconds(&finished, 1.0, 5), Some(0.0));
        // No quarter-data cell has finished: full-data epochs, scaled.
        assert!(close(estimate_seconds(&finished, 0.25, 0), 3.0 * per_epoch / 4.0));
        // Once one has, its own epochs and seconds are the estimate.
        finished.push(cost(0.25, &[40.0; 10]));
        assert!(close(estimate_seconds(&finished, 0.25, 4), 6.0 * 40.0));
        assert!(close(estimate_seconds(&finished, 1.0, 0), 3.0 * per_epoch));
        assert_eq!(estimate_seconds(&[], 1.0, 0), None);
    }

    fn spec(text: &str) -> Spec {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn cells_are_seed_major_named_by_their_configuration_and_carry_the_base() {
        let s = spec(
            r#"
            description = "t"
            [base]
            shape_dim = 32
            [[grid]]
            dataset = ["mars", "anatem"]
            variant = ["baseline", "cd"]
            seed = [1, 2]
            [[grid]]
            dataset = ["mars"]
            variant = ["cd"]
            coref_scope = ["window", "document"]
            seed = [1]
            "#,
        );
        let cells = s.cells().unwrap();
        // The second grid's window-scope CD is the first grid's mars CD: one cell.
        assert_eq!(cells.len(), 9);
        assert!(
            cells[..5].iter().all(|c| c.config.seed == 1)
                && cells[5..].iter().all(|c| c.config.seed == 2)
        );
        assert!(cells.iter().all(|c| c.config.shape_dim == 32));
        assert!(
            cells[0].name.starts_with("mars-baseline-") && cells[0].name.ends_with("-seed-1"),
            "{}",
            cells[0].name
        );
        let doc = cells
            .iter()
            .find(|c| c.config.coref_scope == crate::model::CorefScope::Document)
            .unwrap();
        let window_cd = cells
            .iter()
            .find(|c| {
                c.dataset == "mars"
                    && c.config.variant == crate::model::Variant::Cd
                    && c.config.seed == 1
                    && c.name != doc.name
            })
            .unwrap();
        assert_ne!(doc.name[8..16], window_cd.name[8..16]);
        // The same configuration has the same name whichever spec names it.
        let mut other = TrainConfig::default();
        (other.shape_dim, other.seed) = (32, 2);
        assert_eq!(
            cell_name("mars", &other).unwrap(),
            cells
                .iter()
                .find(|c| c.dataset == "mars"
                    && c.config.variant == crate::model::Variant::Cd
                    && c.config.seed == 2)
                .unwrap()
                .name
        );
    }

    #[test]
    fn where_filters_by_dataset_and_configuration_fields() {
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\", \"anatem\"]\ncoref_scope = [\"window\", \"document\"]\npos_dim = [0, 16]\n");
        let f = |pairs: &[(&str, &str)]| {
            select(
                s.cells().unwrap(),
                &pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>(),
            )
            .unwrap()
            .len()
        };
        assert_eq!(f(&[]), 8);
        assert_eq!(f(&[("dataset", "mars")]), 4);
        assert_eq!(f(&[("dataset", "mars"), ("coref_scope", "document"), ("pos_dim", "0")]), 1);
        assert!(select(s.cells().unwrap(), &[("nope".into(), "1".into())]).is_err());
    }

    #[test]
    fn a_bad_value_or_field_names_its_grid() {
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\"]\nvariant = [\"cdx\"]\n");
        let err = format!("{:#}", s.cells().unwrap_err());
        assert!(err.contains("grid 1") && err.contains("cdx"), "{err}");
        let s = spec("description = \"t\"\n[[grid]]\ndataset = [\"mars\"]\nno_such_field = [1]\n");
        assert!(format!("{:#}", s.cells().unwrap_err()).contains("no_such_field"));
    }

    #[test]
    fn mixed_label_shares_average_each_rows_runs_and_skip_runs_without_a_record() {
        use crate::decode::consistency::{Consistency, ConsistencyRecord, ThresholdChoice};
        let root = std::env::temp_dir().join(format!("enrelg-shares-{}", std::process::id()));
        let share = |inconsistent: usize| Consistency {
            repeated_strings: 100,
            inconsistent,
            share: inconsistent as f64 / 100.0,
        };
        let write = |name: &str, plain: usize, consistent: usize| {
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            let record = ConsistencyRecord {
                split: "test".into(),
                dev_split: "dev".into(),
                choice: ThresholdChoice { threshold: 0.5, dev_f1: vec![(0.5, 80.0)] },
                changed_words: 3,
                f1_plain: 80.0,
                f1_consistent: 81.0,
                gold: share(5),
                predicted_plain: share(plain),
                predicted_consistent: share(consistent),
            };
            std::fs::write(
                dir.join(consistency_file("test")),
                serde_json::to_string(&record).unwrap(),
            )
            .unwrap();
            dir
        };
        let a = [write("a1", 30, 10), write("a2", 40, 20)];
        let b = [root.join("no-record")];
        let bars = mixed_label_shares(&[&a[..], &b[..]], "test").unwrap();
        let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["gold", "predicted", "predicted + consistency decoding"]);
        let close = |v: Option<(f64, f64)>, mean: f64, std: f64| {
            let (m, s) = v.unwrap();
            assert!(
                (m - mean).abs() < 1e-9 && (s - std).abs() < 1e-9,
                "{m} ± {s}, expected {mean} ± {std}"
            );
        };
        close(bars[0].values[0], 5.0, 0.0);
        close(bars[1].values[0], 35.0, 50f64.sqrt());
        close(bars[2].values[0], 15.0, 50f64.sqrt());
        assert!(bars.iter().all(|b| b.values[1].is_none()), "a row without records has no bars");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
