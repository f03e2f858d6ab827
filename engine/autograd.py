"""Reverse mode: the chain rule over the recorded graph, written to be read.

The whole algorithm (``backward_reference`` below)::

    order = topological_order(root)        # 1. every node after the nodes it was computed from
    root.grad += gradient
    for node in reversed(order):           # 2. from the root down, the chain rule node by node:
        for parent, local in zip(node.parents, node.local_grads):
            parent.grad += local * node.grad

Each node's local derivatives d(node)/d(parent) were computed as floats
when the node was made (``engine/ops.py``), so step 2 is a multiply-add
loop.  Every consumer of a node comes before it in ``reversed(order)``, so a
node's gradient is complete when the loop reaches it.

``backward()`` runs this algorithm through ``engine/fastpath.py``: the same
additions in the same order, with tricks that make it several times
faster; tests prove both give the same float bits.  ``detect_anomaly()``
and ``grad()`` use the reference here, and ``grad(create_graph=True)`` is
the same loop over local derivatives that are Values.
"""
from __future__ import annotations

import platform
import threading
from collections import defaultdict
from itertools import repeat
from typing import Callable, Optional, Sequence

from . import fastpath, fusion, modestate, ops
from .fusion import Terms
from .errors import AnomalyError
from .value import Value, as_float, dot_operands

_isfinite = __import__("math").isfinite


def topological_order(root: Value) -> list:
    """Every Value ``root`` depends on, each after all the Values it was computed from; root last.

    Iterative depth-first search (no recursion, so a 1,000,000-deep chain
    is fine); deterministic: it follows operand order, and is the order
    ``backward()`` uses.

    >>> a = Value(1.0, label="a"); b = a * 2.0; c = b + a
    >>> [v.label or v.op for v in topological_order(c)]
    ['a', 'mul', 'add']
    """
    if not isinstance(root, Value):
        raise TypeError(f"topological_order: expected a Value, got {type(root).__name__}")
    order = []
    state = {}  # node -> 1 while its inputs are being walked, 2 once listed
    stack = [root]
    while stack:
        node = stack.pop()
        st = state.get(node)
        if st is None:            # first visit: come back to it after its inputs
            state[node] = 1
            stack.append(node)
            for parent in node.parents:
                if parent not in state:
                    stack.append(parent)
        elif st == 1:             # second visit: all its inputs are listed
            state[node] = 2
            order.append(node)
    return order


def backward_reference(root: Value, gradient: float = 1.0, check: Optional[Callable] = None) -> None:
    """``backward()`` written plainly: the algorithm ``engine/fastpath.py`` must match bit for bit."""
    order = topological_order(root)
    for node in order:
        if node.parents:
            node.grad = 0.0       # intermediate nodes hold this call's gradient; leaves accumulate
    root.grad += gradient
    backpropagate(order, ON_NODES, check=check)


def backpropagate(order: list, grads, local_grads: Callable = None, check: Optional[Callable] = None) -> None:
    """The chain rule over ``order`` (a topological order, root last), from the root down.

    ``grads`` maps a node to d(root)/d(node) and is added into: the nodes'
    own ``.grad`` (``ON_NODES``) for backward(), a dict for grad().
    ``local_grads(node)`` gives d(node)/d(parent) per parent (the recorded
    floats by default; Values for create_graph).
    """
    local_grads = local_grads or _recorded
    for node in reversed(order):
        if node._local is CLOSURE:  # a micrograd-style node: its own _backward adds into its parents
            if grads is not ON_NODES:
                raise TypeError(f"grad(): node {node.op!r} was made micrograd-style, with a _backward closure "
                                f"that writes .grad; use .backward() on graphs with such nodes")
            node._backward()
            continue
        g = grads[node]
        for i, (parent, local) in enumerate(zip(node.parents, local_grads(node))):
            contribution = chain(node, i, local, g)
            if check is not None:
                check(node, parent, local, g, contribution)
            grads[parent] += contribution


def chain(node: Value, i: int, local, g):
    """``local * g``: one term of the chain rule.

    Where PyTorch's backward masks instead of multiplying (relu at x <= 0),
    an inf or nan upstream gradient gives 0 there, not ``0 * inf = nan``.
    """
    c = local * g
    value = c.data if isinstance(c, Value) else c
    if value != value and ops.masked(node, i):
        return 0.0
    return c


def _recorded(node: Value) -> tuple:
    return node.local_grads


class _OnNodes:
    """The nodes' own ``.grad`` as a mapping, so ``backpropagate`` adds into them."""

    def __getitem__(self, node: Value) -> float:
        return node.grad

    def __setitem__(self, node: Value, g: float) -> None:
        node.grad = g


ON_NODES = _OnNodes()

# The ``_local`` of a node whose backward is a micrograd-style ``_backward``
# closure (engine/micrograd.py) instead of recorded local derivatives.
CLOSURE = type("Closure", (), {"__repr__": lambda self: "<_backward closure>", "__slots__": ()})()

# The fast path relies on CPython keeping float identity (its walk marks
# nodes with 0.0 objects made per call); elsewhere (PyPy) backward() runs the
# reference algorithm above, which needs no such thing.
FAST = platform.python_implementation() == "CPython"


# One backward() at a time, whatever the thread: the fast walk marks nodes in
# their .grad, and two graphs may share nodes and leaves (whose += would race).
_one_at_a_time = threading.RLock()
# Set while a backward() runs (in the one thread holding the lock): a second one
# from that thread (a signal handler, __del__) would overwrite the first's marks
# and half-accumulated gradients.
_running = [False]


