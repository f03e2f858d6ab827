"""engine.draw: DOT content, options, renderer discovery and rendering without system Graphviz."""
from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

graphviz = pytest.importorskip("graphviz")

import engine  # noqa: E402
from engine import Value, draw_dot  # noqa: E402
from engine import draw, render  # noqa: E402
from engine.draw import RendererNotFoundError, find_renderer, render_to_file  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_real_which = shutil.which


def _pure_available() -> bool:
    return _real_which("graphviz-pure") is not None or _real_which(
        "graphviz-pure", path=os.path.dirname(os.path.abspath(sys.executable))) is not None


needs_pure = pytest.mark.skipif(not _pure_available(), reason="graphviz-pure not installed (pip install graphviz-pure)")


@pytest.fixture(autouse=True)
def _restore_dot_binary(monkeypatch):
    # draw.py repoints graphviz's DOT_BINARY; give every test a clean slate.
    from graphviz.backend import dot_command
    monkeypatch.setattr(dot_command, "DOT_BINARY", dot_command.DOT_BINARY)


@pytest.fixture
def force_pure(monkeypatch):
    """Pretend Graphviz's `dot` is not installed, so graphviz-pure is used even where dot exists."""
    def which(cmd, *args, **kwargs):
        return None if cmd == "dot" else _real_which(cmd, *args, **kwargs)
    monkeypatch.setattr(render.shutil, "which", which)
    r = find_renderer()
    assert r is not None and r.name == "graphviz-pure"
    return r


@pytest.fixture
def no_renderer(monkeypatch):
    monkeypatch.setattr(render.shutil, "which", lambda cmd, *a, **k: None)


