"""Compare backward() with central finite differences."""
from __future__ import annotations

import math
from typing import Callable, Sequence

from .autograd import grad
from .modes import enable_grad, no_grad
from .errors import GradcheckError
from .value import Value, as_float


def _call(fn: Callable, xs: Sequence[float], where: str) -> Value:
    out = fn(*[Value(x) for x in xs])
    if not isinstance(out, Value):
        raise TypeError(
            f"{where}: fn must return a Value, got {type(out).__name__} {out!r}; "
            f"build the result from the Values it is given"
        )
    return out


def numeric_grad(fn: Callable, inputs: Sequence[float], eps: float = 1e-6) -> list:
    """Central differences (f(x+eps) - f(x-eps)) / 2eps for each input.

    >>> [round(g, 6) for g in numeric_grad(lambda x, y: x * y, [2.0, 3.0])]
    [3.0, 2.0]
    """
    xs = _check_arguments("numeric_grad", fn, inputs, eps, 0.0, 0.0)
    eps = as_float(eps, "numeric_grad(eps)")
    with no_grad():  # no graph needed for the function values
        out = []
        for i, x in enumerate(xs):
            hi = xs[:i] + [x + eps] + xs[i + 1:]
            lo = xs[:i] + [x - eps] + xs[i + 1:]
            out.append((_call(fn, hi, "numeric_grad").data - _call(fn, lo, "numeric_grad").data) / (2 * eps))
        return out


def _one_sided_slopes(fn: Callable, xs: list, i: int, eps: float) -> tuple:
    """(f(x) - f(x - eps)) / eps and (f(x + eps) - f(x)) / eps for input i."""
    def f(d):
        return _call(fn, xs[:i] + [xs[i] + d] + xs[i + 1:], "gradcheck").data

    with no_grad():
        mid = f(0.0)
        return (mid - f(-eps)) / eps, (f(eps) - mid) / eps


def _check_arguments(where: str, fn, inputs, eps, atol, rtol) -> list:
    """The inputs as floats, after checking fn, inputs and the tolerances."""
    if not callable(fn):
        raise TypeError(f"{where}: fn must be callable, got {type(fn).__name__}")
    if isinstance(inputs, (str, bytes)) or not hasattr(inputs, "__iter__"):
        raise TypeError(f"{where}: inputs must be a list of numbers, got {type(inputs).__name__} {inputs!r}")
    xs = [as_float(x, f"{where}: inputs[{i}]") for i, x in enumerate(inputs)]
    for name, v in (("eps", eps), ("atol", atol), ("rtol", rtol)):
        v = as_float(v, f"{where}({name})")
        if not (v >= 0.0 and math.isfinite(v)) or (name == "eps" and v == 0.0):
            raise ValueError(f"{where}: {name} must be a finite number {'> 0' if name == 'eps' else '>= 0'}, got {v}")
    return xs


_UNRELIABLE = "finite differences unreliable here (non-finite values)"


def _compare(index, value: float, a: float, n: float, finite_point: bool, atol: float, rtol: float,
             what: str) -> dict:
    """One report row: analytic ``a`` against numeric ``n``."""
    abs_err = abs(a - n)
    rel_err = abs_err / abs(n) if n else (0.0 if abs_err == 0 else math.inf)
    if not (math.isfinite(n) and finite_point):
        ok, why = False, _UNRELIABLE
    elif not math.isfinite(a):
        ok, why = False, f"{what} is not finite"
    else:
        ok = abs_err <= atol + rtol * abs(n)
        why = "" if ok else "MISMATCH"
    return {"index": index, "value": value, "analytic": a, "numeric": n,
            "abs_err": abs_err, "rel_err": rel_err, "ok": ok, "why": why}


