//! The vocabularies of the optional lexical embeddings: word identity and affixes.
//!
//! Classic BiLSTM-CNN-CRF inputs the feature CRF also relies on: the identity
//! of a word and its prefixes and suffixes, learned from the training split
//! alone. Keys are lowercased (casing is the shape embedding's job) with
//! digits mapped to 0; keys seen fewer than `min_count` times share the
//! unknown id, so that id is trained on the rare keys it will stand for at
//! test time.

use std::collections::HashMap;

use enrelg_pipeline::words::affix::affixes;

/// Id of padding positions.
pub const PAD: u32 = 0;
/// Id of every word outside the vocabulary (the model's unknown row).
pub const UNK: u32 = crate::model::enrelg::UNK_ID;

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

/// The lexical vocabularies a run embeds: word identities and affixes, each present when the
/// model gives it an embedding.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lexicon {
    pub words: Option<WordVocab>,
    pub affixes: Option<WordVocab>,
}

impl Lexicon {
    /// The vocabularies of a training split's word forms, for the embeddings that are on.
    pub fn from_forms<'a>(
        forms: impl Iterator<Item = &'a str> + Clone,
        with_words: bool,
        with_affixes: bool,
        min_count: usize,
    ) -> Self {
        Self {
            words: with_words.then(|| WordVocab::from_forms(forms.clone(), min_count)),
            affixes: with_affixes.then(|| {
                let keys: Vec<String> = forms.flat_map(affixes).collect();
                WordVocab::from_forms(keys.iter().map(String::as_str), min_count)
            }),
        }
    }

    /// Rows of the word and of the affix embedding (0 for one that is off).
    pub fn rows(&self) -> (usize, usize) {
        (
            self.words.as_ref().map_or(0, WordVocab::size),
            self.affixes.as_ref().map_or(0, WordVocab::size),
        )
    }

    /// Word ids of `forms` (empty without word identities).
    pub fn word_ids(&self, forms: &[String]) -> Vec<u32> {
        self.words.as_ref().map_or_else(Vec::new, |v| forms.iter().map(|f| v.id(f)).collect())
    }

    /// [`enrelg_pipeline::words::affix::AFFIXES`] affix ids per word of `forms`, word after word (empty without affixes).
    pub fn affix_ids(&self, forms: &[String]) -> Vec<u32> {
        self.affixes.as_ref().map_or_else(Vec::new, |v| {
            forms.iter().flat_map(|f| affixes(f).map(|k| v.id(&k))).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use enrelg_pipeline::words::affix::AFFIXES;

    #[test]
    fn a_lexicon_builds_only_the_vocabularies_asked_for() {
        let forms = ["olivine", "olivine", "pyroxene", "pyroxene"];
        let none = Lexicon::from_forms(forms.iter().copied(), false, false, 2);
        assert_eq!(none.rows(), (0, 0));
        let both = Lexicon::from_forms(forms.iter().copied(), true, true, 2);
        // Two words; 2 x 6 affix keys, ">ne" shared: 11 keys; each plus padding and unknown.
        assert_eq!(both.rows(), (4, 13));
        let f = vec!["Olivine".to_string(), "basalt".to_string()];
        assert_eq!(both.word_ids(&f)[1], UNK);
        let ids = both.affix_ids(&f);
        assert_eq!(ids.len(), 2 * AFFIXES);
        assert!(ids[..AFFIXES].iter().all(|&i| i > UNK), "every affix of olivine is known");
        assert_eq!(ids[AFFIXES + 4], UNK, "basalt's 'alt' is not");
        assert_eq!(ids[3], both.affix_ids(&["pyroxene".into()])[3], "'ne' shared");
    }

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
