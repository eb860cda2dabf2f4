//! 128-subtoken windows over a document, from the encoder's own tokenizer.
//!
//! Whole sentences are packed greedily into windows of at most
//! `max_subtokens` subtokens including [CLS] and [SEP]; a sentence longer
//! than that is split at word boundaries. Each word is represented by its
//! first subtoken. A word the tokenizer turns into nothing (a stray control
//! character, say) gets [UNK], and a single word longer than a whole window is
//! cut to fit; both are counted.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokenizers::Tokenizer;

use crate::read::document::Document;

#[derive(Debug, Error)]
pub enum WindowError {
    #[error("{}: cannot load tokenizer: {message}", path.display())]
    Load { path: PathBuf, message: String },
    #[error("{}: the vocabulary has no {token} token", path.display())]
    MissingSpecial { path: PathBuf, token: &'static str },
    #[error("document {doc}: tokenizer failed: {message}")]
    Encode { doc: String, message: String },
}

/// A model's WordPiece tokenizer with padding and truncation turned off
/// (all-MiniLM-L6-v2's `tokenizer.json` pads and truncates to 128, which
/// would silently drop words when counting subtokens per word).
///
/// A pre-tokenized word's subtokens do not depend on the words around it
/// (BERT's normaliser and pre-tokenizer work within a word, and WordPiece
/// within what they leave), so each distinct word is encoded once and
/// remembered: a corpus repeats its words, and the tokenizer is where the
/// pipeline's time went.
pub struct WordPieceTokenizer {
    tokenizer: Tokenizer,
    known: std::sync::RwLock<std::collections::HashMap<String, Vec<u32>>>,
    pub cls: u32,
    pub sep: u32,
    pub unk: u32,
    /// SHA-256 of the tokenizer file, to tie shards to the tokenizer.
    pub sha256: String,
    pub source: PathBuf,
}

impl WordPieceTokenizer {
    /// Load `tokenizer.json` from a Hugging Face model folder (or a file path).
    ///
    /// A folder without `tokenizer.json` but with `vocab.txt` (BERT checkpoints
    /// as their authors publish them: SciBERT, BioBERT) gets BERT's WordPiece
    /// built from the vocabulary and `tokenizer_config.json`
    /// ([`Self::from_vocab`]).
    pub fn from_model_dir(path: &Path) -> Result<Self, WindowError> {
        if path.is_dir() && !path.join("tokenizer.json").exists() && path.join("vocab.txt").exists()
        {
            return Self::from_vocab(path);
        }
        let file = if path.is_dir() { path.join("tokenizer.json") } else { path.to_path_buf() };
        let load = |message: String| WindowError::Load { path: file.clone(), message };
        let bytes = std::fs::read(&file).map_err(|e| load(e.to_string()))?;
        let mut tokenizer = Tokenizer::from_bytes(&bytes).map_err(|e| load(e.to_string()))?;
        tokenizer.with_padding(None);
        tokenizer.with_truncation(None).map_err(|e| load(e.to_string()))?;
        let id = |token: &'static str| {
            tokenizer
                .token_to_id(token)
                .ok_or(WindowError::MissingSpecial { path: file.clone(), token })
        };
        let (cls, sep, unk) = (id("[CLS]")?, id("[SEP]")?, id("[UNK]")?);
        let sha256 = crate::fs::sha256_hex(&bytes);
        Ok(Self { tokenizer, known: Default::default(), cls, sep, unk, sha256, source: file })
    }

