"""Registry-driven: every op record of engine.ops is checked here, so a new op is tested automatically.

For each op: the record derives a method/operator, its forward value equals
the record's, its recorded local derivatives equal the record's rule,
backward() matches central finite differences and second derivatives
(create_graph) match finite differences of the first, in every operand form
(Value-Value, Value-number, number-Value).  ``check_op`` holds all of it, so
``test_ops_added_in_a_fixture_pass_every_check`` can prove that a new op,
unary or binary, operator or named, written as one entry, is covered.
"""
import inspect
import math
import operator

import pytest

import engine
from engine import Value, gradcheck, gradgradcheck, ops

UNARY_POINTS = [-1.7, -0.3, 0.4, 2.2, 5.0]
BINARY_POINTS = [(0.7, 1.3), (1.9, -0.6), (2.5, 0.5), (-1.4, 0.8), (1.3, 2.0)]


def in_domain(op, vals, consts):
    """The record's own domain (text over x or a, b, a_const, b_const; or a registered op's predicate)."""
    if op.domain is None:
        return True
    if callable(op.domain):
        return bool(op.domain(*vals))
    names = dict(zip(op.variables, vals))
    if op.arity == 2:
        names["a_const"], names["b_const"] = consts
    return bool(eval(op.domain, op.namespace, names))  # noqa: S307 - the record's text


def unary_points(op):
    return [x for x in UNARY_POINTS if in_domain(op, [x], [False])]


def binary_points(op, consts=(False, False)):
    return [(a, b) for a, b in BINARY_POINTS if in_domain(op, [a, b], list(consts))]


def call(op, *args):
    """The op the way a user writes it: operator, method, or (registered) function."""
    if op.arity == 1:
        (x,) = args
        if op.dunder:
            return getattr(operator, op.dunder)(x)
        return getattr(x, op.name)() if op.method else op.apply(x)
    a, b = args
    if op.dunder:
        return getattr(operator, op.dunder)(a, b)
    return op.apply(a, b)


def second_derivative_defined(op) -> bool:
    """Every helper an op's derivative calls has a Value version (else create_graph says so)."""
    try:
        x = Value(0.5)
        engine.grad(engine.grad(call(op, *([x] * op.arity)), [x], create_graph=True)[0], [x])
    except TypeError:
        return False
    return True


def check_op(op) -> None:
    """Everything a record must give, for one op."""
    # the record derives a method/operator with a doc naming the rule
    if op.dunder:
        assert callable(getattr(Value, f"__{op.dunder}__"))
    if op.method and op.arity == 1 or (op.arity == 2 and not op.dunder and op.method):
        assert callable(getattr(Value, op.name))
    assert op.doc and op.apply is not None
    if not op.user:
        src = inspect.getsource(getattr(Value, f"__{op.dunder}__" if op.dunder else op.name))
        assert op.derivatives[-1] in src
    twice = second_derivative_defined(op)
    if op.arity == 1:
        points = unary_points(op)
        assert points, f"no test point inside the domain of {op.name}"
        for x in points:
            v = Value(x)
            y = call(op, v)
            assert y.op == op.name and y.parents == (v,)
            assert y.data == ops.FORWARD[op.name](x)
            assert y.local_grads == ops.LOCAL[op.name](x, y.data)
            y.backward()
            assert v.grad == ops.LOCAL[op.name](x, y.data)[0]
            assert gradcheck(lambda t: call(op, t), [x])
            if twice:
                assert gradgradcheck(lambda t: call(op, t), [x])
        return
    points = binary_points(op)
    assert points, f"no test point inside the domain of {op.name}"
    for a, b in points:
        va, vb = Value(a), Value(b)
        y = call(op, va, vb)
        assert y.op == op.name and y.parents == (va, vb)
        assert y.data == ops.FORWARD[op.name](a, b)
        assert y.local_grads == ops.LOCAL[op.name](a, b, y.data)
        assert gradcheck(lambda s, t: call(op, s, t), [a, b])
        assert gradcheck(lambda s: call(op, s, s), [a])  # the same Value on both sides accumulates
        if twice:
            assert gradgradcheck(lambda s, t: call(op, s, t), [a, b])
    for a, b in binary_points(op, (False, True)):  # Value OP number
        y = call(op, Value(a), b)
        assert y.data == ops.FORWARD[op.name](a, b) and y.op == op.name and len(y.parents) == 1
        assert gradcheck(lambda s: call(op, s, b), [a])
        got, want = call(op, Value(a), int(b)).data, ops.FORWARD[op.name](a, float(int(b)))  # ints convert
        assert got == want or (got != got and want != want)
    for a, b in binary_points(op, (True, False)):  # number OP Value: reflected
        y = call(op, a, Value(b))
        assert y.data == ops.FORWARD[op.name](a, b) and y.op == op.reflected and len(y.parents) == 1
        assert gradcheck(lambda t: call(op, a, t), [b])
        if twice:
            assert gradgradcheck(lambda t: call(op, a, t), [b])


