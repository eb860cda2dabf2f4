"""Tag a corpus on Ray Data: `python -m enrelg.ray --input PATH --out DIR --run RUN`.

The input is JSONL files of `{"id", "text"}` records (a file, or every `*.jsonl` under a folder)
or Parquet files with `id` and `text` columns. It is cut into fixed chunks (`--chunk-size`
records: lines of a JSONL file, rows of a Parquet file), numbered per file, so the work and its
output names are the same on every run and every cluster; JSONL files are cut exactly as
`enrelg tag --chunk i/N` cuts them (the same Rust code plans both).

Two actor pools do the work: a spaCy stage (the pinned model `make tag` uses) and a tagger stage
(the model loaded once per actor, its threads set to the actor's CPUs, its memory declared so
that Ray schedules it instead of killing it). Actors are built from paths; no tagger is ever
pickled. The driver writes each finished chunk to `OUT/<file>/<chunk>.jsonl` through a temporary
name and a rename, and `OUT/manifest.jsonl` (one row per chunk: documents, entities, errors,
SHA-256) the same way, and prints a progress line. A chunk whose output exists is done: a rerun
tags only what is missing. A document that cannot be tagged becomes an error row
(`{"id", "error"}`) in its place in the chunk; the job goes on. A tagged document's line equals
its line in `enrelg tag`'s `tagged.jsonl`, byte for byte.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict, dataclass

from . import DEFAULT_CHUNK_LINES, DEFAULT_MAX_CHARS, DEFAULT_SPACY_MODEL, Parser, _enrelg, check

MANIFEST = "manifest.jsonl"
# Temporary names start with this, so that a rerun can clear what a killed driver left.
TMP_PREFIX = ".enrelg-tmp-"


@dataclass(frozen=True)
class Chunk:
    """`size` consecutive records of one input file."""

    file: str  # relative to the input folder (its name for a single file)
    index: int  # chunk number within the file
    kind: str  # "jsonl" or "parquet"
    path: str  # the input file
    first_line: int  # 1-based first line (JSONL) or row (Parquet)
    lines: int
    start: int  # JSONL: byte range; Parquet: row range
    end: int
    output: str  # relative to the output folder


def plan(input_path: str, size: int) -> list[Chunk]:
    """Every chunk of the input, files in path order."""
    if size <= 0:
        raise ValueError("--chunk-size must be above zero")
    root = input_path if os.path.isdir(input_path) else os.path.dirname(input_path)
    if os.path.isdir(input_path):
        found = sorted(os.path.relpath(os.path.join(d, f), input_path) for d, _, files in os.walk(input_path, followlinks=True) for f in files)
        jsonl = [f for f in found if f.endswith(".jsonl")]
        parquet = [f for f in found if f.endswith(".parquet")]
    elif input_path.endswith(".parquet"):
        jsonl, parquet = [], [os.path.basename(input_path)]
    elif input_path.endswith(".jsonl"):
        jsonl, parquet = [os.path.basename(input_path)], []
    else:
        raise ValueError(f"{input_path}: neither a .jsonl or .parquet file nor a folder of them")
    if not jsonl and not parquet:
        raise ValueError(f"{input_path}: no .jsonl or .parquet files")
    chunks = []
    if jsonl:
        for c in _enrelg.plan_chunks(input_path, size):
            rel = os.fspath(c["file"])
            path = input_path if os.path.isfile(input_path) else os.path.join(input_path, rel)
            chunks.append(Chunk(rel, c["index"], "jsonl", path, c["first_line"], c["lines"], c["start"], c["end"], os.fspath(c["output"])))
    import pyarrow.parquet as pq

    for rel in parquet:
        path = os.path.join(root, rel)
        rows = pq.ParquetFile(path).metadata.num_rows
        for index in range((rows + size - 1) // size):
            start, end = index * size, min(rows, (index + 1) * size)
            chunks.append(Chunk(rel, index, "parquet", path, start + 1, end - start, start, end, os.fspath(_enrelg.chunk_output(rel, index))))
    return sorted(chunks, key=lambda c: (c.file, c.index))


def read_chunk(chunk: Chunk) -> tuple[list[tuple[int, object, object]], list[tuple[int, str]]]:
    """The chunk's records as (line, id, text) and its bad lines as (line, message)."""
    if chunk.kind == "jsonl":
        records, skipped = _enrelg.read_jsonl_chunk(chunk.path, chunk.first_line, chunk.start, chunk.end)
        return records, [(line_of(message, chunk), message) for _, message in skipped]
    import pyarrow.parquet as pq

    f = pq.ParquetFile(chunk.path)
    records, skipped, seen, row = [], [], {}, 0
    for g in range(f.num_row_groups):
        n = f.metadata.row_group(g).num_rows
        if row + n > chunk.start and row < chunk.end:
            table = f.read_row_group(g, columns=["id", "text"])
            lo, hi = max(chunk.start - row, 0), min(chunk.end - row, n)
            for k, (i, text) in enumerate(zip(table.column("id").to_pylist()[lo:hi], table.column("text").to_pylist()[lo:hi])):
                line = row + lo + k + 1
                at = f"{chunk.path}: row {line}"
                if isinstance(i, bool) or not isinstance(i, (str, int)):
                    skipped.append((line, f"{at}: no string or integer \"id\""))
                elif str(i) in seen:
                    skipped.append((line, f"{at}: duplicate id {str(i)!r} (first on row {seen[str(i)]}); this record is not tagged"))
                else:
                    seen[str(i)] = line
                    records.append((line, str(i), text))
        row += n
    return records, skipped


