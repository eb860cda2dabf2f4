//! Dataset manifests (`datasets/NAME/manifest.json`).
//!
//! A manifest pins where a corpus comes from (public sources, commits,
//! checksums, licence) and what the pipeline needs to know about it: the
//! entity types to label and how its splits map onto the EnRel-G release.

use std::path::{Path, PathBuf};

use enrelg_schemas::{LabelError, LabelSet};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ManifestError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {source}", path.display())]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("{}: label_types: {source}", path.display())]
    Labels { path: PathBuf, source: LabelError },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Source {
    pub name: String,
    pub repository: String,
    pub commit: String,
    pub paths: Vec<String>,
    pub license: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SplitSpec {
    /// Folder name under `standoff/` and `conllu/`.
    pub name: String,
    /// The EnRel-G release file holding the same documents.
    #[serde(default)]
    pub enrelg_file: Option<String>,
    pub documents: usize,
    /// For a corpus imported from a brat folder ([`crate::read::import`]): the
    /// source `.txt` of each document, relative to that folder, in id order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
}

/// Only `name`, `label_types` and `splits` are required; the provenance
/// fields (sources, checksums, licence, attribution) are for corpora that are
/// published, as Mars and AnatEM are.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub title: String,
    pub label_types: Vec<String>,
    pub splits: Vec<SplitSpec>,
    #[serde(default)]
    pub sources: Vec<Source>,
    /// SHA-256 of the EnRel-G release files, by file name.
    #[serde(default)]
    pub enrelg_sha256: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub license: String,
    #[serde(default)]
    pub attribution: String,
    /// How an imported corpus was split ([`crate::read::import`]), to repeat it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_rule: Option<String>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Self, ManifestError> {
        let bytes = std::fs::read(path)
            .map_err(|source| ManifestError::Io { path: path.to_path_buf(), source })?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .map_err(|source| ManifestError::Json { path: path.to_path_buf(), source })?;
        m.label_set()
            .map_err(|source| ManifestError::Labels { path: path.to_path_buf(), source })?;
        Ok(m)
    }

    pub fn label_set(&self) -> Result<LabelSet, LabelError> {
        LabelSet::new(self.label_types.iter().cloned())
    }

    /// The corpus split whose documents are in EnRel-G's `enrelg_split` file.
    pub fn split_for_enrelg(&self, enrelg_split: &str) -> Option<&str> {
        self.splits
            .iter()
            .find(|s| {
                s.enrelg_file.as_deref().is_some_and(|f| f.split('.').next() == Some(enrelg_split))
            })
            .map(|s| s.name.as_str())
    }
}
