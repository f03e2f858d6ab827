"""Trace a graph once, replay it as generated straight-line Python.

For graphs whose *shape* does not change between steps (an MLP training
step on a fixed batch), ``compile_graph(root, leaves)`` walks the recorded
graph once and writes Python source with one statement per node for the
forward pass and one per (node, parent) edge for the backward pass, all on
local variables: no Value objects, no loops, no dicts.  Replaying it on new
leaf values runs at close to hand-written plain-float speed.

>>> from engine import Value
>>> a = Value(2.0); b = Value(-3.0)
>>> c = (a * b + 1.5).tanh() + a.exp()
>>> f = compile_graph(c, [a, b])
>>> out, (da, db) = f.run([1.0, 0.5])          # new leaf values, same graph
>>> y = (Value(1.0) * Value(0.5) + 1.5).tanh() + Value(1.0).exp()
>>> round(out, 12) == round(y.data, 12)
True

Contract (what a replay assumes):

* the ops and the wiring are those recorded at trace time; every op is
  recomputed from its table expression (``engine.ops``) on the new values,
  and so is every local derivative, so piecewise ops (``relu``, ``abs``) stay
  correct when a sign flips between steps;
* number operands (``x * 2.0``, ``2.0 - x``, the constant entries of ``dot``
  lists, the label ``y`` in a loss) are baked in as they were at trace time;
* number terms of ``engine.sum`` and number*number pairs of ``engine.dot`` are
  constants, added in the engine's order (the nodes keep them), so a replay
  at the traced values is bit-identical to ``backward()``;
* every leaf of the graph must be listed in ``leaves`` (their order is the
  order of ``run``'s values and gradients);
* a replay updates no Value: ``run`` returns floats; ``step`` reads the
  leaves' ``.data`` and accumulates into their ``.grad`` like ``backward()``.

The backward pass follows the same node order as ``Value.backward()``, so
gradients agree with the engine's bit for bit in ordinary cases (sums of
constants and signed zeros aside).
"""
from __future__ import annotations

import linecache
import math
import re
import sys
import time
from typing import Callable, List, Optional, Sequence, Tuple

from . import ops
from .autograd import check_grad_args, topological_order
from .fusion import PAIR, Terms
from .value import Value, dot_operands

__all__ = ["Compiled", "compile_graph"]


# Derivative expressions rewritten inline (a helper call costs ~50 ns per
# node in the replay).  Keyed by the exact table text, so a changed table row
# silently falls back to the helper; tests/test_trace.py checks each
# replacement against ops.LOCAL.
INLINE = {
    "_step(x)": "(0.0 if x <= 0.0 else 1.0)",
}

def _masked_mul(d: float, g: float, masked: bool) -> float:
    c = d * g
    return 0.0 if c != c and masked else c


_NAMESPACE = {"inf": math.inf, "nan": math.nan, "abs": abs, "_sum": sum, "_masked_mul": _masked_mul}


def _namespace() -> dict:
    """Every name the ops' expressions use (helpers, and registered ops' functions)."""
    ns = {}
    for op in ops.UNARY.values():
        ns.update(op.namespace)
    for op in ops.BINARY.values():
        ns.update(op.namespace)
    ns.update(_NAMESPACE)
    return ns
_VAR = re.compile(r"\b([xyab])\b")
_COUNTER = [0]


def _const(c: float) -> str:
    """A float literal that reads back exactly (repr round-trips; inf/nan are names)."""
    r = repr(float(c))
    return f"({r})" if r[0] == "-" else r


def _subst(expr: str, names: dict) -> str:
    """Put slot names / constants in place of x, y, a, b in a table expression."""
    return _VAR.sub(lambda m: names[m.group(1)], expr)