    /// BERT's tokenizer from a folder's `vocab.txt` and `tokenizer_config.json`:
    /// the BERT normaliser (`do_lower_case`, `strip_accents`,
    /// `tokenize_chinese_chars`; BERT's defaults, lower case with accents
    /// stripped, when a key or the file is absent), BERT's pre-tokenizer and
    /// WordPiece with `##` continuations, as Hugging Face's `BertTokenizerFast`
    /// builds it. Its SHA-256 covers the vocabulary and those three settings,
    /// so a cased and an uncased load of one vocabulary are different tokenizers.
    pub fn from_vocab(dir: &Path) -> Result<Self, WindowError> {
        use tokenizers::models::wordpiece::WordPiece;
        use tokenizers::normalizers::bert::BertNormalizer;
        use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
        let file = dir.join("vocab.txt");
        let load =
            |path: &Path, message: String| WindowError::Load { path: path.to_path_buf(), message };
        let bytes = std::fs::read(&file).map_err(|e| load(&file, e.to_string()))?;
        let config_path = dir.join("tokenizer_config.json");
        let config: serde_json::Value = match std::fs::read(&config_path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| load(&config_path, e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(e) => return Err(load(&config_path, e.to_string())),
        };
        let flag = |key: &str, default: bool| {
            config.get(key).and_then(serde_json::Value::as_bool).unwrap_or(default)
        };
        let lowercase = flag("do_lower_case", true);
        let chinese = flag("tokenize_chinese_chars", true);
        // null or absent: strip accents exactly when lower-casing (BERT's rule).
        let strip_accents = config.get("strip_accents").and_then(serde_json::Value::as_bool);
        let vocab = WordPiece::read_bytes(&bytes).map_err(|e| load(&file, e.to_string()))?;
        let model = WordPiece::builder()
            .vocab(vocab)
            .unk_token("[UNK]".into())
            .build()
            .map_err(|e| load(&file, e.to_string()))?;
        let mut tokenizer = Tokenizer::new(model);
        tokenizer
            .with_normalizer(Some(BertNormalizer::new(true, chinese, strip_accents, lowercase)))
            .map_err(|e| load(&file, e.to_string()))?;
        tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
        let id = |token: &'static str| {
            tokenizer
                .token_to_id(token)
                .ok_or(WindowError::MissingSpecial { path: file.clone(), token })
        };
        let (cls, sep, unk) = (id("[CLS]")?, id("[SEP]")?, id("[UNK]")?);
        let mut keyed = bytes;
        keyed.extend_from_slice(format!("\0do_lower_case={lowercase} strip_accents={strip_accents:?} tokenize_chinese_chars={chinese}").as_bytes());
        let sha256 = crate::fs::sha256_hex(&keyed);
        Ok(Self { tokenizer, known: Default::default(), cls, sep, unk, sha256, source: file })
    }

    /// Subtoken ids of each word of `words`.
    pub fn subtokens(&self, words: &[&str]) -> Result<Vec<Vec<u32>>, String> {
        let mut unseen: Vec<&str> = {
            let known = self.known.read().map_err(|e| e.to_string())?;
            words.iter().copied().filter(|w| !known.contains_key(*w)).collect()
        };
        if !unseen.is_empty() {
            unseen.sort_unstable();
            unseen.dedup();
            let encoded = self.encode(&unseen)?;
            let mut known = self.known.write().map_err(|e| e.to_string())?;
            for (word, ids) in unseen.into_iter().zip(encoded) {
                known.insert(word.to_string(), ids);
            }
        }
        let known = self.known.read().map_err(|e| e.to_string())?;
        words
            .iter()
            .map(|w| known.get(*w).cloned().ok_or_else(|| format!("word {w:?} was not encoded")))
            .collect()
    }

