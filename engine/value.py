"""``Value``: one float plus the node that made it.

Operators and methods are generated from the op records in ``engine.ops``
(see ``_generate`` below), so each op's forward and local derivative are
written exactly once.

Node layout (``__slots__``; no per-node closures, so no reference cycles and
nothing for the cyclic garbage collector to chase):

* ``data``   the float value;
* ``grad``   d(root)/d(this), filled in by ``backward()``;
* ``label``, ``op``  names for people (``op`` is ``""`` for leaves);
* ``_parents``  the parent Values: ``None`` for a leaf, the parent itself for
  a one-parent node, or a tuple for two or more parents (read it as
  ``.parents``, always a tuple);
* ``_local`` the local derivative(s) d(this)/d(parent) as floats, computed
  at forward time, laid out like ``_parents`` (read it as ``.local_grads``);
* ``_ctx``   the number operand of a Value-and-number op (``x * 2.0``); the
  input lists of ``dot`` (see ``dot_operands``); for a ``sum`` with numbers
  among its terms, ``(start, terms in order)``; else ``None``.

Why a bare parent instead of a 1-tuple: a one-parent node (``tanh``,
``x * 2.0``) then holds no tuple at all: 136 instead of 264 bytes for a tanh
node on CPython 3.11.
"""
from __future__ import annotations

import builtins
import inspect
import linecache
import math
import numbers
from operator import mul as _mul
from typing import Iterable, Sequence, Union

from . import modestate, ops
from .errors import AnomalyError

Number = Union[int, float]
_new = object.__new__
_builtin_sum = builtins.sum  # this module defines engine.sum
_isfinite = math.isfinite
_get_mode = modestate.get_mode
_NO_GRAD, _ANOMALY, _FUSED = modestate.NO_GRAD, modestate.ANOMALY, modestate.FUSED


def as_float(x, where: str) -> float:
    """A user-supplied number as a float, or raise a clear error."""
    t = type(x)
    if t is float:
        return x
    if t is bool or not isinstance(x, numbers.Real):
        raise TypeError(
            f"{where}: expected an int or float, got {t.__name__} {x!r}"
            + (" (bools are rejected: write 1.0 / 0.0 if you mean a number)" if t is bool else "")
            + (" (use .data to get the float of a Value)" if isinstance(x, Value) else "")
        )
    try:
        return float(x)
    except OverflowError:
        size = f"an integer of {x.bit_length()} bits" if isinstance(x, int) else f"{t.__name__} {x!r}"[:100]
        raise ValueError(f"{where}: {size} is too large to be a float (max ~1.8e308); pass a smaller number") from None
    except (TypeError, ValueError):  # a Real that float() refuses (numpy's timedelta64, say)
        raise TypeError(f"{where}: expected an int or float, got {t.__name__} {x!r}"[:200]) from None


def _const_operand(x):
    """The float of a number operand, or None if ``x`` is not a number (-> NotImplemented)."""
    t = type(x)
    if t is float:
        return x
    if t is bool or not isinstance(x, numbers.Real):
        return None
    return as_float(x, "Value operator")


def _compare_operand(x):
    if isinstance(x, Value):
        return x.data
    return _const_operand(x)


class _ValueType(type):
    """Value's metaclass.  ``Value(data, label="")`` runs ``__call__`` below.

    Why a metaclass: ops make millions of nodes, and a class with no Python
    ``__init__`` is instantiated by ``type.__call__`` entirely in C
    (``_alloc`` below): ~290 fewer instructions per node than
    ``object.__new__(Value)`` on CPython 3.11.  So the user-facing
    constructor, with its checks, lives here instead of in ``Value.__init__``.
    """

    def __call__(cls, data: Number, label: str = "", *extra) -> Value:
        v = _alloc() if cls is Value else _new(cls)  # a subclass gets the same slots filled
        v.data = as_float(data, "Value(data)")
        if type(label) is not str or extra:
            if isinstance(label, (tuple, list, set, frozenset)):  # micrograd's Value(data, _children, _op)
                raise TypeError(f"Value(data, label): called like micrograd's Value(data, _children, _op); "
                                f"engine.Value records ops by itself (a * b, "
                                f"x.tanh()), and `from engine.micrograd import Value` takes micrograd's "
                                f"constructor, _backward closures included")
            if extra:
                raise TypeError(f"Value() takes data and label, but {2 + len(extra)} arguments were given")
            raise TypeError(f"Value(label=...): expected a str, got {type(label).__name__} {label!r}")
        v.grad = 0.0
        v.label = label
        v.op = ""
        v._parents = None
        v._local = None
        v._ctx = None
        return v


