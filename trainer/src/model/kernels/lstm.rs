//! The BiLSTM recurrence as one whole-sequence operation on the host.
//!
//! [`super::bilstm::run`] composes the recurrence from Burn tensor operations: every time step
//! adds several small operations and autodiff nodes, and under autodiff each of them allocates.
//! Here both directions run over the whole batch at once on plain buffers: the input projection
//! of every step is done before (one matmul, by the caller), each step is one `[B, H] x [H, 4H]`
//! product plus the gate arithmetic, and the states of every step are kept in preallocated
//! buffers (the [`Tape`]) from which the backward pass (backpropagation through time) reads the
//! gates again instead of recomputing them. The two directions are independent and run on two
//! threads.
//!
//! Layout, as Burn's `Lstm`: gates in the order input, forget, output, cell (candidate); sigmoid
//! gates, tanh candidate and tanh on the cell state. The backward direction reads each row in
//! reverse within its own length (padding stays where it is), as `MaskedBiLstm` does by
//! reversing its input, so padding never reaches a real word's state.

use super::fast_math::{sigmoid, tanh};
use super::host_matmul::matmul;

/// The sizes of one recurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Rows (`B`).
    pub batch: usize,
    /// Steps of the padded rows (`L`).
    pub steps: usize,
    /// Hidden size per direction (`H`).
    pub hidden: usize,
}

impl Dims {
    fn gates(&self) -> usize {
        4 * self.hidden
    }
}

/// What the backward pass reads, per direction (index 0 left to right, 1 right to left), in
/// step order: `gates` `[L, B, 4H]` after their activations, `cells` and `hidden` `[L, B, H]`.
#[derive(Debug, Clone)]
pub struct Tape {
    pub dims: Dims,
    pub lens: Vec<usize>,
    pub gates: [Vec<f32>; 2],
    pub cells: [Vec<f32>; 2],
    pub hidden: [Vec<f32>; 2],
}

/// The position that direction `dir` reads at step `s` of a row of `len` words.
fn position(dir: usize, len: usize, s: usize) -> usize {
    if dir == 0 || s >= len {
        s
    } else {
        len - 1 - s
    }
}

/// Both directions of the recurrence from zero states.
///
/// `xw`: `[B, L, 8H]`, the input projection plus both biases of every position, the left-to-right
/// direction's four gates in the first `4H` columns; `w_hh`: `[2, H, 4H]`, each direction's
/// hidden-to-gates weights (row-major, `h @ w`); `lens`: words per row. Returns the hidden states
/// `[B, L, 2H]` (left to right in the first `H` columns) and the tape for [`backward`].
pub fn forward(xw: &[f32], w_hh: &[f32], dims: Dims, lens: &[usize]) -> (Vec<f32>, Tape) {
    let Dims { batch: b, steps: l, hidden: h } = dims;
    assert_eq!(xw.len(), b * l * 8 * h, "xw is not [B, L, 8H]");
    assert_eq!(w_hh.len(), 2 * h * 4 * h, "w_hh is not [2, H, 4H]");
    assert_eq!(lens.len(), b, "one length per row");
    let run = |dir: usize| {
        direction_forward(dir, xw, &w_hh[dir * 4 * h * h..(dir + 1) * 4 * h * h], dims, lens)
    };
    let ((g0, c0, h0), (g1, c1, h1)) = rayon::join(|| run(0), || run(1));
    let mut out = vec![0.0f32; b * l * 2 * h];
    for (dir, states) in [&h0, &h1].into_iter().enumerate() {
        for s in 0..l {
            for (r, &len) in lens.iter().enumerate() {
                let p = position(dir, len, s);
                let at = (r * l + p) * 2 * h + dir * h;
                out[at..at + h].copy_from_slice(&states[(s * b + r) * h..(s * b + r + 1) * h]);
            }
        }
    }
    (out, Tape { dims, lens: lens.to_vec(), gates: [g0, g1], cells: [c0, c1], hidden: [h0, h1] })
}

/// One direction: `(gates, cells, hidden)` in step order.
fn direction_forward(
    dir: usize,
    xw: &[f32],
    w: &[f32],
    dims: Dims,
    lens: &[usize],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let Dims { batch: b, steps: l, hidden: h } = dims;
    let g4 = dims.gates();
    let mut gates = vec![0.0f32; l * b * g4];
    let mut cells = vec![0.0f32; l * b * h];
    let mut hidden = vec![0.0f32; l * b * h];
    let zeros = vec![0.0f32; h];
    for s in 0..l {
        let z = &mut gates[s * b * g4..(s + 1) * b * g4];
        for (r, &len) in lens.iter().enumerate() {
            let at = (r * l + position(dir, len, s)) * 8 * h + dir * g4;
            z[r * g4..(r + 1) * g4].copy_from_slice(&xw[at..at + g4]);
        }
        let (done, now) = hidden.split_at_mut(s * b * h);
        if s > 0 {
            matmul(b, g4, h, z, g4, true, &done[(s - 1) * b * h..], (1, h), w, (1, g4), 1.0);
        }
        let (cells_done, cells_now) = cells.split_at_mut(s * b * h);
        for r in 0..b {
            let prev = if s > 0 {
                &cells_done[((s - 1) * b + r) * h..((s - 1) * b + r + 1) * h]
            } else {
                &zeros[..]
            };
            let (zi, rest) = z[r * g4..(r + 1) * g4].split_at_mut(h);
            let (zf, rest) = rest.split_at_mut(h);
            let (zo, zg) = rest.split_at_mut(h);
            let (c_out, h_out) = (&mut cells_now[r * h..(r + 1) * h], &mut now[r * h..(r + 1) * h]);
            gate_step(zi, zf, zo, zg, prev, c_out, h_out);
        }
    }
    (gates, cells, hidden)
}

