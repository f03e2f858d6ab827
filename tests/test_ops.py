"""Table-driven: every row of engine.ops is checked here, so a new op is tested automatically.

For each op: the generated method gives the table's forward value, its
recorded local derivative matches the table's rule, and backward() matches
central finite differences — for Value-Value, Value-number and
number-Value operand forms.
"""
import math

import pytest

from engine import Value, gradcheck, ops

# Points inside every op's domain, away from kinks (relu/abs at 0).
UNARY_POINTS = [-1.7, -0.3, 0.4, 2.2]
BINARY_POINTS = [(0.7, 1.3), (1.9, -0.6), (2.5, 0.5)]


def unary_points(name):
    if name in ("log", "sqrt"):
        return [p for p in UNARY_POINTS if p > 0] + [5.0]
    return UNARY_POINTS


def binary_points(name):
    if name == "pow":  # positive base: real for any real exponent
        return [(0.7, 1.3), (1.9, -0.6), (2.5, 0.5)]
    return BINARY_POINTS + [(-1.4, 0.8)]


def call_unary(name, v):
    dunder = {"neg": "__neg__", "abs": "__abs__"}.get(name, name)
    return getattr(v, dunder)()


OPERATOR = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
            "div": lambda a, b: a / b, "pow": lambda a, b: a ** b}


def test_table_is_complete():
    # every row compiles to a Value method and has a doc line
    for name in ops.UNARY:
        assert callable(getattr(Value, {"neg": "__neg__", "abs": "__abs__"}.get(name, name)))
        assert name in ops.DOCS
    for name in ops.BINARY:
        assert name in OPERATOR, f"add {name} to OPERATOR in this test"
        assert name in ops.DOCS


@pytest.mark.parametrize("name", sorted(ops.UNARY))
def test_unary_forward_and_local_derivative(name):
    for x in unary_points(name):
        v = Value(x)
        y = call_unary(name, v)
        assert y.op == name
        assert y.parents == (v,)
        assert y.data == ops.FORWARD[name](x)
        (d,) = ops.LOCAL[name](x, y.data)
        assert y.local_grads == (d,)
        y.backward()
        assert v.grad == pytest.approx(d, rel=1e-12)


@pytest.mark.parametrize("name", sorted(ops.UNARY))
def test_unary_matches_finite_differences(name):
    for x in unary_points(name):
        assert gradcheck(lambda v: call_unary(name, v), [x])


@pytest.mark.parametrize("name", sorted(ops.BINARY))
def test_binary_value_value(name):
    f = OPERATOR[name]
    for a, b in binary_points(name):
        va, vb = Value(a), Value(b)
        y = f(va, vb)
        assert y.op == name
        assert y.parents == (va, vb)
        assert y.data == ops.FORWARD[name](a, b)
        assert y.local_grads == ops.LOCAL[name](a, b, y.data)
        assert gradcheck(f, [a, b])


@pytest.mark.parametrize("name", sorted(ops.BINARY))
def test_binary_with_number_on_either_side(name):
    f = OPERATOR[name]
    for a, b in binary_points(name):
        # Value op number
        assert f(Value(a), b).data == ops.FORWARD[name](a, b)
        assert gradcheck(lambda x: f(x, b), [a])
        # number op Value (reflected)
        y = f(a, Value(b))
        assert y.data == ops.FORWARD[name](a, b)
        assert len(y.parents) == 1
        assert gradcheck(lambda x: f(a, x), [b])


@pytest.mark.parametrize("name", sorted(ops.BINARY))
def test_binary_with_int_operands(name):
    f = OPERATOR[name]
    y = f(Value(2.0), 3)
    assert y.data == ops.FORWARD[name](2.0, 3.0)
    y2 = f(3, Value(2.0))
    assert y2.data == ops.FORWARD[name](3.0, 2.0)


def test_same_value_on_both_sides_accumulates():
    for name, f in OPERATOR.items():
        a = 1.3
        assert gradcheck(lambda x: f(x, x), [a]), name


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
