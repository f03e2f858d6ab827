"""Value: construction, operators, backward semantics, fused nodes, modes."""
import fractions
import gc
import math
import threading

import pytest

import engine
from engine import Value, dot, grad, no_grad

# --- construction and bad input -------------------------------------------


@pytest.mark.parametrize("bad", ["3", None, [1], (1.0,), 1 + 2j, {"a": 1}, object()])
def test_value_rejects_non_numbers_naming_the_type(bad):
    with pytest.raises(TypeError) as e:
        Value(bad)
    assert type(bad).__name__ in str(e.value)
    assert "Value(data)" in str(e.value)


def test_value_rejects_bool_with_a_hint():
    with pytest.raises(TypeError, match="bool"):
        Value(True)


def test_value_rejects_a_value():
    with pytest.raises(TypeError, match=r"\.data"):
        Value(Value(1.0))


def test_value_accepts_ints_floats_and_real_numbers():
    assert Value(3).data == 3.0 and type(Value(3).data) is float
    assert Value(fractions.Fraction(1, 4)).data == 0.25
    assert math.isnan(Value(math.nan).data)
    assert Value(-math.inf).data == -math.inf


def test_value_accepts_numpy_scalars():
    np = pytest.importorskip("numpy")
    assert Value(np.float64(1.5)).data == 1.5
    assert Value(np.int64(2)).data == 2.0
    assert type(Value(np.float32(0.5)).data) is float


def test_value_huge_int_is_a_value_error():
    with pytest.raises(ValueError, match="too large"):
        Value(10 ** 400)


def test_label_must_be_str():
    with pytest.raises(TypeError, match="label"):
        Value(1.0, label=3)


def test_constructor_signature_keywords_and_subclasses():
    # Value(...) is built by its metaclass (no __init__, for speed): the
    # signature, keywords and subclasses must still behave like a class's
    import inspect
    assert list(inspect.signature(Value).parameters) == ["data", "label"]
    v = Value(data=1, label="w")
    assert (type(v), v.data, type(v.data), v.label, v.grad, v.parents) == (Value, 1.0, float, "w", 0.0, ())
    with pytest.raises(TypeError, match=r"^Value\(\) missing 1 required positional argument: 'data'"):
        Value()
    with pytest.raises(TypeError, match=r"^Value\(\) got an unexpected keyword argument 'lbl'"):
        Value(1.0, lbl="a")
    with pytest.raises(TypeError, match=r"^Value\(\) takes data and label, but 3 arguments were given"):
        Value(1.0, "a", "extra")

    class Tagged(Value):
        __slots__ = ()
    t = Tagged(2.5)
    assert type(t) is Tagged and isinstance(t, Value) and t.data == 2.5
    (t * 2.0).backward()
    assert t.grad == 2.0
    with pytest.raises(TypeError, match="cannot define __init__.*classmethod"):
        class WithInit(Value):
            def __init__(self, data):
                pass

    class Mixin:
        def __init__(self):
            pass
    with pytest.raises(TypeError, match="cannot define __init__ .nor inherit one from a mixin"):
        class FromMixin(Mixin, Value):
            __slots__ = ()
    with pytest.raises(TypeError, match="cannot define __new__"):
        class WithNew(Value):
            __slots__ = ()

            def __new__(cls, *args):
                return super().__new__(cls)


def test_attributes_and_repr():
    a = Value(2.0, label="a")
    assert (a.data, a.grad, a.label, a.op) == (2.0, 0.0, "a", "")
    assert repr(a) == "Value(data=2, grad=0, label='a')"
    b = a * 3
    assert b.op == "mul"
    assert "op='mul'" in repr(b)
    assert a.item() == 2.0 and float(a) == 2.0


@pytest.mark.parametrize("other", ["x", None, [1.0], 1j, True])
def test_unsupported_operands_give_pythons_type_error(other):
    v = Value(1.0)
    for op in (lambda: v + other, lambda: other + v, lambda: v * other, lambda: other - v,
               lambda: v / other, lambda: v ** other, lambda: other ** v):
        with pytest.raises(TypeError):
            op()


