"""Draw a computation graph with Graphviz, with or without a system Graphviz.

>>> from engine import Value, draw_dot
>>> x = Value(2.0, label="x"); w = Value(-3.0, label="w")
>>> y = (x * w).tanh(); y.backward()
>>> g = draw_dot(y)                       # a graphviz.Digraph
>>> "tanh" in g.source                    # DOT text never needs a renderer
True
>>> # g.pipe(format="svg"), g.render(...), render_to_file(g, "y.png"), or just
>>> # leave `g` as the last line of a Jupyter cell to see it inline.

Picture: one record per Value (``label | data | grad``, numbers to
``digits`` significant digits) and one small ellipse per op, with edges in
data-flow order (inputs -> op -> result).  An op whose result was made with a
plain number (``x * 2``) shows the number in the op node (``* 2``).

Readability limits (all keyword arguments of ``draw_dot``):

* ``max_inputs`` (default ``MAX_INPUTS`` = 12): a fused ``sum``/``dot`` node
  with more parents draws edges from ``max_inputs`` of them and collapses the
  rest into ONE dashed ``... N more inputs`` node.  Parents that are results
  of ops come first (they carry the rest of the graph, e.g. an MLP's hidden
  units), then leaves (e.g. its weights), each in operand order.  A collapsed
  parent is still drawn if it also feeds a drawn node some other way.
* ``top=N``: keep only N Value nodes (the output is always kept), chosen
  among those still drawable after the ``max_inputs`` collapsing, by
  ``top_by="grad"`` (largest ``|grad|``, ties broken by nearness to the
  output) or ``top_by="depth"`` (nearest the output, counting ops on the
  shortest path).  Inputs of a drawn op that were dropped are summarised in
  the same ``... N more inputs`` node, so nothing disappears silently.
* ``color_by="sign"`` fills records by the sign of ``grad`` (blue > 0,
  red < 0, white == 0, grey for nan); ``color_by="magnitude"`` does the same
  with the colour's strength growing with ``|grad|`` (relative to the largest
  drawn ``|grad|``).  A legend is added as the graph label.
* ``highlight=v`` (a Value in the graph, or the label of exactly one of
  them): every path from ``v`` to the output is drawn thick and red, the
  way ``v``'s gradient flows back.

Rendering (``.pipe()``, ``.render()``, Jupyter's inline SVG,
``render_to_file``) uses Graphviz's ``dot`` command if it is on PATH, else
the ``graphviz-pure`` command from PyPI (``pip install graphviz-pure``; it
writes svg/png/json but not pdf), also looked for beside ``sys.executable``
because a virtualenv's ``bin`` is often not on PATH.  With neither, one
``RendererNotFoundError`` names both fixes.  See ``find_renderer``.

Only this module imports ``graphviz`` (the Python package), and only inside
functions, so ``import engine`` stays instant and dependency-free.
"""
from __future__ import annotations

import math
import os
import pathlib
import shutil
import sys
import secrets
from typing import TYPE_CHECKING, NamedTuple, Optional, Union

from . import ops
from .graph import op_symbol, topological_order
from .value import Value

if TYPE_CHECKING:  # pragma: no cover - typing only; graphviz is imported lazily
    import graphviz

__all__ = [
    "draw_dot", "render_to_file", "find_renderer", "Renderer", "RendererNotFoundError",
    "MAX_INPUTS", "RENDER_FORMATS",
]

MAX_INPUTS = 12
"""Default number of inputs drawn per op before the rest collapse into one node."""

RENDER_FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}
"""File suffix -> format used by ``render_to_file`` (``dot`` = DOT source, no renderer)."""

_FALLBACK = "graphviz-pure"
_FALLBACK_FORMATS = {"svg", "png", "json", "dot", "gv", "plain", "plain-ext", "xdot",
                     "jpg", "jpeg", "jpe", "canon", "dot_json", "xdot_json", "json0"}
