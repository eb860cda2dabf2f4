//! Linear-chain conditional random field over BIO tags.
//!
//! Scores a tag path `y` for emissions `E` as
//! `start[y0] + sum_t E[t, y_t] + sum_{t>0} T[y_{t-1}, y_t] + end[y_last]`,
//! with the sum over the positions the mask keeps (a prefix of each row).
//! Training minimises `log Z - score(gold)`; decoding is Viterbi.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};

#[derive(Config, Debug)]
pub struct CrfConfig {
    /// Number of tags (O, B-, I- per type).
    pub num_tags: usize,
}

#[derive(Module, Debug)]
pub struct Crf {
    /// `transitions[i, j]`: score of tag `j` following tag `i`. Shape `[N, N]`.
    pub transitions: Param<Tensor<2>>,
    /// Score of starting with each tag. Shape `[N]`.
    pub start: Param<Tensor<1>>,
    /// Score of ending with each tag. Shape `[N]`.
    pub end: Param<Tensor<1>>,
}

impl CrfConfig {
    pub fn init(&self, device: &Device) -> Crf {
        let n = self.num_tags;
        // Small random transitions, as in the common PyTorch CRF layers.
        let dist = burn::tensor::Distribution::Uniform(-0.1, 0.1);
        Crf {
            transitions: Param::from_tensor(Tensor::<2>::random([n, n], dist, device)),
            start: Param::from_tensor(Tensor::<1>::random([n], dist, device)),
            end: Param::from_tensor(Tensor::<1>::random([n], dist, device)),
        }
    }
}

/// Numerically stable log-sum-exp over `dim`, keeping it as size 1.
fn logsumexp<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    let max = x.clone().max_dim(dim).detach();
    (x - max.clone()).exp().sum_dim(dim).log() + max
}

impl Crf {
    pub fn num_tags(&self) -> usize {
        self.start.dims()[0]
    }

    /// Log partition function per sequence.
    ///
    /// `emissions`: `[B, L, N]`; `mask`: `[B, L]`, true on real positions
    /// (a prefix, at least the first). Returns `[B]`.
    pub fn log_partition(&self, emissions: Tensor<3>, mask: Tensor<2, Bool>) -> Tensor<1> {
        let [b, l, n] = emissions.dims();
        let trans = self.transitions.val().unsqueeze_dim::<3>(0); // [1, N, N]
        let mut alpha = self.start.val().unsqueeze_dim::<2>(0)
            + emissions.clone().narrow(1, 0, 1).reshape([b, n]);
        for t in 1..l {
            let emit = emissions.clone().narrow(1, t, 1).reshape([b, 1, n]);
            let next = logsumexp(alpha.clone().unsqueeze_dim::<3>(2) + trans.clone() + emit, 1)
                .reshape([b, n]);
            let keep = mask.clone().narrow(1, t, 1).reshape([b, 1]).expand([b, n]);
            alpha = alpha.mask_where(keep, next);
        }
        logsumexp(alpha + self.end.val().unsqueeze_dim::<2>(0), 1).reshape([b])
    }

    /// Score of the given tag paths. `tags`: `[B, L]`. Returns `[B]`.
    pub fn path_score(
        &self,
        emissions: Tensor<3>,
        tags: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        let [b, l, n] = emissions.dims();
        let maskf = mask.clone().float();
        let emit = emissions.gather(2, tags.clone().unsqueeze_dim::<3>(2)).reshape([b, l]);
        let mut score = (emit * maskf.clone()).sum_dim(1).reshape([b]);
        let first = tags.clone().narrow(1, 0, 1).reshape([b]);
        score = score + self.start.val().select(0, first);
        if l > 1 {
            let prev = tags.clone().narrow(1, 0, l - 1);
            let cur = tags.clone().narrow(1, 1, l - 1);
            let flat = (prev * (n as i64) + cur).reshape([b * (l - 1)]);
            let trans = self.transitions.val().reshape([n * n]).select(0, flat).reshape([b, l - 1]);
            score = score + (trans * maskf.clone().narrow(1, 1, l - 1)).sum_dim(1).reshape([b]);
        }
        // The last real tag of each row: the mask is a prefix, so its length - 1.
        let last_pos = (mask.int().sum_dim(1) - 1).clamp_min(0); // [B, 1]
        let last = tags.gather(1, last_pos).reshape([b]);
        score + self.end.val().select(0, last)
    }

