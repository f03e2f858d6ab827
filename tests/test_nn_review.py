"""Fixes from the newcomer review of nn: 2-output models in fit, PyTorch-style subclassing,
numpy inputs, error messages, progress-bar docs, parameter labels and named_parameters."""
import json
import math
import os

import pytest

from engine import Value
from nn import MLP, SGD, Adam, Layer, Module, Neuron, Sequential, BatchNorm, load_model, save_model
from nn import losses as L
from nn.data import make_blobs, make_moons
from nn.io import load_weights
from nn.train import evaluate, fit, progress_enabled


# -- 1. fit() on a 2-output model (2-class softmax) ---------------------------------------

def test_fit_trains_a_two_output_model_with_the_default_loss():
    X, y = make_moons(40, seed=0)
    model = MLP(2, [8, 8, 2], seed=0)
    h = fit(model, X, y, epochs=80, progress=False)  # auto -> cross_entropy for 2 outputs
    assert h["loss"][-1] < 0.25 * h["loss"][0]
    assert evaluate(model, X, y) >= 0.95


@pytest.mark.parametrize("loss", ["cross_entropy", "multi_margin"])
def test_fit_two_outputs_takes_multiclass_losses(loss):
    X, y = make_blobs(30, centers=2, seed=0)
    h = fit(MLP(2, [4, 2], seed=0), X, y, epochs=3, loss=loss, progress=False)
    assert len(h["loss"]) == 3 and all(math.isfinite(v) for v in h["loss"])


@pytest.mark.parametrize("loss", ["hinge", "bce", "mse"])
def test_fit_two_outputs_refuses_binary_losses_by_name(loss):
    X, y = make_moons(10, seed=0)
    with pytest.raises(ValueError, match=rf"fit: loss '{loss}' does not fit a model with 2 outputs.*cross_entropy"):
        fit(MLP(2, [4, 2], seed=0), X, y, epochs=1, loss=loss, progress=False)


def test_fit_one_output_still_refuses_multiclass_losses():
    X, y = make_moons(10, seed=0)
    with pytest.raises(ValueError, match="one output"):
        fit(MLP(2, [4, 1], seed=0), X, y, epochs=1, loss="cross_entropy", progress=False)


def test_fit_two_outputs_labels_must_be_below_nout():
    X, y = make_moons(10, seed=0)
    with pytest.raises(ValueError, match=r"y\[\d+\] = 2 is not a class label in 0..1 \(the model has 2 outputs\)"):
        fit(MLP(2, [4, 2], seed=0), X, [2] * len(X), epochs=1, progress=False)
    # -1/+1 labels are a binary (one-output) convenience only
    with pytest.raises(ValueError, match="-1"):
        fit(MLP(2, [4, 2], seed=0), X, [2 * t - 1 for t in y], epochs=1, progress=False)


# -- 3. PyTorch-style subclassing -----------------------------------------------------------

class Net(Module):
    def __init__(self):
        super().__init__()
        self.l1 = Layer(2, 8, seed=0)
        self.l2 = Layer(8, 1, "linear", seed=1)

    def forward(self, x):
        return self.l2(self.l1(x))[0]


def test_subclass_discovers_submodules_in_assignment_order():
    net = Net()
    assert len(net.parameters()) == (2 + 1) * 8 + (8 + 1) * 1
    assert list(net.state_dict()) == ["l1.weight", "l1.bias", "l2.weight", "l2.bias"]
    assert net.parameters()[:2] == [net.l1.neurons[0].w[0], net.l1.neurons[0].w[1]]
    assert [name for name, _ in net.named_modules()] == ["", "l1.", "l2."]
    assert isinstance(net([0.5, -1.0]), Value)  # forward() is what __call__ runs


def test_subclass_trains_with_fit_and_roundtrips_weights(tmp_path):
    X, y = make_moons(40, seed=0)
    net = Net()
    h = fit(net, X, y, epochs=40, progress=False)
    assert h["loss"][-1] < h["loss"][0]
    assert evaluate(net, X, y) >= 0.8
    other = Net()
    other.load_state_dict(net.state_dict())
    assert other.predict(X[:5]) == net.predict(X[:5])
    net.train(False)
    assert not net.l1.training and not net.l2.training


