//! Linear layers in 8-bit integers, for quantized inference (`--quantize int8`).
//!
//! A weight matrix is stored per output channel, symmetric in 7 bits: `w[n, k] ≈ ws[n] * q[n, k]`
//! with `q` in `[-63, 63]`. Activations are quantized per row at run time, asymmetric in 8 bits:
//! `x[m, k] ≈ xs[m] * (u[m, k] - z[m])` with `u` in `[0, 255]` and the zero point `z` where the
//! row's 0 falls, so a row of GELU outputs (mostly positive) spends its 256 steps on its own range
//! and an outlier in one token costs that token's precision only. The product
//! `sum_k u q - z sum_k q` is exact in `i32` and scaled back to `f32` once per output.
//!
//! Why 7 bits for the weights: without AVX-512 VNNI, x86 multiplies bytes with `vpmaddubsw`
//! (unsigned by signed bytes, two neighbouring products summed into a saturating `i16`), then
//! `vpmaddwd` sums pairs of those into `i32`. With `|q| <= 63` two products never exceed
//! `2 * 255 * 63 < 2^15`, so nothing saturates and no sign has to be moved between the operands:
//! three instructions per 32 products, where symmetric 8-bit operands need five. Elsewhere a
//! scalar loop computes the same integers, so both paths give identical outputs.

use rayon::prelude::*;

use super::fast_math::vectorised;

/// `k` is padded with zeros to a multiple of this (one AVX2 register of `i8`).
const LANES: usize = 32;

/// The kernel's tile: this many rows of activations against [`TILE_N`] output channels, every
/// loaded register of weights used for each row (the weights come from L2, the rows from L1).
const TILE_M: usize = 4;
const TILE_N: usize = 2;

/// Bytes of quantized rows one task keeps in L1 while it passes every output channel over them.
const PANEL_BYTES: usize = 16 << 10;

fn padded(k: usize) -> usize {
    k.div_ceil(LANES) * LANES
}

/// The largest magnitude of a quantized weight (7 bits, see the module documentation).
const WEIGHT_MAX: f32 = 63.0;

vectorised! {
    /// One output channel's weights into `q` (as long or longer; the rest stays 0), symmetric in
    /// `[-63, 63]`, the scale written into `scale`. Rounding by adding a signed half and
    /// truncating, not `f32::round` (a library call per value on baseline x86-64), so that the
    /// loop vectorises.
    fn quantize_weights(row: &[f32], q: &mut [i8], scale: &mut f32) {
        let max = row.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        *scale = if max > 0.0 { max / WEIGHT_MAX } else { 1.0 };
        let inv = 1.0 / *scale;
        for (q, &v) in q.iter_mut().zip(row) {
            let x = v * inv;
            *q = (x + 0.5f32.copysign(x)).clamp(-WEIGHT_MAX, WEIGHT_MAX) as i8;
        }
    }
}

vectorised! {
    /// One row of activations into `u` in `[0, 255]` with its scale and zero point: the row's
    /// range (widened to hold 0) in 255 steps, 0 exactly representable.
    fn quantize_activations(row: &[f32], u: &mut [u8], scale: &mut f32, zero: &mut i32) {
        let (lo, hi) = row.iter().fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        *scale = if hi > lo { (hi - lo) / 255.0 } else { 1.0 };
        let inv = 1.0 / *scale;
        let z = (-lo * inv + 0.5).clamp(0.0, 255.0) as i32;
        *zero = z;
        for (u, &v) in u.iter_mut().zip(row) {
            *u = (v * inv + (z as f32 + 0.5)).clamp(0.0, 255.0) as u8;
        }
    }
}

/// Activations quantized row by row: `u` `[rows, padded(k)]` (the padding 0, against weights of
/// 0), one scale and zero point per row.
struct Activations {
    u: Vec<u8>,
    scales: Vec<f32>,
    zeros: Vec<i32>,
}

