//! The EnRel-G tagger: BERT word embeddings -> dropout -> BiLSTM -> graph
//! attention over the coreference and dependency graphs -> fusion -> linear
//! -> CRF.

use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig, Embedding, EmbeddingConfig, Linear, LinearConfig};
use burn::tensor::{Bool, Device, Int, Tensor};
use enrelg_pipeline::words::affix::AFFIXES;
use serde::{Deserialize, Serialize};

use super::bert::BertEncoder;
use super::bilstm::{MaskedBiLstm, MaskedBiLstmConfig};
use super::char_cnn::{CharCnn, CharCnnConfig};
use super::crf::{Crf, CrfConfig};
use super::dropout::{drop_ids, dropout};
use super::gat::{GraphAttention, GraphAttentionConfig, NodeEdges};
use super::inference::HostEncoder;
use super::linear::forward_rows;
use super::mix::{ScalarMix, ScalarMixConfig};
use super::pooling::encoder_words;

/// Which graphs the model uses (the paper's ablation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// BERT + BiLSTM + CRF, no graph.
    Baseline,
    /// Coreference graph only.
    C,
    /// Dependency graph only.
    D,
    /// Both graphs.
    Cd,
}

impl Variant {
    pub fn uses_coref(self) -> bool {
        matches!(self, Self::C | Self::Cd)
    }
    pub fn uses_dep(self) -> bool {
        matches!(self, Self::D | Self::Cd)
    }
}

/// Which words the coreference graph links.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum CorefScope {
    /// Words of one 128-subtoken window (the paper).
    #[default]
    Window,
    /// Words of the whole document: a batch holds whole documents, and the
    /// coreference GAT also attends over the `doc_edges` between windows.
    Document,
}

/// How the BiLSTM output `E` and the graph outputs `G_C`, `G_D` are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum Fusion {
    /// The paper: `W_N E + W_C G_C + W_D G_D`.
    Linear,
    /// The reference code: `w_N * E + w_C * G_C + w_D * G_D` with learned vectors.
    Vector,
    /// `[E; G_C; G_D]`.
    Concat,
}

/// How a word's vector is taken from its subtokens' vectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum WordPool {
    /// The first subtoken (the paper).
    #[default]
    First,
    /// The mean of all its subtokens: an unseen word such as "nontronite"
    /// (non ##tron ##ite) keeps its telling suffix, which the first piece loses.
    Mean,
}

/// The tagger's hyperparameters, as a user chooses them (in a training
/// configuration, flattened into it); the defaults are the paper's model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ModelConfig {
    /// Which graphs the model uses.
    pub variant: Variant,
    pub fusion: Fusion,
    pub lstm_hidden: usize,
    pub gat_heads: usize,
    pub gat_head_dim: usize,
    pub gat_dropout: f64,
    /// Dropout on the word embeddings and before the output layer.
    pub dropout: f64,
    /// Size of a word-shape embedding concatenated to the encoder output
    /// (0 = off, the paper's model). An addition for uncased encoders.
    pub shape_dim: usize,
    /// Feed the head a learned scalar mix of every encoder hidden state
    /// instead of the last layer (off, as in the paper). An addition for frozen encoders.
    pub layer_mix: bool,
    /// Filters of a character CNN whose word vectors are concatenated to the
    /// encoder output (0 = off, the paper's model).
    pub char_dim: usize,
    /// How a word's vector is pooled from its subtokens (the paper: the first).
    pub word_pool: WordPool,
    /// Size of a word-identity embedding concatenated to the encoder output
    /// (0 = off, the paper's model); its vocabulary is the run's.
    pub word_dim: usize,
    /// Share of the word-identity ids replaced by the unknown id in training (word dropout,
    /// Lample et al. 2016), so that unseen words at test time meet an unknown id trained on
    /// entity words too, not only on rare function words (0 = none).
    pub word_dropout: f64,
    /// Size of the embedding of each of a word's prefixes and suffixes
    /// (`enrelg_pipeline::words::affix`), concatenated to the encoder output (0 = off, the paper's model).
    pub affix_dim: usize,
    /// Size of each of two embeddings, of the word's UPOS and of its
    /// dependency relation, concatenated to the encoder output (0 = off,
    /// the paper's model).
    pub pos_dim: usize,
    /// The coreference graph's reach: one window (the paper) or the document.
    pub coref_scope: CorefScope,
    /// Subtokens of document context the encoder reads on each side of a
    /// window (0 = the window alone, as in the paper; `crate::data::context`).
    pub context: usize,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            variant: Variant::Cd,
            fusion: Fusion::Linear,
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
            word_dropout: 0.0,
            affix_dim: 0,
            pos_dim: 0,
            coref_scope: CorefScope::Window,
            context: 0,
        }
    }
}

