"""Second derivatives: grad(create_graph=True) differentiated again.

``gradgradcheck`` compares them with finite differences of the first
derivatives; on random graphs (engine.strategies) and against PyTorch's
double backward when torch is installed.
"""
import math

import pytest

pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402

from engine import GradcheckError, Value, grad, no_grad  # noqa: E402
from engine.gradcheck import gradgradcheck  # noqa: E402
from engine.strategies import Expression, expressions  # noqa: E402


@pytest.fixture(scope="module")
def torch():
    # module scope: Hypothesis rejects function-scoped fixtures in @given tests
    return pytest.importorskip("torch")


def close(a: float, b: float, scale: float, rel: float = 1e-9) -> bool:
    """Relative closeness plus an absolute 1e-12 * scale for sums that cancel to ~0 (x / x)."""
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12 * scale


def engine_hessian(e: Expression):
    xs = [Value(x) for x in e.inputs]
    out = e(*xs)
    g = grad(out, xs, create_graph=True)
    return out, g, [list(grad(gi, xs)) for gi in g]


# --- small known cases -------------------------------------------------------------

def test_known_second_derivatives():
    x = Value(0.7)
    y = Value(-1.3)
    f = x * x * y + x.tanh() + (x * y).exp()
    gx, gy = grad(f, [x, y], create_graph=True)
    dxx, dxy = grad(gx, [x, y])
    dyx, dyy = grad(gy, [x, y])
    t = math.tanh(0.7)
    e = math.exp(0.7 * -1.3)
    assert dxx == pytest.approx(2 * -1.3 + -2 * t * (1 - t * t) + (-1.3) ** 2 * e, rel=1e-12)
    assert dxy == pytest.approx(2 * 0.7 + e + 0.7 * -1.3 * e, rel=1e-12)
    assert dyx == pytest.approx(dxy, rel=1e-12)
    assert dyy == pytest.approx(0.7 ** 2 * e, rel=1e-12)
    assert x.grad == 0.0 and y.grad == 0.0


@pytest.mark.parametrize("fn, point", [
    (lambda x: x ** 3.0, [1.3]),
    (lambda x: 2.0 ** x, [0.4]),
    (lambda x: 3.0 / x, [0.8]),
    (lambda x: 1.5 - x.sigmoid(), [-0.2]),
    (lambda x, y: x ** y, [1.7, 0.6]),
    (lambda x, y: (x / y).sqrt().log(), [2.0, 0.5]),
    (lambda x, y: x.relu() * abs(y) * x, [0.9, -0.4]),
])
def test_gradgradcheck_on_each_kind_of_op(fn, point):
    assert gradgradcheck(fn, point)


# --- random graphs ------------------------------------------------------------------

@given(expressions())
def test_second_derivatives_match_finite_differences(e):
    assert gradgradcheck(e, e.inputs)


@given(expressions())
def test_first_derivatives_with_create_graph_equal_plain_grad(e):
    xs = [Value(x) for x in e.inputs]
    out = e(*xs)
    plain = grad(out, xs)
    graph = grad(out, xs, create_graph=True)
    assert all(isinstance(g, Value) for g in graph)
    for p, g in zip(plain, graph):
        assert p == g.data or math.isclose(p, g.data, rel_tol=1e-12, abs_tol=1e-12)


@given(expressions())
def test_second_derivatives_match_torch_double_backward(torch, e):
    out, g, hess = engine_hessian(e)
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in e.inputs]
    tout = e.evaluate(ts)
    n = len(ts)
    if not tout.requires_grad:
        tg = [torch.zeros((), dtype=torch.float64)] * n
    else:
        tg = [t if t is not None else torch.zeros((), dtype=torch.float64)
              for t in torch.autograd.grad(tout, ts, create_graph=True, allow_unused=True)]
    scale = max([1.0] + [abs(v.data) for v in g] + [abs(h) for row in hess for h in row])
    for i in range(n):
        assert close(g[i].data, tg[i].item(), scale), (i, g[i].data, tg[i].item())
        if tg[i].requires_grad:
            th = [0.0 if t is None else t.item()
                  for t in torch.autograd.grad(tg[i], ts, retain_graph=True, allow_unused=True)]
        else:  # d fn/d x_i is a constant: its own derivatives are 0
            th = [0.0] * n
        for j in range(n):
            assert close(hess[i][j], th[j], scale), f"d2/dx{i}dx{j}: engine {hess[i][j]!r} vs torch {th[j]!r}"


