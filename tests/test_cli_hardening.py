"""Command-line rows of issue 14 (items 7, 10, 11): unknown options reported first, no prefix matching,
valid JSON from `predict --json`, flat expressions of any length, crafted model files exit 1."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from nn import MLP, save_model
from nn.cli import main

SCRIPT = Path(sys.executable).with_name("chainrule")


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv,needle", [
    (["graph", "--bogus"], "unrecognized option '--bogus'"),
    (["graph", "--bogus", "x", "--at", "x=1"], "unrecognized option '--bogus'"),
    (["predict", "--bogus"], "unrecognized option '--bogus'"),
    (["train", "--data", "iris.csv"], "unrecognized option '--data'; did you mean --dataset?"),
    (["train", "--epoch", "3"], "unrecognized option '--epoch'; did you mean --epochs?"),
])
def test_unknown_option_is_reported_before_missing_arguments(argv, needle, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert needle in err and len(err.strip().splitlines()) == 1
    assert "required" not in err


def test_an_option_value_that_looks_like_an_option_is_not_judged(tmp_path, capsys):
    out = tmp_path / "--odd.dot"
    code, _, err = _run(["graph", "x*2", "--at", "x=1", "-o", str(out)], capsys)
    assert code == 0, err


def test_dash_expression_still_works(tmp_path, capsys):
    code, out, err = _run(["graph", "-x*w", "--at", "x=2,w=3", "-o", str(tmp_path / "g.dot")], capsys)
    assert code == 0, err
    assert "f = -x*w = -6" in out


@pytest.mark.parametrize("op,terms,expected", [("+", 65, 65.0), ("+", 400, 400.0), ("-", 200, -198.0),
                                                ("*", 300, 1.0), ("/", 100, 1.0)])
def test_flat_chains_are_one_level_of_nesting(tmp_path, capsys, op, terms, expected):
    expr = op.join(["x"] * terms)
    code, out, err = _run(["graph", expr, "--at", "x=1", "-o", str(tmp_path / "g.dot")], capsys)
    assert code == 0, err
    assert f"= {expected:g}" in out.splitlines()[0]


def test_real_nesting_is_still_bounded(capsys):
    code, _, err = _run(["graph", "tanh(" * 70 + "x" + ")" * 70, "--at", "x=1"], capsys)
    assert code == 2 and "nests" in err


def test_predict_json_is_strict_json_even_for_non_finite_outputs(tmp_path, capsys):
    m = MLP(2, [1], seed=0)
    m.parameters()[0].data = 1e308
    m.parameters()[1].data = 1e308
    save_model(m, tmp_path / "big.json")
    code, out, err = _run(["predict", "--model", str(tmp_path / "big.json"), "--json", "1e10,1e10", "0,0"], capsys)
    assert code == 0, err
    rows = [json.loads(line, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}")) for line in
            out.splitlines()]
    assert rows[0]["output"] is None and rows[1]["output"] == 0.0
    assert "Infinity" not in out and "NaN" not in out


def test_crafted_batchnorm_file_is_a_damaged_file_exit_1(tmp_path, capsys):
    from nn import BatchNorm, Layer, Sequential
    model = Sequential(Layer(2, 3, seed=0), BatchNorm(3), Layer(3, 1, "linear", seed=1))
    save_model(model, tmp_path / "bn.json")
    doc = json.loads((tmp_path / "bn.json").read_text())
    doc["state"]["1.running_var"][0] = -1.0
    (tmp_path / "bn.json").write_text(json.dumps(doc))
    code, _, err = _run(["predict", "--model", str(tmp_path / "bn.json"), "0.5,1"], capsys)
    assert code == 1 and "running_var" in err and "negative" in err


def test_fifo_model_is_refused_not_waited_on(tmp_path, capsys):
    import os
    if not hasattr(os, "mkfifo"):
        pytest.skip("needs FIFOs")
    os.mkfifo(tmp_path / "model.json")
    proc = subprocess.run([str(SCRIPT), "predict", "--model", str(tmp_path / "model.json"), "1,2"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "FIFO" in proc.stderr and "Traceback" not in proc.stderr


def test_broken_pipe_is_quiet(tmp_path):
    save_model(MLP(2, [3, 1], seed=0), tmp_path / "m.json")
    points = [f"{i},{i}" for i in range(3000)]
    proc = subprocess.Popen([str(SCRIPT), "predict", "--model", str(tmp_path / "m.json"), *points],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    proc.stderr.close()
    assert "Traceback" not in err and "error" not in err, err
    assert proc.returncode in (0, 141)


def test_train_on_huge_finite_values(tmp_path, capsys):
    """1e308 in a feature: exit 2 naming the column (was a raw OverflowError from fsum); 1e300 trains."""
    rows = "\n".join(f"{v},{i % 2}" for i, v in enumerate(["1e308", "-1e308", "1", "2", "3", "-1e308"]))
    (tmp_path / "h.csv").write_text("a,y\n" + rows + "\n")
    code, _, err = _run(["train", "--csv", str(tmp_path / "h.csv"), "--target", "y", "--epochs", "2",
                         "--out", str(tmp_path / "out")], capsys)
    assert code == 2 and "column 'a' holds" in err and "too large to standardise" in err
    (tmp_path / "r.csv").write_text("a,y\n" + "\n".join(f"{i},{v}" for i, v in enumerate(
        ["1e300", "-1e300", "1e300", "5", "1", "2"])) + "\n")
    code, out, err = _run(["train", "--csv", str(tmp_path / "r.csv"), "--target", "y", "--epochs", "2",
                           "--out", str(tmp_path / "out2")], capsys)
    assert code == 0, err
