"""engine.expr (safe expression evaluation) and the `chainrule graph` subcommand."""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from engine import Value
from engine import expr as E
from engine.expr import evaluate, parse, parse_assignments, variables

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# -- evaluation ------------------------------------------------------------------

def test_neuron_value_and_gradients_match_hand_computation():
    out, leaves = evaluate("tanh(x*w + b)", {"x": 2, "w": -3, "b": 1})
    out.backward()
    t = math.tanh(2 * -3 + 1)
    assert out.data == pytest.approx(t)
    d = 1 - t * t
    assert leaves["x"].grad == pytest.approx(-3 * d)
    assert leaves["w"].grad == pytest.approx(2 * d)
    assert leaves["b"].grad == pytest.approx(d)
    assert [v.label for v in leaves.values()] == ["x", "w", "b"]


def test_repeated_variable_is_one_leaf():
    out, leaves = evaluate("x*x + 3*x", {"x": 2.0})
    out.backward()
    assert list(leaves) == ["x"]
    assert leaves["x"].grad == pytest.approx(2 * 2.0 + 3)


@pytest.mark.parametrize("text, env, expected", [
    ("-x ** 2", {"x": 3.0}, -9.0),          # Python precedence: -(x**2)
    ("2 ** x", {"x": 3.0}, 8.0),
    ("x ** y", {"x": 2.0, "y": 3.0}, 8.0),
    ("1 / x - +x", {"x": 4.0}, 0.25 - 4.0),
    ("relu(x) + sigmoid(0) + abs(x)", {"x": -2.0}, 0.5 + 2.0),
    ("sqrt(x) + log(exp(x))", {"x": 4.0}, 6.0),
    ("(2 + 3) * x", {"x": 1.5}, 7.5),
])
def test_operators_and_functions(text, env, expected):
    out, _ = evaluate(text, env)
    assert out.data == pytest.approx(expected)


def test_every_whitelisted_function_is_an_engine_op():
    from engine import ops
    assert set(E.FUNCTIONS) == set(ops.UNARY) - {"neg"}
    for f in E.FUNCTIONS:
        out, leaves = evaluate(f"{f}(x)", {"x": 0.7})
        out.backward()
        assert out.op == f and leaves["x"].grad != 0.0


def test_constant_expression_gives_a_leaf_value_and_ieee_division():
    out, leaves = evaluate("1 / 0 + 2", {})
    assert isinstance(out, Value) and out.data == math.inf and leaves == {}


def test_variables_in_reading_order_excluding_functions():
    assert variables("tanh(x*w + b) + exp(x) * a") == ["x", "w", "b", "a"]


def test_value_inputs_are_used_as_is():
    x = Value(2.0, label="mine")
    out, leaves = evaluate("x * 3", {"x": x})
    out.backward()
    assert leaves["x"] is x and x.grad == 3.0


# -- rejections ----------------------------------------------------------------------

@pytest.mark.parametrize("text, words", [
    ("x.__class__", "attribute access"),
    ("().__class__.__bases__", "attribute access"),
    ("foo(x)", "unknown function 'foo'"),
    ("__import__('os').system('echo hi')", "method calls"),
    ("eval('1')", "unknown function 'eval'"),
    ("lambda: 1", "lambda"),
    ("import os", "not a valid formula"),
    ("[i for i in x]", "comprehensions"),
    ("x[0]", "subscripts"),
    ("'abc'", "strings"),
    ("True + x", "bool"),
    ("1j * x", "complex"),
    ("x ^ 2", "**"),
    ("x // 2", "//"),
    ("x < 2", "comparisons"),
    ("tanh", "is a function"),
    ("tanh(x, y)", "exactly one argument"),
    ("tanh(x=1)", "exactly one argument"),
    ("(x)(1)", "unknown function 'x'"),
    ("x := 1", "not a valid formula"),
    ("", "empty"),
])
def test_parser_rejects_unsupported_syntax(text, words):
    with pytest.raises(ValueError) as info:
        parse(text)
    assert words in str(info.value)


@pytest.mark.parametrize("text, words", [
    ("9**9**9", "exponent 9**9"),
    ("x ** 1e6", "exponent 1e6"),
    ("x ** -(10**4)", "exponent"),
    ("2 ** (3 ** x) ** 5000", "exponent 5000"),
    ("x * 1e999", "number 1e999 is too large"),
    ("x + 123456789012345678901234567890", "too large"),
    ("x + " * 600 + "x", "characters long"),
    ("(" * 100 + "x" + ")" * 100, "nests brackets"),
    ("-" * 500 + "x", "levels deep"),
])
def test_parser_rejects_absurd_sizes_before_computing(text, words):
    with pytest.raises(ValueError) as info:
        parse(text)
    assert words in str(info.value)


def test_allowed_exponents_still_work():
    out, _ = evaluate("x ** 1000 + 2 ** -3", {"x": 1.0})
    assert out.data == pytest.approx(1.125)


def test_non_string_expression_is_a_type_error():
    with pytest.raises(TypeError, match="expected a str"):
        parse(42)


def test_parser_never_raises_anything_but_valueerror_on_random_text():
    hypothesis = pytest.importorskip("hypothesis")
    st = hypothesis.strategies
    alphabet = st.sampled_from(list("xyzw019.+-*/()e_ ,[]'\"a:=lambdtn^%<>!") + ["**", "tanh(", "9**9**"])

    @hypothesis.given(st.lists(alphabet, max_size=40).map("".join))
    def check(text):
        try:
            names = variables(text)
        except ValueError:
            return
        out, _ = evaluate(text, {n: 0.5 for n in names})
        assert isinstance(out, Value)

    check()


# -- --at parsing and variable matching -------------------------------------------

