//! Linear layers over the rows of a batch as one matrix product.

use burn::nn::Linear;
use burn::tensor::Tensor;

use super::fused;

/// `layer` applied to every position of `x` `[B, T, D]`, as one `[B*T, D] x [D, N]` product.
/// Returns `[B, T, N]`.
///
/// Burn's `Linear` on a 3-d input keeps a batched product (`B` products of `T` rows) whenever it
/// judges the folded one less square; on the CPU that leaves `T` rows per product, and when `T`
/// is not a multiple of the kernel's row tile (a document's windows padded to 125 subtokens, a
/// window of 87 words) every product ends in a narrow remainder kernel. One product over all
/// rows is parallel and tiles well; the numbers are the same.
///
/// On flex (with or without autodiff) a layer with a bias is one fused operation
/// ([`fused::linear`]): the product starts from the bias rather than from a zeroed buffer that is
/// then added to.
pub fn forward_rows(layer: &Linear, x: Tensor<3>) -> Tensor<3> {
    let [b, t, d] = x.dims();
    let x = x.reshape([b * t, d]);
    let y = match &layer.bias {
        Some(bias) if fused::supports(&x.device()) => {
            fused::linear(x, layer.weight.val(), bias.val())
        }
        _ => layer.forward(x),
    };
    let n = y.dims()[1];
    y.reshape([b, t, n])
}
