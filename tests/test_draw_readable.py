"""draw_dot stays readable at every size (issue 17): DOT-level rules, pixel budgets, plain Digraphs.

Rules checked on the DOT source:
* summarising (``top=``, ``max_nodes``) keeps the paths that connect what it keeps;
* a fused ``dot`` is a table of its pairs, each Value's edge into its own row;
  a 16-input neuron and its bias are drawn whole by default;
* non-commutative ops show which operand is which.
Pixel budgets are checked on PNGs rendered through graphviz-pure.
"""
from __future__ import annotations

import os
import re
import struct
import subprocess
import sys

import pytest

graphviz = pytest.importorskip("graphviz")

import engine  # noqa: E402
from engine import Value, draw_dot  # noqa: E402
from engine import draw, render  # noqa: E402
from engine.graph import topological_order  # noqa: E402

nn = pytest.importorskip("nn")

PIXEL_BUDGET = (8000, 12_000_000)  # the longest side and the area of a default draw_dot picture, in pixels


def records(src: str) -> dict:
    return {m.group(1): m.group(2) for m in re.finditer(r'^\s*(v\d+) \[label="(\{.*?\})"', src, re.M)}


def edges(src: str) -> list:
    """(tail, head) pairs; a port (``v3_op:r2``) is kept on the head."""
    return re.findall(r"^\s*(\w+) -> ([\w:]+)", src, re.M)


def connected_to_output(src: str) -> set:
    """Names of the records from which the output record (v0) can be reached along drawn edges."""
    into = {}
    for a, c in edges(src):
        into.setdefault(c.split(":")[0], []).append(a)
    seen, stack = {"v0"}, ["v0"]
    while stack:
        n = stack.pop()
        for nxt in into.get(n, []) + into.get(f"{n}_op", []):
            for m in ([nxt] if not nxt.endswith("_op") else [nxt]):
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
    return {n for n in seen if not n.endswith("_op") and not n.endswith("_more")}


def mlp_output(sizes=(3, [4, 4, 1]), x=(0.5, -1.0, 0.25)):
    model = nn.MLP(sizes[0], sizes[1], seed=0)
    y = model(list(x))
    y.backward()
    return model, y


# -- summarising keeps paths ------------------------------------------------------------

@pytest.mark.parametrize("top_by", ["grad", "depth"])
@pytest.mark.parametrize("top", [2, 5, 12, 30])
def test_top_keeps_every_kept_value_connected_to_the_output(top, top_by):
    _, y = mlp_output()
    src = draw_dot(y, top=top, top_by=top_by).source
    recs = records(src)
    assert 1 < len(recs) <= top
    assert set(recs) == connected_to_output(src)      # no edgeless boxes


def test_issue_example_mlp_3_4_4_1_top_12_has_edges_for_every_box():
    _, y = mlp_output()
    src = draw_dot(y, top=12).source
    recs = records(src)
    assert len(recs) == 12
    tails = {a for a, _ in edges(src)}
    assert all(name in tails for name in recs if name != "v0")   # every kept box feeds something


def test_big_graphs_are_summarised_by_default_with_a_note():
    model = nn.MLP(2, [16, 16, 1], seed=0)
    y = engine.sum([model([0.1 * i, -0.2]) for i in range(2)])
    y.backward()
    n = len(topological_order(y))
    src = draw_dot(y).source
    recs = records(src)
    assert len(recs) <= draw.MAX_NODES < n
    assert set(recs) == connected_to_output(src)
    assert f"showing {len(recs)} of {n} values" in src and "nn.draw_model" in src
    assert len(records(draw_dot(y, max_nodes=n).source)) == n   # everything, when asked


def test_million_node_graph_is_summarised_within_the_walk_limit():
    x = Value(0.5, label="x")
    y = x
    for _ in range(1_000_000):
        y = y * 1.0
    src = draw_dot(y).source
    assert len(records(src)) == draw.MAX_NODES
    assert f"of {draw.WALK_LIMIT:,}+ values" in src
    with pytest.raises(ValueError, match="beyond the 100,000 Values nearest the output"):
        draw_dot(y, highlight=x)


