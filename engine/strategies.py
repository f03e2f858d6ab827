"""Hypothesis strategies for random expression graphs: property-test gradients.

Needs Hypothesis (``pip install chainrule[strategies]``); ``import engine``
itself never imports it.

``expressions()`` draws a random program over 1-5 input variables and
returns an :class:`Expression`: call it like a function of Values (PyTorch
style, so it plugs straight into ``gradcheck``), read its ``inputs``, and
print it as a formula::

    from hypothesis import given
    from engine import gradcheck
    from engine.strategies import expressions

    @given(expressions())
    def test_backward_matches_finite_differences(e):
        assert gradcheck(e, e.inputs)

A failing example shrinks to a small formula such as
``tanh((x0 * x1) + x0) at x0=0.5, x1=-1.2``.

What gets drawn
---------------
* every row of ``engine.ops.UNARY`` and ``engine.ops.BINARY`` (read at call
  time, so a new table row is covered automatically) and the fused
  ``engine.sum`` / ``engine.dot``;
* binary ops in all operand forms: Value-Value, Value-number and the
  reflected number-Value (``2.0 - x0``, ``3.0 ** x0``);
* shared subexpressions: any earlier node can be used again (``t * t``,
  ``sum(t, t, x0)``), which is what catches gradient-accumulation bugs.

Domains (why: finite differences must be trustworthy at the drawn point)
------------------------------------------------------------------------
Each op is applied only where it is well defined and well conditioned:

* ``log``, ``sqrt``: argument >= 0.1;
* ``relu``, ``abs``: argument at least 0.1 away from the kink at 0 — points
  on the kink are *excluded*, their derivative is a convention, not a limit;
* ``a / b``: ``|b| >= 0.1``;
* ``a ** b``: number exponents come from a small set (2, 3, -1, 0.5, ...);
  a negative base only with an integer number exponent; a Value exponent
  needs a base >= 0.1 and ``|b| <= 3``; ``k ** x`` uses positive ``k``;
* every node's value stays within ``|y| <= 100``, and every op is checked
  numerically at its drawn input (forward only, never its backward): the
  slope must be ``<= 100`` and the one-sided slopes just left and right of
  the point must agree (no nearby kink or singularity). Ops you add get
  this check too, so a new table row needs no extra work unless it has a
  kink; then pass its domain (see ``domains=`` below).

Testing your own op
-------------------
An op can be a new row in ``engine.ops`` (then ``expressions()`` draws it
with no change; give its domain with ``domains={"name": predicate}`` if it
is not defined everywhere), or a Python function of Values passed as
``extra_unary`` / ``extra_binary``. Every drawn expression then uses the
extra op at least once, mixed with all the built-in ops::

    import math
    from hypothesis import given
    from engine import Value, gradcheck
    from engine.strategies import expressions

    def softplus(x: Value) -> Value:
        # log(1 + e**x), written with existing ops
        return (x.exp() + 1.0).log()

    def safe_div(a: Value, b: Value) -> Value:
        return a / (b * b + 1.0)

    @given(expressions(extra_unary={"softplus": softplus},
                       extra_binary={"safe_div": safe_div},
                       domains={"softplus": lambda x: x < 20.0}))
    def test_my_ops(e):
        assert gradcheck(e, e.inputs)          # backward vs finite differences
        # and second derivatives too:
        from engine.gradcheck import gradgradcheck
        assert gradgradcheck(e, e.inputs)

Hypothesis shrinks a failure and prints it with the formula, e.g.
``e=cube(x0) at x0=1.0`` for a user op ``cube`` with a wrong derivative.  ``e.evaluate(tensors)`` runs the same program on another
backend (PyTorch tensors, say) to compare against a reference autograd.
"""
from __future__ import annotations

try:
    from hypothesis import assume
    from hypothesis import strategies as st
except ImportError as _e:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "engine.strategies needs Hypothesis: pip install chainrule[strategies]  "
        "(or: pip install hypothesis)"
    ) from _e

import math
import operator
from functools import reduce
from typing import Any, Callable, Iterable, Mapping, NamedTuple, Optional, Sequence, Union

from . import ops as _ops
from .modes import no_grad
from .value import Value
from .value import dot as _engine_dot
from .value import sum as _engine_sum

__all__ = ["Expression", "Ref", "Step", "expressions", "input_values"]

