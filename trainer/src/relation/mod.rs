//! Relations between entities, on top of a trained tagger: the Mars Target Encyclopedia's
//! `Contains` (a target and the elements and minerals it contains) and whatever relation types a
//! corpus's brat `R` and `E` lines hold.
//!
//! The tagger stays as trained, so its entity scores do not move. A pair classifier ([`model`])
//! scores candidate pairs: typed mentions at most one sentence apart whose types some relation
//! type joins in the training split ([`data`]), each a vector of evidence from the text and the
//! graphs, and optionally the tagger's word representations (after the BiLSTM and the two entity
//! relation graphs, [`crate::model::EnrelgHead::features`]). It is trained on the gold entities of
//! the training split, its epoch and decision threshold chosen on the dev split's F1, and scored
//! on a split with gold entities and end to end on the tagger's own (plain Viterbi) entities
//! ([`score`]).

pub mod data;
pub mod model;
pub mod score;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::Context;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;

use crate::decode::emissions::{split_records, viterbi_all, window_rows, HeadOutput};
use crate::rng::SplitMix64;
use crate::run::LoadedRun;
use data::{Candidate, Mention, RelDocument, RelSplit, Triple};
pub use model::PairInput;
use model::{rows_tensor, PairFeatures, RelationHead, RelationHeadConfig};
use score::Prf;

/// The relation head's training settings.
#[derive(Debug, Clone, Serialize)]
pub struct RelationConfig {
    pub input: PairInput,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    pub d_hidden: usize,
    pub dropout: f64,
}

impl Default for RelationConfig {
    fn default() -> Self {
        Self {
            input: PairInput::default(),
            epochs: 30,
            batch_size: 32,
            lr: 1e-3,
            weight_decay: 0.01,
            d_hidden: 256,
            dropout: 0.3,
        }
    }
}

/// The triples of the encyclopedia: `Contains` with an element or mineral component.
pub fn is_composition(t: &Triple) -> bool {
    t.ty == "Contains" && (t.tail.ty == "Element" || t.tail.ty == "Mineral")
}

/// The key of the score over [`is_composition`] triples.
pub const COMPOSITION: &str = "composition";

/// Scores per relation type, over all ([`score::ALL`]) and over the composition ([`COMPOSITION`]).
fn scored(pred: &BTreeSet<Triple>, gold: &BTreeSet<Triple>) -> BTreeMap<String, Prf> {
    let mut out = score::score(pred, gold, |_| true);
    out.insert(COMPOSITION.into(), score::score(pred, gold, is_composition)[score::ALL]);
    out
}

/// A split as the relation head sees it: its documents, gold relations, each document's word
/// representations (`[words, d]` row-major) and the tagger's entities.
pub struct SplitView {
    pub name: String,
    pub split: RelSplit,
    /// Width of a word representation (0 when they were not computed).
    pub d: usize,
    pub words: Vec<Vec<f32>>,
    pub predicted: Vec<Vec<Mention>>,
}

/// Read `split` of the run's shards and run the tagger over it: its Viterbi entities by document
/// and, `with_words`, each document's word representations (none, `d` 0, without: the default
/// pair input does not read them).
pub fn view(
    run: &LoadedRun,
    split: &str,
    cache_dir: &Path,
    device: &Device,
    with_words: bool,
) -> anyhow::Result<SplitView> {
    let rel = data::load(&run.info.shards, split)?;
    let records = split_records(run, split)?;
    let emissions = window_rows(run, &records, split, cache_dir, device, HeadOutput::Emissions)?;
    let paths = viterbi_all(&emissions, &run.model.head.crf.potentials()?);
    let features = if with_words {
        window_rows(run, &records, split, cache_dir, device, HeadOutput::Features)?
    } else {
        vec![Vec::new(); records.len()]
    };
    let index: HashMap<&str, usize> =
        rel.documents.iter().enumerate().map(|(i, d)| (d.id.as_str(), i)).collect();
    let d = records
        .iter()
        .zip(&features)
        .find(|(r, _)| !r.tags.is_empty())
        .map_or(0, |(r, f)| f.len() / r.tags.len());
    let mut words: Vec<Vec<f32>> =
        rel.documents.iter().map(|doc| vec![0.0; doc.sentence_of.len() * d]).collect();
    let mut tags: Vec<Vec<String>> =
        rel.documents.iter().map(|doc| vec!["O".to_string(); doc.sentence_of.len()]).collect();
    for ((r, f), path) in records.iter().zip(&features).zip(&paths) {
        let doc = *index.get(r.doc_id.as_str()).with_context(|| {
            format!("split {split}: window of document {} that has no tokens", r.doc_id)
        })?;
        let start = r.word_start as usize;
        words[doc][start * d..start * d + f.len()].copy_from_slice(f);
        for (i, &tag) in path.iter().enumerate() {
            tags[doc][start + i] = run.info.labels.tag(tag).unwrap_or_else(|| "O".into());
        }
    }
    let predicted = tags
        .iter()
        .map(|t| {
            enrelg_schemas::chunks(t)
                .chunks
                .into_iter()
                .map(|c| Mention { start: c.start, end: c.end, ty: c.ty })
                .collect()
        })
        .collect();
    Ok(SplitView { name: split.to_string(), split: rel, d, words, predicted })
}

