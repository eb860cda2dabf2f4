"""PyTorch reference of the EnRel-G model, timed on the very batches
`enrelg bench-model [--frozen] --export DIR` timed in Burn.

Written as a PyTorch user would write the same model: a scalar mix of the
encoder layers, a word-shape embedding and a character CNN beside the
cached encoder vectors, nn.LSTM (bidirectional, packed sequences), two
graph attention layers (dense attention masked by the window's adjacency
plus self loops), linear fusion, an output layer and a linear-chain CRF
(forward algorithm for the log partition). Same sizes, dropout, AdamW with
weight decay and gradient-norm clipping as `enrelg train`.

With --fine-tune MODEL the encoder is part of the model: transformers'
BertModel loaded from the same MiniLM folder, every hidden state pooled to
words with the exported mean-pooling weights, trained with the head (AdamW,
the encoder at its own rate), as `enrelg train --fine-tune`. With --predict
MODEL, DIR holds every window of a split in `predict`'s batches
(`enrelg bench-model --export-inference DIR`) and the whole model (encoder,
head, Viterbi) runs over them in eval mode: words per second, as a PyTorch
user's tagging loop.

Usage: python bench/torch_reference.py DIR [--variant cd] [--threads 2] [--json]
           [--fine-tune MODEL | --predict MODEL]
Prints per-step seconds (forward, backward, AdamW) and inference seconds per
batch, with the peak resident memory (--predict: words per second).
"""

import argparse
import glob
import json
import os
import resource
import time

import numpy as np
import torch

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
import torch.nn as nn
import torch.nn.functional as F

NUM_SHAPES = 10  # pipeline/src/shape.rs
NUM_CHARS = 97  # pipeline/src/chars.rs


class GraphAttention(nn.Module):
    def __init__(self, d_in, heads=4, d_head=128, alpha=0.2, dropout=0.6):
        super().__init__()
        self.heads, self.d_head, self.alpha = heads, d_head, alpha
        self.linear = nn.Linear(d_in, heads * d_head, bias=False)
        self.a_src = nn.Parameter(torch.randn(heads, d_head) * 0.1)
        self.a_dst = nn.Parameter(torch.randn(heads, d_head) * 0.1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, adjacency):
        b, l, _ = x.shape
        k, f = self.heads, self.d_head
        wh = self.linear(self.dropout(x)).view(b, l, k, f).transpose(1, 2)  # [B, K, L, F]
        src = (wh * self.a_src.view(1, k, 1, f)).sum(3, keepdim=True)
        dst = (wh * self.a_dst.view(1, k, 1, f)).sum(3, keepdim=True).transpose(2, 3)
        scores = F.leaky_relu(src + dst, self.alpha)
        eye = torch.eye(l, dtype=torch.bool)
        allowed = (adjacency | eye).unsqueeze(1)
        scores = scores.masked_fill(~allowed, -1e9)
        att = self.dropout(torch.softmax(scores, dim=3))
        return F.elu(att @ wh).transpose(1, 2).reshape(b, l, k * f)


class Crf(nn.Module):
    def __init__(self, n):
        super().__init__()
        self.transitions = nn.Parameter(torch.empty(n, n).uniform_(-0.1, 0.1))
        self.start = nn.Parameter(torch.empty(n).uniform_(-0.1, 0.1))
        self.end = nn.Parameter(torch.empty(n).uniform_(-0.1, 0.1))

    def nll(self, emissions, tags, mask):
        b, l, n = emissions.shape
        alpha = self.start.unsqueeze(0) + emissions[:, 0]
        for t in range(1, l):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.transitions.unsqueeze(0) + emissions[:, t].unsqueeze(1), dim=1)
            alpha = torch.where(mask[:, t].unsqueeze(1), nxt, alpha)
        log_z = torch.logsumexp(alpha + self.end.unsqueeze(0), dim=1)
        maskf = mask.float()
        score = (emissions.gather(2, tags.unsqueeze(2)).squeeze(2) * maskf).sum(1)
        score = score + self.start[tags[:, 0]]
        score = score + (self.transitions[tags[:, :-1], tags[:, 1:]] * maskf[:, 1:]).sum(1)
        last = mask.long().sum(1) - 1
        score = score + self.end[tags.gather(1, last.unsqueeze(1)).squeeze(1)]
        return (log_z - score).mean()


