#!/usr/bin/env python3
"""Every figure the README and docs quote, written from the records (issue 53).

A quoted figure sits between markers in a Markdown page:

    Mars test F1 <!--fig:mars-default-test-->88.84 ± 0.62<!--/fig-->

and `docs/figures.toml` says where NAME comes from: a row of a results table
(`results/F/SPEC/table.json`, written by `enrelg experiment` and `enrelg results`),
its comparison against the spec's reference, or a field of a JSON record
(`docs/peers.json`, `docs/performance.json`, ...). `make figures` rewrites every
marked figure from the records; `make check-figures` (CI) fails, naming the page,
line and both values, when a page quotes something the records no longer give,
when a page names a figure the registry lacks, or when the registry holds a figure
no page quotes. Only the standard library: this runs before any environment exists.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REGISTRY = Path("docs") / "figures.toml"
MARKER = re.compile(r"<!--fig:([a-z0-9][a-z0-9-]*)-->(.*?)<!--/fig-->", re.S)

# Fields of a table row that hold {mean, std} over seeds.
ROW_STATS = {"f1", "precision", "recall", "best_dev_f1", "seconds_per_epoch"}
# Fields of a comparison (table.json "significance") that a figure may quote.
SIGNIFICANCE = {
    "delta_f1",
    "p_value",
    "p_holm",
    "seed_p_value",
    "seed_p_holm",
    "seeds_better",
    "paired_seeds",
}


class FigureError(Exception):
    """A registry entry that does not resolve against the records."""


class Records:
    """The JSON records under a repository, each read once however many figures cite it."""

    def __init__(self, root: Path):
        self.root = root
        self.loaded: dict[str, object] = {}

    def json(self, rel: str) -> object:
        if rel not in self.loaded:
            try:
                self.loaded[rel] = json.loads((self.root / rel).read_text())
            except FileNotFoundError:
                raise FigureError(f"record {rel} does not exist") from None
        return self.loaded[rel]


def seeds_text(seeds: list[int]) -> str:
    """1,2,3,4,5 -> '1-5'; 1,3 -> '1, 3'; 1 -> '1'."""
    seeds = sorted(seeds)
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(s) for s in seeds)


def number_text(x: float, spec: dict) -> str:
    digits = spec.get("digits", 2)
    if spec.get("thousands"):
        text = f"{x:,.{digits}f}"
    else:
        text = f"{x:.{digits}f}"
    if spec.get("sign") and x >= 0:
        text = "+" + text
    if text in ("-0.00", "-0.0", "-0"):
        text = text[1:]
    return text


def stat_text(mean: float, std: float | None, n: int, spec: dict) -> str:
    """'m ± s' over several seeds, 'm' for one (its std is not a spread)."""
    text = number_text(mean, spec)
    if spec.get("mean_only") or n <= 1 or std is None:
        return text
    return f"{text} ± {number_text(std, {**spec, 'sign': False})}"


def table_row(spec: dict, records: Records) -> tuple[dict, dict]:
    table = records.json(spec["table"])
    split = spec.get("split", "test")
    rows = table["rows"].get(split)
    if rows is None:
        raise FigureError(f"{spec['table']} has no split {split!r}")
    where = spec.get("where", {})

    def matches(row: dict) -> bool:
        for key, want in where.items():
            have = row.get(key, row["config"].get(key))
            if have != want:
                return False
        return True

    found = [r for r in rows if matches(r)]
    if len(found) != 1:
        raise FigureError(
            f"{spec['table']} [{split}] where {where}: {len(found)} rows match, not one"
        )
    return table, found[0]


def resolve(spec: dict, records: Records, figures: dict) -> tuple[float | None, str]:
    """The figure's number (for differences) and its text."""
    if "diff" in spec:
        a, b = spec["diff"]
        values = []
        for other in (a, b):
            if other not in figures:
                raise FigureError(f"diff names unknown figure {other!r}")
            value, _ = resolve(figures[other], records, figures)
            if value is None:
                raise FigureError(f"{other!r} has no number to subtract")
            values.append(value)
        x = values[0] - values[1]
        return x, number_text(x, {"sign": True, **spec})
    if "table" in spec:
        table, row = table_row(spec, records)
        value = spec.get("value", "f1")
        if value == "seeds":
            return None, seeds_text(row["seeds"])
        if value == "n_seeds":
            return len(row["seeds"]), str(len(row["seeds"]))
        if value in ROW_STATS:
            stat = row[value]
            return stat["mean"], stat_text(stat["mean"], stat.get("std"), len(row["seeds"]), spec)
        if value in SIGNIFICANCE:
            label = f"{row['variant']} ({row['additions']})"
            split = spec.get("split", "test")
            found = [
                c
                for c in table.get("significance", {}).get(split, [])
                if c["dataset"] == row["dataset"] and c["row"] == label
            ]
            if len(found) != 1:
                raise FigureError(f"{len(found)} comparisons for row {label!r} [{split}]")
            x = found[0][value]
            if value in ("seeds_better", "paired_seeds"):
                return x, str(x)
            return x, number_text(x, spec)
        raise FigureError(f"unknown table value {value!r}")
    if "json" in spec:
        record = records.json(spec["json"])
        node = field(record, spec["json"], spec["path"])
        if isinstance(node, dict) and "mean" in node:
            n = node.get("n", 1)
            return node["mean"], stat_text(node["mean"], node.get("std"), n, spec)
        if isinstance(node, list) and node and all(isinstance(x, int) for x in node):
            return None, seeds_text(node)
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            return None, str(node)
        if "over" in spec:  # a ratio of two fields of one record, measured in one run
            node = node / field(record, spec["json"], spec["over"])
        if math.isnan(node):
            raise FigureError("the record holds NaN")
        return node, number_text(node, spec)
    raise FigureError("needs `table`, `json` or `diff`")


