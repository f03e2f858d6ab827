"""micrograd code runs on chainrule with only its imports changed (engine.micrograd, nn.micrograd).

Written from micrograd's documented behaviour (its README example and API);
where micrograd 0.1.0 itself is installed (the `test` extra), the same code
runs on both and the numbers are compared.
"""
from __future__ import annotations

import math
import os
import random
import subprocess
import sys
import textwrap

import pytest

import engine
from engine.micrograd import Value
import nn.micrograd as mnn


def readme_example(V):
    """micrograd's README example, written against a Value class ``V``."""
    a = V(-4.0)
    b = V(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    return g, a, b


def test_readme_example_gives_micrograds_documented_numbers():
    g, a, b = readme_example(Value)
    assert f"{g.data:.4f}" == "24.7041"
    assert f"{a.grad:.4f}" == "138.8338"
    assert f"{b.grad:.4f}" == "645.5773"


def test_results_are_micrograd_values_with_prev_and_op():
    a, b = Value(2.0), Value(-3.0)
    leaf_ops = (a._op, set(a._prev))
    assert leaf_ops == ("", set())
    for y, op in [(a + b, "+"), (a * b, "*"), (a ** 2, "**"), (a.relu(), "relu"), (a.tanh(), "tanh"),
                  (a.exp(), "exp"), (a - b, "-"), (a / b, "/"), (-a, "-")]:
        assert isinstance(y, Value) and type(y).__name__ == "Value"
        assert y._op == op
        assert set(y._prev) <= {a, b} and set(y._prev)
        assert all(isinstance(c, Value) for c in y._prev)
    assert set((a * a)._prev) == {a}                            # distinct children, like micrograd's set
    assert isinstance(engine.Value(1.0) + a, Value)             # an engine Value on the left too
    assert Value(3) .data == 3.0 and Value(3).grad == 0


def _graph_trace(root):
    """micrograd's notebook way of walking a graph: recursion over ``_prev`` into sets."""
    nodes, edges = set(), set()

    def build(v):
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)
    build(root)
    return nodes, edges


def test_graph_can_be_walked_through_prev_like_micrograds_notebook():
    x = Value(1.0)
    y = (x * 2 + 1).relu()
    y.backward()
    nodes, edges = _graph_trace(y)
    assert len(nodes) == 4 and len(edges) == 3
    assert sorted(n._op for n in nodes) == ["", "*", "+", "relu"]
    assert x.grad == 2.0


def softplus(x):
    """A user's own op, micrograd-style: the result names its child and carries a _backward closure."""
    out = Value(math.log1p(math.exp(x.data)), (x,), "softplus")

    def _backward():
        x.grad += out.grad / (1.0 + math.exp(-x.data))
    out._backward = _backward
    return out


def mul3(a, b, c):
    out = Value(a.data * b.data * c.data, (a, b, c), "mul3")

    def _backward():
        a.grad += b.data * c.data * out.grad
        b.grad += a.data * c.data * out.grad
        c.grad += a.data * b.data * out.grad
    out._backward = _backward
    return out


def test_user_ops_with_backward_closures_match_engine_ops():
    xs = [Value(v) for v in (0.3, -1.2, 2.0)]
    ys = [engine.Value(v) for v in (0.3, -1.2, 2.0)]

    def build(v, op3, sp):
        h = sp(v[0] * v[1] + 0.5)
        return op3(h, h.tanh(), v[2]) * sp(h) - v[2] ** 2
    out = build(xs, mul3, softplus)
    ref = build(ys, lambda a, b, c: a * b * c, lambda x: (x.exp() + 1.0).log())
    out.backward()
    ref.backward()
    assert out.data == pytest.approx(ref.data, rel=1e-12)
    for a, b in zip(xs, ys):
        assert a.grad == pytest.approx(b.grad, rel=1e-9, abs=1e-12)
    assert type(out).__name__ == "Value" and out._op == "-"
    # leaves accumulate on a second backward, as in micrograd and engine
    before = [x.grad for x in xs]
    out.backward()
    assert [x.grad for x in xs] == pytest.approx([2 * g for g in before])


def test_closure_ops_check_against_finite_differences():
    def f(a, b):
        return softplus(a * b).tanh() + mul3(a, b, a)
    for a0, b0 in [(0.5, -1.5), (-2.0, 0.25)]:
        a, b = Value(a0), Value(b0)
        f(a, b).backward()
        eps = 1e-6
        num_a = (f(Value(a0 + eps), Value(b0)).data - f(Value(a0 - eps), Value(b0)).data) / (2 * eps)
        num_b = (f(Value(a0), Value(b0 + eps)).data - f(Value(a0), Value(b0 - eps)).data) / (2 * eps)
        assert a.grad == pytest.approx(num_a, rel=1e-6)
        assert b.grad == pytest.approx(num_b, rel=1e-6)


