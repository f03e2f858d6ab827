"""Shared machinery of the bad-input matrices (tests/test_bad_inputs.py for
the engine, tests/test_nn_bad_inputs.py for nn): the inputs to try, a case
registry, and the one rule every case is judged by."""
import math

import pytest

# Never allowed to reach the user from our code.
FORBIDDEN = (AssertionError, IndexError, KeyError, ZeroDivisionError, RecursionError, AttributeError)
NUMBERS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf, "huge": 1e308, "tiny": 5e-324, "-0.0": -0.0}
WRONG_TYPES = {"str": "1", "None": None, "list": [1.0], "dict": {}, "complex": 1j, "bool": True, "object": object()}


class Matrix:
    """Cases registered with ``@matrix.case(name, expect, match)``; ``expect`` is
    "ok", an exception type, or a tuple of them."""

    def __init__(self):
        self.cases = []

    def case(self, name, expect, match=None):
        def deco(fn):
            self.cases.append(pytest.param(fn, expect, match, id=name))
            return fn
        return deco


def check(thunk, expect, match):
    """Run one case: it returns normally (if "ok" is expected) or raises an
    expected, specific exception with a message (mentioning ``match``)."""
    expected = expect if isinstance(expect, tuple) else (expect,)
    try:
        thunk()
    except FORBIDDEN as e:  # pragma: no cover - the failure we look for
        pytest.fail(f"bare {type(e).__name__} escaped: {e}")
    except Exception as e:  # noqa: BLE001
        types = tuple(t for t in expected if t != "ok")
        assert types and isinstance(e, types), f"unexpected {type(e).__name__}: {e}"
        if match:
            assert match in str(e), f"message {str(e)!r} should mention {match!r}"
        assert str(e), "an error message must say what went wrong"
    else:
        assert "ok" in expected, f"expected {expected}, but it returned normally"
