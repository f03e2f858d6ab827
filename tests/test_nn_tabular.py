"""nn.TabularModel, fit(task="regression"), metrics, and fit's progress in scripts and notebooks (issue 16)."""
import io
import math
import sys
import types

import pytest

from nn import MLP, ModelFileError, TabularModel, fit, load_model, save_model
from nn.metrics import (
    class_or_none, confusion_matrix, mean_absolute_error, per_class_accuracy, probabilities, r2_score, root_mean_squared_error,
)
from nn.train import in_notebook, progress_enabled

X = [[150.0 + i, float(i % 2)] for i in range(40)]
Y_CLS = [0 if x[0] < 170 else 1 for x in X]
Y_REG = [2.0 * x[0] - 30.0 * x[1] + 5.0 for x in X]


def test_scaling_is_fitted_on_the_rows_given():
    m = TabularModel(MLP(2, [4, 2], seed=0), ["h", "f"], classes=["a", "b"]).fit_scaling(X)
    assert m.mean == [169.5, 0.5] and m.std[1] == 0.5
    assert m.standardize([169.5, 0.5]) == [0.0, 0.0]


def test_classifier_trains_on_raw_rows_and_round_trips(tmp_path):
    m = TabularModel(MLP(2, [8, 2], "tanh", seed=0), ["h", "f"], classes=["short", "tall"]).fit_scaling(X)
    fit(m, X, Y_CLS, epochs=40, progress=False)
    assert m.predict_labels([[152.0, 0.0], [188.0, 1.0]]) == ["short", "tall"]
    save_model(m, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert type(back) is TabularModel and back.classes == ["short", "tall"] and back.features == ["h", "f"]
    assert back.predict(X) == m.predict(X) and back.mean == m.mean and back.std == m.std


def test_regression_predicts_in_target_units():
    m = TabularModel(MLP(2, [8, 1], "tanh", seed=0), ["h", "f"], task="regression", target="y").fit_scaling(X, Y_REG)
    assert m.target_mean == [sum(Y_REG) / len(Y_REG)]
    h = fit(m, X, Y_REG, epochs=150, task="regression", batch_size=8, progress=False)
    assert h["loss"][-1] < h["loss"][0] / 20
    assert r2_score(Y_REG, m.predict_labels(X)) > 0.95


def test_binary_one_output_probabilities():
    m = TabularModel(MLP(2, [4, 1], seed=0), ["h", "f"], classes=["no", "yes"])
    (p0, p1), = m.predict_proba([[0.0, 0.0]])
    assert abs(p0 + p1 - 1.0) < 1e-15 and 0 < p1 < 1


@pytest.mark.parametrize("kwargs,exc,needle", [
    (dict(features="ab"), TypeError, "features must be a list of names"),
    (dict(features=["a", "a"]), ValueError, "repeated name"),
    (dict(features=[]), ValueError, "at least one column"),
    (dict(classes=None), ValueError, "needs its class names"),
    (dict(classes=["only"]), ValueError, "2+ classes"),
    (dict(task="ranking"), ValueError, "unknown task 'ranking'"),
    (dict(std=[1.0, 0.0]), ValueError, "std[1] must be > 0"),
    (dict(mean=[1.0]), ValueError, "one number per feature (2)"),
    (dict(task="regression", classes=["a", "b"]), ValueError, "classes apply to classification only"),
])
def test_constructor_errors(kwargs, exc, needle):
    args = dict(features=["a", "b"], classes=["x", "y"])
    args.update(kwargs)
    with pytest.raises(exc) as err:
        TabularModel(MLP(2, [2], seed=0), args.pop("features"), **args)
    assert needle in str(err.value)


def test_predict_checks_width_and_regression_has_no_probabilities():
    m = TabularModel(MLP(2, [1], seed=0), ["a", "b"], task="regression")
    with pytest.raises(ValueError, match=r"TabularModel.predict: X\[0\] has 3 features but the model takes 2"):
        m.predict([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match="no class probabilities"):
        m.predict_proba([[1.0, 2.0]])


def test_damaged_scaling_in_a_file_is_refused(tmp_path):
    import json
    m = TabularModel(MLP(2, [2], seed=0), ["a", "b"], classes=["x", "y"]).fit_scaling(X)
    save_model(m, tmp_path / "m.json")
    doc = json.loads((tmp_path / "m.json").read_text())
    doc["state"]["std"][1] = 0.0
    (tmp_path / "m.json").write_text(json.dumps(doc))
    with pytest.raises(ModelFileError, match=r"'std'\[1\] = 0.0; a standard deviation must be > 0"):
        load_model(tmp_path / "m.json")


# -- fit for regression --------------------------------------------------------------------------------

def test_fit_regression_history_losses_and_errors():
    m = MLP(2, [4, 1], seed=0)
    for loss in ("mse", "l1", "huber"):
        h = fit(m, X[:10], Y_REG[:10], task="regression", loss=loss, epochs=2, X_val=X[10:15], y_val=Y_REG[10:15],
                progress=False)
        assert sorted(h) == ["epoch", "loss", "lr", "val_loss"] and len(h["val_loss"]) == 2
    with pytest.raises(ValueError, match="fit: loss 'hinge' does not fit regression"):
        fit(m, X, Y_REG, task="regression", loss="hinge", progress=False)
    with pytest.raises(ValueError, match="regression needs a model with one output, this one has 3"):
        fit(MLP(2, [3], seed=0), X, Y_REG, task="regression", progress=False)
    with pytest.raises(ValueError, match=r"fit: y\[1\] must be a finite number, got nan"):
        fit(m, X[:2], [1.0, math.nan], task="regression", progress=False)
    with pytest.raises(ValueError, match="fit: unknown task 'clustering'"):
        fit(m, X, Y_REG, task="clustering", progress=False)


def test_restore_best_ends_at_the_best_validation_epoch():
    m = MLP(2, [16, 1], seed=0)
    Xs = [[x[0] / 100, x[1]] for x in X]
    h = fit(m, Xs[:30], Y_REG[:30], task="regression", epochs=30, lr=0.5, X_val=Xs[30:], y_val=Y_REG[30:],
            restore_best=True, progress=False)
    best = min(h["val_loss"])
    final = sum((p - t) ** 2 for p, t in zip(m.predict(Xs[30:]), Y_REG[30:])) / 10
    assert final == pytest.approx(best, rel=1e-12)
    assert best < h["val_loss"][-1]  # the last epoch was not the best, so something was restored


def test_classification_history_has_val_loss():
    h = fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=2, X_val=X[:5], y_val=Y_CLS[:5], progress=False)
    assert sorted(h) == ["accuracy", "epoch", "loss", "lr", "val_accuracy", "val_loss"]
    assert len(h["val_loss"]) == 2 and all(v > 0 for v in h["val_loss"])


def test_float_labels_holding_integers_are_fine():
    h = fit(MLP(2, [4, 1], seed=0), X, [float(t) for t in Y_CLS], epochs=1, progress=False)
    assert len(h["accuracy"]) == 1
    with pytest.raises(TypeError, match=r"y\[0\] must be an int class label, got float 0.5"):
        fit(MLP(2, [4, 1], seed=0), X[:1], [0.5], epochs=1, progress=False)


# -- progress: verbose lines in scripts, tqdm in notebooks ---------------------------------------------------

def test_verbose_prints_every_n_epochs_when_no_bar(capsys):
    fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=10, verbose=4, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["1/10", "4/10", "8/10", "10/10"]
    assert "loss" in lines[0] and "acc" in lines[0]
    fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=3, progress=False)
    assert capsys.readouterr().out == ""  # verbose=0: silent


