//! Graph attention (Velickovic et al., 2018) over one entity relation graph.
//!
//! Each of K heads maps the node features with a shared linear map `W`,
//! scores every edge `i -> j` as `LeakyReLU(a_src . Wh_i + a_dst . Wh_j)`,
//! normalises the scores with a softmax over the neighbours of `i` (the
//! window's adjacency with self loops added, used as an attention mask),
//! applies attention dropout, aggregates `sum_j att_ij Wh_j` and applies
//! ELU. Heads are concatenated.
//!
//! Two forms of the same layer: [`GraphAttention::forward`] on dense
//! per-window adjacency (the paper's window graphs), and
//! [`GraphAttention::forward_edges`] on an edge list over every word of a
//! batch (the document-scope coreference graph, whose edges join windows
//! and would make a dense document adjacency quadratic in its length).

use super::dropout::{self, dropout};
use super::fused;
use super::kernels;
use super::linear::forward_rows;
use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::tensor::activation::{elu, leaky_relu};
use burn::tensor::{Bool, Device, IndexingUpdateOp, Int, Tensor};

#[derive(Config, Debug)]
pub struct GraphAttentionConfig {
    pub d_input: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Output features per head.
    #[config(default = 128)]
    pub d_head: usize,
    /// Negative slope of the LeakyReLU in the attention scores.
    #[config(default = 0.2)]
    pub alpha: f64,
    /// Dropout on the input features and on the attention weights.
    #[config(default = 0.6)]
    pub dropout: f64,
}

#[derive(Module, Debug)]
pub struct GraphAttention {
    pub linear: Linear,
    /// Attention vector for the node itself, per head. Shape `[K, F]`.
    pub a_src: Param<Tensor<2>>,
    /// Attention vector for the neighbour, per head. Shape `[K, F]`.
    pub a_dst: Param<Tensor<2>>,
    pub dropout: Dropout,
    pub heads: usize,
    pub d_head: usize,
    pub alpha: f64,
}

impl GraphAttentionConfig {
    pub fn init(&self, device: &Device) -> GraphAttention {
        let init = Initializer::XavierUniform { gain: 1.414 };
        GraphAttention {
            linear: LinearConfig::new(self.d_input, self.heads * self.d_head)
                .with_bias(false)
                .with_initializer(init.clone())
                .init(device),
            a_src: init.init_with([self.heads, self.d_head], Some(self.d_head), Some(1), device),
            a_dst: init.init_with([self.heads, self.d_head], Some(self.d_head), Some(1), device),
            dropout: DropoutConfig::new(self.dropout).init(),
            heads: self.heads,
            d_head: self.d_head,
            alpha: self.alpha,
        }
    }
}

impl GraphAttention {
    pub fn d_output(&self) -> usize {
        self.heads * self.d_head
    }

    /// `x`: `[B, L, D]` node features; `adjacency`: `[B, L, L]`, true where
    /// an edge exists (self loops are added here). Returns `[B, L, K * F]`.
    pub fn forward(&self, x: Tensor<3>, adjacency: Tensor<3, Bool>) -> Tensor<3> {
        let [b, l, _] = x.dims();
        let (k, f) = (self.heads, self.d_head);
        let wh = forward_rows(&self.linear, dropout(&self.dropout, x)); // [B, L, K*F]
        let device = wh.device();
        if !fused::supports(&device) {
            return self.composed(wh, adjacency);
        }
        let dims = kernels::gat::Dims {
            batch: b,
            nodes: l,
            heads: k,
            head_dim: f,
            alpha: self.alpha as f32,
        };
        let adjacency: Vec<bool> = adjacency.into_data().iter::<bool>().collect();
        let drop = dropout::host_mask(&self.dropout, b * k * l * l, &device);
        fused::graph_attention(wh, self.a_src.val(), self.a_dst.val(), adjacency, drop, dims)
    }