class Value(metaclass=_ValueType):
    """A scalar in a computation graph: ``Value(data, label="")``.

    >>> a = Value(2.0, label="a"); b = Value(-3.0, label="b")
    >>> c = a * b + a.tanh(); c.backward()
    >>> round(c.data, 6), round(a.grad, 6), b.grad
    (-5.035972, -2.929349, 2.0)

    ``data`` may be an int or float (also numpy/real numbers, converted with
    ``float``); ``bool``, strings, complex numbers, None and containers raise
    ``TypeError``.  nan and inf are allowed (see ``detect_anomaly``).
    """

    # No __init__: construction is _ValueType.__call__ (see why there).
    __slots__ = ("data", "grad", "label", "op", "_parents", "_local", "_ctx")

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        # An __init__ or __new__ (own or from a mixin) would never run: say so
        # now, not by silence later.  (A mixin with its own metaclass, such
        # as abc.ABC, conflicts with _ValueType: Python says so itself.)
        for name, base in (("__init__", object.__init__), ("__new__", object.__new__)):
            if getattr(cls, name) is not base:
                raise TypeError(
                    f"class {cls.__name__}(Value): a Value subclass cannot define {name} (nor inherit "
                    f"one from a mixin), because Value(data, label) is built by its metaclass "
                    f"(engine/value.py, _ValueType); add a classmethod constructor instead")

    # -- small conveniences -------------------------------------------------
    def __repr__(self) -> str:
        lab = f", label={self.label!r}" if self.label else ""
        op = f", op={self.op!r}" if self.op else ""
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}{lab}{op})"

    def item(self) -> float:
        """The float value (PyTorch's name for ``.data``)."""
        return self.data

    def __float__(self) -> float:
        op = modestate.strict_float_op()
        if op is not None:
            raise TypeError(
                f"grad(create_graph=True): the derivative of op {op!r} turned a Value into a float (a math.* "
                f"function or float() on it), so it cannot be differentiated again; write it with Value "
                f"operations (x.exp(), x.tanh(), 1 / (1 + (-x).exp()), ...), or do not ask for create_graph")
        return self.data

    def __pos__(self) -> "Value":
        return self

    def __bool__(self) -> bool:
        """Truth of the value, as PyTorch: ``if loss:`` is False for 0.0."""
        return self.data != 0.0

    # Order comparisons look at .data and return a bool (so ``max(x, y)`` and
    # ``sorted`` work; the result records no graph).  ``==`` stays identity:
    # Values are dict keys and set members in every graph walk.
    def __lt__(self, other) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is None else self.data < o

    def __le__(self, other) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is None else self.data <= o

    def __gt__(self, other) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is None else self.data > o

    def __ge__(self, other) -> bool:
        o = _compare_operand(other)
        return NotImplemented if o is None else self.data >= o

    @property
    def parents(self) -> tuple:
        """The Values this one was computed from, in operand order (``()`` for a leaf)."""
        p = self._parents
        if p is None:
            return ()
        return p if type(p) is tuple else (p,)

    @property
    def local_grads(self) -> tuple:
        """d(self)/d(parent) for each of ``parents``, as recorded at forward time."""
        if self._parents is None:  # (read first: the node's structure may still be growing, see fusion.py)
            return ()
        d = self._local
        return d if type(d) is tuple else (d,)

    # micrograd's names, so code written for micrograd can read a graph:
    @property
    def _prev(self) -> tuple:
        """The distinct parents, in operand order (micrograd's ``_prev``; see ``parents``)."""
        return tuple(dict.fromkeys(self.parents))

    @property
    def _op(self) -> str:
        """The op as a short label: its symbol (``+``, ``*``...) or name (micrograd's ``_op``)."""
        entry = ops.NODE_OPS.get(self.op)
        if entry is None:
            return self.op
        return entry[0].symbol or self.op

    # Copies and pickles walk the graph iteratively (the default protocols
    # recurse once per level: a few hundred levels deep they failed).
    def __copy__(self) -> "Value":
        """A new node with the same data, grad, label and parents (the graph is shared)."""
        self._parents  # first: seals an open fused node into a plain Value (see fusion.py)
        _check_copyable(self)
        v = _new(type(self))
        for name in ("data", "grad", "label", "op", "_parents", "_local", "_ctx"):
            setattr(v, name, getattr(self, name))
        if hasattr(self, "__dict__"):
            v.__dict__.update(self.__dict__)
        return v

    def __deepcopy__(self, memo: dict) -> "Value":
        """The whole graph copied (shared nodes stay shared), iteratively: any depth works."""
        from .autograd import topological_order
        for v in topological_order(self):
            if id(v) not in memo:
                memo[id(v)] = _rebuild(_entry(v, lambda u: memo[id(u)]), lambda u: u)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        """Pickle the graph below this Value as a flat list (no recursion, any depth).

        Its leaves go in as themselves (one level deep), so pickle's memo keeps
        a leaf shared by several Values pickled together, as ``deepcopy`` does:
        ``pickle.dumps((w, loss))`` loads a ``loss`` whose graph holds that ``w``.
        """
        from .autograd import topological_order
        order = topological_order(self)
        index = {id(v): i for i, v in enumerate(order)}
        return _unpickle, ([v if v._parents is None and v is not self else _entry(v, lambda u: _Ref(index[id(u)]))
                            for v in order],)

    def backward(self, gradient: Number = 1.0) -> None:
        """Backpropagate from this Value: every Value it depends on gets ``.grad``.

        Leaves *accumulate* (a second call adds again, as in PyTorch);
        intermediate nodes hold this call's gradient.  Iterative: works on
        graphs of any depth.

        >>> x = Value(3.0); y = x * x; y.backward(); x.grad
        6.0
        """
        from .autograd import backward
        backward(self, gradient)


