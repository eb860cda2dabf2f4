//! Entity label sets and their BIO encoding.

use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum LabelError {
    #[error("label set is empty")]
    Empty,
    #[error("entity type {0:?} appears twice in the label set")]
    Duplicate(String),
    #[error("entity type {0:?} is not a valid type name (empty, whitespace, or starts with \"B-\"/\"I-\")")]
    BadName(String),
    #[error("unknown label {0:?}: expected O, B-TYPE or I-TYPE with TYPE in the label set")]
    UnknownLabel(String),
    #[error("tags [{0}] are not O followed by a B-/I- pair per type")]
    NotBio(String),
    #[error("auxiliary types [{0}] are not the last types of the tags")]
    AuxiliaryNotLast(String),
}

/// The entity types of a corpus, in a fixed order.
///
/// The BIO tag indices are `0 = O`, then `B-t` at `1 + 2i` and `I-t` at
/// `2 + 2i` for the `i`-th type, so a label set fully determines the tag
/// vocabulary of a model trained on it.
///
/// The last types may be auxiliary: labelled and learned, but not scored,
/// and never allowed to displace an entity of a scored type (they come after
/// the scored ones).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSet {
    types: Vec<String>,
    /// How many leading types are scored; the rest are auxiliary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scored: Option<usize>,
}

impl LabelSet {
    pub fn new<S: Into<String>>(types: impl IntoIterator<Item = S>) -> Result<Self, LabelError> {
        let types: Vec<String> = types.into_iter().map(Into::into).collect();
        if types.is_empty() {
            return Err(LabelError::Empty);
        }
        for (i, t) in types.iter().enumerate() {
            if t.is_empty()
                || t.chars().any(char::is_whitespace)
                || t.starts_with("B-")
                || t.starts_with("I-")
            {
                return Err(LabelError::BadName(t.clone()));
            }
            if types[..i].contains(t) {
                return Err(LabelError::Duplicate(t.clone()));
            }
        }
        Ok(Self { types, scored: None })
    }

    /// The scored `types` followed by `auxiliary` ones (none may repeat).
    pub fn with_auxiliary<S: Into<String>>(
        types: impl IntoIterator<Item = S>,
        auxiliary: impl IntoIterator<Item = S>,
    ) -> Result<Self, LabelError> {
        let scored: Vec<String> = types.into_iter().map(Into::into).collect();
        let n = scored.len();
        let mut set = Self::new(scored.into_iter().chain(auxiliary.into_iter().map(Into::into)))?;
        if n < set.types.len() {
            set.scored = Some(n);
        }
        Ok(set)
    }

    /// The label set behind BIO `tags` (O, then a B-/I- pair per type),
    /// with the `auxiliary` types among them last.
    pub fn from_tags<S: AsRef<str>>(tags: &[S], auxiliary: &[S]) -> Result<Self, LabelError> {
        let types: Vec<&str> = tags.iter().filter_map(|t| t.as_ref().strip_prefix("B-")).collect();
        let n = types.len().checked_sub(auxiliary.len()).ok_or(LabelError::Empty)?;
        let aux: Vec<&str> = auxiliary.iter().map(AsRef::as_ref).collect();
        if types[n..] != aux[..] {
            return Err(LabelError::AuxiliaryNotLast(aux.join(", ")));
        }
        let set = Self::with_auxiliary(types[..n].iter().copied(), aux.iter().copied())?;
        if !set.tags().iter().map(String::as_str).eq(tags.iter().map(AsRef::as_ref)) {
            return Err(LabelError::NotBio(
                tags.iter().map(|t| t.as_ref()).collect::<Vec<_>>().join(" "),
            ));
        }
        Ok(set)
    }

    /// The BIO tags in index order, with those of auxiliary types read as O:
    /// what a model that learns auxiliary types is scored on and writes.
    pub fn scored_tags(&self) -> Vec<String> {
        let scored = self.scored_types().len();
        let mut out = vec!["O".to_string()];
        for (i, t) in self.types.iter().enumerate() {
            let (b, inside) = if i < scored {
                (format!("B-{t}"), format!("I-{t}"))
            } else {
                ("O".into(), "O".into())
            };
            out.extend([b, inside]);
        }
        out
    }

    /// The types that are scored (all of them unless some are auxiliary).
    pub fn scored_types(&self) -> &[String] {
        &self.types[..self.scored.unwrap_or(self.types.len())]
    }

    /// The auxiliary types (learned, not scored).
    pub fn auxiliary_types(&self) -> &[String] {
        &self.types[self.scored.unwrap_or(self.types.len())..]
    }

    pub fn is_auxiliary(&self, ty: &str) -> bool {
        self.auxiliary_types().iter().any(|t| t == ty)
    }

