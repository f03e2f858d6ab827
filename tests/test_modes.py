"""Grad modes keep their own state per thread and per asyncio task, and never get stuck.

no_grad / enable_grad / detect_anomaly / fused each save and restore only
their own state (PyTorch semantics), in a ContextVar: leaving them in any
order (two generators, two tasks) leaves nothing switched on or off for good.
"""
import asyncio
import math
import threading

import pytest

import engine
from engine import Value, detect_anomaly, enable_grad, fused, is_grad_enabled, no_grad


def modes():
    return is_grad_enabled(), engine.modestate.is_on(engine.modestate.ANOMALY), engine.modestate.is_on(engine.modestate.FUSED)


def test_leaving_modes_out_of_order_restores_each_one():
    # two generators, each inside one mode, finished in the opposite order
    def in_no_grad():
        with no_grad():
            yield
            yield

    def in_anomaly():
        with detect_anomaly():
            yield
            yield

    a, b = in_no_grad(), in_anomaly()
    next(a)
    next(b)
    assert modes() == (False, True, False)
    next(a, None), next(a, None)   # no_grad ends first: recording is back, anomaly still on
    assert modes() == (True, True, False)
    next(b, None), next(b, None)
    assert modes() == (True, False, False)
    y = Value(2.0) * 3.0
    assert y.op == "mul"


def test_context_objects_can_be_left_in_any_order():
    ng, da, fz = no_grad(), detect_anomaly(), fused()
    ng.__enter__()
    da.__enter__()
    fz.__enter__()
    ng.__exit__(None, None, None)
    assert modes() == (True, True, True)
    da.__exit__(None, None, None)
    fz.__exit__(None, None, None)
    assert modes() == (True, False, False)


def test_exit_without_enter_is_a_clear_error():
    with pytest.raises(RuntimeError, match="no_grad.__exit__ was called without a matching __enter__"):
        no_grad().__exit__(None, None, None)
    with pytest.raises(RuntimeError, match="gc_paused.__exit__ was called without a matching __enter__"):
        engine.gc_paused().__exit__(None, None, None)
    assert modes() == (True, False, False)


def test_asyncio_tasks_each_see_their_own_mode():
    seen = {}

    async def task(name, mode):
        with mode():
            await asyncio.sleep(0)            # the other task runs here, in its own mode
            seen[name] = (Value(1.0) * 2.0).op
            await asyncio.sleep(0)

    async def main():
        await asyncio.gather(task("recording", enable_grad), task("no_grad", no_grad),
                             task("recording2", enable_grad))

    asyncio.run(main())
    assert seen == {"recording": "mul", "no_grad": "", "recording2": "mul"}
    assert modes() == (True, False, False)


def test_no_grad_on_a_generator_function_applies_while_it_runs():
    @no_grad
    def gen():
        for i in range(3):
            got = yield (Value(float(i)) * 2.0)
            assert got is None or got == "sent"

    g = gen()
    first = next(g)
    assert first.op == ""                       # made inside the generator: no graph
    assert (Value(1.0) * 2.0).op == "mul"       # the caller records, between steps
    assert g.send("sent").op == ""
    assert is_grad_enabled()
    with pytest.raises(ValueError):
        g.throw(ValueError("into the generator"))
    assert is_grad_enabled()


def test_decorators_with_and_without_parentheses_and_return_values():
    @no_grad()
    def f(x):
        return x * x, is_grad_enabled()

    @detect_anomaly
    def g(x):
        return x.log()

    y, enabled = f(Value(3.0))
    assert y.op == "" and enabled is False and is_grad_enabled()
    with pytest.raises(engine.AnomalyError):
        g(Value(0.0))
    assert not engine.modestate.is_on(engine.modestate.ANOMALY)


def test_threads_start_in_the_default_modes_and_do_not_leak():
    results = []
    with no_grad():
        t = threading.Thread(target=lambda: results.append((Value(1.0) * 2.0).op))
        t.start()
        t.join()
    assert results == ["mul"]


def test_two_threads_backward_through_a_shared_node():
    # the walk marks nodes in their .grad slot; backward() runs one at a time,
    # so another thread never meets a mark nor loses an addition to a shared leaf
    import sys
    shared = Value(0.3)
    h = (shared * 2.0).tanh()
    graphs = []
    for i in range(1, 5):
        y = h * float(i)
        for _ in range(2000):
            y = (y * 0.999 + h).sigmoid()  # fan-in nodes: the walk runs, through the shared h
        graphs.append(y)
    errors = []

    def work(y):
        try:
            for _ in range(20):
                y.backward()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        threads = [threading.Thread(target=work, args=(y,)) for y in graphs]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:1]
    want = sum(engine.grad(y, [shared])[0] for y in graphs) * 20
    assert math.isclose(shared.grad, want, rel_tol=1e-9)
