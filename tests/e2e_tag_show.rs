//! `enrelg tag` and `enrelg show` on real Mars documents with a small
//! trained run (frozen MiniLM, eight epochs on three documents).
//!
//! tag: raw `.txt` files (no parses) and a JSONL file in, `.ann` / JSONL out,
//! with bad input named and the rest still tagged. show: every highlight is
//! the text at its offsets, the arcs of each window are its edges table rows,
//! and headless Chromium finds them in the DOM.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{data_dir, have, model_dir, parse_python, required, small_corpus, workspace};
use enrelg_schemas::tables::{self, edges, windows};

struct Setup {
    tmp: PathBuf,
    model: String,
    python: Option<PathBuf>,
}

fn setup(name: &str) -> Option<Setup> {
    let (data, model, python) = (data_dir(), model_dir(), parse_python());
    if !have(&[&data.join("mars"), &model.join("model.safetensors")], "make model") {
        return None;
    }
    assert!(!required() || python.exists(), "need {} (make parse-venv)", python.display());
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    small_corpus(&data.join("mars"), &tmp.join("corpus"), 3);
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = s(&model);
    let (shards, run) = (tmp.join("shards"), tmp.join("run"));
    enrelg(&[
        "data",
        "--corpus",
        &s(&tmp.join("corpus")),
        "--manifest",
        "datasets/mars/manifest.json",
        "--model",
        &model,
        "--out",
        &s(&shards),
    ]);
    let cache = s(&tmp.join("cache"));
    let config = tmp.join("train.toml");
    std::fs::write(&config, common::FAST_TRAIN_TOML).unwrap();
    let train = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--config",
        &s(&config),
        "--variant",
        "cd",
        "--epochs",
        "8",
        "--freeze-encoder",
        "--out",
        &s(&run),
        "--cache-dir",
        &cache,
    ];
    enrelg(&train);
    enrelg(&["eval", "--run", &s(&run), "--split", "test", "--cache-dir", &cache]);
    Some(Setup { tmp, model, python: python.exists().then_some(python) })
}

fn run_enrelg(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run enrelg")
}

fn enrelg(args: &[&str]) -> String {
    let out = run_enrelg(args);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "enrelg {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout + &String::from_utf8_lossy(&out.stderr)
}

/// Brat `T` lines of an `.ann` file: (type, start, end, surface), start and end those of the
/// whole entity; each line's fragments (`S1 E1;S2 E2`, an entity over a tab or a line break)
/// are checked to be in order.
fn ann_spans(path: &Path) -> Vec<(String, usize, usize, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let (ty, spans) = cols[1].split_once(' ').unwrap();
            let frags: Vec<(usize, usize)> = spans
                .split(';')
                .map(|f| {
                    let (s, e) = f.split_once(' ').unwrap();
                    (s.parse().unwrap(), e.parse().unwrap())
                })
                .collect();
            assert!(frags.windows(2).all(|w| w[0].1 < w[1].0), "{l}");
            (ty.to_string(), frags[0].0, frags[frags.len() - 1].1, cols[2].to_string())
        })
        .collect()
}

/// The surface brat's `.ann` line gives the entity over `text` (its fragments' texts joined by
/// spaces), from the library's writer.
fn brat_surface(text: &str) -> String {
    let n = text.chars().count();
    let line = enrelg_pipeline::read::brat::entity_line(1, "T", 0, n, text);
    line.trim_end_matches('\n').splitn(3, '\t').nth(2).unwrap().to_string()
}

fn slice(text: &str, s: usize, e: usize) -> String {
    text.chars().skip(s).take(e - s).collect()
}

