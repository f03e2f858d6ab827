"""nn.module: MLP/Layer/Neuron structure, seeding, init, state dicts, modes, errors."""
import math
import random
import struct

import pytest

from engine import AnomalyError, Value, detect_anomaly, gradcheck, no_grad
from nn import MLP, BatchNorm, Dropout, Layer, Module, Neuron, Sequential, StateDictError
from nn.module import init_weights, resolve_init


def test_mlp_output_types_and_parameter_count():
    model = MLP(2, [16, 16, 1], seed=0)
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    assert len(model.parameters()) == (2 + 1) * 16 + (16 + 1) * 16 + (16 + 1) * 1 == model.num_parameters()
    multi = MLP(2, [4, 3], seed=0)([0.5, -1.0])
    assert isinstance(multi, list) and len(multi) == 3 and all(isinstance(v, Value) for v in multi)


def test_parameters_are_leaves_in_a_stable_order():
    model = MLP(3, [4, 2], seed=1)
    ps = model.parameters()
    assert all(p.op == "" for p in ps)
    assert ps == model.parameters()  # same objects, same order
    assert len(set(map(id, ps))) == len(ps)


def test_neuron_preactivation_is_one_fused_dot_node():
    layer = Layer(5, 3, activation="relu", seed=0)
    outs = layer([1.0, 2.0, 3.0, 4.0, 5.0])
    for o, n in zip(outs, layer.neurons):
        assert o.op == "relu"
        (pre,) = o.parents
        assert pre.op == "dot"
        # one node whose parents are exactly the weights and the bias
        assert list(pre.parents) == n.w + [n.b]
        expected = sum(w.data * x for w, x in zip(n.w, [1.0, 2.0, 3.0, 4.0, 5.0])) + n.b.data
        assert pre.data == pytest.approx(expected)


def test_hidden_inputs_flow_through_dot_with_both_operands():
    model = MLP(2, [3, 1], seed=0)
    out = model([0.3, 0.7])
    assert out.op == "dot"
    # 3 weights + bias + 3 hidden activations
    assert len(out.parents) == 7


def test_activations():
    for act, f in [("relu", lambda z: max(z, 0.0)), ("tanh", math.tanh),
                   ("sigmoid", lambda z: 1 / (1 + math.exp(-z))), ("linear", lambda z: z)]:
        n = Neuron(2, act, seed=3)
        n.w[0].data, n.w[1].data, n.b.data = 0.5, -2.0, 0.25
        assert n([1.0, 0.5]).data == pytest.approx(f(0.5 - 1.0 + 0.25))


def test_same_seed_same_weights_different_seed_different():
    a = MLP(2, [8, 8, 1], seed=7).state_dict()
    b = MLP(2, [8, 8, 1], seed=7).state_dict()
    c = MLP(2, [8, 8, 1], seed=8).state_dict()
    assert a == b
    assert a != c


def test_init_does_not_touch_global_random_state():
    random.seed(123)
    before = random.random()
    random.seed(123)
    MLP(2, [8, 1], seed=0)
    assert random.random() == before


@pytest.mark.parametrize("scheme,fan_in,fan_out,bound", [
    ("kaiming_uniform", 16, 4, math.sqrt(6 / 16)),
    ("xavier_uniform", 16, 4, math.sqrt(6 / 20)),
    ("uniform", 16, 4, 1.0),
])
def test_uniform_init_bounds(scheme, fan_in, fan_out, bound):
    ws = init_weights(random.Random(0), scheme, fan_in, fan_out, 2000)
    assert max(abs(w) for w in ws) <= bound
    assert max(abs(w) for w in ws) > 0.95 * bound  # actually spans the range


@pytest.mark.parametrize("scheme,var", [("kaiming_normal", 2 / 10), ("xavier_normal", 2 / 30)])
def test_normal_init_variance(scheme, var):
    ws = init_weights(random.Random(0), scheme, 10, 20, 20000)
    est = sum(w * w for w in ws) / len(ws)
    assert est == pytest.approx(var, rel=0.05)


def test_auto_init_follows_activation():
    assert resolve_init("auto", "relu") == "kaiming_uniform"
    assert resolve_init("auto", "tanh") == "xavier_uniform"
    m = MLP(2, [4, 1], activation="tanh", seed=0)
    assert m.modules[0].init == "xavier_uniform"
    assert MLP(2, [4, 1], seed=0).modules[0].init == "kaiming_uniform"
    bound = math.sqrt(6 / 2)
    assert all(abs(w.data) <= bound for n in MLP(2, [64, 1], seed=0).modules[0].neurons for w in n.w)


