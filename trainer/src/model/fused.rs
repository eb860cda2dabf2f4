//! Whole-sequence operations with their own backward pass, as a Burn backend extension.
//!
//! On the flex backend (and autodiff over it) the BiLSTM recurrence runs as one operation
//! ([`bilstm_recurrence`]) computed by [`super::kernels::lstm`] on the host, with a hand-written
//! backward pass; under autodiff it is one graph node instead of several per time step. Other
//! backends keep the generic composition ([`super::bilstm::run`]), which stays the reference the
//! kernel is tested against: [`supports`] says which path a device takes.
//!
//! The encoder's element-wise work takes the same route: [`gelu`] and [`softmax`] over the last
//! dimension run as one parallel host pass each ([`super::kernels::fast_math`]) where flex would evaluate
//! a scalar library `erf` per element on one thread and softmax as four tensor passes. On other
//! backends they are Burn's own activations.
//!
//! Whole layers take it too: BERT's multi-head attention ([`attention`],
//! [`super::kernels::attention`]), graph attention over window graphs ([`graph_attention`],
//! [`super::kernels::gat`]) and linear layers with a bias ([`linear`], [`super::kernels::host_matmul`]).
//! Each reads its inputs in place and writes its output once, where Burn's composition allocates
//! (zeroed, then copied into an aligned buffer) for every intermediate; their callers keep the
//! composition for other backends, and the tests compare the two in outputs and gradients.

use std::borrow::Cow;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice, Flex};
use burn::tensor::{activation, DType, Device, Tensor, TensorData};

use super::kernels;
use super::kernels::lstm::{Dims, Tape};

/// Operations over whole sequences with a kernel of their own.
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// Both directions of a BiLSTM from zero states: `xw` `[B, L, 8H]` (input projections plus
    /// biases, left-to-right gates first), `w_hh` `[2, H, 4H]`, `lens` words per row. Returns
    /// `[B, L, 2H]` ([`kernels::lstm::forward`]).
    fn bilstm_recurrence(
        xw: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        lens: Vec<usize>,
        steps: usize,
        hidden: usize,
    ) -> FloatTensor<Self>;
    /// GELU (the erf form) of every element of a tensor of dims `shape` ([`kernels::fast_math::gelu`]).
    fn gelu(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self>;
    /// Softmax over the last of the dims `shape`.
    fn softmax_last(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self>;
    /// Multi-head attention over `q`, `k`, `v` `[B, T, H]` with the additive key bias `[B, T]`
    /// and, when training, the scaled dropout mask of the probabilities `[B, K, T, T]`; returns
    /// the context `[B, T, H]` ([`kernels::attention::forward`]).
    fn attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: Vec<f32>,
        drop: Option<Vec<f32>>,
        dims: kernels::attention::Dims,
    ) -> FloatTensor<Self>;
    /// A linear layer: `x` `[M, D]` times `w` `[D, N]` plus `b` `[N]` on every row, `[M, N]`
    /// ([`kernels::host_matmul::affine`]); `sizes` is `(M, D, N)`.
    fn linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        sizes: (usize, usize, usize),
    ) -> FloatTensor<Self>;
    /// Graph attention over dense window graphs: `wh` `[B, L, K*F]`, `a_src` and `a_dst`
    /// `[K, F]`, `adjacency` `[B, L, L]`, the scaled dropout mask `[B, K, L, L]` when training;
    /// returns `[B, L, K*F]` ([`kernels::gat::forward`]).
    fn graph_attention(
        wh: FloatTensor<Self>,
        a_src: FloatTensor<Self>,
        a_dst: FloatTensor<Self>,
        adjacency: Vec<bool>,
        drop: Option<Vec<f32>>,
        dims: kernels::gat::Dims,
    ) -> FloatTensor<Self>;
}

/// Whether tensors on `device` take the fused operations (flex, with or without autodiff).
pub fn supports(device: &Device) -> bool {
    matches!(device.clone().inner().as_dispatch(), DispatchDevice::Flex(_))
}

