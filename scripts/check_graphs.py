#!/usr/bin/env python3
"""Independent check of the entity relation graphs in a shard folder.

A second, deliberately simple implementation: it reads `tokens`, `windows`,
`acronyms` and `edges` with polars, recomputes every coreference and
dependency edge of every window from the token rows with plain loops, and
compares with the `edges` table exactly (same pairs, same kinds). Acronym
*definitions* are taken from the `acronyms` table (their detection is tested
in Rust); how they turn into edges is recomputed here.

    python scripts/check_graphs.py shards/mars dev
"""
import sys
import time
from collections import defaultdict

import polars as pl

STOP = set("""a about above after again against all am an and any are as at be because been before being below between
both but by can could did do does doing down during each few for from further had has have having he her here hers
herself him himself his how i if in into is it its itself just may me might more most must my myself no nor not now of
off on once only or other our ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were what when where which while
who whom why will with would you your yours yourself yourselves""".split())
SUBJ, OBJ = {"nsubj", "nsubjpass", "nsubj:pass"}, {"dobj", "obj"}
COMPOUND = {"compound", "nn"}
MODIFIER = {"amod", "nmod", "nummod", "poss", "nmod:poss", "npadvmod", "nmod:npmod", "advmod", "appos", "quantmod",
            "acl", "relcl", "acl:relcl", "nounmod"}
PRIORITY = ["key_head", "key_sibling", "compound", "modifier", "arc"]


def is_number(f):
    return any(c.isdigit() for c in f) and all(c.isdigit() or c in ".,-+^/x%" for c in f)


def content(t):
    f = t["form"]
    punct = all(not c.isalnum() for c in f)
    return f.lower() not in STOP and not punct and not is_number(f) and t["upos"] not in ("PUNCT", "NUM", "SYM")


def coref(toks, lo, hi, acronyms):
    edges = {}
    nouns = [w for w in range(lo, hi) if toks[w]["upos"] in ("NOUN", "PROPN") and content(toks[w])]
    for i, a in enumerate(nouns):
        for b in nouns[i + 1:]:
            if toks[a]["lemma"] == toks[b]["lemma"]:
                edges[(a - lo, b - lo)] = "exact" if toks[a]["form"] == toks[b]["form"] else "lemma"
    lower = [t["form"].lower() for t in toks]
    for a in acronyms:
        long = lower[a["long_start"]:a["long_end"]]
        n = len(long)
        starts = [p for p in range(len(lower) - n + 1) if lower[p:p + n] == long]
        words = {w for p in starts for w in range(p, p + n) if lo <= w < hi and content(toks[w])}
        first = min(a["short"], a["long_start"])
        for m in range(max(lo, first), hi):
            if toks[m]["form"] != a["short_form"]:
                continue
            for w in words:
                if w != m:
                    edges.setdefault((min(m, w) - lo, max(m, w) - lo), "acronym")
    return edges


DOC_K = 2  # DOC_COREF_NEIGHBOURS in pipeline/src/graph.rs; the manifest records it


def document_coref(toks, spans, acronyms, k):
    """Coreference edges between words of different windows of one document,
    each word keeping its k nearest matching mentions in other windows."""
    window = {}
    for i, (lo, hi) in enumerate(spans):
        for w in range(lo, hi):
            window[w] = i
    edges = {}

    def nearest(w, candidates):
        others = [c for c in candidates if window[c] != window[w]]
        others.sort(key=lambda c: (abs(c - w), c))
        return others[:k]

    groups = defaultdict(list)
    for w, t in enumerate(toks):
        if t["upos"] in ("NOUN", "PROPN") and content(t):
            groups[t["lemma"]].append(w)
    for group in groups.values():
        for a in group:
            for b in nearest(a, group):
                edges[(min(a, b), max(a, b))] = "exact" if toks[a]["form"] == toks[b]["form"] else "lemma"
    lower = [t["form"].lower() for t in toks]
    for a in acronyms:
        long = lower[a["long_start"]:a["long_end"]]
        starts = [p for p in range(len(lower) - len(long) + 1) if lower[p:p + len(long)] == long]
        words = sorted({w for p in starts for w in range(p, p + len(long)) if content(toks[w])})
        first = min(a["short"], a["long_start"])
        mentions = [m for m in range(first, len(toks)) if toks[m]["form"] == a["short_form"]]
        for m in mentions:
            for w in nearest(m, words):
                edges.setdefault((min(m, w), max(m, w)), "acronym")
        for w in words:
            for m in nearest(w, mentions):
                edges.setdefault((min(m, w), max(m, w)), "acronym")
    return {key: kind for key, kind in edges.items() if key[0] != key[1]}


