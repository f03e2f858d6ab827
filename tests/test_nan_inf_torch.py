"""Every op's nan/inf/±0 behaviour against PyTorch (float64), forward and backward, table-driven.

For each op record in engine.ops (so a new op is covered automatically; add
its PyTorch twin to TWINS) and each special input, the forward value and the
gradients for upstream gradients 1, -2 and inf must match PyTorch: nan where
PyTorch has nan, and to 1e-14 relative elsewhere.  That includes where
PyTorch *masks* (relu at x <= 0 gives 0 even for an inf upstream gradient)
and where it multiplies (0 * inf = nan).  The sign of a zero is not
compared: a leaf's .grad starts at +0.0 and accumulates, where PyTorch sets
a leaf's first gradient (so -0.0 + 0.0 becomes +0.0 here).

The same table is checked through grad(), grad(create_graph=True) and
compile_graph, which must agree with backward() exactly.
"""
import itertools
import math
import operator

import pytest

import engine
from engine import Value, ops

torch = pytest.importorskip("torch")

TWINS = {
    "neg": torch.neg, "exp": torch.exp, "log": torch.log, "sqrt": torch.sqrt, "tanh": torch.tanh,
    "sigmoid": torch.sigmoid, "relu": torch.relu, "abs": torch.abs,
    "add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div, "pow": torch.pow,
}
SPECIAL = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 2.5, -0.5, 1e-300, 1e308]
SPECIAL2 = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1.0, -1.0, 0.5, -2.0, 3.0]
UPSTREAM = [1.0, -2.0, math.inf]


def agree(got: float, want: float) -> bool:
    if got != got or want != want:
        return got != got and want != want
    return got == want or abs(got - want) <= 1e-14 * max(abs(got), abs(want))


def test_every_builtin_op_has_a_torch_twin():
    builtin = {n for n, op in ops.OPS.items() if op.arity in (1, 2) and not op.user}
    assert builtin <= set(TWINS), f"add the PyTorch twin of {sorted(builtin - set(TWINS))} to TWINS"


def apply(name, *args):
    op = ops.OPS[name]
    if op.dunder:
        return getattr(operator, op.dunder)(*args)
    return getattr(args[0], name)(*args[1:])


def torch_run(name, args, grad_mask, up):
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=g) for a, g in zip(args, grad_mask)]
    y = TWINS[name](*ts)
    if y.requires_grad:
        y.backward(torch.tensor(up, dtype=torch.float64))
    return y.item(), [t.grad.item() if t.grad is not None else 0.0 for t, g in zip(ts, grad_mask) if g]


@pytest.mark.parametrize("name", sorted(n for n, op in ops.UNARY.items() if not op.user))
def test_unary_special_values_match_torch(name):
    for x, up in itertools.product(SPECIAL, UPSTREAM):
        v = Value(x)
        y = apply(name, v)
        y.backward(up)
        want_y, (want_g,) = torch_run(name, [x], [True], up)
        assert agree(y.data, want_y), (name, x, "forward", y.data, want_y)
        assert agree(v.grad, want_g), (name, x, up, "grad", v.grad, want_g)


@pytest.mark.parametrize("name", sorted(n for n, op in ops.BINARY.items() if not op.user))
def test_binary_special_values_match_torch_in_every_operand_form(name):
    for a, b, up in itertools.product(SPECIAL2, SPECIAL2, UPSTREAM):
        for form in ("vv", "vc", "cv"):
            va = Value(a) if form[0] == "v" else a
            vb = Value(b) if form[1] == "v" else b
            y = apply(name, va, vb)
            y.backward(up)
            want_y, want_g = torch_run(name, [a, b], [form[0] == "v", form[1] == "v"], up)
            got_g = [v.grad for v in (va, vb) if isinstance(v, Value)]
            assert agree(y.data, want_y), (name, form, a, b, "forward", y.data, want_y)
            for g, w in zip(got_g, want_g):
                assert agree(g, w), (name, form, a, b, up, "grad", got_g, want_g)


def same(x, y):
    return (x != x and y != y) or x == y


@pytest.mark.parametrize("name", sorted(n for n, op in ops.OPS.items() if op.arity in (1, 2) and not op.user))
def test_grad_create_graph_and_replay_agree_with_backward_at_special_values(name):
    op = ops.OPS[name]
    points = [(x,) for x in SPECIAL] if op.arity == 1 else list(itertools.product(SPECIAL2, SPECIAL2))
    for args in points:
        vs = [Value(a) for a in args]
        y = apply(name, *vs).tanh() * 1.5   # a consumer above the op, so its backward multiplies
        y.backward()
        want = [v.grad for v in vs]
        assert all(same(g, w) for g, w in zip(engine.grad(y, vs), want)), (name, args, "grad")
        cg = engine.grad(y, vs, create_graph=True)
        assert all(same(g.data, w) for g, w in zip(cg, want)), (name, args, "create_graph", cg, want)
        out, grads = engine.compile_graph(y, vs).run(list(args))
        assert same(out, y.data) and all(same(g, w) for g, w in zip(grads, want)), (name, args, "replay")
