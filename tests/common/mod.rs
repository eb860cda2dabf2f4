//! Helpers shared by the end-to-end tests (each test file uses some of them).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The workspace root: the tests run the binary from there. From the
/// variable `cargo test` sets when it runs a test: a test binary reused from
/// a build of another checkout (CI shares `CARGO_TARGET_DIR`) carries that
/// checkout's path in the compile-time value.
pub fn workspace() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from);
    manifest.parent().expect("workspace").to_path_buf()
}

/// What a test reads from outside the repository's sources: the variable `make test` sets
/// (`ENRELG_DATA_DIR`, ...), else the workspace's own folder or file.
pub fn input(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| workspace().join(default), PathBuf::from)
}

/// The corpora (`ENRELG_DATA_DIR`, else `datasets/`).
pub fn data_dir() -> PathBuf {
    input("ENRELG_DATA_DIR", "datasets")
}

/// The encoder's folder (`ENRELG_MODEL_DIR`, else `models/minilm`, from `make model`).
pub fn model_dir() -> PathBuf {
    input("ENRELG_MODEL_DIR", "models/minilm")
}

/// The pinned spaCy environment's Python (`ENRELG_PARSE_PYTHON`, else `make parse-venv`'s).
pub fn parse_python() -> PathBuf {
    input("ENRELG_PARSE_PYTHON", ".venv-parse/bin/python")
}

/// The tools' Python with polars (`ENRELG_PYTHON`, else `make venv`'s).
pub fn python() -> PathBuf {
    input("ENRELG_PYTHON", ".venv/bin/python")
}

/// Whether a missing input fails the test instead of skipping it (CI: `ENRELG_REQUIRE_DATA=1`).
pub fn required() -> bool {
    std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1")
}

/// Whether every path of `needs` exists; when one does not, the test skips (saying why) unless
/// inputs are [`required`], where it fails naming what is missing and `hint` (how to get it).
pub fn have(needs: &[&Path], hint: &str) -> bool {
    let missing: Vec<String> =
        needs.iter().filter(|p| !p.exists()).map(|p| p.display().to_string()).collect();
    if missing.is_empty() {
        return true;
    }
    assert!(!required(), "missing {} ({hint})", missing.join(", "));
    eprintln!("skipping: missing {} ({hint})", missing.join(", "));
    false
}

/// Copy the first `n` documents of each Mars split into `dst`.
pub fn small_corpus(src: &Path, dst: &Path, n: usize) {
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
                std::fs::copy(
                    src.join("standoff").join(split).join(format!("{stem}.{ext}")),
                    s.join(format!("{stem}.{ext}")),
                )
                .unwrap();
            }
            std::fs::copy(
                src.join("conllu").join(split).join(format!("{stem}.conllu")),
                c.join(format!("{stem}.conllu")),
            )
            .unwrap();
        }
    }
}

/// Copy a folder tree.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let to = dst.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &to);
        } else {
            std::fs::copy(&path, &to).unwrap();
        }
    }
}

/// A training configuration for the tests' tiny corpora: small batches and a
/// high rate, enough steps on a few documents for a model that finds
/// entities (which the offset checks need).
pub const FAST_TRAIN_TOML: &str = "batch_size = 2\nlr_head = 0.005\nwarmup = 0.0\n";
