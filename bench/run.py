"""`make bench`: measure the pipeline and the trainer against references run
in the same session on the same inputs, and write docs/performance.md.

Every figure is measured here, now, by the commands listed in the page:
  - `enrelg data` on both corpora (median of --repeats runs): seconds per
    stage and words/s;
  - graph building against `scripts/check_graphs.py`, a straightforward
    Python implementation of the same coreference and dependency rules with
    pairwise loops, timed on the same windows;
  - per-stage throughput with criterion (`cargo bench --bench stages`,
    pipeline/benches/stages.rs), one thread, and the per-document stages
    on real documents concatenated 1x to 16x (the scaling figure);
  - the frozen-encoder training step and inference of the head in Burn
    (`enrelg bench-model --frozen`, make train's inputs) and the fine-tuning
    step of the whole model (`enrelg bench-model`) against
    `bench/torch_reference.py` (PyTorch) on the very same exported batches;
  - `make train DATASET=mars` seconds per epoch, and `enrelg predict` words
    per second on Mars test against a PyTorch loop over the same windows.

Run it on an otherwise idle machine: a training run beside it halves every figure.

    python bench/run.py --enrelg BIN --model models/minilm --data datasets --out docs/performance.md
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile

STAGES = ["ingest", "align+lemmas+acronyms", "windows", "graphs", "write"]


def run(cmd, env=None, **kw):
    """Run `cmd`, its output; `env` adds variables to this process's environment."""
    full_env = {**os.environ, **env} if env else None
    out = subprocess.run(cmd, capture_output=True, text=True, env=full_env, **kw)
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
    return out.stdout


def stage_seconds(text):
    m = re.search(r"stage seconds: ingest ([\d.]+) \(wall\), align\+lemmas\+acronyms ([\d.]+), windows ([\d.]+), graphs ([\d.]+) .*write ([\d.]+) \(wall\); total wall ([\d.]+)", text)
    if not m:
        sys.exit(f"no stage seconds in:\n{text}")
    values = [float(v) for v in m.groups()]
    return dict(zip(STAGES + ["total"], values))


def pipeline(args, tmp):
    rows = {}
    for corpus in ["mars", "anatem"]:
        out = os.path.join(tmp, f"shards-{corpus}")
        runs = []
        for _ in range(args.repeats):
            text = run([args.enrelg, "data", "--corpus", f"{args.data}/{corpus}", "--manifest", f"datasets/{corpus}/manifest.json", "--model", args.model, "--out", out])
            runs.append(stage_seconds(text))
        median = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        manifest = json.load(open(os.path.join(out, "manifest.json")))
        words = sum(s["tokens"] for s in manifest["statistics"].values())
        python = 0.0
        for split in manifest["splits"]:
            text = run([args.python, "scripts/check_graphs.py", out, split])
            # Window graphs and document graphs, as the Rust graph stage builds both.
            python += sum(float(v) for v in re.findall(r"built in ([\d.]+) s", text))
            if " 0 windows differ" not in text or " 0 documents differ" not in text:
                sys.exit(f"check_graphs.py disagrees with the shards:\n{text}")
        rows[corpus] = {"words": words, "median": median, "runs": len(runs), "python_graph_seconds": python}
    return rows


def criterion(args, tmp):
    """Run the criterion benchmarks; {full id: (median seconds, words)}."""
    home = os.path.join(tmp, "criterion")
    env = dict(os.environ, CRITERION_HOME=home, ENRELG_DATA_DIR=os.path.abspath(args.data), ENRELG_MODEL_DIR=os.path.abspath(args.model))
    run([args.cargo, "bench", "--workspace", "--bench", "stages"], env=env)
    out = {}
    for root, _, files in os.walk(home):
        if "benchmark.json" in files and os.path.basename(root) == "new":
            bench = json.load(open(os.path.join(root, "benchmark.json")))
            estimates = json.load(open(os.path.join(root, "estimates.json")))
            words = (bench.get("throughput") or {}).get("Elements")
            out[bench["full_id"]] = {"seconds": estimates["median"]["point_estimate"] / 1e9, "words": words}
    if not out:
        sys.exit(f"no criterion results under {home}")
    return out


