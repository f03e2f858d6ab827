"""micrograd's two classic sanity expressions, checked against PyTorch (float64)."""
import pytest

from engine import Value

torch = pytest.importorskip("torch")


def test_sanity_check():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y

    x = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert ymg.data == y.data.item()
    assert xmg.grad == x.grad.item()


def test_more_ops():
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b ** 3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    amg, bmg, gmg = a, b, g

    a = torch.tensor([-4.0], dtype=torch.double, requires_grad=True)
    b = torch.tensor([2.0], dtype=torch.double, requires_grad=True)
    c = a + b
    d = a * b + b ** 3
    c = c + c + 1
    c = c + 1 + c + (-a)
    d = d + d * 2 + (b + a).relu()
    d = d + 3 * d + (b - a).relu()
    e = c - d
    f = e ** 2
    g = f / 2.0
    g = g + 10.0 / f
    g.backward()
    tol = 1e-9
    assert abs(gmg.data - g.data.item()) < tol
    assert abs(amg.grad - a.grad.item()) < tol
    assert abs(bmg.grad - b.grad.item()) < tol


def test_every_unary_op_matches_torch():
    from engine import ops
    torch_fn = {"neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt,
                "tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "abs": torch.abs}
    assert set(torch_fn) >= set(ops.UNARY), "add the torch twin of the new op here"
    for name in ops.UNARY:
        for x0 in (0.3, 1.7, -0.9, 0.0, -0.0, 50.0):
            v = Value(x0)
            y = getattr(v, {"neg": "__neg__", "abs": "__abs__"}.get(name, name))()
            y.backward()
            t = torch.tensor(x0, dtype=torch.double, requires_grad=True)
            ty = torch_fn[name](t)
            ty.backward()
            same = (y.data == ty.item()) or (y.data != y.data and ty.item() != ty.item())
            assert same or y.data == pytest.approx(ty.item(), rel=1e-12), (name, x0)
            tg = t.grad.item()
            assert (v.grad == tg) or (v.grad != v.grad and tg != tg) or v.grad == pytest.approx(tg, rel=1e-12), (name, x0, v.grad, tg)
