//! The encoder's subtokens pooled to words: what the head reads as its word vectors.

use burn::tensor::{Int, Tensor};

use super::bert::BertEncoder;
use super::enrelg::{Batch, WordPool};
use super::inference::HostEncoder;

/// First subtoken of each word: `hidden` `[B, T, H]`, `index` `[B, L]` -> `[B, L, H]`.
pub fn pool_first_subtoken(hidden: Tensor<3>, index: Tensor<2, Int>) -> Tensor<3> {
    let [b, l] = index.dims();
    let h = hidden.dims()[2];
    hidden.gather(1, index.unsqueeze_dim::<3>(2).expand([b, l, h]))
}

/// Windows the encoder runs at once. A batch of more is encoded in slices of this many: the
/// windows are independent in the encoder, and on the CPU a larger slice only adds memory traffic
/// (at 64 windows of 128 subtokens one layer's attention scores alone are 50 MB) and costs more
/// per window than two slices of 32 (measured on flex).
pub const ENCODER_WINDOWS: usize = 32;

/// Word embeddings from the encoder: `[B, L, H]` from the last layer, or with
/// `all_layers` every hidden state side by side, `[B, L, K*H]`, for a [`ScalarMix`].
/// Each hidden state is pooled to words before they are put side by side, so the subtoken-level
/// concatenation (`[B, T, K*H]`) never exists. With `host` (inference on flex) the host copy of
/// the encoder runs instead of the module, on the whole batch at once (it packs the windows
/// without padding, so a larger batch costs no attention memory).
pub fn encoder_words(
    encoder: &BertEncoder,
    host: Option<&HostEncoder>,
    batch: &Batch,
    all_layers: bool,
    pool: WordPool,
) -> Tensor<3> {
    let b = batch.input_ids.dims()[0];
    let pooled = |hidden: Vec<Tensor<3>>, rows: std::ops::Range<usize>| {
        let pooled = hidden.into_iter().map(|h| match pool {
            WordPool::First => pool_first_subtoken(h, batch.word_index.clone().slice(rows.clone())),
            WordPool::Mean => batch.word_mean.clone().slice(rows.clone()).matmul(h),
        });
        Tensor::cat(pooled.collect(), 2)
    };
    if let Some(host) = host {
        let mut hidden = host_hidden(host, batch);
        if !all_layers {
            hidden.drain(..hidden.len() - 1);
        }
        return pooled(hidden, 0..b);
    }
    let slices: Vec<Tensor<3>> = (0..b)
        .step_by(ENCODER_WINDOWS)
        .map(|start| {
            let rows = start..(start + ENCODER_WINDOWS).min(b);
            let (ids, mask) = (
                batch.input_ids.clone().slice(rows.clone()),
                batch.attention_mask.clone().slice(rows.clone()),
            );
            let hidden = if all_layers {
                encoder.forward_all(ids, mask)
            } else {
                vec![encoder.forward(ids, mask)]
            };
            pooled(hidden, rows)
        })
        .collect();
    if slices.len() == 1 {
        slices.into_iter().next().unwrap_or_else(|| unreachable!("one slice"))
    } else {
        Tensor::cat(slices, 0)
    }
}

/// Every hidden state of a batch's windows from the host encoder, `[B, T, H]` each. A window's
/// subtokens are the leading positions its attention mask marks.
fn host_hidden(host: &HostEncoder, batch: &Batch) -> Vec<Tensor<3>> {
    let [b, t] = batch.input_ids.dims();
    let ids: Vec<u32> =
        batch.input_ids.clone().into_data().iter::<i64>().map(|v| v as u32).collect();
    let mask: Vec<bool> = batch.attention_mask.clone().into_data().iter::<bool>().collect();
    let lens: Vec<usize> = mask
        .chunks_exact(t.max(1))
        .map(|row| {
            let n = row.iter().take_while(|&&m| m).count();
            assert!(
                row[n..].iter().all(|&m| !m),
                "a window's subtokens are not its leading positions"
            );
            n
        })
        .collect();
    debug_assert_eq!(lens.len(), b);
    host.forward_all_padded(&ids, &lens, t, &batch.input_ids.device())
}
