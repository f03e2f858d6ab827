"""chainrule with its documented `engine.gc_paused()` around each timed step.

chainrule's graphs have no reference cycles, so pausing the cyclic collector
loses nothing (reference counting frees the graph) and saves the collector's
repeated walks over a growing graph.  nn.fit does this per step; this row
shows what it is worth on each workload.
"""
import engine

from . import chainrule_engine as _c

if not hasattr(engine, "gc_paused"):
    raise ImportError("this engine has no engine.gc_paused")

NOTE = "chainrule_gcpaused: `with engine.gc_paused():` around forward+backward (W1, W2, W3)"
w1_setup, w1_zero_grad, w1_result, w3_setup, count_nodes = (
    _c.w1_setup, _c.w1_zero_grad, _c.w1_result, _c.w3_setup, _c.count_nodes)

_pause = engine.gc_paused()


def w1_forward(s):
    _pause.__enter__()  # left in w1_backward: the pause spans the whole step
    try:
        return _c.w1_forward(s)
    except BaseException:
        _pause.__exit__(None, None, None)
        raise


def w1_backward(s, loss):
    try:
        _c.w1_backward(s, loss)
    finally:
        _pause.__exit__(None, None, None)


def w2(n):
    with engine.gc_paused():
        return _c.w2(n)


def w3(s):
    with engine.gc_paused():
        return _c.w3(s)


def _w3_dot(s):
    with engine.gc_paused():
        return _c.w3_dot(s)


def _w3_fused(s):
    with engine.gc_paused():
        return _c.w3_fused(s)


extra_w3 = {"dot": _w3_dot, "fused": _w3_fused}
