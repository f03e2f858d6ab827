"""A micrograd-compatible ``Value``: micrograd code runs by changing its import line.

    from engine.micrograd import Value       # was: from micrograd.engine import Value

What micrograd code relies on, and what it gets here:

* ``Value(data, _children=(), _op='')``; ``.data``, ``.grad``, ``.backward()``;
* ``v._prev`` (the Values ``v`` was computed from, iterable) and ``v._op``
  (a short label such as ``'+'``, ``'*'``, ``'tanh'``), for code that walks
  and draws the graph;
* ``dot(a, b)``: ``engine.dot`` as one fused node (``nn.micrograd``'s neurons);
* every operator and method of ``engine.Value`` (``+ - * / **``, ``relu``,
  ``tanh``, ``exp``...), whose results are again ``engine.micrograd.Value``
  (so methods you add to the class, micrograd-style, work on them too);
* your own ops, micrograd-style: make the result with
  ``Value(y, (x,), 'myop')`` and give it a ``_backward`` closure that adds
  into its children's ``.grad`` from ``out.grad``.

>>> import math
>>> from engine.micrograd import Value
>>> def softplus(x):
...     out = Value(math.log1p(math.exp(x.data)), (x,), 'softplus')
...     def _backward():
...         x.grad += out.grad / (1.0 + math.exp(-x.data))
...     out._backward = _backward
...     return out
>>> a = Value(2.0); y = softplus(a * 3.0) + a; y.backward()
>>> round(y.data, 6), round(a.grad, 6), [c._op for c in y._prev]
(8.002476, 3.992582, ['softplus', ''])

How: built-in ops are ``engine`` ops (one node per op, local derivatives
recorded as floats), so a graph without your own ops backpropagates through
the engine's fast ``backward()``.  A node made with ``_children`` is a
*closure node*: the engine cannot know its local derivatives, so every
result computed from one is marked, and its ``backward()`` runs the
reference algorithm (``engine.autograd``: topological order, then for each
node from the root down ``parent.grad += local * node.grad``) calling your
``_backward`` at closure nodes instead.  Once a closure node exists, every
``backward()`` in the process (``engine.sum``/``engine.dot`` results over
closure nodes included) runs that reference algorithm.
"""
from __future__ import annotations

from . import modestate, ops
from .autograd import CLOSURE
from .autograd import backward as _engine_backward
from .value import Value as _EngineValue
from .value import dot as _engine_dot

__all__ = ["Value", "dot"]

_Meta = type(_EngineValue)


def _nothing() -> None:
    """A node's ``_backward`` until one is set (micrograd's default)."""


class _MicrogradType(_Meta):
    """``Value(data, _children=(), _op='', label='')``: micrograd's constructor on top of engine's."""

    def __call__(cls, data, _children=(), _op: str = "", label: str = ""):
        if type(_op) is not str:
            raise TypeError(f"Value(_op=...): expected a str label for the op, got {type(_op).__name__} {_op!r}")
        try:
            children = tuple(_children)
        except TypeError:
            raise TypeError(f"Value(_children=...): expected a tuple of Values, got "
                            f"{type(_children).__name__} {_children!r}"[:300]) from None
        if not children:
            v = super().__call__(data, label)
            v.op = _op
            return v
        for i, c in enumerate(children):
            if not isinstance(c, _EngineValue):
                raise TypeError(f"Value(_children=...): child {i} is {type(c).__name__} {c!r}, not a Value; "
                                f"wrap numbers first, e.g. Value({c!r})"[:300])
        v = _Meta.__call__(_ClosureNode, data, label)
        v.op = _op
        v._parents = children  # the engine sees the graph, and CLOSURE tells it to call _backward
        v._local = CLOSURE
        v._backward = _nothing
        modestate.note_closure_node()
        return v


class Value(_EngineValue, metaclass=_MicrogradType):
    """micrograd's ``Value``, backed by ``engine.Value`` (see the module docstring).

    >>> a = Value(-4.0); b = Value(2.0)
    >>> c = a + b; d = a * b + b ** 3; e = (c - d).relu() + d.tanh()
    >>> e.backward(); e._op, round(b.grad, 4)
    ('+', 8.0)
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Value(data={self.data}, grad={self.grad})"


class _Marked(Value):
    """A result computed from a closure node: its ``backward()`` calls the closures."""

    __slots__ = ()

    def backward(self, gradient=1.0) -> None:
        """Backpropagate through engine ops and micrograd-style ``_backward`` closures alike."""
        _backward_with_closures(self, gradient)


_Marked.__name__ = "Value"  # what micrograd code sees as type(v).__name__


class _ClosureNode(_Marked):
    """A node made as ``Value(data, _children, _op)``, whose ``_backward`` the user writes.

    Its ``_local`` is ``engine.autograd.CLOSURE``: backward() (which then runs
    the reference algorithm) calls ``_backward`` instead of multiplying.
    """

    __slots__ = ("_backward",)

    @property
    def local_grads(self) -> tuple:
        return ()  # not known: the closure computes the products itself

    @property
    def _op(self) -> str:
        return self.op


_ClosureNode.__name__ = "Value"
def dot(a, b) -> Value:
    """``engine.dot(a, b)`` (one fused node for ``sum(a_i * b_i)``) as a micrograd ``Value``.

    >>> y = dot([Value(2.0), Value(3.0)], [4.0, 1.0]); y.backward()
    >>> type(y).__name__, y.data, y._op
    ('Value', 11.0, 'dot')
    """
    out = _engine_dot(a, b)
    if type(out) is _EngineValue:
        out.__class__ = _Marked if any(isinstance(x, _Marked) for x in (*a, *b)) else Value
    return out


def _backward_with_closures(root: _EngineValue, gradient=1.0) -> None:
    """engine's backward(): with closure nodes about, it runs the reference algorithm, calling them."""
    _engine_backward(root, gradient)


# ---------------------------------------------------------------------------
# Every engine op, re-wrapped so results stay in this family of classes.

def _wrap(method, forward=None):
    """``method`` whose engine results become micrograd Values (marked when an input is).

    ``forward``: for a reflected method (``__radd__``), the forward one.  Python
    asks ``mine.__radd__(engine_value)`` first when an ``engine.Value`` is on
    the left, and engine's reflected methods take numbers only.
    """
    def wrapped(*args):
        out = method(*args)
        if out is NotImplemented and forward is not None and isinstance(args[1], _EngineValue):
            out = forward(args[1], args[0])
        if type(out) is _EngineValue:
            out.__class__ = _Marked if any(isinstance(a, _Marked) for a in args) else Value
        return out
    wrapped.__name__ = method.__name__
    wrapped.__qualname__ = f"Value.{method.__name__}"
    wrapped.__doc__ = method.__doc__
    return wrapped


def _method_names(op) -> list:
    """The ``engine.Value`` attributes an op record defines (see engine/value.py)."""
    names = []
    if op.arity == 1:
        names += [op.name] if op.method else []
        names += [f"__{op.dunder}__"] if op.dunder else []
    elif op.arity == 2:
        if op.dunder:
            names += [f"__{op.dunder}__", f"__r{op.dunder}__"]
        elif op.method:
            names.append(op.name)
    return names


def _adopt(op) -> None:
    for name in _method_names(op):
        method = getattr(_EngineValue, name, None)
        if callable(method):
            forward = getattr(_EngineValue, "__" + name[3:], None) if name.startswith("__r") else None
            setattr(Value, name, _wrap(method, forward))


ops.on_define(_adopt)  # built-in ops now, registered ones as they come
