"""backward()'s fast path (engine/fastpath.py) against the reference algorithm (engine/autograd.py).

The contract of engine/fastpath.py: the same float bits as
``autograd.backward_reference`` on every node, leaves and intermediates, for
any graph and any gradient.  Checked on fixed graphs that exercise each
trick, on thousands of random Hypothesis graphs (registered ops included),
and after errors and Ctrl-C in the middle of a backward.
"""
import math
import random
import threading

import pytest

import engine
from engine import Value, fastpath, autograd, grad, ops

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from engine.strategies import expressions  # noqa: E402


@pytest.fixture(autouse=True)
def fast_path_on(monkeypatch):
    """backward() takes the fast path here even after another test in this process made a
    micrograd-style node (modestate.closure_nodes stays set for the process from then on)."""
    monkeypatch.setattr(engine.modestate, "closure_nodes", False)


def bits(x: float):
    """A float's bits as something ==-comparable: tells 0.0 from -0.0; every nan is one nan."""
    return "nan" if x != x else (math.copysign(1.0, x), x)


def grads_after(build, how: str, gradient: float, times: int = 1) -> list:
    """Build the graph, run backward ``times`` times the chosen way, return every node's grad bits."""
    leaves, y = build()
    for _ in range(times):
        if how == "fast":  # fastpath itself: backward() runs the reference once closure nodes exist
            fastpath.backward(y, float(gradient))
        elif how == "reference":
            autograd.backward_reference(y, gradient)
        else:  # the general walk of fastpath with none of the root shortcuts
            order = fastpath._walk(y)
            y.grad = 0.0 + gradient
            fastpath._loop(order)
    return [bits(v.grad) for v in list(leaves) + engine.topological_order(y)]


def same_bits(build, gradient: float, times: int = 1) -> None:
    ref = grads_after(build, "reference", gradient, times)
    assert grads_after(build, "fast", gradient, times) == ref
    if build()[1]._parents is not None:
        assert grads_after(build, "walk", gradient, times) == ref


def two(f):
    def build():
        x, w = Value(0.4, label="x"), Value(-1.3, label="w")
        return (x, w), f(x, w)
    return build


FIXED = [
    # a pure chain (the root's run ends at a leaf), through relu's zero derivative: -0.0 products
    lambda x, w: ((x * -3.0).relu() * 2.0 - 1.0).tanh().exp(),
    lambda x, w: (x.tanh() * 1.0001).tanh(),
    # the run ends at a fan-in node whose subgraph shares nodes
    lambda x, w: ((x * w + x.tanh()) * x.tanh()).sigmoid().log() * 0.5,
    lambda x, w: engine.dot([x, w], [w, 2.0]).relu().exp(),
    lambda x, w: (x * w).abs(),
    # fan-in nodes reached with gradient 1.0 and 0.0
    lambda x, w: engine.sum([x * w, (x * -0.0).relu(), engine.dot([x, w, x], [w, x, 3.0]), w]),
    # a fan-in root with leaf and non-leaf parents, each twice
    lambda x, w: (lambda h: engine.dot([x, h, x, h, w], [w, 2.0, 3.0, w, h]))(x.tanh() * w),
    lambda x, w: engine.sum([w, (x * w).exp(), x, w]),
    # infinities and nans flowing back: masked ops (relu, pow at exponent 0) give 0, others nan
    lambda x, w: (x * w).relu().sqrt(),
    lambda x, w: ((x * w).relu().sqrt() + x).tanh(),
    lambda x, w: (x ** (w * 0.0)).sqrt() * w,
    lambda x, w: (Value(0.0) ** (x * 0.0)).log() + w,
    lambda x, w: (x * math.inf).relu() * w + (x * math.nan).exp(),
    lambda x, w: engine.dot([x * 0.0, w], [math.inf, x]).relu(),
]


@pytest.mark.parametrize("f", FIXED)
@pytest.mark.parametrize("gradient", [-0.75, 1.0, 0.0, math.inf])
def test_fast_path_equals_the_reference_on_fixed_graphs(f, gradient):
    same_bits(two(f), gradient)
    same_bits(two(f), gradient, times=2)  # leaves accumulate: the second call adds again


def expression_build(e):
    def build():
        xs = [Value(x, label=f"x{i}") for i, x in enumerate(e.inputs)]
        return xs, e(*xs)
    return build


@given(expressions(max_steps=10), st.sampled_from([1.0, -0.75, 0.0, 3.5]))
def test_fast_path_equals_the_reference_on_random_graphs(e, gradient):
    same_bits(expression_build(e), gradient, times=2)


def pool_build(n_leaves, steps):
    """A micrograd-style DAG: each step applies +, *, - or tanh to earlier nodes (recent ones
    likelier), so sum chains, shared inputs and reused products all occur."""
    def build():
        xs = [Value(0.3 * i - 0.7, label=f"x{i}") for i in range(n_leaves)]
        pool = list(xs)
        for op, i, j in steps:
            a, b = pool[-1 - i % len(pool)], pool[-1 - j % len(pool)]
            pool.append(a + b if op == 0 else a * b if op == 1 else a - b if op == 2 else (a * 0.5).tanh())
        return xs, sum(pool[-3:])
    return build


