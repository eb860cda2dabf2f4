"""The feature CRF peer: CRFsuite (L-BFGS, L1 + L2) through sklearn-crfsuite, on the project's
tokens and parse, with the features a CRF tagger lives on: the word, its lemma, affixes, shape,
POS and dependency label, and those of a window of neighbours. c1 and c2 are chosen on dev."""

from __future__ import annotations

import itertools
import re
import time

import sklearn_crfsuite

from common import Doc

# The regularisation grid searched on dev (CRFsuite's L1 and L2 coefficients).
C1 = [0.01, 0.1, 0.5]
C2 = [0.01, 0.1]
MAX_ITERATIONS = 150


def shape(word: str) -> str:
    s = re.sub("[A-Z]", "X", word)
    s = re.sub("[a-z]", "x", s)
    s = re.sub("[0-9]", "d", s)
    return re.sub(r"(.)\1{2,}", r"\1\1", s)


def token_features(doc: Doc, sent: list[int], k: int) -> dict[str, object]:
    t = doc.tokens[sent[k]]
    w = t.form
    f: dict[str, object] = {
        "bias": 1.0,
        "w": w.lower(),
        "lemma": t.lemma.lower(),
        "pre2": w[:2].lower(),
        "pre3": w[:3].lower(),
        "pre4": w[:4].lower(),
        "suf2": w[-2:].lower(),
        "suf3": w[-3:].lower(),
        "suf4": w[-4:].lower(),
        "shape": shape(w),
        "upper": w.isupper(),
        "title": w.istitle(),
        "digit": any(c.isdigit() for c in w),
        "len": min(len(w), 10),
        "upos": t.upos,
        "deprel": t.deprel,
    }
    if t.head is not None and t.head < len(doc.tokens):
        h = doc.tokens[t.head]
        f["head_lemma"] = h.lemma.lower()
        f["head_upos"] = h.upos
    for off in (-2, -1, 1, 2):
        j = k + off
        if 0 <= j < len(sent):
            n = doc.tokens[sent[j]]
            f[f"{off}:w"] = n.form.lower()
            f[f"{off}:shape"] = shape(n.form)
            f[f"{off}:upos"] = n.upos
            f[f"{off}:title"] = n.form.istitle()
            if abs(off) == 1:
                f[f"{off}:lemma"] = n.lemma.lower()
                f[f"{off}:deprel"] = n.deprel
                f[f"{off}:suf3"] = n.form[-3:].lower()
        else:
            f[f"{off}:pad"] = True
    return f


def sequences(docs: list[Doc]) -> tuple[list, list, list]:
    """(features, gold tags, (document, token indices)) per sentence of the parse."""
    xs, ys, where = [], [], []
    for d in docs:
        for sent in d.sentences():
            xs.append([token_features(d, sent, k) for k in range(len(sent))])
            ys.append([d.tokens[i].label for i in sent])
            where.append((d, sent))
    return xs, ys, where


def tags_by_doc(docs: list[Doc], where, pred) -> dict[str, list[str]]:
    out = {d.id: ["O"] * len(d.tokens) for d in docs}
    for (d, sent), tags in zip(where, pred):
        for i, tag in zip(sent, tags):
            out[d.id][i] = tag
    return out


def train(train_docs: list[Doc], dev_docs: list[Doc], dev_f1, log, c1s=C1, c2s=C2) -> dict:
    """Fit one CRF per (c1, c2), keep the best on dev (`dev_f1(tags_by_doc) -> F1`)."""
    xs, ys, _ = sequences(train_docs)
    dxs, _, dwhere = sequences(dev_docs)
    sweep = []
    best = None
    for c1, c2 in itertools.product(c1s, c2s):
        clock = time.time()
        crf = sklearn_crfsuite.CRF(
            algorithm="lbfgs", c1=c1, c2=c2, max_iterations=MAX_ITERATIONS, all_possible_transitions=True
        )
        crf.fit(xs, ys)
        f1 = dev_f1(tags_by_doc(dev_docs, dwhere, crf.predict(dxs)))
        secs = time.time() - clock
        log(f"crf c1={c1} c2={c2}: dev F1 {f1:.2f} ({secs:.0f} s)")
        sweep.append({"c1": c1, "c2": c2, "dev_f1": f1, "train_seconds": secs})
        if best is None or f1 > best[0]:
            best = (f1, crf, secs, {"c1": c1, "c2": c2})
    return {"model": best[1], "chosen": best[3], "dev_f1": best[0], "train_seconds": best[2], "sweep": sweep}


def predict(model, docs: list[Doc]) -> dict[str, list[str]]:
    xs, _, where = sequences(docs)
    return tags_by_doc(docs, where, model.predict(xs))
