"""Trace a graph once, replay it on new numbers: ``compile_graph``.

For a graph whose *shape* does not change between steps (an MLP training
step on batches of one size), ``compile_graph(root, params, inputs=...)``
reads the recorded graph once and turns it into a flat program over one
list of floats, with no Value objects.  Nodes that do the same thing at the
same depth of the graph run together, as one pass of Python's C builtins
(``map``, ``sum``, ``itemgetter``) over that list, forward and backward, so
a replay costs a few dozen Python-level steps however big the graph.

>>> from engine import Value
>>> a = Value(2.0); b = Value(-3.0)
>>> c = (a * b + 1.5).tanh() + a.exp()
>>> f = compile_graph(c, [a, b])
>>> out, (da, db) = f.run([1.0, 0.5])          # new leaf values, same graph
>>> y = (Value(1.0) * Value(0.5) + 1.5).tanh() + Value(1.0).exp()
>>> out == y.data
True

Contract (what a replay assumes and guarantees):

* the ops and the wiring are those recorded; every op and every local
  derivative is recomputed from its record (``engine.ops``) on the new
  numbers, so ``relu``/``abs`` stay right when a sign flips;
* ``params`` are the leaves whose values change between calls and whose
  gradients you want (``run`` takes their values and returns their
  gradients; ``step`` reads their ``.data`` and adds into their ``.grad``);
  ``inputs`` are leaves fed per call (a batch of data, labels); every other
  number in the graph (``x * 2.0``, the constants of ``engine.dot``) is a
  constant, as recorded;
* the same float operations in the same order as ``backward()``: values and
  gradients equal the engine's bit for bit (tests check it on random
  graphs), including a ``step`` that adds into nonzero ``.grad``;
* a replay updates no Value and builds no graph; the graph is not kept.
"""
from __future__ import annotations

import math
import sys
import time
from bisect import bisect_right
from collections import Counter, defaultdict, deque
from functools import reduce
from itertools import chain, filterfalse, repeat
from operator import add, attrgetter, is_, itemgetter, mul, sub
from typing import Optional, Sequence, Tuple

from . import fastpath, fusion, ops
from .autograd import CLOSURE, check_grad_args
from .errors import AnomalyError, UnusedInputError
from .modes import gc_paused, is_anomaly_enabled
from .value import Value, as_float

__all__ = ["Compiled", "compile_graph", "compile_step"]

_parents_of = attrgetter("_parents")
_isfinite = math.isfinite
_call = itemgetter.__call__  # itemgetter.__call__(getter, seq): applies a getter inside map(), in C


def _getter(indices: Sequence[int]) -> itemgetter:
    """An itemgetter giving ``seq[i] for i in indices`` as a sequence (for one index: a one-item slice)."""
    if len(indices) == 1:
        i = indices[0]
        return itemgetter(slice(i, i + 1))
    return itemgetter(*indices)


class Compiled:
    """A traced graph, replayable on new numbers (see ``compile_graph``).

    Attributes: ``params`` and ``inputs`` (the leaves, in argument order),
    ``n_nodes`` (non-leaf nodes), ``n_groups`` (program steps per pass),
    ``compile_seconds``.
    """

    def __init__(self, params, inputs, n_nodes, prog, t0) -> None:
        self.params = params
        self.inputs = inputs
        self.watched = []  # the values of compile_graph's ``watch`` nodes, from the latest replay
        self.n_nodes = n_nodes
        self._prog = prog
        self.n_groups = len(prog.forward) + len(prog.backward)
        self.compile_seconds = time.perf_counter() - t0

    @property
    def leaves(self) -> tuple:
        """The parameters (the name ``compile_graph``'s second argument had before ``inputs`` existed)."""
        return self.params

    def _numbers(self, values, expected: int, what: str) -> list:
        if isinstance(values, (str, bytes, Value, set, frozenset, dict)) or not hasattr(values, "__len__"):
            # (a set or dict has no order to match the Values with)
            raise TypeError(f"Compiled: {what} must be a list of {expected} numbers, got {type(values).__name__}")
        if len(values) != expected:
            raise ValueError(f"Compiled: expected {expected} {what} (one per Value given to compile_graph), "
                             f"got {len(values)}")
        out = []
        for i, x in enumerate(values):
            if type(x) is float:
                out.append(x)
            elif isinstance(x, Value):
                raise TypeError(f"Compiled: {what}[{i}] is a Value; pass its number (.data), or use step()")
            else:
                out.append(as_float(x, f"Compiled: {what}[{i}]"))
        return out

    def run(self, leaf_values: Sequence[float], gradient: float = 1.0, *,
            inputs: Sequence[float] = ()) -> Tuple[float, Tuple[float, ...]]:
        """(output, d output/d param for each param) for new numbers; touches no Value.

        >>> x = Value(3.0); f = compile_graph(x * x, [x])
        >>> f.run([4.0])
        (16.0, (8.0,))
        """
        p = self._numbers(leaf_values, len(self.params), "param values")
        d = self._numbers(inputs, len(self.inputs), "input values")
        gradient = as_float(gradient, "Compiled.run(gradient)")
        out = self._prog.run(p, d, gradient, None)
        self.watched = self._prog.watched
        if is_anomaly_enabled():
            self._anomaly_check((p, d, (gradient,)), out[0], out[1])
        return out

    def forward(self, leaf_values: Sequence[float], *, inputs: Sequence[float] = ()) -> float:
        """The output alone (no backward), for new numbers.

        >>> x = Value(3.0); compile_graph(x.relu(), [x]).forward([-1.0])
        0.0
        """
        p = self._numbers(leaf_values, len(self.params), "param values")
        d = self._numbers(inputs, len(self.inputs), "input values")
        out = self._prog.forward_only(p, d)
        self.watched = self._prog.watched
        if is_anomaly_enabled():
            self._anomaly_check((p, d), out, ())
        return out

    def step(self, inputs: Sequence[float] = (), gradient: float = 1.0) -> float:
        """Replay on the params' current ``.data`` (and ``inputs``); add into their ``.grad``, as backward().

        The traced replacement for ``loss = model(batch); loss.backward()`` in
        a training loop.  Returns the output's value.

        >>> w = Value(2.0); f = compile_graph(w * w * 3.0, [w])
        >>> w.data = 1.0; f.step(), w.grad
        (3.0, 6.0)
        """
        params = self.params
        d = self._numbers(inputs, len(self.inputs), "input values")
        gradient = as_float(gradient, "Compiled.step(gradient)")
        p, starts = [v.data for v in params], [v.grad for v in params]
        out, grads = self._prog.run(p, d, gradient, starts)
        self.watched = self._prog.watched
        if is_anomaly_enabled():
            self._anomaly_check((p, d, starts, (gradient,)), out, grads)
        for v, g in zip(params, grads):
            v.grad = g
        return out

    @staticmethod
    def _anomaly_check(given: tuple, out: float, grads) -> None:
        """detect_anomaly(): nan/inf out of finite numbers.  A replay has no ops to name, so say how to find it."""
        if _isfinite(out) and all(map(_isfinite, grads)):
            return
        if all(all(map(_isfinite, numbers)) for numbers in given):
            what = f"output {out}" if not _isfinite(out) else "a gradient of " + repr(
                next(g for g in grads if not _isfinite(g)))
            raise AnomalyError(
                f"detect_anomaly: a compiled replay produced {what} from finite numbers; a replay does not know "
                f"which op did it: record this step eagerly (loss = ...; loss.backward()) inside detect_anomaly() "
                f"to have the op named")

    def __repr__(self) -> str:
        return (f"Compiled({len(self.params)} params, {len(self.inputs)} inputs, {self.n_nodes} nodes, "
                f"{self.n_groups} groups, compiled in {self.compile_seconds:.3f} s)")


