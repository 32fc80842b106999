"""Time every stage of `make test` and every lesson: where CI's minutes go.

    make benchmark                                   # or: .venv/bin/python scripts/benchmark_make_test.py
    python scripts/benchmark_make_test.py --load 2   # with one CPU-bound process per core busy beside it

Runs the stages of `make test` one after another (unit, notebooks, site, again,
booktests), each as ``make <stage>``, and prints the wall time of each, the
total, and the seconds of each lesson in its first and second execution
(``_build/executed/times.json`` and the ``--again`` log). Writes
``benchmarks/results/make-test.md``. A stage that fails is reported and the
remaining stages still run. A benchmark, not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGES = ("unit", "notebooks", "site", "again", "booktests")
BUDGET_S = 60.0
_LINE = re.compile(r"^(ok|FAILED)\s+([\d.]+) s\s+(\S+)$", re.M)


def _burn() -> None:  # pragma: no cover - runs in a child process
    x = 0
    while True:
        x += 1


def _run(stage: str) -> tuple[float, int, str]:
    start = time.perf_counter()
    proc = subprocess.run(["make", "--no-print-directory", stage], cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode, proc.stdout + proc.stderr


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes to start first (default 0)")
    parser.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES, help="stages to time")
    args = parser.parse_args(argv)
    if args.load < 0:
        parser.error(f"--load must be >= 0, got {args.load}")

    burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for b in burners:
        b.start()
    rows, lesson_times, total = [], {}, 0.0
    try:
        for stage in args.stages:
            seconds, rc, log = _run(stage)
            total += seconds
            status = "ok" if rc == 0 else f"failed (exit {rc})"
            rows.append(f"| `make {stage}` | {seconds:.0f} | {status} |")
            print(rows[-1], flush=True)
            if rc != 0:
                print(log[-3000:], flush=True)
            if stage in ("notebooks", "again"):
                for _, secs, name in _LINE.findall(log):
                    lesson_times.setdefault(name, {})[stage] = float(secs)
    finally:
        for b in burners:
            b.terminate()
    rows.append(f"| **total** | **{total:.0f}** ({total / 60:.1f} min) | |")
    print(rows[-1])

    lesson_rows = []
    for name, t in sorted(lesson_times.items(), key=lambda kv: -max(kv[1].values())):
        first, again = t.get("notebooks"), t.get("again")
        flag = " (over budget)" if max(t.values()) > BUDGET_S else ""
        fmt = lambda s: "" if s is None else f"{s:.1f}"  # noqa: E731
        lesson_rows.append(f"| `{name}` | {fmt(first)} | {fmt(again)}{flag} |")
    firsts = sorted(t["notebooks"] for t in lesson_times.values() if "notebooks" in t)
    median = firsts[len(firsts) // 2] if firsts else float("nan")

    text = "\n".join([
        "# `make test`: wall time of each stage and of each lesson",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}; "
        f"{args.load} busy processes beside it; `JOBS={os.environ.get('JOBS', '2')}` lessons at a time.",
        "",
        "| stage | seconds | status |",
        "|---|---:|---|",
        *rows,
        "",
        f"Lessons ({len(lesson_times)}; budget {BUDGET_S:.0f} s each, kernel start included, two running at once; "
        f"median of the first execution {median:.1f} s):",
        "",
        "| lesson | first execution (s) | second execution (s) |",
        "|---|---:|---:|",
        *lesson_rows,
    ]) + "\n"
    out = ROOT / "benchmarks" / "results" / "make-test.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print("\n" + text + f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
