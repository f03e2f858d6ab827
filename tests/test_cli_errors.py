"""The `chainrule` command line under bad input: every subcommand (train, predict, graph).

Each case must exit with code 2 (bad arguments or values) or 1 (runtime:
files, folders, divergence), print exactly one line to stderr that names
the problem, and show no traceback -- unless --debug, which shows one.
Most cases run in-process through ``nn.cli.main`` (fast); a few run the
installed console script in a subprocess.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nn import MLP, save_model
from nn.cli import main

SCRIPT = Path(sys.executable).with_name("chainrule")
FAST = ["--samples", "8", "--val-samples", "0", "--epochs", "1", "--hidden", "2", "--no-plots", "--quiet"]


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A work folder with a good model, a blocker FILE (to make unwritable paths, since tests run as root)
    and a set of broken model files."""
    monkeypatch.chdir(tmp_path)
    model = MLP(2, [3, 1], seed=0)
    save_model(model, tmp_path / "model.json")
    good = (tmp_path / "model.json").read_text()
    (tmp_path / "file.txt").write_text("a plain file, not a folder")
    (tmp_path / "folder").mkdir()
    doc = json.loads(good)
    files = {
        "empty.json": "",
        "truncated.json": good[: len(good) // 2],
        "binary.json": b"\x89PNG\r\n\x1a\n\x00\x00",
        "notjson.json": "this is not json",
        "list.json": "[1, 2, 3]",
        "version.json": json.dumps({**doc, "format_version": 99}),
        "format.json": json.dumps({**doc, "format": "keras"}),
        "shape.json": json.dumps({**doc, "state": {**doc["state"], "0.weight": [[1.0]]}}),
        "nan.json": good.replace('"1.bias": [0.0]', '"1.bias": [NaN]'),
        "inf.json": good.replace('"1.bias": [0.0]', '"1.bias": [1e999]'),
        "arch.json": json.dumps({**doc, "architecture": {"type": "Transformer"}}),
        "huge_arch.json": json.dumps({**doc, "architecture": {"type": "MLP", "nin": 2, "nouts": [10 ** 9, 1]}}),
        "str_weight.json": good.replace('"1.bias": [0.0]', '"1.bias": ["0.0"]'),
    }
    assert '"1.bias": [0.0]' in good
    for name, content in files.items():
        p = tmp_path / name
        p.write_bytes(content) if isinstance(content, bytes) else p.write_text(content)
    with open(tmp_path / "oversize.json", "wb") as f:  # sparse: 65 MiB on paper, nothing on disk
        f.truncate(65 * 1024 * 1024)
    return tmp_path


def _one_line_error(err: str, needle: str, command: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line of error, got:\n{err}"
    assert "Traceback" not in err
    assert lines[0].startswith(f"chainrule {command}: error:"), lines[0]
    assert needle.lower() in lines[0].lower(), f"{needle!r} not in {lines[0]!r}"


# (argv, exit code, needle in the error line)
TRAIN = [
    (["--out", "file.txt/sub"], 1, "cannot create output folder"),
    (["--out", "file.txt"], 2, "--out: 'file.txt' is a file; --out takes a folder"),
    (["--out", "file.txt/a/b/c"], 1, "cannot create output folder"),
    (["--lr", "nan"], 2, "--lr"),
    (["--lr", "inf"], 2, "--lr"),
    (["--lr", "-0.1"], 2, "--lr"),
    (["--lr", "0"], 2, "--lr"),
    (["--lr", "fast"], 2, "--lr"),
    (["--lr", "1e999"], 2, "--lr"),
    (["--lr", "1e308", "--epochs", "3"], 1, "diverged"),
    (["--epochs", "-1"], 2, "--epochs"),
    (["--epochs", "1.5"], 2, "--epochs"),
    (["--epochs", "99999999999999999999"], 2, "--epochs"),
    (["--samples", "3"], 2, "--samples"),
    (["--samples", "1e9"], 2, "--samples"),
    (["--samples", "10000000"], 2, "--samples"),
    (["--val-samples", "-1"], 2, "--val-samples"),
    (["--noise", "nan"], 2, "--noise"),
    (["--noise", "-1"], 2, "--noise"),
    (["--noise", "inf"], 2, "--noise"),
    (["--noise", "1e308", "--epochs", "3"], 1, "diverged"),
    (["--hidden", ""], 2, "--hidden"),
    (["--hidden", "16,,16"], 2, "--hidden"),
    (["--hidden", "0"], 2, "--hidden"),
    (["--hidden", "-4"], 2, "--hidden"),
    (["--hidden", "1e3"], 2, "--hidden"),
    (["--hidden", "1000000"], 2, "--hidden"),
    (["--classes", "1"], 2, "--classes"),
    (["--classes", "many"], 2, "--classes"),
    (["--dropout", "1"], 2, "--dropout"),
    (["--dropout", "-0.1"], 2, "--dropout"),
    (["--momentum", "1"], 2, "--momentum"),
    (["--momentum", "nan"], 2, "--momentum"),
    (["--l2", "nan"], 2, "--l2"),
    (["--l2", "-1"], 2, "--l2"),
    (["--l1", "inf"], 2, "--l1"),
    (["--batch-size", "-1"], 2, "--batch-size"),
    (["--seed", "-1"], 2, "--seed"),
    (["--seed", "x"], 2, "--seed"),
    (["--dataset", "mnist"], 2, "unknown data set"),
    (["--optimizer", "lbfgs"], 2, "invalid choice"),
    (["--batchnorm", "--batch-size", "1"], 2, "--batchnorm"),
    (["--dataset", "blobs", "--loss", "bce"], 2, "does not fit"),
    (["--optimizer", "adam", "--momentum", "0.5"], 2, "--momentum"),
    (["--epochs"], 2, "--epochs"),
    (["stray"], 2, "unrecognized"),
]


@pytest.mark.parametrize("argv,code,needle", TRAIN, ids=[" ".join(a) or "empty" for a, _, _ in TRAIN])
def test_train_errors(ws, capsys, argv, code, needle):
    out = [] if "--out" in argv else ["--out", "out"]
    assert main(["train", *FAST, *out, *argv]) == code
    _one_line_error(capsys.readouterr().err, needle, "train")


def test_train_cannot_write_model_file(ws, capsys):
    (ws / "o" / "model.json").mkdir(parents=True)  # a folder where the model file should go
    assert main(["train", *FAST, "--out", "o"]) == 1
    _one_line_error(capsys.readouterr().err, "cannot write into", "train")
    assert not [n for n in os.listdir(ws / "o") if n.endswith(".tmp")]


PREDICT = [
    (["--model", "missing.json", "1,2"], 1, "No such file"),
    (["--model", "nodir/missing.json", "1,2"], 1, "No such file"),
    (["--model", "folder", "1,2"], 1, "is a folder"),
    (["--model", "file.txt/model.json", "1,2"], 1, "Not a directory"),
    (["--model", "empty.json", "1,2"], 1, "empty"),
    (["--model", "truncated.json", "1,2"], 1, "truncated"),
    (["--model", "binary.json", "1,2"], 1, "not UTF-8"),
    (["--model", "notjson.json", "1,2"], 1, "invalid JSON"),
    (["--model", "list.json", "1,2"], 1, "top level"),
    (["--model", "version.json", "1,2"], 1, "unknown format_version 99"),
    (["--model", "format.json", "1,2"], 1, "not a chainrule model file"),
    (["--model", "shape.json", "1,2"], 1, "wrong shape"),
    (["--model", "nan.json", "1,2"], 1, "NaN"),
    (["--model", "inf.json", "1,2"], 1, "must be finite"),
    (["--model", "arch.json", "1,2"], 1, "unknown module type"),
    (["--model", "huge_arch.json", "1,2"], 1, "bad architecture"),
    (["--model", "str_weight.json", "1,2"], 1, "must be a number"),
    (["--model", "oversize.json", "1,2"], 1, "byte limit"),
    (["--model", "model.json", "--max-bytes", "100", "1,2"], 1, "over the 100-byte limit"),
    (["--model", "model.json", "--max-bytes", "0", "1,2"], 2, "--max-bytes"),
    (["--model", "model.json", "--max-bytes", "lots", "1,2"], 2, "--max-bytes"),
    (["--model", "model.json", "nan,1"], 2, "not a finite number"),
    (["--model", "model.json", "1,inf"], 2, "not a finite number"),
    (["--model", "model.json", "-inf,1"], 2, "not a finite number"),
    (["--model", "model.json", "1e999,1"], 2, "not a finite number"),
    (["--model", "model.json", "one,two"], 2, "not a number"),
    (["--model", "model.json", "1,,2"], 2, "not a number"),
    (["--model", "model.json", ""], 2, "not a number"),
    (["--model", "model.json", "1;2"], 2, "not a number"),
    (["--model", "model.json", "1,2,3"], 2, "takes 2"),
    (["--model", "model.json", "1"], 2, "takes 2"),
    (["--model", "model.json", "1,2", "3,4,5"], 2, "takes 2"),
    (["--model", "model.json"], 2, "at least one POINT"),
    (["1,2"], 2, "--model"),
    (["--model"], 2, "--model"),
    (["--model", "model.json", "--frobnicate", "1,2"], 2, "unrecognized"),
]


@pytest.mark.parametrize("argv,code,needle", PREDICT, ids=[" ".join(a) for a, _, _ in PREDICT])
def test_predict_errors(ws, capsys, argv, code, needle):
    assert main(["predict", *argv]) == code
    _one_line_error(capsys.readouterr().err, needle, "predict")


GRAPH = [
    (["__import__('os')"], 2, "unknown function '__import__'"),
    (["__import__('os').system('echo hi')", "--at", "x=1"], 2, "unsupported syntax"),
    (["x.y", "--at", "x=1"], 2, "attribute"),
    (["x.__class__", "--at", "x=1"], 2, "attribute"),
    (["9**9**9"], 2, "too large"),
    (["x**99999999", "--at", "x=1"], 2, "too large"),
    (["1e999*x", "--at", "x=1"], 2, "too large"),
    (["foo(x)", "--at", "x=1"], 2, "unknown function 'foo'"),
    (["exp"], 2, "function"),
    (["tanh(x, y)", "--at", "x=1,y=2"], 2, "exactly one argument"),
    (["lambda: 1"], 2, "unsupported syntax"),
    (["[x, x]", "--at", "x=1"], 2, "unsupported syntax"),
    (["'a' * 3"], 2, "unsupported syntax"),
    (["x if x else x", "--at", "x=1"], 2, "unsupported syntax"),
    (["x // 2", "--at", "x=1"], 2, "not supported"),
    (["x = 1"], 2, "expression"),
    (["tanh(x*"], 2, "expression"),
    ([""], 2, "empty"),
    (["(" * 500 + "x" + ")" * 500, "--at", "x=1"], 2, "deep"),
    (["x+" * 20000 + "x", "--at", "x=1"], 2, "limit"),
    (["x*y", "--at", "x=1"], 2, "needs a value for y"),
    (["x*y"], 2, "needs a value"),
    (["x", "--at", "x=nan"], 2, "finite"),
    (["x", "--at", "x=inf"], 2, "finite"),
    (["x", "--at", "x=-inf"], 2, "finite"),
    (["x", "--at", "x=1e999"], 2, "finite"),
    (["x", "--at", "x=abc"], 2, "not a number"),
    (["x", "--at", "x"], 2, "NAME=NUMBER"),
    (["x", "--at", "=1"], 2, "--at"),
    (["x", "--at", "x=1,x=2"], 2, "twice"),
    (["x", "--at", "tanh=1"], 2, "function name"),
    (["x", "--at", "x=1", "--top", "0"], 2, "--top"),
    (["x", "--at", "x=1", "--top", "-3"], 2, "--top"),
    (["x", "--at", "x=1", "--top", "many"], 2, "--top"),
    (["x", "--at", "x=1", "--max-inputs", "0"], 2, "--max-inputs"),
    (["x", "--at", "x=1", "--highlight", "q"], 2, "--highlight"),
    (["x", "--at", "x=1", "--color", "pink"], 2, "invalid choice"),
    (["x", "--at", "x=1", "-o", "g.pdf"], 2, "format"),
    (["x", "--at", "x=1", "-o", "folder"], 2, "format"),
    (["x", "--at", "x=1", "-o", "file.txt/g.dot"], 1, "file.txt/g.dot"),
    (["x", "--at", "x=1", "-o", "file.txt/sub/g.dot"], 1, "file.txt/sub/g.dot"),
    (["x", "--at", "x=1", "-o", "nodir/g.dot"], 1, "nodir/g.dot"),
    (["x", "--at", "x=1", "-o", "folder/"], 2, "format"),
]


@pytest.mark.parametrize("argv,code,needle", GRAPH, ids=[" ".join(a)[:60] for a, _, _ in GRAPH])
def test_graph_errors(ws, capsys, argv, code, needle):
    if not any(a.startswith("-o") for a in argv):
        argv = [*argv, "-o", "g.dot"]
    assert main(["graph", *argv]) == code
    err = capsys.readouterr().err
    _one_line_error(err, needle, "graph")
    assert err.count("cannot write") == (code == 1)  # said once, not once per layer
    assert not [n for n in os.listdir(ws) if n.endswith(".tmp")]


@pytest.mark.parametrize("argv,code", [
    ([], 2), (["frobnicate"], 2), (["--frobnicate"], 2), (["--version", "extra"], 0),
])
def test_top_level_errors(capsys, argv, code):
    assert main(argv) == code
    err = capsys.readouterr().err
    if code:
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# -- what works next to the errors ----------------------------------------------------

def test_predict_prints_scores_and_classes(ws, capsys):
    model = MLP(2, [3, 1], seed=0)
    assert main(["predict", "--model", "model.json", "0.5,-1.0", "-0.3,0.9", "1e308,1e308"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for line, pt in zip(lines, ([0.5, -1.0], [-0.3, 0.9])):  # a point starting with '-' is a point
        score = model.predict([pt])[0]
        assert line.split()[2] == f"{score:.6g}" and line.endswith(f"class {int(score > 0)}")
    assert main(["predict", "--model", "model.json", "--json", "0.5,-1.0"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec == {"point": [0.5, -1.0], "output": model.predict([[0.5, -1.0]])[0],
                   "class": int(model.predict([[0.5, -1.0]])[0] > 0)}


def test_predict_multiclass_and_allow_nonfinite(ws, capsys):
    save_model(MLP(2, [4, 3], seed=1), ws / "three.json")
    assert main(["predict", "--model", "three.json", "0,0"]) == 0
    assert "scores" in capsys.readouterr().out
    assert main(["predict", "--model", "nan.json", "--allow-nonfinite", "--json", "1,2"]) == 0
    out, err = capsys.readouterr()
    rec = json.loads(out)
    assert rec["output"] is None  # nan: JSON null, never the invalid NaN
    assert rec["class"] is None and "1 prediction(s) have nan scores" in err  # not class 0 picked from nan
    assert main(["predict", "--model", "nan.json", "--allow-nonfinite", "1,2"]) == 0
    assert capsys.readouterr().out.rstrip().endswith("class ?")


def test_predict_help_explains():
    r = subprocess.run([str(SCRIPT), "predict", "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0
    for word in ("--model", "POINT", "--json", "class", "example"):
        assert word in r.stdout


# -- --debug shows the traceback the one-line message hides ------------------------------

@pytest.mark.parametrize("argv,exc", [
    (["predict", "--model", "truncated.json", "1,2"], ValueError),
    (["predict", "--model", "missing.json", "1,2"], OSError),
    (["predict", "--model", "model.json", "1,2,3"], ValueError),
    (["graph", "x*y", "--at", "x=1", "-o", "g.dot"], ValueError),
    (["graph", "x", "--at", "x=1", "-o", "file.txt/g.dot"], OSError),
    (["train", *FAST, "--out", "file.txt/sub"], Exception),
])
def test_debug_raises_in_process(ws, argv, exc):
    with pytest.raises(exc):
        main([*argv, "--debug"])


# -- the installed console script, in a subprocess --------------------------------------

def _script(*args, cwd):
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, cwd=cwd, timeout=60)


@pytest.mark.parametrize("args,code,needle", [
    (["predict", "--model", "truncated.json", "1,2"], 1, "truncated"),
    (["predict", "--model", "model.json", "nan,1"], 2, "not a finite number"),
    (["graph", "__import__('os').system('touch pwned')"], 2, "unsupported syntax"),
    (["train", *FAST, "--out", "file.txt/sub"], 1, "cannot create output folder"),
])
def test_console_script_errors(ws, args, code, needle):
    r = _script(*args, cwd=ws)
    assert r.returncode == code, r.stderr
    _one_line_error(r.stderr, needle, args[0])
    assert not (ws / "pwned").exists()
    d = _script(*args, "--debug", cwd=ws)
    assert d.returncode != 0
    if code == 1 or args[0] == "graph":  # runtime failures and bad values raise: --debug shows where
        assert "Traceback (most recent call last)" in d.stderr


def test_console_script_predict_works(ws):
    r = _script("predict", "--model", "model.json", "0.5,-1.0", cwd=ws)
    assert r.returncode == 0 and r.stderr == "" and "class" in r.stdout