def _check_args(root, params, inputs) -> tuple:
    params = tuple(check_grad_args(root, params, "compile_graph", "root", "params"))
    inputs = tuple(check_grad_args(root, inputs, "compile_graph", "root", "inputs"))
    everything = params + inputs
    listed = set(everything)
    # C-level checks (a GPT's 4,192 params, each compile); if one fails, the loop finds what to name
    if not (all(map(is_, map(_parents_of, everything), repeat(None))) and len(listed) == len(everything)):
        seen = set()
        for name, group in (("params", params), ("inputs", inputs)):
            for i, v in enumerate(group):
                if v._parents is not None:
                    raise ValueError(f"compile_graph: {name}[{i}] is not a leaf (it is the result of op "
                                     f"'{v.op}'); pass the Values the graph starts from")
                if v in seen:
                    raise ValueError(f"compile_graph: {name}[{i}] is listed twice")
                seen.add(v)
    return params, inputs, listed


def compile_graph(root: Value, params: Sequence[Value], inputs: Sequence[Value] = (), *,
                  watch: Sequence[Value] = (), allow_unused: bool = False) -> Compiled:
    """Trace ``root``'s graph once; return a ``Compiled`` that replays it on new numbers.

    ``params`` and ``inputs`` must list every leaf Value the graph depends on.
    A param the graph does not use is allowed (gradient 0); an input it does
    not use raises ``UnusedInputError`` unless ``allow_unused=True`` (PyTorch's
    name): a replay would ignore its numbers, so most likely the recording
    read its value as a number and baked it in as a constant.
    ``watch``: nodes of the graph whose values each replay keeps in
    ``Compiled.watched`` (a model's outputs, say).  See the module docstring
    for what a replay assumes.

    >>> from engine import Value, dot
    >>> w = [Value(0.5), Value(-1.0)]; x = [Value(2.0), Value(3.0)]
    >>> loss = (dot(w, x) - 1.0).relu() + dot(w, w) * 0.1
    >>> f = compile_graph(loss, w, inputs=x)
    >>> out, grads = f.run([1.0, 1.0], inputs=[2.0, 3.0])
    >>> out, [round(g, 12) for g in grads]
    (4.2, [2.2, 3.2])
    """
    t0 = time.perf_counter()
    if isinstance(inputs, Value):
        inputs = [inputs]
    # Compiling allocates an object or two per edge and makes no cycles; with the collector
    # on, it re-walks the graph again and again (digits' full batch at once: 4.6 s -> 2.1 s paused).
    if type(allow_unused) is not bool:
        raise TypeError(f"compile_graph: allow_unused must be True or False, got {allow_unused!r}"[:200])
    with gc_paused():
        return _compile(root, params, inputs, watch, t0, allow_unused)


def _compile(root: Value, params, inputs, watch: Sequence[Value], t0: float, allow_unused: bool) -> Compiled:
    params, inputs, listed = _check_args(root, params, inputs)  # listed: the set of both
    nodes, leaves = fastpath.nodes_and_leaves(root)  # topological_order(root), split
    missing = [] if listed.issuperset(leaves) else list(filterfalse(listed.__contains__, leaves))
    if missing:
        ex = missing[0]
        raise ValueError(f"compile_graph: the graph has {len(missing)} leaf Value(s) in neither params nor "
                         f"inputs (first: {_leaf_name(ex)}); list every leaf (constants belong in ops as numbers)")
    if inputs and not allow_unused and len(leaves) < len(listed):  # an unused leaf: fine for a param, not an input
        _check_inputs_used(inputs, set(leaves))
    del listed, leaves  # not needed from here on (peak memory: W5 has 4,192 params)
    watch = check_grad_args(root, watch, "compile_graph", "root", "watch")
    prog = _Program(root, nodes, params, inputs, watch)
    return Compiled(params, inputs, prog.n_nodes, prog, t0)


def _leaf_name(v: Value) -> str:
    return f"label {v.label!r}" if v.label else f"data {v.data!r}"


def _check_inputs_used(inputs: tuple, reached: set) -> None:
    """UnusedInputError for the first input the graph does not read: a replay would ignore its numbers."""
    unused = [i for i, v in enumerate(inputs) if v not in reached]
    if unused:
        i = unused[0]
        raise UnusedInputError(
            f"compile_graph: inputs[{i}] ({_leaf_name(inputs[i])}) does not reach the root"
            f"{f' ({len(unused)} inputs do not)' if len(unused) > 1 else ''}, so a replay would ignore the "
            f"numbers fed for it. Its value was probably read as a plain number while recording (.data, "
            f"float(), a branch such as `if x > 0`, or a function that takes numbers), which bakes it into "
            f"the graph as a constant; make it reach the result through Value ops, leave it out of inputs, or "
            f"pass allow_unused=True if the graph really does not need it",
            i, len(unused))


# ---------------------------------------------------------------------------
# The program.
#
# One list M holds every number: param values, input values, node values (in
# the order the forward groups write them), local derivatives, constants.
# Backward *gathers*: the gradient of node p is its start (0.0, or a param's
# .grad for step()) plus local * gradient over the edges from its consumers,
# added in the order backward() adds them, into a second list G.  Nodes at
# the same distance from the root with as many incoming edges are one group:
# the k-th edges of all of them are one column, added in one map().

