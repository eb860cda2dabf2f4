//! End-to-end tests of `enrelg data` on the real Mars corpus with the real
//! all-MiniLM-L6-v2 tokenizer: window invariants, the independent Python
//! recomputation of every graph edge, determinism and crash safety.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{data_dir, have, model_dir, python, small_corpus, workspace};
use enrelg_schemas::tables::{self, windows};

use enrelg_pipeline::shard::{read_table, ShardManifest};

/// (data dir, model dir), or None when absent and not required.
fn inputs() -> Option<(PathBuf, PathBuf)> {
    let (data, model) = (data_dir(), model_dir());
    if have(&[&data.join("mars"), &model.join("tokenizer.json")], "make model") {
        return Some((data, model));
    }
    None
}

fn build(data: &Path, model: &Path, out: &Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(["data", "--corpus"])
        .arg(data.join("mars"))
        .args(["--manifest", "datasets/mars/manifest.json", "--model"])
        .arg(model)
        .arg("--out")
        .arg(out)
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("run enrelg data")
}

fn files_of(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for split in ["", "train", "dev", "test"] {
        let d = dir.join(split);
        let mut names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.path().is_file())
            .map(|e| e.path())
            .collect();
        names.sort();
        for p in names {
            out.push((
                p.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
    out
}

#[test]
fn mars_shards_are_valid_deterministic_and_agree_with_the_independent_check() {
    let Some((data, model)) = inputs() else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-data-{}", std::process::id()));
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    assert!(build(&data, &model, &a).wait().unwrap().success());
    assert!(build(&data, &model, &b).wait().unwrap().success());
    assert_eq!(files_of(&a), files_of(&b), "two runs must give identical bytes");

    let manifest = ShardManifest::read(&a).unwrap();
    assert_eq!(manifest.splits, ["train", "dev", "test"]);
    // The statistics CI guards: windows, subtokens, edges per kind, acronyms, losses.
    let expected: serde_json::Value = serde_json::from_slice(
        &std::fs::read(workspace().join("datasets/mars/expected-shards.json")).unwrap(),
    )
    .unwrap();
    let drift = enrelg_pipeline::report::stats::drift(
        &expected,
        &serde_json::to_value(&manifest.statistics).unwrap(),
    );
    assert!(drift.is_empty(), "shard statistics drifted: {drift:#?}");
    for split in &manifest.splits {
        let windows = read_table(&a, split, tables::WINDOWS).unwrap();
        let tokens = read_table(&a, split, tables::TOKENS).unwrap();
        let starts: Vec<u32> = windows
            .column(windows::WORD_START)
            .unwrap()
            .u32()
            .unwrap()
            .into_no_null_iter()
            .collect();
        let ends: Vec<u32> =
            windows.column(windows::WORD_END).unwrap().u32().unwrap().into_no_null_iter().collect();
        let ids = windows.column(windows::INPUT_IDS).unwrap().list().unwrap().clone();
        let firsts = windows.column(windows::WORD_FIRST_SUBTOKEN).unwrap().list().unwrap().clone();
        let mut words = 0usize;
        for i in 0..windows.height() {
            let ids: Vec<u32> =
                ids.get_as_series(i).unwrap().u32().unwrap().into_no_null_iter().collect();
            let firsts: Vec<u32> =
                firsts.get_as_series(i).unwrap().u32().unwrap().into_no_null_iter().collect();
            assert!(ids.len() <= 128, "{split} window {i}: {} subtokens", ids.len());
            assert_eq!((ids[0], *ids.last().unwrap()), (101, 102), "[CLS] ... [SEP]");
            assert_eq!(firsts.len() as u32, ends[i] - starts[i]);
            assert!(
                firsts.windows(2).all(|w| w[0] < w[1])
                    && firsts.iter().all(|&f| f >= 1 && (f as usize) < ids.len() - 1)
            );
            words += firsts.len();
        }
        // Windows cover every word exactly once.
        assert_eq!(words, tokens.height(), "{split}");
        assert_eq!(manifest.statistics[split].tokens, tokens.height());
    }

    let python = python();
    // The independent graph check needs the tools' Python with polars.
    if have(&[&python], "make venv: the Python with polars for the independent graph check") {
        for split in ["dev", "test"] {
            let out = Command::new(&python)
                .arg(workspace().join("scripts/check_graphs.py"))
                .arg(&a)
                .arg(split)
                .output()
                .unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
            assert!(stdout.contains(" 0 windows differ"), "{stdout}");
            // The document-level coreference edges too, and there are such edges to check.
            assert!(
                stdout.contains(" 0 documents differ")
                    && !stdout.contains(" 0 document edges recomputed"),
                "{stdout}"
            );
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_killed_build_leaves_no_shards_a_reader_accepts() {
    let Some((data, model)) = inputs() else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-kill-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let out = tmp.join("mars");
    for delay_ms in [50u64, 300, 1000] {
        let mut child = build(&data, &model, &out);
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        child.kill().ok();
        // A build that completed before the kill exits with success; its folder
        // must not be taken for the next, killed build's output, so every
        // attempt starts without one.
        if child.wait().unwrap().success() {
            std::fs::remove_dir_all(&out).unwrap();
            continue;
        }
        // Either no folder under the final name, or a complete one: the kill can land after the
        // folder was renamed into place, while the build still prints its statistics.
        match ShardManifest::read(&out) {
            Err(_) => assert!(!out.exists(), "a partial folder sits under the final name"),
            Ok(manifest) => {
                for (rel, sha) in &manifest.files {
                    let found = enrelg_pipeline::fs::sha256_file(&out.join(rel)).unwrap();
                    assert_eq!(&found, sha, "{rel} of an accepted folder is not the one written");
                }
                std::fs::remove_dir_all(&out).unwrap();
            }
        }
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}

fn data_cmd(corpus: &Path, model: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(["data", "--corpus"])
        .arg(corpus)
        .args(["--manifest", "datasets/mars/manifest.json", "--model"])
        .arg(model)
        .arg("--out")
        .arg(out)
        .args(extra)
        .current_dir(workspace())
        .output()
        .expect("run enrelg data")
}

/// Real Mars documents plus broken ones: `enrelg data` skips and counts each
/// broken document by reason (in its summary and the shard manifest), keeps
/// every good one, and with `--strict` stops at the first with its file and line.
/// A sentence that is one word longer than a window is cut to fit and counted.
#[test]
fn bad_input_is_skipped_counted_and_strict_stops_at_it() {
    let Some((data, model)) = inputs() else {
        return;
    };
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let corpus = tmp.join("corpus");
    small_corpus(&data.join("mars"), &corpus, 2);
    let train = corpus.join("standoff/train");
    let parses = corpus.join("conllu/train");
    let good = data_cmd(&corpus, &model, &tmp.join("clean"), &[]);
    assert!(good.status.success(), "{}", String::from_utf8_lossy(&good.stderr));
    let clean = ShardManifest::read(&tmp.join("clean")).unwrap();

    // One word of 399 subtokens ("fe - mg - ..."): longer than a 128-subtoken window.
    let long = ["Fe", "Mg"].repeat(100).join("-");
    std::fs::write(train.join("zz_long.txt"), &long).unwrap();
    std::fs::write(train.join("zz_long.ann"), "T1\tElement 0 2\tFe\n").unwrap();
    std::fs::write(
        parses.join("zz_long.conllu"),
        format!("1\t{long}\t_\tX\t_\t_\t0\troot\t_\tTokenRange=0:{}\n\n", long.len()),
    )
    .unwrap();
    std::fs::write(train.join("zz_latin1.txt"), b"Schr\xf6der saw Fe").unwrap();
    std::fs::write(train.join("zz_latin1.ann"), b"").unwrap();
    std::fs::write(parses.join("zz_latin1.conllu"), b"").unwrap();
    std::fs::write(train.join("zz_noparse.txt"), "Fe").unwrap();
    std::fs::write(train.join("zz_noparse.ann"), "").unwrap();
    std::fs::write(train.join("zz_roots.txt"), "Fe Mg").unwrap();
    std::fs::write(train.join("zz_roots.ann"), "").unwrap();
    std::fs::write(
        parses.join("zz_roots.conllu"),
        "1\tFe\t_\tX\t_\t_\t0\troot\t_\t_\n2\tMg\t_\tX\t_\t_\t0\troot\t_\t_\n\n",
    )
    .unwrap();
    let first_good = std::fs::read_dir(&train)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ann"))
        .min()
        .unwrap();
    let mut ann = std::fs::read_to_string(&first_good).unwrap();
    ann += "Q1\tan unknown annotation kind\n";
    std::fs::write(&first_good, ann).unwrap();

    let out = data_cmd(&corpus, &model, &tmp.join("shards"), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("skipped: 3 document(s), 1 line(s)"), "{stderr}");
    for reason in [
        "invalid UTF-8: 1",
        "missing .conllu: 1",
        "CoNLL-U sentence not a tree: 1",
        "unknown .ann line kind: 1",
    ] {
        assert!(stderr.contains(reason), "{reason} missing from:\n{stderr}");
    }
    assert!(
        stderr.contains("zz_latin1.txt:1:5") && stderr.contains("zz_roots.conllu:1"),
        "{stderr}"
    );
    let manifest = ShardManifest::read(&tmp.join("shards")).unwrap();
    let train_stats = &manifest.statistics["train"];
    assert_eq!(train_stats.skipped.documents, 3);
    assert_eq!(train_stats.skipped.lines, 1);
    // Every good document is there, plus the long one.
    assert_eq!(train_stats.documents, clean.statistics["train"].documents + 1);
    assert_eq!(train_stats.windowing.words_truncated, 1);
    let windows = read_table(&tmp.join("shards"), "train", tables::WINDOWS).unwrap();
    let docs: Vec<String> = windows
        .column(windows::DOC_ID)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.unwrap().to_string())
        .collect();
    let ids = windows.column(windows::INPUT_IDS).unwrap().list().unwrap().clone();
    let row = docs.iter().position(|d| d == "zz_long").expect("the long document has a window");
    assert_eq!(ids.get_as_series(row).unwrap().len(), 128);

    let strict = data_cmd(&corpus, &model, &tmp.join("strict"), &["--strict"]);
    let err = String::from_utf8_lossy(&strict.stderr);
    assert!(!strict.status.success());
    assert!(
        err.contains(&format!("{}:", first_good.display()))
            && err.contains("unknown annotation id \"Q1\""),
        "{err}"
    );
    assert!(!tmp.join("strict").exists(), "a failed build leaves no shards");
    std::fs::remove_dir_all(&tmp).unwrap();
}
