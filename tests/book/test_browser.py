"""The built site in a real browser, with no network: headless Chromium via Playwright.

Serves `_build/html` from a local HTTP server and blocks every request to any
other host, then checks each page: no console errors, every formula typeset by
MathJax, every mermaid diagram drawn as SVG, every image loaded. A screenshot
of each page (its first screen; the whole page with ``LLMBOOK_SCREENSHOTS=full``)
is saved to `_build/screenshots/` (see the README). The search page must find
Chinese terms.

The pages are checked in ``SHARDS`` tests, so that `make booktests` (two pytest
workers) renders them in two browsers at once.

Needs Debian's `chromium` (`make setup` installs it where it can). Without it
the tests skip with a message, except under CI (`CI` set), where they fail.
"""

import functools
import os
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from .conftest import ROOT, lesson_sources

SCREENSHOTS = ROOT / "_build" / "screenshots"
# A full-page screenshot costs ~2 s a page (18 s for the API reference); the first screen ~0.2 s.
FULL_PAGE_SCREENSHOTS = os.environ.get("LLMBOOK_SCREENSHOTS", "") == "full"
SHARDS = 2
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def _chromium() -> str | None:
    for name in (os.environ.get("LLMBOOK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(site):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    executable = _chromium()
    if executable is None:
        message = ("no Chromium found: install Debian's chromium (`sudo apt-get install chromium`; "
                   "`make setup` does it as root) or set LLMBOOK_CHROMIUM")
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS + OFFLINE_FLAGS)
        yield b
        b.close()


# Offline: every request to another host goes to a proxy on a closed port and fails, while loopback
# (the test server) bypasses proxies. Requests are observed, not intercepted: Playwright's request
# routing would switch off the browser cache and pass each of a page's ~40 files through Python.
OFFLINE_FLAGS = ["--proxy-server=http://127.0.0.1:9"]


def _context(browser):
    """One browser context (cache shared between its pages), as a reader's browser window."""
    return browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")


class _Visit:
    """One page, opened in ``context``: what it logged and what it tried to fetch from another host."""

    def __init__(self, context, server):
        self.page = context.new_page()
        self.errors, self.blocked = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self._check(r.url, server))

    def _check(self, url, server):
        if not (url.startswith(server) or url.startswith(("data:", "blob:"))):
            self.blocked.append(url)

    def close(self):
        self.page.close()


def _pages(site) -> list[str]:
    """Every HTML page of the site except redirects (index.html -> intro.html)."""
    return sorted(p.relative_to(site).as_posix() for p in site.glob("**/*.html")
                  if not {"_static", "_sources", "_images", "reports"} & set(p.relative_to(site).parts)
                  and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")[:500])


# Visible text outside code, where an untypeset formula would show.
_PROSE_TEXT = """() => {
  const body = document.querySelector('main') || document.body;
  const clone = body.cloneNode(true);
  clone.querySelectorAll('pre, code, script, style, mjx-container, .mermaid').forEach(e => e.remove());
  return clone.innerText;
}"""

_WAIT_RENDERED = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline &&
         [...document.querySelectorAll('.mermaid')].some(m => !m.querySelector('svg'))) {
    await new Promise(r => setTimeout(r, 100));
  }
  await Promise.all([...document.images].map(img => { img.loading = 'eager'; return img.decode().catch(() => null); }));
}"""

_STATE = """() => ({
  math: document.querySelectorAll('.math').length,
  mathRendered: [...document.querySelectorAll('.math')].filter(m => m.querySelector('mjx-container')).length,
  mathErrors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
  mermaid: document.querySelectorAll('.mermaid').length,
  mermaidRendered: [...document.querySelectorAll('.mermaid')].filter(m => m.querySelector('svg')).length,
  brokenImages: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
})"""


def _screenshot_path(rel: str) -> Path:
    return SCREENSHOTS / (rel.replace("/", "__")[:-5] + ".png")


@pytest.mark.parametrize("shard", range(SHARDS))
def test_every_page_renders_offline(site, server, browser, shard):
    """Every ``SHARDS``-th page, from the ``shard``-th: rendered, offline, screenshot saved."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pages = _pages(site)[shard::SHARDS]
    assert pages, f"shard {shard} of {SHARDS} has no pages: {len(_pages(site))} pages in {site}"
    failures = []
    context = _context(browser)
    for rel in pages:
        visit = _Visit(context, server)
        shot = _screenshot_path(rel)
        try:
            visit.page.goto(f"{server}/{rel}", wait_until="load")
            visit.page.evaluate(_WAIT_RENDERED)
            state = visit.page.evaluate(_STATE)
            prose = visit.page.evaluate(_PROSE_TEXT)
            visit.page.screenshot(path=str(shot), full_page=FULL_PAGE_SCREENSHOTS)
        finally:
            visit.close()
        problems = []
        if visit.errors:
            problems.append(f"console errors {visit.errors}")
        if visit.blocked:
            problems.append(f"tried to reach the network {visit.blocked}")
        if state["mathRendered"] != state["math"] or state["mathErrors"]:
            problems.append(f"{state['math'] - state['mathRendered']} formulas not typeset, "
                            f"{state['mathErrors']} MathJax errors")
        for raw in ("$$", "\\frac", "\\[", "\\(", "\\begin{"):
            if raw in prose:
                problems.append(f"raw TeX {raw!r} in the text")
        if state["mermaidRendered"] != state["mermaid"]:
            problems.append(f"{state['mermaid'] - state['mermaidRendered']} mermaid diagrams not drawn")
        if state["brokenImages"]:
            problems.append(f"images not loaded {state['brokenImages']}")
        if shot.stat().st_size <= 20_000:
            problems.append(f"the screenshot {shot.name} looks empty ({shot.stat().st_size} bytes)")
        if problems:
            failures.append(f"{rel}: " + "; ".join(problems))
    context.close()
    assert not failures, "\n".join(failures)