_FIX = ("install Graphviz so that the `dot` command is on PATH (https://graphviz.org/download/, "
        "e.g. `apt install graphviz` or `brew install graphviz`), or run "
        "`pip install graphviz-pure` (or `pip install 'chainrule[viz]'`) in this Python environment")


class RendererNotFoundError(RuntimeError):
    """Neither Graphviz's ``dot`` nor ``graphviz-pure`` could be found to render an image."""


class Renderer(NamedTuple):
    """A Graphviz command line renderer: ``name`` is ``"dot"`` or ``"graphviz-pure"``."""

    name: str
    path: str


def find_renderer() -> Optional[Renderer]:
    """The renderer ``draw_dot`` images will use, or None if there is none.

    Order: ``dot`` on PATH (real Graphviz, all formats), then
    ``graphviz-pure`` on PATH, then ``graphviz-pure`` in the directory of
    ``sys.executable`` (a venv's ``bin``/``Scripts`` even when the venv is not
    activated).  Found with ``shutil.which``: ``graphviz.version()`` cannot
    parse graphviz-pure's ``-V`` line, so we never ask it.

    >>> r = find_renderer()
    >>> r is None or r.name in ("dot", "graphviz-pure")
    True
    """
    dot = shutil.which("dot")
    if dot:
        return Renderer("dot", dot)
    pure = shutil.which(_FALLBACK)
    if not pure:
        pure = shutil.which(_FALLBACK, path=os.path.dirname(os.path.abspath(sys.executable)))
    if pure:
        return Renderer(_FALLBACK, pure)
    return None


def _use_renderer(fmt: Optional[str] = None) -> Renderer:
    """Point the ``graphviz`` package at our renderer (or raise one clear error).

    graphviz 0.21 builds every command line as ``[dot_command.DOT_BINARY,
    '-K...', '-T...', ...]``, reading the module attribute at call time, so
    setting it is enough for ``pipe``, ``render`` and the Jupyter repr.
    ``graphviz-pure`` takes the same ``-K -T -o -O`` flags.
    """
    r = find_renderer()
    if r is None:
        raise RendererNotFoundError(
            "cannot render the graph image: that needs Graphviz's `dot` command or `graphviz-pure`, "
            f"and neither was found (looked on PATH and in {os.path.dirname(sys.executable)}). "
            f"Fix: {_FIX}. The DOT source (`.source`, `.save()`, or a .dot file) needs no renderer."
        )
    if fmt is not None and r.name == _FALLBACK and fmt not in _FALLBACK_FORMATS:
        raise ValueError(
            f"draw_dot: format {fmt!r} is not supported by graphviz-pure (the renderer in use, "
            f"{r.path}); use 'svg' or 'png', or install Graphviz's `dot` for {fmt!r}"
        )
    from graphviz.backend import dot_command
    dot_command.DOT_BINARY = pathlib.Path(r.path)
    return r


_digraph_class = None


