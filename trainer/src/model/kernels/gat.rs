//! Graph attention over dense window graphs ([`super::gat::GraphAttention::forward`]) as one
//! operation on the host.
//!
//! Burn's composition builds every head's `[L, L]` scores of every window as one `[B, K, L, L]`
//! tensor and passes over it five times (LeakyReLU, the graph mask, softmax, dropout, the product),
//! each pass allocating. Here each window is one task: per head, its node scores `a_src . Wh_i`
//! and `a_dst . Wh_j`, the masked LeakyReLU and the softmax fill one `[L, L]` buffer, and the
//! aggregation and ELU are written into the head's columns of the output. The backward pass
//! reads the kept probabilities and outputs.

use rayon::prelude::*;

use super::fast_math::{exp, softmax_rows_backward_serial, softmax_rows_serial};
use super::host_matmul::matmul;
use crate::model::dropout::masked;

/// The sizes of one graph attention and its LeakyReLU slope.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dims {
    /// Windows (`B`).
    pub batch: usize,
    /// Words per window, padding included (`L`).
    pub nodes: usize,
    /// Heads (`K`).
    pub heads: usize,
    /// Width of each head (`F`).
    pub head_dim: usize,
    /// LeakyReLU's negative slope.
    pub alpha: f32,
}

impl Dims {
    fn width(&self) -> usize {
        self.heads * self.head_dim
    }
    fn rows(&self) -> usize {
        self.nodes * self.width()
    }
    fn probs(&self) -> usize {
        self.heads * self.nodes * self.nodes
    }
}

/// What the kernel reads: `wh` `[B, L, K*F]` (the projected nodes, heads side by side), `a_src`
/// and `a_dst` `[K, F]`, `adjacency` `[B, L, L]` (self loops are added), and the scaled dropout
/// mask of the probabilities `[B, K, L, L]` when training.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub wh: &'a [f32],
    pub a_src: &'a [f32],
    pub a_dst: &'a [f32],
    pub adjacency: &'a [bool],
    pub drop: Option<&'a [f32]>,
}

impl Inputs<'_> {
    fn check(&self, d: &Dims) {
        assert_eq!(self.wh.len(), d.batch * d.rows(), "wh is not [B, L, K*F]");
        assert!(self.a_src.len() == d.width() && self.a_dst.len() == d.width(), "a is not [K, F]");
        assert_eq!(self.adjacency.len(), d.batch * d.nodes * d.nodes, "adjacency is not [B, L, L]");
        if let Some(m) = self.drop {
            assert_eq!(m.len(), d.batch * d.probs(), "the mask is not [B, K, L, L]");
        }
    }
}

/// Whether node `i` of window `b` attends to node `j`: an edge or itself.
fn allowed(x: &Inputs, d: &Dims, b: usize, i: usize, j: usize) -> bool {
    i == j || x.adjacency[(b * d.nodes + i) * d.nodes + j]
}

/// Head `k`'s node scores of window `b`: `a_src . Wh_i` and `a_dst . Wh_i` for every node.
fn node_scores(x: &Inputs, d: &Dims, b: usize, k: usize) -> (Vec<f32>, Vec<f32>) {
    let (f, w) = (d.head_dim, d.width());
    let (a_src, a_dst) = (&x.a_src[k * f..(k + 1) * f], &x.a_dst[k * f..(k + 1) * f]);
    (0..d.nodes)
        .map(|i| {
            let row = &x.wh[b * d.rows() + i * w + k * f..][..f];
            let dot = |a: &[f32]| a.iter().zip(row).map(|(a, h)| a * h).sum::<f32>();
            (dot(a_src), dot(a_dst))
        })
        .unzip()
}

/// `ELU(sum_j att_ij Wh_j)` for every head, `att` the softmax over each node's neighbours (and
/// itself) of `LeakyReLU(a_src . Wh_i + a_dst . Wh_j)`, after dropout. Returns the output
/// `[B, L, K*F]` and, with `keep`, the probabilities `[B, K, L, L]` (before dropout).
pub fn forward(x: Inputs, d: Dims, keep: bool) -> (Vec<f32>, Vec<f32>) {
    x.check(&d);
    let mut out = vec![0.0f32; d.batch * d.rows()];
    let mut probs = vec![0.0f32; if keep { d.batch * d.probs() } else { 0 }];
    let run = |b: usize, out: &mut [f32], probs: &mut [f32], used: &mut Vec<f32>| {
        window_forward(&x, &d, b, out, probs, used);
    };
    if keep {
        out.par_chunks_mut(d.rows())
            .zip(probs.par_chunks_mut(d.probs()))
            .enumerate()
            .for_each_init(Vec::new, |used, (b, (o, p))| run(b, o, p, used));
    } else {
        out.par_chunks_mut(d.rows()).enumerate().for_each_init(
            || (vec![0.0f32; d.probs()], Vec::new()),
            |(p, used), (b, o)| run(b, o, p, used),
        );
    }
    (out, probs)
}

