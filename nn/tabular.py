"""``TabularModel``: a network plus what it needs to read raw table rows.

It keeps the feature names, the standardisation fitted on the training
rows (each feature's mean and standard deviation), the task, and the class
names (classification) or the target's mean and standard deviation
(regression, so the network learns a target of scale 1 and predictions come
back in the target's own units).  All of it is saved in ``model.json``
(architecture + buffers) and applied by ``predict`` every time, exactly
once: a saved model predicts on raw rows.

>>> from nn import MLP, fit
>>> X = [[150.0, 1.0], [180.0, 0.0], [160.0, 1.0], [190.0, 0.0]]      # raw units
>>> model = TabularModel(MLP(2, [8, 2], seed=0), ["height", "flag"], classes=["a", "b"]).fit_scaling(X)
>>> _ = fit(model, X, [0, 1, 0, 1], epochs=30, progress=False)
>>> model.predict_labels([[155.0, 1.0], [185.0, 0.0]])
['a', 'b']
"""
from __future__ import annotations

import math
from typing import List, Optional, Sequence

from .checks import check_samples, choice, real, short
from .layers import MODULE_TYPES, from_config
from .metrics import class_or_none, probabilities
from .module import Module, StateDictError

TASKS = ("classification", "regression")


def _names(values, what: str) -> List[str]:
    if isinstance(values, str) or not hasattr(values, "__iter__"):
        raise TypeError(f"TabularModel: {what} must be a list of names, got {type(values).__name__} {short(values)}")
    out = list(values)
    for i, v in enumerate(out):
        if not isinstance(v, str):
            raise TypeError(f"TabularModel: {what}[{i}] must be a str, got {type(v).__name__} {short(v)}")
    if len(set(out)) != len(out):
        raise ValueError(f"TabularModel: {what} has a repeated name: {short(out, 200)}")
    return out


# Standardising computes x - mean, which overflows past ~9e307 (twice the largest value); squares
# overflow past ~1e154, so columns with values that big get their statistics on a scaled copy.
_MAX_ABS = 1e307
_SQUARE_SAFE = 1e150


def _mean_std(columns: List[List[float]], names: List[str]):
    means, stds = [], []
    for col, name in zip(columns, names):
        big = max(map(abs, col))
        if big > _MAX_ABS:
            v = next(v for v in col if abs(v) == big)
            raise ValueError(f"TabularModel.fit_scaling: column {name!r} holds {v!r}, too large to standardise "
                             f"(x - mean would overflow past 1e308); rescale the column, e.g. divide it by 1e300")
        k = big if big > _SQUARE_SAFE else 1.0
        scaled = [v / k for v in col] if k != 1.0 else col
        m = math.fsum(scaled) / len(col)
        sd = math.sqrt(math.fsum((v - m) ** 2 for v in scaled) / len(col))
        m, sd = m * k, sd * k
        means.append(m)
        stds.append(sd if sd > 1e-12 * max(1.0, abs(m)) else 1.0)  # a constant column: leave it at 0
    return means, stds


