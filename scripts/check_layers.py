#!/usr/bin/env python3
"""Check that each crate's top-level modules depend on each other one way only.

Each module may use only modules of earlier layers (LAYERS, the order of docs/architecture.md);
a `crate::X` reference outside test code from a module to one of a later or the same layer
(other than itself) is printed with its file and line, and the exit status is 1. Grouped imports
(`use crate::{a, b::c}`, over several lines too) count each name. Test modules
(`#[cfg(test)] mod`) may use anything; `lib.rs` and `main.rs` only declare.

    python3 scripts/check_layers.py            # every crate below
    python3 scripts/check_layers.py trainer/src
"""
import os
import re
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

LAYERS = {
    # The trainer library, then its command layer (`cli/`), which nothing below may use.
    "trainer/src": [
        ["device", "rng"],
        ["model"],
        ["config"],
        ["data"],
        ["run"],
        ["metrics"],
        ["decode"],
        ["train", "evaluate", "tag", "relation"],
        ["report"],
        ["experiment"],
        ["show"],
        ["cli"],
    ],
    # The pipeline's stages in the order data flows (pipeline/src/lib.rs).
    "pipeline/src": [
        ["fs", "skips"],
        ["read"],
        ["align"],
        ["words"],
        ["window"],
        ["graph"],
        ["relation"],
        ["shard"],
        ["report"],
        ["fuzzing"],
    ],
}


def code_without_tests(text: str) -> str:
    """The text up to its test module, without line comments (doc comments included)."""
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub\s+)?mod\s+\w+", text, re.M)
    text = text[: m.start()] if m else text
    return re.sub(r"(?m)^\s*//.*$", "", text)


def used_modules(text: str):
    """(line, module) for every `crate::X` and every name of a `crate::{...}` group."""
    for m in re.finditer(r"\bcrate::(\w+)", text):
        yield text.count("\n", 0, m.start()) + 1, m.group(1)
    for m in re.finditer(r"\bcrate::\{", text):
        depth, i, item_start = 1, m.end(), m.end()
        names = []
        while i < len(text) and depth:
            c = text[i]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            if depth == 1 and c == "," or depth == 0:
                names.append(text[item_start:i])
                item_start = i + 1
            i += 1
        line = text.count("\n", 0, m.start()) + 1
        for name in names:
            head = re.match(r"\s*(\w+)", name)
            if head and head.group(1) not in ("self", "super"):
                yield line, head.group(1)


def check(src: str, layers: list) -> int:
    """`src` relative to the repository; the count of references against the layers."""
    rank = {m: i for i, layer in enumerate(layers) for m in layer}
    bad = 0
    for d, _, files in os.walk(os.path.join(ROOT, src)):
        for f in sorted(files):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, os.path.join(ROOT, src))
            top = rel.split(os.sep)[0].removesuffix(".rs")
            if top in ("main", "lib"):
                continue
            if top not in rank:
                print(f"{src}/{rel}: module {top} has no layer in scripts/check_layers.py")
                bad += 1
                continue
            text = code_without_tests(open(path, encoding="utf-8").read())
            for n, used in used_modules(text):
                if used != top and used in rank and rank[used] >= rank[top]:
                    print(f"{src}/{rel}:{n}: {top} uses {used}, which is not an earlier layer")
                    bad += 1
    if not bad:
        print(f"{src}: " + " <- ".join("/".join(layer) for layer in layers) + ": one way")
    return bad


def main() -> int:
    crates = sys.argv[1:] or list(LAYERS)
    bad = 0
    for src in crates:
        key = os.path.relpath(os.path.abspath(src), ROOT) if os.path.isabs(src) else src.rstrip("/")
        if key not in LAYERS:
            print(f"{src}: no layers known (one of {', '.join(LAYERS)})")
            return 2
        bad += check(key, LAYERS[key])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