def dependency(toks, lo, hi):
    edges = {}

    def add(a, b, kind):
        key = (min(a, b) - lo, max(a, b) - lo)
        old = edges.get(key)
        if old is None or PRIORITY.index(kind) < PRIORITY.index(old):
            edges[key] = kind

    deps = defaultdict(list)
    for w in range(lo, hi):
        h = toks[w]["head"]
        if h is not None and toks[w]["deprel"].lower() in SUBJ | OBJ:
            deps[h].append(w)
    in_key = set()
    for h, ds in deps.items():
        for i, a in enumerate(ds):
            if lo <= h < hi:
                add(a, h, "key_head")
                in_key |= {a, h}
            for b in ds[i + 1:]:
                add(a, b, "key_sibling")
                in_key |= {a, b}
    for w in range(lo, hi):
        h = toks[w]["head"]
        if h is None or not (lo <= h < hi) or h == w:
            continue
        rel = toks[w]["deprel"].lower()
        if h in in_key and rel in COMPOUND:
            add(w, h, "compound")
        elif h in in_key and rel in MODIFIER:
            add(w, h, "modifier")
        else:
            add(w, h, "arc")
    return edges


def main(shards, split):
    tokens = pl.read_ipc(f"{shards}/{split}/tokens.arrow")
    windows = pl.read_ipc(f"{shards}/{split}/windows.arrow")
    edges = pl.read_ipc(f"{shards}/{split}/edges.arrow")
    acronyms = pl.read_ipc(f"{shards}/{split}/acronyms.arrow")
    by_doc = defaultdict(list)
    for t in tokens.iter_rows(named=True):
        by_doc[t["doc_id"]].append(t)
    acr_by_doc = defaultdict(list)
    for a in acronyms.iter_rows(named=True):
        acr_by_doc[a["doc_id"]].append(a)
    stored = defaultdict(dict)
    for e in edges.iter_rows(named=True):
        key = (e["graph"], e["src"], e["dst"])
        assert e["src"] < e["dst"], f"window {e['window_id']}: edge {key} not stored with src < dst"
        assert key not in stored[e["window_id"]], f"window {e['window_id']}: pair {key} stored twice in one graph"
        stored[e["window_id"]][key] = e["kind"]
    mismatches = 0
    total = 0
    words = 0
    seconds = 0.0  # building the graphs only (`make bench` compares it with the Rust graph stage)
    for w in windows.iter_rows(named=True):
        toks = by_doc[w["doc_id"]]
        lo, hi = w["word_start"], w["word_end"]
        words += hi - lo
        t0 = time.perf_counter()
        # A pair can be in both graphs: one row per graph.
        want = {("dep",) + k: v for k, v in dependency(toks, lo, hi).items()}
        want.update({("coref",) + k: v for k, v in coref(toks, lo, hi, acr_by_doc[w["doc_id"]]).items()})
        seconds += time.perf_counter() - t0
        got = stored[w["window_id"]]
        total += len(want)
        if want != got:
            mismatches += 1
            if mismatches <= 5:
                missing = {k: v for k, v in want.items() if got.get(k) != v}
                extra = {k: v for k, v in got.items() if want.get(k) != v}
                print(f"window {w['window_id']} ({w['doc_id']}): expected-not-stored {missing}, stored-not-expected {extra}")
    print(f"{split}: {windows.height} windows, {total} edges recomputed, {mismatches} windows differ; graphs of {words} words built in {seconds:.4f} s")
    # Document edges: recomputed per document, compared by document positions.
    doc_edges = pl.read_ipc(f"{shards}/{split}/doc_edges.arrow")
    start_of = {w["window_id"]: w["word_start"] for w in windows.iter_rows(named=True)}
    stored_doc = defaultdict(dict)
    for e in doc_edges.iter_rows(named=True):
        a, b = start_of[e["src_window"]] + e["src"], start_of[e["dst_window"]] + e["dst"]
        assert a < b and e["src_window"] != e["dst_window"], f"doc_edges: {e} is not a cross-window pair in document order"
        stored_doc[e["doc_id"]][(a, b)] = e["kind"]
    spans = defaultdict(list)
    for w in windows.iter_rows(named=True):
        spans[w["doc_id"]].append((w["word_start"], w["word_end"]))
    doc_mismatches = 0
    doc_total = 0
    doc_seconds = 0.0
    for doc_id, toks in by_doc.items():
        t0 = time.perf_counter()
        want = document_coref(toks, sorted(spans[doc_id]), acr_by_doc[doc_id], DOC_K)
        doc_seconds += time.perf_counter() - t0
        doc_total += len(want)
        if want != stored_doc.get(doc_id, {}):
            doc_mismatches += 1
            if doc_mismatches <= 5:
                got = stored_doc.get(doc_id, {})
                print(f"document {doc_id}: expected-not-stored {dict((k, v) for k, v in want.items() if got.get(k) != v)}, stored-not-expected {dict((k, v) for k, v in got.items() if want.get(k) != v)}")
    print(f"{split}: {len(by_doc)} documents, {doc_total} document edges recomputed, {doc_mismatches} documents differ; built in {doc_seconds:.4f} s")
    return 1 if mismatches or doc_mismatches else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "dev"))
