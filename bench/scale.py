"""`make bench-scale`: corpus-scale tagging throughput on this machine, for docs/scale.md.

On the same JSONL corpus (every Mars document and the AnatEM test documents, real texts), in one
session on an otherwise idle machine:
  - `enrelg tag` in one process (all cores), the reference;
  - `python -m enrelg.ray` on a local Ray with 1 tagger actor (1 CPU, 1 thread) and with 2
    tagger actors (1 CPU each); one spaCy actor that declares no CPU in both, so that the
    taggers get the cores (spaCy takes a small share of the time; the page says how much);
  - the peak memory of one tagger (the Python package loading the run and tagging a chunk) and
    of one spaCy parser, each in a process of its own: what an actor should declare.
Each job starts from an empty output folder; the Ray jobs' seconds count from the job's start
(actors loading included) to its last chunk, not Ray's own start.

    .venv/bin/python bench/scale.py --run runs/speed-r2/mars-cd-seed1 --enrelg BIN --json docs/scale.json
"""
import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MEMORY = """
import resource, sys, json, time
kind, run, path = sys.argv[1:4]
texts = [json.loads(line)["text"] for line in open(path, encoding="utf-8")][:100]
if kind == "tagger":
    import enrelg
    t = enrelg.Tagger(run, threads=1)
    start = time.perf_counter()
    t.tag(texts)
else:
    import enrelg
    p = enrelg.Parser()
    start = time.perf_counter()
    p.parse([str(i) for i in range(len(texts))], texts)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - start)
"""


def corpus(data: str, path: str) -> int:
    """Write the corpus; its number of documents."""
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for c, splits in [("mars", ["train", "dev", "test"]), ("anatem", ["test"])]:
            for split in splits:
                folder = os.path.join(data, c, "standoff", split)
                for name in sorted(os.listdir(folder)):
                    if name.endswith(".txt"):
                        with open(os.path.join(folder, name), encoding="utf-8") as f:
                            out.write(json.dumps({"id": f"{c}/{split}/{name[:-4]}", "text": f.read()}) + "\n")
                        n += 1
    return n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", required=True)
    ap.add_argument("--enrelg", required=True, help="the release binary")
    ap.add_argument("--data", default=os.path.join(ROOT, "datasets"))
    ap.add_argument("--parse-python", default=os.path.join(ROOT, ".venv-parse/bin/python"))
    ap.add_argument("--chunk-size", type=int, default=50)
    ap.add_argument("--json", required=True)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="enrelg-scale-")
    source = os.path.join(tmp, "in", "corpus.jsonl")
    os.makedirs(os.path.dirname(source))
    documents = corpus(args.data, source)
    record = {"date": datetime.date.today().isoformat(), "cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
              "documents": documents, "chunk_size": args.chunk_size, "run": args.run}

    start = time.perf_counter()
    done = subprocess.run([args.enrelg, "tag", "--input", source, "--out", os.path.join(tmp, "tag"), "--run", args.run, "--python", args.parse_python],
                          capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    words = int(re.search(r"(\d+) words,", done.stdout).group(1))
    record["words"] = words
    record["enrelg_tag"] = {"seconds": round(seconds, 1), "words_per_second": round(words / seconds)}
    print(f"enrelg tag: {seconds:.1f} s, {words / seconds:.0f} words/s", file=sys.stderr)

    for actors in [1, 2]:
        out = os.path.join(tmp, f"ray-{actors}")
        cmd = [sys.executable, "-m", "enrelg.ray", "--input", source, "--out", out, "--run", args.run, "--chunk-size", str(args.chunk_size),
               "--num-cpus", "2", "--tag-actors", str(actors), "--tag-cpus", "1", "--parse-cpus", "0"]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
        # The job's own clock: from its first line to its last progress line.
        seconds = job_seconds(done.stderr)
        record[f"ray_{actors}_actors"] = {"seconds": round(seconds, 1), "words_per_second": round(words / seconds),
                                          "documents_per_second": round(documents / seconds, 2)}
        print(f"ray, {actors} tagger actor(s): {seconds:.1f} s, {words / seconds:.0f} words/s", file=sys.stderr)

    for kind in ["tagger", "parser"]:
        path = os.path.join(tmp, "in", "corpus.jsonl")
        rss, busy = subprocess.run([sys.executable, "-c", MEMORY, kind, args.run, path], capture_output=True, text=True, check=True).stdout.split()
        record[f"{kind}_peak_rss_mib"] = round(float(rss))
        record[f"{kind}_seconds_100_documents"] = round(float(busy), 1)
    with open(args.json, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(json.dumps(record, indent=1))
    return 0


def job_seconds(stderr: str) -> float:
    """Seconds from the job's start line to its last chunk, from the lines' stamps."""
    stamps = [float(m.group(1)) for m in re.finditer(r"^\[\d+/\d+\] .* at (\d+\.\d+) s\)$", stderr, re.M)]
    if not stamps:
        raise SystemExit(f"no progress lines in the job's output:\n{stderr[-3000:]}")
    return stamps[-1]


if __name__ == "__main__":
    sys.exit(main())
