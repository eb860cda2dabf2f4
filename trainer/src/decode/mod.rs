//! From a model's scores to tag paths: emission scores of every window (`emissions`), the mean
//! of several runs (`ensemble`), and consistency decoding within documents (`consistency`).

pub mod consistency;
pub mod emissions;
pub mod ensemble;