# Third derivatives: gradgradcheck of a create_graph gradient.  Fewer examples
# (each one costs ~n times more), scaled from the active profile.
@settings(settings.default, max_examples=max(10, settings.default.max_examples // 4))
@given(expressions(max_inputs=3, max_steps=6))
def test_third_derivatives_match_finite_differences(e):
    def d_dx0(*xs):
        return grad(e(*xs), list(xs), create_graph=True)[0]

    assert gradgradcheck(d_dx0, e.inputs)


def test_third_derivative_of_pow_where_the_exponent_minus_one_is_zero_follows_pytorch():
    # d(a ** b)/da = b * a ** (b - 1), masked to 0 where its exponent is 0 (PyTorch's rule), so
    # x ** x at x = 1 has third derivative 2.0 here and in PyTorch 2.13, against 3.0 in exact
    # arithmetic; engine.strategies keeps pow's Value exponents 0.1 away from 1 and 2 for this
    x = Value(1.0)
    (d1,) = grad(x ** x, [x], create_graph=True)
    (d2,) = grad(d1, [x], create_graph=True)
    (d3,) = grad(d2, [x])
    assert (d1.data, d2.data, d3) == (1.0, 2.0, 2.0)


# create_graph turns grad mode on for the backward pass, as in PyTorch.
def test_create_graph_inside_no_grad_still_builds_the_graph():
    x = Value(0.7)
    y = x ** 4.0
    with no_grad():
        (g,) = grad(y, [x], create_graph=True)
    assert grad(g, [x])[0] == pytest.approx(12 * 0.7 ** 2)


# --- gradgradcheck itself -------------------------------------------------------------

def test_gradgradcheck_catches_a_wrong_second_derivative(monkeypatch):
    # tanh's derivative for create_graph, deliberately broken: the right value
    # 1 - y*y but as a float constant, so the graph loses its dependence on x.
    # First derivatives stay right; only the second derivative is wrong.
    from engine import ops
    monkeypatch.setattr(ops.OPS["tanh"], "value_local", lambda x, y: (1.0 - y.data * y.data,))
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda x: x.tanh(), [0.3])
    msg = str(info.value)
    assert msg.startswith("gradgradcheck: analytic and numeric second derivatives")
    assert "0,0" in msg and "MISMATCH" in msg
    row = info.value.report[0]
    assert row["analytic"] == 0.0 and row["numeric"] == pytest.approx(-2 * math.tanh(0.3) * (1 - math.tanh(0.3) ** 2))
    assert gradgradcheck(lambda x: x.tanh(), [0.3], raise_exception=False) is False


def test_gradgradcheck_at_a_non_finite_point_says_unreliable():
    with pytest.raises(GradcheckError) as info:
        gradgradcheck(lambda x: x.log(), [0.0])
    msg = str(info.value)
    assert "cannot compare" in msg and "unreliable" in msg and "MISMATCH" not in msg


def test_gradgradcheck_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        gradgradcheck(3, [1.0])
    with pytest.raises(TypeError, match="must return a Value"):
        gradgradcheck(lambda x: 1.0, [1.0])
    with pytest.raises(ValueError, match="eps"):
        gradgradcheck(lambda x: x, [1.0], eps=0.0)
    with pytest.raises(TypeError, match="inputs"):
        gradgradcheck(lambda x: x, "1")