class TabularModel(Module):
    """``net`` applied to standardised features; raw rows in, raw-unit predictions out.

    ``features``: the column names, in input order (``nin`` is their
    count).  ``task``: ``"classification"`` (``classes``: names in output
    order; one output = 2 classes) or ``"regression"`` (one output).
    ``mean``/``std`` default to 0/1 (no scaling): call ``fit_scaling(X, y)``
    on the training rows, or pass them.
    """

    __slots__ = ("net", "features", "target", "task", "classes", "mean", "std", "target_mean", "target_std")

    def __init__(self, net: Module, features: Sequence[str], *, task: str = "classification",
                 classes: Optional[Sequence[str]] = None, target: str = "target",
                 mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 target_mean: float = 0.0, target_std: float = 1.0) -> None:
        super().__init__()
        if not isinstance(net, Module):
            raise TypeError(f"TabularModel: net must be an nn.Module (e.g. MLP), got {type(net).__name__}")
        self.net = net
        self.features = _names(features, "features")
        if not self.features:
            raise ValueError("TabularModel: features must name at least one column")
        self.task = choice(task, TASKS, "task", "TabularModel")
        if not isinstance(target, str):
            raise TypeError(f"TabularModel: target must be a column name (str), got {type(target).__name__}")
        self.target = target
        if self.task == "classification":
            if classes is None:
                raise ValueError("TabularModel: a classifier needs its class names, e.g. classes=['no', 'yes']")
            self.classes = _names(classes, "classes")
            if len(self.classes) < 2:
                raise ValueError(f"TabularModel: classification needs 2+ classes, got {self.classes}")
        else:
            if classes is not None:
                raise ValueError("TabularModel: classes apply to classification only")
            self.classes = None
        n = len(self.features)
        self.mean = [real(v, f"mean[{i}]", "TabularModel") for i, v in enumerate([0.0] * n if mean is None else mean)]
        self.std = [real(v, f"std[{i}]", "TabularModel", minimum=0.0, low_open=True)
                    for i, v in enumerate([1.0] * n if std is None else std)]
        if len(self.mean) != n or len(self.std) != n:
            raise ValueError(f"TabularModel: mean and std need one number per feature ({n}), "
                             f"got {len(self.mean)} and {len(self.std)}")
        self.target_mean = [real(target_mean, "target_mean", "TabularModel")]
        self.target_std = [real(target_std, "target_std", "TabularModel", minimum=0.0, low_open=True)]
        self._label_parameters()

    @property
    def nin(self) -> int:
        return len(self.features)

    def fit_scaling(self, X: Sequence, y: Optional[Sequence] = None) -> "TabularModel":
        """Set the standardisation from training rows ``X`` (and regression targets ``y``); returns self.

        Population standard deviation; a constant column keeps scale 1.
        """
        rows = check_samples(X, "X", "TabularModel.fit_scaling", width=self.nin, values=False)
        if not rows:
            raise ValueError("TabularModel.fit_scaling: got no rows")
        self.mean, self.std = _mean_std([list(col) for col in zip(*rows)], self.features)
        if self.task == "regression" and y is not None:
            ys = [real(v, f"y[{i}]", "TabularModel.fit_scaling") for i, v in enumerate(y)]
            (m,), (s,) = _mean_std([ys], [self.target])
            self.target_mean, self.target_std = [m], [s]
        return self

    # -- forward ------------------------------------------------------------------------
    def standardize(self, x) -> list:
        """One raw row (floats or Values) as the network sees it: ``(x - mean) / std`` per feature."""
        xs = list(x)
        if len(xs) != len(self.mean):
            raise ValueError(f"TabularModel: expected {len(self.mean)} features ({', '.join(self.features)}), "
                             f"got {len(xs)}")
        return [(v - m) * (1.0 / s) for v, m, s in zip(xs, self.mean, self.std)]

    def _unscale(self, out):
        if self.task != "regression":
            return out
        return out * self.target_std[0] + self.target_mean[0]

    def __call__(self, x):
        return self._unscale(self.net(self.standardize(x)))

    def forward_batch(self, xs: Sequence) -> list:
        return [self._unscale(o) for o in self.net.forward_batch([self.standardize(x) for x in xs])]

    def _float_fn(self):
        inner = self.net._float_fn()
        if inner is None:
            return None
        inv = [1.0 / s for s in self.std]
        mean = self.mean
        ts, tm = self.target_std[0], self.target_mean[0]
        regression = self.task == "regression"

        def f(x: list):
            out = inner([(v - m) * i for v, m, i in zip(x, mean, inv)])  # the same arithmetic as standardize
            return out * ts + tm if regression else out
        return f

    # -- predictions in the table's own terms -----------------------------------------------
    def predict_labels(self, rows: Sequence) -> list:
        """Class names (classification) or numbers in the target's units (regression), one per row.

        ValueError, naming the row, for scores that cannot pick a class (nan, or
        a tie at inf: inputs far outside the training data's range overflow).
        """
        outs = self.predict(rows)
        if self.task == "regression":
            return outs
        labels = []
        for i, o in enumerate(outs):
            k = class_or_none(o)
            if k is None:
                raise ValueError(f"TabularModel.predict_labels: row {i} gets scores {o!r}, which cannot pick a class "
                                 f"(nan, or a tie at inf): its numbers are likely far outside the training data's "
                                 f"range and overflow inside the network"[:400])
            labels.append(self.classes[k])
        return labels

    def predict_proba(self, rows: Sequence) -> List[List[float]]:
        """Per-row class probabilities, in ``classes`` order (softmax; sigmoid for one output)."""
        if self.task != "classification":
            raise ValueError("TabularModel.predict_proba: a regression model has no class probabilities")
        return [probabilities(o) for o in self.predict(rows)]

    # -- structure ----------------------------------------------------------------------
    def named_children(self) -> List[tuple]:
        return [("net", self.net)]

    def _tensors(self) -> list:
        return [("mean", self.mean, False), ("std", self.std, False),
                ("target_mean", self.target_mean, False), ("target_std", self.target_std, False)]

    def _check_state(self, values: dict, prefix: str) -> None:
        # a zero or negative scale would divide by zero (or flip every feature) at predict time
        for name in ("std", "target_std"):
            for j, v in enumerate(values.get(name, [])):
                if not v > 0:
                    raise StateDictError(f"load_state_dict: '{prefix}{name}'[{j}] = {v!r}; a standard "
                                         f"deviation must be > 0 (the file is damaged)")

    def config(self) -> dict:
        return {"type": "TabularModel", "features": list(self.features), "task": self.task, "target": self.target,
                "classes": None if self.classes is None else list(self.classes), "net": self.net.config()}

    @classmethod
    def build_from_config(cls, args: dict) -> "TabularModel":
        args = dict(args)
        net = args.pop("net", None)
        if not isinstance(net, dict):
            raise ValueError("from_config: TabularModel needs a 'net' architecture")
        return cls(from_config(net), **args)

    def extra_repr(self) -> str:
        what = f"classes={self.classes}" if self.classes else f"target={self.target!r}"
        return f"{len(self.features)} features, {self.task}, {what}"


MODULE_TYPES["TabularModel"] = TabularModel

