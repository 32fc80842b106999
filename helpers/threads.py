"""CPU threads: fast on an idle machine and on a busy one.

PyTorch's CPU kernels run on OpenMP threads, one per core by default. With
OpenMP's default wait policy a thread that finishes its share of an operation
spins in the barrier until the others arrive. On an idle machine that costs
nothing; on a busy one (a reader's laptop with a browser open, two notebooks at
once) a spinning thread steals the core that the other thread needs, and the
small operations of the book's models become many times slower. Measured on the
book's two-core machine with a training step of the GPT lesson's model
(``benchmarks/cpu-2core-2026-12-07/threads.md``): idle, two spinning threads took
about 60 ms, two sleeping threads (``OMP_WAIT_POLICY=PASSIVE``) 70-100 ms, one
thread 86-104 ms; with both cores busy, spinning threads took 384-1,176 ms,
sleeping ones about 105 ms, one thread 138-162 ms. Sleeping threads are never far
from the best, so they are the default here (``scripts/benchmark_threads.py``
measures it on your machine).

OpenMP reads ``OMP_WAIT_POLICY`` once, when torch loads it. So this module,
imported by ``helpers/__init__.py`` before anything imports torch, sets
``OMP_WAIT_POLICY=PASSIVE`` unless the reader chose a policy; and
:func:`configure` (called by ``helpers.setup``) falls back to one thread when
torch was imported before ``helpers`` with threads that spin. An explicit
``OMP_NUM_THREADS`` is always respected. :func:`thread_setting` says what was
chosen, and ``setup`` prints it.

This module must not import torch at import time.
"""

from __future__ import annotations

import os
import sys

TORCH_LOADED_BEFORE_HELPERS = "torch" in sys.modules
if not TORCH_LOADED_BEFORE_HELPERS:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# The policy OpenMP will run with (when torch was loaded earlier this is our best knowledge of it).
WAIT_POLICY = os.environ.get("OMP_WAIT_POLICY", "").strip().upper() or "ACTIVE"

_chosen: str | None = None


def configure() -> str:
    """Choose torch's CPU thread count for this process; return a one-line description.

    - ``OMP_NUM_THREADS`` set: keep it (the reader or ``make`` decided);
    - threads sleep when idle (``OMP_WAIT_POLICY=PASSIVE``, the default that
      importing ``helpers`` first arranges): keep one thread per core;
    - otherwise (torch was imported before ``helpers``, so its threads spin):
      one thread, which is as fast on an idle machine and far faster on a busy one.
    """
    global _chosen
    import torch

    if os.environ.get("OMP_NUM_THREADS", "").strip():
        _chosen = f"threads={torch.get_num_threads()} (OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS'].strip()})"
    elif WAIT_POLICY == "PASSIVE":
        _chosen = f"threads={torch.get_num_threads()} (idle OpenMP threads sleep: OMP_WAIT_POLICY=PASSIVE)"
    else:
        torch.set_num_threads(1)
        _chosen = ("threads=1 (torch was imported before helpers with spinning OpenMP threads; "
                   "import helpers first to use every core)")
    return _chosen


def thread_setting() -> str:
    """What :func:`configure` chose (it runs first if it has not yet)."""
    return _chosen if _chosen is not None else configure()