/// Candidate pairs of a split, with their vectors and (for gold mentions) their classes.
struct Examples {
    candidates: Vec<Candidate>,
    rows: Vec<Vec<f32>>,
    classes: Vec<u32>,
}

/// What the head learns: which mention pairs are candidates, their vectors, the classes.
pub struct RelationTask {
    pub signatures: BTreeMap<(String, String), BTreeSet<String>>,
    /// Class 0 is "none", then the relation types in order.
    pub classes: Vec<String>,
    pub features: PairFeatures,
}

impl RelationTask {
    /// The task the training split's gold relations define, on `d`-wide word representations.
    pub fn from_train(train: &RelSplit, d: usize, input: PairInput) -> Self {
        let signatures = data::signatures(&train.gold);
        let types: BTreeSet<String> =
            signatures.keys().flat_map(|(h, t)| [h.clone(), t.clone()]).collect();
        let relation_types: BTreeSet<String> = signatures.values().flatten().cloned().collect();
        let classes = std::iter::once("none".to_string()).chain(relation_types).collect();
        Self {
            signatures,
            classes,
            features: PairFeatures { d, types: types.into_iter().collect(), input },
        }
    }

    fn examples(&self, view: &SplitView, mentions: &[Vec<Mention>]) -> Examples {
        let candidates = data::candidates(&view.split.documents, mentions, &self.signatures);
        let gold: HashMap<(&str, &Mention, &Mention), &str> = view
            .split
            .gold
            .iter()
            .map(|t| ((t.doc.as_str(), &t.head, &t.tail), t.ty.as_str()))
            .collect();
        let docs = &view.split.documents;
        let rows = candidates
            .iter()
            .map(|c| self.features.pair(&docs[c.doc], &view.words[c.doc], &mentions[c.doc], c))
            .collect();
        let classes = candidates
            .iter()
            .map(|c| {
                let (h, t) = (&mentions[c.doc][c.head], &mentions[c.doc][c.tail]);
                gold.get(&(docs[c.doc].id.as_str(), h, t))
                    .and_then(|ty| self.classes.iter().position(|c| c == ty))
                    .unwrap_or(0) as u32
            })
            .collect();
        Examples { candidates, rows, classes }
    }

    /// The relations `classes` (one per candidate) assert: a candidate's class if it is a
    /// relation type its mentions' signature allows.
    fn triples(
        &self,
        docs: &[RelDocument],
        mentions: &[Vec<Mention>],
        ex: &Examples,
        classes: &[usize],
    ) -> BTreeSet<Triple> {
        ex.candidates
            .iter()
            .zip(classes)
            .filter(|(_, &k)| k > 0)
            .filter_map(|(c, &k)| {
                let (h, t) = (&mentions[c.doc][c.head], &mentions[c.doc][c.tail]);
                let ty = &self.classes[k];
                let allowed = self.signatures.get(&(h.ty.clone(), t.ty.clone()))?.contains(ty);
                allowed.then(|| Triple {
                    doc: docs[c.doc].id.clone(),
                    head: h.clone(),
                    tail: t.clone(),
                    ty: ty.clone(),
                })
            })
            .collect()
    }
}