fn window_forward(
    x: &Inputs,
    d: &Dims,
    b: usize,
    out: &mut [f32],
    probs: &mut [f32],
    used: &mut Vec<f32>,
) {
    let (l, f, w) = (d.nodes, d.head_dim, d.width());
    let wh = &x.wh[b * d.rows()..(b + 1) * d.rows()];
    for (k, p) in probs.chunks_exact_mut(l * l).enumerate() {
        let (src, dst) = node_scores(x, d, b, k);
        for (i, row) in p.chunks_exact_mut(l).enumerate() {
            for (j, e) in row.iter_mut().enumerate() {
                let z = src[i] + dst[j];
                let leaky = if z >= 0.0 { z } else { d.alpha * z };
                *e = if allowed(x, d, b, i, j) { leaky } else { -1e9 };
            }
        }
        softmax_rows_serial(p, l);
        let att = masked(p, x.drop.map(|m| &m[(b * d.heads + k) * l * l..][..l * l]), used);
        matmul(l, f, l, &mut out[k * f..], w, false, att, (1, l), &wh[k * f..], (1, w), 1.0);
    }
    out.iter_mut().for_each(|v| {
        if *v <= 0.0 {
            *v = exp(*v) - 1.0;
        }
    });
}

/// The gradients of `wh` `[B, L, K*F]`, `a_src` and `a_dst` `[K, F]` from the output's gradient
/// `grad` `[B, L, K*F]`, given what [`forward`] returned (`out`, `probs`) for `x`.
pub fn backward(x: Inputs, d: Dims, out: &[f32], probs: &[f32], grad: &[f32]) -> [Vec<f32>; 3] {
    x.check(&d);
    assert!(out.len() == x.wh.len() && grad.len() == x.wh.len(), "out or grad is not [B, L, K*F]");
    assert_eq!(probs.len(), d.batch * d.probs(), "probabilities are not [B, K, L, L]");
    let mut dwh = vec![0.0f32; x.wh.len()];
    let partials: Vec<[Vec<f32>; 2]> = dwh
        .par_chunks_mut(d.rows())
        .enumerate()
        .map(|(b, dwh)| {
            let span = b * d.rows()..(b + 1) * d.rows();
            let window = (&out[span.clone()], &probs[b * d.probs()..][..d.probs()], &grad[span]);
            window_backward(&x, &d, b, window, dwh)
        })
        .collect();
    let mut da = [vec![0.0f32; d.width()], vec![0.0f32; d.width()]];
    for p in &partials {
        for (total, part) in da.iter_mut().zip(p) {
            total.iter_mut().zip(part).for_each(|(t, v)| *t += v);
        }
    }
    let [da_src, da_dst] = da;
    [dwh, da_src, da_dst]
}

/// One window's share: its rows of `dwh` (written), and its parts of `a_src`'s and `a_dst`'s
/// gradients (returned). `window`: its `out`, `probs` and `grad`.
fn window_backward(
    x: &Inputs,
    d: &Dims,
    b: usize,
    (out, probs, grad): (&[f32], &[f32], &[f32]),
    dwh: &mut [f32],
) -> [Vec<f32>; 2] {
    let (l, f, w) = (d.nodes, d.head_dim, d.width());
    let wh = &x.wh[b * d.rows()..(b + 1) * d.rows()];
    // Through the ELU: its derivative is 1 above 0, else exp(x) = out + 1.
    let dpre: Vec<f32> =
        out.iter().zip(grad).map(|(&o, &g)| if o > 0.0 { g } else { g * (o + 1.0) }).collect();
    let (mut used, mut de) = (Vec::new(), vec![0.0f32; l * l]);
    let mut da = [vec![0.0f32; w], vec![0.0f32; w]];
    for (k, p) in probs.chunks_exact(l * l).enumerate() {
        let (c, mask) = (k * f, x.drop.map(|m| &m[(b * d.heads + k) * l * l..][..l * l]));
        let att = masked(p, mask, &mut used);
        // dWh (aggregation) = att^T dPre; dAtt = dPre Wh^T, through the mask and the softmax.
        matmul(l, f, l, &mut dwh[c..], w, false, att, (l, 1), &dpre[c..], (1, w), 1.0);
        matmul(l, l, f, &mut de, l, false, &dpre[c..], (1, w), &wh[c..], (w, 1), 1.0);
        if let Some(m) = mask {
            de.iter_mut().zip(m).for_each(|(g, m)| *g *= m);
        }
        softmax_rows_backward_serial(p, &mut de, l);
        // Through the LeakyReLU to the node scores.
        let (src, dst) = node_scores(x, d, b, k);
        let (mut ds, mut dd) = (vec![0.0f32; l], vec![0.0f32; l]);
        for i in 0..l {
            for j in (0..l).filter(|&j| allowed(x, d, b, i, j)) {
                let dz = de[i * l + j] * if src[i] + dst[j] >= 0.0 { 1.0 } else { d.alpha };
                ds[i] += dz;
                dd[j] += dz;
            }
        }
        let (a_src, a_dst) = (&x.a_src[c..c + f], &x.a_dst[c..c + f]);
        for i in 0..l {
            let (row, grow) = (&wh[i * w + c..][..f], &mut dwh[i * w + c..][..f]);
            for t in 0..f {
                grow[t] += ds[i] * a_src[t] + dd[i] * a_dst[t];
                da[0][c + t] += ds[i] * row[t];
                da[1][c + t] += dd[i] * row[t];
            }
        }
    }
    da
}
