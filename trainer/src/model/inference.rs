//! The encoder's inference on host buffers: what `predict`, `tag`, `eval` and the encoder cache
//! run on the flex backend, where no gradient is ever taken.
//!
//! [`BertEncoder::forward_all`] is a training forward pass: every window padded to the longest of
//! its batch, dropout masks drawn (identity at inference, but still a pass), each layer a chain of
//! Burn tensors. Here the weights are copied once into plain buffers ([`HostEncoder::new`]) and
//! the windows' subtokens are packed end to end without padding, so every linear layer is one
//! product over exactly the real subtokens, and attention runs per window and head on that
//! window's own length (one `[T, T]` score buffer per task; the scores of all heads never exist at
//! once). Q, K and V are one product over their concatenated weights.
//!
//! With [`Precision::Int8`] the six linear layers of each block multiply in 8-bit integers
//! ([`super::kernels::int8`]); embeddings, layer norms, attention and GELU stay `f32`.

use burn::module::Param;
use burn::nn::{LayerNorm, Linear};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;

use super::bert::BertEncoder;
use super::fused;
use super::kernels::fast_math::{gelu_in_place, softmax_rows_serial};
use super::kernels::host_matmul::{affine, matmul};
use super::kernels::int8::QuantizedLinear;

/// Windows per pass of the host encoder where the caller is free to choose (the encoder cache):
/// it packs them without padding, so a pass of many costs no attention memory.
pub const HOST_PASS_WINDOWS: usize = 64;

/// The arithmetic of the encoder's linear layers at inference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit floats, as trained.
    #[default]
    F32,
    /// 8-bit integer weights (one scale per output channel) and activations (one scale per
    /// subtoken), products accumulated in 32-bit integers.
    Int8,
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::F32 => "f32",
            Self::Int8 => "int8",
        })
    }
}

/// A tensor's values on the host, row-major.
fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

/// A linear layer's weights on the host, in the precision inference multiplies them in.
#[derive(Debug, Clone)]
enum HostLinear {
    /// `w` `[K, N]` (inputs by outputs, Burn's layout) and the bias `[N]`.
    F32 {
        w: Vec<f32>,
        bias: Vec<f32>,
        k: usize,
        n: usize,
    },
    Int8(QuantizedLinear),
}

impl HostLinear {
    /// Several layers over the same input as one: their weights side by side (`[K, sum N]`).
    fn side_by_side(layers: &[&Linear], precision: Precision) -> Self {
        let k = layers[0].weight.dims()[0];
        let widths: Vec<usize> = layers.iter().map(|l| l.weight.dims()[1]).collect();
        let n: usize = widths.iter().sum();
        let mut w = vec![0.0f32; k * n];
        let mut bias = Vec::with_capacity(n);
        let mut col = 0;
        for (layer, &width) in layers.iter().zip(&widths) {
            assert_eq!(layer.weight.dims()[0], k, "side by side layers read one input width");
            let lw = values(layer.weight.val());
            for (i, row) in lw.chunks_exact(width).enumerate() {
                w[i * n + col..i * n + col + width].copy_from_slice(row);
            }
            match &layer.bias {
                Some(b) => bias.extend(values(b.val())),
                None => bias.extend(std::iter::repeat_n(0.0, width)),
            }
            col += width;
        }
        match precision {
            Precision::F32 => Self::F32 { w, bias, k, n },
            Precision::Int8 => Self::Int8(QuantizedLinear::from_inputs_by_outputs(&w, bias, k, n)),
        }
    }

    /// `x` `[M, K]` -> `[M, N]`.
    fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        match self {
            Self::F32 { w, bias, k, n } => affine(x, w, bias, (m, *k, *n)),
            Self::Int8(q) => q.forward(x, m),
        }
    }
}

/// A layer norm's scale, shift and epsilon.
#[derive(Debug, Clone)]
struct HostNorm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
    eps: f32,
}