    /// Mean negative log-likelihood of the gold tags over the batch.
    ///
    /// `log Z` comes from [`Self::log_partition_by_marginals`] (a handful of operations); should
    /// the scores not read back, from the composed forward algorithm ([`Self::log_partition`]).
    pub fn nll(
        &self,
        emissions: Tensor<3>,
        tags: Tensor<2, Int>,
        mask: Tensor<2, Bool>,
    ) -> Tensor<1> {
        let z =
            self.log_partition_by_marginals(emissions.clone(), mask.clone()).unwrap_or_else(|e| {
                tracing::warn!("{e}; computing log Z by the composed forward algorithm");
                self.log_partition(emissions.clone(), mask.clone())
            });
        let gold = self.path_score(emissions, tags, mask);
        (z - gold).mean()
    }

    /// Log partition function per sequence `[B]`, with the gradient of [`Self::log_partition`]
    /// but without its `L` log-sum-exp steps under autodiff.
    ///
    /// The gradient of `log Z` with respect to the emissions is the unary marginals, with respect
    /// to the transitions the pairwise marginals summed over positions, and with respect to the
    /// start and end scores the marginals of the first and last tags. One forward-backward pass
    /// on the host ([`CrfPotentials::marginals`]) gives them; `log Z` is then written as the
    /// detached marginals times the scores plus a detached constant, whose value is `log Z` and
    /// whose gradient is exactly those marginals.
    pub fn log_partition_by_marginals(
        &self,
        emissions: Tensor<3>,
        mask: Tensor<2, Bool>,
    ) -> Result<Tensor<1>, ReadbackError> {
        let [b, l, n] = emissions.dims();
        let device = emissions.device();
        let potentials = self.potentials()?;
        let rows = host_rows(emissions.clone(), mask)?;
        let (mut unary, mut pair) = (vec![0f32; b * l * n], vec![0f32; b * n * n]);
        let (mut first, mut last, mut offset) =
            (vec![0f32; b * n], vec![0f32; b * n], vec![0f32; b]);
        for (r, row) in rows.iter().enumerate() {
            let len = row.len() / n;
            if len == 0 {
                return Err(ReadbackError {
                    what: "word mask",
                    message: format!("row {r} has no word"),
                });
            }
            let m = potentials.marginals(row);
            let mut value = 0f64;
            for (k, (&mu, &e)) in m.unary.iter().zip(row).enumerate() {
                unary[r * l * n + k] = mu as f32;
                value += mu * e as f64;
            }
            for (k, &xi) in m.pair.iter().enumerate() {
                pair[r * n * n + k] = xi as f32;
                value += xi * potentials.transitions[k] as f64;
            }
            for j in 0..n {
                let (mu_first, mu_last) = (m.unary[j], m.unary[(len - 1) * n + j]);
                first[r * n + j] = mu_first as f32;
                last[r * n + j] = mu_last as f32;
                value += mu_first * potentials.start[j] as f64 + mu_last * potentials.end[j] as f64;
            }
            offset[r] = (m.log_z - value) as f32;
        }
        let constant = |values: Vec<f32>, shape: Vec<usize>| TensorData::new(values, shape);
        let unary = Tensor::<3>::from_data(constant(unary, vec![b, l, n]), &device);
        let pair = Tensor::<3>::from_data(constant(pair, vec![b, n, n]), &device);
        let first = Tensor::<2>::from_data(constant(first, vec![b, n]), &device);
        let last = Tensor::<2>::from_data(constant(last, vec![b, n]), &device);
        let offset = Tensor::<1>::from_data(constant(offset, vec![b]), &device);
        let per_row = |x: Tensor<3>| x.sum_dim(2).sum_dim(1).reshape([b]);
        Ok(per_row(unary * emissions)
            + per_row(pair * self.transitions.val().unsqueeze_dim::<3>(0))
            + (first * self.start.val().unsqueeze_dim::<2>(0)).sum_dim(1).reshape([b])
            + (last * self.end.val().unsqueeze_dim::<2>(0)).sum_dim(1).reshape([b])
            + offset)
    }

