"""Environment of a notebook: seeding, device selection and the run scale.

Every chapter starts with the same cell, which calls :func:`setup`::

    env = helpers.setup(seed=0, full=FULL_SCALE)
    # device=cpu | scale=default | seed=0 | python 3.11.7 | torch 2.13.0 | numpy 2.4.6 | helpers 0.1.0 | threads=2 (...)

Scale
-----
``"default"`` keeps every notebook under a minute on a 2-core CPU.
``"full"`` trains the real thing (GPU/Colab). A reader opts in either with the
flag ``FULL_SCALE = True`` in the first cell or with the environment variable
``LLMBOOK_SCALE=full``.
"""

from __future__ import annotations

import os
import platform
import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

SCALES = ("default", "full")
SCALE_ENV_VAR = "LLMBOOK_SCALE"
PROGRESS_ENV_VAR = "LLMBOOK_PROGRESS"  # "bar" | "none"; unset means: bar when interactive


@dataclass(frozen=True)
class Env:
    """What :func:`setup` decided: ``device`` (torch.device), ``scale`` and ``seed``."""

    device: torch.device
    scale: str
    seed: int
    threads: str = ""   # what helpers.threads chose, e.g. "threads=2 (idle OpenMP threads sleep: ...)"

    def __post_init__(self):
        if not isinstance(self.device, torch.device):
            raise TypeError(f"device={self.device!r} is a {type(self.device).__name__}; pass a torch.device, "
                            "e.g. get_device()")
        if self.scale not in SCALES:
            raise ValueError(f"scale={self.scale!r}: use one of {SCALES}")
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed={self.seed!r} must be a non-negative int")

    @property
    def full(self) -> bool:
        return self.scale == "full"

    def summary(self) -> str:
        import numpy
        from . import __version__

        return (
            f"device={self.device.type} | scale={self.scale} | seed={self.seed} | "
            f"python {platform.python_version()} | torch {torch.__version__} | "
            f"numpy {numpy.__version__} | helpers {__version__}"
            + (f" | {self.threads}" if self.threads and self.device.type == "cpu" else "")
        )


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (CPU and CUDA)."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(prefer: str | None = None) -> torch.device:
    """Pick the compute device: CUDA, then Apple MPS, then CPU.

    ``prefer`` forces one (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``); asking
    for a device that is not available raises ``RuntimeError`` instead of
    silently falling back.
    """
    if prefer is not None:
        try:
            device = torch.device(prefer)
        except (RuntimeError, TypeError):
            raise ValueError(f"device {prefer!r} is not a device name; use 'cpu', 'cuda', 'cuda:1', 'mps' "
                             "or None (pick automatically)") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"device {prefer!r} requested but CUDA is not available")
        if device.type == "mps" and not _mps_available():
            raise RuntimeError(f"device {prefer!r} requested but Apple MPS is not available")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_scale(scale: str | None = None, full: bool = False) -> str:
    """Resolve the run scale: the ``full`` flag, else ``scale``, else ``$LLMBOOK_SCALE``, else ``"default"``."""
    if full:
        return "full"
    if scale is not None and not isinstance(scale, str):
        raise TypeError(f"scale={scale!r} is a {type(scale).__name__}; pass one of {SCALES} or None")
    name = scale if scale is not None else os.environ.get(SCALE_ENV_VAR, "default")
    name = name.strip().lower()
    if name not in SCALES:
        raise ValueError(
            f"unknown scale {name!r}; use one of {SCALES} "
            f"(set FULL_SCALE = True in the first cell or {SCALE_ENV_VAR}=full)"
        )
    return name


def find_upwards(relpath, start=None):
    """The first existing ``folder / relpath`` for ``folder`` = ``start`` (default: the working directory)
    and each of its parents, or ``None``.

    Lessons use it to read logs committed under ``benchmarks/`` whether they run
    from the repository root (the site build) or from their own folder (Jupyter).
    """
    from pathlib import Path

    if not isinstance(relpath, (str, os.PathLike)) or not str(relpath) or Path(relpath).is_absolute():
        raise ValueError(f"relpath={relpath!r} must be a non-empty relative path, e.g. 'benchmarks/run.log'")
    if start is not None and not isinstance(start, (str, os.PathLike)):
        raise TypeError(f"start={start!r} is a {type(start).__name__}; pass a folder path or None (the working "
                        "directory)")
    start = Path.cwd() if start is None else Path(start)
    return next((p / relpath for p in (start, *start.parents) if (p / relpath).exists()), None)


def progress_enabled() -> bool:
    """Whether training loops should draw a live progress bar.

    ``$LLMBOOK_PROGRESS=none`` (set by ``make`` when the book is built or
    tested) gives a compact printed summary instead; ``bar`` forces the bar.
    """
    value = os.environ.get(PROGRESS_ENV_VAR, "").strip().lower()
    if value in ("none", "0", "off", "false"):
        return False
    if value in ("bar", "1", "on", "true"):
        return True
    if value:
        raise ValueError(f"{PROGRESS_ENV_VAR}={value!r}: use 'bar' or 'none'")
    return "ipykernel" in sys.modules or sys.stderr.isatty()


def setup(seed: int = 0, full: bool = False, scale: str | None = None,
          device: str | None = None, quiet: bool = False) -> Env:
    """Prepare a notebook: seed all generators, pick the device, read the scale,
    choose CPU threads (:mod:`helpers.threads`), apply the book's plot style,
    and print one summary line.

    Returns an :class:`Env` with ``device``, ``scale`` and ``seed``.
    """
    from .threads import configure

    resolved_scale = get_scale(scale, full)
    resolved_device = get_device(device)   # before seeding: a bad device changes no global state
    seed_everything(seed)
    env = Env(device=resolved_device, scale=resolved_scale, seed=seed, threads=configure())
    from .plot import use_book_style

    use_book_style()
    if not quiet:
        print(env.summary())
    return env