def test_methods_added_to_the_class_work_on_results_too(monkeypatch):
    monkeypatch.setattr(Value, "softplus", softplus, raising=False)
    x = Value(1.5)
    y = (x * 2.0).softplus()
    y.backward()
    assert x.grad == pytest.approx(2.0 / (1.0 + math.exp(-3.0)))


def test_a_closure_node_without_backward_passes_no_gradient_like_micrograd():
    x = Value(2.0)
    y = Value(x.data * 5, (x,), "opaque") + x
    y.backward()
    assert x.grad == 1.0


@pytest.mark.parametrize("args, match", [
    ((1.0, (1.0,), "x"), "child 0 is float"), ((1.0, 5, "x"), "_children"), ((1.0, (), 7), "_op"),
    (("1.0",), "expected an int or float")])
def test_bad_constructor_arguments_are_type_errors(args, match):
    with pytest.raises(TypeError, match=match):
        Value(*args)


# -- nn.micrograd --------------------------------------------------------------------

def test_nn_api_matches_micrograds():
    random.seed(0)
    n = mnn.Neuron(3, nonlin=False)
    assert repr(n) == "LinearNeuron(3)" and not n.nonlin and len(n.w) == 3 and n.b.data == 0.0
    layer = mnn.Layer(3, 1, nonlin=False)
    out = layer([1.0, 2.0, 3.0])
    assert isinstance(out, Value)
    assert len(mnn.Layer(3, 2)([1.0, 2.0, 3.0])) == 2
    model = mnn.MLP(3, [4, 4, 1])
    assert [len(layer.neurons) for layer in model.layers] == [4, 4, 1]
    assert [n.nonlin for layer in model.layers for n in layer.neurons[:1]] == [True, True, False]
    assert len(model.parameters()) == 4 * 4 + 4 * 5 + 5
    assert isinstance(model([1.0, -1.0, 0.5]), Value)
    y = model([Value(1.0), Value(-1.0), Value(0.5)])
    y.backward()
    assert any(p.grad != 0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0 for p in model.parameters())
    assert issubclass(mnn.MLP, mnn.Module) and mnn.Module().parameters() == []


def test_nn_bad_sizes_and_inputs_say_what_is_wrong():
    with pytest.raises(ValueError, match="nin must be an int >= 1"):
        mnn.Neuron(0)
    with pytest.raises(ValueError, match="expected 3 inputs, got 2"):
        mnn.Neuron(3)([1.0, 2.0])
    with pytest.raises(ValueError, match="nouts is empty"):
        mnn.MLP(2, [])


