"""Backward, step by step: ``explain(root)`` prints it, ``draw_backward(root, path)`` animates it.

>>> from engine import Value, explain
>>> x = Value(0.5, label="x"); w = Value(-2.0, label="w")
>>> y = (x * w).tanh(); y.label = "y"
>>> rows = explain(y)                                    # doctest: +NORMALIZE_WHITESPACE
step  node     input    local x upstream = contribution  input.grad
   1  y        (x * w)  0.42 x 1 = 0.42                  0.42
   2  (x * w)  x        -2 x 0.42 = -0.8399              -0.8399
   2  (x * w)  w        0.5 x 0.42 = 0.21                0.21
>>> y.backward(); rows[-1].grad == w.grad                # the same numbers backward() computes
True

Each row is one use of the chain rule, in the order ``backward()`` runs
them (``engine.autograd``'s reference algorithm: nodes in reverse
topological order, from the output): the node passing its gradient back,
one of its inputs, the local derivative d(node)/d(input) recorded at
forward time, the node's own gradient ("upstream"), their product, and the
input's gradient so far.  Nothing is written to ``.grad``: ``explain`` is
a dry run of one ``backward()`` from gradients of zero.
"""
from __future__ import annotations

import html
import os
import pathlib
import sys
from typing import NamedTuple, TextIO

from .autograd import chain, topological_order
from .graph import formula
from .value import Value

__all__ = ["explain", "draw_backward", "Step", "MAX_EXPLAIN_NODES", "MAX_ANIMATED_NODES"]

MAX_EXPLAIN_NODES = 2000
"""``explain`` refuses graphs with more Values than this (a table nobody can read)."""

MAX_ANIMATED_NODES = 60
"""``draw_backward`` refuses graphs with more Values than this (``draw_dot``'s default picture size)."""


class Step(NamedTuple):
    """One chain-rule update: ``input.grad += local * upstream``."""

    step: int             # 1 for the output, then one per node, in backward order
    node: Value           # the node passing its gradient back
    input: Value          # one of its inputs (parents)
    local: float          # d(node)/d(input), recorded at forward time
    upstream: float       # d(output)/d(node): node's gradient, complete at this point
    contribution: float   # local * upstream
    grad: float           # d(output)/d(input) accumulated so far, this contribution included


def _name(v: Value) -> str:
    return v.label or formula(v, max_depth=1, max_len=24)


def _num(x: float) -> str:
    return f"{x:.4g}"


def _size_at_most(root: Value, limit: int) -> int:
    """Number of Values in ``root``'s graph, counting no further than ``limit + 1``."""
    seen = {id(root)}
    stack = [root]
    while stack and len(seen) <= limit:
        for p in stack.pop().parents:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def _check(root, where: str, limit: int, hint: str) -> None:
    if not isinstance(root, Value):
        raise TypeError(f"{where}: expected a Value (the output to backpropagate from), "
                        f"got {type(root).__name__} {root!r}"[:300])
    if not root.parents:
        raise ValueError(f"{where}: {root!r} is a leaf (no op made it), so backward has nothing to do; "
                         f"call it on a result, e.g. {where}((x * w).tanh())")
    if _size_at_most(root, limit) > limit:
        raise ValueError(f"{where}: the graph has more than {limit:,} Values, too many to {hint}; "
                         f"use a smaller graph (one neuron, one sample), or draw_dot(root, top=N) "
                         f"for a summary of a big one")


def _steps(root: Value) -> list:
    """The rows of one backward pass from ``root`` (seed 1.0), without touching ``.grad``."""
    order = topological_order(root)
    grads = dict.fromkeys(order, 0.0)
    grads[root] = 1.0
    rows = []
    step = 0
    for node in reversed(order):
        parents = node.parents
        if not parents:
            continue
        local = node.local_grads
        if len(local) != len(parents):
            raise ValueError(f"explain: node {_name(node)!r} (op {node.op!r}) has no recorded local derivatives "
                             f"(a micrograd-style node with a _backward closure?); explain works on engine ops")
        step += 1
        g = grads[node]
        for i, (p, d) in enumerate(zip(parents, local)):
            c = chain(node, i, d, g)
            grads[p] += c
            rows.append(Step(step, node, p, d, g, c, grads[p]))
    return rows


