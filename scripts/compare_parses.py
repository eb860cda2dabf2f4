#!/usr/bin/env python3
"""Compare two CoNLL-U parse trees of the same `.txt` files.

    python scripts/compare_parses.py REFERENCE_DIR OTHER_DIR

Token boundary agreement: tokens (TokenRange spans) present in both, over the
tokens of each. Sentence boundary agreement: sentence start offsets present in
both, over the sentences of each. Files are paired by relative path.
"""
import os
import sys


def read(path):
    tokens, starts = set(), set()
    first = True
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            first = True
            continue
        if line.startswith("#"):
            continue
        cols = line.split("\t")
        if "-" in cols[0] or "." in cols[0]:
            continue
        rng = next((m[len("TokenRange="):] for m in cols[9].split("|") if m.startswith("TokenRange=")), None)
        if rng is None:
            raise SystemExit(f"{path}: token without TokenRange: {line}")
        s, e = map(int, rng.split(":"))
        tokens.add((s, e))
        if first:
            starts.add(s)
            first = False
    return tokens, starts


def main(a_dir, b_dir):
    totals = dict(a_tok=0, b_tok=0, both_tok=0, a_sent=0, b_sent=0, both_sent=0, docs=0)
    for root, _, files in os.walk(a_dir):
        for name in sorted(files):
            if not name.endswith(".conllu"):
                continue
            rel = os.path.relpath(os.path.join(root, name), a_dir)
            other = os.path.join(b_dir, rel)
            if not os.path.exists(other):
                raise SystemExit(f"{other}: missing")
            at, asent = read(os.path.join(root, name))
            bt, bsent = read(other)
            totals["docs"] += 1
            totals["a_tok"] += len(at)
            totals["b_tok"] += len(bt)
            totals["both_tok"] += len(at & bt)
            totals["a_sent"] += len(asent)
            totals["b_sent"] += len(bsent)
            totals["both_sent"] += len(asent & bsent)
    t = totals
    print(f"documents {t['docs']}")
    print(f"tokens: reference {t['a_tok']}, other {t['b_tok']}, identical spans {t['both_tok']} "
          f"({100 * t['both_tok'] / t['a_tok']:.2f} % of reference, {100 * t['both_tok'] / t['b_tok']:.2f} % of other)")
    print(f"sentences: reference {t['a_sent']}, other {t['b_sent']}, same start {t['both_sent']} "
          f"({100 * t['both_sent'] / t['a_sent']:.2f} % of reference, {100 * t['both_sent'] / t['b_sent']:.2f} % of other)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
