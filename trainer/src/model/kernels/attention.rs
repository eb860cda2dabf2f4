//! BERT's multi-head scaled dot-product attention as one operation on the host.
//!
//! Burn's composition ([`super::bert`] on other backends) copies Q, K and V into a head-major
//! layout (`swap_dims`), builds every head's scores as one `[B, K, T, T]` tensor, adds the padding
//! bias in a pass of its own, takes the softmax, multiplies and copies the context back to
//! `[B, T, H]`. Here each window is one task: per head, its scores go into a `[T, T]` buffer,
//! read straight from the `[B, T, H]` projections through strides (head `k` is columns
//! `k * d .. (k + 1) * d`), and its context is written into its own columns of the output. The
//! backward pass reads the kept probabilities (and the dropout mask, when training) the same way.

use rayon::prelude::*;

use super::fast_math::{softmax_rows_backward_serial, softmax_rows_serial};
use super::host_matmul::matmul;
use crate::model::dropout::masked;

/// The sizes of one attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dims {
    /// Windows (`B`).
    pub batch: usize,
    /// Subtokens per window, padding included (`T`).
    pub tokens: usize,
    /// Model width (`H`), all heads side by side.
    pub hidden: usize,
    /// Heads (`K`); each is `H / K` wide.
    pub heads: usize,
}

impl Dims {
    fn head_dim(&self) -> usize {
        self.hidden / self.heads
    }

    /// Values of one window's probabilities, every head: `K * T * T`.
    fn probs_per_window(&self) -> usize {
        self.heads * self.tokens * self.tokens
    }

    fn check(&self, q: &[f32], k: &[f32], v: &[f32], drop: Option<&[f32]>) {
        let n = self.batch * self.tokens * self.hidden;
        assert!(self.heads > 0 && self.hidden.is_multiple_of(self.heads), "H not a multiple of K");
        assert!(q.len() == n && k.len() == n && v.len() == n, "q, k, v are not [B, T, H]");
        if let Some(m) = drop {
            assert_eq!(m.len(), self.batch * self.probs_per_window(), "mask is not [B, K, T, T]");
        }
    }
}

/// What one window's task reads: its rows of Q, K and V (`[T, H]` each) and its dropout mask
/// `[K, T, T]` when training.
struct Window<'a> {
    q: &'a [f32],
    k: &'a [f32],
    v: &'a [f32],
    drop: Option<&'a [f32]>,
}

fn window<'a>(
    d: Dims,
    b: usize,
    (q, k, v): (&'a [f32], &'a [f32], &'a [f32]),
    drop: Option<&'a [f32]>,
) -> Window<'a> {
    let (rows, p) = (d.tokens * d.hidden, d.probs_per_window());
    Window {
        q: &q[b * rows..(b + 1) * rows],
        k: &k[b * rows..(b + 1) * rows],
        v: &v[b * rows..(b + 1) * rows],
        drop: drop.map(|m| &m[b * p..(b + 1) * p]),
    }
}

/// `softmax(Q K^T / sqrt(d) + bias) V` for every head of every window: `q`, `k`, `v` `[B, T, H]`,
/// `bias` `[B, T]` added to every query's score of each key (a large negative value on padding),
/// `drop` the scaled dropout mask `[B, K, T, T]` applied to the probabilities when training.
/// Returns the context `[B, T, H]` and, with `keep`, the probabilities `[B, K, T, T]` (before
/// dropout) for [`backward`]; else an empty vector.
pub fn forward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    bias: &[f32],
    drop: Option<&[f32]>,
    d: Dims,
    keep: bool,
) -> (Vec<f32>, Vec<f32>) {
    d.check(q, k, v, drop);
    assert_eq!(bias.len(), d.batch * d.tokens, "the key bias is not [B, T]");
    let (rows, per) = (d.tokens * d.hidden, d.probs_per_window());
    let mut out = vec![0.0f32; d.batch * rows];
    let mut probs = if keep { vec![0.0f32; d.batch * per] } else { Vec::new() };
    let run = |b: usize, out: &mut [f32], probs: &mut [f32], scratch: &mut Vec<f32>| {
        let bias = &bias[b * d.tokens..(b + 1) * d.tokens];
        window_forward(d, &window(d, b, (q, k, v), drop), bias, out, probs, scratch);
    };
    if keep {
        out.par_chunks_mut(rows)
            .zip(probs.par_chunks_mut(per))
            .enumerate()
            .for_each_init(Vec::new, |scratch, (b, (o, p))| run(b, o, p, scratch));
    } else {
        out.par_chunks_mut(rows).enumerate().for_each_init(
            || (vec![0.0f32; per], Vec::new()),
            |(p, scratch), (b, o)| run(b, o, p, scratch),
        );
    }
    (out, probs)
}

