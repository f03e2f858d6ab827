"""Data: seeded 2-D toy sets generated in code, your own CSV files, and real data sets bundled with
scikit-learn.

Every generator returns ``(X, y)``: ``X`` a list of ``[x1, x2]`` float
pairs, ``y`` a list of int class labels ``0..K-1``, shuffled.  Same
arguments -> same data.  ``load_csv`` (see ``nn.csvdata``) and
``load_real`` return a ``Table`` with feature and class names.

>>> from nn.data import make_moons
>>> X, y = make_moons(100, noise=0.1, seed=0)
>>> len(X), sorted(set(y))
(100, [0, 1])
"""
from __future__ import annotations

import math
import random
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from .checks import as_list, as_rng, integer, real
from .csvdata import CSVError, Table, load_csv, write_csv

__all__ = ["make_moons", "make_circles", "make_xor", "make_spirals", "make_blobs", "load_dataset", "DATASETS",
           "load_csv", "write_csv", "CSVError", "Table", "load_real", "REAL_DATASETS", "MissingExtraError",
           "train_val_split", "batches"]

XY = Tuple[List[List[float]], List[int]]


def _check_noise(noise, where: str, name: str = "noise") -> float:
    return real(noise, name, where, minimum=0.0)


def _shuffled(points: list, labels: list, rng: random.Random) -> XY:
    idx = list(range(len(points)))
    rng.shuffle(idx)
    return [points[i] for i in idx], [labels[i] for i in idx]


