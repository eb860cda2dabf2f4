"""scripts/encyclopedia.py on a few relations: grouping by target and component across spellings,
only Contains with an element or mineral, the HTML escaped, and the check against gold."""

import json
import subprocess
import sys
from pathlib import Path

import polars as pl

SCRIPT = Path(__file__).with_name("encyclopedia.py")


def relation(doc, target, component, ctype="Element", rtype="Contains", sentence="s"):
    return {
        "doc": doc,
        "type": rtype,
        "head": {"start": 0, "end": 1, "type": "Target", "text": target},
        "tail": {"start": 2, "end": 3, "type": ctype, "text": component},
        "sentence": sentence,
    }


def write(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_table_page_and_check(tmp_path):
    pred = write(tmp_path / "pred.jsonl", [
        relation("1", "Jake", "Fe", sentence="Jake has Fe."),
        relation("2", "jake", "Fe", sentence="Fe is high in jake."),
        relation("2", "jake", "Fe", sentence="Fe is high in jake."),  # the same sentence twice
        relation("2", "Jake", "hematite", ctype="Mineral", sentence="<b>Jake</b> & hematite"),
        relation("3", "Jake", "basalt", ctype="Material"),  # not an element or mineral
        relation("3", "Jake", "veins", ctype="Feature", rtype="Shows"),
        relation("3", "Bell", "Mg"),
    ])
    gold = write(tmp_path / "gold.jsonl", [
        relation("1", "Jake", "Fe"),
        relation("4", "Bell", "Ni"),
    ])
    out = tmp_path / "out"
    subprocess.run(
        [sys.executable, str(SCRIPT), "--relations", str(pred), "--gold", str(gold), "--out", str(out)],
        check=True,
    )
    df = pl.read_parquet(out / "encyclopedia.parquet")
    rows = {(r["target_key"], r["component_key"]): r for r in df.iter_rows(named=True)}
    assert set(rows) == {("jake", "fe"), ("jake", "hematite"), ("bell", "mg")}
    assert rows[("jake", "fe")]["sentences"] == 2
    assert rows[("jake", "fe")]["documents"] == ["1", "2"]
    page = (out / "index.html").read_text()
    assert "&lt;b&gt;Jake&lt;/b&gt; &amp; hematite" in page and "<b>Jake</b> &" not in page
    check = json.loads((out / "check.json").read_text())
    assert (check["pairs"], check["gold_pairs"], check["agreed"]) == (3, 2, 1)
    assert check["missed"] == [["bell", "ni"]]
    assert check["spurious"] == [["bell", "mg"], ["jake", "hematite"]]
