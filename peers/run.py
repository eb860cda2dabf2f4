"""`make peers`: train each peer on the corpus's train split, choose it on dev, tag test, and
score it the two ways of common.py. One record per system and seed under
results/peers/CORPUS/; a system whose record exists is skipped (rerun with --force)."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Doc, bio_to_spans, write_json_atomic  # noqa: E402

SYSTEMS = ["crf", "spacy", "hf", "enrelg", "enrelg-parsed"]


def log(msg: str) -> None:
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def splits(shards: Path) -> tuple[str, str, str]:
    names = json.loads((shards / "manifest.json").read_text())["splits"]
    dev = next((n for n in ("dev", "devel") if n in names), None)
    if "train" not in names or "test" not in names or dev is None:
        raise SystemExit(f"{shards / 'manifest.json'}: needs train, dev (or devel) and test splits, has {names}")
    return "train", dev, "test"


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # Timings compare only at the same load: a second job on 2 cores halves them.
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "load_average": os.getloadavg()[0]}


def conlleval_f1(docs: list[Doc], tags_by_doc: dict[str, list[str]]) -> float:
    """conlleval F1 of token tags against the project's gold (for choices made on dev)."""
    import tempfile

    spans = {d.id: bio_to_spans(d, tags_by_doc[d.id]) for d in docs}
    with tempfile.TemporaryDirectory() as tmp:
        return common.conlleval_on_tokens(docs, spans, Path(tmp))["conlleval"]["micro"]["f1"]


def read_ann_spans(path: Path) -> list[tuple[str, int, int]]:
    """Entity lines of a brat `.ann` as (type, first start, last end)."""
    out = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("T"):
            continue
        _, body, _ = line.split("\t", 2)
        ty, frags = body.split(" ", 1)
        nums = [tuple(map(int, f.split())) for f in frags.split(";")]
        out.append((ty, min(s for s, _ in nums), max(e for _, e in nums)))
    return out


def enrelg_run(args) -> tuple[list[str], Path]:
    """`make` with the corpus and seed, and the run `make train` writes for them (trained here
    unless it has been evaluated)."""
    make = ["make", "--no-print-directory", f"SEED={args.seed}"]
    make += [f"CORPUS={args.corpus_dir}"] if args.corpus_dir else [f"DATASET={args.dataset}"]
    run = Path(subprocess.run(make + ["-s", "print-run"], check=True, capture_output=True, text=True).stdout.strip())
    if not (run / "eval-test.json").exists():
        log(f"enrelg: make train -> {run}")
        subprocess.run(make + ["train"], check=True)
    # Not timed: an out-of-date binary is rebuilt here, not inside the tagging below.
    subprocess.run(make + ["-s", "build"], check=True)
    return make, run


def test_texts(test: list[Doc], work: Path) -> Path:
    """The raw test texts alone (no .ann beside them), as a user's folder holds them."""
    inputs = work / "input"
    shutil.rmtree(inputs, ignore_errors=True)
    for d in test:
        dst = inputs / f"{d.rel}.txt"
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(d.text, encoding="utf-8")
    return inputs


