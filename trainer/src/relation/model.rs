//! The relation head: each candidate pair as one vector built from the tagger's word
//! representations and the document's graphs, scored by a small MLP over the relation types and
//! "none".
//!
//! A pair's vector is `[head; tail; head * tail; between; evidence]`: the mean representation of
//! each mention's words ([`crate::model::EnrelgHead::features`], the BiLSTM states the
//! coreference and dependency graphs enriched), their product, the mean of the words between them
//! (zero when adjacent), and one-hot evidence: the distance in words, which comes first, whether
//! the tail's sentence is the head's, the one before or the one after, the length of the
//! dependency path between them (the `DependencyGraph`'s tree), how many other
//! mentions of either type lie between them (the nearest target is usually the one), and the two
//! mentions' types.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::activation::{log_softmax, relu};
use burn::tensor::{Device, Int, Tensor, TensorData};

use super::data::{Candidate, Mention, RelDocument};

/// Distance in words between the mentions: upper bounds of the buckets, the last open.
const DISTANCE_BUCKETS: [usize; 7] = [0, 1, 2, 4, 7, 15, 31];
/// Dependency path length between the mentions' words: upper bounds, then longer, then none.
const PATH_BUCKETS: [usize; 5] = [1, 2, 3, 5, 8];
/// Dependency paths longer than this are not searched (counted as longer).
const MAX_PATH: usize = 16;

/// Where `x` falls among `bounds` (the last slot for anything larger).
fn bucket(x: usize, bounds: &[usize]) -> usize {
    bounds.iter().position(|&b| x <= b).unwrap_or(bounds.len())
}

/// What a pair's vector holds: both parts (the default), or one of them for an ablation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "snake_case")]
pub enum PairInput {
    /// Word representations and evidence.
    All,
    /// The word representations alone (`[head; tail; head * tail; between]`).
    Words,
    /// The words between the mentions (`between`) and the evidence: what the context says,
    /// without the mentions' own representations.
    Between,
    /// The one-hot evidence alone (distance, order, sentence, dependency path, mentions between,
    /// types): the default, best on Mars dev (69.95 ± 0.88 F1 over five seeds, against 61.72 ±
    /// 1.13 with the word representations too; results/relations/ablation).
    #[default]
    Evidence,
}

/// Builds pair vectors for one run's word representations (`d` per word) and type vocabulary.
pub struct PairFeatures {
    pub d: usize,
    /// Mention types in a fixed order (the one-hot slots).
    pub types: Vec<String>,
    pub input: PairInput,
}

impl PairFeatures {
    /// Length of a pair's vector.
    pub fn width(&self) -> usize {
        let words = 4 * self.d;
        let evidence = (DISTANCE_BUCKETS.len() + 1)
            + 1
            + 3
            + (PATH_BUCKETS.len() + 2)
            + 3
            + 3
            + 2 * self.types.len();
        match self.input {
            PairInput::All => words + evidence,
            PairInput::Words => words,
            PairInput::Between => self.d + evidence,
            PairInput::Evidence => evidence,
        }
    }

    /// The vector of `c` in `doc`, whose words' representations are `words` (`[n, d]`
    /// row-major; read only when [`PairInput`] asks for them).
    pub fn pair(
        &self,
        doc: &RelDocument,
        words: &[f32],
        mentions: &[Mention],
        c: &Candidate,
    ) -> Vec<f32> {
        let (h, t) = (&mentions[c.head], &mentions[c.tail]);
        let (first, second) = if h.start <= t.start { (h, t) } else { (t, h) };
        let gap = (first.end.min(second.start), second.start.max(first.end));
        let mut v = Vec::with_capacity(self.width());
        // Each block at unit length: the representations' scale varies between the training
        // split (which the tagger fitted) and the others, and drowns the one-hot evidence
        // (Mars dev, three seeds: 54.3 F1 raw, 61.7 at unit length; docs/relations.md).
        match self.input {
            PairInput::All | PairInput::Words => {
                let (head, tail) =
                    (self.mean(words, h.start, h.end), self.mean(words, t.start, t.end));
                let product: Vec<f32> = head.iter().zip(&tail).map(|(a, b)| a * b).collect();
                for block in [head, tail, product, self.mean(words, gap.0, gap.1)] {
                    v.extend(unit_length(block));
                }
            }
            PairInput::Between => v.extend(unit_length(self.mean(words, gap.0, gap.1))),
            PairInput::Evidence => {}
        }
        if self.input != PairInput::Words {
            self.evidence(doc, mentions, (h, t), gap, &mut v);
        }
        debug_assert_eq!(v.len(), self.width());
        v
    }

