"""Atomic file writes: a file appears under its name complete, or not at all::

    with atomic_path("model.onnx") as tmp:      # tmp: a fresh file next to model.onnx
        export_to(tmp)                           # write it any way you like, by path
    # here model.onnx is complete and flushed to disk; had export_to raised, nothing would be left

The writer gets a temporary path in the same folder (so the final
``os.replace`` is a rename on one file system, which is atomic). On success
the file is flushed to disk (``fsync``) and renamed over the target; on any
error, including ``KeyboardInterrupt``, the temporary file is removed and the
target is left as it was. Downloads, checkpoints, exported models, logs and
cached corpora in ``helpers`` are all written this way.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _check_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise TypeError(f"path={path!r} is a {type(path).__name__}; pass a file path (str or pathlib.Path)")
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"path={str(path)!r} is a folder; pass the path of the file to write")
    return path


@contextmanager
def atomic_path(path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it over ``path`` if the block succeeds.

    The folder of ``path`` is created if needed. ``suffix`` names the
    temporary file (``.part`` for downloads), e.g. ``.model.onnx.k2j3.tmp``.
    """
    path = _check_path(path)
    if not isinstance(suffix, str) or "/" in suffix or os.sep in suffix:
        raise ValueError(f"suffix={suffix!r} must be a file-name ending such as '.tmp' (no folder separator)")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:           # whatever wrote the file, make it durable before the rename
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomic(path, text: str) -> Path:
    """Write ``text`` (UTF-8, newlines untranslated) to ``path`` atomically; return the path."""
    path = _check_path(path)
    if not isinstance(text, str):
        raise TypeError(f"text is a {type(text).__name__}; pass a str" +
                        (" (decode bytes first, or write them with atomic_path)" if isinstance(text, bytes) else ""))
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8", newline="")
    return path
