"""The spaCy peer: spaCy's own NER trained by `spacy train` from its CPU config
(`spacy init config --pipeline ner --optimize efficiency`), on the same train entities as the
project (the shards' aligned gold, as character spans), model-best chosen by spaCy on dev, and
tagging the raw test texts with its own tokenizer."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from common import Doc, bio_to_spans


def docbin(docs: list[Doc], path: Path, log) -> dict:
    """The gold entities of `docs` as a spaCy corpus; an entity that spaCy's tokens cannot hold
    is widened to the tokens it touches (`alignment_mode="expand"`), one that overlaps an earlier
    one is dropped, both counted."""
    nlp = spacy.blank("en")
    db = DocBin()
    counts = {"entities": 0, "expanded": 0, "dropped_overlap": 0}
    for d in docs:
        doc = nlp.make_doc(d.text)
        ents = []
        taken: set[int] = set()
        for ty, s, e in bio_to_spans(d, [t.label for t in d.tokens]):
            span = doc.char_span(s, e, label=ty, alignment_mode="expand")
            counts["entities"] += 1
            if span is None:
                counts["dropped_overlap"] += 1
                continue
            if (span.start_char, span.end_char) != (s, e):
                counts["expanded"] += 1
            if any(i in taken for i in range(span.start, span.end)):
                counts["dropped_overlap"] += 1
                continue
            taken.update(range(span.start, span.end))
            ents.append(span)
        doc.ents = ents
        db.add(doc)
    db.to_disk(path)
    log(f"spacy corpus {path.name}: {counts}")
    return counts


def train(train_docs: list[Doc], dev_docs: list[Doc], work: Path, seed: int, log) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    corpus = {"train": docbin(train_docs, work / "train.spacy", log), "dev": docbin(dev_docs, work / "dev.spacy", log)}
    cfg = work / "config.cfg"
    py = sys.executable
    subprocess.run(
        [py, "-m", "spacy", "init", "config", str(cfg), "--lang", "en", "--pipeline", "ner", "--optimize", "efficiency", "--force"],
        check=True,
        capture_output=True,
    )
    clock = time.time()
    with open(work / "train.log", "w") as logf:
        subprocess.run(
            [py, "-m", "spacy", "train", str(cfg), "--output", str(work / "model"),
             "--paths.train", str(work / "train.spacy"), "--paths.dev", str(work / "dev.spacy"),
             "--system.seed", str(seed)],
            check=True,
            stdout=logf,
            stderr=subprocess.STDOUT,
        )
    secs = time.time() - clock
    best = spacy.load(work / "model" / "model-best")
    dev_f1 = 100.0 * best.meta["performance"]["ents_f"]
    log(f"spacy trained in {secs:.0f} s; model-best dev ents_f {dev_f1:.2f} (spaCy's own token-level score)")
    return {"model": best, "train_seconds": secs, "spacy_dev_f1": dev_f1, "corpus": corpus, "config": cfg.read_text()}


def predict(nlp, docs: list[Doc]) -> tuple[dict[str, list], float]:
    """Entities of each raw text, and the seconds the tagging took."""
    clock = time.time()
    out = {}
    for d, doc in zip(docs, nlp.pipe(d.text for d in docs)):
        out[d.id] = [(e.label_, e.start_char, e.end_char) for e in doc.ents]
    return out, time.time() - clock
