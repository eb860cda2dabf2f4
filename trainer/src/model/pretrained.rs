//! Loading a pretrained encoder from a local Hugging Face checkpoint folder
//! (`config.json` + `model.safetensors` or `pytorch_model.bin`).
//!
//! The tensors are read from `model.safetensors` through the `safetensors`
//! crate over a memory map, else from `pytorch_model.bin` through
//! `pytorch-reader`; both come out as f32 through one conversion. Any
//! checkpoint of the BERT layout loads (BioBERT, SciBERT, PubMedBERT,
//! MiniLM): names are mapped explicitly, and a missing tensor or one we do
//! not know is an error that lists them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::module::Param;
use burn::nn::{Embedding, LayerNorm, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use thiserror::Error;

use super::bert::{BertConfig, BertEncoder};

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

#[derive(Debug, Error)]
pub enum BertError {
    #[error("{}: cannot read: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error(transparent)]
    Weights(#[from] CheckpointError),
    #[error("{}: missing tensors: {}", path.display(), missing.join(", "))]
    Missing { path: PathBuf, missing: Vec<String> },
    #[error("{}: unexpected tensors: {}", path.display(), unexpected.join(", "))]
    Unexpected { path: PathBuf, unexpected: Vec<String> },
    #[error("{}: tensor {name} has shape {found:?}, expected {expected:?}", path.display())]
    Shape { path: PathBuf, name: String, found: Vec<usize>, expected: Vec<usize> },
}

impl BertConfig {
    pub fn from_model_dir(dir: &Path) -> Result<Self, BertError> {
        let path = dir.join("config.json");
        let bytes =
            std::fs::read(&path).map_err(|source| BertError::Io { path: path.clone(), source })?;
        let v: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| BertError::Config { path: path.clone(), message: e.to_string() })?;
        // Other architectures share field names but not weights or tokenizer: refuse them at once.
        if let Some(kind) = v.get("model_type").and_then(|t| t.as_str()).filter(|t| *t != "bert") {
            return Err(BertError::Config {
                path,
                message: format!("model_type {kind:?} is not supported: only BERT-family WordPiece checkpoints (model_type \"bert\": BERT, SciBERT, BioBERT, MiniLM, ...); RoBERTa, DeBERTa, ELECTRA and others are not"),
            });
        }
        if let Some(act) = v.get("hidden_act").and_then(|a| a.as_str()) {
            if act != "gelu" {
                return Err(BertError::Config {
                    path,
                    message: format!("hidden_act {act:?} is not supported (only \"gelu\")"),
                });
            }
        }
        serde_json::from_value(v).map_err(|e| BertError::Config { path, message: e.to_string() })
    }
}

impl BertEncoder {
    /// Load a Hugging Face checkpoint folder.
    pub fn from_pretrained(dir: &Path, device: &Device) -> Result<Self, BertError> {
        let config = BertConfig::from_model_dir(dir)?;
        let (path, raw) = read_weights(dir)?;
        let mut model = config.init(device);
        Loader::new(raw, path).load(&mut model, &config, device)?;
        Ok(model)
    }
}

/// Explicit name mapping from Hugging Face tensor names to our fields.
struct Loader {
    tensors: BTreeMap<String, RawTensor>,
    used: BTreeSet<String>,
    missing: Vec<String>,
    path: PathBuf,
}

impl Loader {
    fn new(raw: BTreeMap<String, RawTensor>, path: PathBuf) -> Self {
        // Checkpoints saved from BertForPreTraining & co. prefix the encoder with "bert.".
        let tensors = raw
            .into_iter()
            .map(|(k, v)| (k.strip_prefix("bert.").map(String::from).unwrap_or(k), v))
            .collect();
        Self { tensors, used: BTreeSet::new(), missing: Vec::new(), path }
    }

    /// Take a tensor by name, trying the old `gamma`/`beta` LayerNorm names too.
    fn take(&mut self, name: &str, expected: &[usize]) -> Result<Option<RawTensor>, BertError> {
        let alt = name
            .replace("LayerNorm.weight", "LayerNorm.gamma")
            .replace("LayerNorm.bias", "LayerNorm.beta");
        let key = [name.to_string(), alt].into_iter().find(|k| self.tensors.contains_key(k));
        let Some(key) = key else {
            self.missing.push(name.to_string());
            return Ok(None);
        };
        self.used.insert(key.clone());
        let t = self.tensors[&key].clone();
        if t.shape != expected {
            return Err(BertError::Shape {
                path: self.path.clone(),
                name: key,
                found: t.shape,
                expected: expected.to_vec(),
            });
        }
        Ok(Some(t))
    }

    fn tensor<const D: usize>(t: RawTensor, device: &Device) -> Tensor<D> {
        Tensor::from_data(TensorData::new(t.data, t.shape), device)
    }

    fn embedding(
        &mut self,
        e: &mut Embedding,
        name: &str,
        device: &Device,
    ) -> Result<(), BertError> {
        let dims = e.weight.dims().to_vec();
        if let Some(t) = self.take(&format!("{name}.weight"), &dims)? {
            e.weight = Param::from_tensor(Self::tensor(t, device));
        }
        Ok(())
    }

    /// Hugging Face stores linear weights as `[out, in]`; Burn as `[in, out]`.
    fn linear(&mut self, l: &mut Linear, name: &str, device: &Device) -> Result<(), BertError> {
        let [i, o] = l.weight.dims();
        if let Some(t) = self.take(&format!("{name}.weight"), &[o, i])? {
            l.weight = Param::from_tensor(Self::tensor::<2>(t, device).transpose());
        }
        if let Some(t) = self.take(&format!("{name}.bias"), &[o])? {
            l.bias = Some(Param::from_tensor(Self::tensor(t, device)));
        }
        Ok(())
    }

    fn norm(&mut self, n: &mut LayerNorm, name: &str, device: &Device) -> Result<(), BertError> {
        let d = n.gamma.dims()[0];
        if let Some(t) = self.take(&format!("{name}.weight"), &[d])? {
            n.gamma = Param::from_tensor(Self::tensor(t, device));
        }
        if let Some(t) = self.take(&format!("{name}.bias"), &[d])? {
            n.beta = Some(Param::from_tensor(Self::tensor(t, device)));
        }
        Ok(())
    }

    fn load(
        mut self,
        m: &mut BertEncoder,
        config: &BertConfig,
        device: &Device,
    ) -> Result<(), BertError> {
        self.embedding(&mut m.word_embeddings, "embeddings.word_embeddings", device)?;
        self.embedding(&mut m.position_embeddings, "embeddings.position_embeddings", device)?;
        self.embedding(&mut m.token_type_embeddings, "embeddings.token_type_embeddings", device)?;
        self.norm(&mut m.embeddings_norm, "embeddings.LayerNorm", device)?;
        for (i, layer) in m.layers.iter_mut().enumerate().take(config.num_hidden_layers) {
            let p = format!("encoder.layer.{i}");
            self.linear(&mut layer.query, &format!("{p}.attention.self.query"), device)?;
            self.linear(&mut layer.key, &format!("{p}.attention.self.key"), device)?;
            self.linear(&mut layer.value, &format!("{p}.attention.self.value"), device)?;
            self.linear(
                &mut layer.attention_output,
                &format!("{p}.attention.output.dense"),
                device,
            )?;
            self.norm(
                &mut layer.attention_norm,
                &format!("{p}.attention.output.LayerNorm"),
                device,
            )?;
            self.linear(&mut layer.intermediate, &format!("{p}.intermediate.dense"), device)?;
            self.linear(&mut layer.output, &format!("{p}.output.dense"), device)?;
            self.norm(&mut layer.output_norm, &format!("{p}.output.LayerNorm"), device)?;
        }
        if !self.missing.is_empty() {
            return Err(BertError::Missing { path: self.path, missing: self.missing });
        }
        // Known parts of BERT checkpoints that the encoder does not use.
        let unused = |k: &str| {
            k.starts_with("pooler.") || k.starts_with("cls.") || k == "embeddings.position_ids"
        };
        let unexpected: Vec<String> = self
            .tensors
            .keys()
            .filter(|k| !self.used.contains(*k) && !unused(k))
            .cloned()
            .collect();
        if !unexpected.is_empty() {
            return Err(BertError::Unexpected { path: self.path, unexpected });
        }
        Ok(())
    }
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