_alloc = type.__call__.__get__(Value)  # a bare Value, made in C (see _ValueType)
# Argument errors name the function's qualname: make it "Value() got an
# unexpected keyword argument 'lbl'", not "_ValueType.__call__() ...".
_ValueType.__call__.__qualname__ = "Value"
_ValueType.__call__.__code__ = _ValueType.__call__.__code__.replace(co_name="Value")  # CPython 3.9 names co_name
# help(Value) shows Value(data, label=''): *extra only catches micrograd's Value(data, _children, _op)
_signature = inspect.signature(_ValueType.__call__)
_ValueType.__call__.__signature__ = _signature.replace(parameters=list(_signature.parameters.values())[:3])
del _signature


class _Ref(int):
    """A node of a pickled graph, by its index in the pickled list."""

    __slots__ = ()


def _entry(v: Value, ref) -> tuple:
    """Node ``v`` as plain data, with ``ref(u)`` in place of every Value ``u`` it points to."""
    parents = v._parents  # first: seals an open fused node (see fusion.py)
    _check_copyable(v)
    if type(parents) is tuple:
        parents = tuple(ref(p) for p in parents)
    elif parents is not None:
        parents = ref(parents)
    extra = getattr(v, "__dict__", None) or None
    return (type(v), v.data, v.grad, v.label, v.op, parents, v._local, _map_values(v._ctx, ref), extra)


def _check_copyable(v: Value) -> None:
    """TypeError for a micrograd-style closure node (a plain Value has no ``_backward`` slot: no lookup)."""
    if type(v) is Value or not hasattr(v, "_backward"):
        return
    raise TypeError(f"cannot copy or pickle a graph holding micrograd-style node {v.op!r} (made as "
                    f"Value(data, children, op) with a _backward closure): the closure adds into the original "
                    f"nodes, so a copy would get no gradients; record the graph again instead")


def _map_values(x, fn):
    """``x`` with ``fn(u)`` in place of every Value ``u`` in it (tuples and lists walked)."""
    if isinstance(x, (Value, _Ref)):
        return fn(x)
    if type(x) in (tuple, list):
        return type(x)(_map_values(u, fn) for u in x)
    return x


def _rebuild(entry: tuple, node) -> Value:
    cls, data, grad, label, op, parents, local, ctx, extra = entry
    v = _alloc() if cls is Value else _new(cls)
    v.data, v.grad, v.label, v.op = data, grad, label, op
    v._parents = tuple(node(p) for p in parents) if type(parents) is tuple else (
        None if parents is None else node(parents))
    v._local = local
    v._ctx = _map_values(ctx, node)
    if extra:
        v.__dict__.update(extra)
    return v


def _unpickle(entries: list) -> Value:
    nodes = []
    for entry in entries:  # a leaf arrives unpickled already (see Value.__reduce_ex__)
        nodes.append(entry if isinstance(entry, Value) else _rebuild(entry, nodes.__getitem__))
    return nodes[-1]


def new_leaf(y: float) -> Value:
    v = _alloc()
    v.data = y
    v.grad = 0.0
    v.label = ""
    v.op = ""
    v._parents = None
    v._local = None
    v._ctx = None
    return v


def new_node(y: float, op: str, parents, local, ctx) -> Value:
    v = _alloc()
    v.data = y
    v.grad = 0.0
    v.label = ""
    v.op = op
    v._parents = parents
    v._local = local
    v._ctx = ctx
    return v


def _check_anomaly(op: str, args: tuple, y: float) -> None:
    if not _isfinite(y) and all(_isfinite(a.data if isinstance(a, Value) else a) for a in args):
        from .graph import formula
        shown = ", ".join(formula(a) if isinstance(a, Value) else repr(a) for a in args)
        raise AnomalyError(
            f"detect_anomaly: op '{op}' produced {y} in forward from finite inputs ({shown}); "
            f"check the inputs' domain (e.g. log of <= 0, overflow in exp)"
        )


def _slow_unary(op: ops.Op, x: Value, y: float, m: int) -> Value:
    """An op's result when some mode is on in this context (see engine/modestate.py)."""
    if m & _ANOMALY:
        _check_anomaly(op.name, (x,), y)
    if m & _NO_GRAD:
        return new_leaf(y)
    (d,) = op.float_local(x.data, y)
    return new_node(y, op.name, x, d, None)


def _slow_binary(op: ops.Op, a, b, y: float, m: int) -> Value:
    """Like ``_slow_unary`` for binary ops; ``a``/``b`` (in op order) are Values or floats."""
    if m & _ANOMALY:
        _check_anomaly(op.reflected if isinstance(b, Value) and not isinstance(a, Value) else op.name, (a, b), y)
    if m & _NO_GRAD:
        return new_leaf(y)
    if m & _FUSED and op.name in FUSABLE:
        return _combine(op.name, a, b, y)
    a_is_v = isinstance(a, Value)
    b_is_v = isinstance(b, Value)
    da, db = op.float_local(a.data if a_is_v else a, b.data if b_is_v else b, y)
    if a_is_v and b_is_v:
        return new_node(y, op.name, (a, b), (da, db), None)
    if a_is_v:
        return new_node(y, op.name, a, da, b)
    return new_node(y, op.reflected, b, db, a)


