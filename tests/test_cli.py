"""`chainrule` console script: train end to end, --help, exit codes, one-line errors."""
import json
import os
import subprocess
import sys

import pytest

from nn.cli import main
from nn.io import ModelFileError, load_model

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SCRIPT = os.path.join(os.path.dirname(sys.executable), "chainrule")
FAST = ["--samples", "24", "--val-samples", "8", "--epochs", "3", "--hidden", "4"]


def _run(*args, cwd=None):
    cmd = [SCRIPT] if os.path.exists(SCRIPT) else [sys.executable, "-m", "nn.cli"]
    return subprocess.run(cmd + list(args), capture_output=True, text=True, cwd=cwd, timeout=120)


def test_train_end_to_end_via_console_script(tmp_path):
    out = tmp_path / "runs" / "moons"
    r = _run("train", "--dataset", "moons", *FAST, "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "epoch 3/3" in r.stdout and "final (after training): train accuracy" in r.stdout and "validation accuracy" in r.stdout
    assert "Traceback" not in r.stderr
    for png in ("loss.png", "boundary.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 1000
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 3 and metrics["config"]["dataset"] == "moons"
    assert 0.0 <= metrics["final"]["train_accuracy"] <= 1.0
    model = load_model(out / "model.json")
    assert model.nouts == [4, 1]
    # graph.svg is drawn by engine.draw when a renderer is available; otherwise a one-line warning
    if (out / "graph.svg").exists():
        assert b"<svg" in (out / "graph.svg").read_bytes()[:2000]
    else:
        assert "warning: could not draw graph.svg" in r.stderr


@pytest.mark.parametrize("dataset", ["spirals", "blobs", "circles", "xor"])
def test_train_every_dataset(tmp_path, dataset, capsys):
    out = tmp_path / dataset
    assert main(["train", "--dataset", dataset, *FAST, "--out", str(out), "--no-plots"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["classes"] == (3 if dataset in ("spirals", "blobs") else 2)
    assert not (out / "loss.png").exists()
    assert "final (after training): train accuracy" in capsys.readouterr().out


def test_saved_model_reproduces_reported_accuracy(tmp_path, capsys):
    from nn.data import load_dataset, train_val_split
    from nn.train import evaluate
    out = tmp_path / "m"
    assert main(["train", *FAST, "--epochs", "5", "--out", str(out), "--no-plots", "--quiet"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    X, y, _ = load_dataset("moons", 32, seed=0)
    Xt, yt, _, _ = train_val_split(X, y, 8 / 32, seed=0)
    assert evaluate(load_model(out / "model.json"), Xt, yt) == metrics["final"]["train_accuracy"]
    assert capsys.readouterr().out.startswith("final (after training):")  # --quiet: only the summary


def test_help_on_every_subcommand(capsys):
    for argv in (["--help"], ["train", "--help"], ["graph", "--help"]):
        assert main(argv) == 0
        text = capsys.readouterr().out
        assert "usage:" in text
    assert main(["train", "--help"]) == 0
    text = capsys.readouterr().out
    for opt in ("--dataset", "--epochs", "--out", "--lr", "--optimizer", "--schedule", "--hidden", "default"):
        assert opt in text


@pytest.mark.parametrize("argv,needle", [
    (["train", "--epochs", "0"], "--epochs"),
    (["train", "--epochs", "ten"], "--epochs"),
    (["train", "--dataset", "mnist"], "unknown data set 'mnist'"),
    (["train", "--lr", "-1"], "--lr"),
    (["train", "--lr", "nan"], "--lr"),
    (["train", "--hidden", "16,x"], "--hidden"),
    (["train", "--dropout", "1"], "--dropout"),
    (["train", "--no-such-flag"], "unrecognized"),
    (["train", "--dataset", "spirals", "--loss", "hinge", "--epochs", "1"], "does not fit"),
    (["train", "--optimizer", "adam", "--momentum", "0.9", "--epochs", "1"], "--momentum"),
    ([], "subcommand"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_values_exit_2_with_one_line(argv, needle, capsys, tmp_path):
    assert main(argv + (["--out", str(tmp_path / "o")] if argv[:1] == ["train"] else [])) == 2
    err = capsys.readouterr().err
    assert needle in err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err


def test_bad_value_via_script_exit_code_and_no_traceback(tmp_path):
    r = _run("train", "--epochs", "-3", "--out", str(tmp_path / "x"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_unwritable_output_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["train", *FAST, "--out", str(blocker / "sub")]) == 1
    err = capsys.readouterr().err
    assert "cannot create output folder" in err and len(err.strip().splitlines()) == 1


def test_debug_shows_traceback(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    r = _run("train", *FAST, "--out", str(blocker / "sub"), "--debug")
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_corrupted_model_file_error_is_documented(tmp_path):
    out = tmp_path / "m"
    assert main(["train", *FAST, "--out", str(out), "--no-plots", "--quiet"]) == 0
    path = out / "model.json"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match="truncated"):
        load_model(path)
    doc = json.loads(data)
    doc["state"]["0.weight"][0][1] = "oops"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"'0.weight'\[0\]\[1\] must be a number, got str 'oops'"):
        load_model(path)


def test_graph_subcommand_is_dispatched_with_the_same_error_handling(tmp_path, capsys):
    # the subcommand itself belongs to nn/cli_graph.py; here: cli.py's dispatch and exit codes
    assert main(["graph", "tanh(x*", "--at", "x=2", "-o", str(tmp_path / "g.dot")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("chainrule graph: error:") and len(err.strip().splitlines()) == 1
    assert main(["graph", "x*w", "--at", "x=2,w=3", "-o", str(tmp_path / "g.dot")]) == 0
    assert "digraph" in (tmp_path / "g.dot").read_text()
    assert main(["graph", "x*w", "--at", "x=2,w=3", "-o", str(tmp_path / "missing" / "dir" / "g.dot")]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_failed_graph_renderer_only_warns(tmp_path, capsys, monkeypatch):
    import engine.draw

    def broken(*a, **k):
        raise RuntimeError("no renderer here")
    monkeypatch.setattr(engine.draw, "render_to_file", broken)
    out = tmp_path / "r"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "warning: could not draw graph.svg (RuntimeError: no renderer here)" in err
    assert len(err.strip().splitlines()) == 1
    assert (out / "boundary.png").exists() and not (out / "graph.svg").exists()


def test_graph_svg_shows_one_neuron(tmp_path, capsys):
    pytest.importorskip("graphviz")
    out = tmp_path / "g"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    if not (out / "graph.svg").exists():
        pytest.skip("no Graphviz renderer available: " + capsys.readouterr().err.strip())
    svg = (out / "graph.svg").read_text()
    for label in ("w0", "w1", "x0", "x1", "dot", "relu"):
        assert f">{label}<" in svg or label in svg
    assert svg.count("<g id=\"node") <= 12  # small enough to read
