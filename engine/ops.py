"""THE op records: every differentiable operation, defined once.

Each op is one record holding its forward computation and its local
derivative(s) side by side, as small Python expressions over floats:

* a unary op sees ``x`` (its input's value) and ``y`` (its output's value);
* a binary op sees ``a``, ``b`` (its inputs) and ``y``.

Everything else is derived from the record, never written a second time:

* the ``Value`` method and operator (``engine.value`` pastes the expressions
  into generated code, so ``x.tanh()`` or ``a * b`` is one Python call);
* plain-float functions (``FORWARD[name]``, ``LOCAL[name]``);
* the derivatives as Values for ``grad(create_graph=True)``: the *same*
  expressions evaluated with Value versions of the helpers they call
  (``value_locals``), so second derivatives come for free;
* the replay code of ``engine.compile_graph``, the symbol in formulas and
  pictures, the domain where ``engine.strategies`` draws the op.

Adding an op is one call below (``unary(...)`` or ``binary(...)``), next to a
helper function if its forward needs one.  A user adds an op from their own
code through the same door, with Python functions instead of text:
``engine.register_op`` (see its docstring).

Helpers the expressions may call are float functions registered with
``@helper``.  Their Value versions (for create_graph) are derived, not
written: a helper named ``_<op>`` *is* that op's forward (``_exp`` on a Value
is ``x.exp()``); a helper marked ``constant=True`` is piecewise constant (a
step), so its derivative is 0 and it is evaluated on ``.data``; a helper
given as an expression (``derived(...)``) is compiled over floats and over
Values alike.

Numerical policy (the same for every op, like PyTorch/IEEE 754): domain
errors never raise. ``log(0) = -inf``, ``log(-1) = nan``, ``x / 0 = ±inf``
(``0 / 0 = nan``), ``0 ** -1 = inf``, ``(-8) ** 0.5 = nan``, ``exp(1000) = inf``.
Use ``engine.detect_anomaly()`` to turn the first nan/inf into an error.
Where PyTorch's backward *masks* a gradient (relu at x <= 0, pow's base
at exponent 0) instead of multiplying, the record says so (``masks``): an
infinite or nan upstream gradient then gives 0 there, as in PyTorch, not
``inf * 0 = nan``.
"""
from __future__ import annotations

import inspect
import keyword
import math
import numbers
from typing import Callable, Optional, Sequence

from .errors import OpError

inf = math.inf
nan = math.nan
_copysign = math.copysign
_math_exp = math.exp
_math_log = math.log
_math_pow = math.pow
_math_sqrt = math.sqrt
_math_floor = math.floor
_isinf = math.isinf
_isfinite = math.isfinite

# name -> float function, for the expressions below (and the replay code)
HELPERS: dict = {}
# name -> how its Value version is made: "op" (the op of that name),
# "constant" (evaluated on .data), or "derived" (expression compiled twice)
_HELPER_KIND: dict = {}
_DERIVED: dict = {}  # name -> (argument names, expression)


def helper(fn: Optional[Callable] = None, *, constant: bool = False):
    """Register a float function the op expressions may call.

    Name it ``_<op>`` when it is an op's forward (its Value version is then
    that op); pass ``constant=True`` for a piecewise-constant function
    (derivative 0 wherever it has one, e.g. a step).
    """
    def register(f: Callable) -> Callable:
        HELPERS[f.__name__] = f
        _HELPER_KIND[f.__name__] = "constant" if constant else "op"
        return f
    return register(fn) if fn is not None else register


def derived(name: str, args: str, expr: str) -> None:
    """A helper written as an expression over other helpers: one text, compiled for floats and Values."""
    _DERIVED[name] = (args, expr)
    HELPERS[name] = eval(f"lambda {args}: {expr}", HELPERS)  # noqa: S307 - our own text
    _HELPER_KIND[name] = "derived"


# --- IEEE-754 style float helpers: Python's math raises where IEEE returns
# --- inf/nan; these return what PyTorch returns instead.