def explain(root: Value, *, file: TextIO = None, show: bool = True) -> "list[Step]":
    """The backward pass from ``root`` as rows (``Step``), printed as a table unless ``show=False``.

    A leaf, a non-Value or a graph of more than ``MAX_EXPLAIN_NODES`` Values
    is refused with a ``ValueError``/``TypeError`` saying what to pass
    instead.  nan and inf gradients are shown as they are.

    >>> from engine import Value
    >>> a = Value(3.0, label="a")
    >>> [(r.contribution, r.grad) for r in explain(a * a, show=False)]
    [(3.0, 3.0), (3.0, 6.0)]
    """
    _check(root, "explain", MAX_EXPLAIN_NODES, "explain row by row")
    rows = _steps(root)
    if show:
        out = file if file is not None else sys.stdout
        table = [("step", "node", "input", "local x upstream = contribution", "input.grad")]
        table += [(str(r.step), _name(r.node), _name(r.input),
                   f"{_num(r.local)} x {_num(r.upstream)} = {_num(r.contribution)}", _num(r.grad)) for r in rows]
        widths = [max(len(row[k]) for row in table) for k in range(4)]
        for row in table:
            print(f"{row[0]:>{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  "
                  f"{row[3]:<{widths[3]}}  {row[4]}".rstrip(), file=out)
    return rows


# ---------------------------------------------------------------------------
# The animation: one SVG frame per backward step, in one self-contained HTML page.