class Head(nn.Module):
    def __init__(self, num_tags, d_encoder=384, layers=7, variant="cd", shape_dim=32, char_dim=50, d_char=16, hidden=256):
        super().__init__()
        self.layers, self.d_encoder = layers, d_encoder
        self.mix = nn.Parameter(torch.zeros(layers))
        self.gamma = nn.Parameter(torch.ones(1))
        self.shape = nn.Embedding(NUM_SHAPES, shape_dim)
        self.char_embedding = nn.Embedding(NUM_CHARS, d_char)
        self.conv = nn.Conv1d(d_char, char_dim, 3, padding=1)
        self.dropout = nn.Dropout(0.5)
        self.lstm = nn.LSTM(d_encoder + shape_dim + char_dim, hidden, batch_first=True, bidirectional=True)
        self.coref = GraphAttention(2 * hidden) if "c" in variant else None
        self.dep = GraphAttention(2 * hidden) if "d" in variant else None
        self.fuse_lstm = nn.Linear(2 * hidden, 2 * hidden)
        self.fuse_coref = nn.Linear(512, 2 * hidden, bias=False) if self.coref else None
        self.fuse_dep = nn.Linear(512, 2 * hidden, bias=False) if self.dep else None
        self.output = nn.Linear(2 * hidden, num_tags)
        self.crf = Crf(num_tags)

    def emissions(self, batch, words=None):
        words = batch["words"] if words is None else words
        b, l, _ = words.shape
        mixed = (words.view(b, l, self.layers, self.d_encoder) * torch.softmax(self.mix, 0).view(1, 1, -1, 1)).sum(2) * self.gamma
        c = batch["chars"].shape[2]
        chars = self.conv(self.char_embedding(batch["chars"].view(b * l, c)).transpose(1, 2)).max(2).values.view(b, l, -1)
        x = self.dropout(torch.cat([mixed, self.shape(batch["shapes"]), chars], 2))
        packed = nn.utils.rnn.pack_padded_sequence(x, batch["lens"], batch_first=True, enforce_sorted=False)
        e, _ = self.lstm(packed)
        e, _ = nn.utils.rnn.pad_packed_sequence(e, batch_first=True, total_length=l)
        out = self.fuse_lstm(e)
        if self.coref is not None:
            out = out + self.fuse_coref(self.coref(e, batch["coref"]))
        if self.dep is not None:
            out = out + self.fuse_dep(self.dep(e, batch["dep"]))
        return self.output(self.dropout(out))

    def loss(self, batch):
        return self.crf.nll(self.emissions(batch), batch["tags"], batch["word_mask"])