class _Program:
    """Built from the graph; keeps no Value: each map from nodes is dropped once read (peak memory)."""

    def __init__(self, root: Value, nodes: list, params: tuple, inputs: tuple, watch: list) -> None:
        self.M_init = []          # the numbers a replay starts from (constants stay, the rest is written)
        self._consts = {}         # a constant (repr for 0.0, -0.0, nan: each its own) -> its slot
        self.slot = {}            # node -> the slot of its value in M
        # node -> (parents, slots of their local derivatives): the edges backward reads, in operand
        # order (engine.dot nodes leave out edges to inputs and dense blocks' edges)
        self.edges = {}
        # PyTorch's masks, by local-derivative slot: a masked edge's local has a slot of its own
        # (see _locals), so a run of them is (first slot, end, op, operand slot lists, input index,
        # the parents the edges go to)
        self.mask_runs = []
        self.dense = []           # engine.dot blocks: (a row of Values, its first parent index, [(node, the
        #                           other side's slots)] in forward order), the row being a or b
        self.n_nodes = len(nodes)
        self.n_params = len(params)
        self.n_inputs = len(inputs)
        leaves = params + inputs
        self.M_init += map(attrgetter("data"), leaves)  # slots 0.. in order: params, then inputs
        self.slot.update(zip(leaves, range(len(leaves))))
        self.forward = []
        self.backward = []
        self._build_forward(nodes)
        self.out_slot = self.slot[root]
        for i, v in enumerate(watch):
            if v not in self.slot:
                raise ValueError(f"compile_graph: watch[{i}] is not a node of root's graph")
        self.watch = list(map(self.slot.__getitem__, watch))
        del self.slot, self._consts
        self._build_backward(root, nodes, params)

    # -- slots ---------------------------------------------------------------------
    def _new_slot(self, x: float = 0.0) -> int:
        self.M_init.append(x)
        return len(self.M_init) - 1

    def _const(self, c: float) -> int:
        key = c if c == c and c != 0.0 else repr(c)  # equal nonzero floats have equal bits; not so +-0.0, nan
        s = self._consts.get(key)
        if s is None:
            s = self._consts[key] = self._new_slot(c)
        return s

    def _ref(self, x) -> int:
        """The slot holding ``x``: a node's value, or a constant."""
        return self.slot[x] if isinstance(x, Value) else self._const(float(x))

    def _new_slots(self, n: int) -> list:
        start = len(self.M_init)
        self.M_init.extend([0.0] * n)
        return list(range(start, start + n))

    # -- forward ---------------------------------------------------------------------
    def _build_forward(self, nodes: list) -> None:
        level = self.level = {}
        get = level.get
        groups = defaultdict(list)  # (level, key) -> [(node, plan)], nodes of a level being independent
        # engine.dot's a or b Values -> (their deepest level, the first equal tuple): a layer's nodes
        # share them, and as one object each is keyed by id() from here on (hashing a row costs)
        part_level = {}
        # op name -> its group key, per layout (one parent; two Value parents; a Value and a float in
        # _ctx): for unary and binary ops _plan's answer depends on these alone
        one, two, with_number = {}, {}, {}
        by_parents = (one, two)  # indexed by "the parents are a tuple"
        for v in nodes:
            # engine.dot's fast path, unary and binary ops (a GPT's nodes, nearly all) are planned here, inline
            ps = v._parents  # first: seals an open fused node
            ctx = v._ctx
            if type(ctx) is int and v.op == "dot" and v._local is not CLOSURE:
                a, b = ps[:ctx], ps[ctx:]
                la = part_level.get(a)
                if la is None:
                    la = part_level[a] = (max(map(get, a, repeat(0)), default=0), a)
                lb = part_level.get(b)
                if lb is None:
                    lb = part_level[b] = (max(map(get, b, repeat(0)), default=0), b)
                key, plan = _SUM, (la[1], lb[1])
                lv = 1 + (la[0] if la[0] > lb[0] else lb[0])
            else:
                known = None
                if v._local is not CLOSURE:
                    if ctx is None:
                        known = by_parents[type(ps) is tuple]
                    elif type(ctx) is float and type(ps) is not tuple:
                        known = with_number
                key = None if known is None else known.get(v.op)
                if key is None:
                    key, plan = _plan(v)
                    if known is not None and key[0] in ("unary", "binary"):
                        known[v.op] = key
                elif key[0] == "unary":
                    plan = None
                elif known is two:
                    plan = ps
                else:  # ops.node_inputs' operands: the float first for a reflected op (2.0 - x)
                    plan = (ps, ctx) if key[2][0] else (ctx, ps)
                lv = 1 + (max(map(get, ps, repeat(0))) if type(ps) is tuple else get(ps, 0))
            level[v] = lv
            groups[(lv, key)].append((v, plan))
        for lv, key in sorted(groups, key=lambda k: (k[0], repr(k[1]))):
            members = groups[(lv, key)]
            start = len(self.M_init)  # a group's values are contiguous: one slice per group
            vs = list(map(itemgetter(0), members))
            self.M_init += map(attrgetter("data"), vs)
            self.slot.update(zip(vs, range(start, len(self.M_init))))
            self.forward.append(self._forward_group(key, members, start, len(self.M_init)))

    def _forward_group(self, key, members, start, end):
        kind = key[0]
        if kind == "unary":
            op = ops.OPS[key[1]]
            vs = list(map(itemgetter(0), members))
            ps = list(map(attrgetter("_parents"), vs))
            xs = list(map(self.slot.__getitem__, ps))
            getters = [_getter(xs)]
            step = _Map(op.float_forward, start, end, getters)
            loc = self._locals(op, 0, members, getters, start, end, step, operands=[xs], parents=ps)
            self.edges.update(zip(vs, zip(zip(ps), zip(loc))))
            return step
        if kind == "binary":
            op = ops.OPS[key[1]]
            a_value, b_value = key[2]  # is a, is b a Value: the same for the whole group
            vs = list(map(itemgetter(0), members))
            a_s, b_s = zip(*map(itemgetter(1), members))
            a_slots = list(map(self.slot.__getitem__, a_s) if a_value else map(self._const, map(float, a_s)))
            b_slots = list(map(self.slot.__getitem__, b_s) if b_value else map(self._const, map(float, b_s)))
            getters = [_getter(a_slots), _getter(b_slots)]
            step = _Map(op.float_forward, start, end, getters)
            operands = [a_slots, b_slots]
            # a number operand has no edge: its derivative is never read, so not computed
            loc_a = self._locals(op, 0, members, getters, start, end, step, b_slots, operands, a_s) if a_value else None
            loc_b = self._locals(op, 1, members, getters, start, end, step, a_slots, operands, b_s) if b_value else None
            # each node's edges: (its Value operands, their locals' slots), in operand order
            if a_value and b_value:
                self.edges.update(zip(vs, zip(zip(a_s, b_s), zip(loc_a, loc_b))))
            elif a_value:
                self.edges.update(zip(vs, zip(zip(a_s), zip(loc_a))))
            else:
                self.edges.update(zip(vs, zip(zip(b_s), zip(loc_b))))
            return step
        if kind == "terms":  # a fused node with a "- a * b" term: added one by one, in Python
            return self._terms_group(members, start)
        if kind == "sum":  # engine.dot's fast path: sum(map(mul, a, b)), a all Values, b Values then numbers
            get = self.slot.__getitem__
            const, consts_get = self._const, self._consts.get
            edges = self.edges
            # a layer's nodes share their weight rows and inputs: each distinct list is read once
            # per replay, and its slots are looked up once here (digits: 1,347 x 32 rows of 64)
            seen_a, seen_b, seen_mixed = {}, {}, {}
            # ua, ub: the distinct a and b slot lists; wa, wb: which of them each node reads
            ua, ub, wa, wb, b_rows = [], [], [], [], []
            lo, hi = self.n_params, self.n_params + self.n_inputs
            a_inputs, b_inputs = [], []  # per distinct a or b: its Values are all inputs (gradients not computed)
            a_rows = []  # the distinct a's, as Values (b_rows: the b's)
            for v, (pa, pb) in members:
                n, local = v._ctx, v._local
                m = len(pb)
                i = seen_a.get(id(pa))  # pa, pb: one object per distinct tuple (_build_forward)
                if i is None:
                    i = seen_a[id(pa)] = len(ua)
                    a = list(map(get, pa))
                    ua.append(a)
                    a_rows.append(pa)
                    a_inputs.append(lo <= min(a) and max(a) < hi)
                if m < n:  # b ends in numbers: keyed by slots (a -0.0 or a nan is a constant of its own)
                    b = list(map(get, pb))
                    cs = list(map(consts_get, local[m:n]))  # known nonzero numbers: their slots, in C
                    b += map(const, local[m:n]) if None in cs else cs
                    j = seen_mixed.setdefault(tuple(b), len(ub))
                else:
                    j = seen_b.get(id(pb))
                    b = None if j is None else ub[j]
                    if j is None:
                        b = list(map(get, pb))
                        j = seen_b[id(pb)] = len(ub)
                if j == len(ub):
                    ub.append(b)
                    b_rows.append(pb)
                    b_inputs.append(not m or (lo <= min(b[:m]) and max(b[:m]) < hi))
                wa.append(i)
                wb.append(j)
            # An a read by many nodes (a weight row, across a batch) is a dense block: backward
            # takes its edges as whole columns (_Program.dense) instead of one by one.  So is a b
            # read by many (a sample's input row, across a layer's neurons), for the nodes whose
            # a-side edges are not in buckets (else one node's a-then-b order would need a merge).
            dense_a = {i: [] for i, c in Counter(wa).items() if c >= _DENSE and not a_inputs[i]}
            dense_b = {j: [] for j, c in Counter(wb).items() if c >= _DENSE and not b_inputs[j]}
            for (v, (pa, pb)), i, j in zip(members, wa, wb):
                # d/da_i = b_i, then d/db_j = a_j; edges to inputs are left out: nothing reads them
                a_edges = not a_inputs[i]
                if a_edges and i in dense_a:
                    dense_a[i].append((v, ub[j]))
                    a_edges = False
                b_edges = not b_inputs[j]
                if b_edges and not a_edges and j in dense_b:
                    dense_b[j].append((v, ua[i]))
                    b_edges = False
                if not b_edges:
                    if a_edges:  # else no edges at all: _build_backward reads it as _NO_EDGES
                        edges[v] = (pa, ub[j])
                elif a_edges:
                    edges[v] = (v._parents, ub[j] + ua[i][:len(pb)])
                else:
                    edges[v] = (pb, ua[i][:len(pb)])
            for i, used in dense_a.items():
                self.dense.append((a_rows[i], 0, used))
            for j, used in dense_b.items():
                if used:  # b's Values are parents n.. of each node (n = len(b), numbers included)
                    self.dense.append((b_rows[j], len(ub[j]), used))
            return _Dots(start, end, ua, wa, ub, wb)
        # sums of terms added one at a time: (x, w) pairs
        starts, xs, ws = [], [], []
        for v, (first, pairs, edges) in members:
            starts.append(None if first is None else self._const(first))
            xs.append([self._ref(x) for x, _ in pairs])
            ws.append([self._ref(w) for _, w in pairs])
            self.edges[v] = ([p for p, _ in edges], [self._ref(partner) for _, partner in edges])
        k = len(xs[0])
        first = None if starts[0] is None else _getter(starts)
        if k >= _WIDE:  # many terms: one fold per node
            return _Fold(start, end, first, [(_getter(x), _getter(w)) for x, w in zip(xs, ws)], rows=True)
        cols = [(_getter([x[j] for x in xs]), _getter([w[j] for w in ws])) for j in range(k)]
        return _Fold(start, end, first, cols)

    def _locals(self, op, i, members, getters, start, end, step, partner_slots=None, operands=None,
                parents=None) -> list:
        """The slots of op's i-th local derivative for each member: a constant, the other operand, or computed.

        A masked derivative is always computed, into slots of its own, so that its slot tells a
        masked edge (``mask_runs``) from every other (the built-in masked ops, relu and pow,
        compute theirs anyway; this guards a future op with a constant masked derivative).
        """
        masked = op.masks is not None and op.masks[i] is not None
        d = op.derivatives[i]
        if not masked:
            try:
                return [self._const(float(d))] * len(members)
            except ValueError:
                pass
            if op.name == "mul" and not op.user:  # d(a*b)/da = b: the other operand's slot, already in M
                return partner_slots
        loc = self._new_slots(len(members))
        step.add(_Map(_local_fn(op, i), loc[0], loc[-1] + 1, getters + [_getter(list(range(start, end)))]))
        if masked:
            self.mask_runs.append((loc[0], loc[-1] + 1, op, operands, i, parents))
        return loc

    def _terms_group(self, members, start):
        plans = []
        for j, (v, terms) in enumerate(members):
            program = []
            edges = []
            first = v._ctx.start
            for kind, sign, operands in terms:
                if kind == fusion.PAIR:
                    a, b = operands
                    sa, sb = self.slot[a], self.slot[b]
                    if sign < 0:  # locals -b and -a: computed with the value
                        la, lb = self._new_slots(2)
                        program.append((sa, sb, -1.0, la, lb))
                        edges += [(a, la), (b, lb)]
                    else:
                        program.append((sa, sb, 1.0, None, None))
                        edges += [(a, sb), (b, sa)]
                elif kind == fusion.CONST:
                    program.append((self._const(operands[0]), self._const(1.0), sign, None, None))
                elif kind == fusion.SCALED:
                    x, c = operands
                    program.append((self.slot[x], self._const(c * sign), 1.0, None, None))
                    edges.append((x, self._const(c * sign)))
                else:
                    program.append((self.slot[operands[0]], self._const(sign), 1.0, None, None))
                    edges.append((operands[0], self._const(sign)))
            self.edges[v] = ([p for p, _ in edges], [loc for _, loc in edges])
            plans.append((start + j, None if first is None else self._const(first), program))
        return _Terms(plans)

    # -- backward ------------------------------------------------------------------------
    def _build_backward(self, root, nodes, params) -> None:
        self.param_g = [None] * len(params)
        self.dense_blocks = [(first, len(row), len(used)) for row, first, used in self.dense]  # for tests
        if root._parents is None:  # the graph is a single leaf: a param, or an input (gradient 0 for all)
            self.root_param = [i for i, v in enumerate(params) if v is root]
            self.g_size = 1
            del self.edges, self.dense, self.level, self.mask_runs
            return
        self.root_param = []
        # Ids: nodes 0..n-1 (forward order), then params; inputs' gradients are not computed,
        # so their edges all land in one extra bucket, never read.  Bucket i holds node i's
        # incoming edges in backward()'s order (consumers from the root down, each one's
        # parents in operand order): local slots in in_locs[i], consumer ids in in_cids[i].
        # The per-edge work is C-level map()s; Python runs once per node (W1: 6,805 nodes,
        # 5.9k edges in buckets, 59k in dense blocks).
        n, n_params = len(nodes), len(params)
        unread = n + n_params
        ids = dict(zip(nodes, range(n)))
        ids.update(zip(params, range(n, unread)))
        levels = list(map(self.level.__getitem__, nodes))
        consumers = list(map(self.edges.get, reversed(nodes), repeat(_NO_EDGES)))
        del self.edges, self.level  # read no more: freed as early as possible (peak memory)
        parents = list(map(itemgetter(0), consumers))
        pids = list(map(ids.get, chain.from_iterable(parents), repeat(unread)))
        locs = chain.from_iterable(map(itemgetter(1), consumers))
        cids = chain.from_iterable(map(repeat, range(n - 1, -1, -1), map(len, parents)))
        # only ids with bucket edges get lists; the others share one empty tuple (memory: a dense
        # layer's weights and hidden rows have none)
        in_locs, in_cids = [()] * (unread + 1), [()] * (unread + 1)
        for pid in set(pids):
            in_locs[pid] = []
            in_cids[pid] = []
        deque(map(list.append, map(in_locs.__getitem__, pids), locs), 0)
        deque(map(list.append, map(in_cids.__getitem__, pids), cids), 0)
        del consumers, parents, pids, locs, cids
        # A dense block's edges: for a row's k-th Value, the k-th b slot of each of its nodes
        # (a column of the b's, by one zip), consumers from the root down: one claim per row position.
        # A claim: (the Value's index among the nodes' parents, locals, consumer ids).  Per row,
        # C-level passes; a Value's first claim is kept bare, more go in a list (a weight
        # shared by two layers).  Inputs' claims land in claims[unread], dropped after.
        claims = {}  # parent id -> its claim, or a list of its claims
        counts = list(map(len, in_locs))  # incoming edges per id: its bucket's, plus its claims'
        get_count = counts.__getitem__
        columns = {}
        claimed = set()  # ids with a claim: a row of new, distinct ids grows it by its length
        for row, first, used in self.dense:
            others = list(map(itemgetter(1), reversed(used)))
            key = tuple(map(id, others))
            cols = columns.get(key)
            if cols is None:  # the same other sides in the same order (a layer's rows): shared columns
                cols = columns[key] = list(zip(*others))
            cids = list(map(ids.__getitem__, map(itemgetter(0), reversed(used))))
            pids = list(map(ids.get, row, repeat(unread)))
            row_claims = zip(pids, zip(range(first, first + len(row)), cols, repeat(cids)))
            before = len(claimed)
            claimed.update(pids)
            if len(claimed) - before == len(pids):  # most rows
                claims.update(row_claims)
            else:
                for pid, claim in row_claims:
                    had = claims.get(pid)
                    if had is None:
                        claims[pid] = claim
                    elif type(had) is list:
                        had.append(claim)
                    else:
                        claims[pid] = [had, claim]
            # a Value twice in a row: map() reads its count after writing the first one
            deque(map(counts.__setitem__, pids, map(add, map(get_count, pids), repeat(len(cids)))), 0)
        claims.pop(unread, None)
        del self.dense, columns, claimed
        # Groups: nodes by (distance from the root, incoming edges), then params by incoming edges
        groups = defaultdict(list)
        top = n + 1
        root_id = ids[root]
        # the parents of masked edges: only their groups check their sums for nan
        masked_ids = set(map(ids.get, chain.from_iterable(map(itemgetter(5), self.mask_runs))))
        masks = _MaskRuns(self.mask_runs) if self.mask_runs else None
        del ids, self.mask_runs
        keys = zip(map(sub, repeat(top), levels), counts, repeat(0))
        deque(map(list.append, map(groups.__getitem__, keys), range(n)), 0)
        root_key = (top - levels[root_id], counts[root_id], 0)
        groups[root_key].remove(root_id)  # the root's gradient is the one given
        if not groups[root_key]:
            del groups[root_key]
        del levels
        keys = zip(repeat(top), counts[n:unread], repeat(1))
        deque(map(list.append, map(groups.__getitem__, keys), range(n, unread)), 0)
        groups.pop((top, 0, 1), None)  # params the graph does not reach
        gidx = [None] * unread
        gidx[root_id] = 0
        g_of = gidx.__getitem__
        g_lists = {}  # id of a claim's consumer ids -> their gradient slots (shared by a row's Values)
        size = 1
        for key in sorted(groups):
            members = groups.pop(key)  # dropped once built (peak memory)
            start, size = size, size + len(members)
            deque(map(gidx.__setitem__, members, range(start, size)), 0)
            k = key[1]
            if not claims or claims.keys().isdisjoint(members):  # bucket edges alone (most groups)
                buckets = list(map(in_locs.__getitem__, members)), list(map(in_cids.__getitem__, members))
                locs = buckets[0]  # each member has edges, all in its bucket
                if k < _WIDE:  # columns read straight from the buckets: no list per member
                    bucket_cids = buckets[1]
                    consumers = None
                else:
                    consumers = list(map(list, map(map, repeat(g_of), buckets[1])))
            else:
                locs, consumers = _claimed_edges(members, claims, in_locs, in_cids, g_of, g_lists)
                buckets = ()
                deque(map(claims.pop, members, repeat(None)), 0)  # read no more (peak memory)
            if k >= _WIDE:  # many edges per node: one sum per node, over (locals, consumer gradients)
                cols = (_unique_getters(locs), _unique_getters(consumers))
            elif consumers is None:  # few, in buckets: the j-th edges of all the nodes are one column
                cols = [(_getter(list(map(itemgetter(j), locs))),
                         _getter(list(map(g_of, map(itemgetter(j), bucket_cids))))) for j in range(k)]
            else:  # few, some claimed: the same columns, from the merged lists
                cols = [(_getter(list(map(itemgetter(j), locs))), _getter(list(map(itemgetter(j), consumers))))
                        for j in range(k)]
            starts = [vid - n for vid in members] if key[2] else None
            # only a group with a masked edge checks its sums for nan (a diverged run: 2.5-10x faster)
            masked = not masked_ids.isdisjoint(members)
            self.backward.append(_Gather(start, start + len(members), cols, starts,
                                         masks if masked else None, k >= _WIDE))
            for lists in buckets:  # copied into the program: emptied (peak memory)
                deque(map(list.clear, lists), 0)
        self.g_size = size
        self.param_g = gidx[n:unread]

    # -- replay ------------------------------------------------------------------------------
    def _values(self, p: list, d: list) -> list:
        M = self.M_init[:]
        n = self.n_params
        M[:n] = p
        M[n:n + self.n_inputs] = d
        for step in self.forward:
            step(M)
        return M

    def forward_only(self, p: list, d: list) -> float:
        M = self._values(p, d)
        self.watched = [M[s] for s in self.watch]
        return M[self.out_slot]

    def run(self, p: list, d: list, gradient: float, starts: Optional[list]):
        M = self._values(p, d)
        out = M[self.out_slot]
        self.watched = [M[s] for s in self.watch]
        begin = [0.0] * self.n_params if starts is None else starts
        if self.root_param:  # the root is a leaf: d(root)/d(root) = 1
            grads = list(begin)
            for i in self.root_param:
                grads[i] = grads[i] + gradient
            return out, tuple(grads)
        G = [0.0] * self.g_size
        G[0] = 0.0 + gradient
        for step in self.backward:
            step(M, G, begin)
        return out, tuple(begin[i] if g is None else G[g] for i, g in enumerate(self.param_g))


