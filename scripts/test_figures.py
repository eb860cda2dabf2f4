"""scripts/figures.py against a small repository of its own: a table record, a JSON record,
a page quoting both."""

import importlib.util
import json
from pathlib import Path

import pytest

spec = importlib.util.spec_from_file_location("figures", Path(__file__).with_name("figures.py"))
figures = importlib.util.module_from_spec(spec)
spec.loader.exec_module(figures)

REGISTRY = """
pages = ["PAGE.md"]

[figure.mars-test]
table = "results/t/table.json"
where = { dataset = "mars", word_dim = 50 }

[figure.mars-seeds]
table = "results/t/table.json"
where = { dataset = "mars", word_dim = 50 }
value = "seeds"

[figure.mars-gain]
table = "results/t/table.json"
where = { dataset = "mars", word_dim = 50 }
value = "delta_f1"
sign = true

[figure.speed]
json = "perf.json"
path = ["ours", "seconds"]
over = ["theirs", "seconds"]

[figure.lead]
diff = ["mars-test", "crf"]

[figure.crf]
json = "peers.json"
path = ["mars", "crf", "f1"]
"""


def row(word_dim, seeds, mean, std):
    return {
        "dataset": "mars",
        "variant": "cd",
        "additions": f"words {word_dim}",
        "config": {"word_dim": word_dim},
        "seeds": seeds,
        "f1": {"mean": mean, "std": std},
    }


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "figures.toml").write_text(REGISTRY)
    (tmp_path / "results" / "t").mkdir(parents=True)
    table = {
        "rows": {"test": [row(0, [1, 2, 3], 87.0, 0.5), row(50, [1, 2, 3, 4, 5], 88.844, 0.6213)]},
        "significance": {
            "test": [{"dataset": "mars", "row": "cd (words 50)", "delta_f1": 1.0995}]
        },
    }
    (tmp_path / "results" / "t" / "table.json").write_text(json.dumps(table))
    (tmp_path / "perf.json").write_text(json.dumps({"ours": {"seconds": 0.774}, "theirs": {"seconds": 0.9139}}))
    (tmp_path / "peers.json").write_text(json.dumps({"mars": {"crf": {"f1": {"mean": 84.55, "std": 0, "n": 1}}}}))
    return tmp_path


def page(text: str, repo: Path) -> Path:
    path = repo / "PAGE.md"
    path.write_text(text)
    return path


ALL = (
    "F1 <!--fig:mars-test-->?<!--/fig--> (seeds <!--fig:mars-seeds-->?<!--/fig-->), "
    "<!--fig:mars-gain-->?<!--/fig-->, <!--fig:speed-->?<!--/fig-->x, "
    "<!--fig:lead-->?<!--/fig--> over <!--fig:crf-->?<!--/fig-->\n"
)


def test_writes_every_figure_from_its_record_then_checks_clean(repo, capsys):
    path = page(ALL, repo)
    assert figures.run(repo) == 0
    assert path.read_text() == (
        "F1 <!--fig:mars-test-->88.84 ± 0.62<!--/fig--> (seeds <!--fig:mars-seeds-->1-5<!--/fig-->), "
        "<!--fig:mars-gain-->+1.10<!--/fig-->, <!--fig:speed-->0.85<!--/fig-->x, "
        "<!--fig:lead-->+4.29<!--/fig--> over <!--fig:crf-->84.55<!--/fig-->\n"
    )
    assert figures.run(repo, check=True) == 0


def test_check_fails_on_a_quoted_figure_the_records_do_not_give(repo, capsys):
    path = page(ALL, repo)
    figures.run(repo)
    stale = path.read_text().replace("88.84 ± 0.62", "88.90 ± 0.55")
    path.write_text(stale)
    assert figures.run(repo, check=True) == 1
    err = capsys.readouterr().err
    assert "PAGE.md:1: mars-test: quoted '88.90 ± 0.55', records give '88.84 ± 0.62'" in err
    assert path.read_text() == stale, "--check changes nothing"


def test_unknown_and_unquoted_figures_fail(repo, capsys):
    page(ALL.replace("<!--fig:crf-->?<!--/fig-->", "<!--fig:nope-->1<!--/fig-->"), repo)
    assert figures.run(repo, check=True) == 1
    err = capsys.readouterr().err
    assert "figure nope is not in docs/figures.toml" in err
    assert "figure crf is quoted on no page" in err


def test_a_row_that_does_not_resolve_names_the_figure(repo, capsys):
    registry = repo / "docs" / "figures.toml"
    registry.write_text(registry.read_text().replace("word_dim = 50 }\nvalue = \"seeds\"", "word_dim = 7 }\nvalue = \"seeds\""))
    page(ALL, repo)
    assert figures.run(repo, check=True) == 1
    assert "figure mars-seeds: results/t/table.json [test] where" in capsys.readouterr().err


def test_seed_lists():
    assert figures.seeds_text([3, 1, 2, 4, 5]) == "1-5"
    assert figures.seeds_text([1, 3]) == "1, 3"
    assert figures.seeds_text([1]) == "1"
    assert figures.stat_text(77.084, 0.0, 1, {}) == "77.08"
