"""Bad input to the NumPy functions of helpers.scratch and helpers.logistic raises an error naming the argument."""

import numpy as np
import pytest

from helpers import logistic, scratch


@pytest.mark.parametrize("fn", [logistic.sigmoid, scratch.sigmoid, scratch.softmax, scratch.log_softmax])
def test_elementwise_functions_refuse_non_numbers(fn):
    with pytest.raises(TypeError, match=r"z='1.0' has elements of type <U3"):
        fn("1.0")
    with pytest.raises(TypeError, match="z=None"):
        fn(None)


def test_log_softmax_refuses_empty_input_and_a_bad_axis():
    with pytest.raises(ValueError, match=r"z must be a non-empty array of logits, got shape \(0,\)"):
        scratch.log_softmax(np.zeros(0))
    with pytest.raises(ValueError, match="axis=2 must be <= 1"):
        scratch.softmax(np.zeros((2, 3)), axis=2)


def test_numerical_gradient_refuses_bad_arguments():
    with pytest.raises(TypeError, match="f is a float"):
        scratch.numerical_gradient(1.0, np.zeros(2))
    with pytest.raises(TypeError, match="x is a ndarray of dtype int64"):
        scratch.numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.int64))
    with pytest.raises(TypeError, match="x is a list"):
        scratch.numerical_gradient(lambda: 0.0, [0.0, 1.0])
    with pytest.raises(ValueError, match="eps=0.0 must be > 0"):
        scratch.numerical_gradient(lambda: 0.0, np.zeros(2), eps=0.0)


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1.0, 2.0])

    def f():
        if x[0] != 1.0:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError, match="boom"):
        scratch.numerical_gradient(f, x)
    assert x.tolist() == [1.0, 2.0]
