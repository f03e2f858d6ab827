"""engine.explain (backward as rows) and engine.draw_backward (backward as an HTML animation)."""
from __future__ import annotations

import html.parser
import io
import math
import os
import re

import pytest

import engine
from engine import Value, draw_backward, explain
from engine.graph import topological_order


def graphs():
    x = Value(0.5, label="x")
    w = Value(-2.0, label="w")
    b = Value(0.1, label="b")
    yield "neuron", ((x * w + b).tanh() - x) / w, [x, w, b]
    a = Value(3.0, label="a")
    yield "square", a * a + a, [a]                       # one node feeding one op twice, and the output
    xs = [Value(0.1 * i - 0.3, label=f"x{i}") for i in range(5)]
    ws = [Value(0.2 - 0.1 * i, label=f"w{i}") for i in range(5)]
    h = engine.dot(ws, xs).relu() + engine.sum(xs) ** 2.0
    yield "fused", h * h.sigmoid() - 2.0 ** ws[0], xs + ws
    u = Value(1.5, label="u")
    with engine.fused():
        f = sum(u * c for c in (1.0, 2.0, 3.0)) - u
    yield "fused()", f.exp(), [u]


@pytest.mark.parametrize("name, root, leaves", list(graphs()), ids=[g[0] for g in graphs()])
def test_rows_equal_the_gradients_backward_computes(name, root, leaves):
    rows = explain(root, show=False)
    assert all(v.grad == 0.0 for v in leaves)              # a dry run: .grad untouched
    root.backward()
    last = {}
    for r in rows:
        last[r.input] = r.grad
        assert r.contribution == r.local * r.upstream or math.isnan(r.contribution)
    for leaf in leaves:
        assert last[leaf] == leaf.grad                      # bit for bit
    # each node passes back the gradient backward() leaves on it, once, after all its consumers
    steps = {}
    for r in rows:
        steps.setdefault(r.node, set()).add((r.step, r.upstream))
    for node, seen in steps.items():
        assert len(seen) == 1 and next(iter(seen))[1] == node.grad
    assert [r.step for r in rows] == sorted(r.step for r in rows)
    assert rows[0].node is root and rows[0].upstream == 1.0
    assert len(steps) == sum(1 for v in topological_order(root) if v.parents)


def test_printed_table_has_a_header_and_a_line_per_row():
    x = Value(0.5, label="x")
    y = (x * 3.0).tanh()
    out = io.StringIO()
    rows = explain(y, file=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split() == ["step", "node", "input", "local", "x", "upstream", "=", "contribution",
                                "input.grad"]
    assert len(lines) == 1 + len(rows) == 3
    assert re.match(r"\s*2\s+\(x \* 3\)\s+x\s+3 x ", lines[2])


def test_nan_gradients_are_shown_not_raised():
    x = Value(-1.0, label="x")
    y = x.log() * x                                     # log(-1) = nan: nan flows back
    out = io.StringIO()
    rows = explain(y, file=out)
    assert any(math.isnan(r.grad) for r in rows)
    assert "nan" in out.getvalue()


@pytest.mark.parametrize("fn", [explain, lambda r: draw_backward(r, "x.html")])
def test_leaves_and_non_values_are_refused(fn):
    with pytest.raises(ValueError, match="is a leaf"):
        fn(Value(1.0, label="x"))
    with pytest.raises(TypeError, match="expected a Value"):
        fn(1.0)


def test_huge_graphs_are_refused_quickly_with_a_hint():
    x = Value(0.5)
    y = x
    for _ in range(1_000_000):
        y = y * 1.0
    for fn, limit in [(explain, "2,000"), (lambda r: draw_backward(r, "x.html"), "60")]:
        with pytest.raises(ValueError, match=rf"more than {limit} Values.*top=N"):
            fn(y)


def test_closure_nodes_are_named_not_misexplained():
    from engine.micrograd import Value as MValue
    x = MValue(2.0)
    y = MValue(x.data * 3, (x,), "triple") + 1.0
    with pytest.raises(ValueError, match="'triple'.*no recorded local derivatives"):
        explain(y, show=False)


# -- the animation -----------------------------------------------------------------------

class _Frames(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.frames = []   # [(data-frame, caption, [grad texts], [fills])]
        self._in = None
        self.external = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "xlink:href"):
            if key in a and re.match(r"[a-z]+://", a[key] or ""):
                self.external.append(a[key])
        if tag == "div" and a.get("class") == "frame":
            self.frames.append([int(a["data-frame"]), "", [], []])
        if self.frames and tag in ("polygon", "path") and a.get("fill") not in (None, "none", "black"):
            self.frames[-1][3].append(a["fill"])
        self._in = tag if self.frames else None
        self._class = a.get("class")

    def handle_data(self, data):
        if not self.frames:
            return
        if self._class == "caption":
            self.frames[-1][1] += data
        if self._in == "text" and data.startswith("grad "):
            self.frames[-1][2].append(data)


def _needs_renderer():
    pytest.importorskip("graphviz")
    from engine.render import find_renderer
    if find_renderer() is None:
        pytest.skip("needs a renderer (graphviz-pure, the `viz` extra)")


def test_animation_has_one_frame_per_backward_step_and_ends_at_the_real_gradients(tmp_path):
    _needs_renderer()
    x = Value(0.5, label="x")
    w = Value(-2.0, label="w")
    b = Value(0.1, label="b")
    y = ((x * w + b).tanh() - x) / w
    y.label = "y"
    path = draw_backward(y, tmp_path / "backward.html")
    assert path == tmp_path / "backward.html" and os.listdir(tmp_path) == ["backward.html"]
    page = path.read_text(encoding="utf-8")
    parser = _Frames()
    parser.feed(page)
    steps = explain(y, show=False)
    n_steps = steps[-1].step
    assert [f[0] for f in parser.frames] == list(range(n_steps + 1))
    assert page.count("<svg") == n_steps + 1 and 'type="range"' in page and "<script>" in page
    assert parser.external == []                                    # nothing fetched from a network
    first, last = parser.frames[0], parser.frames[-1]
    assert "seed" in first[1] and sorted(first[2]).count("grad ?") == len(first[2]) - 1
    y.backward()
    for v in (x, w, b, y):
        assert f"grad {v.grad:.4g}" in last[2]
    assert "grad ?" not in last[2]
    for k, (_, caption, _, fills) in enumerate(parser.frames[1:], start=1):
        node = next(r.node for r in steps if r.step == k)
        assert f"{node.label or '('}" in caption and "passes its gradient back" in caption and "#fdb863" in fills   # the current node, in orange
        assert len([r for r in steps if r.step == k]) == caption.count(".grad +=")


def test_animation_refuses_other_suffixes_and_survives_nan(tmp_path):
    _needs_renderer()
    x = Value(-1.0, label="x")
    y = x.log() * x
    with pytest.raises(ValueError, match=r"\.html"):
        draw_backward(y, tmp_path / "anim.svg")
    page = draw_backward(y, tmp_path / "anim.html").read_text(encoding="utf-8")
    assert "grad nan" in page
    with pytest.raises(OSError):
        draw_backward(y, tmp_path / "missing" / "anim.html")
    assert sorted(os.listdir(tmp_path)) == ["anim.html"]