class Compiled:
    """A traced graph, replayable on new leaf values (see ``compile_graph``).

    Attributes: ``leaves`` (the Values, in argument order), ``n_nodes``
    (non-leaf nodes), ``source`` (the generated forward+backward function,
    also shown in tracebacks), ``compile_seconds`` (trace + codegen +
    ``compile()``; ``forward()`` compiles its own function on first use).
    """

    def __init__(self, leaves: tuple, n_nodes: int, source: str, forward_source: str, t0: float) -> None:
        self.leaves = leaves
        self.n_nodes = n_nodes
        self.source = source
        self._forward_source = forward_source
        self._run = _exec(source, "_run", n_nodes)
        self._forward_fn: Optional[Callable] = None  # compiled on first forward() (halves compile time)
        self.compile_seconds = time.perf_counter() - t0

    def _check(self, leaf_values: Sequence[float]) -> Sequence[float]:
        try:
            n = len(leaf_values)
        except TypeError:
            raise TypeError(f"Compiled.run: expected a sequence of {len(self.leaves)} floats, "
                            f"got {type(leaf_values).__name__}") from None
        if n != len(self.leaves):
            raise ValueError(f"Compiled.run: expected {len(self.leaves)} leaf values (one per leaf passed "
                             f"to compile_graph), got {n}")
        return leaf_values

    def run(self, leaf_values: Sequence[float], gradient: float = 1.0) -> Tuple[float, Tuple[float, ...]]:
        """(output, d output/d leaf for each leaf) for new leaf values; touches no Value.

        >>> x = Value(3.0); f = compile_graph(x * x, [x])
        >>> f.run([4.0])
        (16.0, (8.0,))
        """
        return self._run(self._check(leaf_values), gradient)

    def forward(self, leaf_values: Sequence[float]) -> float:
        """The output alone (no backward), for new leaf values.

        >>> x = Value(3.0); compile_graph(x.relu(), [x]).forward([-1.0])
        0.0
        """
        if self._forward_fn is None:
            self._forward_fn = _exec(self._forward_source, "_forward", self.n_nodes)
        return self._forward_fn(self._check(leaf_values))

    def step(self, gradient: float = 1.0) -> float:
        """Replay on the leaves' current ``.data``; accumulate into their ``.grad``.

        The traced replacement for ``loss = model(...); loss.backward()`` in a
        training loop whose graph shape is fixed.  Returns the output's value.

        >>> w = Value(2.0); f = compile_graph(w * w * 3.0, [w])
        >>> w.data = 1.0; f.step(), w.grad
        (3.0, 6.0)
        """
        leaves = self.leaves
        out, grads = self._run([v.data for v in leaves], gradient)
        for v, g in zip(leaves, grads):
            v.grad += g
        return out

    def __repr__(self) -> str:
        return (f"Compiled({len(self.leaves)} leaves, {self.n_nodes} nodes, "
                f"{self.source.count(chr(10))} lines, compiled in {self.compile_seconds:.3f} s)")


def _check_args(root, leaves) -> tuple:
    leaves = tuple(check_grad_args(root, leaves, "compile_graph", "root", "leaves"))
    seen = set()
    for i, v in enumerate(leaves):
        if v._parents is not None:
            raise ValueError(f"compile_graph: leaves[{i}] is not a leaf (it is the result of op '{v.op}'); "
                             f"pass the Values the graph starts from")
        if v in seen:
            raise ValueError(f"compile_graph: leaves[{i}] is listed twice")
        seen.add(v)
    return leaves


