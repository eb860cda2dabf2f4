//! The enrelg trainer: the EnRel-G model in Burn and the data it consumes.

// Library code reports bad input as errors: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod chunk;
pub mod config;
pub mod consistency;
pub mod data;
pub mod device;
pub mod encoder_cache;
pub mod ensemble;
pub mod eval;
pub mod experiment;
pub mod inference;
pub mod model;
pub mod npy;
pub mod output;
pub mod plot;
pub mod predict;
pub mod rng;
pub mod run;
pub mod show;
pub mod significance;
pub mod summary;
pub mod tag;
pub mod train;
pub mod vocab;