@helper
def _exp(x: float) -> float:
    try:
        return _math_exp(x)
    except OverflowError:
        return inf


@helper
def _log(x: float) -> float:
    if x > 0.0:
        return _math_log(x)
    if x == 0.0:
        return -inf
    return nan  # negative or nan


@helper
def _sqrt(x: float) -> float:
    if x >= 0.0:
        return _math_sqrt(x)
    return nan


@helper
def _div(a: float, b: float) -> float:
    if b:
        return a / b
    # b is +0.0 or -0.0
    if a != a or a == 0.0:
        return nan
    return _copysign(inf, a) * _copysign(1.0, b)


def _is_odd_integer(b: float) -> bool:
    return not _isinf(b) and b == _math_floor(b) and _math_floor(b) % 2 == 1


@helper
def _pow(a: float, b: float) -> float:
    try:
        return _math_pow(a, b)
    except (ValueError, ZeroDivisionError):
        if a == 0.0:  # 0 ** negative
            return _copysign(inf, a) if _is_odd_integer(b) else inf
        return nan  # negative base, non-integer exponent
    except OverflowError:
        return -inf if (a < 0.0 and _is_odd_integer(b)) else inf


@helper
def _sigmoid(x: float) -> float:
    # Two branches so exp never overflows: stable at +-1000.
    if x >= 0.0:
        return 1.0 / (1.0 + _exp(-x))
    e = _exp(x)
    return e / (1.0 + e)


HELPERS["_tanh"] = math.tanh  # IEEE already (saturates at +-1); registered by hand: its __name__ is "tanh"
_HELPER_KIND["_tanh"] = "op"


@helper(constant=True)
def _step(x: float) -> float:
    """d relu / dx: 0 at and left of the kink x == 0 (PyTorch's choice), 1 right of it (and at nan)."""
    return 0.0 if x <= 0.0 else 1.0


@helper(constant=True)
def _sign(x: float) -> float:
    """d abs / dx; 0 at the kink x == 0 and at nan (PyTorch's choices)."""
    return 1.0 if x > 0.0 else (-1.0 if x < 0.0 else 0.0)


@helper(constant=True)
def _floor(x: float) -> float:
    """floor(x) as a float (inf and nan stay as they are)."""
    return float(_math_floor(x)) if _isfinite(x) else x


@helper(constant=True)
def _num(x: float) -> float:
    """A number's value, not differentiated: lets a branch test a Value's .data (see _dpow_base)."""
    return x


# d(a ** b)/da = b * a**(b-1), and 0 where b == 0 (a**0 is constant; as PyTorch).
derived("_dpow_base", "a, b", "0.0 if _num(b) == 0.0 else b * _pow(a, b - 1.0)")
# d(a ** b)/db = a**b * log(a), and 0 where a == 0 and b >= 0 (as PyTorch).
derived("_dpow_exponent", "a, b, y", "0.0 if _num(a) == 0.0 and _num(b) >= 0.0 else y * _log(a)")


# ---------------------------------------------------------------------------
# The records.

class Op:
    """One op, defined once (see the module docstring).

    ``forward`` / ``derivatives`` are expressions (built-in ops) or Python
    callables (ops added with ``register_op``).  The ``float_*`` and
    ``value_*`` attributes are derived from them when the op is defined.
    """

    __slots__ = ("name", "arity", "forward", "derivatives", "symbol", "dunder", "reflected", "commutative",
                 "method", "doc", "domain", "masks", "user", "float_forward", "float_local", "value_local",
                 "namespace", "apply")

    def __repr__(self) -> str:
        kind = {1: "unary", 2: "binary"}.get(self.arity, "n-ary")
        return f"<{kind} op {self.name!r}{' (registered)' if self.user else ''}>"

    @property
    def variables(self) -> tuple:
        """The names an expression of this op may use: ``('x',)`` or ``('a', 'b')``."""
        return ("x",) if self.arity == 1 else ("a", "b")