@given(st.integers(1, 5), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 40)),
                                   min_size=1, max_size=60),
       st.sampled_from([1.0, -0.75, 0.0]))
def test_fast_path_equals_the_reference_on_micrograd_style_dags(n_leaves, steps, gradient):
    same_bits(pool_build(n_leaves, steps), gradient, times=2)


def reference_split(root):
    order = autograd.topological_order(root)
    return [v for v in order if v._parents is not None], [v for v in order if v._parents is None]


@given(expressions(max_steps=10))
def test_nodes_and_leaves_is_the_reference_order_split(e):
    xs = [Value(x) for x in e.inputs]
    root = e(*xs)
    grads = [v.grad for v in autograd.topological_order(root)]
    assert fastpath.nodes_and_leaves(root) == reference_split(root)
    assert [v.grad for v in autograd.topological_order(root)] == grads  # no .grad touched


@given(st.integers(1, 5), st.lists(st.tuples(st.integers(0, 3), st.integers(0, 12), st.integers(0, 40)),
                                   min_size=1, max_size=60))
def test_nodes_and_leaves_on_micrograd_style_dags(n_leaves, steps):
    _, root = pool_build(n_leaves, steps)()
    row = [Value(0.1 * i) for i in range(5)]  # and engine.dot nodes sharing a row, with repeats
    root = engine.dot(row + [row[0], root], [root, 2.0, root, 0.5, 1.0, root, root]) + engine.dot(row, row)
    assert fastpath.nodes_and_leaves(root) == reference_split(root)


def test_fast_path_equals_the_reference_on_linear_layers_written_with_builtin_sum():
    # the W5 pattern: rows of sum(w * x) over shared inputs, a sum chain per row
    def build():
        x = [Value(0.1 * i - 0.3) for i in range(6)]
        w = [[Value(((3 * i + 5 * j) % 7 - 3) / 4) for j in range(6)] for i in range(5)]
        h = [sum(wi * xi for wi, xi in zip(row, x)).relu() for row in w]
        out = [sum(wi * hi for wi, hi in zip(row[:5], h)) for row in w]
        return x + [v for row in w for v in row], sum(o * o for o in out)
    same_bits(build, 1.0, times=2)


@pytest.fixture(scope="module")
def registered_ops():
    """Two ops registered by a user (one unary, one named binary), removed afterwards."""
    names = []
    try:
        names.append(engine.register_op("softsign_t", lambda x: x / (1 + abs(x)),
                                        [lambda x, y: 1 / (1 + abs(x)) ** 2]))
        names.append(engine.register_op("hypot_t", math.hypot,
                                        [lambda a, b, y: a / y, lambda a, b, y: b / y],
                                        domain=lambda a, b: math.hypot(a, b) > 0.1))
        yield names
    finally:
        for name in ("softsign_t", "hypot_t"):
            if name in ops.OPS:
                ops._forget(ops.OPS[name])


@given(data=st.data())
def test_fast_path_equals_the_reference_with_registered_ops(registered_ops, data):
    e = data.draw(expressions(max_steps=8, require=["softsign_t", "hypot_t"]))
    same_bits(expression_build(e), data.draw(st.sampled_from([1.0, -2.0, 0.0])), times=2)


def test_marks_left_by_an_abandoned_walk_do_not_mislead_the_next_backward():
    # a walk stopped before its loop (an interrupt, even one landing in the
    # middle of any cleanup) leaves every node marked; the next backward
    # must see those marks as plain 0.0s and walk the whole graph again
    x, w = Value(0.3), Value(-1.2)
    h = (x * 2.0).tanh()
    y = h * h + engine.dot([h, x], [x, w]) + (h * w).relu()
    want = grad(y, [x, w])
    for _ in range(2):
        order = fastpath._walk(y)
        assert len(order) == len(engine.topological_order(y)) - 2  # every non-leaf was marked listed
        x.grad = w.grad = 0.0
        y.backward()
        assert (x.grad, w.grad) == tuple(want)
    assert all(type(v.grad) is float for v in engine.topological_order(y))


def test_zero_gradient_skip_leaves_no_walk_state_and_keeps_nan():
    # a fan-in node whose gradient is 0.0 skips its parents; a parent reached
    # only through such nodes must still be reset and found by the next walk
    x = Value(0.7)
    h = x.tanh()
    a = h * Value(-2.0)          # fan-in node; relu below is flat here, so a.grad == 0.0
    a.relu().backward()
    assert a.grad == 0.0 and h.grad == 0.0
    out = h * 3.0                # a second graph through h
    out.backward()
    assert math.isclose(x.grad, 3.0 * (1.0 - math.tanh(0.7) ** 2))
    # inf * 0.0 is nan, as in PyTorch: a zero gradient meeting an infinite
    # local derivative is not skipped
    w = Value(-1.0)
    big = Value(math.inf)
    (w * big).relu().backward()
    assert math.isnan(w.grad) and big.grad == 0.0


