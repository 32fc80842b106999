"""scripts/execute_lessons.py: one execution that fails on a failing cell and feeds the site build's cache."""

import sys
from pathlib import Path

import nbformat
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import execute_lessons as el  # noqa: E402

LESSON = """---
jupytext:
  formats: ipynb,md:myst
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3 (ipykernel)
  language: python
  name: python3
---

# A lesson

```{{code-cell}} ipython3
x = {value}
print("x =", x)
```

```{{code-cell}} ipython3
:tags: [remove-cell]
assert x == 2, x
```
"""


@pytest.fixture
def book(tmp_path, monkeypatch):
    (tmp_path / "chapters" / "01_part").mkdir(parents=True)
    monkeypatch.setattr(el, "ROOT", tmp_path)
    monkeypatch.setattr(el, "EXECUTED", tmp_path / "_build" / "executed")
    monkeypatch.setattr(el, "AGAIN", tmp_path / "_build" / "executed-again")
    monkeypatch.setattr(el, "CACHE", tmp_path / "_build" / ".jupyter_cache")
    monkeypatch.setattr(el, "COMMITTED_TIMES", tmp_path / "times.json")
    return tmp_path


def _write(book, value):
    md = book / "chapters" / "01_part" / "01_lesson.md"
    md.write_text(LESSON.format(value=value), encoding="utf-8")
    return md


def test_a_passing_lesson_is_stored_for_the_site_and_matched_by_its_cache_key(book, capsys):
    md = _write(book, 2)
    assert el.main(["-j", "1", str(md)]) == 0
    executed = nbformat.read(str(el.executed_path(md)), as_version=4)
    assert executed.cells[1].outputs[0]["text"] == "x = 2\n"
    assert all("execution" not in c.metadata for c in executed.cells)   # timestamps would change the key
    from jupyter_cache import get_cache

    record = get_cache(str(el.CACHE)).match_cache_notebook(el.read_as_site(md))   # what MyST-NB looks up
    assert record.uri == str(md)
    assert "ok" in capsys.readouterr().out


def test_a_failing_hidden_assert_fails_the_run_names_the_lesson_and_leaves_no_output(book, capsys):
    md = _write(book, 3)
    el.executed_path(md).parent.mkdir(parents=True)
    el.executed_path(md).write_text("stale", encoding="utf-8")
    assert el.main(["-j", "1", str(md)]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "chapters/01_part/01_lesson.md" in out and "AssertionError" in out
    assert not el.executed_path(md).exists()


def test_the_second_execution_goes_to_its_own_folder_and_leaves_the_cache_alone(book):
    md = _write(book, 2)
    assert el.main(["--again", "-j", "1", str(md)]) == 0
    assert el.executed_path(md, el.AGAIN).is_file()
    assert not el.executed_path(md).exists() and not el.CACHE.exists()


def test_bad_arguments_are_refused(book):
    with pytest.raises(SystemExit):
        el.main(["-j", "0"])
    with pytest.raises(SystemExit):
        el.main([str(book / "chapters")])   # no lessons there
