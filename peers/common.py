"""What every peer shares: the project's tokens of a split, brat output, and the two scores.

Every system is scored the same two ways (docs/peers.md):
- brat level: its entities as `.ann` files, scored by `enrelg score` against the gold `.ann`
  of the corpus, so every system meets the same gold whatever its tokens;
- conlleval on the project's tokens: its character spans projected onto the tokens of the
  project's parse (the shards' `tokens.arrow`), scored by `enrelg conlleval` against the
  shards' gold labels, as results/ and the paper score.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.ipc as ipc

# Characters that end a line for brat's reader (Python's str.splitlines) or split its fields;
# brat writes them as spaces in an entity's surface, and `enrelg score` folds whitespace.
_LINE_BREAKS = set("\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\t")


@dataclass
class Token:
    form: str
    lemma: str
    upos: str
    deprel: str
    head: int | None
    start: int
    end: int
    label: str
    sentence: int


@dataclass
class Doc:
    """One document of a split: its id, relative path (no extension) and text, its tokens."""

    id: str
    rel: str
    text: str
    tokens: list[Token] = field(default_factory=list)

    def sentences(self) -> list[list[int]]:
        """Token indices grouped by the parse's sentences, in order."""
        out: list[list[int]] = []
        last = None
        for i, t in enumerate(self.tokens):
            if t.sentence != last:
                out.append([])
                last = t.sentence
            out[-1].append(i)
        return out


def enrelg_bin() -> str:
    """The release binary (make build), or $ENRELG."""
    if os.environ.get("ENRELG"):
        return os.environ["ENRELG"]
    target = os.environ.get("CARGO_TARGET_DIR", str(Path.home() / ".cache/enrelg-target"))
    return str(Path(target) / "release" / "enrelg")


def read_table(path: Path) -> dict[str, list]:
    with ipc.open_file(path) as f:
        return f.read_all().to_pydict()


def standoff_dirs(corpus: Path, split: str) -> Path:
    """The gold brat folder of a split (`standoff/SPLIT`), as the manifest names it."""
    return corpus / "standoff" / split


def load_split(shards: Path, corpus: Path, split: str) -> list[Doc]:
    """The documents of `split` with the project's tokens and gold BIO labels.

    Each document is matched to its gold `.txt` under `corpus/standoff/SPLIT` by id, and the
    texts must agree: the scores below compare offsets into these texts.
    """
    docs_t = read_table(shards / split / "documents.arrow")
    toks = read_table(shards / split / "tokens.arrow")
    gold_root = standoff_dirs(corpus, split)
    by_stem = {p.relative_to(gold_root).with_suffix("").as_posix(): p for p in gold_root.rglob("*.txt")}
    docs: dict[str, Doc] = {}
    for doc_id, text in zip(docs_t["doc_id"], docs_t["text"]):
        rel = doc_id if doc_id in by_stem else next((r for r in by_stem if Path(r).name == doc_id), None)
        if rel is None:
            raise SystemExit(f"{shards / split / 'documents.arrow'}: document {doc_id!r} has no .txt under {gold_root}")
        gold_text = by_stem[rel].read_text(encoding="utf-8")
        if gold_text != text:
            raise SystemExit(f"{by_stem[rel]}: text differs from the shards' document {doc_id!r} (rebuild the shards)")
        docs[doc_id] = Doc(doc_id, rel, text)
    for i, doc_id in enumerate(toks["doc_id"]):
        docs[doc_id].tokens.append(
            Token(
                toks["form"][i],
                toks["lemma"][i],
                toks["upos"][i],
                toks["deprel"][i],
                toks["head"][i],
                toks["start"][i],
                toks["end"][i],
                toks["label"][i],
                toks["sentence"][i],
            )
        )
    return list(docs.values())


def label_types(shards: Path) -> list[str]:
    return json.loads((shards / "manifest.json").read_text())["label_types"]


def bio_to_spans(doc: Doc, tags: list[str]) -> list[tuple[str, int, int]]:
    """Character spans of the entities in a BIO path over `doc`'s tokens, read as conlleval
    reads chunks (an I- after O or after another type starts an entity)."""
    spans = []
    cur = None  # (type, start, end)
    for tok, tag in zip(doc.tokens, tags):
        kind, _, ty = tag.partition("-")
        if kind == "B" or (kind == "I" and (cur is None or cur[0] != ty)):
            if cur:
                spans.append(cur)
            cur = (ty, tok.start, tok.end)
        elif kind == "I":
            cur = (cur[0], cur[1], tok.end)
        else:
            if cur:
                spans.append(cur)
            cur = None
    if cur:
        spans.append(cur)
    return spans


