//! Whole-sequence operations with their own backward pass, as a Burn backend extension.
//!
//! On the flex backend (and autodiff over it) the BiLSTM recurrence runs as one operation
//! ([`bilstm_recurrence`]) computed by [`super::lstm_kernel`] on the host, with a hand-written
//! backward pass; under autodiff it is one graph node instead of several per time step. Other
//! backends keep the generic composition ([`super::bilstm::run`]), which stays the reference the
//! kernel is tested against: [`supports`] says which path a device takes.

use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::backend::{backend_extension, Backend, Dispatch, DispatchDevice, Flex};
use burn::tensor::{Device, Tensor, TensorData};

use super::lstm_kernel::{self, Dims, Tape};

/// Operations over whole sequences with a kernel of their own.
#[backend_extension(Flex, Autodiff)]
pub trait FusedOps: Backend {
    /// Both directions of a BiLSTM from zero states: `xw` `[B, L, 8H]` (input projections plus
    /// biases, left-to-right gates first), `w_hh` `[2, H, 4H]`, `lens` words per row. Returns
    /// `[B, L, 2H]` ([`lstm_kernel::forward`]).
    fn bilstm_recurrence(xw: FloatTensor<Self>, w_hh: FloatTensor<Self>, lens: Vec<usize>, steps: usize, hidden: usize) -> FloatTensor<Self>;
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
    Tensor::from_dispatch(<Dispatch as FusedOps>::bilstm_recurrence(xw.into_dispatch(), w_hh.into_dispatch(), lens.to_vec(), l, h))
}

/// A flex tensor's values as `f32` (converted from whatever float type it holds).
fn host(t: FloatTensor<Flex>) -> Vec<f32> {
    t.into_data().iter::<f32>().collect()
}

fn flex_tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FloatTensor<Flex> {
    Flex::float_from_data(TensorData::new(values, shape), &Default::default())
}

fn dims(lens: &[usize], steps: usize, hidden: usize) -> Dims {
    Dims { batch: lens.len(), steps, hidden }
}

impl FusedOps for Flex {
    fn bilstm_recurrence(xw: FloatTensor<Self>, w_hh: FloatTensor<Self>, lens: Vec<usize>, steps: usize, hidden: usize) -> FloatTensor<Self> {
        let (out, _) = lstm_kernel::forward(&host(xw), &host(w_hh), dims(&lens, steps, hidden), &lens);
        flex_tensor(out, [lens.len(), steps, 2 * hidden])
    }
}

/// Backpropagation through time from the tape the forward pass kept.
#[derive(Debug)]
struct RecurrenceBackward;

impl Backward<Flex, 2> for RecurrenceBackward {
    /// The tape and the hidden-to-gates weights it was run with.
    type State = Arc<(Tape, Vec<f32>)>;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_xw, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (tape, w_hh) = &*ops.state;
        let (d_xw, d_w) = lstm_kernel::backward(tape, w_hh, &host(grad));
        let Dims { batch, steps, hidden } = tape.dims;
        if let Some(node) = node_xw {
            grads.register::<Flex>(node.id, flex_tensor(d_xw, [batch, steps, 8 * hidden]));
        }
        if let Some(node) = node_w {
            grads.register::<Flex>(node.id, flex_tensor(d_w, [2, hidden, 4 * hidden]));
        }
    }
}

impl<C: CheckpointStrategy> FusedOps for Autodiff<Flex, C> {
    fn bilstm_recurrence(xw: FloatTensor<Self>, w_hh: FloatTensor<Self>, lens: Vec<usize>, steps: usize, hidden: usize) -> FloatTensor<Self> {
        match RecurrenceBackward.prepare::<C>([xw.node(), w_hh.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let w = host(w_hh.primitive().clone());
                let (out, tape) = lstm_kernel::forward(&host(xw.primitive().clone()), &w, dims(&lens, steps, hidden), &lens);
                prep.finish(Arc::new((tape, w)), flex_tensor(out, [lens.len(), steps, 2 * hidden]))
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::bilstm_recurrence(xw.into_primitive(), w_hh.into_primitive(), lens, steps, hidden)),
        }
    }
}
