//! The word vocabulary of the optional word-identity embedding.
//!
//! A classic BiLSTM-CNN-CRF input the feature CRF also relies on: the
//! identity of a word, learned from the training split alone. Words are
//! lowercased (casing is the shape embedding's job) with digits mapped to 0;
//! words seen fewer than `min_count` times share the unknown id, so that id
//! is trained on the rare words it will stand for at test time.

use std::collections::HashMap;

/// Id of padding positions.
pub const PAD: u32 = 0;
/// Id of every word outside the vocabulary.
pub const UNK: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordVocab {
    /// Known words in id order, from id 2 on.
    words: Vec<String>,
    index: HashMap<String, u32>,
}

/// The vocabulary key of a word form.
pub fn normalize(form: &str) -> String {
    form.chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_ascii_digit() { '0' } else { c })
        .collect()
}

impl WordVocab {
    /// Words seen at least `min_count` times, most frequent first (ties in
    /// alphabetical order, so the ids do not depend on the input order).
    pub fn from_forms<'a>(forms: impl IntoIterator<Item = &'a str>, min_count: usize) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for f in forms {
            *counts.entry(normalize(f)).or_default() += 1;
        }
        let mut kept: Vec<(String, usize)> =
            counts.into_iter().filter(|(_, n)| *n >= min_count).collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Self::from_words(kept.into_iter().map(|(w, _)| w).collect())
    }

    /// A vocabulary saved with [`WordVocab::words`].
    pub fn from_words(words: Vec<String>) -> Self {
        let index = words.iter().enumerate().map(|(i, w)| (w.clone(), i as u32 + 2)).collect();
        Self { words, index }
    }

    /// The known words in id order (what a run saves).
    pub fn words(&self) -> &[String] {
        &self.words
    }

    /// Ids in use, padding and unknown included: the embedding's row count.
    pub fn size(&self) -> usize {
        self.words.len() + 2
    }

    pub fn id(&self, form: &str) -> u32 {
        self.index.get(&normalize(form)).copied().unwrap_or(UNK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_frequent_words_lowercased_with_digits_folded() {
        let forms =
            ["Olivine", "olivine", "the", "The", "the", "Missoula", "CC_BT_0604a", "CC_BT_0605a"];
        let v = WordVocab::from_forms(forms, 2);
        assert_eq!(v.words(), ["the", "cc_bt_0000a", "olivine"]);
        assert_eq!(v.size(), 5);
        assert_eq!((v.id("THE"), v.id("cc_bt_1234A"), v.id("OLIVINE")), (2, 3, 4));
        assert_eq!(v.id("Missoula"), UNK, "seen once: unknown");
        assert_eq!(v.id("nontronite"), UNK);
        assert_eq!(
            WordVocab::from_words(v.words().to_vec()),
            v,
            "a saved vocabulary gives the same ids"
        );
    }

    #[test]
    fn ids_do_not_depend_on_the_order_of_the_text() {
        let a = WordVocab::from_forms(["b", "a", "b", "a", "c", "c", "c"], 1);
        let b = WordVocab::from_forms(["c", "a", "c", "b", "a", "c", "b"], 1);
        assert_eq!(a, b);
        assert_eq!(a.words(), ["c", "a", "b"]);
    }
}
