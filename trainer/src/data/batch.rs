//! Batches: windows padded on the host ([`PaddedBatch`]), planned per epoch
//! ([`plan_batches`]: shuffled, or whole documents together for the document-scope
//! graph) and prefetched by a data thread.

use super::*;

/// A batch padded on the host, not yet on a device: what the data thread builds.
#[derive(Debug, Clone)]
pub struct PaddedBatch {
    /// Windows, subtokens and words of the padded batch.
    pub dims: [usize; 3],
    pub(super) ids: Vec<i64>,
    pub(super) att: Vec<bool>,
    pub(super) index: Vec<i64>,
    /// `[B, L, T]` mean-pooling weights.
    pub(super) mean: Vec<f32>,
    pub(super) wmask: Vec<bool>,
    pub(super) tags: Vec<i64>,
    pub(super) shapes: Vec<i64>,
    pub(super) upos: Vec<i64>,
    pub(super) deprel: Vec<i64>,
    pub(super) word_ids: Vec<i64>,
    /// `[B, L * AFFIXES]` affix ids.
    pub(super) affix_ids: Vec<i64>,
    /// `[B, L, C]` character ids, 0-padded.
    pub(super) chars: Vec<i64>,
    pub(super) max_chars: usize,
    pub(super) coref: Vec<bool>,
    pub(super) dep: Vec<bool>,
    pub(super) lens: Vec<usize>,
    /// Document scope: the coreference graph over the batch's word positions (`src`, `dst`).
    pub(super) coref_nodes: Option<(Vec<i64>, Vec<i64>)>,
}

/// Pad windows into one batch (host memory only).
pub fn pad(records: &[&WindowRecord]) -> PaddedBatch {
    let b = records.len();
    let t = records.iter().map(|r| r.input_ids.len()).max().unwrap_or(1).max(1);
    let l = records.iter().map(|r| r.word_first_subtoken.len()).max().unwrap_or(1).max(1);
    let c = records.iter().flat_map(|r| r.chars.iter().map(Vec::len)).max().unwrap_or(1).max(1);
    let mut p = PaddedBatch {
        dims: [b, t, l],
        ids: vec![0; b * t],
        att: vec![false; b * t],
        index: vec![0; b * l],
        mean: vec![0.0; b * l * t],
        wmask: vec![false; b * l],
        tags: vec![0; b * l],
        shapes: vec![0; b * l],
        upos: vec![0; b * l],
        deprel: vec![0; b * l],
        word_ids: vec![vocab::PAD as i64; b * l],
        affix_ids: vec![vocab::PAD as i64; b * l * AFFIXES],
        chars: vec![0; b * l * c],
        max_chars: c,
        coref: vec![false; b * l * l],
        dep: vec![false; b * l * l],
        lens: Vec::with_capacity(b),
        coref_nodes: None,
    };
    for (r, rec) in records.iter().enumerate() {
        for (k, &id) in rec.input_ids.iter().enumerate() {
            p.ids[r * t + k] = id as i64;
            p.att[r * t + k] = true;
        }
        for (w, (&f, &tag)) in rec.word_first_subtoken.iter().zip(&rec.tags).enumerate() {
            // A word runs to the next word's first subtoken; the last one to
            // the end of the window's own subtokens ([SEP] without context).
            let own_end = rec.input_ids.len() - 1 - rec.right_context as usize;
            let end = rec
                .word_first_subtoken
                .get(w + 1)
                .map_or(own_end, |&e| e as usize)
                .max(f as usize + 1);
            let row = &mut p.mean[(r * l + w) * t..(r * l + w + 1) * t];
            row[f as usize..end].fill(1.0 / (end - f as usize) as f32);
            p.index[r * l + w] = f as i64;
            p.wmask[r * l + w] = true;
            p.tags[r * l + w] = tag as i64;
        }
        for (w, &s) in rec.shapes.iter().enumerate().take(l) {
            p.shapes[r * l + w] = s as i64;
        }
        for (w, (&u, &d)) in rec.upos.iter().zip(&rec.deprel).enumerate().take(l) {
            (p.upos[r * l + w], p.deprel[r * l + w]) = (u as i64, d as i64);
        }
        for (w, &id) in rec.word_ids.iter().enumerate().take(l) {
            p.word_ids[r * l + w] = id as i64;
        }
        let k = AFFIXES;
        for (i, &id) in rec.affix_ids.iter().enumerate().take(l * k) {
            p.affix_ids[r * l * k + i] = id as i64;
        }
        for (w, ids) in rec.chars.iter().enumerate().take(l) {
            for (k, &id) in ids.iter().enumerate() {
                p.chars[(r * l + w) * c + k] = id as i64;
            }
        }
        for (edges, adj) in [(&rec.coref, &mut p.coref), (&rec.dep, &mut p.dep)] {
            for &(s, d) in edges.iter() {
                let (s, d) = (s as usize, d as usize);
                adj[r * l * l + s * l + d] = true;
                adj[r * l * l + d * l + s] = true;
            }
        }
        p.lens.push(rec.word_first_subtoken.len());
    }
    p
}

