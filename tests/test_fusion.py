"""engine.fused(): micrograd-style code recorded as fused nodes, with the same values and leaf gradients."""
import math

import pytest

import engine
from engine import Value, fused, grad, no_grad

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.strategies import expressions  # noqa: E402


def bits(x):
    return "nan" if x != x else (math.copysign(1.0, x), x)


def run(e, fuse: bool):
    xs = [Value(x) for x in e.inputs]
    if fuse:
        with fused():
            y = e(*xs)
    else:
        y = e(*xs)
    y.backward()
    return y, xs


def close(a, b, scale):
    return a == b or (a != a and b != b) or abs(a - b) <= 1e-12 * max(abs(a), abs(b), scale)


@given(expressions(max_steps=12))
def test_fused_values_are_exact_and_leaf_gradients_equal(e):
    y0, xs0 = run(e, False)
    y1, xs1 = run(e, True)
    assert bits(y1.data) == bits(y0.data)  # the same float additions in the same order
    scale = max([1.0] + [abs(x.grad) for x in xs0 if x.grad == x.grad])
    for a, b in zip(xs0, xs1):
        assert close(b.grad, a.grad, scale), (a.grad, b.grad)


def neuron(ws, xs, b):
    return sum((w * x for w, x in zip(ws, xs)), b)


def test_a_micrograd_neuron_becomes_one_dot_node():
    ws = [Value(0.1 * i - 0.5) for i in range(16)]
    xs = [0.3 * i - 2.0 for i in range(16)]
    with fused():
        y = sum(w * x for w, x in zip(ws, xs))
        z = neuron(ws, xs, Value(0.25))
    assert y.op == "dot" and len(y.parents) == 16 and all(p._parents is None for p in y.parents)
    assert z.op == "dot" and len(z.parents) == 17
    assert y.data == sum(w.data * x for w, x in zip(ws, xs))
    y.backward()
    assert [w.grad for w in ws] == xs
    assert engine.formula(y).startswith("dot(0 + ")


def test_chains_of_plus_and_minus_fuse_with_signs():
    a, b, c = Value(1.5, label="a"), Value(-2.0, label="b"), Value(0.25, label="c")
    with fused():
        s = a + b - c * 2.0 + 1.0 - a * b - (b - c)
    plain = a + b - c * 2.0 + 1.0 - a * b - (b - c)
    assert s.data == plain.data and s.op == "dot"
    assert engine.formula(s) == "dot(a + b - c*2 + 1 - a*b - (b - c))"
    assert grad(s, [a, b, c]) == grad(plain, [a, b, c])
    # second derivatives through a fused node
    assert grad(grad(s, [a], create_graph=True)[0], [b]) == grad(grad(plain, [a], create_graph=True)[0], [b])


def test_an_older_partial_sum_stays_right_when_a_newer_one_grows():
    xs = [Value(float(i)) for i in range(6)]
    with fused():
        s2 = xs[0] + xs[1] + xs[2]
        s4 = s2 + xs[3] + xs[4]
        other = s2 + xs[5] * 2.0     # a second line growing from the older node
    assert [p.data for p in s2.parents] == [0.0, 1.0, 2.0]
    assert [p.data for p in s4.parents] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert other.data == 13.0 and len(other.parents) == 4
    other.backward()
    assert [x.grad for x in xs] == [1.0, 1.0, 1.0, 0.0, 0.0, 2.0]


def test_a_product_used_twice_still_gives_the_right_leaf_gradients():
    w, x = Value(0.5), Value(3.0)
    with fused():
        p = w * x
        y = p + p.tanh() + p * p + 1.0
    y.backward()
    pd = 1.5
    want = 1 + (1 - math.tanh(pd) ** 2) + 2 * pd
    assert w.grad == pytest.approx(want * 3.0, rel=1e-15) and x.grad == pytest.approx(want * 0.5, rel=1e-15)


def test_fused_graphs_replay_bit_for_bit_and_compile():
    ws = [Value(0.1 * i - 0.3) for i in range(8)]
    with fused():
        y = (sum(w * (0.5 * i) for i, w in enumerate(ws)) - ws[0] * ws[1] + 2.0).tanh()
    y.backward()
    f = engine.compile_graph(y, ws)
    out, grads = f.run([w.data for w in ws])
    assert out == y.data and list(grads) == [w.grad for w in ws]


@pytest.mark.parametrize("mode", ["no_grad", "detect_anomaly", "enable_grad"])
def test_fused_nested_with_the_other_modes(mode):
    a, b = Value(1.0), Value(2.0)
    with fused(), getattr(engine, mode)():
        y = a + b + a * b
    if mode == "no_grad":
        assert y.op == "" and y.data == 5.0      # no_grad wins: nothing is recorded
    else:
        assert y.op == "dot" and y.data == 5.0   # the others keep fusing
    with getattr(engine, mode)(), fused():
        z = a + b + a * b
    assert z.op == ("" if mode == "no_grad" else "dot")
    with no_grad():
        with fused():
            with engine.enable_grad():
                w = a + b + a
    assert w.op == "sum" and engine.is_grad_enabled()


def test_anomaly_inside_fused_names_the_op():
    with fused(), engine.detect_anomaly(), pytest.raises(engine.AnomalyError, match="op 'add'"):
        Value(1e308) + Value(1e308) + Value(1.0)


def test_outside_fused_nothing_changes():
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    with fused():
        pass
    y = a + b + c
    assert y.op == "add" and y.parents[0].op == "add"


@given(st.lists(st.floats(-3, 3), min_size=1, max_size=40), st.integers(0, 2))
def test_w3_style_sums_of_products(values, start):
    ws = [Value(v) for v in values]
    xs = [Value(v * 0.5 + 0.1) for v in values]
    with fused():
        y = sum((w * x for w, x in zip(ws, xs)), start)
    ref_ws = [Value(v) for v in values]
    ref_xs = [Value(v * 0.5 + 0.1) for v in values]
    ref = sum((w * x for w, x in zip(ref_ws, ref_xs)), start)
    assert bits(y.data) == bits(ref.data)
    y.backward()
    ref.backward()
    assert [bits(w.grad) for w in ws] == [bits(w.grad) for w in ref_ws]
    assert [bits(x.grad) for x in xs] == [bits(x.grad) for x in ref_xs]


def test_open_fused_nodes_copy_deepcopy_and_pickle():
    """A sum still open for growth (see fusion.py) copies like any Value: copy.copy used to raise AttributeError."""
    import copy
    import pickle
    for make in (copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))):
        a, b, c = Value(1.0), Value(2.0), Value(3.0)
        with fused():
            s = a * b + b * c + c  # the newest node of its line: still open
            t = make(s)
            u = s + a * a          # the line still grows from s after the copy
        assert type(t) is Value and t.data == 11.0 and u.data == 12.0
        t.backward()
        leaves = (a, b, c) if make is copy.copy else t.parents[:1]
        assert [v.grad for v in leaves] == ([2.0, 4.0, 3.0] if make is copy.copy else [2.0])