def test_operator_returns_not_implemented():
    assert Value(1.0).__add__("x") is NotImplemented
    assert Value(1.0).__rpow__(None) is NotImplemented


def test_values_are_hashable_by_identity():
    a, b = Value(1.0), Value(1.0)
    assert a != b and len({a, b}) == 2


# --- the contract example ---------------------------------------------------


def test_contract_example_runs_and_is_correct():
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = (a * b + 1.5).tanh() ** 2 / a - b.relu() + a.exp().log() + a.sigmoid()
    c.backward()
    t = math.tanh(-4.5)
    s = 1 / (1 + math.exp(-2.0))
    expected = t * t / 2 - 0 + 2.0 + s
    assert c.data == pytest.approx(expected, rel=1e-12)
    # d/da: d(t^2/a)/da = 2t(1-t^2)*b/a - t^2/a^2 ; +1 ; + s(1-s)
    da = 2 * t * (1 - t * t) * -3.0 / 2.0 - t * t / 4.0 + 1.0 + s * (1 - s)
    db = 2 * t * (1 - t * t) * 2.0 / 2.0
    assert a.grad == pytest.approx(da, rel=1e-9)
    assert b.grad == pytest.approx(db, rel=1e-9)


# --- backward semantics ------------------------------------------------------


def test_backward_accumulates_into_leaves_exactly():
    x = Value(1.5)
    y = (x * x + x).tanh() * x
    y.backward()
    g1 = x.grad
    y.backward()
    assert x.grad == pytest.approx(2 * g1, rel=1e-15)
    x.grad = 0.0
    y.backward()
    assert x.grad == pytest.approx(g1, rel=1e-15)


def test_intermediate_grads_hold_the_latest_backward():
    x = Value(2.0)
    h = x * 3.0
    y = h * h
    y.backward()
    y.backward()
    assert h.grad == 2 * h.data  # not doubled: intermediates are reset each call
    assert x.grad == 2 * (2 * h.data * 3.0)


def test_backward_with_gradient_argument():
    x = Value(2.0)
    (x * x).backward(0.5)
    assert x.grad == 2.0
    with pytest.raises(TypeError, match="backward"):
        (x * x).backward("1")


def test_backward_on_a_leaf():
    x = Value(2.0)
    x.backward()
    assert x.grad == 1.0


def test_shared_subexpression_accumulates():
    x = Value(0.5)
    s = x.exp()
    y = s * s + s  # s used three times
    y.backward()
    e = math.exp(0.5)
    assert x.grad == pytest.approx((2 * e + 1) * e, rel=1e-12)


def test_deterministic_order():
    def run():
        xs = [Value(0.1 * i) for i in range(30)]
        y = engine.sum([(xs[i] * xs[(i * 7) % 30]).tanh() for i in range(30)])
        y.backward()
        return [x.grad for x in xs]
    assert run() == run()


def test_million_node_chain_forward_and_backward():
    y = x = Value(0.5)
    for _ in range(500_000):  # two nodes per step: 1,000,000 nodes
        y = (y * 1.0001).tanh()
    y.backward()
    assert math.isfinite(x.grad) and x.grad != 0.0
    assert len(engine.topological_order(y)) == 1_000_001
    del y  # freeing a deep chain must not overflow the C stack either


def _live_values():
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def test_graph_is_freed_by_reference_counting():
    # Value has no __weakref__ slot (8 bytes a node), so count live Values instead:
    # with the cyclic collector off, only reference counting can free them.
    gc.collect()
    gc.disable()
    try:
        before = _live_values()
        x = Value(1.0)
        y = ((x * 2.0).tanh() + x) * engine.dot([x, x], [x, 3.0])
        y.backward()
        assert _live_values() == before + 6
        del y
        assert _live_values() == before + 1  # only x is left: the graph had no cycles
    finally:
        gc.enable()


# --- fused n-ary nodes ---------------------------------------------------------