_FILL = {"done": "#d9f0d3", "current": "#fdb863", "receiving": "#a6cee3", "waiting": "#ffffff"}

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
 body {{ font-family: Helvetica, Arial, sans-serif; margin: 1em; }}
 .frame {{ display: none; }} .frame.on {{ display: block; }}
 .frame svg {{ max-width: 100%; height: auto; }}
 .caption {{ font-family: monospace; white-space: pre-wrap; margin: .5em 0; min-height: 3em; }}
 .key span {{ display: inline-block; padding: 0 .5em; margin-right: .5em; border: 1px solid #999; }}
</style></head><body>
<h3>{title}</h3>
<div class="controls">
 <button id="first">|&lt;</button> <button id="prev">&lt; step</button>
 <button id="play">play</button> <button id="next">step &gt;</button> <button id="last">&gt;|</button>
 <input id="slider" type="range" min="0" max="{last}" value="0" style="width: 40%">
 <span id="counter"></span>
</div>
<p class="key"><span style="background:{done}">gradient complete</span><span style="background:{current}">passing
its gradient back now</span><span style="background:{receiving}">receiving a contribution</span></p>
{frames}
<script>
(function () {{
  var frames = document.querySelectorAll(".frame"), slider = document.getElementById("slider");
  var counter = document.getElementById("counter"), timer = null, k = 0;
  function show(i) {{
    k = Math.max(0, Math.min(frames.length - 1, i));
    for (var j = 0; j < frames.length; j++) frames[j].className = j === k ? "frame on" : "frame";
    slider.value = k; counter.textContent = "frame " + k + " / " + (frames.length - 1);
  }}
  document.getElementById("first").onclick = function () {{ show(0); }};
  document.getElementById("prev").onclick = function () {{ show(k - 1); }};
  document.getElementById("next").onclick = function () {{ show(k + 1); }};
  document.getElementById("last").onclick = function () {{ show(frames.length - 1); }};
  slider.oninput = function () {{ show(parseInt(slider.value, 10)); }};
  document.getElementById("play").onclick = function () {{
    if (timer) {{ clearInterval(timer); timer = null; return; }}
    if (k === frames.length - 1) show(0);
    timer = setInterval(function () {{
      if (k >= frames.length - 1) {{ clearInterval(timer); timer = null; }} else show(k + 1);
    }}, 900);
  }};
  show(0);
}})();
</script>
</body></html>
"""


def _frame_svgs(svg: str, names: dict, frames: list) -> list:
    """One SVG text per frame: the rendered picture with each box's grad text and fill set for that frame."""
    import xml.etree.ElementTree as ET

    ns = "http://www.w3.org/2000/svg"
    ET.register_namespace("", ns)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    tree = ET.fromstring(svg)
    boxes = {}  # DOT node name -> (grad <text>, outline <polygon>/<path>s)
    for group in tree.iter(f"{{{ns}}}g"):
        if group.get("class") != "node":
            continue
        title = group.find(f"{{{ns}}}title")
        if title is None or title.text not in names:
            continue
        texts = [t for t in group.iter(f"{{{ns}}}text") if (t.text or "").startswith("grad ")]
        shapes = [s for s in group if s.tag in (f"{{{ns}}}polygon", f"{{{ns}}}path")][:1]
        if texts:
            boxes[title.text] = (texts[0], shapes)
    out = []
    for grads, states in frames:
        for name, (text, shapes) in boxes.items():
            v = names[name]
            g = grads.get(v)
            text.text = "grad ?" if g is None else f"grad {_num(g)}"
            for shape in shapes:
                shape.set("fill", _FILL[states.get(v, "waiting")])
        out.append(ET.tostring(tree, encoding="unicode"))
    return out


def draw_backward(root: Value, path, *, rankdir: str = "LR") -> pathlib.Path:
    """Write an HTML page that animates the backward pass from ``root``, one frame per step.

    Frame 0 seeds the output's gradient with 1; frame k shows step k of
    ``explain(root)``: the node passing its gradient back (orange), the inputs
    receiving their share (blue), gradients already complete (green), and each
    box's gradient so far (``?`` until its first contribution).  The page is
    self-contained (inline SVG, a slider, step and play buttons; no network
    needed) and written atomically.  Nothing is written to ``.grad``.  Needs
    a renderer (see ``engine.render``); refuses leaves and graphs of more than
    ``MAX_ANIMATED_NODES`` Values.  Returns the path.

    >>> import os, tempfile
    >>> from engine import Value
    >>> x = Value(0.5, label="x"); y = (x * 2.0).tanh()
    >>> p = draw_backward(y, os.path.join(tempfile.mkdtemp(), "backward.html"))  # doctest: +SKIP
    """
    from . import draw
    from .render import write_atomic

    _check(root, "draw_backward", MAX_ANIMATED_NODES, "animate")
    if isinstance(path, bool) or not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"draw_backward: path must be a file name such as 'backward.html', got "
                        f"{type(path).__name__} {path!r}"[:200])
    path = pathlib.Path(os.fsdecode(os.fspath(path)))
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"draw_backward: write to an .html file (got {str(path)!r}); "
                         "open it in any browser, no network needed")
    rows = _steps(root)
    final = {root: 1.0}
    for r in rows:
        final[r.input] = r.grad
    names = {}
    picture = draw.draw_dot(root, rankdir=rankdir, max_nodes=MAX_ANIMATED_NODES, grads=final, node_names=names)
    svg = picture.pipe(format="svg").decode("utf-8")

    # Frames: the grads known and each box's state, after the seed and after each step.
    grads = {root: 1.0}
    done = set()
    frames = [(dict(grads), {root: "current"})]
    captions = [f"frame 0: seed: d{_name(root)}/d{_name(root)} = 1"]
    by_step = {}
    for r in rows:
        by_step.setdefault(r.step, []).append(r)
    for step, group in sorted(by_step.items()):
        node = group[0].node
        states = {v: "done" for v in done}
        lines = []
        for r in group:
            grads[r.input] = r.grad
            states[r.input] = "receiving"
            lines.append(f"{_name(r.input)}.grad += {_num(r.local)} x {_num(r.upstream)} = "
                         f"{_num(r.contribution)}  ->  {_num(r.grad)}")
        states[node] = "current"
        done.add(node)
        frames.append((dict(grads), states))
        captions.append(f"frame {step}: {_name(node)} (grad {_num(group[0].upstream)}) passes its gradient back\n"
                        + "\n".join(lines))

    body = "\n".join(
        f'<div class="frame" data-frame="{k}"><div class="caption">{html.escape(c)}</div>{s}</div>'
        for k, (c, s) in enumerate(zip(captions, _frame_svgs(svg, names, frames))))
    page = _PAGE.format(title=html.escape(f"backward from {_name(root)}: {len(by_step)} steps"),
                        last=len(frames) - 1, frames=body, **_FILL)
    write_atomic(path, page.encode("utf-8"))
    return path
