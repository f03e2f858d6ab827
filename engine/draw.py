"""Draw a computation graph with Graphviz: ``draw_dot(root)``.

>>> from engine import Value, draw_dot
>>> x = Value(2.0, label="x"); w = Value(-3.0, label="w")
>>> y = (x * w).tanh(); y.backward()
>>> g = draw_dot(y)                       # a graphviz.Digraph
>>> "tanh" in g.source                    # DOT text never needs a renderer
True
>>> # g.pipe(format="svg"), g.render(...), render_to_file(g, "y.png"), or just
>>> # leave `g` as the last line of a Jupyter cell to see it inline.

The picture: one record per Value (``label | data | grad``) and one small
node per op, edges in data-flow order (inputs -> op -> result).

* Operand roles: an op whose operands do not commute labels its input edges
  ``a`` and ``b`` and reads ``a - b``, ``a / b``, ``a ** b``; with a number
  operand the op node shows it in place (``x - 2``, ``2 - x``, ``* 2``).
* Fused ``dot`` nodes are a table of their pairs, one row per ``a_i * b_i``
  with the numbers and the term (``-3 * 2 = -6``), constants included; each
  Value operand's edge goes into its row, so which w_i multiplies which x_i
  is visible.  Up to ``max_inputs`` rows (default 20: a 16-input neuron and
  its bias whole); the rest are one ``... N more pairs`` row.  A ``sum``
  draws up to ``max_inputs`` inputs and one ``... N more inputs`` node.
* Size: at most ``max_nodes`` Value boxes (default 150) are drawn; a bigger
  graph, or ``top=N``, keeps the most relevant Values (``top_by="grad"``:
  largest ``|grad|``; ``"depth"``: nearest the output) *together with the
  path that connects each of them to the output*, so the picture never falls
  apart into unconnected boxes.  A note under the graph says what was left
  out.  The walk looks at the ``WALK_LIMIT`` (100,000) Values nearest the
  output at most, so a 1,000,000-node graph draws in about a second.  For a
  whole model's weights at once, ``nn.draw_model(model)`` draws layers,
  neurons and weights instead of Values.
* ``color_by="sign"`` / ``"magnitude"`` fills records by their gradient;
  ``highlight=v`` draws every path from ``v`` to the output in red.

Rendering (``.pipe()``, ``.render()``, Jupyter's inline SVG,
``render_to_file``) uses Graphviz's ``dot`` or, without it, the
``graphviz-pure`` command from PyPI: see ``engine.render``.

Only this module and ``engine.render`` touch ``graphviz`` (the Python
package), and only inside functions, so ``import engine`` stays instant.
"""
from __future__ import annotations

import math
import os
import pathlib
from typing import TYPE_CHECKING, Mapping, Optional, Union

from . import ops
from .fusion import Terms
from .render import Renderer, RendererNotFoundError, find_renderer, use_renderer, write_atomic
from .value import Value, as_float, dot_operands

if TYPE_CHECKING:  # pragma: no cover - typing only; graphviz is imported lazily
    import graphviz

__all__ = [
    "draw_dot", "render_to_file", "find_renderer", "Renderer", "RendererNotFoundError",
    "MAX_INPUTS", "MAX_NODES", "WALK_LIMIT", "RENDER_FORMATS",
]

MAX_INPUTS = 20
"""Inputs (or ``dot`` pairs) drawn per op before the rest are summarised: a 16-input neuron + bias whole."""

MAX_NODES = 60
"""Value boxes drawn by default; bigger graphs keep the most relevant ones, connected (see ``top``)."""

WALK_LIMIT = 100_000
"""Values looked at, nearest the output first: bounds time and memory on huge graphs."""

RENDER_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
"""File suffix -> format used by ``render_to_file`` (``dot`` = DOT source, no renderer)."""

_RECORD_SPECIAL = set('{}|<>"\\')
_HOT = {"color": "#d7191c", "penwidth": "2.5"}


# ---------------------------------------------------------------------------
# The one Digraph class: renders through engine.render's renderer.

