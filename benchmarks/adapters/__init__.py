"""One adapter module per engine, all with the same few functions.

An adapter module defines (plain functions, no classes):

    w1_setup(X, Y, weights) -> state        build the model (untimed)
    w1_forward(state) -> loss               timed: the graph + loss
    w1_backward(state, loss)                timed: gradients into the parameters
    w1_zero_grad(state)                     untimed, before each repeat
    w1_result(state, loss) -> (loss, grads) floats; grads in workloads.flat_params order
    w2(n) -> (y, dy/dx)                     timed: chain forward + backward
    w3_setup(a, b) -> state;  w3(state) -> (s, grad_a, grad_b)
    w4(X, Y, weights, steps) -> (loss, accuracy)   micrograd's demo loop
    count_nodes(root) -> int                graph size, leaves included (memory rows)

A function an engine cannot do is simply absent (the runner shows "n/a").
Optional module attributes: ``NOTE`` (shown under the table), ``extra_w3``
(name -> function for engine-specific W3 variants, e.g. chainrule's dot).
"""
from __future__ import annotations

import importlib

# engine name -> module in this package (micrograd_nogc wraps micrograd)
ENGINES = {
    "chainrule": "chainrule_engine",
    "chainrule_gcpaused": "chainrule_gcpaused",
    "chainrule_traced": "chainrule_traced",  # W1 only: engine.trace replays a compiled step
    "micrograd": "micrograd_engine",
    "micrograd_nogc": "micrograd_nogc",
    "scalargrad": "scalargrad_engine",
    "torch_scalar": "torch_scalar",
    "torch_batched": "torch_batched",
    "float_limit": "float_limit",
}


def load(name: str):
    """The adapter module for ``name`` (raises ImportError if its engine is not installed)."""
    return importlib.import_module(f"{__name__}.{ENGINES[name]}")
