"""Argument checks shared by every ``nn`` module (one place, one wording).

Each check returns the value in the form the caller needs (a float, an
int, a list, a ``random.Random``) or raises ``TypeError`` (wrong kind of
thing) / ``ValueError`` (right kind, bad value) whose message names the
operation (``where``), the argument, the bad value and what would do.

>>> real(0.5, "p", "Dropout", minimum=0.0, maximum=1.0)
0.5
>>> real(10 ** 400, "lr", "SGD")
Traceback (most recent call last):
...
ValueError: SGD: lr = 1000000000000000... is too large for a float; give a finite number
"""
from __future__ import annotations

import math
import numbers
import os
import random
from typing import Iterable, List, Optional, Sequence

from engine import Value

_sum = sum  # the builtin, whatever a caller's module calls "sum"

__all__ = ["is_number", "real", "integer", "choice", "as_rng", "as_list", "class_index", "check_samples",
           "check_path", "short"]


def short(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message must stay one readable line)."""
    try:
        text = repr(value)
    except RecursionError:  # a crafted, deeply nested list from a file
        text = f"<{type(value).__name__} nested too deeply to show>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def is_number(x) -> bool:
    """A real number that is not a bool: int, float, numpy scalars, Fraction, ...

    >>> is_number(1), is_number(2.5), is_number(True), is_number("1")
    (True, True, False, False)
    """
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def real(value, name: str, where: str, *, minimum: Optional[float] = None, maximum: Optional[float] = None,
         low_open: bool = False, high_open: bool = False, finite: bool = True) -> float:
    """``value`` as a float: any real number but bool (numpy scalars too), finite unless ``finite=False`` (nan/inf pass),
    within ``[minimum, maximum]`` (open ends with ``low_open``/``high_open``).

    >>> real(3, "lr", "SGD", minimum=0.0, low_open=True)
    3.0
    """
    if not is_number(value):
        raise TypeError(f"{where}: {name} must be a number, got {type(value).__name__} {short(value)}")
    try:
        x = float(value)
    except (OverflowError, ValueError, TypeError):
        raise ValueError(f"{where}: {name} = {str(value)[:16]}... is too large for a float; "
                         f"give a finite number") from None
    if finite and not math.isfinite(x):
        raise ValueError(f"{where}: {name} must be a finite number, got {x!r}")
    bad_low = minimum is not None and (x < minimum or (low_open and x == minimum))
    bad_high = maximum is not None and (x > maximum or (high_open and x == maximum))
    if bad_low or bad_high:
        lo = "" if minimum is None else f"{'>' if low_open else '>='} {minimum:g}"
        hi = "" if maximum is None else f"{'<' if high_open else '<='} {maximum:g}"
        raise ValueError(f"{where}: {name} must be {' and '.join(s for s in (lo, hi) if s)}, got {x!r}")
    return x


def integer(value, name: str, where: str, *, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
    """``value`` as a Python int: any ``numbers.Integral`` but bool (numpy ints too), within bounds.

    >>> integer(16, "nout", "Layer", minimum=1)
    16
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        at_least = f" >= {minimum}" if minimum is not None else ""
        raise TypeError(f"{where}: {name} must be an int{at_least}, got {type(value).__name__} {short(value)}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise ValueError(f"{where}: {name} must be >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{where}: {name} must be <= {maximum:,}, got {short(v, 30)}")
    return v


def choice(value, choices: Sequence[str], name: str, where: str) -> str:
    """``value`` if it is one of ``choices``, else ValueError listing them.

    >>> choice("relu", ("relu", "tanh"), "activation", "Layer")
    'relu'
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{where}: unknown {name} {short(value)}; choose one of {', '.join(choices)}")
    return value


def as_rng(seed, where: str) -> random.Random:
    """A ``random.Random`` from ``seed``: an int (numpy ints too), None (fresh entropy) or a ``random.Random``
    to draw from.  Floats (nan!), strings and bools are refused: they would not reproduce as users expect.

    >>> as_rng(0, "make_moons").random() == random.Random(0).random()
    True
    """
    if isinstance(seed, random.Random):
        return seed
    if seed is None:
        return random.Random()
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        return random.Random(int(seed))
    raise TypeError(f"{where}: seed must be an int, None or a random.Random, got {type(seed).__name__} "
                    f"{short(seed)}")


def as_list(obj, name: str, where: str) -> list:
    """``obj`` (any iterable but a str/bytes/dict) as a list.

    >>> as_list((1, 2), "X", "fit")
    [1, 2]
    """
    if isinstance(obj, (str, bytes, dict)) or not isinstance(obj, Iterable):
        raise TypeError(f"{where}: {name} must be a list, got {type(obj).__name__} {short(obj)}")
    return list(obj)


def class_index(t) -> Optional[int]:
    """``t`` as a Python int class index (numpy ints, integral floats such as 1.0), or None (bools too).

    >>> class_index(2.0), class_index(2.5), class_index(True)
    (2, None, None)
    """
    if isinstance(t, bool):
        return None
    if isinstance(t, numbers.Integral):
        return int(t)
    if isinstance(t, numbers.Real):
        try:
            f = float(t)
        except (TypeError, ValueError, OverflowError):
            return None
        return int(f) if f.is_integer() else None
    return None


def check_samples(X: Iterable, name: str, where: str, *, width: Optional[int] = None,
                  values: bool = True) -> List[list]:
    """Every sample a flat list of finite numbers (or Values), all of one length (``width`` if given).

    Returns the samples as lists of floats; Values are kept when ``values``, else replaced by their ``.data``.  The
    errors name the sample and feature: ``fit: X[3][1] is nan``.  A NaN
    feature would otherwise train NaN weights for epochs without a word.

    >>> check_samples([[1, 2.5]], "X", "fit")
    [[1.0, 2.5]]
    """
    out = []
    given = width is not None
    for i, x in enumerate(X):
        # fast path, a list of finite floats of the right length (a list of them would sum to nan/inf
        # if any were not finite, or overflow: both fall through to the checks below, which name the cell)
        if (type(x) is list and (width is None or len(x) == width) and all(type(v) is float for v in x)
                and math.isfinite(_sum(x))):
            if width is None:
                width = len(x)
            out.append(list(x))
            continue
        if isinstance(x, (str, bytes, dict, Value)) or not hasattr(x, "__iter__") or is_number(x):
            raise TypeError(f"{where}: {name}[{i}] must be a list of numbers (one sample), "
                            f"got {type(x).__name__} {short(x)}")
        row = []
        for j, v in enumerate(x):
            if type(v) is float:  # the common case first
                f = v
            elif isinstance(v, Value):
                f = v.data
                if values:  # keep the Value (a graph may run through it); check its number below
                    if not math.isfinite(f):
                        raise ValueError(f"{where}: {name}[{i}][{j}] is {f}; every feature must be a finite "
                                         f"number (drop or fill missing values first)")
                    row.append(v)
                    continue
            elif not is_number(v):
                hint = " (a nested list? one sample is a flat list of numbers)" if isinstance(v, (list, tuple)) else ""
                raise TypeError(f"{where}: {name}[{i}][{j}] must be a number, got {type(v).__name__} "
                                f"{short(v)}{hint}")
            else:
                try:
                    f = float(v)
                except OverflowError:
                    raise ValueError(f"{where}: {name}[{i}][{j}] = {str(v)[:16]}... is too large for a float") from None
            if not math.isfinite(f):
                raise ValueError(f"{where}: {name}[{i}][{j}] is {f}; every feature must be a finite number "
                                 f"(drop or fill missing values first)")
            row.append(f)
        if width is None:
            width = len(row)
        elif len(row) != width:
            first = f"the model takes {width}" if given else f"{name}[0] has {width}"
            raise ValueError(f"{where}: {name}[{i}] has {len(row)} features but {first}; "
                             f"every sample needs the same length")
        out.append(row)
    return out


def check_path(path, where: str) -> str:
    """A file path (str, bytes or ``os.PathLike``) as a str.

    >>> check_path("model.json", "save_model")
    'model.json'
    """
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{where}: path must be a str or os.PathLike, got {type(path).__name__} {short(path)}")
    p = os.fsdecode(os.fspath(path))
    if not p:
        raise ValueError(f"{where}: path is empty; give a file name such as 'model.json'")
    if "\0" in p:
        raise ValueError(f"{where}: path {short(p)} holds a NUL character, which no file name can")
    return p