/// Pad windows into one batch for a head of `scope`: in document scope
/// the batch also carries the coreference graph over all its words, the
/// windows' own edges and the document edges between windows of the batch.
pub fn pad_for(records: &[&WindowRecord], scope: CorefScope) -> PaddedBatch {
    let mut p = pad(records);
    if scope == CorefScope::Document {
        let l = p.dims[2];
        let row: HashMap<u32, usize> =
            records.iter().enumerate().map(|(r, rec)| (rec.window_id, r)).collect();
        // Every position attends to itself (padding included, so no softmax is empty).
        let (mut src, mut dst): (Vec<i64>, Vec<i64>) =
            (0..(records.len() * l) as i64).map(|i| (i, i)).unzip();
        let mut link = |a: usize, b: usize| {
            src.extend([a as i64, b as i64]);
            dst.extend([b as i64, a as i64]);
        };
        for (r, rec) in records.iter().enumerate() {
            for &(s, d) in &rec.coref {
                link(r * l + s as usize, r * l + d as usize);
            }
            for &(w, other, o) in &rec.doc_coref {
                // A far end outside the batch: a document cut into groups ([`plan_batches`] counts them).
                if let Some(&r2) = row.get(&other) {
                    link(r * l + w as usize, r2 * l + o as usize);
                }
            }
        }
        p.coref_nodes = Some((src, dst));
    }
    p
}

impl PaddedBatch {
    /// Write the batch as `.npy` files into `dir` (`PREFIX-NAME.npy`), for
    /// another framework to run on exactly these inputs.
    pub fn export(&self, dir: &Path, prefix: &str) -> anyhow::Result<()> {
        use crate::data::npy::{write, NpyData};
        let [b, t, l] = self.dims;
        let file = |name: &str| dir.join(format!("{prefix}-{name}.npy"));
        write(&file("input_ids"), &[b, t], NpyData::I64(&self.ids))?;
        write(&file("attention_mask"), &[b, t], NpyData::Bool(&self.att))?;
        write(&file("word_mean"), &[b, l, t], NpyData::F32(&self.mean))?;
        write(&file("word_mask"), &[b, l], NpyData::Bool(&self.wmask))?;
        write(&file("tags"), &[b, l], NpyData::I64(&self.tags))?;
        write(&file("shapes"), &[b, l], NpyData::I64(&self.shapes))?;
        write(&file("chars"), &[b, l, self.max_chars], NpyData::I64(&self.chars))?;
        write(&file("coref"), &[b, l, l], NpyData::Bool(&self.coref))?;
        write(&file("dep"), &[b, l, l], NpyData::Bool(&self.dep))?;
        let lens: Vec<i64> = self.lens.iter().map(|&n| n as i64).collect();
        write(&file("lens"), &[b], NpyData::I64(&lens))
    }

    pub fn into_device(self, device: &Device) -> Batch {
        let [b, t, l] = self.dims;
        Batch {
            input_ids: Tensor::<2, Int>::from_data(TensorData::new(self.ids, [b, t]), device),
            attention_mask: Tensor::<2, Bool>::from_data(TensorData::new(self.att, [b, t]), device),
            word_index: Tensor::<2, Int>::from_data(TensorData::new(self.index, [b, l]), device),
            word_mean: Tensor::<3>::from_data(TensorData::new(self.mean, [b, l, t]), device),
            word_mask: Tensor::<2, Bool>::from_data(TensorData::new(self.wmask, [b, l]), device),
            tags: Tensor::<2, Int>::from_data(TensorData::new(self.tags, [b, l]), device),
            shapes: Tensor::<2, Int>::from_data(TensorData::new(self.shapes, [b, l]), device),
            upos: Tensor::<2, Int>::from_data(TensorData::new(self.upos, [b, l]), device),
            deprel: Tensor::<2, Int>::from_data(TensorData::new(self.deprel, [b, l]), device),
            word_ids: Tensor::<2, Int>::from_data(TensorData::new(self.word_ids, [b, l]), device),
            affix_ids: Tensor::<2, Int>::from_data(
                TensorData::new(self.affix_ids, [b, l * AFFIXES]),
                device,
            ),
            chars: Tensor::<3, Int>::from_data(
                TensorData::new(self.chars, [b, l, self.max_chars]),
                device,
            ),
            lens: self.lens,
            coref: Tensor::<3, Bool>::from_data(TensorData::new(self.coref, [b, l, l]), device),
            dep: Tensor::<3, Bool>::from_data(TensorData::new(self.dep, [b, l, l]), device),
            coref_nodes: self.coref_nodes.map(|(src, dst)| NodeEdges::new(src, dst, device)),
        }
    }
}