/// A [`ModelConfig`] with the sizes the data and the encoder fix.
#[derive(Debug, Clone, Serialize)]
pub struct EnrelgConfig {
    #[serde(flatten)]
    pub model: ModelConfig,
    pub num_tags: usize,
    /// Encoder output size (from the checkpoint).
    pub d_encoder: usize,
    /// The encoder's hidden states, the layer mix's inputs (when it mixes).
    pub hidden_states: usize,
    /// Rows of the word-identity embedding (the run's vocabulary).
    pub word_vocab: usize,
    /// Rows of the affix embedding (the run's affix vocabulary).
    pub affix_vocab: usize,
}

/// The row of the word embedding every unknown word reads, and the one word dropout substitutes
/// (its vocabulary, `crate::data::vocab`, numbers words from here).
pub const UNK_ID: u32 = 1;

/// Everything after the encoder; trained alone in frozen-encoder mode.
#[derive(Module, Debug)]
pub struct EnrelgHead {
    /// Scalar mix of the encoder's hidden states; its input is their concatenation.
    pub mix: Option<ScalarMix>,
    pub dropout: Dropout,
    pub shape: Option<Embedding>,
    pub chars: Option<CharCnn>,
    pub word: Option<Embedding>,
    pub affix: Option<Embedding>,
    pub upos: Option<Embedding>,
    pub deprel: Option<Embedding>,
    pub lstm: MaskedBiLstm,
    pub coref: Option<GraphAttention>,
    pub dep: Option<GraphAttention>,
    /// Linear fusion: one map per input.
    pub fuse_lstm: Option<Linear>,
    pub fuse_coref: Option<Linear>,
    pub fuse_dep: Option<Linear>,
    /// Vector fusion: one weight vector per input.
    pub weight_lstm: Option<Param<Tensor<1>>>,
    pub weight_coref: Option<Param<Tensor<1>>>,
    pub weight_dep: Option<Param<Tensor<1>>>,
    pub output: Linear,
    pub crf: Crf,
    #[module(skip)]
    pub fusion: Fusion,
    /// How the encoder's subtokens become the words this head reads.
    #[module(skip)]
    pub word_pool: WordPool,
    /// [`ModelConfig::word_dropout`].
    #[module(skip)]
    pub word_dropout: f64,
}