# (id of an op record, what) -> (the record, its code): made once per process, not per compile
# (W5's 9 derivative functions and 4 masks cost ~0.35 ms of eval/compile, a tenth of an eager step)
_CODE = {}


def _op_code(op, what, make):
    entry = _CODE.get((id(op), what))
    if entry is None or entry[0] is not op:  # a record made later at a reused address: its own code
        entry = _CODE[(id(op), what)] = (op, make())
    return entry[1]


def _local_fn(op, i: int):
    """Op's i-th local derivative alone, as a float function: ``d(x, y)`` or ``d(a, b, y)``."""
    args = ", ".join(op.variables)
    return _op_code(op, ("local", i), lambda: eval(  # noqa: S307 - the op record's text
        f"lambda {args}, y: {op.derivatives[i]}", op.namespace))


_SUM = ("sum",)
_NO_EDGES = ((), ())  # a dot node whose edges are all in dense blocks or go to inputs


def _plan(v: Value):
    """(group key, what the group needs to compute node ``v``), from the node's record."""
    op = v.op
    parents = v._parents  # first: seals an open fused node
    ctx = v._ctx
    if v._local is CLOSURE:
        raise TypeError(f"compile_graph: node {op!r} has a micrograd-style _backward closure, which cannot be "
                        f"replayed; build it from engine ops (or engine.register_op) to compile it")
    if type(ctx) is fusion.Terms:
        terms = ctx.expand(v)
        if any(kind == fusion.PAIR and sign < 0 for kind, sign, _ in terms):  # noqa: SIM102
            return ("terms",), terms
        pairs, edges = [], []
        for kind, sign, operands in terms:
            if kind == fusion.PAIR:
                a, b = operands
                pairs.append((a, b))
                edges += [(a, b), (b, a)]
            elif kind == fusion.CONST:
                pairs.append((operands[0], sign))
            elif kind == fusion.SCALED:
                x, c = operands
                pairs.append((x, c * sign))
                edges.append((x, c * sign))
            else:
                pairs.append((operands[0], sign))
                edges.append((operands[0], sign))
        return ("fold", len(pairs), ctx.start is None), (ctx.start, pairs, edges)
    if op == "sum":
        first, items = ctx if type(ctx) is tuple else (0.0, parents)
        return ("fold", len(items), False), (first, [(x, 1.0) for x in items], [(p, 1.0) for p in parents])
    if op == "dot":  # (engine.dot's fast path, an int _ctx, is planned inline in _build_forward)
        local = v._local
        if type(ctx) is tuple:  # general mix, both lists kept: y = 0.0; y += x_i * w_i
            a, b = ctx
            edges = []
            for x, w in zip(a, b):
                if isinstance(x, Value):
                    edges.append((x, w))
                if isinstance(w, Value):
                    edges.append((w, x))
            return ("fold", len(a), False), (0.0, list(zip(a, b)), edges)
        pairs = list(zip(parents, local))  # each parent met one number
        return ("fold", len(pairs), False), (0.0, pairs, pairs)
    entry = ops.NODE_OPS.get(op)
    if entry is None:
        raise TypeError(f"compile_graph: op {op!r} has no record in engine.ops, so it cannot be replayed "
                        f"(a micrograd-style _backward closure, or a node made by hand?)")
    record, args, _ = ops.node_inputs(v)
    if record.arity == 1:
        return ("unary", record.name), None
    return ("binary", record.name, tuple(isinstance(a, Value) for a in args)), args