#[test]
fn tag_parses_raw_text_names_bad_input_and_tags_the_rest() {
    let Some(setup) = setup("tag") else { return };
    let Some(python) = &setup.python else {
        eprintln!("skipping: no spaCy environment (make parse-venv)");
        return;
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let tmp = &setup.tmp;
    let raw = tmp.join("raw");
    std::fs::create_dir_all(raw.join("nested")).unwrap();
    let test = tmp.join("corpus/standoff/test");
    let mut stems: Vec<String> = std::fs::read_dir(&test)
        .unwrap()
        .filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    stems.sort();
    stems.dedup();
    for (i, stem) in stems.iter().enumerate() {
        let dst = if i == 0 {
            raw.join("nested").join(format!("{stem}.txt"))
        } else {
            raw.join(format!("{stem}.txt"))
        };
        std::fs::copy(test.join(format!("{stem}.txt")), dst).unwrap();
    }
    std::fs::write(raw.join("latin1.txt"), b"Curiosity analysed Schr\xf6der.\n").unwrap();
    std::fs::write(raw.join("empty.txt"), b"").unwrap();
    let first =
        std::fs::read_to_string(test.join(format!("{}.txt", stems[0]))).unwrap().replace('\n', " ");
    let long: String = first.chars().cycle().take(1 << 20).collect();
    std::fs::write(raw.join("one-line.txt"), long).unwrap();

    let run = s(&tmp.join("run"));
    let out = tmp.join("tagged");
    let args =
        ["tag", "--input", &s(&raw), "--out", &s(&out), "--run", &run, "--python", &s(python)];
    let report = enrelg(&args);
    assert!(
        report.contains(&format!("{}:1:24: not UTF-8", raw.join("latin1.txt").display())),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{}: 1048576 characters in 1 line(s), more than --max-chars",
            raw.join("one-line.txt").display()
        )),
        "{report}"
    );
    assert!(report.contains("1 empty document(s)"), "{report}");
    for (i, stem) in stems.iter().enumerate() {
        let rel = if i == 0 { format!("nested/{stem}") } else { stem.clone() };
        let text = std::fs::read_to_string(raw.join(format!("{rel}.txt"))).unwrap();
        let spans = ann_spans(&out.join(format!("{rel}.ann")));
        for (_, s, e, surface) in &spans {
            assert_eq!(&brat_surface(&slice(&text, *s, *e)), surface, "{rel}: span {s}-{e}");
        }
        assert!(out
            .join(format!("{}/parses/{rel}.conllu", enrelg::tag::output::WORK_DIR))
            .exists());
    }
    assert_eq!(std::fs::read_to_string(out.join("empty.ann")).unwrap(), "");
    assert!(!out.join("latin1.ann").exists() && !out.join("one-line.ann").exists());
    // A rerun parses nothing again and writes the same output.
    let before = std::fs::read_to_string(out.join("entities.jsonl")).unwrap();
    let again = enrelg(&args);
    assert!(
        again.contains("0 documents to parse") || !again.contains("documents to parse"),
        "{again}"
    );
    assert_eq!(std::fs::read_to_string(out.join("entities.jsonl")).unwrap(), before);

    // JSONL in, JSONL out; bad lines are named, the other records tagged.
    let text0 = std::fs::read_to_string(raw.join(format!("nested/{}.txt", stems[0]))).unwrap();
    let text1 = std::fs::read_to_string(raw.join(format!("{}.txt", stems[1]))).unwrap();
    let jsonl = tmp.join("in.jsonl");
    let lines = [
        serde_json::json!({"id": "doc-a", "text": text0}).to_string(),
        "{not json".to_string(),
        serde_json::json!({"id": "doc-b", "text": text1}).to_string(),
        serde_json::json!({"id": "doc-a", "text": "duplicate"}).to_string(),
    ];
    std::fs::write(&jsonl, lines.join("\n") + "\n").unwrap();
    let out_j = tmp.join("tagged-jsonl");
    let report = enrelg(&[
        "tag",
        "--input",
        &s(&jsonl),
        "--out",
        &s(&out_j),
        "--run",
        &run,
        "--python",
        &s(python),
    ]);
    assert!(report.contains(&format!("{}:2: not JSON", jsonl.display())), "{report}");
    assert!(
        report
            .contains(&format!("{}:4: duplicate id \"doc-a\" (first on line 1)", jsonl.display())),
        "{report}"
    );
    let tagged: Vec<serde_json::Value> = std::fs::read_to_string(out_j.join("tagged.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        tagged.iter().map(|t| t["id"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["doc-a", "doc-b"]
    );
    for (t, text) in tagged.iter().zip([&text0, &text1]) {
        for e in t["entities"].as_array().unwrap() {
            let (s, e2) =
                (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
            assert_eq!(slice(text, s, e2), e["text"].as_str().unwrap());
        }
    }
    // The same text tags the same in both forms.
    let tree: Vec<(String, usize, usize)> =
        ann_spans(&out.join(format!("nested/{}.ann", stems[0])))
            .into_iter()
            .map(|(t, s, e, _)| (t, s, e))
            .collect();
    let from_jsonl: Vec<(String, usize, usize)> = tagged[0]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_string(),
                e["start"].as_u64().unwrap() as usize,
                e["end"].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(tree, from_jsonl);
    // No run anywhere: a message that says how to get one.
    let none = run_enrelg(&[
        "tag",
        "--input",
        &s(&raw),
        "--out",
        &s(&tmp.join("x")),
        "--runs-dir",
        &s(&tmp.join("no-runs")),
        "--python",
        &s(python),
    ]);
    assert!(!none.status.success());
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("make train DATASET=mars"),
        "{}",
        String::from_utf8_lossy(&none.stderr)
    );
    // The folder checks read document paths from entities.jsonl, so each file there holds the
    // text the small test model tags more entities in (which one depends on float rounding).
    let found = |t: &serde_json::Value| t["entities"].as_array().unwrap().len();
    let rich = if found(&tagged[0]) >= found(&tagged[1]) { &text0 } else { &text1 };
    assert!(found(&tagged[0]).max(found(&tagged[1])) > 0, "the test model tags no entity");
    real_folders(tmp, &run, python, rich, rich);
    let _ = setup.model;
    std::fs::remove_dir_all(tmp).unwrap();
}

