//! `enrelg bench-model`: time a forward + backward pass of the model on real
//! batches from the shards, and report the peak memory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use super::DeviceArgs;
use clap::Args;
use enrelg::data::{load_split, make_batch};
use enrelg::model::{BertEncoder, Enrelg, EnrelgConfig, Fusion, Variant};
use enrelg_pipeline::graph::DependencyVariant;
use enrelg_pipeline::shard::ShardManifest;

#[derive(Args)]
pub struct BenchArgs {
    /// Shard folder (make data).
    #[arg(long, default_value = "shards/mars")]
    pub shards: PathBuf,
    #[arg(long, default_value = "train")]
    pub split: String,
    /// Hugging Face BERT checkpoint folder.
    #[arg(long, default_value = "models/minilm")]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "cd")]
    pub variant: Variant,
    #[arg(long, value_enum, default_value = "linear")]
    pub fusion: Fusion,
    /// Windows per batch.
    #[arg(long, default_value_t = 32)]
    pub batch: usize,
    /// Timed steps (after one warm-up step).
    #[arg(long, default_value_t = 3)]
    pub steps: usize,
    #[command(flatten)]
    pub device: DeviceArgs,
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    let manifest = ShardManifest::read(&args.shards)?;
    let records = load_split(&args.shards, &args.split, DependencyVariant::default().kinds())?;
    anyhow::ensure!(records.len() >= args.batch, "{} has only {} windows", args.split, records.len());
    let device = args.device.device()?.autodiff();
    let encoder = BertEncoder::from_pretrained(&args.model, &device)?;
    let config = EnrelgConfig::new(manifest.tags.len(), args.variant, encoder.d_model()).with_fusion(args.fusion);
    let model = Enrelg { head: config.init_head(&device), encoder };
    let mut times = Vec::new();
    let mut subtokens = 0usize;
    for step in 0..=args.steps {
        let start = (step * args.batch) % (records.len() - args.batch + 1);
        let refs: Vec<_> = records[start..start + args.batch].iter().collect();
        let batch = make_batch(&refs, &device);
        let t = Instant::now();
        let loss = model.loss(&batch);
        let grads = loss.backward();
        let value: f32 = loss.into_scalar::<f32>();
        drop(grads);
        let secs = t.elapsed().as_secs_f64();
        anyhow::ensure!(value.is_finite(), "loss is not finite: {value}");
        if step > 0 {
            times.push(secs);
            subtokens += refs.iter().map(|r| r.input_ids.len()).sum::<usize>();
        }
        println!("step {step}: loss {value:.3}, {secs:.2} s{}", if step == 0 { " (warm-up)" } else { "" });
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    println!(
        "{} {:?} on {}: forward + backward, batch {} windows: {:.2} s per batch ({:.0} subtokens/s); peak RSS {:.0} MiB",
        args.model.display(),
        args.variant,
        args.device.name,
        args.batch,
        mean,
        subtokens as f64 / times.iter().sum::<f64>().max(1e-9),
        peak_rss_mib().unwrap_or(f64::NAN)
    );
    Ok(ExitCode::SUCCESS)
}
