//! Picking a Burn device by name at run time.
//!
//! `flex` (pure-Rust CPU, the default) is always built; `tch` (libtorch),
//! `cuda` and `vulkan` only with the cargo features of the same names.

use burn::tensor::Device;

pub const AVAILABLE: &[&str] = &[
    "flex",
    #[cfg(feature = "tch")]
    "tch",
    #[cfg(feature = "tch")]
    "tch-cuda",
    #[cfg(feature = "cuda")]
    "cuda",
    #[cfg(feature = "vulkan")]
    "vulkan",
];

pub fn by_name(name: &str) -> anyhow::Result<Device> {
    match name {
        "flex" | "cpu" => Ok(Device::flex()),
        // burn-tch is deprecated upstream; our users asked for it (and libtorch is a fast CPU reference).
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch" => Ok(Device::libtorch()),
        // libtorch's first CUDA GPU: the PyPI wheel carries the CUDA libraries, nothing to download at build time.
        #[cfg(feature = "tch")]
        #[allow(deprecated)]
        "tch-cuda" => Ok(Device::libtorch_cuda(0)),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        // wgpu picks the adapter (a discrete GPU first); pinned to Vulkan so kernels are SPIR-V.
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice)),
        other => anyhow::bail!("device {other:?} is not built in; available: {} (tch, cuda and vulkan need `--features tch|cuda|vulkan`)", AVAILABLE.join(", ")),
    }
}

/// The device the model's unit tests run on: `ENRELG_TEST_DEVICE` (`make test-tch` sets `tch`),
/// else flex.
#[cfg(test)]
pub fn test_device() -> Device {
    let name = std::env::var("ENRELG_TEST_DEVICE").unwrap_or_else(|_| "flex".into());
    by_name(&name).expect("ENRELG_TEST_DEVICE names a device built into this binary")
}

/// How records and pages name a CPU whose model the system does not say.
pub const UNKNOWN_CPU: &str = "unknown CPU";

/// The CPU's model name (Linux), if known.
pub fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("model name"))?;
    Some(line.split(':').nth(1)?.trim().to_string())
}

/// The one-minute load average (Linux), if known: how busy the machine was,
/// for reading seconds per epoch measured beside other work.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// Keep freed tensor buffers in the heap for reuse instead of returning them to the kernel.
///
/// glibc serves an allocation above its mmap threshold (dynamic, 128 KiB at first) with a fresh
/// mapping and unmaps it on free, so every encoder activation (a few MiB to 25 MiB per batch)
/// faults in zeroed pages again: about a third of the encoder's time on flex in a perf profile.
/// Raising the threshold to 32 MiB (glibc's maximum) and the trim threshold to 256 MiB keeps them
/// mapped; the peak resident memory stays what the live tensors need. Call once, at start-up,
/// before other threads allocate. Elsewhere than glibc it does nothing.
pub fn keep_freed_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets allocator parameters; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}