OPS: dict = {}      # every op by name, built-in and registered, in definition order
UNARY: dict = {}    # name -> Op, the unary ones
BINARY: dict = {}   # name -> Op, the binary ones
NARY: dict = {}     # "sum", "dot": fused ops, any number of inputs (written out in engine/value.py)
FORWARD: dict = {}  # name -> float forward:  FORWARD["tanh"](x), FORWARD["pow"](a, b)
LOCAL: dict = {}    # name -> float local derivatives: LOCAL["tanh"](x, y) -> (dx,), LOCAL["pow"](a, b, y) -> (da, db)
NODE_OPS: dict = {}  # op name recorded on a node -> (Op, reflected?): "rsub" -> (sub, True)

_listeners: list = []  # engine.value generates methods for every op defined (see on_define)


def on_define(fn: Callable[[Op], None]) -> None:
    """Call ``fn(op)`` for every op defined so far and every op defined later."""
    _listeners.append(fn)
    for op in list(OPS.values()):
        if op.arity in (1, 2):
            fn(op)


def _text_or_call(code, args: str, ns: dict, slot: str) -> str:
    """The expression text of ``code``; a callable is bound into ``ns`` under ``slot`` and called there."""
    if isinstance(code, str):
        return code
    ns[slot] = code
    return f"{slot}({args})"


def _define(op: Op) -> Op:
    args = ", ".join(op.variables)
    ns = dict(HELPERS)
    op.namespace = ns  # the names the op's expression texts see
    fwd = op.forward = _text_or_call(op.forward, args, ns, f"_F_{op.name}")
    ders = op.derivatives = tuple(_text_or_call(d, args + ", y", ns, f"_D{i}_{op.name}")
                                  for i, d in enumerate(op.derivatives))
    op.float_forward = eval(f"lambda {args}: {fwd}", ns)  # noqa: S307 - our own text or bound callables
    op.float_local = eval(f"lambda {args}, y: ({', '.join(ders)},)", ns)  # noqa: S307
    op.value_local = None  # compiled on first use by value_locals()
    OPS[op.name] = op
    (UNARY if op.arity == 1 else BINARY)[op.name] = op
    FORWARD[op.name] = op.float_forward
    LOCAL[op.name] = op.float_local
    NODE_OPS[op.name] = (op, False)
    if op.arity == 2 and op.reflected != op.name:
        NODE_OPS[op.reflected] = (op, True)
    for fn in _listeners:
        fn(op)
    return op


def _new(name: str, arity, forward, derivatives, *, symbol=None, dunder=None, commutative=False, method=True,
         doc="", domain=None, masks=None, user=False) -> Op:
    op = Op()
    op.name = name
    op.arity = arity
    op.forward = forward
    op.derivatives = tuple(derivatives)
    op.symbol = symbol
    op.dunder = dunder
    op.commutative = commutative
    op.reflected = name if (commutative or arity != 2) else "r" + name  # number OP Value: rsub, rdiv, rpow
    op.method = method
    op.doc = doc
    op.domain = domain
    op.masks = tuple(masks) if masks else None
    op.user = user
    op.apply = None  # set by engine.value: the op as a function of Values/numbers
    return op


def unary(name: str, forward: str, derivative: str, *, doc: str, symbol: str = None, dunder: str = None,
          domain: str = None, masks: Sequence[str] = None) -> Op:
    """Define a built-in unary op: ``forward`` over ``x``, ``derivative`` over ``x, y``."""
    return _define(_new(name, 1, forward, [derivative], symbol=symbol, dunder=dunder, doc=doc,
                        domain=domain, masks=masks))


def binary(name: str, forward: str, da: str, db: str, *, doc: str, symbol: str = None, dunder: str = None,
           commutative: bool = False, domain: str = None, masks: Sequence[str] = None) -> Op:
    """Define a built-in binary op: ``forward`` over ``a, b``, derivatives over ``a, b, y``."""
    return _define(_new(name, 2, forward, [da, db], symbol=symbol, dunder=dunder, commutative=commutative,
                        doc=doc, domain=domain, masks=masks))