def line_of(message: str, chunk: Chunk) -> int:
    """The line a JSONL skip message names (`PATH:LINE: ...`)."""
    rest = message[len(chunk.path) + 1:] if message.startswith(chunk.path + ":") else ""
    digits = rest.split(":", 1)[0]
    return int(digits) if digits.isdigit() else chunk.first_line + chunk.lines


class ParseStage:
    """spaCy, loaded once per actor: a chunk in, its documents parsed (or refused) out."""

    def __init__(self, spacy_model: str, max_chars: int):
        self.parser = Parser(spacy_model)
        self.max_chars = max_chars

    def __call__(self, batch: dict) -> dict:
        out = []
        for raw in batch["chunk"]:
            chunk = Chunk(**json.loads(raw))
            records, skipped = read_chunk(chunk)
            # (line, id, text, conllu, error): an error row or a document to tag.
            items = [(line, None, None, None, message) for line, message in skipped]
            todo, kinds = [], []
            for line, i, text in records:
                kind, error = check(text, self.max_chars)
                if error is not None:
                    items.append((line, i, None, None, error))
                else:
                    todo.append((line, i, text))
                    kinds.append(kind)
            parses = self.parser.parse_checked([i for _, i, _ in todo], [t for _, _, t in todo], kinds)
            items += [(line, i, text, conllu, None) for (line, i, text), conllu in zip(todo, parses)]
            items.sort(key=lambda item: item[0])
            out.append(json.dumps(items))
        return {"chunk": list(batch["chunk"]), "items": out}


class TagStage:
    """The tagger, loaded once per actor from the run folders: parsed documents in, the chunk's
    JSON lines out. `crash_once`: a marker file; the first actor to find it missing creates it
    and exits, to test that a killed actor's chunk is redone (`--crash-once`)."""

    def __init__(self, runs: list[str], device: str, threads: int, consistency: float | None, quantize: str,
                 crash_once: str | None):
        self.tagger = _enrelg.Tagger(runs, device, threads, consistency, quantize)
        self.crash_once = crash_once

    def __call__(self, batch: dict) -> dict:
        if self.crash_once and not os.path.exists(self.crash_once):
            open(self.crash_once, "w").close()
            os._exit(1)
        rows = {"chunk": [], "jsonl": [], "documents": [], "entities": [], "errors": [], "seconds": []}
        for raw, items in zip(batch["chunk"], batch["items"]):
            start = time.perf_counter()
            items = json.loads(items)
            good = [(k, (i, text, conllu)) for k, (_, i, text, conllu, error) in enumerate(items) if error is None]
            lines = [_enrelg.error_line(i, error) if error is not None else None for _, i, _, _, error in items]
            for (k, _), line in zip(good, self.tagger.tag_parsed([g for _, g in good])):
                lines[k] = line
            records = [json.loads(line) for line in lines]
            rows["chunk"].append(raw)
            rows["jsonl"].append("".join(line + "\n" for line in lines))
            rows["documents"].append(len(lines))
            rows["entities"].append(sum(len(r.get("entities", ())) for r in records))
            rows["errors"].append(sum("error" in r for r in records))
            rows["seconds"].append(time.perf_counter() - start)
        return rows


