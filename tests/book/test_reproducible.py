"""Executing a lesson again prints the same numbers as the site build did.

This test executes each lesson once more in a fresh kernel and compares
every text output with the one the built page shows. Wall-clock times
(``... in 0.4s``) are the only thing masked.
"""

import re

import jupytext
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient

from .conftest import ROOT, lesson_sources

TIMING = re.compile(r"\b\d+(\.\d+)?\s*(s|ms|seconds?)\b")


def _page_outputs(html: str) -> list[str]:
    """Text of each code cell's output area on a built page (figures have none)."""
    texts = []
    for area in BeautifulSoup(html, "html.parser").select("div.cell_output"):
        text = "".join(pre.get_text() for pre in area.find_all("pre"))
        texts.append(TIMING.sub("<time>", text).strip())
    return [t for t in texts if t]


def _text_outputs(nb) -> list[str]:
    texts = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        out = []
        for o in cell.get("outputs", []):
            if o.get("output_type") == "stream":
                out.append(o["text"])
            elif "data" in o and "text/plain" in o["data"] and "image/png" not in o["data"]:
                out.append(o["data"]["text/plain"])
        texts.append(TIMING.sub("<time>", "".join(out)).strip())
    return [t for t in texts if t]


@pytest.mark.parametrize("md", lesson_sources(), ids=lambda p: p.stem)
def test_second_execution_prints_the_same_numbers(md, site):
    page = site / md.relative_to(ROOT).with_suffix(".html")
    first = _page_outputs(page.read_text(encoding="utf-8"))
    again = jupytext.read(md)
    NotebookClient(again, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(md.parent)}}).execute()
    second = _text_outputs(again)
    assert len(first) == len(second), (len(first), len(second))
    for i, (a, b) in enumerate(zip(first, second)):
        assert a == b, f"{md.name}, code cell {i}: output differs between two executions\n--- build\n{a}\n--- again\n{b}"