def _nary(name: str, forward: str, derivative: str, doc: str) -> Op:
    op = _new(name, None, forward, [derivative], doc=doc, method=False)
    op.float_forward = op.float_local = op.value_local = op.namespace = None
    OPS[name] = NARY[name] = op
    NODE_OPS[name] = (op, False)
    return op


# ---------------------------------------------------------------------------
# The table.  domain: where engine.strategies may draw the op (finite
# differences must be trustworthy there: 0.1 away from kinks and edges;
# binary domains also see a_const / b_const, true for a number operand).

unary("neg",     "-x",                    "-1.0",            symbol="-", dunder="neg", doc="Negation, -x.")
unary("exp",     "_exp(x)",               "y",               doc="e ** x (inf on overflow).")
unary("log",     "_log(x)",               "_div(1.0, x)",    domain="x >= 0.1",
      doc="Natural logarithm (log(0) = -inf, log(x<0) = nan).")
unary("sqrt",    "_sqrt(x)",              "_div(0.5, y)",    domain="x >= 0.1", doc="Square root (sqrt(x<0) = nan).")
unary("tanh",    "_tanh(x)",              "1.0 - y * y",     doc="Hyperbolic tangent.")
unary("sigmoid", "_sigmoid(x)",           "y * (1.0 - y)",
      doc="Logistic sigmoid 1 / (1 + e**-x), stable for large |x|.")
unary("relu",    "0.0 if x < 0.0 else x",  "_step(x)",       domain="abs(x) >= 0.1", masks=["x <= 0.0"],
      doc="max(x, 0) (nan stays nan); derivative 0 at x == 0.")
unary("abs",     "abs(x)",                "_sign(x)",        dunder="abs", domain="abs(x) >= 0.1",
      doc="Absolute value; derivative 0 at x == 0.")

binary("add", "a + b",      "1.0",              "1.0",                     symbol="+", dunder="add",
       commutative=True, doc="a + b")
binary("sub", "a - b",      "1.0",              "-1.0",                    symbol="-", dunder="sub", doc="a - b")
binary("mul", "a * b",      "b",                "a",                       symbol="*", dunder="mul",
       commutative=True, doc="a * b")
binary("div", "_div(a, b)", "_div(1.0, b)",     "_div(-y, b)",             symbol="/", dunder="truediv",
       domain="abs(b) >= 0.1", doc="a / b (x/0 = ±inf, 0/0 = nan)")
binary("pow", "_pow(a, b)", "_dpow_base(a, b)", "_dpow_exponent(a, b, y)", symbol="**", dunder="pow",
       masks=["b == 0.0", None],  # PyTorch masks d/da where b == 0; d/db's zero branch multiplies
       # a number exponent: integers allow any base (but 0 ** negative); else a positive base, |b| <= 3
       # (a Value exponent stays 0.1 from 0, where d/da is masked to 0 as in PyTorch, not its limit;
       # and from 1 and 2, where create_graph's d/da = b * a ** (b - 1) masks in turn: PyTorch's third
       # derivatives there, not finite differences': x ** x at x = 1 gives 2, not 3)
       domain="(b >= 0.0 or abs(a) >= 0.1) if b_const and b == _floor(b) else "
              "(a >= 0.1 and 0.1 <= abs(b) <= 3.0 and abs(b - 1.0) >= 0.1 and abs(b - 2.0) >= 0.1)",
       doc="a ** b (IEEE: 0**-1 = inf, (-8)**0.5 = nan)")

# Fused ops, any number of inputs; written out by hand in engine/value.py
# because their arity varies.  The texts are for people (docs, formulas).
_nary("sum", "y = start + x_0 + x_1 + ...", "dy/dx_i = 1",
      "engine.sum: a sum of many Values as one node")
