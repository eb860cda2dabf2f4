//! Reading a Hugging Face checkpoint's tensors: `model.safetensors` through
//! the `safetensors` crate over a memory map, else `pytorch_model.bin`
//! through `pytorch-reader`. Both come out as f32 through one conversion.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: neither model.safetensors nor pytorch_model.bin", dir.display())]
    NoWeights { dir: PathBuf },
    #[error("{}: {message}", path.display())]
    Format { path: PathBuf, message: String },
}

/// A tensor of a checkpoint, converted to f32.
#[derive(Debug, Clone)]
pub struct RawTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The element types a checkpoint may store weights in.
#[derive(Debug, Clone, Copy)]
enum Element {
    F32,
    F16,
    BF16,
    I64,
}

impl Element {
    /// Little-endian `bytes` of this type as f32.
    fn to_f32(self, bytes: &[u8]) -> Vec<f32> {
        match self {
            Self::F32 => bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            Self::F16 => bytes
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Self::BF16 => bytes
                .chunks_exact(2)
                .map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            Self::I64 => bytes
                .chunks_exact(8)
                .map(|c| {
                    i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
        }
    }
}

/// The weights file of a checkpoint folder: `model.safetensors`, else `pytorch_model.bin`.
pub fn weights_path(dir: &Path) -> Result<PathBuf, CheckpointError> {
    ["model.safetensors", "pytorch_model.bin"]
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.exists())
        .ok_or_else(|| CheckpointError::NoWeights { dir: dir.to_path_buf() })
}

/// The checkpoint's tensors as f32, and the file they came from.
pub fn read_weights(dir: &Path) -> Result<(PathBuf, BTreeMap<String, RawTensor>), CheckpointError> {
    let path = weights_path(dir)?;
    let tensors = if path.extension().is_some_and(|e| e == "safetensors") {
        read_safetensors(&path)?
    } else {
        read_pytorch(&path)?
    };
    Ok((path, tensors))
}

fn read_safetensors(path: &Path) -> Result<BTreeMap<String, RawTensor>, CheckpointError> {
    use safetensors::Dtype;
    let err = |message: String| CheckpointError::Format { path: path.to_path_buf(), message };
    let file = std::fs::File::open(path)
        .map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })?;
    // SAFETY: the map is read-only and dropped before this function returns;
    // a checkpoint changed underneath a running process is outside what any
    // reader can guard against (the run records its SHA-256 to detect it later).
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|source| CheckpointError::Io { path: path.to_path_buf(), source })?;
    let st = safetensors::SafeTensors::deserialize(&map).map_err(|e| err(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.iter() {
        let element = match view.dtype() {
            Dtype::F32 => Element::F32,
            Dtype::F16 => Element::F16,
            Dtype::BF16 => Element::BF16,
            Dtype::I64 => Element::I64,
            other => return Err(err(format!("{name}: unsupported dtype {other:?}"))),
        };
        out.insert(
            name.to_string(),
            RawTensor { shape: view.shape().to_vec(), data: element.to_f32(view.data()) },
        );
    }
    Ok(out)
}

fn read_pytorch(path: &Path) -> Result<BTreeMap<String, RawTensor>, CheckpointError> {
    use pytorch_reader::DType;
    let err = |message: String| CheckpointError::Format { path: path.to_path_buf(), message };
    let reader = pytorch_reader::PytorchReader::new(path).map_err(|e| err(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, t) in reader.into_tensors() {
        let element = match t.dtype() {
            DType::F32 => Element::F32,
            DType::F16 => Element::F16,
            DType::BF16 => Element::BF16,
            DType::I64 => Element::I64,
            other => return Err(err(format!("{name}: unsupported dtype {other:?}"))),
        };
        let bytes = t.read().map_err(|e| err(e.to_string()))?;
        let data = element.to_f32(&bytes);
        let count: usize = t.shape().iter().product();
        if data.len() != count {
            return Err(err(format!("{name}: {} values for shape {:?}", data.len(), t.shape())));
        }
        out.insert(name, RawTensor { shape: t.shape().to_vec(), data });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_type_converts_to_f32() {
        assert_eq!(Element::F32.to_f32(&1.5f32.to_le_bytes()), [1.5]);
        assert_eq!(Element::F16.to_f32(&half::f16::from_f32(-2.0).to_le_bytes()), [-2.0]);
        assert_eq!(Element::BF16.to_f32(&half::bf16::from_f32(0.5).to_le_bytes()), [0.5]);
        assert_eq!(Element::I64.to_f32(&7i64.to_le_bytes()), [7.0]);
    }
}
