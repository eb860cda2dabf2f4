//! Elementary functions without library calls, so that loops over slices vectorise, and the
//! element-wise kernels built from them ([`gelu`], [`softmax_rows`]) that the fused operations run
//! on the host in parallel chunks.
//!
//! Burn's flex backend evaluates GELU with a scalar `erf` from `libm`, one element at a time on one
//! thread, and composes softmax from four whole-tensor passes; in the encoder both together cost
//! about a quarter of `predict`'s time (perf, Mars test). Each function here states its error
//! against the library function; the tests check it.

use rayon::prelude::*;

/// Defines a function over slices that runs with the widest vector instructions this CPU has
/// (AVX-512 or AVX2 with FMA, detected at run time) and plain SSE2 elsewhere. The build targets
/// baseline x86-64 so that one binary runs anywhere; without this its loops would use 4 lanes on
/// a machine that has 16.
macro_rules! vectorised {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn generic($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,fma")]
                fn avx512($($arg: $ty),*) {
                    generic($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    generic($($arg),*)
                }
                if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
                    // SAFETY: the CPU has the features `avx512` is compiled for (checked above).
                    return unsafe { avx512($($arg),*) };
                }
                if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                    // SAFETY: as above, for `avx2`.
                    return unsafe { avx2($($arg),*) };
                }
            }
            generic($($arg),*)
        }
    };
}

pub(crate) use vectorised;

/// Elements per parallel task: large enough that scheduling costs nothing, small enough that both
/// cores get work on one encoder layer's activations.
const CHUNK: usize = 1 << 14;

/// `e^x`: `x = n ln 2 + r` with `|r| <= ln 2 / 2`, a degree-6 Taylor polynomial for `e^r` (relative
/// error below 2e-7 there) and `2^n` put into the exponent bits. Large inputs are clamped to where
/// `e^x` is a normal `f32`; below that the result is exactly 0, as the library's underflows:
/// attention's padding keys (a bias of -1e9) must get a probability of 0, not the smallest normal
/// float, whose products in the backward pass are subnormal numbers that slow every later matrix
/// product on x86 by an order of magnitude (measured: 23 s instead of 2.4 s per fine-tuning step).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    // Adding and subtracting 1.5 * 2^23 rounds to the nearest integer with plain SSE2.
    const ROUND: f32 = 12_582_912.0;
    const LOWEST: f32 = -87.0;
    let underflows = x < LOWEST;
    let x = x.clamp(LOWEST, 88.0);
    let shifted = x * std::f32::consts::LOG2_E + ROUND;
    let n = shifted - ROUND;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    let two_n =
        f32::from_bits(((shifted.to_bits() as i32 - ROUND.to_bits() as i32 + 127) as u32) << 23);
    if underflows {
        0.0
    } else {
        p * two_n
    }
}

#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

/// `tanh(x) = 1 - 2 / (1 + e^{2x})`: exact limits at both ends, absolute error about 1e-7.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    1.0 - 2.0 / (1.0 + exp(2.0 * x))
}

/// `erf(x)` from the Chebyshev fit of `erfc` in Numerical Recipes (`erfcc`, fractional error below
/// 1.2e-7 for every `x`), so `erf` has an absolute error of a few 1e-7.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -1.265_512_2
        + t * (1.000_023_7
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_204
                                + t * (1.488_515_9 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * exp(-z * z + poly);
    (1.0 - erfc).copysign(x)
}

/// `1 / sqrt(2)`.
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;

/// The exact (erf) GELU, `x Φ(x)`, as BERT uses it.
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// `d gelu / dx = Φ(x) + x φ(x)`.
#[inline(always)]
pub fn gelu_derivative(x: f32) -> f32 {
    // 1 / sqrt(2 pi)
    const FRAC_1_SQRT_2PI: f32 = 0.398_942_3;
    0.5 * (1.0 + erf(x * FRAC_1_SQRT_2)) + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x)
}

/// [`gelu`] of every element, in place, in parallel chunks.
pub fn gelu_in_place(values: &mut [f32]) {
    values.par_chunks_mut(CHUNK).for_each(gelu_chunk);
}

