#!/usr/bin/env python3
"""Example: open enrelg shards with polars and list the acronym edges.

    .venv/bin/python scripts/acronym_edges.py shards/anatem devel | head

Prints, for each acronym edge, the window, the document and the two words it
links, then the acronym definitions found per document.
"""
import sys

import polars as pl

shards, split = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "dev"
edges = pl.read_ipc(f"{shards}/{split}/edges.arrow")
windows = pl.read_ipc(f"{shards}/{split}/windows.arrow").select("window_id", "doc_id", "word_start")
tokens = pl.read_ipc(f"{shards}/{split}/tokens.arrow").select("doc_id", "idx", "form")

acronym_edges = (
    edges.filter(pl.col("kind") == "acronym")
    .join(windows, on="window_id")
    .with_columns((pl.col("word_start") + pl.col("src")).alias("src_idx"), (pl.col("word_start") + pl.col("dst")).alias("dst_idx"))
    .join(tokens.rename({"idx": "src_idx", "form": "src_form"}), on=["doc_id", "src_idx"])
    .join(tokens.rename({"idx": "dst_idx", "form": "dst_form"}), on=["doc_id", "dst_idx"])
    .select("window_id", "doc_id", "src_form", "dst_form")
    .sort("window_id", "src_form", "dst_form")
)
print(f"{acronym_edges.height} acronym edges in {split}")
with pl.Config(tbl_rows=20):
    print(acronym_edges)
    print(pl.read_ipc(f"{shards}/{split}/acronyms.arrow").select("doc_id", "short_form", "long_form"))