_nary("dot", "y = a_0*b_0 + a_1*b_1 + ...", "dy/da_i = b_i, dy/db_i = a_i",
      "engine.dot: a dot product as one node")


# ---------------------------------------------------------------------------
# Derived views used by the rest of the engine.

def value_locals(op: Op, args: tuple, y) -> tuple:
    """The local derivatives of ``op`` at ``args`` (Values or numbers) and output ``y``, as Values.

    The op's own derivative expressions, evaluated with the Value version of
    every helper: what ``grad(create_graph=True)`` differentiates again.
    """
    f = op.value_local
    if f is None:
        if op.user:
            f = _user_value_local(op)
        else:
            vars_ = ", ".join(op.variables)
            f = eval(f"lambda {vars_}, y: ({', '.join(op.derivatives)},)", _value_namespace())  # noqa: S307
        op.value_local = f
    try:
        return f(*args, y)
    except _NoValueVersion as e:
        raise TypeError(f"grad(create_graph=True): op {op.name!r}: {e}") from None


class _NoValueVersion(TypeError):
    """A derivative called a helper that cannot take Values."""


_VALUE_NS: dict = {}


def _value_namespace() -> dict:
    """The helpers' Value versions, derived from how each helper was registered (see module docstring)."""
    if _VALUE_NS.get("_complete") == len(HELPERS):
        return _VALUE_NS
    from .value import Value  # circular at import time only

    def on_values(name: str, float_fn: Callable):
        op = OPS.get(name[1:])
        if op is None or op.arity not in (1, 2):
            def missing(*args):
                if any(isinstance(a, Value) for a in args):
                    raise _NoValueVersion(
                        f"helper {name} has no Value version: there is no op named "
                        f"{name[1:]!r}, so a derivative that calls it cannot be differentiated again; define "
                        f"op {name[1:]!r} (engine/ops.py or engine.register_op) to differentiate twice")
                return float_fn(*args)
            return missing

        def dispatch(*args):
            if any(isinstance(a, Value) for a in args):
                return op.apply(*args)
            return float_fn(*args)
        dispatch.__name__ = name
        return dispatch

    def on_data(float_fn: Callable):
        return lambda *args: float_fn(*[a.data if isinstance(a, Value) else a for a in args])

    ns = _VALUE_NS
    for name, fn in HELPERS.items():
        kind = _HELPER_KIND.get(name, "op")
        if kind == "constant":
            ns[name] = on_data(fn)
        elif kind == "op":
            ns[name] = on_values(name, fn)
    for name, (args, expr) in _DERIVED.items():
        ns[name] = eval(f"lambda {args}: {expr}", ns)  # noqa: S307 - our own text
    ns.update({"abs": abs, "inf": inf, "nan": nan})
    ns["_complete"] = len(HELPERS)
    return ns


def node_inputs(v) -> tuple:
    """(Op, its operands in op order, reflected?) of a unary/binary node ``v``.

    Operands are the parent Values, and the number of a Value-and-number op
    (kept in ``v._ctx``), in the op's own order: ``2.0 - x`` is ``rsub`` with
    operands ``(2.0, x)``.
    """
    op, reflected = NODE_OPS[v.op]
    p = v._parents
    if op.arity == 1:
        return op, (p,), False
    if type(p) is tuple:
        return op, p, False
    return op, ((v._ctx, p) if reflected else (p, v._ctx)), reflected


def masked(v, parent_index: int) -> bool:
    """Does PyTorch block the gradient of node ``v`` to its parent ``parent_index`` at this point?

    Only asked when a contribution came out nan (an inf or nan upstream
    gradient met a zero local derivative): relu at x <= 0 and pow's
    zero-exponent branches give 0 there in PyTorch, not nan.
    """
    entry = NODE_OPS.get(v.op)
    if entry is None or entry[0].masks is None:
        return False
    op, args, reflected = node_inputs(v)
    floats = [a.data if hasattr(a, "data") else a for a in args]
    if op.arity == 2 and type(v._parents) is not tuple:  # one parent: input b of a reflected op, else a
        parent_index = 1 if reflected else 0
    mask = op.masks[parent_index]
    return mask is not None and bool(eval(mask, HELPERS, dict(zip(op.variables, floats))))  # noqa: S307


