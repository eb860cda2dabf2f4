//! The encoder's inference on the real all-MiniLM-L6-v2: the module's forward pass (padded
//! windows, Burn tensors) against the host encoder in f32 and int8 (packed windows), and one
//! linear layer of each precision at the encoder's shapes. Windows of realistic lengths (64 to
//! 128 subtokens, mean 96: AnatEM's windows average 96, Mars's 105).
//!
//! `cargo bench -p enrelg --bench encoder` (needs `make model`; `ENRELG_MODEL_DIR` to override).

use std::path::PathBuf;
use std::time::Duration;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use enrelg::model::inference::{HostEncoder, Precision};
use enrelg::model::kernels::host_matmul::affine;
use enrelg::model::kernels::int8::QuantizedLinear;
use enrelg::model::BertEncoder;

/// Windows per pass, as `predict` batches them.
const WINDOWS: usize = 64;

fn model_dir() -> PathBuf {
    std::env::var_os("ENRELG_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/minilm"))
}

/// Window lengths between 64 and 128 (mean 96), subtoken ids spread over the vocabulary.
fn windows() -> (Vec<u32>, Vec<usize>, usize) {
    let t = 128;
    let lens: Vec<usize> = (0..WINDOWS).map(|w| 64 + (w * 37) % 65).collect();
    let ids = (0..WINDOWS * t).map(|i| 1000 + (i as u32 * 7919) % 28000).collect();
    (ids, lens, t)
}

fn encoder(c: &mut Criterion) {
    let device = Device::flex();
    let module = BertEncoder::from_pretrained(&model_dir(), &device).expect("make model");
    let (ids, lens, t) = windows();
    let subtokens: usize = lens.iter().sum();
    let mut group = c.benchmark_group("encoder");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(subtokens as u64));
    let padded_ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
    let mask: Vec<bool> = (0..WINDOWS * t).map(|i| i % t < lens[i / t]).collect();
    group.bench_function("module (padded)", |b| {
        b.iter(|| {
            module.forward_all(
                Tensor::<2, Int>::from_data(
                    TensorData::new(padded_ids.clone(), [WINDOWS, t]),
                    &device,
                ),
                Tensor::<2, Bool>::from_data(TensorData::new(mask.clone(), [WINDOWS, t]), &device),
            )
        })
    });
    let packed: Vec<&[u32]> =
        lens.iter().enumerate().map(|(w, &n)| &ids[w * t..w * t + n]).collect();
    for precision in [Precision::F32, Precision::Int8] {
        let host = HostEncoder::new(&module, precision);
        group.bench_function(BenchmarkId::new("host", precision), |b| {
            b.iter(|| host.forward_all(&packed))
        });
    }
    group.finish();
}

/// One linear layer at the encoder's widest shape (the intermediate, 384 -> 1536) over the rows of
/// a pass.
fn linear(c: &mut Criterion) {
    let (m, k, n) = (WINDOWS * 96, 384, 1536);
    let x: Vec<f32> = (0..m * k).map(|i| ((i as f32) * 0.37).sin()).collect();
    let w: Vec<f32> = (0..k * n).map(|i| ((i as f32) * 0.11).cos() * 0.05).collect();
    let bias = vec![0.1f32; n];
    let quantized = QuantizedLinear::from_inputs_by_outputs(&w, bias.clone(), k, n);
    let mut group = c.benchmark_group("linear 384x1536");
    group.sample_size(20);
    group.throughput(Throughput::Elements((m * k * n) as u64));
    group.bench_function("f32", |b| b.iter(|| affine(&x, &w, &bias, (m, k, n))));
    group.bench_function("int8", |b| b.iter(|| quantized.forward(&x, m)));
    group.finish();
}

criterion_group!(benches, linear, encoder);
criterion_main!(benches);
