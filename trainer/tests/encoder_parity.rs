//! Encoder parity: our Burn BERT on all-MiniLM-L6-v2 against Hugging Face
//! transformers (fixture from `fixtures/encoder_reference.py`), to 1e-4.

use std::path::PathBuf;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
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

#[test]
fn minilm_last_hidden_states_match_transformers() {
    let Some(dir) = model_dir() else { return };
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/minilm_reference.json"))
            .expect("fixture is JSON");
    let rows = fixture["rows"].as_array().unwrap();
    let device = Device::flex();
    let encoder = BertEncoder::from_pretrained(&dir, &device).expect("load MiniLM");
    let t = rows.iter().map(|r| r["input_ids"].as_array().unwrap().len()).max().unwrap();
    let b = rows.len();
    let mut ids = vec![0i64; b * t];
    let mut mask = vec![false; b * t];
    for (i, r) in rows.iter().enumerate() {
        for (k, id) in r["input_ids"].as_array().unwrap().iter().enumerate() {
            ids[i * t + k] = id.as_i64().unwrap();
            mask[i * t + k] = true;
        }
    }
    let hidden = encoder.forward(
        Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), &device),
        Tensor::<2, Bool>::from_data(TensorData::new(mask, [b, t]), &device),
    );
    let h = hidden.dims()[2];
    let ours: Vec<f32> = hidden.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
    let mut worst = 0f32;
    for (i, r) in rows.iter().enumerate() {
        for (k, vec) in r["last_hidden_state"].as_array().unwrap().iter().enumerate() {
            for (c, v) in vec.as_array().unwrap().iter().enumerate() {
                let diff = (ours[(i * t + k) * h + c] - v.as_f64().unwrap() as f32).abs();
                worst = worst.max(diff);
            }
        }
    }
    eprintln!("max abs difference to transformers: {worst:e}");
    assert!(worst < 1e-4, "max abs difference {worst}");
}