# ---------------------------------------------------------------------------
# Code generation from the op records.
#
# Why generate source instead of looking the op up at call time: the record's
# expressions are pasted into each method body, so ``x.tanh()`` costs one
# Python call instead of three (method + forward + derivative): ~1.9x faster
# for unary ops and ~1.6x for binary ops on CPython 3.11.  Under no_grad the
# method makes a leaf right there, without the derivative (W1's MLP layer by
# layer through linear: 1.7-1.9x faster than recording on 3.11, 1.5x on 3.13,
# benchmarks/no_grad_speed.py).

# When some mode is on in this context, the bits that change what an op does
# (fused changes only + and -).
_OFF_PATH = '''    if not {flag}:
        m = _get_mode()
        if m & {bits}:
            if m == 1:  # no_grad: a leaf, no derivative
                v = _alloc(); v.data = y; v.grad = 0.0; v.label = ""; v.op = ""
                v._parents = None; v._local = None; v._ctx = None
                return v
{fused}            return {slow}
'''
_FUSED_PATH = '''            if m == 4:  # fused(): extend a fused sum (engine/fusion.py)
{inline}                return _combine("{name}", {args}, y)
'''
# The commonest fused step, inline (a call per term costs ~15% of it): the newest
# node of a dot product (every term so far + a * b) plus one more a * b.
_FUSED_INLINE = '''                if type(self) is _Open and type(other) is Value and other.op == "mul":
                    terms = self._local
                    if type(terms) is list and len(terms) == self._ctx and type(other._parents) is tuple:
                        terms += other._parents
                        terms += other._local
                        v = _alloc_open(); v.data = y; v.grad = 0.0; v.label = ""; v.op = "dot"
                        v._local = terms; v._ctx = len(terms)
                        return v
'''

_UNARY_TEMPLATE = '''
def {fn}(self):
    x = self.data
    y = {fwd}
{off}    v = _alloc(); v.data = y; v.grad = 0.0; v.label = ""; v.op = "{name}"
    v._parents = self; v._local = {d}; v._ctx = None
    return v
'''

_BINARY_TEMPLATE = '''
def {fn}(self, other):
    a = self.data
    t = type(other)
    if t is float:  # type tests before isinstance: -5% for x * 2.0, -3% for x * y
        b = other
    elif t is Value or isinstance(other, Value):
        b = other.data
        y = {fwd}
{off_vv}        v = _alloc(); v.data = y; v.grad = 0.0; v.label = ""; v.op = "{name}"
        v._parents = (self, other); v._local = ({da}, {db}); v._ctx = None
        return v
    else:
        b = _const_operand(other)
        if b is None:
            {bad}
    y = {fwd}
{off_vc}    v = _alloc(); v.data = y; v.grad = 0.0; v.label = ""; v.op = "{name}"
    v._parents = self; v._local = {da}; v._ctx = b
    return v
'''

# number OP Value: Python calls Value.__rOP__(value, number).  Commutative ops
# keep their name; others get PyTorch's names rsub/rdiv/rpow so the operand
# order is recoverable from (op, parent, _ctx).
_REFLECTED_TEMPLATE = '''
def {fn}(self, other):
    b = self.data
    a = other if type(other) is float else _const_operand(other)
    if a is None:
        {bad}
    y = {fwd}
{off}    v = _alloc(); v.data = y; v.grad = 0.0; v.label = ""; v.op = "{rname}"
    v._parents = self; v._local = {db}; v._ctx = a
    return v
'''


def _compile(src: str, filename: str, ns: dict) -> None:
    """exec generated source, registered in linecache so ``inspect.getsource``,
    Jupyter's ``Value.tanh??`` and tracebacks show the generated code."""
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    exec(compile(src, filename, "exec"), ns)  # noqa: S102 - our own records


def _doc(op: ops.Op) -> str:
    if op.user:
        return f"{op.doc}\n\n(registered with engine.register_op)"
    if op.arity == 1:
        return (f"{op.doc}\n\nforward: y = {op.forward}    local derivative: dy/dx = {op.derivatives[0]}"
                f"    (engine/ops.py)")
    da, db = op.derivatives
    return (f"{op.doc}\n\nforward: y = {op.forward}    local derivatives: dy/da = {da}, dy/db = {db}"
            f"    (engine/ops.py)")


def _off(bits: int, slow: str, indent: str = "", fused: str = "") -> str:
    # ops that fusion changes look whenever any mode is on; the others only for no_grad/anomaly
    text = _OFF_PATH.format(bits=bits, slow=slow, fused=fused, flag="_ALL_FAST" if fused else "_RECORD_FAST")
    return "".join(indent + line + "\n" for line in text.splitlines())


