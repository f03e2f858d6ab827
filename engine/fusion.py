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
    """The shared, growing term list of a line of open fused nodes with mixed terms."""

    __slots__ = ("parents", "local", "kinds", "consts", "start", "tip")

    def __init__(self, start) -> None:
        self.tip = None  # the newest node of this line: the one that may grow it in place
        self.parents = []
        self.local = []
        self.kinds = bytearray()
        self.consts = []
        self.start = start  # a number the sum starts from, or None (the first term starts it)

    @classmethod
    def from_pairs(cls, flat: list, n: int) -> "_Buffer":
        """A buffer holding the first ``n`` entries of a pairs-only list (see ``_Open``)."""
        buf = cls(flat[0])
        buf.parents = list(_interleave(flat[1:n:4], flat[2:n:4]))
        buf.local = list(_interleave(flat[3:n:4], flat[4:n:4]))
        buf.kinds = bytearray([PAIR]) * (n // 4)
        return buf

    def add(self, v, sign: int) -> None:
        """Append ``v`` (a Value or a number) as a term, with a minus if ``sign``."""
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
        elif type(v) is float:
            self.kinds.append(CONST | sign)
            self.consts.append(v)
        else:
            self.parents.append(v)
            self.local.append(-1.0 if sign else 1.0)
            self.kinds.append(PLAIN | sign)

    def products(self) -> bool:
        return any(k & ~1 in (SCALED, PAIR) for k in self.kinds)


def _interleave(xs: list, ys: list) -> tuple:
    """(xs[0], ys[0], xs[1], ys[1], ...): two extended-slice copies, in C."""
    out = [None] * (2 * len(xs))
    out[0::2] = xs
    out[1::2] = ys
    return tuple(out)


_PAIR = object()  # the _ctx of a two-term add/sub node made inside fused(): it may be flattened later


class _Open(Value):
    """A fused node whose term list may still grow (see the module docstring).

    ``_parents`` is unset; the raw ``_local``/``_ctx`` slots hold the shared
    terms and how many of them are this node's own:

    * a dot product whose every term is ``+ a * b`` (the common case): a
      flat list ``[start, a0, b0, da0, db0, a1, b1, ...]`` and its length
      when this node was made (one list, two extends per term);
    * anything else: a ``_Buffer`` and (parents, terms).

    Every reader of a node's structure reads ``_parents`` first (the
    engine's rule), and on an open node that seals it.  Why plain slots
    and not properties for the terms: reading and writing them is ~10x
    cheaper, and the fused ``+`` does it once per term.
    """

    __slots__ = ()

    @property
    def _parents(self):
        return _seal(self)._parents


# An _Open made in C, as value._alloc makes a Value: ~500 fewer instructions per
# node than making a Value and assigning its __class__ (callgrind, CPython 3.11).
_alloc_open = type.__call__.__get__(_Open)


def _seal(v: _Open) -> Value:
    """Give open node ``v`` its own copy of its terms and make it an ordinary Value."""
    terms = v._local
    n = v._ctx
    if type(terms) is list:  # pairs only
        parents = _interleave(terms[1:n:4], terms[2:n:4])
        local = _interleave(terms[3:n:4], terms[4:n:4])
        ctx = Terms(terms[0], bytes([PAIR]) * (n // 4), ())
    else:
        n, k = n
        kinds = bytes(terms.kinds[:k])
        parents = tuple(terms.parents[:n])
        local = tuple(terms.local[:n])
        ctx = Terms(terms.start, kinds, tuple(terms.consts[:sum(1 for x in kinds if x & ~1 == CONST)]))
    v.__class__ = Value
    v._parents = parents
    v._local = local
    v._ctx = ctx
    return v


def _open_node(y: float, terms, n) -> _Open:
    v = _alloc_open()
    v.data = y
    v.grad = 0.0
    v.label = ""
    v.op = "dot" if type(terms) is list or terms.products() else "sum"
    v._local = terms
    v._ctx = n
    if type(terms) is _Buffer:
        terms.tip = v
    return v


def _pair(v) -> bool:
    """Is ``v`` a product of two Values (a ``+ a * b`` term of a dot product)?"""
    return type(v) is Value and v.op == "mul" and type(v._parents) is tuple


def combine(name: str, a, b, y: float) -> Value:
    """``a + b`` or ``a - b`` (``name``) inside ``fused()``: ``a``, ``b`` in op order, Values or floats; ``y`` its value.

    (The generated ``__add__`` does the commonest case itself: the newest
    open node of a dot product plus one more product of two Values.)
    """
    sign = 1 if name == "sub" else 0
    if type(a) is _Open:
        terms = a._local
        if type(terms) is list:  # pairs only so far
            n = a._ctx
            if not sign and _pair(b):
                if len(terms) != n:  # not the newest of its line: a second line branches off here
                    terms = terms[:n]
                terms += b._parents
                terms += b._local
                return _open_node(y, terms, len(terms))
            buf = _Buffer.from_pairs(terms, n)
        else:
            buf = terms if terms.tip is a else _copy(a, terms)
        buf.add(b, sign)
        return _open_node(y, buf, (len(buf.parents), len(buf.kinds)))
    if type(a) is float:  # number +/- Value: a sum starting at a number (builtin sum starts at 0)
        if not sign and _pair(b):
            terms = [a, *b._parents, *b._local]
            return _open_node(y, terms, 5)
        buf = _Buffer(a)
        buf.add(b, sign)
        return _open_node(y, buf, (len(buf.parents), len(buf.kinds)))
    if type(b) is float or not (type(a) is Value and a._ctx is _PAIR):
        if type(b) is float:  # Value +/- number: an ordinary node (x + 1.0 seldom grows)
            op = ops.OPS[name]
            return new_node(y, name, a, op.float_local(a.data, b, y)[0], b)
        # two Values: an ordinary node, marked so that a third term flattens it
        return new_node(y, name, (a, b), (1.0, -1.0 if sign else 1.0), _PAIR)
    # a third term after a marked two-term node: flatten it into a fused sum,
    # whose first term has no start to be added to (the same additions, in order)
    a0, a1 = a._parents
    if a.op == "add" and not sign and _pair(a0) and _pair(a1) and _pair(b):
        terms = [None, *a0._parents, *a0._local, *a1._parents, *a1._local, *b._parents, *b._local]
        return _open_node(y, terms, 13)
    buf = _Buffer(None)
    buf.add(a0, 0)
    buf.add(a1, 1 if a.op == "sub" else 0)
    buf.add(b, sign)
    return _open_node(y, buf, (len(buf.parents), len(buf.kinds)))


def _copy(a: _Open, buf: _Buffer) -> _Buffer:
    """A new buffer holding ``a``'s own terms (a second line growing from an older node)."""
    n, k = a._ctx
    new = _Buffer(buf.start)
    new.kinds = bytearray(buf.kinds[:k])
    new.consts = buf.consts[:sum(1 for x in new.kinds if x & ~1 == CONST)]
    new.parents = buf.parents[:n]
    new.local = buf.local[:n]
    return new


value.use_fusion(combine, _Open, _alloc_open)
