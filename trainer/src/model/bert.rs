//! The BERT encoder (Devlin et al., 2019), loading weights from a local
//! Hugging Face checkpoint folder (`config.json` + `model.safetensors`).
//!
//! Works for any checkpoint of the BERT layout: BioBERT, SciBERT,
//! PubMedBERT, MiniLM. Names are mapped explicitly; a missing tensor or one
//! we do not know is an error that lists them all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use burn::module::{Module, Param};
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use serde::Deserialize;
use thiserror::Error;

use super::checkpoint::{read_weights, CheckpointError, RawTensor};
use super::dropout::dropout;
use super::fused;
use super::linear::forward_rows;

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

/// The fields of a Hugging Face BERT `config.json` that shape the network.
#[derive(Debug, Clone, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default = "default_types")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
}

fn default_positions() -> usize {
    512
}
fn default_types() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_dropout() -> f64 {
    0.1
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

    pub fn init(&self, device: &Device) -> BertEncoder {
        let ln = || {
            LayerNormConfig::new(self.hidden_size).with_epsilon(self.layer_norm_eps).init(device)
        };
        let lin = |i: usize, o: usize| LinearConfig::new(i, o).init(device);
        let h = self.hidden_size;
        BertEncoder {
            word_embeddings: EmbeddingConfig::new(self.vocab_size, h).init(device),
            position_embeddings: EmbeddingConfig::new(self.max_position_embeddings, h).init(device),
            token_type_embeddings: EmbeddingConfig::new(self.type_vocab_size, h).init(device),
            embeddings_norm: ln(),
            dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
            layers: (0..self.num_hidden_layers)
                .map(|_| BertLayer {
                    query: lin(h, h),
                    key: lin(h, h),
                    value: lin(h, h),
                    attention_output: lin(h, h),
                    attention_norm: ln(),
                    intermediate: lin(h, self.intermediate_size),
                    output: lin(self.intermediate_size, h),
                    output_norm: ln(),
                    attention_dropout: DropoutConfig::new(self.attention_probs_dropout_prob).init(),
                    dropout: DropoutConfig::new(self.hidden_dropout_prob).init(),
                    heads: self.num_attention_heads,
                })
                .collect(),
        }
    }
}

#[derive(Module, Debug)]
pub struct BertLayer {
    pub query: Linear,
    pub key: Linear,
    pub value: Linear,
    pub attention_output: Linear,
    pub attention_norm: LayerNorm,
    pub intermediate: Linear,
    pub output: Linear,
    pub output_norm: LayerNorm,
    pub attention_dropout: Dropout,
    pub dropout: Dropout,
    pub heads: usize,
}

impl BertLayer {
    /// `x`: `[B, T, H]`; `bias`: `[B, 1, 1, T]` additive attention bias.
    fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let [b, t, h] = x.dims();
        let (k, d) = (self.heads, h / self.heads);
        let split = |y: Tensor<3>| y.reshape([b, t, k, d]).swap_dims(1, 2); // [B, K, T, d]
        let q = split(forward_rows(&self.query, x.clone()));
        let kk = split(forward_rows(&self.key, x.clone()));
        let v = split(forward_rows(&self.value, x.clone()));
        let scores = q.matmul(kk.swap_dims(2, 3)) / (d as f64).sqrt() + bias;
        let att = dropout(&self.attention_dropout, fused::softmax(scores));
        let ctx = att.matmul(v).swap_dims(1, 2).reshape([b, t, h]);
        let x = self
            .attention_norm
            .forward(dropout(&self.dropout, forward_rows(&self.attention_output, ctx)) + x);
        let ff =
            forward_rows(&self.output, fused::gelu(forward_rows(&self.intermediate, x.clone())));
        self.output_norm.forward(dropout(&self.dropout, ff) + x)
    }
}

#[derive(Module, Debug)]
pub struct BertEncoder {
    pub word_embeddings: Embedding,
    pub position_embeddings: Embedding,
    pub token_type_embeddings: Embedding,
    pub embeddings_norm: LayerNorm,
    pub dropout: Dropout,
    pub layers: Vec<BertLayer>,
}

impl BertEncoder {
    pub fn d_model(&self) -> usize {
        self.embeddings_norm.gamma.dims()[0]
    }

    /// Last hidden states. `input_ids`, `attention_mask`: `[B, T]`. Returns `[B, T, H]`.
    pub fn forward(&self, input_ids: Tensor<2, Int>, attention_mask: Tensor<2, Bool>) -> Tensor<3> {
        let mut all = self.forward_all(input_ids, attention_mask);
        all.pop()
            .unwrap_or_else(|| unreachable!("forward_all returns the embedding output at least"))
    }

    /// Hidden states this encoder returns with `forward_all`: the embedding output and each layer's.
    pub fn num_hidden_states(&self) -> usize {
        self.layers.len() + 1
    }

    /// Every hidden state, `[B, T, H]` each: the embedding output, then each layer's.
    pub fn forward_all(
        &self,
        input_ids: Tensor<2, Int>,
        attention_mask: Tensor<2, Bool>,
    ) -> Vec<Tensor<3>> {
        let [b, t] = input_ids.dims();
        let device = input_ids.device();
        let positions =
            Tensor::<1, Int>::arange(0..t as i64, &device).unsqueeze_dim::<2>(0).expand([b, t]);
        let types = Tensor::<2, Int>::zeros([b, t], &device);
        let x = self.word_embeddings.forward(input_ids)
            + self.position_embeddings.forward(positions)
            + self.token_type_embeddings.forward(types);
        let mut x = dropout(&self.dropout, self.embeddings_norm.forward(x));
        // Padding keys get a large negative bias, as in the reference implementation.
        let bias = attention_mask.bool_not().float().reshape([b, 1, 1, t]) * -1e9f64;
        let mut all = Vec::with_capacity(self.num_hidden_states());
        for layer in &self.layers {
            all.push(x.clone());
            x = layer.forward(x, bias.clone());
        }
        all.push(x);
        all
    }

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