@pytest.mark.parametrize("name", sorted(ops.UNARY) + sorted(ops.BINARY))
def test_every_op_record(name):
    check_op(ops.OPS[name])


# --- adding ops: one entry each, covered by every registry-driven check -------------------

@pytest.fixture
def added_ops():
    """A user's new ops, each one entry: unary sin/cos, a named binary atan2, an operator (%), a registered op."""
    ops.HELPERS["_sin"], ops.HELPERS["_cos"], ops.HELPERS["_atan2"] = math.sin, math.cos, math.atan2
    added = [
        ops.unary("sin", "_sin(x)", "_cos(x)", doc="Sine."),
        ops.unary("cos", "_cos(x)", "-_sin(x)", doc="Cosine."),
        ops.binary("atan2", "_atan2(a, b)", "_div(b, a * a + b * b)", "_div(-a, a * a + b * b)",
                   domain="a * a + b * b >= 0.25", doc="atan2(a, b), the angle of (b, a)."),
        ops.binary("mod", "a - b * _floor(_div(a, b))", "1.0", "-_floor(_div(a, b))", symbol="%", dunder="mod",
                   domain="abs(b) >= 0.5 and 0.1 < _div(a, b) - _floor(_div(a, b)) < 0.9",
                   doc="a % b, Python's modulo."),
    ]
    engine.register_op("softsign", lambda x: x / (1 + abs(x)), [lambda x, y: 1 / (1 + abs(x)) ** 2])
    added.append(ops.OPS["softsign"])
    yield added
    for op in added:
        ops._forget(op)


def test_ops_added_in_a_fixture_pass_every_check(added_ops):
    for op in added_ops:
        check_op(op)
    x = Value(0.7)
    assert x.sin().op == "sin" and math.isclose((x % 0.5).data, 0.7 % 0.5)
    assert engine.formula(x.atan2(2.0)) == "atan2(0.7, 2)" and engine.formula(x % 0.5) == "(0.7 % 0.5)"
    # sin's second derivative exists because cos is an op too
    (d,) = engine.grad(x.sin(), [x], create_graph=True)
    assert math.isclose(engine.grad(d, [x])[0], -math.sin(0.7), rel_tol=1e-12)


def test_a_derivative_helper_with_no_op_is_named_when_create_graph_needs_it():
    ops.HELPERS["_tan_t"] = math.tan
    ops.HELPERS["_dtan_t"] = lambda x: 1 + math.tan(x) ** 2
    op = ops.unary("tan_t", "_tan_t(x)", "_dtan_t(x)", doc="Tangent.")
    try:
        x = Value(0.3)
        assert math.isclose(engine.grad(x.tan_t(), [x])[0], 1 / math.cos(0.3) ** 2)
        assert gradcheck(lambda t: t.tan_t(), [0.3])
        with pytest.raises(TypeError, match="op 'tan_t'.*_dtan_t has no Value version"):
            engine.grad(x.tan_t(), [x], create_graph=True)
    finally:
        ops._forget(op)