/// `triples` as JSON lines: document, type, each argument's words, type and text, and the
/// sentences from the head's to the tail's (what the encyclopedia cites).
pub fn json_lines(docs: &[RelDocument], triples: &BTreeSet<Triple>) -> String {
    let index: HashMap<&str, &RelDocument> = docs.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut out = String::new();
    for t in triples {
        let Some(doc) = index.get(t.doc.as_str()) else { continue };
        let arg = |m: &Mention| serde_json::json!({"start": m.start, "end": m.end, "type": m.ty, "text": doc.span_text(m.start, m.end)});
        let line = serde_json::json!({
            "doc": t.doc,
            "type": t.ty,
            "head": arg(&t.head),
            "tail": arg(&t.tail),
            "sentence": doc.sentences_text(t.head.start, t.tail.start),
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// Each row's most likely relation class (never "none") and its probability, on `device`
/// without autodiff.
fn predict(head: &RelationHead, rows: &[Vec<f32>], device: &Device) -> Vec<(usize, f32)> {
    let mut out = Vec::with_capacity(rows.len());
    for chunk in rows.chunks(4096) {
        let refs: Vec<&[f32]> = chunk.iter().map(Vec::as_slice).collect();
        let probs = softmax(head.forward(rows_tensor(&refs, device)), 1);
        let classes = probs.dims()[1];
        let probs: Vec<f32> = probs.into_data().iter::<f32>().collect();
        out.extend(probs.chunks(classes).map(|p| {
            (1..classes)
                .map(|k| (k, p[k]))
                .fold((0, f32::MIN), |b, x| if x.1 > b.1 { x } else { b })
        }));
    }
    out
}

/// Probabilities at or above which a pair's best relation is asserted: chosen on dev with the
/// epoch, since "none" outnumbers every relation among the candidates and argmax asserts too few.
pub const THRESHOLDS: [f32; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// The class each row asserts at `threshold` (0, "none", below it).
fn decide(scored: &[(usize, f32)], threshold: f32) -> Vec<usize> {
    scored.iter().map(|&(k, p)| if p >= threshold { k } else { 0 }).collect()
}

/// Scores of one trained head.
#[derive(Debug, Clone, Serialize)]
pub struct SeedScores {
    pub seed: u64,
    pub best_epoch: usize,
    /// The decision threshold ([`THRESHOLDS`]) chosen on dev with the epoch.
    pub threshold: f32,
    /// Dev F1 over every relation type, gold entities (what picked the epoch and threshold).
    pub dev_f1: f64,
    /// The evaluation split with gold entities and end to end ([`scored`]).
    pub gold_entities: BTreeMap<String, Prf>,
    pub end_to_end: BTreeMap<String, Prf>,
}

/// A trained head and its scores on `eval`.
pub struct Trained {
    pub head: RelationHead,
    pub scores: SeedScores,
    /// Its relations on `eval`, end to end.
    pub predicted: BTreeSet<Triple>,
}

/// Train the head with `seed` on `train`, pick its epoch on `dev`, score it on `eval`.
pub fn train(
    task: &RelationTask,
    cfg: &RelationConfig,
    [train, dev, eval]: [&SplitView; 3],
    seed: u64,
    device: &Device,
) -> anyhow::Result<Trained> {
    let gold_mentions = |v: &SplitView| -> Vec<Vec<Mention>> {
        v.split.documents.iter().map(|d| d.entities.clone()).collect()
    };
    let (train_m, dev_m, eval_m) = (gold_mentions(train), gold_mentions(dev), gold_mentions(eval));
    let train_ex = task.examples(train, &train_m);
    anyhow::ensure!(!train_ex.rows.is_empty(), "split {}: no candidate pairs", train.name);
    let dev_ex = task.examples(dev, &dev_m);
    device.seed(seed);
    let auto = device.clone().autodiff();
    let mut head = RelationHeadConfig {
        d_input: task.features.width(),
        d_hidden: cfg.d_hidden,
        classes: task.classes.len(),
        dropout: cfg.dropout,
    }
    .init(&auto);
    let mut optim: ModuleOptimizer =
        AdamWConfig::new().with_weight_decay(cfg.weight_decay as f32).init();
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..train_ex.rows.len()).collect();
    let mut best: Option<(f64, usize, f32, RelationHead)> = None;
    for epoch in 1..=cfg.epochs {
        for i in (1..order.len()).rev() {
            order.swap(i, (rng.next_u64() % (i as u64 + 1)) as usize);
        }
        for batch in order.chunks(cfg.batch_size) {
            let rows: Vec<&[f32]> = batch.iter().map(|&i| train_ex.rows[i].as_slice()).collect();
            let y: Vec<i64> = batch.iter().map(|&i| i64::from(train_ex.classes[i])).collect();
            let y = Tensor::<1, Int>::from_data(TensorData::new(y, [batch.len()]), &auto);
            let loss = head.loss(rows_tensor(&rows, &auto), y);
            let grads = GradientsParams::from_grads(loss.backward(), &head);
            head = optim.step(cfg.lr, head, grads);
        }
        let valid = head.valid();
        let scored = predict(&valid, &dev_ex.rows, device);
        for threshold in THRESHOLDS {
            let classes = decide(&scored, threshold);
            let pred = task.triples(&dev.split.documents, &dev_m, &dev_ex, &classes);
            let f1 = score::score(&pred, &dev.split.gold, |_| true)[score::ALL].f1;
            tracing::debug!(epoch, threshold, f1, "relation head dev F1");
            if best.as_ref().is_none_or(|(b, ..)| f1 > *b) {
                best = Some((f1, epoch, threshold, valid.clone()));
            }
        }
    }
    let (dev_f1, best_epoch, threshold, head) = best.context("no epochs")?;
    let classify = |rows: &[Vec<f32>]| decide(&predict(&head, rows, device), threshold);
    let eval_gold = task.examples(eval, &eval_m);
    let gold_pred =
        task.triples(&eval.split.documents, &eval_m, &eval_gold, &classify(&eval_gold.rows));
    let eval_e2e = task.examples(eval, &eval.predicted);
    let predicted =
        task.triples(&eval.split.documents, &eval.predicted, &eval_e2e, &classify(&eval_e2e.rows));
    let gold = &eval.split.gold;
    let scores = SeedScores {
        seed,
        best_epoch,
        threshold,
        dev_f1,
        gold_entities: scored(&gold_pred, gold),
        end_to_end: scored(&predicted, gold),
    };
    Ok(Trained { head, scores, predicted })
}

/// Reference points on `eval` with gold entities, no learning: every candidate pair asserted
/// (the candidates' recall ceiling), and each tail joined to the nearest head-type mention of its
/// sentence. Each asserts the training split's most frequent relation type of the pair's signature.
pub fn baselines(
    task: &RelationTask,
    train: &RelSplit,
    eval: &SplitView,
) -> BTreeMap<String, BTreeMap<String, Prf>> {
    let mut frequent: HashMap<(String, String), BTreeMap<String, usize>> = HashMap::new();
    for t in &train.gold {
        *frequent
            .entry((t.head.ty.clone(), t.tail.ty.clone()))
            .or_default()
            .entry(t.ty.clone())
            .or_default() += 1;
    }
    let mentions: Vec<Vec<Mention>> =
        eval.split.documents.iter().map(|d| d.entities.clone()).collect();
    let ex = task.examples(eval, &mentions);
    let class_of = |c: &Candidate| {
        let (h, t) = (&mentions[c.doc][c.head], &mentions[c.doc][c.tail]);
        frequent
            .get(&(h.ty.clone(), t.ty.clone()))
            .and_then(|m| m.iter().max_by_key(|(ty, n)| (**n, std::cmp::Reverse((*ty).clone()))))
            .and_then(|(ty, _)| task.classes.iter().position(|c| c == ty))
            .unwrap_or(0)
    };
    let every: Vec<usize> = ex.candidates.iter().map(class_of).collect();
    // The nearest head per (document, tail, relation signature's head type).
    let distance = |c: &Candidate| {
        let (h, t) = (&mentions[c.doc][c.head], &mentions[c.doc][c.tail]);
        h.start.abs_diff(t.start)
    };
    let mut nearest: HashMap<(usize, usize, String), (usize, usize)> = HashMap::new();
    for (i, c) in ex.candidates.iter().enumerate() {
        let key = (c.doc, c.tail, mentions[c.doc][c.head].ty.clone());
        let d = distance(c);
        let e = nearest.entry(key).or_insert((d, i));
        if d < e.0 {
            *e = (d, i);
        }
    }
    let chosen: BTreeSet<usize> = nearest.values().map(|&(_, i)| i).collect();
    let near: Vec<usize> =
        every.iter().enumerate().map(|(i, &k)| if chosen.contains(&i) { k } else { 0 }).collect();
    let docs = &eval.split.documents;
    let gold = &eval.split.gold;
    BTreeMap::from([
        ("every_candidate".to_string(), scored(&task.triples(docs, &mentions, &ex, &every), gold)),
        ("nearest_head".to_string(), scored(&task.triples(docs, &mentions, &ex, &near), gold)),
    ])
}