/// How many leading windows of `records` (a split in shard order, each
/// document's windows together) hold its first `ceil(fraction * documents)`
/// documents: the training subset of a learning curve, nested across fractions.
pub fn first_documents(records: &[WindowRecord], fraction: f64) -> anyhow::Result<usize> {
    anyhow::ensure!(
        fraction > 0.0 && fraction <= 1.0,
        "train_fraction {fraction} is not in (0, 1]"
    );
    let mut docs: Vec<&str> = records.iter().map(|r| r.doc_id.as_str()).collect();
    docs.dedup();
    let wanted = (fraction * docs.len() as f64).ceil() as usize;
    let mut seen = 0;
    for (i, r) in records.iter().enumerate() {
        if i == 0 || r.doc_id != records[i - 1].doc_id {
            if seen == wanted {
                return Ok(i);
            }
            seen += 1;
        }
    }
    Ok(records.len())
}

/// Pad windows into one batch on `device` (window scope).
pub fn make_batch(records: &[&WindowRecord], device: &Device) -> Batch {
    pad(records).into_device(device)
}

/// Which windows go into which batch, as indices into `records`.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    pub batches: Vec<Vec<usize>>,
    /// Document scope: documents longer than a batch, cut into groups of
    /// consecutive windows, and the document edges lost between their groups.
    pub cut_documents: usize,
    pub cut_doc_edges: usize,
}

/// Batches of at most `batch_size` windows. Window scope: consecutive
/// chunks of `records` (shuffled by `shuffle = (seed, epoch)`). Document
/// scope: each document's windows stay together, a document of more than
/// `batch_size` windows is cut into groups of consecutive windows, the
/// groups are shuffled and packed in order into batches.
pub fn plan_batches(
    records: &[WindowRecord],
    scope: CorefScope,
    batch_size: usize,
    shuffle: Option<(u64, usize)>,
) -> BatchPlan {
    let batch_size = batch_size.max(1);
    let order = |n: usize| {
        shuffle.map_or_else(|| (0..n).collect(), |(seed, epoch)| shuffled(n, seed, epoch))
    };
    if scope == CorefScope::Window {
        return BatchPlan {
            batches: order(records.len()).chunks(batch_size).map(<[usize]>::to_vec).collect(),
            cut_documents: 0,
            cut_doc_edges: 0,
        };
    }
    // A shard lists a document's windows consecutively, in order.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let (mut cut_documents, mut group_of) = (0, HashMap::new());
    let mut start = 0;
    while start < records.len() {
        let end = start
            + records[start..].iter().take_while(|r| r.doc_id == records[start].doc_id).count();
        cut_documents += usize::from(end - start > batch_size);
        for chunk in (start..end).collect::<Vec<_>>().chunks(batch_size) {
            chunk.iter().for_each(|&i| {
                group_of.insert(records[i].window_id, groups.len());
            });
            groups.push(chunk.to_vec());
        }
        start = end;
    }
    let cut_doc_edges = records
        .iter()
        .map(|r| {
            r.doc_coref
                .iter()
                .filter(|(_, other, _)| group_of.get(other) != group_of.get(&r.window_id))
                .count()
        })
        .sum();
    let mut batches: Vec<Vec<usize>> = Vec::new();
    for g in order(groups.len()) {
        match batches.last_mut() {
            Some(b) if b.len() + groups[g].len() <= batch_size => b.extend(&groups[g]),
            _ => batches.push(groups[g].clone()),
        }
    }
    BatchPlan { batches, cut_documents, cut_doc_edges }
}

/// Deterministic shuffle ([`crate::rng::SplitMix64`]), so a seed fixes the batch order.
fn shuffled(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = crate::rng::SplitMix64::new(
        seed ^ ((epoch as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    );
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// Run `consume` on each batch while a background thread prepares the next
/// ones with `prepare`, so the model does not wait on batch building.
pub fn prefetched<T: Send>(
    batches: &[Vec<usize>],
    prepare: impl Fn(&[usize]) -> T + Sync,
    mut consume: impl FnMut(&[usize], T) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<T>(2);
        let prepare = &prepare;
        scope.spawn(move || {
            for batch in batches {
                if tx.send(prepare(batch)).is_err() {
                    break; // the consumer stopped early
                }
            }
        });
        for batch in batches {
            let item =
                rx.recv().map_err(|_| anyhow::anyhow!("batch preparation thread stopped"))?;
            consume(batch, item)?;
        }
        Ok(())
    })
}