_digraph_class = None


def _Digraph():
    """A ``graphviz.Digraph`` subclass that finds a renderer (or says why not) before rendering.

    Built on first use because ``graphviz`` is imported lazily.  It is still a
    ``graphviz.Digraph`` (``isinstance`` holds, Jupyter display works).
    """
    global _digraph_class
    if _digraph_class is None:
        try:
            import graphviz
        except ImportError as e:
            raise ImportError(
                "draw_dot needs the `graphviz` Python package (and a renderer for images): "
                "run `pip install 'chainrule[viz]'` (installs graphviz and graphviz-pure)") from e

        class ChainruleDigraph(graphviz.Digraph):
            """``graphviz.Digraph`` that renders via ``dot`` or ``graphviz-pure``."""

            def pipe(self, format=None, *args, **kwargs):  # noqa: A002 - graphviz's name
                use_renderer(format or self.format)
                return super().pipe(format, *args, **kwargs)

            def render(self, *args, **kwargs):
                fmt = kwargs.get("format")
                if fmt is None and kwargs.get("outfile") is not None:
                    fmt = pathlib.Path(kwargs["outfile"]).suffix.lstrip(".") or None
                use_renderer(fmt or self.format)
                return super().render(*args, **kwargs)

        # A findable name, so pickle/copy see engine.draw.ChainruleDigraph (via __getattr__ below).
        ChainruleDigraph.__module__ = __name__
        ChainruleDigraph.__qualname__ = "ChainruleDigraph"
        _digraph_class = ChainruleDigraph
    return _digraph_class


def __getattr__(name: str):
    # The Digraph subclass exists only once graphviz is imported; build it on demand.
    if name == "ChainruleDigraph":
        return _Digraph()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ---------------------------------------------------------------------------
# Reading ops: the only place that knows how a node stores its constants.

def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"


def _esc(text: str) -> str:
    """A user's text made safe inside a DOT record label.

    ``{ } | < > " \\`` are record syntax and get a backslash; control
    characters (a NUL byte ends a DOT string and made the renderer fail) are
    shown as ``\\x00``-style text.
    """
    out = []
    for ch in text:
        if ch in _RECORD_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch < " " or ch == "\x7f":
            out.append(f"\\\\x{ord(ch):02x}")
        else:
            out.append(ch)
    return "".join(out)


def _plain(text: str) -> str:
    """A user's text (an op name) made safe as a plain DOT label: control characters as ``\\x01`` text."""
    return "".join(f"\\\\x{ord(ch):02x}" if ch < " " or ch == "\x7f" else ch for ch in text)


def _terms(v: Value) -> Optional[list]:
    """The rows of a fused node's table, ``(sign, operands)`` with one or two operands (Values or
    numbers) each, or None for a node drawn as one op symbol.

    Fused nodes keep their operands in one of two ways: ``engine.dot`` keeps
    its two lists (``dot_operands``); nodes fused by ``engine.fused()`` keep
    a term program (``fusion.Terms``).
    """
    ctx = v._ctx
    if type(ctx) is Terms:
        return [(sign, operands) for _, sign, operands in ctx.expand(v)]
    if v.op != "dot" or not v.parents:
        return None
    try:
        a, b = dot_operands(v)
    except ValueError:  # the node kept no lists: every term is a Value times a constant
        return [(1.0, pair) for pair in zip(v.parents, v.local_grads)]
    return [(1.0, pair) for pair in zip(a, b)]


def _row_text(sign: float, operands: tuple, digits: int) -> str:
    """``-3 * 2 = -6`` for a product term, ``- 0.5`` for a plain one."""
    xs = [x.data if isinstance(x, Value) else x for x in operands]
    lead = "- " if sign < 0 else ""
    if len(xs) == 1:
        return f"{lead or '+ '}{_num(xs[0], digits)}"
    return f"{lead}{_num(xs[0], digits)} * {_num(xs[1], digits)} = {_num(sign * xs[0] * xs[1], digits)}"