def _Digraph():
    """A ``graphviz.Digraph`` subclass that finds a renderer before rendering.

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
                _use_renderer(format or self.format)
                return super().pipe(format, *args, **kwargs)

            def render(self, *args, **kwargs):
                fmt = kwargs.get("format")
                if fmt is None and kwargs.get("outfile") is not None:
                    fmt = pathlib.Path(kwargs["outfile"]).suffix.lstrip(".") or None
                _use_renderer(fmt or self.format)
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
# Drawing

_RECORD_SPECIAL = set('{}|<>"\\')


def _num(x: float, digits: int) -> str:
    return f"{x:.{digits}g}"


def _esc(text: str) -> str:
    """Escape a user label for a DOT record field (``{ } | < >`` are syntax there)."""
    out = []
    for ch in text:
        if ch in _RECORD_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return "".join(out)


def _op_label(v: Value, digits: int) -> str:
    sym = op_symbol(v)
    ctx = v._ctx
    if isinstance(ctx, float):  # Value-and-number op: show the number so the node reads as x * 2
        c = _num(ctx, digits)
        reflected = ops.NODE_OPS.get(v.op, (None, False))[1]
        return f"{c} {sym}" if reflected else f"{sym} {c}"
    return sym


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


def _resolve_highlight(highlight, order: list) -> Optional[Value]:
    if highlight is None:
        return None
    if isinstance(highlight, Value):
        if not any(v is highlight for v in order):
            raise ValueError(
                f"draw_dot(highlight=...): {highlight!r} is not part of this graph; "
                "pass a Value the output was computed from (or its label)")
        return highlight
    if isinstance(highlight, str):
        hits = [v for v in order if v.label == highlight]
        if len(hits) != 1:
            labels = sorted({v.label for v in order if v.label})
            what = "no Value" if not hits else f"{len(hits)} Values"
            raise ValueError(
                f"draw_dot(highlight={highlight!r}): {what} in this graph has that label; "
                f"pass the Value itself or one of the unique labels {labels}")
        return hits[0]
    raise TypeError(
        f"draw_dot(highlight=...): expected a Value or a label str, got {type(highlight).__name__}")


def draw_dot(
    root: Value,
    *,
    rankdir: str = "LR",
    max_inputs: int = MAX_INPUTS,
    color_by: Optional[str] = None,
    top: Optional[int] = None,
    top_by: str = "grad",
    highlight: Union[Value, str, None] = None,
    digits: int = 4,
    format: str = "svg",  # noqa: A002 - graphviz's name for it
) -> "graphviz.Digraph":
    """The computation graph of ``root`` as a ``graphviz.Digraph``.

    See the module docstring for the picture and every option.  Iterative
    (uses ``engine.graph.topological_order``), so deep graphs are fine; very
    large graphs draw slowly in Graphviz, so use ``top=`` for big models.

    >>> from engine import Value
    >>> a = Value(2.0, label="a"); b = (a * 3.0).relu(); b.backward()
    >>> g = draw_dot(b, color_by="sign", highlight="a")
    >>> '* 3' in g.source and 'grad 3' in g.source
    True
    """
    if not isinstance(root, Value):
        raise TypeError(f"draw_dot: expected a Value to draw, got {type(root).__name__} {root!r}")
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"draw_dot(rankdir={rankdir!r}): use 'LR' (left to right) or 'TB' (top to bottom)")
    if type(max_inputs) is not int or max_inputs < 1:
        raise ValueError(f"draw_dot(max_inputs={max_inputs!r}): expected an int >= 1, e.g. {MAX_INPUTS}")
    if color_by not in (None, "sign", "magnitude"):
        raise ValueError(f"draw_dot(color_by={color_by!r}): use None, 'sign' or 'magnitude'")
    if top is not None and (type(top) is not int or top < 1):
        raise ValueError(f"draw_dot(top={top!r}): expected an int >= 1 (number of Value nodes to keep) or None")
    if top_by not in ("grad", "depth"):
        raise ValueError(f"draw_dot(top_by={top_by!r}): use 'grad' (largest |grad|) or 'depth' (nearest the output)")
    if type(digits) is not int or not 1 <= digits <= 17:
        raise ValueError(f"draw_dot(digits={digits!r}): expected an int from 1 to 17")

    order = topological_order(root)
    index = {id(v): i for i, v in enumerate(order)}
    target = _resolve_highlight(highlight, order)

    # Distance (number of ops) from the output, walking children before
    # parents: reversed topological order visits every child of p before p.
    depth = {id(root): 0}
    for v in reversed(order):
        d = depth.get(id(v))
        if d is None:
            continue
        for p in v.parents:
            if depth.get(id(p), d + 2) > d + 1:
                depth[id(p)] = d + 1

    # Inputs that get an edge from each op.  Beyond max_inputs, prefer inputs
    # that are themselves results of ops (they carry the rest of the graph,
    # e.g. an MLP's hidden units) over leaves (its weights); operand order
    # otherwise.  The rest collapse into one "... N more inputs" node.
    shown = {}
    reach = {id(root)}  # drawable at all: not only behind collapsed inputs
    for v in reversed(order):
        if id(v) not in reach:
            continue
        ps = v.parents
        if len(ps) > max_inputs:
            pick = sorted(range(len(ps)), key=lambda i: (ps[i]._parents is None, i))[:max_inputs]
            ps = tuple(ps[i] for i in sorted(pick))
        shown[id(v)] = ps
        for p in ps:
            reach.add(id(p))
    candidates = [v for v in order if id(v) in reach]

    # Which Values to draw.
    if top is not None and top < len(candidates):
        if top_by == "grad":
            def key(v):
                g = abs(v.grad)
                return (0.0 if g != g else g, -depth[id(v)])
        else:
            def key(v):
                return (-depth[id(v)], -index[id(v)])
        ranked = sorted((v for v in candidates if v is not root), key=key, reverse=True)
        keep = {id(root)} | {id(v) for v in ranked[: top - 1]}
        drawn = [v for v in candidates if id(v) in keep]
    else:
        drawn = candidates
    drawn_ids = {id(v) for v in drawn}

    # Nodes on a path from the highlighted input to the output (forward pass).
    on_path = set()
    if target is not None:
        on_path.add(id(target))
        for v in order:
            if any(id(p) in on_path for p in v.parents):
                on_path.add(id(v))

    scale = max((abs(v.grad) for v in drawn if math.isfinite(v.grad)), default=0.0)

    g = _Digraph()(format=format, graph_attr={"rankdir": rankdir})
    g.attr("node", fontname="Helvetica", fontsize="11")
    g.attr("edge", arrowsize="0.6")
    if color_by is not None:
        legend = "fill: blue grad > 0, red grad < 0"
        if color_by == "magnitude":
            legend += f"; stronger = larger |grad| (max {_num(scale, digits)})"
        g.attr(label=legend, labelloc="b", fontname="Helvetica", fontsize="10")
    hot = {"color": "#d7191c", "penwidth": "2.5"}

    for v in drawn:
        i = index[id(v)]
        name = f"v{i}"
        fields = ([_esc(v.label)] if v.label else []) + [
            f"data {_num(v.data, digits)}", f"grad {_num(v.grad, digits)}"]
        attrs = {"shape": "record", "label": "{ " + " | ".join(fields) + " }"}
        fill = _fill(v.grad, color_by, scale)
        if fill is not None:
            attrs.update(style="filled", fillcolor=fill)
        if id(v) in on_path:
            attrs.update(hot)
        g.node(name, **attrs)
        if v._parents is None:
            continue
        opname = f"{name}_op"
        op_hot = id(v) in on_path
        g.node(opname, label=_op_label(v, digits), shape="ellipse", fontsize="10",
               width="0.3", height="0.3", margin="0.04", **(hot if op_hot else {}))
        hidden = len(v.parents) - len(shown[id(v)])
        for p in shown[id(v)]:
            if id(p) in drawn_ids:
                e_hot = op_hot and id(p) in on_path
                g.edge(f"v{index[id(p)]}", opname, **(hot if e_hot else {}))
            else:
                hidden += 1
        if hidden:
            more = f"{name}_more"
            g.node(more, label=f"... {hidden} more input{'s' if hidden != 1 else ''}",
                   shape="box", style="dashed", fontsize="10")
            g.edge(more, opname, style="dashed")
        g.edge(opname, name, **(hot if op_hot else {}))
    return g


def render_to_file(digraph, path: Union[str, os.PathLike]) -> pathlib.Path:
    """Write ``digraph`` (from ``draw_dot``, or a Value to draw) to ``path``; return the path.

    The suffix picks the format: ``.svg``, ``.png`` (need a renderer, see
    ``find_renderer``) or ``.dot``/``.gv`` (DOT source, no renderer).  The
    file is written atomically (temporary file + rename), so a failed render
    never leaves a half-written image.

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
        _use_renderer(fmt)  # for a plain graphviz.Digraph too
        data = digraph.pipe(format=fmt)
    # Temporary file beside the target, then an atomic rename.  os.open with
    # mode 0o666 (not mkstemp's 0o600) so the image gets the usual umask perms.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path