def test_sum_is_one_node():
    xs = [Value(float(i)) for i in range(100)]
    s = engine.sum(xs + [0.5, 2])
    assert s.op == "sum" and len(s.parents) == 100
    assert s.data == sum(range(100)) + 2.5
    s.backward()
    assert all(x.grad == 1.0 for x in xs)


def test_sum_edge_cases():
    assert engine.sum([]).data == 0.0
    assert engine.sum([1, 2.5], start=1).data == 4.5
    assert engine.sum([1.0, 2.0]).op == ""  # no Values: a leaf
    assert engine.sum(Value(float(i)) for i in range(3)).data == 3.0  # generators work
    with pytest.raises(TypeError, match="engine.sum"):
        engine.sum(3)
    with pytest.raises(TypeError, match="element 1"):
        engine.sum([Value(1.0), "2"])


def test_dot_is_one_node_with_a_parent_per_value():
    a = [Value(float(i)) for i in range(5)]
    b = [Value(2.0 * i) for i in range(5)]
    y = dot(a, b)
    assert y.op == "dot" and len(y.parents) == 10
    assert y.data == sum(i * 2.0 * i for i in range(5))
    y.backward()
    assert [v.grad for v in a] == [v.data for v in b]
    assert [v.grad for v in b] == [v.data for v in a]


def test_dot_with_constants_and_repeated_values():
    w = [Value(2.0), Value(-1.0)]
    y = dot(w, [3.0, 4])
    assert len(y.parents) == 2
    y.backward()
    assert (w[0].grad, w[1].grad) == (3.0, 4.0)
    x = Value(3.0)
    z = dot([x, x], [x, 1.0])  # x*x + x
    z.backward()
    assert x.grad == 2 * 3.0 + 1


def test_dot_matches_chained_ops_and_finite_differences():
    assert engine.gradcheck(lambda a, b, c, d: dot([a, b, 2.0], [c, d, a]), [0.3, -1.2, 0.7, 2.0])


def test_dot_bad_input():
    with pytest.raises(ValueError, match="same length, got 2 and 3"):
        dot([Value(1.0)] * 2, [1.0] * 3)
    with pytest.raises(TypeError, match=r"b\[1\]"):
        dot([Value(1.0), Value(2.0)], [1.0, "x"])
    with pytest.raises(TypeError, match="engine.dot"):
        dot(Value(1.0), 2.0)
    assert dot([], []).data == 0.0


# --- no_grad / grad ------------------------------------------------------------------


def test_no_grad_records_nothing_and_restores():
    x = Value(2.0)
    with no_grad():
        assert not engine.is_grad_enabled()
        y = (x * x).tanh() + dot([x], [x]) + engine.sum([x, x])
        assert y.op == "" and y.parents == ()
        with engine.enable_grad():
            assert (x * x).op == "mul"
    assert engine.is_grad_enabled()
    assert (x * x).op == "mul"


def test_no_grad_restores_after_exception_and_works_as_decorator():
    with pytest.raises(ZeroDivisionError):
        with no_grad():
            1 / 0
    assert engine.is_grad_enabled()

    @no_grad()
    def f(v):
        return v * 2

    assert f(Value(1.0)).op == ""
    assert engine.is_grad_enabled()


def test_no_grad_is_thread_local():
    seen = {}
    inside = threading.Event()
    release = threading.Event()

    def worker():
        with no_grad():
            inside.set()
            release.wait(5)
            seen["worker"] = (Value(1.0) * 2).op

    t = threading.Thread(target=worker)
    t.start()
    inside.wait(5)
    seen["main"] = (Value(1.0) * 2).op  # while the worker is inside no_grad
    release.set()
    t.join()
    assert seen == {"main": "mul", "worker": ""}


def test_grad_function_leaves_grad_untouched():
    x, y = Value(2.0), Value(-1.0)
    z = x * y + x.exp()
    gx, gy = grad(z, [x, y])
    assert (gx, gy) == (pytest.approx(-1.0 + math.exp(2.0)), 2.0)
    assert x.grad == 0.0 and y.grad == 0.0
    assert grad(z, [Value(5.0)]) == (0.0,)


