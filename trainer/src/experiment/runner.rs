//! Running the cells: each as child `enrelg train` / `eval` processes, resumable, their records
//! kept under the results folder.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use enrelg_pipeline::fs::write_atomic;

use super::spec::{Cell, Spec, Status};
use crate::report::summary::{read_run, EvaluatedRun};
use crate::run::{consistency_file, consistent_split, eval_file, METRICS, RUN_JSON};

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

/// The runs and records folder of specs that do not name their own (`Spec::records`).
pub const SHARED_RECORDS: &str = "experiments";

impl Layout {
    /// The runs and records roots for `spec`: `runs/F` and `results/F`, F its `records` folder
    /// or [`SHARED_RECORDS`]; a root given on the command line wins.
    pub fn folders(
        spec: &Spec,
        runs: Option<PathBuf>,
        results: Option<PathBuf>,
    ) -> (PathBuf, PathBuf) {
        let folder = spec.records.as_deref().unwrap_or(SHARED_RECORDS);
        (
            runs.unwrap_or_else(|| Path::new("runs").join(folder)),
            results.unwrap_or_else(|| Path::new("results").join(folder)),
        )
    }

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
        .arg("--shards")
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