def neuron():
    """tanh(x*w + b) at x=2, w=-3, b=1 — hand-checkable numbers."""
    x = Value(2.0, label="x")
    w = Value(-3.0, label="w")
    b = Value(1.0, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    y.backward()
    return x, w, b, y


def records(src: str) -> dict:
    """node name -> label text, for record (Value) nodes."""
    return {m.group(1): m.group(2) for m in re.finditer(r'^\s*(\w+) \[label="(\{.*?\})"', src, re.M)}


def edges(src: str) -> list:
    return re.findall(r"^\s*(\w+) -> (\w+)", src, re.M)


def attrs_of(src: str, name: str) -> str:
    m = re.search(rf"^\s*{name} \[(.*)\]$", src, re.M)
    assert m, f"node {name} not in source"
    return m.group(1)


# -- DOT content ---------------------------------------------------------------

def test_dot_source_has_records_ops_and_dataflow_edges():
    x, w, b, y = neuron()
    g = draw_dot(y)
    assert isinstance(g, graphviz.Digraph)
    src = g.source
    recs = records(src)
    by_label = {lab.split("|")[0].strip("{ ").strip(): name for name, lab in recs.items()}
    assert set(by_label) >= {"x", "w", "b", "y"}
    assert len(recs) == 6  # x, w, b, x*w, x*w+b, y
    assert "{ x | data 2 | grad -0.0005447 }" in src
    assert "{ w | data -3 | grad 0.0003632 }" in src
    assert "{ y | data -0.9999 | grad 1 }" in src
    assert "rankdir=LR" in src
    ops = set(re.findall(r'^\s*\w+_op \[label="?([^" ]+)"?', src, re.M))
    assert ops == {"*", "+", "tanh"}
    es = edges(src)
    X, W, B, Y = (by_label[k] for k in "xwby")
    # data flows input -> op -> result
    mul_op = next(dst for src_, dst in es if src_ == X)
    assert (W, mul_op) in es
    prod = mul_op[: -len("_op")]
    assert (mul_op, prod) in es
    add_op = next(dst for src_, dst in es if src_ == prod)
    assert (B, add_op) in es
    assert (f"{Y}_op", Y) in es
    # data flows inputs -> op -> result: every edge into an op comes from a record, every op feeds its result
    assert all((a.endswith("_op") and c == a[:-3]) or (not a.endswith("_op") and c.endswith("_op")) for a, c in es)


def test_constants_show_in_op_node_and_rankdir_tb():
    x = Value(2.0, label="x")
    y = (x * 2.0) + (3.0 - x) + x ** 2
    g = draw_dot(y, rankdir="TB")
    assert 'label="* 2"' in g.source
    assert 'label="3 - x"' in g.source
    assert 'label="x ** 2"' in g.source
    assert "rankdir=TB" in g.source


def test_unlabelled_values_and_digits():
    y = Value(1.0 / 3.0) * Value(3.0)
    assert "{ data 0.3333 | grad 0 }" in draw_dot(y).source
    assert "{ data 0.333333 | grad 0 }" in draw_dot(y, digits=6).source


def test_record_special_characters_are_escaped():
    v = Value(1.0, label='a|b{c}<d>"e"')
    y = v.relu()
    src = draw_dot(y).source
    assert r'a\|b\{c\}\<d\>\"e\"' in src


def test_draw_dot_rejects_bad_arguments_with_clear_messages():
    y = Value(1.0).tanh()
    with pytest.raises(TypeError, match="draw_dot: expected a Value"):
        draw_dot(1.0)
    for kwargs, word in [({"rankdir": "XY"}, "rankdir"), ({"max_inputs": 0}, "max_inputs"),
                         ({"color_by": "rainbow"}, "color_by"), ({"top": 0}, "top"),
                         ({"top_by": "size"}, "top_by"), ({"digits": 0}, "digits")]:
        with pytest.raises(ValueError, match=word):
            draw_dot(y, **kwargs)


def test_deep_chain_draws_without_recursion():
    x = Value(0.5, label="x")
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    src = draw_dot(y, max_nodes=6000).source
    assert src.count("shape=record") == 5001
    assert len(edges(src)) == 2 * 5000


def test_import_engine_does_not_import_graphviz():
    code = "import sys, engine; assert 'graphviz' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


# -- fused nodes -----------------------------------------------------------------

def test_sum_over_100_inputs_is_summarised():
    xs = [Value(float(i), label=f"x{i}") for i in range(100)]
    s = engine.sum(xs)
    s.backward()
    src = draw_dot(s).source
    assert len(records(src)) == draw.MAX_INPUTS + 1
    assert "... 80 more inputs" in src
    es = edges(src)
    into_sum = [a for a, c in es if c.endswith("_op")]
    assert len(into_sum) == draw.MAX_INPUTS + 1  # 20 inputs + the summary node
    assert 'x99 |' not in src and "{ x0 |" in src


def test_max_inputs_option_and_shared_parent_stays_drawn():
    xs = [Value(float(i), label=f"x{i}") for i in range(20)]
    # x19 is collapsed out of the dot node, but also feeds the output directly
    y = engine.dot(xs, [1.0] * 20) + xs[19]
    y.backward()
    src = draw_dot(y, max_inputs=5).source
    assert "... 15 more pairs" in src
    assert "{ x19 |" in src and "{ x4 |" in src and "{ x5 |" not in src


def test_small_fused_node_is_not_summarised():
    xs = [Value(1.0), Value(2.0)]
    assert "more input" not in draw_dot(engine.sum(xs)).source


# -- options -----------------------------------------------------------------------

def _fill(src: str, name: str) -> str:
    return re.search(r'fillcolor="(#[0-9a-f]{6})"', attrs_of(src, name)).group(1)


def _brightness(hexcolor: str) -> int:
    return sum(int(hexcolor[i:i + 2], 16) for i in (1, 3, 5))


def test_color_by_sign():
    x, w, b, y = neuron()   # x.grad < 0, w.grad > 0
    src = draw_dot(y, color_by="sign").source
    names = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(src).items()}
    fx, fw = _fill(src, names["x"]), _fill(src, names["w"])
    assert fx != fw
    assert int(fx[1:3], 16) > int(fx[5:7], 16)   # red-ish for negative
    assert int(fw[5:7], 16) > int(fw[1:3], 16)   # blue-ish for positive
    assert "grad &gt; 0" in src or "grad > 0" in src  # legend
    assert "fillcolor" not in draw_dot(y).source


def test_color_by_magnitude_is_stronger_for_larger_grad():
    a = Value(1.0, label="a")
    c = Value(1.0, label="c")
    y = a * 10.0 + c * 0.1
    y.backward()
    src = draw_dot(y, color_by="magnitude").source
    names = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(src).items()}
    assert _brightness(_fill(src, names["a"])) < _brightness(_fill(src, names["c"]))


def test_top_n_by_grad_keeps_largest_gradients_and_output():
    vals = [Value(1.0, label=f"p{i}") for i in range(6)]
    y = engine.dot(vals, [1.0, -50.0, 2.0, 40.0, 0.5, 3.0])
    y.label = "out"
    y.backward()
    src = draw_dot(y, top=3).source
    labels = {lab.split("|")[0].strip("{ ").strip() for lab in records(src).values()}
    assert labels == {"out", "p1", "p3"}
    assert "1 * -50 = -50" in src and "1 * 40 = 40" in src   # the kept pairs' rows, with numbers
    assert "... 4 more pairs" in src and "1 * 3 = 3" not in src  # the rest fold into one row
    assert len(edges(src)) == 3                              # p1 and p3 into their rows, the op into out