def test_grad_create_graph_second_derivative():
    x = Value(0.8)
    y = x.tanh() * x ** 3
    (g,) = grad(y, [x], create_graph=True)
    (gg,) = grad(g, [x])
    t = math.tanh(0.8)
    first = (1 - t * t) * 0.8 ** 3 + t * 3 * 0.8 ** 2
    second = (-2 * t * (1 - t * t)) * 0.8 ** 3 + 2 * (1 - t * t) * 3 * 0.8 ** 2 + t * 6 * 0.8
    assert g.data == pytest.approx(first, rel=1e-12)
    assert gg == pytest.approx(second, rel=1e-12)


def test_grad_bad_input():
    x = Value(1.0)
    with pytest.raises(TypeError, match="output must be a Value"):
        grad(1.0, [x])
    with pytest.raises(TypeError, match=r"inputs\[0\]"):
        grad(x * 2, [1.0])


def test_gc_paused_restores_the_collector_even_on_errors():
    assert gc.isenabled()
    with engine.gc_paused():
        assert not gc.isenabled()
        with engine.gc_paused():  # nested
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError):
        with engine.gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with engine.gc_paused():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_dot_layouts_all_give_the_same_first_and_second_derivatives():
    # all-Values, Values-then-constants (a neuron's x + [1.0]), and a general mix
    def make(layout):
        a = [Value(0.5), Value(1.5), Value(2.0)]
        bv = [Value(2.0), Value(3.0), Value(-1.0)]
        b = {"values": bv, "suffix": bv[:2] + [-1.0], "mixed": [bv[0], 3.0, bv[2]]}[layout]
        return a, bv, dot(a, b)

    results = {}
    for layout in ("values", "suffix", "mixed"):
        a, bv, y = make(layout)
        z = y * y
        firsts = grad(z, a, create_graph=True)
        seconds = [grad(g, a) for g in firsts]
        results[layout] = ([g.data for g in firsts], seconds, engine.formula(y))
    # the leaf Values of b only differ in being constants, so d/da agree everywhere
    assert results["values"][:2] == results["suffix"][:2] == results["mixed"][:2]
    assert results["suffix"][2] == "dot(0.5*2 + 1.5*3 + 2*-1)"


def test_mode_contexts_are_reentrant_and_work_without_parentheses():
    @no_grad()
    def rec(n):
        return rec(n - 1) if n else Value(1.0) * 2

    assert rec(3).op == ""
    assert engine.is_grad_enabled()
    ng = no_grad()
    with ng:
        with ng:
            pass
        assert not engine.is_grad_enabled()
    assert engine.is_grad_enabled()

    @no_grad
    def bare(v):
        return v * 2

    assert bare(Value(1.0)).op == "" and bare.__name__ == "bare"
    assert engine.is_grad_enabled()
    with pytest.raises(TypeError, match="takes no arguments"):
        no_grad(3)


def test_pow_with_zero_exponent_has_zero_base_derivative_at_zero():
    x = Value(0.0)
    p = engine.sum([c * x ** k for k, c in enumerate([1.0, 2.0, 3.0])])  # 1 + 2x + 3x^2
    p.backward()
    assert x.grad == 2.0
    a, b = Value(0.0), Value(0.0)
    (a ** b).backward()
    assert a.grad == 0.0 and b.grad == 0.0


def test_method_aliases_comparisons_truth_and_source():
    import inspect
    x = Value(-2.0)
    assert x.abs().data == abs(x).data == 2.0 and x.neg().data == (-x).data == 2.0
    assert max(Value(1.0), Value(3.0), key=float).data == 3.0
    assert max(Value(1.0), Value(3.0)).data == 3.0
    assert Value(2.0) < 3 and Value(2.0) >= Value(2.0) and not (Value(2.0) > 2)
    with pytest.raises(TypeError):
        Value(1.0) < "2"
    assert not Value(0.0) and Value(-0.5)
    assert "1.0 - y * y" in inspect.getsource(Value.tanh)
    assert "1.0 - y * y" in Value.tanh.__doc__


