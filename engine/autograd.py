"""Reverse mode: backward(), grad(), and the grad/anomaly mode switches.

One backward algorithm (Kahn's, like PyTorch's engine):

1. walk the graph from the root once, counting for every node how many
   times it is used as an input (its consumers) — an explicit stack, no
   recursion;
2. start from the root; pop a node, push grad * local_derivative into each
   parent, and when a parent's last consumer is done its gradient is final,
   so it goes on the stack.

The local derivatives were stored as floats at forward time, so step 2 is
a multiply-add loop with no function calls.
"""
from __future__ import annotations

import contextlib
import math
from typing import Sequence

from . import ops
from ._state import mode as _mode
from .errors import AnomalyError
from .value import REFLECTED_NAME, Value, _as_float

_isfinite = math.isfinite


def _count_uses(root: Value, reset: bool) -> dict:
    """{node: number of edges into it} for every node below ``root``.

    With ``reset``, every non-leaf node's ``.grad`` is set to 0.0 on the way,
    so intermediate grads hold only this backward's result (leaves keep
    accumulating, as in PyTorch).
    """
    uses = {}
    get = uses.get
    stack = [root]
    pop = stack.pop
    push = stack.append
    while stack:
        v = pop()
        prev = v._prev
        if prev is None:
            continue
        if reset:
            v.grad = 0.0
        if type(prev) is tuple:
            for p in prev:
                n = get(p)
                if n is None:
                    uses[p] = 1
                    push(p)
                else:
                    uses[p] = n + 1
        else:
            n = get(prev)
            if n is None:
                uses[prev] = 1
                push(prev)
            else:
                uses[prev] = n + 1
    return uses


def backward(root: Value, gradient=1.0) -> None:
    """Accumulate d(root)/d(leaf) * gradient into every leaf's ``.grad``."""
    if not isinstance(root, Value):
        raise TypeError(f"backward: expected a Value, got {type(root).__name__}")
    gradient = _as_float(gradient, "backward(gradient)")
    if root._prev is None:  # a leaf: d(root)/d(root) = 1
        root.grad += gradient
        return
    uses = _count_uses(root, reset=True)
    root.grad = gradient
    if _mode.anomaly:
        return _backward_checked(root, uses)
    ready = [root]
    pop = ready.pop
    push = ready.append
    while ready:
        v = pop()
        prev = v._prev
        if prev is None:
            continue
        g = v.grad
        if type(prev) is tuple:
            for p, d in zip(prev, v._local):
                p.grad += d * g
                n = uses[p] - 1
                if n:
                    uses[p] = n
                else:
                    push(p)  # every consumer has been processed: p.grad is final
        else:  # one parent, stored bare (see value.py)
            prev.grad += v._local * g
            n = uses[prev] - 1
            if n:
                uses[prev] = n
            else:
                push(prev)


def _backward_checked(root: Value, uses: dict) -> None:
    """The backward loop of ``detect_anomaly()``: stops at the first nan/inf."""
    from .graph import formula
    ready = [root]
    while ready:
        v = ready.pop()
        if v._prev is None:
            continue
        g = v.grad
        for p, d in zip(v.parents, v.local_grads):
            contribution = d * g
            if not _isfinite(contribution) and _isfinite(g):
                raise AnomalyError(
                    f"detect_anomaly: backward of op '{v.op}' produced {contribution} "
                    f"(local derivative {d} x upstream gradient {g}) for input {formula(p)} "
                    f"of {formula(v)}; the op's derivative is not finite at this point"
                )
            p.grad += contribution
            uses[p] -= 1
            if not uses[p]:
                ready.append(p)


def _check_grad_args(output, inputs, where: str) -> list:
    if not isinstance(output, Value):
        raise TypeError(f"{where}: output must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"{where}: inputs must be a list of Values, got {type(inputs).__name__}") from None
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"{where}: inputs[{i}] must be a Value, got {type(x).__name__} {x!r}")
    return inputs


def grad(output: Value, inputs: Sequence[Value], *, create_graph: bool = False) -> tuple:
    """Gradients of ``output`` w.r.t. each of ``inputs``, like ``torch.autograd.grad``.

    Leaves every ``.grad`` untouched.  Returns a tuple of floats, or with
    ``create_graph=True`` a tuple of Values whose graphs can be
    differentiated again (second derivatives).  An input that ``output``
    does not depend on gets 0.

    >>> x = Value(3.0); y = x ** 3
    >>> (dy,) = grad(y, [x], create_graph=True)
    >>> dy.data, grad(dy, [x])[0]
    (27.0, 18.0)
    """
    inputs = _check_grad_args(output, inputs, "grad")
    if create_graph:
        return _grad_graph(output, inputs)
    grads = {output: 1.0}
    if output._prev is not None:
        uses = _count_uses(output, reset=False)
        ready = [output]
        get = grads.get
        while ready:
            v = ready.pop()
            prev = v._prev
            if prev is None:
                continue
            g = grads[v]
            if type(prev) is tuple:
                pairs = zip(prev, v._local)
            else:
                pairs = ((prev, v._local),)
            for p, d in pairs:
                grads[p] = get(p, 0.0) + d * g
                n = uses[p] - 1
                uses[p] = n
                if not n:
                    ready.append(p)
    return tuple(grads.get(x, 0.0) for x in inputs)


# --- create_graph: the derivative expressions of ops.py, evaluated on Values.