def test_verbose_accepts_bools(capsys):
    fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=3, verbose=True, progress=False)
    assert len(capsys.readouterr().out.strip().splitlines()) == 3  # True: every epoch
    fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=3, verbose=False, progress=False)
    assert capsys.readouterr().out == ""


def _pretend_notebook(monkeypatch):
    shell = type("ZMQInteractiveShell", (), {})()
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: shell
    monkeypatch.setitem(sys.modules, "IPython", fake)


def test_notebook_detection(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    assert not in_notebook()
    _pretend_notebook(monkeypatch)
    assert in_notebook() and progress_enabled(None) and not progress_enabled(False)


def test_notebook_without_ipywidgets_gets_a_text_bar_and_no_iprogress_warning(monkeypatch, recwarn):
    pytest.importorskip("tqdm")
    _pretend_notebook(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # not installed
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    fit(MLP(2, [4, 1], seed=0), X, Y_CLS, epochs=3)
    text = err.getvalue()
    assert "train" in text and "3/3" in text  # tqdm's text bar
    assert "IProgress" not in text and not [w for w in recwarn if "IProgress" in str(w.message)]


# -- metrics ---------------------------------------------------------------------------------------------------

def test_metrics_by_hand():
    assert confusion_matrix([0, 0, 1, 2], [0, 1, 1, 2], 3) == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    assert per_class_accuracy([[1, 1, 0], [0, 1, 0], [0, 0, 0]])[:2] == [0.5, 1.0]
    assert math.isnan(per_class_accuracy([[0, 0], [0, 1]])[0])
    assert root_mean_squared_error([0.0, 0.0], [3.0, 4.0]) == math.sqrt(12.5)
    assert mean_absolute_error([0.0, 0.0], [3.0, -4.0]) == 3.5
    assert r2_score([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]) == 0.0
    assert math.isnan(r2_score([1.0, 1.0], [1.0, 2.0]))
    assert probabilities([1000.0, 0.0]) == [1.0, 0.0]  # no overflow
    assert probabilities(-1000.0)[1] == 0.0
    with pytest.raises(ValueError, match="r2_score: got 2 targets but 1 predictions"):
        r2_score([1.0, 2.0], [1.0])


def test_sklearn_agrees():
    metrics = pytest.importorskip("sklearn.metrics")
    t, p = [3.0, -0.5, 2.0, 7.0], [2.5, 0.0, 2.0, 8.0]
    assert r2_score(t, p) == pytest.approx(metrics.r2_score(t, p), rel=1e-12)
    assert mean_absolute_error(t, p) == pytest.approx(metrics.mean_absolute_error(t, p), rel=1e-12)
    assert confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], 3) == metrics.confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1]).tolist()