/// `enrelg` with the working directory `cwd`, killed (and the test failed)
/// after `limit`: a walk that never ends must not hang the test run.
fn enrelg_within(args: &[String], cwd: &Path, limit: std::time::Duration) -> (bool, String) {
    let log = std::env::temp_dir().join(format!(
        "enrelg-e2e-log-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let file = std::fs::File::create(&log).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(cwd)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "enrelg {args:?} still running after {limit:?}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    (status.success(), std::fs::read_to_string(&log).unwrap())
}

/// The folders users have: link loops, a FIFO, odd names, a byte order mark,
/// the parser's whitespace; two runs into one OUT; a rerun after a file went
/// bad; a run tagged from another working directory.
fn real_folders(tmp: &Path, run: &str, python: &Path, text0: &str, text1: &str) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let raw = tmp.join("raw2");
    std::fs::create_dir_all(raw.join("a")).unwrap();
    std::fs::create_dir_all(raw.join("b")).unwrap();
    std::fs::write(raw.join("a/doc.txt"), text0).unwrap();
    std::fs::write(raw.join("b/doc.txt"), text1).unwrap();
    symlink("..", raw.join("a/up")).unwrap();
    symlink(".", raw.join("b/self")).unwrap();
    symlink("a", raw.join("again")).unwrap();
    symlink("a/doc.txt", raw.join("alias.txt")).unwrap();
    assert!(Command::new("mkfifo").arg(raw.join("fifo.txt")).status().unwrap().success());
    std::fs::write(raw.join("new\nline.txt"), text0).unwrap();
    std::fs::write(raw.join(std::ffi::OsStr::from_bytes(b"odd\xff.txt")), text1).unwrap();
    std::fs::write(raw.join("bom.txt"), format!("\u{feff}{text0}")).unwrap();
    std::fs::write(raw.join("sep.txt"), text0.replacen(' ', "\u{1c}", 3)).unwrap();

    let out = tmp.join("tagged2");
    let args: Vec<String> =
        ["tag", "--input", &s(&raw), "--out", &s(&out), "--run", run, "--python", &s(python)]
            .map(String::from)
            .to_vec();
    let minute = std::time::Duration::from_secs(300);
    let (ok, report) = enrelg_within(&args, &workspace(), minute);
    assert!(ok, "{report}");
    assert!(report.contains("6 documents"), "each document once: {report}");
    let skipped = std::fs::read_to_string(out.join("skipped.tsv")).unwrap();
    assert!(
        skipped.contains(&format!("{}\t\tnot a regular file", raw.join("fifo.txt").display())),
        "{skipped}"
    );
    assert_eq!(
        skipped.matches("folder already walked").count(),
        2 * 3,
        "a/up, b/self, again: {skipped}"
    );
    assert!(
        skipped.contains("file already listed")
            && !skipped.contains("sep.txt")
            && !skipped.contains("bom.txt"),
        "{skipped}"
    );
    // entities.jsonl tells the two doc.txt apart.
    let paths: BTreeSet<String> = std::fs::read_to_string(out.join("entities.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(
        paths.contains("a/doc.txt")
            && paths.contains("b/doc.txt")
            && paths.contains("new\nline.txt")
            && paths.contains("odd\u{fffd}.txt"),
        "{paths:?}"
    );
    let spans = |rel: &[u8]| ann_spans(&out.join(std::ffi::OsStr::from_bytes(rel)));
    let a = spans(b"a/doc.ann");
    assert!(!a.is_empty());
    assert_eq!(spans(b"new\nline.ann"), a);
    assert_eq!(spans(b"odd\xff.ann"), spans(b"b/doc.ann"));
    // The byte order mark counts, as brat counts it: the same entities one character on.
    let shifted: Vec<_> =
        a.iter().map(|(t, s, e, x)| (t.clone(), s + 1, e + 1, x.clone())).collect();
    assert_eq!(spans(b"bom.ann"), shifted);
    assert!(!spans(b"sep.ann").is_empty(), "U+001C is whitespace to the parser and to the checks");
    // Python reading each .txt as UTF-8 finds every surface at its offsets.
    let check = r#"
import os, sys
raw, out = sys.argv[1], sys.argv[2]
n = 0
for root, _, files in os.walk(out):
    for name in files:
        if not name.endswith(".ann") or ".enrelg" in root:
            continue
        rel = os.path.relpath(os.path.join(root, name), out)[:-4] + ".txt"
        text = open(os.path.join(raw, rel), encoding="utf-8", newline="").read()
        for line in open(os.path.join(root, name), encoding="utf-8"):
            _, span, surface = line.rstrip("\n").split("\t")
            frags = [f.split(" ") for f in span.split(" ", 1)[1].split(";")]
            # brat's fragments: each slices to its part of the surface.
            assert " ".join(text[int(s):int(e)] for s, e in frags).split() == surface.split(), (rel, frags, surface)
            n += 1
print(n)
"#;
    let py = Command::new(python).args(["-c", check, &s(&raw), &s(&out)]).output().unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    assert!(String::from_utf8_lossy(&py.stdout).trim().parse::<usize>().unwrap() >= 5 * a.len());

    // A rerun after a file went bad: its output goes, the others stay.
    std::fs::write(raw.join("sep.txt"), b"Schr\xf6der").unwrap();
    let (ok, report) = enrelg_within(&args, &workspace(), minute);
    assert!(ok, "{report}");
    assert!(report.contains("removed 1 output file(s)"), "{report}");
    assert!(!out.join("sep.ann").exists() && out.join("bom.ann").exists());
    assert!(std::fs::read_to_string(out.join("skipped.tsv"))
        .unwrap()
        .contains(&format!("{}\t1:5\tnot UTF-8", raw.join("sep.txt").display())));

    // Two runs into one OUT: the second is refused while the first writes.
    let out_c = tmp.join("tagged-twice");
    let mut args_c = args.clone();
    args_c[4] = s(&out_c);
    let first = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(&args_c)
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let lock = out_c.join(enrelg::tag::output::WORK_DIR).join("writer.lock");
    let start = std::time::Instant::now();
    while !lock.exists() && start.elapsed() < minute {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let (ok, report) = enrelg_within(&args_c, &workspace(), minute);
    assert!(!ok && report.contains("is being written by another process"), "{report}");
    assert!(first.wait_with_output().unwrap().status.success());
    assert_eq!(
        std::fs::read_to_string(out_c.join("entities.jsonl")).unwrap(),
        std::fs::read_to_string(out.join("entities.jsonl")).unwrap()
    );

    // From another working directory, a run whose model is recorded relative
    // to its project folder (as `make train` records it).
    let project = tmp.join("project");
    std::fs::create_dir_all(project.join("runs/r")).unwrap();
    std::fs::create_dir_all(project.join("models")).unwrap();
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(run).join("run.json")).unwrap())
            .unwrap();
    symlink(info["model"].as_str().unwrap(), project.join("models/minilm")).unwrap();
    info["model"] = "models/minilm".into();
    for entry in std::fs::read_dir(run).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, project.join("runs/r").join(path.file_name().unwrap())).unwrap();
        }
    }
    std::fs::write(project.join("runs/r/run.json"), serde_json::to_string_pretty(&info).unwrap())
        .unwrap();
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let args_e: Vec<String> = [
        "tag",
        "--input",
        "../raw2",
        "--out",
        "tagged",
        "--run",
        "../project/runs/r",
        "--python",
        &s(python),
    ]
    .map(String::from)
    .to_vec();
    let (ok, report) = enrelg_within(&args_e, &elsewhere, minute);
    assert!(ok, "{report}");
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("tagged/entities.jsonl")).unwrap(),
        std::fs::read_to_string(out.join("entities.jsonl")).unwrap()
    );

    // Chunks for a job array: tasks 0/2 and 1/2 (as Slurm sets it) write
    // the whole run's output, chunk by chunk; a rerun redoes only what is missing.
    let input = tmp.join("chunks-in");
    std::fs::create_dir_all(&input).unwrap();
    let records: Vec<String> = [text0, text1, "{broken", text1, text0]
        .iter()
        .enumerate()
        .map(|(i, t)| {
            if t.starts_with('{') {
                t.to_string()
            } else {
                serde_json::json!({"id": format!("r{i}"), "text": t}).to_string()
            }
        })
        .collect();
    std::fs::write(input.join("part.jsonl"), records.join("\n") + "\n").unwrap();
    let whole = tmp.join("chunks-whole");
    let (ok, report) = enrelg_within(
        &[
            "tag",
            "--input",
            &s(&input.join("part.jsonl")),
            "--out",
            &s(&whole),
            "--run",
            run,
            "--python",
            &s(python),
        ]
        .map(String::from),
        &workspace(),
        minute,
    );
    assert!(ok, "{report}");
    let chunked = tmp.join("chunks-out");
    let task = |spec: &str, slurm: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_enrelg"));
        cmd.args([
            "tag",
            "--input",
            &s(&input),
            "--out",
            &s(&chunked),
            "--run",
            run,
            "--python",
            &s(python),
            "--chunk",
            spec,
            "--chunk-lines",
            "2",
        ])
        .current_dir(workspace());
        if let Some(id) = slurm {
            cmd.env("SLURM_ARRAY_TASK_ID", id).env("SLURM_ARRAY_TASK_COUNT", "2");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert!(task("0/2", None).contains("task 0 of 2: 2 of 3 chunks of 2 lines"));
    assert!(task("slurm", Some("1")).contains("task 1 of 2: 1 of 3 chunks"));
    let joined: String = (0..3)
        .map(|k| std::fs::read_to_string(chunked.join(format!("part/{k:05}.jsonl"))).unwrap())
        .collect();
    assert_eq!(
        joined,
        std::fs::read_to_string(whole.join("tagged.jsonl")).unwrap(),
        "the chunks are the whole output"
    );
    let skipped = std::fs::read_to_string(chunked.join("part/00001.skipped.tsv")).unwrap();
    assert!(
        skipped
            .contains(&format!("{}\t3\tJSONL line not JSON", input.join("part.jsonl").display())),
        "the skip names the input's own line: {skipped}"
    );
    std::fs::remove_file(chunked.join("part/00002.jsonl")).unwrap();
    let again = task("0/2", None);
    assert!(again.contains("1 chunk(s) already done") && again.contains("chunk 2 of"), "{again}");
    assert_eq!(
        std::fs::read_to_string(chunked.join("part/00002.jsonl")).unwrap(),
        joined[joined.len()
            - std::fs::read_to_string(chunked.join("part/00002.jsonl")).unwrap().len()..]
    );
    assert!(
        std::fs::read_dir(chunked.join(".enrelg/chunks")).unwrap().next().is_none(),
        "no work folder left"
    );
}