    /// [`Self::forward`] after the projection `wh` `[B, L, K*F]`, as Burn tensor operations: the
    /// reference the fused kernel ([`fused::graph_attention`]) is tested against, and the path of
    /// other backends.
    fn composed(&self, wh: Tensor<3>, adjacency: Tensor<3, Bool>) -> Tensor<3> {
        let [b, l, _] = wh.dims();
        let (k, f) = (self.heads, self.d_head);
        let wh = wh.reshape([b, l, k, f]).swap_dims(1, 2); // [B, K, L, F]
        let src = (wh.clone() * self.a_src.val().reshape([1, k, 1, f])).sum_dim(3); // [B, K, L, 1]
        let dst = (wh.clone() * self.a_dst.val().reshape([1, k, 1, f])).sum_dim(3).swap_dims(2, 3); // [B, K, 1, L]
        let scores = leaky_relu(src + dst, self.alpha); // [B, K, L, L]
        let eye = Tensor::<2, Bool>::from_data(
            burn::tensor::TensorData::new(
                (0..l * l).map(|i| i / l == i % l).collect::<Vec<bool>>(),
                [l, l],
            ),
            &scores.device(),
        );
        let allowed = adjacency
            .bool_or(eye.unsqueeze_dim::<3>(0).expand([b, l, l]))
            .unsqueeze_dim::<4>(1)
            .expand([b, k, l, l]);
        let scores = scores.mask_fill(allowed.bool_not(), -1e9);
        let att = dropout(&self.dropout, fused::softmax(scores));
        let out = elu(att.matmul(wh), 1.0); // [B, K, L, F]
        out.swap_dims(1, 2).reshape([b, l, k * f])
    }

    /// `x`: `[N, D]` node features; `edges`: the directed edges `src -> dst`
    /// (node `src` attends to `dst`), self loops included by the caller so
    /// every node has one. Returns `[N, K * F]`; equal to [`Self::forward`]
    /// on the same graph up to float summation order.
    pub fn forward_edges(&self, x: Tensor<2>, edges: &NodeEdges) -> Tensor<2> {
        let [n, _] = x.dims();
        let (k, f) = (self.heads, self.d_head);
        let device = x.device();
        let (src, dst) = (edges.src.clone(), edges.dst.clone());
        let wh = self.linear.forward(dropout(&self.dropout, x)).reshape([n, k, f]); // [N, K, F]
        let score_of = |a: &Param<Tensor<2>>| {
            (wh.clone() * a.val().unsqueeze_dim::<3>(0)).sum_dim(2).reshape([n, k])
        }; // [N, K]
        let scores = leaky_relu(
            score_of(&self.a_src).select(0, src.clone())
                + score_of(&self.a_dst).select(0, dst.clone()),
            self.alpha,
        ); // [E, K]
           // Softmax over each node's edges, shifted by the node's largest score
           // for stability; the shift is a constant, so it carries no gradient.
        let shift = Tensor::<2>::full([n, k], -1e30, &device).select_assign(
            0,
            src.clone(),
            scores.clone().detach(),
            IndexingUpdateOp::Max,
        );
        let exp = (scores - shift.select(0, src.clone())).exp();
        let total = Tensor::<2>::zeros([n, k], &device).select_assign(
            0,
            src.clone(),
            exp.clone(),
            IndexingUpdateOp::Add,
        );
        let att = dropout(&self.dropout, exp / total.select(0, src.clone())); // [E, K]
        let messages = wh.select(0, dst) * att.unsqueeze_dim::<3>(2); // [E, K, F]
        let out = Tensor::<3>::zeros([n, k, f], &device).select_assign(
            0,
            src,
            messages,
            IndexingUpdateOp::Add,
        );
        elu(out, 1.0).reshape([n, k * f])
    }
}

/// A graph as directed edges between nodes `0..N` (both directions of an
/// undirected edge, and self loops), on a device.
#[derive(Debug, Clone)]
pub struct NodeEdges {
    /// `[E]` the attending node of each edge.
    pub src: Tensor<1, Int>,
    /// `[E]` the node it attends to.
    pub dst: Tensor<1, Int>,
}

