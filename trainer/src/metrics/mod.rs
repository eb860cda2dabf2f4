//! Scores: conlleval's exact-span P/R/F1 (`conlleval`) and the significance of a difference
//! between two systems (`significance`).

pub mod conlleval;
pub mod significance;
