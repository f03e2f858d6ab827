"""`chainrule train --csv / --dataset <real>` and `chainrule predict --csv` end to end (issue 16).

Every data set through the CLI in a temp folder, the CSV round trip (train -> predict file -> the same
as nn's own predictions), standardisation applied exactly once, and each bad input of the issue:
one line, exit 2 for bad arguments or data, exit 1 for missing/unreadable files, nothing written.
"""
import csv
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from nn import MLP, TabularModel, load_model, save_model
from nn.cli import main

SCRIPT = Path(sys.executable).with_name("chainrule")
FAST = ["--epochs", "3", "--no-plots", "--quiet"]


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(err, needle):
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]
    assert "Traceback" not in err


def _write(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def data(tmp_path, monkeypatch):
    """A classification CSV (text classes), a regression CSV, in a work folder."""
    monkeypatch.chdir(tmp_path)
    rng = random.Random(0)
    rows = []
    for _ in range(120):
        a, b, c = rng.gauss(0, 1), rng.gauss(5, 2), rng.gauss(-3, 0.5)
        kind = "big" if a + 0.3 * b > 1.5 else ("mid" if a > -0.5 else "small")
        rows.append([round(a, 4), round(b, 4), round(c, 4), kind])
    _write(tmp_path / "cls.csv", ["alpha", "beta", "gamma", "kind"], rows)
    reg = [[r[0], r[1], r[2], round(3 * r[0] - r[1] + 0.5 * r[2] * r[2] + 100 + rng.gauss(0, 0.1), 4)]
           for r in rows]
    _write(tmp_path / "reg.csv", ["alpha", "beta", "gamma", "price"], reg)
    return tmp_path


def test_classification_csv_end_to_end(data, capsys):
    code, out, err = _run(["train", "--csv", "cls.csv", "--target", "kind", "--epochs", "30", "--out", "run"], capsys)
    assert code == 0, err
    assert "classification (the target holds text)" in out and "chose: MLP 3 -> 32 -> 3" in out
    files = set(os.listdir(data / "run"))
    assert {"model.json", "metrics.json", "loss.png", "confusion.png", "graph.svg"} <= files
    assert "boundary.png" not in files and "pred_vs_actual.png" not in files  # 3 features: no boundary
    m = json.loads((data / "run" / "metrics.json").read_text())
    f = m["final"]
    assert f["test_accuracy"] >= 0.8 and set(f["per_class_accuracy"]) == {"big", "mid", "small"}
    assert len(f["confusion_matrix"]) == 3 and sum(map(sum, f["confusion_matrix"])) == 24
    assert m["config"]["features"] == ["alpha", "beta", "gamma"] and m["config"]["classes"] == ["big", "mid", "small"]


def test_regression_csv_end_to_end(data, capsys):
    code, out, err = _run(["train", "--csv", "reg.csv", "--target", "price", "--out", "run"], capsys)
    assert code == 0, err
    assert "regression (the target has non-integer numbers)" in out
    files = set(os.listdir(data / "run"))
    assert {"model.json", "metrics.json", "loss.png", "pred_vs_actual.png", "graph.svg"} <= files
    assert "confusion.png" not in files
    f = json.loads((data / "run" / "metrics.json").read_text())["final"]
    assert f["test_r2"] > 0.8 and f["test_rmse"] > 0 and f["test_mae"] > 0
    assert "test_accuracy" not in f


def test_two_features_draw_a_boundary_and_test_fraction_0(data, capsys):
    code, _, err = _run(["train", "--csv", "cls.csv", "--target", "kind", "--features", "alpha,beta",
                         "--test-fraction", "0", "--epochs", "3", "--quiet", "--out", "run"], capsys)
    assert code == 0, err
    assert "boundary.png" in os.listdir(data / "run")
    f = json.loads((data / "run" / "metrics.json").read_text())["final"]
    assert "test_accuracy" not in f and f["confusion_matrix_of"] == "train"


def test_csv_round_trip_matches_nn_predictions(data, capsys):
    assert _run(["train", "--csv", "cls.csv", "--target", "kind", *FAST, "--out", "run"], capsys)[0] == 0
    code, out, err = _run(["predict", "--model", "run/model.json", "--csv", "cls.csv", "-o", "pred.csv"], capsys)
    assert code == 0, err
    model = load_model(data / "run" / "model.json")
    rows = list(csv.reader(open(data / "cls.csv")))[1:]
    X = [[float(v) for v in r[:3]] for r in rows]
    got = list(csv.DictReader(open(data / "pred.csv")))
    assert len(got) == len(rows)
    assert [g["prediction"] for g in got] == model.predict_labels(X)
    probs = model.predict_proba(X)
    for g, p in zip(got, probs):
        assert [float(g[f"prob_{c}"]) for c in model.classes] == p  # exact: repr round-trips
        assert abs(sum(p) - 1.0) < 1e-12


def test_regression_round_trip_and_stdout(data, capsys):
    assert _run(["train", "--csv", "reg.csv", "--target", "price", *FAST, "--out", "run"], capsys)[0] == 0
    code, out, err = _run(["predict", "--model", "run/model.json", "--csv", "reg.csv"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 121
    model = load_model(data / "run" / "model.json")
    X = [[float(v) for v in r[:3]] for r in list(csv.reader(open(data / "reg.csv")))[1:]]
    assert [float(v) for v in lines[1:]] == model.predict(X)


def test_standardisation_is_applied_exactly_once(tmp_path, capsys):
    # a model whose answer is the standardised first feature itself: raw 10 with mean 4, std 2 -> 3
    net = MLP(1, [1], seed=0)
    net.load_state_dict({"0.weight": [[1.0]], "0.bias": [0.0]})
    model = TabularModel(net, ["x"], task="regression", mean=[4.0], std=[2.0], target_mean=0.0, target_std=1.0)
    save_model(model, tmp_path / "m.json")
    _write(tmp_path / "in.csv", ["x"], [[10.0], [4.0]])
    code, out, err = _run(["predict", "--model", tmp_path / "m.json", "--csv", tmp_path / "in.csv"], capsys)
    assert code == 0, err
    assert out.splitlines()[1:] == ["3.0", "0.0"]  # twice would give 0.5 and -2.0
    assert load_model(tmp_path / "m.json").predict([[10.0]]) == [3.0]


def test_predict_streams_in_chunks(data, capsys, monkeypatch):
    import nn.cli_predict
    assert _run(["train", "--csv", "cls.csv", "--target", "kind", *FAST, "--out", "run"], capsys)[0] == 0
    monkeypatch.setattr(nn.cli_predict, "CHUNK", 7)
    calls = []
    real = TabularModel.predict
    monkeypatch.setattr(TabularModel, "predict", lambda self, rows: calls.append(len(rows)) or real(self, rows))
    code, out, err = _run(["predict", "--model", "run/model.json", "--csv", "cls.csv"], capsys)
    assert code == 0, err
    assert max(calls) == 7 and sum(calls) == 120  # never the whole file at once


def test_points_on_a_table_model_print_class_names(data, capsys):
    assert _run(["train", "--csv", "cls.csv", "--target", "kind", *FAST, "--out", "run"], capsys)[0] == 0
    code, out, err = _run(["predict", "--model", "run/model.json", "--json", "0,5,-3"], capsys)
    assert code == 0, err
    row = json.loads(out)
    assert row["class"] in ("big", "mid", "small") and set(row["probabilities"]) == {"big", "mid", "small"}


def test_old_model_file_without_standardisation_loads_and_says_so(tmp_path, capsys):
    save_model(MLP(2, [3, 1], seed=0), tmp_path / "old.json")
    _write(tmp_path / "pts.csv", ["a", "b"], [[0.5, 1.0], [-1.0, 2.0]])
    code, out, err = _run(["predict", "--model", tmp_path / "old.json", "--csv", tmp_path / "pts.csv"], capsys)
    assert code == 0
    assert "no feature names or standardisation block" in err
    assert out.splitlines()[0] == "prediction" and len(out.splitlines()) == 3


# -- the bad inputs of the issue, through the CLI --------------------------------------------------------

BAD_TRAIN = {
    "missing target column": ("a,b\n1,2\n", ["--target", "y"], 2, "no column 'y' for the target; the columns are: a, b"),
    "ragged row": ("a,y\n1,0\n1\n", ["--target", "y"], 2, "line 3: expected 2 fields (as in the header), got 1"),
    "non-numeric feature": ("a,y\n1,0\nx1,1\n", ["--target", "y"], 2, "line 3, column 'a': 'x1' is not a number"),
    "empty file": ("", ["--target", "y"], 2, "the file is empty"),
    "header only": ("a,y\n", ["--target", "y"], 2, "header but no data rows"),
    "single class": ("a,y\n1,c\n2,c\n", ["--target", "y"], 2, "single class 'c'"),
    "nan cell": ("a,y\n1,0\nNaN,1\n", ["--target", "y"], 2, "line 3, column 'a': 'NaN' is not a finite number"),
    "inf cell": ("a,y\ninf,0\n2,1\n", ["--target", "y"], 2, "line 2, column 'a': 'inf' is not a finite number"),
    "duplicate columns": ("a,a,y\n1,2,0\n", ["--target", "y"], 2, "duplicate column name 'a'"),
    "unknown --features": ("a,b,y\n1,2,0\n", ["--target", "y", "--features", "a,zz"], 2,
                           "unknown feature column(s) 'zz'; the columns are: a, b, y"),
    "target also a feature": ("a,b,y\n1,2,0\n", ["--target", "y", "--features", "a,y"], 2,
                              "'y' is the target; it cannot also be a feature"),
    "no --target": ("a,y\n1,0\n", [], 2, "--csv needs --target COLUMN"),
    "toy option on a table": ("a,y\n1,0\n2,1\n", ["--target", "y", "--samples", "10"], 2,
                              "--samples applies to the generated 2-D data sets"),
    "regression loss for classes": ("a,y\n1,c\n2,d\n", ["--target", "y", "--loss", "huber"], 2,
                                    "--loss huber does not fit classification with 2 classes"),
}


@pytest.mark.parametrize("name", sorted(BAD_TRAIN))
def test_bad_training_tables(tmp_path, capsys, name):
    text, extra, code, needle = BAD_TRAIN[name]
    (tmp_path / "bad.csv").write_text(text)
    out_dir = tmp_path / "out"
    got, out, err = _run(["train", "--csv", tmp_path / "bad.csv", *extra, "--out", out_dir, *FAST], capsys)
    assert got == code
    _one_line(err, needle)
    assert not out_dir.exists()  # nothing written


def test_non_utf8_file(tmp_path, capsys):
    (tmp_path / "bad.csv").write_bytes("a,y\n1,caf\xe9\n".encode("latin-1"))
    code, _, err = _run(["train", "--csv", tmp_path / "bad.csv", "--target", "y", "--out", tmp_path / "o"], capsys)
    assert code == 2
    _one_line(err, "not UTF-8 text at line 2")


@pytest.mark.parametrize("what,code,needle", [
    ("missing", 1, "No such file or directory"),
    ("folder", 1, "is a folder"),
])
def test_missing_or_folder_csv_is_exit_1(tmp_path, capsys, what, code, needle):
    path = tmp_path / "nope.csv" if what == "missing" else tmp_path
    got, _, err = _run(["train", "--csv", path, "--target", "y", "--out", tmp_path / "o"], capsys)
    assert got == code
    _one_line(err, needle)


def test_csv_and_dataset_together_and_stdin(tmp_path, capsys):
    code, _, err = _run(["train", "--csv", "x.csv", "--dataset", "iris"], capsys)
    assert code == 2
    _one_line(err, "either --csv FILE or --dataset NAME")
    code, _, err = _run(["train", "--dataset", "iris.csv"], capsys)
    assert code == 2
    _one_line(err, "looks like a file; to train on your own CSV use --csv iris.csv --target COLUMN")
    (tmp_path / "iris.csv").write_text("a,y\n1,0\n")
    with open(tmp_path / "iris.csv") as stdin:
        proc = subprocess.run([str(SCRIPT), "train", "--out", str(tmp_path / "o")], stdin=stdin,
                              capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "reads no data from standard input" in proc.stderr


@pytest.fixture
def trained(data, capsys):
    assert _run(["train", "--csv", "cls.csv", "--target", "kind", *FAST, "--out", "run"], capsys)[0] == 0
    assert _run(["train", "--csv", "reg.csv", "--target", "price", *FAST, "--out", "runr"], capsys)[0] == 0
    return data


@pytest.mark.parametrize("name,model,text,code,needle", [
    ("missing feature columns", "run", "alpha,kind\n1,big\n", 2, "missing feature column(s) 'beta', 'gamma'"),
    ("class model on a regression file", "run", "alpha,beta,gamma,kind\n1,2,3,104.5\n", 2,
     "line 2, column 'kind': '104.5' is not one of the model's classes (big, mid, small)"),
    ("regression model on a class file", "runr", "alpha,beta,gamma,price\n1,2,3,cheap\n", 2,
     "'cheap' is not a number, but this is a regression model"),
    ("non-numeric cell", "run", "alpha,beta,gamma\n1,2,x\n", 2, "line 2, column 'gamma': 'x' is not a number"),
    ("ragged row", "run", "alpha,beta,gamma\n1,2,3\n1,2\n", 2, "line 3: expected 3 fields"),
    ("empty file", "run", "", 2, "the file is empty"),
    ("header only", "run", "alpha,beta,gamma\n", 2, "a header with no rows: nothing to predict"),
])
def test_bad_prediction_files(trained, capsys, name, model, text, code, needle):
    (trained / "new.csv").write_text(text)
    got, out, err = _run(["predict", "--model", f"{model}/model.json", "--csv", "new.csv", "-o", "out.csv"], capsys)
    assert got == code
    _one_line(err, needle)
    assert not (trained / "out.csv").exists()  # nothing written


def test_predict_header_only_to_stdout_prints_nothing(trained, capsys):
    (trained / "empty.csv").write_text("alpha,beta,gamma\n")
    code, out, err = _run(["predict", "--model", "run/model.json", "--csv", "empty.csv"], capsys)
    assert code == 2 and out == "" and "a header with no rows" in err


def test_predict_csv_argument_errors(trained, capsys):
    for argv, needle in [(["--csv", "cls.csv", "1,2,3"], "either POINTs or --csv"),
                         (["--csv", "cls.csv", "--json"], "--json applies to POINTs"),
                         (["-o", "x.csv", "1,2,3"], "-o applies to --csv"),
                         (["--csv", "cls.csv", "-o", "."], "is a folder")]:
        code, _, err = _run(["predict", "--model", "run/model.json", *argv], capsys)
        assert code == 2
        _one_line(err, needle)
    code, _, err = _run(["predict", "--model", "run/model.json", "--csv", "missing.csv"], capsys)
    assert code == 1
    _one_line(err, "No such file or directory")


def test_a_target_column_in_the_prediction_file_is_ignored(trained, capsys):
    code, out, err = _run(["predict", "--model", "run/model.json", "--csv", "cls.csv"], capsys)
    assert code == 0, err
    assert len(out.splitlines()) == 121


# -- the real data sets scikit-learn ships -------------------------------------------------------------

@pytest.mark.parametrize("name,metric", [("iris", "test_accuracy"), ("wine", "test_accuracy"),
                                         ("breast_cancer", "test_accuracy"), ("digits", "test_accuracy"),
                                         ("diabetes", "test_r2")])
def test_every_real_data_set(tmp_path, capsys, name, metric):
    pytest.importorskip("sklearn")
    code, out, err = _run(["train", "--dataset", name, "--epochs", "2", "--no-plots", "--out", tmp_path], capsys)
    assert code == 0, err
    f = json.loads((tmp_path / "metrics.json").read_text())["final"]
    assert metric in f and (f[metric] is None or math.isfinite(f[metric]))
    if metric == "test_r2":
        assert f["test_rmse"] > 0
    model = load_model(tmp_path / "model.json")
    assert isinstance(model, TabularModel) and len(model.features) > 2


def test_missing_datasets_extra_is_one_line_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn -> ImportError
    code, _, err = _run(["train", "--dataset", "iris", "--out", tmp_path / "o"], capsys)
    assert code == 2
    _one_line(err, "pip install 'chainrule[datasets]'")
    assert not (tmp_path / "o").exists()


def test_real_data_set_options(tmp_path, capsys):
    pytest.importorskip("sklearn")
    code, _, err = _run(["train", "--dataset", "iris", "--target", "x"], capsys)
    assert code == 2
    _one_line(err, "--target applies to --csv")
    code, _, err = _run(["train", "--dataset", "iris", "--task", "regression"], capsys)
    assert code == 2
    _one_line(err, "iris is a classification data set")
    code, out, err = _run(["train", "--dataset", "iris", "--features", "petal length (cm),petal width (cm)",
                           *FAST, "--out", tmp_path], capsys)
    assert code == 0, err
    assert load_model(tmp_path / "model.json").features == ["petal length (cm)", "petal width (cm)"]


def test_readme_example_from_file_to_predictions(tmp_path, capsys):
    """README "Your own data": the two commands, on the example files in the repository."""
    examples = Path(__file__).resolve().parent.parent / "examples"
    code, out, err = _run(["train", "--csv", examples / "fruit.csv", "--target", "fruit", "--out", tmp_path / "fruit",
                           "--no-plots"], capsys)
    assert code == 0, err
    assert "classification (the target holds text), 4 classes" in out and "test accuracy" in out
    code, out, err = _run(["predict", "--model", tmp_path / "fruit" / "model.json", "--csv", examples / "fruit_new.csv",
                           "-o", tmp_path / "fruit" / "predictions.csv"], capsys)
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "fruit" / "predictions.csv")))
    assert len(rows) == 12 and {r["prediction"] for r in rows} <= {"apple", "lemon", "lime", "orange"}
    assert list(rows[0]) == ["prediction", "prob_apple", "prob_lemon", "prob_lime", "prob_orange"]