    /// The mean representation of words `start..end` (zeros when empty).
    fn mean(&self, words: &[f32], start: usize, end: usize) -> Vec<f32> {
        let mut out = vec![0.0; self.d];
        if end > start {
            for row in words[start * self.d..end * self.d].chunks_exact(self.d) {
                out.iter_mut().zip(row).for_each(|(o, x)| *o += x);
            }
            let n = (end - start) as f32;
            out.iter_mut().for_each(|o| *o /= n);
        }
        out
    }

    /// The one-hot evidence of head `h` and tail `t` with the words `gap` between them,
    /// appended to `v`.
    fn evidence(
        &self,
        doc: &RelDocument,
        mentions: &[Mention],
        (h, t): (&Mention, &Mention),
        (gap_start, gap_end): (usize, usize),
        v: &mut Vec<f32>,
    ) {
        let distance = bucket(gap_end - gap_start, &DISTANCE_BUCKETS);
        one_hot(v, distance, DISTANCE_BUCKETS.len() + 1);
        v.push(if h.start > t.start { 1.0 } else { 0.0 });
        // The tail's sentence against the head's: before, same, after.
        let (sh, st) = (doc.sentence_of[h.start], doc.sentence_of[t.start]);
        one_hot(v, (st.cmp(&sh) as i8 + 1) as usize, 3);
        let path_slot = match path_length(doc, h, t) {
            Some(p) => bucket(p, &PATH_BUCKETS),
            None => PATH_BUCKETS.len() + 1,
        };
        one_hot(v, path_slot, PATH_BUCKETS.len() + 2);
        let between = |ty: &str| {
            mentions
                .iter()
                .filter(|m| m.ty == ty && m.start >= gap_start && m.end <= gap_end)
                .filter(|m| *m != h && *m != t)
                .count()
        };
        one_hot(v, between(&h.ty).min(2), 3);
        one_hot(v, between(&t.ty).min(2), 3);
        let n = self.types.len();
        let ty = |m: &Mention| self.types.iter().position(|t| *t == m.ty);
        let at = v.len();
        v.resize(at + 2 * n, 0.0);
        if let Some(i) = ty(h) {
            v[at + i] = 1.0;
        }
        if let Some(i) = ty(t) {
            v[at + n + i] = 1.0;
        }
    }
}

/// `block` scaled to unit length (a zero block stays zero).
fn unit_length(mut block: Vec<f32>) -> Vec<f32> {
    let norm = block.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        block.iter_mut().for_each(|x| *x /= norm);
    }
    block
}

/// `slots` zeros with a one at `slot`, appended to `v`.
fn one_hot(v: &mut Vec<f32>, slot: usize, slots: usize) {
    let at = v.len();
    v.resize(at + slots, 0.0);
    v[at + slot] = 1.0;
}

/// Length of the shortest path between a word of `a` and a word of `b` in the document's
/// dependency tree (edges in both directions), up to [`MAX_PATH`]; `None` when longer or apart.
fn path_length(doc: &RelDocument, a: &Mention, b: &Mention) -> Option<usize> {
    let n = doc.head_of.len();
    let mut children: std::collections::HashMap<usize, Vec<usize>> = Default::default();
    // Only the sentence matters: the tree does not cross sentences.
    let sentence = doc.sentence_of[a.start];
    let words: Vec<usize> = (0..n).filter(|&w| doc.sentence_of[w] == sentence).collect();
    for &w in &words {
        if let Some(h) = doc.head_of[w] {
            children.entry(h as usize).or_default().push(w);
        }
    }
    let mut dist = vec![usize::MAX; n];
    let mut queue = std::collections::VecDeque::new();
    dist[a.start..a.end].fill(0);
    queue.extend(a.start..a.end);
    while let Some(w) = queue.pop_front() {
        if (b.start..b.end).contains(&w) {
            return Some(dist[w]);
        }
        if dist[w] >= MAX_PATH {
            continue;
        }
        let up = doc.head_of[w].map(|h| h as usize).filter(|&h| h < n);
        let next = up.into_iter().chain(children.get(&w).into_iter().flatten().copied());
        for x in next {
            if dist[x] == usize::MAX {
                dist[x] = dist[w] + 1;
                queue.push_back(x);
            }
        }
    }
    None
}

/// [`RelationHead`]'s sizes.
#[derive(Debug, Clone, Copy)]
pub struct RelationHeadConfig {
    pub d_input: usize,
    pub d_hidden: usize,
    /// The relation types plus one for "none" (class 0).
    pub classes: usize,
    pub dropout: f64,
}