impl EnrelgConfig {
    pub fn init_head(&self, device: &Device) -> EnrelgHead {
        let (m, d_encoder, num_tags) = (&self.model, self.d_encoder, self.num_tags);
        let d_lstm = 2 * m.lstm_hidden;
        let gat = || {
            GraphAttentionConfig::new(d_lstm)
                .with_heads(m.gat_heads)
                .with_d_head(m.gat_head_dim)
                .with_dropout(m.gat_dropout)
                .init(device)
        };
        let d_gat = m.gat_heads * m.gat_head_dim;
        let coref = m.variant.uses_coref().then(gat);
        let dep = m.variant.uses_dep().then(gat);
        let linear = m.fusion == Fusion::Linear;
        let vector = m.fusion == Fusion::Vector;
        assert!(
            !vector || d_gat == d_lstm,
            "vector fusion needs GAT output ({d_gat}) = BiLSTM output ({d_lstm})"
        );
        let ones = |d: usize| Param::from_tensor(Tensor::<1>::ones([d], device));
        let d_fused = match m.fusion {
            Fusion::Linear | Fusion::Vector => d_lstm,
            Fusion::Concat => {
                d_lstm + coref.as_ref().map_or(0, |_| d_gat) + dep.as_ref().map_or(0, |_| d_gat)
            }
        };
        EnrelgHead {
            mix: m
                .layer_mix
                .then(|| ScalarMixConfig::new(self.hidden_states, d_encoder).init(device)),
            dropout: DropoutConfig::new(m.dropout).init(),
            shape: (m.shape_dim > 0).then(|| {
                EmbeddingConfig::new(enrelg_pipeline::words::shape::NUM_SHAPES, m.shape_dim)
                    .init(device)
            }),
            chars: (m.char_dim > 0).then(|| CharCnnConfig::new(m.char_dim).init(device)),
            word: (m.word_dim > 0)
                .then(|| EmbeddingConfig::new(self.word_vocab, m.word_dim).init(device)),
            affix: (m.affix_dim > 0)
                .then(|| EmbeddingConfig::new(self.affix_vocab, m.affix_dim).init(device)),
            upos: (m.pos_dim > 0).then(|| {
                EmbeddingConfig::new(enrelg_pipeline::words::syntax::NUM_UPOS, m.pos_dim)
                    .init(device)
            }),
            deprel: (m.pos_dim > 0).then(|| {
                EmbeddingConfig::new(enrelg_pipeline::words::syntax::NUM_DEPRELS, m.pos_dim)
                    .init(device)
            }),
            lstm: MaskedBiLstmConfig::new(
                d_encoder
                    + m.shape_dim
                    + m.char_dim
                    + m.word_dim
                    + AFFIXES * m.affix_dim
                    + 2 * m.pos_dim,
            )
            .with_d_hidden(m.lstm_hidden)
            .init(device),
            fuse_lstm: linear.then(|| LinearConfig::new(d_lstm, d_lstm).init(device)),
            fuse_coref: (linear && coref.is_some())
                .then(|| LinearConfig::new(d_gat, d_lstm).with_bias(false).init(device)),
            fuse_dep: (linear && dep.is_some())
                .then(|| LinearConfig::new(d_gat, d_lstm).with_bias(false).init(device)),
            weight_lstm: vector.then(|| ones(d_lstm)),
            weight_coref: (vector && coref.is_some()).then(|| ones(d_gat)),
            weight_dep: (vector && dep.is_some()).then(|| ones(d_gat)),
            coref,
            dep,
            output: LinearConfig::new(d_fused, num_tags).init(device),
            crf: CrfConfig::new(num_tags).init(device),
            fusion: m.fusion,
            word_pool: m.word_pool,
            word_dropout: m.word_dropout,
        }
    }
}

/// One padded batch of windows, on a device.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[B, T]` subtoken ids and their mask.
    pub input_ids: Tensor<2, Int>,
    pub attention_mask: Tensor<2, Bool>,
    /// `[B, L]` index of each word's first subtoken, the word mask and the gold tags.
    pub word_index: Tensor<2, Int>,
    /// `[B, L, T]` weight of each subtoken in each word's mean (1/n over the word's n subtokens).
    pub word_mean: Tensor<3>,
    pub word_mask: Tensor<2, Bool>,
    pub tags: Tensor<2, Int>,
    /// `[B, L]` word shape classes.
    pub shapes: Tensor<2, Int>,
    /// `[B, L]` UPOS and dependency-relation ids (`enrelg_pipeline::words::syntax`).
    pub upos: Tensor<2, Int>,
    pub deprel: Tensor<2, Int>,
    /// `[B, L]` word-identity ids (`crate::data::vocab`; padding when a run has no vocabulary).
    pub word_ids: Tensor<2, Int>,
    /// `[B, L * AFFIXES]` affix ids of each word (`crate::data::vocab`; padding without affixes).
    pub affix_ids: Tensor<2, Int>,
    /// `[B, L, C]` character ids of each word, 0-padded.
    pub chars: Tensor<3, Int>,
    /// Words per window.
    pub lens: Vec<usize>,
    /// `[B, L, L]` adjacency of each graph (no self loops; the GAT adds them).
    pub coref: Tensor<3, Bool>,
    pub dep: Tensor<3, Bool>,
    /// Document scope: the coreference graph over all `B * L` word positions
    /// of the batch (position `b * L + w`), window and document edges in both
    /// directions plus self loops; `None` in window scope.
    pub coref_nodes: Option<NodeEdges>,
}

