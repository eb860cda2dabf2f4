//! The fused operations under autodiff over flex: the forward pass is flex's, each with a
//! hand-written backward pass registered as one graph node.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use crate::model::kernels;
use crate::model::kernels::lstm::{Dims, Tape};

use super::flex::{attention_on, gat_inputs, graph_attention_on};
use super::{dims, flex_tensor, host, last, map_in_place, values, FusedOps};

/// Backpropagation through time from the tape the forward pass kept.
#[derive(Debug)]
struct RecurrenceBackward;

impl Backward<Flex, 2> for RecurrenceBackward {
    /// The tape and the hidden-to-gates weights it was run with.
    type State = Arc<(Tape, Vec<f32>)>;

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_xw, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (tape, w_hh) = &*ops.state;
        let (d_xw, d_w) = kernels::lstm::backward(tape, w_hh, &host(grad));
        let Dims { batch, steps, hidden } = tape.dims;
        if let Some(node) = node_xw {
            grads.register::<Flex>(node.id, flex_tensor(d_xw, [batch, steps, 8 * hidden]));
        }
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, flex_tensor(d_w, [2, hidden, 4 * hidden]));
        }
    }
}

/// Attention's backward pass from the probabilities its forward pass kept.
#[derive(Debug)]
struct AttentionBackward;

/// What attention's backward pass reads: Q, K and V, the dropout mask, the probabilities.
type AttentionState =
    Arc<([FloatTensor<Flex>; 3], Option<Vec<f32>>, Vec<f32>, kernels::attention::Dims)>;

impl Backward<Flex, 3> for AttentionBackward {
    type State = AttentionState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (qkv, drop, probs, d) = &*ops.state;
        let [q, k, v] = qkv.each_ref().map(values);
        let dqkv =
            kernels::attention::backward(&q, &k, &v, drop.as_deref(), probs, &values(&grad), *d);
        for (node, g) in ops.parents.into_iter().zip(dqkv) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, flex_tensor(g, [d.batch, d.tokens, d.hidden]));
            }
        }
    }
}

/// A linear layer's backward pass from its input and weights.
#[derive(Debug)]
struct LinearBackward;

impl Backward<Flex, 3> for LinearBackward {
    /// The input, the weights and the sizes `(M, D, N)`.
    type State = (FloatTensor<Flex>, FloatTensor<Flex>, (usize, usize, usize));

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, w, sizes) = &ops.state;
        let (m, d, n) = *sizes;
        let dxwb =
            kernels::host_matmul::affine_backward(&values(x), &values(w), &values(&grad), *sizes);
        let shapes = [vec![m, d], vec![d, n], vec![n]];
        for ((node, g), shape) in ops.parents.into_iter().zip(dxwb).zip(shapes) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, flex_tensor(g, shape));
            }
        }
    }
}

/// Graph attention's backward pass from its inputs, output and probabilities.
#[derive(Debug)]
struct GraphAttentionBackward;

/// What graph attention's backward pass reads.
#[derive(Debug)]
struct GraphAttentionState {
    /// `wh`, `a_src`, `a_dst`.
    inputs: [FloatTensor<Flex>; 3],
    adjacency: Vec<bool>,
    drop: Option<Vec<f32>>,
    out: FloatTensor<Flex>,
    probs: Vec<f32>,
    dims: kernels::gat::Dims,
}

impl Backward<Flex, 3> for GraphAttentionBackward {
    type State = Arc<GraphAttentionState>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let st = &*ops.state;
        let d = st.dims;
        let inputs = st.inputs.each_ref().map(values);
        let inputs = gat_inputs(&inputs, &st.adjacency, st.drop.as_deref());
        let g = kernels::gat::backward(inputs, d, &values(&st.out), &st.probs, &values(&grad));
        let shapes = [
            vec![d.batch, d.nodes, d.heads * d.head_dim],
            vec![d.heads, d.head_dim],
            vec![d.heads, d.head_dim],
        ];
        for ((node, g), shape) in ops.parents.into_iter().zip(g).zip(shapes) {
            if let Some(node) = node {
                grads.register::<Flex>(node.id, flex_tensor(g, shape));
            }
        }
    }
}

