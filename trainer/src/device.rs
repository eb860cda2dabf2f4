//! Picking a Burn device by name at run time.
//!
//! `flex` (pure-Rust CPU, the default) is always built; `tch` (libtorch) and
//! `cuda` only with the cargo features of the same names.

use burn::tensor::Device;

pub const AVAILABLE: &[&str] = &[
    "flex",
    #[cfg(feature = "tch")]
    "tch",
    #[cfg(feature = "cuda")]
    "cuda",
];

pub fn by_name(name: &str) -> anyhow::Result<Device> {
    match name {
        "flex" | "cpu" => Ok(Device::flex()),
        // burn-tch is deprecated upstream; our users asked for it (and libtorch is a fast CPU reference).
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => Ok(Device::libtorch()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        other => anyhow::bail!("device {other:?} is not built in; available: {} (tch and cuda need `--features tch|cuda`)", AVAILABLE.join(", ")),
    }
}