/// The BiLSTM recurrence as one operation; only for devices that [`supports`] accepts.
///
/// `xw`: `[B, L, 8H]`; `w_hh`: `[2, H, 4H]`; `lens`: words per row. Returns `[B, L, 2H]`.
pub fn bilstm_recurrence(xw: Tensor<3>, w_hh: Tensor<3>, lens: &[usize]) -> Tensor<3> {
    let [b, l, _] = xw.dims();
    let h = w_hh.dims()[1];
    assert_eq!(b, lens.len(), "one length per row");
    Tensor::from_dispatch(<Dispatch as FusedOps>::bilstm_recurrence(
        xw.into_dispatch(),
        w_hh.into_dispatch(),
        lens.to_vec(),
        l,
        h,
    ))
}

/// GELU (the erf form, as BERT uses it), element-wise.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !supports(&x.device()) {
        return activation::gelu(x);
    }
    let shape = x.dims().to_vec();
    Tensor::from_dispatch(<Dispatch as FusedOps>::gelu(x.into_dispatch(), shape))
}

/// Softmax over the last dimension.
pub fn softmax<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !supports(&x.device()) {
        return activation::softmax(x, D - 1);
    }
    let shape = x.dims().to_vec();
    Tensor::from_dispatch(<Dispatch as FusedOps>::softmax_last(x.into_dispatch(), shape))
}

/// BERT's multi-head attention as one operation; only for devices that [`supports`] accepts.
///
/// `q`, `k`, `v`: `[B, T, H]`, the heads side by side; `bias`: `[B, T]` added to every score of
/// each key (a large negative value on padding); `drop`: the scaled dropout mask of the
/// probabilities `[B, K, T, T]` when training. Returns the context `[B, T, H]`.
pub fn attention(
    q: Tensor<3>,
    k: Tensor<3>,
    v: Tensor<3>,
    bias: Vec<f32>,
    heads: usize,
    drop: Option<Vec<f32>>,
) -> Tensor<3> {
    let [batch, tokens, hidden] = q.dims();
    let dims = kernels::attention::Dims { batch, tokens, hidden, heads };
    Tensor::from_dispatch(<Dispatch as FusedOps>::attention(
        q.into_dispatch(),
        k.into_dispatch(),
        v.into_dispatch(),
        bias,
        drop,
        dims,
    ))
}

/// A linear layer with a bias as one operation; only for devices that [`supports`] accepts.
///
/// `x`: `[M, D]`; `w`: `[D, N]`; `b`: `[N]`. Returns `x w + b`, `[M, N]`.
pub fn linear(x: Tensor<2>, w: Tensor<2>, b: Tensor<1>) -> Tensor<2> {
    let ([m, d], n) = (x.dims(), w.dims()[1]);
    Tensor::from_dispatch(<Dispatch as FusedOps>::linear(
        x.into_dispatch(),
        w.into_dispatch(),
        b.into_dispatch(),
        (m, d, n),
    ))
}

/// Graph attention over dense window graphs as one operation; only for devices that
/// [`supports`] accepts.
///
/// `wh`: `[B, L, K*F]`; `a_src`, `a_dst`: `[K, F]`; `adjacency`: `[B, L, L]` (self loops are
/// added); `drop`: the scaled dropout mask of the attention `[B, K, L, L]` when training.
/// Returns `[B, L, K*F]` after the ELU.
pub fn graph_attention(
    wh: Tensor<3>,
    a_src: Tensor<2>,
    a_dst: Tensor<2>,
    adjacency: Vec<bool>,
    drop: Option<Vec<f32>>,
    dims: kernels::gat::Dims,
) -> Tensor<3> {
    Tensor::from_dispatch(<Dispatch as FusedOps>::graph_attention(
        wh.into_dispatch(),
        a_src.into_dispatch(),
        a_dst.into_dispatch(),
        adjacency,
        drop,
        dims,
    ))
}

/// A flex tensor's values as `f32` (converted from whatever float type it holds).
fn host(t: FloatTensor<Flex>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn flex_tensor<S: Into<burn::tensor::Shape>>(values: Vec<f32>, shape: S) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(values, shape), &Default::default())
}

/// `f` applied to a tensor's values in its own storage when it is a contiguous `f32` tensor (a
/// shared storage is copied first, by flex's copy-on-write), else to a host copy. Element-wise
/// passes over the encoder's activations would otherwise spend as long copying and faulting in
/// fresh pages as computing.
fn map_in_place(
    mut t: FloatTensor<Flex>,
    shape: Vec<usize>,
    f: impl FnOnce(&mut [f32]),
) -> FloatTensor<Flex> {
    let n = t.layout().num_elements();
    if t.dtype() == DType::F32 && t.is_contiguous() && t.layout().start_offset() == 0 {
        f(&mut t.storage_mut::<f32>()[..n]);
        return t;
    }
    let mut values = host(t);
    f(&mut values);
    flex_tensor(values, shape)
}

