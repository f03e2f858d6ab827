"""nn.losses: hand-computed values, torch.nn.functional as an oracle (values and gradients), errors."""
import math

import pytest

from engine import Value
from nn.losses import (
    binary_cross_entropy_with_logits, cross_entropy, hinge_loss, l1_loss, l1_regularization, l2_regularization,
    mse_loss, multi_margin_loss,
)


def vals(xs):
    return [Value(x) for x in xs]


# -- hand-computed ---------------------------------------------------------------

def test_mse_by_hand():
    xs = vals([1.0, 3.0])
    loss = mse_loss(xs, [0.0, 1.0])
    assert loss.data == 2.5  # (1 + 4) / 2
    loss.backward()
    assert [x.grad for x in xs] == [1.0, 2.0]  # 2 (x - t) / n
    assert mse_loss(vals([1.0, 3.0]), [0.0, 1.0], reduction="sum").data == 5.0
    assert [v.data for v in mse_loss(vals([1.0, 3.0]), [0.0, 1.0], reduction="none")] == [1.0, 4.0]


def test_l1_by_hand():
    xs = vals([3.0, -1.0])
    loss = l1_loss(xs, [1.0, 1.0])
    assert loss.data == 2.0
    loss.backward()
    assert [x.grad for x in xs] == [0.5, -0.5]


def test_hinge_by_hand():
    xs = vals([0.5, -2.0, 0.2])
    loss = hinge_loss(xs, [1, -1, -1])
    # relu(1 - 0.5) + relu(1 - 2) + relu(1 + 0.2) = 0.5 + 0 + 1.2, over 3
    assert loss.data == pytest.approx(1.7 / 3)
    loss.backward()
    assert [x.grad for x in xs] == pytest.approx([-1 / 3, 0.0, 1 / 3])


def test_bce_with_logits_by_hand():
    z = Value(0.0)
    loss = binary_cross_entropy_with_logits(z, 1.0)
    assert loss.data == pytest.approx(math.log(2))
    loss.backward()
    assert z.grad == pytest.approx(-0.5)  # sigmoid(0) - 1, also exactly at the branch point
    z2 = Value(2.0)
    l2 = binary_cross_entropy_with_logits(z2, 0.25)
    assert l2.data == pytest.approx(-(0.25 * math.log(1 / (1 + math.exp(-2))) + 0.75 * math.log(1 - 1 / (1 + math.exp(-2)))))
    l2.backward()
    assert z2.grad == pytest.approx(1 / (1 + math.exp(-2)) - 0.25)


@pytest.mark.parametrize("z,t", [(1000.0, 0.0), (-1000.0, 1.0), (1000.0, 1.0), (-1000.0, 0.0), (745.0, 0.3)])
def test_bce_with_logits_is_stable(z, t):
    v = Value(z)
    loss = binary_cross_entropy_with_logits(v, t)
    expected = max(z, 0) - z * t + math.log1p(math.exp(-abs(z)))
    assert math.isfinite(loss.data) and loss.data == pytest.approx(expected)
    loss.backward()
    assert v.grad == pytest.approx((1.0 if z > 0 else 0.0) - t)


def test_cross_entropy_by_hand():
    row = vals([1.0, 2.0, 3.0])
    loss = cross_entropy(row, 2)
    lse = math.log(math.exp(1) + math.exp(2) + math.exp(3))
    assert loss.data == pytest.approx(lse - 3.0)
    loss.backward()
    soft = [math.exp(v - lse) for v in (1.0, 2.0, 3.0)]
    assert [v.grad for v in row] == pytest.approx([soft[0], soft[1], soft[2] - 1])
    assert cross_entropy(vals([1.0, 1.0]), 0).data == pytest.approx(math.log(2))


def test_cross_entropy_is_stable_for_huge_logits():
    row = vals([1000.0, -1000.0, 0.0])
    loss = cross_entropy([row], [1])
    assert loss.data == pytest.approx(2000.0)
    loss.backward()
    assert [v.grad for v in row] == pytest.approx([1.0, -1.0, 0.0])
    assert cross_entropy([vals([1000.0, 999.0])], [0]).data == pytest.approx(math.log1p(math.exp(-1)))


def test_multi_margin_by_hand():
    assert multi_margin_loss(vals([2.0, 0.0, 1.5]), 0).data == pytest.approx(0.5 / 3)