def test_zero_gradient_skip_differs_only_in_the_sign_of_a_hand_set_zero():
    # the one documented difference from the reference (engine/fastpath.py):
    # a skipped 0.0 is not added to a leaf whose grad a user set to -0.0
    results = []
    for run in (lambda y: y.backward(), lambda y: autograd.backward_reference(y, 1.0)):
        x, w = Value(2.0), Value(-1.0)
        x.grad = w.grad = -0.0
        run((x * w).relu())
        results.append((x.grad, w.grad))
    (fx, fw), (rx, rw) = results
    assert (fx, fw) == (rx, rw) == (0.0, 0.0)
    assert math.copysign(1.0, fw) == -1.0 and math.copysign(1.0, rw) == 1.0


def test_an_error_during_backward_leaves_nodes_a_later_backward_can_walk():
    # the walk lists h first, then fails on the corrupted c; h must not keep
    # the walk's "listed" mark, or the next backward would skip it
    x = Value(0.4)
    h = x.tanh()
    c = Value(2.0) * 3.0
    out = c * h
    saved = c._parents
    c._parents = object()  # not a Value: the walk raises on it
    with pytest.raises(AttributeError):
        out.backward()
    c._parents = saved
    out.backward()
    assert math.isclose(x.grad, 6.0 * (1.0 - math.tanh(0.4) ** 2))


@pytest.mark.skipif(not hasattr(__import__("signal"), "setitimer"), reason="needs signal.setitimer (POSIX)")
def test_ctrl_c_during_backward_never_corrupts_a_later_backward():
    # KeyboardInterrupts land at random points of backward(); afterwards no
    # node may hold the walk's marks, and a clean backward() must agree with
    # engine.grad
    import signal
    import time
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals need the main thread")

    def build():
        x = [Value(1.0 + 1e-4 * i) for i in range(3)]
        y = x[0]
        for i in range(3000):
            y = (y * x[1 + i % 2]).tanh() * 1.001  # fan-in nodes and chains
        return x, y.exp() * Value(1.5)  # a fan-in root: the general walk runs

    armed = [False]

    def interrupt(*_):
        if armed[0]:  # never outside the try below: a stray KeyboardInterrupt would stop pytest
            armed[0] = False
            raise KeyboardInterrupt

    x, y = build()
    want = grad(y, x)
    t0 = time.perf_counter()
    y.backward()
    took = time.perf_counter() - t0
    rng = random.Random(0)
    old = signal.signal(signal.SIGALRM, interrupt)
    interrupted = 0
    try:
        for _ in range(400):  # until enough interrupts have landed (how many do depends on the machine's load)
            if interrupted >= 20:
                break
            for v in x:
                v.grad = 0.0
            try:
                armed[0] = True
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(0.0, 0.8 * took))
                y.backward()
                armed[0] = False
            except KeyboardInterrupt:
                interrupted += 1
            armed[0] = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            for v in x:
                v.grad = 0.0
            y.backward()
            assert [v.grad for v in x] == pytest.approx(want, rel=1e-12)
    finally:
        armed[0] = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert interrupted >= 10  # the test did interrupt backward() mid-way


def test_a_backward_nested_inside_a_running_one_is_refused(monkeypatch):
    # from a signal handler or __del__, a second backward() in the same thread would
    # overwrite the running walk's marks: refused loudly, and the next call works
    x = Value(0.5)
    y = (x * x).tanh() * x + x
    other = Value(2.0) * Value(3.0) + Value(1.0)
    real_loop = fastpath._loop
    errors = []

    def loop_with_a_nested_call(order):
        try:
            other.backward()
        except RuntimeError as e:
            errors.append(str(e))
        real_loop(order)

    monkeypatch.setattr(fastpath, "_loop", loop_with_a_nested_call)
    y.backward()
    assert len(errors) == 1 and "another backward() is running in this thread" in errors[0]
    monkeypatch.setattr(fastpath, "_loop", real_loop)
    x.grad = 0.0
    y.backward()
    assert x.grad == grad(y, [x])[0]
    # the reference path (detect_anomaly, micrograd closures) is guarded the same way
    real_chain = autograd.chain

    def chain_with_a_nested_call(*args, **kwargs):
        try:
            other.backward()
        except RuntimeError as e:
            errors.append(str(e))
        return real_chain(*args, **kwargs)

    monkeypatch.setattr(autograd, "chain", chain_with_a_nested_call)
    with engine.detect_anomaly():
        y.backward()
    assert len(errors) > 1 and all("another backward() is running" in e for e in errors)


def test_reference_is_what_other_pythons_run(monkeypatch):
    # autograd.FAST is False off CPython (PyPy keeps no float identity): backward() is the reference
    monkeypatch.setattr(autograd, "FAST", False)
    called = []
    monkeypatch.setattr(fastpath, "backward", lambda *a: called.append(a))
    x = Value(0.5)
    y = (x * x).tanh() * x
    y.backward()
    assert not called and math.isclose(x.grad, grad(y, [x])[0], rel_tol=1e-15)
