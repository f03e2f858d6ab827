"""Exceptions raised by the engine."""
from __future__ import annotations


class AnomalyError(FloatingPointError):
    """Raised inside ``detect_anomaly()`` when an op first produces nan/inf."""


class GradcheckError(RuntimeError):
    """Raised by ``gradcheck`` when analytic and numeric gradients disagree.

    ``.report`` holds one dict per input (value, analytic, numeric,
    abs_err, rel_err, ok).
    """

    def __init__(self, message: str, report: list | None = None):
        super().__init__(message)
        self.report = report or []


class OpError(RuntimeError):
    """A function given to ``register_op`` failed; the message names the op and its input values."""


class UnusedInputError(ValueError):
    """Raised by ``compile_graph`` when an input leaf does not reach the root.

    A replay would ignore the numbers fed for it, so the recorded graph most
    likely holds its value as a constant instead.  ``.index``: its position in
    ``inputs``; ``.count``: how many inputs are unused.
    """

    def __init__(self, message: str, index: int, count: int):
        super().__init__(message)
        self.index = index
        self.count = count

    def __reduce__(self):  # pickle (a worker process raising it) rebuilds it with all three
        return type(self), (str(self), self.index, self.count)
