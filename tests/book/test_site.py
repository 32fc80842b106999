"""The built site (run after `make book`): every page, the lessons' figures, Colab links, no errors."""

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import urlparse

import jupytext
import pytest
import yaml

from .conftest import ROOT, lesson_sources, toc_files


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.imgs = [], []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])
        if tag == "img" and a.get("src"):
            self.imgs.append(a["src"])


def _parse(path):
    p = _Links()
    p.feed(path.read_text(encoding="utf-8"))
    return p


def test_every_toc_page_is_built(site):
    for doc in toc_files():
        assert (site / f"{doc}.html").is_file(), f"{doc}.html missing from the built site"


def test_lessons_show_their_figures_and_no_errors(site):
    for md in lesson_sources():
        page = site / md.relative_to(ROOT).with_suffix(".html")
        html = page.read_text(encoding="utf-8")
        links = _parse(page)
        figures = [src for src in links.imgs if src.endswith(".png")]
        assert figures, f"{page.name} shows no figure"
        for src in figures:
            assert (page.parent / src).resolve().is_file(), f"{page.name}: image {src} missing"
        assert "Traceback (most recent call last)" not in html, f"{page.name} shows a traceback"
        text = unescape(re.sub(r"<[^>]+>", "", html))
        for cell in jupytext.read(md).cells:
            if "remove-cell" in cell.metadata.get("tags", []):
                first = cell.source.strip().splitlines()[0]
                assert first not in text, f"{page.name} shows a hidden cell: {first}"


def test_no_execution_reports(site):
    reports = site / "reports"
    assert not reports.exists() or not any(reports.iterdir()), f"execution failures in {reports}"


def test_pipeline_page_has_the_mermaid_diagram(site):
    html = (site / "chapters/02_concepts/02_pipeline.html").read_text(encoding="utf-8")
    assert 'class="mermaid"' in html


def test_colab_buttons_open_paired_notebooks_in_the_repository(site):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    owner_repo = urlparse(config["repository"]["url"]).path.strip("/")
    branch = config["repository"]["branch"]
    seen = 0
    for md in lesson_sources():
        page = site / md.relative_to(ROOT).with_suffix(".html")
        colab = [h for h in _parse(page).hrefs if h.startswith("https://colab.research.google.com/")]
        assert colab, f"{page.name} has no Colab button"
        for href in colab:
            prefix = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/"
            assert href.startswith(prefix), href
            target = ROOT / href[len(prefix):]
            assert target.suffix == ".ipynb" and target.is_file(), f"Colab link to missing notebook: {href}"
            seen += 1
    assert seen >= len(lesson_sources())
    # No page anywhere links Colab to something that is not a notebook of the repository.
    for page in site.glob("**/*.html"):
        if "_static" in page.parts or "_sources" in page.parts:
            continue
        for href in _parse(page).hrefs:
            if href.startswith("https://colab.research.google.com/"):
                target = ROOT / href.split(f"/blob/{branch}/", 1)[-1]
                assert target.suffix == ".ipynb" and target.is_file(), f"{page.name}: Colab link to {href}"


@pytest.mark.parametrize("doc", ["intro", "chapters/02_concepts/index"])
def test_overview_pages_are_built_with_content(site, doc):
    text = re.sub(r"<[^>]+>", "", (site / f"{doc}.html").read_text(encoding="utf-8"))
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 300