# --- limits that keep finite differences reliable (see the module docstring)
MARGIN = 0.1          # distance from kinks, singularities and domain edges
VALUE_BOUND = 100.0   # |value| of every node
SLOPE_BOUND = 100.0   # |d op / d operand| at the drawn point
_H = 1e-4             # step of the forward-only conditioning check
_KINK_TOL = 0.1       # allowed |right slope - left slope| over _H (|f''| <~ 1e3)

CONSTANTS = (2.0, -1.5, 0.5, 3.0, -0.25)                 # number operands
POW_EXPONENTS = (2.0, 3.0, -1.0, 0.5, -2.0, 1.5, -0.5)   # x ** k
POW_BASES = (2.0, 0.5, 3.0, 1.5)                          # k ** x


# Strategies built once (building one per draw costs more than the draw).
_CONSTANT = st.sampled_from(CONSTANTS)
_POW_EXPONENT = st.sampled_from(POW_EXPONENTS)
_POW_BASE = st.sampled_from(POW_BASES)
_FORMS = st.sampled_from(("vv", "vc", "cv"))
_VV = st.just("vv")
_SUM_LEN = st.integers(1, 4)
_DOT_LEN = st.integers(1, 3)
_INDEX = [st.integers(0, k - 1) for k in range(1, 64)]


def _index(k: int) -> st.SearchStrategy:
    """Index into a list of ``k`` items; shrinks towards 0 (the earliest node, x0)."""
    return _INDEX[k - 1] if k <= len(_INDEX) else st.integers(0, k - 1)


class Ref(NamedTuple):
    """Operand that refers to node ``i`` (inputs are nodes 0..n-1, step k is node n+k)."""

    i: int


Operand = Union[Ref, float]


class Step(NamedTuple):
    """One op of a drawn program.

    ``op`` is a table name (``"tanh"``, ``"sub"``), ``"sum"``, ``"dot"`` or an
    extra op's name.  ``args``: for unary/binary ops, the operands (``Ref`` or
    a float constant, in operand order, so ``Step("sub", (2.0, Ref(0)))`` is
    ``2.0 - x0``); for ``sum``, the summands; for ``dot``, ``(a_list, b_list)``.
    """

    op: str
    args: tuple


def _infix(name: str) -> str:
    """The operator symbol of a binary op written with a Python operator (``+``, ``**``), else ``""``."""
    op = _ops.BINARY.get(name)
    return op.symbol if op is not None and op.dunder and op.symbol else ""


def _py_unary(name: str) -> Callable:
    # neg/abs are operators on Values (and on tensors); built-in ops are
    # methods (x.tanh() works on tensors too); registered ops are called as functions.
    op = _ops.UNARY[name]
    if op.dunder:
        return getattr(operator, op.dunder)
    if op.user:
        return op.apply
    return lambda x: getattr(x, name)()


def _py_binary(name: str) -> Callable:
    op = _ops.BINARY[name]
    return getattr(operator, op.dunder) if op.dunder else op.apply


def _fold_sum(xs: Sequence) -> Any:
    return reduce(operator.add, xs)


def _fold_dot(a: Sequence, b: Sequence) -> Any:
    return reduce(operator.add, [x * w for x, w in zip(a, b)])