# -- the steps of a program ------------------------------------------------------------------

class _Map:
    """``M[start:end] = map(fn, *(g(M) for g in getters))``, then the steps added after it."""

    __slots__ = ("fn", "start", "end", "getters", "after")

    def __init__(self, fn, start, end, getters) -> None:
        self.fn, self.start, self.end, self.getters, self.after = fn, start, end, getters, []

    def add(self, step) -> None:
        self.after.append(step)

    def __call__(self, M) -> None:
        M[self.start:self.end] = map(self.fn, *[g(M) for g in self.getters])
        for step in self.after:
            step(M)


class _Dots:
    """Nodes of engine.dot's fast path: ``sum(map(mul, a, b))`` each, as the engine computes them.

    Nodes that read the same list (a weight row, for every sample of a
    batch) share one read of it per replay.
    """

    __slots__ = ("start", "end", "ua", "wa", "ub", "wb")

    def __init__(self, start, end, a_lists, a_which, b_lists, b_which) -> None:
        self.start, self.end = start, end
        self.ua, self.wa = [_getter(x) for x in a_lists], a_which
        self.ub, self.wb = [_getter(x) for x in b_lists], b_which

    def __call__(self, M) -> None:
        rM = repeat(M)
        A = list(map(_call, self.ua, rM))
        B = list(map(_call, self.ub, rM))
        M[self.start:self.end] = map(sum, map(map, repeat(mul), map(A.__getitem__, self.wa),
                                              map(B.__getitem__, self.wb)))


