//! One optimisation step of each model under training: the frozen-encoder head
//! ([`FrozenHead`], over cached word vectors) and the fine-tuned model ([`FineTuned`]).

use super::*;
use crate::model::inference::{HostEncoder, Precision};

/// What the epoch loop needs of a model under training (as burn-train's
/// `TrainStep` and `ValidStep`): the frozen-encoder head and the fine-tuned
/// model each implement it once, and `enrelg bench-model` times the same steps.
pub trait TrainStep: Sized {
    /// A batch prepared on the host by the data thread.
    type Prepared: Send;
    fn prepare(data: &SplitData, idx: &[usize]) -> Self::Prepared;
    /// One optimizer step at `lr_factor` times the base rates; the loss. `lap` is called as each
    /// [`Phase`] ends (the loss is read right after the forward pass, so that a lap ends its
    /// phase on asynchronous backends too).
    fn step(
        self,
        batch: Self::Prepared,
        lr_factor: f64,
        lap: &mut dyn FnMut(Phase),
    ) -> anyhow::Result<(Self, f64)>;
    /// Viterbi paths of the dev windows under the current weights.
    fn dev_predictions(&self, dev: &SplitData) -> anyhow::Result<Vec<Vec<usize>>>;
    /// The weights `eval` and `predict` load (the run's best checkpoint).
    fn save_best(&self, run: &RunDir, name: &str) -> anyhow::Result<()>;
    /// Weights and optimizer state for resuming, into folder `dir`.
    fn save_last(&self, dir: &Path) -> anyhow::Result<()>;
    fn load_last(self, dir: &Path) -> anyhow::Result<Self>;
}

/// The head on cached encoder outputs (`freeze_encoder`).
pub struct FrozenHead {
    head: EnrelgHead,
    optim: ModuleOptimizer,
    lr: f64,
    auto: Device,
    plain: Device,
}

impl FrozenHead {
    /// `head` (on `auto`, the autodiff device of `plain`) trained with `cfg`'s optimizer and
    /// head rate.
    pub fn new(cfg: &TrainConfig, head: EnrelgHead, auto: Device, plain: Device) -> Self {
        Self { head, optim: cfg.optimizer().init(), lr: cfg.lr_head, auto, plain }
    }

    pub fn head(&self) -> &EnrelgHead {
        &self.head
    }
}

impl TrainStep for FrozenHead {
    type Prepared = (PaddedBatch, PaddedWords);

    fn prepare(data: &SplitData, idx: &[usize]) -> Self::Prepared {
        let refs: Vec<&WindowRecord> = idx.iter().map(|&i| &data.records[i]).collect();
        (pad_for(&refs, data.scope), data.embedded.pad(idx, &data.records))
    }

    fn step(
        mut self,
        (batch, words): Self::Prepared,
        lr_factor: f64,
        lap: &mut dyn FnMut(Phase),
    ) -> anyhow::Result<(Self, f64)> {
        let (batch, words) = (batch.into_device(&self.auto), words.into_device(&self.auto));
        lap(Phase::ToDevice);
        let loss = self.head.loss(words, &batch);
        let value = loss.clone().into_scalar::<f64>();
        lap(Phase::Forward);
        let grads = GradientsParams::from_grads(loss.backward(), &self.head);
        lap(Phase::Backward);
        self.head = self.optim.step(self.lr * lr_factor, self.head, grads);
        lap(Phase::Optimizer);
        Ok((self, value))
    }

    fn dev_predictions(&self, dev: &SplitData) -> anyhow::Result<Vec<Vec<usize>>> {
        let valid = self.head.valid();
        Ok(viterbi_all(
            &cached_emissions(&valid, &dev.embedded, &dev.records, dev.scope, &self.plain)?,
            &valid.crf.potentials()?,
        ))
    }

    fn save_best(&self, run: &RunDir, name: &str) -> anyhow::Result<()> {
        run.save_module(self.head.valid(), name)
    }

    fn save_last(&self, dir: &Path) -> anyhow::Result<()> {
        self.head
            .clone()
            .save_file(dir.join(LAST_MODULE))
            .map_err(record_err(format!("saving {}", dir.display())))?;
        self.optim
            .save(dir.join(LAST_OPTIM))
            .map_err(record_err(format!("saving {}", dir.display())))
    }

    fn load_last(mut self, dir: &Path) -> anyhow::Result<Self> {
        let err = || format!("loading the last checkpoint {}", dir.display());
        self.head = self.head.try_load_file(dir.join(LAST_MODULE)).map_err(record_err(err()))?;
        self.optim = self.optim.load(dir.join(LAST_OPTIM)).map_err(record_err(err()))?;
        Ok(self)
    }
}

/// Encoder and head trained together, each with its own optimizer and rate.
pub struct FineTuned {
    model: Enrelg,
    optim_encoder: ModuleOptimizer,
    optim_head: ModuleOptimizer,
    lr_encoder: f64,
    lr_head: f64,
    layer_decay: f64,
    auto: Device,
    plain: Device,
}