class Expression:
    """A drawn expression: a function of ``len(inputs)`` Values plus its inputs.

    >>> e = Expression([0.5, -1.2], [Step("mul", (Ref(0), Ref(1))),
    ...                              Step("add", (Ref(2), Ref(0))), Step("tanh", (Ref(3),))])
    >>> e
    tanh((x0 * x1) + x0) at x0=0.5, x1=-1.2
    >>> from engine import gradcheck
    >>> gradcheck(e, e.inputs)
    True
    """

    def __init__(self, inputs: Sequence[float], steps: Sequence[Step],
                 extras: Optional[Mapping[str, Callable]] = None) -> None:
        self.inputs: list = [float(x) for x in inputs]
        self.steps: tuple = tuple(steps)
        self.extras: dict = dict(extras or {})

    @property
    def n_inputs(self) -> int:
        return len(self.inputs)

    @property
    def fn(self) -> Callable[..., Value]:
        """The function itself, for ``gradcheck(e.fn, e.inputs)`` (``e`` is callable too)."""
        return self.__call__

    def __call__(self, *values: Value) -> Value:
        """Build the expression from ``values`` (one Value per input) with engine ops."""
        return self.evaluate(values, sum=_engine_sum, dot=_engine_dot)

    def evaluate(self, values: Sequence[Any], *, unary: Optional[Mapping[str, Callable]] = None,
                 binary: Optional[Mapping[str, Callable]] = None,
                 sum: Callable = _fold_sum, dot: Callable = _fold_dot) -> Any:  # noqa: A002
        """Run the program on any values supporting the ops, e.g. torch tensors.

        Unary table ops call ``neg``/``abs`` as operators and the rest as
        methods (``x.tanh()``); binary ops use Python operators (so reflected
        forms are ``2.0 - x``).  ``unary``/``binary`` override ops by name;
        ``sum(list)`` and ``dot(list_a, list_b)`` default to ``+``/``*`` folds.

        >>> import math
        >>> e = Expression([2.0], [Step("sub", (3.0, Ref(0))), Step("exp", (Ref(1),))])
        >>> e
        exp(3.0 - x0) at x0=2.0
        >>> e.evaluate([2.0], unary={"exp": math.exp}) == math.e
        True
        """
        if len(values) != len(self.inputs):
            raise TypeError(f"expression takes {len(self.inputs)} values, got {len(values)}")
        unary = unary or {}
        binary = binary or {}
        nodes = list(values)

        def get(x: Operand) -> Any:
            return nodes[x.i] if type(x) is Ref else x

        for s in self.steps:
            if s.op == "sum":
                y = sum([get(x) for x in s.args])
            elif s.op == "dot":
                y = dot([get(x) for x in s.args[0]], [get(x) for x in s.args[1]])
            elif s.op in unary or s.op in binary:
                y = (unary.get(s.op) or binary[s.op])(*[get(x) for x in s.args])
            elif s.op in self.extras:
                y = self.extras[s.op](*[get(x) for x in s.args])
            elif len(s.args) == 1:
                y = _py_unary(s.op)(get(s.args[0]))
            else:
                y = _py_binary(s.op)(*[get(x) for x in s.args])
            nodes.append(y)
        return nodes[-1]

    def used_ops(self) -> set:
        """Names of the ops the output actually depends on."""
        return {self.steps[i - self.n_inputs].op for i in self._live() if i >= self.n_inputs}

    def _live(self) -> set:
        n = self.n_inputs
        live = {n + len(self.steps) - 1}  # the output is the last node (an input if no steps)
        for k in range(len(self.steps) - 1, -1, -1):
            if n + k in live:
                live.update(r.i for r in _refs(self.steps[k]))
        return live

    def formula(self) -> str:
        """The output as one readable formula (shared subexpressions written out)."""
        n = self.n_inputs
        memo: dict = {}

        def show(x: Operand, top: bool = False) -> str:
            if type(x) is not Ref:
                return repr(x)
            if x.i < n:
                return f"x{x.i}"
            key = (x.i, top)
            if key not in memo:
                memo[key] = _show_step(self.steps[x.i - n], show, top)
            return memo[key]

        return show(Ref(n + len(self.steps) - 1), top=True)

    def program(self) -> str:
        """The program one step per line (readable even when the formula is long)."""
        n = self.n_inputs
        lines = []
        for k, s in enumerate(self.steps):
            lines.append(f"t{n + k} = " + _show_step(
                s, lambda x, top=False: (f"x{x.i}" if x.i < n else f"t{x.i}") if type(x) is Ref else repr(x),
                True))
        return "\n".join(lines)

    def __repr__(self) -> str:
        f = self.formula()
        if len(f) > 300:  # shrunk failures are short; long ones read better as steps
            f = "{" + self.program().replace("\n", "; ") + "}"
        at = ", ".join(f"x{i}={x!r}" for i, x in enumerate(self.inputs))
        return f"{f} at {at}"


def _refs(s: Step) -> list:
    args = s.args[0] + s.args[1] if s.op == "dot" else s.args
    return [x for x in args if type(x) is Ref]