def test_parse_assignments_accepts_commas_spaces_and_repeats():
    assert parse_assignments("x=2,w=-3,b=1") == {"x": 2.0, "w": -3.0, "b": 1.0}
    assert parse_assignments(["x = 2", "w=-3.5e-1,"]) == {"x": 2.0, "w": -0.35}
    assert parse_assignments(None) == {}


@pytest.mark.parametrize("spec, words", [
    ("x", "not NAME=NUMBER"),
    ("x=abc", "not a number"),
    ("x=", "not a number"),
    ("x=nan", "finite"),
    ("x=1e999", "finite"),
    ("x=1,x=2", "twice"),
    ("1x=2", "not NAME=NUMBER"),
    ("tanh=1", "function name"),
])
def test_parse_assignments_errors(spec, words):
    with pytest.raises(ValueError) as info:
        parse_assignments(spec)
    assert words in str(info.value) and "--at" in str(info.value)


def test_missing_and_extra_variables():
    with pytest.raises(ValueError, match=r"needs a value for b.*--at x=1,b=1"):
        evaluate("x + b", {"x": 1.0})
    with pytest.raises(ValueError, match="does not use"):
        evaluate("x + 1", {"x": 1.0, "q": 2.0})


# -- the `chainrule graph` subcommand --------------------------------------------------

def _pure_available() -> bool:
    return shutil.which("dot") is not None or shutil.which("graphviz-pure") is not None or shutil.which(
        "graphviz-pure", path=os.path.dirname(os.path.abspath(sys.executable))) is not None


def _parser():
    from nn import cli_graph
    ap = argparse.ArgumentParser(prog="chainrule")
    sub = ap.add_subparsers()
    cli_graph.add_parser(sub)
    return ap


@pytest.mark.skipif(not _pure_available(), reason="needs dot or graphviz-pure")
def test_cli_graph_writes_valid_svg_and_png(tmp_path, capsys):
    pytest.importorskip("graphviz")
    ap = _parser()
    out = tmp_path / "graph.svg"
    args = ap.parse_args(["graph", "tanh(x*w + b)", "--at", "x=2,w=-3,b=1", "-o", str(out),
                          "--color", "sign", "--highlight", "x"])
    assert args.func(args) == 0
    root = ET.parse(out).getroot()
    text = "".join(root.itertext())
    assert root.tag.endswith("svg") and "tanh" in text and "data -3" in text
    printed = capsys.readouterr().out
    assert "df/dx = -0.00054475" in printed and str(out) in printed

    png = tmp_path / "g.png"
    args = ap.parse_args(["graph", "relu(a*b) + a", "--at", "a=1.5", "--at", "b=-2", "-o", str(png)])
    assert args.func(args) == 0
    assert png.read_bytes()[:8] == PNG_MAGIC


def test_cli_graph_dot_output_needs_no_renderer(tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    from engine import render
    from nn import cli_graph
    monkeypatch.setattr(render.shutil, "which", lambda *a, **k: None)
    out = tmp_path / "g.dot"
    ns = argparse.Namespace(expr="x*y + 1", at=["x=2,y=3"], output=str(out), top=2, top_by="depth")
    assert cli_graph.run(ns) == 0
    src = out.read_text()
    assert src.startswith("digraph") and "data 7" in src and src.count("shape=record") == 2
    with pytest.raises(OSError, match="pip install graphviz-pure"):
        cli_graph.run(argparse.Namespace(expr="x*y", at=["x=2,y=3"], output=str(tmp_path / "g.svg")))


@pytest.mark.parametrize("argv, words", [
    (["graph", "x.y", "--at", "x=1"], "attribute access"),
    (["graph", "9**9**9"], "exponent"),
    (["graph", "x + b", "--at", "x=1"], "needs a value for b"),
    (["graph", "x", "--at", "x=two"], "not a number"),
    (["graph", "x", "--at", "x=1", "-o", "g.pdf"], "suffix"),
    (["graph", "x", "--at", "x=1", "--highlight", "q"], "--highlight"),
    (["graph", "x", "--at", "x=1", "--top", "0"], "--top"),
])
def test_cli_graph_bad_input_raises_valueerror(argv, words, tmp_path, monkeypatch):
    pytest.importorskip("graphviz")
    monkeypatch.chdir(tmp_path)
    args = _parser().parse_args(argv)
    with pytest.raises(ValueError) as info:
        args.func(args)
    assert words in str(info.value)
    assert os.listdir(tmp_path) == []


def test_cli_graph_help_mentions_example():
    from nn import cli_graph
    sub = argparse.ArgumentParser(prog="chainrule").add_subparsers()
    text = cli_graph.add_parser(sub).format_help()
    assert "--at" in text and "tanh(x*w + b)" in text


@pytest.mark.skipif(importlib.util.find_spec("nn.cli") is None, reason="nn/cli.py not written yet")
@pytest.mark.skipif(not _pure_available(), reason="needs dot or graphviz-pure")
def test_cli_graph_end_to_end_subprocess(tmp_path):
    pytest.importorskip("graphviz")
    out = tmp_path / "graph.svg"
    run = subprocess.run([sys.executable, "-m", "nn.cli", "graph", "tanh(x*w + b)", "--at", "x=2,w=-3,b=1",
                          "-o", str(out)], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))})
    assert run.returncode == 0, run.stderr
    assert ET.parse(out).getroot().tag.endswith("svg")
    bad = subprocess.run([sys.executable, "-m", "nn.cli", "graph", "os.system('x')"], capture_output=True,
                         text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": os.path.dirname(os.path.dirname(__file__))})
    assert bad.returncode == 2
    assert "attribute access" in bad.stderr or "method calls" in bad.stderr