def write_atomic(path: str, data: bytes) -> None:
    """Write `path` through a temporary name beside it and a rename."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{os.path.basename(path)}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def clear_temporaries(out: str) -> int:
    """Remove what a killed driver left half-written."""
    removed = 0
    for d, _, files in os.walk(out):
        for f in files:
            if f.startswith(TMP_PREFIX):
                os.remove(os.path.join(d, f))
                removed += 1
    return removed


def read_manifest(out: str, chunks: list[Chunk]) -> dict:
    """The manifest rows of chunks whose output still exists."""
    rows = {}
    path = os.path.join(out, MANIFEST)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                rows[row["output"]] = row
    done = {c.output for c in chunks if os.path.exists(os.path.join(out, c.output))}
    return {k: v for k, v in rows.items() if k in done}


def write_manifest(out: str, rows: dict) -> None:
    lines = "".join(json.dumps(rows[k], sort_keys=True) + "\n" for k in sorted(rows))
    write_atomic(os.path.join(out, MANIFEST), lines.encode())


def arguments(argv=None):
    ap = argparse.ArgumentParser(prog="python -m enrelg.ray", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", required=True, help="a .jsonl or .parquet file, or a folder of them")
    ap.add_argument("--out", required=True, help="output folder: FILE/CHUNK.jsonl per chunk and manifest.jsonl")
    ap.add_argument("--run", action="append", required=True, help="trained run folder (repeat for a seed ensemble)")
    ap.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_LINES, help="records per chunk (JSONL lines, Parquet rows)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--consistency", type=float, help="consistency decoding at this threshold instead of the run's own (1.0: plain)")
    ap.add_argument("--quantize", choices=["f32", "int8"], default="f32", help="the encoder's arithmetic (as enrelg tag --quantize)")
    ap.add_argument("--spacy-model", default=DEFAULT_SPACY_MODEL)
    ap.add_argument("--max-chars", type=int, default=DEFAULT_MAX_CHARS)
    ap.add_argument("--parse-actors", type=int, default=1)
    ap.add_argument("--parse-cpus", type=float, default=1.0, help="CPUs per spaCy actor")
    ap.add_argument("--parse-memory-gb", type=float, default=1.0, help="memory per spaCy actor")
    ap.add_argument("--tag-actors", type=int, default=1)
    ap.add_argument("--tag-cpus", type=int, default=1, help="CPUs (and threads) per tagger actor")
    ap.add_argument("--tag-memory-gb", type=float, default=2.0, help="memory per tagger actor (MiniLM runs peak near 1 GB)")
    ap.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    ap.add_argument("--num-cpus", type=int, help="CPUs of the local Ray (default: all)")
    ap.add_argument("--crash-once", help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def main(argv=None) -> int:
    args = arguments(argv)
    start = time.perf_counter()
    chunks = plan(args.input, args.chunk_size)
    os.makedirs(args.out, exist_ok=True)
    if clear_temporaries(args.out):
        print("removed temporary files of an interrupted run", file=sys.stderr)
    manifest = read_manifest(args.out, chunks)
    pending = [c for c in chunks if not os.path.exists(os.path.join(args.out, c.output))]
    print(f"{len(chunks)} chunks of {args.chunk_size} records: {len(chunks) - len(pending)} done, {len(pending)} to tag", file=sys.stderr, flush=True)
    write_manifest(args.out, manifest)
    if not pending:
        return 0
    import ray

    if not ray.is_initialized():
        ray.init(address=args.address, num_cpus=None if args.address else args.num_cpus, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    gb = 1024**3
    ds = ray.data.from_items([{"chunk": json.dumps(asdict(c))} for c in pending], override_num_blocks=len(pending))
    ds = ds.map_batches(ParseStage, fn_constructor_kwargs={"spacy_model": args.spacy_model, "max_chars": args.max_chars}, batch_size=1,
                        compute=ray.data.ActorPoolStrategy(size=args.parse_actors), num_cpus=args.parse_cpus, memory=args.parse_memory_gb * gb)
    runs = [os.path.abspath(r) for r in args.run]
    # Ray Data restarts a dead actor and retries its batch (max_restarts and max_task_retries
    # default to -1 for actor pools), so a killed tagger's chunk is tagged again, not lost.
    ds = ds.map_batches(TagStage, fn_constructor_kwargs={"runs": runs, "device": args.device, "threads": args.tag_cpus, "consistency": args.consistency, "quantize": args.quantize, "crash_once": args.crash_once},
                        batch_size=1, compute=ray.data.ActorPoolStrategy(size=args.tag_actors), num_cpus=args.tag_cpus, memory=args.tag_memory_gb * gb)
    done, docs = 0, 0
    for row in ds.iter_rows():
        chunk = Chunk(**json.loads(row["chunk"]))
        target = os.path.join(args.out, chunk.output)
        if os.path.exists(target):
            print(f"{chunk.output}: already written, this copy dropped", file=sys.stderr)
            continue
        data = row["jsonl"].encode()
        write_atomic(target, data)
        manifest[chunk.output] = {"file": chunk.file, "chunk": chunk.index, "output": chunk.output, "first_line": chunk.first_line, "lines": chunk.lines,
                                  "documents": int(row["documents"]), "entities": int(row["entities"]), "errors": int(row["errors"]),
                                  "sha256": hashlib.sha256(data).hexdigest()}
        write_manifest(args.out, manifest)
        done += 1
        docs += int(row["documents"])
        elapsed = time.perf_counter() - start
        print(f"[{done}/{len(pending)}] {chunk.output}: {row['documents']} documents, {row['entities']} entities, {row['errors']} errors "
              f"({docs / elapsed:.1f} documents/s, at {elapsed:.1f} s)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