    /// One generic type, `Entity`: for counting a corpus with no types at all.
    pub fn fallback() -> Self {
        Self { types: vec!["Entity".to_string()], scored: None }
    }

    pub fn types(&self) -> &[String] {
        &self.types
    }

    pub fn type_index(&self, ty: &str) -> Option<usize> {
        self.types.iter().position(|t| t == ty)
    }

    pub fn contains(&self, ty: &str) -> bool {
        self.type_index(ty).is_some()
    }

    /// Number of BIO tags: O plus B- and I- per type.
    pub fn num_tags(&self) -> usize {
        1 + 2 * self.types.len()
    }

    /// All BIO tags in index order.
    pub fn tags(&self) -> Vec<String> {
        let mut out = vec!["O".to_string()];
        for t in &self.types {
            out.push(format!("B-{t}"));
            out.push(format!("I-{t}"));
        }
        out
    }

    pub fn tag_index(&self, label: &str) -> Result<usize, LabelError> {
        if label == "O" {
            return Ok(0);
        }
        let unknown = || LabelError::UnknownLabel(label.to_string());
        let (prefix, ty) = label.split_once('-').ok_or_else(unknown)?;
        let i = self.type_index(ty).ok_or_else(unknown)?;
        match prefix {
            "B" => Ok(1 + 2 * i),
            "I" => Ok(2 + 2 * i),
            _ => Err(unknown()),
        }
    }

    pub fn tag(&self, index: usize) -> Option<String> {
        match index {
            0 => Some("O".to_string()),
            i if i < self.num_tags() => {
                let ty = &self.types[(i - 1) / 2];
                Some(if i % 2 == 1 { format!("B-{ty}") } else { format!("I-{ty}") })
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_indices_round_trip() {
        let ls = LabelSet::new(["Element", "Mineral", "Target"]).unwrap();
        assert_eq!(ls.num_tags(), 7);
        for (i, tag) in ls.tags().iter().enumerate() {
            assert_eq!(ls.tag_index(tag).unwrap(), i);
            assert_eq!(ls.tag(i).as_deref(), Some(tag.as_str()));
        }
        assert_eq!(ls.tag(7), None);
        assert_eq!(ls.tag_index("B-Cell"), Err(LabelError::UnknownLabel("B-Cell".into())));
        assert!(ls.tag_index("E-Element").is_err());
    }

    #[test]
    fn auxiliary_types_follow_the_scored_ones() {
        let ls = LabelSet::with_auxiliary(["Element", "Target"], ["Locality"]).unwrap();
        assert_eq!(
            ls.tags(),
            ["O", "B-Element", "I-Element", "B-Target", "I-Target", "B-Locality", "I-Locality"]
        );
        assert_eq!(ls.scored_types(), ["Element", "Target"]);
        assert_eq!(ls.auxiliary_types(), ["Locality"]);
        assert!(ls.is_auxiliary("Locality") && !ls.is_auxiliary("Target"));
        assert_eq!(
            LabelSet::with_auxiliary(["Element"], ["Element"]),
            Err(LabelError::Duplicate("Element".into()))
        );
        // No auxiliary types: the plain label set.
        assert_eq!(
            LabelSet::with_auxiliary(["Element"], Vec::<&str>::new()).unwrap(),
            LabelSet::new(["Element"]).unwrap()
        );
        assert!(LabelSet::new(["Element"]).unwrap().auxiliary_types().is_empty());
    }

    #[test]
    fn a_label_set_is_read_back_from_its_tags() {
        let ls = LabelSet::with_auxiliary(["Element", "Target"], ["Locality"]).unwrap();
        assert_eq!(LabelSet::from_tags(&ls.tags(), &["Locality".to_string()]).unwrap(), ls);
        assert_eq!(
            ls.scored_tags(),
            ["O", "B-Element", "I-Element", "B-Target", "I-Target", "O", "O"]
        );
        let plain = LabelSet::new(["Element"]).unwrap();
        assert_eq!(LabelSet::from_tags(&plain.tags(), &[]).unwrap(), plain);
        assert_eq!(plain.scored_tags(), plain.tags());
        assert!(matches!(
            LabelSet::from_tags(&["O", "I-Element", "B-Element"], &[]),
            Err(LabelError::NotBio(_))
        ));
        assert!(matches!(
            LabelSet::from_tags(&ls.tags(), &["Element".to_string()]),
            Err(LabelError::AuxiliaryNotLast(_))
        ));
    }

    #[test]
    fn rejects_bad_sets() {
        assert_eq!(LabelSet::new(Vec::<String>::new()), Err(LabelError::Empty));
        assert_eq!(LabelSet::new(["A", "A"]), Err(LabelError::Duplicate("A".into())));
        assert!(LabelSet::new(["two words"]).is_err());
    }
}