def _unique_getters(lists):
    """(one getter per distinct index list, which one each list uses)."""
    seen, by_id, which = {}, {}, []
    for x in lists:  # a dense block's Values share their lists: compared by identity first
        w = by_id.get(id(x))
        if w is None:
            w = by_id[id(x)] = seen.setdefault(tuple(x), len(seen))
        which.append(w)
    return [_getter(x) for x in seen], which


def _claimed_edges(members, claims, in_locs, in_cids, g_of, g_lists):
    """(locals, consumer gradient slots) per member, dense claims merged in.

    ``in_locs``/``in_cids``: by id, its bucket's locals/consumer ids (empty if it has none).
    """
    locs, consumers = [], []
    for vid in members:
        cl = claims.get(vid)  # None, one claim, or a list of them
        bucket_locs = in_locs[vid]
        if cl is None:
            locs.append(bucket_locs)
            consumers.append(list(map(g_of, in_cids[vid])))
        elif type(cl) is tuple and not bucket_locs:  # a weight read by its layer alone
            _, ls, cids = cl
            gs = g_lists.get(id(cids))
            if gs is None:  # one list per row, shared by the row's Values
                gs = g_lists[id(cids)] = list(map(g_of, cids))
            locs.append(ls)
            consumers.append(gs)
        else:
            ls, cids = _merge_claims([cl] if type(cl) is tuple else cl, bucket_locs, in_cids[vid])
            locs.append(ls)
            consumers.append(list(map(g_of, cids)))
    return locs, consumers