    /// Subtoken ids of each word, by the tokenizer itself (one call for all).
    fn encode(&self, words: &[&str]) -> Result<Vec<Vec<u32>>, String> {
        let mut out = vec![Vec::new(); words.len()];
        if words.is_empty() {
            return Ok(out);
        }
        let enc = self.tokenizer.encode(words, false).map_err(|e| e.to_string())?;
        for (id, word) in enc.get_ids().iter().zip(enc.get_word_ids()) {
            if let Some(w) = word {
                out[*w as usize].push(*id);
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct WindowConfig {
    /// Subtokens per window including [CLS] and [SEP] (128 in the paper).
    pub max_subtokens: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { max_subtokens: 128 }
    }
}

/// Words `word_start..word_end` of a document as one encoder input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub doc_id: String,
    /// Position of this window in its document.
    pub index: usize,
    pub word_start: usize,
    pub word_end: usize,
    /// [CLS] subtokens... [SEP].
    pub input_ids: Vec<u32>,
    /// Index into `input_ids` of each word's first subtoken.
    pub word_first_subtoken: Vec<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowReport {
    pub windows: usize,
    pub subtokens: usize,
    /// Sentences longer than a window, split at word boundaries.
    pub sentences_split: usize,
    /// Words that produced no subtoken and were given [UNK].
    pub words_without_subtokens: usize,
    /// Words longer than a whole window, cut to fit.
    pub words_truncated: usize,
}

impl WindowReport {
    pub fn merge(&mut self, o: &WindowReport) {
        self.windows += o.windows;
        self.subtokens += o.subtokens;
        self.sentences_split += o.sentences_split;
        self.words_without_subtokens += o.words_without_subtokens;
        self.words_truncated += o.words_truncated;
    }
}

/// Cut a document into windows.
pub fn windows(
    doc: &Document,
    tok: &WordPieceTokenizer,
    cfg: &WindowConfig,
) -> Result<(Vec<Window>, WindowReport), WindowError> {
    let budget = cfg.max_subtokens.saturating_sub(2).max(1);
    let mut report = WindowReport::default();
    // Subtokens per word (each distinct word is encoded once: WordPieceTokenizer).
    let mut pieces: Vec<Vec<u32>> = Vec::with_capacity(doc.tokens.len());
    let words: Vec<&str> = doc.tokens.iter().map(|t| t.form.as_str()).collect();
    let subs = tok
        .subtokens(&words)
        .map_err(|message| WindowError::Encode { doc: doc.id.clone(), message })?;
    for mut s in subs {
        if s.is_empty() {
            report.words_without_subtokens += 1;
            s.push(tok.unk);
        }
        if s.len() > budget {
            report.words_truncated += 1;
            s.truncate(budget);
        }
        pieces.push(s);
    }
    let units = units(doc, &pieces, budget, &mut report);
    // Greedy packing of units into windows.
    let mut out: Vec<Window> = Vec::new();
    let mut current: Option<(usize, usize, usize)> = None;
    let flush = |c: (usize, usize, usize), out: &mut Vec<Window>| {
        let mut input_ids = vec![tok.cls];
        let mut firsts = Vec::with_capacity(c.1 - c.0);
        for p in &pieces[c.0..c.1] {
            firsts.push(input_ids.len() as u32);
            input_ids.extend_from_slice(p);
        }
        input_ids.push(tok.sep);
        out.push(Window {
            doc_id: doc.id.clone(),
            index: out.len(),
            word_start: c.0,
            word_end: c.1,
            input_ids,
            word_first_subtoken: firsts,
        });
    };
    for u in units {
        current = match current {
            Some(c) if c.2 + u.2 <= budget => Some((c.0, u.1, c.2 + u.2)),
            Some(c) => {
                flush(c, &mut out);
                Some(u)
            }
            None => Some(u),
        };
    }
    if let Some(c) = current {
        flush(c, &mut out);
    }
    report.windows = out.len();
    report.subtokens = out.iter().map(|w| w.input_ids.len()).sum();
    Ok((out, report))
}

/// Units that must not be split, as (first word, end word, subtokens): sentences, or pieces of
/// over-long sentences cut where the next word would pass `budget`.
fn units(
    doc: &Document,
    pieces: &[Vec<u32>],
    budget: usize,
    report: &mut WindowReport,
) -> Vec<(usize, usize, usize)> {
    let mut units: Vec<(usize, usize, usize)> = Vec::new();
    for sent in &doc.sentences {
        let total: usize = pieces[sent.range()].iter().map(Vec::len).sum();
        if total <= budget {
            units.push((sent.start, sent.end, total));
            continue;
        }
        report.sentences_split += 1;
        let (mut start, mut size) = (sent.start, 0);
        for w in sent.range() {
            if size + pieces[w].len() > budget && w > start {
                units.push((start, w, size));
                start = w;
                size = 0;
            }
            size += pieces[w].len();
        }
        units.push((start, sent.end, size));
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real tokenizer (`make model`; `make test` sets ENRELG_MODEL_DIR).
    fn tokenizer() -> Option<WordPieceTokenizer> {
        let dir = std::env::var_os("ENRELG_MODEL_DIR").map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/minilm"))
        });
        if !dir.join("tokenizer.json").exists() {
            assert!(
                !std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1"),
                "no tokenizer in {}",
                dir.display()
            );
            eprintln!("skipping: no model (make model)");
            return None;
        }
        Some(WordPieceTokenizer::from_model_dir(&dir).unwrap())
    }

    #[test]
    fn remembered_subtokens_are_the_tokenizers_in_any_context() {
        let Some(tok) = tokenizer() else { return };
        let doc = [
            "Nontronite",
            "and",
            "hematite",
            "(",
            "Fe2O3",
            ")",
            "at",
            "Gale",
            "crater",
            ",",
            "nontronite",
            "again",
            "e\u{301}",
            "é",
            "\u{7}",
        ];
        let cold = tok.encode(&doc).unwrap();
        assert!(cold[0].len() > 1 && cold[14].is_empty(), "{cold:?}");
        assert_eq!(tok.subtokens(&doc).unwrap(), cold, "first sight");
        let mut reversed = doc.to_vec();
        reversed.reverse();
        assert_eq!(
            tok.subtokens(&reversed).unwrap(),
            tok.encode(&reversed).unwrap(),
            "from memory, in another order"
        );
        assert!(tok.subtokens(&[]).unwrap().is_empty());
    }

    /// A folder as BERT checkpoints are published (`vocab.txt` +
    /// `tokenizer_config.json`, no `tokenizer.json`) tokenizes every word of
    /// real Mars text as the model's own `tokenizer.json` (Hugging Face's
    /// serialisation of the same BERT WordPiece) does; `do_lower_case: false`
    /// keeps case.
    #[test]
    fn a_vocab_txt_folder_tokenizes_as_tokenizer_json() {
        let Some(json) = tokenizer() else { return };
        let dir = std::env::temp_dir().join(format!("enrelg-vocab-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let model = json.source.parent().unwrap();
        for f in ["vocab.txt", "tokenizer_config.json"] {
            std::fs::copy(model.join(f), dir.join(f)).unwrap();
        }
        let vocab = WordPieceTokenizer::from_model_dir(&dir).unwrap();
        assert_eq!(vocab.source, dir.join("vocab.txt"));
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../datasets/mars/standoff/test/2397.txt"
        ))
        .unwrap();
        let mut words: Vec<&str> = text.split_whitespace().collect();
        words.extend([
            "Schröder",
            "e\u{301}",
            "naïve",
            "北京",
            "\u{7}",
            "Fe2O3",
            "ÅNGSTRÖM",
            "x\u{200b}y",
        ]);
        assert!(words.len() > 20);
        assert_eq!(vocab.encode(&words).unwrap(), json.encode(&words).unwrap());
        assert_eq!((vocab.cls, vocab.sep, vocab.unk), (json.cls, json.sep, json.unk));
        // Cased: "Gale" is no longer "gale".
        std::fs::write(dir.join("tokenizer_config.json"), r#"{"do_lower_case": false}"#).unwrap();
        let cased = WordPieceTokenizer::from_model_dir(&dir).unwrap();
        assert_ne!(cased.encode(&["Gale"]).unwrap(), vocab.encode(&["Gale"]).unwrap());
        assert_eq!(cased.encode(&["gale"]).unwrap(), vocab.encode(&["gale"]).unwrap());
        assert_ne!(cased.sha256, vocab.sha256, "the settings are part of the tokenizer's identity");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
