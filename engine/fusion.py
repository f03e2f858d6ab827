"""Record-time fusion: code written one op at a time, recorded as fused sum/dot nodes.

Inside ``engine.fused()``, ``+`` and ``-`` build fused nodes:

* a sum that keeps growing (builtin ``sum(...)``, ``a + b + c + d``) is ONE
  node whose parents are all its terms.  Each ``+`` still returns a new
  Value (with the partial sum's value), but the new node shares the term
  list of the one it extends, growing it in place while it is the newest of
  its line: O(1) per term, not O(n);
* a product ``w * x`` (or ``w * 2.0``) added into such a sum brings ``w``
  and ``x`` in as a pair of a dot product: the product node drops out of
  the graph, so ``sum(w * x for ...)`` is the node ``engine.dot`` builds.

What stays the same: every forward value (the same float additions, in
the same order, as without fusion) and the leaves' gradients (the same
products; bit for bit where a leaf receives its contributions in the same
order, else equal to rounding, ~1e-15 relative).  What changes is the
graph: the intermediate sums and the products are not in it, so their
``.grad`` stays 0 after ``backward()``, and ``draw_dot`` shows the fused
nodes.  That is why fusion is opt-in rather than the default.

A growing sum is an ``_Open`` node: its term list is shared, and the first
time anything reads its parents (``backward()``, ``.parents``, a drawing)
it takes its own copy of the first n terms, becoming an ordinary Value
(``__class__`` assignment between identical layouts: documented Python,
the same on every version).  Nothing here depends on reference counts.
"""
from __future__ import annotations

from . import ops, value
from .value import FUSABLE, Value, new_node  # noqa: F401 - FUSABLE: the ops combine() handles

# Term kinds in a fused node's program, in order of addition; +1 = subtracted.
PLAIN = 0    # one parent v:        y += v
SCALED = 2   # one parent v, a number c: y += v * c   (the product node v * c dropped out)
PAIR = 4     # two parents a, b:    y += a * b       (the product node a * b dropped out)
CONST = 6    # no parent, a number: y += c

_SLOT = {name: Value.__dict__[name] for name in ("_parents", "_local", "_ctx")}  # the raw slots
_get_parents = _SLOT["_parents"].__get__
_get_local = _SLOT["_local"].__get__
_get_ctx = _SLOT["_ctx"].__get__
_set_parents = _SLOT["_parents"].__set__
_set_local = _SLOT["_local"].__set__
_set_ctx = _SLOT["_ctx"].__set__


class Terms:
    """The ``_ctx`` of a fused node: its start and term program (for replay, create_graph, formulas)."""

    __slots__ = ("start", "kinds", "consts")

    def __init__(self, start: float, kinds: bytes, consts: tuple) -> None:
        self.start = start
        self.kinds = kinds
        self.consts = consts

    def expand(self, v: Value) -> list:
        """[(kind, sign, operands)] in order: operands are (v,), (v, c), (a, b) or (c,)."""
        parents = v._parents
        local = v._local
        out = []
        i = 0
        consts = iter(self.consts)
        for k in self.kinds:
            kind, sign = k & ~1, -1.0 if k & 1 else 1.0
            if kind == PLAIN:
                out.append((kind, sign, (parents[i],)))
                i += 1
            elif kind == SCALED:
                out.append((kind, sign, (parents[i], local[i] * sign)))  # local = sign * c, exactly
                i += 1
            elif kind == PAIR:
                out.append((kind, sign, (parents[i], parents[i + 1])))
                i += 2
            else:
                out.append((kind, sign, (next(consts),)))
        return out

    def __repr__(self) -> str:
        return f"Terms(start={self.start!r}, {len(self.kinds)} terms)"


class _Buffer:
    """The shared, growing term list of a line of open fused nodes."""

    __slots__ = ("parents", "local", "kinds", "consts", "start", "products")

    def __init__(self, start: float) -> None:
        self.parents = []
        self.local = []
        self.kinds = bytearray()
        self.consts = []
        self.start = start
        self.products = False

    def add(self, v, sign: int) -> None:
        """Append ``v`` (a Value or a number) as a term, with a minus if ``sign``."""
        if type(v) is float:
            self.kinds.append(CONST | sign)
            self.consts.append(v)
            return
        if type(v) is Value and v.op == "mul":  # a product: its factors come in, the node drops out
            p = v._parents
            d = v._local
            if type(p) is tuple:
                self.parents += p
                self.local += (-d[0], -d[1]) if sign else d
                self.kinds.append(PAIR | sign)
            else:
                self.parents.append(p)
                self.local.append(-d if sign else d)
                self.kinds.append(SCALED | sign)
            self.products = True
            return
        self.parents.append(v)
        self.local.append(-1.0 if sign else 1.0)
        self.kinds.append(PLAIN | sign)


