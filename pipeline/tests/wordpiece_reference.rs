//! `WordPieceTokenizer::from_vocab` (a checkpoint folder with `vocab.txt` and
//! `tokenizer_config.json`, as BERT models are published) against the Python
//! `tokenizers` library's `BertWordPieceTokenizer` over the same vocabulary
//! and settings: every word of real Mars and AnatEM text, uncased and cased,
//! with and without accent stripping, gets the same subtoken ids.
//!
//! Needs the model folder (`make model`) and the project's Python (`make venv`,
//! which installs `tokenizers`); skipped without them unless
//! ENRELG_REQUIRE_DATA is set, as in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use enrelg_pipeline::window::WordPieceTokenizer;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn inputs() -> Option<(PathBuf, PathBuf)> {
    let model = std::env::var_os("ENRELG_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("models/minilm"));
    let python = std::env::var_os("ENRELG_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    let present = model.join("vocab.txt").is_file() && python.is_file();
    if !present && std::env::var_os("ENRELG_REQUIRE_DATA").is_some() {
        panic!(
            "ENRELG_REQUIRE_DATA is set but {} or {} is missing (make model venv)",
            model.join("vocab.txt").display(),
            python.display()
        );
    }
    present.then_some((model, python))
}

/// Subtoken ids of each word by the Python library, with `settings` as tokenizer_config.json's.
fn python_ids(
    python: &Path,
    vocab: &Path,
    settings: &serde_json::Value,
    words: &[&str],
    dir: &Path,
) -> Vec<Vec<u32>> {
    let words_file = dir.join("words.json");
    std::fs::write(&words_file, serde_json::to_vec(words).unwrap()).unwrap();
    let script = r#"
import json, sys
from tokenizers import BertWordPieceTokenizer
vocab, settings, words = sys.argv[1], json.loads(sys.argv[2]), json.load(open(sys.argv[3], encoding="utf-8"))
tok = BertWordPieceTokenizer(vocab, clean_text=True, handle_chinese_chars=settings.get("tokenize_chinese_chars", True),
                             strip_accents=settings.get("strip_accents"), lowercase=settings.get("do_lower_case", True))
json.dump([tok.encode(w, add_special_tokens=False).ids for w in words], sys.stdout)
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(vocab)
        .arg(settings.to_string())
        .arg(&words_file)
        .output()
        .unwrap();
    assert!(out.status.success(), "python tokenizers: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn vocab_txt_tokenizes_as_pythons_bert_wordpiece_uncased_and_cased() {
    let Some((model, python)) = inputs() else {
        return;
    };
    let data = workspace().join("datasets");
    let mut text = std::fs::read_to_string(data.join("mars/standoff/test/2397.txt")).unwrap();
    let anatem = std::fs::read_dir(data.join("anatem/standoff/test"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .min()
        .unwrap();
    text += &std::fs::read_to_string(anatem).unwrap();
    let mut words: Vec<&str> = text.split_whitespace().collect();
    words.extend([
        "Schröder",
        "e\u{301}",
        "naïve",
        "北京",
        "Fe2O3",
        "ÅNGSTRÖM",
        "x\u{200b}y",
        "IL-2Rα",
        "(CD4+)",
        "μm",
    ]);
    words.sort_unstable();
    words.dedup();
    assert!(words.len() > 300, "{} distinct words", words.len());
    let dir = std::env::temp_dir().join(format!("enrelg-wordpiece-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(model.join("vocab.txt"), dir.join("vocab.txt")).unwrap();
    let settings = [
        serde_json::json!({}),
        serde_json::json!({"do_lower_case": false}),
        serde_json::json!({"do_lower_case": true, "strip_accents": false}),
        serde_json::json!({"do_lower_case": false, "strip_accents": true, "tokenize_chinese_chars": false}),
    ];
    let mut distinct = std::collections::BTreeSet::new();
    for s in &settings {
        std::fs::write(dir.join("tokenizer_config.json"), s.to_string()).unwrap();
        let ours = WordPieceTokenizer::from_model_dir(&dir).unwrap().subtokens(&words).unwrap();
        let reference = python_ids(&python, &dir.join("vocab.txt"), s, &words, &dir);
        for ((word, a), b) in words.iter().zip(&ours).zip(&reference) {
            assert_eq!(a, b, "{word:?} with {s}");
        }
        distinct.insert(ours);
    }
    assert_eq!(distinct.len(), settings.len(), "each setting tokenizes this text differently");
    std::fs::remove_dir_all(&dir).unwrap();
}
