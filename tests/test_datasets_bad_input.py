"""Bad input to helpers.datasets raises an error naming the argument."""

import pytest

from helpers import datasets


def test_load_review_sentiment_refuses_a_non_bool():
    with pytest.raises(TypeError, match="deduplicate='no' is a str; pass True or False"):
        datasets.load_review_sentiment("no")


def test_package_file_refuses_non_strings():
    with pytest.raises(TypeError, match="package=None"):
        datasets.package_file(None, "a.txt")
    with pytest.raises(ValueError, match="relative is empty"):
        datasets.package_file("snownlp", "")
