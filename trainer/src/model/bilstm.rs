//! A bidirectional LSTM that respects padding.
//!
//! Burn's `BiLstm` runs its backward direction from the last padded
//! position; here each row is reversed within its own length before the
//! backward LSTM and reversed back after, so padding never reaches a real
//! word's state.
//!
//! The recurrence ([`run`]) is Burn's `Lstm::forward_iter` step for step
//! (the same gate products and activations, so the same numbers), laid out
//! for autodiff: Burn's version slices each time step out of the whole
//! `[B, L, D]` input and writes each state into a whole `[B, L, H]` output
//! with `slice_assign`, and the backward pass of every such slice is a
//! zero tensor of the whole shape, O(L^2) memory traffic per sequence.
//! Here steps are sliced from blocks of about sqrt(L) steps (O(L^1.5)) and
//! the states are stacked once at the end (O(L)).

use burn::config::Config;
use burn::module::Module;
use burn::nn::activation::Activation;
use burn::nn::{Lstm, LstmConfig};
use burn::tensor::s;
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::fused;

#[derive(Config, Debug)]
pub struct MaskedBiLstmConfig {
    pub d_input: usize,
    /// Hidden size per direction (256 in the paper).
    #[config(default = 256)]
    pub d_hidden: usize,
}

#[derive(Module, Debug)]
pub struct MaskedBiLstm {
    pub forward: Lstm,
    pub backward: Lstm,
}

impl MaskedBiLstmConfig {
    pub fn init(&self, device: &Device) -> MaskedBiLstm {
        let cfg = LstmConfig::new(self.d_input, self.d_hidden, true).with_batch_first(true);
        MaskedBiLstm { forward: cfg.init(device), backward: cfg.init(device) }
    }
}

/// The BiLSTM's weights in the fused kernel's layout.
struct KernelWeights {
    /// `[D, 8H]`: every gate's input weights, the left-to-right direction's four first.
    w_ih: Tensor<2>,
    /// `[8H]`: each gate's input and hidden biases, summed.
    bias: Tensor<1>,
    /// `[2, H, 4H]`: each direction's hidden-to-gates weights.
    w_hh: Tensor<3>,
}

/// The fused path: the input projection of every step and both directions as one matmul
/// (under autodiff, its gradient too), then the recurrence as one operation.
fn forward_fused(x: Tensor<3>, lens: &[usize], weights: KernelWeights) -> Tensor<3> {
    let [b, l, d] = x.dims();
    let h8 = weights.bias.dims()[0];
    let xw = x.reshape([b * l, d]).matmul(weights.w_ih).reshape([b, l, h8])
        + weights.bias.reshape([1, 1, h8]);
    fused::bilstm_recurrence(xw, weights.w_hh, lens)
}

/// Index that reverses each row within its length: `[B, L]`.
fn reversal(lens: &[usize], l: usize, device: &Device) -> Tensor<2, Int> {
    let flat: Vec<i64> = lens
        .iter()
        .flat_map(|&n| (0..l).map(move |t| if t < n { (n - 1 - t) as i64 } else { t as i64 }))
        .collect();
    Tensor::from_data(TensorData::new(flat, [lens.len(), l]), device)
}

impl MaskedBiLstm {
    /// `x`: `[B, L, D]`, rows of lengths `lens`. Returns `[B, L, 2 * hidden]`.
    ///
    /// On devices with the fused kernel ([`fused::supports`]) the recurrence is one operation;
    /// elsewhere, and for LSTM settings the kernel does not implement, the composition of
    /// [`Self::forward_reference`].
    pub fn forward(&self, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        if fused::supports(&x.device()) {
            if let Some(weights) = self.kernel_weights() {
                return forward_fused(x, lens, weights);
            }
        }
        self.forward_reference(x, lens)
    }