class Mixed(Module):
    def __init__(self):
        super().__init__()
        self.blocks = [Layer(2, 3, seed=0), Layer(3, 3, seed=1)]
        self.head = (Layer(3, 1, "linear", seed=2),)
        self.scale = Value(2.0)
        self.shift = [Value(0.0), Value(1.0)]
        self.name = "not a parameter"
        self.numbers = [1.0, 2.0]
        self._alias = self.blocks[0]  # the same module twice: its parameters count once

    def forward(self, x):
        for b in self.blocks:
            x = b(x)
        return self.head[0](x)[0] * self.scale + self.shift[0]


def test_subclass_discovers_lists_tuples_and_values():
    m = Mixed()
    # as PyTorch: the module's own Values first, then sub-modules, each in assignment order
    assert list(m.state_dict()) == ["scale", "shift", "blocks.0.weight", "blocks.0.bias", "blocks.1.weight",
                                    "blocks.1.bias", "head.0.weight", "head.0.bias", "_alias.weight", "_alias.bias"]
    ps = m.parameters()
    assert len(ps) == len({id(p) for p in ps}) == 9 + 12 + 4 + 1 + 2
    assert m.state_dict()["scale"] == 2.0 and m.state_dict()["shift"] == [0.0, 1.0]
    m.load_state_dict({**m.state_dict(), "scale": 3.0}, strict=True)
    assert m.scale.data == 3.0


