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

/// Decode a file's bytes as UTF-8 without a byte order mark.
///
/// Returns the byte offset of the first invalid sequence on failure, so the
/// caller can name the place in its error.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, usize> {
    let mut s = String::from_utf8(bytes).map_err(|e| e.utf8_error().valid_up_to())?;
    if s.starts_with('\u{feff}') {
        s.drain(..'\u{feff}'.len_utf8());
    }
    Ok(s)
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

/// Read a file as UTF-8 text without a byte order mark.
pub fn read_utf8_file(path: &std::path::Path) -> Result<String, ReadError> {
    let bytes = std::fs::read(path).map_err(ReadError::Io)?;
    decode_utf8(bytes.clone()).map_err(|byte| {
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
    fn strips_bom_and_reports_bad_bytes() {
        assert_eq!(decode_utf8(b"\xef\xbb\xbfabc".to_vec()).unwrap(), "abc");
        assert_eq!(decode_utf8(b"ab\xe9c".to_vec()), Err(2));
    }

    #[test]
    fn line_and_column() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 0), (1, 1));
    }
}
