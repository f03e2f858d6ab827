"""Deep graphs work everywhere: pickle, copy, deepcopy, formula, topological_order, backward, grad."""
import copy
import math
import pickle

import pytest

import engine
from engine import Value

DEPTH = 50_000


class Tagged(Value):
    """A user's Value subclass (module level, so pickle can find it)."""


def deep_graph():
    x = Value(0.5, label="x")
    w = Value(-1.5, label="w")
    y = x
    for _ in range(DEPTH):
        y = (y * 1.0001).tanh()
    z = engine.dot([y, x, 2.0], [w, y, 3.0]) + engine.sum([y, 1.0, x]) + (2.0 - y) ** 2
    with engine.fused():
        f = x * y + y * w - x * 2.0 + 1.0
    return x, w, (z + f) * y


def leaf_grads(root):
    root.backward()
    return {v.label: v.grad for v in engine.topological_order(root) if v.label}


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_a_deep_graph_survives_pickle_and_deepcopy(how):
    x, w, root = deep_graph()
    other = pickle.loads(pickle.dumps(root)) if how == "pickle" else copy.deepcopy(root)
    assert other is not root and other.data == root.data
    assert engine.formula(other) == engine.formula(root)
    assert leaf_grads(other) == leaf_grads(root)
    assert x.grad != 0.0 and all(v is not x for v in engine.topological_order(other))


def test_shared_nodes_stay_shared_and_memo_is_respected():
    x = Value(2.0, label="x")
    h = x.tanh()
    y = h * h + h
    for copied in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        a, b = copied.parents
        assert a.parents[0] is a.parents[1] is b   # h is one node, used three times
        assert b.parents[0].label == "x"
    pair = copy.deepcopy([x, y])                   # one deepcopy: the copies share x too
    assert pair[1].parents[1].parents[0] is pair[0]
    w, loss = pickle.loads(pickle.dumps((x, y)))   # one pickle: so do its leaves (params and their loss)
    assert loss.parents[1].parents[0] is w
    loss.backward()
    assert w.grad == pytest.approx(leaf_grads(y)["x"]) and w.grad != 0.0


def test_copy_shares_the_graph_and_subclass_state_is_kept():
    x = Value(3.0)
    y = x * x
    c = copy.copy(y)
    assert c is not y and c.parents == y.parents and c.op == "mul" and c.data == 9.0

    t = Tagged(1.5, label="t")
    t.note = "kept"  # a subclass without __slots__ has a __dict__: copied and pickled too
    for other in (copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        assert type(other) is Tagged and (other.label, other.data, other.note) == ("t", 1.5, "kept")


def test_formula_and_order_on_a_100k_deep_graph():
    x = Value(0.1, label="x")
    y = x
    for _ in range(100_000):
        y = y.tanh() + 0.5
    text = engine.formula(y, max_depth=10**6)
    assert len(text) <= 400 and text.endswith("…")
    assert len(engine.topological_order(y)) == 200_001
    assert math.isfinite(engine.grad(y, [x])[0])
