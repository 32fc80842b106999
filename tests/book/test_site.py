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
        flat = " ".join(text.split())
        for cell in jupytext.read(md).cells:
            if "remove-cell" in cell.metadata.get("tags", []):
                hidden = " ".join(cell.source.split())   # the whole cell: a visible cell may share a line
                assert hidden not in flat, f"{page.name} shows a hidden cell: {cell.source.strip()[:80]}"


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


class _Assets(HTMLParser):
    """Every URL a page loads by itself: scripts, stylesheets, fonts, icons, module imports."""

    def __init__(self):
        super().__init__()
        self.urls, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self._in_script = True
            if a.get("src"):
                self.urls.append(a["src"])
        if tag == "link" and a.get("href") and set((a.get("rel") or "").split()) & {
                "stylesheet", "preload", "modulepreload", "icon", "shortcut", "prefetch", "manifest"}:
            self.urls.append(a["href"])
        if tag in ("img", "iframe", "source", "embed") and a.get("src"):
            self.urls.append(a["src"])

    def handle_endtag(self, tag):
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data):
        if self._in_script:   # import ... from "https://..." or import("https://...")
            self.urls += re.findall(r"""import\s*(?:[\w{}\s,*]+from\s*)?\(?\s*["'](https?:)?//[^"']+""", data)


def _site_pages(site):
    return [p for p in site.glob("**/*.html")
            if not {"_static", "_sources", "_images", "reports"} & set(p.relative_to(site).parts)]


def test_no_page_loads_anything_from_another_host(site):
    """Formulas, diagrams and styles come from the site itself (issue: offline and mainland China)."""
    pages = _site_pages(site)
    assert len(pages) >= len(toc_files())
    for page in pages:
        parser = _Assets()
        parser.feed(page.read_text(encoding="utf-8"))
        external = [u for u in parser.urls if u and re.match(r"^(https?:)?//", u)]
        assert not external, f"{page.relative_to(site)} loads {external}"
    for css in (site / "_static").glob("**/*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"""(url\(\s*["']?|@import\s+["'])(https?:)?//""", text), f"{css} fetches from the web"


def test_vendored_mathjax_and_mermaid_are_served(site):
    intro = (site / "intro.html").read_text(encoding="utf-8")
    assert 'src="_static/mathjax/tex-mml-chtml.js' in intro
    assert (site / "_static/mathjax/output/chtml/fonts/woff-v2").is_dir()
    pipeline = (site / "chapters/02_concepts/02_pipeline.html").read_text(encoding="utf-8")
    assert 'src="../../_static/mermaid/mermaid.min.js' in pipeline
    assert "thebe" not in pipeline.lower()


def test_download_menu_offers_the_notebook_and_the_source(site):
    for md in lesson_sources():
        rel = md.relative_to(ROOT)
        page = site / rel.with_suffix(".html")
        hrefs = _parse(page).hrefs
        for suffix in (".ipynb", ".md"):
            target = "_sources/" + rel.with_suffix(suffix).as_posix()
            assert any(h.endswith(target) for h in hrefs), f"{page.name}: no download of {suffix}"
            assert (site / target).is_file(), f"{target} missing from the site"


def test_outputs_are_compact_summaries(site):
    """No widget JSON, no carriage-return progress lines, no stderr blocks on any page."""
    for page in _site_pages(site):
        html = page.read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget" not in html, f"{page.name} shows widget JSON"
        assert "\r" not in html, f"{page.name} shows carriage-return progress output"
        assert "output stderr" not in html, f"{page.name} shows stderr output"
        assert not re.search(r"\d+%\|[█▏▎▍▌▋▊▉ ]*\|", html), f"{page.name} shows a tqdm bar"


def test_look_title_logo_favicon_repository_and_edit_links(site):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    repo = config["repository"]["url"]
    html = (site / "chapters/02_concepts/01_building_blocks.html").read_text(encoding="utf-8")
    assert "<title>" in html and "大模型原理与应用" in html
    assert "_static/logo.svg" in html and 'rel="icon"' in html and "_static/favicon.svg" in html
    assert f'href="{repo}"' in html
    assert f"{repo}/edit/main/chapters/02_concepts/01_building_blocks.md" in html


def test_api_reference_documents_every_helpers_module(site):
    import pkgutil

    import helpers

    api = (ROOT / "chapters/appendix/api.md").read_text(encoding="utf-8")
    modules = [m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers.")
               if not m.ispkg and not m.name.rsplit(".", 1)[-1].startswith("_")]
    assert len(modules) >= 8
    missing = [m for m in modules if f".. automodule:: {m}\n" not in api]
    assert not missing, f"add these modules to chapters/appendix/api.md: {missing}"
    html = (site / "chapters/appendix/api.html").read_text(encoding="utf-8")
    assert html.count('class="sig sig-object py"') >= 30, "autodoc produced no signatures"
    assert ".. py:" not in html, "autodoc output was parsed as Markdown instead of reStructuredText"
