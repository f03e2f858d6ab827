"""Fixes from the newcomer review of the `chainrule` command line: preset losses vs --classes,
--classes on 2-class datasets, --out on a file, graph -o .pdf, expressions starting with '-',
the final summary line and metrics.json's batch_size."""
import json

import pytest

from nn.cli import main
from nn.io import load_model

FAST = ["--samples", "12", "--val-samples", "0", "--epochs", "2", "--hidden", "3", "--no-plots"]


def _err_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("dataset", ["blobs", "spirals"])
def test_two_class_multiclass_dataset_falls_back_from_the_preset_loss(tmp_path, capsys, dataset):
    out = tmp_path / dataset
    assert main(["train", "--dataset", dataset, "--classes", "2", *FAST, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "2 classes" in text and "hinge loss" in text
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["classes"] == 2 and metrics["config"]["loss"] == "hinge"
    assert load_model(out / "model.json").nouts == [3, 1]


def test_explicit_loss_that_does_not_fit_still_errors(tmp_path, capsys):
    argv = ["train", "--dataset", "blobs", "--classes", "2", "--loss", "cross_entropy", *FAST,
            "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "--loss cross_entropy does not fit blobs (2 classes)" in _err_line(capsys)


@pytest.mark.parametrize("dataset", ["moons", "circles", "xor"])
def test_classes_on_a_two_class_dataset_is_a_usage_error(tmp_path, capsys, dataset):
    assert main(["train", "--dataset", dataset, "--classes", "3", *FAST, "--out", str(tmp_path / "o")]) == 2
    line = _err_line(capsys)
    assert f"--classes applies to --dataset spirals or blobs only; {dataset} always has 2 classes" in line
    assert not (tmp_path / "o").exists()
    # saying what the dataset is anyway is harmless
    assert main(["train", "--dataset", dataset, "--classes", "2", *FAST, "--quiet", "--out", str(tmp_path / "p")]) == 0


def test_out_is_an_existing_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.json").write_text("{}")
    assert main(["train", *FAST, "--out", "m.json"]) == 2
    assert _err_line(capsys) == "chainrule train: error: --out: 'm.json' is a file; --out takes a folder"
    assert (tmp_path / "m.json").read_text() == "{}"


def test_final_line_and_metrics_batch_size(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    final = [ln for ln in text.splitlines() if ln.startswith("final")]
    assert len(final) == 1
    assert final[0].startswith("final (after training): train accuracy ")
    assert "; last epoch loss " in final[0] and "(mean over the epoch, before each step)" in final[0]
    cfg = json.loads((out / "metrics.json").read_text())["config"]
    assert cfg["batch_size"] == 0  # as --help says: 0 = the whole training set
    assert main(["train", *FAST, "--batch-size", "4", "--quiet", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["config"]["batch_size"] == 4


@pytest.mark.parametrize("name", ["a.pdf", "a.PDF"])
def test_graph_pdf_output(tmp_path, capsys, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "x*2", "--at", "x=1", "-o", name]) == 2
    line = _err_line(capsys)
    assert line.startswith(f"chainrule graph: error: -o: {name!r}")
    assert "system Graphviz (`dot`)" in line and ".svg .png .dot" in line
    assert list(tmp_path.iterdir()) == []


def test_graph_unknown_suffix(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "x*2", "--at", "x=1", "-o", "a.txt"]) == 2
    line = _err_line(capsys)
    assert line.startswith("chainrule graph: error: -o: 'a.txt'") and ".svg .png .dot" in line


@pytest.mark.parametrize("argv", [
    ["graph", "-x", "--at", "x=-1"],
    ["graph", "--at", "x=-1", "-x*2"],
    ["graph", "-x + 1", "--at", "x=-1"],
    ["graph", "-o", "g.dot", "--at", "x=-1", "--", "-x"],
])
def test_graph_expression_starting_with_minus(tmp_path, capsys, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)
    if "-o" not in argv:
        argv = [*argv, "-o", "g.dot"]
    assert main(argv) == 0, capsys.readouterr().err
    assert "df/dx = " in capsys.readouterr().out
    assert (tmp_path / "g.dot").read_text().startswith("digraph")


def test_graph_expression_colliding_with_an_option_hints_double_dash(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["graph", "-h*x", "--at", "h=1,x=2", "-o", "g.dot"]) == 2
    line = _err_line(capsys)
    assert "an EXPR that starts with '-' can go after --" in line
    assert main(["graph", "--at", "h=1,x=2", "-o", "g.dot", "--", "-h*x"]) == 0
    assert "df/dx = -1" in capsys.readouterr().out