    /// Best tag path of each row (its masked length), by Viterbi on the host.
    #[cfg(test)]
    pub fn viterbi(&self, emissions: Tensor<3>, mask: Tensor<2, Bool>) -> Vec<Vec<usize>> {
        let potentials = self.potentials().unwrap();
        host_rows(emissions, mask).unwrap().iter().map(|e| potentials.viterbi(e)).collect()
    }

    /// The transition, start and end scores, copied to the host.
    pub fn potentials(&self) -> Result<CrfPotentials, ReadbackError> {
        let n = self.num_tags();
        let p = CrfPotentials {
            num_tags: n,
            transitions: to_host(self.transitions.val().into_data(), "CRF transitions")?,
            start: to_host(self.start.val().into_data(), "CRF start scores")?,
            end: to_host(self.end.val().into_data(), "CRF end scores")?,
        };
        if p.transitions.len() != n * n || p.start.len() != n || p.end.len() != n {
            return Err(ReadbackError {
                what: "CRF potentials",
                message: format!(
                    "{n} tags but {}, {} and {} values",
                    p.transitions.len(),
                    p.start.len(),
                    p.end.len()
                ),
            });
        }
        Ok(p)
    }
}

/// A tensor that could not be read back to the host as expected: a device
/// or conversion failure, reported rather than decoded as empty rows.
#[derive(Debug, thiserror::Error)]
#[error("reading {what} back from the device: {message}")]
pub struct ReadbackError {
    what: &'static str,
    message: String,
}

fn to_host<T: burn::tensor::Element>(
    data: TensorData,
    what: &'static str,
) -> Result<Vec<T>, ReadbackError> {
    data.convert::<T>()
        .try_to_vec::<T>()
        .map_err(|e| ReadbackError { what, message: format!("{e:?}") })
}

/// Each row's emissions `[len, N]` (row-major) up to its masked length.
pub fn host_rows(
    emissions: Tensor<3>,
    mask: Tensor<2, Bool>,
) -> Result<Vec<Vec<f32>>, ReadbackError> {
    let [b, l, n] = emissions.dims();
    let emit: Vec<f32> = to_host(emissions.into_data(), "emission scores")?;
    let lens: Vec<i64> = to_host(mask.int().sum_dim(1).into_data(), "word counts")?;
    if emit.len() != b * l * n || lens.len() != b {
        return Err(ReadbackError {
            what: "emission scores",
            message: format!(
                "{} values and {} lengths for a [{b}, {l}, {n}] batch",
                emit.len(),
                lens.len()
            ),
        });
    }
    Ok(lens
        .iter()
        .enumerate()
        .map(|(row, &len)| emit[row * l * n..(row * l + (len.max(0) as usize).min(l)) * n].to_vec())
        .collect())
}

/// A CRF's scores on the host: what Viterbi needs, and what an ensemble
/// averages (the mean of several CRFs' log-potentials is the CRF of their
/// normalised product).
#[derive(Debug, Clone, PartialEq)]
pub struct CrfPotentials {
    pub num_tags: usize,
    /// Row-major `[N, N]`: `transitions[i * N + j]` scores tag `j` after tag `i`.
    pub transitions: Vec<f32>,
    pub start: Vec<f32>,
    pub end: Vec<f32>,
}