def test_regularisation():
    ps = vals([1.0, -2.0, 3.0])
    r = l2_regularization(ps, alpha=0.1)
    assert r.data == pytest.approx(1.4)
    assert r.op == "mul" and r.parents[0].op == "dot"  # alpha * one fused node
    r.backward()
    assert [p.grad for p in ps] == pytest.approx([0.2, -0.4, 0.6])  # 2 alpha p
    ps2 = vals([1.0, -2.0, 0.5])
    r1 = l1_regularization(ps2, alpha=0.5)
    assert r1.data == pytest.approx(1.75)
    r1.backward()
    assert [p.grad for p in ps2] == [0.5, -0.5, 0.5]


def test_regularisation_accepts_a_module():
    from nn import MLP
    m = MLP(2, [3, 1], seed=0)
    assert l2_regularization(m, 1.0).data == pytest.approx(sum(p.data ** 2 for p in m.parameters()))


def test_mean_is_few_nodes():
    xs = vals([float(i) for i in range(50)])
    loss = mse_loss(xs, [0.0] * 50)
    # mul(1/n) <- dot <- 50 subs: the sum of squares is one node
    assert loss.op == "mul" and loss.parents[0].op == "dot"


# -- errors --------------------------------------------------------------------

@pytest.mark.parametrize("call,exc,match", [
    (lambda: mse_loss(vals([1.0, 2.0]), [1.0]), ValueError, "same length, got 2 and 1"),
    (lambda: mse_loss([], []), ValueError, "empty batch"),
    (lambda: mse_loss(vals([1.0]), ["a"]), TypeError, "target\\[0\\] must be a number"),
    (lambda: mse_loss(vals([1.0]), [1.0], reduction="avg"), ValueError, "reduction must be one of"),
    (lambda: hinge_loss(vals([1.0, 2.0]), [0, 1]), ValueError, "-1 or \\+1.*y \\* 2 - 1"),
    (lambda: binary_cross_entropy_with_logits(vals([1.0]), [-1]), ValueError, "in \\[0, 1\\]"),
    (lambda: cross_entropy([vals([1.0, 2.0])], [2]), ValueError, "not a class index in 0..1"),
    (lambda: cross_entropy([vals([1.0, 2.0])], [0.5]), TypeError, "class index"),
    (lambda: cross_entropy([vals([1.0, 2.0])], [0, 1]), ValueError, "1 samples but 2 targets"),
    (lambda: cross_entropy([], []), ValueError, "empty batch"),
    (lambda: cross_entropy(Value(1.0), 0), TypeError, "list of per-class scores"),
    (lambda: l2_regularization([1.0]), TypeError, "parameter 0 must be a Value"),
])
def test_loss_errors(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


# -- torch oracle ----------------------------------------------------------------

@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


XS = [0.7, -1.3, 2.2, 0.0, -0.4, 3.1]


def _torch_grad(torch, fn, xs):
    t = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
    out = fn(t)
    out.backward()
    return out.item(), t.grad.tolist()


def _ours(fn, xs):
    vs = vals(xs)
    out = fn(vs)
    out.backward()
    return out.data, [v.grad for v in vs]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_mse_l1_vs_torch(torch, reduction):
    F = torch.nn.functional
    ts = [0.5, -1.0, 2.0, 1.0, 0.0, -3.0]
    tt = torch.tensor(ts, dtype=torch.float64)
    for ours, theirs in [(mse_loss, F.mse_loss), (l1_loss, F.l1_loss)]:
        v, g = _ours(lambda v: ours(v, ts, reduction=reduction), XS)
        tv, tg = _torch_grad(torch, lambda t: theirs(t, tt, reduction=reduction), XS)
        assert v == pytest.approx(tv, rel=1e-12)
        assert g == pytest.approx(tg, rel=1e-12)


def test_bce_with_logits_vs_torch(torch):
    F = torch.nn.functional
    ts = [1.0, 0.0, 0.3, 1.0, 0.0, 0.9]
    xs = XS[:-1] + [40.0]
    for reduction in ("mean", "sum"):
        v, g = _ours(lambda v: binary_cross_entropy_with_logits(v, ts, reduction=reduction), xs)
        tv, tg = _torch_grad(torch, lambda t: F.binary_cross_entropy_with_logits(
            t, torch.tensor(ts, dtype=torch.float64), reduction=reduction), xs)
        assert v == pytest.approx(tv, rel=1e-12)
        assert g == pytest.approx(tg, rel=1e-9, abs=1e-15)


def test_hinge_vs_torch_formula(torch):
    # torch has no functional for the binary max-margin loss; compare with its formula in torch
    ts = [1, -1, 1, -1, 1, -1]
    tt = torch.tensor(ts, dtype=torch.float64)
    v, g = _ours(lambda v: hinge_loss(v, ts), XS)
    tv, tg = _torch_grad(torch, lambda t: torch.relu(1 - tt * t).mean(), XS)
    assert v == pytest.approx(tv, rel=1e-12)
    assert g == pytest.approx(tg, rel=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_cross_entropy_vs_torch(torch, reduction):
    F = torch.nn.functional
    logits = [[0.2, -1.0, 3.0], [1.5, 1.5, -0.5], [-2.0, 0.0, 100.0], [0.0, 0.0, 0.0]]
    targets = [2, 0, 1, 1]
    rows = [vals(r) for r in logits]
    loss = cross_entropy(rows, targets, reduction=reduction)
    loss.backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    tl = F.cross_entropy(t, torch.tensor(targets), reduction=reduction)
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-12)
    assert [[v.grad for v in r] for r in rows] == [pytest.approx(r, abs=1e-12) for r in t.grad.tolist()]


def test_multi_margin_vs_torch(torch):
    F = torch.nn.functional
    logits = [[0.2, -1.0, 3.0], [1.5, 1.2, -0.5], [0.0, 0.1, 0.3]]
    targets = [2, 0, 1]
    rows = [vals(r) for r in logits]
    loss = multi_margin_loss(rows, targets)
    loss.backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    tl = F.multi_margin_loss(t, torch.tensor(targets))
    tl.backward()
    assert loss.data == pytest.approx(tl.item(), rel=1e-12)
    assert [[v.grad for v in r] for r in rows] == [pytest.approx(r, abs=1e-12) for r in t.grad.tolist()]


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("delta", [1.0, 0.5, 2.5])
def test_huber_vs_torch(torch, reduction, delta):
    from nn.losses import huber_loss
    F = torch.nn.functional
    ts = [0.5, -1.0, 2.0, 1.0, 0.0, -3.0]
    tt = torch.tensor(ts, dtype=torch.float64)
    v, g = _ours(lambda v: huber_loss(v, ts, reduction=reduction, delta=delta), XS)
    tv, tg = _torch_grad(torch, lambda t: F.huber_loss(t, tt, reduction=reduction, delta=delta), XS)
    assert v == pytest.approx(tv, rel=1e-12)
    assert g == pytest.approx(tg, rel=1e-12, abs=1e-15)


def test_huber_errors():
    from nn.losses import huber_loss
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0"):
        huber_loss([Value(1.0)], [0.0], delta=0.0)
    with pytest.raises(TypeError, match="huber_loss: target\\[0\\] must be a number"):
        huber_loss([Value(1.0)], ["a"])


# -- Value targets stay in the graph (as in PyTorch), so a compiled step can feed them --------

def test_value_targets_get_gradients_by_hand():
    x, t = Value(3.0), Value(2.0)
    mse_loss([x], [t]).backward()
    assert (x.grad, t.grad) == (2.0, -2.0)  # d/dt (x - t)^2 = -2 (x - t)
    x, t = Value(0.5), Value(-1.0)
    hinge_loss([x], [t]).backward()  # relu(1 - t x) = relu(1.5): d/dt = -x
    assert (x.grad, t.grad) == (1.0, -0.5)
    with pytest.raises(ValueError, match=r"got target\[0\] = 0.0"):
        hinge_loss([Value(1.0)], [Value(0.0)])  # a Value target's current value is checked


@pytest.mark.parametrize("loss_fn", [mse_loss, l1_loss, hinge_loss, binary_cross_entropy_with_logits])
def test_compile_step_feeds_value_targets(loss_fn):
    """A loss given targets through compile_step replays with each call's targets (not the first call's)."""
    from engine import compile_step
    from nn import MLP
    model = MLP(2, [3, 1], seed=0)
    xb = [[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]]
    step = compile_step(lambda xs, ys: loss_fn([model(x) for x in xs], ys), model.parameters())
    for ys in ([1.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 1.0, 0.0]):
        ys = [2 * y - 1 for y in ys] if loss_fn is hinge_loss else ys
        model.zero_grad()
        got = step(xb, ys)
        compiled_grads = [p.grad for p in model.parameters()]
        model.zero_grad()
        want = loss_fn([model(x) for x in xb], ys)
        want.backward()
        assert got == want.data and compiled_grads == [p.grad for p in model.parameters()]
    assert len(step.compiled) == 1


def test_mse_bce_value_targets_vs_torch(torch):
    F = torch.nn.functional
    ts = [0.5, 0.0, 1.0, 0.25, 0.0, 0.75]
    for ours, theirs in [(mse_loss, F.mse_loss), (l1_loss, F.l1_loss),
                         (binary_cross_entropy_with_logits, F.binary_cross_entropy_with_logits)]:
        xs, tv = vals(XS), vals(ts)
        loss = ours(xs, tv)
        loss.backward()
        x_t = torch.tensor(XS, dtype=torch.float64, requires_grad=True)
        t_t = torch.tensor(ts, dtype=torch.float64, requires_grad=True)
        theirs(x_t, t_t).backward()
        assert [v.grad for v in tv] == pytest.approx(t_t.grad.tolist(), rel=1e-9, abs=1e-15)
        assert [v.grad for v in xs] == pytest.approx(x_t.grad.tolist(), rel=1e-9, abs=1e-15)


def test_cross_entropy_probability_targets():
    rows = [vals([0.2, -1.0, 3.0]), vals([1.5, 1.5, -0.5])]
    by_index = cross_entropy(rows, [2, 0])
    one_hot = cross_entropy(rows, [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert one_hot.data == by_index.data  # one-hot rows pick the same log-probabilities, exactly
    soft = cross_entropy(rows[0], [0.5, 0.0, 0.5])  # one sample, soft target
    lse = math.log(sum(math.exp(v) for v in [0.2, -1.0, 3.0]))
    assert soft.data == pytest.approx(-(0.5 * (0.2 - lse) + 0.5 * (3.0 - lse)), rel=1e-14)
    p = vals([0.0, 1.0, 0.0])  # probabilities as Values: in the graph, with gradients
    cross_entropy(rows[1], p).backward()
    assert p[0].grad == pytest.approx(-(1.5 - math.log(2 * math.exp(1.5) + math.exp(-0.5))), rel=1e-14)
    with pytest.raises(ValueError, match="3 class scores"):
        cross_entropy(rows, [[1.0, 0.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="not a probability"):
        cross_entropy(rows, [[1.5, 0.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(TypeError, match="a Value cannot pick a class"):
        cross_entropy(rows, [Value(1.0), Value(0.0)])


def test_cross_entropy_probability_targets_vs_torch(torch):
    F = torch.nn.functional
    logits = [[0.2, -1.0, 3.0], [1.5, 1.5, -0.5], [-2.0, 0.0, 100.0]]
    probs = [[0.1, 0.2, 0.7], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]]
    rows = [vals(r) for r in logits]
    loss = cross_entropy(rows, probs)
    loss.backward()
    t = torch.tensor(logits, dtype=torch.float64, requires_grad=True)
    F.cross_entropy(t, torch.tensor(probs, dtype=torch.float64)).backward()
    assert [[v.grad for v in r] for r in rows] == [pytest.approx(r, abs=1e-12) for r in t.grad.tolist()]
    assert loss.data == pytest.approx(F.cross_entropy(t.detach(), torch.tensor(probs, dtype=torch.float64)).item(),
                                      rel=1e-12)


def test_cross_entropy_numpy_targets():
    np = pytest.importorskip("numpy")
    rows = [vals([0.2, -1.0, 3.0]), vals([1.5, 1.5, -0.5])]
    want = cross_entropy(rows, [2, 0]).data
    assert cross_entropy(rows, np.array([[0, 0, 1.0], [1, 0, 0]])).data == want  # probability rows
    assert cross_entropy(rows, np.array([2, 0])).data == want                    # class indices


def test_cross_entropy_keeps_precision_for_large_logits():
    """log_softmax as (x_k - m) - log(sum(exp(x - m))), as PyTorch: x_k - (m + log ...) lost the small term."""
    assert cross_entropy(vals([1e17, 1e17]), 0).data == math.log(2.0)  # was 0.0
    assert cross_entropy(vals([30.0, 0.0]), 0).data == pytest.approx(math.log1p(math.exp(-30.0)), rel=1e-13)  # 1.2% off
    from nn import compiled  # fit(compile=True)'s form (a relu-built max) too
    loss = compiled._cross_entropy(vals([30.0, 0.0]), vals([1.0, 0.0]))
    assert loss.data == pytest.approx(math.log1p(math.exp(-30.0)), rel=1e-13)


def test_functional_logsumexp_of_non_finite_rows():
    from nn.functional import logsumexp
    inf = math.inf
    assert logsumexp(vals([-inf, -inf])).data == -inf and logsumexp(vals([-inf])).data == -inf  # was nan
    assert logsumexp(vals([inf, 1.0, 2.0])).data == inf


def test_hinge_of_plain_numbers_propagates_nan():
    assert math.isnan(hinge_loss(float("nan"), 1).data)  # max(0.0, nan) gave 0.0
    assert hinge_loss(0.5, 1).data == 0.5