impl FineTuned {
    /// `model` (on `auto`, the autodiff device of `plain`) trained with `cfg`'s optimizers and
    /// rates, one for the encoder and one for the head.
    pub fn new(cfg: &TrainConfig, model: Enrelg, auto: Device, plain: Device) -> Self {
        Self {
            model,
            optim_encoder: cfg.optimizer().init(),
            optim_head: cfg.optimizer().init(),
            lr_encoder: cfg.lr_encoder,
            lr_head: cfg.lr_head,
            layer_decay: cfg.layer_decay,
            auto,
            plain,
        }
    }

    pub fn model(&self) -> &Enrelg {
        &self.model
    }
}

impl TrainStep for FineTuned {
    type Prepared = PaddedBatch;

    fn prepare(data: &SplitData, idx: &[usize]) -> Self::Prepared {
        pad_for(&idx.iter().map(|&i| &data.records[i]).collect::<Vec<_>>(), data.scope)
    }

    fn step(
        mut self,
        batch: Self::Prepared,
        lr_factor: f64,
        lap: &mut dyn FnMut(Phase),
    ) -> anyhow::Result<(Self, f64)> {
        let batch = batch.into_device(&self.auto);
        lap(Phase::ToDevice);
        let loss = self.model.loss(&batch);
        let value = loss.clone().into_scalar::<f64>();
        lap(Phase::Forward);
        let mut grads = loss.backward();
        let g_encoder = encoder_grads(&mut grads, &self.model.encoder, self.layer_decay);
        let g_head = GradientsParams::from_module(&mut grads, &self.model.head);
        lap(Phase::Backward);
        let lr = self.lr_encoder * lr_factor;
        self.model.encoder = step_encoder(
            &mut self.optim_encoder,
            lr,
            self.layer_decay,
            self.model.encoder,
            g_encoder,
        );
        self.model.head = self.optim_head.step(self.lr_head * lr_factor, self.model.head, g_head);
        lap(Phase::Optimizer);
        Ok((self, value))
    }

    fn dev_predictions(&self, dev: &SplitData) -> anyhow::Result<Vec<Vec<usize>>> {
        let valid = self.model.valid();
        let host = HostEncoder::for_inference(&valid.encoder, Precision::F32, &self.plain);
        Ok(viterbi_all(
            &full_emissions(&valid, host.as_ref(), &dev.records, dev.scope, &self.plain)?,
            &valid.head.crf.potentials()?,
        ))
    }

    fn save_best(&self, run: &RunDir, name: &str) -> anyhow::Result<()> {
        run.save_module(self.model.valid(), name)
    }

    fn save_last(&self, dir: &Path) -> anyhow::Result<()> {
        let err = || format!("saving {}", dir.display());
        self.model.clone().save_file(dir.join(LAST_MODULE)).map_err(record_err(err()))?;
        self.optim_encoder.save(dir.join(LAST_OPTIM_ENCODER)).map_err(record_err(err()))?;
        self.optim_head.save(dir.join(LAST_OPTIM_HEAD)).map_err(record_err(err()))
    }

    fn load_last(mut self, dir: &Path) -> anyhow::Result<Self> {
        let err = || format!("loading the last checkpoint {}", dir.display());
        self.model = self.model.try_load_file(dir.join(LAST_MODULE)).map_err(record_err(err()))?;
        self.optim_encoder =
            self.optim_encoder.load(dir.join(LAST_OPTIM_ENCODER)).map_err(record_err(err()))?;
        self.optim_head =
            self.optim_head.load(dir.join(LAST_OPTIM_HEAD)).map_err(record_err(err()))?;
        Ok(self)
    }
}

/// The encoder's gradients by rate: with one rate (`decay` 1) all of them
/// at once; else each layer's, bottom first, then the rest (the embeddings).
fn encoder_grads(grads: &mut Gradients, encoder: &BertEncoder, decay: f64) -> Vec<GradientsParams> {
    if decay == 1.0 {
        return vec![GradientsParams::from_module(grads, encoder)];
    }
    let mut out: Vec<GradientsParams> =
        encoder.layers.iter().map(|l| GradientsParams::from_module(grads, l)).collect();
    // The layers' gradients are taken: what the encoder has left is the embeddings'.
    out.push(GradientsParams::from_module(grads, encoder));
    out
}

/// One AdamW step of the encoder from [`encoder_grads`]: layer i of L at
/// `lr * decay^(L - 1 - i)`, the embeddings at `lr * decay^L`. The optimizer
/// keeps its state per parameter, so stepping the parts one by one is the
/// same optimizer with a rate per part.
fn step_encoder(
    optim: &mut ModuleOptimizer,
    lr: f64,
    decay: f64,
    mut encoder: BertEncoder,
    mut grads: Vec<GradientsParams>,
) -> BertEncoder {
    let Some(rest) = grads.pop() else {
        return encoder;
    };
    if grads.is_empty() {
        return optim.step(lr, encoder, rest);
    }
    let depth = encoder.layers.len();
    encoder.layers = std::mem::take(&mut encoder.layers)
        .into_iter()
        .zip(grads)
        .enumerate()
        .map(|(i, (layer, g))| optim.step(lr * decay.powi((depth - 1 - i) as i32), layer, g))
        .collect();
    optim.step(lr * decay.powi(depth as i32), encoder, rest)
}