impl CrfPotentials {
    /// The element-wise mean of several CRFs over the same tags.
    pub fn mean(all: &[CrfPotentials]) -> Option<CrfPotentials> {
        let first = all.first()?;
        let avg = |f: fn(&CrfPotentials) -> &Vec<f32>| -> Vec<f32> {
            (0..f(first).len())
                .map(|i| all.iter().map(|p| f(p)[i]).sum::<f32>() / all.len() as f32)
                .collect()
        };
        Some(CrfPotentials {
            num_tags: first.num_tags,
            transitions: avg(|p| &p.transitions),
            start: avg(|p| &p.start),
            end: avg(|p| &p.end),
        })
    }

    /// The forward-backward pass over emissions `[len, N]` (row-major, `len >= 1`), in `f64`.
    pub fn marginals(&self, emissions: &[f32]) -> Marginals {
        let n = self.num_tags;
        let len = emissions.len() / n;
        assert!(len >= 1 && emissions.len() == len * n, "emissions are not [len >= 1, {n}]");
        let e = |t: usize, j: usize| emissions[t * n + j] as f64;
        let tr = |i: usize, j: usize| self.transitions[i * n + j] as f64;
        let mut alpha = vec![0f64; len * n];
        for (j, a) in alpha[..n].iter_mut().enumerate() {
            *a = self.start[j] as f64 + e(0, j);
        }
        for t in 1..len {
            for j in 0..n {
                alpha[t * n + j] = e(t, j) + log_sum_exp(n, |i| alpha[(t - 1) * n + i] + tr(i, j));
            }
        }
        let log_z = log_sum_exp(n, |j| alpha[(len - 1) * n + j] + self.end[j] as f64);
        let mut beta = vec![0f64; len * n];
        for j in 0..n {
            beta[(len - 1) * n + j] = self.end[j] as f64;
        }
        for t in (0..len - 1).rev() {
            for i in 0..n {
                beta[t * n + i] =
                    log_sum_exp(n, |j| tr(i, j) + e(t + 1, j) + beta[(t + 1) * n + j]);
            }
        }
        let unary = (0..len * n).map(|k| (alpha[k] + beta[k] - log_z).exp()).collect();
        let mut pair = vec![0f64; n * n];
        for t in 0..len - 1 {
            for i in 0..n {
                for j in 0..n {
                    pair[i * n + j] +=
                        (alpha[t * n + i] + tr(i, j) + e(t + 1, j) + beta[(t + 1) * n + j] - log_z)
                            .exp();
                }
            }
        }
        Marginals { log_z, unary, pair }
    }

    /// Best tag path for emissions `[len, N]` (row-major).
    pub fn viterbi(&self, emissions: &[f32]) -> Vec<usize> {
        let n = self.num_tags;
        let len = emissions.len() / n.max(1);
        if len == 0 {
            return Vec::new();
        }
        let e = |t: usize, j: usize| emissions[t * n + j];
        let mut score: Vec<f32> = (0..n).map(|j| self.start[j] + e(0, j)).collect();
        let mut back = vec![vec![0usize; n]; len];
        for (t, bp) in back.iter_mut().enumerate().skip(1) {
            let next: Vec<f32> = (0..n)
                .map(|j| {
                    let (best_i, best) = (0..n)
                        .map(|i| (i, score[i] + self.transitions[i * n + j]))
                        .fold((0, f32::NEG_INFINITY), |acc, x| if x.1 > acc.1 { x } else { acc });
                    bp[j] = best_i;
                    best + e(t, j)
                })
                .collect();
            score = next;
        }
        let mut tag = (0..n).fold(0, |best, j| {
            if score[j] + self.end[j] > score[best] + self.end[best] {
                j
            } else {
                best
            }
        });
        let mut path = vec![tag; len];
        for t in (1..len).rev() {
            tag = back[t][tag];
            path[t - 1] = tag;
        }
        path
    }
}