impl HostNorm {
    fn new(norm: &LayerNorm, eps: f64) -> Self {
        let gamma = values(norm.gamma.val());
        let beta = match &norm.beta {
            Some(b) => values(b.val()),
            None => vec![0.0; gamma.len()],
        };
        Self { gamma, beta, eps: eps as f32 }
    }

    /// `norm(x + residual)` of every row, written into `x`.
    fn add_and_normalize(&self, x: &mut [f32], residual: &[f32]) {
        let h = self.gamma.len();
        x.par_chunks_mut(h).zip(residual.par_chunks(h)).for_each(|(row, res)| {
            row.iter_mut().zip(res).for_each(|(a, r)| *a += r);
            self.normalize_row(row);
        });
    }

    fn normalize_row(&self, row: &mut [f32]) {
        let h = row.len() as f32;
        let mean = row.iter().sum::<f32>() / h;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / h;
        let inv = 1.0 / (var + self.eps).sqrt();
        for ((v, g), b) in row.iter_mut().zip(&self.gamma).zip(&self.beta) {
            *v = (*v - mean) * inv * g + b;
        }
    }
}

/// One transformer block on the host.
#[derive(Debug, Clone)]
struct HostLayer {
    /// Q, K and V side by side: `[H, 3H]`.
    qkv: HostLinear,
    attention_output: HostLinear,
    attention_norm: HostNorm,
    intermediate: HostLinear,
    output: HostLinear,
    output_norm: HostNorm,
}

/// The windows of one forward pass, packed: window `w`'s subtokens are rows
/// `starts[w] .. starts[w + 1]` of every `[rows, H]` buffer.
struct Packed {
    starts: Vec<usize>,
}

impl Packed {
    fn rows(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    fn windows(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.starts.windows(2).map(|s| s[0]..s[1])
    }
}

/// A frozen copy of a [`BertEncoder`] for inference on the host; see the module documentation.
#[derive(Debug, Clone)]
pub struct HostEncoder {
    word_embeddings: Vec<f32>,
    position_embeddings: Vec<f32>,
    /// Every subtoken has token type 0: its row of the type embeddings.
    token_type: Vec<f32>,
    embeddings_norm: HostNorm,
    layers: Vec<HostLayer>,
    heads: usize,
    hidden: usize,
    precision: Precision,
}

impl HostEncoder {
    /// Whether inference on `device` takes the host encoder: flex without autodiff.
    pub fn supports(device: &Device) -> bool {
        fused::supports(device) && !device.is_autodiff()
    }

    /// The host copy of `encoder` in `precision` where `device` takes it ([`HostEncoder::supports`]),
    /// else `None`: the module runs. Int8 exists only on the host.
    pub fn for_inference(
        encoder: &BertEncoder,
        precision: Precision,
        device: &Device,
    ) -> Option<Self> {
        Self::supports(device).then(|| Self::new(encoder, precision))
    }

