//! Training data from shards: windows with their graphs, and padded batches.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use enrelg_pipeline::graph::EdgeKind;
use enrelg_pipeline::shard::read_table;
use polars::prelude::*;

use crate::model::Batch;

/// One window as the model sees it.
#[derive(Debug, Clone)]
pub struct WindowRecord {
    pub window_id: u32,
    pub doc_id: String,
    pub word_start: u32,
    pub input_ids: Vec<u32>,
    pub word_first_subtoken: Vec<u32>,
    pub tags: Vec<u32>,
    /// Word shape class of each word (`enrelg_pipeline::shape`).
    pub shapes: Vec<u32>,
    /// Undirected edges between word positions, `src < dst`.
    pub coref: Vec<(u32, u32)>,
    pub dep: Vec<(u32, u32)>,
}

fn u32_list(df: &DataFrame, name: &str, row: usize) -> anyhow::Result<Vec<u32>> {
    let s = df.column(name)?.list()?.get_as_series(row).with_context(|| format!("{name}: row {row} is null"))?;
    Ok(s.u32()?.into_no_null_iter().collect())
}

/// Load a split's windows, keeping the dependency edges of `dep_kinds`.
pub fn load_split(shards: &Path, split: &str, dep_kinds: &[EdgeKind]) -> anyhow::Result<Vec<WindowRecord>> {
    let windows = read_table(shards, split, "windows")?;
    let edges = read_table(shards, split, "edges")?;
    let ids: Vec<u32> = windows.column("window_id")?.u32()?.into_no_null_iter().collect();
    let docs: Vec<String> = windows.column("doc_id")?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    let starts: Vec<u32> = windows.column("word_start")?.u32()?.into_no_null_iter().collect();
    let mut records = Vec::with_capacity(ids.len());
    let mut row_of = HashMap::new();
    for (row, &id) in ids.iter().enumerate() {
        row_of.insert(id, row);
        records.push(WindowRecord {
            window_id: id,
            doc_id: docs[row].clone(),
            word_start: starts[row],
            input_ids: u32_list(&windows, "input_ids", row)?,
            word_first_subtoken: u32_list(&windows, "word_first_subtoken", row)?,
            tags: u32_list(&windows, "labels", row)?,
            shapes: u32_list(&windows, "word_shapes", row)?,
            coref: Vec::new(),
            dep: Vec::new(),
        });
    }
    let win: Vec<u32> = edges.column("window_id")?.u32()?.into_no_null_iter().collect();
    let kinds: Vec<String> = edges.column("kind")?.str()?.iter().map(|s| s.unwrap_or("").to_string()).collect();
    let src: Vec<u32> = edges.column("src")?.u32()?.into_no_null_iter().collect();
    let dst: Vec<u32> = edges.column("dst")?.u32()?.into_no_null_iter().collect();
    let dep_names: Vec<&str> = dep_kinds.iter().map(|k| k.name()).collect();
    for i in 0..win.len() {
        let row = *row_of.get(&win[i]).with_context(|| format!("edge {i} names unknown window {}", win[i]))?;
        let kind = kinds[i].as_str();
        if matches!(kind, "exact" | "lemma" | "acronym") {
            records[row].coref.push((src[i], dst[i]));
        } else if dep_names.contains(&kind) {
            records[row].dep.push((src[i], dst[i]));
        }
    }
    Ok(records)
}

/// Pad windows into one batch on `device`.
pub fn make_batch(records: &[&WindowRecord], device: &Device) -> Batch {
    let b = records.len();
    let t = records.iter().map(|r| r.input_ids.len()).max().unwrap_or(1).max(1);
    let l = records.iter().map(|r| r.word_first_subtoken.len()).max().unwrap_or(1).max(1);
    let mut ids = vec![0i64; b * t];
    let mut att = vec![false; b * t];
    let mut index = vec![0i64; b * l];
    let mut wmask = vec![false; b * l];
    let mut tags = vec![0i64; b * l];
    let mut shapes = vec![0i64; b * l];
    let mut coref = vec![false; b * l * l];
    let mut dep = vec![false; b * l * l];
    let mut lens = Vec::with_capacity(b);
    for (r, rec) in records.iter().enumerate() {
        for (k, &id) in rec.input_ids.iter().enumerate() {
            ids[r * t + k] = id as i64;
            att[r * t + k] = true;
        }
        for (w, (&f, &tag)) in rec.word_first_subtoken.iter().zip(&rec.tags).enumerate() {
            index[r * l + w] = f as i64;
            wmask[r * l + w] = true;
            tags[r * l + w] = tag as i64;
        }
        for (w, &s) in rec.shapes.iter().enumerate().take(l) {
            shapes[r * l + w] = s as i64;
        }
        for (edges, adj) in [(&rec.coref, &mut coref), (&rec.dep, &mut dep)] {
            for &(s, d) in edges.iter() {
                let (s, d) = (s as usize, d as usize);
                adj[r * l * l + s * l + d] = true;
                adj[r * l * l + d * l + s] = true;
            }
        }
        lens.push(rec.word_first_subtoken.len());
    }
    Batch {
        input_ids: Tensor::<2, Int>::from_data(TensorData::new(ids, [b, t]), device),
        attention_mask: Tensor::<2, Bool>::from_data(TensorData::new(att, [b, t]), device),
        word_index: Tensor::<2, Int>::from_data(TensorData::new(index, [b, l]), device),
        word_mask: Tensor::<2, Bool>::from_data(TensorData::new(wmask, [b, l]), device),
        tags: Tensor::<2, Int>::from_data(TensorData::new(tags, [b, l]), device),
        shapes: Tensor::<2, Int>::from_data(TensorData::new(shapes, [b, l]), device),
        lens,
        coref: Tensor::<3, Bool>::from_data(TensorData::new(coref, [b, l, l]), device),
        dep: Tensor::<3, Bool>::from_data(TensorData::new(dep, [b, l, l]), device),
    }
}
