"""Two independent executions of every lesson print the same numbers, and the site shows the first.

`make notebooks` executes each lesson once (`scripts/execute_lessons.py`): those
outputs go into the Jupyter cache the site build renders, and to
``_build/executed/``. `make again` executes each lesson a second time, in a fresh
kernel, into ``_build/executed-again/``. These tests only compare; they execute
nothing.

Outputs are compared in one normalised form on both sides: consecutive stream
outputs of the same name are merged (a kernel may deliver one ``print`` in one
chunk or in several), wall-clock times (``0.4 s``, ``12 ms``) are masked, and
everything else, every digit included, must be equal.
"""

import re

import nbformat
import pytest
from bs4 import BeautifulSoup

from .conftest import ROOT, lesson_sources

LESSONS = lesson_sources()
IDS = [p.relative_to(ROOT / "chapters").as_posix() for p in LESSONS]
EXECUTED = ROOT / "_build" / "executed"
AGAIN = ROOT / "_build" / "executed-again"
SITE_LOG = ROOT / "_build" / "site.log"
# A wall-clock time with the blanks before it (a column padded to a fixed width shifts with the digits).
TIMING = re.compile(r"[ \t]*\b\d+(\.\d+)?\s*(s|ms|seconds?)\b")


def merged_outputs(outputs) -> list[tuple[str, str]]:
    """``(kind, text)`` per output, consecutive streams of the same name merged into one."""
    merged: list[tuple[str, str]] = []
    for o in outputs:
        if o.get("output_type") == "stream":
            kind, text = f"stream:{o['name']}", o["text"]
            if merged and merged[-1][0] == kind:
                merged[-1] = (kind, merged[-1][1] + text)
                continue
            merged.append((kind, text))
        elif o.get("output_type") == "error":
            merged.append(("error", f"{o['ename']}: {o['evalue']}"))
        elif "text/plain" in o.get("data", {}) and "image/png" not in o["data"]:
            merged.append((o["output_type"], o["data"]["text/plain"]))
        elif "image/png" in o.get("data", {}):
            merged.append(("image", "<figure>"))
    return merged


def normalised(outputs) -> str:
    """One code cell's outputs as comparable text (times masked)."""
    return "\n".join(f"[{kind}]\n{TIMING.sub(' <time>', text)}" for kind, text in merged_outputs(outputs))


def _code_cells(path):
    if not path.is_file():
        target = "notebooks" if path.is_relative_to(EXECUTED) else "again"
        pytest.fail(f"{path.relative_to(ROOT)} is missing: run `make {target}` first")
    return [c for c in nbformat.read(str(path), as_version=4).cells if c.cell_type == "code"]


def _executed(md, folder):
    return _code_cells(folder / md.relative_to(ROOT).with_suffix(".ipynb"))


# -- the normal form itself -------------------------------------------------------------------------

def _stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_stream_chunking_does_not_matter_but_every_digit_does():
    one = [_stream("loss 0.512\nacc 0.93\n")]
    two = [_stream("loss 0.512\n"), _stream("acc 0.93\n")]
    assert normalised(one) == normalised(two)
    assert normalised(one) != normalised([_stream("loss 0.512\nacc 0.94\n")])
    assert normalised(one) != normalised([_stream("loss 0.512\n"), _stream("acc 0.93\n", "stderr")])


def test_only_wall_clock_times_are_masked():
    assert normalised([_stream("took 0.41 s, 12 ms per step\n")]) == normalised([_stream("took 3.2 s, 7 ms per step\n")])
    assert normalised([_stream("3 epochs\n")]) != normalised([_stream("4 epochs\n")])
    # a right-aligned column of times: " 9.8s" and "10.2s" take the same width
    assert normalised([_stream("3.950   9.8s\n")]) == normalised([_stream("3.950  10.2s\n")])
    assert normalised([_stream("3.950   9.8s\n")]) != normalised([_stream("3.951   9.8s\n")])


# -- the lessons ------------------------------------------------------------------------------------

@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_second_execution_prints_the_same_numbers(md):
    first, second = _executed(md, EXECUTED), _executed(md, AGAIN)
    assert [c.source for c in first] == [c.source for c in second], f"{md.name} changed between the two executions"
    for i, (a, b) in enumerate(zip(first, second)):
        na, nb = normalised(a.get("outputs", [])), normalised(b.get("outputs", []))
        assert na == nb, (f"{md.name}, code cell {i}: output differs between two executions\n"
                          f"--- first\n{na}\n--- again\n{nb}\n--- source\n{a.source[:300]}")


def _page_outputs(html: str) -> list[str]:
    """Text of each code cell's output area on a built page, whitespace collapsed."""
    texts = []
    for area in BeautifulSoup(html, "html.parser").select("div.cell_output"):
        text = " ".join("".join(pre.get_text() for pre in area.find_all("pre")).split())
        if text:
            texts.append(text)
    return texts


@pytest.mark.parametrize("md", LESSONS, ids=IDS)
def test_built_page_shows_the_first_execution(md, site):
    """The site renders the stored first execution (it does not run the lesson again)."""
    shown = []
    for cell in _executed(md, EXECUTED):
        if "remove-cell" in cell.metadata.get("tags", []) or "remove-output" in cell.metadata.get("tags", []):
            continue
        text = " ".join("".join(t for k, t in merged_outputs(cell.get("outputs", [])) if k != "image").split())
        if text:
            shown.append(text)
    page = site / md.relative_to(ROOT).with_suffix(".html")
    assert _page_outputs(page.read_text(encoding="utf-8")) == shown, f"{page.name} does not show the executed outputs"


def test_site_build_rendered_every_lesson_from_the_cache():
    """No lesson is executed a third time: the build found each one in the cache."""
    if not SITE_LOG.is_file():
        pytest.fail("no _build/site.log: run `make site` (it keeps the build log there)")
    log = SITE_LOG.read_text(encoding="utf-8", errors="replace")
    assert "Executing notebook" not in log, "the site build executed a notebook (cache miss): see _build/site.log"
    assert log.count("Using cached notebook") == len(LESSONS), log[-3000:]
