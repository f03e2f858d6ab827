"""Reverse mode: backward(), grad(), and the grad/anomaly mode switches.

One backward algorithm:

1. ``_postorder``: an iterative depth-first walk from the root lists every
   *non-leaf* node after all of its inputs (a topological order; explicit
   stack, no recursion, deterministic because it follows operand order).
2. Walk that list backwards (root first): push ``grad * local_derivative``
   into each parent.  Every consumer of a node comes before it in this
   walk, so its gradient is complete when it is reached.

Before step 1, the root's own run of one-parent nodes (``y.tanh().exp()``
down to the first node with two or more parents) is done in one pass with
no walk: each of those nodes has exactly one consumer, the node above it
(``_backward_root_run``).  A chain graph ends there.  At the fan-in node
that ends the run, leaf parents get their share at once and the walk
starts from its other parents (``_backward_from_fan_in``).

The local derivatives were stored as floats at forward time, so step 2 is
a multiply-add loop with no function calls.

Speed notes (W1, the MLP step of benchmarks/, CPython 3.11):
* leaves (weights, inputs) are never put on the stack or in the order:
  they only receive gradient.  Most edges of an MLP end in a leaf, so this
  halves the walk (measured 31 -> 15 ms with the earlier Kahn loop).
* depth-first order + one plain loop instead of Kahn's in-degree counting
  (two dict updates per edge): 15 -> 11 ms.
* the walk's visited-state lives in the ``.grad`` slot, not a dict (see
  ``_postorder_in_place``).
"""
from __future__ import annotations

import contextlib
import gc
import math
import threading
from itertools import repeat as _repeat
from operator import mul as _mul
from typing import Sequence

from . import ops
from ._state import mode as _mode
from .errors import AnomalyError
from .value import REFLECTED_BASE, Value, _as_float, dot_operands

_isfinite = math.isfinite


def _postorder(root: Value) -> list:
    """Non-leaf nodes below ``root`` (root included), each after its inputs.

    Leaves ``.grad`` alone (for grad()); backward() uses the faster
    ``_postorder_in_place``.
    """
    order = []
    state = {}  # node -> 1 while its inputs are being walked, 2 when listed
    get = state.get
    stack = [root]
    pop = stack.pop
    push = stack.append
    append = order.append
    while stack:
        v = pop()
        st = get(v)
        if st is None:  # first visit: come back to v after its inputs
            state[v] = 1
            push(v)
            prev = v._prev
            if type(prev) is tuple:
                for p in prev:
                    if p._prev is not None and get(p) is None:
                        push(p)
            elif prev._prev is not None and get(prev) is None:
                push(prev)
        elif st == 1:  # second visit: all inputs are listed
            state[v] = 2
            append(v)
        # st == 2: a duplicate stack entry, already listed
    return order


# Walk states kept in the .grad slot of non-leaf nodes during backward().
# _LISTED is a float 0.0 that is a distinct *object*: "listed" is tested by
# identity during the walk, and afterwards it already is the reset value, so
# no extra pass over the graph is needed to zero intermediate grads (on a
# 2,000,000-node chain every pass over the nodes is ~2M cache misses); only
# when the zero-gradient skip fired does backward() make one.
# Almost every listed node gets `grad += ...` (a new float object) in the
# backward loop; the exceptions (nodes whose consumers were all skipped for a
# zero gradient, including a fan-in root's parents when the root's gradient
# is 0.0) are reset by backward() so no node keeps this object: a later walk
# would take it for "listed".  (The walk's own root, under detect_anomaly,
# is set to its gradient right after the walk.)
# (This relies on a float object keeping its identity, as in CPython; PyPy
# compares floats by value under `is`, and is not supported.)
_ENTERED = object()
_LISTED = float("0")