fn quantize_rows(values: &[f32], rows: usize, k: usize) -> Activations {
    assert_eq!(values.len(), rows * k, "quantize_rows: not [rows, k]");
    let kp = padded(k);
    let mut u = vec![0u8; rows * kp];
    let (mut scales, mut zeros) = (vec![0.0f32; rows], vec![0i32; rows]);
    u.par_chunks_mut(kp)
        .zip(scales.par_iter_mut())
        .zip(zeros.par_iter_mut())
        .enumerate()
        .for_each(|(r, ((u, s), z))| quantize_activations(&values[r * k..(r + 1) * k], u, s, z));
    Activations { u, scales, zeros }
}

/// A linear layer's weights and bias in 8 bits: `y = x w^T + bias` for `w` `[N, K]`.
#[derive(Debug, Clone)]
pub struct QuantizedLinear {
    /// Output channels (`N`).
    pub n: usize,
    /// Inputs (`K`).
    pub k: usize,
    /// `[N, padded(K)]`, each output channel's weights contiguous.
    q: Vec<i8>,
    /// `[N]`: each channel's scale.
    scales: Vec<f32>,
    /// `[N]`: each channel's sum of `q`, for the activations' zero points.
    sums: Vec<i32>,
    bias: Vec<f32>,
}

impl QuantizedLinear {
    /// From Burn's layout, `w` `[K, N]` row-major (inputs by outputs), and the bias `[N]`.
    pub fn from_inputs_by_outputs(w: &[f32], bias: Vec<f32>, k: usize, n: usize) -> Self {
        assert_eq!(w.len(), k * n, "weights are not [K, N]");
        assert_eq!(bias.len(), n, "bias is not [N]");
        let mut by_output = vec![0.0f32; n * k];
        for (i, row) in w.chunks_exact(n).enumerate() {
            row.iter().enumerate().for_each(|(j, &v)| by_output[j * k + i] = v);
        }
        let kp = padded(k);
        let mut q = vec![0i8; n * kp];
        let mut scales = vec![0.0f32; n];
        q.par_chunks_mut(kp)
            .zip(scales.par_iter_mut())
            .enumerate()
            .for_each(|(j, (q, s))| quantize_weights(&by_output[j * k..(j + 1) * k], q, s));
        let sums = q.chunks_exact(kp).map(|q| q.iter().map(|&v| v as i32).sum()).collect();
        Self { n, k, q, scales, sums, bias }
    }

    /// The weights this layer multiplies with, `[K, N]` row-major, dequantized: what the
    /// quantization kept of the original.
    pub fn dequantized(&self) -> Vec<f32> {
        let kp = padded(self.k);
        let mut w = vec![0.0f32; self.k * self.n];
        for j in 0..self.n {
            for i in 0..self.k {
                w[i * self.n + j] = self.q[j * kp + i] as f32 * self.scales[j];
            }
        }
        w
    }

    /// `x` `[M, K]` row-major through the layer: `[M, N]`. The rows are quantized on the fly.
    pub fn forward(&self, x: &[f32], m: usize) -> Vec<f32> {
        assert_eq!(x.len(), m * self.k, "input is not [M, K]");
        let x = quantize_rows(x, m, self.k);
        let mut out = vec![0.0f32; m * self.n];
        // Each task a panel of rows that fits L1 (a multiple of the tile's rows).
        let panel = (PANEL_BYTES / padded(self.k)).max(TILE_M) / TILE_M * TILE_M;
        out.par_chunks_mut(panel * self.n).enumerate().for_each(|(task, out)| {
            let first = task * panel;
            let rows = out.len() / self.n;
            self.panel(&x, first..first + rows, out);
        });
        out
    }

