"""Bad input to helpers.text_features.bag_of_chars raises an error naming the argument."""

import pytest

from helpers import CharVocab, bag_of_chars


def test_bag_of_chars_refuses_a_dict_vocab_and_a_non_bool_binary():
    with pytest.raises(TypeError, match="vocab is a dict; pass a fitted CharVocab"):
        bag_of_chars(["好"], {"好": 0})
    with pytest.raises(TypeError, match="binary='yes'"):
        bag_of_chars(["好"], CharVocab().fit(["好"]), binary="yes")