def _show_step(s: Step, show: Callable, top: bool) -> str:
    if s.op == "sum":
        return "sum(" + ", ".join(show(x, True) for x in s.args) + ")"
    if s.op == "dot":
        a, b = s.args
        return "dot([" + ", ".join(show(x, True) for x in a) + "], [" + ", ".join(show(x, True) for x in b) + "])"
    if s.op == "neg":
        out = f"-{show(s.args[0])}"
        return out if top else f"({out})"
    if len(s.args) == 2 and _infix(s.op):
        out = f"{show(s.args[0])} {_infix(s.op)} {show(s.args[1])}"
        return out if top else f"({out})"
    return f"{s.op}(" + ", ".join(show(x, True) for x in s.args) + ")"


# --- domains ---------------------------------------------------------------
# Built-in predicates on the operands' floats; binary ones also get which
# operands are number constants (pow needs it: see module docstring).

_DOMAIN_CODE: dict = {}


def _in_op_domain(name: str, vals: list, consts: list) -> bool:
    """The op record's own domain: text over x (or a, b, a_const, b_const), or a user's predicate."""
    op = _ops.OPS.get(name)
    if op is None or op.domain is None:
        return True
    if callable(op.domain):
        return bool(op.domain(*vals))
    code = _DOMAIN_CODE.get(op.domain)
    if code is None:
        code = _DOMAIN_CODE[op.domain] = compile(op.domain, f"<domain of {name}>", "eval")
    names = dict(zip(op.variables, vals))
    if len(vals) == 2:
        names["a_const"], names["b_const"] = consts
    return bool(eval(code, op.namespace, names))  # noqa: S307 - the op record's own text


def _finite_bounded(y: Any) -> bool:
    return isinstance(y, float) and math.isfinite(y) and abs(y) <= VALUE_BOUND


def _well_conditioned(f: Callable[..., float], args: list, vary: Sequence[int]) -> bool:
    """Forward-only check of ``f`` around ``args`` in each varied position.

    Finite, bounded slope, and left/right slopes that agree: a kink,
    singularity or domain edge within ~_H of the point fails.
    """
    try:
        y0 = f(*args)
        if not _finite_bounded(y0):
            return False
        for i in vary:
            lo = list(args); lo[i] -= _H
            hi = list(args); hi[i] += _H
            yl, yh = f(*lo), f(*hi)
            if not (math.isfinite(yl) and math.isfinite(yh)):
                return False
            left, right = (y0 - yl) / _H, (yh - y0) / _H
            if abs(left) > SLOPE_BOUND or abs(right) > SLOPE_BOUND or abs(right - left) > _KINK_TOL:
                return False
    except (ArithmeticError, ValueError):
        return False
    return True


def _value_fn(fn: Callable) -> Callable[..., float]:
    """A user's Value function as a float function (for the conditioning check)."""
    def f(*xs: float) -> float:
        with no_grad():
            y = fn(*[Value(x) for x in xs])
        return y.data if isinstance(y, Value) else float("nan")
    return f


class _Config(NamedTuple):
    names: tuple           # ops to draw from, simplest first (shrinking goes to index 0)
    unary: dict            # name -> float forward
    binary: dict           # name -> float forward
    extras: dict           # name -> Value function
    domains: dict          # name -> predicate (user's, floats only)
    require: tuple
    min_inputs: int
    max_inputs: int
    max_steps: int
    constants: bool        # draw Value-number and number-Value forms


def _applicable(cfg: _Config, op: str, vals: list, consts: list) -> bool:
    """May ``op`` be applied to operand floats ``vals`` (``consts[i]``: operand i is a number)?"""
    if op in cfg.domains:
        if not cfg.domains[op](*vals):
            return False
    elif not _in_op_domain(op, vals, consts):
        return False
    f = cfg.unary.get(op) or cfg.binary.get(op) or _value_fn(cfg.extras[op])
    return _well_conditioned(f, vals, [i for i, c in enumerate(consts) if not c])


def _val(values: list, x: Operand) -> float:
    return values[x.i] if type(x) is Ref else x