impl EnrelgHead {
    /// Emission scores `[B, L, N]` from word embeddings: `[B, L, H]`, or
    /// `[B, L, K*H]` (every hidden state) when the head mixes layers.
    pub fn emissions(&self, words: Tensor<3>, batch: &Batch) -> Tensor<3> {
        let fused = self.features(words, batch);
        forward_rows(&self.output, dropout(&self.dropout, fused))
    }

    /// The word representations the output layer reads, `[B, L, D]`: the BiLSTM's states
    /// enriched by the graphs ([`Fusion`]). The relation head reads these too.
    pub fn features(&self, words: Tensor<3>, batch: &Batch) -> Tensor<3> {
        let words = match &self.mix {
            Some(mix) => mix.forward(words),
            None => words,
        };
        let mut inputs = vec![words];
        if let Some(emb) = &self.shape {
            inputs.push(emb.forward(batch.shapes.clone()));
        }
        if let Some(cnn) = &self.chars {
            inputs.push(cnn.forward(batch.chars.clone()));
        }
        if let Some(emb) = &self.word {
            let ids = drop_ids(&self.dropout, self.word_dropout, batch.word_ids.clone(), UNK_ID);
            inputs.push(emb.forward(ids));
        }
        if let Some(emb) = &self.affix {
            // [B, L * AFFIXES] ids -> [B, L * AFFIXES, D] -> one [AFFIXES * D] vector per word.
            let [b, l] = batch.word_ids.dims();
            let d = emb.weight.dims()[1];
            inputs.push(emb.forward(batch.affix_ids.clone()).reshape([b, l, AFFIXES * d]));
        }
        if let (Some(upos), Some(deprel)) = (&self.upos, &self.deprel) {
            inputs.push(upos.forward(batch.upos.clone()));
            inputs.push(deprel.forward(batch.deprel.clone()));
        }
        let words = Tensor::cat(inputs, 2);
        let e = self.lstm.forward(dropout(&self.dropout, words), &batch.lens);
        let gc = self.coref.as_ref().map(|g| match &batch.coref_nodes {
            Some(edges) => {
                let [b, l, d] = e.dims();
                g.forward_edges(e.clone().reshape([b * l, d]), edges).reshape([b, l, g.d_output()])
            }
            None => g.forward(e.clone(), batch.coref.clone()),
        });
        let gd = self.dep.as_ref().map(|g| g.forward(e.clone(), batch.dep.clone()));
        match self.fusion {
            Fusion::Linear => {
                let mut out =
                    self.fuse_lstm.as_ref().map_or(e.clone(), |l| forward_rows(l, e.clone()));
                if let (Some(g), Some(l)) = (gc, &self.fuse_coref) {
                    out = out + forward_rows(l, g);
                }
                if let (Some(g), Some(l)) = (gd, &self.fuse_dep) {
                    out = out + forward_rows(l, g);
                }
                out
            }
            Fusion::Vector => {
                let w = |p: &Option<Param<Tensor<1>>>| {
                    p.as_ref().map(|p| p.val().unsqueeze_dim::<2>(0).unsqueeze_dim::<3>(0))
                };
                let mut out = w(&self.weight_lstm).map_or(e.clone(), |w| e.clone() * w);
                if let (Some(g), Some(w)) = (gc, w(&self.weight_coref)) {
                    out = out + g * w;
                }
                if let (Some(g), Some(w)) = (gd, w(&self.weight_dep)) {
                    out = out + g * w;
                }
                out
            }
            Fusion::Concat => Tensor::cat([Some(e), gc, gd].into_iter().flatten().collect(), 2),
        }
    }

