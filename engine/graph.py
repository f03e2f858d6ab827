"""Public graph walkers: the order of a graph's nodes, and a readable formula.

``draw_dot``, anomaly messages and the Hypothesis strategies use these;
user code may too.  Both are iterative, so graphs of any depth are fine.
"""
from __future__ import annotations

from . import ops
from .autograd import topological_order
from .fusion import Terms
from .value import Value, as_float, dot_operands

__all__ = ["topological_order", "formula", "op_symbol"]


def _num(x: float) -> str:
    return f"{x:.4g}"


def op_symbol(v: Value) -> str:
    """How node ``v``'s op is written: its operator symbol (``+``, ``**``, ``-`` for neg) or its name."""
    entry = ops.NODE_OPS.get(v.op)
    return (entry[0].symbol if entry is not None else None) or v.op


def formula(v, *, max_depth: int = 12, max_len: int = 400) -> str:
    """The expression that produced ``v``, e.g. ``tanh(((a * b) + 1))``.

    Leaves print as their label, or their value if unlabelled.  Deeper than
    ``max_depth`` ops, a subexpression prints as its label or ``…``; a
    formula longer than ``max_len`` characters is cut with ``…`` (shared
    subexpressions are written out each time they are used, and the work
    stops at ``max_len``, so any graph is fine).

    >>> a = Value(2.0, label="a")
    >>> formula((a * 3.0).tanh())
    'tanh((a * 3))'
    """
    for name, n, least in (("max_depth", max_depth, 0), ("max_len", max_len, 1)):
        if type(n) is not int or n < least:
            raise ValueError(f"formula({name}={n!r}): expected an int >= {least}")
    if not isinstance(v, Value):
        if type(v) is bool or not isinstance(v, (int, float)):
            raise TypeError(f"formula: expected a Value or a number, got {type(v).__name__}")
        return _num(as_float(v, "formula"))  # (an int past 1e308 gets a ValueError, not OverflowError)
    out = []
    size = 0
    stack = [(v, max_depth)]
    while stack and size <= max_len:
        item = stack.pop()
        if type(item) is str:
            out.append(item)
            size += len(item)
        else:
            stack.extend(reversed(_pieces(*item)))
    text = "".join(out)
    if stack or len(text) > max_len:
        return text[: max_len - 1] + "…"
    return text


def _term(x, depth: int):
    return (x, depth) if isinstance(x, Value) else _num(x)


def _pieces(v: Value, depth: int) -> list:
    """Node ``v`` as text pieces and (node, depth) items still to write, left to right."""
    if v._parents is None:
        return [v.label or _num(v.data)]
    if depth <= 0:
        return [v.label or "…"]
    d = depth - 1
    ps = v.parents
    op = v.op
    if type(v._ctx) is Terms:  # a fused node: its terms with their signs
        items = []
        terms = v._ctx.expand(v)
        for kind, sign, operands in terms[:8]:
            items.append(" - " if sign < 0 else " + ")
            items += ([_term(operands[0], d), "*", _term(operands[1], d)] if len(operands) == 2
                      else [_term(operands[0], d)])
        if items and items[0] == " + ":
            items = items[1:]
        start = [] if v._ctx.start is None else [_num(v._ctx.start)] + ([] if not items or items[0] == " - " else [" + "])
        return [f"{op}(", *start, *items, ", …)" if len(terms) > 8 else ")"]
    if op == "sum":
        items = [x for p in ps[:8] for x in (", ", (p, d))][1:]
        return ["sum(", *items, ", …)" if len(ps) > 8 else ")"]
    if op == "dot":
        if v._ctx is not None:
            a, b = dot_operands(v)
            pairs = list(zip(a[:8], b[:8]))
            n_terms = len(a)
        else:
            pairs = list(zip(ps[:8], v.local_grads[:8]))
            n_terms = len(ps)
        items = []
        for x, w in pairs:
            items += [" + ", _term(x, d), "*", _term(w, d)]
        return ["dot(", *items[1:], ", …)" if n_terms > 8 else ")"]
    entry = ops.NODE_OPS.get(op)
    if entry is None:
        items = [x for p in ps for x in (", ", (p, d))][1:]
        return [f"{op}(", *items, ")"]
    record, args, _ = ops.node_inputs(v)
    shown = [_term(a, d) for a in args]
    if record.arity == 2 and record.symbol:
        return ["(", shown[0], f" {record.symbol} ", shown[1], ")"]
    if record.arity == 1 and record.symbol:
        return [f"({record.symbol}", shown[0], ")"]
    items = [x for s in shown for x in (", ", s)][1:]
    return [f"{record.name}(", *items, ")"]
