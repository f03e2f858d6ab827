"""nn.train.fit: history, progress, errors, and the quality bars that run in seconds."""
import io
import math

import pytest

from engine import Value
from nn import MLP
from nn.data import load_dataset, make_moons
from nn.optim import SGD, LinearLR
from nn.train import accuracy, evaluate, fit


def test_micrograd_demo_bar_moons_100_percent_in_under_100_steps():
    # micrograd's demo: 100 moons points, MLP 2-16-16-1, max-margin loss + 1e-4 L2,
    # full-batch SGD with lr = 1.0 - 0.9 * k / 100.
    X, y = make_moons(100, noise=0.1, seed=0)
    model = MLP(2, [16, 16, 1], seed=0)
    opt = SGD(model.parameters(), lr=1.0)
    sched = LinearLR(opt, start_factor=1.0, end_factor=0.1, total_iters=100)
    h = fit(model, X, y, epochs=99, optimizer=opt, schedule=sched, loss="hinge", l2=1e-4, progress=False)
    assert h["lr"][:3] == pytest.approx([1.0, 0.991, 0.982])
    assert 1.0 in h["accuracy"], f"best training accuracy {max(h['accuracy'])}"
    assert evaluate(model, X, y) == 1.0


def test_spirals_three_classes_cross_entropy_reaches_95_percent():
    X, y, k = load_dataset("spirals", 90, classes=3, seed=0)
    model = MLP(2, [16, 16, k], seed=0)
    fit(model, X, y, epochs=50, optimizer="adam", lr=0.02, loss="cross_entropy", progress=False)
    assert evaluate(model, X, y) >= 0.95


@pytest.mark.parametrize("name", ["moons", "circles", "xor", "blobs"])
def test_adam_with_default_settings_converges(name):
    X, y, k = load_dataset(name, 60, seed=0)
    model = MLP(2, [8, 8, 1 if k == 2 else k], seed=0)
    h = fit(model, X, y, epochs=80, progress=False)  # Adam, default lr, full batch, default loss
    assert h["loss"][-1] < 0.25 * h["loss"][0]
    assert evaluate(model, X, y) >= 0.95


def test_history_shape_and_validation():
    X, y = make_moons(30, seed=0)
    Xv, yv = make_moons(10, seed=1)
    seen = []
    h = fit(MLP(2, [4, 1], seed=0), X, y, epochs=4, batch_size=8, X_val=Xv, y_val=yv, progress=False,
            callback=lambda e, rec: seen.append((e, rec["loss"])))
    assert h["epoch"] == [1, 2, 3, 4]
    assert len(h["loss"]) == len(h["accuracy"]) == len(h["val_accuracy"]) == len(h["lr"]) == 4
    assert all(0.0 <= a <= 1.0 for a in h["accuracy"] + h["val_accuracy"])
    assert seen == list(zip(h["epoch"], h["loss"]))
    assert all(math.isfinite(v) for v in h["loss"])


def test_fit_is_deterministic():
    X, y = make_moons(30, seed=0)
    a = fit(MLP(2, [4, 1], seed=1), X, y, epochs=3, batch_size=7, progress=False)
    b = fit(MLP(2, [4, 1], seed=1), X, y, epochs=3, batch_size=7, progress=False)
    assert a == b


@pytest.mark.parametrize("loss", ["hinge", "bce", "mse"])
def test_binary_losses_train(loss):
    X, y = make_moons(40, seed=0)
    h = fit(MLP(2, [8, 1], seed=0), X, y, epochs=30, loss=loss, progress=False)
    assert h["loss"][-1] < h["loss"][0]


def test_multi_margin_and_custom_loss():
    X, y, k = load_dataset("blobs", 30, seed=0)
    h = fit(MLP(2, [8, k], seed=0), X, y, epochs=15, loss="multi_margin", progress=False)
    assert h["loss"][-1] < h["loss"][0]
    from nn.losses import cross_entropy
    h2 = fit(MLP(2, [8, k], seed=0), X, y, epochs=3, loss=lambda out, yb: cross_entropy(out, yb) * 2.0,
             progress=False)
    h3 = fit(MLP(2, [8, k], seed=0), X, y, epochs=1, loss="cross_entropy", progress=False)
    assert h2["loss"][0] == pytest.approx(2 * h3["loss"][0])


