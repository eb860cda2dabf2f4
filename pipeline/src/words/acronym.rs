//! Acronym detection in the manner of Schwartz & Hearst (2003), "A simple
//! algorithm for identifying abbreviation definitions in biomedical text".
//!
//! Two patterns around parentheses: "long form (SF)" and "SF (long form)".
//! A short form has 2-10 characters, at least one letter, and starts with a
//! letter or digit. The long form is found by matching the short form's
//! characters right to left inside the candidate text; the first short-form
//! character must start a word. Pairs are found once per document and then
//! apply to every later mention of the short form.

use crate::read::document::Document;

/// A definition: the short form at token `short` and its long form on tokens
/// `long_start..long_end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acronym {
    pub short_form: String,
    pub short: usize,
    pub long_start: usize,
    pub long_end: usize,
}

fn is_valid_short_form(sf: &str) -> bool {
    let n = sf.chars().count();
    (2..=10).contains(&n)
        && sf.chars().any(char::is_alphabetic)
        && sf.chars().next().is_some_and(char::is_alphanumeric)
}

/// Schwartz & Hearst's `findBestLongForm`: the shortest suffix of `long`
/// (in characters, starting at a word) that contains the characters of
/// `short` in order, the first one at a word start. Returns its start.
pub fn best_long_form(short: &str, long: &str) -> Option<usize> {
    let s: Vec<char> = short.chars().flat_map(char::to_lowercase).collect();
    let l: Vec<char> = long.chars().flat_map(char::to_lowercase).collect();
    if l.len() != long.chars().count() || s.len() != short.chars().count() {
        return None; // lowercasing changed lengths: offsets would not map back
    }
    let mut si = s.len() as isize - 1;
    let mut li = l.len() as isize - 1;
    while si >= 0 {
        let c = s[si as usize];
        if !c.is_alphanumeric() {
            si -= 1;
            continue;
        }
        while li >= 0
            && (l[li as usize] != c || (si == 0 && li > 0 && l[li as usize - 1].is_alphanumeric()))
        {
            li -= 1;
        }
        if li < 0 {
            return None;
        }
        li -= 1;
        si -= 1;
    }
    // Back to the start of the word holding the match.
    let mut start = (li + 1) as usize;
    while start > 0 && !l[start - 1].is_whitespace() {
        start -= 1;
    }
    Some(start)
}

/// All acronym definitions of a document, within sentences.
pub fn detect(doc: &Document) -> Vec<Acronym> {
    let mut out = Vec::new();
    for sent in &doc.sentences {
        let toks = &doc.tokens[sent.range()];
        for (i, t) in toks.iter().enumerate() {
            if t.form != "(" {
                continue;
            }
            let Some(close) = toks[i + 1..].iter().position(|t| t.form == ")").map(|p| i + 1 + p)
            else {
                continue;
            };
            let inside = i + 1..close;
            if inside.is_empty() || i == 0 {
                continue;
            }
            let base = sent.start;
            // "long form (SF)": the parenthesis holds one short-form token.
            if inside.len() == 1 && is_valid_short_form(&toks[inside.start].form) {
                let sf = &toks[inside.start].form;
                let n = sf.chars().count();
                let max_words = (n + 5).min(2 * n);
                let first = i.saturating_sub(max_words);
                if let Some(a) = match_long(doc, sf, base + inside.start, base + first, base + i) {
                    out.push(a);
                    continue;
                }
            }
            // "SF (long form)": the token before the parenthesis is the short form.
            let sf = &toks[i - 1].form;
            let n = sf.chars().count();
            if is_valid_short_form(sf) && inside.len() >= 2 && inside.len() <= (n + 5).min(2 * n) {
                if let Some(a) =
                    match_long(doc, sf, base + i - 1, base + inside.start, base + inside.end)
                {
                    out.push(a);
                }
            }
        }
    }
    out
}

/// Find the long form of `sf` among tokens `from..to`; it must cover at
/// least two characters more than the short form and not contain it.
fn match_long(doc: &Document, sf: &str, short: usize, from: usize, to: usize) -> Option<Acronym> {
    if from >= to {
        return None;
    }
    let (cstart, cend) = (doc.tokens[from].start, doc.tokens[to - 1].end);
    let candidate = doc.text.slice(cstart, cend)?;
    let offset = best_long_form(sf, candidate)?;
    let long_start = (from..to).find(|&k| doc.tokens[k].start >= cstart + offset)?;
    let long: Vec<&str> = doc.tokens[long_start..to].iter().map(|t| t.form.as_str()).collect();
    let long_chars: usize = long.iter().map(|w| w.chars().count()).sum();
    if long_chars <= sf.chars().count() || long.contains(&sf) {
        return None;
    }
    Some(Acronym { short_form: sf.to_string(), short, long_start, long_end: to })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::document::{Sentence, Token};
    use crate::read::text::Text;
    use std::collections::BTreeMap;

    /// Tokenise on spaces, one sentence.
    fn doc(text: &str) -> Document {
        let mut tokens = Vec::new();
        let mut pos = 0;
        for w in text.split(' ') {
            let n = w.chars().count();
            tokens.push(Token::plain(w, pos, pos + n));
            pos += n + 1;
        }
        let end = tokens.len();
        Document {
            id: "d".into(),
            text: Text::new(text.into()),
            tokens,
            sentences: vec![Sentence { id: None, start: 0, end }],
            entities: vec![],
            relations: vec![],
            annotation_lines: BTreeMap::new(),
        }
    }

    fn long_form(d: &Document, a: &Acronym) -> String {
        d.tokens[a.long_start..a.long_end]
            .iter()
            .map(|t| t.form.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn biomedical_definitions() {
        let d = doc("levels of vascular endothelial growth factor ( VEGF ) rose ; VEGF binds");
        let a = detect(&d);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].short_form, "VEGF");
        assert_eq!(long_form(&d, &a[0]), "vascular endothelial growth factor");
        let d = doc("the neural cell adhesion molecule ( NCAM ) is");
        assert_eq!(long_form(&d, &detect(&d)[0]), "neural cell adhesion molecule");
    }

    #[test]
    fn classic_cases_from_the_paper() {
        // Schwartz & Hearst's examples: internal letters, skipped words, digits.
        let d = doc("with heat shock transcription factor ( HSF ) binding");
        assert_eq!(long_form(&d, &detect(&d)[0]), "heat shock transcription factor");
        let d = doc("in the Gale crater Alpha Particle X-ray Spectrometer ( APXS ) data");
        assert_eq!(long_form(&d, &detect(&d)[0]), "Alpha Particle X-ray Spectrometer");
        let d = doc("using 5-hydroxytryptamine ( 5-HT ) receptors");
        assert_eq!(long_form(&d, &detect(&d)[0]), "5-hydroxytryptamine");
    }

    #[test]
    fn short_form_before_the_parenthesis() {
        let d = doc("measured by APXS ( Alpha Particle X-ray Spectrometer ) on");
        let a = detect(&d);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].short, 2);
        assert_eq!(long_form(&d, &a[0]), "Alpha Particle X-ray Spectrometer");
    }

    #[test]
    fn rejects_non_definitions() {
        for text in [
            "was found ( Fig ) here",      // letters not matched at word starts
            "in 2015 ( 12 ) cases",        // no letter
            "the sample ( see below ) is", // not a short form either way
            "a rock ( X ) here",           // single character
        ] {
            assert!(detect(&doc(text)).is_empty(), "{text}");
        }
        assert_eq!(best_long_form("HSF", "heat shock factor"), Some(0));
        assert_eq!(best_long_form("XYZ", "heat shock factor"), None);
    }
}