def _generate(op: ops.Op) -> None:
    """Compile ``op``'s record into Value methods and ``op.apply`` (called for every op, see ops.on_define)."""
    ns = dict(op.namespace)
    ns.update({"Value": Value, "_alloc": _alloc, "_get_mode": _get_mode, "_OP": op,
               "_slow_unary": _slow_unary, "_slow_binary": _slow_binary, "_const_operand": _const_operand,
               "_bad_operand": _bad_operand})
    ns.update(_FUSION)
    _generated.append(ns)
    modestate.publish_to(ns)  # the generated methods read _ALL_FAST as a global (see modestate.py)
    name = op.name
    filename = f"<engine.ops: {name}>"
    if op.arity == 1:
        src = _UNARY_TEMPLATE.format(fn="_op", name=name, fwd=op.forward, d=op.derivatives[0],
                                     off=_off(3, "_slow_unary(_OP, self, y, m)"))
        _compile(src, filename, ns)
        method = _finish(ns["_op"], op, name)
        if op.method:
            setattr(Value, name, method)  # x.tanh(), x.abs(), x.neg() ...
        if op.dunder:                     # ... and abs(x), -x
            setattr(Value, f"__{op.dunder}__", method)

        def apply(x):
            if isinstance(x, Value):
                return method(x)
            return Value(op.float_forward(as_float(x, f"{name}(x)")))
    else:
        da, db = op.derivatives
        fusable = name in FUSABLE
        bits = 7 if fusable else 3

        def fused(args: str) -> str:
            inline = _FUSED_INLINE if name == "add" and args == "self, other" else ""
            return _FUSED_PATH.format(name=name, args=args, inline=inline) if fusable else ""
        bad = "return NotImplemented" if op.dunder else f"return _bad_operand({name!r}, other)"
        src = _BINARY_TEMPLATE.format(
            fn="_op", name=name, fwd=op.forward, da=da, db=db, bad=bad,
            off_vv=_off(bits, "_slow_binary(_OP, self, other, y, m)", "    ", fused("self, other")),
            off_vc=_off(bits, "_slow_binary(_OP, self, b, y, m)", "", fused("self, b")))
        src += _REFLECTED_TEMPLATE.format(fn="_rop", rname=op.reflected, fwd=op.forward, db=db, bad=bad,
                                          off=_off(bits, "_slow_binary(_OP, a, self, y, m)", "", fused("a, self")))
        _compile(src, filename, ns)
        method = _finish(ns["_op"], op, f"__{op.dunder}__" if op.dunder else name)
        reflected = _finish(ns["_rop"], op, f"__r{op.dunder}__" if op.dunder else f"_r{name}")
        if op.dunder:
            setattr(Value, f"__{op.dunder}__", method)
            setattr(Value, f"__r{op.dunder}__", reflected)
        elif op.method:
            setattr(Value, name, method)  # a.maximum(b)

        def apply(a, b):
            if isinstance(a, Value):
                out = method(a, b)
            elif isinstance(b, Value):
                out = reflected(b, a)
            else:
                out = Value(op.float_forward(as_float(a, f"{name}(a, b): a"), as_float(b, f"{name}(a, b): b")))
            if out is NotImplemented:
                _bad_operand(name, b if isinstance(a, Value) else a)
            return out
    apply.__name__ = apply.__qualname__ = name
    apply.__doc__ = method.__doc__
    op.apply = apply


def _finish(fn, op: ops.Op, name: str):
    fn.__name__ = name
    fn.__qualname__ = f"Value.{name}"
    fn.__doc__ = _doc(op)
    return fn


def _bad_operand(op: str, other):
    raise TypeError(f"{op}: expected a Value or a number as the other operand, got {type(other).__name__} "
                    f"{other!r}"[:300])


# Ops engine/fusion.py combines inside fused(); it installs its combine() below
# when it is imported (it builds on Value, so it cannot be imported here).
FUSABLE = frozenset({"add", "sub"})
_FUSION: dict = {"_combine": None}  # what the generated + and - use inside fused(), from engine/fusion.py
_generated: list = []  # the namespaces of generated methods


def use_fusion(combine, open_class, alloc_open) -> None:
    """Called by engine/fusion.py: how ``a + b`` / ``a - b`` build fused nodes inside fused()."""
    global _combine
    _combine = combine
    _FUSION.update({"_combine": combine, "_Open": open_class, "_alloc_open": alloc_open})
    for ns in _generated:
        ns.update(_FUSION)


_combine = None


_ALL_FAST = _RECORD_FAST = True  # kept up to date by modestate.publish_to
modestate.publish_to(globals())  # engine.sum / engine.dot / engine.linear read _RECORD_FAST too
ops.on_define(_generate)


# ---------------------------------------------------------------------------
# Fused n-ary ops: one node however many inputs.

