//! The one batching rule of `predict`, `tag` and the Python package ([`Batcher`]).

use burn::tensor::Device;
use enrelg_pipeline::shard::DocumentData;

use crate::decode::emissions::INFERENCE_WINDOWS;
use crate::tag::predict::{PredictedEntity, Tagger};

/// Documents waiting to be tagged together ([`Tagger::tag_many`]) until their windows fill a
/// batch of [`INFERENCE_WINDOWS`], each with the caller's `T` (its path, its place in a list).
/// The one batching rule of `predict`, `tag` and the Python package, so that they tag a
/// document in the same batch and give it the same scores.
pub struct Batcher<T> {
    pending: Vec<(DocumentData, T)>,
}

impl<T> Default for Batcher<T> {
    fn default() -> Self {
        Self { pending: Vec::new() }
    }
}

impl<T> Batcher<T> {
    /// Add a prepared document; the documents tagged when the batch filled, with their `T`s.
    pub fn push(
        &mut self,
        tagger: &Tagger,
        doc: DocumentData,
        key: T,
        device: &Device,
    ) -> anyhow::Result<Vec<(Vec<PredictedEntity>, T)>> {
        self.pending.push((doc, key));
        if self.pending.iter().map(|(d, _)| d.windows.len()).sum::<usize>() >= INFERENCE_WINDOWS {
            return self.finish(tagger, device);
        }
        Ok(Vec::new())
    }

    /// Tag what is waiting.
    pub fn finish(
        &mut self,
        tagger: &Tagger,
        device: &Device,
    ) -> anyhow::Result<Vec<(Vec<PredictedEntity>, T)>> {
        if self.pending.is_empty() {
            return Ok(Vec::new());
        }
        let (docs, keys): (Vec<DocumentData>, Vec<T>) =
            std::mem::take(&mut self.pending).into_iter().unzip();
        Ok(tagger.tag_many(docs, device)?.into_iter().zip(keys).collect())
    }
}