vectorised! {
    fn gelu_chunk(chunk: &mut [f32]) {
        chunk.iter_mut().for_each(|x| *x = gelu(*x));
    }
}

/// `grad * gelu'(x)` element-wise, written into `grad`.
pub fn gelu_backward_in_place(x: &[f32], grad: &mut [f32]) {
    assert_eq!(x.len(), grad.len(), "gelu backward: input and gradient differ in length");
    grad.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(g, x)| gelu_backward_chunk(x, g));
}

vectorised! {
    fn gelu_backward_chunk(x: &[f32], grad: &mut [f32]) {
        grad.iter_mut().zip(x).for_each(|(g, &x)| *g *= gelu_derivative(x));
    }
}

/// Softmax of every row of `width` values, in place, rows in parallel. The row maximum is
/// subtracted first, as every stable softmax does. The exponentials are one map over the row and
/// the sum a separate pass, so that the map vectorises.
pub fn softmax_rows(values: &mut [f32], width: usize) {
    assert!(
        width > 0 && values.len().is_multiple_of(width),
        "softmax: {} values are not rows of {width}",
        values.len()
    );
    let rows_per_task = (CHUNK / width).max(1);
    values.par_chunks_mut(rows_per_task * width).for_each(|rows| softmax_chunk(rows, width));
}

vectorised! {
    fn softmax_chunk(rows: &mut [f32], width: usize) {
        for row in rows.chunks_exact_mut(width) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            row.iter_mut().for_each(|v| *v = exp(*v - max));
            let inv = 1.0 / sum(row);
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

/// [`softmax_rows`] on the calling thread, for kernels that already run one task per core.
pub fn softmax_rows_serial(values: &mut [f32], width: usize) {
    softmax_chunk(values, width);
}

/// [`softmax_rows_backward`] on the calling thread.
pub fn softmax_rows_backward_serial(output: &[f32], grad: &mut [f32], width: usize) {
    softmax_backward_chunk(output, grad, width);
}

/// The sum of a slice in eight interleaved partial sums, which the compiler keeps in one vector
/// register (a single running sum must be added in order and cannot vectorise).
#[inline(always)]
fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for (lane, v) in lanes.iter_mut().zip(c) {
            *lane += v;
        }
    }
    lanes.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}

/// `sum(a * b)` in eight interleaved partial sums, as [`sum`].
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in (&mut ca).zip(&mut cb) {
        for ((lane, x), y) in lanes.iter_mut().zip(x).zip(y) {
            *lane += x * y;
        }
    }
    lanes.iter().sum::<f32>()
        + ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum::<f32>()
}

/// The softmax's backward pass per row: `dx = y (dy - sum(dy y))`, written into `grad`.
pub fn softmax_rows_backward(output: &[f32], grad: &mut [f32], width: usize) {
    assert_eq!(output.len(), grad.len(), "softmax backward: output and gradient differ in length");
    let rows_per_task = (CHUNK / width).max(1);
    grad.par_chunks_mut(rows_per_task * width)
        .zip(output.par_chunks(rows_per_task * width))
        .for_each(|(g, y)| softmax_backward_chunk(y, g, width));
}