/// A flex tensor's values as a slice when it is a contiguous `f32` tensor, else as a copy.
fn values(t: &FloatTensor<Flex>) -> Cow<'_, [f32]> {
    let n = t.layout().num_elements();
    if t.dtype() == DType::F32 && t.is_contiguous() && t.layout().start_offset() == 0 {
        Cow::Borrowed(&t.storage::<f32>()[..n])
    } else {
        Cow::Owned(host(t.clone()))
    }
}

/// The last of `shape`'s dims: the softmax's row width.
fn last(shape: &[usize]) -> usize {
    shape.last().copied().unwrap_or(1)
}

fn dims(lens: &[usize], steps: usize, hidden: usize) -> Dims {
    Dims { batch: lens.len(), steps, hidden }
}

impl FusedOps for Flex {
    fn bilstm_recurrence(
        xw: FloatTensor<Self>,
        w_hh: FloatTensor<Self>,
        lens: Vec<usize>,
        steps: usize,
        hidden: usize,
    ) -> FloatTensor<Self> {
        let (out, _) =
            kernels::lstm::forward(&values(&xw), &values(&w_hh), dims(&lens, steps, hidden), &lens);
        flex_tensor(out, [lens.len(), steps, 2 * hidden])
    }

    fn gelu(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self> {
        map_in_place(x, shape, kernels::fast_math::gelu_in_place)
    }

    fn softmax_last(x: FloatTensor<Self>, shape: Vec<usize>) -> FloatTensor<Self> {
        let width = last(&shape);
        map_in_place(x, shape, |values| kernels::fast_math::softmax_rows(values, width))
    }

    fn attention(
        q: FloatTensor<Self>,
        k: FloatTensor<Self>,
        v: FloatTensor<Self>,
        bias: Vec<f32>,
        drop: Option<Vec<f32>>,
        dims: kernels::attention::Dims,
    ) -> FloatTensor<Self> {
        attention_on(&[q, k, v], &bias, drop.as_deref(), dims, false).0
    }

    fn linear(
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
        b: FloatTensor<Self>,
        sizes: (usize, usize, usize),
    ) -> FloatTensor<Self> {
        let out = kernels::host_matmul::affine(&values(&x), &values(&w), &values(&b), sizes);
        flex_tensor(out, [sizes.0, sizes.2])
    }

    fn graph_attention(
        wh: FloatTensor<Self>,
        a_src: FloatTensor<Self>,
        a_dst: FloatTensor<Self>,
        adjacency: Vec<bool>,
        drop: Option<Vec<f32>>,
        dims: kernels::gat::Dims,
    ) -> FloatTensor<Self> {
        graph_attention_on(&[wh, a_src, a_dst], &adjacency, drop.as_deref(), dims, false).0
    }
}

/// [`kernels::attention::forward`] on flex tensors `[q, k, v]` (read in place): the context and,
/// with `keep`, the probabilities.
fn attention_on(
    qkv: &[FloatTensor<Flex>; 3],
    bias: &[f32],
    drop: Option<&[f32]>,
    dims: kernels::attention::Dims,
    keep: bool,
) -> (FloatTensor<Flex>, Vec<f32>) {
    let [q, k, v] = qkv.each_ref().map(values);
    let (out, probs) = kernels::attention::forward(&q, &k, &v, bias, drop, dims, keep);
    (flex_tensor(out, [dims.batch, dims.tokens, dims.hidden]), probs)
}

/// The kernel's view of graph attention's inputs: the values of `[wh, a_src, a_dst]`.
fn gat_inputs<'a>(
    values: &'a [Cow<'a, [f32]>; 3],
    adjacency: &'a [bool],
    drop: Option<&'a [f32]>,
) -> kernels::gat::Inputs<'a> {
    let [wh, a_src, a_dst] = values;
    kernels::gat::Inputs { wh, a_src, a_dst, adjacency, drop }
}

