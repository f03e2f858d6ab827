"""nn.to_torch / nn.from_torch (issue 16, item 7): the same function in PyTorch and back, to 1e-12 in float64.

Skipped cleanly without torch (the oracle extra, Python 3.11 only)."""
import random

import pytest

from nn import MLP, Activation, BatchNorm, Dropout, Layer, Neuron, Sequential, TabularModel, from_torch, to_torch

torch = pytest.importorskip("torch")

RNG = random.Random(0)
ROWS = [[RNG.uniform(-3, 3) for _ in range(4)] for _ in range(25)]


def _torch_out(tmodel, rows):
    with torch.no_grad():
        return tmodel(torch.tensor(rows, dtype=torch.float64)).tolist()


def _flat(outs):
    return [v for o in outs for v in (o if isinstance(o, list) else [o])]


def _assert_same(ours, theirs):
    a, b = _flat(ours), _flat(theirs)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert abs(x - y) <= 1e-12 * max(1.0, abs(x)), (x, y)


def _trained_bn():
    model = Sequential(Layer(4, 6, "linear", seed=1), BatchNorm(6), Activation("tanh"), Dropout(0.3),
                       Layer(6, 3, "sigmoid", seed=2), Layer(3, 2, "linear", seed=3))
    model.forward_batch(ROWS)  # moves the running statistics away from 0/1
    return model.eval()


MODELS = {
    "MLP relu": lambda: MLP(4, [16, 16, 1], seed=0),
    "MLP tanh 3 outputs": lambda: MLP(4, [8, 3], "tanh", seed=1),
    "MLP sigmoid": lambda: MLP(4, [5, 5, 2], "sigmoid", seed=2),
    "MLP width 1": lambda: MLP(4, [1, 1], seed=3),
    "Sequential with BatchNorm and Dropout (eval)": _trained_bn,
    "Neuron": lambda: Neuron(4, "tanh", seed=4),
    "Layer": lambda: Layer(4, 3, "relu", seed=5),
    "TabularModel classification": lambda: TabularModel(MLP(4, [8, 3], "tanh", seed=6), list("abcd"),
                                                        classes=["x", "y", "z"]).fit_scaling(ROWS),
    "TabularModel regression": lambda: TabularModel(MLP(4, [8, 1], "tanh", seed=7), list("abcd"), task="regression",
                                                    ).fit_scaling(ROWS, [3 * r[0] + 100 for r in ROWS]),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_to_torch_computes_the_same_function(name):
    model = MODELS[name]().eval()
    tmodel = to_torch(model)
    assert isinstance(tmodel, torch.nn.Sequential) and not tmodel.training
    assert all(p.dtype == torch.float64 for p in tmodel.parameters())
    _assert_same(model.predict(ROWS), _torch_out(tmodel, ROWS))


@pytest.mark.parametrize("name", [n for n in sorted(MODELS) if not n.startswith("TabularModel")])
def test_round_trip_back_from_torch(name):
    model = MODELS[name]().eval()
    back = from_torch(to_torch(model))
    _assert_same(model.predict(ROWS), back.predict(ROWS))


def test_mlp_comes_back_as_an_mlp_with_the_same_state():
    model = MLP(4, [16, 16, 1], seed=0)
    back = from_torch(to_torch(model))
    assert type(back) is MLP and back.nouts == [16, 16, 1] and back.activation == "relu"
    assert back.state_dict() == model.state_dict()


def test_from_a_torch_model_trained_in_torch():
    torch.manual_seed(0)
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2)).double()
    ours = from_torch(t)
    assert type(ours) is MLP
    _assert_same(ours.predict(ROWS), _torch_out(t, ROWS))
    # and it trains here: gradients flow through the copied weights
    out = ours(ROWS[0])
    (out[0] * out[1]).backward()
    assert any(p.grad != 0.0 for p in ours.parameters())


def test_training_mode_is_kept():
    assert to_torch(MLP(2, [3, 1], seed=0)).training
    assert not from_torch(to_torch(MLP(2, [3, 1], seed=0)).eval()).training


def test_unsupported_modules_say_what_is_supported():
    from nn import Module

    class Mine(Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="to_torch: no PyTorch equivalent for Mine; supported"):
        to_torch(Mine())
    with pytest.raises(TypeError, match=r"from_torch: layer 1 \(Conv1d\) has no chainrule equivalent"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Conv1d(1, 1, 1)))
    with pytest.raises(TypeError, match="Linear without bias"):
        from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2, bias=False)))
    with pytest.raises(TypeError, match="from_torch: expected a torch.nn.Module"):
        from_torch([1, 2])
    with pytest.raises(TypeError, match="to_torch: expected an nn.Module"):
        to_torch("MLP")


def test_from_torch_refuses_what_its_weights_do_not_carry():
    class Twice(torch.nn.Linear):  # a subclass may change forward(): converting its weights would be wrong
        def forward(self, x):
            return 2 * torch.nn.Linear.forward(self, x)
    with pytest.raises(TypeError, match=r"layer 0 \(Twice\) has no chainrule equivalent"):
        from_torch(Twice(2, 1).double())
    with pytest.raises(TypeError, match="momentum=None"):
        from_torch(torch.nn.BatchNorm1d(3, momentum=None))


def test_to_torch_tabular_scaling_keeps_its_digits():
    m = TabularModel(MLP(2, [3, 1], seed=0), ["a", "b"], task="regression", target="y",
                     mean=[1e8, 0.0], std=[1e-2, 1.0])
    x = [1e8 + 0.0123, 0.5]
    got = to_torch(m)(torch.tensor([x], dtype=torch.float64)).item()
    assert got == pytest.approx(m(x).data, rel=1e-12)  # one layer x * inv - mean * inv was 2e-5 off
