//! Document text addressed by Unicode character offsets.
//!
//! brat and our CoNLL-U `TokenRange` count code points (Python string
//! indices), while Rust strings are indexed by bytes. `Text` keeps the byte
//! position of every character so that slicing by character offsets is O(1)
//! and never lands inside a multi-byte character.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    string: String,
    /// Byte offset of each character, plus the total byte length at the end.
    byte_of_char: Vec<usize>,
}

impl Text {
    pub fn new(string: String) -> Self {
        let mut byte_of_char: Vec<usize> = string.char_indices().map(|(b, _)| b).collect();
        byte_of_char.push(string.len());
        Self { string, byte_of_char }
    }

    pub fn as_str(&self) -> &str {
        &self.string
    }

    /// Length in characters.
    pub fn len_chars(&self) -> usize {
        self.byte_of_char.len() - 1
    }

    /// Characters `start..end`, or `None` when the range is reversed or out of bounds.
    pub fn slice(&self, start: usize, end: usize) -> Option<&str> {
        if start > end || end > self.len_chars() {
            return None;
        }
        Some(&self.string[self.byte_of_char[start]..self.byte_of_char[end]])
    }

    /// Character offset of a byte offset that lies on a character boundary.
    pub fn char_of_byte(&self, byte: usize) -> Option<usize> {
        self.byte_of_char.binary_search(&byte).ok()
    }

    /// The character at a character offset.
    pub fn char_at(&self, offset: usize) -> Option<char> {
        self.slice(offset, offset + 1).and_then(|s| s.chars().next())
    }
}

/// The byte order mark. brat, and any program that reads a `.txt` as UTF-8
/// (Python's `"utf-8"` codec), keep it as the text's first character, so a
/// document's offsets count it; in record formats (`.ann`, CoNLL-U, JSONL
/// lines) it is only an encoding signature.
pub const BOM: char = '\u{feff}';

/// Whitespace as the parser sees it: Python's `str.isspace()`, which spaCy
/// splits on, is Unicode's White_Space plus the information separators
/// U+001C..U+001F. Every check of which characters a token must cover uses
/// this rule, so a text the parser accepts is never refused here.
pub fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{1c}'..='\u{1f}')
}

/// Whether character `at` of a document lies outside every token by rule:
/// whitespace, or the byte order mark opening the text (the parser reads it
/// as a space, so that offsets still count it).
pub fn is_blank_at(at: usize, c: char) -> bool {
    is_space(c) || (at == 0 && c == BOM)
}

/// Whether a document holds no word at all.
pub fn is_blank(text: &str) -> bool {
    text.chars().enumerate().all(|(i, c)| is_blank_at(i, c))
}

/// Characters that end a line for Python's `str.splitlines`, and so for
/// brat's reader of `.ann` files: a surface written into an `.ann` line must
/// hold none of them.
pub fn is_line_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\u{b}'
            | '\u{c}'
            | '\r'
            | '\u{1c}'
            | '\u{1d}'
            | '\u{1e}'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Decode a record file's bytes (`.ann`, CoNLL-U, JSONL) as UTF-8 without a
/// byte order mark.
///
/// Returns the byte offset of the first invalid sequence on failure, so the
/// caller can name the place in its error.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, usize> {
    let mut s = decode_document(bytes)?;
    if s.starts_with(BOM) {
        s.drain(..BOM.len_utf8());
    }
    Ok(s)
}

/// Decode a document's bytes (a `.txt`) as UTF-8, keeping a byte order mark
/// as its first character, as brat counts it.
pub fn decode_document(bytes: Vec<u8>) -> Result<String, usize> {
    String::from_utf8(bytes).map_err(|e| e.utf8_error().valid_up_to())
}

/// Why a text file could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// Invalid UTF-8 at this 1-based line and column (in characters), byte offset.
    Encoding {
        line: usize,
        column: usize,
        byte: usize,
    },
}

/// Read a record file (`.ann`, CoNLL-U) as UTF-8 text without a byte order mark.
pub fn read_utf8_file(path: &std::path::Path) -> Result<String, ReadError> {
    read_with(path, decode_utf8)
}

/// Read a document (`.txt`) as UTF-8 text, a byte order mark kept ([`BOM`]).
pub fn read_document_file(path: &std::path::Path) -> Result<String, ReadError> {
    read_with(path, decode_document)
}

fn read_with(
    path: &std::path::Path,
    decode: fn(Vec<u8>) -> Result<String, usize>,
) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    decode(bytes.clone()).map_err(|byte| {
        let valid = String::from_utf8_lossy(&bytes[..byte]).into_owned();
        let (line, column) = line_col(&valid, valid.len());
        ReadError::Encoding { line, column, byte }
    })
}

/// 1-based line and column (in characters) of a byte offset, for error messages.
pub fn line_col(s: &str, byte: usize) -> (usize, usize) {
    let before = &s[..byte.min(s.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_by_characters_not_bytes() {
        let t = Text::new("Schröder saw Fe".to_string());
        assert_eq!(t.len_chars(), 15);
        assert_eq!(t.slice(13, 15), Some("Fe"));
        assert_eq!(t.slice(0, 8), Some("Schröder"));
        assert_eq!(t.slice(14, 16), None);
        assert_eq!(t.slice(3, 2), None);
        assert_eq!(t.char_of_byte(6), Some(5));
        assert_eq!(t.char_at(4), Some('ö'));
    }

    #[test]
    fn records_drop_the_bom_documents_keep_it_and_bad_bytes_are_placed() {
        assert_eq!(decode_utf8(b"\xef\xbb\xbfabc".to_vec()).unwrap(), "abc");
        assert_eq!(decode_document(b"\xef\xbb\xbfabc".to_vec()).unwrap(), "\u{feff}abc");
        assert_eq!(decode_utf8(b"ab\xe9c".to_vec()), Err(2));
        assert_eq!(decode_document(b"ab\xe9c".to_vec()), Err(2));
    }

    /// The sets as Python 3 computes them (`chr(c).isspace()`, and
    /// `len(("a" + chr(c) + "b").splitlines()) > 1`, over every code point).
    #[test]
    fn whitespace_and_line_breaks_are_pythons() {
        let space: Vec<u32> = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| is_space(c))
            .map(u32::from)
            .collect();
        let python = [
            0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
            0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
            0x2029, 0x202f, 0x205f, 0x3000,
        ];
        assert_eq!(space, python);
        let breaks: Vec<u32> = (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| is_line_break(c))
            .map(u32::from)
            .collect();
        assert_eq!(breaks, [0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029]);
        assert!(is_blank("\u{feff} \u{1c}\n") && !is_blank(" \u{feff}") && !is_blank("Fe"));
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