    /// Rows `rows` of the output into `out` `[rows, N]`: each pair of output channels over every
    /// tile of rows. A tile at an edge repeats its last row or channel and keeps only the real ones.
    fn panel(&self, x: &Activations, rows: std::ops::Range<usize>, out: &mut [f32]) {
        let (kp, n) = (padded(self.k), self.n);
        let row = |r: usize| &x.u[r * kp..(r + 1) * kp];
        let channel = |j: usize| &self.q[j * kp..(j + 1) * kp];
        for j in (0..n).step_by(TILE_N) {
            let cols = (n - j).min(TILE_N);
            let w: [&[i8]; TILE_N] = std::array::from_fn(|c| channel(j + c.min(cols - 1)));
            for r in rows.clone().step_by(TILE_M) {
                let tile_rows = (rows.end - r).min(TILE_M);
                let u: [&[u8]; TILE_M] = std::array::from_fn(|i| row(r + i.min(tile_rows - 1)));
                let dots = dot_tile(&u, &w);
                for (i, dots) in dots.iter().enumerate().take(tile_rows) {
                    let o = (r - rows.start + i) * n + j;
                    let (s, z) = (x.scales[r + i], x.zeros[r + i]);
                    for c in 0..cols {
                        let dot = dots[c] - z * self.sums[j + c];
                        out[o + c] = dot as f32 * s * self.scales[j + c] + self.bias[j + c];
                    }
                }
            }
        }
    }
}

/// The `i32` dot products of [`TILE_M`] rows `u` with [`TILE_N`] rows `w` (all of one padded
/// length).
fn dot_tile(u: &[&[u8]; TILE_M], w: &[&[i8]; TILE_N]) -> [[i32; TILE_N]; TILE_M] {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: AVX2 is present (checked above).
            return unsafe { dot_tile_avx2(u, w) };
        }
    }
    dot_tile_scalar(u, w)
}

