"""fit(compile=True): each batch size's step recorded once and replayed, with the same training as eager."""
import math

import pytest

import nn
from nn.data import make_moons, make_spirals


def train(model_fn, X, y, **kw):
    out = []
    for compile_ in (False, True):
        model = model_fn()
        history = nn.fit(model, X, y, compile=compile_, **kw)
        out.append((model, history))
    return out


@pytest.mark.parametrize("loss", ["hinge", "bce", "mse"])
def test_binary_losses_train_as_eager(loss):
    X, y = make_moons(60, seed=1)
    (m0, h0), (m1, h1) = train(lambda: nn.MLP(2, [8, 1], seed=3), X, y, epochs=8, batch_size=16, loss=loss,
                               l2=1e-4)
    assert h1["loss"] == pytest.approx(h0["loss"], rel=1e-9) and h1["accuracy"] == h0["accuracy"]
    for p, q in zip(m0.parameters(), m1.parameters()):
        assert q.data == pytest.approx(p.data, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("loss", ["cross_entropy", "multi_margin"])
def test_multiclass_losses_train_as_eager(loss):
    X, y = make_spirals(45, classes=3, seed=2)
    (m0, h0), (m1, h1) = train(lambda: nn.MLP(2, [8, 3], seed=4), X, y, epochs=6, batch_size=20, loss=loss)
    assert h1["loss"] == pytest.approx(h0["loss"], rel=1e-9) and h1["accuracy"] == h0["accuracy"]


@pytest.mark.parametrize("loss", ["mse", "l1", "huber"])
def test_regression_trains_as_eager(loss):
    X = [[i / 10.0, (i % 7) / 7.0] for i in range(30)]
    y = [math.sin(a) + b for a, b in X]
    (m0, h0), (m1, h1) = train(lambda: nn.MLP(2, [6, 1], activation="tanh", seed=5), X, y, epochs=5,
                               batch_size=0, loss=loss, task="regression")
    assert h1["loss"] == pytest.approx(h0["loss"], rel=1e-9)


def test_one_program_per_batch_size():
    from nn.compiled import CompiledSteps
    X, y = make_moons(50, seed=0)
    model = nn.MLP(2, [4, 1], seed=0)
    steps = CompiledSteps(model, "auto", 1, False, 0.0, 0.0)
    for start in range(0, 50, 16):  # batches of 16, 16, 16 and 2
        steps(X[start:start + 16], y[start:start + 16])
    assert sorted(steps.compiled) == [2, 16]


def test_a_big_batch_replays_in_chunks_with_regularisation_once():
    from nn.compiled import CHUNK, CompiledSteps
    X, y = make_moons(2 * CHUNK + 22, seed=5)
    (m0, h0), (m1, h1) = train(lambda: nn.MLP(2, [6, 1], seed=1), X, y, epochs=4, batch_size=0, loss="bce",
                               l2=1e-3, l1=1e-3)
    assert h1["loss"] == pytest.approx(h0["loss"], rel=1e-9) and h1["accuracy"] == h0["accuracy"]
    for p, q in zip(m0.parameters(), m1.parameters()):
        assert q.data == pytest.approx(p.data, rel=1e-9, abs=1e-12)
    steps = CompiledSteps(nn.MLP(2, [6, 1], seed=1), "auto", 1, False, 1e-3, 0.0)
    loss, outputs = steps(X, y)
    assert sorted(steps.compiled) == [22, CHUNK] and len(outputs) == len(X)
    assert steps.regularization is not None


def test_a_model_that_mixes_samples_is_compiled_for_the_whole_batch():
    from engine import sum as vsum
    from nn.compiled import CompiledSteps

    class Centered(nn.Module):  # subtracts the batch mean: a chunk's mean would train differently
        def __init__(self):
            super().__init__()
            self.mlp = nn.MLP(2, [6, 1], seed=1)

        def forward(self, x):
            return self.mlp(x)

        def forward_batch(self, xs):
            outs = self.mlp.forward_batch(xs)
            mean = vsum(outs) * (1.0 / len(outs))
            return [o - mean for o in outs]

    X, y = make_moons(100, seed=0)
    (m0, h0), (m1, h1) = train(Centered, X, y, epochs=3, batch_size=0, loss="bce")
    assert h1["loss"] == pytest.approx(h0["loss"], rel=1e-12)
    steps = CompiledSteps(Centered(), "auto", 1, False, 0.0, 0.0)
    steps(X, y)
    assert sorted(steps.compiled) == [100]


def test_what_cannot_be_replayed_is_refused():
    X, y = make_moons(20, seed=0)
    with pytest.raises(ValueError, match="cannot replay Dropout"):
        nn.fit(nn.MLP(2, [4, 1], dropout=0.2, seed=0), X, y, epochs=1, compile=True)
    with pytest.raises(ValueError, match="cannot replay BatchNorm"):
        nn.fit(nn.MLP(2, [4, 1], batchnorm=True, seed=0), X, y, epochs=1, compile=True)
    with pytest.raises(ValueError, match="needs a built-in loss"):
        nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=1, compile=True,
               loss=lambda out, yb: nn.losses.hinge_loss(out, [2 * t - 1 for t in yb]))
    with pytest.raises(TypeError, match="compile must be True or False"):
        nn.fit(nn.MLP(2, [4, 1], seed=0), X, y, epochs=1, compile="yes")


def test_a_module_reading_a_feature_as_a_number_is_refused():
    """Its replay would keep the recorded number for that feature (silently wrong training): refused, naming it."""
    from nn import Layer, Module

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.layer = Layer(2, 1, "linear", seed=0)

        def forward(self, x):
            return self.layer([x[0], float(x[1])])[0]

    X, y = [[0.1, 0.2], [0.3, -0.4], [1.0, 2.0], [0.5, 0.5]], [0, 1, 0, 1]
    with pytest.raises(ValueError, match=r"does not depend on feature 1 \(of sample 0\).*drop it from X.*compile=False"):
        nn.fit(Net(), X, y, epochs=1, compile=True)
    nn.fit(Net(), X, y, epochs=1)  # eager training reads it afresh each step: fine
