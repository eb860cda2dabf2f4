//! The training configuration (`TrainConfig`): what a run needs besides
//! its inputs, read from TOML and recorded in `run.json`; defaults from the paper.

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::AdamWConfig;
use enrelg_pipeline::graph::DependencyVariant;
use serde::{Deserialize, Serialize};

use crate::model::{CorefScope, EnrelgConfig, Fusion, Variant, WordPool};

/// Everything a run needs besides its inputs; read from TOML, defaults from the paper.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    pub variant: Variant,
    pub fusion: Fusion,
    pub dependency_variant: DependencyVariant,
    pub seed: u64,
    pub batch_size: usize,
    pub max_epochs: usize,
    /// Stop after this many epochs without a better dev F1.
    pub patience: usize,
    /// Learning rate of the encoder when fine-tuned (the paper: 5e-5).
    pub lr_encoder: f64,
    /// Learning rate of the new layers (BiLSTM, GAT, fusion, CRF).
    pub lr_head: f64,
    /// Fraction of steps with linear warm-up, then linear decay to 0.
    pub warmup: f64,
    pub weight_decay: f64,
    /// Gradient norm clipping.
    pub grad_clip: f64,
    /// Train only the layers after the encoder, on cached encoder outputs.
    pub freeze_encoder: bool,
    pub lstm_hidden: usize,
    pub gat_heads: usize,
    pub gat_head_dim: usize,
    pub gat_dropout: f64,
    pub dropout: f64,
    /// Word-shape embedding size (0 = off, as in the paper).
    pub shape_dim: usize,
    /// Feed the head a learned scalar mix of every encoder hidden state
    /// instead of the last layer (off, as in the paper).
    pub layer_mix: bool,
    /// Character-CNN filters concatenated to the encoder output (0 = off, as in the paper).
    pub char_dim: usize,
    /// How a word's vector is pooled from its subtokens (the paper: the first).
    pub word_pool: WordPool,
    /// Word-identity embedding size (0 = off, as in the paper); its
    /// vocabulary is the training split's words seen `word_min_count` times.
    pub word_dim: usize,
    pub word_min_count: usize,
    /// UPOS and dependency-relation embedding sizes (0 = off, as in the paper).
    pub pos_dim: usize,
    /// The coreference graph's reach: one window (the paper) or the document.
    pub coref_scope: CorefScope,
    /// Train on this share of the training documents, the first ones in
    /// shard order (learning curves; 1.0 = all).
    pub train_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            variant: Variant::Cd,
            fusion: Fusion::Linear,
            dependency_variant: DependencyVariant::CompoundKey,
            seed: 1,
            batch_size: 32,
            max_epochs: 30,
            patience: 5,
            lr_encoder: 5e-5,
            lr_head: 1e-3,
            warmup: 0.1,
            weight_decay: 0.01,
            grad_clip: 5.0,
            freeze_encoder: true,
            lstm_hidden: 256,
            gat_heads: 4,
            gat_head_dim: 128,
            gat_dropout: 0.6,
            dropout: 0.5,
            shape_dim: 0,
            layer_mix: false,
            char_dim: 0,
            word_pool: WordPool::First,
            word_dim: 0,
            word_min_count: 2,
            pos_dim: 0,
            coref_scope: CorefScope::Window,
            train_fraction: 1.0,
        }
    }
}

impl TrainConfig {
    /// A configuration from a TOML file of `TrainConfig` fields (the rest default).
    pub fn read_toml(path: &std::path::Path) -> anyhow::Result<Self> {
        use anyhow::Context;
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }

    /// AdamW with decoupled weight decay and gradient-norm clipping.
    pub fn optimizer(&self) -> AdamWConfig {
        AdamWConfig::new()
            .with_weight_decay(self.weight_decay as f32)
            .with_grad_clipping(Some(GradientClippingConfig::Norm(self.grad_clip as f32)))
    }

    /// The model for this config; `hidden_states` is the encoder's count (for
    /// the layer mix), `word_vocab` the rows of the word embedding.
    pub fn model_config(
        &self,
        num_tags: usize,
        d_encoder: usize,
        hidden_states: usize,
        word_vocab: usize,
    ) -> EnrelgConfig {
        EnrelgConfig::new(num_tags, self.variant, d_encoder)
            .with_fusion(self.fusion)
            .with_lstm_hidden(self.lstm_hidden)
            .with_gat_heads(self.gat_heads)
            .with_gat_head_dim(self.gat_head_dim)
            .with_gat_dropout(self.gat_dropout)
            .with_dropout(self.dropout)
            .with_shape_dim(self.shape_dim)
            .with_layer_mix(if self.layer_mix { hidden_states } else { 0 })
            .with_char_dim(self.char_dim)
            .with_word_pool(self.word_pool)
            .with_word_dim(self.word_dim)
            .with_word_vocab(word_vocab)
            .with_pos_dim(self.pos_dim)
            .with_coref_scope(self.coref_scope)
    }
}