def compile_graph(root: Value, leaves: Sequence[Value]) -> Compiled:
    """Trace ``root``'s graph once; return a ``Compiled`` that replays it on new leaf values.

    ``leaves`` must list every leaf Value the graph depends on (a leaf not in
    the graph is allowed and gets gradient 0).  See the module docstring for
    what a replay assumes.

    >>> from engine import Value, dot
    >>> w = [Value(0.5), Value(-1.0)]
    >>> loss = (dot(w, [2.0, 3.0]) - 1.0).relu() + dot(w, w) * 0.1
    >>> f = compile_graph(loss, w)
    >>> out, grads = f.run([1.0, 1.0])
    >>> out, [round(g, 12) for g in grads]
    (4.2, [2.2, 3.2])
    """
    t0 = time.perf_counter()
    leaves = _check_args(root, leaves)
    order = [v for v in topological_order(root) if v._parents is not None]
    slot = {v: f"v{i}" for i, v in enumerate(leaves)}
    # Every leaf the graph reaches must be listed: an unlisted one would be
    # frozen at its trace-time value, silently.
    missing = []
    for v in order:
        for p in v.parents:
            if p._parents is None and p not in slot:
                missing.append(p)
                slot[p] = None  # count once
    if missing:
        ex = missing[0]
        name = f"label {ex.label!r}" if ex.label else f"data {ex.data!r}"
        raise ValueError(f"compile_graph: the graph has {len(missing)} leaf Value(s) not in `leaves` "
                         f"(first: {name}); list every leaf (constants belong in ops as numbers)")
    if root._parents is None and root not in slot:
        raise ValueError("compile_graph: root is a leaf that is not in `leaves`")
    for i, v in enumerate(order):
        slot[v] = f"v{len(leaves) + i}"

    fwd: List[str] = []
    # edges[v] = [(parent slot, derivative expression text)] in the engine's parent order
    edges: List[list] = []
    for v in order:
        s = slot[v]
        expr, edge = _node_code(v, slot)
        fwd.append(f"    {s} = {expr}")
        edges.append(edge)

    out = slot[root]
    bwd = [f"    g{out[1:]} = gradient"]
    assigned = {out}
    for v, edge in zip(reversed(order), reversed(edges)):
        g = "g" + slot[v][1:]
        for p, d in edge:
            gp = "g" + p[1:]
            if type(d) is tuple:  # (derivative, mask): PyTorch masks instead of multiplying (autograd.chain)
                d, mask = d
                term = f"_masked_mul({d}, {g}, {mask})"
            elif d == "1.0":
                term = g
            elif d == "-1.0":
                term = f"-{g}"
            else:
                term = f"({d}) * {g}"
            if p in assigned:
                bwd.append(f"    {gp} += {term}")
            else:
                bwd.append(f"    {gp} = {term}")
                assigned.add(p)
    leaf_grads = ", ".join((f"g{slot[v][1:]}" if slot[v] in assigned else "0.0") for v in leaves)
    unpack = ", ".join(slot[v] for v in leaves)
    head = f"    {unpack}, = L\n" if leaves else ""

    run_src = (f"def _run(L, gradient):\n{head}" + "\n".join(fwd) + "\n" + "\n".join(bwd)
               + f"\n    return {out}, ({leaf_grads}{',' if len(leaves) == 1 else ''})\n")
    fwd_src = f"def _forward(L):\n{head}" + "\n".join(fwd) + f"\n    return {out}\n"
    return Compiled(leaves, len(order), run_src, fwd_src, t0)


def _exec(src: str, name: str, n_nodes: int) -> Callable:
    """Compile one generated function.

    exec of OUR OWN generated source: every expression comes from engine.ops'
    table, every name is a slot we numbered, every number is a float repr;
    nothing user-supplied is pasted in as code.  Registered in linecache so
    tracebacks and ``inspect`` show the generated lines.
    """
    _COUNTER[0] += 1
    filename = f"<engine.trace #{_COUNTER[0]}: {name}, {n_nodes} nodes>"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)
    ns = _namespace()
    exec(compile(src, filename, "exec"), ns)  # noqa: S102 - our own generated code
    return ns[name]


