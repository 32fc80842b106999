"""Every lesson: a Jupytext pair in sync, no stored outputs, the same environment cell, hidden asserts."""

import json
import re

import jupytext
import pytest
import yaml

from env_cell import CELL_MARKER, env_cell, repo_url

from .conftest import ROOT, lesson_sources

LESSONS = lesson_sources()
IDS = [p.relative_to(ROOT / "chapters").as_posix() for p in LESSONS]


def _cells(path):
    return [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]


@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_md_is_paired_and_in_sync_with_ipynb(md):
    nb = md.with_suffix(".ipynb")
    assert nb.is_file(), f"{md.name} has no paired {nb.name}: run `make sync`"
    header = yaml.safe_load(md.read_text(encoding="utf-8").split("---\n")[1])
    assert header["jupytext"]["formats"] == "ipynb,md:myst"
    assert _cells(md) == _cells(nb), f"{nb.name} is out of sync with {md.name}: run `make sync`"
    md_tags = [c.metadata.get("tags", []) for c in jupytext.read(md).cells]
    nb_tags = [c.metadata.get("tags", []) for c in jupytext.read(nb).cells]
    assert md_tags == nb_tags, f"cell tags differ between {md.name} and {nb.name}: run `make sync`"


def test_every_ipynb_pairs_a_lesson_source():
    for nb in sorted((ROOT / "chapters").glob("**/*.ipynb")):
        if ".ipynb_checkpoints" in nb.parts:
            continue
        assert nb.with_suffix(".md") in LESSONS, (
            f"{nb.relative_to(ROOT)} has no Jupytext .md source (overview pages are not notebooks)")


@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_ipynb_is_committed_without_outputs(md):
    raw = json.loads(md.with_suffix(".ipynb").read_text(encoding="utf-8"))
    for i, cell in enumerate(raw["cells"]):
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [], f"cell {i} of {md.stem}.ipynb carries outputs"
            assert cell.get("execution_count") is None, f"cell {i} of {md.stem}.ipynb has an execution count"


@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_first_code_cell_is_the_environment_cell(md):
    expected = env_cell()
    for path in (md, md.with_suffix(".ipynb")):
        code = [c for c in jupytext.read(path).cells if c.cell_type == "code"]
        assert code, f"{path.name} has no code cell"
        assert code[0].source.strip() == expected, (
            f"the first code cell of {path.name} is not the environment cell: "
            "run `python scripts/env_cell.py --write` then `make sync`")


def test_environment_cell_installs_from_the_configured_repository():
    url = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]["url"].rstrip("/")
    assert repo_url() == url
    assert f'"git+{url}.git"' in env_cell()
    # No notebook names another repository anywhere.
    for md in LESSONS:
        for nb_path in (md, md.with_suffix(".ipynb")):
            sources = "\n".join(c.source for c in jupytext.read(nb_path).cells)
            for found in re.findall(r"git\+(https://[^\s\"']+)", sources):
                assert found == f"{url}.git", f"{nb_path.name} installs from {found}, not {url}.git"


@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_lesson_has_title_prose_and_hidden_asserts(md):
    nb = jupytext.read(md)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    hidden = [c for c in nb.cells if c.cell_type == "code" and "remove-cell" in c.metadata.get("tags", [])]
    assert any("assert" in c.source for c in hidden), f"{md.name} has no hidden assert cell"
    assert sum(CELL_MARKER in c.source for c in nb.cells if c.cell_type == "code") == 1
    assert "练习" in md.read_text(encoding="utf-8"), f"{md.name} has no exercises (练习)"
