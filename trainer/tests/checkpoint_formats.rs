//! The encoder loads a Hugging Face checkpoint from `model.safetensors` and
//! from `pytorch_model.bin` alike, and both match transformers (fixtures from
//! `fixtures/tiny_bert.py`: a tiny random BERT saved both ways).

use std::path::Path;

use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use enrelg::model::BertEncoder;

#[test]
fn safetensors_and_pytorch_bin_give_the_transformers_outputs() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/tiny_bert_reference.json")).unwrap();
    let rows = |key: &str| -> Vec<Vec<i64>> {
        reference[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect())
            .collect()
    };
    let (ids, mask) = (rows("input_ids"), rows("attention_mask"));
    let (b, t) = (ids.len(), ids[0].len());
    let device = Device::flex();
    let want: Vec<f32> = reference["last_hidden_state"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .flat_map(|v| v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32))
        })
        .collect();
    for folder in ["tiny-bert-safetensors", "tiny-bert-bin"] {
        let encoder = BertEncoder::from_pretrained(&fixtures.join(folder), &device)
            .unwrap_or_else(|e| panic!("{folder}: {e}"));
        let hidden = encoder.forward(
            Tensor::<2, Int>::from_data(TensorData::new(ids.concat(), [b, t]), &device),
            Tensor::<2, Bool>::from_data(
                TensorData::new(
                    mask.concat().iter().map(|&m| m == 1).collect::<Vec<bool>>(),
                    [b, t],
                ),
                &device,
            ),
        );
        let got: Vec<f32> = hidden.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let h = got.len() / (b * t);
        let mut worst = 0f32;
        for (i, row) in mask.iter().enumerate() {
            for (k, &m) in row.iter().enumerate() {
                if m == 1 {
                    for c in 0..h {
                        let at = (i * t + k) * h + c;
                        worst = worst.max((got[at] - want[at]).abs());
                    }
                }
            }
        }
        assert!(worst < 1e-5, "{folder}: max abs difference {worst}");
    }
}

#[test]
fn a_folder_without_weights_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("enrelg-no-weights-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tiny-bert-bin/config.json");
    std::fs::copy(config, dir.join("config.json")).unwrap();
    let err = BertEncoder::from_pretrained(&dir, &Device::flex()).unwrap_err().to_string();
    assert!(err.contains("neither model.safetensors nor pytorch_model.bin"), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
