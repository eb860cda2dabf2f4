//! A bidirectional LSTM that respects padding.
//!
//! Burn's `BiLstm` runs its backward direction from the last padded
//! position; here each row is reversed within its own length before the
//! backward LSTM and reversed back after, so padding never reaches a real
//! word's state.

use burn::config::Config;
use burn::module::Module;
use burn::nn::{Lstm, LstmConfig};
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
        let (fwd, _) = self.forward.forward(x.clone(), None);
        let h = fwd.dims()[2];
        let rev = reversal(lens, l, &x.device()).unsqueeze_dim::<3>(2);
        let reversed = x.gather(1, rev.clone().expand([b, l, d]));
        let (bwd, _) = self.backward.forward(reversed, None);
        let bwd = bwd.gather(1, rev.expand([b, l, h]));
        Tensor::cat(vec![fwd, bwd], 2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
