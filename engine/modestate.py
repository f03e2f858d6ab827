"""The grad modes (no_grad, detect_anomaly, fused): context-local, each with its own state.

A mode lives in a ``ContextVar``, so every thread and every asyncio task
sees its own, and each mode saves and restores only its own bit: leaving
``no_grad`` and ``detect_anomaly`` in any order leaves neither stuck.

Every op must know "record normally?" on the hottest path there is, so ops
first read plain module globals: ``_ALL_FAST``, True while no mode is
entered anywhere, and ``_RECORD_FAST``, True while no mode but ``fused`` is
(the ops fusion leaves alone need not look further).  Only otherwise do
they read the ContextVar.  ``publish_to(namespace)`` registers a globals
dict (engine.value's, and its generated methods') whose flags are kept up
to date.
"""
from __future__ import annotations

import contextlib
import contextvars
import threading

NO_GRAD = 1   # record no graph: results are leaves
ANOMALY = 2   # detect_anomaly: check every result
FUSED = 4     # fused: + and - extend fused sum/dot nodes (engine/fusion.py)
BITS = {NO_GRAD: "grad disabled", ANOMALY: "anomaly detection", FUSED: "fusion"}

_mode = contextvars.ContextVar("chainrule_mode", default=0)
get_mode = _mode.get  # bound C method: the cheapest read there is
_saved = {bit: contextvars.ContextVar(f"chainrule_saved_{bit}", default=()) for bit in BITS}
_strict_float = contextvars.ContextVar("chainrule_strict_float", default=None)

_lock = threading.Lock()
# mode contexts entered and not yet left, in every thread and task: fused ones, and the others
_entered = {True: 0, False: 0}
_namespaces: list = []


def publish_to(namespace: dict) -> None:
    """Keep ``namespace["_ALL_FAST"]`` and ``namespace["_RECORD_FAST"]`` up to date (see above)."""
    with _lock:
        namespace["_ALL_FAST"] = _entered[True] == _entered[False] == 0
        namespace["_RECORD_FAST"] = _entered[False] == 0
        _namespaces.append(namespace)


def _count(bit: int, delta: int) -> None:
    with _lock:
        _entered[bit == FUSED] += delta
        record_fast = _entered[False] == 0
        all_fast = record_fast and _entered[True] == 0
        for ns in _namespaces:
            ns["_ALL_FAST"] = all_fast
            ns["_RECORD_FAST"] = record_fast


def enter(bit: int, on: bool) -> None:
    """Set mode ``bit`` on or off in this context, saving its previous state (for ``leave``)."""
    m = _mode.get()
    saved = _saved[bit]
    saved.set(saved.get() + (bool(m & bit),))
    _mode.set((m | bit) if on else (m & ~bit))
    _count(bit, +1)


def leave(bit: int, who: str) -> None:
    """Restore mode ``bit`` to what it was at the matching ``enter``."""
    saved = _saved[bit]
    stack = saved.get()
    if not stack:
        raise RuntimeError(f"{who}.__exit__ was called without a matching __enter__ in this thread/task; "
                           f"use it as `with {who}():` or as a decorator")
    saved.set(stack[:-1])
    m = _mode.get()
    _mode.set((m | bit) if stack[-1] else (m & ~bit))
    _count(bit, -1)


def is_on(bit: int) -> bool:
    return bool(_mode.get() & bit)


@contextlib.contextmanager
def strict_float(op: str):
    """Inside: ``float(value)`` raises, naming ``op`` (a registered op's derivative called with Values)."""
    token = _strict_float.set(op)
    try:
        yield
    finally:
        _strict_float.reset(token)


def strict_float_op():
    """The op whose derivative is being called with Values, or None."""
    return _strict_float.get()


# Set once a micrograd-style node with a _backward closure exists in this
# process (engine/micrograd.py): from then on backward() runs the reference
# algorithm, which calls the closures; the fast path cannot see into them.
closure_nodes = False


def note_closure_node() -> None:
    global closure_nodes
    closure_nodes = True
