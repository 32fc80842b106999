"""How many OpenMP threads, and which wait policy, train the book's small models fastest?

    python scripts/benchmark_threads.py              # idle machine
    python scripts/benchmark_threads.py --load 2     # with one CPU-bound process per core busy beside it

Each setting runs in a fresh process (OpenMP reads its environment once, when
torch loads it) and times training steps of the GPT lesson's model (median of
``--steps`` steps after warm-up). Settings: one thread; all cores with the
OpenMP default wait policy (threads spin in the barrier); all cores with
``OMP_WAIT_POLICY=PASSIVE`` (threads sleep); and whatever ``helpers`` chooses
on its own (no variables set). ``--load N`` starts N busy-looping processes
first, like a reader's laptop running something else, or two notebooks at once.

Writes ``benchmarks/results/threads-load<N>.md`` and prints it. A benchmark,
not a test: it never fails on time.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_STEP = r"""
import json, statistics, sys, time
import helpers
import torch
from helpers.models import GPT, GPTConfig
torch.manual_seed(0)
model = GPT(GPTConfig(vocab_size=3000, block_size=32, n_layer=2, n_head=4, n_embd=64, tie_weights=False))
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x = torch.randint(0, 3000, (32, 32)); y = torch.randint(0, 3000, (32, 32))
times = []
for step in range(3 + int(sys.argv[1])):
    t0 = time.perf_counter()
    _, loss = model(x, y)
    opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
    if step >= 3:
        times.append(time.perf_counter() - t0)
print(json.dumps({"ms": 1000 * statistics.median(times), "threads": torch.get_num_threads(),
                  "setting": helpers.thread_setting()}))
"""


def _burn() -> None:  # pragma: no cover - runs in a child process
    x = 0
    while True:
        x += 1


def _measure(extra_env: dict[str, str], steps: int) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "MKL_NUM_THREADS")}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", _STEP, str(steps)], env=env, capture_output=True, text=True,
                         check=True, timeout=1800)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--load", type=int, default=0, help="busy-looping processes to start first (default 0)")
    parser.add_argument("--steps", type=int, default=20, help="timed training steps per setting (default 20)")
    args = parser.parse_args(argv)
    if args.load < 0 or args.steps < 1:
        parser.error("--load must be >= 0 and --steps >= 1")
    cores = os.cpu_count() or 1
    settings = [
        ("1 thread", {"OMP_NUM_THREADS": "1"}),
        (f"{cores} threads, default wait policy (spin)", {"OMP_NUM_THREADS": str(cores), "OMP_WAIT_POLICY": "ACTIVE"}),
        (f"{cores} threads, OMP_WAIT_POLICY=PASSIVE", {"OMP_NUM_THREADS": str(cores), "OMP_WAIT_POLICY": "PASSIVE"}),
        ("helpers' own choice (nothing set)", {}),
    ]
    burners = [mp.Process(target=_burn, daemon=True) for _ in range(args.load)]
    for b in burners:
        b.start()
    time.sleep(0.5 if burners else 0)
    rows = []
    try:
        for name, extra in settings:
            r = _measure(extra, args.steps)
            rows.append(f"| {name} | {r['threads']} | {r['ms']:.0f} | {r['setting']} |")
            print(rows[-1], flush=True)
    finally:
        for b in burners:
            b.terminate()
    text = "\n".join([
        f"# Training-step time against thread settings (load: {args.load} busy processes)",
        "",
        f"Machine: {platform.machine()}, {cores} CPUs, Python {platform.python_version()}. "
        "the GPT lesson's model (2 layers, width 64, vocabulary 3,000), batch 32 x 32 tokens, AdamW; median of "
        f"{args.steps} steps.",
        "",
        "| setting | torch threads | ms per step | what helpers reports |",
        "|---|---:|---:|---|",
        *rows,
    ]) + "\n"
    out = ROOT / "benchmarks" / "results" / f"threads-load{args.load}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"\nwrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
