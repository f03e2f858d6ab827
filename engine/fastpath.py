"""backward(), fast: the reference algorithm of engine/autograd.py with speed tricks.

Same additions, in the same order, as ``autograd.backward_reference``, so
the same float bits (tests/test_fast_path.py checks it on thousands of
random graphs); only faster: backward() of W1 (MLP batch) takes 83% fewer
instructions than the reference, W2 (1M chain) 95%, W5 (a GPT step) 81%.
One documented exception: the zero-gradient skip below does not add
``0.0`` to a leaf whose ``.grad`` a user set to ``-0.0``, so it stays
``-0.0`` where the reference makes it ``+0.0`` (equal under ``==``; leaves
start at +0.0 and ``zero_grad`` sets +0.0, so only a hand-set -0.0 shows it).
Each trick, why, and the share of backward's instructions it saves
(callgrind, CPython 3.11, benchmarks/ workloads; tricks under 3% were
dropped):

* leaves are never put on the stack or in the order, they only receive
  gradient: most edges of an MLP end at a leaf (W1 59%, W3-dot 74%);
* the walk keeps its visited-state in the nodes' ``.grad`` slot (a
  0.0 object made for this call, tested by identity), not a dict, and
  that 0.0 is already the reset value intermediate nodes need (W1 18%,
  W5 23%).  Marks an earlier call left (below a skipped node, or after
  a Ctrl-C) are other objects, so a plain 0.0 to this one: no pass
  clears them, and no interrupt can leave one that misleads a later walk;
* a run of one-parent nodes (``tanh(x * 2.0)``) is listed in one inner
  loop (W2's chain below a fan-in root 48%); the root's own run is
  backpropagated in one pass with no walk at all (each of its nodes has
  exactly one consumer): a chain needs no list (W2 60%);
* runs also go through binary nodes with one unlisted input, listing the
  other input on the spot when its own inputs are listed, as the
  reference would first thing: a sum chain ``s + w * x`` written with the
  builtin ``sum`` is one run (W5 24%, W5 fused 17%; dot nodes skip the
  binary test through ``_ctx``: a ``len()`` per dot node cost W1 1.5%);
* binary fan-in nodes are unpacked, not looped over (W5 25% + 7%);
* nan/inf is tested once per node (``g - g``), not per edge (W3-dot 43%);
* a fan-in node whose gradient is exactly 0.0 (relu zeroes most of an
  MLP's) skips its parents, when its local derivatives are finite
  (W1 26%; costs W5, which has no relu, 6%).

Relies on CPython keeping float identity (``is``); autograd.FAST routes
other Pythons to the reference.

Also here, for ``compile_graph``: ``nodes_and_leaves``, the reference's
topological order walked with fewer Python steps (and no marks).
"""
from __future__ import annotations

import math
from itertools import filterfalse

from . import ops

_isfinite = math.isfinite
_masked = ops.masked


def backward(root, gradient: float) -> None:
    """``backward_reference(root, gradient)``, fast (see the module docstring)."""
    if root._parents is None:  # a leaf: d(root)/d(root) = 1
        root.grad += gradient
        return
    root.grad = g = 0.0 + gradient
    if type(root._parents) is not tuple:
        root, g = _root_run(root, g)
        if root is None:  # the whole graph was one chain
            return
    order = _walk(root)
    root.grad = g  # the walk listed it at 0.0; its gradient is g
    _loop(order)


def _walk(root) -> list:
    """The non-leaf nodes below ``root`` (root included), each after its inputs.

    The reference's topological order without the leaves; every listed node
    ends at 0.0, its reset gradient.  The marks are this call's own objects
    (two 0.0s, told apart by identity): whatever an earlier walk left in a
    ``.grad`` (an error or a KeyboardInterrupt can land between any two
    bytecodes) is not one of them.
    """
    listed = float("0")  # a fresh float object per call, never a cached constant
    entered = float("0")
    stack, order, run = [root], [], []
    push = stack.append
    append = order.append
    add = run.append
    while stack:
        v = stack[-1]  # stays on the stack until it is listed or waits there
        st = v.grad
        if st is listed:  # a duplicate stack entry
            del stack[-1]
            continue
        if st is entered:  # second visit: all inputs are listed
            append(v)
            v.grad = listed
            del stack[-1]
            continue
        # First visit: follow v's run of nodes with one unlisted input (a sum
        # chain ``s + w * x``, ``tanh(x * 2.0)``) down to a node with none or
        # more, marking them listed on the way (a DAG cannot lead back into
        # the run).  A binary node's second input,
        # if its own inputs are listed, is listed on the spot, as the
        # reference's walk (which visits it first) would.  If the run ends at
        # a node with unlisted inputs, the run waits on the stack below them,
        # in v's place; otherwise the whole run is listed at once, deepest first.
        top = len(stack)  # v is stack[top - 1]
        while True:
            add(v)
            v.grad = listed
            prev = v._parents
            if type(prev) is not tuple:
                if prev._parents is None or prev.grad is listed:
                    break
                v = prev
                continue
            if v._ctx is None and len(prev) == 2:  # binary ops (dot and sum nodes keep their layout in _ctx)
                a, b = prev
                wait_b = b._parents is not None and b.grad is not listed
                if wait_b:  # list b now if its inputs are
                    pb = b._parents
                    if type(pb) is not tuple:
                        if pb._parents is None or pb.grad is listed:
                            append(b)
                            b.grad = listed
                            wait_b = False
                    elif len(pb) == 2:
                        c, d = pb
                        if (c._parents is None or c.grad is listed) and (d._parents is None or d.grad is listed):
                            append(b)
                            b.grad = listed
                            wait_b = False
                if a._parents is not None and a.grad is not listed:
                    if not wait_b:
                        v = a
                        continue
                    push(a)
                    push(b)
                elif wait_b:
                    v = b
                    continue
                else:
                    break
            else:
                for p in prev:
                    if p._parents is not None and p.grad is not listed:
                        push(p)
                if len(stack) == top:
                    break
            for u in run:  # v has unlisted inputs, now on the stack: the run waits below them
                u.grad = entered
            stack[top - 1:top] = run
            del run[:]
            break
        if run:
            run.reverse()
            order += run
            del stack[-1]
            del run[:]
    return order