def _postorder_in_place(stack: list, order: list, *, _LISTED=_LISTED, _ENTERED=_ENTERED) -> list:
    """``_postorder`` of the nodes in ``stack`` (walked last first), with its walk state kept in ``.grad``.

    Listed nodes end at 0.0.  ``stack`` is taken over (emptied).

    Why: backward() resets non-leaf grads anyway, so their slot can hold the
    walk's state instead of a dict — no hashing, and no dict as big as the
    graph (measured on a 2,000,000-node chain: 2.6 s -> 1.3 s, the dict's
    cache misses dominate).  On any exception the slots are reset to 0.0.
    (The sentinels are default arguments: fast local loads, not globals.)

    Interrupt-safe: CPython 3.11 delivers a KeyboardInterrupt after a call
    or at a loop's back edge.  So the ``try`` starts before the loop head
    (a ``continue`` lands inside it), and a node leaves the stack with
    ``stack[-1]`` + ``del`` rather than ``pop()``: no call between taking
    it off the stack and handling it, so no node is ever in none of
    ``order``/``stack``/``run`` with its mark set.  The caller passes
    ``order`` in, so it holds the listed nodes even if an interrupt lands
    just after this returns.
    """
    push = stack.append
    append = order.append
    run = []
    try:
        v = None  # a statement inside the try before the loop head (see above)
        while stack:
            v = stack[-1]
            del stack[-1]
            st = v.grad
            if st is _LISTED:  # a duplicate stack entry
                continue
            if st is _ENTERED:  # second visit: all inputs are listed
                v.grad = _LISTED
                append(v)
                continue
            # First visit.  Follow the run of one-parent nodes starting at v
            # (a chain: tanh(x * 2.0), relu(dot)) in this inner loop, up to a
            # leaf, a listed node or a fan-in node (dot, sum, a*b; v itself may
            # be one).  A fan-in node pushes its unlisted inputs; if it has
            # none (in an MLP most fan-in nodes' inputs are leaves or listed:
            # -12% walk instructions on W1), or the run ends at a leaf or a
            # listed node, the whole run is listed at once, deepest first,
            # with no stack traffic (~40% fewer instructions per chain node).
            # Run nodes are marked listed on the way down (a DAG cannot lead
            # back into the run, and no other entry is walked meanwhile), and
            # re-marked "entered" only if the run has to wait for inputs.
            run = []
            add = run.append
            while True:
                v.grad = _LISTED
                add(v)
                prev = v._prev
                if type(prev) is tuple:
                    top = len(stack)
                    for p in prev:
                        if p._prev is not None and p.grad is not _LISTED:
                            push(p)
                    if len(stack) != top:  # the run waits below those inputs
                        for u in run:
                            u.grad = _ENTERED
                        stack[top:top] = run
                        run = []
                    break
                if prev._prev is None or prev.grad is _LISTED:
                    break
                v = prev
            if run:
                run.reverse()
                order += run
    except BaseException:
        # Leave no walk state behind (a later walk would trust it): nodes
        # listed, half-listed or waiting all get the 0.0 they would have.
        for nodes in (order, stack, run):
            for v in nodes:
                if v.grad is _ENTERED or v.grad is _LISTED:
                    v.grad = 0.0
        raise
    return order


