//! Character CNN word features (Ma and Hovy, 2016): embed each character,
//! convolve over the word, max-pool. Not in EnRel-G; an option that gives the
//! tagger affixes and case, which an uncased subword encoder blurs.

use burn::config::Config;
use burn::module::Module;
use burn::nn::conv::{Conv1d, Conv1dConfig};
use burn::nn::{Embedding, EmbeddingConfig, PaddingConfig1d};
use burn::tensor::{Device, Int, Tensor};

#[derive(Config, Debug)]
pub struct CharCnnConfig {
    /// Filters, the size of each word's feature vector.
    pub filters: usize,
    /// Character embedding size.
    #[config(default = 16)]
    pub d_char: usize,
    /// Characters seen by one filter.
    #[config(default = 3)]
    pub kernel: usize,
}

#[derive(Module, Debug)]
pub struct CharCnn {
    pub embedding: Embedding,
    pub conv: Conv1d,
}

impl CharCnnConfig {
    pub fn init(&self, device: &Device) -> CharCnn {
        let half = self.kernel / 2;
        CharCnn {
            embedding: EmbeddingConfig::new(enrelg_pipeline::words::chars::NUM_CHARS, self.d_char)
                .init(device),
            conv: Conv1dConfig::new(self.d_char, self.filters, self.kernel)
                .with_padding(PaddingConfig1d::Explicit(half, self.kernel - 1 - half))
                .init(device),
        }
    }
}

impl CharCnn {
    /// `chars` `[B, L, C]` (0 = padding) -> `[B, L, filters]`.
    pub fn forward(&self, chars: Tensor<3, Int>) -> Tensor<3> {
        let [b, l, c] = chars.dims();
        let x = self.embedding.forward(chars.reshape([b * l, c])); // [B*L, C, E]
        let y = self.conv.forward(x.swap_dims(1, 2)); // [B*L, F, C]
        let f = y.dims()[1];
        y.max_dim(2).reshape([b, l, f])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn one_vector_per_word_that_depends_on_its_characters_only() {
        let device = crate::device::test_device();
        let cnn = CharCnnConfig::new(6).init(&device);
        // Two windows of two words; word (0,0) and word (1,1) are the same "Fe".
        let ids =
            TensorData::new(vec![39i64, 70, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 39, 70, 0, 0], [2, 2, 4]);
        let out = cnn.forward(Tensor::<3, Int>::from_data(ids, &device));
        assert_eq!(out.dims(), [2, 2, 6]);
        let v: Vec<f32> = out.into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(v[0..6], v[18..24]);
        assert_ne!(v[0..6], v[6..12]);
    }
}
