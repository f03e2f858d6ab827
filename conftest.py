"""Repository-wide test setup (tests/ and the doctests in engine/ and nn/)."""
import pytest


@pytest.fixture(autouse=True)
def _ops_registry_restored():
    """Ops a test or doctest registers are removed after it, so none leaks into the next one."""
    from engine import ops
    before = set(ops.OPS)
    yield
    for name in [n for n in ops.OPS if n not in before]:
        ops._forget(ops.OPS[name])
