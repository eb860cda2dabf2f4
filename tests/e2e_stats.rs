//! End-to-end tests of `enrelg stats` and `enrelg compare` over the real
//! corpora in `datasets/` (or `ENRELG_DATA_DIR`).
//!
//! Without the data these tests say so and pass, unless
//! `ENRELG_REQUIRE_DATA=1` (set by CI), where missing data is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

mod common;
use common::{have, workspace};

fn data_dir() -> Option<PathBuf> {
    let dir = common::data_dir();
    have(&[&dir.join("stats.json")], "the corpora in datasets/").then_some(dir)
}

fn enrelg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("run enrelg")
}

fn json_of(args: &[&str]) -> Value {
    let out = enrelg(args);
    assert!(
        out.status.success(),
        "enrelg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn reference(data: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(data.join("stats.json")).unwrap()).unwrap()
}

/// (our corpus folder, manifest, name in stats.json, EnRel-G folder)
const CORPORA: [(&str, &str, &str); 2] = [("mars", "Mars", "Mars"), ("anatem", "AnatEM", "AnatEM")];

#[test]
fn standoff_stats_agree_with_the_reference_statistics() {
    let Some(data) = data_dir() else { return };
    let reference = reference(&data);
    for (name, ref_name, _) in CORPORA {
        let corpus = data.join(name);
        let manifest = format!("datasets/{name}/manifest.json");
        let ours = json_of(&[
            "stats",
            "--corpus",
            corpus.to_str().unwrap(),
            "--manifest",
            &manifest,
            "--json",
        ]);
        let theirs = &reference["corpora"][ref_name];
        let splits = theirs.as_object().unwrap();
        assert_eq!(ours["splits"].as_object().unwrap().len(), splits.len(), "{name}: split count");
        for (split, r) in splits {
            let o = &ours["splits"][split];
            for key in ["documents", "sentences", "tokens", "entities", "entities_total"] {
                assert_eq!(o[key], r[key], "{name} {split} {key}");
            }
            if let Some(kinds) = r.get("ann_line_kinds") {
                assert_eq!(&o["annotation_lines"], kinds, "{name} {split} annotation lines");
            }
            if let Some(other) = r.get("other_textbound_types") {
                assert_eq!(&o["alignment"]["excluded_types"], other, "{name} {split} other types");
            }
        }
    }
}

#[test]
fn enrelg_release_stats_agree_with_the_reference_statistics() {
    let Some(data) = data_dir() else { return };
    let reference = reference(&data);
    for (name, ref_name, folder) in CORPORA {
        let corpus = data.join("enrelg").join(folder);
        let manifest = format!("datasets/{name}/manifest.json");
        let ours = json_of(&[
            "stats",
            "--format",
            "enrelg",
            "--corpus",
            corpus.to_str().unwrap(),
            "--manifest",
            &manifest,
            "--json",
        ]);
        for (split, r) in reference["corpora"][ref_name].as_object().unwrap() {
            // The release names AnatEM's devel split "dev".
            let file_split = if split == "devel" { "dev" } else { split.as_str() };
            let o = &ours["splits"][file_split];
            let r = &r["enrelg_conll"];
            assert_eq!(o["documents"], r["documents"], "{name} {split} documents");
            assert_eq!(o["sentences"], r["segments"], "{name} {split} segments");
            assert_eq!(o["tokens"], r["tokens"], "{name} {split} tokens");
            assert_eq!(o["root_tokens"], r["ROOT_tokens"], "{name} {split} ROOT tokens");
            assert_eq!(o["entities"], r["entities"], "{name} {split} entities");
            assert_eq!(o["entities_total"], r["entities_total"], "{name} {split} entities total");
            assert_eq!(o["bio_violations"], r["bio_violations"], "{name} {split} BIO violations");
        }
    }
}

#[test]
fn mars_brat_vs_enrelg_differences_are_all_explained() {
    let Some(data) = data_dir() else { return };
    let reference = reference(&data);
    let ours = json_of(&[
        "compare",
        "--corpus",
        data.join("mars").to_str().unwrap(),
        "--enrelg",
        data.join("enrelg/Mars").to_str().unwrap(),
        "--manifest",
        "datasets/mars/manifest.json",
        "--json",
    ]);
    for (split, r) in reference["mars_brat_vs_enrelg"].as_object().unwrap() {
        for (key, v) in r.as_object().unwrap() {
            assert_eq!(&ours[split][key], v, "{split} {key}");
        }
        let o = &ours[split];
        let n = |k: &str| o[k].as_u64().unwrap();
        assert_eq!(n("unmatched_documents"), 0);
        // Every brat-only and EnRel-G-only entity falls in exactly one kind.
        let brat_kinds = [
            "same_span_other_type_in_enrelg",
            "inside_enrelg_chunk",
            "contains_enrelg_chunks",
            "crossing_enrelg_chunk",
            "no_enrelg_entity_there",
        ];
        assert_eq!(
            brat_kinds.iter().map(|k| n(&format!("brat_only_{k}"))).sum::<u64>(),
            n("brat_only")
        );
        assert_eq!(
            n("enrelg_only_overlaps_brat_entity") + n("enrelg_only_no_brat_entity_there"),
            n("enrelg_only")
        );
        // .ann count minus EnRel-G count is explained by these rows.
        let enrelg_total =
            reference["corpora"]["Mars"][split]["enrelg_conll"]["entities_total"].as_u64().unwrap();
        assert_eq!(n("brat_entities") - n("brat_only") + n("enrelg_only"), enrelg_total, "{split}");
    }
}

#[test]
fn expected_statistics_guard_detects_drift() {
    let Some(data) = data_dir() else { return };
    for (name, _, folder) in CORPORA {
        let manifest = format!("datasets/{name}/manifest.json");
        for (format, corpus, expected) in [
            ("standoff", data.join(name), format!("datasets/{name}/expected-stats.json")),
            (
                "enrelg",
                data.join("enrelg").join(folder),
                format!("datasets/{name}/expected-stats-enrelg.json"),
            ),
        ] {
            let corpus = corpus.to_str().unwrap().to_string();
            let args = [
                "stats",
                "--format",
                format,
                "--corpus",
                &corpus,
                "--manifest",
                &manifest,
                "--json",
                "--check",
            ];
            let out = enrelg(&[&args[..], &[expected.as_str()]].concat());
            assert!(out.status.success(), "{expected}: {}", String::from_utf8_lossy(&out.stderr));

            // A tampered expectation must fail and name the differing field.
            let mut v: Value =
                serde_json::from_slice(&std::fs::read(workspace().join(&expected)).unwrap())
                    .unwrap();
            let tokens = v["splits"]["train"]["tokens"].as_u64().unwrap();
            v["splits"]["train"]["tokens"] = Value::from(tokens + 1);
            let tampered = std::env::temp_dir()
                .join(format!("enrelg-tampered-{name}-{format}-{}.json", std::process::id()));
            std::fs::write(&tampered, serde_json::to_vec(&v).unwrap()).unwrap();
            let out = enrelg(&[&args[..], &[tampered.to_str().unwrap()]].concat());
            std::fs::remove_file(&tampered).unwrap();
            assert_eq!(out.status.code(), Some(1));
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                err.contains(&format!(
                    "splits.train.tokens: expected {}, found {tokens}",
                    tokens + 1
                )),
                "{err}"
            );
        }
    }
}

