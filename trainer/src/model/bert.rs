//! The BERT encoder (Devlin et al., 2019). Its weights come from a Hugging
//! Face checkpoint folder through [`super::pretrained`].

use burn::module::Module;
use burn::nn::{
    Dropout, DropoutConfig, Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear,
    LinearConfig,
};
use burn::tensor::{Bool, Device, Int, Tensor};
use serde::Deserialize;

use super::dropout::{self, dropout};
use super::fused;
use super::linear::forward_rows;

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
            layer_norm_eps: self.layer_norm_eps,
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

/// Attention's additive bias on padding keys, in the form the attention reads it.
#[derive(Debug, Clone)]
pub enum KeyBias {
    /// `[B, T]` on the host, for the fused kernel ([`fused::attention`]).
    Host(Vec<f32>),
    /// `[B, 1, 1, T]`, for the composition of tensor operations (other backends).
    Tensor(Box<Tensor<4>>),
}

impl KeyBias {
    /// A large negative bias on each padding position of `attention_mask` `[B, T]`, as in the
    /// reference implementation; on the host where the device takes the fused attention.
    pub fn new(attention_mask: Tensor<2, Bool>) -> Self {
        let [b, t] = attention_mask.dims();
        if fused::supports(&attention_mask.device()) {
            let mask = attention_mask.into_data();
            return Self::Host(mask.iter::<bool>().map(|m| if m { 0.0 } else { -1e9 }).collect());
        }
        Self::Tensor(Box::new(attention_mask.bool_not().float().reshape([b, 1, 1, t]) * -1e9f64))
    }
}

impl BertLayer {
    /// `x`: `[B, T, H]`; `bias`: the attention's key bias.
    fn forward(&self, x: Tensor<3>, bias: &KeyBias) -> Tensor<3> {
        let q = forward_rows(&self.query, x.clone());
        let k = forward_rows(&self.key, x.clone());
        let v = forward_rows(&self.value, x.clone());
        let ctx = match bias {
            KeyBias::Host(bias) => {
                let [b, t, _] = x.dims();
                let n = b * self.heads * t * t;
                let drop = dropout::host_mask(&self.attention_dropout, n, &x.device());
                fused::attention(q, k, v, bias.clone(), self.heads, drop)
            }
            KeyBias::Tensor(bias) => self.composed_attention(q, k, v, (**bias).clone()),
        };
        let x = self
            .attention_norm
            .forward(dropout(&self.dropout, forward_rows(&self.attention_output, ctx)) + x);
        let ff =
            forward_rows(&self.output, fused::gelu(forward_rows(&self.intermediate, x.clone())));
        self.output_norm.forward(dropout(&self.dropout, ff) + x)
    }

    /// Multi-head attention as Burn tensor operations: `q`, `k`, `v` `[B, T, H]`, `bias`
    /// `[B, 1, 1, T]`; returns the context `[B, T, H]`. The reference [`fused::attention`] is
    /// tested against.
    fn composed_attention(
        &self,
        q: Tensor<3>,
        k: Tensor<3>,
        v: Tensor<3>,
        bias: Tensor<4>,
    ) -> Tensor<3> {
        let [b, t, h] = q.dims();
        let (heads, d) = (self.heads, h / self.heads);
        let split = |y: Tensor<3>| y.reshape([b, t, heads, d]).swap_dims(1, 2); // [B, K, T, d]
        let scores = split(q).matmul(split(k).swap_dims(2, 3)) / (d as f64).sqrt() + bias;
        let att = dropout(&self.attention_dropout, fused::softmax(scores));
        att.matmul(split(v)).swap_dims(1, 2).reshape([b, t, h])
    }
}

#[derive(Module, Debug)]
pub struct BertEncoder {
    pub word_embeddings: Embedding,
    pub position_embeddings: Embedding,
    pub token_type_embeddings: Embedding,
    pub embeddings_norm: LayerNorm,
    /// The layer norms' epsilon (Burn keeps its own private), for the host copy
    /// ([`super::inference::HostEncoder`]).
    #[module(skip)]
    pub layer_norm_eps: f64,
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

    /// The longest input it reads: its position embeddings.
    pub fn max_positions(&self) -> usize {
        self.position_embeddings.weight.dims()[0]
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
        let bias = KeyBias::new(attention_mask);
        let mut all = Vec::with_capacity(self.num_hidden_states());
        for layer in &self.layers {
            all.push(x.clone());
            x = layer.forward(x, &bias);
        }
        all.push(x);
        all
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use burn::module::Module;
    use burn::tensor::TensorData;

    /// A two-layer encoder of width 8 over a vocabulary of 30, without dropout: the device's
    /// generator is shared by tests running at once, so two forward passes cannot count on
    /// drawing the same masks (the fused kernel's masks are `dropout`'s own, and the kernel with a
    /// mask is tested in `fused`). Shared with [`crate::model::inference`]'s tests.
    pub(crate) fn tiny(device: &Device) -> BertEncoder {
        BertConfig {
            vocab_size: 30,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 16,
            max_position_embeddings: 16,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            hidden_dropout_prob: 0.0,
            attention_probs_dropout_prob: 0.0,
        }
        .init(device)
    }

    /// A layer's fused attention (the host key bias) and its composition (the bias tensor) give
    /// the same hidden states, padding included, with and without autodiff.
    #[test]
    fn fused_and_composed_attention_give_the_same_layer_outputs() {
        for device in [Device::flex(), Device::flex().autodiff()] {
            device.seed(7);
            let encoder = tiny(&device);
            let encoder = if device.is_autodiff() { encoder.train() } else { encoder };
            let x = Tensor::<3>::from_data(
                TensorData::new((0..48).map(|i| (i as f32 * 0.3).cos()).collect(), [2, 3, 8]),
                &device,
            );
            let mask = Tensor::<2, Bool>::from_data(
                TensorData::new(vec![true, true, true, true, true, false], [2, 3]),
                &device,
            );
            let host = KeyBias::new(mask.clone());
            assert!(matches!(host, KeyBias::Host(_)), "flex takes the fused attention");
            let tensor =
                KeyBias::Tensor(Box::new(mask.bool_not().float().reshape([2, 1, 1, 3]) * -1e9f64));
            let layer = &encoder.layers[0];
            let fused: Vec<f32> =
                layer.forward(x.clone(), &host).into_data().try_to_vec::<f32>().unwrap();
            let composed: Vec<f32> =
                layer.forward(x, &tensor).into_data().try_to_vec::<f32>().unwrap();
            for (a, b) in fused.iter().zip(&composed) {
                assert!((a - b).abs() < 1e-5, "fused {a} composed {b} on {device:?}");
            }
        }
    }
}