def scaling_figure(args, crit, stem):
    """Words/s of the per-document stages against document length, drawn by `enrelg plot --lines`."""
    points = []
    for full_id, r in crit.items():
        m = re.fullmatch(r"mars/document-length/all per-document stages/(\d+)x", full_id)
        if m:
            points.append([int(m.group(1)), r["words"] / r["seconds"] / 1e3, 0.0])
    chart = {"title": "Per-document stages against document length (Mars, 1 thread)", "x_label": "copies of each document", "y_label": "k words/s", "y_from": 0, "series": [{"label": "align + lemmas + acronyms + windows + graphs", "points": sorted(points)}]}
    spec = stem + ".json"
    with open(spec, "w") as f:
        json.dump(chart, f, indent=2)
    run([args.enrelg, "plot", "--lines", spec, "--out", stem])


def tch_env(args):
    """What the libtorch build needs to find libtorch (the torch wheel's lib folder)."""
    return {"LD_LIBRARY_PATH": args.tch_lib} if args.tch_lib else None


def bench_model(binary, args, tmp, variant, export=None, device=None, env=None):
    """One `enrelg bench-model` run: seconds per phase of the training step, the head's on cached
    encoder outputs (`--frozen`) or the whole model's for a `-fine-tune` variant."""
    fine_tune = variant.endswith("-fine-tune")
    steps = args.fine_tune_steps if fine_tune else args.steps
    cmd = [binary, "bench-model", *([] if fine_tune else ["--frozen"]), "--device", device or args.device, "--config", "bench/make-train.toml", "--shards", os.path.join(tmp, "shards-mars"), "--model", args.model, "--steps", str(steps), "--variant", variant.removesuffix("-fine-tune"), "--cache-dir", args.cache_dir]
    if export:
        cmd += ["--export", export]
    text = run(cmd, env=env)
    m = re.search(r"([\d.]+) s per step \(pad ([\d.]+), to device ([\d.]+), forward ([\d.]+), backward ([\d.]+), AdamW ([\d.]+)\); inference ([\d.]+) s per batch; .*peak RSS (\d+) MiB", text)
    return dict(zip(["step", "pad", "to_device", "forward", "backward", "optimizer", "inference", "peak_rss_mib"], [float(v) for v in m.groups()]))


def trainer(args, tmp):
    rows = []
    for variant in ["cd", "baseline", "cd-fine-tune"]:
        batches = os.path.join(tmp, f"batches-{variant}")
        burn = bench_model(args.enrelg, args, tmp, variant, export=batches)
        fine_tune = ["--fine-tune", args.model] if variant.endswith("-fine-tune") else []
        torch = json.loads(run([args.python, "bench/torch_reference.py", batches, "--variant", variant.removesuffix("-fine-tune"), *fine_tune, "--json"]))
        row = {"variant": variant, "burn": burn, "torch": torch}
        if args.before and not variant.endswith("-fine-tune"):
            # The previous build on the same cached batches (same seed, so the same windows).
            row["before"] = bench_model(args.before, args, tmp, variant)
        if args.tch_enrelg:
            # The libtorch build on the same batches (same seed, so the same windows).
            row["tch"] = bench_model(args.tch_enrelg, args, tmp, variant, device="tch", env=tch_env(args))
        rows.append(row)
    return rows