def _operands(y):
    from engine.value import dot_operands
    return dot_operands(y) if y._ctx is not None else None


def _node_facts(ys):
    return [(y.op, y.data, y.parents, y.local_grads, _operands(y)) for y in ys]


def test_linear_builds_the_same_nodes_as_dot():
    W = [[Value(1.0), Value(2.0)], [Value(-1.0), Value(0.5)], [Value(0.25), Value(-3.0)]]
    b = [Value(0.5), Value(0.0), Value(-2.0)]
    h = [Value(3.0), Value(4.0)]
    inputs = [[3.0, 4.0], h, [h[0], 4.0], [4.0, h[1]], [3, 4], [h[1], h[0]]]
    out = engine.linear(inputs, W, b)
    assert len(out) == len(inputs) and all(len(ys) == 3 for ys in out)
    for x, ys in zip(inputs, out):
        ref = [dot(list(w) + [bj], list(x) + [1.0]) for w, bj in zip(W, b)]
        assert _node_facts(ys) == _node_facts(ref)
    # without a bias: dot(row, x); a row holding a number falls back to dot for that row
    mixed = [Value(1.0), 2.0]
    out = engine.linear([h, [1.0, 2.0]], [W[0], mixed])
    assert _node_facts(out[0]) == _node_facts([dot(W[0], h), dot(mixed, h)])
    assert [y.data for y in out[1]] == [5.0, 5.0]
    # gradients: every weight gets the sum over the batch
    W2 = [[Value(0.5), Value(-1.0)]]
    loss = engine.sum(ys[0] for ys in engine.linear([[1.0, 2.0], [3.0, -1.0]], W2, [Value(0.1)]))
    loss.backward()
    assert [w.grad for w in W2[0]] == [4.0, 1.0]
    with no_grad():
        assert engine.linear([h], W)[0][0].op == ""
    assert engine.linear([], W) == [] and engine.linear([[1.0]], []) == [[]]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "exp"])
def test_linear_activation_is_the_op_applied_to_every_output(activation):
    W = [[Value(1.0), Value(-2.0)], [Value(-1.0), Value(0.5)], [Value(0.25), Value(-3.0)]]
    b = [Value(0.5), Value(0.0), Value(-2.0)]
    h = [Value(0.3), Value(-0.4)]
    inputs = [[3.0, 4.0], h, [h[0], -4.0], [3, 4]]
    out = engine.linear(inputs, W, b, activation=activation)
    ref = [[getattr(y, activation)() for y in ys] for ys in engine.linear(inputs, W, b)]
    def facts(ys):  # the activation node and the dot node below it
        return [(y.op, y.data, y.local_grads, _node_facts(y.parents)) for y in ys]
    assert [facts(ys) for ys in out] == [facts(ys) for ys in ref]
    assert [[y.op for y in ys] for ys in out] == [[activation] * 3] * 4
    engine.sum(y for ys in out for y in ys).backward()
    got = [w.grad for row in W for w in row] + [v.grad for v in b + h]
    for v in [w for row in W for w in row] + b + h:
        v.grad = 0.0
    engine.sum(y for ys in ref for y in ys).backward()
    assert got == [w.grad for row in W for w in row] + [v.grad for v in b + h]
    # under no_grad: one leaf per output, the same numbers (also with anomaly checks on)
    for modes in ([no_grad()], [no_grad(), engine.detect_anomaly()]):
        with modes[0]:
            if len(modes) > 1:
                with modes[1]:
                    leaves = engine.linear(inputs, W, b, activation=activation)
            else:
                leaves = engine.linear(inputs, W, b, activation=activation)
        assert [[y.data for y in ys] for ys in leaves] == [[y.data for y in ys] for ys in out]
        assert all(y.op == "" and y.parents == () for ys in leaves for y in ys)