def test_plus_minus_one_labels_are_accepted():
    X, y = make_moons(20, seed=0)
    a = fit(MLP(2, [4, 1], seed=0), X, y, epochs=2, progress=False)
    b = fit(MLP(2, [4, 1], seed=0), X, [2 * t - 1 for t in y], epochs=2, progress=False)
    assert a == b


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(epochs=0), ValueError, "epochs must be >= 1, got 0"),
    (dict(batch_size=-2), ValueError, "batch_size must be >= 0"),
    (dict(loss="huber"), ValueError, "unknown loss 'huber'"),
    (dict(loss="cross_entropy"), ValueError, "does not fit a model with one output"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be"),
    (dict(l2=-1.0), ValueError, "l2 must be"),
    (dict(schedule="exp"), ValueError, "unknown schedule"),
])
def test_fit_argument_errors(kwargs, exc, match):
    X, y = make_moons(10, seed=0)
    with pytest.raises(exc, match=match):
        fit(MLP(2, [4, 1], seed=0), X, y, progress=False, **kwargs)


def test_fit_label_and_data_errors():
    m = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="empty training set"):
        fit(m, [], [], progress=False)
    with pytest.raises(ValueError, match="same length"):
        fit(m, [[0.0, 0.0]], [0, 1], progress=False)
    with pytest.raises(ValueError, match="y\\[1\\] = 2 is not a class label in 0..1"):
        fit(m, [[0.0, 0.0]] * 2, [0, 2], progress=False)
    with pytest.raises(TypeError, match="y\\[0\\] must be an int class label"):
        fit(m, [[0.0, 0.0]], ["cat"], progress=False)
    with pytest.raises(ValueError, match=r"fit: X\[0\] has 3 features but the model takes 2"):
        fit(m, [[0.0, 0.0, 0.0]], [0], progress=False)
    with pytest.raises(ValueError, match="y\\[0\\] = 3 is not a class label in 0..2"):
        fit(MLP(2, [4, 3]), [[0.0, 0.0]], [3], progress=False)


def test_progress_bar_on_and_off(monkeypatch, capsys):
    pytest.importorskip("tqdm")
    X, y = make_moons(10, seed=0)
    fit(MLP(2, [2, 1]), X, y, epochs=2)  # progress=None: stdout is captured, not a terminal -> no bar
    cap = capsys.readouterr()
    assert "epoch" not in cap.err and "it/s" not in cap.err
    fit(MLP(2, [2, 1]), X, y, epochs=2, progress=True)
    assert "2/2" in capsys.readouterr().err


def test_accuracy_helper():
    assert accuracy([Value(0.3), -1.0, 2.0], [1, 0, 0]) == pytest.approx(2 / 3)
    assert accuracy([[0.1, 0.9], [Value(3.0), Value(1.0)]], [1, 1]) == 0.5
    with pytest.raises(ValueError, match="2 outputs but 1 labels"):
        accuracy([1.0, 2.0], [1])


def test_pictures_are_png(tmp_path):
    pytest.importorskip("matplotlib")
    from nn.train import plot_decision_boundary, plot_history
    X, y, k = load_dataset("blobs", 30, seed=0)
    model = MLP(2, [4, k], seed=0)
    h = fit(model, X, y, epochs=2, progress=False)
    plot_history(h, tmp_path / "loss.png")
    plot_decision_boundary(model, X, y, tmp_path / "b.png", X_val=X[:5], y_val=y[:5], resolution=20)
    for name in ("loss.png", "b.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png", "loss.png"]  # no temp files left


def test_batchnorm_never_gets_a_batch_of_one():
    X, y = make_moons(21, seed=0)  # 21 = 2 * 10 + 1
    h = fit(MLP(2, [4, 1], batchnorm=True, seed=0), X, y, epochs=2, batch_size=10, progress=False)
    assert len(h["loss"]) == 2 and all(math.isfinite(v) for v in h["loss"])


@pytest.mark.parametrize("compile_", [False, True])
def test_training_accuracy_counts_nan_outputs_as_wrong(compile_):
    """fit's per-epoch accuracy agrees with metrics.accuracy: a nan score is no class (it counted as class 0)."""
    from nn import MLP, fit
    model = MLP(2, [3, 1], seed=0)
    model.parameters()[0].data = float("nan")
    h = fit(model, [[0.1, 0.2], [0.3, 0.4]], [0, 0], epochs=1, progress=False, compile=compile_)
    assert h["accuracy"] == [0.0]