fn dot_tile_scalar(u: &[&[u8]; TILE_M], w: &[&[i8]; TILE_N]) -> [[i32; TILE_N]; TILE_M] {
    let dot = |a: &[u8], b: &[i8]| a.iter().zip(b).map(|(&a, &b)| a as i32 * b as i32).sum();
    std::array::from_fn(|i| std::array::from_fn(|c| dot(u[i], w[c])))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn dot_tile_avx2(u: &[&[u8]; TILE_M], w: &[&[i8]; TILE_N]) -> [[i32; TILE_N]; TILE_M] {
    use std::arch::x86_64::*;
    let len = u[0].len();
    assert!(len.is_multiple_of(LANES), "rows are padded to whole registers");
    assert!(u.iter().all(|r| r.len() == len) && w.iter().all(|r| r.len() == len));
    let ones = _mm256_set1_epi16(1);
    let mut acc = [[_mm256_setzero_si256(); TILE_N]; TILE_M];
    let mut i = 0;
    while i < len {
        // SAFETY: `i + LANES <= len`, the length of every row (checked above); unaligned loads.
        let b: [__m256i; TILE_N] = std::array::from_fn(|c| unsafe {
            _mm256_loadu_si256(w[c].as_ptr().add(i) as *const __m256i)
        });
        for (r, acc) in acc.iter_mut().enumerate() {
            // SAFETY: as above.
            let a = unsafe { _mm256_loadu_si256(u[r].as_ptr().add(i) as *const __m256i) };
            for c in 0..TILE_N {
                // u8 x i8 pairs into i16 (no saturation: |w| <= 63), then pairs into i32.
                let p = _mm256_maddubs_epi16(a, b[c]);
                acc[c] = _mm256_add_epi32(acc[c], _mm256_madd_epi16(p, ones));
            }
        }
        i += LANES;
    }
    let sum = |v: __m256i| {
        let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
        let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01));
        _mm_cvtsi128_si32(s)
    };
    std::array::from_fn(|r| std::array::from_fn(|c| sum(acc[r][c])))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.37 + seed).sin() * 1.7 + (i as f32 * 0.011).cos()).collect()
    }

    fn f32_linear(
        x: &[f32],
        w: &[f32],
        bias: &[f32],
        (m, k, n): (usize, usize, usize),
    ) -> Vec<f32> {
        let mut y = vec![0.0f32; m * n];
        for r in 0..m {
            for j in 0..n {
                y[r * n + j] = bias[j] + (0..k).map(|i| x[r * k + i] * w[i * n + j]).sum::<f32>();
            }
        }
        y
    }

    /// The int8 layer is within the quantization's error of the f32 layer, on sizes that leave
    /// remainders everywhere (rows not a multiple of 2 or 32, outputs not of 4, inputs not of 32).
    #[test]
    fn int8_linear_is_close_to_f32() {
        for (m, k, n) in [(1, 1, 1), (3, 40, 5), (67, 384, 131), (33, 100, 259)] {
            let (x, w, bias) = (values(m * k, 0.3), values(k * n, 1.1), values(n, 2.0));
            let layer = QuantizedLinear::from_inputs_by_outputs(&w, bias.clone(), k, n);
            let got = layer.forward(&x, m);
            let want = f32_linear(&x, &w, &bias, (m, k, n));
            // Each product carries two roundings of at most half a step of its operands (the
            // weights' max / 63, the activations' range / 255); over `k` terms such errors grow
            // as sqrt(k). Three times that bound.
            let max = |v: &[f32]| v.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            let step = max(&w) / 63.0 * max(&x) + 2.0 * max(&x) / 255.0 * max(&w);
            let tol = 3.0 * (k as f32).sqrt() * step;
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (g - e).abs() <= tol,
                    "({m}, {k}, {n}): int8 {g} f32 {e} (tolerance {tol})"
                );
            }
        }
    }

    /// The AVX2 kernel and the scalar loop give the same integers, extremes included (the
    /// largest pair, `2 * 255 * 63`, must not saturate).
    #[test]
    fn avx2_and_scalar_dot_products_agree() {
        let len = 96;
        let u_row =
            |f: &dyn Fn(usize) -> u32| (0..len).map(|i| f(i).min(255) as u8).collect::<Vec<u8>>();
        let w_row = |f: &dyn Fn(usize) -> i32| {
            (0..len).map(|i| f(i).clamp(-63, 63) as i8).collect::<Vec<i8>>()
        };
        let us = [
            u_row(&|_| 255),
            u_row(&|i| (i as u32 * 37) % 256),
            u_row(&|_| 0),
            u_row(&|i| i as u32 % 2 * 255),
        ];
        let ws = [w_row(&|_| 63), w_row(&|i| (i as i32 * 91) % 127 - 63)];
        let u = std::array::from_fn(|i| &us[i][..]);
        let w = std::array::from_fn(|c| &ws[c][..]);
        let scalar = dot_tile_scalar(&u, &w);
        assert_eq!(scalar[0][0], 255 * 63 * len as i32, "the extreme product");
        assert_eq!(scalar[2], [0, 0]);
        assert_eq!(dot_tile(&u, &w), scalar);
        let negative = [w_row(&|_| -63), w_row(&|_| -63)];
        let w = std::array::from_fn(|c| &negative[c][..]);
        assert_eq!(dot_tile(&u, &w)[0][0], -255 * 63 * len as i32);
    }

    /// Values the quantization represents exactly give exactly the f32 product: integer weights
    /// whose largest magnitude per channel is 63 (scale 1), rows spanning -128..127 (scale 1,
    /// zero point 128).
    #[test]
    fn representable_values_give_exact_products() {
        let (m, k, n) = (5, 70, 9);
        let x: Vec<f32> = (0..m * k)
            .map(|i| match i % k {
                0 => -128.0,
                1 => 127.0,
                _ => (i % 7) as f32 - 3.0,
            })
            .collect();
        let w: Vec<f32> =
            (0..k * n).map(|i| if i < n { -63.0 } else { (i % 5) as f32 - 2.0 }).collect();
        let bias = vec![0.5f32; n];
        let layer = QuantizedLinear::from_inputs_by_outputs(&w, bias.clone(), k, n);
        assert_eq!(layer.dequantized(), w);
        assert_eq!(layer.forward(&x, m), f32_linear(&x, &w, &bias, (m, k, n)));
    }
}