/// [`kernels::gat::forward`] on flex tensors `[wh, a_src, a_dst]` (read in place): the output and,
/// with `keep`, the probabilities.
fn graph_attention_on(
    inputs: &[FloatTensor<Flex>; 3],
    adjacency: &[bool],
    drop: Option<&[f32]>,
    dims: kernels::gat::Dims,
    keep: bool,
) -> (FloatTensor<Flex>, Vec<f32>) {
    let values = inputs.each_ref().map(values);
    let (out, probs) = kernels::gat::forward(gat_inputs(&values, adjacency, drop), dims, keep);
    (flex_tensor(out, [dims.batch, dims.nodes, dims.heads * dims.head_dim]), probs)
}

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

#[cfg(test)]
mod tests {
    use burn::tensor::activation;
    use burn::tensor::{Device, Tensor, TensorData};

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    fn close(a: Vec<f32>, b: Vec<f32>, what: &str) {
        assert_eq!(a.len(), b.len());
        for (k, (p, q)) in a.iter().zip(&b).enumerate() {
            assert!((p - q).abs() < 2e-6 * (1.0 + q.abs()), "{what}[{k}]: fused {p} reference {q}");
        }
    }

    /// Attention against Burn's composition (split heads, scores, bias, softmax, dropout mask,
    /// product): the context and the gradients of Q, K and V under autodiff (a loss weighing
    /// every output differently), with padding keys in one window and a dropout mask with zeros,
    /// and the context without autodiff.
    #[test]
    fn attention_equals_the_composition_in_outputs_and_gradients() {
        let dev = Device::flex().autodiff();
        let (b, t, h, heads) = (2, 5, 8, 2);
        let d = h / heads;
        let fill = |n: usize, f: f32| (0..n).map(|i| (i as f32 * f).sin()).collect::<Vec<f32>>();
        let n = b * t * h;
        // The second window's last two positions are padding.
        let bias: Vec<f32> = (0..b * t).map(|i| if i >= b * t - 2 { -1e9 } else { 0.0 }).collect();
        let mask: Vec<f32> =
            (0..b * heads * t * t).map(|i| if i % 7 == 3 { 0.0 } else { 1.0 / 0.9 }).collect();
        let weights = Tensor::<3>::from_data(TensorData::new(fill(n, 0.37), [b, t, h]), &dev);
        let reference = |q: Tensor<3>, k: Tensor<3>, v: Tensor<3>, drop: Option<&[f32]>| {
            let device = q.device();
            let split = |y: Tensor<3>| y.reshape([b, t, heads, d]).swap_dims(1, 2);
            let bias4 =
                Tensor::<4>::from_data(TensorData::new(bias.clone(), [b, 1, 1, t]), &device);
            let scores = split(q).matmul(split(k).swap_dims(2, 3)) / (d as f64).sqrt() + bias4;
            let mut att = activation::softmax(scores, 3);
            if let Some(m) = drop {
                att = att
                    * Tensor::<4>::from_data(
                        TensorData::new(m.to_vec(), [b, heads, t, t]),
                        &device,
                    );
            }
            att.matmul(split(v)).swap_dims(1, 2).reshape([b, t, h])
        };
        for drop in [None, Some(&mask[..])] {
            let inputs = |device: &Device| {
                [0.53f32, 0.71, 0.29].map(|f| {
                    let x = Tensor::<3>::from_data(TensorData::new(fill(n, f), [b, t, h]), device);
                    if device.is_autodiff() {
                        x.require_grad()
                    } else {
                        x
                    }
                })
            };
            let [qa, ka, va] = inputs(&dev);
            let [qb, kb, vb] = inputs(&dev);
            let ours = super::attention(
                qa.clone(),
                ka.clone(),
                va.clone(),
                bias.clone(),
                heads,
                drop.map(<[f32]>::to_vec),
            );
            let theirs = reference(qb.clone(), kb.clone(), vb.clone(), drop);
            close(values(ours.clone()), values(theirs.clone()), "context");
            let ga = (ours * weights.clone()).sum().backward();
            let gb = (theirs * weights.clone()).sum().backward();
            for (name, (x, y)) in ["dq", "dk", "dv"].iter().zip([(qa, qb), (ka, kb), (va, vb)]) {
                close(values(x.grad(&ga).unwrap()), values(y.grad(&gb).unwrap()), name);
            }
            let [qp, kp, vp] = inputs(&Device::flex());
            let plain = super::attention(
                qp.clone(),
                kp.clone(),
                vp.clone(),
                bias.clone(),
                heads,
                drop.map(<[f32]>::to_vec),
            );
            close(values(plain), values(reference(qp, kp, vp, drop)), "context without autodiff");
        }
    }

