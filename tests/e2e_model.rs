//! End-to-end tests of the model commands on a small real corpus: three
//! Mars documents per split, the real MiniLM checkpoint.
//!
//! `enrelg data` -> `enrelg bench-model` (forward + backward of the CD model)
//! -> `enrelg train` (frozen encoder, 2 epochs) -> `enrelg eval`, then the
//! scorer parity check against seqeval on the predictions and the fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

fn inputs() -> Option<(PathBuf, PathBuf)> {
    let data = std::env::var_os("ENRELG_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared/data"));
    let model = std::env::var_os("ENRELG_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("models/minilm"));
    if data.join("mars").exists() && model.join("model.safetensors").exists() {
        return Some((data, model));
    }
    assert!(!std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1"), "need the corpora and the model (make model)");
    eprintln!("skipping: corpora or model missing");
    None
}

fn enrelg(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg")).args(args).current_dir(workspace()).output().expect("run enrelg");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "enrelg {args:?} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Copy the first `n` documents of each Mars split into `dst`.
fn small_corpus(src: &Path, dst: &Path, n: usize) {
    for split in ["train", "dev", "test"] {
        let (s, c) = (dst.join("standoff").join(split), dst.join("conllu").join(split));
        std::fs::create_dir_all(&s).unwrap();
        std::fs::create_dir_all(&c).unwrap();
        let mut stems: Vec<String> = std::fs::read_dir(src.join("standoff").join(split))
            .unwrap()
            .filter_map(|e| e.ok()?.path().file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        stems.sort();
        stems.dedup();
        for stem in stems.into_iter().take(n) {
            for ext in ["txt", "ann"] {
                std::fs::copy(src.join("standoff").join(split).join(format!("{stem}.{ext}")), s.join(format!("{stem}.{ext}"))).unwrap();
            }
            std::fs::copy(src.join("conllu").join(split).join(format!("{stem}.conllu")), c.join(format!("{stem}.conllu"))).unwrap();
        }
    }
}

#[test]
fn model_trains_evaluates_and_scores_like_seqeval() {
    let Some((data, model)) = inputs() else { return };
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-model-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    small_corpus(&data.join("mars"), &tmp.join("corpus"), 3);
    let (corpus, shards, run, cache) = (tmp.join("corpus"), tmp.join("shards"), tmp.join("run"), tmp.join("cache"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = s(&model);
    enrelg(&["data", "--corpus", &s(&corpus), "--manifest", "datasets/mars/manifest.json", "--model", &model, "--out", &s(&shards)]);

    // Forward + backward of the full CD model, encoder included, on real windows.
    let bench = enrelg(&["bench-model", "--shards", &s(&shards), "--model", &model, "--batch", "2", "--steps", "1"]);
    assert!(bench.contains("s per batch"), "{bench}");

    enrelg(&[
        "train", "--data", &s(&shards), "--model", &model, "--variant", "cd", "--epochs", "2", "--freeze-encoder", "--out", &s(&run), "--cache-dir", &s(&cache),
    ]);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 2, "{metrics}");
    for line in metrics.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["loss"].as_f64().unwrap().is_finite());
        assert!((0.0..=100.0).contains(&v["dev_f1"].as_f64().unwrap()));
    }
    assert!(run.join("head.bpk").exists() && run.join("run.json").exists());
    // The cache is reused by eval; a corrupted cache is detected and rebuilt.
    let caches: Vec<PathBuf> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(caches.len() >= 2);
    let test_cache = caches.iter().find(|p| p.to_string_lossy().ends_with("-train.bin")).unwrap();
    let bytes = std::fs::read(test_cache).unwrap();
    std::fs::write(test_cache, &bytes[..bytes.len() / 2]).unwrap();
    let report = enrelg(&["eval", "--run", &s(&run), "--split", "test", "--cache-dir", &s(&cache)]);
    assert!(report.contains("processed") && report.contains("FB1"), "{report}");
    let eval: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("eval-test.json")).unwrap()).unwrap();
    assert!((0.0..=100.0).contains(&eval["micro"]["f1"].as_f64().unwrap()));
    assert!(eval["micro"]["gold"].as_u64().unwrap() > 0);

    // Resume: a run stopped after epoch 1 and resumed ends exactly where an
    // uninterrupted run with the same seed ends.
    let (full, split) = (tmp.join("run-full"), tmp.join("run-split"));
    let common = ["train", "--data", &s(&shards), "--model", &model, "--variant", "cd", "--epochs", "3", "--freeze-encoder", "--cache-dir", &s(&cache)];
    enrelg(&[&common[..], &["--out", &s(&full)]].concat());
    enrelg(&[&common[..], &["--out", &s(&split), "--stop-after-epoch", "1"]].concat());
    assert_eq!(std::fs::read_to_string(split.join("metrics.jsonl")).unwrap().lines().count(), 1);
    enrelg(&[&common[..], &["--out", &s(&split), "--resume"]].concat());
    let curve = |dir: &Path| -> Vec<(String, String)> {
        std::fs::read_to_string(dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["loss"].to_string(), v["dev_f1"].to_string())
            })
            .collect()
    };
    assert_eq!(curve(&full).len(), 3);
    assert_eq!(curve(&full), curve(&split), "resumed run differs from the uninterrupted one");
    // (The checkpoints' bytes differ: they carry random parameter ids; the curves carry the values.)

    // Tag the test documents from .txt + .conllu; every .ann span must slice the
    // text to its surface (the brat reader used by `score` checks it, and the
    // documents hold multi-byte characters such as "Schröder").
    let pred = tmp.join("pred");
    let out = enrelg(&[
        "predict", "--run", &s(&run), "--input", &s(&corpus.join("standoff/test")), "--parses", &s(&corpus.join("conllu/test")), "--out", &s(&pred),
    ]);
    assert!(out.contains("words/s"), "{out}");
    let anns = std::fs::read_dir(&pred).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "ann")).count();
    assert_eq!(anns, 3);
    let jsonl = std::fs::read_to_string(pred.join("entities.jsonl")).unwrap();
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let txt = std::fs::read_to_string(corpus.join("standoff/test").join(format!("{}.txt", v["doc"].as_str().unwrap()))).unwrap();
        let chars: Vec<char> = txt.chars().collect();
        let (a, b) = (v["start"].as_u64().unwrap() as usize, v["end"].as_u64().unwrap() as usize);
        assert_eq!(chars[a..b].iter().collect::<String>(), v["text"].as_str().unwrap());
    }
    let score = enrelg(&["score", "--gold", &s(&corpus.join("standoff/test")), "--pred", &s(&pred), "--types", "Element,Mineral,Target", "--json"]);
    let score: serde_json::Value = serde_json::from_str(&score).unwrap();
    assert!(score["micro"]["gold"].as_u64().unwrap() > 0);

    let python = std::env::var_os("ENRELG_PYTHON").map(PathBuf::from).unwrap_or_else(|| workspace().join(".venv/bin/python"));
    if python.exists() {
        let out = Command::new(&python)
            .arg(workspace().join("tests/scorer_parity.py"))
            .arg(env!("CARGO_BIN_EXE_enrelg"))
            .arg(workspace().join("tests/fixtures/tricky_chunks.conll"))
            .arg(run.join("predictions-test.conll"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    } else {
        assert!(!std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1"), "no Python at {}", python.display());
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}
