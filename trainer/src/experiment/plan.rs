//! What is left to run and an estimate of its time, from the finished cells' costs.

use std::collections::BTreeMap;

use super::runner::{select, Layout};
use super::spec::{Cell, Spec, Status};
use crate::report::summary::epoch_costs;

/// `--dry-run`: each cell, its status and an estimate of the seconds it
/// still needs from the finished cells of its dataset ([`estimate_seconds`]),
/// if any.
pub fn plan(
    layout: &Layout,
    spec: &Spec,
    filter: &[(String, String)],
) -> anyhow::Result<Vec<(Cell, Status, Option<f64>)>> {
    let cells = spec.cells()?;
    let mut per_dataset: BTreeMap<String, Vec<FinishedCost>> = BTreeMap::new();
    for cell in &cells {
        if layout.status(spec, cell) != Status::Finished {
            continue;
        }
        let seconds = epoch_costs(&layout.record_dir(cell))?.seconds;
        per_dataset
            .entry(cell.dataset.clone())
            .or_default()
            .push(FinishedCost { train_fraction: cell.config.train_fraction, seconds });
    }
    Ok(select(cells, filter)?
        .into_iter()
        .map(|cell| {
            let status = layout.status(spec, &cell);
            let left_after = |done| {
                per_dataset.get(&cell.dataset).and_then(|finished| {
                    estimate_seconds(finished, cell.config.train_fraction, done)
                })
            };
            let estimate = match status {
                Status::Finished => Some(0.0),
                Status::Partial(done) => left_after(done),
                Status::NotStarted => left_after(0),
            };
            (cell, status, estimate)
        })
        .collect())
}

/// The epoch seconds of one finished cell and the share of the training
/// documents it trained on.
pub(super) struct FinishedCost {
    pub(super) train_fraction: f64,
    pub(super) seconds: Vec<f64>,
}

/// Seconds a cell training on `train_fraction` of the documents still needs
/// after `done` epochs: mean epochs × mean seconds per epoch of the finished
/// cells with the same fraction, or, where none has finished yet, of all of
/// them with each epoch scaled by the ratio of fractions (an epoch's cost is
/// mostly its training pass, which is linear in the documents; the devel pass
/// is not, so this underestimates small fractions until one has finished).
pub(super) fn estimate_seconds(
    finished: &[FinishedCost],
    train_fraction: f64,
    done: usize,
) -> Option<f64> {
    let same: Vec<&FinishedCost> =
        finished.iter().filter(|c| (c.train_fraction - train_fraction).abs() < 1e-9).collect();
    let basis: Vec<&FinishedCost> = if same.is_empty() { finished.iter().collect() } else { same };
    if basis.is_empty() {
        return None;
    }
    let epochs = basis.iter().map(|c| c.seconds.len() as f64).sum::<f64>() / basis.len() as f64;
    let scaled_seconds: f64 = basis
        .iter()
        .map(|c| c.seconds.iter().sum::<f64>() * train_fraction / c.train_fraction)
        .sum();
    let per_epoch =
        scaled_seconds / basis.iter().map(|c| c.seconds.len()).sum::<usize>().max(1) as f64;
    Some((epochs - done as f64).max(0.0) * per_epoch)
}
