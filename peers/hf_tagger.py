"""The fine-tuned token classifier peer: transformers' AutoModelForTokenClassification on the
same model folder as enrelg, the standard first-subtoken recipe (each word labelled on its first
subtoken, the others ignored), AdamW with linear warm-up and decay; the learning rate and the
epoch are chosen on dev. Words are the project's tokens, packed by sentence into sequences of at
most 128 subtokens as enrelg's windows are."""

from __future__ import annotations

import copy
import random
import time
from pathlib import Path

import numpy as np
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, get_linear_schedule_with_warmup

from common import Doc

MAX_SUBTOKENS = 128
BATCH = 16
LRS = [5e-5, 1e-4]
EPOCHS = 8
WARMUP = 0.1


def chunks(doc: Doc, tok) -> list[list[int]]:
    """Token indices of `doc` packed by sentence into pieces of at most MAX_SUBTOKENS - 2
    subtokens (a longer sentence is cut between words)."""
    budget = MAX_SUBTOKENS - 2
    lens = [max(1, len(tok.tokenize(t.form))) for t in doc.tokens]
    out: list[list[int]] = []
    cur: list[int] = []
    used = 0
    for sent in doc.sentences():
        need = sum(lens[i] for i in sent)
        if cur and used + need > budget:
            out.append(cur)
            cur, used = [], 0
        for i in sent:
            if used + lens[i] > budget and cur:
                out.append(cur)
                cur, used = [], 0
            cur.append(i)
            used += min(lens[i], budget)
    if cur:
        out.append(cur)
    return out


def encode(docs: list[Doc], tok, label_ids: dict[str, int] | None):
    """One example per chunk: input ids, the first subtoken of each word, word labels (none
    when `label_ids` is None, for tagging)."""
    examples = []
    for d in docs:
        for ch in chunks(d, tok):
            words = [d.tokens[i].form for i in ch]
            enc = tok(words, is_split_into_words=True, truncation=True, max_length=MAX_SUBTOKENS)
            labels, first = [], []
            seen = set()
            for pos, w in enumerate(enc.word_ids()):
                if w is None or w in seen:
                    labels.append(-100)
                else:
                    seen.add(w)
                    labels.append(label_ids[d.tokens[ch[w]].label] if label_ids else 0)
                    first.append((pos, ch[w]))
            examples.append({"doc": d.id, "input_ids": enc["input_ids"], "labels": labels, "first": first})
    return examples


def batches(examples, size, shuffle_rng=None):
    order = list(range(len(examples)))
    if shuffle_rng is not None:
        shuffle_rng.shuffle(order)
    for b in range(0, len(order), size):
        ex = [examples[i] for i in order[b : b + size]]
        n = max(len(e["input_ids"]) for e in ex)
        ids = torch.zeros(len(ex), n, dtype=torch.long)
        mask = torch.zeros(len(ex), n, dtype=torch.long)
        labels = torch.full((len(ex), n), -100, dtype=torch.long)
        for k, e in enumerate(ex):
            m = len(e["input_ids"])
            ids[k, :m] = torch.tensor(e["input_ids"])
            mask[k, :m] = 1
            labels[k, :m] = torch.tensor(e["labels"])
        yield ex, ids, mask, labels


@torch.no_grad()
def tag(model, examples, docs: list[Doc], id2label) -> dict[str, list[str]]:
    model.eval()
    out = {d.id: ["O"] * len(d.tokens) for d in docs}
    for ex, ids, mask, _ in batches(examples, 64):
        pred = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
        for k, e in enumerate(ex):
            for pos, i in e["first"]:
                out[e["doc"]][i] = id2label[int(pred[k, pos])]
    return out


def train(model_dir: Path, train_docs, dev_docs, tags: list[str], seed: int, dev_f1, log, lrs=LRS, epochs=EPOCHS) -> dict:
    tok = AutoTokenizer.from_pretrained(model_dir)
    label_ids = {t: i for i, t in enumerate(tags)}
    id2label = dict(enumerate(tags))
    tr, dv = encode(train_docs, tok, label_ids), encode(dev_docs, tok, label_ids)
    sweep, best = [], None
    clock_all = time.time()
    for lr in lrs:
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed)
        model = AutoModelForTokenClassification.from_pretrained(
            model_dir, num_labels=len(tags), id2label=id2label, label2id=label_ids
        )
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
        steps = epochs * ((len(tr) + BATCH - 1) // BATCH)
        sched = get_linear_schedule_with_warmup(opt, int(WARMUP * steps), steps)
        rng = random.Random(seed)
        clock = time.time()
        for epoch in range(1, epochs + 1):
            model.train()
            for _, ids, mask, labels in batches(tr, BATCH, rng):
                loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                opt.zero_grad()
            f1 = dev_f1(tag(model, dv, dev_docs, id2label))
            secs = time.time() - clock
            log(f"hf lr={lr} epoch {epoch}: dev F1 {f1:.2f} ({secs:.0f} s)")
            sweep.append({"lr": lr, "epoch": epoch, "dev_f1": f1, "seconds": secs})
            if best is None or f1 > best[0]:
                best = (f1, copy.deepcopy(model.state_dict()), {"lr": lr, "epoch": epoch}, secs)
    model.load_state_dict(best[1])
    return {
        "model": (model, tok, label_ids, id2label),
        "chosen": best[2],
        "dev_f1": best[0],
        "train_seconds": best[3],
        "sweep_seconds": time.time() - clock_all,
        "sweep": sweep,
    }


def predict(bundle, docs: list[Doc]) -> tuple[dict[str, list[str]], float]:
    model, tok, label_ids, id2label = bundle
    clock = time.time()
    ex = encode(docs, tok, None)
    out = tag(model, ex, docs, id2label)
    return out, time.time() - clock
