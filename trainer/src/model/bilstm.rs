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
use burn::nn::{Lstm, LstmConfig};
use burn::tensor::s;
use burn::tensor::{Device, Int, Tensor, TensorData};

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

/// Index that reverses each row within its length: `[B, L]`.
fn reversal(lens: &[usize], l: usize, device: &Device) -> Tensor<2, Int> {
    let flat: Vec<i64> = lens.iter().flat_map(|&n| (0..l).map(move |t| if t < n { (n - 1 - t) as i64 } else { t as i64 })).collect();
    Tensor::from_data(TensorData::new(flat, [lens.len(), l]), device)
}

impl MaskedBiLstm {
    /// `x`: `[B, L, D]`, rows of lengths `lens`. Returns `[B, L, 2 * hidden]`.
    pub fn forward(&self, x: Tensor<3>, lens: &[usize]) -> Tensor<3> {
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
            let gate = |g: &burn::nn::GateController, act: &burn::nn::activation::Activation| act.forward(g.gate_product(input.clone(), hidden.clone()));
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
        let dev = Device::flex().autodiff();
        let lstm = LstmConfig::new(3, 4, true).with_batch_first(true).init(&dev);
        // 11 steps: blocks of 4, 4 and 3.
        let data: Vec<f32> = (0..2 * 11 * 3).map(|i| (i as f32 * 0.61).cos()).collect();
        let x = || Tensor::<3>::from_data(TensorData::new(data.clone(), [2, 11, 3]), &dev).require_grad();
        let values = |t: Tensor<3>| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let (xa, xb) = (x(), x());
        let ours = run(&lstm, xa.clone());
        let (burns, _) = lstm.forward(xb.clone(), None);
        assert_eq!(values(ours.clone()), values(burns.clone()));
        let (ga, gb) = (ours.powi_scalar(2).sum().backward(), burns.powi_scalar(2).sum().backward());
        assert_eq!(values(xa.grad(&ga).unwrap()), values(xb.grad(&gb).unwrap()));
        let w = |g: &burn::tensor::Gradients| lstm.cell_gate.hidden_transform.weight.grad(g).unwrap().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert_eq!(w(&ga), w(&gb));
    }

    #[test]
    fn padding_does_not_change_real_positions() {
        let dev = Device::flex();
        let lstm = MaskedBiLstmConfig::new(3).with_d_hidden(2).init(&dev);
        let data: Vec<f32> = (0..2 * 4 * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = Tensor::<3>::from_data(TensorData::new(data.clone(), [2, 4, 3]), &dev);
        let out: Vec<f32> = lstm.forward(x, &[4, 2]).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        // Same row 1 with different padding content.
        let mut noisy = data;
        for v in &mut noisy[(4 + 2) * 3..] {
            *v = 9.0;
        }
        let x = Tensor::<3>::from_data(TensorData::new(noisy, [2, 4, 3]), &dev);
        let out2: Vec<f32> = lstm.forward(x, &[4, 2]).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        for t in 0..2 {
            for c in 0..4 {
                let at = (4 + t) * 4 + c;
                assert!((out[at] - out2[at]).abs() < 1e-6, "position {t} channel {c}");
            }
        }
    }
}