def _op_label(v: Value, digits: int) -> str:
    """What an op node reads: ``*``, ``x - 2``, ``2 ** x``, ``a / b``, ``-x``, ``tanh``, a registered name..."""
    entry = ops.NODE_OPS.get(v.op)
    if entry is None or entry[0].arity not in (1, 2):
        return v.op
    op = entry[0]
    sym = op.symbol
    if op.arity == 1:
        return f"{sym}x" if sym else op.name
    if len(v.parents) == 2:
        if op.commutative:
            return sym or op.name
        return f"a {sym} b" if sym else f"{op.name}(a, b)"
    # Value and number: the number in its place
    _, operands, _ = ops.node_inputs(v)
    a, b = ("x" if isinstance(o, Value) else _num(o, digits) for o in operands)
    if op.commutative and sym:
        return f"{sym} {b if a == 'x' else a}"
    return f"{a} {sym} {b}" if sym else f"{op.name}({a}, {b})"


def _roles(v: Value) -> tuple:
    """Edge labels for the inputs of ``v``: ``("a", "b")`` where operand order matters, else ()."""
    entry = ops.NODE_OPS.get(v.op)
    if len(v.parents) == 2 and entry is not None and entry[0].arity == 2 and not entry[0].commutative:
        return ("a", "b")
    return ()


def _fill(g: float, mode: Optional[str], scale: float) -> Optional[str]:
    """Fill colour for a record, or None for the default (white)."""
    if mode is None:
        return None
    if g != g:  # nan
        return "#cccccc"
    if g == 0.0:
        return "#ffffff"
    if mode == "sign":
        return "#a6cee3" if g > 0 else "#fb9a99"
    # magnitude: mix white towards a strong blue/red; sqrt so small grads stay visible
    t = 1.0 if math.isinf(g) or scale <= 0.0 else min(1.0, math.sqrt(abs(g) / scale))
    strong = (33, 102, 172) if g > 0 else (178, 24, 43)
    r, gg, b = (round(255 + (c - 255) * (0.12 + 0.6 * t)) for c in strong)
    return f"#{r:02x}{gg:02x}{b:02x}"


# ---------------------------------------------------------------------------
# Which Values to draw.

class _Inputs:
    """What one op node draws: its rows (dot) or inputs, and how many it leaves out."""

    __slots__ = ("pairs", "values", "hidden")

    def __init__(self, v: Value, max_inputs: int) -> None:
        def carries(x):  # a result of an op: the rest of the graph hangs off it
            return isinstance(x, Value) and bool(x.parents)

        self.pairs = None
        terms = _terms(v)
        if terms is not None:
            idx = range(len(terms))
            if len(terms) > max_inputs:  # results of ops first (an MLP's hidden units), then operand order
                idx = sorted(sorted(idx, key=lambda i: (not any(carries(x) for x in terms[i][1]), i))[:max_inputs])
            self.pairs = [(i, terms[i]) for i in idx]  # (row number, (sign, operands))
            self.values = [x for _, (_, xs) in self.pairs for x in xs if isinstance(x, Value)]
            self.hidden = len(terms) - len(self.pairs)
        else:
            ps = v.parents
            idx = range(len(ps))
            if len(ps) > max_inputs:
                idx = sorted(sorted(idx, key=lambda i: (not carries(ps[i]), i))[:max_inputs])
            self.values = [ps[i] for i in idx]
            self.hidden = len(ps) - len(self.values)


def _walk(root: Value, max_inputs: int, limit: int):
    """Breadth-first from the output through the inputs each op draws, at most ``limit`` Values.

    Returns (Values nearest-first, {id: ops to the output}, {id: the Value
    it was reached from}, {id: _Inputs}, whether the walk was cut short).
    """
    order = [root]
    dist = {id(root): 0}
    toward = {id(root): None}
    inputs = {}
    cut = False
    i = 0
    while i < len(order):
        v = order[i]
        i += 1
        if not v.parents:
            continue
        ins = inputs[id(v)] = _Inputs(v, max_inputs)
        d = dist[id(v)] + 1
        for p in ins.values:
            if id(p) not in dist:
                if len(order) >= limit:
                    cut = True
                    continue
                dist[id(p)] = d
                toward[id(p)] = v
                order.append(p)
    return order, dist, toward, inputs, cut