def _merge_claims(claims, bucket_locs, bucket_cids):
    """A parent's incoming edges from its dense claims and its bucket, in backward()'s order.

    Returns (locals, consumer ids).  Each part runs from the root down; parts
    whose consumers do not interleave are joined whole (a weight's L2 term
    comes before its layer's nodes), others are merged edge by edge: by
    consumer, then operand order.  A consumer's bucket edges to the parent
    come after its dense ones: a dot node with a dense side has its a-side
    edges in a bucket only if its b-side is not dense (see the "sum" group in
    _forward_group).
    """
    parts = [(cids[0], cids[-1], ls, cids) for _, ls, cids in claims]
    if bucket_locs:
        parts.append((bucket_cids[0], bucket_cids[-1], bucket_locs, bucket_cids))
    parts.sort(key=itemgetter(0), reverse=True)
    if all(p[1] > q[0] for p, q in zip(parts, parts[1:])):
        locs, cids = [], []
        for _, _, ls, cs in parts:
            locs += ls
            cids += cs
        return locs, cids
    items = [((-c, 0, k), loc, c) for k, ls, cs in claims for loc, c in zip(ls, cs)]
    items += [((-c, 1, pos), loc, c) for pos, (loc, c) in enumerate(zip(bucket_locs, bucket_cids))]
    items.sort(key=itemgetter(0))
    return [t[1] for t in items], [t[2] for t in items]


# Deep lazy map() chains recurse in C as they are consumed: materialise every so often.
_CHAIN = 64


class _Fold:
    """Nodes that add terms one at a time (engine.sum, dot's general path, fused sums).

    Few terms: column by column across the group; many: one fold per node.
    """

    __slots__ = ("start", "end", "first", "cols", "rows")

    def __init__(self, start, end, first, cols, rows=False) -> None:
        self.start, self.end, self.first, self.cols, self.rows = start, end, first, cols, rows

    def __call__(self, M) -> None:
        if self.rows:
            gas, gbs = zip(*self.cols)
            rM = repeat(M)
            products = map(map, repeat(mul), map(_call, gas, rM), map(_call, gbs, rM))
            if self.first is None:  # the first term starts each sum: no start to add to
                M[self.start:self.end] = map(reduce, repeat(add), products)
            else:
                M[self.start:self.end] = _folds(products, self.first(M))
            return
        cols = self.cols
        if self.first is None:  # no start: the first term starts the sum
            ga, gb = cols[0]
            acc = map(mul, ga(M), gb(M))
            cols = cols[1:]
        else:
            acc = self.first(M)
        for j, (ga, gb) in enumerate(cols, 1):
            acc = map(add, acc, map(mul, ga(M), gb(M)))
            if j % _CHAIN == 0:
                acc = list(acc)
        M[self.start:self.end] = acc


class _Terms:
    """Fused nodes with a "- a * b" term: each term added or subtracted in turn, in Python."""

    __slots__ = ("plans",)

    def __init__(self, plans) -> None:
        self.plans = plans

    def __call__(self, M) -> None:
        for out, first, program in self.plans:
            y = None if first is None else M[first]
            for sx, sw, sign, la, lb in program:
                t = M[sx] * M[sw]
                if la is not None:
                    M[la] = -M[sw]
                    M[lb] = -M[sx]
                if y is None:
                    y = t if sign > 0 else -t
                else:
                    y = y + t if sign > 0 else y - t
            M[out] = y


# A node with this many incoming edges or more is summed on its own (one
# C-level fold per node); fewer, and its edges go in columns with the group's.
_WIDE = 16
# An engine.dot row read by this many nodes or more is a dense block (backward's edges by
# whole columns): a GPT's weight row is read once per position, 5 times for W5's name.
_DENSE = 4
# Adding one term at a time: builtin sum() does it in C up to 3.11; from 3.12 it
# compensates rounding (a different result), so reduce(add) does it there.
_SEQUENTIAL_SUM = sys.version_info < (3, 12)


def _folds(iterables, starts):
    """``start + t0 + t1 + ...`` for each (terms, start), added one at a time as backward() does."""
    if _SEQUENTIAL_SUM:
        return map(sum, iterables, starts)
    return map(reduce, repeat(add), iterables, starts)


class _Gather:
    """Gradients of a group of nodes: start + local * consumer gradient over each node's incoming edges."""

    __slots__ = ("start", "end", "cols", "starts", "masks", "rows")

    def __init__(self, start, end, cols, starts, masks, rows) -> None:
        self.start, self.end, self.cols = start, end, cols
        self.starts = None if starts is None else _getter(starts)
        self.masks, self.rows = masks, rows  # masks: the program's _MaskRuns, or None if it has none

    def __call__(self, M, G, begin) -> None:
        acc = repeat(0.0) if self.starts is None else self.starts(begin)
        if self.rows:  # per node: (locals, consumer gradients), each distinct list read once
            (ul, wl), (uc, wc) = self.cols  # a weight shares its locals with its row, its consumers with its column
            L = list(map(_call, ul, repeat(M)))
            C = list(map(_call, uc, repeat(G)))
            acc = _folds(map(map, repeat(mul), map(L.__getitem__, wl), map(C.__getitem__, wc)), acc)
        else:
            for j, (gl, gc) in enumerate(self.cols, 1):
                acc = map(add, acc, map(mul, gl(M), gc(G)))
                if j % _CHAIN == 0:
                    acc = list(acc)
        s, e = self.start, self.end
        G[s:e] = acc
        if self.masks is not None:
            total = sum(G[s:e])
            if total != total:  # a nan: where PyTorch masks instead of multiplying, it gives 0 there
                self._masked(M, G, begin)

    def _masked(self, M, G, begin) -> None:
        """The same sums, one product at a time, with ``autograd.chain``'s rule.

        Each member's edges are read back from the getters (applied to slot numbers
        instead of values): a program keeps no per-edge list for this rare path.
        """
        slots_m, slots_g = range(len(M)), range(len(G))
        if self.rows:
            (ul, wl), (uc, wc) = self.cols
            edges = [(ul[a](slots_m), uc[c](slots_g)) for a, c in zip(wl, wc)]
        else:
            ls = [gl(slots_m) for gl, _ in self.cols]
            cs = [gc(slots_g) for _, gc in self.cols]
            edges = [([col[m] for col in ls], [col[m] for col in cs]) for m in range(self.end - self.start)]
        starts = None if self.starts is None else self.starts(begin)
        holds = self.masks.holds
        for m, (locs, consumers) in enumerate(edges):
            g = 0.0 if starts is None else starts[m]
            for loc, c in zip(locs, consumers):
                t = M[loc] * G[c]
                if t != t and holds(loc, M):
                    t = 0.0
                g = g + t
            G[self.start + m] = g