/// (attributes, inner text) of each `<TAG ...>inner</TAG>` (or self-closing).
fn elements<'a>(html: &'a str, tag: &str) -> Vec<(&'a str, &'a str)> {
    html.split(&format!("<{tag} "))
        .skip(1)
        .map(|rest| {
            let end = rest.find('>').unwrap();
            let (attrs, after) = (&rest[..end], &rest[end + 1..]);
            (attrs.trim_end_matches('/'), after.split(&format!("</{tag}>")).next().unwrap_or(""))
        })
        .collect()
}

fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let key = format!("{name}=\"");
    let at = attrs.match_indices(&key).find(|(i, _)| *i == 0 || attrs.as_bytes()[i - 1] == b' ')?.0;
    attrs[at + key.len()..].split('"').next()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[test]
fn show_pages_match_the_text_and_the_edges_and_render_in_chromium() {
    let Some(setup) = setup("show") else { return };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let tmp = &setup.tmp;
    let (shards, out) = (tmp.join("shards"), tmp.join("show"));
    let report = enrelg(&[
        "show",
        "--shards",
        &s(&shards),
        "--split",
        "test",
        "--run",
        &s(&tmp.join("run")),
        "--out",
        &s(&out),
    ]);
    assert!(report.contains("3 pages"), "{report}");

    // The edges table, by window: (class, src, dst) with the kind's graph class.
    let e = enrelg_pipeline::shard::read_table(&shards, "test", tables::EDGES).unwrap();
    let col =
        |n: &str| e.column(n).unwrap().u32().unwrap().into_no_null_iter().collect::<Vec<u32>>();
    let (win, src, dst) = (col(edges::WINDOW_ID), col(edges::SRC), col(edges::DST));
    let (graph, kind) = (
        e.column(edges::GRAPH).unwrap().str().unwrap(),
        e.column(edges::KIND).unwrap().str().unwrap(),
    );
    let mut expected: BTreeMap<u32, BTreeSet<(String, u32, u32)>> = BTreeMap::new();
    // The run (cd, default dependency variant) draws the coreference edges and its dependency kinds.
    let dep_kinds: Vec<&str> = enrelg_pipeline::graph::DependencyVariant::default()
        .kinds()
        .iter()
        .map(|k| k.name())
        .collect();
    for row in 0..e.height() {
        if graph.get(row).unwrap() == "dep" && !dep_kinds.contains(&kind.get(row).unwrap()) {
            continue;
        }
        let class = format!(
            "{} {}",
            if graph.get(row).unwrap() == "coref" { "c" } else { "d" },
            kind.get(row).unwrap()
        );
        expected.entry(win[row]).or_default().insert((class, src[row], dst[row]));
    }
    let w = enrelg_pipeline::shard::read_table(&shards, "test", tables::WINDOWS).unwrap();
    let window_ids: Vec<u32> =
        w.column(windows::WINDOW_ID).unwrap().u32().unwrap().into_no_null_iter().collect();
    let mut drawn: BTreeMap<u32, BTreeSet<(String, u32, u32)>> = BTreeMap::new();

    let test = tmp.join("corpus/standoff/test");
    let mut pages = 0;
    for entry in std::fs::read_dir(&test).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let html = std::fs::read_to_string(out.join(format!("{stem}.html"))).unwrap();
        assert!(html.len() < 400_000, "{stem}: page of {} bytes", html.len());
        let marks: Vec<_> = elements(&html, "mark")
            .into_iter()
            .filter(|(a, _)| attr(a, "data-s").is_some())
            .collect();
        assert!(!marks.is_empty(), "{stem}: no entities highlighted");
        for (a, inner) in &marks {
            let (s0, e0) = (
                attr(a, "data-s").unwrap().parse().unwrap(),
                attr(a, "data-e").unwrap().parse().unwrap(),
            );
            assert_eq!(unescape(inner), slice(&text, s0, e0), "{stem}: highlight {s0}-{e0}");
        }
        for (a, _) in
            elements(&html, "path").into_iter().filter(|(a, _)| attr(a, "data-d").is_some())
        {
            let wid: u32 = attr(a, "data-w").unwrap().parse().unwrap();
            let edge = (
                attr(a, "class").unwrap().to_string(),
                attr(a, "data-s").unwrap().parse().unwrap(),
                attr(a, "data-d").unwrap().parse().unwrap(),
            );
            assert!(drawn.entry(wid).or_default().insert(edge), "{stem}: an arc drawn twice");
        }
        pages += 1;
    }
    assert_eq!(pages, 3);
    for id in &window_ids {
        assert_eq!(
            drawn.get(id).cloned().unwrap_or_default(),
            expected.get(id).cloned().unwrap_or_default(),
            "window {id}: arcs differ from the edges table"
        );
    }
    let index = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        index.contains("Most frequent misses") && index.contains("By length in words"),
        "index without the error analysis"
    );

    // A real browser parses the page into the DOM we expect.
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()));
    let Some(chromium) = chromium else {
        assert!(!required(), "need chromium (apt-get install chromium) for the browser check");
        eprintln!("skipping the browser check: no chromium");
        return;
    };
    let page = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.file_name().unwrap() != "index.html")
        .unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let dom = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(dom.status.success(), "{}", String::from_utf8_lossy(&dom.stderr));
    let dom = String::from_utf8_lossy(&dom.stdout);
    let count = |doc: &str, tag: &str, key: &str| {
        elements(doc, tag).into_iter().filter(|(a, _)| attr(a, key).is_some()).count()
    };
    assert_eq!(
        count(&dom, "mark", "data-s"),
        count(&html, "mark", "data-s"),
        "highlights in the DOM"
    );
    assert_eq!(count(&dom, "path", "data-d"), count(&html, "path", "data-d"), "arcs in the DOM");
    assert_eq!(
        count(&dom, "path", "data-o"),
        count(&html, "path", "data-o"),
        "document-edge ticks in the DOM"
    );
    assert!(count(&dom, "path", "data-d") > 0 && dom.contains("id=\"pred\""));
    std::fs::remove_dir_all(tmp).unwrap();
}
