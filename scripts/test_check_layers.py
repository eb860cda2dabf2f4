"""scripts/check_layers.py on a small crate of its own: plain and grouped imports, test code."""

import importlib.util
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("check_layers", Path(__file__).with_name("check_layers.py"))
check_layers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(check_layers)

LAYERS = [["read"], ["graph"], ["shard"]]


@pytest.fixture(autouse=True)
def root(tmp_path, monkeypatch):
    """The script resolves crate folders against its repository: here, the test's folder."""
    monkeypatch.setattr(check_layers, "ROOT", str(tmp_path))


def crate(tmp_path: Path, files: dict[str, str]) -> str:
    for rel, text in files.items():
        path = tmp_path / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return "src"


def test_one_way_passes(tmp_path, capsys):
    src = crate(tmp_path, {
        "lib.rs": "pub mod read;\npub mod graph;\npub mod shard;\n",
        "read/mod.rs": "pub mod brat;\n",
        "read/brat.rs": "use crate::read::text::Text;\n",
        "graph.rs": "use crate::read::brat;\n",
        "shard/mod.rs": "use crate::{\n    graph::Edge,\n    read::{brat, conllu},\n};\n",
    })
    assert check_layers.check(src, LAYERS) == 0
    assert "one way" in capsys.readouterr().out


def test_later_layers_are_named_with_file_and_line(tmp_path, capsys):
    src = crate(tmp_path, {
        "read/brat.rs": "//! Uses crate::shard in a comment only.\nuse crate::graph::Edge;\n",
        "graph.rs": "use std::fmt;\nuse crate::{\n    read::brat,\n    shard::write,\n};\n",
        "shard/mod.rs": "#[cfg(test)]\nmod tests {\n    use crate::shard::x;\n}\n",
    })
    assert check_layers.check(src, LAYERS) == 2
    out = capsys.readouterr().out
    assert "src/read/brat.rs:2: read uses graph, which is not an earlier layer" in out
    assert "src/graph.rs:2: graph uses shard, which is not an earlier layer" in out


def test_a_module_without_a_layer_is_reported(tmp_path, capsys):
    src = crate(tmp_path, {"extra.rs": "\n"})
    assert check_layers.check(src, LAYERS) == 1
    assert "module extra has no layer" in capsys.readouterr().out