    /// Both directions' weights as the kernel takes them, when both use the gates it computes
    /// (sigmoid gates with a forget gate of their own, tanh candidate and output, no cell
    /// clipping, biases: `LstmConfig`'s defaults); `None` otherwise.
    fn kernel_weights(&self) -> Option<KernelWeights> {
        let (mut w_ih, mut bias, mut w_hh) = (Vec::new(), Vec::new(), Vec::new());
        for lstm in [&self.forward, &self.backward] {
            let settings = matches!(lstm.gate_activation, Activation::Sigmoid(_))
                && matches!(lstm.cell_activation, Activation::Tanh(_))
                && matches!(lstm.hidden_activation, Activation::Tanh(_))
                && lstm.clip.is_none()
                && !lstm.input_forget
                && lstm.batch_first
                && !lstm.reverse;
            if !settings {
                return None;
            }
            // The kernel's gate order is Burn's: input, forget, output, cell.
            let gates = [
                Some(&lstm.input_gate),
                lstm.forget_gate.as_ref(),
                Some(&lstm.output_gate),
                Some(&lstm.cell_gate),
            ];
            let mut hidden = Vec::new();
            for gate in gates {
                let gate = gate?;
                w_ih.push(gate.input_transform.weight.val());
                bias.push(
                    gate.input_transform.bias.as_ref()?.val()
                        + gate.hidden_transform.bias.as_ref()?.val(),
                );
                hidden.push(gate.hidden_transform.weight.val());
            }
            w_hh.push(Tensor::cat(hidden, 1));
        }
        Some(KernelWeights {
            w_ih: Tensor::cat(w_ih, 1),
            bias: Tensor::cat(bias, 0),
            w_hh: Tensor::stack(w_hh, 0),
        })
    }

    /// The generic composition of Burn tensor operations: the reference the fused kernel is
    /// tested against, and the path of backends without it.
    pub fn forward_reference(&self, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
        let [b, l, d] = x.dims();
        let fwd = run(&self.forward, x.clone());
        let h = fwd.dims()[2];
        let rev = reversal(lens, l, &x.device()).unsqueeze_dim::<3>(2);
        let reversed = x.gather(1, rev.clone().expand([b, l, d]));
        let bwd = run(&self.backward, reversed);
        let bwd = bwd.gather(1, rev.expand([b, l, h]));
        Tensor::cat(vec![fwd, bwd], 2)
    }
}