/// One window, every head, with its key bias `[T]`: `probs` `[K, T, T]` receives the
/// probabilities, `out` `[T, H]` the context; `scratch` holds the dropped-out probabilities when
/// training.
fn window_forward(
    d: Dims,
    w: &Window,
    bias: &[f32],
    out: &mut [f32],
    probs: &mut [f32],
    scratch: &mut Vec<f32>,
) {
    let (t, h, hd) = (d.tokens, d.hidden, d.head_dim());
    let scale = 1.0 / (hd as f32).sqrt();
    for (head, p) in probs.chunks_exact_mut(t * t).enumerate() {
        let c = head * hd;
        // The bias first, then the scaled scores added onto it by the product.
        p.chunks_exact_mut(t).for_each(|row| row.copy_from_slice(bias));
        matmul(t, t, hd, p, t, true, &w.q[c..], (1, h), &w.k[c..], (h, 1), scale);
        softmax_rows_serial(p, t);
        let used = masked(p, w.drop.map(|m| &m[head * t * t..(head + 1) * t * t]), scratch);
        matmul(t, hd, t, &mut out[c..], h, false, used, (1, t), &w.v[c..], (1, h), 1.0);
    }
}

/// The gradients of Q, K and V (`[B, T, H]` each) from the context's gradient `grad` `[B, T, H]`
/// and the probabilities [`forward`] kept; `q`, `k`, `v`, `drop` as given to it.
#[allow(clippy::too_many_arguments)]
pub fn backward(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    drop: Option<&[f32]>,
    probs: &[f32],
    grad: &[f32],
    d: Dims,
) -> [Vec<f32>; 3] {
    d.check(q, k, v, drop);
    let (rows, per) = (d.tokens * d.hidden, d.probs_per_window());
    assert_eq!(probs.len(), d.batch * per, "probabilities are not [B, K, T, T]");
    assert_eq!(grad.len(), d.batch * rows, "the gradient is not [B, T, H]");
    let mut grads = [(); 3].map(|_| vec![0.0f32; d.batch * rows]);
    let [dq, dk, dv] = &mut grads;
    dq.par_chunks_mut(rows)
        .zip(dk.par_chunks_mut(rows))
        .zip(dv.par_chunks_mut(rows))
        .enumerate()
        .for_each_init(
            || (Vec::new(), vec![0.0f32; d.tokens * d.tokens]),
            |(used, dp), (b, ((dq, dk), dv))| {
                let w = window(d, b, (q, k, v), drop);
                let out = WindowGrads { dq, dk, dv };
                let probs = &probs[b * per..(b + 1) * per];
                window_backward(d, &w, probs, &grad[b * rows..(b + 1) * rows], out, used, dp);
            },
        );
    grads
}

/// One window's gradients, each `[T, H]`.
struct WindowGrads<'a> {
    dq: &'a mut [f32],
    dk: &'a mut [f32],
    dv: &'a mut [f32],
}

fn window_backward(
    d: Dims,
    w: &Window,
    probs: &[f32],
    grad: &[f32],
    out: WindowGrads,
    used: &mut Vec<f32>,
    dp: &mut [f32],
) {
    let (t, h, hd) = (d.tokens, d.hidden, d.head_dim());
    let scale = 1.0 / (hd as f32).sqrt();
    for (head, p) in probs.chunks_exact(t * t).enumerate() {
        let (c, m) = (head * hd, w.drop.map(|m| &m[head * t * t..(head + 1) * t * t]));
        let used = masked(p, m, used);
        // dV = P^T dC, dP = dC V^T (through the dropout mask), dS = softmax'(dP).
        matmul(t, hd, t, &mut out.dv[c..], h, false, used, (t, 1), &grad[c..], (1, h), 1.0);
        matmul(t, t, hd, dp, t, false, &grad[c..], (1, h), &w.v[c..], (h, 1), 1.0);
        if let Some(m) = m {
            dp.iter_mut().zip(m).for_each(|(g, m)| *g *= m);
        }
        softmax_rows_backward_serial(p, dp, t);
        // dQ = dS K / sqrt(d), dK = dS^T Q / sqrt(d).
        matmul(t, hd, t, &mut out.dq[c..], h, false, dp, (1, t), &w.k[c..], (1, h), scale);
        matmul(t, hd, t, &mut out.dk[c..], h, false, dp, (t, 1), &w.q[c..], (1, h), scale);
    }
}
