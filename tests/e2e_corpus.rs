//! Your own corpus: a flat folder of real AnatEM brat documents, as a user
//! would copy them (no manifest, no parses, one `.txt` without `.ann`), through
//! the real binary: `enrelg data --corpus DIR` (laid out, split and parsed
//! beside the shards) -> `enrelg train` -> `enrelg tag` -> entities; `enrelg
//! show` and `enrelg experiment` on the imported corpus.

use std::path::{Path, PathBuf};
use std::process::Command;

use enrelg_pipeline::window::WordPieceTokenizer;

mod common;
use common::{data_dir, have, model_dir, parse_python, workspace};

fn enrelg(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run enrelg");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// The corpora, the model and the spaCy environment both tests need, from the variables `make
/// test` sets (the workspace's own folders otherwise); `None` (the test skips) when one is
/// missing, which `ENRELG_REQUIRE_DATA=1` makes a failure.
fn inputs() -> Option<(PathBuf, PathBuf, PathBuf)> {
    let (data, model, python) = (data_dir(), model_dir(), parse_python());
    have(
        &[&data.join("anatem"), &model.join("model.safetensors"), &python],
        "make model, make parse-venv",
    )
    .then_some((data, model, python))
}

/// AnatEM's training texts (`.txt` paths, their `.ann` beside them) in name order.
fn anatem_train_texts(data: &Path) -> Vec<PathBuf> {
    let mut texts: Vec<PathBuf> = std::fs::read_dir(data.join("anatem/standoff/train"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    texts.sort();
    texts
}

#[test]
fn a_brat_folder_trains_and_tags_without_a_manifest_or_parses() {
    let Some((data, model, python)) = inputs() else {
        return;
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-corpus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let flat = tmp.join("my-anatomy");
    std::fs::create_dir_all(&flat).unwrap();
    for txt in anatem_train_texts(&data).iter().take(30) {
        std::fs::copy(txt, flat.join(txt.file_name().unwrap())).unwrap();
        std::fs::copy(
            txt.with_extension("ann"),
            flat.join(txt.with_extension("ann").file_name().unwrap()),
        )
        .unwrap();
    }
    std::fs::write(flat.join("notes.txt"), "My own notes, not annotated.").unwrap();

    let shards = tmp.join("shards/my-anatomy");
    let data_args = [
        "data",
        "--corpus",
        &s(&flat),
        "--model",
        &s(&model),
        "--out",
        &s(&shards),
        "--python",
        &s(&python),
    ];
    let (ok, report) = enrelg(&data_args);
    assert!(ok, "{report}");
    assert!(
        report.contains("30 documents (train 21, dev 3, test 6; split by document"),
        "{report}"
    );
    assert!(
        report.contains("1 .txt file(s) without .ann left out") && report.contains("notes.txt"),
        "{report}"
    );
    let corpus = tmp.join("shards/my-anatomy.corpus");
    let manifest = std::fs::read_to_string(corpus.join("manifest.json")).unwrap();
    assert_eq!(
        std::fs::read_dir(corpus.join("conllu/test")).unwrap().count(),
        6,
        "the parses are made beside the shards"
    );
    // A rerun: the same split, nothing parsed again.
    let (ok, again) = enrelg(&data_args);
    assert!(ok && !again.contains("documents to parse"), "{again}");
    assert_eq!(std::fs::read_to_string(corpus.join("manifest.json")).unwrap(), manifest);
    // --strict refuses the unannotated text, naming it.
    let strict = [&data_args[..], &["--strict"]].concat();
    let (ok, refused) = enrelg(&strict);
    assert!(
        !ok && refused
            .contains(&format!("{}: a .txt without its .ann", flat.join("notes.txt").display())),
        "{refused}"
    );

    // Train a few epochs, then tag.
    let config = tmp.join("train.toml");
    std::fs::write(&config, common::FAST_TRAIN_TOML).unwrap();
    let run = tmp.join("run");
    let (ok, trained) = enrelg(&[
        "train",
        "--shards",
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
    let eval: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval-test.json")).unwrap())
            .unwrap();
    assert!(eval.to_string().contains("\"f1\""), "{eval}");
    let tagged = tmp.join("tagged");
    let test_texts = corpus.join("standoff/test");
    let (ok, report) = enrelg(&[
        "tag",
        "--input",
        &s(&test_texts),
        "--out",
        &s(&tagged),
        "--run",
        &s(&run),
        "--python",
        &s(&python),
    ]);
    assert!(ok, "{report}");
    let entities = std::fs::read_to_string(tagged.join("entities.jsonl")).unwrap();
    assert!(!entities.is_empty(), "the run tags entities: {report}");
    for line in entities.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        let text = std::fs::read_to_string(test_texts.join(e["path"].as_str().unwrap())).unwrap();
        let (a, b) = (e["start"].as_u64().unwrap() as usize, e["end"].as_u64().unwrap() as usize);
        assert_eq!(
            text.chars().skip(a).take(b - a).collect::<String>(),
            e["text"].as_str().unwrap()
        );
    }
    downstream(&tmp, &shards, &run, &model);
    tiny_cased_bert(&tmp, &flat, &python);
    std::fs::remove_dir_all(&tmp).unwrap();
}

/// What else a user runs on the imported corpus: `enrelg show` with the run's predictions, and
/// `enrelg experiment` with a spec that names the corpus by its shard folder's name.
fn downstream(tmp: &Path, shards: &Path, run: &Path, model: &Path) {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let show = tmp.join("show");
    let (ok, report) =
        enrelg(&["show", "--shards", &s(shards), "--run", &s(run), "--out", &s(&show)]);
    assert!(ok, "{report}");
    let index = std::fs::read_to_string(show.join("index.html")).unwrap();
    let pages = std::fs::read_dir(&show)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name() != "index.html")
        .count();
    assert!(
        pages >= 6 && index.contains("my-anatomy"),
        "one page per test document and the corpus named: {pages} pages\n{report}"
    );
    let spec = tmp.join("mine.toml");
    std::fs::write(
        &spec,
        "description = \"my corpus: CD against the baseline\"\nreference = { variant = \"baseline\" }\n[base]\nmax_epochs = 1\nbatch_size = 2\n[[grid]]\ndataset = [\"my-anatomy\"]\nvariant = [\"baseline\", \"cd\"]\n",
    )
    .unwrap();
    let shards_root = shards.parent().unwrap();
    let (runs, results) = (tmp.join("experiment/runs"), tmp.join("experiment/results"));
    let args = [
        "experiment",
        "--spec",
        &s(&spec),
        "--shards",
        &s(shards_root),
        "--model",
        &s(model),
        "--runs",
        &s(&runs),
        "--results",
        &s(&results),
        "--cache-dir",
        &s(&tmp.join("cache")),
    ];
    let (ok, report) = enrelg(&args);
    assert!(ok && report.contains("2 cells finished now"), "{report}");
    let table = std::fs::read_to_string(results.join("mine/table.md")).unwrap();
    assert!(
        table.contains("| my-anatomy | baseline |")
            && table.contains("| my-anatomy | cd |")
            && table.contains("paired percentile bootstrap")
            && table.contains("permutation test across seeds"),
        "{table}"
    );
}

/// A cased BERT published as `config.json` + `vocab.txt` +
/// `tokenizer_config.json` + `model.safetensors` (no `tokenizer.json`),
/// random weights written here: its tokenizer keeps case, and it builds
/// shards, trains and tags; another architecture is refused at once.
fn tiny_cased_bert(tmp: &Path, flat: &Path, python: &Path) {
    use safetensors::tensor::TensorView;
    use safetensors::Dtype;
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let model = tmp.join("tiny-cased-bert");
    std::fs::create_dir_all(&model).unwrap();
    // Every character alone and as a continuation, so no word is unknown, and a few whole words.
    let mut vocab: Vec<String> =
        ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Gale", "gale", "The", "the", "cells", "of"]
            .map(String::from)
            .to_vec();
    let mut chars = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(flat).unwrap() {
        chars.extend(
            std::fs::read_to_string(e.unwrap().path())
                .unwrap_or_default()
                .chars()
                .filter(|c| !c.is_whitespace()),
        );
    }
    for c in &chars {
        vocab.push(c.to_string());
        vocab.push(format!("##{c}"));
    }
    vocab.sort();
    vocab.dedup();
    std::fs::write(model.join("vocab.txt"), vocab.join("\n") + "\n").unwrap();
    std::fs::write(
        model.join("tokenizer_config.json"),
        r#"{"do_lower_case": false, "tokenizer_class": "BertTokenizer"}"#,
    )
    .unwrap();
    let (h, layers, ff) = (32usize, 2usize, 64usize);
    let config = serde_json::json!({"model_type": "bert", "vocab_size": vocab.len(), "hidden_size": h, "num_hidden_layers": layers, "num_attention_heads": 2,
        "intermediate_size": ff, "max_position_embeddings": 512, "type_vocab_size": 2, "hidden_act": "gelu"});
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();
    let mut shapes: Vec<(String, Vec<usize>)> = vec![
        ("embeddings.word_embeddings.weight".into(), vec![vocab.len(), h]),
        ("embeddings.position_embeddings.weight".into(), vec![512, h]),
        ("embeddings.token_type_embeddings.weight".into(), vec![2, h]),
        ("embeddings.LayerNorm.weight".into(), vec![h]),
        ("embeddings.LayerNorm.bias".into(), vec![h]),
    ];
    for i in 0..layers {
        let p = format!("encoder.layer.{i}");
        for (name, o, n) in [
            ("attention.self.query", h, h),
            ("attention.self.key", h, h),
            ("attention.self.value", h, h),
            ("attention.output.dense", h, h),
            ("intermediate.dense", ff, h),
            ("output.dense", h, ff),
        ] {
            shapes.push((format!("{p}.{name}.weight"), vec![o, n]));
            shapes.push((format!("{p}.{name}.bias"), vec![o]));
        }
        for norm in ["attention.output.LayerNorm", "output.LayerNorm"] {
            shapes.push((format!("{p}.{norm}.weight"), vec![h]));
            shapes.push((format!("{p}.{norm}.bias"), vec![h]));
        }
    }
    // Deterministic small weights; layer norms start as the identity.
    let mut state = 0x9e3779b97f4a7c15u64;
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = shapes
        .into_iter()
        .map(|(name, shape)| {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n)
                .map(|_| {
                    state =
                        state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                    let u = (state >> 40) as f32 / (1u64 << 24) as f32;
                    if name.ends_with("LayerNorm.weight") {
                        1.0
                    } else if name.ends_with("LayerNorm.bias") {
                        0.0
                    } else {
                        (u - 0.5) * 0.04
                    }
                })
                .collect();
            (name, shape, values.iter().flat_map(|v| v.to_le_bytes()).collect())
        })
        .collect();
    let views: Vec<(String, TensorView)> = data
        .iter()
        .map(|(n, shape, bytes)| {
            (n.clone(), TensorView::new(Dtype::F32, shape.clone(), bytes).unwrap())
        })
        .collect();
    safetensors::serialize_to_file(views, None, &model.join("model.safetensors")).unwrap();

    let (shards, run) = data_train_tag(tmp, flat, &model, "tiny", python);
    let info: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let uncased = tmp.join("tiny-uncased");
    std::fs::create_dir_all(&uncased).unwrap();
    std::fs::copy(model.join("vocab.txt"), uncased.join("vocab.txt")).unwrap();
    let cased = WordPieceTokenizer::from_model_dir(&model).unwrap();
    let lower = WordPieceTokenizer::from_model_dir(&uncased).unwrap();
    assert_eq!(
        info["tokenizer_sha256"],
        cased.sha256.as_str(),
        "the run records the cased tokenizer"
    );
    assert_ne!(cased.subtokens(&["Gale"]).unwrap(), lower.subtokens(&["Gale"]).unwrap());
    tiny_tokenizer_json(tmp, flat, &model, python, &cased, &lower);

    let mut roberta = config;
    roberta["model_type"] = "roberta".into();
    std::fs::write(model.join("config.json"), roberta.to_string()).unwrap();
    let (ok, refused) = enrelg(&[
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &s(&model),
        "--epochs",
        "1",
        "--freeze-encoder",
        "--out",
        &s(&tmp.join("run-roberta")),
    ]);
    assert!(!ok && refused.contains("model_type \"roberta\" is not supported"), "{refused}");
}

/// The tiny vocabulary against Python `tokenizers`' BERT WordPiece on the corpus's text, cased and
/// uncased; then the same model published with a `tokenizer.json` (saved by that library)
/// tokenizes as its `vocab.txt` did, and trains and tags.
fn tiny_tokenizer_json(
    tmp: &Path,
    flat: &Path,
    model: &Path,
    parse_python: &Path,
    cased: &WordPieceTokenizer,
    lower: &WordPieceTokenizer,
) {
    let python = common::python();
    let mut files: Vec<PathBuf> = std::fs::read_dir(flat)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    let text: String = files.iter().take(3).map(|f| std::fs::read_to_string(f).unwrap()).collect();
    let mut words: Vec<&str> = text.split_whitespace().collect();
    words.sort_unstable();
    words.dedup();
    let with_json = tmp.join("tiny-cased-json");
    std::fs::create_dir_all(&with_json).unwrap();
    for f in ["config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json"] {
        std::fs::copy(model.join(f), with_json.join(f)).unwrap();
    }
    let words_file = tmp.join("tiny-words.json");
    std::fs::write(&words_file, serde_json::to_vec(&words).unwrap()).unwrap();
    let script = r#"
import json, sys
from tokenizers import BertWordPieceTokenizer
vocab, words, out = sys.argv[1], json.load(open(sys.argv[2], encoding="utf-8")), sys.argv[3]
ids = {}
for lower in (False, True):
    tok = BertWordPieceTokenizer(vocab, lowercase=lower)
    ids["uncased" if lower else "cased"] = [tok.encode(w, add_special_tokens=False).ids for w in words]
BertWordPieceTokenizer(vocab, lowercase=False).save(out)
json.dump(ids, sys.stdout)
"#;
    let out = Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(model.join("vocab.txt"))
        .arg(&words_file)
        .arg(with_json.join("tokenizer.json"))
        .output()
        .expect("run python");
    assert!(out.status.success(), "{}: {}", python.display(), String::from_utf8_lossy(&out.stderr));
    let reference: std::collections::BTreeMap<String, Vec<Vec<u32>>> =
        serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cased.subtokens(&words).unwrap(), reference["cased"], "cased, as Python tokenizers");
    assert_eq!(
        lower.subtokens(&words).unwrap(),
        reference["uncased"],
        "uncased, as Python tokenizers"
    );
    assert_ne!(reference["cased"], reference["uncased"]);
    let json = WordPieceTokenizer::from_model_dir(&with_json).unwrap();
    assert_eq!(json.source, with_json.join("tokenizer.json"));
    assert_eq!(
        json.subtokens(&words).unwrap(),
        reference["cased"],
        "tokenizer.json tokenizes as vocab.txt"
    );
    data_train_tag(tmp, flat, &with_json, "tiny-json", parse_python);
}

/// The imported corpus `flat` through the binary with encoder `model`: shards in
/// `tmp/shards/NAME`, one frozen epoch of the baseline in `tmp/run-NAME`, its test texts tagged
/// into `tmp/tagged-NAME`. Returns the shard folder and the run.
fn data_train_tag(
    tmp: &Path,
    flat: &Path,
    model: &Path,
    name: &str,
    parse_python: &Path,
) -> (PathBuf, PathBuf) {
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let shards = tmp.join("shards").join(name);
    let (ok, report) = enrelg(&[
        "data",
        "--corpus",
        &s(flat),
        "--model",
        &s(model),
        "--out",
        &s(&shards),
        "--python",
        &s(parse_python),
    ]);
    assert!(ok, "{report}");
    let run = tmp.join(format!("run-{name}"));
    let cache = tmp.join(format!("cache-{name}"));
    let (ok, trained) = enrelg(&[
        "train",
        "--shards",
        &s(&shards),
        "--model",
        &s(model),
        "--variant",
        "baseline",
        "--epochs",
        "1",
        "--freeze-encoder",
        "--out",
        &s(&run),
        "--cache-dir",
        &s(&cache),
    ]);
    assert!(ok, "{trained}");
    let texts = tmp.join("shards").join(format!("{name}.corpus/standoff/test"));
    let (ok, report) = enrelg(&[
        "tag",
        "--input",
        &s(&texts),
        "--out",
        &s(&tmp.join(format!("tagged-{name}"))),
        "--run",
        &s(&run),
        "--python",
        &s(parse_python),
    ]);
    assert!(ok && report.contains("6 documents"), "{report}");
    (shards, run)
}

/// A user's brat folder with one flaw per document (issue: a flawed annotation costs that
/// annotation): an entity past the end of its text, a surface that differs from the text and a
/// duplicated id each lose their line only, the document and its other entities stay; a file
/// that cannot be decoded is skipped whole; every message names the user's own file and line;
/// a folder without any entity says so in one sentence.
#[test]
fn a_flawed_annotation_costs_that_annotation_and_names_the_users_file() {
    let Some((data, model, python)) = inputs() else {
        return;
    };
    let s = |p: &Path| p.to_str().unwrap().to_string();
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-flawed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let flat = tmp.join("flawed");
    std::fs::create_dir_all(&flat).unwrap();
    let stems = anatem_train_texts(&data);
    let mut t_lines = 0;
    let mut names = Vec::new();
    for txt in &stems {
        if names.len() == 10 {
            break;
        }
        let name = txt.file_stem().unwrap().to_string_lossy().into_owned();
        let ann = std::fs::read_to_string(txt.with_extension("ann")).unwrap();
        let mut lines: Vec<String> = ann.lines().map(String::from).collect();
        // Documents with at least two entities and nothing else, so that one can be lost.
        if lines.len() < 2 || !lines.iter().all(|l| l.starts_with('T')) {
            continue;
        }
        std::fs::copy(txt, flat.join(format!("{name}.txt"))).unwrap();
        match names.len() {
            // The first T line's end moved past the text.
            0 => {
                let f: Vec<&str> = lines[0].split('\t').collect();
                let ty = f[1].split(' ').next().unwrap();
                lines[0] = format!("{}\t{ty} 0 999999\t{}", f[0], f[2]);
            }
            // The first T line's surface no longer matches the text.
            1 => {
                let f: Vec<&str> = lines[0].split('\t').collect();
                lines[0] = format!("{}\t{}\tnot the text", f[0], f[1]);
            }
            // The first line again, with the same id.
            2 => lines.push(lines[0].clone()),
            _ => {}
        }
        t_lines += lines.len() - usize::from(names.len() < 3);
        let mut bytes = (lines.join("\n") + "\n").into_bytes();
        if names.len() == 3 {
            // A note line with a Latin-1 byte: the file cannot be decoded at all.
            bytes.extend_from_slice(b"#1\tAnnotatorNotes T1\tSchr\xf6der\n");
            t_lines -= lines.len();
        }
        std::fs::write(flat.join(format!("{name}.ann")), bytes).unwrap();
        names.push(name);
    }
    let shards = tmp.join("shards/flawed");
    let (ok, report) = enrelg(&[
        "data",
        "--corpus",
        &s(&flat),
        "--model",
        &s(&model),
        "--out",
        &s(&shards),
        "--python",
        &s(&python),
    ]);
    assert!(ok, "{report}");
    for (i, reason) in [
        (0, ".ann span past the end of the text"),
        (1, ".ann surface text differs from the .txt"),
        (2, "duplicate .ann id"),
    ] {
        let at = format!("{}:", flat.join(format!("{}.ann", names[i])).display());
        assert!(report.contains(reason) && report.contains(&at), "{reason} at {at}: {report}");
    }
    assert!(
        report.contains(&format!("{}:", flat.join(format!("{}.ann", names[3])).display())),
        "the undecodable file is named: {report}"
    );
    assert!(!report.contains(".corpus/standoff"), "messages name the user's files: {report}");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(shards.join("manifest.json")).unwrap())
            .unwrap();
    let stats = manifest["statistics"].as_object().unwrap();
    let docs: u64 = stats.values().map(|s| s["documents"].as_u64().unwrap()).sum();
    let entities: u64 =
        stats.values().map(|s| s["alignment"]["entities_in"].as_u64().unwrap()).sum();
    assert_eq!(docs, 9, "only the undecodable document is left out");
    assert_eq!(entities as usize, t_lines, "every other entity is in the shards");
    let skipped_lines: u64 =
        stats.values().map(|s| s["skipped"]["lines"].as_u64().unwrap_or(0)).sum();
    assert_eq!(skipped_lines, 3);

    // No entity anywhere: one sentence that says so and what to do.
    let empty = tmp.join("no-entities");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("a.txt"), "Nothing annotated here.").unwrap();
    std::fs::write(empty.join("a.ann"), "").unwrap();
    let (ok, report) = enrelg(&[
        "data",
        "--corpus",
        &s(&empty),
        "--model",
        &s(&model),
        "--out",
        &s(&tmp.join("shards/no-entities")),
        "--python",
        &s(&python),
    ]);
    assert!(!ok);
    assert!(
        report.contains(&format!(
            "{}: none of its 1 .ann files holds an entity (a T line), so there is nothing to learn; annotate entities in brat first",
            empty.display()
        )) && report.matches("holds an entity").count() == 1,
        "{report}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