impl RelationHeadConfig {
    pub fn init(&self, device: &Device) -> RelationHead {
        RelationHead {
            hidden: LinearConfig::new(self.d_input, self.d_hidden).init(device),
            output: LinearConfig::new(self.d_hidden, self.classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// An MLP over pair vectors: `[P, F]` -> class scores `[P, C]`.
#[derive(Module, Debug)]
pub struct RelationHead {
    pub hidden: Linear,
    pub output: Linear,
    pub dropout: Dropout,
}

impl RelationHead {
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let h = relu(self.hidden.forward(self.dropout.forward(x)));
        self.output.forward(self.dropout.forward(h))
    }

    /// Mean negative log-likelihood of the classes `y` `[P]`.
    pub fn loss(&self, x: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
        let n = y.dims()[0];
        let logp = log_softmax(self.forward(x), 1);
        logp.gather(1, y.reshape([n, 1])).mean().neg()
    }
}

/// Pair vectors as one `[P, F]` tensor.
pub fn rows_tensor(rows: &[&[f32]], device: &Device) -> Tensor<2> {
    let f = rows.first().map_or(0, |r| r.len());
    let data: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(data, [rows.len(), f]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(start: usize, end: usize, ty: &str) -> Mention {
        Mention { start, end, ty: ty.into() }
    }

    #[test]
    fn the_dependency_path_runs_through_the_tree_both_ways() {
        // Jake(0) <- contains(1) -> Fe(2) <- and(3); Fe -> Mg(4) conj; sentence 2 apart.
        let doc = RelDocument {
            id: "d".into(),
            sentence_of: vec![0, 0, 0, 0, 0, 1],
            head_of: vec![Some(1), None, Some(1), Some(4), Some(2), None],
            ..Default::default()
        };
        assert_eq!(path_length(&doc, &m(0, 1, "T"), &m(2, 3, "E")), Some(2));
        assert_eq!(path_length(&doc, &m(0, 1, "T"), &m(4, 5, "E")), Some(3));
        assert_eq!(path_length(&doc, &m(4, 5, "E"), &m(0, 1, "T")), Some(3));
        assert_eq!(path_length(&doc, &m(0, 1, "T"), &m(5, 6, "E")), None);
    }

    #[test]
    fn a_pair_vector_holds_both_means_their_product_and_the_evidence() {
        let doc = RelDocument {
            id: "d".into(),
            sentence_of: vec![0; 4],
            head_of: vec![Some(1), None, Some(1), Some(2)],
            ..Default::default()
        };
        // d = 2: word w has representation [w, 1].
        let words: Vec<f32> = (0..4).flat_map(|w| [w as f32, 1.0]).collect();
        let f = PairFeatures {
            d: 2,
            types: vec!["Element".into(), "Target".into()],
            input: PairInput::All,
        };
        let ms = vec![m(0, 1, "Target"), m(2, 4, "Element")];
        let v = f.pair(&doc, &words, &ms, &Candidate { doc: 0, head: 0, tail: 1 });
        assert_eq!(v.len(), f.width());
        // Each block at unit length: [0, 1], [2.5, 1] / |.|, [0, 1], [1, 1] / sqrt 2.
        let n = (2.5f32 * 2.5 + 1.0).sqrt();
        let r = std::f32::consts::FRAC_1_SQRT_2;
        assert_eq!(&v[..8], &[0.0, 1.0, 2.5 / n, 1.0 / n, 0.0, 1.0, r, r]);
        // Distance 1 word: the second distance bucket; head first: order slot 0.
        assert_eq!(&v[8..16], &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(v[16], 0.0);
        // One sentence: the middle slot.
        assert_eq!(&v[17..20], &[0.0, 1.0, 0.0]);
        // Path Jake -> contains -> Fe: 2, the second path bucket.
        assert_eq!(&v[20..27], &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
        // Types: head Target (slot 1), tail Element (slot 0).
        assert_eq!(&v[v.len() - 4..], &[0.0, 1.0, 1.0, 0.0]);
        let c = Candidate { doc: 0, head: 0, tail: 1 };
        let words_only = PairFeatures { input: PairInput::Words, ..f };
        assert_eq!(words_only.pair(&doc, &words, &ms, &c), v[..8]);
        let between = PairFeatures { input: PairInput::Between, ..words_only };
        assert_eq!(between.pair(&doc, &words, &ms, &c), v[6..]);
        let evidence = PairFeatures { input: PairInput::Evidence, ..between };
        assert_eq!(evidence.pair(&doc, &words, &ms, &c), v[8..]);
    }
}
