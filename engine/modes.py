"""The grad modes as context managers and decorators: no_grad, enable_grad, detect_anomaly, fused.

Each mode keeps its own state per thread and per asyncio task (see
``engine/modestate.py``), so modes nest and interleave freely: leaving them in
any order never leaves one stuck.  Like PyTorch's, they work as
``with no_grad():``, ``@no_grad()`` and ``@no_grad``; on a generator
function the mode applies while the generator runs, not while it waits.
"""
from __future__ import annotations

import contextlib
import functools
import gc
import inspect
import threading

from . import modestate


class _Mode:
    """Base of the mode context managers: sets one mode bit and restores it on exit."""

    _bit = 0
    _on = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        if callable(func):  # used as @no_grad without parentheses
            return self(func)
        raise TypeError(f"{cls.__name__}() takes no arguments (got {func!r}); use `with {cls.__name__}():`")

    def __init__(self, func=None) -> None:
        pass

    def __enter__(self):
        modestate.enter(self._bit, self._on)
        return self

    def __exit__(self, *exc):
        modestate.leave(self._bit, type(self).__name__)
        return False

    def __call__(self, func):
        """Decorate ``func``: it runs inside this mode (a generator: while it runs)."""
        if not callable(func):
            raise TypeError(f"{type(self).__name__}: can only decorate a function, got {type(func).__name__}")
        cls = type(self)
        if inspect.isgeneratorfunction(func):
            @functools.wraps(func)
            def generator(*args, **kwargs):
                return (yield from _run_in_mode(cls, func(*args, **kwargs)))
            return generator

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with cls():
                return func(*args, **kwargs)
        return wrapper

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _run_in_mode(cls, gen):
    """Drive ``gen`` so that each of its steps runs inside ``cls()`` and none of the caller's code does."""
    try:
        with cls():
            response = gen.send(None)
        while True:
            try:
                request = yield response
            except GeneratorExit:
                with cls():
                    gen.close()
                raise
            except BaseException as e:  # thrown in by the caller: pass it on, inside the mode
                with cls():
                    response = gen.throw(e)
            else:
                with cls():
                    response = gen.send(request)
    except StopIteration as stop:
        return stop.value


class no_grad(_Mode):
    """Context manager (or decorator): ops inside record no graph.

    Results are leaves (``.op == ""``).  Per thread and per asyncio task,
    like PyTorch's.  Faster than recording: no derivatives, no parent tuples.

    >>> from engine import Value
    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.op, y.parents
    ('', ())
    """

    _bit = modestate.NO_GRAD
    _on = True


class enable_grad(_Mode):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _bit = modestate.NO_GRAD
    _on = False


class detect_anomaly(_Mode):
    """Raise ``AnomalyError`` at the first nan/inf in forward or backward.

    Names the op, its inputs and the formula that produced it.  Off by
    default; costs nothing when off.

    >>> from engine import Value
    >>> with detect_anomaly():
    ...     Value(0.0).log()
    Traceback (most recent call last):
    ...
    engine.errors.AnomalyError: detect_anomaly: op 'log' produced -inf in forward from finite inputs (0); ...
    """

    _bit = modestate.ANOMALY
    _on = True


class fused(_Mode):
    """Record micrograd-style code as fused nodes: ``sum(w * x ...)`` becomes one ``dot`` node.

    Inside it, ``+`` and ``-`` extend a fused sum instead of adding one node
    per op, and a product feeding a sum becomes a pair of the dot product,
    so code written one op at a time runs at the speed of ``engine.dot``.
    Leaf values and gradients are the same as without it (see
    ``engine/fusion.py`` for exactly what is guaranteed).

    >>> from engine import Value
    >>> w = [Value(0.5), Value(-1.0)]; x = [2.0, 3.0]
    >>> with fused():
    ...     y = sum(wi * xi for wi, xi in zip(w, x))
    >>> y.data, len(y.parents)
    (-2.0, 2)
    """

    _bit = modestate.FUSED
    _on = True


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread/task."""
    return not modestate.is_on(modestate.NO_GRAD)


def is_anomaly_enabled() -> bool:
    """Whether ``detect_anomaly`` is on in this thread/task (PyTorch's ``torch.is_anomaly_enabled``).

    >>> is_anomaly_enabled()
    False
    >>> with detect_anomaly():
    ...     is_anomaly_enabled()
    True
    """
    return modestate.is_on(modestate.ANOMALY)


class gc_paused(contextlib.ContextDecorator):
    """Pause Python's cyclic garbage collector while building big graphs.

    A graph of Values has no reference cycles, so the collector has nothing
    to find in it, but it still walks every new node again and again as
    the graph grows (W2 of benchmarks/: ~3x slower with it on).  Reference
    counting still frees everything.  The collector's previous state is
    restored on exit, also on exceptions; nesting and threads are counted,
    so it is re-enabled only when the last pause ends.  ``nn.fit`` uses it.

    >>> from engine import Value
    >>> with gc_paused():
    ...     y = Value(0.5)
    ...     for _ in range(10_000):
    ...         y = (y * 1.0001).tanh()
    """

    _lock = threading.Lock()
    _depth = 0
    _was_enabled = False

    def __enter__(self):
        cls = gc_paused
        with cls._lock:
            if cls._depth == 0:
                cls._was_enabled = gc.isenabled()
                gc.disable()
            cls._depth += 1
        return self

    def __exit__(self, *exc):
        cls = gc_paused
        with cls._lock:
            if cls._depth == 0:
                raise RuntimeError("gc_paused.__exit__ was called without a matching __enter__")
            cls._depth -= 1
            if cls._depth == 0 and cls._was_enabled:
                gc.enable()
        return False