def test_biases_start_at_zero():
    m = MLP(2, [4, 1], seed=0)
    assert all(b == 0.0 for b in m.state_dict()["0.bias"])


def test_zero_grad():
    m = MLP(2, [4, 1], seed=0)
    m([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


def test_mlp_gradients_match_finite_differences():
    model = MLP(2, [3, 3, 1], activation="tanh", seed=0)
    # with respect to the input (hidden activations enter the fused dot as Values)
    assert gradcheck(lambda a, b: model([a, b]) * model([b, a]), [0.3, -0.8])
    # with respect to every parameter, by central differences on .data
    x = [0.3, -0.8]
    model.zero_grad()  # gradcheck's backward above accumulated into the parameters
    model(x).backward()
    for p in model.parameters():
        saved = p.data
        p.data = saved + 1e-6
        hi = model(x).data
        p.data = saved - 1e-6
        lo = model(x).data
        p.data = saved
        assert p.grad == pytest.approx((hi - lo) / 2e-6, abs=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_width_one_hidden_layers_train(seed):
    from nn.data import make_moons
    from nn.train import fit
    X, y = make_moons(40, seed=seed)
    model = MLP(2, [16, 1, 1], seed=seed)
    h = fit(model, X, y, epochs=40, optimizer="adam", lr=0.05, progress=False)
    assert h["loss"][-1] < 0.75 * h["loss"][0]
    assert h["accuracy"][-1] >= 0.75


def test_input_length_errors_are_clear():
    m = MLP(2, [4, 1], seed=0)
    with pytest.raises(ValueError, match="expected an input of length 2, got 3"):
        m([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="length 2, got 1"):
        Neuron(2)([1.0])
    with pytest.raises(TypeError):
        m(["a", "b"])


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
def test_forward_batch_builds_the_same_graph_as_one_call_per_sample(activation):
    X = [[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]]
    m = MLP(2, [5, 4, 1], activation=activation, seed=3)
    batch = m.forward_batch(X)
    single = [m(x) for x in X]
    assert [o.data for o in batch] == [o.data for o in single]
    assert [[p.data for p in o.parents] for o in batch] == [[p.data for p in o.parents] for o in single]
    grads = []
    for outs in (batch, single):
        m.zero_grad()
        sum(outs, Value(0.0)).backward()
        grads.append([p.grad for p in m.parameters()])
    assert grads[0] == grads[1] and any(grads[0])
    # Value inputs (a hidden layer fed by another model) and width-2 outputs
    layer = Layer(2, 2, activation=activation, seed=1)
    xs = [[Value(0.3), Value(-0.2)], [Value(1.0), 2.0]]
    assert [[y.data for y in ys] for ys in layer.forward_batch(xs)] == [[y.data for y in layer(x)] for x in xs]


def _bits(outs) -> list:
    return [struct.pack("<d", v.data) for o in outs for v in (o if isinstance(o, list) else [o])]


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "linear"])
@pytest.mark.parametrize("extras", [{}, {"batchnorm": True}, {"dropout": 0.5}])
def test_forward_batch_under_no_grad_gives_leaves_with_the_recorded_bits(activation, extras):
    # under no_grad a Sequential runs its float forward: same numbers to the bit, -0.0/nan/inf included
    m = MLP(3, [6, 5, 2], activation=activation, seed=4, **extras)
    m.forward_batch([[0.1, 0.2, 0.3], [0.3, -0.2, 0.1]])  # BatchNorm: running stats move off their start
    m.eval()
    X = [[0.5, -1.0, 2.0], [-0.0, 0.0, 1e-310], [float("nan"), 1.0, 2.0], [float("inf"), -3.0, 0.5],
         [Value(0.25), -2.0, Value(1e300)], (1.5, 2.5, -0.5)]
    recorded = m.forward_batch(X)
    with no_grad(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(Layer, "forward_batch", lambda *a: pytest.fail("the float path did not run"))
        fast = m.forward_batch(X)
    assert _bits(fast) == _bits(recorded)
    assert all(not v.parents for o in fast for v in o) and all(v.parents for o in recorded for v in o)


def test_forward_batch_under_no_grad_keeps_graph_semantics_where_floats_cannot():
    X = [[0.5, -1.0], [2.0, 0.25]]
    a, b = MLP(2, [4, 1], dropout=0.5, seed=2), MLP(2, [4, 1], dropout=0.5, seed=2)
    with no_grad():  # training-mode dropout draws from its RNG: the same draws as the recorded pass
        dropped = [o.data for o in a.forward_batch(X * 4)]
    assert dropped == [o.data for o in b.forward_batch(X * 4)] and len(set(dropped[::2])) > 1
    m = MLP(2, [3, 1], seed=0)
    with no_grad():
        assert [o.data for o in m.forward_batch([[1, 2], [3, 0.5]])] == [o.data for o in m.forward_batch(
            [[1.0, 2.0], [3.0, 0.5]])]  # ints go through the graph path's conversion
        with pytest.raises(TypeError, match="got bool True"):
            m.forward_batch([[True, 0.5]])
        with pytest.raises(ValueError, match="sample 1 has length 3, expected 2"):
            m.forward_batch([[1.0, 2.0], [1.0, 2.0, 3.0]])
        with pytest.raises(TypeError, match="must be a Value or a number, got str 'a'"):
            m.forward_batch([["a", 1.0]])
        with detect_anomaly(), pytest.raises(AnomalyError):  # anomaly checks still run under no_grad
            MLP(2, [1], activation="linear", seed=0).forward_batch([[float("inf"), 0.0]])


def test_no_grad_forward_batch_and_predict_on_nested_and_mis_wired_models():
    # a nested Sequential (its width-1 output unwrapped) and a mis-wired layer run the graph path:
    # the same numbers as recording, and the same error
    x = [[0.5, -1.0], [2.0, 0.25]]
    nested = Sequential(Layer(2, 3, seed=1), Sequential(Layer(3, 1, "linear", seed=2)))
    want = [o.data for o in nested.forward_batch(x)]
    with no_grad():
        assert [o.data for o in nested.forward_batch(x)] == want
    assert nested.predict(x) == want
    wrong = Sequential(Layer(2, 3, seed=1), Layer(4, 1, "linear", seed=2))
    for run in (wrong.forward_batch, wrong.predict):
        with no_grad(), pytest.raises(ValueError, match="sample 0 has length 3, expected 4"):
            run(x)


def test_forward_batch_errors_name_the_sample():
    layer = Layer(2, 3)
    with pytest.raises(ValueError, match="Layer.forward_batch: sample 1 has length 3, expected 2"):
        layer.forward_batch([[1.0, 2.0], [1.0, 2.0, 3.0]])
    with pytest.raises(TypeError, match="Layer.forward_batch: sample 0"):
        layer.forward_batch([1.0, 2.0])
    with pytest.raises(TypeError, match="Layer.forward_batch"):
        layer.forward_batch(None)
    with pytest.raises(TypeError, match="inputs\\[0\\]\\[0\\] must be a Value or a number, got str 'a'"):
        layer.forward_batch([["a", "b"]])
    with pytest.raises(TypeError, match="Layer.forward_batch: sample 0: expected one sample .* got a nested list"):
        layer.forward_batch([[[1.0, 2.0], [3.0, 4.0]]])  # a batch of batches
    assert layer.forward_batch([]) == []


@pytest.mark.parametrize("args,exc,match", [
    ((0, [4]), ValueError, "nin must be >= 1"),
    ((2, []), ValueError, "at least one layer"),
    ((2, 4), TypeError, "write \\[4\\]"),
    ((2, [4, 0]), ValueError, "nouts\\[1\\]"),
    ((2.5, [4]), TypeError, "nin must be an int"),
])
def test_mlp_constructor_errors(args, exc, match):
    with pytest.raises(exc, match=match):
        MLP(*args)


def test_unknown_activation_and_init():
    with pytest.raises(ValueError, match="unknown activation 'gelu'"):
        MLP(2, [4, 1], activation="gelu")
    with pytest.raises(ValueError, match="unknown init 'he'"):
        MLP(2, [4, 1], init="he")


def test_repr_shows_architecture_and_count():
    r = repr(MLP(2, [16, 16, 1], seed=0))
    assert "MLP(2 -> [16, 16, 1]" in r and "params=337" in r and "Layer(16 -> 1, linear)" in r


def test_state_dict_roundtrip_gives_identical_outputs():
    a = MLP(2, [8, 3], seed=0)
    b = MLP(2, [8, 3], seed=99)
    x = [0.2, -0.4]
    assert [v.data for v in a(x)] != [v.data for v in b(x)]
    b.load_state_dict(a.state_dict())
    assert [v.data for v in a(x)] == [v.data for v in b(x)]
    assert b.state_dict()["0.weight"][0] == a.state_dict()["0.weight"][0]


def test_load_state_dict_keeps_parameter_identity():
    m = MLP(2, [4, 1], seed=0)
    ps = m.parameters()
    m.load_state_dict(MLP(2, [4, 1], seed=5).state_dict())
    assert all(p is q for p, q in zip(ps, m.parameters()))
    assert m([1.0, 1.0]).data == MLP(2, [4, 1], seed=5)([1.0, 1.0]).data


@pytest.mark.parametrize("mutate,match", [
    (lambda s: s.pop("1.bias"), "missing key"),
    (lambda s: s.__setitem__("extra", [1.0]), "unexpected key"),
    (lambda s: s["0.weight"].pop(), "wrong shape"),
    (lambda s: s["0.weight"][0].append(1.0), "wrong shape"),
    (lambda s: s["0.bias"].__setitem__(0, "x"), "must be a number"),
    (lambda s: s["0.bias"].__setitem__(0, True), "must be a number"),
    (lambda s: s["0.bias"].__setitem__(0, float("nan")), "must be finite"),
    (lambda s: s["1.weight"].__setitem__(0, 3.0), "wrong shape"),
])
def test_bad_state_dict_raises_and_leaves_model_untouched(mutate, match):
    m = MLP(2, [3, 1], seed=0)
    before = m.state_dict()
    bad = MLP(2, [3, 1], seed=1).state_dict()
    mutate(bad)
    with pytest.raises(StateDictError, match=match):
        m.load_state_dict(bad)
    assert m.state_dict() == before


def test_dropout_train_vs_eval():
    d = Dropout(0.5, seed=0)
    xs = [Value(1.0) for _ in range(1000)]
    out = [v.data for v in d(xs)]
    zeros = sum(o == 0.0 for o in out)
    assert 400 < zeros < 600
    assert set(out) == {0.0, 2.0}  # survivors scaled by 1 / (1 - p)
    d.eval()
    assert [v.data for v in d(xs)] == [1.0] * 1000
    with pytest.raises(ValueError, match=r"Dropout: p must be >= 0 and <= 1"):
        Dropout(1.5)


def test_mlp_train_eval_switches_submodules():
    m = MLP(2, [8, 1], dropout=0.5, batchnorm=True, seed=0)
    assert all(sub.training for _, sub in m.named_modules())
    assert m.eval() is m
    assert not any(sub.training for _, sub in m.named_modules())
    m.train()
    assert all(sub.training for _, sub in m.named_modules())


def test_batchnorm_normalises_batch_and_tracks_running_stats():
    torch = pytest.importorskip("torch")
    rows = [[1.0, -2.0], [3.0, 0.0], [2.0, 5.0], [0.5, 1.0]]
    bn = BatchNorm(2, momentum=0.1)
    bn.weight[0].data, bn.bias[1].data = 1.5, -0.5
    out = bn.forward_batch([[Value(a), Value(b)] for a, b in rows])
    tb = torch.nn.BatchNorm1d(2, momentum=0.1).double()
    with torch.no_grad():
        tb.weight[0] = 1.5
        tb.bias[1] = -0.5
    tin = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    tout = tb(tin)
    for i in range(4):
        for j in range(2):
            assert out[i][j].data == pytest.approx(tout[i, j].item(), abs=1e-9)
    assert bn.running_mean == pytest.approx(tb.running_mean.tolist())
    assert bn.running_var == pytest.approx(tb.running_var.tolist())
    # gradients through the batch statistics
    from engine import dot
    w = [0.3, -1.0, 0.7, 2.0]
    loss = dot([o[0] for o in out], w) + dot([o[1] for o in out], w[::-1])
    ins = [o for o in loss.parents]  # noqa: F841 - graph exists
    tloss = (tout[:, 0] * torch.tensor(w, dtype=torch.float64)).sum() + \
        (tout[:, 1] * torch.tensor(w[::-1], dtype=torch.float64)).sum()
    tloss.backward()
    loss.backward()
    assert bn.weight[0].grad == pytest.approx(tb.weight.grad[0].item(), abs=1e-9)
    assert bn.bias[1].grad == pytest.approx(tb.bias.grad[1].item(), abs=1e-9)
    # eval mode uses running statistics, one sample at a time
    bn.eval()
    tb.eval()
    y = bn([0.5, 0.5])
    ty = tb(torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    assert [v.data for v in y] == pytest.approx(ty[0].tolist(), abs=1e-9)


def test_batchnorm_input_gradients_match_torch():
    torch = pytest.importorskip("torch")
    rows = [[1.0], [3.0], [2.0]]
    vals = [[Value(r[0])] for r in rows]
    out = BatchNorm(1).forward_batch(vals)
    (out[0][0] * 2.0 + out[2][0] * -1.0).backward()
    t = torch.tensor(rows, dtype=torch.float64, requires_grad=True)
    to = torch.nn.BatchNorm1d(1).double()(t)
    (to[0, 0] * 2.0 - to[2, 0]).backward()
    assert [v[0].grad for v in vals] == pytest.approx(t.grad[:, 0].tolist(), abs=1e-9)


def test_batchnorm_errors():
    bn = BatchNorm(2)
    with pytest.raises(ValueError, match="training mode"):
        bn([1.0, 2.0])
    with pytest.raises(ValueError, match="2\\+ samples"):
        bn.forward_batch([[1.0, 2.0]])
    with pytest.raises(ValueError, match="expected 2 features, got 3"):
        bn.eval()([1.0, 2.0, 3.0])


def test_mlp_with_batchnorm_and_dropout_trains():
    from nn.data import make_moons
    from nn.train import evaluate, fit
    X, y = make_moons(40, seed=0)
    m = MLP(2, [8, 8, 1], batchnorm=True, dropout=0.1, seed=0)
    h = fit(m, X, y, epochs=15, optimizer="adam", lr=0.05, batch_size=20, progress=False)
    assert h["loss"][-1] < h["loss"][0]
    assert evaluate(m, X, y) >= 0.85
    assert m.training  # fit leaves the model in training mode; evaluate restores it


def test_sequential_and_custom_module():
    seq = Sequential(Layer(2, 4, seed=0), Layer(4, 1, "linear", seed=1))
    assert isinstance(seq([1.0, 2.0]), Value)
    assert len(seq.parameters()) == 12 + 5
    with pytest.raises(TypeError, match="argument 1 must be a Module"):
        Sequential(Layer(2, 2), "relu")

    class Custom(Module):
        def __init__(self):
            super().__init__()
            self.layer = Layer(2, 1, "linear", seed=0)

        def children(self):
            return [self.layer]

        def __call__(self, x):
            return self.layer(x)[0]

    c = Custom()
    assert len(c.parameters()) == 3
    assert set(c.state_dict()) == {"0.weight", "0.bias"}


@pytest.mark.parametrize("make", [
    lambda: MLP(2, [5, 5, 1], seed=0),
    lambda: MLP(2, [5, 3], activation="tanh", seed=1),
    lambda: MLP(2, [4, 4, 2], activation="sigmoid", seed=2, dropout=0.3),
    lambda: MLP(2, [4, 1], batchnorm=True, seed=3),
    lambda: Sequential(Layer(2, 3, "sigmoid", seed=0), Layer(3, 1, "linear", seed=1)),
])
def test_predict_equals_graph_forward_exactly(make):
    model = make()
    xs = [[0.3, -1.2], [5.0, 2.0], [-40.0, 60.0], [0, 1]]
    if any(isinstance(m, BatchNorm) for _, m in model.named_modules()):
        model.forward_batch(xs)  # move the running statistics away from (0, 1)
    got = model.predict(xs)
    assert model.training  # restored
    model.eval()
    for x, g in zip(xs, got):
        out = model(x)
        assert g == (out.data if isinstance(out, Value) else [v.data for v in out])


def test_predict_checks_input_length():
    with pytest.raises(ValueError, match=r"MLP.predict: X\[0\] has 3 features but the model takes 2"):
        MLP(2, [3, 1]).predict([[1.0, 2.0, 3.0]])
    with pytest.raises(ValueError, match=r"Sequential.predict: X\[1\] has 1 features but X\[0\] has 2"):
        Sequential(Layer(2, 1, seed=0)).predict([[1.0, 2.0], [1.0]])


def test_import_nn_is_light():
    import subprocess
    import sys
    code = ("import sys, nn, nn.train, nn.io, nn.cli, nn.data, nn.losses, nn.optim, nn.export, nn.plots, "
            "nn.tabular, nn.csvdata, nn.cli_table, nn.cli_predict, nn.metrics; nn.cli.build_parser(); "
            "print(sorted(m for m in ('matplotlib', 'tqdm', 'graphviz', 'torch', 'numpy', 'sklearn', 'scipy', "
            "'ipywidgets') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_contract_snippet():
    from nn import SGD
    model = MLP(2, [16, 16, 1], seed=0)
    score = model([0.5, -1.0])
    params = model.parameters()
    opt = SGD(params, lr=0.05)
    before = [p.data for p in params]
    loss = score * score
    loss.backward()
    opt.step()
    opt.zero_grad()
    assert any(p.data != b for p, b in zip(params, before))
    assert all(p.grad == 0.0 for p in params)
    assert model([0.5, -1.0]).data ** 2 < loss.data  # one small step downhill


def test_attribute_discovery_of_every_nesting():
    """parameters()/named_parameters() of user modules: rows of only Values are checked in C,
    rows mixing lists and Values (or list subclasses) item by item; both find the same leaves."""
    class Rows(list):
        pass

    class Sub(Value):
        __slots__ = ()

    v = [Value(float(i)) for i in range(9)]

    class Net(Module):
        def __init__(self):
            super().__init__()
            self.a = ((v[0], v[1]), (v[2], v[3]))         # tuples of tuples: a parameter tensor
            self.b = [v[4], [v[5], v[6]]]                # ragged: still parameters, named by index
            self.c = [[], []]                            # empty rows: a tensor of no parameters
            self.d = Rows([v[7]])                        # list subclass
            self.e = [v[0] * 2.0, v[8]]                  # a computed Value inside: not a parameter
            self.f = [1.0, 2.0]                          # floats: not state
            self.g = [Sub(3.0)]                          # Value subclasses are parameters
            self.h = [[v[8], 1.0]]                       # one float inside: not a parameter tensor

    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["a[0][0]", "a[0][1]", "a[1][0]", "a[1][1]", "b[0]", "b[1][0]", "b[1][1]", "d[0]", "g[0]"]
    params = net.parameters()
    assert [p.data for p in params[:8]] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    assert all(p is v[i] for i, p in enumerate(params[:8])) and type(params[8]) is Sub
    assert all(p is q for (_, p), q in zip(net.named_parameters(), params))


def test_flatten_uniform_ragged_and_bare():
    from nn.module import flatten
    a, b, c = Value(1.0), Value(2.0), Value(3.0)
    assert flatten(a) == [a]
    assert flatten([[a, b], [c]]) == [a, b, c]
    assert flatten([a, [b, [c]]]) == [a, b, c]
    assert flatten([[[a]], [[b], [c]]]) == [a, b, c]
    assert flatten([]) == [] and flatten([[], [a]]) == [a]


def test_ragged_tensors_round_trip_through_state_dict():
    """A custom module's ragged weights (rows of different lengths) load back, row by row checked."""
    class Net(Module):
        def __init__(self):
            super().__init__()
            self.b = [[Value(0.1)], [Value(0.2), Value(0.3)]]
            self.w = [[[Value(1.0), Value(2.0)]], [[Value(3.0)], [Value(4.0)]]]

    net = Net()
    state = net.state_dict()
    assert state == {"b": [[0.1], [0.2, 0.3]], "w": [[[1.0, 2.0]], [[3.0], [4.0]]]}
    state["w"][1][1][0] = 9.0
    net.load_state_dict(state)
    assert net.state_dict()["w"] == [[[1.0, 2.0]], [[3.0], [9.0]]]
    with pytest.raises(StateDictError, match=r"'b'\[1\] has the wrong shape: expected a list of length 2"):
        net.load_state_dict({"b": [[1.0], [2.0]], "w": state["w"]})
    assert net.state_dict()["b"] == [[0.1], [0.2, 0.3]]  # all or nothing


def test_load_state_dict_takes_numpy_numbers():
    np = pytest.importorskip("numpy")
    from nn import MLP
    m = MLP(2, [1], seed=0)
    m.load_state_dict({"0.weight": [[np.float32(0.5), np.int64(2)]], "0.bias": [np.float64(-1.0)]})
    assert m.state_dict() == {"0.weight": [[0.5, 2.0]], "0.bias": [-1.0]}
    assert all(type(p.data) is float for p in m.parameters())