def predict(args, tmp):
    """`make train DATASET=mars` for one epoch (its seconds per epoch), then `enrelg predict` on
    Mars test with that run (words per second, encoder included), for this build and --before."""
    shards, run_dir = os.path.join(tmp, "shards-mars"), os.path.join(tmp, "run-mars")
    common = ["--device", args.device]
    run([args.enrelg, "train", *common, "--data", shards, "--model", args.model, "--config", "bench/make-train.toml", "--variant", "cd", "--seed", "1", "--epochs", "1", "--out", run_dir, "--cache-dir", args.cache_dir])
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        epoch = json.loads(f.readline())
    out = {"make_train": {"mars_seconds_per_epoch": epoch["seconds"], "peak_rss_mib": epoch.get("peak_rss_mib")}, "predict": {}}
    builds = [("this build", args.enrelg, common, [], None), ("this build, int8", args.enrelg, common, ["--quantize", "int8"], None)]
    if args.before:
        builds.append(("before", args.before, common, [], None))
    if args.tch_enrelg:
        builds.append(("this build, tch", args.tch_enrelg, ["--device", "tch"], [], tch_env(args)))
    for name, binary, device, extra, env in builds:
        target = os.path.join(tmp, f"predict-{len(out['predict'])}")
        text = run([binary, "predict", *device, *extra, "--run", run_dir, "--input", os.path.join(args.data, "mars", "standoff", "test"), "--parses", os.path.join(args.data, "mars", "conllu", "test"), "--out", target], env=env)
        m = re.search(r"(\d+) documents, (\d+) words, (\d+) entities in ([\d.]+) s \(([\d.]+) words/s", text)
        docs, words, entities, seconds, _ = m.groups()
        entities_path = os.path.join(target, "entities.jsonl")
        # The entities without their file path and score (older builds write neither), one canonical line each.
        entity_lines = sorted(json.dumps({k: v for k, v in json.loads(line).items() if k not in ("path", "score")}, sort_keys=True) for line in open(entities_path)) if os.path.exists(entities_path) else []
        out["predict"][name] = {"backend": device[-1] + ("-int8" if extra else ""), "documents": int(docs), "words": int(words), "entities": int(entities), "seconds": float(seconds), "words_per_second": int(words) / float(seconds), "entities_sha": hash_lines(entity_lines)}
    # PyTorch over the same windows in the same batches: encoder, head and Viterbi in eval mode.
    windows = os.path.join(tmp, "inference-mars-test")
    run([args.enrelg, "bench-model", "--shards", shards, "--split", "test", "--config", "bench/make-train.toml", "--export-inference", windows])
    out["torch_predict"] = json.loads(run([args.python, "bench/torch_reference.py", windows, "--predict", args.model, "--json"]))
    return out


def hash_lines(lines):
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def portable(arg):
    """A command-line argument as a reader can repeat it: paths under the repository relative to
    it, under the home folder from `~`, so no page prints this machine's absolute paths."""
    root, home = os.getcwd() + os.sep, os.path.expanduser("~") + os.sep
    if arg.startswith(root):
        return arg[len(root):]
    if arg.startswith(home):
        return "~/" + arg[len(home):]
    return arg


