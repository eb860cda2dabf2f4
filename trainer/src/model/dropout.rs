//! Dropout with its mask drawn in bulk.
//!
//! Burn's [`Dropout::forward`] draws a Bernoulli tensor element by element through the backend's
//! ChaCha sampler, then multiplies twice (by the mask, then by `1 / keep`); on the flex backend
//! the draw alone was about 6 % of a training step. Here the layer's switch and scaling are
//! Burn's, but one 64-bit seed is drawn from the device's generator (so `device.seed(..)` still
//! makes a run repeatable) and the scaled mask `{0, 1 / keep}` is filled on the host by SplitMix64
//! in fixed chunks, in parallel, the same whatever the number of threads.

use burn::nn::Dropout;
use burn::tensor::{Bool, Device, Distribution, Int, Tensor, TensorData};
use rayon::prelude::*;

/// Elements per independently seeded chunk of a mask.
const CHUNK: usize = 1 << 16;

/// `input` with each element kept with probability `1 - prob` and scaled by `1 / (1 - prob)`,
/// when `layer` is training on an autodiff device (as Burn's [`Dropout::forward`]); else `input`.
pub fn dropout<const D: usize>(layer: &Dropout, input: Tensor<D>) -> Tensor<D> {
    let device = input.device();
    if !active(layer, &device) {
        return input;
    }
    let Some(seed) = draw_seed(&device) else {
        // A backend that cannot read two numbers back: Burn's own dropout.
        return layer.forward(input);
    };
    let shape = input.dims();
    let mask = mask(shape.iter().product(), 1.0 - layer.prob, seed);
    input * Tensor::<D>::from_data(TensorData::new(mask, shape), &device)
}

/// The scaled mask [`dropout`] would multiply a tensor of `n` elements on `device` by, on the
/// host, for a kernel that applies it itself: the same draws, so the same mask as [`dropout`]
/// gives a tensor of that size; `None` when `layer` is not active there (or on a backend that
/// cannot read its generator's draws back).
pub fn host_mask(layer: &Dropout, n: usize, device: &Device) -> Option<Vec<f32>> {
    if !active(layer, device) {
        return None;
    }
    draw_seed(device).map(|seed| mask(n, 1.0 - layer.prob, seed))
}

/// Whether `layer` drops anything on `device`: training, on an autodiff device, `prob > 0`.
fn active(layer: &Dropout, device: &Device) -> bool {
    layer.training.is_enabled() && device.is_autodiff() && layer.prob > 0.0
}

/// One 64-bit seed from two of the device generator's uniform draws.
fn draw_seed(device: &Device) -> Option<u64> {
    let draws: Vec<f32> =
        Tensor::<1>::random([2], Distribution::Uniform(0.0, 1.0), &device.clone().inner())
            .into_data()
            .iter::<f32>()
            .collect();
    let [high, low] = draws[..] else {
        return None;
    };
    Some(((high.to_bits() as u64) << 32) | low.to_bits() as u64)
}

/// Word dropout: `ids` `[B, L]` with each id above `unk` (a known word) replaced by `unk` with
/// probability `prob`, when `layer` (the model's dropout, for its training switch) is active on
/// the device; else `ids`. The draw comes from the device's generator like [`dropout`]'s, and only
/// when `prob > 0`, so a model without word dropout draws exactly what it drew before.
pub fn drop_ids(layer: &Dropout, prob: f64, ids: Tensor<2, Int>, unk: u32) -> Tensor<2, Int> {
    let device = ids.device();
    if prob <= 0.0 || !active(layer, &device) {
        return ids;
    }
    let Some(seed) = draw_seed(&device) else {
        return ids;
    };
    let shape = ids.dims();
    let dropped: Vec<bool> =
        mask(shape.iter().product(), 1.0 - prob, seed).into_iter().map(|m| m == 0.0).collect();
    let dropped = Tensor::<2, Bool>::from_data(TensorData::new(dropped, shape), &device)
        .bool_and(ids.clone().greater_elem(unk as i64));
    ids.mask_fill(dropped, unk as i64)
}

/// `values` times a scaled mask from [`host_mask`] (into `scratch`), or `values` themselves without
/// one: the host kernels' dropout on their own buffers.
pub fn masked<'a>(values: &'a [f32], mask: Option<&[f32]>, scratch: &'a mut Vec<f32>) -> &'a [f32] {
    match mask {
        Some(m) => {
            scratch.clear();
            scratch.extend(values.iter().zip(m).map(|(v, m)| v * m));
            scratch
        }
        None => values,
    }
}

