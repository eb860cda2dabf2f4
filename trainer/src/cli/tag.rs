//! `enrelg tag` (`make tag`): plain `.txt` files or a JSONL file in, brat
//! `.ann` + `entities.jsonl` (or JSONL) out, parsing what has no parse.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg::model::inference::Precision;
use enrelg::run::newest_run;
use enrelg::tag::chunk::{self, Task, DEFAULT_CHUNK_LINES};
use enrelg::tag::output::{OutputDir, WORK_DIR};
use enrelg::tag::predict::{
    check_threshold, open_runs, tag_documents, txt_files, PredictedEntity, Tagger, SKIPPED_TSV,
};
use enrelg::tag::{up_to_date, TaggedRecord};
use enrelg_pipeline::read::input::{
    read_checked, read_jsonl, JsonlRecord, TextCheck, DEFAULT_MAX_CHARS,
};
use enrelg_pipeline::read::tree::with_ext;
use enrelg_pipeline::skips::{SkipReport, Unit};

use super::predict::{links, report_removed};
use super::{DeviceArgs, ParserArgs};

#[derive(Args, Clone)]
pub struct TagArgs {
    /// A folder tree of `.txt` files, or one `.jsonl` file of {"id", "text"} records.
    #[arg(long)]
    pub input: PathBuf,
    /// Output folder: `.ann` files mirroring the input tree and entities.jsonl
    /// (a folder input), or tagged.jsonl (a JSONL input).
    #[arg(long)]
    pub out: PathBuf,
    /// Trained run folder (repeat for a seed ensemble); default: the newest
    /// run of --dataset under --runs-dir.
    #[arg(long = "run")]
    pub runs: Vec<PathBuf>,
    /// Where `make train` puts its runs.
    #[arg(long, default_value = "runs")]
    pub runs_dir: PathBuf,
    /// Whose newest run tags when no --run is given.
    #[arg(long, default_value = "mars")]
    pub dataset: String,
    #[command(flatten)]
    pub parser: ParserArgs,
    /// Refuse (report and skip) documents longer than this many characters.
    #[arg(long, default_value_t = DEFAULT_MAX_CHARS)]
    pub max_chars: usize,
    /// Consistency decoding at this threshold instead of the run's own (as
    /// `enrelg predict --consistency`; 1.0 decodes plainly).
    #[arg(long, value_name = "THRESHOLD")]
    pub consistency: Option<f64>,
    /// The encoder's arithmetic: f32 as trained, or int8 (8-bit weights per output channel and
    /// activations per subtoken, on the flex backend; docs/performance.md measures what it
    /// changes).
    #[arg(long, value_enum, default_value_t = Precision::F32)]
    pub quantize: Precision,
    /// Do not follow symbolic links to folders in --input (links to files are followed).
    #[arg(long)]
    pub no_follow_links: bool,
    /// Tag a JSONL input (a file, or a folder of them) in fixed chunks, this
    /// process taking task i of N (0-based), or `slurm` for
    /// SLURM_ARRAY_TASK_ID of SLURM_ARRAY_TASK_COUNT: OUT/FILE/CHUNK.jsonl per
    /// chunk, finished chunks skipped on a rerun ([`enrelg::tag::chunk`]).
    #[arg(long, value_name = "i/N|slurm")]
    pub chunk: Option<Task>,
    /// Lines of a JSONL file per chunk.
    #[arg(long, default_value_t = DEFAULT_CHUNK_LINES)]
    pub chunk_lines: usize,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// What `tag` writes for a JSONL input: one line per tagged record.
pub const TAGGED_JSONL: &str = "tagged.jsonl";

/// A document to tag: its text file, relative path, and whether it is empty.
struct Doc {
    txt: PathBuf,
    rel: PathBuf,
    empty: bool,
}

/// The documents of the input, each checked: where their texts lie (the input folder, or the
/// work folder's `texts/` for JSONL records), the JSONL records, and the documents that passed.
struct Inputs {
    texts_root: PathBuf,
    records: Option<Vec<JsonlRecord>>,
    docs: Vec<Doc>,
}

impl Inputs {
    /// A skip message naming a record's JSONL line in place of its work file.
    fn rename(&self, input: &Path, message: &mut String) {
        let Some(records) = &self.records else { return };
        if let Some(r) = records.iter().find(|r| message.contains(&r.file_stem())) {
            *message = format!("{}:{} (id {:?}): {message}", input.display(), r.line, r.id);
        }
    }
}

pub fn run(args: TagArgs) -> anyhow::Result<ExitCode> {
    // The run first: without one there is nothing to do.
    let run_dirs = if args.runs.is_empty() {
        vec![newest_run(&args.runs_dir, &args.dataset)?]
    } else {
        args.runs.clone()
    };
    if let Some(task) = args.chunk {
        return run_chunks(TagArgs { runs: run_dirs, ..args }, task);
    }
    check_threshold(args.consistency)?;
    // One writer per output folder: a second `tag` into it is refused.
    let mut out = OutputDir::open(&args.out)?;
    let mut skipped = SkipReport::default();
    let inputs = documents(&args, &out.work(), &mut skipped)?;
    let parse_of = parse_missing(&args, &inputs, &out.work())?;

    // Step 3, tag (steps 1, 2 and 4 below).
    let device = args.device.device()?;
    let (runs, tokenizer) = open_runs(&run_dirs, &device)?;
    let names: Vec<String> = run_dirs.iter().map(|d| d.display().to_string()).collect();
    eprintln!("tagging with {}", names.join(", "));
    let tagger = Tagger::new(&runs, &tokenizer)?
        .with_consistency(args.consistency)
        .with_precision(args.quantize, &device)?;
    if let Some(t) = tagger.consistency() {
        eprintln!("consistency decoding at threshold {t}");
    }
    let ann_root = if inputs.records.is_some() { out.work().join("ann") } else { args.out.clone() };
    let docs = &inputs.docs;
    let to_tag: Vec<_> = docs
        .iter()
        .filter(|d| !d.empty)
        .map(|d| (d.txt.clone(), parse_of(d), d.rel.clone()))
        .collect();
    let mut tagged = tag_documents(&tagger, &to_tag, &mut out, &ann_root, &device, false)?;
    // Empty documents have no entities; they still get their (empty) output.
    for d in docs.iter().filter(|d| d.empty) {
        out.write(&with_ext(&ann_root, &d.rel, "ann"), b"")?;
        tagged.entities.insert(d.rel.clone(), Vec::new());
    }
    let empty = docs.iter().filter(|d| d.empty).count();
    if empty > 0 {
        eprintln!("{empty} empty document(s): no entities");
    }

    // 4. JSONL out, in input order, for the records that were tagged.
    let out_path = match &inputs.records {
        Some(records) => write_tagged_jsonl(&mut out, &args.out, records, &tagged.entities)?,
        None => args.out.clone(),
    };
    let rename = |message: &mut String| inputs.rename(&args.input, message);
    tagged.skipped.reasons.values_mut().flat_map(|reason| reason.first.iter_mut()).for_each(rename);
    tagged.skipped.all.iter_mut().for_each(|(_, message)| rename(message));
    skipped.merge(&tagged.skipped);
    // Every skipped document and line, for users tagging thousands of files.
    out.write(&args.out.join(SKIPPED_TSV), skipped.to_tsv().as_bytes())?;
    report_removed(&out.finish()?);
    super::report_skips(std::iter::once(&skipped));
    println!("{}", tagged.summary(&args.device.name, &out_path));
    Ok(ExitCode::SUCCESS)
}

/// Step 1, the documents, each checked; JSONL records become text files under `work/texts`.
fn documents(args: &TagArgs, work: &Path, skipped: &mut SkipReport) -> anyhow::Result<Inputs> {
    let jsonl = args.input.is_file();
    anyhow::ensure!(
        args.input.is_dir()
            || args.input.extension().is_some_and(|e| e == "jsonl" || e == "ndjson"),
        "{}: neither a folder of .txt files nor a .jsonl file",
        args.input.display()
    );
    let (texts_root, records) = if jsonl {
        let records = read_jsonl(&args.input, skipped)?;
        let root = work.join("texts");
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        for r in &records {
            let path = root.join(format!("{}.txt", r.file_stem()));
            // Unchanged texts keep their time, so their parses stay valid.
            if std::fs::read(&path).ok().as_deref() != Some(r.text.as_bytes()) {
                enrelg_pipeline::fs::write_atomic(&path, r.text.as_bytes())?;
            }
        }
        (root, Some(records))
    } else {
        (args.input.clone(), None)
    };
    let rels: Vec<PathBuf> = match &records {
        Some(records) => records.iter().map(|r| PathBuf::from(r.file_stem())).collect(),
        None => txt_files(&args.input, links(args.no_follow_links), skipped)?,
    };
    anyhow::ensure!(
        !rels.is_empty() || !skipped.is_empty(),
        "{}: no documents",
        args.input.display()
    );
    let mut docs = Vec::new();
    for (i, rel) in rels.iter().enumerate() {
        let txt = with_ext(&texts_root, rel, "txt");
        match read_checked(&txt, args.max_chars) {
            Ok((_, check)) => {
                docs.push(Doc { txt, rel: rel.clone(), empty: check == TextCheck::Empty })
            }
            Err((reason, message)) => {
                // Name the JSONL line, not the work file.
                let message = match &records {
                    Some(r) => message.replacen(
                        &txt.display().to_string(),
                        &format!("{}:{} (id {:?})", args.input.display(), r[i].line, r[i].id),
                        1,
                    ),
                    None => message,
                };
                skipped.add(Unit::Document, reason, message);
            }
        }
    }
    Ok(Inputs { texts_root, records, docs })
}

/// Step 2, the parses: an up-to-date `.conllu` beside a `.txt` is used; the others are parsed into
/// `work/parses`. Returns where each document's parse lies.
fn parse_missing<'a>(
    args: &TagArgs,
    inputs: &'a Inputs,
    work: &Path,
) -> anyhow::Result<impl Fn(&Doc) -> PathBuf + 'a> {
    let parses = work.join("parses");
    let jsonl = inputs.records.is_some();
    let parse_of = move |d: &Doc| {
        let beside = with_ext(&inputs.texts_root, &d.rel, "conllu");
        if !jsonl && up_to_date(&beside, &d.txt) {
            beside
        } else {
            with_ext(&parses, &d.rel, "conllu")
        }
    };
    let parses = work.join("parses");
    let to_parse: Vec<PathBuf> = inputs
        .docs
        .iter()
        .filter(|d| !d.empty && parse_of(d).starts_with(&parses))
        .map(|d| d.rel.clone())
        .collect();
    args.parser.parser().parse(&inputs.texts_root, &to_parse, &parses)?;
    Ok(parse_of)
}

