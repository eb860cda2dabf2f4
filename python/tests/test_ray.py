"""`python -m enrelg.ray` on a local Ray (2 CPUs, no dashboard) started by these tests: the same
lines as `enrelg tag --chunk`, a killed tagger actor, a rerun after deleting two chunks, an error
row for a bad document, and Parquet input."""
import json
import os
from pathlib import Path

import pytest

from conftest import PARSE_PYTHON, enrelg, write_jsonl

ray = pytest.importorskip("ray")
from enrelg import ray as job  # noqa: E402

pytestmark = pytest.mark.timeout(600)
CHUNK = 5


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=300 * 1024**2)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, documents) -> Path:
    """24 real documents and, in the second chunk, a text over the size limit and a line that is
    not JSON: 26 lines, 6 chunks of 5."""
    records = [{"id": i, "text": t} for i, t in documents]
    records.insert(6, {"id": "too-long", "text": "word " * 50_000})
    folder = tmp_path_factory.mktemp("corpus") / "in"
    folder.mkdir()
    path = write_jsonl(folder / "docs.jsonl", records)
    lines = path.read_text().splitlines(keepends=True)
    lines.insert(8, "{not json\n")
    path.write_text("".join(lines))
    return folder


def run_job(corpus: Path, out: Path, run_dir: Path, *extra) -> int:
    return job.main(["--input", str(corpus), "--out", str(out), "--run", str(run_dir), "--chunk-size", str(CHUNK), "--max-chars", "100000", *map(str, extra)])


def chunk_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.jsonl")) if p.name != job.MANIFEST}


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory, corpus, run_dir) -> Path:
    out = tmp_path_factory.mktemp("ray") / "out"
    assert run_job(corpus, out, run_dir) == 0
    return out


def test_output_equals_enrelg_tag_chunks(tmp_path, corpus, clean_run, run_dir):
    enrelg("tag", "--input", corpus, "--out", tmp_path / "tag", "--run", run_dir, "--python", PARSE_PYTHON, "--chunk", "0/1", "--chunk-lines", CHUNK, "--max-chars", "100000")
    ours, theirs = chunk_files(clean_run), {k: v for k, v in chunk_files(tmp_path / "tag").items()}
    assert sorted(ours) == sorted(theirs) == [f"docs/{k:05}.jsonl" for k in range(6)]
    for name, data in ours.items():
        tagged = [line for line in data.decode().splitlines(keepends=True) if "error" not in json.loads(line)]
        assert "".join(tagged).encode() == theirs[name], name
    manifest = [json.loads(line) for line in (clean_run / job.MANIFEST).read_text().splitlines()]
    assert [m["output"] for m in manifest] == sorted(ours) and sum(m["documents"] for m in manifest) == 26
    assert sum(m["entities"] for m in manifest) > 0 and sum(m["errors"] for m in manifest) == 2


def test_a_bad_document_is_an_error_row_and_its_chunk_is_tagged(clean_run, documents):
    rows = [json.loads(line) for line in (clean_run / "docs/00001.jsonl").read_text().splitlines()]
    assert [r.get("id") for r in rows] == [documents[5][0], "too-long", documents[6][0], None, documents[7][0]]
    assert "more than --max-chars 100000" in rows[1]["error"] and "not JSON" in rows[3]["error"] and ":9:" in rows[3]["error"]
    assert all("entities" in rows[k] for k in [0, 2, 4])


def test_a_killed_tagger_actor_loses_nothing(tmp_path, corpus, clean_run, run_dir):
    marker = tmp_path / "crashed"
    out = tmp_path / "out"
    assert run_job(corpus, out, run_dir, "--crash-once", marker) == 0
    assert marker.exists(), "the actor did exit once"
    assert chunk_files(out) == chunk_files(clean_run), "every chunk written once, bytes as without the crash"
    assert not [p for p in out.rglob("*") if p.name.startswith(job.TMP_PREFIX)], "no temporary files left"


def test_a_rerun_tags_exactly_the_missing_chunks(tmp_path, corpus, clean_run, run_dir, capfd):
    out = tmp_path / "out"
    for name, data in chunk_files(clean_run).items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(data)
    (out / job.MANIFEST).write_bytes((clean_run / job.MANIFEST).read_bytes())
    kept = {p: p.stat().st_mtime_ns for p in out.rglob("*.jsonl") if p.name != job.MANIFEST}
    for name in ["docs/00001.jsonl", "docs/00004.jsonl"]:
        os.remove(out / name)
        del kept[out / name]
    capfd.readouterr()
    assert run_job(corpus, out, run_dir) == 0
    err = capfd.readouterr().err
    assert "6 chunks of 5 records: 4 done, 2 to tag" in err
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert sorted(line.split()[1] for line in progress) == ["docs/00001.jsonl:", "docs/00004.jsonl:"]
    assert {p: p.stat().st_mtime_ns for p in kept} == kept, "finished chunks are not rewritten"
    assert chunk_files(out) == chunk_files(clean_run)
    assert (out / job.MANIFEST).read_bytes() == (clean_run / job.MANIFEST).read_bytes()


def test_parquet_input_tags_as_jsonl(tmp_path, documents, run_dir, cli_tagged):
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    ids = [i for i, _ in documents[:7]] + [7]
    texts = [t for _, t in documents[:7]] + [None]
    pq.write_table(pa.table({"id": pa.array([str(i) for i in ids]), "text": texts}), folder / "part.parquet", row_group_size=3)
    out = tmp_path / "out"
    assert run_job(folder, out, run_dir) == 0
    rows = [line for name in ["part/00000.jsonl", "part/00001.jsonl"] for line in (out / name).read_text().splitlines()]
    assert rows[:7] == [cli_tagged[i] for i in ids[:7]]
    assert json.loads(rows[7]) == {"id": "7", "error": "not a string (NoneType)"}
