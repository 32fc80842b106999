"""Shared fixtures of the book-integrity tests."""

import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))


def lesson_sources() -> list[Path]:
    """Every Jupytext lesson source (`chapters/**/*.md` with a jupytext header)."""
    return [p for p in sorted((ROOT / "chapters").glob("**/*.md"))
            if p.read_text(encoding="utf-8").startswith("---\njupytext:")]


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]

    def walk(entries):
        for e in entries:
            files.append(e["file"])
            walk(e.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


@pytest.fixture(scope="session")
def site() -> Path:
    html = ROOT / "_build" / "html"
    if not (html / "index.html").is_file():
        pytest.fail("no built site at _build/html: run `make book` (or `make test`) first")
    return html
