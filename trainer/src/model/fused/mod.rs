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

use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice, Flex};
use burn::tensor::{activation, DType, Device, Tensor, TensorData};

use super::kernels;
use super::kernels::lstm::Dims;

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

mod autodiff;
mod flex;
#[cfg(test)]
mod tests;