/// `log sum_k e^{term(k)}` over `k < n`, stable and without allocating (the forward-backward
/// pass calls it for every position and tag of every training batch).
fn log_sum_exp(n: usize, term: impl Fn(usize) -> f64) -> f64 {
    let max = (0..n).map(&term).fold(f64::NEG_INFINITY, f64::max);
    if max == f64::NEG_INFINITY {
        return max;
    }
    max + (0..n).map(|k| (term(k) - max).exp()).sum::<f64>().ln()
}

/// The result of [`CrfPotentials::marginals`] for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Marginals {
    pub log_z: f64,
    /// `[len, N]`: the probability of each tag at each position.
    pub unary: Vec<f64>,
    /// `[N, N]`: the expected number of `i -> j` transitions in the row.
    pub pair: Vec<f64>,
}

/// Build a `[B, L]` tag tensor from rows (padding with 0).
pub fn tags_tensor(rows: &[Vec<usize>], len: usize, device: &Device) -> Tensor<2, Int> {
    let mut flat = vec![0i64; rows.len() * len];
    for (r, row) in rows.iter().enumerate() {
        for (t, &v) in row.iter().enumerate().take(len) {
            flat[r * len + t] = v as i64;
        }
    }
    Tensor::from_data(TensorData::new(flat, [rows.len(), len]), device)
}

