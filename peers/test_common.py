"""The peers' shared scoring (common.py): projection onto the project's tokens, brat output,
and both scores through the real binary (ENRELG_BIN, as python/tests use it)."""

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from common import Doc, Token, bio_to_spans, spans_to_bio  # noqa: E402
from run import read_ann_spans  # noqa: E402

TEXT = "Curiosity found hematite\tand jarosite in Buckskin.\nGale crater"


def doc() -> Doc:
    d = Doc("d1", "d1", TEXT)
    labels = ["O", "O", "B-Mineral", "O", "B-Mineral", "O", "B-Target", "O", "B-Target", "I-Target"]
    pos = 0
    for i, (form, label) in enumerate(zip(["Curiosity", "found", "hematite", "and", "jarosite", "in", "Buckskin", ".", "Gale", "crater"], labels)):
        start = TEXT.index(form, pos)
        pos = start + len(form)
        d.tokens.append(Token(form, form.lower(), "X", "dep", None, start, pos, label, 0 if i < 8 else 1))
    return d


def test_spans_and_bio_round_trip_and_conlleval_chunks():
    d = doc()
    gold = [t.label for t in d.tokens]
    spans = bio_to_spans(d, gold)
    assert [(ty, TEXT[s:e]) for ty, s, e in spans] == [
        ("Mineral", "hematite"), ("Mineral", "jarosite"), ("Target", "Buckskin"), ("Target", "Gale crater")]
    assert spans_to_bio(d, spans).tags == gold
    # An I- after O starts an entity, as conlleval reads it.
    assert bio_to_spans(d, ["O", "I-Target"] + ["O"] * 8) == [("Target", 10, 15)]


def test_a_span_cut_inside_tokens_covers_the_tokens_it_touches_and_overlaps_are_counted():
    d = doc()
    # "ematite and jaro" touches hematite, and, jarosite; the second span overlaps it.
    s = TEXT.index("ematite")
    proj = spans_to_bio(d, [("Mineral", s, TEXT.index("site")), ("Target", TEXT.index("jarosite"), TEXT.index("jarosite") + 8), ("Target", 0, 0)])
    assert proj.tags[2:5] == ["B-Mineral", "I-Mineral", "I-Mineral"]
    assert (proj.overlapping, proj.no_token) == (1, 1)


def test_ann_surfaces_replace_line_breaks_and_read_back(tmp_path):
    path = tmp_path / "x.ann"
    common.write_ann(path, TEXT, [("Target", TEXT.index("Buckskin"), TEXT.index("crater") + 6)])
    line = path.read_text().splitlines()[0]
    assert line.split("\t")[2] == "Buckskin. Gale crater"
    assert read_ann_spans(path) == [("Target", TEXT.index("Buckskin"), TEXT.index("crater") + 6)]


@pytest.mark.skipif(not os.environ.get("ENRELG_BIN"), reason="needs ENRELG_BIN (make test-python)")
def test_both_scores_of_a_perfect_and_a_partial_system(tmp_path, monkeypatch):
    monkeypatch.setenv("ENRELG", os.environ["ENRELG_BIN"])
    d = doc()
    gold_dir = tmp_path / "corpus" / "standoff" / "test"
    gold_dir.mkdir(parents=True)
    (gold_dir / "d1.txt").write_text(TEXT)
    spans = bio_to_spans(d, [t.label for t in d.tokens])
    common.write_ann(gold_dir / "d1.ann", TEXT, spans)
    types = ["Mineral", "Target"]
    perfect = common.score([d], {"d1": spans}, tmp_path / "corpus", "test", types, tmp_path / "perfect")
    assert perfect["brat"]["micro"]["f1"] == pytest.approx(100.0)
    assert perfect["conlleval"]["micro"]["f1"] == pytest.approx(100.0)
    half = common.score([d], {"d1": spans[:2]}, tmp_path / "corpus", "test", types, tmp_path / "half")
    for way in ("brat", "conlleval"):
        m = half[way]["micro"]
        assert (m["precision"], m["recall"]) == (pytest.approx(100.0), pytest.approx(50.0)), way
