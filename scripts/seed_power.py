#!/usr/bin/env python3
"""Per-seed differences of two rows of an experiment, and the smallest gain N paired seeds detect.

For each seed both rows ran, the test F1 of each (eval-SPLIT.json in the records folder) and
their difference; then the differences' mean and sample standard deviation, and the smallest
mean gain a one-sided paired test at level ALPHA (divided by the number of comparisons, Holm's
first step) would detect with 80 % power at N seeds, by the t approximation
(t(1 - alpha, N - 1) + t(0.8, N - 1)) * sd / sqrt(N). The tables' own test is the exact
sign-flip test across seeds; the t approximation only sizes it.

    scripts/seed_power.py results/ten-seeds/cells mars-baseline-c668d82a mars-cd-c18bd054 \
        [--split test] [--seeds 10] [--comparisons 2]
"""

import argparse
import json
import math
import statistics
from pathlib import Path


def t_cdf(x: float, df: int) -> float:
    """Student's t distribution function, by Simpson's rule on the density from 0 to |x|."""
    c = math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2)) / math.sqrt(df * math.pi)
    steps = 2000
    h = abs(x) / steps
    total = 0.0
    for i in range(steps + 1):
        w = 1 if i in (0, steps) else (4 if i % 2 else 2)
        total += w * c * (1 + (i * h) ** 2 / df) ** (-(df + 1) / 2)
    half = total * h / 3
    return 0.5 + math.copysign(half, x)


def t_quantile(p: float, df: int) -> float:
    lo, hi = -50.0, 50.0
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if t_cdf(mid, df) < p else (lo, mid)
    return (lo + hi) / 2


def f1_by_seed(cells: Path, prefix: str, split: str) -> dict[int, float]:
    out = {}
    for cell in cells.glob(f"{prefix}-seed-*"):
        record = cell / f"eval-{split}.json"
        if record.exists():
            out[int(cell.name.rsplit("-", 1)[1])] = json.loads(record.read_text())["micro"]["f1"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cells", type=Path, help="a records folder's cells/ (RESULTS/cells)")
    ap.add_argument("reference", help="the reference row's cell name without -seed-N")
    ap.add_argument("row", help="the compared row's cell name without -seed-N")
    ap.add_argument("--split", default="test")
    ap.add_argument("--seeds", type=int, default=10, help="the N to size the test for")
    ap.add_argument("--comparisons", type=int, default=1, help="comparisons Holm divides by")
    ap.add_argument("--alpha", type=float, default=0.05)
    args = ap.parse_args()
    ref = f1_by_seed(args.cells, args.reference, args.split)
    row = f1_by_seed(args.cells, args.row, args.split)
    seeds = sorted(set(ref) & set(row))
    if len(seeds) < 2:
        raise SystemExit(f"{len(seeds)} seed(s) in both rows under {args.cells}: need two")
    diffs = [row[s] - ref[s] for s in seeds]
    for s, d in zip(seeds, diffs):
        print(f"seed {s:>2}: {args.reference} {ref[s]:.2f}  {args.row} {row[s]:.2f}  diff {d:+.2f}")
    mean, sd = statistics.mean(diffs), statistics.stdev(diffs)
    n = args.seeds
    level = 1 - args.alpha / args.comparisons
    factor = (t_quantile(level, n - 1) + t_quantile(0.8, n - 1)) / math.sqrt(n)
    print(f"{len(seeds)} paired seeds: mean diff {mean:+.2f}, sd {sd:.2f}")
    print(
        f"smallest gain detected with 80 % power at {n} seeds (one-sided {args.alpha}"
        f" / {args.comparisons}): {factor:.2f} x sd = {factor * sd:.2f} F1"
    )


if __name__ == "__main__":
    main()