/// Step 4, `OUT/tagged.jsonl`: one line per tagged record, in input order.
fn write_tagged_jsonl(
    out: &mut OutputDir,
    dir: &Path,
    records: &[JsonlRecord],
    entities: &BTreeMap<PathBuf, Vec<PredictedEntity>>,
) -> anyhow::Result<PathBuf> {
    let mut lines = String::new();
    for r in records {
        if let Some(entities) = entities.get(&PathBuf::from(r.file_stem())) {
            lines += &(TaggedRecord::new(&r.id, entities).to_json() + "\n");
        }
    }
    let path = dir.join(TAGGED_JSONL);
    out.write(&path, lines.as_bytes())?;
    Ok(path)
}

/// Tag this task's chunks of a JSONL input ([`enrelg::tag::chunk`]): each chunk
/// is tagged as a JSONL input of its own in a work folder of its own (its own
/// lock), then its `tagged.jsonl` is renamed to `OUT/FILE/CHUNK.jsonl`, which
/// marks it done.
fn run_chunks(args: TagArgs, task: Task) -> anyhow::Result<ExitCode> {
    // Chunk outputs are JSONL too: inside the input folder they would become input.
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    if let (Ok(input), Ok(out)) = (args.input.canonicalize(), args.out.canonicalize()) {
        anyhow::ensure!(
            !(input.is_dir() && out.starts_with(&input)),
            "--out {} lies inside --input {}: put the chunk outputs elsewhere",
            args.out.display(),
            args.input.display()
        );
    }
    let chunks = chunk::plan(&args.input, args.chunk_lines)?;
    let mine: Vec<&chunk::Chunk> =
        chunks.iter().filter(|c| c.global % task.count == task.index).collect();
    eprintln!(
        "task {} of {}: {} of {} chunks of {} lines",
        task.index,
        task.count,
        mine.len(),
        chunks.len(),
        args.chunk_lines
    );
    let mut done = 0;
    for c in mine {
        let target = c.output(&args.out, "jsonl");
        if target.exists() {
            done += 1;
            continue;
        }
        let source =
            if args.input.is_dir() { args.input.join(&c.file) } else { args.input.clone() };
        let name = format!(
            "{}-{:05}",
            c.file.with_extension("").to_string_lossy().replace('/', "__"),
            c.index
        );
        let work = args.out.join(WORK_DIR).join("chunks").join(name);
        std::fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
        let input = work.join("input.jsonl");
        std::fs::write(&input, c.read(&source)?)
            .with_context(|| format!("writing {}", input.display()))?;
        let tagged = work.join("out");
        eprintln!(
            "chunk {} of {} (lines {}-{}):",
            c.index,
            source.display(),
            c.first_line,
            c.first_line + c.lines - 1
        );
        run(TagArgs { input: input.clone(), out: tagged.clone(), chunk: None, ..args.clone() })?;
        // The skip table names the input file, not the chunk's copy of it.
        let skipped = std::fs::read_to_string(tagged.join(SKIPPED_TSV))
            .unwrap_or_default()
            .replace(&input.display().to_string(), &source.display().to_string());
        let dir = target.parent().context("a chunk output without a folder")?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        enrelg_pipeline::fs::write_atomic(&c.output(&args.out, SKIPPED_TSV), skipped.as_bytes())?;
        std::fs::rename(tagged.join(TAGGED_JSONL), &target)
            .with_context(|| format!("moving the chunk's output to {}", target.display()))?;
        std::fs::remove_dir_all(&work).with_context(|| format!("removing {}", work.display()))?;
    }
    if done > 0 {
        eprintln!("{done} chunk(s) already done, skipped");
    }
    Ok(ExitCode::SUCCESS)
}
