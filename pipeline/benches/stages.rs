//! Per-stage throughput of the pipeline on the real Mars corpus (every split),
//! in words per second, one thread, and the scaling of the per-document
//! stages with document length (real documents concatenated 1x to 16x).
//!
//! Run by `make bench` (`cargo bench --workspace --bench stages`); it needs
//! the corpora (`ENRELG_DATA_DIR`, default `datasets/`) and the MiniLM
//! tokenizer (`ENRELG_MODEL_DIR`, default `models/minilm`, from `make model`).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use enrelg_pipeline::align::{align, AlignConfig};
use enrelg_pipeline::graph::{document_graphs, DependencyVariant};
use enrelg_pipeline::read::corpus::{load_document, load_split, splits};
use enrelg_pipeline::read::manifest::Manifest;
use enrelg_pipeline::shard::{build, process, BuildOptions};
use enrelg_pipeline::window::{windows, WindowConfig, WordPieceTokenizer};
use enrelg_pipeline::words::acronym;
use enrelg_pipeline::words::lemma::Lemmatizer;
use enrelg_pipeline::Document;

const CORPUS: &str = "mars";
/// Documents concatenated for the scaling group: the first of train, by id.
const SCALING_DOCUMENTS: usize = 8;
const SCALING_FACTORS: [usize; 5] = [1, 2, 4, 8, 16];

fn repo_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(default))
}

struct Corpus {
    dir: PathBuf,
    manifest: Manifest,
    tokenizer: WordPieceTokenizer,
    /// Every split's documents with their three source files.
    files: Vec<(PathBuf, PathBuf, PathBuf)>,
    documents: Vec<Document>,
    words: u64,
}

fn corpus() -> Corpus {
    let dir = repo_path("ENRELG_DATA_DIR", "datasets").join(CORPUS);
    let model = repo_path("ENRELG_MODEL_DIR", "models/minilm");
    let manifest = Manifest::read(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../datasets")
            .join(CORPUS)
            .join("manifest.json"),
    )
    .expect("the corpus manifest");
    let tokenizer = WordPieceTokenizer::from_model_dir(&model)
        .unwrap_or_else(|e| panic!("{e} (make model puts MiniLM in models/minilm)"));
    let mut files = Vec::new();
    let mut documents = Vec::new();
    for split in splits(&dir).unwrap_or_else(|e| panic!("{e} (set ENRELG_DATA_DIR)")) {
        let loaded = load_split(&dir, &split, true).expect("a readable split");
        for doc in loaded.documents {
            let standoff = dir.join("standoff").join(&split);
            files.push((
                standoff.join(format!("{}.txt", doc.id)),
                standoff.join(format!("{}.ann", doc.id)),
                dir.join("conllu").join(&split).join(format!("{}.conllu", doc.id)),
            ));
            documents.push(doc);
        }
    }
    let words = documents.iter().map(|d| d.tokens.len() as u64).sum();
    Corpus { dir, manifest, tokenizer, files, documents, words }
}

fn options<'a>(c: &'a Corpus) -> BuildOptions<'a> {
    BuildOptions {
        corpus_name: c.manifest.name.clone(),
        labels: c.manifest.label_set().expect("the manifest's labels"),
        align: AlignConfig::default(),
        window: WindowConfig::default(),
        dependency_variant: DependencyVariant::default(),
        tokenizer: &c.tokenizer,
        splits: splits(&c.dir).expect("splits"),
        strict: true,
    }
}

fn stages(cr: &mut Criterion) {
    let c = corpus();
    let opts = options(&c);
    let lemmatizer = Lemmatizer::default();
    let lemmas: Vec<Vec<String>> = c
        .documents
        .iter()
        .map(|d| d.tokens.iter().map(|t| lemmatizer.lemma(t)).collect())
        .collect();
    let acronyms: Vec<_> = c.documents.iter().map(acronym::detect).collect();
    let wins: Vec<_> = c
        .documents
        .iter()
        .map(|d| windows(d, &c.tokenizer, &opts.window).expect("windows").0)
        .collect();

    let mut g = cr.benchmark_group(format!("{CORPUS}/stage"));
    g.throughput(Throughput::Elements(c.words))
        .sample_size(10)
        .measurement_time(Duration::from_secs(4));
    g.bench_function("ingest", |b| {
        b.iter(|| {
            c.files
                .iter()
                .map(|(t, a, p)| load_document(t, a, p).expect("a document").0.tokens.len())
                .sum::<usize>()
        })
    });
    g.bench_function("align", |b| {
        b.iter(|| {
            c.documents
                .iter()
                .map(|d| align(d, &opts.labels, &opts.align).0.labels.len())
                .sum::<usize>()
        })
    });
    g.bench_function("lemmas", |b| {
        b.iter(|| {
            c.documents
                .iter()
                .map(|d| d.tokens.iter().map(|t| lemmatizer.lemma(t).len()).sum::<usize>())
                .sum::<usize>()
        })
    });
    g.bench_function("acronyms", |b| {
        b.iter(|| c.documents.iter().map(|d| acronym::detect(d).len()).sum::<usize>())
    });
    g.bench_function("windows", |b| {
        b.iter(|| {
            c.documents
                .iter()
                .map(|d| windows(d, &c.tokenizer, &opts.window).expect("windows").0.len())
                .sum::<usize>()
        })
    });
    g.bench_function("graphs", |b| {
        b.iter(|| {
            let mut edges = 0;
            for (i, d) in c.documents.iter().enumerate() {
                let (per_window, doc_edges) =
                    document_graphs(d, &wins[i], &lemmas[i], &acronyms[i]);
                edges += per_window.iter().map(Vec::len).sum::<usize>() + doc_edges.len();
            }
            edges
        })
    });
    g.bench_function("all per-document stages", |b| {
        b.iter(|| {
            c.documents
                .iter()
                .map(|d| {
                    process(d.clone(), &opts, &Default::default()).expect("process").windows.len()
                })
                .sum::<usize>()
        })
    });
    let out = std::env::temp_dir().join(format!("enrelg-bench-shards-{}", std::process::id()));
    // The whole `enrelg data`: reading, every stage and the shard files, on every core.
    g.bench_function("build (all stages + shard writing, every core)", |b| {
        b.iter(|| build(&c.dir, &out, &opts, &|_| {}).expect("build").0.tags.len())
    });
    g.finish();
    let _ = std::fs::remove_dir_all(&out);

    let mut g = cr.benchmark_group(format!("{CORPUS}/document-length"));
    g.sample_size(10).measurement_time(Duration::from_secs(4));
    let clocks: [AtomicU64; 3] = Default::default();
    for k in SCALING_FACTORS {
        let docs: Vec<Document> =
            c.documents[..SCALING_DOCUMENTS].iter().map(|d| d.repeated(k)).collect();
        g.throughput(Throughput::Elements(docs.iter().map(|d| d.tokens.len() as u64).sum()));
        g.bench_with_input(
            BenchmarkId::new("all per-document stages", format!("{k}x")),
            &docs,
            |b, docs| {
                b.iter(|| {
                    docs.iter()
                        .map(|d| {
                            process(d.clone(), &opts, &clocks).expect("process").doc_edges.len()
                        })
                        .sum::<usize>()
                })
            },
        );
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