/// Build a `[B, L]` prefix mask from row lengths.
pub fn prefix_mask(lens: &[usize], len: usize, device: &Device) -> Tensor<2, Bool> {
    let flat: Vec<bool> = lens.iter().flat_map(|&n| (0..len).map(move |t| t < n)).collect();
    Tensor::from_data(TensorData::new(flat, [lens.len(), len]), device)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        crate::device::test_device()
    }

    fn emissions(b: usize, l: usize, n: usize, device: &Device) -> Tensor<3> {
        let data: Vec<f32> = (0..b * l * n).map(|i| ((i * 37 % 23) as f32 / 7.0) - 1.5).collect();
        Tensor::from_data(TensorData::new(data, [b, l, n]), device)
    }

    fn crf(n: usize, device: &Device) -> Crf {
        let t: Vec<f32> = (0..n * n).map(|i| ((i * 13 % 11) as f32 / 5.0) - 1.0).collect();
        Crf {
            transitions: Param::from_tensor(Tensor::from_data(TensorData::new(t, [n, n]), device)),
            start: Param::from_tensor(Tensor::from_data(
                TensorData::new((0..n).map(|i| i as f32 * 0.3 - 0.2).collect::<Vec<f32>>(), [n]),
                device,
            )),
            end: Param::from_tensor(Tensor::from_data(
                TensorData::new((0..n).map(|i| 0.5 - i as f32 * 0.25).collect::<Vec<f32>>(), [n]),
                device,
            )),
        }
    }

    /// Every tag path of length `len` over `n` tags.
    fn all_paths(n: usize, len: usize) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for _ in 0..len {
            out = out
                .into_iter()
                .flat_map(|p| (0..n).map(move |j| [p.clone(), vec![j]].concat()))
                .collect();
        }
        out
    }

    fn scalars(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn partition_and_viterbi_match_brute_force_and_ignore_padding() {
        let dev = device();
        let (n, l) = (3, 4);
        let crf = crf(n, &dev);
        let em = emissions(2, l, n, &dev);
        let lens = [4usize, 3];
        let mask = prefix_mask(&lens, l, &dev);
        let z = scalars(crf.log_partition(em.clone(), mask.clone()));
        let best = crf.viterbi(em.clone(), mask.clone());
        for (row, &len) in lens.iter().enumerate() {
            let paths = all_paths(n, len);
            let padded: Vec<Vec<usize>> =
                paths.iter().map(|p| [p.clone(), vec![0; l - len]].concat()).collect();
            let em_row = em.clone().narrow(0, row, 1).repeat_dim(0, padded.len());
            let mask_row = mask.clone().narrow(0, row, 1).repeat_dim(0, padded.len());
            let scores = scalars(crf.path_score(em_row, tags_tensor(&padded, l, &dev), mask_row));
            let max = scores.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let brute = max + scores.iter().map(|s| (s - max).exp()).sum::<f32>().ln();
            assert!((z[row] - brute).abs() < 1e-4, "row {row}: {} vs {brute}", z[row]);
            let argmax =
                scores.iter().enumerate().fold(0, |b, (i, s)| if *s > scores[b] { i } else { b });
            assert_eq!(best[row], paths[argmax], "row {row}");
        }
        // Padding content does not matter.
        let noisy = em.clone()
            + prefix_mask(&[4, 3], l, &dev)
                .bool_not()
                .float()
                .unsqueeze_dim::<3>(2)
                .repeat_dim(2, n)
                * 5.0;
        let z2 = scalars(crf.log_partition(noisy.clone(), mask.clone()));
        assert!((z[1] - z2[1]).abs() < 1e-5);
        assert_eq!(crf.viterbi(noisy, mask)[1], best[1]);
    }

    /// An ensemble's decode: Viterbi over the mean potentials and mean
    /// emissions finds the path with the highest summed score of the members.
    #[test]
    fn viterbi_over_mean_potentials_maximises_the_members_summed_scores() {
        let dev = device();
        let (n, len) = (3, 4);
        let a = crf(n, &dev).potentials().unwrap();
        let b = CrfPotentials {
            transitions: a.transitions.iter().rev().map(|x| x * 1.5).collect(),
            start: a.end.clone(),
            end: a.start.iter().map(|x| -x).collect(),
            ..a.clone()
        };
        assert_eq!(CrfPotentials::mean(std::slice::from_ref(&a)).unwrap(), a);
        assert!(CrfPotentials::mean(&[]).is_none());
        let ea: Vec<f32> = (0..len * n).map(|i| ((i * 37 % 23) as f32 / 7.0) - 1.5).collect();
        let eb: Vec<f32> = (0..len * n).map(|i| ((i * 11 % 17) as f32 / 4.0) - 2.0).collect();
        let score = |p: &CrfPotentials, e: &[f32], path: &[usize]| {
            let mut s = p.start[path[0]] + p.end[path[len - 1]];
            for t in 0..len {
                s += e[t * n + path[t]];
                if t > 0 {
                    s += p.transitions[path[t - 1] * n + path[t]];
                }
            }
            s
        };
        let paths = all_paths(n, len);
        let total = |path: &Vec<usize>| score(&a, &ea, path) + score(&b, &eb, path);
        let brute =
            paths.iter().fold(&paths[0], |best, p| if total(p) > total(best) { p } else { best });
        let mean = CrfPotentials::mean(&[a.clone(), b.clone()]).unwrap();
        let em: Vec<f32> = ea.iter().zip(&eb).map(|(x, y)| (x + y) / 2.0).collect();
        assert_eq!(&mean.viterbi(&em), brute);
        // The members alone decode differently, so the test tells a mean from either.
        assert!(a.viterbi(&ea) != *brute || b.viterbi(&eb) != *brute);
    }

    /// The marginal surrogate against the composed forward algorithm: the same `log Z`, and
    /// under autodiff the same gradients for emissions and every potential, on padded rows.
    #[test]
    fn log_partition_by_marginals_equals_the_forward_algorithm_in_value_and_gradient() {
        let dev = crate::device::test_device().autodiff();
        let (n, l) = (4, 6);
        let base = crf(n, &crate::device::test_device());
        let lens = [6usize, 3, 1];
        let data: Vec<f32> = (0..3 * l * n).map(|i| ((i * 37 % 23) as f32 / 5.0) - 2.0).collect();
        let run = |by_marginals: bool| {
            let c = Crf {
                transitions: Param::from_tensor(
                    Tensor::<2>::from_data(base.transitions.val().into_data(), &dev).require_grad(),
                ),
                start: Param::from_tensor(
                    Tensor::<1>::from_data(base.start.val().into_data(), &dev).require_grad(),
                ),
                end: Param::from_tensor(
                    Tensor::<1>::from_data(base.end.val().into_data(), &dev).require_grad(),
                ),
            };
            let em = Tensor::<3>::from_data(TensorData::new(data.clone(), [3, l, n]), &dev)
                .require_grad();
            let mask = prefix_mask(&lens, l, &dev);
            let z = if by_marginals {
                c.log_partition_by_marginals(em.clone(), mask).unwrap()
            } else {
                c.log_partition(em.clone(), mask)
            };
            // Weigh the rows differently so a row's gradient cannot hide in another's.
            let weights =
                Tensor::<1>::from_data(TensorData::new(vec![1.0f32, -0.5, 2.0], [3]), &dev);
            let grads = (z.clone() * weights).sum().backward();
            let g = |t: Tensor<3>| t.into_data().convert::<f32>().try_into_vec::<f32>().unwrap();
            vec![
                scalars(z),
                g(em.grad(&grads).unwrap()),
                c.transitions
                    .val()
                    .grad(&grads)
                    .unwrap()
                    .into_data()
                    .convert::<f32>()
                    .try_into_vec::<f32>()
                    .unwrap(),
                scalars(c.start.val().grad(&grads).unwrap()),
                scalars(c.end.val().grad(&grads).unwrap()),
            ]
        };
        let (ours, reference) = (run(true), run(false));
        for (part, (a, b)) in ["log Z", "d emissions", "d transitions", "d start", "d end"]
            .iter()
            .zip(ours.iter().zip(&reference))
        {
            assert_eq!(a.len(), b.len(), "{part}");
            for (k, (p, q)) in a.iter().zip(b).enumerate() {
                assert!(
                    (p - q).abs() < 1e-4 * (1.0 + q.abs()),
                    "{part}[{k}]: by marginals {p}, forward algorithm {q}"
                );
            }
        }
        // Padding gets no gradient.
        assert!(ours[1][(l + 3) * n..2 * l * n].iter().all(|g| *g == 0.0));
    }

    #[test]
    fn nll_gradients_match_finite_differences() {
        let dev = crate::device::test_device().autodiff();
        let (n, l) = (3, 4);
        let base = crf(n, &crate::device::test_device());
        let tdata: Vec<f32> =
            base.transitions.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let em = emissions(2, l, n, &dev);
        let mask = prefix_mask(&[4, 2], l, &dev);
        let tags = tags_tensor(&[vec![0, 1, 2, 1], vec![2, 2, 0, 0]], l, &dev);
        let loss_with = |t: &[f32], grad: bool| {
            let mut trans = Tensor::from_data(TensorData::new(t.to_vec(), [n, n]), &dev);
            if grad {
                trans = trans.require_grad();
            }
            let c = Crf {
                transitions: Param::from_tensor(trans.clone()),
                start: Param::from_tensor(base.start.val().to_device(&dev)),
                end: Param::from_tensor(base.end.val().to_device(&dev)),
            };
            (c.nll(em.clone(), tags.clone(), mask.clone()), trans)
        };
        let (loss, trans) = loss_with(&tdata, true);
        let grads = loss.backward();
        let g: Vec<f32> = trans
            .grad(&grads)
            .expect("gradient")
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .unwrap();
        let eps = 1e-2f32;
        for i in 0..n * n {
            let mut plus = tdata.clone();
            plus[i] += eps;
            let mut minus = tdata.clone();
            minus[i] -= eps;
            let fp = scalars(loss_with(&plus, false).0)[0];
            let fm = scalars(loss_with(&minus, false).0)[0];
            let numeric = (fp - fm) / (2.0 * eps);
            assert!(
                (numeric - g[i]).abs() < 2e-3,
                "d/dT[{i}]: analytic {} numeric {numeric}",
                g[i]
            );
        }
    }
}