/// One direction from zero states over `x` `[B, L, D]` (batch first, left to
/// right): the hidden state of every step, `[B, L, H]`.
pub fn run(lstm: &Lstm, x: Tensor<3>) -> Tensor<3> {
    let [b, l, _] = x.dims();
    let device = x.device();
    let mut cell = Tensor::<2>::zeros([b, lstm.d_hidden], &device);
    let mut hidden = Tensor::<2>::zeros([b, lstm.d_hidden], &device);
    let mut states = Vec::with_capacity(l);
    let block = (l as f64).sqrt().ceil().max(1.0) as usize;
    for start in (0..l).step_by(block) {
        let end = (start + block).min(l);
        let steps = x.clone().slice(s![.., start..end, ..]);
        for t in 0..end - start {
            let input = steps.clone().slice(s![.., t..t + 1, ..]).squeeze_dim::<2>(1);
            let gate = |g: &burn::nn::GateController, act: &burn::nn::activation::Activation| {
                act.forward(g.gate_product(input.clone(), hidden.clone()))
            };
            let input_values = gate(&lstm.input_gate, &lstm.gate_activation);
            let forget_values = match &lstm.forget_gate {
                Some(g) if !lstm.input_forget => gate(g, &lstm.gate_activation),
                _ => input_values.clone().neg().add_scalar(1.0),
            };
            let output_values = gate(&lstm.output_gate, &lstm.gate_activation);
            let candidate = gate(&lstm.cell_gate, &lstm.cell_activation);
            cell = forget_values * cell + input_values * candidate;
            if let Some(clip) = lstm.clip {
                cell = cell.clamp(-clip, clip);
            }
            hidden = output_values * lstm.hidden_activation.forward(cell.clone());
            states.push(hidden.clone());
        }
    }
    Tensor::stack(states, 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recurrence_gives_burns_lstm_outputs_and_gradients_exactly() {
        let dev = crate::device::test_device().autodiff();
        let lstm = LstmConfig::new(3, 4, true).with_batch_first(true).init(&dev);
        // 11 steps: blocks of 4, 4 and 3.
        let data: Vec<f32> = (0..2 * 11 * 3).map(|i| (i as f32 * 0.61).cos()).collect();
        let x = || {
            Tensor::<3>::from_data(TensorData::new(data.clone(), [2, 11, 3]), &dev).require_grad()
        };
        let values = |t: Tensor<3>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (xa, xb) = (x(), x());
        let ours = run(&lstm, xa.clone());
        let (burns, _) = lstm.forward(xb.clone(), None);
        assert_eq!(values(ours.clone()), values(burns.clone()));
        let (ga, gb) =
            (ours.powi_scalar(2).sum().backward(), burns.powi_scalar(2).sum().backward());
        assert_eq!(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()));
        let w = |g: &burn::tensor::Gradients| {
            lstm.cell_gate
                .hidden_transform
                .weight
                .grad(g)
                .unwrap()
                .into_data()
                .convert::<f32>()
                .try_to_vec::<f32>()
                .unwrap()
        };
        assert_eq!(w(&ga), w(&gb));
    }

    fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap()
    }

    /// The fused kernel against the composition it replaces: outputs, and the gradients of the
    /// input and of every weight, on padded rows, under autodiff.
    #[test]
    fn the_fused_recurrence_equals_the_reference_in_outputs_and_gradients() {
        let dev = Device::flex().autodiff();
        assert!(fused::supports(&dev) && fused::supports(&Device::flex()));
        let lstm = MaskedBiLstmConfig::new(5).with_d_hidden(6).init(&dev);
        assert!(lstm.kernel_weights().is_some());
        let lens = [7usize, 4, 1];
        let data: Vec<f32> = (0..3 * 7 * 5).map(|i| (i as f32 * 0.43).sin()).collect();
        let x = || {
            Tensor::<3>::from_data(TensorData::new(data.clone(), [3, 7, 5]), &dev).require_grad()
        };
        // A loss that weighs every output differently, so a misplaced state shows.
        let weights = Tensor::<3>::from_data(
            TensorData::new(
                (0..3 * 7 * 12).map(|i| (i as f32 * 0.29).cos()).collect::<Vec<f32>>(),
                [3, 7, 12],
            ),
            &dev,
        );
        let (xa, xb) = (x(), x());
        let (ours, reference) = (
            forward_fused(xa.clone(), &lens, lstm.kernel_weights().unwrap()),
            lstm.forward_reference(xb.clone(), &lens),
        );
        let close = |a: Vec<f32>, b: Vec<f32>, what: &str| {
            assert_eq!(a.len(), b.len());
            for (k, (p, q)) in a.iter().zip(&b).enumerate() {
                assert!(
                    (p - q).abs() < 1e-5 * (1.0 + q.abs()),
                    "{what}[{k}]: fused {p} reference {q}"
                );
            }
        };
        close(values(ours.clone()), values(reference.clone()), "output");
        let ga = (ours * weights.clone()).sum().backward();
        let gb = (reference * weights).sum().backward();
        close(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()), "d input");
        for (name, lstm_dir) in [("forward", &lstm.forward), ("backward", &lstm.backward)] {
            let gates = [
                &lstm_dir.input_gate,
                lstm_dir.forget_gate.as_ref().unwrap(),
                &lstm_dir.output_gate,
                &lstm_dir.cell_gate,
            ];
            for (k, g) in gates.iter().enumerate() {
                for (part, linear) in
                    [("input", &g.input_transform), ("hidden", &g.hidden_transform)]
                {
                    let w = |grads: &burn::tensor::Gradients| {
                        values(linear.weight.grad(grads).unwrap())
                    };
                    close(w(&ga), w(&gb), &format!("{name} gate {k} {part} weight"));
                    let bias = |grads: &burn::tensor::Gradients| {
                        values(linear.bias.as_ref().unwrap().grad(grads).unwrap())
                    };
                    close(bias(&ga), bias(&gb), &format!("{name} gate {k} {part} bias"));
                }
            }
        }
        // Without autodiff (inference) the same outputs.
        let plain = lstm.valid();
        let x = Tensor::<3>::from_data(TensorData::new(data.clone(), [3, 7, 5]), &Device::flex());
        close(
            values(plain.forward(x.clone(), &lens)),
            values(plain.forward_reference(x, &lens)),
            "inference output",
        );
    }

    #[test]
    fn padding_does_not_change_real_positions() {
        let dev = crate::device::test_device();
        let lstm = MaskedBiLstmConfig::new(3).with_d_hidden(2).init(&dev);
        let data: Vec<f32> = (0..2 * 4 * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = Tensor::<3>::from_data(TensorData::new(data.clone(), [2, 4, 3]), &dev);
        let out: Vec<f32> =
            lstm.forward(x, &[4, 2]).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        // Same row 1 with different padding content.
        let mut noisy = data;
        for v in &mut noisy[(4 + 2) * 3..] {
            *v = 9.0;
        }
        let x = Tensor::<3>::from_data(TensorData::new(noisy, [2, 4, 3]), &dev);
        let out2: Vec<f32> =
            lstm.forward(x, &[4, 2]).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        for t in 0..2 {
            for c in 0..4 {
                let at = (4 + t) * 4 + c;
                assert!((out[at] - out2[at]).abs() < 1e-6, "position {t} channel {c}");
            }
        }
    }
}