def _fail(rows: list, title: str, raise_exception: bool) -> bool:
    if raise_exception:
        raise GradcheckError(format_report(rows, title), rows)
    return False


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
    xs = _check_arguments("gradcheck", fn, inputs, eps, atol, rtol)
    if not xs:
        raise ValueError("gradcheck: inputs is empty; pass one number per argument of fn, e.g. gradcheck(f, [0.5])")

    values = [Value(x, label=f"x{i}") for i, x in enumerate(xs)]
    with enable_grad():
        try:
            out = fn(*values)
        except TypeError as e:
            raise TypeError(f"gradcheck: fn is called as fn(*values) with one Value per input "
                            f"({len(xs)} given) and raised: {e}") from e
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__} {out!r}")
    out.backward()
    analytic = [v.grad for v in values]
    numeric = numeric_grad(fn, xs, eps)

    rows = []
    kink = False
    for i, (x, a, n) in enumerate(zip(xs, analytic, numeric)):
        row = _compare(i, x, a, n, math.isfinite(out.data), atol, rtol, "analytic gradient")
        if row["why"] == "MISMATCH":
            left, right = _one_sided_slopes(fn, xs, i, eps)
            if abs(left - right) > atol + rtol * max(abs(left), abs(right)):
                # a kink (relu/abs at 0...): no derivative to compare against
                row["why"] = f"not differentiable here (left slope {left:.6g}, right slope {right:.6g})"
                kink = True
        rows.append(row)

    if all(r["ok"] for r in rows):
        return True
    if kink:
        title = ("gradcheck: cannot compare at this point: fn is not differentiable there (its left and "
                 "right slopes differ, e.g. relu or abs at 0); move the point away from the kink")
    elif any(r["why"] == _UNRELIABLE for r in rows):
        title = (f"gradcheck: cannot compare at this point: fn = {out.data} or a finite difference is "
                 f"not finite (eps={eps}); choose a point inside the function's domain")
    else:
        bad = [r["index"] for r in rows if not r["ok"]]
        coarse = [i for i in bad if xs[i] + eps == xs[i] or xs[i] - eps == xs[i]]
        if coarse:  # x +- eps rounds back to x: the finite difference measures nothing
            title = (f"gradcheck: cannot compare at this point: eps={eps} is below the precision of input "
                     f"{coarse[0]} = {xs[coarse[0]]!r} (x + eps == x); pass a larger eps, about "
                     f"{abs(xs[coarse[0]]) * 1e-6:.3g}")
        else:
            title = (f"gradcheck: analytic and numeric gradients differ for input(s) {bad} "
                     f"(atol={atol}, rtol={rtol}, eps={eps})")
    return _fail(rows, title, raise_exception)


def gradgradcheck(fn: Callable[..., Value], inputs: Sequence[float], *, eps: float = 1e-6,
                  atol: float = 1e-5, rtol: float = 1e-3, raise_exception: bool = True) -> bool:
    """Check second derivatives: ``grad(create_graph=True)`` differentiated again.

    For every pair (i, j), the analytic d/dx_j of the create_graph gradient
    d fn/d x_i (``engine.grad`` twice) is compared with central finite
    differences of that gradient's own values, so both the values and the
    graph that ``create_graph=True`` builds are checked.  Same arguments,
    tolerances and report as ``gradcheck``; report rows are labelled
    ``"i,j"``.  Non-finite points are reported as unreliable, not as a
    mismatch.

    >>> gradgradcheck(lambda x, y: (x * y).tanh() + x ** 3, [0.5, -1.5])
    True
    """
    xs = _check_arguments("gradgradcheck", fn, inputs, eps, atol, rtol)
    if not xs:
        raise ValueError("gradgradcheck: inputs is empty; pass one number per argument of fn, "
                         "e.g. gradgradcheck(f, [0.5])")
    n = len(xs)

    def first_grads(point: Sequence[float]) -> tuple:
        values = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
        with enable_grad():  # the gradients' graphs must be recorded
            out = fn(*values)
        if not isinstance(out, Value):
            raise TypeError(f"gradgradcheck: fn must return a Value, got {type(out).__name__} {out!r}")
        return values, out, grad(out, values, create_graph=True)

    values, out, g = first_grads(xs)
    # analytic[i][j] = d g_i / d x_j, through the graph create_graph built
    analytic = [list(grad(gi, values)) for gi in g]
    # numeric[i][j] = (g_i(x + eps e_j) - g_i(x - eps e_j)) / 2 eps
    numeric = [[0.0] * n for _ in range(n)]
    for j in range(n):
        hi = [gi.data for gi in first_grads(xs[:j] + [xs[j] + eps] + xs[j + 1:])[2]]
        lo = [gi.data for gi in first_grads(xs[:j] + [xs[j] - eps] + xs[j + 1:])[2]]
        for i in range(n):
            numeric[i][j] = (hi[i] - lo[i]) / (2 * eps)

    rows = []
    for i in range(n):
        for j in range(n):
            finite_point = math.isfinite(out.data) and math.isfinite(g[i].data)
            rows.append(_compare(f"{i},{j}", xs[j], analytic[i][j], numeric[i][j], finite_point, atol, rtol,
                                 "analytic second derivative"))

    if all(r["ok"] for r in rows):
        return True
    if any(r["why"] == _UNRELIABLE for r in rows):
        title = (f"gradgradcheck: cannot compare at this point: fn = {out.data}, a gradient or a finite "
                 f"difference is not finite (eps={eps}); choose a point inside the function's domain")
    else:
        bad = [r["index"] for r in rows if not r["ok"]]
        title = (f"gradgradcheck: analytic and numeric second derivatives d(d fn/d x_i)/d x_j differ for "
                 f"i,j in {bad} (atol={atol}, rtol={rtol}, eps={eps})")
    return _fail(rows, title, raise_exception)
