//! Scalar mix of encoder layers (Peters et al., 2018, ELMo): a learned,
//! softmax-normalised weight per layer and one global scale. Not in EnRel-G;
//! an option for the frozen encoder, whose last layer was trained for sentence
//! similarity (all-MiniLM-L6-v2) and is not the best layer for tagging.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};

#[derive(Config, Debug)]
pub struct ScalarMixConfig {
    /// Hidden states mixed: the embedding output and every layer.
    pub layers: usize,
    /// Size of one hidden state.
    pub d_model: usize,
}

#[derive(Module, Debug)]
pub struct ScalarMix {
    /// Unnormalised layer weights `[K]`; zeros at start, so the mix starts as the mean.
    pub weights: Param<Tensor<1>>,
    /// Global scale `[1]`.
    pub gamma: Param<Tensor<1>>,
    #[module(skip)]
    pub d_model: usize,
}

impl ScalarMixConfig {
    pub fn init(&self, device: &Device) -> ScalarMix {
        ScalarMix {
            weights: Param::from_tensor(Tensor::zeros([self.layers], device)),
            gamma: Param::from_tensor(Tensor::ones([1], device)),
            d_model: self.d_model,
        }
    }
}

impl ScalarMix {
    pub fn layers(&self) -> usize {
        self.weights.dims()[0]
    }

    /// `stack` `[B, L, K*H]` (the K hidden states of each word side by side) -> `[B, L, H]`.
    pub fn forward(&self, stack: Tensor<3>) -> Tensor<3> {
        let [b, l, _] = stack.dims();
        let (k, h) = (self.layers(), self.d_model);
        let w = softmax(self.weights.val(), 0).reshape([1, 1, k, 1]);
        let mixed = (stack.reshape([b, l, k, h]) * w).sum_dim(2).reshape([b, l, h]);
        mixed * self.gamma.val().reshape([1, 1, 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn starts_as_the_mean_of_the_layers_and_learns_its_weights() {
        let device = crate::device::test_device().autodiff();
        // Two words, three layers of size 2: layer k holds the value k+1 (word 0) or -(k+1) (word 1).
        let data: Vec<f32> = [1.0f32, -1.0]
            .iter()
            .flat_map(|s| (1..=3).flat_map(move |k| [s * k as f32; 2]))
            .collect();
        let stack = Tensor::<3>::from_data(TensorData::new(data, [1, 2, 6]), &device);
        let mix = ScalarMixConfig::new(3, 2).init(&device);
        let out = mix.forward(stack.clone());
        assert_eq!(out.dims(), [1, 2, 2]);
        let v: Vec<f32> = out.clone().into_data().try_to_vec::<f32>().unwrap();
        for (got, want) in v.iter().zip([2.0, 2.0, -2.0, -2.0]) {
            assert!((got - want).abs() < 1e-5, "{v:?}");
        }
        // Maximising word 0's output pushes weight towards its largest layer (the last).
        let grads = (out.slice([0..1, 0..1, 0..2]).sum().neg()).backward();
        let g: Vec<f32> =
            mix.weights.grad(&grads).unwrap().into_data().try_to_vec::<f32>().unwrap();
        assert!(g[2] < 0.0 && g[0] > 0.0, "{g:?}");
        assert!(mix.gamma.grad(&grads).is_some());
    }
}