# ---------------------------------------------------------------------------
# register_op: a user's own op, through the same door.

_RESERVED = frozenset({"data", "grad", "label", "op", "parents", "local_grads", "backward", "item"})


def _arity_of(fn: Callable) -> Optional[int]:
    """Number of required positional parameters, or None when it cannot be told."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    n = 0
    for p in sig.parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            return None
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty:
            n += 1
    return n


class _Guarded:
    """A user's float function, called so that its failures name the op and the input values.

    Python math errors (math domain error, division by zero, overflow) give
    nan, the engine's IEEE policy (``detect_anomaly`` then names the op);
    anything else, or a result that is not a real number, is an error.
    """

    __slots__ = ("fn", "op", "what", "names")

    def __init__(self, fn: Callable, op: str, what: str, names: tuple) -> None:
        self.fn = fn
        self.op = op
        self.what = what
        self.names = names  # how to show the arguments: ("x",), ("a", "b"), ("x", "y")...

    def __call__(self, *args):
        try:
            r = self.fn(*args)
        except (ValueError, ArithmeticError):
            return nan
        except Exception as e:
            raise OpError(f"op {self.op!r}: its {self.what} raised {type(e).__name__}: {e} "
                          f"at {self._show(args)}") from e
        if type(r) is float:
            return r
        if type(r) is bool or not isinstance(r, numbers.Real):
            raise TypeError(f"op {self.op!r}: its {self.what} returned {type(r).__name__} {r!r} at "
                            f"{self._show(args)}; it must return a float")
        try:
            return float(r)
        except OverflowError:
            return nan

    def _show(self, args) -> str:
        return ", ".join(f"{n}={a!r}" for n, a in zip(self.names, args))


def _user_value_local(op: Op) -> Callable:
    """create_graph for a registered op: its derivative functions, called with Values."""
    from .value import Value
    from .modestate import strict_float
    fns = [op.namespace[f"_D{i}_{op.name}"].fn for i in range(len(op.derivatives))]

    def local(*args):
        out = []
        with strict_float(op.name):
            for i, fn in enumerate(fns):
                d = fn(*args)
                if not isinstance(d, Value) and (type(d) is bool or not isinstance(d, numbers.Real)):
                    raise TypeError(f"grad(create_graph=True): derivative {i} of op {op.name!r} returned "
                                    f"{type(d).__name__} {d!r} when called with Values; it must return a "
                                    f"Value or a number")
                out.append(d)
        return tuple(out)
    return local


def register_op(name: str, forward: Callable, derivatives: Sequence[Callable], *, method: bool = True,
                domain: Optional[Callable[..., bool]] = None, doc: str = "", replace: bool = False) -> Callable:
    """Add your own op to the engine: it works everywhere a built-in op does.

    ``forward`` takes floats (one for a unary op, two for a binary op) and
    returns a float.  ``derivatives`` holds one callable per input, the
    local derivative with respect to that input, called with the inputs
    then the output: ``d(x, y)`` (unary) or ``d(a, b, y)`` (binary).
    Returns the op as a function of Values or numbers; with ``method=True``
    it is also a Value method (``x.name()``, ``a.name(b)``).

    Derivatives written with operations that also work on Values
    (``+ - * / **``, ``x.exp()``...) let ``grad(create_graph=True)``
    differentiate the op again; ones that call ``math`` functions work for
    everything else and say so if asked for a second derivative.
    ``domain`` (floats -> bool) tells ``engine.strategies`` where finite
    differences are reliable.  ``replace=True`` redefines an op you
    registered before (re-running a notebook cell); graphs recorded before
    keep their recorded derivatives for ``backward()``, but ``compile_graph``
    would replay them with the new definition: record them again.

    >>> import math
    >>> from engine import Value, register_op
    >>> softplus = register_op("softplus_doc", lambda x: math.log1p(math.exp(x)),
    ...                        [lambda x, y: 1 / (1 + math.exp(-x))])
    >>> x = Value(0.5); y = softplus(x); y.backward()
    >>> round(y.data, 6), round(x.grad, 6), y.op
    (0.974077, 0.622459, 'softplus_doc')
    """
    if type(name) is not str or not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ValueError(f"register_op: name must be a Python identifier not starting with '_' "
                         f"(it becomes a method), got {name!r}")
    from .value import Value
    existing = OPS.get(name)
    if existing is not None and not (replace and existing.user):
        hint = "; pass replace=True to redefine your own op" if existing.user else ""
        raise ValueError(f"register_op: an op named {name!r} already exists ({existing!r}){hint}; pick another name")
    if existing is None and (name in _RESERVED or hasattr(Value, name) or name in NODE_OPS
                             or (name.startswith("r") and name[1:] in OPS)):
        raise ValueError(f"register_op: {name!r} clashes with an existing Value attribute or op name; "
                         f"pick another name")
    if not callable(forward):
        raise TypeError(f"register_op({name!r}): forward must be a function of floats, got "
                        f"{type(forward).__name__} {forward!r}")
    if isinstance(derivatives, (str, bytes)) or callable(derivatives) or not hasattr(derivatives, "__len__"):
        raise TypeError(f"register_op({name!r}): derivatives must be a list of 1 or 2 functions (one per input), "
                        f"got {type(derivatives).__name__} {derivatives!r}")
    derivatives = list(derivatives)
    if len(derivatives) not in (1, 2):
        raise TypeError(f"register_op({name!r}): derivatives must hold 1 (unary op) or 2 (binary op) functions, "
                        f"got {len(derivatives)}")
    arity = len(derivatives)
    n_fwd = _arity_of(forward)
    if n_fwd is not None and n_fwd != arity:
        raise TypeError(f"register_op({name!r}): forward takes {n_fwd} input(s) but {arity} derivative(s) were "
                        f"given; give one derivative per input")
    for i, d in enumerate(derivatives):
        if not callable(d):
            raise TypeError(f"register_op({name!r}): derivatives[{i}] must be a function, got "
                            f"{type(d).__name__} {d!r}")
        n = _arity_of(d)
        if n is not None and n != arity + 1:
            want = "d(x, y)" if arity == 1 else "d(a, b, y)"
            raise TypeError(f"register_op({name!r}): derivatives[{i}] takes {n} argument(s); a derivative is "
                            f"called as {want} (the inputs, then the output)")
    if domain is not None and not callable(domain):
        raise TypeError(f"register_op({name!r}): domain must be a function of the input floats returning a bool")
    if existing is not None:
        _forget(existing)
    names = ("x",) if arity == 1 else ("a", "b")
    op = _new(name, arity, _Guarded(forward, name, "forward", names),
              [_Guarded(d, name, f"derivative {i}", names + ("y",)) for i, d in enumerate(derivatives)],
              method=method, doc=doc or f"Registered op {name!r}.", domain=domain, user=True)
    return _define(op).apply


def _forget(op: Op) -> None:
    """Remove an op and its methods (``register_op(replace=True)``, and tests that add ops)."""
    from .value import Value
    for table in (OPS, UNARY, BINARY, FORWARD, LOCAL):
        table.pop(op.name, None)
    NODE_OPS.pop(op.name, None)
    NODE_OPS.pop(op.reflected, None)
    names = [op.name] if op.method else []
    if op.dunder:
        names = [f"__{op.dunder}__"] + ([f"__r{op.dunder}__"] if op.arity == 2 else [])
    for name in names:
        if name in Value.__dict__:
            delattr(Value, name)
