#!/usr/bin/env python3
"""Scorer parity: `enrelg conlleval` against seqeval's conlleval-compatible
default mode, on tricky chunk fixtures and any real prediction files given.

    python tests/scorer_parity.py ENRELG_BINARY FILE.conll [FILE.conll ...]

Every printed digit (two decimals, as conlleval prints) of micro and per-type
precision, recall and F1 must agree.
"""
import json
import subprocess
import sys

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score


def read(path):
    gold, pred, g, p = [], [], [], []
    for line in open(path, encoding="utf-8"):
        cols = line.split()
        if not cols or cols[0] == "-DOCSTART-":
            if g:
                gold.append(g)
                pred.append(p)
            g, p = [], []
            continue
        g.append(cols[-2])
        p.append(cols[-1])
    if g:
        gold.append(g)
        pred.append(p)
    return gold, pred


def main(binary, files):
    failures = 0
    for path in files:
        ours = json.loads(subprocess.run([binary, "conlleval", "--json", path], check=True, capture_output=True, text=True).stdout)
        gold, pred = read(path)
        theirs = {"precision": 100 * precision_score(gold, pred), "recall": 100 * recall_score(gold, pred), "f1": 100 * f1_score(gold, pred)}
        report = classification_report(gold, pred, output_dict=True, zero_division=0)
        rows = [("micro", ours["micro"], theirs)]
        for ty, prf in ours["per_type"].items():
            r = report.get(ty, {"precision": 0, "recall": 0, "f1-score": 0})
            rows.append((ty, prf, {"precision": 100 * r["precision"], "recall": 100 * r["recall"], "f1": 100 * r["f1-score"]}))
        for name, o, t in rows:
            for key in ("precision", "recall", "f1"):
                if f"{o[key]:.2f}" != f"{t[key]:.2f}":
                    failures += 1
                    print(f"{path} {name} {key}: enrelg {o[key]:.2f} seqeval {t[key]:.2f}")
        print(f"{path}: micro P {ours['micro']['precision']:.2f} R {ours['micro']['recall']:.2f} F1 {ours['micro']['f1']:.2f} "
              f"(seqeval {theirs['precision']:.2f} {theirs['recall']:.2f} {theirs['f1']:.2f}), {len(rows) - 1} types")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