def test_export_without_torch_says_how_to_get_it(monkeypatch):
    from nn import from_torch, to_torch
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError, match="pip install torch"):
        to_torch(MLP(2, [1], seed=0))
    with pytest.raises(ImportError, match="pip install torch"):
        from_torch(object())


def test_scaling_survives_huge_finite_values_and_refuses_overflowing_ones():
    """Squares overflow past ~1e154 and x - mean past ~9e307: statistics on a scaled copy, then a clear refusal."""
    m = TabularModel(MLP(1, [1], seed=0), ["a"], task="regression", target="y")
    m.fit_scaling([[1e300], [-1e300], [3e300]], [1e200, -1e200, 0.0])
    assert m.mean[0] == pytest.approx(1e300, rel=1e-15) and m.std[0] == pytest.approx(math.sqrt(8 / 3) * 1e300)
    assert m.target_std[0] == pytest.approx(math.sqrt(2 / 3) * 1e200) and math.isfinite(m([1e300]).data)
    m.fit_scaling([[1.0], [2.0], [4.0]])  # ordinary values: the plain formula, as before
    assert m.mean == [7 / 3] and m.std == [math.sqrt(math.fsum((v - 7 / 3) ** 2 for v in (1.0, 2.0, 4.0)) / 3)]
    with pytest.raises(ValueError, match=r"column 'a' holds 1e\+308, too large to standardise"):
        m.fit_scaling([[1e308], [0.0]])


def test_labels_are_never_picked_from_nan_scores():
    m = TabularModel(MLP(2, [2], seed=0), ["a", "b"], classes=["x", "y"])
    m.net.parameters()[0].data = float("nan")
    with pytest.raises(ValueError, match="row 0 gets scores .* cannot pick a class"):
        m.predict_labels([[1.0, 2.0]])
    assert class_or_none([float("inf"), float("inf")]) is None and class_or_none([1.0, 2.0]) == 1
    assert class_or_none(float("nan")) is None and class_or_none(float("-inf")) == 0


def test_metrics_refuse_or_survive_what_they_used_to_miscount():
    import nn.metrics as M
    from nn import evaluate
    with pytest.raises(ValueError, match="label 1 is 2, not a class in 0..1"):
        M.confusion_matrix([0, 2], [0, 1], 2)  # was a raw IndexError
    with pytest.raises(ValueError, match="label 1 is -1"):
        M.confusion_matrix([0, -1], [0, 0], 2)  # was counted in class 1
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        M.confusion_matrix([0], [0], -1)
    assert M.accuracy([math.nan, 1.0], [0, 1]) == 0.5  # a nan score is no class, not class 0
    assert M.mean_squared_error([0.0], [1e200]) == math.inf  # was a raw OverflowError
    assert math.isnan(M.r2_score([1e200, -1e200], [0.0, 0.0]))
    model = MLP(2, [3, 1], seed=0)
    X = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]]
    assert evaluate(model, X, [-1, 1, 1, -1]) == evaluate(model, X, [0, 1, 1, 0])  # -1/+1 mapped, as fit does


def test_regression_in_large_units_trains_with_sgd():
    """The loss is taken on standardised targets: in raw units (prices ~3e5) SGD's gradients scaled with
    the variance and training diverged at epoch 3."""
    import random
    r = random.Random(0)
    X = [[r.uniform(50, 250), float(r.randint(1, 6))] for _ in range(120)]
    y = [3000 * s + 20000 * k + r.gauss(0, 20000) for s, k in X]
    m = TabularModel(MLP(2, [8, 1], seed=0), ["size", "rooms"], task="regression", target="price").fit_scaling(X, y)
    history = fit(m, X, y, epochs=30, optimizer="sgd", task="regression", progress=False)
    assert all(math.isfinite(v) for v in history["loss"]) and history["loss"][-1] < 0.1  # in std units
    preds = m.predict(X)
    assert r2_score(y, preds) > 0.9


def test_empty_scores_are_named():
    import nn.metrics as M
    for fn in (M.predict_class, M.probabilities):
        with pytest.raises(ValueError, match="empty list of scores"):
            fn([])


def test_metrics_and_batches_take_numpy_arguments():
    np = pytest.importorskip("numpy")
    from nn.data import batches
    from nn.metrics import confusion_matrix
    assert confusion_matrix([0, 1], [1, 1], np.int64(2)) == [[0, 1], [0, 1]]
    got = sorted(x for xb, _ in batches(list(range(7)), list(range(7)), 3, rng=np.random.default_rng(0)) for x in xb)
    assert got == list(range(7))


def test_class_or_none_names_an_empty_score_list():
    import nn.metrics as M
    with pytest.raises(ValueError, match="predict_class: got an empty list of scores"):
        M.class_or_none([])  # was max()'s bare "arg is an empty sequence"
    with pytest.raises(ValueError, match="empty list of scores"):
        M.accuracy([[]], [0])