def sum(values: Iterable[Union[Value, Number]], start: Number = 0.0) -> Value:  # noqa: A001 - engine.sum, like torch.sum
    """Sum of many Values (and numbers) as ONE node with one parent per Value.

    Cheaper than chained ``+`` (N-1 nodes) in both time and memory.

    >>> from engine import Value, sum
    >>> xs = [Value(1.0), Value(2.0), 3.0]
    >>> s = sum(xs); s.data, len(s.parents)
    (6.0, 2)
    """
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(f"engine.sum: expected an iterable of Values/numbers, got {type(values).__name__}")
    total = start = as_float(start, "engine.sum(start)")
    prev = []
    append = prev.append
    items = None  # every term in order, kept only once a number shows up (see below)
    for i, v in enumerate(values):
        if isinstance(v, Value):
            append(v)
            total += v.data
            if items is not None:
                items.append(v)
        else:
            t = type(v)
            if t is not float:
                v = as_float(v, f"engine.sum: element {i}")
            total += v
            if items is None:
                items = prev[:]
            items.append(v)
    if not prev or (not _RECORD_FAST and _unrecorded("sum", prev, total)):
        return new_leaf(total)
    prev = tuple(prev)
    # With numbers among the terms (or a start), _ctx keeps (start, terms in
    # order) so a replay (engine.trace) can add them in the same order and
    # get the same float bits; an all-Values sum keeps nothing extra.
    keep = items is not None or start != 0.0 or math.copysign(1.0, start) < 0.0  # -0.0 too: -0.0 + -0.0 is -0.0
    ctx = (start, tuple(prev if items is None else items)) if keep else None
    return new_node(total, "sum", prev, (1.0,) * len(prev), ctx)


def dot(a: "list[Value | Number]", b: "list[Value | Number]") -> Value:
    """Dot product sum(a[i] * b[i]) as ONE node (a parent per Value in a and b).

    Either list may hold plain numbers (treated as constants).  Used by
    ``nn.Neuron``: ``dot(weights + [bias], inputs + [1.0])``.

    >>> from engine import Value, dot
    >>> w = [Value(2.0), Value(-1.0)]
    >>> y = dot(w, [3.0, 4.0]); y.backward(); y.data, w[0].grad, w[1].grad
    (2.0, 3.0, 4.0)
    """
    try:
        n = len(a)
        m = len(b)
    except TypeError:
        raise TypeError(
            f"engine.dot: expected two sequences (lists/tuples) of Values/numbers, got "
            f"{type(a).__name__} and {type(b).__name__}") from None
    if n != m:
        raise ValueError(f"engine.dot: the two lists must have the same length, got {n} and {m}")
    # Fast paths, for a all Values (every neuron call); map/sum run in C.
    # Measured on a 17-input neuron: general loop 21 us, these 5-7 us.
    # Reading .data only ``if type(x) is Value`` checks the types in the
    # same pass: the list comes out short when anything else is in it
    # (1.3 us for 17 inputs, against 2.1 us for set(map(type, a)) + a read).
    ad = [x.data for x in a if type(x) is Value]
    if n and len(ad) == n:
        if type(b[-1]) is float:
            # b is Values then constants (a neuron's x + [1.0]) or all floats.
            # Same layout as the all-Values case, with ctx = n (see dot_operands).
            k = n - 1
            while k and type(b[k - 1]) is float:
                k -= 1
            head = b[:k]
            bd = [w.data for w in head if type(w) is Value]
            if len(bd) == k:
                bd += b[k:]
                y = _builtin_sum(map(_mul, ad, bd))
                if not _RECORD_FAST and _unrecorded("dot", a, y):
                    return new_leaf(y)
                return new_node(y, "dot", (*a, *head), (*bd, *ad[:k]), n)
        else:
            bd = [w.data for w in b if type(w) is Value]
            if len(bd) == n:
                y = _builtin_sum(map(_mul, ad, bd))
                if not _RECORD_FAST and _unrecorded("dot", a, y):
                    return new_leaf(y)
                # prev is a then b, so create_graph pairs a[i] with prev[n + i]: ctx = n
                return new_node(y, "dot", (*a, *b), (*bd, *ad), n)
    # General path: any mix of Values and numbers.
    prev = []
    local = []
    addp = prev.append
    addl = local.append
    y = 0.0
    pairs = False  # a (Value, Value) or (number, number) pair? then keep the inputs:
    # create_graph needs a Value-Value pair's operands; a number-number term is
    # recorded nowhere else, and a replay needs it in place to add in order
    for i in range(n):
        x = a[i]
        w = b[i]
        if isinstance(x, Value):
            xd = x.data
            if isinstance(w, Value):
                wd = w.data
                addp(x); addl(wd); addp(w); addl(xd)
                pairs = True
            else:
                wd = w if type(w) is float else as_float(w, f"engine.dot: b[{i}]")
                addp(x); addl(wd)
        else:
            xd = x if type(x) is float else as_float(x, f"engine.dot: a[{i}]")
            if isinstance(w, Value):
                wd = w.data
                addp(w); addl(xd)
            else:
                wd = w if type(w) is float else as_float(w, f"engine.dot: b[{i}]")
                pairs = True
        y += xd * wd
    if not prev or (not _RECORD_FAST and _unrecorded("dot", prev, y)):
        return new_leaf(y)
    return new_node(y, "dot", tuple(prev), tuple(local), (tuple(a), tuple(b)) if pairs else None)




