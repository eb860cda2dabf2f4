//! Matrix products on host buffers, for the kernels that run on plain slices
//! ([`super::lstm`], [`super::attention`], [`super::gat`]) and the fused
//! linear layer ([`affine`]): any strides, so that a head's columns or a transposed operand are
//! read in place rather than copied out first.

use gemm::{gemm, Parallelism};

/// `dst[m, n] (+)= scale * lhs[m, k] * rhs[k, n]` with explicit strides (column, row) for each
/// operand, on the calling thread: the callers already run one task per core.
#[allow(clippy::too_many_arguments)]
pub fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
    scale: f32,
) {
    let operands = (lhs, lhs_strides, rhs, rhs_strides);
    product(Parallelism::None, (m, n, k), dst, dst_rs, accumulate, operands, scale);
}

/// One strided product: `(lhs, lhs_strides, rhs, rhs_strides)`.
type Operands<'a> = (&'a [f32], (usize, usize), &'a [f32], (usize, usize));

/// [`matmul`] on the given threads: none for the kernels' per-window tasks, gemm's own (every
/// core) for a product that is the whole work ([`affine`]).
fn product(
    parallelism: Parallelism,
    (m, n, k): (usize, usize, usize),
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    (lhs, lhs_strides, rhs, rhs_strides): Operands,
    scale: f32,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The largest element each operand's strides reach must lie inside its slice.
    let reach =
        |rows: usize, cols: usize, (cs, rs): (usize, usize)| (rows - 1) * rs + (cols - 1) * cs;
    assert!(dst.len() > reach(m, n, (1, dst_rs)));
    if k == 0 {
        if !accumulate {
            (0..m).for_each(|i| dst[i * dst_rs..i * dst_rs + n].fill(0.0));
        }
        return;
    }
    assert!(lhs.len() > reach(m, k, lhs_strides) && rhs.len() > reach(k, n, rhs_strides));
    // SAFETY: every index the strides reach is inside its slice (checked above), `dst` is borrowed
    // mutably and does not alias `lhs` or `rhs`.
    unsafe {
        gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.0 as isize,
            lhs_strides.1 as isize,
            rhs.as_ptr(),
            rhs_strides.0 as isize,
            rhs_strides.1 as isize,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

/// A linear layer on host buffers: `x` `[M, D]` times `w` `[D, N]` plus `bias` `[N]` on every
/// row, `[M, N]`. The bias is the product's starting value, so that the output is written once
/// rather than allocated zeroed, filled and added to.
pub fn affine(x: &[f32], w: &[f32], bias: &[f32], (m, d, n): (usize, usize, usize)) -> Vec<f32> {
    assert!(x.len() == m * d && w.len() == d * n && bias.len() == n, "affine: sizes differ");
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    (0..m).for_each(|_| out.extend_from_slice(bias));
    product(parallel(m, n, d), (m, n, d), &mut out, n, true, (x, (1, d), w, (1, n)), 1.0);
    out
}

/// The gradients of [`affine`]'s `x`, `w` and `bias` from its output's gradient `grad` `[M, N]`:
/// `grad w^T` `[M, D]`, `x^T grad` `[D, N]` and `grad`'s column sums `[N]`.
pub fn affine_backward(
    x: &[f32],
    w: &[f32],
    grad: &[f32],
    (m, d, n): (usize, usize, usize),
) -> [Vec<f32>; 3] {
    assert!(x.len() == m * d && w.len() == d * n && grad.len() == m * n, "affine: sizes differ");
    let mut dx = vec![0.0f32; m * d];
    product(parallel(m, d, n), (m, d, n), &mut dx, d, false, (grad, (1, n), w, (n, 1)), 1.0);
    let mut dw = vec![0.0f32; d * n];
    product(parallel(d, n, m), (d, n, m), &mut dw, n, false, (x, (d, 1), grad, (1, n)), 1.0);
    let mut db = vec![0.0f32; n];
    for row in grad.chunks_exact(n) {
        db.iter_mut().zip(row).for_each(|(b, g)| *b += g);
    }
    [dx, dw, db]
}

/// gemm's threads for a product of `m * n * k` large enough to pay for them (Burn's flex
/// backend draws the line at the same place), else the calling thread.
fn parallel(m: usize, n: usize, k: usize) -> Parallelism {
    if m * n * k >= 192 * 192 * 192 {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    }
}
