"""Record-time fusion: micrograd-style code recorded as fused sum/dot nodes (``engine.fused()``).

(Work in progress: for now, ``+`` and ``-`` inside ``fused()`` record the
ordinary nodes.)
"""
from __future__ import annotations

from . import ops
from .value import Value, new_node

FUSABLE = frozenset({"add", "sub"})


def combine(name: str, a, b, y: float) -> Value:
    """``a + b`` or ``a - b`` inside ``fused()``."""
    op = ops.OPS[name]
    a_is_v = isinstance(a, Value)
    b_is_v = isinstance(b, Value)
    da, db = op.float_local(a.data if a_is_v else a, b.data if b_is_v else b, y)
    if a_is_v and b_is_v:
        return new_node(y, name, (a, b), (da, db), None)
    if a_is_v:
        return new_node(y, name, a, da, b)
    return new_node(y, op.reflected, b, db, a)
