//! Word prefixes and suffixes, the affix features a feature CRF reads.
//!
//! An addition beyond the paper, off unless a model asks for it: "-ite" and "-ene" mark minerals,
//! "osteo-" and "-al" anatomy, whatever the subword encoder made of the word. A model embeds each
//! affix through a vocabulary of the training split's affixes (the trainer's `data::vocab`).

/// Affix lengths, each taken as a prefix and as a suffix (the feature CRF's 2 to 4).
pub const AFFIX_LENGTHS: [usize; 3] = [2, 3, 4];

/// Affixes per word: every length of [`AFFIX_LENGTHS`] as a prefix, then as a suffix.
pub const AFFIXES: usize = 2 * AFFIX_LENGTHS.len();

/// The affixes of a word, prefixes first: `<` marks a prefix, `>` a suffix, and a word shorter
/// than a length gives the whole word for it (as Python's slicing in the feature CRF).
pub fn affixes(form: &str) -> [String; AFFIXES] {
    let chars: Vec<char> = form.chars().collect();
    let n = chars.len();
    std::array::from_fn(|k| {
        let len = AFFIX_LENGTHS[k % AFFIX_LENGTHS.len()].min(n);
        if k < AFFIX_LENGTHS.len() {
            std::iter::once('<').chain(chars[..len].iter().copied()).collect()
        } else {
            std::iter::once('>').chain(chars[n - len..].iter().copied()).collect()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affixes_are_the_crf_slices_of_the_word() {
        assert_eq!(affixes("Olivine"), ["<Ol", "<Oli", "<Oliv", ">ne", ">ine", ">vine"]);
        assert_eq!(affixes("Fe"), ["<Fe", "<Fe", "<Fe", ">Fe", ">Fe", ">Fe"]);
        assert_eq!(affixes("é"), ["<é", "<é", "<é", ">é", ">é", ">é"]);
        assert_eq!(affixes(""), ["<", "<", "<", ">", ">", ">"]);
    }
}
