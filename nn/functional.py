"""Stateless functions on lists of Values, named as in ``torch.nn.functional``.

``softmax`` and ``log_softmax`` work on one row (a list of Values/numbers)
or on a list of rows (each row normalised on its own, PyTorch's ``dim=-1``).
Both subtract the row's maximum first, a constant (as PyTorch does), so
large logits never overflow ``exp``.  ``cross_entropy`` is
``nn.losses.cross_entropy`` (logits and integer class targets).

>>> from engine import Value
>>> from nn.functional import softmax, log_softmax
>>> p = softmax([Value(1.0), Value(2.0), Value(3.0)])
>>> [round(v.data, 4) for v in p]
[0.09, 0.2447, 0.6652]
>>> round(log_softmax([Value(1000.0), Value(1000.0)])[0].data, 6)   # no overflow
-0.693147

Nodes: softmax of n inputs is ``3n + 1`` nodes (``x - max``, ``exp``, one fused
``sum``, a division per entry); log_softmax ``3n + 2`` (the ``exp`` nodes, the
``sum`` and its ``log`` are shared by every entry).
"""
from __future__ import annotations

import math
import numbers
from typing import List, Sequence, Union

from engine import Value
from engine import sum as vsum

from .losses import cross_entropy

Number = Union[int, float]
Row = Sequence[Union[Value, Number]]

__all__ = ["softmax", "log_softmax", "cross_entropy", "logsumexp"]


def _rows(x, where: str):
    """``(rows, batched)``: one row or a list of rows, entries checked (numbers as floats)."""
    if isinstance(x, (Value, str, bytes, dict)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{where}: expected a list of Values/numbers (one row) or a list of such lists, "
                        f"got {type(x).__name__}")
    items = list(x)
    if not items:
        raise ValueError(f"{where}: got an empty list; give at least one score")
    batched = isinstance(items[0], (list, tuple))
    out = []
    for i, row in enumerate(items if batched else [items]):
        if batched and not isinstance(row, (list, tuple)):
            raise TypeError(f"{where}: row {i} must be a list like row 0, got {type(row).__name__}")
        if not row:
            raise ValueError(f"{where}: row {i} is empty; give at least one score per row")
        checked = []
        for j, v in enumerate(row):
            if isinstance(v, Value):
                checked.append(v)
            elif isinstance(v, numbers.Real) and not isinstance(v, bool):
                try:
                    checked.append(float(v))
                except OverflowError:
                    raise ValueError(f"{where}: entry {_at(i, j, batched)} is an int too large for a float") from None
            else:
                raise TypeError(f"{where}: entry {_at(i, j, batched)} must be a Value or a number, got "
                                f"{type(v).__name__} {v!r}"[:200])
        out.append(checked)
    return out, batched


def _at(i: int, j: int, batched: bool) -> str:
    return f"[{i}][{j}]" if batched else f"[{j}]"


def _shifted_exps(row: list):
    """``(m, [x - m for x in row], their exps)``, ``m`` the row's max.

    Exactly PyTorch's arithmetic, special values included: an inf in the
    row makes every entry nan (``inf - inf``), a nan anywhere poisons the sum.
    """
    m = max(v.data if isinstance(v, Value) else v for v in row)
    shifted = [v - m for v in row]
    exps = [z.exp() if isinstance(z, Value) else math.exp(z) for z in shifted]
    return m, shifted, exps


def softmax(x, dim: int = -1) -> Union[List[Value], List[List[Value]]]:
    """``exp(x_i) / sum_j exp(x_j)`` per row, stable (the row's max is subtracted first).

    ``x`` is one row (a list) or a list of rows; the result has the same
    shape.  ``dim`` must be the last axis (``-1``, as in PyTorch's usual call).

    >>> from engine import Value
    >>> [round(p.data, 3) for p in softmax([Value(0.0), Value(0.0)])]
    [0.5, 0.5]
    """
    rows, batched = _rows(x, "softmax")
    _check_dim(dim, batched, "softmax")
    out = []
    for row in rows:
        _, _, exps = _shifted_exps(row)
        total = vsum(exps)
        out.append([e / total for e in exps])
    return out if batched else out[0]


def logsumexp(x, dim: int = -1) -> Union[Value, List[Value]]:
    """``log(sum_j exp(x_j))`` per row, stable: one Value per row (a Value for one row).

    >>> from engine import Value
    >>> round(logsumexp([Value(1000.0), Value(1000.0)]).data, 6)
    1000.693147
    """
    rows, batched = _rows(x, "logsumexp")
    _check_dim(dim, batched, "logsumexp")
    out = []
    for row in rows:
        m = max(v.data if isinstance(v, Value) else v for v in row)
        if not math.isfinite(m):  # as PyTorch: an infinite max is not subtracted (-inf - -inf would be nan)
            m = 0.0
        exps = [(v - m).exp() if isinstance(v, Value) else math.exp(v - m) for v in row]
        out.append(vsum(exps).log() + m)
    return out if batched else out[0]


def log_softmax(x, dim: int = -1) -> Union[List[Value], List[List[Value]]]:
    """``x_i - log(sum_j exp(x_j))`` per row, stable; same shape as ``x``.

    >>> from engine import Value
    >>> [round(v.data, 4) for v in log_softmax([Value(1.0), Value(2.0)])]
    [-1.3133, -0.3133]
    """
    rows, batched = _rows(x, "log_softmax")
    _check_dim(dim, batched, "log_softmax")
    out = []
    for row in rows:
        _, shifted, exps = _shifted_exps(row)
        lse = vsum(exps).log()  # of the shifted row: x_i - lse(x) = (x_i - m) - lse(x - m)
        out.append([z - lse for z in shifted])
    return out if batched else out[0]


def _check_dim(dim, batched: bool, where: str) -> None:
    """Only the last axis: ``-1``, or its index (0 for one row, 1 for a list of rows)."""
    last = 1 if batched else 0
    if type(dim) is not int or dim not in (-1, last):
        shape = "a list of rows" if batched else "one row"
        raise ValueError(f"{where}: dim must be the last axis (-1 or {last} for {shape}); each row is "
                         f"normalised on its own, got dim={dim!r}")
