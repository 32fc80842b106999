"""Execute every lesson once, in parallel, and hand the outputs to the site build.

    python scripts/execute_lessons.py                  # all lessons, as `make notebooks` does
    python scripts/execute_lessons.py -j 1 chapters/04_maths/04_attention.md
    python scripts/execute_lessons.py --again          # the second, independent execution (`make again`)

This is the book's single "first" execution. For every lesson source
(`chapters/**/*.md` with a Jupytext header) it

1. reads the notebook exactly as the site build does (MyST-NB's reader),
2. executes it in a fresh kernel, in the lesson's folder, `-j` at a time,
3. fails (exit status 1) if any cell raises: a failing hidden ``assert`` fails
   the run, as ``nbval --nbval-lax`` did, with the cell and traceback printed,
4. stores the executed notebook in the Jupyter cache that `jupyter-book build`
   reads (``execute_notebooks: cache`` in `_config.yml`), so the site shows
   these outputs without executing anything again, and a copy under
   ``_build/executed/`` for the reproducibility test,
5. writes ``_build/executed/times.json`` (seconds per lesson).

``--again`` is the second execution: the same, into ``_build/executed-again/``,
touching neither the cache nor the times; `tests/book/test_reproducible.py`
then compares the two executions output by output. No lesson is executed a
third time.

Lessons start longest first (times of the last run, else of the committed
``benchmarks/notebook_times.json``), which keeps both workers busy to the end.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
EXECUTED = BUILD / "executed"
AGAIN = BUILD / "executed-again"
CACHE = BUILD / ".jupyter_cache"   # must equal execute.cache in _config.yml (tests/book/test_execution.py)
COMMITTED_TIMES = ROOT / "benchmarks" / "notebook_times.json"
TIMEOUT_S = 600


def lesson_sources(paths: list[str] | None = None) -> list[Path]:
    """Every Jupytext lesson source under ``paths`` (default: ``chapters/``)."""
    roots = [Path(p).resolve() for p in paths] if paths else [ROOT / "chapters"]
    found = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(root.glob("**/*.md"))
        found += [p for p in candidates
                  if p.suffix == ".md" and p.read_text(encoding="utf-8").startswith("---\njupytext:")]
    return found


def read_as_site(md: Path):
    """The notebook MyST-NB builds from ``md`` (same reader, so the same cache key)."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(md.read_text(encoding="utf-8"), add_source_map=True, path=str(md))


def executed_path(md: Path, folder: Path | None = None) -> Path:
    """Where the execution of ``md`` is stored (``folder``: default ``_build/executed``)."""
    return (EXECUTED if folder is None else folder) / md.relative_to(ROOT).with_suffix(".ipynb")


def _execute(md_str: str, folder_str: str) -> dict:
    """Worker: execute one lesson; return its status, time and, on failure, the failing cell."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    md, folder = Path(md_str), Path(folder_str)
    executed_path(md, folder).unlink(missing_ok=True)   # never leave an older run's outputs behind
    nb = read_as_site(md)
    # record_timing=False: per-cell timestamps in the metadata would change the cache key
    client = NotebookClient(nb, timeout=TIMEOUT_S, kernel_name="python3", allow_errors=False, record_timing=False,
                            resources={"metadata": {"path": str(md.parent)}})
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as e:
        error = str(e)
    except Exception:  # kernel died, timeout, ...: report, keep going with the other lessons
        error = traceback.format_exc()
    seconds = time.perf_counter() - start
    if error is None:
        out = executed_path(md, folder)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".ipynb.part")
        nbformat.write(nb, str(tmp))
        os.replace(tmp, out)
    return {"md": md_str, "seconds": seconds, "error": error}


def _expected_seconds() -> dict[str, float]:
    times = {}
    for source in (COMMITTED_TIMES, EXECUTED / "times.json"):
        if source.is_file():
            times.update(json.loads(source.read_text(encoding="utf-8")))
    return times


def _cache_results(done: list[dict]) -> None:
    """Put the executed notebooks into the Jupyter cache of the site build."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(CACHE))
    for result in done:
        md = Path(result["md"])
        executed = nbformat.read(str(executed_path(md)), as_version=4)
        cache.cache_notebook_bundle(CacheBundleIn(executed, str(md), data={"execution_seconds": result["seconds"]}),
                                    check_validity=False, overwrite=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="lesson files or folders (default: chapters/)")
    parser.add_argument("--again", action="store_true",
                        help="second execution into _build/executed-again (no cache, no times)")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="lessons executed at once (default 2)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")

    lessons = lesson_sources(args.paths)
    if not lessons:
        parser.error(f"no lesson sources under {args.paths}")
    expected = _expected_seconds()
    key = lambda md: md.relative_to(ROOT).as_posix()  # noqa: E731
    # Longest first; a lesson never timed counts as long (it is probably new and big).
    lessons.sort(key=lambda md: -expected.get(key(md), 1e9))

    start = time.perf_counter()
    done, failed = [], []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        folder = AGAIN if args.again else EXECUTED
        futures = [pool.submit(_execute, str(md), str(folder)) for md in lessons]
        for future in as_completed(futures):
            result = future.result()
            name = key(Path(result["md"]))
            if result["error"] is None:
                done.append(result)
                print(f"ok      {result['seconds']:6.1f} s  {name}", flush=True)
            else:
                failed.append(result)
                print(f"FAILED  {result['seconds']:6.1f} s  {name}\n{result['error']}", flush=True)
    wall = time.perf_counter() - start
    print(f"\n{len(done)} lessons executed, {len(failed)} failed, {wall:.0f} s wall time with {args.jobs} workers")
    for result in failed:
        print(f"  failed: {key(Path(result['md']))}")
    if args.again:
        return 1 if failed else 0

    _cache_results(done)
    times = json.loads((EXECUTED / "times.json").read_text(encoding="utf-8")) if (EXECUTED / "times.json").is_file() else {}
    times.update({key(Path(r["md"])): round(r["seconds"], 1) for r in done})
    EXECUTED.mkdir(parents=True, exist_ok=True)
    (EXECUTED / "times.json").write_text(json.dumps(times, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
