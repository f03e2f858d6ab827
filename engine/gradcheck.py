"""Compare backward() with central finite differences."""
from __future__ import annotations

import math
from typing import Callable, Sequence

from ._state import mode as _mode
from .errors import GradcheckError
from .value import Value, _as_float


def _call(fn: Callable, xs: Sequence[float], where: str) -> Value:
    out = fn(*[Value(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(
            f"{where}: fn must return a Value, got {type(out).__name__} {out!r}; "
            f"build the result from the Values it is given"
        )
    return out


def numeric_grad(fn: Callable, inputs: Sequence[float], eps: float = 1e-6) -> list:
    """Central differences (f(x+eps) - f(x-eps)) / 2eps for each input."""
    xs = [float(x) for x in inputs]
    saved = _mode.grad_enabled
    _mode.set(grad_enabled=False)  # no graph needed for the function values
    try:
        out = []
        for i, x in enumerate(xs):
            hi = xs[:i] + [x + eps] + xs[i + 1:]
            lo = xs[:i] + [x - eps] + xs[i + 1:]
            out.append((_call(fn, hi, "numeric_grad").data - _call(fn, lo, "numeric_grad").data) / (2 * eps))
        return out
    finally:
        _mode.set(grad_enabled=saved)


def _fmt(x: float) -> str:
    return f"{x: .6e}" if math.isfinite(x) else f"{x!s:>13}"


def format_report(rows: list, title: str) -> str:
    """A fixed-width table of gradcheck rows; readable in a terminal and a notebook."""
    head = f"{'input':>5} {'value':>13} {'analytic':>13} {'numeric':>13} {'abs err':>13} {'rel err':>13}"
    lines = [title, head]
    for r in rows:
        mark = "" if r["ok"] else ("  <-- " + r["why"])
        lines.append(
            f"{r['index']:>5} {_fmt(r['value'])} {_fmt(r['analytic'])} {_fmt(r['numeric'])} "
            f"{_fmt(r['abs_err'])} {_fmt(r['rel_err'])}{mark}"
        )
    return "\n".join(lines)


def gradcheck(fn: Callable[..., Value], inputs: Sequence[float], *, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check ``fn``'s backward() against central finite differences.

    ``fn`` is called as ``fn(*values)`` with one fresh Value per input and
    must return one Value.  An input passes when
    ``|analytic - numeric| <= atol + rtol * |numeric|``.  Where the
    function or its finite difference is not finite, the check cannot be
    trusted and is reported as such instead of as a mismatch.

    >>> gradcheck(lambda x, y: (x * y).tanh(), [0.5, -1.5])
    True
    """
    if callable(inputs) and not callable(fn):  # common slip: arguments swapped
        raise TypeError("gradcheck: call it as gradcheck(fn, inputs)")
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"gradcheck: inputs must be a list of numbers, got {type(inputs).__name__} {inputs!r}")
    xs = [_as_float(x, f"gradcheck: inputs[{i}]") for i, x in enumerate(inputs)]
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        v = _as_float(v, f"gradcheck({name})")
        if not (v >= 0.0 and math.isfinite(v)) or (name == "eps" and v == 0.0):
            raise ValueError(f"gradcheck: {name} must be a finite number {'> 0' if name == 'eps' else '>= 0'}, got {v}")

    values = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    saved = _mode.grad_enabled
    _mode.set(grad_enabled=True)
    try:
        out = fn(*values)
    finally:
        _mode.set(grad_enabled=saved)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__} {out!r}")
    out.backward()
    analytic = [v.grad for v in values]
    numeric = numeric_grad(fn, xs, eps)

    rows = []
    unreliable = not math.isfinite(out.data)
    for i, (x, a, n) in enumerate(zip(xs, analytic, numeric)):
        abs_err = abs(a - n)
        rel_err = abs_err / abs(n) if n else (0.0 if abs_err == 0 else math.inf)
        if not (math.isfinite(n) and math.isfinite(out.data)):
            ok, why = False, "finite differences unreliable here (non-finite values)"
            unreliable = True
        elif not math.isfinite(a):
            ok, why = False, "analytic gradient is not finite"
        else:
            ok = abs_err <= atol + rtol * abs(n)
            why = "" if ok else "MISMATCH"
        rows.append({"index": i, "value": x, "analytic": a, "numeric": n,
                     "abs_err": abs_err, "rel_err": rel_err, "ok": ok, "why": why})

    if all(r["ok"] for r in rows):
        return True
    if unreliable:
        title = (f"gradcheck: cannot compare at this point: fn = {out.data} or a finite difference is "
                 f"not finite (eps={eps}); choose a point inside the function's domain")
    else:
        bad = [r["index"] for r in rows if not r["ok"]]
        title = (f"gradcheck: analytic and numeric gradients differ for input(s) {bad} "
                 f"(atol={atol}, rtol={rtol}, eps={eps})")
    message = format_report(rows, title)
    if raise_exception:
        raise GradcheckError(message, rows)
    return False
