"""helpers._validate: every check accepts what it should, and names the argument and value when it refuses."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers._validate import (as_real_array, as_tensor, check_choice, check_finite, check_float, check_ids, check_int,
                               check_type)


def test_check_int_accepts_ints_and_numpy_ints_and_refuses_the_rest():
    assert check_int("n", 3) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("n", 1, min=1) == 1 and check_int("n", 5, max=5) == 5
    for bad in (True, 2.0, "3", None, np.float32(1)):
        with pytest.raises(TypeError, match=r"^n=.* is a .*; pass an int$"):
            check_int("n", bad)
    with pytest.raises(ValueError, match=r"^n=0 must be >= 1$"):
        check_int("n", 0, min=1)
    with pytest.raises(ValueError, match=r"^n=6 must be <= 5$"):
        check_int("n", 6, max=5)


def test_check_float_bounds_and_finiteness():
    assert check_float("x", 1) == 1.0 and check_float("x", np.float32(0.5)) == 0.5
    assert check_float("x", 0.0, min=0.0) == 0.0 and check_float("x", 1.0, max=1.0) == 1.0
    with pytest.raises(ValueError, match=r"^x=0.0 must be > 0.0$"):
        check_float("x", 0.0, min=0.0, min_inclusive=False)
    with pytest.raises(ValueError, match=r"^x=1.0 must be < 1.0$"):
        check_float("x", 1.0, max=1.0, max_inclusive=False)
    with pytest.raises(ValueError, match=r"^x=-0.5 must be >= 0.0$"):
        check_float("x", -0.5, min=0.0)
    with pytest.raises(ValueError, match=r"^x=2.0 must be <= 1.0$"):
        check_float("x", 2.0, max=1.0)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match="finite"):
            check_float("x", bad)
    for bad in (False, "1", None, [1.0]):
        with pytest.raises(TypeError, match=r"^x=.*; pass a number$"):
            check_float("x", bad)


def test_long_values_are_shortened_in_messages():
    with pytest.raises(TypeError) as info:
        check_int("n", "a" * 59)                       # repr is 61 characters: shortened to 60
    assert f"n={'a' * 56}... is a str" in str(info.value).replace("'", "", 1)
    with pytest.raises(TypeError) as info:
        check_int("n", "a" * 58)                       # repr is exactly 60 characters: kept
    assert f"n='{'a' * 58}' is a str" in str(info.value)


def test_check_type_and_choice():
    assert check_type("s", "a", str) == "a"
    with pytest.raises(TypeError, match=r"^s is a int; pass a str or bytes$"):
        check_type("s", 1, (str, bytes))
    with pytest.raises(TypeError, match=r"^m is a str; pass a torch.nn.Module$"):
        check_type("m", "x", torch.nn.Module, "torch.nn.Module")
    assert check_choice("mode", "a", ("a", "b")) == "a"
    with pytest.raises(ValueError, match=r"^mode='c': use one of \['a', 'b'\]$"):
        check_choice("mode", "c", ("a", "b"))


def test_as_tensor_and_check_finite():
    t = torch.ones(2)
    assert as_tensor("x", t) is t and as_tensor("x", [1, 2]).tolist() == [1, 2]
    for bad in ("abc", None, {"a": 1}, [[1], [1, 2]], ["a", "b"]):
        with pytest.raises(TypeError, match="^x "):
            as_tensor("x", bad)
    for bad, kind in (("abc", "str"), (b"ab", "bytes"), (None, "NoneType"), ({1}, "set")):
        with pytest.raises(TypeError, match=f"^x is a {kind}; pass a tensor"):
            as_tensor("x", bad)
    assert check_finite("x", [1, 2]).tolist() == [1, 2]
    with pytest.raises(ValueError, match=r"^x holds 2 NaN/inf"):
        check_finite("x", [np.nan, 1.0, np.inf])


def test_check_ids_messages():
    assert check_ids("ids", [0, 2], 3).dtype == torch.long
    assert check_ids("ids", [], 3, allow_empty=True).numel() == 0
    assert check_ids("ids", np.array([5], dtype=np.uint8)).tolist() == [5]
    with pytest.raises(ValueError, match=r"^ids is empty"):
        check_ids("ids", [], 3)
    with pytest.raises(TypeError, match=r"^ids has dtype torch.float32"):
        check_ids("ids", torch.tensor([1.0]), 3)
    with pytest.raises(TypeError, match=r"^ids has dtype torch.bool"):
        check_ids("ids", torch.tensor([True]), 3)
    with pytest.raises(ValueError, match=r"^ids must be a 1-D array of token ids, got shape \(1, 2\)$"):
        check_ids("ids", [[0, 1]], 3)
    with pytest.raises(ValueError, match=r"^ids holds the id 3, outside the vocabulary \[0, 3\)"):
        check_ids("ids", [0, 3], 3)
    with pytest.raises(ValueError, match=r"^ids holds the id -1, outside"):
        check_ids("ids", [-1, 0], 3)
    with pytest.raises(ValueError, match=r"^ids holds the negative id -2"):
        check_ids("ids", [-2], None)
    assert check_ids("x", [[0, 1]], 2, ndim=2).shape == (1, 2)
    assert check_ids("x", [[0, 1]], 2, ndim=None).shape == (1, 2)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(-5, 12), min_size=1, max_size=30), st.integers(1, 10))
def test_check_ids_accepts_exactly_the_ids_in_range(ids, vocab_size):
    ok = all(0 <= i < vocab_size for i in ids)
    if ok:
        assert check_ids("ids", ids, vocab_size).tolist() == ids
    else:
        with pytest.raises(ValueError, match="outside the vocabulary"):
            check_ids("ids", ids, vocab_size)


@settings(max_examples=60, deadline=None)
@given(st.integers(-20, 20), st.integers(-10, 10), st.integers(-10, 10))
def test_check_int_bounds_agree_with_comparisons(value, lo, hi):
    if lo <= value <= hi:
        assert check_int("n", value, min=lo, max=hi) == value
    else:
        with pytest.raises(ValueError, match=f"^n={value} must be"):
            check_int("n", value, min=lo, max=hi)


def test_as_real_array_names_the_argument():
    assert as_real_array("z", [1, 2.5]).dtype == np.float64
    assert as_real_array("z", torch.tensor([1, 2])).tolist() == [1, 2]
    with pytest.raises(TypeError, match=r"z='abc' has elements of type <U3"):
        as_real_array("z", "abc")
    with pytest.raises(TypeError, match=r"z=\[1, None\] has elements of type object"):
        as_real_array("z", [1, None])


def test_describe_sequence_names_an_empty_container_as_empty():
    from helpers._validate import _describe_sequence as describe_sequence

    assert describe_sequence([]) == "an empty list" and describe_sequence(()) == "an empty tuple"
    assert describe_sequence("abc") == "a str" and describe_sequence("") == "a str"
    assert describe_sequence(3) == "a int" and describe_sequence([1]) == "a list"
