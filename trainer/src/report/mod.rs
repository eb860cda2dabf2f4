//! Reports of finished runs: mean ± std tables over seeds (`summary`) and figures (`plot`).

pub mod plot;
pub mod summary;