def test_the_pages_have_formulas_and_diagrams_to_render(site):
    """The rendering checks above are not vacuous: the built pages contain formulas and diagrams."""
    html = "".join((site / rel).read_text(encoding="utf-8") for rel in _pages(site))
    assert html.count('class="math notranslate') > 0, "no formula in the built site"
    assert html.count('class="mermaid"') > 0, "no mermaid diagram in the built site"


def test_the_shards_cover_every_page_once(site):
    pages = _pages(site)
    shards = [pages[shard::SHARDS] for shard in range(SHARDS)]
    assert sorted(p for shard in shards for p in shard) == pages
    assert all(shards), "a shard without pages"
    assert {"intro.html"} | {md.relative_to(ROOT).with_suffix(".html").as_posix() for md in lesson_sources()} <= set(pages)


def _terms_in_book() -> list[str]:
    text = "".join(p.read_text(encoding="utf-8") for p in (ROOT / "chapters").glob("**/*.md"))
    return [t for t in ("反向传播", "激活函数", "标准化", "梯度下降", "交叉熵") if t in text]


@pytest.mark.parametrize("term", _terms_in_book())
def test_search_finds_chinese_terms(site, server, browser, term):
    context = _context(browser)
    visit = _Visit(context, server)
    try:
        visit.page.goto(f"{server}/search.html?q={quote(term)}", wait_until="load")
        visit.page.wait_for_selector("#search-results li, #search-results p", timeout=20000)
        visit.page.wait_for_function(
            "() => document.querySelectorAll('#search-results li').length > 0 "
            "|| /没有|did not match/.test(document.querySelector('#search-results').innerText)", timeout=20000)
        hits = visit.page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    finally:
        context.close()
    assert hits, f"the search page finds nothing for {term!r}"
    assert not visit.errors, visit.errors


def test_a_request_to_another_host_is_reported_and_never_leaves_the_machine(site, server, browser):
    """The offline check above is not vacuous: a fetch of an outside URL is recorded and fails."""
    context = _context(browser)
    visit = _Visit(context, server)
    failed = []
    visit.page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        visit.page.goto(f"{server}/intro.html", wait_until="load")
        status = visit.page.evaluate("url => fetch(url).then(r => r.status, e => 'failed: ' + e.message)",
                                     "https://example.com/lib.js")
    finally:
        context.close()
    assert visit.blocked == ["https://example.com/lib.js"] and failed == ["https://example.com/lib.js"]
    assert str(status).startswith("failed")