def run_enrelg(args, test: list[Doc], work: Path, parsed: bool) -> dict:
    """enrelg's default: `make train` and then either `make tag` on the raw test texts (parsed
    by the pinned spaCy, as a user's texts are) or, `parsed`, `enrelg predict` on the corpus's
    own parses of them (the tokens and parse the CRF and the token classifier read)."""
    make, run = enrelg_run(args)
    metrics = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
    train_seconds = sum(m.get("seconds", 0.0) for m in metrics)
    inputs = test_texts(test, work)
    out = work / "tagged"
    shutil.rmtree(out, ignore_errors=True)
    clock = time.time()
    if parsed:
        parses = args.corpus / "conllu" / "test"
        subprocess.run(
            [common.enrelg_bin(), "predict", "--run", str(run), "--input", str(inputs), "--parses", str(parses), "--out", str(out)],
            check=True,
        )
        includes = "enrelg predict: model load, windows, graphs and decoding over the corpus's own parses"
    else:
        subprocess.run(make + ["tag", f"INPUT={inputs}", f"OUT={out}", f"RUN={run}"], check=True)
        includes = "make tag: model load, spaCy parse of the raw texts, windows, graphs, decoding"
    tag_seconds = time.time() - clock
    spans = {d.id: read_ann_spans(out / f"{d.rel}.ann") for d in test}
    info = json.loads((run / "run.json").read_text())
    decoding_file = run / "decoding.json"
    decoding = json.loads(decoding_file.read_text()) if decoding_file.exists() else None
    return {
        "spans": spans,
        "train_seconds": train_seconds,
        "tag_seconds": tag_seconds,
        "tag_includes": includes,
        "chosen": {
            "run": str(run),
            "best_epoch": info.get("best_epoch"),
            "consistency_threshold": decoding["consistency_threshold"] if decoding else None,
        },
        "decoding": decoding,
        "dev_f1": info.get("best_dev_f1"),
        "config": info.get("config"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--dataset", required=True, help="corpus name (records go to results/peers/NAME)")
    ap.add_argument("--corpus", required=True, type=Path, help="folder with standoff/SPLIT gold brat files")
    ap.add_argument("--corpus-dir", default="", help="the user's brat folder of `make train CORPUS=` (enrelg row)")
    ap.add_argument("--shards", required=True, type=Path)
    ap.add_argument("--model", required=True, type=Path)
    ap.add_argument("--systems", default=",".join(SYSTEMS))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--records", type=Path, default=Path("results/peers"))
    ap.add_argument("--work", type=Path, default=Path("runs/peers"))
    ap.add_argument("--force", action="store_true", help="rerun systems whose record exists")
    ap.add_argument("--crf-c1", default="", help="the CRF's c1 grid, comma-separated (default: crf.C1)")
    ap.add_argument("--crf-c2", default="", help="the CRF's c2 grid (default: crf.C2)")
    ap.add_argument("--hf-lrs", default="", help="the token classifier's learning rates (default: hf_tagger.LRS)")
    ap.add_argument("--hf-epochs", type=int, default=0, help="its epochs per rate (default: hf_tagger.EPOCHS)")
    args = ap.parse_args()

    tr_name, dev_name, te_name = splits(args.shards)
    types = common.label_types(args.shards)
    docs = {s: common.load_split(args.shards, args.corpus, s) for s in (tr_name, dev_name, te_name)}
    train, dev, test = docs[tr_name], docs[dev_name], docs[te_name]
    words = common.word_count(test)
    log(f"{args.dataset}: {len(train)}/{len(dev)}/{len(test)} documents, {words} test words, types {types}")
    dev_f1 = lambda tags: conlleval_f1(dev, tags)  # noqa: E731

    for system in args.systems.split(","):
        record_path = args.records / args.dataset / f"{system}-seed{args.seed}.json"
        if record_path.exists() and not args.force:
            log(f"{system}: done ({record_path})")
            continue
        work = args.work / args.dataset / f"{system}-seed{args.seed}"
        work.mkdir(parents=True, exist_ok=True)
        log(f"{system}: training on {tr_name}, choosing on {dev_name}")
        extra: dict = {}
        if system == "crf":
            import crf

            grid = {k: [float(x) for x in v.split(",")] for k, v in (("c1s", args.crf_c1), ("c2s", args.crf_c2)) if v}
            fit = crf.train(train, dev, dev_f1, log, **grid)
            clock = time.time()
            tags = crf.predict(fit["model"], test)
            tag_seconds = time.time() - clock
            spans = {d.id: bio_to_spans(d, tags[d.id]) for d in test}
            extra = {"sweep": fit["sweep"], "library": "sklearn-crfsuite " + _version("sklearn_crfsuite")}
            tag_includes = "feature extraction and Viterbi over the project's tokens"
        elif system == "spacy":
            import spacy_ner

            fit = spacy_ner.train(train, dev, work, args.seed, log)
            spans, tag_seconds = spacy_ner.predict(fit["model"], test)
            fit["dev_f1"] = conlleval_f1(dev, _tags(dev, spacy_ner.predict(fit["model"], dev)[0]))
            fit["chosen"] = {"model": "model-best (spaCy's dev score)"}
            extra = {"corpus": fit["corpus"], "spacy_dev_ents_f": fit["spacy_dev_f1"], "library": "spacy " + _version("spacy")}
            tag_includes = "spaCy's pipeline on the raw texts (its own tokenizer)"
        elif system == "hf":
            import torch

            import hf_tagger

            torch.set_num_threads(int(os.environ.get("PEERS_THREADS", "1")))
            tags_all = json.loads((args.shards / "manifest.json").read_text())["tags"]
            grid = {"lrs": [float(x) for x in args.hf_lrs.split(",")]} if args.hf_lrs else {}
            grid |= {"epochs": args.hf_epochs} if args.hf_epochs else {}
            fit = hf_tagger.train(args.model, train, dev, tags_all, args.seed, dev_f1, log, **grid)
            tags, tag_seconds = hf_tagger.predict(fit["model"], test)
            spans = {d.id: bio_to_spans(d, tags[d.id]) for d in test}
            extra = {"sweep": fit["sweep"], "sweep_seconds": fit["sweep_seconds"], "threads": torch.get_num_threads(),
                     "library": "transformers " + _version("transformers") + ", torch " + torch.__version__}
            tag_includes = "subword encoding and the forward pass over the project's tokens"
        elif system in ("enrelg", "enrelg-parsed"):
            fit = run_enrelg(args, test, work, parsed=system == "enrelg-parsed")
            spans, tag_seconds, tag_includes = fit["spans"], fit["tag_seconds"], fit["tag_includes"]
            extra = {"config": fit["config"], "decoding": fit["decoding"], "library": "enrelg"}
        else:
            raise SystemExit(f"unknown system {system!r}; known: {SYSTEMS}")
        scores = common.score(test, spans, args.corpus, te_name, types, work)
        record = {
            "system": system,
            "dataset": args.dataset,
            "seed": args.seed,
            "chosen_on_dev": fit.get("chosen"),
            "dev_f1_conlleval": fit.get("dev_f1"),
            "train_seconds": round(fit["train_seconds"], 1),
            "tag_seconds": round(tag_seconds, 2),
            "tag_includes": tag_includes,
            "test_words": words,
            "words_per_second": round(words / tag_seconds, 1),
            "machine": machine(),
            "command": " ".join(sys.argv),
            "date": time.strftime("%Y-%m-%d"),
            **scores,
            **extra,
        }
        write_json_atomic(record_path, record)
        log(
            f"{system}: test F1 {scores['brat']['micro']['f1']:.2f} (brat) "
            f"{scores['conlleval']['micro']['f1']:.2f} (conlleval) -> {record_path}"
        )


def _tags(docs: list[Doc], spans: dict) -> dict[str, list[str]]:
    return {d.id: common.spans_to_bio(d, spans[d.id]).tags for d in docs}


def _version(module: str) -> str:
    from importlib.metadata import version

    try:
        return version(module.replace("_", "-"))
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
