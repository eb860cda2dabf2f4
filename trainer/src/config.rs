//! The training configuration (`TrainConfig`): what a run needs besides
//! its inputs, read from TOML and recorded in `run.json`; defaults from the paper.

use burn::optim::grad_clipping::GradientClippingConfig;
use burn::optim::AdamWConfig;
use enrelg_pipeline::graph::DependencyVariant;
use serde::{Deserialize, Serialize};

use crate::model::{EnrelgConfig, ModelConfig};

/// Everything a run needs besides its inputs; read from TOML, defaults from the paper.
/// The model's own settings are flattened in, so a TOML file, `run.json` and an
/// experiment spec name them beside the training ones (`variant = "cd"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainConfig {
    #[serde(flatten)]
    pub model: ModelConfig,
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
    /// Layer-wise learning-rate decay of a fine-tuned encoder (Howard and
    /// Ruder 2018; Sun et al. 2019): its top layer trains at `lr_encoder`,
    /// each layer below at this factor times the one above, the embeddings
    /// below the lowest layer (1.0: one rate for the whole encoder, the paper).
    pub layer_decay: f64,
    pub weight_decay: f64,
    /// Gradient norm clipping.
    pub grad_clip: f64,
    /// Train only the layers after the encoder, on cached encoder outputs.
    pub freeze_encoder: bool,
    /// The word-identity embedding's vocabulary: the training split's words
    /// seen this many times.
    pub word_min_count: usize,
    /// Train on this share of the training documents, the first ones in
    /// shard order (learning curves; 1.0 = all).
    pub train_fraction: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            dependency_variant: DependencyVariant::CompoundKey,
            seed: 1,
            batch_size: 32,
            max_epochs: 30,
            patience: 5,
            lr_encoder: 5e-5,
            lr_head: 1e-3,
            warmup: 0.1,
            layer_decay: 1.0,
            weight_decay: 0.01,
            grad_clip: 5.0,
            freeze_encoder: true,
            word_min_count: 2,
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
    /// the layer mix), `(word_vocab, affix_vocab)` the rows of the word and affix embeddings.
    pub fn model_config(
        &self,
        num_tags: usize,
        d_encoder: usize,
        hidden_states: usize,
        (word_vocab, affix_vocab): (usize, usize),
    ) -> EnrelgConfig {
        EnrelgConfig {
            model: self.model.clone(),
            num_tags,
            d_encoder,
            hidden_states,
            word_vocab,
            affix_vocab,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CorefScope, Variant};

    #[test]
    fn model_settings_sit_beside_training_ones_and_unknown_keys_are_refused() {
        let cfg: TrainConfig = toml::from_str(
            "variant = \"baseline\"\ncoref_scope = \"document\"\nseed = 4\ndropout = 0",
        )
        .unwrap();
        assert_eq!(cfg.model.variant, Variant::Baseline);
        assert_eq!(cfg.model.coref_scope, CorefScope::Document);
        assert_eq!((cfg.seed, cfg.model.dropout), (4, 0.0));
        assert_eq!(cfg.model.lstm_hidden, ModelConfig::default().lstm_hidden);
        let error = toml::from_str::<TrainConfig>("lstm_hiden = 3").unwrap_err().to_string();
        assert!(error.contains("unknown field `lstm_hiden`"), "{error}");
        let json = serde_json::to_value(TrainConfig::default()).unwrap();
        assert!(json.get("model").is_none() && json["lstm_hidden"] == 256, "{json}");
    }

    /// Every committed experiment cell keeps its name: the name hashes the
    /// configuration's serialized fields, which a change of the type must keep.
    #[test]
    fn committed_cells_keep_their_names() {
        let cells =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../results/experiments/cells");
        let mut checked = 0;
        for entry in std::fs::read_dir(&cells).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let run: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(path.join("run.json")).unwrap())
                    .unwrap();
            let config: TrainConfig = serde_json::from_value(run["config"].clone()).unwrap();
            let dataset = name.split('-').next().unwrap();
            assert_eq!(crate::experiment::spec::cell_name(dataset, &config).unwrap(), name);
            checked += 1;
        }
        assert!(checked > 50, "{checked} cells");
    }
}