def _draw_step(draw: Callable, cfg: _Config, values: list, op: str, prefer: Optional[int]) -> Optional[Step]:
    """One application of ``op`` to earlier nodes, or None if nothing fits its domain."""
    pool = list(range(len(values)))
    if prefer is not None:  # required op: try the newest node first so it feeds the output
        pool = [prefer] + [i for i in pool if i != prefer]

    def pick(cands: list) -> Optional[int]:
        if prefer is not None and cands and cands[0] == prefer:  # a required op takes the newest node when it can,
            return prefer                                         # so that it feeds the output (fewer rejections)
        return cands[draw(_index(len(cands)))] if cands else None

    if op == "sum":
        k = draw(_SUM_LEN)
        args: list = [Ref(pick(pool))]
        for _ in range(k - 1):
            args.append(draw(_CONSTANT) if cfg.constants and draw(st.booleans())
                        else Ref(pick(pool)))
        y = math.fsum(_val(values, x) for x in args)
        return Step("sum", tuple(args)) if _finite_bounded(y) else None
    if op == "dot":
        a: list = []
        b: list = []
        for _ in range(draw(_DOT_LEN)):
            form = draw(_FORMS if cfg.constants else _VV)
            a.append(Ref(pick(pool)) if form[0] == "v" else draw(_CONSTANT))
            b.append(Ref(pick(pool)) if form[1] == "v" else draw(_CONSTANT))
        y = sum(_val(values, x) * _val(values, w) for x, w in zip(a, b))
        return Step("dot", (tuple(a), tuple(b))) if _finite_bounded(y) else None

    if op in cfg.unary or (op in cfg.extras and cfg.extras[op].arity == 1):
        i = pick([i for i in pool if _applicable(cfg, op, [values[i]], [False])])
        return None if i is None else Step(op, (Ref(i),))

    # binary: table op in any operand form; extra binary ops Value-Value only
    forms = ("vv", "vc", "cv") if (cfg.constants and op in cfg.binary) else ("vv",)
    form = draw(_FORMS if len(forms) == 3 else _VV)
    if form == "vv":
        i = pick(pool)
        if draw(st.booleans()):  # same node on both sides: x * x, t / t, ...
            j: Optional[int] = i if _applicable(cfg, op, [values[i], values[i]], [False, False]) else None
        else:
            j = pick([j for j in pool if _applicable(cfg, op, [values[i], values[j]], [False, False])])
        return None if j is None else Step(op, (Ref(i), Ref(j)))
    if form == "vc":
        k = draw(_POW_EXPONENT if op == "pow" else _CONSTANT)
        i = pick([i for i in pool if _applicable(cfg, op, [values[i], k], [False, True])])
        return None if i is None else Step(op, (Ref(i), k))
    k = draw(_POW_BASE if op == "pow" else _CONSTANT)
    i = pick([i for i in pool if _applicable(cfg, op, [k, values[i]], [True, False])])
    return None if i is None else Step(op, (k, Ref(i)))


def _value_of(cfg: _Config, s: Step, values: list) -> float:
    def get(x: Operand) -> float:
        return values[x.i] if type(x) is Ref else x
    if s.op == "sum":
        return math.fsum(get(x) for x in s.args)
    if s.op == "dot":
        return sum(get(x) * get(w) for x, w in zip(*s.args))
    f = cfg.unary.get(s.op) or cfg.binary.get(s.op) or _value_fn(cfg.extras[s.op])
    return f(*[get(x) for x in s.args])


def input_values(bound: float = 3.0) -> st.SearchStrategy:
    """Floats for input variables: finite, in ``[-bound, bound]``; shrink towards 0."""
    return st.floats(-bound, bound, allow_nan=False, allow_infinity=False)


_INPUT = input_values()


class _Extra:
    """A user's op: the function and its number of operands."""

    def __init__(self, fn: Callable, arity: int) -> None:
        self.fn = fn
        self.arity = arity

    def __call__(self, *args: Any) -> Any:
        return self.fn(*args)