#[test]
fn a_corrupted_annotation_is_reported_with_file_and_line() {
    let Some(data) = data_dir() else { return };
    let tmp = std::env::temp_dir().join(format!("enrelg-corrupt-{}", std::process::id()));
    let (standoff, conllu) = (tmp.join("standoff/dev"), tmp.join("conllu/dev"));
    std::fs::create_dir_all(&standoff).unwrap();
    std::fs::create_dir_all(&conllu).unwrap();
    let src = data.join("mars");
    std::fs::copy(src.join("standoff/dev/1029.txt"), standoff.join("1029.txt")).unwrap();
    std::fs::copy(src.join("conllu/dev/1029.conllu"), conllu.join("1029.conllu")).unwrap();
    let ann = std::fs::read_to_string(src.join("standoff/dev/1029.ann")).unwrap();
    // Shift the third line's span by one character: its surface no longer matches.
    let mut lines: Vec<String> = ann.lines().map(String::from).collect();
    let line = lines[2].clone();
    let fields: Vec<&str> = line.split('\t').collect();
    let mut parts: Vec<String> = fields[1].split(' ').map(String::from).collect();
    let (s, e): (usize, usize) = (parts[1].parse().unwrap(), parts[2].parse().unwrap());
    parts[1] = (s + 1).to_string();
    parts[2] = (e + 1).to_string();
    lines[2] = format!("{}\t{}\t{}", fields[0], parts.join(" "), fields[2]);
    std::fs::write(standoff.join("1029.ann"), lines.join("\n") + "\n").unwrap();

    // By default the annotation is skipped and the summary names the place ...
    let out = enrelg(&["stats", "--corpus", tmp.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(".ann surface text differs from the .txt: 1") && err.contains("1029.ann:3:"),
        "{err}"
    );
    // ... and with --strict it is the error.
    let out = enrelg(&["stats", "--corpus", tmp.to_str().unwrap(), "--strict"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("1029.ann:3:"), "{err}");
    assert!(err.contains(fields[2]) && err.contains("1029.txt"), "{err}");

    // A missing parse is named too.
    std::fs::remove_file(conllu.join("1029.conllu")).unwrap();
    let out = enrelg(&["stats", "--corpus", tmp.to_str().unwrap(), "--strict"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("1029.conllu") && err.contains("missing"), "{err}");
    std::fs::remove_dir_all(&tmp).unwrap();
}
