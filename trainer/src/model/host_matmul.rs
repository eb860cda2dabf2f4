//! Matrix products on host buffers, for the kernels that run on plain slices
//! ([`super::lstm_kernel`], [`super::attention_kernel`]): any strides, so that a head's columns
//! or a transposed operand are read in place rather than copied out first.

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
            Parallelism::None,
        );
    }
}