class _MaskRuns:
    """Where PyTorch masks a gradient: runs of local-derivative slots of masked edges (see _locals)."""

    __slots__ = ("firsts", "runs")

    def __init__(self, runs) -> None:
        # (first slot, end, op, operand slot lists, the mask's code), in slot order
        self.runs = [(first, end, op, operands, _op_code(op, ("mask", i), lambda op=op, i=i: compile(
                          op.masks[i], f"<mask of {op.name}>", "eval")))
                     for first, end, op, operands, i, _ in runs]
        self.firsts = [run[0] for run in runs]

    def holds(self, loc: int, M: list) -> bool:
        """Is the edge whose local derivative is M[loc] masked, at the values in M?"""
        r = bisect_right(self.firsts, loc) - 1
        if r < 0:
            return False
        first, end, op, operands, code = self.runs[r]
        if loc >= end:
            return False
        names = dict(zip(op.variables, (M[col[loc - first]] for col in operands)))
        return bool(eval(code, ops.HELPERS, names))  # noqa: S307 - the op record's own text, compiled


# ---------------------------------------------------------------------------
# A step function compiled per shape, for training loops.

def compile_step(fn, params: Sequence[Value], *, allow_unused: bool = False):
    """``fn(*inputs) -> loss`` compiled once per input shape, then replayed: a training-loop helper.

    ``step = compile_step(loss_fn, params)``; then ``step(*batch)`` returns the
    loss (a float) and adds d loss/d param into each param's ``.grad``, like
    ``loss_fn(*batch).backward()``.  Each argument of ``fn`` is a number or a
    (nested) list of numbers, fed to ``fn`` as Values; the first call for a
    new shape (list lengths) records ``fn`` and compiles it, later calls of
    that shape replay it.  ``fn`` must build the same graph for every input
    of a shape: no branching on ``.data``, no list indexing by an input's
    value (use one-hot inputs instead); ``step.compiled`` holds one Compiled
    per shape seen.  A number that does not reach the loss through Value ops
    raises ``UnusedInputError`` (a replay would keep its first value), unless
    ``allow_unused=True`` says ``fn`` ignores some numbers on purpose.  A float read from ``.data`` while recording (the row max
    that ``nn.functional.softmax`` subtracts) is replayed as that constant:
    the same softmax mathematically, but not the bits a fresh eager step gives,
    and logits that grow ~700 past it overflow ``exp`` (inf/nan, which
    ``detect_anomaly()`` reports).  ``nn.fit(compile=True)`` builds its max
    from relu nodes instead, so its replays follow the data.

    >>> from engine import Value
    >>> w = Value(0.5)
    >>> step = compile_step(lambda xs, y: (sum(x * w for x in xs) - y) ** 2, [w])
    >>> step([1.0, 2.0], 3.0), w.grad
    (2.25, -9.0)
    >>> step([2.0, 2.0], 1.0), len(step.compiled)
    (1.0, 1)
    """
    if not callable(fn):
        raise TypeError(f"compile_step: fn must be a function building the loss, got {type(fn).__name__}")
    params = tuple(check_grad_args(Value(0.0), params, "compile_step", "fn's output", "params"))
    if type(allow_unused) is not bool:
        raise TypeError(f"compile_step: allow_unused must be True or False, got {allow_unused!r}"[:200])
    return _StepCache(fn, params, allow_unused)


class _StepCache:
    def __init__(self, fn, params, allow_unused: bool) -> None:
        self.fn = fn
        self.params = params
        self.allow_unused = allow_unused
        self.compiled = {}

    def __call__(self, *args) -> float:
        key, flat = _read_args(args)
        c = self.compiled.get(key)
        if c is None:
            inputs = [Value(x) for x in flat]
            it = iter(inputs)
            wrapped = [_rebuild_shape(a, it) for a in args]
            loss = self.fn(*wrapped)
            if not isinstance(loss, Value):
                raise TypeError(f"compile_step: fn must return a Value (the loss), got {type(loss).__name__}")
            try:
                c = compile_graph(loss, self.params, inputs, allow_unused=self.allow_unused)
            except UnusedInputError as e:
                raise UnusedInputError(
                    f"compile_step: {_position(args, e.index)} = {flat[e.index]!r} does not reach fn's loss"
                    f"{f' ({e.count} numbers do not)' if e.count > 1 else ''}, so a replay would ignore it and "
                    f"reuse the value it had in the first call. fn probably reads it as a plain number "
                    f"(.data, float(), a branch on its value, or a function that takes numbers, such as a "
                    f"loss given targets); keep it a Value from fn's argument to the loss, do not pass it, or "
                    f"pass allow_unused=True if fn ignores it on purpose",
                    e.index, e.count) from None
            self.compiled[key] = c
        return c.step(flat)


# compile_step's arguments: numbers and lists of them, nested at most this deep (a limit, not recursion)
_MAX_NESTING = 100


def _read_args(args: tuple) -> tuple:
    """(shape key, the numbers as floats) of compile_step's arguments, walked iteratively.

    The key lists every list's length (and -1 per number) in reading order:
    equal keys mean equal nesting and lengths.
    """
    key, flat = [], []
    for i, a in enumerate(args):
        if not isinstance(a, (list, tuple)):
            _read_number(a, args, key, flat)
            continue
        key.append(len(a))
        its = [iter(a)]
        while its:
            for x in its[-1]:
                if isinstance(x, (list, tuple)):
                    if len(its) == _MAX_NESTING:
                        raise ValueError(f"compile_step: argument {i} is nested more than {_MAX_NESTING} lists "
                                         f"deep; pass numbers or (nested) lists of numbers")
                    key.append(len(x))
                    its.append(iter(x))
                    break
                _read_number(x, args, key, flat)
            else:
                its.pop()
    return tuple(key), flat


def _read_number(x, args: tuple, key: list, flat: list) -> None:
    key.append(-1)
    if type(x) is float:
        flat.append(x)
        return
    try:
        flat.append(as_float(x, "compile_step"))
    except (TypeError, ValueError):  # the same error again, naming where the number sits
        as_float(x, f"compile_step: {_position(args, len(flat))}")


def _position(args: tuple, k: int) -> str:
    """Where the k-th number of the arguments sits: "argument 1[2][0]" (nesting is bounded by _read_args)."""
    def walk(a, path):
        nonlocal k
        if isinstance(a, (list, tuple)):
            for j, x in enumerate(a):
                found = walk(x, path + f"[{j}]")
                if found:
                    return found
            return None
        if k == 0:
            return path
        k -= 1
        return None
    for i, a in enumerate(args):
        found = walk(a, f"argument {i}")
        if found:
            return found
    return f"number {k}"


def _rebuild_shape(a, it):
    if isinstance(a, (list, tuple)):
        return [_rebuild_shape(x, it) for x in a]
    return next(it)
