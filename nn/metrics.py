"""Scores of predictions, on plain floats (scikit-learn's names): classes, probabilities, accuracy,
confusion matrix, RMSE, MAE, R².

A model's output for one sample is a float (one output: binary, ``score > 0``
is class 1) or a list of K floats (K-class softmax, the argmax wins).

>>> predict_class([0.1, 2.0, -1.0]), predict_class(-0.3)
(1, 0)
>>> r2_score([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
1.0
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

from engine import Value

from .checks import class_index


def _data(v) -> float:
    return v.data if isinstance(v, Value) else v


def predict_class(output) -> int:
    """Class index of one output: binary by sign, multi-class by argmax.  Values or floats."""
    if isinstance(output, (list, tuple)):
        if not output:
            raise ValueError("predict_class: got an empty list of scores; a model output has one per class")
        vals = [_data(o) for o in output]
        return max(range(len(vals)), key=vals.__getitem__)
    return 1 if _data(output) > 0 else 0


def class_or_none(output) -> Optional[int]:
    """``predict_class(output)``, or None when the scores cannot pick a class: a nan, or a tie at inf.

    Such scores come from inputs far outside the training data (say 1e308)
    overflowing inside the network, or from non-finite weights;
    ``predict_class`` would call a nan score class 0.

    >>> class_or_none(float("inf")), class_or_none(float("nan")), class_or_none([1.0, float("inf")])
    (1, None, 1)
    """
    k = predict_class(output)  # first: it names an empty score list
    vals = [_data(o) for o in output] if isinstance(output, (list, tuple)) else [_data(output)]
    if any(v != v for v in vals):
        return None
    top = max(vals)
    return None if not math.isfinite(top) and vals.count(top) > 1 else k


def probabilities(output) -> List[float]:
    """Class probabilities of one output: ``[1 - sigmoid(s), sigmoid(s)]`` for one score, softmax for K.

    >>> [round(p, 4) for p in probabilities([0.0, 0.0])]
    [0.5, 0.5]
    """
    if isinstance(output, (list, tuple)):
        if not output:
            raise ValueError("probabilities: got an empty list of scores; a model output has one per class")
        vals = [_data(o) for o in output]
        m = max(vals)
        if not math.isfinite(m):
            return [math.nan] * len(vals)
        e = [math.exp(v - m) for v in vals]  # the max subtracted: never overflows
        total = math.fsum(e)
        return [x / total for x in e]
    s = _data(output)
    p = 1.0 / (1.0 + math.exp(-s)) if s >= 0 else math.exp(s) / (1.0 + math.exp(s))
    return [1.0 - p, p]


def accuracy(outputs: Sequence, labels: Sequence[int]) -> float:
    """Fraction of correct predictions (see ``predict_class``); nan for no samples.

    An output whose scores cannot pick a class (nan, or a tie at inf) counts as wrong.

    >>> accuracy([0.3, -1.0, 2.0], [1, 0, 0])
    0.6666666666666666
    """
    if len(outputs) != len(labels):
        raise ValueError(f"accuracy: got {len(outputs)} outputs but {len(labels)} labels")
    if not outputs:
        return float("nan")
    return sum(class_or_none(o) == t for o, t in zip(outputs, labels)) / len(outputs)


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], num_classes: int) -> List[List[int]]:
    """``m[i][j]`` = how many samples of class i were predicted as class j (rows: truth).

    >>> confusion_matrix([0, 1, 1], [0, 0, 1], 2)
    [[1, 0], [1, 1]]
    """
    if len(y_true) != len(y_pred):
        raise ValueError(f"confusion_matrix: got {len(y_true)} labels but {len(y_pred)} predictions")
    k = class_index(num_classes)  # numpy ints too (y.max() + 1)
    if k is None or k < 1:
        raise ValueError(f"confusion_matrix: num_classes must be an int >= 1, got {num_classes!r}")
    num_classes = k
    m = [[0] * num_classes for _ in range(num_classes)]
    for i, (t, p) in enumerate(zip(y_true, y_pred)):
        for what, c in (("label", t), ("prediction", p)):
            if class_index(c) is None or not 0 <= c < num_classes:  # (a -1 would count in the last class)
                raise ValueError(f"confusion_matrix: {what} {i} is {c!r}, not a class in 0..{num_classes - 1}")
        m[int(t)][int(p)] += 1
    return m


def per_class_accuracy(matrix: List[List[int]]) -> List[float]:
    """For each class, the fraction of its samples predicted right (its recall); nan for an absent class.

    >>> per_class_accuracy([[1, 0], [1, 1]])
    [1.0, 0.5]
    """
    return [row[i] / sum(row) if sum(row) else math.nan for i, row in enumerate(matrix)]


def _square(d: float) -> float:
    return d * d  # inf past ~1e154 (``d ** 2`` raises OverflowError there)


def _pairs(y_true: Sequence[float], y_pred: Sequence[float], where: str) -> int:
    if len(y_true) != len(y_pred):
        raise ValueError(f"{where}: got {len(y_true)} targets but {len(y_pred)} predictions")
    if not y_true:
        raise ValueError(f"{where}: got no samples")
    return len(y_true)


def mean_squared_error(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Mean of (prediction - target)².

    >>> mean_squared_error([1.0, 2.0], [2.0, 2.0])
    0.5
    """
    n = _pairs(y_true, y_pred, "mean_squared_error")
    return math.fsum(_square(p - t) for t, p in zip(y_true, y_pred)) / n


def root_mean_squared_error(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """RMSE, in the target's own units."""
    return math.sqrt(mean_squared_error(y_true, y_pred))


def mean_absolute_error(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Mean of |prediction - target|.

    >>> mean_absolute_error([1.0, 2.0], [2.0, 2.0])
    0.5
    """
    n = _pairs(y_true, y_pred, "mean_absolute_error")
    return math.fsum(abs(p - t) for t, p in zip(y_true, y_pred)) / n


def r2_score(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Coefficient of determination: 1 - SS_res / SS_tot (1 is perfect, 0 = predicting the mean).

    nan when the targets are all equal (SS_tot = 0), as there is nothing to explain.
    """
    n = _pairs(y_true, y_pred, "r2_score")
    mean = math.fsum(y_true) / n
    ss_tot = math.fsum(_square(t - mean) for t in y_true)
    ss_res = math.fsum(_square(t - p) for t, p in zip(y_true, y_pred))
    return 1.0 - ss_res / ss_tot if ss_tot > 0 else math.nan