def test_top_n_by_depth_keeps_nodes_nearest_the_output():
    x = Value(0.3, label="x")
    h = x.tanh()
    h.label = "h"
    z = h.exp()
    z.label = "z"
    y = z * 2.0
    y.label = "y"
    y.backward()
    src = draw_dot(y, top=2, top_by="depth").source
    labels = {lab.split("|")[0].strip("{ ").strip() for lab in records(src).values()}
    assert labels == {"y", "z"}
    assert "... 1 more input" in src
    assert "showing 2 of 4 values (nearest the output" in src


def test_highlight_marks_every_path_from_input_to_output():
    x, w, b, y = neuron()
    src = draw_dot(y, highlight=b).source
    names = {lab.split("|")[0].strip("{ ").strip(): n for n, lab in records(src).items()}
    red = "#d7191c"
    assert red in attrs_of(src, names["b"]) and red in attrs_of(src, names["y"])
    assert red not in attrs_of(src, names["x"]) and red not in attrs_of(src, names["w"])
    hot_edges = re.findall(rf'^\s*(\w+) -> (\w+) \[color="{red}"', src, re.M)
    assert (names["b"], next(c for a, c in edges(src) if a == names["b"])) in hot_edges
    assert all(a != names["x"] for a, _ in hot_edges)
    # by label gives the same picture
    assert draw_dot(y, highlight="b").source == src


def test_highlight_errors():
    x, w, b, y = neuron()
    with pytest.raises(ValueError, match="not part of this graph"):
        draw_dot(y, highlight=Value(1.0))
    with pytest.raises(ValueError, match="no Value"):
        draw_dot(y, highlight="nope")
    with pytest.raises(TypeError, match="highlight"):
        draw_dot(y, highlight=3)


# -- renderer discovery and rendering ---------------------------------------------