def _is_v(x) -> bool:
    return isinstance(x, Value)


def _data(x) -> float:
    return x.data if isinstance(x, Value) else x


def _v_div(a, b):
    return a / b if (_is_v(a) or _is_v(b)) else ops._div(a, b)


def _v_pow(a, b):
    return a ** b if (_is_v(a) or _is_v(b)) else ops._pow(a, b)


def _v_unary(method: str, float_fn):
    return lambda x: getattr(x, method)() if _is_v(x) else float_fn(x)


def _v_dpow_exponent(a, b, y):
    if _data(a) == 0.0 and _data(b) >= 0.0:
        return 0.0
    return y * (a.log() if _is_v(a) else ops._log(a))


VALUE_HELPERS = {
    "_exp": _v_unary("exp", ops._exp), "_log": _v_unary("log", ops._log),
    "_sqrt": _v_unary("sqrt", ops._sqrt), "_sigmoid": _v_unary("sigmoid", ops._sigmoid),
    "_tanh": _v_unary("tanh", math.tanh), "_div": _v_div, "_pow": _v_pow,
    # derivatives of relu/abs are piecewise constant: their own derivative is 0
    "_step": lambda x: ops._step(_data(x)), "_sign": lambda x: ops._sign(_data(x)),
    "_dpow_exponent": _v_dpow_exponent,
}
if not set(VALUE_HELPERS) >= set(ops.FLOAT_HELPERS):  # a new helper in ops.py needs a Value twin here
    raise ImportError(f"engine.autograd: no Value version of {set(ops.FLOAT_HELPERS) - set(VALUE_HELPERS)}")

VLOCAL = {}
for _name, (_fwd, _d) in ops.UNARY.items():
    VLOCAL[_name] = eval(f"lambda x, y: ({_d},)", dict(VALUE_HELPERS))  # noqa: S307 - our own table
for _name, (_fwd, _da, _db) in ops.BINARY.items():
    VLOCAL[_name] = eval(f"lambda a, b, y: ({_da}, {_db})", dict(VALUE_HELPERS))  # noqa: S307
_BASE_OF_REFLECTED = {r: name for name, r in REFLECTED_NAME.items() if r != name}


def local_derivatives_as_values(v: Value) -> list:
    """[(parent, d v / d parent)] with derivatives as Values built from the graph."""
    op = v.op
    prev = v._prev
    if op in ops.UNARY:
        return [(prev, VLOCAL[op](prev, v)[0])]
    if op in ops.BINARY:
        if type(prev) is tuple:
            a, b = prev
            da, db = VLOCAL[op](a, b, v)
            return [(a, da), (b, db)]
        return [(prev, VLOCAL[op](prev, v._ctx, v)[0])]
    if op in _BASE_OF_REFLECTED:
        return [(prev, VLOCAL[_BASE_OF_REFLECTED[op]](v._ctx, prev, v)[1])]
    if op == "sum":
        return [(p, 1.0) for p in prev]
    if op == "dot":
        if v._ctx is None:  # every partial is a constant
            return list(zip(prev, v._local))
        out = []
        for x, w in zip(*v._ctx):
            if _is_v(x):
                out.append((x, w))
            if _is_v(w):
                out.append((w, x))
        return out
    raise TypeError(f"grad(create_graph=True): op '{op}' has no derivative rule in engine.ops")


def _grad_graph(output: Value, inputs: list) -> tuple:
    grads = {output: 1.0}
    if output._prev is not None:
        uses = _count_uses(output, reset=False)
        ready = [output]
        while ready:
            v = ready.pop()
            if v._prev is None:
                continue
            g = grads[v]
            for p, d in local_derivatives_as_values(v):
                term = d * g
                grads[p] = grads[p] + term if p in grads else term
                uses[p] -= 1
                if not uses[p]:
                    ready.append(p)
    out = []
    for x in inputs:
        g = grads.get(x, 0.0)
        out.append(g if isinstance(g, Value) else Value(g))
    return tuple(out)


# --- modes -------------------------------------------------------------------

class _ModeContext(contextlib.ContextDecorator):
    """Base for context managers that set a thread-local mode and restore it."""

    _field = ""
    _value = False

    def __enter__(self):
        self._saved = getattr(_mode, self._field)
        _mode.set(**{self._field: self._value})
        return self

    def __exit__(self, *exc):
        _mode.set(**{self._field: self._saved})
        return False


class no_grad(_ModeContext):
    """Context manager (or decorator): ops inside record no graph.

    Results are leaves (``.op == ""``).  Thread-local, like PyTorch's.

    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.op, y.parents
    ('', ())
    """

    _field = "grad_enabled"
    _value = False


class enable_grad(_ModeContext):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _field = "grad_enabled"
    _value = True


class detect_anomaly(_ModeContext):
    """Raise ``AnomalyError`` at the first nan/inf in forward or backward.

    Names the op, its inputs and the formula that produced it.  Off by
    default; costs nothing when off.

    >>> with detect_anomaly():
    ...     Value(0.0).log()
    Traceback (most recent call last):
    ...
    engine.errors.AnomalyError: detect_anomaly: op 'log' produced -inf in forward from finite inputs (0); check the inputs' domain (e.g. log of <= 0, overflow in exp)
    """

    _field = "anomaly"
    _value = True


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread."""
    return _mode.grad_enabled

