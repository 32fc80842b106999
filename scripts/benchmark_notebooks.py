"""Execute every lesson notebook and write a table of seconds per notebook.

    make benchmark                      # or: .venv/bin/python scripts/benchmark_notebooks.py
    python scripts/benchmark_notebooks.py chapters/02_concepts   # only some folders/files

Writes benchmarks/results/notebooks.md (and prints it). Each notebook's
default-scale budget is 60 s on a 2-core CPU; rows over budget are flagged.
This is a benchmark, not a test: it never fails on time.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
BUDGET_S = 60.0


def lesson_sources(paths: list[str]) -> list[Path]:
    roots = [ROOT / p for p in paths] or [ROOT / "chapters"]
    found = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.glob("**/*.md"))
        found += [p for p in candidates if p.suffix == ".md" and "jupytext" in p.read_text(encoding="utf-8")[:300]]
    return found


def run(md: Path) -> tuple[float, str]:
    nb = jupytext.read(md)
    client = NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(md.parent)}})
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except Exception as e:  # report, keep going
        status = f"failed: {type(e).__name__}"
    return time.perf_counter() - start, status


def main() -> int:
    os.environ.setdefault("LLMBOOK_PROGRESS", "none")
    rows = []
    for md in lesson_sources(sys.argv[1:]):
        seconds, status = run(md)
        flag = " (over budget)" if seconds > BUDGET_S else ""
        rows.append(f"| `{md.relative_to(ROOT)}` | {seconds:.1f}{flag} | {status} |")
        print(rows[-1], flush=True)
    header = [
        "# Notebook execution times",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"scale={os.environ.get('LLMBOOK_SCALE', 'default')}; budget {BUDGET_S:.0f} s per notebook "
        "(kernel start included).",
        "",
        "| notebook | seconds | status |",
        "|---|---:|---|",
    ]
    out = ROOT / "benchmarks" / "results" / "notebooks.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0 if all(r.endswith("| ok |") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