def field(record: object, name: str, path: list) -> object:
    node = record
    for key in path:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            raise FigureError(f"{name} has no {path!r}") from None
    return node


def run(root: Path, check: bool = False, listing: bool = False) -> int:
    """Rewrite (or with `check`, compare) every marked figure on the registry's pages."""
    registry = tomllib.loads((root / REGISTRY).read_text())
    figures: dict[str, dict] = registry["figure"]
    # The pages whose figures come from the registry; a page not listed may still quote
    # history, dated, in its own words (experiments/NOTES.md, docs/experiments.md).
    pages = [root / p for p in registry["pages"]]
    records = Records(root)
    texts: dict[str, str] = {}
    problems: list[str] = []
    for name, spec in figures.items():
        try:
            texts[name] = resolve(spec, records, figures)[1]
        except FigureError as e:
            problems.append(f"docs/figures.toml: figure {name}: {e}")
        except KeyError as e:
            problems.append(f"docs/figures.toml: figure {name}: the record lacks {e}")

    if listing:
        for name, text in texts.items():
            print(f"{name:40} {text}")
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0

    used: set[str] = set()
    changed: list[str] = []
    for page in pages:
        rel = page.relative_to(root)
        source = page.read_text()

        def replace(m: re.Match) -> str:
            name, quoted = m.group(1), m.group(2)
            used.add(name)
            line = source.count("\n", 0, m.start()) + 1
            if name not in figures:
                problems.append(f"{rel}:{line}: figure {name} is not in docs/figures.toml")
                return m.group(0)
            if name not in texts:
                return m.group(0)  # its problem is already reported
            if quoted != texts[name]:
                changed.append(f"{rel}:{line}: {name}: quoted {quoted!r}, records give {texts[name]!r}")
            return f"<!--fig:{name}-->{texts[name]}<!--/fig-->"

        updated = MARKER.sub(replace, source)
        if updated != source and not check:
            tmp = page.with_suffix(page.suffix + ".tmp")
            tmp.write_text(updated)
            tmp.replace(page)
    for name in sorted(set(figures) - used):
        problems.append(f"docs/figures.toml: figure {name} is quoted on no page")

    for p in problems:
        print(p, file=sys.stderr)
    if check:
        for c in changed:
            print(c, file=sys.stderr)
        if changed:
            print(f"{len(changed)} quoted figures differ from the records: run `make figures`", file=sys.stderr)
        ok = not changed and not problems
        if ok:
            print(f"{len(used)} figures on {len(registry['pages'])} pages match the records")
        return 0 if ok else 1
    for c in changed:
        print("updated", c)
    print(f"{len(texts)} figures written, {len(changed)} changed")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report differences, change nothing")
    parser.add_argument("--list", action="store_true", help="print every figure and its text")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = parser.parse_args()
    return run(args.root, check=args.check, listing=args.list)


if __name__ == "__main__":
    sys.exit(main())