@dataclass
class Projection:
    """BIO tags over a document's tokens, and what the projection could not keep."""

    tags: list[str]
    overlapping: int = 0  # spans dropped because an earlier span already covered their tokens
    no_token: int = 0  # spans over no token (whitespace only)


def spans_to_bio(doc: Doc, spans: list[tuple[str, int, int]]) -> Projection:
    """Project character spans onto the document's tokens: a token belongs to a span when
    they share a character; the first such token is B-, the others I-."""
    tags = ["O"] * len(doc.tokens)
    proj = Projection(tags)
    starts = [t.start for t in doc.tokens]
    import bisect

    for ty, s, e in sorted(spans, key=lambda x: (x[1], -x[2])):
        i = bisect.bisect_right(starts, s) - 1
        if i < 0 or doc.tokens[i].end <= s:
            i += 1
        covered = []
        while i < len(doc.tokens) and doc.tokens[i].start < e:
            if doc.tokens[i].end > s:
                covered.append(i)
            i += 1
        if not covered:
            proj.no_token += 1
            continue
        if any(tags[j] != "O" for j in covered):
            proj.overlapping += 1
            continue
        for k, j in enumerate(covered):
            tags[j] = ("B-" if k == 0 else "I-") + ty
    return proj


def write_ann(path: Path, text: str, spans: list[tuple[str, int, int]]) -> None:
    """A brat `.ann` of entity lines, the surface written as brat writes it."""
    lines = []
    for n, (ty, s, e) in enumerate(sorted(spans, key=lambda x: (x[1], x[2], x[0])), start=1):
        surface = "".join(" " if c in _LINE_BREAKS else c for c in text[s:e])
        lines.append(f"T{n}\t{ty} {s} {e}\t{surface}\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def score(
    docs: list[Doc],
    spans_by_doc: dict[str, list[tuple[str, int, int]]],
    corpus: Path,
    split: str,
    types: list[str],
    out_dir: Path,
) -> dict:
    """Both scores of one system's entities (character spans per document id).

    Writes `out_dir/ann/REL.ann` and `out_dir/predictions.conll` and returns
    `{"brat": ..., "conlleval": ..., "projection": ...}`.
    """
    ann_dir = out_dir / "ann"
    for d in docs:
        write_ann(ann_dir / f"{d.rel}.ann", d.text, spans_by_doc.get(d.id, []))
    gold = standoff_dirs(corpus, split)
    brat = json.loads(
        subprocess.run(
            [enrelg_bin(), "score", "--gold", str(gold), "--pred", str(ann_dir), "--types", ",".join(types), "--json"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    return {"brat": brat, **conlleval_on_tokens(docs, spans_by_doc, out_dir)}


def conlleval_on_tokens(docs: list[Doc], spans_by_doc: dict[str, list], out_dir: Path) -> dict:
    """conlleval over the project's tokens, one sentence of the parse per block."""
    lines = []
    overlapping = no_token = 0
    for d in docs:
        proj = spans_to_bio(d, spans_by_doc.get(d.id, []))
        overlapping += proj.overlapping
        no_token += proj.no_token
        for sent in d.sentences():
            for i in sent:
                t = d.tokens[i]
                form = "".join(c for c in t.form if not c.isspace()) or "_"
                lines.append(f"{form} {t.label} {proj.tags[i]}\n")
            lines.append("\n")
    conll = out_dir / "predictions.conll"
    conll.parent.mkdir(parents=True, exist_ok=True)
    conll.write_text("".join(lines), encoding="utf-8")
    res = json.loads(
        subprocess.run([enrelg_bin(), "conlleval", str(conll), "--json"], check=True, capture_output=True, text=True).stdout
    )
    return {
        "conlleval": res,
        "projection": {"dropped_overlapping": overlapping, "dropped_no_token": no_token},
    }


def write_json_atomic(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, suffix=".tmp") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
        tmp = f.name
    os.replace(tmp, path)


def word_count(docs: list[Doc]) -> int:
    return sum(len(d.tokens) for d in docs)
