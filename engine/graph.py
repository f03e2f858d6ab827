"""Public graph walkers: the order of a graph's nodes, and a readable formula.

``draw_dot``, anomaly messages and the Hypothesis strategies use these;
user code may too.
"""
from __future__ import annotations

from .value import REFLECTED_BASE, Value, dot_operands

_INFIX = {"add": "+", "sub": "-", "mul": "*", "div": "/", "pow": "**"}
_RINFIX = {r: _INFIX[base] for r, base in REFLECTED_BASE.items()}  # "rsub": "-", ...


def topological_order(root: Value) -> list:
    """Every Value ``root`` depends on, parents before children, root last.

    Iterative depth-first search (no recursion, so a 1,000,000-deep chain
    is fine); the order is deterministic (it follows operand order).

    >>> a = Value(1.0, label="a"); b = a * 2.0; c = b + a
    >>> [v.label or v.op for v in topological_order(c)]
    ['a', 'mul', 'add']
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: expected a Value, got {type(root).__name__}")
    order = []
    state = {}  # node -> 1 while its inputs are being walked, 2 once listed
    get = state.get
    stack = [root]
    while stack:
        v = stack.pop()
        st = get(v)
        if st is None:  # first visit: list v after its inputs
            state[v] = 1
            stack.append(v)
            for p in reversed(v.parents):  # reversed: inputs come out in operand order
                if get(p) is None:
                    stack.append(p)
        elif st == 1:
            state[v] = 2
            order.append(v)
    return order


def _num(x: float) -> str:
    return f"{x:.4g}"


def formula(v, *, max_depth: int = 12, max_len: int = 400) -> str:
    """The expression that produced ``v``, e.g. ``tanh(((a * b) + 1))``.

    Leaves print as their label, or their value if unlabelled.  Deep or
    huge expressions are cut with ``…`` (shared subexpressions are written
    out each time they are used).

    >>> a = Value(2.0, label="a")
    >>> formula((a * 3.0).tanh())
    'tanh((a * 3))'
    """
    if not isinstance(v, Value):
        return _num(float(v))
    out = _formula(v, max_depth)
    return out if len(out) <= max_len else out[: max_len - 1] + "…"


def _formula(v: Value, depth: int) -> str:
    if v._prev is None:
        return v.label or _num(v.data)
    if depth <= 0:
        return v.label or "…"
    d = depth - 1
    op = v.op
    ps = v.parents
    if op in _INFIX:
        if len(ps) == 2:
            left, right = _formula(ps[0], d), _formula(ps[1], d)
        else:
            left, right = _formula(ps[0], d), _num(v._ctx)
        return f"({left} {_INFIX[op]} {right})"
    if op in _RINFIX:
        return f"({_num(v._ctx)} {_RINFIX[op]} {_formula(ps[0], d)})"
    if op == "neg":
        return f"(-{_formula(ps[0], d)})"
    if op == "sum":
        return "sum(" + ", ".join(_formula(p, d) for p in ps[:8]) + (", …" if len(ps) > 8 else "") + ")"
    if op == "dot":
        if v._ctx is not None:
            a, b = dot_operands(v)
            terms = [f"{formula(x, max_depth=d)}*{formula(w, max_depth=d)}" for x, w in zip(a[:8], b[:8])]
            n_terms = len(a)
        else:
            terms = [f"{_formula(p, d)}*{_num(c)}" for p, c in zip(ps[:8], v.local_grads[:8])]
            n_terms = len(ps)
        more = ", …" if n_terms > 8 else ""
        return "dot(" + " + ".join(terms) + more + ")"
    return f"{op}(" + ", ".join(_formula(p, d) for p in ps) + ")"