# -- fused dot pairs ------------------------------------------------------------------

def test_sixteen_input_neuron_is_drawn_whole_with_its_pairs():
    xs = [Value(0.1 * i, label=f"x{i}") for i in range(16)]
    ws = [Value(0.5 - 0.05 * i, label=f"w{i}") for i in range(16)]
    b = Value(0.3, label="b")
    y = engine.dot(ws + [b], xs + [1.0])
    y.backward()
    src = draw_dot(y).source
    assert "more pair" not in src and "more input" not in src
    assert len(records(src)) == 16 + 16 + 1 + 1
    name = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(src).items()}
    into = {}
    for a, c in edges(src):
        into.setdefault(c, set()).add(a)
    for i in range(16):  # w_i and x_i go into the same row, and only they do
        rows = [c for c, tails in into.items() if name[f"w{i}"] in tails]
        assert len(rows) == 1 and into[rows[0]] == {name[f"w{i}"], name[f"x{i}"]}
    assert f"0.3 * 1 = 0.3" in src                          # the bias row, constant shown
    assert "0.45 * 0.1 = 0.045" in src                      # w1 * x1 with the term


def test_constants_in_a_dot_are_rows_too_and_big_dots_are_summarised():
    ws = [Value(1.0, label=f"w{i}") for i in range(30)]
    y = engine.dot(ws, [2.0] * 30)
    src = draw_dot(y).source
    assert src.count("1 * 2 = 2") == draw.MAX_INPUTS
    assert "... 10 more pairs" in src
    assert len(records(draw_dot(y, max_inputs=30).source)) == 31


def test_neuron_of_an_mlp_shows_data_inputs_as_constants():
    model = nn.MLP(3, [2], seed=0)
    y = model([0.5, -1.0, 0.25])[0]
    src = draw_dot(y).source
    assert re.search(r"\* 0\.5 = ", src) and re.search(r"\* -1 = ", src) and re.search(r"\* 1 = ", src)


# -- operand roles --------------------------------------------------------------------

@pytest.mark.parametrize("make, label", [
    (lambda a, b: a - b, "a - b"), (lambda a, b: a / b, "a / b"), (lambda a, b: a ** b, "a ** b")])
def test_non_commutative_ops_label_which_operand_is_which(make, label):
    a = Value(3.0, label="first")
    b = Value(2.0, label="second")
    src = draw_dot(make(a, b)).source
    assert f'label="{label}"' in src
    name = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(src).items()}
    assert re.search(rf"^\s*{name['first']} -> v0_op \[label=a\]", src, re.M)
    assert re.search(rf"^\s*{name['second']} -> v0_op \[label=b\]", src, re.M)
    swapped = draw_dot(make(b, a)).source   # the same boxes, roles swapped
    name = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(swapped).items()}
    assert re.search(rf"^\s*{name['second']} -> v0_op \[label=a\]", swapped, re.M)


def test_commutative_ops_and_number_operands_need_no_edge_labels():
    x = Value(2.0, label="x")
    for y, label in [(x + Value(1.0), "+"), (x * Value(1.0), "*"), (x - 1.0, "x - 1"), (1.0 - x, "1 - x"),
                     (x / 4.0, "x / 4"), (4.0 / x, "4 / x"), (2.0 ** x, "2 ** x"), (-x, "-x")]:
        src = draw_dot(y).source
        assert f'label="{label}"' in src, label
        assert "-> v0_op [label=" not in src


# -- bad input ------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, word", [
    ({"top": 0}, "top"), ({"top": -3}, "top"), ({"top": 2.0}, "top"), ({"max_nodes": 0}, "max_nodes"),
    ({"max_inputs": -1}, "max_inputs")])