# --- The numerical policy: IEEE/PyTorch results, never an exception -----------

DOMAIN_CASES = [
    # (description, thunk, expected)
    ("log(0) = -inf", lambda: Value(0.0).log(), -math.inf),
    ("log(-1) = nan", lambda: Value(-1.0).log(), math.nan),
    ("sqrt(-1) = nan", lambda: Value(-1.0).sqrt(), math.nan),
    ("exp(1000) = inf", lambda: Value(1000.0).exp(), math.inf),
    ("exp(-1000) = 0", lambda: Value(-1000.0).exp(), 0.0),
    ("1/0 = inf", lambda: Value(1.0) / 0.0, math.inf),
    ("-1/0 = -inf", lambda: Value(-1.0) / 0, -math.inf),
    ("0/0 = nan", lambda: Value(0.0) / Value(0.0), math.nan),
    ("1/Value(0) = inf", lambda: 1 / Value(0.0), math.inf),
    ("0 ** -1 = inf", lambda: Value(0.0) ** -1, math.inf),
    ("-0.0 ** -1 = -inf", lambda: Value(-0.0) ** -1, -math.inf),
    ("(-8) ** 0.5 = nan", lambda: Value(-8.0) ** 0.5, math.nan),
    ("(-8) ** Value(1/3) = nan", lambda: Value(-8.0) ** Value(1 / 3), math.nan),
    ("(-2) ** 3 = -8", lambda: Value(-2.0) ** 3, -8.0),
    ("10 ** 400 = inf", lambda: Value(10.0) ** 400, math.inf),
    ("(-10) ** 401 = -inf", lambda: Value(-10.0) ** 401, -math.inf),
    ("2 ** Value(5000) = inf", lambda: 2 ** Value(5000.0), math.inf),
    ("sigmoid(1000) = 1", lambda: Value(1000.0).sigmoid(), 1.0),
    ("sigmoid(-1000) = 0", lambda: Value(-1000.0).sigmoid(), 0.0),
    ("tanh(1000) = 1", lambda: Value(1000.0).tanh(), 1.0),
    ("tanh(-1000) = -1", lambda: Value(-1000.0).tanh(), -1.0),
]


@pytest.mark.parametrize("desc,thunk,expected", DOMAIN_CASES, ids=[c[0] for c in DOMAIN_CASES])
def test_domain_policy_forward(desc, thunk, expected):
    y = thunk()
    if math.isnan(expected):
        assert math.isnan(y.data)
    else:
        assert y.data == expected
    y.backward()  # backward never raises either


def test_domain_policy_backward_values():
    x = Value(0.0)
    x.log().backward()
    assert x.grad == math.inf  # d log / dx at 0
    x = Value(0.0)
    x.sqrt().backward()
    assert x.grad == math.inf
    x = Value(1000.0)
    x.sigmoid().backward()
    assert x.grad == 0.0  # saturated, not nan
    x = Value(-1000.0)
    x.tanh().backward()
    assert x.grad == 0.0
    b = Value(0.0)
    (1.0 / b).backward()
    assert b.grad == -math.inf
    # d(0**k)/dk with k >= 0 is 0 by convention (PyTorch), not nan
    base, k = Value(0.0), Value(2.0)
    (base ** k).backward()
    assert k.grad == 0.0 and base.grad == 0.0


def test_kinks_use_pytorch_convention():
    x = Value(0.0)
    x.relu().backward()
    assert x.grad == 0.0
    x = Value(0.0)
    abs(x).backward()
    assert x.grad == 0.0


def test_relu_keeps_the_sign_of_zero_as_torch():
    import math
    assert math.copysign(1.0, Value(-0.0).relu().data) == -1.0  # torch.relu(-0.0) is -0.0
    assert math.copysign(1.0, Value(-1.0).relu().data) == 1.0
    assert Value(float("nan")).relu().data != Value(float("nan")).relu().data