def _split_counts(n: int, k: int) -> List[int]:
    """n samples over k classes, as even as possible."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def make_moons(n: int = 100, noise: float = 0.1, seed: Optional[int] = 0) -> XY:
    """Two interleaving half circles (scikit-learn's ``make_moons`` recipe).

    Class 0 is the upper moon, class 1 the lower one.
    """
    integer(n, "n", "make_moons", minimum=2)
    noise = _check_noise(noise, "make_moons")
    rng = as_rng(seed, "make_moons")
    n_out = n // 2
    n_in = n - n_out
    pts, lab = [], []
    for i in range(n_out):
        t = math.pi * i / max(1, n_out - 1)
        pts.append([math.cos(t), math.sin(t)])
        lab.append(0)
    for i in range(n_in):
        t = math.pi * i / max(1, n_in - 1)
        pts.append([1.0 - math.cos(t), 1.0 - math.sin(t) - 0.5])
        lab.append(1)
    if noise:
        pts = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in pts]
    return _shuffled(pts, lab, rng)


def make_circles(n: int = 100, noise: float = 0.05, factor: float = 0.5, seed: Optional[int] = 0) -> XY:
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    integer(n, "n", "make_circles", minimum=2)
    noise = _check_noise(noise, "make_circles")
    factor = real(factor, "factor", "make_circles", minimum=0.0, maximum=1.0, low_open=True, high_open=True)
    rng = as_rng(seed, "make_circles")
    pts, lab = [], []
    for c, (count, r) in enumerate(zip(_split_counts(n, 2), (1.0, float(factor)))):
        for i in range(count):
            t = 2 * math.pi * i / count
            pts.append([r * math.cos(t) + rng.gauss(0.0, noise), r * math.sin(t) + rng.gauss(0.0, noise)])
            lab.append(c)
    return _shuffled(pts, lab, rng)


def make_xor(n: int = 100, noise: float = 0.15, seed: Optional[int] = 0) -> XY:
    """Four Gaussian clusters at (+-1, +-1): class 1 where x1 * x2 < 0 (the XOR pattern)."""
    integer(n, "n", "make_xor", minimum=4)
    noise = _check_noise(noise, "make_xor")
    rng = as_rng(seed, "make_xor")
    corners = [(1.0, 1.0, 0), (-1.0, -1.0, 0), (1.0, -1.0, 1), (-1.0, 1.0, 1)]
    pts, lab = [], []
    for (cx, cy, c), count in zip(corners, _split_counts(n, 4)):
        for _ in range(count):
            pts.append([cx + rng.gauss(0.0, noise), cy + rng.gauss(0.0, noise)])
            lab.append(c)
    return _shuffled(pts, lab, rng)


def make_spirals(n: int = 150, classes: int = 3, noise: float = 0.1, seed: Optional[int] = 0) -> XY:
    """``classes`` interleaved spiral arms (the CS231n recipe), radius 0..1."""
    integer(n, "n", "make_spirals", minimum=2)
    classes = integer(classes, "classes", "make_spirals", minimum=2)
    noise = _check_noise(noise, "make_spirals")
    rng = as_rng(seed, "make_spirals")
    pts, lab = [], []
    for c, count in enumerate(_split_counts(n, classes)):
        for i in range(count):
            r = i / max(1, count - 1)
            t = c * 2 * math.pi / classes + r * 4.0 + rng.gauss(0.0, noise)
            pts.append([r * math.sin(t), r * math.cos(t)])
            lab.append(c)
    return _shuffled(pts, lab, rng)


def make_blobs(n: int = 100, centers: int = 3, std: float = 0.5, seed: Optional[int] = 0) -> XY:
    """``centers`` isotropic Gaussian blobs; centres evenly spaced on a circle of radius 2."""
    integer(n, "n", "make_blobs", minimum=1)
    centers = integer(centers, "centers", "make_blobs", minimum=2)
    std = _check_noise(std, "make_blobs", "std")
    rng = as_rng(seed, "make_blobs")
    pts, lab = [], []
    for c, count in enumerate(_split_counts(n, centers)):
        a = 2 * math.pi * c / centers
        cx, cy = 2.0 * math.cos(a), 2.0 * math.sin(a)
        for _ in range(count):
            pts.append([cx + rng.gauss(0.0, std), cy + rng.gauss(0.0, std)])
            lab.append(c)
    return _shuffled(pts, lab, rng)


class DatasetInfo(NamedTuple):
    make: Callable
    num_classes: Optional[int]  # None: set by the `classes`/`centers` argument
    noise: float                # the generator's default noise


DATASETS: Dict[str, DatasetInfo] = {
    "moons": DatasetInfo(make_moons, 2, 0.1),
    "circles": DatasetInfo(make_circles, 2, 0.05),
    "xor": DatasetInfo(make_xor, 2, 0.15),
    "spirals": DatasetInfo(make_spirals, None, 0.1),
    "blobs": DatasetInfo(make_blobs, None, 0.5),
}


def load_dataset(name: str, n: int = 100, *, noise: Optional[float] = None, classes: Optional[int] = None,
                 seed: Optional[int] = 0) -> Tuple[List[List[float]], List[int], int]:
    """``(X, y, num_classes)`` for a built-in dataset by name (see ``DATASETS``).

    ``classes`` applies to spirals and blobs (default 3); the other sets
    have a fixed number of classes, and asking for another is an error.

    >>> X, y, k = load_dataset("spirals", 90, classes=3)
    >>> len(X), k
    (90, 3)
    """
    if not isinstance(name, str) or name not in DATASETS:
        raise ValueError(f"load_dataset: unknown dataset {name!r}; choose one of {', '.join(DATASETS)}")
    info = DATASETS[name]
    noise = info.noise if noise is None else noise
    if info.num_classes is not None and classes is not None and classes != info.num_classes:
        raise ValueError(f"load_dataset: classes applies to spirals and blobs only; {name} always has "
                         f"{info.num_classes} classes, got classes={classes!r}")
    classes = 3 if classes is None else classes
    if name == "spirals":
        X, y = make_spirals(n, classes=classes, noise=noise, seed=seed)
        return X, y, classes
    if name == "blobs":
        X, y = make_blobs(n, centers=classes, std=noise, seed=seed)
        return X, y, classes
    X, y = info.make(n, noise=noise, seed=seed)
    return X, y, info.num_classes


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the ``pip install`` that fixes it."""


# name -> (scikit-learn loader, task); the copies scikit-learn ships in its wheel: no download
REAL_DATASETS = {"iris": ("load_iris", "classification"), "wine": ("load_wine", "classification"),
                 "breast_cancer": ("load_breast_cancer", "classification"),
                 "digits": ("load_digits", "classification"), "diabetes": ("load_diabetes", "regression")}


def load_real(name: str) -> Table:
    """One of the small real data sets that scikit-learn ships (iris, wine, breast_cancer, digits,
    diabetes) as a ``Table``; needs ``pip install 'chainrule[datasets]'`` (``MissingExtraError`` names it).

    ``load_real("iris")`` -> 150 rows, features ``'sepal length (cm)'``, ...,
    classes ``['setosa', 'versicolor', 'virginica']``.
    """
    if not isinstance(name, str) or name not in REAL_DATASETS:
        raise ValueError(f"load_real: unknown data set {name!r}; choose one of {', '.join(REAL_DATASETS)}")
    try:
        from sklearn import datasets as skd  # lazy and optional: a large import
    except ImportError:
        raise MissingExtraError(f"the {name} data set comes from scikit-learn, which is not installed: "
                                f"pip install 'chainrule[datasets]'") from None
    loader, task = REAL_DATASETS[name]
    bunch = getattr(skd, loader)(**({"scaled": False} if name == "diabetes" else {}))
    X = [[float(v) for v in row] for row in bunch.data]
    names = getattr(bunch, "feature_names", None)  # a numpy array for some sets: no truth value
    features = [str(f) for f in names] if names is not None else [f"x{j}" for j in range(len(X[0]))]
    lines = list(range(2, len(X) + 2))
    if task == "regression":
        return Table(X, [float(v) for v in bunch.target], features, "target", task, None,
                     "scikit-learn's diabetes set", lines)
    names = getattr(bunch, "target_names", None)
    classes = [str(c) for c in names] if names is not None else [str(c) for c in sorted(set(bunch.target))]
    return Table(X, [int(v) for v in bunch.target], features, "target", task, classes,
                 f"scikit-learn's {name} set", lines)


def train_val_split(X: Sequence, y: Sequence, val_fraction: float = 0.2, *,
                    seed: Optional[int] = 0, stratify: bool = False) -> Tuple[list, list, list, list]:
    """Shuffle and split into ``(X_train, y_train, X_val, y_val)``.

    ``val_fraction`` in [0, 1); the training part always keeps at least one
    sample.  ``stratify=True`` (class labels in ``y``) splits each class
    on its own, so both parts keep the class proportions: with 30 test rows
    of iris, one unlucky class share is a few points of accuracy; its two
    parts keep the original row order (a plain split is in shuffled order).

    >>> Xt, yt, Xv, yv = train_val_split([[0.0]] * 10, [0] * 10, 0.3)
    >>> len(Xt), len(Xv)
    (7, 3)
    >>> _, yt, _, yv = train_val_split([[0.0]] * 10, [0] * 8 + [1] * 2, 0.5, stratify=True)
    >>> sorted(yv)
    [0, 0, 0, 0, 1]
    """
    X, y = as_list(X, "X", "train_val_split"), as_list(y, "y", "train_val_split")
    if len(X) != len(y):
        raise ValueError(f"train_val_split: X and y must have the same length, got {len(X)} and {len(y)}")
    if not X:
        raise ValueError("train_val_split: got an empty dataset")
    val_fraction = real(val_fraction, "val_fraction", "train_val_split", minimum=0.0, maximum=1.0, high_open=True)
    if type(stratify) is not bool:
        raise TypeError(f"train_val_split: stratify must be True or False, got {stratify!r}")
    rng = as_rng(seed, "train_val_split")
    groups: Dict[object, List[int]] = {}
    for i, label in enumerate(y):
        if stratify and hasattr(label, "tolist"):
            label = label.tolist()  # a numpy number or row
        if stratify and isinstance(label, list):
            label = tuple(label)  # a one-hot (or any list) label: grouped by its entries
        try:
            groups.setdefault(label if stratify else None, []).append(i)
        except TypeError:
            raise TypeError(f"train_val_split(stratify=True): y[{i}] is a {type(label).__name__}, which cannot "
                            f"be a class; pass class labels (ints or strings)") from None
    val: List[int] = []
    for members in groups.values():
        rng.shuffle(members)
        val.extend(members[:int(round(len(members) * val_fraction))])
    val = val[:len(X) - 1]
    chosen = set(val)
    tr = [i for i in range(len(X)) if i not in chosen]
    if not stratify:  # the order of a plain split is the shuffled order, as before
        tr = [i for i in groups[None] if i not in chosen]
        val = [i for i in groups[None] if i in chosen]
    else:
        val = sorted(val)
    return [X[i] for i in tr], [y[i] for i in tr], [X[i] for i in val], [y[i] for i in val]


# batches()' default shuffler: one per process, so each call (each epoch of a loop) gets a new
# order, and a program gets the same orders every run (as PyTorch's seeded global generator)
_SHUFFLE = random.Random(0)


def batches(X: Sequence, y: Sequence, batch_size: Optional[int] = None, *, shuffle: bool = True,
            rng: Union[int, random.Random, None] = None) -> Iterator[Tuple[list, list]]:
    """Mini-batches ``(X_batch, y_batch)`` covering the data once (the last may be smaller).

    ``batch_size=None`` (or >= len(X)) gives one full batch.  Shuffled when
    ``shuffle`` with ``rng``: a ``random.Random`` or an int seed; by default
    one shared generator seeded 0, so successive calls (epochs) differ and
    a program repeats its run.

    >>> [len(xb) for xb, yb in batches(list(range(5)), list(range(5)), 2)]
    [2, 2, 1]
    """
    if not (hasattr(X, "__len__") and hasattr(y, "__len__")):
        X, y = as_list(X, "X", "batches"), as_list(y, "y", "batches")
    n = len(X)
    if n != len(y):
        raise ValueError(f"batches: X and y must have the same length, got {n} and {len(y)}")
    if n == 0:
        raise ValueError("batches: got an empty dataset")
    if batch_size is None:
        batch_size = n
    batch_size = integer(batch_size, "batch_size", "batches", minimum=1)
    idx = list(range(n))
    if shuffle and batch_size < n:
        if rng is None:
            _SHUFFLE.shuffle(idx)
        elif callable(getattr(rng, "shuffle", None)) and not isinstance(rng, random.Random):
            rng.shuffle(idx)  # numpy's Generator / RandomState
        else:
            as_rng(rng, "batches(rng)").shuffle(idx)
    for s in range(0, n, batch_size):
        part = idx[s:s + batch_size]
        yield [X[i] for i in part], [y[i] for i in part]
