//! What the stages count, beside the shards: corpus [`stats`] (guarded by
//! `make check-stats`) and the [`compare`]ison of Mars's brat with the EnRel-G
//! release.

pub mod compare;
pub mod stats;
