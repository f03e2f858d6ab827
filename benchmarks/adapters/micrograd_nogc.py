"""micrograd 0.1.0 with the cyclic garbage collector paused during each timed step.

Shows how much of micrograd's time is the collector (its closures make every
node a reference cycle).  The collector is re-enabled after the step, and the
runner's untimed gc.collect() between repeats frees the garbage, so this
engine never pays for collecting its graphs: a best case for micrograd.
"""
from __future__ import annotations

import gc

from . import micrograd_engine as _mg

NOTE = "micrograd_nogc: gc.disable() during forward+backward; collecting its garbage is not timed"
w1_setup, w1_zero_grad, w1_result, w3_setup, count_nodes = (
    _mg.w1_setup, _mg.w1_zero_grad, _mg.w1_result, _mg.w3_setup, _mg.count_nodes)


def _paused(fn):
    def run(*args):
        gc.disable()
        try:
            return fn(*args)
        finally:
            gc.enable()
    return run


def w1_forward(s):
    gc.disable()  # re-enabled at the end of w1_backward (or by the runner on a crash)
    return _mg.w1_forward(s)


def w1_backward(s, loss):
    try:
        _mg.w1_backward(s, loss)
    finally:
        gc.enable()


w2 = _paused(_mg.w2)
w3 = _paused(_mg.w3)
