//! End-to-end tests of the model commands on a small real corpus: three
//! Mars documents per split, the real MiniLM checkpoint.
//!
//! `enrelg data` -> `enrelg bench-model` (forward + backward of the CD model)
//! -> `enrelg train` (frozen encoder, 2 epochs) -> `enrelg eval`, then the
//! scorer parity check against seqeval on the predictions and the fixtures.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::{copy_dir, data_dir, have, model_dir, python, small_corpus, workspace};
use enrelg_schemas::tables::{self, tokens};

fn inputs() -> Option<(PathBuf, PathBuf)> {
    let (data, model) = (data_dir(), model_dir());
    have(&[&data.join("mars"), &model.join("model.safetensors")], "make model")
        .then_some((data, model))
}

fn enrelg(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run enrelg");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "enrelg {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `n` real Mars documents per split under a fresh temporary folder (`corpus/`)
/// and their shards (`shards/`); the folder and the model path as a string.
fn small_shards(name: &str, n: usize) -> Option<(PathBuf, String)> {
    let (data, model) = inputs()?;
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    small_corpus(&data.join("mars"), &tmp.join("corpus"), n);
    let model = model.to_str().unwrap().to_string();
    let (corpus, shards) = (tmp.join("corpus"), tmp.join("shards"));
    enrelg(&[
        "data",
        "--corpus",
        corpus.to_str().unwrap(),
        "--manifest",
        "datasets/mars/manifest.json",
        "--model",
        &model,
        "--out",
        shards.to_str().unwrap(),
    ]);
    Some((tmp, model))
}

#[test]
fn model_trains_evaluates_and_scores_like_seqeval() {
    let Some((tmp, model)) = small_shards("model", 3) else {
        return;
    };
    let (corpus, shards, run, cache) =
        (tmp.join("corpus"), tmp.join("shards"), tmp.join("run"), tmp.join("cache"));
    let s = |p: &Path| p.to_str().unwrap().to_string();

    // Forward + backward of the full CD model, encoder included, on real windows.
    let bench = enrelg(&[
        "bench-model",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--batch",
        "2",
        "--steps",
        "1",
    ]);
    assert!(bench.contains("s per batch"), "{bench}");

    enrelg(&[
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--variant",
        "cd",
        "--epochs",
        "2",
        "--freeze-encoder",
        "--out",
        &s(&run),
        "--cache-dir",
        &s(&cache),
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
    let caches: Vec<PathBuf> =
        std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().path()).collect();
    assert!(caches.len() >= 2);
    let test_cache = caches.iter().find(|p| p.to_string_lossy().ends_with("-train.bin")).unwrap();
    let bytes = std::fs::read(test_cache).unwrap();
    std::fs::write(test_cache, &bytes[..bytes.len() / 2]).unwrap();
    let report = enrelg(&["eval", "--run", &s(&run), "--split", "test", "--cache-dir", &s(&cache)]);
    assert!(report.contains("processed") && report.contains("FB1"), "{report}");
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-test.json")).unwrap()).unwrap();
    assert!((0.0..=100.0).contains(&eval["micro"]["f1"].as_f64().unwrap()));
    assert!(eval["micro"]["gold"].as_u64().unwrap() > 0);
    // Consistency decoding: the threshold is chosen on dev, the plain F1 it
    // reports is eval's, and the consistent decoding is scored on its own.
    let report = enrelg(&[
        "eval",
        "--run",
        &s(&run),
        "--split",
        "test",
        "--cache-dir",
        &s(&cache),
        "--consistency",
    ]);
    assert!(report.contains("consistency decoding (threshold"), "{report}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("consistency-test.json")).unwrap()).unwrap();
    assert_eq!(record["dev_split"], "dev");
    assert!(
        enrelg::decode::consistency::THRESHOLDS
            .contains(&record["choice"]["threshold"].as_f64().unwrap()),
        "{record}"
    );
    assert_eq!(record["f1_plain"].as_f64().unwrap(), eval["micro"]["f1"].as_f64().unwrap());
    let consistent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-test-consistency.json")).unwrap())
            .unwrap();
    assert_eq!(consistent["micro"]["f1"], record["f1_consistent"]);
    assert_eq!(consistent["micro"]["gold"], eval["micro"]["gold"]);

    // Relations on top of the run: the record holds each seed's scores, the gold relations
    // written carry their documents' text, and a rerun with the same seed gives the same scores.
    let relations = |out: &Path, seeds: &str| {
        enrelg(&[
            "relations",
            "--run",
            &s(&run),
            "--seeds",
            seeds,
            "--epochs",
            "2",
            "--out",
            &s(out),
            "--gold",
            &s(&tmp.join("gold.jsonl")),
            "--predictions",
            &s(&tmp.join("pred.jsonl")),
            "--cache-dir",
            &s(&cache),
        ])
    };
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    relations(&tmp.join("rel.json"), "1,2");
    let rel = read(&tmp.join("rel.json"));
    assert_eq!(rel["seeds"].as_array().unwrap().len(), 2);
    for seed in rel["seeds"].as_array().unwrap() {
        for kind in ["gold_entities", "end_to_end"] {
            let f1 = seed[kind]["all"]["f1"].as_f64().unwrap();
            assert!((0.0..=100.0).contains(&f1), "{seed}");
        }
    }
    let gold = std::fs::read_to_string(tmp.join("gold.jsonl")).unwrap();
    let pairs: u64 =
        rel["gold_pairs"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert!(pairs > 0 && gold.lines().count() as u64 == pairs, "{pairs} pairs, gold:\n{gold}");
    for line in gold.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let (head, sentence) =
            (v["head"]["text"].as_str().unwrap(), v["sentence"].as_str().unwrap());
        assert!(!head.is_empty() && sentence.contains(head), "{line}");
    }
    // Asserting every candidate finds at least what the nearest head finds.
    let base = &rel["baselines"];
    assert!(
        base["every_candidate"]["all"]["tp"].as_u64() >= base["nearest_head"]["all"]["tp"].as_u64()
    );
    relations(&tmp.join("rel-again.json"), "1");
    assert_eq!(read(&tmp.join("rel-again.json"))["seeds"][0], rel["seeds"][0]);

    // Resume: a run stopped after epoch 1 and resumed ends exactly where an
    // uninterrupted run with the same seed ends.
    let (full, split) = (tmp.join("run-full"), tmp.join("run-split"));
    let common = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--variant",
        "cd",
        "--epochs",
        "3",
        "--freeze-encoder",
        "--cache-dir",
        &s(&cache),
    ];
    enrelg(&[&common[..], &["--out", &s(&full)]].concat());
    enrelg(&[&common[..], &["--out", &s(&split), "--stop-after-epoch", "1"]].concat());
    assert_eq!(std::fs::read_to_string(split.join("metrics.jsonl")).unwrap().lines().count(), 1);
    enrelg(&[&common[..], &["--out", &s(&split), "--resume"]].concat());
    assert_eq!(curve(&full).len(), 3);
    assert_eq!(curve(&full), curve(&split), "resumed run differs from the uninterrupted one");
    // (The checkpoints' bytes differ: they carry random parameter ids; the curves carry the values.)

    // Ensembles: one member decodes exactly as `eval` does; two members keep
    // their own scores in the record and decode with their mean scores.
    let ens = tmp.join("ensemble");
    enrelg(&[
        "ensemble",
        "--run",
        &s(&run),
        "--split",
        "test",
        "--out",
        &s(&ens),
        "--cache-dir",
        &s(&cache),
    ]);
    assert_eq!(
        std::fs::read_to_string(ens.join("predictions-test.conll")).unwrap(),
        std::fs::read_to_string(run.join("predictions-test.conll")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(ens.join("eval-test.json")).unwrap(),
        std::fs::read_to_string(run.join("eval-test.json")).unwrap()
    );
    enrelg(&["eval", "--run", &s(&full), "--split", "test", "--cache-dir", &s(&cache)]);
    let out = enrelg(&[
        "ensemble",
        "--run",
        &s(&run),
        "--run",
        &s(&full),
        "--split",
        "test",
        "--out",
        &s(&ens),
        "--cache-dir",
        &s(&cache),
    ]);
    assert!(out.contains("processed") && out.contains("ensemble of 2: test F1"), "{out}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ens.join("ensemble-test.json")).unwrap()).unwrap();
    let f1 = |path: PathBuf| -> f64 {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        v["micro"]["f1"].as_f64().unwrap()
    };
    assert_eq!(record["members"].as_array().unwrap().len(), 2);
    assert_eq!(record["members"][0]["f1"].as_f64().unwrap(), f1(run.join("eval-test.json")));
    assert_eq!(record["members"][1]["f1"].as_f64().unwrap(), f1(full.join("eval-test.json")));
    assert_eq!(record["f1"].as_f64().unwrap(), f1(ens.join("eval-test.json")));
    assert_eq!(record["members"][1]["checkpoint_sha256"].as_str().unwrap().len(), 64);

    // Tag the test documents from .txt + .conllu; every .ann span must slice the
    // text to its surface (the brat reader used by `score` checks it, and the
    // documents hold multi-byte characters such as "Schröder").
    let pred = tmp.join("pred");
    let out = enrelg(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&corpus.join("standoff/test")),
        "--parses",
        &s(&corpus.join("conllu/test")),
        "--out",
        &s(&pred),
    ]);
    assert!(out.contains("words/s"), "{out}");
    let anns = std::fs::read_dir(&pred)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "ann"))
        .count();
    assert_eq!(anns, 3);
    let jsonl = std::fs::read_to_string(pred.join("entities.jsonl")).unwrap();
    for line in jsonl.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let txt = std::fs::read_to_string(
            corpus.join("standoff/test").join(format!("{}.txt", v["doc"].as_str().unwrap())),
        )
        .unwrap();
        let chars: Vec<char> = txt.chars().collect();
        let (a, b) = (v["start"].as_u64().unwrap() as usize, v["end"].as_u64().unwrap() as usize);
        assert_eq!(chars[a..b].iter().collect::<String>(), v["text"].as_str().unwrap());
    }
    let score = enrelg(&[
        "score",
        "--gold",
        &s(&corpus.join("standoff/test")),
        "--pred",
        &s(&pred),
        "--types",
        "Element,Mineral,Target",
        "--json",
    ]);
    let score: serde_json::Value = serde_json::from_str(&score).unwrap();
    assert!(score["micro"]["gold"].as_u64().unwrap() > 0);
    // A type the run does not know is named, not silently scored as zero.
    let err = enrelg_fails(&[
        "score",
        "--gold",
        &s(&corpus.join("standoff/test")),
        "--pred",
        &s(&pred),
        "--types",
        "Element,Rover",
    ]);
    assert!(err.contains("[\"Rover\"] occur in neither"), "{err}");

    // Broken input documents are skipped, counted and named; the others are tagged.
    let inputs = tmp.join("inputs");
    copy_dir(&corpus.join("standoff/test"), &inputs);
    copy_dir(&corpus.join("conllu/test"), &inputs);
    std::fs::write(inputs.join("latin1.txt"), b"Schr\xf6der saw Fe").unwrap();
    std::fs::write(inputs.join("latin1.conllu"), b"").unwrap();
    std::fs::write(inputs.join("noparse.txt"), "Fe").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args([
            "predict",
            "--run",
            &s(&run),
            "--input",
            &s(&inputs),
            "--out",
            &s(&tmp.join("pred2")),
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped: 2 document(s)")
            && stderr.contains("latin1.txt:1:5")
            && stderr.contains("missing .conllu: 1"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("3 documents"));
    assert!(!tmp.join("pred2/latin1.ann").exists());
    // Every skipped document is listed in OUT/skipped.tsv with its reason and location.
    let table = std::fs::read_to_string(tmp.join("pred2/skipped.tsv")).unwrap();
    let rows: Vec<Vec<&str>> = table.lines().skip(1).map(|l| l.split('\t').collect()).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows.iter()
            .any(|r| r[0].ends_with("latin1.txt") && r[1] == "1:5" && r[2].contains("UTF-8")),
        "{table}"
    );
    assert!(
        rows.iter().any(|r| r[0].ends_with("noparse.conllu")
            && r[1].is_empty()
            && r[2] == "missing .conllu"),
        "{table}"
    );

    // A run whose model folder was recorded relative to the folder it was trained in works
    // from any working directory, and after the project (run and model) moves.
    let project = tmp.join("moved-project");
    copy_dir(&run, &project.join("runs/r"));
    std::fs::create_dir_all(project.join("models")).unwrap();
    std::os::unix::fs::symlink(&model, project.join("models/minilm")).unwrap();
    let info_path = project.join("runs/r/run.json");
    let mut info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();
    info["model"] = "models/minilm".into();
    std::fs::write(&info_path, info.to_string()).unwrap();
    let elsewhere = tmp.join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let predict_from = |run_dir: &Path, out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_enrelg"))
            .args([
                "predict",
                "--run",
                &s(run_dir),
                "--input",
                &s(&corpus.join("standoff/test")),
                "--parses",
                &s(&corpus.join("conllu/test")),
                "--out",
                &s(out),
            ])
            .current_dir(&elsewhere)
            .output()
            .unwrap()
    };
    let moved = predict_from(&project.join("runs/r"), &tmp.join("pred-moved"));
    assert!(moved.status.success(), "{}", String::from_utf8_lossy(&moved.stderr));
    assert_eq!(
        std::fs::read_to_string(tmp.join("pred-moved/entities.jsonl")).unwrap(),
        jsonl,
        "the moved run tags as the original"
    );
    std::fs::remove_file(project.join("models/minilm")).unwrap();
    let lost = predict_from(&project.join("runs/r"), &tmp.join("pred-lost"));
    let err = String::from_utf8_lossy(&lost.stderr);
    assert!(!lost.status.success() && err.contains("run.json: the encoder it was trained with (models/minilm) is not where run.json says"), "{err}");
    let err = enrelg_fails(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&inputs),
        "--out",
        &s(&tmp.join("pred3")),
        "--strict",
    ]);
    assert!(err.contains("latin1.txt:1:5: invalid UTF-8"), "{err}");

    let python = python();
    if have(&[&python], "make venv") {
        let out = Command::new(&python)
            .arg(workspace().join("tests/scorer_parity.py"))
            .arg(env!("CARGO_BIN_EXE_enrelg"))
            .arg(workspace().join("tests/fixtures/tricky_chunks.conll"))
            .arg(run.join("predictions-test.conll"))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    }

    // Tampered inputs are clear errors naming the file, never panics.
    let eval_err = |run: &Path| {
        enrelg_fails(&["eval", "--run", &s(run), "--split", "test", "--cache-dir", &s(&cache)])
    };
    let copy = tmp.join("run-copy");
    copy_dir(&run, &copy);
    let ckpt = copy.join("head.bpk");
    let mut bytes = std::fs::read(&ckpt).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&ckpt, &bytes).unwrap();
    let err = eval_err(&copy);
    assert!(err.contains("head.bpk: SHA-256") && err.contains("differs"), "{err}");
    std::fs::remove_file(&ckpt).unwrap();
    assert!(eval_err(&copy).contains("no checkpoint"));
    let info = std::fs::read_to_string(run.join("run.json")).unwrap();
    let current = format!("\"format_version\": {}", enrelg::run::RUN_FORMAT_VERSION);
    assert!(info.contains(&current), "{info}");
    std::fs::write(copy.join("run.json"), info.replace(&current, "\"format_version\": 7")).unwrap();
    let err = eval_err(&copy);
    assert!(err.contains("run format version 7"), "{err}");
    // Shards: an edited Arrow file fails its checksum; another format version is refused.
    let arrow = shards.join("test/windows.arrow");
    let original = std::fs::read(&arrow).unwrap();
    let mut edited = original.clone();
    let at = edited.len() - 100;
    edited[at] ^= 0x01;
    std::fs::write(&arrow, &edited).unwrap();
    let err = eval_err(&run);
    assert!(err.contains("test/windows.arrow: SHA-256") && err.contains("make data"), "{err}");
    std::fs::write(&arrow, &original).unwrap();
    let inspect_err = enrelg_fails(&["inspect", &s(&tmp.join("shards-v1"))]);
    assert!(inspect_err.contains("manifest.json"), "{inspect_err}");
    copy_dir(&shards, &tmp.join("shards-v1"));
    let manifest = std::fs::read_to_string(shards.join("manifest.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let version = v["format_version"].as_u64().unwrap();
    std::fs::write(
        tmp.join("shards-v1/manifest.json"),
        manifest.replacen(&format!("\"format_version\": {version}"), "\"format_version\": 1", 1),
    )
    .unwrap();
    let err = enrelg_fails(&["inspect", &s(&tmp.join("shards-v1"))]);
    assert!(err.contains("shard format version 1") && err.contains("make data"), "{err}");
    // Shards of an older version may lack fields of this one: the version is still what the error names.
    let mut older: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    older["format_version"] = 2.into();
    older["statistics"]["dev"].as_object_mut().unwrap().remove("doc_edges");
    std::fs::write(tmp.join("shards-v1/manifest.json"), older.to_string()).unwrap();
    let err = enrelg_fails(&["inspect", &s(&tmp.join("shards-v1"))]);
    assert!(
        err.contains(&format!(
            "shard format version 2 but this build reads version {}",
            enrelg_schemas::FORMAT_VERSION
        )) && err.contains("make data"),
        "{err}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

#[test]
fn a_run_with_every_addition_caches_every_layer_and_predict_agrees_with_eval() {
    let Some((tmp, model)) = small_shards("mix", 2) else {
        return;
    };
    let (corpus, shards, run, cache) =
        (tmp.join("corpus"), tmp.join("shards"), tmp.join("run"), tmp.join("cache"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let train = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--epochs",
        "20",
        "--freeze-encoder",
        "--shape-dim",
        "8",
        "--layer-mix",
        "--char-dim",
        "8",
        "--word-dim",
        "8",
        "--word-pool",
        "mean",
        "--pos-dim",
        "4",
        "--coref-scope",
        "document",
        "--context",
        "16",
    ];
    enrelg(&[&train[..], &["--out", &s(&run), "--cache-dir", &s(&cache)]].concat());
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["config"]["layer_mix"], true);
    assert_eq!(
        (&info["config"]["pos_dim"], &info["config"]["coref_scope"]),
        (&serde_json::json!(4), &serde_json::json!("document"))
    );
    assert_eq!(
        (&info["config"]["word_pool"], &info["config"]["context"]),
        (&"mean".into(), &16.into())
    );
    let vocab = info["word_vocab"].as_array().unwrap();
    assert!(
        vocab.len() > 10
            && vocab.iter().all(|w| w.as_str().unwrap() == w.as_str().unwrap().to_lowercase()),
        "{vocab:?}"
    );
    // The cache holds the embedding output and the six layers of MiniLM side
    // by side, mean-pooled: a file of its own.
    let train_cache = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-all-layers-mean-train.bin"))
        .unwrap();
    let bytes = std::fs::read(&train_cache).unwrap();
    assert_eq!(u64::from_le_bytes(bytes[8..16].try_into().unwrap()), 7 * 384);

    // Eval decodes from the cache and the shards; predict runs the encoder
    // live, pools, looks words up and builds the document edges and syntax
    // ids on its own: the same entities.
    enrelg(&["eval", "--run", &s(&run), "--split", "test", "--cache-dir", &s(&cache)]);
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-test.json")).unwrap()).unwrap();
    let pred = tmp.join("pred");
    enrelg(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&corpus.join("standoff/test")),
        "--parses",
        &s(&corpus.join("conllu/test")),
        "--out",
        &s(&pred),
    ]);
    let tagged =
        std::fs::read_to_string(pred.join("entities.jsonl")).unwrap().lines().count() as u64;
    assert!(tagged > 0, "nothing tagged: the check below would be empty");
    assert_eq!(tagged, eval["micro"]["predicted"].as_u64().unwrap());
    // With consistency decoding at the threshold eval chose on dev, predict
    // tags what eval counts too.
    enrelg(&[
        "eval",
        "--run",
        &s(&run),
        "--split",
        "test",
        "--cache-dir",
        &s(&cache),
        "--consistency",
    ]);
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("consistency-test.json")).unwrap()).unwrap();
    let threshold = record["choice"]["threshold"].as_f64().unwrap().to_string();
    let consistent: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-test-consistency.json")).unwrap())
            .unwrap();
    let pred_c = tmp.join("pred-consistency");
    enrelg(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&corpus.join("standoff/test")),
        "--parses",
        &s(&corpus.join("conllu/test")),
        "--out",
        &s(&pred_c),
        "--consistency",
        &threshold,
    ]);
    let tagged_c =
        std::fs::read_to_string(pred_c.join("entities.jsonl")).unwrap().lines().count() as u64;
    assert_eq!(
        tagged_c,
        consistent["micro"]["predicted"].as_u64().unwrap(),
        "threshold {threshold}"
    );

    // A second stage fine-tunes from the frozen run's head. With both rates
    // at 0 nothing moves, so its first epoch scores dev exactly as the frozen
    // run's best checkpoint did: the head was loaded, the encoder is the pretrained one.
    let lr0 = tmp.join("lr0.toml");
    std::fs::write(&lr0, "lr_encoder = 0.0\nlr_head = 0.0\n").unwrap();
    let shape = [
        "--shape-dim",
        "8",
        "--layer-mix",
        "--char-dim",
        "8",
        "--word-dim",
        "8",
        "--word-pool",
        "mean",
        "--pos-dim",
        "4",
    ];
    let stage2 = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--epochs",
        "1",
        "--fine-tune",
        "--config",
        &s(&lr0),
        "--init-from",
        &s(&run),
        "--coref-scope",
        "document",
        "--context",
        "16",
    ];
    let warm = tmp.join("warm");
    enrelg(&[&stage2[..], &shape[..], &["--out", &s(&warm)]].concat());
    let warm_info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(warm.join("run.json")).unwrap()).unwrap();
    assert_eq!(warm_info["warm_start"]["frozen"], true);
    assert_eq!(warm_info["warm_start"]["checkpoint_sha256"], info["checkpoint_sha256"]);
    let best = info["best_dev_f1"].as_f64().unwrap();
    assert!(best > 0.0, "the frozen run learned nothing: the comparison below would be empty");
    assert!(
        (warm_info["best_dev_f1"].as_f64().unwrap() - best).abs() < 1e-9,
        "{} vs {best}",
        warm_info["best_dev_f1"]
    );
    // Another shape, or a frozen run from a fine-tuned one, is refused.
    let err = enrelg_fails(
        &[
            &stage2[..],
            &[
                "--shape-dim",
                "16",
                "--layer-mix",
                "--char-dim",
                "8",
                "--word-dim",
                "8",
                "--word-pool",
                "mean",
                "--pos-dim",
                "4",
                "--out",
                &s(&tmp.join("wide")),
            ],
        ]
        .concat(),
    );
    assert!(err.contains("another shape") && err.contains("\"shape_dim\":16"), "{err}");
    let frozen = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--epochs",
        "1",
        "--freeze-encoder",
        "--init-from",
        &s(&warm),
        "--cache-dir",
        &s(&cache),
    ];
    let err =
        enrelg_fails(&[&frozen[..], &shape[..], &["--out", &s(&tmp.join("refrozen"))]].concat());
    assert!(err.contains("fine-tune this one too"), "{err}");
    // An ensemble of the frozen run (cached encoder outputs) and the
    // fine-tuned one (live encoder): `predict` with both runs tags the
    // entities that `ensemble` counts on the same documents.
    let ens = tmp.join("ens");
    enrelg(&[
        "ensemble",
        "--run",
        &s(&run),
        "--run",
        &s(&warm),
        "--split",
        "test",
        "--out",
        &s(&ens),
        "--cache-dir",
        &s(&cache),
    ]);
    let ens_eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ens.join("eval-test.json")).unwrap()).unwrap();
    let pred_ens = tmp.join("pred-ens");
    enrelg(&[
        "predict",
        "--run",
        &s(&run),
        "--run",
        &s(&warm),
        "--input",
        &s(&corpus.join("standoff/test")),
        "--parses",
        &s(&corpus.join("conllu/test")),
        "--out",
        &s(&pred_ens),
    ]);
    let tagged =
        std::fs::read_to_string(pred_ens.join("entities.jsonl")).unwrap().lines().count() as u64;
    assert_eq!(tagged, ens_eval["micro"]["predicted"].as_u64().unwrap());
    // Resuming the second stage after its epochs needs only its own
    // checkpoint, not the run it started from.
    std::fs::rename(&run, tmp.join("run-moved")).unwrap();
    enrelg(&["train", "--shards", &s(&shards), "--model", &model, "--out", &s(&warm), "--resume"]);
    let resumed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(warm.join("run.json")).unwrap()).unwrap();
    assert_eq!(resumed["warm_start"], warm_info["warm_start"]);
    assert_eq!(std::fs::read_to_string(warm.join("metrics.jsonl")).unwrap().lines().count(), 1);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Run enrelg expecting failure; returns stderr.