def _fake_exe(directory, name):
    p = directory / name
    p.write_text("#!/bin/sh\nexit 0\n")
    p.chmod(p.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return p


@pytest.mark.skipif(os.name == "nt", reason="uses a POSIX shell script as a fake executable")
def test_find_renderer_prefers_dot_then_path_then_beside_python(tmp_path, monkeypatch):
    onpath = tmp_path / "onpath"
    venvbin = tmp_path / "venvbin"
    onpath.mkdir()
    venvbin.mkdir()
    monkeypatch.setattr(sys, "executable", str(venvbin / "python"))
    monkeypatch.setenv("PATH", str(onpath))
    assert find_renderer() is None
    pure = _fake_exe(venvbin, "graphviz-pure")
    assert find_renderer() == draw.Renderer("graphviz-pure", str(pure))   # found beside sys.executable
    pure2 = _fake_exe(onpath, "graphviz-pure")
    assert find_renderer() == draw.Renderer("graphviz-pure", str(pure2))  # PATH first
    dot = _fake_exe(onpath, "dot")
    assert find_renderer() == draw.Renderer("dot", str(dot))              # real Graphviz preferred


@needs_pure
def test_svg_and_png_render_through_graphviz_pure(force_pure, tmp_path):
    from graphviz.backend import dot_command
    x, w, b, y = neuron()
    g = draw_dot(y)
    svg = g.pipe(format="svg")
    assert str(dot_command.DOT_BINARY) == force_pure.path
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = "".join(root.itertext())
    assert "tanh" in texts and "data -3" in texts
    png = g.pipe(format="png")
    assert png[:8] == PNG_MAGIC

    p_svg = render_to_file(g, tmp_path / "g.svg")
    p_png = render_to_file(g, tmp_path / "g.png")
    p_dot = render_to_file(g, tmp_path / "g.dot")
    assert ET.parse(p_svg).getroot().tag.endswith("svg")
    assert p_png.read_bytes()[:8] == PNG_MAGIC
    assert p_dot.read_text(encoding="utf-8") == g.source
    assert sorted(os.listdir(tmp_path)) == ["g.dot", "g.png", "g.svg"]  # no temp files left


@needs_pure
def test_graphviz_render_and_jupyter_repr_use_graphviz_pure(force_pure, tmp_path):
    y = Value(2.0, label="x").tanh()
    g = draw_dot(y)
    out = g.render(tmp_path / "r", format="png")
    with open(out, "rb") as f:
        assert f.read(8) == PNG_MAGIC
    bundle = g._repr_mimebundle_()
    assert ET.fromstring(bundle["image/svg+xml"]).tag.endswith("svg")


@needs_pure
def test_render_to_file_accepts_a_value_and_plain_digraph(force_pure, tmp_path):
    y = Value(2.0, label="x").relu()
    p = render_to_file(y, tmp_path / "v.svg")
    assert ET.parse(p).getroot().tag.endswith("svg")
    plain = graphviz.Digraph()
    plain.edge("a", "b")
    assert render_to_file(plain, tmp_path / "p.png").read_bytes()[:8] == PNG_MAGIC


@needs_pure
def test_pdf_with_graphviz_pure_is_a_clear_error(force_pure):
    g = draw_dot(Value(1.0).exp())
    with pytest.raises(ValueError, match="graphviz-pure"):
        g.pipe(format="pdf")


def test_missing_renderer_is_one_clear_error(no_renderer, tmp_path):
    y = Value(2.0, label="x").tanh()
    g = draw_dot(y)                          # drawing needs no renderer
    assert "tanh" in g.source
    g.save(tmp_path / "g.gv")                # nor does saving DOT source
    assert (tmp_path / "g.gv").read_text().startswith("digraph")
    assert render_to_file(g, tmp_path / "g.dot").exists()
    for attempt in (lambda: g.pipe(format="svg"),
                    lambda: g.render(tmp_path / "r", format="png"),
                    lambda: render_to_file(g, tmp_path / "out.svg"),
                    lambda: g._repr_image_svg_xml()):
        with pytest.raises(RendererNotFoundError) as info:
            attempt()
        msg = str(info.value)
        assert "dot" in msg and "pip install graphviz-pure" in msg
        assert isinstance(info.value, RuntimeError)
    assert not (tmp_path / "out.svg").exists()
    assert sorted(os.listdir(tmp_path)) == ["g.dot", "g.gv"]


def test_render_to_file_rejects_unknown_suffix_and_non_graphs(tmp_path):
    g = draw_dot(Value(1.0).exp())
    with pytest.raises(ValueError, match=r"'\.pdf'.*\.png"):
        render_to_file(g, tmp_path / "g.pdf")
    with pytest.raises(TypeError, match="render_to_file"):
        render_to_file("digraph {}", tmp_path / "g.svg")
    with pytest.raises(OSError):
        render_to_file(g, tmp_path / "missing_dir" / "g.dot")


def test_digraph_copies_and_pickles():
    import pickle
    g = draw_dot(Value(1.0, label="x").exp())
    assert isinstance(g.copy(), draw.ChainruleDigraph)
    g2 = pickle.loads(pickle.dumps(g))
    assert g2.source == g.source and isinstance(g2, graphviz.Digraph)


def test_missing_graphviz_package_is_a_clear_import_error(monkeypatch):
    monkeypatch.setattr(draw, "_digraph_class", None)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # makes `import graphviz` fail
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[viz\]'"):
        draw_dot(Value(1.0).exp())


def test_collapsing_keeps_op_results_before_leaves():
    # like an MLP neuron: many leaf weights first, the hidden unit that carries the graph last
    x = Value(0.5, label="x")
    h = x.tanh()
    h.label = "h"
    ws = [Value(1.0, label=f"w{i}") for i in range(20)]
    y = engine.sum(ws + [h])
    src = draw_dot(y, max_inputs=5).source
    assert "{ h |" in src and "{ x |" in src   # the subgraph behind h survives
    assert "{ w3 |" in src and "{ w4 |" not in src
    assert "... 16 more inputs" in src


def test_top_n_counts_only_drawable_nodes():
    ws = [Value(float(i), label=f"w{i}") for i in range(30)]
    y = engine.dot(ws, [float(30 - i) for i in range(30)])  # the largest grads sit on w0.. (kept)
    y.backward()
    src = draw_dot(y, top=5, max_inputs=3).source
    assert len(records(src)) == 4   # output + the 3 drawable inputs, though top=5
    src = draw_dot(y, top=3).source
    assert len(records(src)) == 3


def test_drawing_entry_points_name_themselves_for_bad_arguments():
    from engine import Value, draw_backward, draw_dot, formula
    x = Value(1.0)
    y = x * 2.0
    with pytest.raises(TypeError, match=r"draw_dot\(grads=...\): the gradient of .*: expected an int or float"):
        draw_dot(y, grads={x: "a"})
    with pytest.raises(TypeError, match="draw_backward: path must be a file name"):
        draw_backward(y, None)
    with pytest.raises(ValueError, match="formula: an integer of 1329 bits"):  # was a raw OverflowError
        formula(10 ** 400)


def test_draw_dot_takes_numpy_gradients():
    np = pytest.importorskip("numpy")
    from engine import Value, draw_dot
    x = Value(1.0)
    assert "3" in draw_dot(x * 2.0, grads={x: np.float32(3.0)}).source


def test_draw_dot_takes_any_real_gradient():
    from fractions import Fraction
    from engine import Value, draw_dot
    x = Value(1.0)
    y = x * 2.0
    assert "0.333" in draw_dot(y, grads={x: Fraction(1, 3), y: 1.0}).source  # was a raw TypeError from format
    with pytest.raises(ValueError, match="an integer of 1329 bits"):
        draw_dot(y, grads={x: 10 ** 400})
