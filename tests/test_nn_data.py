"""nn.data: seeded toy datasets, splits and batches."""
import math
import random

import pytest

from nn.data import (
    DATASETS, batches, load_dataset, make_blobs, make_circles, make_moons, make_spirals, make_xor, train_val_split,
)


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_dataset_is_seeded_and_well_formed(name):
    X, y, k = load_dataset(name, 60, seed=3)
    X2, y2, _ = load_dataset(name, 60, seed=3)
    X3, _, _ = load_dataset(name, 60, seed=4)
    assert (X, y) == (X2, y2)
    assert X != X3
    assert len(X) == len(y) == 60
    assert all(len(p) == 2 and all(isinstance(c, float) and math.isfinite(c) for c in p) for p in X)
    assert sorted(set(y)) == list(range(k))
    counts = [y.count(c) for c in range(k)]
    assert max(counts) - min(counts) <= 1  # balanced


def test_generators_do_not_touch_global_random():
    random.seed(5)
    expected = random.random()
    random.seed(5)
    make_moons(50, seed=1)
    make_spirals(50, seed=1)
    assert random.random() == expected


def test_moons_geometry_without_noise():
    X, y = make_moons(20, noise=0.0, seed=0)
    for (a, b), c in zip(X, y):
        if c == 0:
            assert a * a + b * b == pytest.approx(1.0) and b >= -1e-12
        else:
            assert (a - 1) ** 2 + (b - 0.5) ** 2 == pytest.approx(1.0) and b <= 0.5 + 1e-12


def test_circles_radii_and_xor_quadrants():
    X, y = make_circles(40, noise=0.0, factor=0.3, seed=0)
    for (a, b), c in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if c == 0 else 0.3)
    X, y = make_xor(40, noise=0.1, seed=0)
    assert sum((a * b < 0) == (c == 1) for (a, b), c in zip(X, y)) >= 38


def test_spirals_and_blobs_classes():
    X, y = make_spirals(99, classes=3, noise=0.0)
    assert sorted(set(y)) == [0, 1, 2] and y.count(0) == 33
    assert max(math.hypot(*p) for p in X) == pytest.approx(1.0)
    X, y = make_blobs(40, centers=4, std=0.01)
    assert sorted(set(y)) == [0, 1, 2, 3]


@pytest.mark.parametrize("call,exc,match", [
    (lambda: make_moons(1), ValueError, "n must be >= 2"),
    (lambda: make_moons(10.5), TypeError, "n must be an int"),
    (lambda: make_moons(10, noise=-1), ValueError, "noise"),
    (lambda: make_spirals(10, classes=1), ValueError, "make_spirals: classes must be >= 2"),
    (lambda: make_circles(10, factor=1.5), ValueError, "factor"),
    (lambda: load_dataset("mnist"), ValueError, "unknown dataset 'mnist'; choose one of moons"),
    (lambda: train_val_split([], []), ValueError, "empty"),
    (lambda: train_val_split([[0.0]], [0, 1]), ValueError, "same length"),
    (lambda: train_val_split([[0.0]], [0], 1.0), ValueError, "val_fraction"),
    (lambda: list(batches([], [])), ValueError, "empty"),
    (lambda: list(batches([1], [1], 0)), ValueError, "batch_size"),
])
def test_data_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_train_val_split_partitions():
    X = [[float(i), 0.0] for i in range(50)]
    y = list(range(50))
    Xt, yt, Xv, yv = train_val_split(X, y, 0.2, seed=1)
    assert len(Xt) == 40 and len(Xv) == 10
    assert sorted(yt + yv) == y
    assert all(p[0] == t for p, t in zip(Xt + Xv, yt + yv))  # pairs stay together
    assert train_val_split(X, y, 0.2, seed=1) == (Xt, yt, Xv, yv)
    assert len(train_val_split([[0.0]], [0], 0.9)[0]) == 1  # never empties the training set


def test_batches_cover_data_once():
    X = list(range(10))
    got = list(batches(X, X, 3, rng=random.Random(0)))
    assert [len(b) for b, _ in got] == [3, 3, 3, 1]
    assert sorted(x for b, _ in got for x in b) == X
    assert all(xb == yb for xb, yb in got)
    assert list(batches(X, X)) == [(X, X)]  # full batch, unshuffled


def test_batches_reshuffle_per_call_and_take_a_seed():
    X = list(range(10))
    orders = [[x for xb, _ in batches(X, X, 3) for x in xb] for _ in range(2)]
    assert orders[0] != orders[1] and sorted(orders[0]) == X  # an epoch loop gets a new order each epoch
    seeded = [[x for xb, _ in batches(X, X, 3, rng=5) for x in xb] for _ in range(2)]
    assert seeded[0] == seeded[1] == [x for xb, _ in batches(X, X, 3, rng=random.Random(5)) for x in xb]
    with pytest.raises(TypeError, match="batches\\(rng\\): seed must be an int"):
        list(batches(X, X, 3, rng="5"))


def test_stratified_split_of_list_labels():
    y = [[1, 0]] * 6 + [[0, 1]] * 4
    _, yt, _, yv = train_val_split([[0.0]] * 10, y, 0.5, stratify=True)
    assert sorted(map(tuple, yv)) == [(0, 1)] * 2 + [(1, 0)] * 3
    with pytest.raises(TypeError, match=r"y\[0\] is a dict, which cannot be a class"):
        train_val_split([[0.0]] * 2, [{}, {}], 0.5, stratify=True)