def backward(root: Value, gradient=1.0) -> None:
    """Accumulate d(root)/d(leaf) * gradient into every leaf's ``.grad``.

    Intermediate nodes get this call's gradient.  Thread-safe: calls from
    several threads run one after another, so graphs that share nodes or
    leaves get every contribution.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward: expected a Value, got {type(root).__name__}")
    gradient = as_float(gradient, "backward(gradient)")
    with _one_at_a_time:
        if _running[0]:
            raise RuntimeError("backward: called while another backward() is running in this thread (from a "
                               "signal handler, a __del__ or a callback?); both would write the same nodes' "
                               ".grad, so call it after the first one returns")
        _running[0] = True
        try:
            if modestate.is_on(modestate.ANOMALY):
                backward_reference(root, gradient, check=_anomaly_check)
            elif FAST and not modestate.closure_nodes:
                fastpath.backward(root, gradient)
            else:
                backward_reference(root, gradient)
        finally:
            _running[0] = False


def _anomaly_check(node: Value, parent: Value, local: float, g: float, contribution: float) -> None:
    """detect_anomaly() in backward: stop at the first nan/inf coming from finite gradients."""
    if not _isfinite(contribution) and _isfinite(g):
        from .graph import formula
        raise AnomalyError(
            f"detect_anomaly: backward of op '{node.op}' produced {contribution} "
            f"(local derivative {local} x upstream gradient {g}) for input {formula(parent)} "
            f"of {formula(node)}; the op's derivative is not finite at this point")


def _anomaly_check_values(node: Value, parent: Value, local, g, contribution) -> None:
    """``_anomaly_check`` for create_graph, whose terms are Values."""
    def num(x):
        return x.data if isinstance(x, Value) else x
    _anomaly_check(node, parent, num(local), num(g), num(contribution))


def check_grad_args(output, inputs, where: str, output_name: str = "output", inputs_name: str = "inputs") -> list:
    """``inputs`` as a list, after checking it holds Values and ``output`` is one."""
    if not isinstance(output, Value):
        raise TypeError(f"{where}: {output_name} must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"{where}: {inputs_name} must be a list of Values, got {type(inputs).__name__}") from None
    if not all(map(isinstance, inputs, repeat(Value))):  # in C: a GPT's 4,192 params, each compile
        i, x = next((i, x) for i, x in enumerate(inputs) if not isinstance(x, Value))
        raise TypeError(f"{where}: {inputs_name}[{i}] must be a Value, got {type(x).__name__} {x!r}"[:300])
    return inputs


def grad(output: Value, inputs: Sequence[Value], *, create_graph: bool = False) -> tuple:
    """Gradients of ``output`` w.r.t. each of ``inputs``, like ``torch.autograd.grad``.

    Leaves every ``.grad`` untouched.  Returns a tuple of floats, or with
    ``create_graph=True`` a tuple of Values whose graphs can be
    differentiated again (second derivatives).  An input that ``output``
    does not depend on gets 0.

    >>> x = Value(3.0); y = x ** 3
    >>> (dy,) = grad(y, [x], create_graph=True)
    >>> dy.data, grad(dy, [x])[0]
    (27.0, 18.0)
    """
    inputs = check_grad_args(output, inputs, "grad")
    if type(create_graph) is not bool:
        raise TypeError(f"grad(create_graph=...): expected True or False, got {create_graph!r}")
    grads = defaultdict(float)
    grads[output] = 1.0
    order = topological_order(output)
    check = _anomaly_check if modestate.is_on(modestate.ANOMALY) else None  # as backward() does
    if not create_graph:
        backpropagate(order, grads, check=check)
        return tuple(grads.get(x, 0.0) for x in inputs)
    from .modes import enable_grad
    with enable_grad():  # create_graph asks for a graph: record even inside no_grad (as PyTorch does)
        backpropagate(order, grads, local_grads=local_grads_as_values,
                      check=None if check is None else _anomaly_check_values)
    return tuple(g if isinstance(g, Value) else Value(g) for g in (grads.get(x, 0.0) for x in inputs))


def local_grads_as_values(v: Value) -> list:
    """d v / d parent for each of ``v.parents``, as Values built from the graph (or numbers where constant).

    The op record's own derivative expressions evaluated on the node's
    operands (``engine.ops.value_locals``): the same definitions as the
    floats ``backward()`` uses, so both agree everywhere.
    """
    op = v.op
    if v._parents is None:
        return ()
    if type(v._ctx) is Terms:  # a fused node (engine/fusion.py)
        out = []
        for kind, sign, operands in v._ctx.expand(v):
            if kind == fusion.PAIR:
                a, b = operands
                out += [b, a] if sign > 0 else [-b, -a]
            elif kind != fusion.CONST:
                out.append(v._local[len(out)])
        return out
    if op == "sum":
        return [1.0] * len(v.parents)
    if op == "dot":
        if v._ctx is None:  # every partial is a constant
            return list(v._local)
        if type(v._ctx) is int:  # parents: all of a, then the Values that start b (see dot_operands)
            a, b = dot_operands(v)
            return list(b) + list(a[:len(v._parents) - v._ctx])
        out = []
        for x, w in zip(*dot_operands(v)):  # parents are listed in this order (see engine.dot)
            if isinstance(x, Value):
                out.append(w)
            if isinstance(w, Value):
                out.append(x)
        return out
    entry = ops.NODE_OPS.get(op)
    if entry is None:
        raise TypeError(f"grad(create_graph=True): op {op!r} has no record in engine.ops, so its derivative "
                        f"cannot be built as a graph")
    record, args, reflected = ops.node_inputs(v)
    ds = ops.value_locals(record, args, v)
    if record.arity == 1 or type(v._parents) is tuple:
        return list(ds)
    return [ds[1] if reflected else ds[0]]