def _node_code(v: Value, slot: dict) -> Tuple[str, list]:
    """(forward expression, [(parent slot, derivative text)]) for one non-leaf node."""
    op, prev, ctx = v.op, v._parents, v._ctx
    y = slot[v]
    if type(ctx) is Terms:  # a fused node: its terms added in order, as at record time
        return _fused_code(v, slot)
    if op == "sum":  # engine.sum: total = start; total += each term, in order
        # numbers among the terms are kept in _ctx as (start, terms); else start 0.0, terms = parents
        start, items = v._ctx if type(v._ctx) is tuple else (0.0, prev)
        terms = [slot[u] if isinstance(u, Value) else _const(u) for u in items]
        return _const(start) + " + " + " + ".join(terms), [(slot[p], "1.0") for p in prev]
    if op == "dot":
        return _dot_code(v, slot)
    if op not in ops.NODE_OPS:
        raise TypeError(f"compile_graph: op '{op}' has no record in engine.ops (cannot trace it)")
    record, args, reflected = ops.node_inputs(v)
    names = {"y": y}
    for var, a in zip(record.variables, args):
        names[var] = slot[a] if isinstance(a, Value) else _const(a)
    fwd = _subst(record.forward, names)
    ders = [_subst(INLINE.get(d, d), names) for d in record.derivatives]
    if record.masks:
        ders = [d if m is None else (d, _subst(m, names)) for d, m in zip(ders, record.masks)]
    if record.arity == 1:
        return fwd, [(names["x"], ders[0])]
    if type(prev) is tuple:
        return fwd, [(names["a"], ders[0]), (names["b"], ders[1])]
    return fwd, [(names["b"], ders[1])] if reflected else [(names["a"], ders[0])]


# Python 3.12+ sum() of floats is compensated (Neumaier); engine.dot uses it.
_COMPENSATED_SUM = sys.version_info >= (3, 12)


def _dot_code(v: Value, slot: dict) -> Tuple[str, list]:
    ctx, prev, local = v._ctx, v._parents, v._local

    def name(u) -> str:
        return slot[u] if isinstance(u, Value) else _const(u)

    if type(ctx) is int:  # y = builtins.sum(map(mul, a, b)): a all Values, b Values then numbers
        a, b = dot_operands(v)
        terms = [f"{name(x)} * {name(w)}" for x, w in zip(a, b)]
        if _COMPENSATED_SUM:
            expr = "_sum((" + ", ".join(terms) + ",))"
        else:  # sum() starts from int 0: 0 + t == t (signed zero aside)
            expr = " + ".join(terms)
        # parents in _parents order: all of a (d = b_i), then b's Values (d = a_j)
        edges = [(slot[x], name(w)) for x, w in zip(a, b)]
        edges += [(slot[w], slot[x]) for x, w in zip(a, b) if isinstance(w, Value)]
        return expr, edges
    if type(ctx) is tuple:  # general mix, both lists kept: y = 0.0; y += x_i * w_i
        a, b = ctx
        terms, edges = [], []
        for x, w in zip(a, b):
            terms.append(f"{name(x)} * {name(w)}")
            if isinstance(x, Value):
                edges.append((slot[x], name(w)))
            if isinstance(w, Value):
                edges.append((slot[w], name(x)))
        return "0.0 + " + " + ".join(terms), edges
    # ctx None: no Value-Value or number-number pair; each parent's partial is the constant it met
    terms = [f"{slot[p]} * {_const(c)}" for p, c in zip(prev, local)]
    edges = [(slot[p], _const(c)) for p, c in zip(prev, local)]
    return "0.0 + " + " + ".join(terms), edges


def _fused_code(v: Value, slot: dict) -> Tuple[str, list]:
    """A fused node (engine/fusion.py): start, then each term added or subtracted, left to right."""
    ctx = v._ctx
    expr = [] if ctx.start is None else [_const(ctx.start)]
    edges = []
    local = v._local
    for kind, sign, operands in ctx.expand(v):
        names = [slot[u] if isinstance(u, Value) else _const(u) for u in operands]
        term = " * ".join(names)
        expr.append(("- " if sign < 0 else "+ ") + term if expr else term)
        if kind == PAIR:
            a, b = names
            edges += [(a, b if sign > 0 else f"-{b}"), (b, a if sign > 0 else f"-{a}")]
        elif len(operands) == 2 or isinstance(operands[0], Value):  # SCALED or PLAIN: the recorded constant
            edges.append((names[0], _const(local[len(edges)])))
    return " ".join(expr), edges
