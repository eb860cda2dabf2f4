//! The host kernels under the fused operations of [`super::fused`]: plain loops over
//! `f32` buffers with their own backward pass, vectorised at run time where it pays.
//! [`attention`] (BERT's multi-head attention), [`gat`] (graph attention over window
//! graphs), [`lstm`] (the BiLSTM recurrence), [`host_matmul`] (strided products and the
//! linear layer) and [`fast_math`] (exp, erf, GELU and softmax).

pub mod attention;
pub mod fast_math;
pub mod gat;
pub mod host_matmul;
pub mod int8;
pub mod lstm;
