#!/usr/bin/env python3
"""The Mars Target Encyclopedia from extracted relations: for each target, each element or
mineral it contains, with the count of sentences that say so and the sentences themselves.

Input: the JSON lines `enrelg relations --predictions` writes (one relation per line: doc, type,
head and tail with their text, the sentence). Output, in OUT:
  encyclopedia.parquet   target, component, component_type, sentences, documents, examples
  index.html             one section per target, each component with its supporting sentences
  check.json             with --gold: the (target, component) pairs found, missed and spurious
                         against the same table built from the gold relations

    python3 scripts/encyclopedia.py --relations results/relations/mars-test.jsonl \\
        --gold results/relations/mars-test-gold.jsonl --out results/relations/encyclopedia
"""
import argparse
import html
import json
import os
import sys

import polars as pl

COMPONENT_TYPES = ("Element", "Mineral")


def key(text: str) -> str:
    """Names compared without case or surrounding space (`Hematite` and `hematite` are one)."""
    return " ".join(text.split()).casefold()


def table(path: str) -> pl.DataFrame:
    """One row per (target, component): its sentences, documents and example sentences."""
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    flat = pl.DataFrame(
        {
            "doc": [r["doc"] for r in rows],
            "type": [r["type"] for r in rows],
            "target": [r["head"]["text"] for r in rows],
            "component": [r["tail"]["text"] for r in rows],
            "component_type": [r["tail"]["type"] for r in rows],
            "sentence": [r["sentence"] for r in rows],
        },
        schema={c: pl.String for c in ("doc", "type", "target", "component", "component_type", "sentence")},
    )
    flat = flat.filter(
        (pl.col("type") == "Contains") & pl.col("component_type").is_in(COMPONENT_TYPES)
    ).with_columns(
        pl.col("target").map_elements(key, return_dtype=pl.String).alias("target_key"),
        pl.col("component").map_elements(key, return_dtype=pl.String).alias("component_key"),
    )
    return (
        flat.group_by("target_key", "component_key", "component_type")
        .agg(
            # The most frequent spelling names the entry.
            pl.col("target").mode().sort().first().alias("target"),
            pl.col("component").mode().sort().first().alias("component"),
            pl.struct("doc", "sentence").n_unique().alias("sentences"),
            pl.col("doc").unique().sort().alias("documents"),
            pl.col("sentence").unique().sort().alias("examples"),
        )
        .sort("target_key", "component_type", "component_key")
        .select("target", "component", "component_type", "sentences", "documents", "examples", "target_key", "component_key")
    )


def page(df: pl.DataFrame, title: str) -> str:
    parts = [
        "<!doctype html><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font:15px/1.4 sans-serif;max-width:60em;margin:2em auto}"
        "h2{margin-top:1.5em}li{margin:.3em 0}.n{color:#666}"
        "details p{margin:.2em 0 .2em 1.5em;color:#333}</style>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{df['target_key'].n_unique()} targets, {df.height} target–component pairs.</p>",
    ]
    for (target,), group in df.group_by("target_key", maintain_order=True):
        parts.append(f"<h2 id='{html.escape(target)}'>{html.escape(group['target'][0])}</h2><ul>")
        for row in group.iter_rows(named=True):
            n = row["sentences"]
            docs = ", ".join(row["documents"])
            sentences = "".join(f"<p>{html.escape(s)}</p>" for s in row["examples"])
            parts.append(
                f"<li><details><summary><b>{html.escape(row['component'])}</b> "
                f"({row['component_type']}) <span class='n'>{n} sentence{'s' if n != 1 else ''}; "
                f"documents {html.escape(docs)}</span></summary>{sentences}</details></li>"
            )
        parts.append("</ul>")
    return "\n".join(parts) + "\n"


def atomic_write(path: str, write) -> None:
    tmp = path + ".tmp"
    write(tmp)
    os.replace(tmp, path)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--relations", required=True)
    ap.add_argument("--gold")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="Mars Target Encyclopedia (extracted)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    df = table(args.relations)
    atomic_write(os.path.join(args.out, "encyclopedia.parquet"), lambda p: df.write_parquet(p))
    atomic_write(
        os.path.join(args.out, "index.html"),
        lambda p: open(p, "w", encoding="utf-8").write(page(df, args.title)),
    )
    print(f"{df['target_key'].n_unique()} targets, {df.height} target-component pairs -> {args.out}")
    if args.gold:
        gold = table(args.gold)
        pairs = lambda d: set(zip(d["target_key"], d["component_key"]))  # noqa: E731
        found, expected = pairs(df), pairs(gold)
        tp = found & expected
        p = 100 * len(tp) / len(found) if found else 0.0
        r = 100 * len(tp) / len(expected) if expected else 0.0
        check = {
            "relations": args.relations,
            "gold": args.gold,
            "pairs": len(found),
            "gold_pairs": len(expected),
            "agreed": len(tp),
            "precision": round(p, 2),
            "recall": round(r, 2),
            "f1": round(2 * p * r / (p + r), 2) if p + r else 0.0,
            "missed": sorted(map(list, expected - found)),
            "spurious": sorted(map(list, found - expected)),
        }
        atomic_write(
            os.path.join(args.out, "check.json"),
            lambda path: open(path, "w", encoding="utf-8").write(json.dumps(check, indent=2) + "\n"),
        )
        print(
            f"against gold: {len(tp)} of {len(expected)} gold pairs found, {len(found) - len(tp)} spurious "
            f"(precision {check['precision']}, recall {check['recall']}, F1 {check['f1']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