def expressions(*, min_inputs: int = 1, max_inputs: int = 5, max_steps: int = 8,
                ops: Optional[Iterable[str]] = None,
                extra_unary: Optional[Mapping[str, Callable[[Value], Value]]] = None,
                extra_binary: Optional[Mapping[str, Callable[[Value, Value], Value]]] = None,
                domains: Optional[Mapping[str, Callable[..., bool]]] = None,
                require: Optional[Iterable[str]] = None,
                constants: bool = True) -> st.SearchStrategy:
    """Strategy for random :class:`Expression` s over ``min_inputs..max_inputs`` variables.

    * ``max_steps``: at most this many ops (fewer when an op finds no valid operand);
    * ``ops``: restrict the built-in ops drawn (names from ``engine.ops.UNARY``,
      ``BINARY``, ``"sum"``, ``"dot"``); default all of them;
    * ``extra_unary`` / ``extra_binary``: your own ops, ``name -> fn`` where
      ``fn`` takes one/two Values and returns a Value; binary extras get
      Value operands only;
    * ``domains``: ``name -> predicate(*floats) -> bool``, where an op (extra or
      a new table row) may be applied; replaces the built-in rule for that name;
    * ``require``: op names every expression must use (default: the extras);
    * ``constants``: also draw Value-number / number-Value operand forms.

    >>> from hypothesis import given
    >>> from engine import gradcheck
    >>> @given(expressions(max_inputs=2))
    ... def check(e):
    ...     assert gradcheck(e, e.inputs)
    >>> check()
    """
    extra_unary = dict(extra_unary or {})
    extra_binary = dict(extra_binary or {})
    unary = {name: _ops.FORWARD[name] for name in _ops.UNARY}
    binary = {name: _ops.FORWARD[name] for name in _ops.BINARY}
    builtin = [*_ops.BINARY, *_ops.UNARY, *_ops.NARY]
    if ops is not None:
        chosen = list(ops)
        unknown = set(chosen) - set(builtin)
        if unknown:
            raise ValueError(f"expressions(ops=...): unknown op(s) {sorted(unknown)}; choose from {builtin}")
        builtin = [n for n in builtin if n in chosen]
        unary = {n: f for n, f in unary.items() if n in chosen}
        binary = {n: f for n, f in binary.items() if n in chosen}
    clash = (set(extra_unary) | set(extra_binary)) & (set(_ops.UNARY) | set(_ops.BINARY) | set(_ops.NARY))
    if clash or set(extra_unary) & set(extra_binary):
        raise ValueError(f"expressions: extra op name(s) {sorted(clash or set(extra_unary) & set(extra_binary))} "
                         f"clash with another op; pick new names")
    extras = {**{n: _Extra(f, 1) for n, f in extra_unary.items()},
              **{n: _Extra(f, 2) for n, f in extra_binary.items()}}
    for n, f in extras.items():
        if not callable(f.fn):
            raise TypeError(f"expressions: extra op {n!r} must be a callable taking Values, got {f.fn!r}")
    names = tuple(builtin) + tuple(extras)
    if not names:
        raise ValueError("expressions: no ops to draw from")
    req = tuple(extras) if require is None else tuple(require)
    if set(req) - set(names):
        raise ValueError(f"expressions(require=...): op(s) {sorted(set(req) - set(names))} are not drawn")
    if not 1 <= min_inputs <= max_inputs:
        raise ValueError(f"expressions: need 1 <= min_inputs <= max_inputs, got {min_inputs}, {max_inputs}")
    if max_steps < max(1, len(req)):
        raise ValueError(f"expressions: max_steps must be >= max(1, number of required ops), got {max_steps}")
    domains = dict(domains or {})
    if set(domains) - set(names):
        raise ValueError(f"expressions(domains=...): op(s) {sorted(set(domains) - set(names))} are not drawn")
    cfg = _Config(names, unary, binary, extras, domains, req,
                  min_inputs, max_inputs, max_steps, constants)
    return _expressions(cfg)


@st.composite
def _expressions(draw: Callable, cfg: _Config) -> Expression:
    n = draw(st.integers(cfg.min_inputs, cfg.max_inputs))
    values = [draw(_INPUT) for _ in range(n)]
    steps = []
    # free steps, then the required ops; with required ops the free part may be
    # empty, so a failure can shrink to just ``myop(x0)``
    n_free = draw(st.integers(0 if cfg.require else 1, cfg.max_steps - len(cfg.require)))
    # an op that fits no operand (say log when every node is negative) is
    # skipped; a few extra attempts keep the expression from coming out empty
    for _ in range(2 * n_free):
        s = _draw_step(draw, cfg, values, cfg.names[draw(_index(len(cfg.names)))], None)
        if s is not None:
            steps.append(s)
            values.append(_value_of(cfg, s, values))
            if len(steps) == n_free:
                break
    # required ops last, each applied to the newest node when its domain allows,
    # so they feed the output
    for op in cfg.require:
        s = _draw_step(draw, cfg, values, op, len(values) - 1)
        if s is not None:
            steps.append(s)
            values.append(_value_of(cfg, s, values))
    e = Expression(values[:n], steps, {k: v.fn for k, v in cfg.extras.items()})
    if cfg.require:
        assume(set(cfg.require) <= e.used_ops())
    return e