class FineTuned(nn.Module):
    """The encoder and the head together: every hidden state pooled to words, side by side."""

    def __init__(self, model_dir, num_tags, variant):
        super().__init__()
        from transformers import BertModel

        self.encoder = BertModel.from_pretrained(model_dir, add_pooling_layer=False)
        config = self.encoder.config
        self.head = Head(num_tags, d_encoder=config.hidden_size, layers=config.num_hidden_layers + 1, variant=variant)

    def emissions(self, batch):
        out = self.encoder(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"].long(), output_hidden_states=True)
        words = torch.cat([batch["word_mean"] @ h for h in out.hidden_states], 2)
        return self.head.emissions(batch, words)

    def loss(self, batch):
        return self.head.crf.nll(self.emissions(batch), batch["tags"], batch["word_mask"])


def viterbi(emissions, crf, mask):
    """Best tag path of each row (as `enrelg predict` decodes): [B, L] on the host."""
    b, l, n = emissions.shape
    score = crf.start.unsqueeze(0) + emissions[:, 0]
    pointers = []
    for t in range(1, l):
        best, idx = (score.unsqueeze(2) + crf.transitions.unsqueeze(0)).max(1)
        nxt = best + emissions[:, t]
        score = torch.where(mask[:, t].unsqueeze(1), nxt, score)
        pointers.append(idx)
    score = score + crf.end.unsqueeze(0)
    lens = mask.long().sum(1).tolist()
    last = score.argmax(1).tolist()
    paths = []
    for row in range(b):
        tag, path = last[row], [last[row]]
        for t in range(lens[row] - 1, 0, -1):
            tag = int(pointers[t - 1][row, tag])
            path.append(tag)
        paths.append(path[::-1])
    return paths


ARRAYS = ["shapes", "chars", "lens", "coref", "dep", "tags", "word_mask"]
ENCODER_ARRAYS = ["input_ids", "attention_mask", "word_mean"]


def load(directory, prefix="step", names=("words",)):
    pattern = os.path.join(directory, f"{prefix}*-{ARRAYS[0]}.npy")
    steps = sorted({os.path.basename(p).split("-")[0] for p in glob.glob(pattern)}, key=lambda s: int(s[len(prefix):]))
    if not steps:
        raise SystemExit(f"{directory}: no {prefix}*-{ARRAYS[0]}.npy (run `enrelg bench-model --export {directory}`)")
    batches = []
    for s in steps:
        arrays = {name: np.load(os.path.join(directory, f"{s}-{name}.npy")) for name in [*names, *ARRAYS]}
        batch = {k: torch.from_numpy(v) for k, v in arrays.items()}
        batch["lens"] = batch["lens"].cpu()
        batches.append(batch)
    return batches


def predict(args):
    """Words per second of the whole model over every exported batch, in eval mode."""
    batches = load(args.directory, prefix="batch", names=ENCODER_ARRAYS)
    model = FineTuned(args.predict, args.num_tags, "" if args.variant == "baseline" else args.variant).eval()
    words = sum(int(b["lens"].sum()) for b in batches)
    with torch.no_grad():
        viterbi(model.emissions(batches[0]), model.head.crf, batches[0]["word_mask"])  # warm-up
        t0 = time.perf_counter()
        for batch in batches:
            viterbi(model.emissions(batch), model.head.crf, batch["word_mask"])
        seconds = time.perf_counter() - t0
    record = {
        "framework": f"pytorch {torch.__version__}",
        "threads": args.threads,
        "variant": args.variant,
        "batches": len(batches),
        "words": words,
        "seconds": seconds,
        "words_per_second": words / seconds,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(record) if args.json else f"pytorch {torch.__version__} ({args.threads} threads), predict {args.variant}: {words} words in {seconds:.1f} s ({words / seconds:.0f} words/s)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("directory")
    ap.add_argument("--variant", default="cd", choices=["baseline", "c", "d", "cd"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--num-tags", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--fine-tune", metavar="MODEL", help="train the encoder (this BERT folder) with the head")
    mode.add_argument("--predict", metavar="MODEL", help="time the whole model with this BERT folder over predict's batches")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    variant = "" if args.variant == "baseline" else args.variant
    if args.predict:
        return predict(args)
    if args.fine_tune:
        batches = load(args.directory, names=ENCODER_ARRAYS)
        model = FineTuned(args.fine_tune, args.num_tags, variant)
        # enrelg train --fine-tune: the encoder at 5e-5, the head at 1e-3 (TrainConfig's defaults).
        optim = torch.optim.AdamW([{"params": model.encoder.parameters(), "lr": 5e-5}, {"params": model.head.parameters()}], lr=1e-3, weight_decay=0.01)
    else:
        batches = load(args.directory)
        model = Head(args.num_tags, variant=variant)
        optim = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)

    def step(batch):
        t0 = time.perf_counter()
        loss = model.loss(batch)
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
        optim.zero_grad(set_to_none=True)
        t3 = time.perf_counter()
        return float(loss.detach()), (t1 - t0, t2 - t1, t3 - t2)

    model.train()
    step(batches[0])  # warm-up, as the Burn benchmark's step 0
    phases = np.zeros(3)
    for batch in batches:
        _, t = step(batch)
        phases += t
    phases /= len(batches)
    model.eval()
    with torch.no_grad():
        model.emissions(batches[0])
        t0 = time.perf_counter()
        for batch in batches:
            model.emissions(batch)
        inference = (time.perf_counter() - t0) / len(batches)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    record = {
        "framework": f"pytorch {torch.__version__}",
        "threads": args.threads,
        "variant": args.variant + ("-fine-tune" if args.fine_tune else ""),
        "batches": len(batches),
        "batch": int(batches[0]["tags"].shape[0]),
        "step_seconds": float(phases.sum()),
        "forward_seconds": float(phases[0]),
        "backward_seconds": float(phases[1]),
        "optimizer_seconds": float(phases[2]),
        "inference_seconds": inference,
        "peak_rss_mib": peak,
    }
    if args.json:
        print(json.dumps(record))
    else:
        print(
            f"pytorch {torch.__version__} ({args.threads} threads), {'fine-tuned' if args.fine_tune else 'frozen head'} {args.variant}, batch {record['batch']}: "
            f"{record['step_seconds']:.3f} s per step (forward {phases[0]:.3f}, backward {phases[1]:.3f}, AdamW {phases[2]:.3f}); "
            f"inference {inference:.3f} s per batch; peak RSS {peak:.0f} MiB"
        )


if __name__ == "__main__":
    main()
