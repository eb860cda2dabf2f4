//! The parse export (`scripts/parse_conllu.py`, default spaCy pipeline) on a
//! handful of real Mars `.txt` files, ingested unchanged by our readers: every
//! TokenRange must slice the text to its FORM and every sentence must be one
//! valid tree (both are checked by the CoNLL-U reader, which errors otherwise).

use std::process::Command;

mod common;
use common::{data_dir, have, parse_python, workspace};

#[test]
fn spacy_export_is_read_back_by_the_rust_readers() {
    let (data, python) = (data_dir(), parse_python());
    if !have(&[&data.join("mars"), &python], "make parse-venv") {
        return;
    }
    let tmp = std::env::temp_dir().join(format!("enrelg-e2e-parse-{}", std::process::id()));
    let standoff = tmp.join("standoff/dev");
    std::fs::create_dir_all(&standoff).unwrap();
    for stem in ["1029", "1155", "1163", "1206"] {
        for ext in ["txt", "ann"] {
            std::fs::copy(
                data.join(format!("mars/standoff/dev/{stem}.{ext}")),
                standoff.join(format!("{stem}.{ext}")),
            )
            .unwrap();
        }
    }
    let out = Command::new(&python)
        .arg(workspace().join("scripts/parse_conllu.py"))
        .args(["--input"])
        .arg(tmp.join("standoff"))
        .arg("--output")
        .arg(tmp.join("conllu"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Up-to-date outputs are skipped on a second run.
    let again = Command::new(&python)
        .arg(workspace().join("scripts/parse_conllu.py"))
        .arg("--input")
        .arg(tmp.join("standoff"))
        .arg("--output")
        .arg(tmp.join("conllu"))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("0 documents to parse"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    let stats = Command::new(env!("CARGO_BIN_EXE_enrelg"))
        .args(["stats", "--json", "--manifest", "datasets/mars/manifest.json", "--corpus"])
        .arg(&tmp)
        .current_dir(workspace())
        .output()
        .unwrap();
    assert!(stats.status.success(), "{}", String::from_utf8_lossy(&stats.stderr));
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let dev = &v["splits"]["dev"];
    assert_eq!(dev["documents"], 4);
    assert!(
        dev["sentences"].as_u64().unwrap() > 50 && dev["tokens"].as_u64().unwrap() > 4000,
        "{dev}"
    );
    std::fs::remove_dir_all(&tmp).unwrap();
}
