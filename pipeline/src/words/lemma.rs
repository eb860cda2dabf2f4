//! Lemmas: the CoNLL-U LEMMA when the parse has one, else a Snowball
//! English stem of the lowercased form.

use rust_stemmers::{Algorithm, Stemmer};

use crate::read::document::Token;

pub struct Lemmatizer {
    stemmer: Stemmer,
}

impl Default for Lemmatizer {
    fn default() -> Self {
        Self { stemmer: Stemmer::create(Algorithm::English) }
    }
}

impl Lemmatizer {
    pub fn lemma(&self, token: &Token) -> String {
        match &token.lemma {
            Some(l) => l.to_lowercase(),
            None => self.stemmer.stem(&token.form.to_lowercase()).into_owned(),
        }
    }
}

/// English function words that never link in the coreference graph (the
/// common NLTK list, lowercased).
pub const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "may",
    "me",
    "might",
    "more",
    "most",
    "must",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "she",
    "should",
    "so",
    "some",
    "such",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "we",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

pub fn is_stop_word(form: &str) -> bool {
    // Most words are already lowercase ASCII: look them up without allocating.
    if form.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        return STOP_WORDS.binary_search(&form).is_ok();
    }
    let lower = form.to_lowercase();
    STOP_WORDS.binary_search(&lower.as_str()).is_ok()
}

/// Numbers in any common written form: `12`, `3.5`, `1,000`, `-2`, `10^3`, `2x`.
pub fn is_number(form: &str) -> bool {
    let digits = form.chars().filter(char::is_ascii_digit).count();
    digits > 0 && form.chars().all(|c| c.is_ascii_digit() || ".,-+^/x%".contains(c))
}

pub fn is_punctuation(form: &str) -> bool {
    form.chars().all(|c| !c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(form: &str, lemma: Option<&str>) -> Token {
        Token { lemma: lemma.map(String::from), ..Token::plain(form, 0, 0) }
    }

    #[test]
    fn conllu_lemma_wins_else_stem() {
        let l = Lemmatizer::default();
        assert_eq!(l.lemma(&token("Mice", Some("mouse"))), "mouse");
        assert_eq!(l.lemma(&token("Sulfates", None)), "sulfat");
        assert_eq!(l.lemma(&token("sulfate", None)), "sulfat");
    }

    #[test]
    fn stop_words_numbers_punctuation() {
        assert!(
            STOP_WORDS.windows(2).all(|w| w[0] < w[1]),
            "the list must stay sorted for binary search"
        );
        assert!(is_stop_word("The") && !is_stop_word("rock"));
        assert!(is_number("1,000") && is_number("3.5") && !is_number("Fe2O3") && !is_number("-"));
        assert!(is_punctuation("(") && is_punctuation("--") && !is_punctuation("a."));
    }
}