def markdown(args, pipe, crit, train, pred):
    today = datetime.date.today().isoformat()
    lines = [
        "# Performance",
        "",
        f"Measured by `make bench` ({' '.join(map(portable, sys.argv[1:])) or 'defaults'}) on {today}: {os.cpu_count()} cores ({cpu_model()}),",
        "flex backend (Burn's pure-Rust CPU backend)"
        + (" and, in the rows marked tch, the libtorch build (`make bench BENCH_TCH=1`)" if any("tch" in r for r in train) else "")
        + ", all-MiniLM-L6-v2, the corpora in datasets/. Every ratio is against a",
        "reference measured in the same run on the same inputs; absolute seconds move with the machine, ratios less.",
        "",
        "## Pipeline (`enrelg data`)",
        "",
        f"Median of {args.repeats} runs per corpus. Stages marked CPU are summed over documents processed in parallel",
        "(rayon, every core); the others are wall time.",
        "",
        "| corpus | words | ingest (wall) | align+lemmas+acronyms (CPU) | windows (CPU) | graphs (CPU) | write (wall) | total wall | words/s overall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for corpus, r in pipe.items():
        m = r["median"]
        lines.append(
            f"| {corpus} | {r['words']} | {m['ingest']:.2f} s | {m['align+lemmas+acronyms']:.2f} s | {m['windows']:.2f} s ({r['words'] / max(m['windows'], 1e-9) / 1e6:.2f} M words/s) | "
            f"{m['graphs']:.3f} s ({r['words'] / max(m['graphs'], 1e-9) / 1e6:.2f} M words/s) | {m['write']:.2f} s | {m['total']:.2f} s | {r['words'] / m['total'] / 1e3:.0f} k |"
        )
    stage_rows = [(k.split("/")[-1], v) for k, v in crit.items() if k.startswith("mars/stage/")]
    order = ["ingest", "align", "lemmas", "acronyms", "windows", "graphs", "all per-document stages", "build (all stages + shard writing, every core)"]
    stage_rows.sort(key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))
    lines += [
        "",
        "## Pipeline stages (criterion)",
        "",
        "`cargo bench --workspace --bench stages` ([pipeline/benches/stages.rs](../pipeline/benches/stages.rs)): each stage",
        "alone over every document of Mars (all splits), one thread unless marked, median of criterion's samples.",
        "",
        "| stage | seconds | words/s |",
        "|---|---:|---:|",
    ]
    for name, r in stage_rows:
        lines.append(f"| {name} | {r['seconds']:.3f} | {r['words'] / r['seconds'] / 1e6:.2f} M |")
    scale = sorted((int(k.rsplit("/", 1)[1][:-1]), v) for k, v in crit.items() if k.startswith("mars/document-length/"))
    if scale:
        base = scale[0][1]["words"] / scale[0][1]["seconds"]
        lines += [
            "",
            "Scaling with document length: the first 8 Mars train documents, each concatenated with itself k times",
            "(`Document::repeated`), through every per-document stage (the document-level coreference graph included):",
            "",
            "| copies | words | seconds | words/s | relative to 1x |",
            "|---:|---:|---:|---:|---:|",
        ]
        for k, r in scale:
            wps = r["words"] / r["seconds"]
            lines.append(f"| {k}x | {r['words']} | {r['seconds']:.3f} | {wps / 1e3:.0f} k | {wps / base:.2f} |")
        lines += ["", "![per-document stages against document length](performance-scaling.svg)"]
    lines += [
        "",
        "## Graph building against a Python reference",
        "",
        "`scripts/check_graphs.py` recomputes every coreference and dependency edge of every window and the document-level",
        "coreference edges with plain pairwise loops, as a researcher would first write it, and checks that the shards hold",
        "exactly those edges (0 windows and 0 documents differ on every split, or `make bench` stops). Its graph time counts",
        "the building of both graphs only, not reading the tables, as the Rust graph stage does.",
        "",
        "| corpus | words | Python (check_graphs.py) | Rust graph stage (CPU) | speed-up |",
        "|---|---:|---:|---:|---:|",
    ]
    for corpus, r in pipe.items():
        g = r["median"]["graphs"]
        lines.append(f"| {corpus} | {r['words']} | {r['python_graph_seconds']:.2f} s | {g:.3f} s | {r['python_graph_seconds'] / max(g, 1e-9):.0f}x |")
    lines += [
        "",
        "## Trainer against PyTorch",
        "",
        f"`enrelg bench-model --frozen --config bench/make-train.toml --steps {args.steps}` times the training step of",
        "`make train`'s model (scalar mix of the 7 MiniLM hidden states, shape 32, character CNN 50, BiLSTM 256, GATs",
        "4 x 128, linear fusion, CRF) on consecutive batches of 32 Mars train windows from the encoder cache, then",
        "inference (emissions without autodiff, as `eval`). It exports those batches as .npy, and",
        "`bench/torch_reference.py` runs the same model written in PyTorch (nn.LSTM with packed sequences, the same",
        f"GAT, fusion and CRF) on exactly them, with {os.cpu_count()} threads. The `cd-fine-tune` row times the same model",
        f"with the encoder trained too (`enrelg bench-model` without `--frozen`, {args.fine_tune_steps} steps, as `enrelg train --fine-tune`):",
        "the reference loads the same MiniLM folder into transformers' `BertModel` and pools its hidden states with the",
        "exported weights; its inference is the whole model. Seconds per batch of 32 windows, mean over the batches after",
        "one warm-up step.",
        "",
        "| variant | framework | step | forward | backward | AdamW | inference | peak RSS | Burn / PyTorch (step) | Burn / PyTorch (inference) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in train:
        b, t = r["burn"], r["torch"]
        lines.append(f"| {r['variant']} | Burn flex | {b['step']:.3f} | {b['forward']:.3f} | {b['backward']:.3f} | {b['optimizer']:.3f} | {b['inference']:.3f} | {b['peak_rss_mib']:.0f} MiB | {b['step'] / t['step_seconds']:.2f} | {b['inference'] / t['inference_seconds']:.2f} |")
        if "tch" in r:
            c = r["tch"]
            lines.append(f"| {r['variant']} | Burn tch (libtorch) | {c['step']:.3f} | {c['forward']:.3f} | {c['backward']:.3f} | {c['optimizer']:.3f} | {c['inference']:.3f} | {c['peak_rss_mib']:.0f} MiB | {c['step'] / t['step_seconds']:.2f} | {c['inference'] / t['inference_seconds']:.2f} |")
        lines.append(f"| {r['variant']} | {t['framework']} | {t['step_seconds']:.3f} | {t['forward_seconds']:.3f} | {t['backward_seconds']:.3f} | {t['optimizer_seconds']:.3f} | {t['inference_seconds']:.3f} | {t['peak_rss_mib']:.0f} MiB | | |")
    lines += ["", "(In the frozen rows Burn's peak RSS includes the encoder cache of the whole Mars train split, 1.06 GB; PyTorch reads only the exported batches.)", ""]
    befores = [r for r in train if "before" in r]
    if befores:
        lines += [
            "Before and after, the same batches in the same run: `--before` names the previous build.",
            "",
            "| variant | step before | step now | speed-up | inference before | inference now | speed-up | peak RSS before | peak RSS now |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in befores:
            b, a = r["before"], r["burn"]
            lines.append(f"| {r['variant']} | {b['step']:.3f} | {a['step']:.3f} | {b['step'] / a['step']:.2f}x | {b['inference']:.3f} | {a['inference']:.3f} | {b['inference'] / a['inference']:.2f}x | {b['peak_rss_mib']:.0f} MiB | {a['peak_rss_mib']:.0f} MiB |")
        lines.append("")
    if pred is not None:
        m = pred["measured"]
        lines += [
            "## `make train` epochs and `predict`",
            "",
            f"Measured {m['date']} ({m['cores']} cores, {m['cpu']}): `enrelg train --config bench/make-train.toml --variant cd --epochs 1`",
            "(make train's model on Mars; the encoder cache is built before the epoch and not counted), then `enrelg predict`",
            "with that run on Mars test (the frozen MiniLM encoder runs on every window: nothing cached).",
            "",
            f"`make train DATASET=mars`: {pred['make_train']['mars_seconds_per_epoch']:.1f} s per epoch.",
            "",
            "| build | backend | documents | words | entities | seconds | words/s | entities (sha256 of the sorted lines, without `path`) |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, p in pred["predict"].items():
            lines.append(f"| {name} | {p['backend']} | {p['documents']} | {p['words']} | {p['entities']} | {p['seconds']:.1f} | {p['words_per_second']:.0f} | `{p['entities_sha']}` |")
        t = pred.get("torch_predict")
        if t:
            this = pred["predict"]["this build"]
            lines += [
                f"| PyTorch reference | {t['framework']} | | {t['words']} | | {t['seconds']:.1f} | {t['words_per_second']:.0f} | |",
                "",
                "The PyTorch reference is `bench/torch_reference.py --predict` over the same Mars test windows in the batches",
                "`predict` runs (`enrelg bench-model --export-inference`): transformers' `BertModel` with the MiniLM weights, the",
                "same head and a Viterbi decode, in eval mode, without reading or writing files. "
                f"Burn / PyTorch (words/s): {this['words_per_second'] / t['words_per_second']:.2f} in f32"
                + (f", {pred['predict']['this build, int8']['words_per_second'] / t['words_per_second']:.2f} with `--quantize int8` (the encoder's linear layers in 8-bit integers; results/quantize gives what it changes in trained runs' F1)." if "this build, int8" in pred["predict"] else "."),
            ]
        lines.append("")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enrelg", required=True)
    ap.add_argument("--model", default="models/minilm")
    ap.add_argument("--data", default="datasets")
    ap.add_argument("--python", default=sys.executable, help="Python with torch, numpy and polars")
    ap.add_argument("--cache-dir", default="cache/encoder")
    ap.add_argument("--cargo", default="cargo", help="cargo for the criterion benchmarks (CARGO_TARGET_DIR as set)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--fine-tune-steps", type=int, default=4, help="timed steps of the fine-tuning variant (each costs seconds)")
    ap.add_argument("--out", default="docs/performance.md")
    ap.add_argument("--json", help="also write the raw figures here")
    ap.add_argument("--device", default="flex", help="Burn device of the trainer sections (flex, tch)")
    ap.add_argument("--before", help="a previous enrelg build, timed on the same inputs for before/after ratios")
    ap.add_argument("--tch-enrelg", help="a build with --features tch: its training steps and predict are timed too, on libtorch")
    ap.add_argument("--tch-lib", help="the torch wheel's lib folder, for the tch build's LD_LIBRARY_PATH")
    ap.add_argument("--sections", default="pipeline,trainer,predict", help="which sections to measure; the others keep their figures from --json")
    args = ap.parse_args()
    sections = set(args.sections.split(","))
    previous = {}
    if args.json and os.path.exists(args.json):
        with open(args.json) as f:
            previous = json.load(f)
    measured = {"date": datetime.date.today().isoformat(), "cpu": cpu_model(), "cores": os.cpu_count(), "command": " ".join(map(portable, sys.argv[1:]))}
    with tempfile.TemporaryDirectory(prefix="enrelg-bench-") as tmp:
        # The shards (and the encoder cache) every trainer section reads.
        pipe = pipeline(args, tmp)
        if "pipeline" in sections:
            crit = criterion(args, tmp)
            scaling_figure(args, crit, os.path.join(os.path.dirname(args.out) or ".", "performance-scaling"))
        else:
            pipe, crit = previous["pipeline"], previous["criterion"]
        train = trainer(args, tmp) if "trainer" in sections else previous["trainer"]
        pred = predict(args, tmp) if "predict" in sections else previous.get("predict_section")
    for row in train:
        row.setdefault("measured", measured)
    if pred is not None:
        pred.setdefault("measured", measured)
    page = markdown(args, pipe, crit, train, pred)
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    tmp_out = args.out + ".tmp"
    with open(tmp_out, "w") as f:
        f.write(page)
    os.replace(tmp_out, args.out)
    if args.json:
        with open(args.json, "w") as f:
            record = {"pipeline": pipe, "criterion": crit, "trainer": train, "predict_section": pred}
            if pred is not None:
                record["predict"] = {p["backend"]: {"words_per_second": p["words_per_second"]} for name, p in pred["predict"].items() if name.startswith("this build")}
                if pred.get("torch_predict"):
                    record["predict"]["torch_reference"] = {"words_per_second": pred["torch_predict"]["words_per_second"]}
                record["make_train"] = pred["make_train"]
            json.dump(record, f, indent=2)
    print(page)


if __name__ == "__main__":
    main()