_PAIR = object()  # the _ctx of a two-term add/sub node made inside fused(): it may be flattened later


class _Open(Value):
    """A fused node whose term list may still grow (see the module docstring).

    Its raw ``_parents`` slot holds the shared ``_Buffer``, ``_local`` how many
    of the buffer's parents are its own, ``_ctx`` how many terms.  Reading
    any of the three through the attributes seals it first.
    """

    __slots__ = ()

    @property
    def _parents(self):
        return _seal(self)._parents

    @property
    def _local(self):
        return _seal(self)._local

    @property
    def _ctx(self):
        return _seal(self)._ctx


_alloc_open = type.__call__.__get__(_Open)


def _seal(v: _Open) -> Value:
    """Give open node ``v`` its own copy of its terms and make it an ordinary Value."""
    buf = _get_parents(v)
    n = _get_local(v)
    k = _get_ctx(v)
    kinds = bytes(buf.kinds[:k])
    n_consts = sum(1 for x in kinds if x & ~1 == CONST)
    parents = tuple(buf.parents[:n])
    local = tuple(buf.local[:n])
    v.__class__ = Value
    v._parents = parents
    v._local = local
    v._ctx = Terms(buf.start, kinds, tuple(buf.consts[:n_consts]))
    return v


def _open_node(y: float, buf: _Buffer) -> _Open:
    v = _alloc_open()
    v.data = y
    v.grad = 0.0
    v.label = ""
    v.op = "dot" if buf.products else "sum"
    _set_parents(v, buf)
    _set_local(v, len(buf.parents))
    _set_ctx(v, len(buf.kinds))
    return v


def combine(name: str, a, b, y: float) -> Value:
    """``a + b`` or ``a - b`` (``name``) inside ``fused()``: ``a``, ``b`` in op order, Values or floats; ``y`` its value."""
    sign = 1 if name == "sub" else 0
    if type(a) is _Open:
        buf = _get_parents(a)
        if _get_local(a) != len(buf.parents) or _get_ctx(a) != len(buf.kinds):  # not the newest: branch off
            buf = _copy(a, buf)
        buf.add(b, sign)
        return _open_node(y, buf)
    if type(a) is float:  # number +/- Value: a sum starting at a number (builtin sum starts at 0)
        buf = _Buffer(a)
        buf.add(b, sign)
        return _open_node(y, buf)
    if type(b) is float or not (type(a) is Value and a._ctx is _PAIR):
        if type(b) is float:  # Value +/- number: an ordinary node (x + 1.0 seldom grows)
            op = ops.OPS[name]
            return new_node(y, name, a, op.float_local(a.data, b, y)[0], b)
        # two Values: an ordinary node, marked so that a third term flattens it
        return new_node(y, name, (a, b), (1.0, -1.0 if sign else 1.0), _PAIR)
    # a third term after a marked two-term node: flatten it into a fused sum,
    # whose first term has no start to be added to (the same additions, in order)
    a0, a1 = a._parents
    buf = _Buffer(None)
    buf.add(a0, 0)
    buf.add(a1, 1 if a.op == "sub" else 0)
    buf.add(b, sign)
    return _open_node(y, buf)


def _copy(a: _Open, buf: _Buffer) -> _Buffer:
    """A new buffer holding ``a``'s own terms (a second line growing from an older node)."""
    n, k = _get_local(a), _get_ctx(a)
    new = _Buffer(buf.start)
    new.parents = buf.parents[:n]
    new.local = buf.local[:n]
    new.kinds = bytearray(buf.kinds[:k])
    new.consts = buf.consts[:sum(1 for x in new.kinds if x & ~1 == CONST)]
    new.products = any(x & ~1 in (SCALED, PAIR) for x in new.kinds)
    return new


value.use_fusion(combine)