def backward(root: Value, gradient=1.0) -> None:
    """Accumulate d(root)/d(leaf) * gradient into every leaf's ``.grad``.

    Not for two threads on one graph at once (nor is PyTorch's ``.grad``
    accumulation); separate graphs in separate threads are fine.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward: expected a Value, got {type(root).__name__}")
    gradient = _as_float(gradient, "backward(gradient)")
    if root._prev is None:  # a leaf: d(root)/d(root) = 1
        root.grad += gradient
        return
    order = []
    try:
        if _mode.anomaly:  # the plain walk and a checking loop, no shortcuts
            _postorder_in_place([root], order)  # cleans up after itself if it fails
            root.grad = gradient
            _backward_checked(order)
            return
        root.grad = gradient
        if type(root._prev) is not tuple:
            root = _backward_root_run(root)
            if root is None:  # the whole graph was one chain
                return
        if _backward_from_fan_in(root, order):
            # A node whose consumers were all skipped still holds the walk's
            # _LISTED object, which the next walk would take for "listed".
            _reset_listed(order)
    except BaseException:  # an AnomalyError, a KeyboardInterrupt: same clean-up
        _reset_listed(order)
        raise


def _backward_from_fan_in(root: Value, order: list) -> bool:
    """backward() below a fan-in node ``root`` (``.grad`` set) that no other node consumes.

    Its leaf parents get their share in a first pass over its parents,
    at once: a leaf only accumulates, and the root's share comes first in
    the general loop too.  Its other parents are walked (``order``), get
    the root's share after the walk has reset them, then the loop runs.
    Same additions in the same order as walking from the root itself, so
    the same float bits (a nan's sign aside: CPython 3.11 does not keep it
    stable across ``*`` even in one loop).  One difference: if the walk
    then fails (a corrupted graph, Ctrl-C), leaves may already hold the
    root's share, as an interrupt in the loop could always leave part of
    the gradients added.
    Why: the walk's scan of the root's parents and the loop's were two
    passes over them; a big dot or sum at the root (W3: 200,000 leaf
    parents) now takes one: W3 with engine.dot 265 -> 232 M instructions
    (with the g == 1.0 shortcut of _backward_loop), backward 26 -> 18 ms.
    Returns True if a zero gradient skipped a node (see _backward_loop).
    """
    prev = root._prev
    local = root._local
    g = root.grad
    if g == 0.0 and _isfinite(sum(local)):  # nothing flows (see _backward_loop)
        _postorder_in_place([p for p in prev if p._prev is not None], order)
        _backward_loop(order)
        return True  # the root's non-leaf parents still hold _LISTED
    inner = []  # (non-leaf parent, the root's share), in operand order
    keep = inner.append
    # The shares d * g (d itself at g == 1.0, as in _backward_loop) come from
    # a map here: one per backward.  _backward_loop keeps two plain loops
    # instead, because a map and a repeat per node cost W1 +7% instructions.
    for p, share in zip(prev, local if g == 1.0 else map(_mul, local, _repeat(g))):
        if p._prev is None:
            p.grad += share
        else:
            keep((p, share))
    if not inner:
        return False
    _postorder_in_place([p for p, _ in inner], order)
    for p, share in inner:
        p.grad += share
    return _backward_loop(order)


def _backward_root_run(v: Value):
    """Backpropagate down the root's run of one-parent nodes, without a walk.

    Starting at the root ``v`` (its ``.grad`` set), follow ``_prev`` while
    nodes have one parent.  Every node of this run has exactly one consumer
    in the graph, the node above it (the only way to reach it from the root
    is down the run), so its gradient is complete as soon as it is reached:
    no topological order is needed.  Returns the fan-in node the run ends
    at, with its ``.grad`` set, for the general walk to take over as its
    root; or None if the run ended at a leaf (the graph was one chain).

    Same arithmetic as the general loop, so the same float bits (a nan's
    sign aside, see _backward_from_fan_in): there a
    node's grad is the walk's 0.0 plus ``local * g`` (hence ``0.0 + ...``,
    which turns a -0.0 into 0.0 as that loop does), and a leaf accumulates.
    Why: a chain (``y = f(y)`` iterated, W2 of benchmarks/) otherwise pays
    for a walk and an order list as long as the graph; this loop does one
    pass with nothing stored: W2 (benchmarks/instructions.py) 8,803 -> 6,926
    instructions per step, 1M-step time 9.2x -> 8.0x float_limit.  No walk
    state is used, so an interrupt leaves nothing to clean up.  (Unlike the
    walk, this loop has no visited marks: a graph made cyclic by writing
    ``_prev`` by hand would loop forever.  Ops cannot build one.)
    """
    g = v.grad
    try:
        while True:
            prev = v._prev
            if prev._prev is None:  # a tuple has no _prev: ends the run (see below)
                prev.grad += v._local * g
                return None
            prev.grad = g = 0.0 + v._local * g
            v = prev
    except AttributeError:
        # Why an exception instead of a type(prev) test per node: it happens
        # once per backward, and the loop is 693 -> 500 instructions per node.
        if type(v._prev) is tuple:
            return v
        raise


def _reset_listed(order: list) -> None:
    for v in order:
        if v.grad is _LISTED:
            v.grad = 0.0


def _backward_loop(order: list) -> bool:
    """backward()'s multiply-add loop over the walk's order; True if it skipped a node."""
    _sum = sum
    skipped = False
    for v in reversed(order):
        g = v.grad
        prev = v._prev
        if type(prev) is tuple:
            local = v._local
            # A zero gradient adds d * 0.0 = 0.0 to every parent: skip the
            # parent loop.  Exact only when every d is finite (inf * 0.0 is
            # nan, which must reach the parents); the sum of the d's, taken
            # in C, is finite only if they all are (an overflowing sum merely
            # means no skip).  Why: relu zeroes most gradients of an MLP;
            # on W1 61% of the dot nodes' parent updates add zero.  The
            # only difference is the sign of a zero grad (+0.0 - 0.0).
            if g == 0.0 and _isfinite(_sum(local)):
                skipped = True
                continue
            if g == 1.0:
                # d * 1.0 is exactly d (IEEE: also -0.0, inf and nan), so
                # skip the multiply and its float.  Why: a sum/add node
                # passes 1.0 on, so a loss that is a sum, or a big dot at
                # the root (W3), has whole fan-ins at 1.0: 16 -> 12.5 ms
                # for W3's 200,000 edges.
                for p, d in zip(prev, local):
                    p.grad += d
                continue
            for p, d in zip(prev, local):
                p.grad += d * g
        else:  # one parent, stored bare (see value.py)
            prev.grad += v._local * g
    return skipped


def _backward_checked(order: list) -> None:
    """The backward loop of ``detect_anomaly()``: stops at the first nan/inf."""
    from .graph import formula
    for v in reversed(order):
        g = v.grad
        for p, d in zip(v.parents, v.local_grads):
            contribution = d * g
            if not _isfinite(contribution) and _isfinite(g):
                raise AnomalyError(
                    f"detect_anomaly: backward of op '{v.op}' produced {contribution} "
                    f"(local derivative {d} x upstream gradient {g}) for input {formula(p)} "
                    f"of {formula(v)}; the op's derivative is not finite at this point"
                )
            p.grad += contribution


def _check_grad_args(output, inputs, where: str, output_name: str = "output",
                     inputs_name: str = "inputs") -> list:
    """``inputs`` as a list, after checking it holds Values and ``output`` is one."""
    if not isinstance(output, Value):
        raise TypeError(f"{where}: {output_name} must be a Value, got {type(output).__name__}")
    if isinstance(inputs, Value):
        inputs = [inputs]
    try:
        inputs = list(inputs)
    except TypeError:
        raise TypeError(f"{where}: {inputs_name} must be a list of Values, got {type(inputs).__name__}") from None
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"{where}: {inputs_name}[{i}] must be a Value, got {type(x).__name__} {x!r}")
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
    inputs = _check_grad_args(output, inputs, "grad")
    if create_graph:
        return _grad_graph(output, inputs)
    grads = {output: 1.0}
    if output._prev is not None:
        get = grads.get
        for v in reversed(_postorder(output)):
            g = grads[v]
            prev = v._prev
            if type(prev) is tuple:
                for p, d in zip(prev, v._local):
                    grads[p] = get(p, 0.0) + d * g
            else:
                grads[prev] = get(prev, 0.0) + v._local * g
    return tuple(grads.get(x, 0.0) for x in inputs)


# --- create_graph: the derivative expressions of ops.py, evaluated on Values.

def _is_v(x) -> bool:
    return isinstance(x, Value)


def _data(x) -> float:
    return x.data if isinstance(x, Value) else x


def _v_div(a, b):
    return a / b if (_is_v(a) or _is_v(b)) else ops._div(a, b)


def _v_pow(a, b):
    return a ** b if (_is_v(a) or _is_v(b)) else ops._pow(a, b)


def _v_unary(method: str, float_fn):
    return lambda x: getattr(x, method)() if _is_v(x) else float_fn(x)


def _v_dpow_base(a, b):
    if not _is_v(b) and b == 0.0:
        return 0.0
    return b * _v_pow(a, b - 1.0)


def _v_dpow_exponent(a, b, y):
    if _data(a) == 0.0 and _data(b) >= 0.0:
        return 0.0
    return y * (a.log() if _is_v(a) else ops._log(a))


VALUE_HELPERS = {
    "_exp": _v_unary("exp", ops._exp), "_log": _v_unary("log", ops._log),
    "_sqrt": _v_unary("sqrt", ops._sqrt), "_sigmoid": _v_unary("sigmoid", ops._sigmoid),
    "_tanh": _v_unary("tanh", math.tanh), "_div": _v_div, "_pow": _v_pow,
    # derivatives of relu/abs are piecewise constant: their own derivative is 0
    "_step": lambda x: ops._step(_data(x)), "_sign": lambda x: ops._sign(_data(x)),
    "_dpow_base": _v_dpow_base, "_dpow_exponent": _v_dpow_exponent,
}
if not set(VALUE_HELPERS) >= set(ops.FLOAT_HELPERS):  # a new helper in ops.py needs a Value twin here
    raise ImportError(f"engine.autograd: no Value version of {set(ops.FLOAT_HELPERS) - set(VALUE_HELPERS)}")

VLOCAL = {}
for _name, (_fwd, _d) in ops.UNARY.items():
    VLOCAL[_name] = eval(f"lambda x, y: ({_d},)", dict(VALUE_HELPERS))  # noqa: S307 - our own table
for _name, (_fwd, _da, _db) in ops.BINARY.items():
    VLOCAL[_name] = eval(f"lambda a, b, y: ({_da}, {_db})", dict(VALUE_HELPERS))  # noqa: S307


def local_derivatives_as_values(v: Value) -> list:
    """[(parent, d v / d parent)] with derivatives as Values built from the graph."""
    op = v.op
    prev = v._prev
    if op in ops.UNARY:
        return [(prev, VLOCAL[op](prev, v)[0])]
    if op in ops.BINARY:
        if type(prev) is tuple:
            a, b = prev
            da, db = VLOCAL[op](a, b, v)
            return [(a, da), (b, db)]
        return [(prev, VLOCAL[op](prev, v._ctx, v)[0])]
    if op in REFLECTED_BASE:
        return [(prev, VLOCAL[REFLECTED_BASE[op]](v._ctx, prev, v)[1])]
    if op == "sum":
        return [(p, 1.0) for p in prev]
    if op == "dot":
        if v._ctx is None:  # every partial is a constant
            return list(zip(prev, v._local))
        out = []
        for x, w in zip(*dot_operands(v)):
            if _is_v(x):
                out.append((x, w))
            if _is_v(w):
                out.append((w, x))
        return out
    raise TypeError(f"grad(create_graph=True): op '{op}' has no derivative rule in engine.ops")


def _grad_graph(output: Value, inputs: list) -> tuple:
    grads = {output: 1.0}
    if output._prev is not None:
        with enable_grad():  # create_graph asks for a graph: record even inside no_grad (as PyTorch does)
            for v in reversed(_postorder(output)):
                g = grads[v]
                for p, d in local_derivatives_as_values(v):
                    term = d * g
                    grads[p] = grads[p] + term if p in grads else term
    out = []
    for x in inputs:
        g = grads.get(x, 0.0)
        out.append(g if isinstance(g, Value) else Value(g))
    return tuple(out)


# --- modes -------------------------------------------------------------------

class _ModeContext(contextlib.ContextDecorator):
    """Base for context managers that set a thread-local mode and restore it.

    The value to restore goes on a per-thread stack (not on the object), so
    one object may be entered recursively (a recursive ``@no_grad()``
    function), nested (``with ng: with ng:``) or from several threads.
    Works as ``with no_grad():``, ``@no_grad()`` and, like PyTorch, ``@no_grad``.
    """

    _field = ""
    _value = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        if func is None:
            return self
        if callable(func):  # used as @no_grad without parentheses
            return self(func)
        raise TypeError(f"{cls.__name__}() takes no arguments (got {func!r}); use `with {cls.__name__}():`")

    def __init__(self, func=None) -> None:
        pass

    def __enter__(self):
        saved = _mode.__dict__.setdefault("saved", [])  # per thread: _mode is a threading.local
        saved.append(getattr(_mode, self._field))
        _mode.set(**{self._field: self._value})
        return self

    def __exit__(self, *exc):
        _mode.set(**{self._field: _mode.saved.pop()})
        return False


class no_grad(_ModeContext):
    """Context manager (or decorator): ops inside record no graph.

    Results are leaves (``.op == ""``).  Thread-local, like PyTorch's.

    >>> x = Value(2.0)
    >>> with no_grad():
    ...     y = x * x
    >>> y.op, y.parents
    ('', ())
    """

    _field = "grad_enabled"
    _value = False


class enable_grad(_ModeContext):
    """Turn graph recording back on inside a ``no_grad`` block."""

    _field = "grad_enabled"
    _value = True


class detect_anomaly(_ModeContext):
    """Raise ``AnomalyError`` at the first nan/inf in forward or backward.

    Names the op, its inputs and the formula that produced it.  Off by
    default; costs nothing when off.

    >>> with detect_anomaly():
    ...     Value(0.0).log()
    Traceback (most recent call last):
    ...
    engine.errors.AnomalyError: detect_anomaly: op 'log' produced -inf in forward from finite inputs (0); ...
    """

    _field = "anomaly"
    _value = True


class gc_paused(contextlib.ContextDecorator):
    """Pause Python's cyclic garbage collector while building big graphs.

    A graph of Values has no reference cycles, so the collector has nothing
    to find in it, but it still walks every new node again and again as
    the graph grows: on a 2,000,000-node chain it is ~70% of the forward
    time (measured 6.2 s -> 1.9 s).  Reference counting still frees
    everything.  The collector's previous state is restored on exit, also
    on exceptions; nesting and threads are counted, so it is re-enabled
    only when the last pause ends.  ``nn.fit`` uses it around each step.

    >>> with gc_paused():
    ...     y = Value(0.5)
    ...     for _ in range(10_000):
    ...         y = (y * 1.0001).tanh()
    """

    _lock = threading.Lock()
    _depth = 0
    _was_enabled = False

    def __enter__(self):
        cls = gc_paused
        with cls._lock:
            if cls._depth == 0:
                cls._was_enabled = gc.isenabled()
                gc.disable()
            cls._depth += 1
        return self

    def __exit__(self, *exc):
        cls = gc_paused
        with cls._lock:
            cls._depth -= 1
            if cls._depth == 0 and cls._was_enabled:
                gc.enable()
        return False


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread."""
    return _mode.grad_enabled