impl NodeEdges {
    pub fn new(src: Vec<i64>, dst: Vec<i64>, device: &Device) -> Self {
        let e = src.len();
        assert_eq!(e, dst.len(), "every edge needs both ends");
        let t = |v: Vec<i64>| {
            Tensor::<1, Int>::from_data(burn::tensor::TensorData::new(v, [e]), device)
        };
        Self { src: t(src), dst: t(dst) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn setup() -> (GraphAttention, Tensor<3>, Device) {
        let dev = crate::device::test_device();
        let gat = GraphAttentionConfig::new(6).with_heads(2).with_d_head(3).init(&dev);
        let data: Vec<f32> = (0..2 * 4 * 6).map(|i| ((i * 7 % 13) as f32) / 6.0 - 1.0).collect();
        (gat, Tensor::from_data(TensorData::new(data, [2, 4, 6]), &dev), dev)
    }

    fn adjacency(
        edges: &[(usize, usize, usize)],
        b: usize,
        l: usize,
        dev: &Device,
    ) -> Tensor<3, Bool> {
        let mut flat = vec![false; b * l * l];
        for &(r, i, j) in edges {
            flat[r * l * l + i * l + j] = true;
            flat[r * l * l + j * l + i] = true;
        }
        Tensor::from_data(TensorData::new(flat, [b, l, l]), dev)
    }

    fn values(t: Tensor<3>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// The fused kernel against the composition: outputs, and the gradients of the input, the
    /// projection and both score vectors under autodiff (a loss weighing every output
    /// differently), on two windows with edges, padding-like isolated nodes and large scores
    /// (both LeakyReLU slopes); then the kernel with a dropout mask against the composition's
    /// steps with the same mask.
    #[test]
    fn the_fused_kernel_equals_the_composition_in_outputs_and_gradients() {
        let dev = Device::flex().autodiff();
        let gat =
            GraphAttentionConfig::new(6).with_heads(2).with_d_head(3).with_dropout(0.0).init(&dev);
        let (b, l, n) = (2, 4, 2 * 4 * 6);
        let edges = [(0, 0, 1), (0, 1, 3), (1, 2, 3), (1, 0, 2)];
        let x = || {
            let data: Vec<f32> = (0..n).map(|i| ((i * 7 % 13) as f32) * 0.8 - 4.0).collect();
            Tensor::<3>::from_data(TensorData::new(data, [b, l, 6]), &dev).require_grad()
        };
        let weights: Vec<f32> = (0..b * l * 6).map(|i| (i as f32 * 0.37).sin()).collect();
        let weights = Tensor::<3>::from_data(TensorData::new(weights, [b, l, 6]), &dev);
        let (xa, xb) = (x(), x());
        let fused = gat.forward(xa.clone(), adjacency(&edges, b, l, &dev));
        let wh = forward_rows(&gat.linear, xb.clone());
        let composed = gat.composed(wh, adjacency(&edges, b, l, &dev));
        let close = |a: Vec<f32>, r: Vec<f32>, what: &str| {
            assert_eq!(a.len(), r.len());
            for (k, (p, q)) in a.iter().zip(&r).enumerate() {
                assert!((p - q).abs() < 1e-5 * (1.0 + q.abs()), "{what}[{k}]: {p} vs {q}");
            }
        };
        close(values(fused.clone()), values(composed.clone()), "output");
        let ga = (fused * weights.clone()).sum().backward();
        let gb = (composed * weights).sum().backward();
        close(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()), "dx");
        let flat = |t: Tensor<2>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let w = gat.linear.weight.val();
        close(flat(w.grad(&ga).unwrap()), flat(w.grad(&gb).unwrap()), "dW");
        for (name, a) in [("da_src", gat.a_src.val()), ("da_dst", gat.a_dst.val())] {
            close(flat(a.grad(&ga).unwrap()), flat(a.grad(&gb).unwrap()), name);
        }
        // A dropout mask: the kernel against the composition's steps with the same mask.
        let mask: Vec<f32> =
            (0..b * 2 * l * l).map(|i| if i % 5 == 2 { 0.0 } else { 2.5 }).collect();
        let plain = Device::flex();
        let gat = gat.valid();
        let x = Tensor::<3>::from_data(xa.inner().into_data(), &plain);
        let wh = forward_rows(&gat.linear, x);
        let dims = kernels::gat::Dims { batch: b, nodes: l, heads: 2, head_dim: 3, alpha: 0.2 };
        let adj: Vec<bool> = adjacency(&edges, b, l, &plain).into_data().iter::<bool>().collect();
        let ours = fused::graph_attention(
            wh.clone(),
            gat.a_src.val(),
            gat.a_dst.val(),
            adj,
            Some(mask.clone()),
            dims,
        );
        let whk = wh.reshape([b, l, 2, 3]).swap_dims(1, 2);
        let src = (whk.clone() * gat.a_src.val().reshape([1, 2, 1, 3])).sum_dim(3);
        let dst = (whk.clone() * gat.a_dst.val().reshape([1, 2, 1, 3])).sum_dim(3).swap_dims(2, 3);
        let eye: Vec<bool> = (0..l * l).map(|i| i / l == i % l).collect();
        let eye = Tensor::<2, Bool>::from_data(TensorData::new(eye, [l, l]), &plain);
        let allowed = adjacency(&edges, b, l, &plain)
            .bool_or(eye.unsqueeze_dim::<3>(0).expand([b, l, l]))
            .unsqueeze_dim::<4>(1)
            .expand([b, 2, l, l]);
        let scores = leaky_relu(src + dst, 0.2).mask_fill(allowed.bool_not(), -1e9);
        let mask = Tensor::<4>::from_data(TensorData::new(mask, [b, 2, l, l]), &plain);
        let att = burn::tensor::activation::softmax(scores, 3) * mask;
        let theirs = elu(att.matmul(whk), 1.0).swap_dims(1, 2).reshape([b, l, 6]);
        close(values(ours), values(theirs), "output with a dropout mask");
    }

    #[test]
    fn isolated_node_returns_elu_of_its_own_projection() {
        let (gat, x, dev) = setup();
        let out = gat.forward(x.clone(), adjacency(&[(0, 0, 1)], 2, 4, &dev));
        let own = elu(gat.linear.forward(x), 1.0);
        // Node 2 of row 0 and every node of row 1 have only their self loop.
        let (o, w) = (values(out), values(own));
        for (r, i) in [(0, 2), (0, 3), (1, 0), (1, 3)] {
            for c in 0..6 {
                let at = (r * 4 + i) * 6 + c;
                assert!((o[at] - w[at]).abs() < 1e-5, "row {r} node {i}");
            }
        }
        // Linked nodes mix their neighbour in.
        assert!((0..6).any(|c| (o[c] - w[c]).abs() > 1e-4));
    }

    #[test]
    fn masked_positions_receive_no_attention() {
        let (gat, x, dev) = setup();
        let adj = adjacency(&[(0, 0, 1), (1, 2, 3)], 2, 4, &dev);
        let out = values(gat.forward(x.clone(), adj.clone()));
        // Changing a node that is not a neighbour of node 0 leaves node 0 unchanged.
        let mut data = values(x.clone());
        for c in 0..6 {
            data[3 * 6 + c] += 10.0; // row 0, node 3
        }
        let x2 = Tensor::from_data(TensorData::new(data, [2, 4, 6]), &dev);
        let out2 = values(gat.forward(x2, adj));
        for c in 0..6 {
            assert!((out[c] - out2[c]).abs() < 1e-5);
            assert!((out[6 + c] - out2[6 + c]).abs() < 1e-5);
        }
        assert!((0..6).any(|c| (out[18 + c] - out2[18 + c]).abs() > 1e-3));
    }

    #[test]
    fn the_edge_list_form_equals_the_dense_form() {
        let (gat, x, dev) = setup();
        let pairs = [(0, 0, 1), (0, 1, 3), (1, 2, 3), (1, 0, 3)];
        let dense = values(gat.forward(x.clone(), adjacency(&pairs, 2, 4, &dev)));
        // The same graph over the 8 nodes of both rows, self loops added.
        let (mut src, mut dst): (Vec<i64>, Vec<i64>) = (0..8).map(|i| (i, i)).unzip();
        for &(r, i, j) in &pairs {
            let (i, j) = ((r * 4 + i) as i64, (r * 4 + j) as i64);
            src.extend([i, j]);
            dst.extend([j, i]);
        }
        let sparse = values(
            gat.forward_edges(x.reshape([8, 6]), &NodeEdges::new(src, dst, &dev))
                .reshape([2, 4, 6]),
        );
        for (a, b) in dense.iter().zip(&sparse) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn the_edge_list_form_is_finite_with_large_scores_and_trains() {
        let dev = crate::device::test_device().autodiff();
        let gat =
            GraphAttentionConfig::new(6).with_heads(2).with_d_head(3).with_dropout(0.0).init(&dev);
        let edges =
            NodeEdges::new(vec![0, 1, 2, 3, 4, 0, 1, 3], vec![0, 1, 2, 3, 4, 1, 0, 4], &dev);
        let input = |scale: f32| {
            Tensor::<2>::from_data(
                TensorData::new(
                    (0..5 * 6).map(|i| ((i * 5 % 11) as f32 - 5.0) * scale).collect::<Vec<f32>>(),
                    [5, 6],
                ),
                &dev,
            )
        };
        // Scores in the thousands: an unshifted softmax would overflow to inf/inf.
        let big: Vec<f32> = gat
            .forward_edges(input(200.0), &edges)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(big.iter().all(|x| x.is_finite()), "{big:?}");
        let grads = gat.forward_edges(input(0.3), &edges).sum().backward();
        let g: Vec<f32> = gat
            .a_src
            .grad(&grads)
            .unwrap()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        assert!(g.iter().all(|x| x.is_finite()) && g.iter().any(|&x| x != 0.0), "{g:?}");
    }
}