def linear(inputs: "Sequence[Sequence[Value | Number]]", weight: "Sequence[Sequence[Value | Number]]",
           bias: "Sequence[Value | Number] | None" = None, activation: "str | None" = None) -> "list[list[Value]]":
    """A layer's pre-activations for a batch, as PyTorch's ``F.linear(input, weight, bias)``.

    ``out[s][j]`` is ``dot(weight[j] + [bias[j]], inputs[s] + [1.0])`` (or
    ``dot(weight[j], inputs[s])`` without a bias): the same fused nodes
    ``nn.Neuron`` builds one at a time, built faster.  Each row of
    ``weight`` is read and checked once for the whole batch, and each input
    once for all rows, instead of once per ``dot`` call.  ``nn.Layer`` uses
    it for one sample and for ``forward_batch``.

    ``activation``: a unary op, by name (``"relu"``, ``"tanh"``) or as the
    function ``register_op`` returned, applied to every output, the same
    nodes as ``[[y.relu() for y in ys] for ys in linear(...)]``; under
    ``no_grad`` each output is then one leaf, with no pre-activation Value.

    >>> from engine import Value, linear
    >>> W = [[Value(1.0), Value(2.0)], [Value(-1.0), Value(0.5)]]
    >>> b = [Value(0.5), Value(0.0)]
    >>> [[y.data for y in ys] for ys in linear([[3.0, 4.0], [1.0, 0.0]], W, b)]
    [[11.5, -1.0], [1.5, -1.0]]
    """
    act = None
    if activation is not None:
        name = activation if isinstance(activation, str) else getattr(activation, "__name__", None)
        act = ops.UNARY.get(name) if isinstance(name, str) else None
        if act is not None and not isinstance(activation, str) and activation is not act.apply:
            act = None  # a function that merely shares an op's name
        if act is None:
            raise ValueError(f"engine.linear: activation must be the name of a unary op such as 'relu', "
                             f"'tanh' or 'sigmoid', or None, got {activation!r}"[:300])
    batch = _as_list(inputs, "inputs", "a list of samples, each a list of Values/numbers")
    rows = []
    for j, w in enumerate(_as_list(weight, "weight", "a list of rows, e.g. [[w00, w01], [w10, w11]]")):
        try:
            rows.append(tuple(w))
        except TypeError:
            raise TypeError(f"engine.linear: weight[{j}] must be a row (a list of Values/numbers), got "
                            f"{type(w).__name__} {w!r}; weight is a list of rows, e.g. [[w00, w01]] "
                            f"for one output"[:300]) from None
    if bias is not None:
        try:
            nb = len(bias)
        except TypeError:
            raise TypeError(f"engine.linear: bias must be a list of Values/numbers, got {type(bias).__name__}") from None
        if nb != len(rows):
            raise ValueError(f"engine.linear: bias has {nb} entries but weight has {len(rows)} row(s); "
                             f"give one bias per row")
        rows = [(*w, b) for w, b in zip(rows, bias)]
    if not rows:  # no outputs: nothing to check an input's width against, but each must be a list
        for s, x in enumerate(batch):
            _sample(x, s)
        return [[] for _ in batch]
    out = _linear(batch, rows, bias is not None, act)
    if act is not None and not out[1]:  # recorded (or anomaly-checked): the op's own method, node by node
        apply = getattr(Value, act.name) if act.method else act.apply
        return [[apply(y) for y in ys] for ys in out[0]]  # Python-to-Python calls: cheaper than map() on 3.11+
    return out[0]


