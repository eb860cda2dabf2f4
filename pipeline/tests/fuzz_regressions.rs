//! Replays every input under `fuzz/regressions/TARGET/` (crashes the fuzzer
//! found, kept after the fix) and the seed corpora under `fuzz/seeds/TARGET/`
//! through the fuzz harnesses: none may panic.

use std::path::PathBuf;

use enrelg_pipeline::fuzzing;

fn replay(target: &str, harness: fn(&[u8])) {
    // The variable `cargo test` sets at run time: a binary reused from a
    // build of another checkout (a shared CARGO_TARGET_DIR) carries that
    // checkout's path in the compile-time value.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    let root = manifest.join("../fuzz");
    let mut n = 0;
    for dir in ["regressions", "seeds"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
            continue;
        };
        let mut files: Vec<_> =
            entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
        files.sort();
        for f in files {
            let data = std::fs::read(&f).unwrap();
            let result = std::panic::catch_unwind(|| harness(&data));
            assert!(result.is_ok(), "{} panics the {target} harness", f.display());
            n += 1;
        }
    }
    assert!(n > 0, "no inputs for {target}");
}

#[test]
fn brat_inputs() {
    replay("brat", fuzzing::brat);
}

#[test]
fn conllu_inputs() {
    replay("conllu", fuzzing::conllu);
}

#[test]
fn enrelg_inputs() {
    replay("enrelg", fuzzing::enrelg);
}

#[test]
fn document_inputs() {
    replay("document", fuzzing::document);
}

#[test]
fn tag_input_inputs() {
    replay("tag_input", fuzzing::tag_input);
}