fn enrelg_fails(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run enrelg");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "enrelg {args:?} should fail");
    assert!(!stderr.contains("panicked"), "enrelg {args:?} panicked:\n{stderr}");
    stderr
}

/// The metrics curve of a run: (loss, dev F1) per epoch, as written.
fn curve(dir: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(dir.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["loss"].to_string(), v["dev_f1"].to_string())
        })
        .collect()
}

/// A real training process is killed with SIGKILL again and again, at
/// moments spread over start-up, epochs and checkpoint writes, and restarted
/// with `--resume` once it has a run.json (a resume before the first complete
/// epoch checkpoint starts again from epoch 1). It must end with
/// exactly the curve of an uninterrupted run and a best checkpoint that loads.
#[test]
fn a_training_killed_at_any_moment_resumes_to_the_uninterrupted_result() {
    let Some((tmp, model)) = small_shards("kill", 3) else {
        return;
    };
    let (shards, cache) = (tmp.join("shards"), tmp.join("cache"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let common = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--variant",
        "cd",
        "--epochs",
        "4",
        "--freeze-encoder",
        "--seed",
        "3",
        "--cache-dir",
        &s(&cache),
    ];
    // One epoch first fills the encoder cache, so the timed run below is what a restart costs.
    enrelg(
        &[&common[..], &["--out", &s(&tmp.join("warm-up")), "--stop-after-epoch", "1"]].concat(),
    );
    let reference = tmp.join("reference");
    let t0 = std::time::Instant::now();
    enrelg(&[&common[..], &["--out", &s(&reference)]].concat());
    let uninterrupted = t0.elapsed();

    let killed = tmp.join("killed");
    let (mut kills, mut attempt) = (0, 0);
    loop {
        attempt += 1;
        assert!(attempt < 60, "the killed run never finished");
        // As a user would: resume whenever the run folder has a run.json.
        let resume = killed.join("run.json").exists();
        let mut args: Vec<String> = common.iter().map(|a| a.to_string()).collect();
        args.extend(["--out".into(), s(&killed)]);
        if resume {
            args.push("--resume".into());
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_enrelg"))
            .args(&args)
            .current_dir(workspace())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Kill moments sweep the run: a growing fraction of an uninterrupted
        // run's time, so later attempts get past the epochs already saved.
        let delay = uninterrupted.mul_f64(0.1 + 0.05 * attempt as f64);
        let deadline = std::time::Instant::now() + delay;
        let finished = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if std::time::Instant::now() >= deadline {
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        };
        match finished {
            Some(status) => {
                let mut err = String::new();
                std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
                assert!(status.success(), "attempt {attempt} failed:\n{err}");
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    assert!(kills >= 3, "only {kills} kills: the sweep did not interrupt the run");
    assert_eq!(curve(&reference).len(), 4);
    assert_eq!(
        curve(&killed),
        curve(&reference),
        "run killed {kills} times differs from the uninterrupted one"
    );
    let report =
        enrelg(&["eval", "--run", &s(&killed), "--split", "dev", "--cache-dir", &s(&cache)]);
    let reference_report =
        enrelg(&["eval", "--run", &s(&reference), "--split", "dev", "--cache-dir", &s(&cache)]);
    assert_eq!(report, reference_report);
    let leftovers: Vec<String> = std::fs::read_dir(&killed)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    eprintln!("killed {kills} times over {attempt} attempts");

    // Resuming a finished run trains nothing more, also after early stopping.
    enrelg(&[&common[..], &["--out", &s(&reference), "--resume"]].concat());
    assert_eq!(curve(&reference).len(), 4);
    let config = tmp.join("patience.toml");
    std::fs::write(&config, "patience = 1\n").unwrap();
    let early = tmp.join("early");
    let args = [
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &model,
        "--variant",
        "cd",
        "--epochs",
        "12",
        "--freeze-encoder",
        "--seed",
        "3",
        "--cache-dir",
        &s(&cache),
    ];
    enrelg(&[&args[..], &["--config", &s(&config), "--out", &s(&early)]].concat());
    let stopped = curve(&early);
    assert!(stopped.len() < 12, "patience 1 should stop early: {} epochs", stopped.len());
    enrelg(&[&args[..], &["--config", &s(&config), "--out", &s(&early), "--resume"]].concat());
    assert_eq!(curve(&early), stopped);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// `enrelg summarize` on the committed records of the H200 runs: runs that
/// differ only in their seed share a row; other variants get their own.
#[test]
fn summarize_groups_runs_by_everything_but_the_seed() {
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-summarize-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let records = workspace().join("results/h200-vulkan");
    copy_dir(&records.join("mars-cd-shape32-ft128"), &tmp.join("cd-seed1"));
    copy_dir(&records.join("mars-cd-shape32-ft128"), &tmp.join("cd-seed2"));
    let info = std::fs::read_to_string(tmp.join("cd-seed2/run.json")).unwrap();
    std::fs::write(tmp.join("cd-seed2/run.json"), info.replacen("\"seed\": 1", "\"seed\": 2", 1))
        .unwrap();
    copy_dir(&records.join("mars-baseline-shape32-ft128"), &tmp.join("baseline-seed1"));
    // The same configuration started from a frozen run (--init-from) is a row of its own.
    copy_dir(&records.join("mars-cd-shape32-ft128"), &tmp.join("cd-warm"));
    let mut warm: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.join("cd-warm/run.json")).unwrap()).unwrap();
    warm["warm_start"] = serde_json::json!({"run": "runs/frozen", "checkpoint_sha256": "0".repeat(64), "frozen": true});
    std::fs::write(tmp.join("cd-warm/run.json"), serde_json::to_string(&warm).unwrap()).unwrap();
    let s = |p: PathBuf| p.to_str().unwrap().to_string();
    let table = enrelg(&[
        "summarize",
        &s(tmp.join("cd-seed1")),
        &s(tmp.join("cd-seed2")),
        &s(tmp.join("baseline-seed1")),
        &s(tmp.join("cd-warm")),
    ]);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| mars")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(rows[0].starts_with("| mars | baseline | fine-tuned | shape 32 | 15 | 1 | 78.48 ± 0.00 | 75.02 ± 0.00 | 76.71 ± 0.00 |"), "{table}");
    assert!(rows[1].starts_with("| mars | cd | fine-tuned | shape 32 | 15 | 1,2 | 67.90 ± 0.00 | 80.99 ± 0.00 | 73.87 ± 0.00 |"), "{table}");
    assert!(
        rows[2].starts_with(
            "| mars | cd | frozen, then fine-tuned | shape 32 | 15 | 1 | 67.90 ± 0.00 |"
        ),
        "{table}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// Auxiliary types (`enrelg data --auxiliary-types`): labelled and learned,
/// but the scored types' labels are exactly those of shards without them, and
/// `eval` and `predict` count and write only the scored types.
#[test]
fn auxiliary_types_are_learned_but_never_scored_or_written() {
    let Some((tmp, model)) = small_shards("aux", 3) else {
        return;
    };
    let (corpus, plain, aux, run, cache) = (
        tmp.join("corpus"),
        tmp.join("shards"),
        tmp.join("aux-shards"),
        tmp.join("run"),
        tmp.join("cache"),
    );
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let extra = ["Locality", "Site", "Formation", "Member", "Unit", "Region", "Material"];
    enrelg(&[
        "data",
        "--corpus",
        &s(&corpus),
        "--manifest",
        "datasets/mars/manifest.json",
        "--model",
        &model,
        "--out",
        &s(&aux),
        "--auxiliary-types",
        &extra.join(","),
    ]);
    // A type that labels nothing (a typo) is named on stderr, with the types the corpus has.
    let typo = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args([
            "data",
            "--corpus",
            &s(&corpus),
            "--manifest",
            "datasets/mars/manifest.json",
            "--model",
            &model,
            "--out",
            &s(&tmp.join("typo")),
            "--auxiliary-types",
            "Formation,Formatoin",
        ])
        .current_dir(workspace())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(typo.status.success(), "{stderr}");
    assert!(
        stderr.contains("Formatoin labels no entity") && stderr.contains("\"Locality\""),
        "{stderr}"
    );
    assert!(!stderr.contains("Formation labels no entity"), "{stderr}");
    let manifest = enrelg_pipeline::shard::ShardManifest::read(&aux).unwrap();
    assert_eq!(manifest.auxiliary_types, extra);
    assert_eq!(manifest.label_types[..3], ["Element", "Mineral", "Target"]);
    let labels = |dir: &Path, split: &str| -> Vec<String> {
        let t = enrelg_pipeline::shard::read_table(dir, split, tables::TOKENS).unwrap();
        t.column(tokens::LABEL)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|l| l.unwrap().to_string())
            .collect()
    };
    for split in ["train", "dev", "test"] {
        let with_aux = labels(&aux, split);
        let is_aux = |l: &String| extra.iter().any(|t| l.ends_with(&format!("-{t}")));
        assert!(
            split != "train" || with_aux.iter().any(is_aux),
            "no auxiliary entity in train: the test would check nothing"
        );
        let scored: Vec<String> =
            with_aux.iter().map(|l| if is_aux(l) { "O".to_string() } else { l.clone() }).collect();
        assert_eq!(scored, labels(&plain, split), "{split}: the scored labels changed");
        // The same windows: the frozen-encoder cache of either serves both.
        let kinds = enrelg_pipeline::graph::DependencyVariant::CompoundKey.kinds();
        let key = |dir: &Path| {
            enrelg::data::encoder_cache::windows_sha256(
                &enrelg::data::load_split(dir, split, kinds, 0).unwrap(),
            )
        };
        assert_eq!(key(&aux), key(&plain));
    }

    enrelg(&[
        "train",
        "--shards",
        &s(&aux),
        "--model",
        &model,
        "--epochs",
        "2",
        "--freeze-encoder",
        "--shape-dim",
        "8",
        "--out",
        &s(&run),
        "--cache-dir",
        &s(&cache),
        "--test",
    ]);
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("run.json")).unwrap()).unwrap();
    assert_eq!(info["labels"]["types"].as_array().unwrap().len(), 3 + extra.len());
    assert_eq!(info["labels"]["scored"], 3);
    let eval: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("eval-test.json")).unwrap()).unwrap();
    let gold_plain = labels(&plain, "test").iter().filter(|l| l.starts_with("B-")).count() as u64;
    assert_eq!(eval["micro"]["gold"].as_u64().unwrap(), gold_plain, "{eval}");
    let types: Vec<&String> = eval["per_type"].as_object().unwrap().keys().collect();
    assert!(
        types.iter().all(|t| ["Element", "Mineral", "Target"].contains(&t.as_str())),
        "{types:?}"
    );
    let conll = std::fs::read_to_string(run.join("predictions-test.conll")).unwrap();
    assert!(
        !extra.iter().any(|t| conll.contains(&format!("-{t}"))),
        "an auxiliary tag in the predictions"
    );
    // A run of the same windows without the auxiliary types has other tags:
    // an ensemble of the two is refused, naming both.
    let plain_run = tmp.join("plain-run");
    enrelg(&[
        "train",
        "--shards",
        &s(&plain),
        "--model",
        &model,
        "--epochs",
        "1",
        "--freeze-encoder",
        "--shape-dim",
        "8",
        "--out",
        &s(&plain_run),
        "--cache-dir",
        &s(&cache),
    ]);
    let err = enrelg_fails(&[
        "ensemble",
        "--run",
        &s(&run),
        "--run",
        &s(&plain_run),
        "--out",
        &s(&tmp.join("ens")),
        "--cache-dir",
        &s(&cache),
    ]);
    assert!(
        err.contains("plain-run: label set")
            && err.contains("differs from")
            && err.contains("/run's"),
        "{err}"
    );
    let pred = tmp.join("pred");
    enrelg(&[
        "predict",
        "--run",
        &s(&run),
        "--input",
        &s(&corpus.join("standoff/test")),
        "--parses",
        &s(&corpus.join("conllu/test")),
        "--out",
        &s(&pred),
    ]);
    let written = std::fs::read_to_string(pred.join("entities.jsonl")).unwrap();
    assert!(
        !extra.iter().any(|t| written.contains(&format!("\"{t}\""))),
        "an auxiliary entity written"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// One writer per run folder: a second `train --out R` while the first is
/// still writing R is refused, naming the folder and the process that holds
/// it, and the first run's records stay its own. The lock of a SIGKILLed
/// training does not block `--resume`.
#[test]
fn a_second_writer_is_refused_and_a_killed_writers_lock_does_not_block_resume() {
    let Some((tmp, model)) = small_shards("lock", 2) else {
        return;
    };
    let (shards, cache, run) = (tmp.join("shards"), tmp.join("cache"), tmp.join("run"));
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let train = |seed: &str| -> Vec<String> {
        [
            "train",
            "--shards",
            &s(&shards),
            "--model",
            &model,
            "--epochs",
            "3",
            "--freeze-encoder",
            "--seed",
            seed,
            "--cache-dir",
            &s(&cache),
            "--out",
            &s(&run),
        ]
        .map(String::from)
        .to_vec()
    };
    let lock = run.join(enrelg::run::LOCK);
    let spawn = |args: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_enrelg"))
            .args(args)
            .current_dir(workspace())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let wait_for = |what: &dyn Fn() -> bool| {
        let t0 = std::time::Instant::now();
        while !what() {
            assert!(t0.elapsed().as_secs() < 600, "timed out");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    };
    let mut first = spawn(&train("1"));
    wait_for(&|| lock.exists());
    let err = enrelg_fails(&train("2").iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        err.contains(&format!(
            "{} is being written by another process (process {}",
            run.display(),
            first.id()
        )),
        "{err}"
    );
    let status = first.wait().unwrap();
    assert!(status.success());
    let info: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join(enrelg::run::RUN_JSON)).unwrap()).unwrap();
    assert_eq!(info["config"]["seed"], 1);
    assert_eq!(curve(&run).len(), 3, "the first run's metrics hold its own epochs only");
    assert!(!lock.exists(), "the lock goes with its writer");

    // Killed after its first epoch: the lock stays behind, and --resume takes it over.
    let killed = tmp.join("killed");
    let mut args = train("3");
    *args.last_mut().unwrap() = s(&killed);
    let mut child = spawn(&args);
    wait_for(&|| killed.join(enrelg::run::METRICS).exists() && !curve(&killed).is_empty());
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(killed.join(enrelg::run::LOCK).exists(), "a killed writer cannot remove its lock");
    args.push("--resume".into());
    enrelg(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(curve(&killed).len(), 3);
    assert!(!killed.join(enrelg::run::LOCK).exists());
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// A metrics line without what depends on the machine's load.
fn timeless(metrics: &str) -> Vec<serde_json::Value> {
    metrics
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            // What the epoch cost and where it ran, not what it learned.
            for k in [
                "seconds",
                "subtokens_per_second",
                "peak_rss_mib",
                "cpu",
                "threads",
                "load_average",
            ] {
                v.as_object_mut().unwrap().remove(k);
            }
            v
        })
        .collect()
}

#[test]
fn an_experiment_interrupted_after_a_cell_skips_it_and_finishes_like_an_uninterrupted_one() {
    let Some((tmp, model)) = small_shards("experiment", 2) else {
        return;
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let spec = tmp.join("tiny.toml");
    std::fs::write(
        &spec,
        "description = \"baseline and CD\"\nconsistency = true\nreference = { variant = \"baseline\" }\n[base]\nmax_epochs = 2\nshape_dim = 8\n[[grid]]\ndataset = [\"shards\"]\nvariant = [\"baseline\", \"cd\"]\n",
    )
    .unwrap();
    let experiment = |name: &str, extra: &[&str]| {
        let args = [
            "experiment",
            "--spec",
            &s(&spec),
            "--shards",
            &s(&tmp),
            "--model",
            &model,
            "--cache-dir",
            &s(&tmp.join("cache")),
        ];
        let (runs, results) = (tmp.join(name).join("runs"), tmp.join(name).join("results"));
        enrelg(&[&args[..], &["--runs", &s(&runs), "--results", &s(&results)], extra].concat())
    };
    // Interrupted: one cell, then the rest.
    let first = experiment("interrupted", &["--limit", "1"]);
    assert!(first.contains("1 cells finished now, 0 already finished"), "{first}");
    let plan = experiment("interrupted", &["--dry-run"]);
    assert!(
        plan.contains("shards-baseline-")
            && plan.contains("finished")
            && plan.contains("to run")
            && plan.contains("1 of 2 cells finished"),
        "{plan}"
    );
    let second = experiment("interrupted", &[]);
    assert!(second.contains("1 cells finished now, 1 already finished, 0 failed"), "{second}");
    let whole = experiment("whole", &[]);
    assert!(whole.contains("2 cells finished now"), "{whole}");
    let mut cells: Vec<String> = std::fs::read_dir(tmp.join("whole/results/cells"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    cells.sort();
    assert!(
        cells.len() == 2
            && cells[0].starts_with("shards-baseline-")
            && cells[1].starts_with("shards-cd-"),
        "{cells:?}"
    );
    for cell in &cells {
        let record = |name: &str, file: &str| {
            std::fs::read_to_string(tmp.join(name).join("results/cells").join(cell).join(file))
                .unwrap()
        };
        for file in ["eval-test.json", "eval-test-consistency.json", "consistency-test.json"] {
            assert_eq!(record("interrupted", file), record("whole", file), "{cell}/{file}");
        }
        assert_eq!(
            timeless(&record("interrupted", "metrics.jsonl")),
            timeless(&record("whole", "metrics.jsonl")),
            "{cell}"
        );
        assert_eq!(timeless(&record("whole", "metrics.jsonl")).len(), 2);
    }
    // The tables: two rows, plain and with consistency decoding, and CD
    // tested against the baseline.
    let table = std::fs::read_to_string(tmp.join("interrupted/results/tiny/table.md")).unwrap();
    assert!(
        table.contains("| shards | baseline |")
            && table.contains("| shards | cd |")
            && table.contains("## test-consistency"),
        "{table}"
    );
    assert!(
        table.contains("\n### test, shards\n")
            && table.contains("\n### test-consistency, shards\n"),
        "one table per split and corpus:\n{table}"
    );
    assert!(
        table.contains("paired percentile bootstrap")
            && table.contains("permutation test across seeds")
            && table.contains("| shards | cd (shape 8) | baseline (shape 8) |"),
        "{table}"
    );
    let csv = std::fs::read_to_string(tmp.join("interrupted/results/tiny/table.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "a header, two plain rows and two consistency rows:\n{csv}");
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.join("interrupted/results/tiny/table.json")).unwrap(),
    )
    .unwrap();
    let p = json["significance"]["test"][0]["p_value"].as_f64().unwrap();
    assert!(p > 0.0 && p <= 1.0, "{json}");
    // The results page: the tables, what ran, and the notes.
    let (notes, page) = (tmp.join("NOTES.md"), tmp.join("results.md"));
    std::fs::write(&notes, "## Reading\n\nBy hand.\n").unwrap();
    let root = tmp.join("whole");
    let figures = tmp.join("figures");
    enrelg(&[
        "results",
        &s(&spec),
        "--notes",
        &s(&notes),
        "--out",
        &s(&page),
        "--figures",
        &s(&figures),
        "--runs",
        &s(&root.join("runs")),
        "--results",
        &s(&root.join("results")),
    ]);
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(
        page.contains("## tiny: baseline and CD")
            && page.contains("2 of 2 cells finished")
            && page.ends_with("By hand.\n"),
        "{page}"
    );
    assert!(
        page.contains("Epochs by machine") && page.contains(" thread"),
        "each epoch's machine is counted:\n{page}"
    );
    // Its figures, linked relative to the page, one point per row.
    assert!(page.contains("](figures/tiny-shards-f1.png)"), "{page}");
    let svg = std::fs::read_to_string(figures.join("tiny-shards-f1.svg")).unwrap();
    assert!(svg.contains("\nbaseline\n") && svg.contains("\ncd\n"), "{svg}");
    assert!(figures.join("tiny-shards-seconds.png").exists());
    // Per-type F1 and the mixed-label shares (the spec decodes with consistency), one bar label per row.
    for figure in ["types", "consistency"] {
        assert!(page.contains(&format!("](figures/tiny-shards-{figure}.png)")), "{page}");
        let svg =
            std::fs::read_to_string(figures.join(format!("tiny-shards-{figure}.svg"))).unwrap();
        assert!(svg.contains("\nbaseline\n") && svg.contains("\ncd\n"), "{figure}: {svg}");
    }
    // And the dev curve of a run.
    enrelg(&[
        "plot",
        &s(&root.join("results/cells").join(&cells[1])),
        "--out",
        &s(&figures.join("dev")),
    ]);
    assert!(std::fs::read_to_string(figures.join("dev.svg")).unwrap().contains("Dev F1 per epoch"));
    // Any line chart from JSON, as make bench draws its scaling figure.
    let chart = tmp.join("chart.json");
    std::fs::write(&chart, r#"{"title": "Scaling", "x_label": "copies", "y_label": "k words/s", "series": [{"label": "stages", "points": [[1, 700, 0], [16, 450, 0]]}]}"#).unwrap();
    enrelg(&["plot", "--lines", &s(&chart), "--out", &s(&figures.join("scaling"))]);
    assert!(std::fs::read_to_string(figures.join("scaling.svg")).unwrap().contains("Scaling"));
    std::fs::write(&chart, r#"{"title": "no series"}"#).unwrap();
    let bad = enrelg_fails(&["plot", "--lines", &s(&chart), "--out", &s(&figures.join("bad"))]);
    assert!(bad.contains("chart.json: not a chart"), "{bad}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