def _select(order: list, dist: dict, toward: dict, limit: int, top_by: str, grad_of) -> set:
    """ids of at most ``limit`` Values: the best by ``top_by``, each with its path to the output.

    Greedy: take Values best-first and add each with the Values on its way
    to the nearest kept one (the walk's tree) if they still fit; each try
    walks at most the boxes still free.
    """
    if top_by == "depth":  # the walk is nearest-first, and each Value's way out comes before it
        return {id(v) for v in order[:limit]}

    def key(v):
        g = abs(grad_of(v))
        return (-(0.0 if g != g else g), dist[id(v)])

    keep = {id(order[0])}
    for v in sorted(order[1:], key=key):
        if len(keep) >= limit:
            break
        if id(v) in keep:
            continue
        path = []
        u = v
        while id(u) not in keep and len(keep) + len(path) < limit:
            path.append(id(u))
            u = toward[id(u)]
        if id(u) in keep:
            keep.update(path)
    return keep


def _resolve_highlight(highlight, order: list, cut: bool) -> Optional[Value]:
    if highlight is None:
        return None
    beyond = f" (or it lies beyond the {len(order):,} Values nearest the output that draw_dot looks at)" if cut else ""
    if isinstance(highlight, Value):
        if not any(v is highlight for v in order):
            raise ValueError(
                f"draw_dot(highlight=...): {highlight!r} is not part of this graph{beyond}; "
                "pass a Value the output was computed from (or its label)")
        return highlight
    if isinstance(highlight, str):
        hits = [v for v in order if v.label == highlight]
        if len(hits) != 1:
            labels = sorted({v.label for v in order if v.label})
            what = "no Value" if not hits else f"{len(hits)} Values"
            raise ValueError(
                f"draw_dot(highlight={highlight!r}): {what} in this graph has that label{beyond}; "
                f"pass the Value itself or one of the unique labels {labels[:20]}")
        return hits[0]
    raise TypeError(
        f"draw_dot(highlight=...): expected a Value or a label str, got {type(highlight).__name__}")


def _downstream(target: Value, order: list) -> set:
    """ids of ``target`` and every walked Value computed from it: the paths its gradient flows back along."""
    children = {}
    for v in order:
        for p in v.parents:
            children.setdefault(id(p), []).append(v)
    hot = {id(target)}
    stack = [target]
    while stack:
        for c in children.get(id(stack.pop()), ()):
            if id(c) not in hot:
                hot.add(id(c))
                stack.append(c)
    return hot


def _check_limit(name: str, value, default: int) -> None:
    if type(value) is not int or value < 1:
        raise ValueError(f"draw_dot({name}={value!r}): expected an int >= 1, e.g. {default}")


# ---------------------------------------------------------------------------

