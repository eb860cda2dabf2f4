//! The enrelg trainer: the EnRel-G model in Burn and the data it consumes.

pub mod data;
pub mod device;
pub mod eval;
pub mod model;
pub mod predict;
pub mod summary;
pub mod train;
