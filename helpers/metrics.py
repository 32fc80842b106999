"""Classification metrics with scikit-learn's semantics, for NumPy arrays, lists or tensors.

All functions take ``(y_true, y_pred)``: two 1-D sequences of class labels of
equal length ``N``. The label set is the sorted union of both (as in
scikit-learn), so a class that is never predicted still counts.

``average``:
- ``"binary"``: report the class ``pos_label`` only (labels must be two at most);
- ``"macro"``: unweighted mean over classes;
- ``"micro"``: count every decision once (equals accuracy for single-label data).

A ratio with a zero denominator (a class never predicted, for precision) is 0,
like scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

import numpy as np
import torch

AVERAGES = ("binary", "macro", "micro")


def _as_labels(y, name: str) -> np.ndarray:
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    if y is None or isinstance(y, (str, bytes, dict, set)) or np.isscalar(y):
        raise TypeError(f"{name} is a {type(y).__name__}; pass a 1-D sequence of labels (list, array or tensor)")
    arr = np.asarray(y)
    if arr.dtype.kind not in "biufUS":
        raise TypeError(f"{name} holds values of type {arr.dtype} ({type(arr.flat[0]).__name__ if arr.size else '?'}); "
                        "pass integer or string class labels")
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D labels of shape (N,), got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{name} holds non-integer floats; pass class labels, not scores "
                             "(e.g. logits.argmax(1) or (prob > 0.5))")
        arr = arr.astype(np.int64)
    return arr


def _check_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    kinds = ["strings" if a.dtype.kind in "US" else "numbers" for a in (t, p)]
    if kinds[0] != kinds[1]:   # 1 == "1" is False: every sample would count as wrong
        raise TypeError(f"y_true holds {kinds[0]} but y_pred holds {kinds[1]}; convert both to the same kind "
                        "(e.g. np.asarray(y_pred).astype(int))")
    if len(t) != len(p):
        raise ValueError(f"y_true and y_pred have different lengths: {len(t)} != {len(p)}")
    if len(t) == 0:
        raise ValueError("y_true and y_pred are empty")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """Fraction of positions where ``y_pred == y_true``."""
    t, p = _check_pair(y_true, y_pred)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, labels=None) -> np.ndarray:
    """``C[i, j]`` = number of samples of true class ``labels[i]`` predicted as ``labels[j]``.

    Returns an int64 array of shape ``(K, K)``; ``labels`` defaults to the sorted
    union of both inputs. Samples whose labels are not in ``labels`` are ignored.
    """
    t, p = _check_pair(y_true, y_pred)
    labels = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0:
        raise ValueError("labels must be a non-empty 1-D sequence")
    if len(np.unique(labels)) != len(labels):
        raise ValueError(f"labels contain duplicates: {labels.tolist()}")
    index = {label: i for i, label in enumerate(labels.tolist())}
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for a, b in zip(t.tolist(), p.tolist()):
        if a in index and b in index:
            cm[index[a], index[b]] += 1
    return cm


def _per_class_counts(y_true, y_pred, average: str, pos_label):
    """True positives, predicted positives and actual positives per reported class."""
    if average not in AVERAGES:
        raise ValueError(f"unknown average {average!r}; use one of {AVERAGES}")
    t, p = _check_pair(y_true, y_pred)
    labels = np.unique(np.concatenate([t, p]))
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(f"average='binary' but the data has {len(labels)} classes "
                             f"{labels.tolist()}; use average='macro' or 'micro'")
        if pos_label not in labels.tolist() and len(labels) == 2:
            raise ValueError(f"pos_label={pos_label!r} is not a valid label; labels are {labels.tolist()}")
        labels = np.array([pos_label])
    cm_rows = [(np.sum((t == c) & (p == c)), np.sum(p == c), np.sum(t == c)) for c in labels]
    tp, pred_pos, true_pos = (np.array(col, dtype=np.float64) for col in zip(*cm_rows))
    return tp, pred_pos, true_pos


def _safe_div(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b != 0)


def precision_score(y_true, y_pred, average: str = "binary", pos_label=1) -> float:
    """Precision TP / (TP + FP): of the samples predicted as a class, how many are."""
    tp, pred_pos, _ = _per_class_counts(y_true, y_pred, average, pos_label)
    if average == "micro":
        return float(_safe_div(tp.sum(), pred_pos.sum()))
    return float(np.mean(_safe_div(tp, pred_pos)))


def recall_score(y_true, y_pred, average: str = "binary", pos_label=1) -> float:
    """Recall TP / (TP + FN): of the samples of a class, how many were found."""
    tp, _, true_pos = _per_class_counts(y_true, y_pred, average, pos_label)
    if average == "micro":
        return float(_safe_div(tp.sum(), true_pos.sum()))
    return float(np.mean(_safe_div(tp, true_pos)))


def f1_score(y_true, y_pred, average: str = "binary", pos_label=1) -> float:
    """F1 = 2PR / (P + R) = 2TP / (2TP + FP + FN), per class, then averaged."""
    tp, pred_pos, true_pos = _per_class_counts(y_true, y_pred, average, pos_label)
    if average == "micro":
        return float(_safe_div(2 * tp.sum(), pred_pos.sum() + true_pos.sum()))
    return float(np.mean(_safe_div(2 * tp, pred_pos + true_pos)))
