//! Character ids of a word, the input of the trainer's optional character
//! CNN (Ma and Hovy, 2016). Case is kept: a capitalised rover target and a
//! lower-case mineral differ in their first character.
//!
//! Printable ASCII maps to `1..=95`, any other character to [`OTHER`], and
//! `0` is padding. A word longer than [`MAX_CHARS`] keeps its first
//! [`KEPT_PREFIX`] and last `MAX_CHARS - KEPT_PREFIX` characters: suffixes
//! such as "-ite" or "-ine" carry the type of a mineral.

/// Distinct ids, padding included.
pub const NUM_CHARS: usize = 97;
/// Any character outside printable ASCII.
pub const OTHER: u32 = 96;
/// Characters kept per word.
pub const MAX_CHARS: usize = 20;
const KEPT_PREFIX: usize = 8;

fn char_id(c: char) -> u32 {
    match c {
        ' '..='~' => c as u32 - ' ' as u32 + 1,
        _ => OTHER,
    }
}

/// The ids of `form`'s characters, at most [`MAX_CHARS`]; an empty form gives one [`OTHER`].
pub fn char_ids(form: &str) -> Vec<u32> {
    let chars: Vec<char> = form.chars().collect();
    if chars.is_empty() {
        return vec![OTHER];
    }
    let kept: Vec<char> = if chars.len() > MAX_CHARS {
        chars[..KEPT_PREFIX]
            .iter()
            .chain(&chars[chars.len() - (MAX_CHARS - KEPT_PREFIX)..])
            .copied()
            .collect()
    } else {
        chars
    };
    kept.into_iter().map(char_id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_keeps_case_and_others_share_one_id() {
        assert_eq!(char_ids("Fe"), vec![char_id('F'), char_id('e')]);
        assert_ne!(char_id('F'), char_id('f'));
        assert_eq!(char_ids("Schröder")[4], OTHER);
        assert_eq!(char_ids("µm"), vec![OTHER, char_id('m')]);
        assert_eq!(char_id(' '), 1);
        assert_eq!(char_id('~') as usize, NUM_CHARS - 2);
        assert_eq!(char_ids(""), vec![OTHER]);
        assert!(char_ids("\t").iter().all(|&c| c == OTHER));
    }

    #[test]
    fn long_words_keep_their_prefix_and_suffix() {
        let word = "orthopyroxenegarnetiferous-montmorillonite";
        let ids = char_ids(word);
        assert_eq!(ids.len(), MAX_CHARS);
        assert_eq!(ids[..KEPT_PREFIX], char_ids("orthopyr")[..]);
        assert_eq!(ids[KEPT_PREFIX..], char_ids("tmorillonite")[..]);
        assert_eq!(char_ids(&"a".repeat(MAX_CHARS)).len(), MAX_CHARS);
    }
}
