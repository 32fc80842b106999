"""Local Sphinx extension: a site that works with no network.

- MathJax and mermaid come from ``_vendor/`` (fetched by ``scripts/vendor_assets.py``
  during ``make setup``), configured in ``_config.yml`` (``mathjax_path``,
  ``html_static_path``). This extension fails the build if they are missing,
  instead of silently shipping a site whose formulas stay raw text.
- Mermaid is loaded as a classic script (``mermaid.min.js``, UMD) and the
  module that sphinxcontrib-mermaid writes imports it from a ``data:`` URL.
  An ES-module import of a local file is blocked by the browser under
  ``file://``; this way diagrams render from a downloaded copy of the site too.
- The search page segments Chinese queries against the index's own terms
  (``assets/search_zh.js``): Sphinx's default query splitter keeps a run of
  Han characters as one word, so a query such as 反向传播 found nothing.
- sphinx-thebe (live code through Binder, which this book does not use) is
  removed from every page: it references unpkg.com and logs a console error.
"""

from __future__ import annotations

from pathlib import Path

import sphinxcontrib.mermaid as sphinx_mermaid
from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

MERMAID_UMD = "mermaid/mermaid.min.js"
MERMAID_SHIM = "data:text/javascript,export default window.mermaid;"
REQUIRED = ("mathjax/tex-mml-chtml.js", "mathjax/output/chtml/fonts/woff-v2", MERMAID_UMD)

_resolve_local_url = sphinx_mermaid._resolve_local_url


def _resolve_with_data_urls(url: str, context: dict) -> str:
    # sphinxcontrib-mermaid==2.1.1 (pinned) treats every non-absolute URL as a
    # path under _static/; let a data: URL through unchanged.
    return url if url.startswith("data:") else _resolve_local_url(url, context)


def check_vendored(app: Sphinx) -> None:
    roots = [Path(app.confdir) / p for p in app.config.html_static_path]
    for rel in REQUIRED:
        if not any((root / rel).exists() for root in roots):
            raise ExtensionError(f"offline_site: {rel} not found under {app.config.html_static_path}; "
                                 f"run `make setup` (or `python scripts/vendor_assets.py`)")


def drop_thebe_nodes(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    for node in list(doctree.findall(nodes.raw)):
        if "x-thebe-config" in node.astext() or "kernelName =" in node.astext():
            node.parent.remove(node)


def page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    # Both lists are the builder's own per-page lists: filter them in place.
    context["script_files"][:] = [
        js for js in context["script_files"]
        if "thebe" not in str(js.filename or "") and "THEBE" not in js.attributes.get("body", "")
    ]
    context["css_files"][:] = [css for css in context["css_files"] if "thebe" not in str(css.filename)]
    if pagename == "search":
        app.add_js_file("search_zh.js", priority=200)   # before searchtools.js defines its own splitQuery
    if doctree is not None and doctree.next_node(sphinx_mermaid.mermaid) is not None:
        app.add_js_file(MERMAID_UMD, priority=200)   # a classic script, run before the module below
    else:   # generated pages (search, genindex) get mermaid's module without any diagram: drop it
        context["script_files"][:] = [js for js in context["script_files"]
                                      if "mermaid.initialize" not in js.attributes.get("body", "")]


def setup(app: Sphinx) -> dict:
    sphinx_mermaid._resolve_local_url = _resolve_with_data_urls
    app.connect("builder-inited", check_vendored)
    app.connect("doctree-resolved", drop_thebe_nodes, priority=900)
    app.connect("html-page-context", page_assets, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