def test_linear_activation_takes_registered_ops_and_refuses_others():
    cube = engine.register_op("cube_lin_t", lambda x: x * x * x, [lambda x, y: 3 * x * x])
    try:
        W = [[Value(2.0), Value(-1.0)]]
        for activation in ("cube_lin_t", cube):
            (y,), = engine.linear([[1.0, 0.5]], W, activation=activation)
            assert y.data == 1.5 ** 3 and y.op == "cube_lin_t"
            with no_grad():
                assert engine.linear([[1.0, 0.5]], W, activation=activation)[0][0].data == 1.5 ** 3
    finally:
        engine.ops._forget(engine.ops.OPS["cube_lin_t"])

    def relu(x):  # not the engine's op, only its name
        return x
    for bad in ("softmax", "add", 3, engine.ops.OPS["relu"], relu):
        with pytest.raises(ValueError, match="engine.linear: activation must be the name of a unary op"):
            engine.linear([[1.0, 2.0]], [[Value(1.0), Value(2.0)]], activation=bad)


def test_linear_bad_input():
    W = [[Value(1.0), Value(2.0)], [Value(1.0)]]
    cases = [
        (ValueError, "engine.linear: weight row 1 has 1 entries but row 0 has 2", lambda: engine.linear([[1.0, 2.0]], W)),
        (ValueError, "engine.linear: inputs\\[1\\] has 1 entries but the weight rows have 2",
         lambda: engine.linear([[1.0, 2.0], [1.0]], W[:1])),
        (ValueError, "engine.linear: bias has 2 entries but weight has 1 row",
         lambda: engine.linear([[1.0, 2.0]], W[:1], [Value(0.0), Value(1.0)])),
        (TypeError, "engine.linear: inputs\\[0\\] must be a list.*write \\[x\\]", lambda: engine.linear([3.0], W[:1])),
        (TypeError, "engine.linear: inputs\\[0\\] must be a list", lambda: engine.linear([5], [])),
        (TypeError, "engine.linear: inputs must be a list of samples", lambda: engine.linear(3, W)),
        (TypeError, "engine.linear: weight must be a list of rows", lambda: engine.linear([[1.0]], 3)),
        (TypeError, "engine.linear: weight\\[0\\] must be a row", lambda: engine.linear([[1.0, 2.0]], W[0])),
        (TypeError, "engine.linear: bias must be a list", lambda: engine.linear([[1.0, 2.0]], W[:1], 0.5)),
        (TypeError, "engine.linear: bias\\[0\\] must be a Value or a number, got str 'b'",
         lambda: engine.linear([[1.0, 2.0]], W[:1], ["b"])),
        (TypeError, "engine.linear: weight\\[0\\]\\[1\\] must be a Value or a number, got str 'w'",
         lambda: engine.linear([[1.0, 2.0]], [[Value(1.0), "w"]])),
        (TypeError, "engine.linear: inputs\\[0\\]\\[1\\] must be a Value or a number, got str 'x'",
         lambda: engine.linear([[1.0, "x"]], W[:1])),
        (TypeError, "engine.linear: inputs\\[0\\]\\[0\\] must be a Value or a number, got bool",
         lambda: engine.linear([[True, 1.0]], W[:1])),
    ]
    for exc, match, call in cases:
        with pytest.raises(exc, match=match):
            call()


def test_formula_marks_dot_terms_it_leaves_out():
    x = Value(1.0, label="x")
    text = engine.formula(engine.dot([x] + [1.0] * 9, [2.0] * 10))  # keeps its lists: number*number terms
    assert text.startswith("dot(x*2 + 1*2") and text.endswith(", …)")


def test_micrograd_style_constructor_points_to_engine_micrograd():
    a = Value(1.0)
    for args in [(2.0, (a,), "+"), (2.0, (a,)), (2.0, [a, a])]:
        with pytest.raises(TypeError, match=r"called like micrograd's Value\(data, _children, _op\).*engine.micrograd"):
            Value(*args)
    with pytest.raises(TypeError, match="expected a str, got int 5"):
        Value(2.0, 5)
