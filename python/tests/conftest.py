"""Fixtures of the Python suite: a small run trained by the real binary on real Mars documents
(frozen MiniLM, eight epochs on three documents per split, as the Rust end-to-end tests), a
small set of real Mars and AnatEM texts, and `enrelg tag`'s output for them.

The paths come from the variables `make test-python` sets (ENRELG_BIN, ENRELG_DATA_DIR,
ENRELG_MODEL_DIR, ENRELG_PARSE_PYTHON); the defaults are the repository's own folders."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ENRELG_BIN", Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache/enrelg-target")) / "release/enrelg"))
DATA = Path(os.environ.get("ENRELG_DATA_DIR", ROOT / "datasets"))
MODEL = Path(os.environ.get("ENRELG_MODEL_DIR", ROOT / "models/minilm"))
PARSE_PYTHON = Path(os.environ.get("ENRELG_PARSE_PYTHON", ROOT / ".venv-parse/bin/python"))
# The training settings of the Rust end-to-end tests (tests/common FAST_TRAIN_TOML).
FAST_TRAIN_TOML = "batch_size = 2\nlr_head = 0.005\nwarmup = 0.0\n"


def enrelg(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(BIN), *map(str, args)], cwd=ROOT, capture_output=True, text=True, **kwargs)
    assert done.returncode == 0, f"enrelg {' '.join(map(str, args))} failed:\n{done.stderr[-4000:]}"
    return done


def small_corpus(src: Path, dst: Path, n: int) -> None:
    """The first `n` documents of each split."""
    for split in ["train", "dev", "test"]:
        stems = sorted({p.stem for p in (src / "standoff" / split).glob("*.txt")})[:n]
        for sub, exts in [("standoff", ["txt", "ann"]), ("conllu", ["conllu"])]:
            (dst / sub / split).mkdir(parents=True, exist_ok=True)
            for stem in stems:
                for ext in exts:
                    shutil.copy(src / sub / split / f"{stem}.{ext}", dst / sub / split / f"{stem}.{ext}")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory) -> Path:
    for need in [BIN, DATA / "mars", MODEL / "model.safetensors", PARSE_PYTHON]:
        assert need.exists(), f"{need} is missing (make build model parse-venv)"
    tmp = tmp_path_factory.mktemp("run")
    small_corpus(DATA / "mars", tmp / "corpus", 3)
    enrelg("data", "--corpus", tmp / "corpus", "--manifest", "datasets/mars/manifest.json", "--model", MODEL, "--out", tmp / "shards")
    (tmp / "train.toml").write_text(FAST_TRAIN_TOML)
    enrelg("train", "--shards", tmp / "shards", "--model", MODEL, "--config", tmp / "train.toml", "--variant", "cd", "--epochs", "8",
           "--freeze-encoder", "--out", tmp / "run", "--cache-dir", tmp / "cache")
    return tmp / "run"


@pytest.fixture(scope="session")
def documents() -> list[tuple[str, str]]:
    """(id, text) of 16 real Mars test documents and 8 AnatEM test documents."""
    docs = []
    for corpus, n in [("mars", 16), ("anatem", 8)]:
        for path in sorted((DATA / corpus / "standoff" / "test").glob("*.txt"))[:n]:
            docs.append((f"{corpus}/{path.stem}", path.read_text(encoding="utf-8")))
    return docs


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def cli_tagged(tmp_path_factory, run_dir, documents) -> dict[str, str]:
    """`enrelg tag`'s `tagged.jsonl` line for each document, by id."""
    tmp = tmp_path_factory.mktemp("cli")
    source = write_jsonl(tmp / "in.jsonl", [{"id": i, "text": t} for i, t in documents])
    enrelg("tag", "--input", source, "--out", tmp / "out", "--run", run_dir, "--python", PARSE_PYTHON)
    lines = (tmp / "out" / "tagged.jsonl").read_text(encoding="utf-8").splitlines()
    return {json.loads(line)["id"]: line for line in lines}
