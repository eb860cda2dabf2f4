//! The learning rate over the steps of a run.

/// Linear warm-up then linear decay, as a factor of the base rate.
pub fn schedule(step: usize, total: usize, warmup: f64) -> f64 {
    let warm = ((total as f64) * warmup).ceil().max(1.0);
    let s = step as f64 + 1.0;
    if s <= warm {
        s / warm
    } else {
        ((total as f64 - s) / (total as f64 - warm).max(1.0)).max(0.0)
    }
}