/// One row of one step: the gates' pre-activations become their activations in place, and the
/// cell and hidden states are written. Plain slices of one length, so the loop vectorises.
#[inline(always)]
fn gate_step(
    zi: &mut [f32],
    zf: &mut [f32],
    zo: &mut [f32],
    zg: &mut [f32],
    prev: &[f32],
    c_out: &mut [f32],
    h_out: &mut [f32],
) {
    let n = zi.len();
    let (zf, zo, zg, prev, c_out, h_out) =
        (&mut zf[..n], &mut zo[..n], &mut zg[..n], &prev[..n], &mut c_out[..n], &mut h_out[..n]);
    for j in 0..n {
        let (i, f, o, g) = (sigmoid(zi[j]), sigmoid(zf[j]), sigmoid(zo[j]), tanh(zg[j]));
        zi[j] = i;
        zf[j] = f;
        zo[j] = o;
        zg[j] = g;
        let c = f * prev[j] + i * g;
        c_out[j] = c;
        h_out[j] = o * tanh(c);
    }
}

/// Backpropagation through time: from the gradient of the hidden states `[B, L, 2H]`, the
/// gradients of `xw` `[B, L, 8H]` and of `w_hh` `[2, H, 4H]`.
pub fn backward(tape: &Tape, w_hh: &[f32], grad_out: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let Dims { batch: b, steps: l, hidden: h } = tape.dims;
    let g4 = tape.dims.gates();
    assert_eq!(grad_out.len(), b * l * 2 * h, "grad is not [B, L, 2H]");
    let run = |dir: usize| {
        direction_backward(dir, tape, &w_hh[dir * h * g4..(dir + 1) * h * g4], grad_out)
    };
    let ((dz0, dw0), (dz1, dw1)) = rayon::join(|| run(0), || run(1));
    let mut d_xw = vec![0.0f32; b * l * 8 * h];
    for (dir, dz) in [&dz0, &dz1].into_iter().enumerate() {
        for s in 0..l {
            for (r, &len) in tape.lens.iter().enumerate() {
                let at = (r * l + position(dir, len, s)) * 8 * h + dir * g4;
                d_xw[at..at + g4].copy_from_slice(&dz[(s * b + r) * g4..(s * b + r + 1) * g4]);
            }
        }
    }
    (d_xw, [dw0, dw1].concat())
}

/// The outputs of one row's backward step: the gates' pre-activation gradients, and the cell
/// gradient carried to the step before (`dc_next` in, `dc * f` out).
struct GateGrads<'a> {
    di: &'a mut [f32],
    df: &'a mut [f32],
    d_o: &'a mut [f32],
    dg: &'a mut [f32],
    dh_next: &'a [f32],
    dc_next: &'a mut [f32],
}

/// One row of one step backwards, from the gate activations `[4H]`, the cell state, the cell
/// state before and the gradient of the row's output.
#[inline(always)]
fn gate_step_backward(
    gates: &[f32],
    cell: &[f32],
    prev: &[f32],
    grad_out: &[f32],
    out: GateGrads<'_>,
) {
    let h = cell.len();
    let (gi, gf, go, gg) =
        (&gates[..h], &gates[h..2 * h], &gates[2 * h..3 * h], &gates[3 * h..4 * h]);
    let (prev, grad_out) = (&prev[..h], &grad_out[..h]);
    let GateGrads { di, df, d_o, dg, dh_next, dc_next } = out;
    let (di, df, d_o, dg, dh_next, dc_next) =
        (&mut di[..h], &mut df[..h], &mut d_o[..h], &mut dg[..h], &dh_next[..h], &mut dc_next[..h]);
    for j in 0..h {
        let (i, f, o, g) = (gi[j], gf[j], go[j], gg[j]);
        let dh = grad_out[j] + dh_next[j];
        let tc = tanh(cell[j]);
        let dc = dh * o * (1.0 - tc * tc) + dc_next[j];
        dc_next[j] = dc * f;
        di[j] = dc * g * i * (1.0 - i);
        df[j] = dc * prev[j] * f * (1.0 - f);
        d_o[j] = dh * tc * o * (1.0 - o);
        dg[j] = dc * i * (1.0 - g * g);
    }
}

