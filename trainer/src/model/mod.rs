//! The EnRel-G model in Burn, one module per layer.

pub mod bert;
pub mod bilstm;
pub mod char_cnn;
pub mod crf;
pub mod dropout;
pub mod enrelg;
pub mod fused;
pub mod gat;
pub mod inference;
pub mod kernels;
pub mod linear;
pub mod mix;
pub mod pooling;
pub mod pretrained;

pub use bert::{BertConfig, BertEncoder};
pub use bilstm::{MaskedBiLstm, MaskedBiLstmConfig};
pub use char_cnn::{CharCnn, CharCnnConfig};
pub use crf::{Crf, CrfConfig};
pub use enrelg::{
    Batch, CorefScope, Enrelg, EnrelgConfig, EnrelgHead, Fusion, ModelConfig, Variant, WordPool,
};
pub use gat::{GraphAttention, GraphAttentionConfig, NodeEdges};
pub use mix::{ScalarMix, ScalarMixConfig};
pub use pretrained::BertError;