vectorised! {
    fn softmax_backward_chunk(output: &[f32], grad: &mut [f32], width: usize) {
        for (g, y) in grad.chunks_exact_mut(width).zip(output.chunks_exact(width)) {
            let dot = dot(g, y);
            g.iter_mut().zip(y).for_each(|(g, &y)| *g = y * (*g - dot));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_sigmoid_and_tanh_match_the_library_functions() {
        for k in -2000..=2000 {
            let x = k as f32 * 0.05;
            if x.abs() <= 80.0 {
                let (e, reference) = (exp(x), x.exp());
                assert!((e - reference).abs() <= 4e-7 * reference, "exp({x}): {e} vs {reference}");
            }
            assert!((tanh(x) - x.tanh()).abs() < 3e-7, "tanh({x})");
            assert!((sigmoid(x) - 1.0 / (1.0 + (-x).exp())).abs() < 3e-7, "sigmoid({x})");
        }
        assert_eq!((tanh(1e4), tanh(-1e4), sigmoid(1e4)), (1.0, -1.0, 1.0));
        assert!((0.0..1e-37).contains(&sigmoid(-1e4)));
        assert!(exp(1e4).is_finite());
        assert_eq!((exp(-1e4), exp(-1e9), exp(f32::NEG_INFINITY)), (0.0, 0.0, 0.0));
    }

    /// `erf` in f64 as the reference: `2/sqrt(pi) e^{-x^2} sum_n 2^n x^{2n+1} / (1 3 ... (2n+1))`,
    /// a series of positive terms (no cancellation), exact to f64 for |x| <= 6.
    fn erf_reference(x: f64) -> f64 {
        if x.abs() > 6.0 {
            return x.signum();
        }
        let (mut term, mut sum, mut n) = (x, x, 0.0);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= 2.0 * x * x / (2.0 * n + 1.0);
            sum += term;
        }
        2.0 / std::f64::consts::PI.sqrt() * (-x * x).exp() * sum
    }

    #[test]
    fn erf_and_gelu_match_the_reference() {
        for k in -4000..=4000 {
            let x = k as f32 * 0.01;
            let reference = erf_reference(x as f64);
            assert!(
                (erf(x) as f64 - reference).abs() < 4e-7,
                "erf({x}): {} vs {reference}",
                erf(x)
            );
            let g = 0.5 * x as f64 * (1.0 + erf_reference(x as f64 / std::f64::consts::SQRT_2));
            assert!(
                (gelu(x) as f64 - g).abs() < 4e-7 * (1.0 + (x as f64).abs()),
                "gelu({x}): {} vs {g}",
                gelu(x)
            );
        }
        assert_eq!((erf(0.0), erf(50.0), erf(-50.0), gelu(-50.0)), (0.0, 1.0, -1.0, -0.0));
        assert_eq!(gelu_derivative(-50.0), 0.0);
    }

    #[test]
    fn gelu_derivative_matches_finite_differences() {
        for k in -800..=800 {
            let x = k as f64 * 0.01;
            let g = |x: f64| 0.5 * x * (1.0 + erf_reference(x / std::f64::consts::SQRT_2));
            let numeric = (g(x + 1e-5) - g(x - 1e-5)) / 2e-5;
            assert!((gelu_derivative(x as f32) as f64 - numeric).abs() < 1e-6, "gelu'({x})");
        }
    }

    #[test]
    fn softmax_rows_and_backward_match_a_direct_computation() {
        let width = 7;
        // Every row's last value is masked as attention masks padding keys.
        let values: Vec<f32> = (0..(2 * CHUNK / width + 3) * width)
            .map(|i| if i % width == width - 1 { -1e9 } else { ((i as f32) * 0.37).sin() * 30.0 })
            .collect();
        let mut y = values.clone();
        softmax_rows(&mut y, width);
        let grad: Vec<f32> = (0..values.len()).map(|i| ((i as f32) * 0.11).cos()).collect();
        let mut dx = grad.clone();
        softmax_rows_backward(&y, &mut dx, width);
        for ((row, out), (g, d)) in
            values.chunks(width).zip(y.chunks(width)).zip(grad.chunks(width).zip(dx.chunks(width)))
        {
            let max = row.iter().copied().fold(f64::NEG_INFINITY, |a, b| a.max(b as f64));
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
            let sum: f64 = e.iter().sum();
            let p: Vec<f64> = e.iter().map(|v| v / sum).collect();
            let dot: f64 = p.iter().zip(g).map(|(p, &g)| p * g as f64).sum();
            assert_eq!(
                (out[width - 1], d[width - 1]),
                (0.0, 0.0),
                "a masked position is exactly 0"
            );
            assert!(y.iter().chain(&dx).all(|v| *v == 0.0 || v.is_normal()), "no subnormal values");
            for i in 0..width {
                assert!((out[i] as f64 - p[i]).abs() < 1e-6, "softmax {i}");
                assert!(
                    (d[i] as f64 - p[i] * (g[i] as f64 - dot)).abs() < 1e-5,
                    "softmax backward {i}"
                );
            }
        }
    }
}
