#!/usr/bin/env python3
"""Check that the trainer library's top-level modules depend on each other one way only.

Each module may use only modules of earlier layers (LAYERS, the order of docs/architecture.md);
a `crate::X` reference outside test code from a module to one of a later or the same layer
(other than itself) is printed and the exit status is 1. Test modules (`#[cfg(test)] mod`) may
use anything.

    python3 scripts/check_layers.py [trainer/src]
"""
import os
import re
import sys

LAYERS = [
    ["device", "rng"],
    ["model"],
    ["config"],
    ["data"],
    ["run"],
    ["metrics"],
    ["decode"],
    ["train", "evaluate", "tag"],
    ["report"],
    ["experiment"],
    ["show"],
]
RANK = {m: i for i, layer in enumerate(LAYERS) for m in layer}


def code_without_tests(text: str) -> str:
    """The text up to its test module."""
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub\s+)?mod\s+\w+", text, re.M)
    return text[: m.start()] if m else text


def main() -> int:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "trainer", "src")
    bad = 0
    for d, _, files in os.walk(root):
        for f in sorted(files):
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if not f.endswith(".rs") or top in ("cli", "main", "lib"):
                continue
            if top not in RANK:
                print(f"{rel}: module {top} has no layer in scripts/check_layers.py")
                bad += 1
                continue
            text = code_without_tests(open(path, encoding="utf-8").read())
            for n, line in enumerate(text.split("\n"), 1):
                if line.lstrip().startswith("//"):
                    continue
                for used in re.findall(r"\bcrate::(\w+)", line):
                    if used != top and used in RANK and RANK[used] >= RANK[top]:
                        print(f"{rel}:{n}: {top} uses {used}, which is not an earlier layer")
                        bad += 1
    if bad:
        return 1
    print("layers: " + " <- ".join("/".join(layer) for layer in LAYERS) + ": one way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
