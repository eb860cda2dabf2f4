//! `enrelg compare`: account for every difference between a brat corpus and
//! the EnRel-G release of the same documents.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use enrelg_pipeline::read::corpus::{load_enrelg_dir, load_split};
use enrelg_pipeline::read::manifest::Manifest;
use enrelg_pipeline::report::compare::{compare, Comparison};

#[derive(Args)]
pub struct CompareArgs {
    /// Standoff corpus folder (standoff/ + conllu/).
    #[arg(long)]
    pub corpus: PathBuf,
    /// EnRel-G release folder with the same documents (*.conll).
    #[arg(long)]
    pub enrelg: PathBuf,
    /// Dataset manifest: label set and split mapping.
    #[arg(long)]
    pub manifest: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: CompareArgs) -> anyhow::Result<ExitCode> {
    let manifest = Manifest::read(&args.manifest)?;
    let labels = manifest.label_set()?;
    let mut rows: Vec<(String, Comparison)> = Vec::new();
    for (enrelg_split, file) in load_enrelg_dir(&args.enrelg)? {
        let split = manifest.split_for_enrelg(&enrelg_split).with_context(|| {
            format!("{}: no split maps to EnRel-G file {enrelg_split}", args.manifest.display())
        })?;
        // Strict: a comparison with documents missing on one side would mislead.
        let docs = load_split(&args.corpus, split, true)?.documents;
        rows.push((split.to_string(), compare(&docs, &file.documents, &labels)));
    }
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .iter()
            .map(|(s, c)| Ok((s.clone(), serde_json::to_value(c)?)))
            .collect::<anyhow::Result<_>>()?;
        println!("{}", serde_json::to_string_pretty(&map)?);
        return Ok(ExitCode::SUCCESS);
    }
    let values: Vec<serde_json::Map<String, serde_json::Value>> = rows
        .iter()
        .map(|(_, c)| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => Default::default(),
        })
        .collect();
    print!("{:<44}", "brat vs EnRel-G");
    for (s, _) in &rows {
        print!(" {s:>8}");
    }
    println!();
    if let Some(first) = values.first() {
        for key in first.keys() {
            print!("{key:<44}");
            for v in &values {
                print!(" {:>8}", v.get(key).map(|x| x.to_string()).unwrap_or_default());
            }
            println!();
        }
    }
    println!("\nbrat minus EnRel-G entities = brat_only - enrelg_only; brat_only splits into the kinds below it,");
    println!(
        "enrelg_only likewise. Nested brat annotations are the usual cause: BIO keeps one layer."
    );
    Ok(ExitCode::SUCCESS)
}