    /// The weights of `encoder`, copied (and quantized for [`Precision::Int8`]).
    pub fn new(encoder: &BertEncoder, precision: Precision) -> Self {
        let eps = encoder.layer_norm_eps;
        let hidden = encoder.d_model();
        let table = |p: &Param<Tensor<2>>| values(p.val());
        let token_types = table(&encoder.token_type_embeddings.weight);
        let layers = encoder
            .layers
            .iter()
            .map(|l| HostLayer {
                qkv: HostLinear::side_by_side(&[&l.query, &l.key, &l.value], precision),
                attention_output: HostLinear::side_by_side(&[&l.attention_output], precision),
                attention_norm: HostNorm::new(&l.attention_norm, eps),
                intermediate: HostLinear::side_by_side(&[&l.intermediate], precision),
                output: HostLinear::side_by_side(&[&l.output], precision),
                output_norm: HostNorm::new(&l.output_norm, eps),
            })
            .collect();
        Self {
            word_embeddings: table(&encoder.word_embeddings.weight),
            position_embeddings: table(&encoder.position_embeddings.weight),
            token_type: token_types[..hidden].to_vec(),
            embeddings_norm: HostNorm::new(&encoder.embeddings_norm, eps),
            layers,
            heads: encoder.layers.first().map_or(1, |l| l.heads),
            hidden,
            precision,
        }
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    /// Every hidden state of each window (the embedding output, then each layer's), packed:
    /// `windows[w]` holds window `w`'s subtoken ids (no padding); each returned buffer is
    /// `[sum of lengths, H]` with the windows' rows in order.
    pub fn forward_all(&self, windows: &[&[u32]]) -> Vec<Vec<f32>> {
        let h = self.hidden;
        let mut starts = vec![0];
        for w in windows {
            starts.push(starts.last().unwrap_or(&0) + w.len());
        }
        let packed = Packed { starts };
        let rows = packed.rows();
        let vocab = self.word_embeddings.len() / h;
        let positions = self.position_embeddings.len() / h;
        let mut x = vec![0.0f32; rows * h];
        x.par_chunks_mut(h).enumerate().for_each(|(r, out)| {
            let w = packed.starts.partition_point(|&s| s <= r) - 1;
            let (id, pos) = (windows[w][r - packed.starts[w]] as usize, r - packed.starts[w]);
            assert!(id < vocab, "subtoken id {id} outside the vocabulary ({vocab})");
            assert!(pos < positions, "window longer than the {positions} positions");
            let (word, position) =
                (&self.word_embeddings[id * h..], &self.position_embeddings[pos * h..]);
            for c in 0..h {
                out[c] = word[c] + position[c] + self.token_type[c];
            }
            self.embeddings_norm.normalize_row(out);
        });
        let mut all = Vec::with_capacity(self.layers.len() + 1);
        for layer in &self.layers {
            let next = self.layer(layer, &x, &packed);
            all.push(x);
            x = next;
        }
        all.push(x);
        all
    }

    fn layer(&self, layer: &HostLayer, x: &[f32], packed: &Packed) -> Vec<f32> {
        let rows = packed.rows();
        let qkv = layer.qkv.forward(x, rows);
        let context = self.attention(&qkv, packed);
        let mut attended = layer.attention_output.forward(&context, rows);
        layer.attention_norm.add_and_normalize(&mut attended, x);
        let mut ff = layer.intermediate.forward(&attended, rows);
        gelu_in_place(&mut ff);
        let mut out = layer.output.forward(&ff, rows);
        layer.output_norm.add_and_normalize(&mut out, &attended);
        out
    }

    /// `softmax(Q K^T / sqrt(d)) V` per window and head: `qkv` `[rows, 3H]`; returns `[rows, H]`.
    /// Each task is one (window, head): its scores `[T, T]` in a buffer of its own, its context
    /// written into its own columns of its own rows.
    fn attention(&self, qkv: &[f32], packed: &Packed) -> Vec<f32> {
        let (h, heads) = (self.hidden, self.heads);
        let d = h / heads;
        let scale = 1.0 / (d as f32).sqrt();
        let mut out = vec![0.0f32; packed.rows() * h];
        // Each window's rows of the output, split by window so tasks can write them.
        let mut by_window: Vec<&mut [f32]> = Vec::with_capacity(packed.starts.len());
        let mut rest = out.as_mut_slice();
        for range in packed.windows() {
            let (mine, tail) = rest.split_at_mut(range.len() * h);
            by_window.push(mine);
            rest = tail;
        }
        by_window.into_par_iter().zip(packed.windows().collect::<Vec<_>>()).for_each_init(
            Vec::new,
            |scores, (out, range)| {
                let t = range.len();
                let rows = &qkv[range.start * 3 * h..range.end * 3 * h];
                scores.resize(t * t, 0.0);
                for head in 0..heads {
                    let (q, k, v) = (head * d, h + head * d, 2 * h + head * d);
                    let s = (1, 3 * h);
                    matmul(t, t, d, scores, t, false, &rows[q..], s, &rows[k..], (3 * h, 1), scale);
                    softmax_rows_serial(scores, t);
                    matmul(
                        t,
                        d,
                        t,
                        &mut out[head * d..],
                        h,
                        false,
                        scores,
                        (1, t),
                        &rows[v..],
                        s,
                        1.0,
                    );
                }
            },
        );
        out
    }

    /// Every hidden state of a padded batch as Burn tensors `[B, T, H]` on `device` (zeros on
    /// padding), as [`BertEncoder::forward_all`] returns them: `ids` `[B, T]` row-major, `lens`
    /// the real subtokens of each window.
    pub fn forward_all_padded(
        &self,
        ids: &[u32],
        lens: &[usize],
        t: usize,
        device: &Device,
    ) -> Vec<Tensor<3>> {
        let windows: Vec<&[u32]> =
            lens.iter().enumerate().map(|(b, &n)| &ids[b * t..b * t + n]).collect();
        let (b, h) = (lens.len(), self.hidden);
        self.forward_all(&windows)
            .into_iter()
            .map(|packed| {
                let mut padded = vec![0.0f32; b * t * h];
                let mut row = 0;
                for (w, &n) in lens.iter().enumerate() {
                    padded[w * t * h..(w * t + n) * h]
                        .copy_from_slice(&packed[row * h..(row + n) * h]);
                    row += n;
                }
                Tensor::from_data(TensorData::new(padded, [b, t, h]), device)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bert::tests::tiny;
    use burn::tensor::{Bool, Int};

    /// The host encoder gives every hidden state of the module's forward pass, on windows of
    /// different lengths (the module pads them; the host packs them).
    #[test]
    fn host_encoder_matches_the_module_on_ragged_windows() {
        let device = Device::flex();
        device.seed(3);
        let encoder = tiny(&device);
        let (b, t) = (3, 5);
        let lens = [5usize, 2, 4];
        let ids: Vec<u32> = (0..b * t).map(|i| (i * 7 % 30) as u32).collect();
        let mask: Vec<bool> = (0..b * t).map(|i| i % t < lens[i / t]).collect();
        let module = encoder.forward_all(
            Tensor::<2, Int>::from_data(
                TensorData::new(ids.iter().map(|&i| i as i64).collect(), [b, t]),
                &device,
            ),
            Tensor::<2, Bool>::from_data(TensorData::new(mask, [b, t]), &device),
        );
        let host =
            HostEncoder::new(&encoder, Precision::F32).forward_all_padded(&ids, &lens, t, &device);
        assert_eq!(module.len(), host.len());
        for (m, h) in module.into_iter().zip(host) {
            let (m, h): (Vec<f32>, Vec<f32>) = (values(m), values(h));
            for (i, (a, b)) in m.iter().zip(&h).enumerate() {
                if i / 8 % t < lens[i / 8 / t] {
                    assert!((a - b).abs() < 1e-5, "element {i}: module {a} host {b}");
                }
            }
        }
    }

    /// Int8 stays close to f32 on the same windows (a small model: the error is relative to the
    /// layer norms' unit scale).
    #[test]
    fn int8_encoder_is_close_to_f32() {
        let device = Device::flex();
        device.seed(5);
        let encoder = tiny(&device);
        let ids: Vec<u32> = (0..12).map(|i| (i * 11 % 30) as u32).collect();
        let windows = [&ids[..7], &ids[7..]];
        let f = HostEncoder::new(&encoder, Precision::F32).forward_all(&windows);
        let q = HostEncoder::new(&encoder, Precision::Int8).forward_all(&windows);
        let last = |v: &Vec<Vec<f32>>| v.last().cloned().unwrap_or_default();
        let worst = last(&f).iter().zip(&last(&q)).fold(0.0f32, |w, (a, b)| w.max((a - b).abs()));
        assert!(worst < 0.1, "largest difference {worst}");
        assert!(worst > 0.0, "int8 took the f32 path");
    }
}