def nodes_and_leaves(root) -> tuple:
    """``autograd.topological_order(root)`` split in two, in its order: (non-leaf nodes, leaves).

    For ``compile_graph``, which must leave every ``.grad`` as it is (so a
    dict of states, not _walk's marks): visited parents are filtered out in
    C, and a leaf is listed when first reached instead of waiting on the
    stack (W5's graph, 38,781 edges: 2.9 -> 2.2 ms).
    """
    state = {}  # node -> 1 while its inputs are being walked, 2 once listed
    nodes, leaves = [], []
    stack = [root]
    push, pop = stack.append, stack.pop
    visited = state.__contains__
    while stack:
        v = pop()
        st = state.get(v)
        if st is None:
            ps = v._parents
            if ps is None:
                state[v] = 2
                leaves.append(v)
                continue
            state[v] = 1
            push(v)
            if type(ps) is tuple:
                stack.extend(filterfalse(visited, ps))
            elif ps not in state:
                push(ps)
        elif st == 1:
            state[v] = 2
            nodes.append(v)
    return nodes, leaves


def _root_run(v, g: float):
    """Backpropagate down the root's run of one-parent nodes, without a walk.

    Each node of the run has exactly one consumer, the node above it, so its
    gradient is complete when reached.  Returns (the fan-in node the run
    ends at, its gradient, already set), or (None, 0.0) if the run ends at
    a leaf.  Same arithmetic as the loop: a node's grad is its reset 0.0
    plus ``local * g``.  Why: a chain (W2 of benchmarks/) otherwise pays for
    a walk and an order list as long as the graph.  The run ends when
    ``prev._parents`` raises on a tuple: once per backward, where a type test
    per node costs W2 23% of its backward instructions.
    """
    try:
        while True:
            prev = v._parents
            if prev._parents is None:  # a tuple has no _parents: AttributeError ends the run
                c = v._local * g
                if c != c:
                    c = 0.0 if _masked(v, 0) else c
                prev.grad += c
                return None, 0.0
            c = v._local * g
            if c != c:
                c = 0.0 if _masked(v, 0) else c
            prev.grad = g = 0.0 + c
            v = prev
    except AttributeError:
        if type(v._parents) is tuple:
            return v, g
        raise


def _loop(order: list) -> None:
    """The multiply-add loop over the walk's order, root first."""
    _sum = sum
    for v in reversed(order):
        g = v.grad
        prev = v._parents
        if type(prev) is tuple:
            local = v._local
            # A zero gradient adds d * 0.0 = 0.0 to every parent: skip, when
            # every d is finite (inf * 0.0 is nan, which must reach the
            # parents; the sum of the d's, taken in C, is finite only if
            # they all are).  Why: relu zeroes most gradients of an MLP.
            if g == 0.0 and _isfinite(_sum(local)):
                continue
            if g - g:  # g is inf or nan: the masked ops' zeros give 0 (see autograd.chain)
                _edges_masked(v, prev, local, g)
            elif len(prev) == 2:  # most fan-in nodes are binary ops: unpacking beats a loop
                a, b = prev
                da, db = local
                a.grad += da * g
                b.grad += db * g
            else:
                for p, d in zip(prev, local):
                    p.grad += d * g
        else:  # one parent, stored bare (see value.py)
            c = v._local * g
            if c != c:
                c = 0.0 if _masked(v, 0) else c
            prev.grad += c


def _edges_masked(v, prev, local, g: float) -> None:
    for i, (p, d) in enumerate(zip(prev, local)):
        c = d * g
        if c != c and _masked(v, i):
            c = 0.0
        p.grad += c
