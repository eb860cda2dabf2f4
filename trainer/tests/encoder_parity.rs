//! Encoder parity: our Burn BERT on all-MiniLM-L6-v2 against Hugging Face
//! transformers (fixture from `fixtures/encoder_reference.py`), to 1e-4.

use std::path::PathBuf;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use enrelg::model::inference::{HostEncoder, Precision};
use enrelg::model::BertEncoder;

fn model_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("ENRELG_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../models/minilm"));
    if dir.join("model.safetensors").exists() {
        return Some(dir);
    }
    let required = std::env::var("ENRELG_REQUIRE_DATA").is_ok_and(|v| v == "1");
    assert!(!required, "no model at {} (make model)", dir.display());
    eprintln!("skipping: no model at {} (make model)", dir.display());
    None
}

/// The fixture's windows: ids `[B, T]` (padded with 0), attention mask, real lengths.
struct Rows {
    ids: Vec<i64>,
    mask: Vec<bool>,
    lens: Vec<usize>,
    t: usize,
}

fn fixture() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/minilm_reference.json")).expect("fixture is JSON")
}

fn rows(fixture: &serde_json::Value) -> Rows {
    let rows = fixture["rows"].as_array().unwrap();
    let t = rows.iter().map(|r| r["input_ids"].as_array().unwrap().len()).max().unwrap();
    let b = rows.len();
    let mut ids = vec![0i64; b * t];
    let mut mask = vec![false; b * t];
    let mut lens = Vec::with_capacity(b);
    for (i, r) in rows.iter().enumerate() {
        let row = r["input_ids"].as_array().unwrap();
        for (k, id) in row.iter().enumerate() {
            ids[i * t + k] = id.as_i64().unwrap();
            mask[i * t + k] = true;
        }
        lens.push(row.len());
    }
    Rows { ids, mask, lens, t }
}

/// The largest difference between `ours` `[B, T, H]` and the fixture's last hidden states.
fn worst_difference(fixture: &serde_json::Value, ours: &[f32], t: usize, h: usize) -> f32 {
    let mut worst = 0f32;
    for (i, r) in fixture["rows"].as_array().unwrap().iter().enumerate() {
        for (k, vec) in r["last_hidden_state"].as_array().unwrap().iter().enumerate() {
            for (c, v) in vec.as_array().unwrap().iter().enumerate() {
                let diff = (ours[(i * t + k) * h + c] - v.as_f64().unwrap() as f32).abs();
                worst = worst.max(diff);
            }
        }
    }
    worst
}

#[test]
fn minilm_last_hidden_states_match_transformers() {
    let Some(dir) = model_dir() else { return };
    let fixture = fixture();
    let Rows { ids, mask, t, lens } = rows(&fixture);
    let b = lens.len();
    let device = Device::flex();
    let encoder = BertEncoder::from_pretrained(&dir, &device).expect("load MiniLM");
    let hidden = encoder.forward(
        Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device),
        Tensor::<2, Bool>::from_data(TensorData::new(mask, [b, t]), &device),
    );
    let h = hidden.dims()[2];
    let ours: Vec<f32> = hidden.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let worst = worst_difference(&fixture, &ours, t, h);
    eprintln!("max abs difference to transformers: {worst:e}");
    assert!(worst < 1e-4, "max abs difference {worst}");
}

/// The host encoder of inference ([`HostEncoder`]) in f32 matches transformers as the module
/// does; in int8 it stays within a quantization error of it (the last hidden state has unit
/// scale per dimension after its layer norm).
#[test]
fn host_encoder_matches_transformers_and_int8_stays_close() {
    let Some(dir) = model_dir() else { return };
    let fixture = fixture();
    let Rows { ids, t, lens, .. } = rows(&fixture);
    let device = Device::flex();
    let encoder = BertEncoder::from_pretrained(&dir, &device).expect("load MiniLM");
    let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
    let h = encoder.d_model();
    // The last hidden state in the fixture's padded layout.
    let last = |precision: Precision| -> Vec<f32> {
        let host = HostEncoder::new(&encoder, precision);
        let hidden = host.forward_all_padded(&ids, &lens, t, &device).pop().unwrap();
        hidden.into_data().iter::<f32>().collect()
    };
    let worst = worst_difference(&fixture, &last(Precision::F32), t, h);
    eprintln!("host encoder, f32: max abs difference to transformers {worst:e}");
    assert!(worst < 1e-4, "f32: max abs difference {worst}");
    let worst = worst_difference(&fixture, &last(Precision::Int8), t, h);
    eprintln!("host encoder, int8: max abs difference to transformers {worst:e}");
    assert!(worst < 0.5, "int8: max abs difference {worst}");
}
