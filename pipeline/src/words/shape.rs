//! Word shape classes: casing and character makeup of a word's surface.
//!
//! An addition beyond the paper, off unless a model asks for it: uncased
//! encoders (all-MiniLM-L6-v2 lowercases) cannot see that Mars targets are
//! capitalised names or that "Fe" and "FE" differ, and a feature-based CRF
//! gets much of its strength from exactly this.

/// Number of shape classes (ids `0..NUM_SHAPES`).
pub const NUM_SHAPES: usize = 10;

/// A readable name of each shape class, by id (for people: `enrelg show`).
pub const SHAPE_NAMES: [&str; NUM_SHAPES] = [
    "punctuation",
    "number",
    "capitals and digits",
    "lowercase and digits",
    "one or two capitals",
    "all capitals",
    "Capitalised",
    "Capitalised, with - or .",
    "mixed case",
    "lowercase",
];

/// The shape class of a word.
pub fn shape(form: &str) -> u32 {
    let letters = form.chars().filter(|c| c.is_alphabetic()).count();
    let upper = form.chars().filter(|c| c.is_uppercase()).count();
    let digits = form.chars().filter(char::is_ascii_digit).count();
    let first_upper = form.chars().next().is_some_and(char::is_uppercase);
    let n = form.chars().count();
    match () {
        _ if letters == 0 && digits == 0 => 0, // punctuation, symbols
        _ if letters == 0 => 1,                // numbers
        _ if digits > 0 && upper > 0 => 2,     // chemical formulas, codes: SiO2, Fe2O3
        _ if digits > 0 => 3,                  // lowercase with digits
        _ if upper == letters && n <= 2 => 4,  // one or two capitals: K, FE
        _ if upper == letters => 5,            // all capitals: APXS
        _ if first_upper && upper == 1 && letters == n => 6, // capitalised word: Windjana, Fe
        _ if first_upper && upper == 1 => 7,   // Capitalised with hyphen or dot: Mg-sulfate
        _ if upper > 0 => 8,                   // mixed case: ChemCam, pH
        _ => 9,                                // lowercase
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        let cases = [
            (",", 0),
            ("1.5", 1),
            ("SiO2", 2),
            ("sol1159", 3),
            ("K", 4),
            ("APXS", 5),
            ("Windjana", 6),
            ("Mg-sulfate", 7),
            ("ChemCam", 8),
            ("jarosite", 9),
            ("Fe", 6),
            ("FE", 4),
        ];
        for (form, want) in cases {
            assert_eq!(shape(form), want, "{form}");
        }
        assert!(cases.iter().all(|(f, _)| (shape(f) as usize) < NUM_SHAPES));
    }
}