def _linear(batch: list, rows: list, has_bias: bool, act) -> tuple:
    """``(outputs, whether act is applied)`` for ``linear``'s checked rows."""
    n = len(rows[0])
    for j, row in enumerate(rows):
        if len(row) != n:
            raise ValueError(f"engine.linear: weight row {j} has {len(row) - has_bias} entries but "
                             f"row 0 has {n - has_bias}; every row must be as long as an input")
    # Each row's floats, read once for the batch (None: the row is not all
    # Values, and goes through dot()).  Reading .data only ``if type(w) is
    # Value`` type-checks in the same pass (see dot).  Measured on W1 (MLP
    # 2-16-16-1, 100 samples): forward 74 -> ~45 M instructions against one
    # dot() call per neuron and sample.
    row_data = []
    for j, row in enumerate(rows):
        ad = [w.data for w in row if type(w) is Value]
        if len(ad) != n:  # numbers (or worse) in the row: it goes through dot(); name bad entries here
            for i, w in enumerate(row):
                where = f"bias[{j}]" if has_bias and i == n - 1 else f"weight[{j}][{i}]"
                _check_entry(w, where)
        row_data.append(ad if n and len(ad) == n else None)
    head_data = []  # per row, its first k floats (pairing with the input's k Values), for k = head_k
    head_k = -1
    m = 0 if _RECORD_FAST else _get_mode()
    record = not (m & (_NO_GRAD | _ANOMALY))
    values_only = m & (_NO_GRAD | _ANOMALY) == _NO_GRAD  # no_grad: leaves with the same numbers, no tuples
    fn = None if act is None else act.float_forward  # under no_grad: one leaf per output, activation included
    out = []
    for s, x in enumerate(batch):
        xs = x[:] if type(x) is list else _sample(x, s)  # a list needs no check (nor a message made)
        if has_bias:
            xs.append(1.0)
        if len(xs) != n:
            extra = has_bias
            raise ValueError(f"engine.linear: inputs[{s}] has {len(xs) - extra} entries but the weight rows have "
                             f"{n - extra}; give inputs of the layer's width")
        # Fast path: the input is Values then float constants (x + [1.0]).
        k = n
        while k and type(xs[k - 1]) is float:
            k -= 1
        head = xs[:k]
        xd = [v.data for v in head if type(v) is Value]
        if not n or len(xd) != k or not (record or values_only):
            for i, v in enumerate(xs):  # name a bad entry here rather than as dot's b[i]
                _check_entry(v, f"inputs[{s}][{i}]")
            ys = [dot(row, xs) for row in rows]  # general mixes, anomaly checks
            out.append(list(map(act.apply, ys)) if values_only and act is not None else ys)
            continue
        xd += xs[k:]
        if values_only:  # the sums dot() would compute, as leaves
            ys = []
            add = ys.append
            for row, ad in zip(rows, row_data):
                if ad is None:
                    add(dot(row, xs) if act is None else act.apply(dot(row, xs)))
                    continue
                v = _alloc()  # a leaf, made here: a call per output costs ~10% of this loop
                y = _builtin_sum(map(_mul, ad, xd))
                v.data = y if fn is None else fn(y)
                v.grad = 0.0
                v.label = v.op = ""
                v._parents = v._local = v._ctx = None
                add(v)
            out.append(ys)
            continue
        head = tuple(head)
        xd_t = tuple(xd)  # d/d(row) of every node of this input: one shared tuple
        if k != head_k:  # d/d(input Values) = the row's first k floats, as tuples, per k
            head_k = k
            head_data = [None if ad is None else tuple(ad[:k]) for ad in row_data]
        ys = []
        add = ys.append
        for row, ad, adk in zip(rows, row_data, head_data):
            if ad is None:  # a row with numbers or foreign objects in it
                add(dot(row, xs))
                continue
            # the node dot(row, xs) builds (Values-then-constants layout, see dot_operands)
            v = _alloc()
            v.data = _builtin_sum(map(_mul, ad, xd))
            v.grad = 0.0
            v.label = ""
            v.op = "dot"
            if k:
                v._parents = row + head
                v._local = xd_t + adk
            else:
                v._parents = row
                v._local = xd_t
            v._ctx = n
            add(v)
        out.append(ys)
    return out, values_only


def _as_list(x, name: str, what: str, hint: str = "") -> list:
    """``x`` as a list, or a TypeError: ``engine.linear: {name} must be {what}, got ...{hint}``."""
    if isinstance(x, (str, bytes, Value)) or not hasattr(x, "__iter__"):
        raise TypeError(f"engine.linear: {name} must be {what}, got {type(x).__name__} {x!r}{hint}"[:300])
    return list(x)


def _check_entry(v, where: str) -> None:
    """TypeError naming ``where`` unless ``v`` is a Value or a real number (bools are not numbers here)."""
    if not isinstance(v, Value) and (type(v) is bool or not isinstance(v, numbers.Real)):
        raise TypeError(f"engine.linear: {where} must be a Value or a number, got {type(v).__name__} {v!r}"[:300])


def _sample(x, s: int) -> list:
    """One input of ``linear`` as a list, or a TypeError naming it."""
    return _as_list(x, f"inputs[{s}]", "a list of Values/numbers",
                    "; inputs is a list of samples: for one sample write [x]")


def dot_operands(v: Value) -> tuple:
    """The two input lists of a ``dot`` node, Values and numbers as given.

    Layouts (``n`` = list length):
    * ``_ctx`` is an int n: ``_parents`` is all of ``a`` then the Values of ``b``,
      which are its first entries; ``b``'s remaining entries are constants,
      readable from ``_local[i]`` (= d/d a_i = b_i);
    * ``_ctx`` is ``(a, b)``: the lists themselves (general mixes);
    * ``_ctx`` is None: ``_parents`` are the Values of ``a`` and ``b`` and every
      partial is a constant (no Value-Value or number-number pair), the lists
      are not kept.
    """
    prev = v._parents  # first: an open fused node seals when its parents are read (engine/fusion.py)
    ctx = v._ctx
    if type(ctx) is int:
        local = v._local
        m = len(prev) - ctx  # how many of b are Values
        return prev[:ctx], prev[ctx:] + local[m:ctx]
    if ctx is None:
        raise ValueError("dot_operands: this dot node did not keep its operands "
                         "(it has no Value-Value or number-number pair)")
    return ctx


def _unrecorded(op: str, inputs, y: float) -> bool:
    """Off the fast path: check for anomalies; True when no graph is recorded (no_grad)."""
    m = _get_mode()
    if m & _ANOMALY:
        _check_anomaly(op, tuple(inputs), y)
    return bool(m & _NO_GRAD)