def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    max_inputs: int = MAX_INPUTS,
    max_nodes: int = MAX_NODES,
    color_by: Optional[str] = None,
    top: Optional[int] = None,
    top_by: str = "grad",
    highlight: Union[Value, str, None] = None,
    digits: int = 4,
    format: str = "svg",  # noqa: A002 - graphviz's name for it
    grads: Optional[Mapping[Value, float]] = None,
    node_names: Optional[dict] = None,
) -> "graphviz.Digraph":
    """The computation graph of ``root`` as a ``graphviz.Digraph``; see the module docstring.

    ``top=N`` draws at most N Value boxes (the N most relevant by
    ``top_by``, with the paths connecting them to the output); without it,
    graphs of more than ``max_nodes`` Values are summarised the same way.
    ``grads={value: g}`` shows (and colours, ranks by) those gradients
    instead of ``.grad``, e.g. the result of ``engine.grad``; Values missing
    from it show 0.  ``node_names``: a dict to fill with ``{DOT node name:
    Value}`` for every drawn box, for tools that post-process the picture
    (``engine.draw_backward`` does).

    >>> from engine import Value
    >>> a = Value(2.0, label="a"); b = (a * 3.0).relu(); b.backward()
    >>> g = draw_dot(b, color_by="sign", highlight="a")
    >>> '* 3' in g.source and 'grad 3' in g.source
    True
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: expected a Value to draw, got {type(root).__name__} {root!r}"[:300])
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_dot(rankdir={rankdir!r}): use 'LR' (left to right) or 'TB' (top to bottom)")
    _check_limit("max_inputs", max_inputs, MAX_INPUTS)
    _check_limit("max_nodes", max_nodes, MAX_NODES)
    if color_by not in (None, "sign", "magnitude"):
        raise ValueError(f"draw_dot(color_by={color_by!r}): use None, 'sign' or 'magnitude'")
    if top is not None and (type(top) is not int or top < 1):
        raise ValueError(f"draw_dot(top={top!r}): expected an int >= 1 (number of Value boxes to keep) or None")
    if top_by not in ("grad", "depth"):
        raise ValueError(f"draw_dot(top_by={top_by!r}): use 'grad' (largest |grad|) or 'depth' (nearest the output)")
    if type(digits) is not int or not 1 <= digits <= 17:
        raise ValueError(f"draw_dot(digits={digits!r}): expected an int from 1 to 17")

    if grads is not None and not isinstance(grads, Mapping):
        raise TypeError(f"draw_dot(grads=...): expected a dict {{Value: gradient}}, got {type(grads).__name__}")
    if grads is not None:  # as floats (numpy's and Fractions too), each named if it is not a number
        grads = {k: as_float(g, f"draw_dot(grads=...): the gradient of {k!r}") for k, g in grads.items()}
    if node_names is not None and not isinstance(node_names, dict):
        raise TypeError(f"draw_dot(node_names=...): expected a dict to fill, got {type(node_names).__name__}")
    grad_of = (lambda v: grads.get(v, 0.0)) if grads is not None else (lambda v: v.grad)
    order, dist, toward, inputs, cut = _walk(root, max_inputs, WALK_LIMIT)
    target = _resolve_highlight(highlight, order, cut)
    limit = max_nodes if top is None else top
    if len(order) <= limit:
        drawn = order
    else:
        keep = _select(order, dist, toward, limit, top_by, grad_of)
        drawn = [v for v in order if id(v) in keep]
    summarised = len(drawn) < len(order)
    name = {id(v): f"v{i}" for i, v in enumerate(drawn)}
    hot = _downstream(target, order) if target is not None else set()
    scale = max((abs(g) for g in map(grad_of, drawn) if math.isfinite(g)), default=0.0)
    if node_names is not None:
        node_names.update((name[id(v)], v) for v in drawn)

    g = _Digraph()(format=format, graph_attr={"rankdir": rankdir, "nodesep": "0.12", "ranksep": "0.3"})
    g.attr("node", fontname="Helvetica", fontsize="11")
    g.attr("edge", arrowsize="0.6", fontname="Helvetica", fontsize="9")
    notes = []
    if len(drawn) < len(order) or cut:
        seen = f"{len(order):,}" + ("+" if cut else "")
        how = "largest |grad|" if top_by == "grad" else "nearest the output"
        notes.append(f"showing {len(drawn):,} of {seen} values ({how}, with their paths to the output); "
                     "draw_dot(root, top=N) picks how many; nn.draw_model(model) draws a whole model")
    if color_by is not None:
        legend = "fill: blue grad > 0, red grad < 0"
        if color_by == "magnitude":
            legend += f"; stronger = larger |grad| (max {_num(scale, digits)})"
        notes.append(legend)
    if notes:
        g.attr(label="\\n".join(notes), labelloc="b", fontname="Helvetica", fontsize="10")

    for v in drawn:
        vn = name[id(v)]
        g_v = grad_of(v)
        fields = ([_esc(v.label)] if v.label else []) + [
            f"data {_num(v.data, digits)}", f"grad {_num(g_v, digits)}"]
        attrs = {"shape": "record", "label": "{ " + " | ".join(fields) + " }"}
        fill = _fill(g_v, color_by, scale)
        if fill is not None:
            attrs.update(style="filled", fillcolor=fill)
        if id(v) in hot:
            attrs.update(_HOT)
        g.node(vn, **attrs)
        if not v.parents:
            continue
        ins = inputs.get(id(v))
        if ins is None:  # beyond the walk limit: its inputs were never looked at
            continue
        opn = f"{vn}_op"
        op_hot = id(v) in hot
        hidden = ins.hidden
        if ins.pairs is not None:
            pairs = ins.pairs
            if summarised:  # rows whose Values were all left out fold into the "more terms" row
                pairs = [(k, t) for k, t in pairs if any(id(x) in name for x in t[1] if isinstance(x, Value))]
                hidden += len(ins.pairs) - len(pairs)
            rows = [f"<r{k}> {_row_text(sign, xs, digits)}" for k, (sign, xs) in pairs]
            if hidden:
                what = "pair" if v.op == "dot" else "term"
                rows.append(f"... {hidden} more {what}{'s' if hidden != 1 else ''}")
            g.node(opn, label=" | ".join([v.op] + rows), shape="record", fontsize="10",
                   **(_HOT if op_hot else {}))
            hidden = 0  # counted in the table
            ends = [(x, f"{opn}:r{k}", "") for k, (_, xs) in pairs for x in xs if isinstance(x, Value)]
        else:
            g.node(opn, label=_plain(_op_label(v, digits)), shape="ellipse", fontsize="10",
                   width="0.3", height="0.3", margin="0.04", **(_HOT if op_hot else {}))
            roles = _roles(v) if len(ins.values) == 2 else ()
            ends = [(p, opn, roles[k] if roles else "") for k, p in enumerate(ins.values)]
        for p, end, role in ends:
            if id(p) in name:
                e_attrs = dict(_HOT) if op_hot and id(p) in hot else {}
                if role:
                    e_attrs["label"] = role
                g.edge(name[id(p)], end, **e_attrs)
            elif ins.pairs is None:  # (a dot row keeps its numbers when its Value is left out)
                hidden += 1
        if hidden:
            more = f"{vn}_more"
            g.node(more, label=f"... {hidden} more input{'s' if hidden != 1 else ''}",
                   shape="box", style="dashed", fontsize="10")
            g.edge(more, opn, style="dashed")
        g.edge(opn, vn, **(_HOT if op_hot else {}))
    return g


def render_to_file(digraph, path: Union[str, os.PathLike]) -> pathlib.Path:
    """Write ``digraph`` (from ``draw_dot``, any ``graphviz.Digraph``, or a Value to draw) to ``path``.

    The suffix picks the format: ``.svg``, ``.png`` (need a renderer, see
    ``engine.render``) or ``.dot``/``.gv`` (DOT source, no renderer).  The
    file is written atomically (temporary file + rename), so a failed render
    never leaves a half-written image.  Returns the path.

    >>> from engine import Value
    >>> import tempfile, os
    >>> y = Value(1.0, label="x").tanh()
    >>> p = render_to_file(y, os.path.join(tempfile.mkdtemp(), "y.dot"))
    >>> p.read_text().startswith("digraph")
    True
    """
    if isinstance(digraph, Value):
        digraph = draw_dot(digraph)
    if not hasattr(digraph, "source") or not hasattr(digraph, "pipe"):
        raise TypeError(
            f"render_to_file: expected a graphviz.Digraph from draw_dot (or a Value), got {type(digraph).__name__}")
    path = pathlib.Path(path)
    fmt = RENDER_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"render_to_file: cannot tell the format of {str(path)!r} from its suffix "
            f"{path.suffix!r}; use one of {', '.join(sorted(RENDER_FORMATS))}")
    if fmt == "dot":
        data = digraph.source.encode("utf-8")
    else:
        use_renderer(fmt)  # for a plain graphviz.Digraph too
        data = digraph.pipe(format=fmt)
    write_atomic(path, data)
    return path