def test_bad_limits_are_value_errors_naming_the_argument(kwargs, word):
    with pytest.raises(ValueError, match=rf"draw_dot\({word}="):
        draw_dot(Value(1.0).tanh(), **kwargs)


@pytest.mark.parametrize("bad", [None, 1.0, [Value(1.0)], "x"])
def test_non_value_root_is_a_type_error(bad):
    with pytest.raises(TypeError, match="draw_dot: expected a Value"):
        draw_dot(bad)


def test_control_characters_in_labels_are_shown_not_passed_to_dot():
    v = Value(1.0, label="nul\x00byte\x01")
    src = draw_dot(v.relu()).source
    assert "\x00" not in src and "\x01" not in src
    assert r"nul\\x00byte\\x01" in src
    if render.find_renderer() is not None:   # issue 14: a NUL in a label made rendering fail
        svg = draw_dot(v.relu()).pipe(format="svg").decode()
        assert "nul\\x00byte\\x01" in svg


# -- pixel budgets, on rendered PNGs ------------------------------------------------------

def _pure():
    r = render.find_renderer()
    if r is None or r.name != "graphviz-pure":
        pytest.skip("graphviz-pure is the renderer these budgets are measured with")
    return r


def _png_size(png: bytes) -> tuple:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _graph_of(n: int) -> Value:
    """A graph of about n nodes, built the way users build them."""
    if n == 10:
        x, w, b = Value(0.5, label="x"), Value(-1.5, label="w"), Value(0.2, label="b")
        return ((x * w + b).tanh() - x) / (w ** 2.0)
    if n == 100:
        return nn.MLP(4, [8, 4, 1], seed=0)([0.1, -0.2, 0.3, 0.4])
    if n == 1000:
        model = nn.MLP(2, [16, 16, 1], seed=0)
        return engine.sum([model([0.1 * i, -0.2]) for i in range(10)])
    # micrograd style, one node per op: 16 neurons of 16 inputs over 20 samples
    import random
    r = random.Random(0)
    ws = [[Value(r.uniform(-1, 1)) for _ in range(16)] for _ in range(16)]
    total = Value(0.0)
    for _ in range(20):
        xs = [r.uniform(-1, 1) for _ in range(16)]
        for row in ws:
            total = total + sum((wi * xi for wi, xi in zip(row, xs)), Value(0.0)).relu()
    return total


@pytest.mark.parametrize("n", [10, 100, 1000, 10000])
def test_default_picture_stays_within_the_pixel_budget(n, tmp_path):
    _pure()
    y = _graph_of(n)
    y.backward()
    assert n / 2 <= len(topological_order(y)) <= n * 2
    g = draw_dot(y)
    w, h = _png_size(g.pipe(format="png"))
    longest, area = PIXEL_BUDGET
    assert max(w, h) <= longest and w * h <= area, (w, h)


# -- plain graphviz.Digraph from user code ----------------------------------------------

@pytest.mark.parametrize("order", ["graphviz first", "engine first"])
def test_plain_digraph_renders_without_system_graphviz_after_import_engine(order, tmp_path):
    _pure()
    imports = "import graphviz, engine" if order == "graphviz first" else "import engine, graphviz"
    code = (f"{imports}\n"
            "g = graphviz.Digraph(format='png')\n"
            "g.node('a', label='{ data 1 | grad 0 }', shape='record'); g.edge('a', 'b')\n"
            "print(g.render('gout'))\n")
    env = {**os.environ, "PATH": str(tmp_path)}   # no `dot` anywhere: graphviz-pure sits beside python
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "gout.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_patch_graphviz_leaves_a_users_own_dot_binary_alone(monkeypatch):
    from graphviz.backend import dot_command
    monkeypatch.setattr(dot_command, "DOT_BINARY", "/opt/my/dot")
    render.patch_graphviz()
    assert dot_command.DOT_BINARY == "/opt/my/dot"
