"""`make quantize`: what `--quantize int8` changes in a trained run's output.

For each `CORPUS=RUN` pair, `enrelg predict` tags the corpus's test split twice with the run, in
f32 and in int8, and `enrelg score` scores both against the gold `.ann` files (exact span and type,
the types the run predicts). Written: each precision's precision/recall/F1, the entities the two
share (same document, span and type), the F1 difference, and each predict's seconds. Timings
taken here are only as good as the machine is idle; `make bench` times int8 on an idle machine.

    python bench/quantize.py --enrelg BIN --data datasets --pair mars=runs/mars-cd-seed1 \\
        --pair anatem=runs/anatem-cd-seed1 --out results/quantize
"""

import argparse
import datetime
import json
import os
import re
import tempfile

# make bench's command runner (stdout; stops on failure) and CPU name, from the same folder.
from run import cpu_model, run

PRECISIONS = ["f32", "int8"]


def entities(folder):
    with open(os.path.join(folder, "entities.jsonl")) as f:
        return {(e["doc"], e["start"], e["end"], e["type"]) for e in map(json.loads, f)}


def measure(args, corpus, run_dir, tmp):
    test = os.path.join(args.data, corpus, "standoff", "test")
    parses = os.path.join(args.data, corpus, "conllu", "test")
    row = {"corpus": corpus, "run": run_dir}
    found = {}
    for precision in PRECISIONS:
        out = os.path.join(tmp, f"{corpus}-{precision}")
        text = run([args.enrelg, "predict", "--run", run_dir, "--input", test, "--parses", parses, "--out", out, "--quantize", precision])
        m = re.search(r"(\d+) documents, (\d+) words, (\d+) entities in ([\d.]+) s", text)
        # The scores are stdout; stderr lists the gold types the run does not predict.
        micro = json.loads(run([args.enrelg, "score", "--gold", test, "--pred", out, "--json"]))["micro"]
        row[precision] = {"words": int(m.group(2)), "entities": int(m.group(3)), "seconds": float(m.group(4)), **{k: micro[k] for k in ("precision", "recall", "f1")}}
        found[precision] = entities(out)
    a, b = found["f32"], found["int8"]
    row["shared_entities"] = len(a & b)
    row["agreement_percent"] = 100 * len(a & b) / max(1, len(a | b))
    row["delta_f1"] = row["int8"]["f1"] - row["f32"]["f1"]
    return row


def markdown(record):
    lines = [
        "# Quantized inference: int8 against f32",
        "",
        f"Measured {record['measured']['date']} by `{record['measured']['command']}` ({record['measured']['cpu']}). Each run tags its",
        "corpus's test split with `enrelg predict` in f32 and with `--quantize int8`; `enrelg score` scores both against",
        "the gold `.ann` files (exact span and type). Agreement: entities with the same document, span and type in both,",
        "over the entities either gives.",
        "",
        "| corpus | run | F1 f32 | F1 int8 | int8 - f32 | entities f32 | entities int8 | shared | agreement |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in record["rows"]:
        lines.append(f"| {r['corpus']} | `{r['run']}` | {r['f32']['f1']:.2f} | {r['int8']['f1']:.2f} | {r['delta_f1']:+.2f} | {r['f32']['entities']} | {r['int8']['entities']} | {r['shared_entities']} | {r['agreement_percent']:.1f} % |")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--enrelg", required=True)
    ap.add_argument("--data", default="datasets")
    ap.add_argument("--pair", action="append", required=True, help="CORPUS=RUN: a corpus under --data and a run trained on it")
    ap.add_argument("--out", default="results/quantize")
    args = ap.parse_args()
    cpu = cpu_model()
    command = "make quantize " + " ".join(f"--pair {p}" for p in args.pair)
    record = {"measured": {"date": datetime.date.today().isoformat(), "cpu": cpu, "command": command}, "rows": []}
    with tempfile.TemporaryDirectory(prefix="enrelg-quantize-") as tmp:
        for pair in args.pair:
            corpus, run_dir = pair.split("=", 1)
            record["rows"].append(measure(args, corpus, run_dir, tmp))
    os.makedirs(args.out, exist_ok=True)
    for name, text in [("quantize.json", json.dumps(record, indent=2) + "\n"), ("README.md", markdown(record))]:
        path = os.path.join(args.out, name)
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    print(markdown(record))


if __name__ == "__main__":
    main()