def test_existing_state_dict_keys_are_unchanged():
    assert list(MLP(2, [3, 1]).state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]
    assert list(MLP(2, [3, 1], batchnorm=True).state_dict()) == [
        "0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "3.weight", "3.bias"]
    assert list(Layer(2, 3).state_dict()) == ["weight", "bias"]
    assert list(Sequential(Layer(2, 2), Layer(2, 1)).state_dict())[0] == "0.weight"


def test_module_without_super_init_gets_a_clear_error():
    class Bad(Module):
        def __init__(self):
            self.l1 = Layer(2, 2)

    with pytest.raises(TypeError, match=r"Bad.*super\(\).__init__\(\)"):
        Bad().train()


# -- 4. numpy inputs -------------------------------------------------------------------------

def test_fit_accepts_numpy_features_and_labels():
    np = pytest.importorskip("numpy")
    X, y = make_moons(30, seed=0)
    Xn = np.array(X, dtype=np.float32)
    yn = np.array(y, dtype=np.int64)
    h = fit(MLP(2, [4, 1], seed=0), Xn, yn, epochs=3, progress=False, X_val=Xn, y_val=yn)
    assert len(h["val_accuracy"]) == 3
    h2 = fit(MLP(2, [4, 2], seed=0), Xn, yn, epochs=2, progress=False)
    assert len(h2["loss"]) == 2
    with pytest.raises(TypeError, match=r"y\[0\] must be an int class label"):
        fit(MLP(2, [4, 1], seed=0), Xn, np.array([True] * 30), epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"y\[0\] must be an int class label"):
        fit(MLP(2, [4, 1], seed=0), Xn, [True] * 30, epochs=1, progress=False)


def test_losses_accept_numpy_targets_and_scores():
    np = pytest.importorskip("numpy")
    assert L.cross_entropy([[Value(1.0), Value(1.0)]], np.array([0])).data == pytest.approx(math.log(2))
    assert L.cross_entropy([Value(1.0), Value(1.0)], np.int64(1)).data == pytest.approx(math.log(2))
    assert L.multi_margin_loss([[Value(2.0), Value(0.0)]], [np.int32(0)]).data == 0.0
    assert L.hinge_loss([Value(0.5)], np.array([1])).data == 0.5
    assert L.mse_loss([np.float32(1.0)], [np.float64(0.0)]).data == 1.0
    assert L.binary_cross_entropy_with_logits([Value(0.0)], [np.float32(1.0)]).data == pytest.approx(math.log(2))
    assert L.hinge_loss([Value(0.5)], [1], margin=np.float32(2.0)).data == 1.5
    with pytest.raises(TypeError, match="target"):
        L.cross_entropy([[Value(1.0), Value(1.0)]], [np.bool_(True)])


# -- 5. error messages -------------------------------------------------------------------------

def test_batch_passed_to_single_sample_call():
    m = MLP(2, [3, 1], seed=0)
    msg = (r"MLP: expected one sample \(a flat list of 2 numbers\), got a nested list; "
           r"for a batch use \[model\(x\) for x in xs\] or model.forward_batch\(xs\)")
    with pytest.raises(TypeError, match=msg):
        m([[0.5, 1], [0.1, 0.2]])
    with pytest.raises(TypeError, match="MLP: expected one sample"):
        m([[0.5, 1], [0.1, 0.2], [0.0, 0.0]])  # a batch of 3: not a "length" complaint
    with pytest.raises(TypeError, match=r"Layer: expected one sample \(a flat list of 2 numbers\)"):
        Layer(2, 3)([[0.5, 1], [0.1, 0.2]])
    assert len(m.forward_batch([[0.5, 1], [0.1, 0.2]])) == 2


def test_predict_with_one_sample():
    m = MLP(2, [3, 1], seed=0)
    with pytest.raises(TypeError, match=r"predict: expected a list of samples; for one sample write "
                                        r"predict\(\[\[0.5, 1.0\]\]\)"):
        m.predict([0.5, 1.0])
    assert len(m.predict([[0.5, 1.0]])) == 1


def test_save_model_to_a_directory_names_the_directory(tmp_path):
    d = tmp_path / "somedir"
    d.mkdir()
    with pytest.raises(IsADirectoryError) as e:
        save_model(MLP(2, [2, 1]), str(d))
    assert str(e.value) == f"save_model: '{d}' is a directory; pass a file path like '{d}/model.json'"
    assert os.listdir(d) == [] and sorted(os.listdir(tmp_path)) == ["somedir"]  # no temp file left


def test_fit_refuses_an_optimizer_on_another_models_parameters():
    X, y = make_moons(10, seed=0)
    model, other = MLP(2, [3, 1], seed=0), MLP(2, [3, 1], seed=1)
    with pytest.raises(ValueError, match=r"fit: the optimizer holds \d+ parameters? that (are|is) not the model's"):
        fit(model, X, y, epochs=1, optimizer=SGD(other.parameters()), progress=False)
    # a subset of the model's parameters (freezing the rest) is fine
    before = [p.data for p in model.modules[0].parameters()]
    fit(model, X, y, epochs=2, optimizer=Adam(model.modules[1].parameters()), progress=False)
    assert [p.data for p in model.modules[0].parameters()] == before


# -- 6. progress bar rule matches the docs ----------------------------------------------------------

def test_progress_bar_rule_is_documented(monkeypatch):
    import sys
    assert "stdout and stderr are both terminals" in " ".join(fit.__doc__.split())

    class Tty:
        def __init__(self, tty):
            self.tty = tty

        def isatty(self):
            return self.tty

    monkeypatch.setattr(sys, "stdout", Tty(True))
    monkeypatch.setattr(sys, "stderr", Tty(False))
    assert progress_enabled(None) is False
    monkeypatch.setattr(sys, "stderr", Tty(True))
    assert progress_enabled(None) is True


# -- 7. parameter labels and named_parameters -----------------------------------------------------

def test_named_parameters_follow_parameters_order_and_labels():
    for model in (MLP(2, [3, 2, 1], seed=0), MLP(2, [3, 1], batchnorm=True), Net(), Mixed(), Layer(2, 2),
                  Neuron(3)):
        named = model.named_parameters()
        assert [p for _, p in named] == model.parameters()
        assert [p.label for _, p in named] == [n for n, _ in named]
    m = MLP(2, [4, 1], seed=0)
    names = [n for n, _ in m.named_parameters()]
    assert names[:3] == ["0.weight[0][0]", "0.weight[0][1]", "0.weight[1][0]"]  # weights, then biases
    assert names[8:10] == ["0.bias[0]", "0.bias[1]"]
    assert m.modules[0].neurons[3].w[1].label == "0.weight[3][1]"
    assert m.modules[0].neurons[3].b.label == "0.bias[3]"
    assert names[-1] == "1.bias[0]"
    assert dict(Net().named_parameters())["l2.bias[0]"] is not None
    assert [n for n, _ in Neuron(2).named_parameters()] == ["weight[0]", "weight[1]", "bias"]
    assert [n for n, _ in BatchNorm(2).named_parameters()] == ["weight[0]", "weight[1]", "bias[0]", "bias[1]"]


def test_labels_survive_save_and_load(tmp_path):
    m = MLP(2, [3, 1], seed=0)
    save_model(m, tmp_path / "m.json")
    back = load_model(tmp_path / "m.json")
    assert [p.label for p in back.parameters()] == [p.label for p in m.parameters()]
    load_weights(back, tmp_path / "m.json")
    assert back.parameters()[0].label == "0.weight[0][0]"
    assert json.loads((tmp_path / "m.json").read_text())["state"].keys() == m.state_dict().keys()