    pub fn loss(&self, words: Tensor<3>, batch: &Batch) -> Tensor<1> {
        let em = self.emissions(words, batch);
        self.crf.nll(em, batch.tags.clone(), batch.word_mask.clone())
    }

    #[cfg(test)]
    pub fn decode(&self, words: Tensor<3>, batch: &Batch) -> Vec<Vec<usize>> {
        let em = self.emissions(words, batch);
        self.crf.viterbi(em, batch.word_mask.clone())
    }
}

/// The full model: encoder and head.
#[derive(Module, Debug)]
pub struct Enrelg {
    pub encoder: BertEncoder,
    pub head: EnrelgHead,
}

impl Enrelg {
    /// Word embeddings from the encoder, as the head takes them.
    pub fn words(&self, batch: &Batch) -> Tensor<3> {
        self.words_with(None, batch)
    }

    /// [`Enrelg::words`] through `host`, the encoder's host copy, when given (inference on flex).
    pub fn words_with(&self, host: Option<&HostEncoder>, batch: &Batch) -> Tensor<3> {
        encoder_words(&self.encoder, host, batch, self.head.mix.is_some(), self.head.word_pool)
    }

    pub fn loss(&self, batch: &Batch) -> Tensor<1> {
        self.head.loss(self.words(batch), batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{make_batch, WindowRecord};
    use burn::tensor::TensorData;

    /// A small head over an 8-wide encoder with 3 tags.
    fn tiny() -> ModelConfig {
        ModelConfig { lstm_hidden: 4, gat_heads: 2, gat_head_dim: 4, ..ModelConfig::default() }
    }

    fn tiny_config(model: ModelConfig, word_vocab: usize) -> EnrelgConfig {
        EnrelgConfig {
            model,
            num_tags: 3,
            d_encoder: 8,
            hidden_states: 1,
            word_vocab,
            affix_vocab: 7,
        }
    }

    fn record(n: usize, shift: u32) -> WindowRecord {
        WindowRecord {
            window_id: shift,
            doc_id: "d".into(),
            word_start: 0,
            input_ids: (0..n as u32 + 2).collect(),
            word_first_subtoken: (1..=n as u32).collect(),
            right_context: 0,
            tags: (0..n as u32).map(|i| (i + shift) % 3).collect(),
            shapes: (0..n as u32).map(|i| (i * 7 + shift) % 10).collect(),
            chars: (0..n as u32)
                .map(|i| (0..=i % 4).map(|k| 1 + (i + k + shift) % 90).collect())
                .collect(),
            forms: (0..n).map(|i| format!("w{i}")).collect(),
            upos: (0..n as u32).map(|i| (i + shift) % 18).collect(),
            deprel: (0..n as u32).map(|i| (i * 3 + shift) % 60).collect(),
            word_ids: (0..n as u32).map(|i| (i + shift) % 6).collect(),
            affix_ids: (0..(n * AFFIXES) as u32).map(|i| (i * 5 + shift) % 7).collect(),
            coref: vec![(0, 2)],
            dep: vec![(1, 2), (0, 1)],
            doc_coref: Vec::new(),
        }
    }

    fn emissions_of(
        head: &EnrelgHead,
        recs: &[WindowRecord],
        words: &Tensor<3>,
        scope: CorefScope,
    ) -> Vec<f32> {
        let refs: Vec<&WindowRecord> = recs.iter().collect();
        let batch = crate::data::pad_for(&refs, scope).into_device(&words.device());
        head.emissions(words.clone(), &batch)
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap()
    }

    fn words_tensor(seed: f32, dims: [usize; 3], device: &Device) -> Tensor<3> {
        let n = dims.iter().product::<usize>();
        Tensor::<3>::from_data(
            TensorData::new(
                (0..n).map(|i| (i as f32 * 0.37 + seed).sin()).collect::<Vec<f32>>(),
                dims,
            ),
            device,
        )
    }

    #[test]
    fn document_scope_equals_window_scope_when_each_document_is_one_window() {
        let device = crate::device::test_device();
        let mut recs = [record(5, 0), record(5, 1), record(3, 2)];
        for (i, r) in recs.iter_mut().enumerate() {
            r.doc_id = format!("d{i}");
        }
        let words = words_tensor(0.0, [3, 5, 8], &device);
        let head =
            tiny_config(ModelConfig { variant: Variant::Cd, ..tiny() }, 0).init_head(&device);
        let (window, document) = (
            emissions_of(&head, &recs, &words, CorefScope::Window),
            emissions_of(&head, &recs, &words, CorefScope::Document),
        );
        // Padding positions differ (the dense form lets them attend nowhere); compare the words.
        for (r, rec) in recs.iter().enumerate() {
            for w in 0..rec.tags.len() {
                for t in 0..3 {
                    let at = (r * 5 + w) * 3 + t;
                    assert!(
                        (window[at] - document[at]).abs() < 1e-5,
                        "window {r} word {w}: {} vs {}",
                        window[at],
                        document[at]
                    );
                }
            }
        }
    }

    #[test]
    fn in_document_scope_another_window_reaches_a_word_only_through_a_document_edge() {
        let device = crate::device::test_device();
        let head = tiny_config(ModelConfig { variant: Variant::C, ..tiny() }, 0).init_head(&device);
        // Two windows of one document; word 1 of window 0 is linked to word 2 of window 1.
        let (mut a, b) = (record(4, 0), record(4, 1));
        a.doc_coref = vec![(1, b.window_id, 2)];
        let recs = [a, b];
        let words = words_tensor(0.0, [2, 4, 8], &device);
        // Change only window 1's words.
        let mut changed = words.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        changed[4 * 8..].iter_mut().for_each(|v| *v += 1.0);
        let changed = Tensor::<3>::from_data(TensorData::new(changed, [2, 4, 8]), &device);
        let word0 = |em: &[f32], w: usize| em[w * 3..w * 3 + 3].to_vec();
        let differs =
            |x: Vec<f32>, y: Vec<f32>| x.iter().zip(&y).any(|(p, q)| (p - q).abs() > 1e-5);
        for scope in [CorefScope::Window, CorefScope::Document] {
            let (before, after) = (
                emissions_of(&head, &recs, &words, scope),
                emissions_of(&head, &recs, &changed, scope),
            );
            // The linked word feels the change in document scope only; no other word of window 0 does.
            assert_eq!(
                differs(word0(&before, 1), word0(&after, 1)),
                scope == CorefScope::Document,
                "{scope:?}"
            );
            for w in [0, 2, 3] {
                assert!(
                    !differs(word0(&before, w), word0(&after, w)),
                    "{scope:?}: word {w} of window 0 changed"
                );
            }
        }
    }

    #[test]
    fn every_variant_and_fusion_gives_a_finite_loss_and_full_paths() {
        let device = crate::device::test_device().autodiff();
        let recs = [record(5, 0), record(3, 1)];
        let refs: Vec<&WindowRecord> = recs.iter().collect();
        let batch = make_batch(&refs, &device);
        let words = Tensor::<3>::from_data(
            TensorData::new(
                (0..2 * 5 * 8).map(|i| (i as f32 * 0.1).sin()).collect::<Vec<f32>>(),
                [2, 5, 8],
            ),
            &device,
        );
        for variant in [Variant::Baseline, Variant::C, Variant::D, Variant::Cd] {
            for fusion in [Fusion::Linear, Fusion::Vector, Fusion::Concat] {
                for (shape_dim, char_dim, word_dim, affix_dim, pos_dim) in [
                    (0, 0, 0, 0, 0),
                    (4, 0, 0, 0, 0),
                    (0, 5, 0, 0, 0),
                    (0, 0, 3, 0, 0),
                    (0, 0, 0, 2, 0),
                    (0, 0, 0, 0, 2),
                    (4, 5, 3, 2, 2),
                ] {
                    let model = ModelConfig {
                        variant,
                        fusion,
                        shape_dim,
                        char_dim,
                        word_dim,
                        word_dropout: 0.5,
                        affix_dim,
                        pos_dim,
                        ..tiny()
                    };
                    let head = tiny_config(model, 6).init_head(&device);
                    let loss: f32 = head.loss(words.clone(), &batch).into_scalar::<f32>();
                    assert!(loss.is_finite() && loss > 0.0, "{variant:?} {fusion:?} {shape_dim} {char_dim} {word_dim} {affix_dim} {pos_dim}: {loss}");
                    let paths = head.decode(words.clone(), &batch);
                    assert_eq!(paths.iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 3]);
                }
            }
        }
    }

    #[test]
    fn mean_pooling_averages_each_words_subtokens_and_first_takes_the_first() {
        let device = crate::device::test_device();
        let config: crate::model::BertConfig =
            serde_json::from_str(r#"{"vocab_size": 40, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16}"#).unwrap();
        let encoder = config.init(&device);
        // [CLS] a b b c [SEP]: the second word has two subtokens.
        let rec = WindowRecord {
            input_ids: vec![1, 5, 6, 7, 8, 2],
            word_first_subtoken: vec![1, 2, 4],
            ..record(3, 0)
        };
        let batch = make_batch(&[&rec], &device);
        let hidden = encoder.forward(batch.input_ids.clone(), batch.attention_mask.clone());
        let sub = |k: usize| hidden.clone().slice([0..1, k..k + 1, 0..8]);
        let close = |a: Tensor<3>, b: Tensor<3>| {
            a.into_data()
                .assert_approx_eq::<f32>(&b.into_data(), burn::tensor::Tolerance::absolute(1e-5))
        };
        let mean = encoder_words(&encoder, None, &batch, false, WordPool::Mean);
        close(mean.clone().slice([0..1, 0..1, 0..8]), sub(1));
        close(mean.clone().slice([0..1, 1..2, 0..8]), (sub(2) + sub(3)) / 2.0);
        close(mean.slice([0..1, 2..3, 0..8]), sub(4));
        let first = encoder_words(&encoder, None, &batch, false, WordPool::First);
        close(first.slice([0..1, 1..2, 0..8]), sub(2));
    }

    #[test]
    fn a_mixing_head_takes_every_hidden_state_and_trains_its_mix() {
        let device = crate::device::test_device().autodiff();
        let recs = [record(5, 0), record(3, 1)];
        let refs: Vec<&WindowRecord> = recs.iter().collect();
        let batch = make_batch(&refs, &device);
        // Three hidden states of size 8 side by side.
        let words = Tensor::<3>::from_data(
            TensorData::new(
                (0..2 * 5 * 24).map(|i| (i as f32 * 0.1).sin()).collect::<Vec<f32>>(),
                [2, 5, 24],
            ),
            &device,
        );
        let mut config = tiny_config(ModelConfig { layer_mix: true, ..tiny() }, 0);
        config.hidden_states = 3;
        let head = config.init_head(&device);
        let loss = head.loss(words.clone(), &batch);
        let grads = loss.backward();
        let mix = head.mix.as_ref().unwrap();
        assert_eq!(mix.weights.grad(&grads).unwrap().dims(), [3]);
        assert_eq!(head.decode(words, &batch).iter().map(Vec::len).collect::<Vec<_>>(), vec![5, 3]);
    }
}
