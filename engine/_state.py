"""Thread-local global modes (grad recording, anomaly detection).

Every op must know "record normally?" for *its* thread, and that check is
on the hottest path there is.  Reading a ``threading.local`` attribute
costs ~550 machine instructions (callgrind; a whole node costs ~1,500), so
the ops first read a plain module global, ``_ALL_FAST``, which is True
while no thread anywhere is inside ``no_grad``/``detect_anomaly``.  Only
when some thread is do ops fall back to the thread-local check.  Measured:
~26% less per node created.

``publish_to(namespace)`` registers a globals dict whose ``_ALL_FAST`` is
kept up to date (value.py's module globals and its generated methods').
"""
from __future__ import annotations

import threading

_lock = threading.Lock()
_threads_not_fast = 0
_namespaces: list = []


def publish_to(namespace: dict) -> None:
    """Keep ``namespace["_ALL_FAST"]`` equal to "no thread is in a special mode"."""
    namespace["_ALL_FAST"] = _threads_not_fast == 0
    _namespaces.append(namespace)


def _count(delta: int) -> None:
    global _threads_not_fast
    with _lock:
        _threads_not_fast += delta
        all_fast = _threads_not_fast == 0
        for ns in _namespaces:
            ns["_ALL_FAST"] = all_fast


class _Mode(threading.local):
    # Class attributes are the defaults each new thread starts from.
    grad_enabled = True
    anomaly = False
    fast = True  # grad_enabled and not anomaly: ops record normally

    def set(self, *, grad_enabled: bool | None = None, anomaly: bool | None = None) -> None:
        was_fast = self.fast
        if grad_enabled is not None:
            self.grad_enabled = bool(grad_enabled)
        if anomaly is not None:
            self.anomaly = bool(anomaly)
        self.fast = self.grad_enabled and not self.anomaly
        if self.fast != was_fast:
            _count(-1 if self.fast else +1)


mode = _Mode()
