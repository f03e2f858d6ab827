"""THE op table: every differentiable operation, defined once.

Each row gives an op's forward computation and its local derivative(s),
side by side, as small Python expressions:

* unary ops see ``x`` (the input's value) and ``y`` (the output's value);
* binary ops see ``a``, ``b`` (the two inputs) and ``y``.

``engine.value`` compiles every row into a ``Value`` method (so ``x.tanh()``
or ``a * b`` runs the expression inline, with no extra Python call), and
``engine.autograd`` evaluates the *same* derivative expressions over Values
when ``grad(..., create_graph=True)`` needs the backward pass as a graph.
Tests in ``tests/test_ops.py`` iterate over these tables, so a new row is
checked against finite differences (and PyTorch, when installed)
automatically.

Adding an op = one row here (+ a docstring row in ``DOCS``); see README.

Numerical policy (the same for every op, like PyTorch/IEEE 754): domain
errors never raise. ``log(0) = -inf``, ``log(-1) = nan``, ``x / 0 = ±inf``
(``0 / 0 = nan``), ``0 ** -1 = inf``, ``(-8) ** 0.5 = nan``, ``exp(1000) = inf``.
Use ``engine.detect_anomaly()`` to turn the first nan/inf into an error.
"""
from __future__ import annotations

import math

inf = math.inf
nan = math.nan
_copysign = math.copysign
_math_exp = math.exp
_math_log = math.log
_math_pow = math.pow
_math_sqrt = math.sqrt
_floor = math.floor
_isinf = math.isinf


# --- IEEE-754 style float helpers: Python's math raises where IEEE returns
# --- inf/nan; these return what PyTorch returns instead.

def _exp(x: float) -> float:
    try:
        return _math_exp(x)
    except OverflowError:
        return inf


def _log(x: float) -> float:
    if x > 0.0:
        return _math_log(x)
    if x == 0.0:
        return -inf
    return nan  # negative or nan


def _sqrt(x: float) -> float:
    if x >= 0.0:
        return _math_sqrt(x)
    return nan


def _div(a: float, b: float) -> float:
    if b:
        return a / b
    # b is +0.0 or -0.0
    if a != a or a == 0.0:
        return nan
    return _copysign(inf, a) * _copysign(1.0, b)


def _is_odd_integer(b: float) -> bool:
    return not _isinf(b) and b == _floor(b) and _floor(b) % 2 == 1


def _pow(a: float, b: float) -> float:
    try:
        return _math_pow(a, b)
    except (ValueError, ZeroDivisionError):
        if a == 0.0:  # 0 ** negative
            return _copysign(inf, a) if _is_odd_integer(b) else inf
        return nan  # negative base, non-integer exponent
    except OverflowError:
        return -inf if (a < 0.0 and _is_odd_integer(b)) else inf


def _sigmoid(x: float) -> float:
    # Two branches so exp never overflows: stable at +-1000.
    if x >= 0.0:
        return 1.0 / (1.0 + _exp(-x))
    e = _exp(x)
    return e / (1.0 + e)


def _step(x: float) -> float:
    """d relu / dx; 0 at the kink x == 0 (PyTorch's choice)."""
    return 1.0 if x > 0.0 else 0.0


def _sign(x: float) -> float:
    """d abs / dx; 0 at the kink x == 0 (PyTorch's choice)."""
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0 * x)


def _dpow_base(a: float, b: float) -> float:
    """d(a ** b)/da = b * a**(b-1); 0 where b == 0 (a**0 is constant; as PyTorch)."""
    if b == 0.0:
        return 0.0
    return b * _pow(a, b - 1.0)


def _dpow_exponent(a: float, b: float, y: float) -> float:
    """d(a ** b)/db = a**b * log(a); 0 where a == 0 and b >= 0 (as PyTorch)."""
    if a == 0.0 and b >= 0.0:
        return 0.0
    return y * _log(a)


# Names the expressions below may use (float versions).  autograd.py
# provides Value versions of the same names for create_graph=True.
FLOAT_HELPERS = {
    "_exp": _exp, "_log": _log, "_sqrt": _sqrt, "_div": _div, "_pow": _pow,
    "_sigmoid": _sigmoid, "_step": _step, "_sign": _sign, "_tanh": math.tanh,
    "_dpow_base": _dpow_base, "_dpow_exponent": _dpow_exponent,
}

# ---------------------------------------------------------------------------
# The table.
#   name:     (forward,                 d out / d x)
UNARY = {
    "neg":     ("-x",                    "-1.0"),
    "exp":     ("_exp(x)",               "y"),
    "log":     ("_log(x)",               "_div(1.0, x)"),
    "sqrt":    ("_sqrt(x)",              "_div(0.5, y)"),
    "tanh":    ("_tanh(x)",              "1.0 - y * y"),
    "sigmoid": ("_sigmoid(x)",           "y * (1.0 - y)"),
    "relu":    ("x if x > 0.0 else 0.0", "_step(x)"),
    "abs":     ("abs(x)",                "_sign(x)"),
}

#   name:  (forward,        d out / d a,             d out / d b)
BINARY = {
    "add": ("a + b",        "1.0",                   "1.0"),
    "sub": ("a - b",        "1.0",                   "-1.0"),
    "mul": ("a * b",        "b",                     "a"),
    "div": ("_div(a, b)",   "_div(1.0, b)",          "_div(-y, b)"),
    "pow": ("_pow(a, b)",   "_dpow_base(a, b)",      "_dpow_exponent(a, b, y)"),
}

# n-ary fused ops (hand-written in engine/value.py, because their arity
# varies):
#   "sum": y = sum(x_i)            d y / d x_i = 1
#   "dot": y = sum(a_i * b_i)      d y / d a_i = b_i,  d y / d b_i = a_i
NARY = ("sum", "dot")

# One-line docs for the generated methods.
DOCS = {
    "neg": "Negation, -x.",
    "exp": "e ** x (inf on overflow).",
    "log": "Natural logarithm (log(0) = -inf, log(x<0) = nan).",
    "sqrt": "Square root (sqrt(x<0) = nan).",
    "tanh": "Hyperbolic tangent.",
    "sigmoid": "Logistic sigmoid 1 / (1 + e**-x), stable for large |x|.",
    "relu": "max(x, 0); derivative 0 at x == 0.",
    "abs": "Absolute value; derivative 0 at x == 0.",
    "add": "a + b", "sub": "a - b", "mul": "a * b", "div": "a / b (x/0 = ±inf, 0/0 = nan)",
    "pow": "a ** b (IEEE: 0**-1 = inf, (-8)**0.5 = nan)",
}


def _compile(expr: str, args: str):
    return eval(f"lambda {args}: {expr}", dict(FLOAT_HELPERS))  # noqa: S307 - our own table


# Plain-float callables for every row, for tests and tools:
#   FORWARD[name](x) / FORWARD[name](a, b)
#   LOCAL[name](x, y) -> (dx,)  /  LOCAL[name](a, b, y) -> (da, db)
FORWARD = {}
LOCAL = {}
for _name, (_fwd, _d) in UNARY.items():
    FORWARD[_name] = _compile(_fwd, "x")
    LOCAL[_name] = _compile(f"({_d},)", "x, y")
for _name, (_fwd, _da, _db) in BINARY.items():
    FORWARD[_name] = _compile(_fwd, "a, b")
    LOCAL[_name] = _compile(f"({_da}, {_db})", "a, b, y")
del _name, _fwd, _d, _da, _db
