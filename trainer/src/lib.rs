//! The enrelg trainer: the EnRel-G model in Burn and the data it consumes.

// Library code reports bad input as errors: no unwrap/expect outside tests.
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

// Layers, each using only those above it: model, config, data, run, metrics, decode, then
// train / evaluate / tag / relation, then report, experiment and show (docs/architecture.md).
pub mod device;
pub mod rng;

pub mod model;

pub mod config;

pub mod data;

pub mod run;

pub mod metrics;

pub mod decode;

pub mod evaluate;
pub mod relation;
pub mod tag;
pub mod train;

pub mod report;

pub mod experiment;

pub mod show;