/// SplitMix64: a tiny generator with good statistics, enough for dropout masks.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `n` values, each `1 / keep` with probability `keep` and else 0.
fn mask(n: usize, keep: f64, seed: u64) -> Vec<f32> {
    let threshold = (keep * (1u64 << 32) as f64) as u64;
    let scale = (1.0 / keep) as f32;
    let mut out = vec![0.0f32; n];
    out.par_chunks_mut(CHUNK).enumerate().for_each(|(chunk, values)| {
        let mut state = seed ^ (chunk as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        for pair in values.chunks_mut(2) {
            let bits = splitmix(&mut state);
            for (v, half) in pair.iter_mut().zip([bits & 0xFFFF_FFFF, bits >> 32]) {
                *v = if half < threshold { scale } else { 0.0 };
            }
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Module;
    use burn::nn::DropoutConfig;

    #[test]
    fn masks_keep_the_expected_share_scaled_and_repeat_by_seed() {
        let m = mask(300_001, 0.4, 7);
        let kept = m.iter().filter(|v| **v != 0.0).count() as f64 / m.len() as f64;
        assert!((kept - 0.4).abs() < 0.005, "kept {kept}");
        assert!(m.iter().all(|v| *v == 0.0 || (*v - 2.5).abs() < 1e-6));
        assert_eq!(m, mask(300_001, 0.4, 7));
        assert_ne!(m, mask(300_001, 0.4, 8));
        // Chunks are seeded apart: the second chunk does not repeat the first.
        assert_ne!(m[..CHUNK], m[CHUNK..2 * CHUNK]);
    }

    #[test]
    fn word_dropout_replaces_known_words_only_and_only_in_training() {
        let plain = crate::device::test_device();
        let auto = plain.clone().autodiff();
        let layer = DropoutConfig::new(0.5).init();
        let n = 4000;
        let ids: Vec<i64> = (0..n as i64).map(|i| i % 5).collect();
        let ids_on =
            |d: &Device| Tensor::<2, Int>::from_data(TensorData::new(ids.clone(), [4, n / 4]), d);
        let out: Vec<i64> = drop_ids(&layer, 0.25, ids_on(&auto), 1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        let known = ids.iter().filter(|&&i| i > 1).count();
        let replaced = ids.iter().zip(&out).filter(|(a, b)| a != b).count();
        assert!(
            ids.iter().zip(&out).all(|(&a, &b)| b == a || (a > 1 && b == 1)),
            "pad and unk stay"
        );
        let share = replaced as f64 / known as f64;
        assert!((share - 0.25).abs() < 0.03, "replaced {share}");
        let plain_out: Vec<i64> = drop_ids(&layer, 0.25, ids_on(&plain), 1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(plain_out, ids, "not without autodiff (evaluation)");
        let frozen: Vec<i64> = drop_ids(&layer.clone().freeze(), 0.25, ids_on(&auto), 1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(frozen, ids, "not with the layer switched off");
        let off: Vec<i64> = drop_ids(&layer, 0.0, ids_on(&auto), 1)
            .into_data()
            .convert::<i64>()
            .try_to_vec::<i64>()
            .unwrap();
        assert_eq!(off, ids);
    }

    #[test]
    fn dropout_acts_only_when_training_under_autodiff() {
        let layer = DropoutConfig::new(0.5).init();
        let plain = crate::device::test_device();
        let x = Tensor::<2>::ones([64, 64], &plain);
        assert_eq!(
            dropout(&layer, x.clone()).into_data(),
            x.into_data(),
            "no autodiff, no dropout"
        );
        let dev = crate::device::test_device().autodiff();
        // (Repeatability by seed is the mask's, above: the device generator is shared by the
        // tests running beside this one.)
        let a = dropout(&layer, Tensor::<2>::ones([64, 64], &dev))
            .into_data()
            .convert::<f32>()
            .try_into_vec::<f32>()
            .unwrap();
        assert!(a.iter().all(|v| *v == 0.0 || *v == 2.0));
        let kept = a.iter().filter(|v| **v != 0.0).count();
        assert!((1800..2300).contains(&kept), "kept {kept} of 4096");
    }
}
