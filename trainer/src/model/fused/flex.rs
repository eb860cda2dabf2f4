//! The fused operations on flex: each one host kernel over the tensors' values.

use std::borrow::Cow;

use burn::backend::tensor::FloatTensor;
use burn::backend::Flex;

use crate::model::kernels;

use super::{dims, flex_tensor, last, map_in_place, values, FusedOps};

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
pub(super) fn attention_on(
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
pub(super) fn gat_inputs<'a>(
    values: &'a [Cow<'a, [f32]>; 3],
    adjacency: &'a [bool],
    drop: Option<&'a [f32]>,
) -> kernels::gat::Inputs<'a> {
    let [wh, a_src, a_dst] = values;
    kernels::gat::Inputs { wh, a_src, a_dst, adjacency, drop }
}

/// [`kernels::gat::forward`] on flex tensors `[wh, a_src, a_dst]` (read in place): the output and,
/// with `keep`, the probabilities.
pub(super) fn graph_attention_on(
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