/// GELU's backward pass from its input.
#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    /// The input and its dims.
    type State = (FloatTensor<Flex>, Vec<usize>);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node {
            let (x, shape) = ops.state;
            let g = map_in_place(grad, shape, |g| {
                kernels::fast_math::gelu_backward_in_place(&values(&x), g)
            });
            grads.register::<Flex>(node.id, g);
        }
    }
}

/// Softmax's backward pass from its output.
#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Flex, 1> for SoftmaxBackward {
    /// The output and its dims.
    type State = (FloatTensor<Flex>, Vec<usize>);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        if let Some(node) = node {
            let (y, shape) = ops.state;
            let width = last(&shape);
            let g = map_in_place(grad, shape, |g| {
                kernels::fast_math::softmax_rows_backward(&values(&y), g, width)
            });
            grads.register::<Flex>(node.id, g);
        }
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn gelu(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self> {
        match GeluBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let input = x.primitive().clone();
                let out = <Flex as FusedOps>::gelu(input.clone(), shape.clone());
                prep.finish((input, shape), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(<Flex as FusedOps>::gelu(x.into_primitive(), shape))
            }
        }
    }

    fn softmax_last(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self> {
        match SoftmaxBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let out = Flex::softmax_last(x.primitive().clone(), shape.clone());
                prep.finish((out.clone(), shape), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::softmax_last(x.into_primitive(), shape)),
        }
    }

    fn bilstm_recurrence(
        xw: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        lens: Vec<usize>,
        steps: usize,
        hidden: usize,
    ) -> FloatTensor<Self> {
        match RecurrenceBackward.prepare::<C>([xw.node(), w_hh.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                // The input projection is read in place ([B, L, 8H]: a copy would be the size
                // of the whole step's activations); the tape keeps its own copy of the weights.
                let w = values(w_hh.primitive()).into_owned();
                let (out, tape) = kernels::lstm::forward(
                    &values(xw.primitive()),
                    &w,
                    dims(&lens, steps, hidden),
                    &lens,
                );
                prep.finish(Arc::new((tape, w)), flex_tensor(out, [lens.len(), steps, 2 * hidden]))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::bilstm_recurrence(
                xw.into_primitive(),
                w_hh.into_primitive(),
                lens,
                steps,
                hidden,
            )),
        }
    }

    fn attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: Vec<f32>,
        drop: Option<Vec<f32>>,
        dims: kernels::attention::Dims,
    ) -> FloatTensor<Self> {
        let nodes = [q.node(), k.node(), v.node()];
        match AttentionBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let qkv = [q, k, v].map(|t| t.into_primitive());
                let (out, probs) = attention_on(&qkv, &bias, drop.as_deref(), dims, true);
                prep.finish(Arc::new((qkv, drop, probs, dims)), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::attention(
                q.into_primitive(),
                k.into_primitive(),
                v.into_primitive(),
                bias,
                drop,
                dims,
            )),
        }
    }

    fn linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        sizes: (usize, usize, usize),
    ) -> FloatTensor<Self> {
        match LinearBackward.prepare::<C>([x.node(), w.node(), b.node()]).compute_bound().stateful()
        {
            OpsKind::Tracked(prep) => {
                let (x, w) = (x.primitive().clone(), w.primitive().clone());
                let out = Flex::linear(x.clone(), w.clone(), b.into_primitive(), sizes);
                prep.finish((x, w, sizes), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::linear(
                x.into_primitive(),
                w.into_primitive(),
                b.into_primitive(),
                sizes,
            )),
        }
    }

    fn graph_attention(
        wh: FloatTensor<Self>,
        a_src: FloatTensor<Self>,
        a_dst: FloatTensor<Self>,
        adjacency: Vec<bool>,
        drop: Option<Vec<f32>>,
        dims: kernels::gat::Dims,
    ) -> FloatTensor<Self> {
        let nodes = [wh.node(), a_src.node(), a_dst.node()];
        match GraphAttentionBackward.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let inputs = [wh, a_src, a_dst].map(|t| t.into_primitive());
                let (out, probs) =
                    graph_attention_on(&inputs, &adjacency, drop.as_deref(), dims, true);
                let state =
                    GraphAttentionState { inputs, adjacency, drop, out: out.clone(), probs, dims };
                prep.finish(Arc::new(state), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::graph_attention(
                wh.into_primitive(),
                a_src.into_primitive(),
                a_dst.into_primitive(),
                adjacency,
                drop,
                dims,
            )),
        }
    }
}
