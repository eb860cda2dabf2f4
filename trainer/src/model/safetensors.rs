//! A minimal reader for the safetensors format: an 8-byte little-endian
//! header length, a JSON header naming each tensor's dtype, shape and byte
//! range, then the raw data. Tensors come out as f32.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SafetensorsError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
}

#[derive(Debug, Clone)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

#[derive(serde::Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [usize; 2],
}

pub fn read(path: &Path) -> Result<BTreeMap<String, RawTensor>, SafetensorsError> {
    let bytes = std::fs::read(path).map_err(|source| SafetensorsError::Io { path: path.to_path_buf(), source })?;
    parse(&bytes).map_err(|message| SafetensorsError::Format { path: path.to_path_buf(), message })
}

pub fn parse(bytes: &[u8]) -> Result<BTreeMap<String, RawTensor>, String> {
    let len = u64::from_le_bytes(bytes.get(..8).ok_or("file shorter than its 8-byte header length")?.try_into().map_err(|_| "bad header")?) as usize;
    let header = bytes.get(8..8 + len).ok_or("header length past the end of the file")?;
    let data = &bytes[8 + len..];
    let entries: BTreeMap<String, serde_json::Value> = serde_json::from_slice(header).map_err(|e| format!("header: {e}"))?;
    let mut out = BTreeMap::new();
    for (name, value) in entries {
        if name == "__metadata__" {
            continue;
        }
        let e: Entry = serde_json::from_value(value).map_err(|err| format!("{name}: {err}"))?;
        let [s, t] = e.data_offsets;
        let raw = data.get(s..t).ok_or_else(|| format!("{name}: data range {s}..{t} past the end"))?;
        let count: usize = e.shape.iter().product();
        let values: Vec<f32> = match e.dtype.as_str() {
            "F32" => raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
            "F16" => raw.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            "BF16" => raw.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
            "I64" => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32).collect(),
            other => return Err(format!("{name}: unsupported dtype {other}")),
        };
        if values.len() != count {
            return Err(format!("{name}: {} values for shape {:?}", values.len(), e.shape));
        }
        out.insert(name, RawTensor { shape: e.shape, data: values });
    }
    Ok(out)
}