def _demo():
    """scripts/micrograd_demo_speed.py: micrograd's demo loop, written once for both engines."""
    import importlib.util
    import pathlib
    path = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "micrograd_demo_speed.py"
    spec = importlib.util.spec_from_file_location("micrograd_demo_speed", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def demo_steps(V, nn_mod, steps=3, n=12):
    demo = _demo()
    model = demo.make(V, nn_mod)
    X, y = demo.moons(n)
    losses = [demo.step(V, model, X, y, k) for k in range(steps)]
    return losses, [p.data for p in model.parameters()]


def test_demo_loop_trains_like_micrograd():
    pytest.importorskip("micrograd")
    from micrograd import nn as real_nn
    from micrograd.engine import Value as RealValue
    ours, ours_params = demo_steps(Value, mnn)
    theirs, their_params = demo_steps(RealValue, real_nn)
    assert ours == pytest.approx(theirs, rel=1e-9)
    assert ours_params == pytest.approx(their_params, rel=1e-9, abs=1e-12)   # same init, same steps


@pytest.mark.parametrize("seed", range(5))
def test_random_expressions_agree_with_micrograd(seed):
    pytest.importorskip("micrograd")
    from micrograd.engine import Value as RealValue

    def build(V, vals, r):
        xs = [V(v) for v in vals]
        pool = list(xs)
        for _ in range(12):
            a, b = r.choice(pool), r.choice(pool)
            kind = r.randrange(6)
            pool.append([a + b, a * b, a - b, a.relu(), a * 0.5 + 1, (a * a + 1) ** -1][kind])
        out = sum(pool[len(xs):], V(0.0))
        out.backward()
        return out, xs
    vals = [random.Random(seed).uniform(-2, 2) for _ in range(3)]
    ours, xs = build(Value, vals, random.Random(seed))
    theirs, ys = build(RealValue, vals, random.Random(seed))
    assert ours.data == pytest.approx(theirs.data, rel=1e-12)
    assert [x.grad for x in xs] == pytest.approx([y.grad for y in ys], rel=1e-9, abs=1e-12)


def test_graph_tracing_notebook_code_renders_without_system_graphviz(tmp_path):
    """micrograd's graph-tracing notebook style: a plain graphviz.Digraph from _prev/_op, then .render()."""
    pytest.importorskip("graphviz")
    from engine.render import find_renderer
    r = find_renderer()
    if r is None or r.name != "graphviz-pure":
        pytest.skip("needs graphviz-pure (the `viz` extra) and no system dot")
    code = textwrap.dedent('''
        from graphviz import Digraph
        from engine.micrograd import Value
        import nn.micrograd as nn
        import random

        def trace(root):
            nodes, edges = set(), set()
            def build(v):
                if v not in nodes:
                    nodes.add(v)
                    for child in v._prev:
                        edges.add((child, v))
                        build(child)
            build(root)
            return nodes, edges

        def draw(root, format='svg', rankdir='LR'):
            nodes, edges = trace(root)
            dot = Digraph(format=format, graph_attr={'rankdir': rankdir})
            for n in nodes:
                dot.node(name=str(id(n)), label="{ data %.4f | grad %.4f }" % (n.data, n.grad), shape='record')
                if n._op:
                    dot.node(name=str(id(n)) + n._op, label=n._op)
                    dot.edge(str(id(n)) + n._op, str(id(n)))
            for n1, n2 in edges:
                dot.edge(str(id(n1)), str(id(n2)) + n2._op)
            return dot

        random.seed(1337)
        n = nn.Neuron(2)
        x = [Value(1.0), Value(-2.0)]
        y = n(x)
        y.backward()
        dot = draw(y)
        print(dot.render('gout'))
    ''')
    env = {**os.environ, "PATH": str(tmp_path)}   # no `dot`: graphviz-pure is found beside python
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    svg = (tmp_path / "gout.svg").read_text()
    assert "<svg" in svg and "relu" in svg and "dot" in svg


def test_sanity_check_expression_agrees_with_micrograd():
    """The expression of micrograd's own sanity test, run on both Value classes."""
    pytest.importorskip("micrograd")
    from micrograd.engine import Value as RealValue

    def run(V):
        x = V(-4.0)
        z = 2 * x + 2 + x
        q = z.relu() + z * x
        h = (z * z).relu()
        y = h + q + q * x
        y.backward()
        return y.data, x.grad
    assert run(Value) == run(RealValue)


def test_engine_sum_and_dot_over_closure_nodes_call_the_closures():
    # engine.sum/dot give plain engine Values; their backward() must still reach the closures
    import math
    import engine
    from engine.micrograd import Value as MV

    def cube(x):
        out = MV(x.data ** 3, (x,), "cube")

        def _backward():
            x.grad += 3 * x.data ** 2 * out.grad
        out._backward = _backward
        return out

    a, b = MV(2.0), MV(-1.5)
    y = engine.sum([cube(a), b * 2.0]) + engine.dot([cube(b)], [4.0])
    y.backward()
    assert (a.grad, b.grad) == (12.0, 2.0 + 4.0 * 3 * 2.25)
    with pytest.raises(TypeError, match="micrograd-style, with a _backward closure"):
        engine.grad(y, [a])
    with pytest.raises(TypeError, match="_backward closure, which cannot be replayed"):
        engine.compile_graph(y, [a, b])
    assert math.isfinite(y.data)


def test_closure_nodes_refuse_deep_copies_with_a_reason():
    """A _backward closure adds into the original nodes: a deep copy or pickle would get no gradients
    (it raised a raw AttributeError at backward()); a shallow copy shares them and works."""
    import copy
    import pickle
    from engine.micrograd import Value as MValue
    a = MValue(2.0)
    out = MValue(4.0, (a,), "sq")

    def _backward():
        a.grad += 2 * a.data * out.grad
    out._backward = _backward
    y = out * 3.0
    for make in (copy.deepcopy, pickle.dumps):
        with pytest.raises(TypeError, match="micrograd-style node 'sq'"):
            make(y)
    with pytest.raises(TypeError, match="closure adds into the original nodes"):
        copy.copy(out)
    copy.copy(y).backward()
    assert a.grad == 12.0