/// One direction: the gradient of the gates' pre-activations `[L, B, 4H]` and of its `w_hh`.
fn direction_backward(
    dir: usize,
    tape: &Tape,
    w: &[f32],
    grad_out: &[f32],
) -> (Vec<f32>, Vec<f32>) {
    let Dims { batch: b, steps: l, hidden: h } = tape.dims;
    let g4 = tape.dims.gates();
    let (gates, cells, hidden) = (&tape.gates[dir], &tape.cells[dir], &tape.hidden[dir]);
    let mut dz = vec![0.0f32; l * b * g4];
    let mut dh_next = vec![0.0f32; b * h];
    let mut dc_next = vec![0.0f32; b * h];
    let zeros = vec![0.0f32; h];
    for s in (0..l).rev() {
        let dzs = &mut dz[s * b * g4..(s + 1) * b * g4];
        for (r, &len) in tape.lens.iter().enumerate() {
            let up = (r * l + position(dir, len, s)) * 2 * h + dir * h;
            let gr = &gates[(s * b + r) * g4..(s * b + r + 1) * g4];
            let row = (s * b + r) * h..(s * b + r + 1) * h;
            let prev = if s > 0 { &cells[row.start - b * h..row.end - b * h] } else { &zeros[..] };
            let (di, rest) = dzs[r * g4..(r + 1) * g4].split_at_mut(h);
            let (df, rest) = rest.split_at_mut(h);
            let (d_o, dg) = rest.split_at_mut(h);
            let step = GateGrads {
                di,
                df,
                d_o,
                dg,
                dh_next: &dh_next[r * h..(r + 1) * h],
                dc_next: &mut dc_next[r * h..(r + 1) * h],
            };
            gate_step_backward(gr, &cells[row], prev, &grad_out[up..up + h], step);
        }
        if s > 0 {
            // dh_{s-1} = dz_s @ w^T: w^T's element (k, n) is w[n, k].
            matmul(b, h, g4, &mut dh_next, h, false, dzs, (1, g4), w, (g4, 1), 1.0);
        }
    }
    // dw = sum over s >= 1 of h_{s-1}^T dz_s: one product over all steps and rows.
    let mut dw = vec![0.0f32; h * g4];
    matmul(
        h,
        g4,
        (l.saturating_sub(1)) * b,
        &mut dw,
        g4,
        false,
        hidden,
        (h, 1),
        &dz[b * g4..],
        (1, g4),
        1.0,
    );
    (dz, dw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| (i as f32 * 0.713 + seed).sin() * 0.8).collect()
    }

    /// The loss `sum(out * weights)` and its gradients by the tape.
    fn loss(xw: &[f32], w: &[f32], dims: Dims, lens: &[usize], weights: &[f32]) -> f64 {
        let (out, _) = forward(xw, w, dims, lens);
        out.iter().zip(weights).map(|(a, b)| (*a as f64) * (*b as f64)).sum()
    }

    #[test]
    fn gradients_match_finite_differences_with_padding() {
        let dims = Dims { batch: 3, steps: 5, hidden: 2 };
        let lens = [5, 3, 1];
        let xw = values(3 * 5 * 16, 0.3);
        let w = values(2 * 2 * 8, 1.1);
        let weights = values(3 * 5 * 4, 2.0);
        let (_, tape) = forward(&xw, &w, dims, &lens);
        let (d_xw, d_w) = backward(&tape, &w, &weights);
        let eps = 1e-2f32;
        let check = |analytic: &[f32], base: &[f32], is_xw: bool| {
            for k in 0..base.len() {
                let mut plus = base.to_vec();
                plus[k] += eps;
                let mut minus = base.to_vec();
                minus[k] -= eps;
                let (fp, fm) = if is_xw {
                    (
                        loss(&plus, &w, dims, &lens, &weights),
                        loss(&minus, &w, dims, &lens, &weights),
                    )
                } else {
                    (
                        loss(&xw, &plus, dims, &lens, &weights),
                        loss(&xw, &minus, dims, &lens, &weights),
                    )
                };
                let numeric = ((fp - fm) / (2.0 * eps as f64)) as f32;
                assert!(
                    (numeric - analytic[k]).abs() < 2e-3,
                    "{} {k}: analytic {} numeric {numeric}",
                    if is_xw { "xw" } else { "w" },
                    analytic[k]
                );
            }
        };
        check(&d_xw, &xw, true);
        check(&d_w, &w, false);
    }

    #[test]
    fn the_backward_direction_reads_each_row_within_its_length() {
        // A row of length 2 padded to 4: its right-to-left state at word 0 has read word 1 and
        // nothing of the padding.
        let dims = Dims { batch: 1, steps: 4, hidden: 1 };
        let w = values(2 * 4, 0.5);
        let mut xw = values(4 * 8, 0.9);
        let (out, _) = forward(&xw, &w, dims, &[2]);
        for v in &mut xw[2 * 8..] {
            *v += 3.0;
        }
        let (noisy, _) = forward(&xw, &w, dims, &[2]);
        for p in 0..2 {
            assert_eq!(out[p * 2 + 1], noisy[p * 2 + 1], "word {p}");
        }
    }
}
