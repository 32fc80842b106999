"""helpers.metrics against scikit-learn on random inputs and edge cases."""

import numpy as np
import pytest
import torch
from sklearn import metrics as skm

from helpers import metrics as hm


def _random_pairs(n_cases=60, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(1, 40))
        yield rng.integers(0, k, n), rng.integers(0, k, n)


@pytest.mark.parametrize("average", ["macro", "micro"])
def test_multiclass_scores_match_sklearn(average):
    for t, p in _random_pairs():
        for ours, theirs in ((hm.precision_score, skm.precision_score),
                             (hm.recall_score, skm.recall_score), (hm.f1_score, skm.f1_score)):
            assert ours(t, p, average=average) == pytest.approx(
                theirs(t, p, average=average, zero_division=0), abs=1e-12)


def test_binary_scores_and_accuracy_match_sklearn():
    rng = np.random.default_rng(1)
    for _ in range(60):
        n = int(rng.integers(1, 30))
        t, p = rng.integers(0, 2, n), rng.integers(0, 2, n)
        assert hm.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
        for ours, theirs in ((hm.precision_score, skm.precision_score),
                             (hm.recall_score, skm.recall_score), (hm.f1_score, skm.f1_score)):
            with np.errstate(all="ignore"):
                expected = theirs(t, p, zero_division=0, labels=[0, 1])
            assert ours(t, p) == pytest.approx(expected, abs=1e-12)


def test_confusion_matrix_matches_sklearn_including_labels_argument():
    for t, p in _random_pairs(seed=2):
        np.testing.assert_array_equal(hm.confusion_matrix(t, p), skm.confusion_matrix(t, p))
        labels = [3, 0, 1]
        np.testing.assert_array_equal(hm.confusion_matrix(t, p, labels=labels),
                                      skm.confusion_matrix(t, p, labels=labels))


def test_class_never_predicted_counts_as_zero_precision():
    t = np.array([0, 1, 2, 2, 1, 0])
    p = np.array([0, 1, 1, 1, 1, 0])  # class 2 never predicted
    assert hm.precision_score(t, p, average="macro") == pytest.approx(
        skm.precision_score(t, p, average="macro", zero_division=0))
    assert hm.f1_score(t, p, average="macro") == pytest.approx(
        skm.f1_score(t, p, average="macro", zero_division=0))
    cm = hm.confusion_matrix(t, p)
    assert cm.shape == (3, 3) and cm[2].tolist() == [0, 2, 0]


def test_pos_label_and_string_labels():
    t = np.array(["cat", "dog", "dog", "cat", "dog"])
    p = np.array(["cat", "cat", "dog", "cat", "dog"])
    assert hm.recall_score(t, p, pos_label="dog") == pytest.approx(skm.recall_score(t, p, pos_label="dog"))
    assert hm.precision_score([1, 0, 1], [1, 1, 1], pos_label=0) == 0.0


def test_micro_equals_accuracy_for_single_label_data():
    for t, p in _random_pairs(seed=3):
        assert hm.f1_score(t, p, average="micro") == pytest.approx(hm.accuracy(t, p))


def test_tensors_and_column_vectors_are_accepted():
    t = torch.tensor([[0], [1], [1], [0]])
    p = torch.tensor([0.0, 1.0, 0.0, 0.0])
    assert hm.accuracy(t, p) == 0.75
    assert hm.recall_score(t, p) == 0.5


def test_bad_inputs_give_clear_errors():
    with pytest.raises(ValueError, match="different lengths: 3 != 2"):
        hm.accuracy([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        hm.accuracy([], [])
    with pytest.raises(ValueError, match="shape"):
        hm.accuracy(np.zeros((2, 3)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-integer floats"):
        hm.accuracy([0, 1], [0.2, 0.9])
    with pytest.raises(ValueError, match="average='binary' but the data has 3 classes"):
        hm.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="pos_label=2 is not a valid label"):
        hm.precision_score([0, 1], [1, 0], pos_label=2)
    with pytest.raises(ValueError, match="unknown average"):
        hm.recall_score([0, 1], [1, 0], average="weighted")
    with pytest.raises(ValueError, match="duplicates"):
        hm.confusion_matrix([0, 1], [1, 0], labels=[0, 0])
    with pytest.raises(ValueError, match="non-empty"):
        hm.confusion_matrix([0, 1], [1, 0], labels=[])


# --- issue 22: bad input -------------------------------------------------------------------------

def test_mixed_label_kinds_are_refused():
    """Item 10: int vs str labels used to give accuracy 0.0."""
    with pytest.raises(TypeError, match="y_true holds numbers.*y_pred holds strings"):
        hm.accuracy([0, 1, 1], ["0", "1", "1"])
    for bad, kind in ((None, "NoneType"), ("01", "str"), (3, "int")):
        with pytest.raises(TypeError, match=f"^y_true is a {kind}; pass a 1-D sequence"):
            hm.accuracy(bad, [1])
    with pytest.raises(TypeError, match="y_pred"):
        hm.f1_score([1, 0], [{"a"}, {"b"}])
    with pytest.raises(TypeError, match=r"^y_true holds values of type object \(set\); pass integer or string"):
        hm.accuracy([{1}], [1])
    assert hm.accuracy(["a", "b"], ["a", "a"]) == 0.5


# --- property-based: the metrics against scikit-learn ------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 4), min_size=n, max_size=n),
                                                        st.lists(st.integers(0, 4), min_size=n, max_size=n)))


@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=80, deadline=None)
@given(_pairs)
def test_metrics_equal_scikit_learn_on_any_labels(pair):
    t, p = pair
    assert hm.accuracy(t, p) == pytest.approx(skm.accuracy_score(t, p))
    labels = sorted(set(t) | set(p))
    np.testing.assert_array_equal(hm.confusion_matrix(t, p), skm.confusion_matrix(t, p, labels=labels))
    for average in ("macro", "micro"):
        for ours, theirs in [(hm.precision_score, skm.precision_score), (hm.recall_score, skm.recall_score),
                             (hm.f1_score, skm.f1_score)]:
            assert ours(t, p, average=average) == pytest.approx(theirs(t, p, average=average, zero_division=0))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 40).flatmap(lambda n: st.tuples(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                                                      st.lists(st.integers(0, 1), min_size=n, max_size=n))))
def test_binary_metrics_equal_scikit_learn(pair):
    t, p = pair
    for ours, theirs in [(hm.precision_score, skm.precision_score), (hm.recall_score, skm.recall_score),
                         (hm.f1_score, skm.f1_score)]:
        assert ours(t, p) == pytest.approx(theirs(t, p, zero_division=0))