    /// A linear layer against Burn's `Linear`: outputs, and the gradients of the input, the
    /// weights and the bias under autodiff, on more rows than one task takes (several blocks and a
    /// remainder) and more weight rows than one backward task takes; the output without autodiff.
    #[test]
    fn linear_equals_burns_linear_in_outputs_and_gradients() {
        use burn::module::Param;
        use burn::nn::LinearConfig;
        let (m, d, n) = (150, 40, 9);
        let fill = |k: usize, f: f32| (0..k).map(|i| (i as f32 * f).sin()).collect::<Vec<f32>>();
        for dev in [Device::flex().autodiff(), Device::flex()] {
            let mut layer = LinearConfig::new(d, n).init(&dev);
            let t = |v: Vec<f32>, shape: [usize; 2]| {
                Tensor::<2>::from_data(TensorData::new(v, shape), &dev)
            };
            layer.weight = Param::from_tensor(t(fill(d * n, 0.13), [d, n]));
            layer.bias = Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(fill(n, 0.7), [n]),
                &dev,
            )));
            let x = || {
                let x = t(fill(m * d, 0.31), [m, d]);
                if dev.is_autodiff() {
                    x.require_grad()
                } else {
                    x
                }
            };
            let (xa, xb) = (x(), x());
            let bias = layer.bias.as_ref().unwrap().val();
            let ours = super::linear(xa.clone(), layer.weight.val(), bias);
            let theirs = layer.forward(xb.clone());
            close(values(ours.clone()), values(theirs.clone()), "linear");
            if !dev.is_autodiff() {
                continue;
            }
            let weights = t(fill(m * n, 0.23), [m, n]);
            let ga = (ours * weights.clone()).sum().backward();
            let gb = (theirs * weights).sum().backward();
            close(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()), "dx");
            let (w, b) = (layer.weight.val(), layer.bias.as_ref().unwrap().val());
            let (dwa, dwb) = (w.grad(&ga).unwrap(), w.grad(&gb).unwrap());
            close(values(dwa), values(dwb), "dw");
            close(values(b.grad(&ga).unwrap()), values(b.grad(&gb).unwrap()), "db");
        }
    }

    /// GELU and softmax against Burn's own activations: outputs and input gradients under
    /// autodiff (a loss weighing every output differently), and outputs without autodiff. The
    /// softmax input holds a large negative bias in some positions, as attention's padding does.
    #[test]
    fn gelu_and_softmax_equal_burns_activations_in_outputs_and_gradients() {
        let dev = Device::flex().autodiff();
        assert!(super::supports(&dev));
        let shape = [2, 3, 5, 9];
        let n: usize = shape.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| (i as f32 * 0.61).sin() * 6.0 + if i % 9 == 8 { -1e9 } else { 0.0 })
            .collect();
        let smooth: Vec<f32> = (0..n).map(|i| (i as f32 * 0.61).sin() * 6.0).collect();
        let weights = Tensor::<4>::from_data(
            TensorData::new((0..n).map(|i| (i as f32 * 0.29).cos()).collect::<Vec<f32>>(), shape),
            &dev,
        );
        type Op = fn(Tensor<4>) -> Tensor<4>;
        let cases: [(&str, &[f32], Op, Op); 2] = [
            ("gelu", &smooth, super::gelu::<4>, activation::gelu::<4>),
            ("softmax", &data, super::softmax::<4>, |x| activation::softmax(x, 3)),
        ];
        for (name, input, ours, reference) in cases {
            let x = || {
                Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &dev).require_grad()
            };
            let (xa, xb) = (x(), x());
            let (a, b) = (ours(xa.clone()), reference(xb.clone()));
            close(values(a.clone()), values(b.clone()), name);
            let (ga, gb) =
                ((a * weights.clone()).sum().backward(), (b * weights.clone()).sum().backward());
            close(
                values(xa.grad(&ga).unwrap()),
                values(xb.grad(&gb).unwrap()),
                &format!("d {name}"),
            );
            let plain =
                Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &Device::flex());
            close(
                values(ours(plain.clone())),
                values(reference(plain)),
                &format!("{name} without autodiff"),
            );
        }
    }
}
