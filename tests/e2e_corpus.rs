//! Your own corpus: a flat folder of real AnatEM brat documents, as a user
//! would copy them (no manifest, no parses, one `.txt` without `.ann`), through
//! the real binary: `enrelg data --corpus DIR` (laid out, split and parsed
//! beside the shards) -> `enrelg train` -> `enrelg tag` -> entities.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::workspace;

fn enrelg(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg")).args(args).current_dir(workspace()).output().expect("run enrelg");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr))
}

#[test]
fn a_brat_folder_trains_and_tags_without_a_manifest_or_parses() {
    let data = std::env::var_os("ENRELG_DATA_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("datasets"));
    let model = std::env::var_os("ENRELG_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("models/minilm"));
    let python = std::env::var_os("ENRELG_PARSE_PYTHON").map(PathBuf::from).unwrap_or_else(|| workspace().join(".venv-parse/bin/python"));
    let required = std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1");
    if !data.join("anatem").exists() || !model.join("model.safetensors").exists() || !python.exists() {
        assert!(!required, "need the corpora, the model (make model) and the spaCy environment (make parse-venv)");
        eprintln!("skipping: corpora, model or spaCy environment missing");
        return;
    }
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let flat = tmp.join("my-anatomy");
    std::fs::create_dir_all(&flat).unwrap();
    let train = data.join("anatem/standoff/train");
    let mut stems: Vec<PathBuf> = std::fs::read_dir(&train).unwrap().map(|e| e.unwrap().path()).filter(|p| p.extension().is_some_and(|x| x == "txt")).collect();
    stems.sort();
    for txt in stems.iter().take(30) {
        std::fs::copy(txt, flat.join(txt.file_name().unwrap())).unwrap();
        std::fs::copy(txt.with_extension("ann"), flat.join(txt.with_extension("ann").file_name().unwrap())).unwrap();
    }
    std::fs::write(flat.join("notes.txt"), "My own notes, not annotated.").unwrap();

    let shards = tmp.join("shards/my-anatomy");
    let data_args = ["data", "--corpus", &s(&flat), "--model", &s(&model), "--out", &s(&shards), "--python", &s(&python)];
    let (ok, report) = enrelg(&data_args);
    assert!(ok, "{report}");
    assert!(report.contains("30 documents (train 21, dev 3, test 6; split by document"), "{report}");
    assert!(report.contains("1 .txt file(s) without .ann left out") && report.contains("notes.txt"), "{report}");
    let corpus = tmp.join("shards/my-anatomy.corpus");
    let manifest = std::fs::read_to_string(corpus.join("manifest.json")).unwrap();
    assert_eq!(std::fs::read_dir(corpus.join("conllu/test")).unwrap().count(), 6, "the parses are made beside the shards");
    // A rerun: the same split, nothing parsed again.
    let (ok, again) = enrelg(&data_args);
    assert!(ok && !again.contains("documents to parse"), "{again}");
    assert_eq!(std::fs::read_to_string(corpus.join("manifest.json")).unwrap(), manifest);
    // --strict refuses the unannotated text, naming it.
    let strict = [&data_args[..], &["--strict"]].concat();
    let (ok, refused) = enrelg(&strict);
    assert!(!ok && refused.contains(&format!("{}: a .txt without its .ann", flat.join("notes.txt").display())), "{refused}");

    // Train a few epochs (small batches and a high rate: a model that finds entities), then tag.
    let config = tmp.join("train.toml");
    std::fs::write(&config, "batch_size = 2\nlr_head = 0.005\nwarmup = 0.0\n").unwrap();
    let run = tmp.join("run");
    let (ok, trained) = enrelg(&[
        "train",
        "--data",
        &s(&shards),
        "--model",
        &s(&model),
        "--config",
        &s(&config),
        "--variant",
        "cd",
        "--epochs",
        "4",
        "--freeze-encoder",
        "--out",
        &s(&run),
        "--cache-dir",
        &s(&tmp.join("cache")),
        "--test",
    ]);
    assert!(ok, "{trained}");
    let eval: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("eval-test.json")).unwrap()).unwrap();
    assert!(eval.to_string().contains("\"f1\""), "{eval}");
    let tagged = tmp.join("tagged");
    let test_texts = corpus.join("standoff/test");
    let (ok, report) = enrelg(&["tag", "--input", &s(&test_texts), "--out", &s(&tagged), "--run", &s(&run), "--python", &s(&python)]);
    assert!(ok, "{report}");
    let entities = std::fs::read_to_string(tagged.join("entities.jsonl")).unwrap();
    assert!(!entities.is_empty(), "the run tags entities: {report}");
    for line in entities.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = std::fs::read_to_string(test_texts.join(e["path"].as_str().unwrap())).unwrap();
        let (a, b) = (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
        assert_eq!(text.chars().skip(a).take(b - a).collect::<String>(), e["text"].as_str().unwrap());
    }
    std::fs::remove_dir_all(&tmp).unwrap();
}
