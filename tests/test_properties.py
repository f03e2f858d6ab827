"""Property tests: backward() on random expression graphs (engine.strategies).

Checked against central finite differences always, and against PyTorch
autograd (float64, 1e-9 relative) when torch is installed.  Example counts
come from the Hypothesis profiles in conftest.py (default / ci).
"""
import math
import os
import subprocess
import sys

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import seed, given, settings  # noqa: E402

import engine  # noqa: E402
from engine import GradcheckError, Value, gradcheck, grad, ops  # noqa: E402
from engine.graph import topological_order  # noqa: E402
from engine.strategies import Expression, Ref, Step, expressions  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def torch():
    # module scope: Hypothesis rejects function-scoped fixtures in @given tests
    return pytest.importorskip("torch")


def torch_run(torch, e: Expression, requires_grad: bool = True):
    """The same program as PyTorch float64 tensors: (leaf tensors, output)."""
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=requires_grad) for x in e.inputs]
    return ts, e.evaluate(ts)


def close(a: float, b: float, scale: float, rel: float = 1e-9) -> bool:
    """|a - b| <= rel * max(|a|, |b|) + 1e-12 * scale.

    Why the absolute term: a gradient that is a sum of terms cancelling to
    ~0 (d/dx of x / x) has no meaningful relative precision (engine 0.0 vs
    torch 3.6e-15 was seen); ``scale`` is the largest magnitude in play.
    """
    if a == b:
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b)) + 1e-12 * scale


def engine_grads(e: Expression):
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(e.inputs)]
    out = e(*xs)
    out.backward()
    return xs, out


# --- backward vs finite differences and PyTorch --------------------------------

@given(expressions())
def test_backward_matches_finite_differences(e):
    assert gradcheck(e, e.inputs)


@given(expressions())
def test_backward_matches_torch(torch, e):
    xs, out = engine_grads(e)
    ts, tout = torch_run(torch, e)
    scale = max([1.0, abs(out.data)] + [abs(x.grad) for x in xs])
    assert close(out.data, tout.item(), scale), (out.data, tout.item())
    if not tout.requires_grad:  # output does not depend on any input
        assert all(x.grad == 0.0 for x in xs)
        return
    tgrads = torch.autograd.grad(tout, ts, allow_unused=True)
    for i, (x, tg) in enumerate(zip(xs, tgrads)):
        tg = 0.0 if tg is None else tg.item()
        assert close(x.grad, tg, scale), f"d/dx{i}: engine {x.grad!r} vs torch {tg!r}"


@given(expressions())
def test_second_backward_doubles_leaf_grads(e):
    xs, out = engine_grads(e)
    first = [x.grad for x in xs]
    out.backward()
    # leaves accumulate (PyTorch semantics).  Not bit-exact: a leaf used twice
    # gets g = a + b, then (a + b) + a + b, which may round differently from 2g.
    for x, g in zip(xs, first):
        assert math.isclose(x.grad, 2 * g, rel_tol=1e-12, abs_tol=1e-9), (x.grad, g)


@given(expressions())
def test_grad_leaves_dot_grad_untouched_and_equals_backward(e):
    xs = [Value(x) for x in e.inputs]
    out = e(*xs)
    g = grad(out, xs)
    assert all(x.grad == 0.0 for x in xs)
    assert all(v.grad == 0.0 for v in topological_order(out))
    out.backward()
    for gi, x in zip(g, xs):
        # same local derivatives, possibly summed in another order
        assert gi == x.grad or math.isclose(gi, x.grad, rel_tol=1e-12, abs_tol=1e-12)


# --- what the strategy draws ----------------------------------------------------

def _walk(e: Expression):
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(e.inputs)]
    return topological_order(e(*xs))


@given(expressions())
def test_drawn_points_are_inside_every_op_domain(e):
    for v in _walk(e):
        assert math.isfinite(v.data) and abs(v.data) <= 100.0, (e, v)
        if v.op in ("relu", "abs"):  # kinks excluded, by a margin
            assert abs(v.parents[0].data) >= 0.1, e
        if v.op in ("log", "sqrt"):
            assert v.parents[0].data >= 0.1, e
        if v.op == "div" and len(v.parents) == 2:
            assert abs(v.parents[1].data) >= 0.1, e
        if v.op == "rdiv":
            assert abs(v.parents[0].data) >= 0.1, e
        if v.op == "pow" and len(v.parents) == 2:  # Value exponent: positive base
            assert v.parents[0].data >= 0.1, e


def test_every_op_form_and_sharing_is_drawn():
    seen = set()

    # Fixed seeds, tried in turn until everything has been seen: Hypothesis
    # mixes literals from the loaded modules into its draws, so one fixed
    # seed's examples still differ between a single-file and a full run.
    def collect(e):
        for v in _walk(e):
            if v.op in ops.BINARY or v.op in ("rsub", "rdiv", "rpow"):
                seen.add((v.op, "vv" if len(v.parents) == 2 else "vc"))
            seen.add(v.op)
        counts = {}
        for s in e.steps:
            for x in (s.args[0] + s.args[1] if s.op == "dot" else s.args):
                if type(x) is Ref:
                    counts[x.i] = counts.get(x.i, 0) + 1
        if any(c > 1 for c in counts.values()):
            seen.add("shared")

    want = set(ops.UNARY) | set(ops.BINARY) | {"sum", "dot", "rsub", "rdiv", "rpow", "shared"}
    want |= {(name, "vv") for name in ops.BINARY} | {(name, "vc") for name in ops.BINARY}
    for k in range(8):
        seed(k)(settings(max_examples=300, database=None)(given(expressions())(collect)))()
        if want <= seen:
            break
    # (reflected forms show up as the ops rsub/rdiv/rpow; radd/rmul keep add/mul's names)
    assert want <= seen, f"never drawn: {want - seen}"


def test_a_new_op_record_is_drawn_automatically():
    # A new op, one entry in engine.ops ("square"): expressions() draws it with no other change.
    op = ops.unary("square", "x * x", "2.0 * x", doc="x squared.")
    used = set()
    try:
        @settings(max_examples=200, database=None)
        @given(expressions())
        def check(e):
            used.update(e.used_ops())
            assert gradcheck(e, e.inputs)

        check()
    finally:
        ops._forget(op)
    assert "square" in used


def test_bad_strategy_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown op"):
        expressions(ops=["tanh", "nope"])
    with pytest.raises(ValueError, match="clash"):
        expressions(extra_unary={"tanh": softplus})
    with pytest.raises(ValueError, match="not drawn"):
        expressions(domains={"nope": lambda x: True})
    with pytest.raises(ValueError, match="min_inputs"):
        expressions(min_inputs=3, max_inputs=2)
    with pytest.raises(TypeError, match="callable"):
        expressions(extra_unary={"f": 3})


@given(expressions(ops=["log", "mul"], min_inputs=2, max_inputs=2, constants=False))
def test_strategy_options_are_respected(e):
    assert e.n_inputs == 2
    assert {s.op for s in e.steps} <= {"log", "mul"}
    assert all(type(x) is Ref for s in e.steps for x in s.args)


def test_repr_is_the_formula_with_its_point():
    e = Expression([0.5, -1.2], [Step("mul", (Ref(0), Ref(1))), Step("add", (Ref(2), Ref(0))),
                                 Step("tanh", (Ref(3),))])
    assert repr(e) == "tanh((x0 * x1) + x0) at x0=0.5, x1=-1.2"
    e = Expression([2.0], [Step("sub", (2.0, Ref(0))), Step("pow", (3.0, Ref(1))), Step("neg", (Ref(2),)),
                           Step("dot", ((Ref(3), 2.0), (Ref(0), Ref(3)))), Step("sum", (Ref(4), Ref(4), 0.5))])
    assert repr(e) == "sum(dot([-(3.0 ** (2.0 - x0)), 2.0], [x0, -(3.0 ** (2.0 - x0))]), " \
                      "dot([-(3.0 ** (2.0 - x0)), 2.0], [x0, -(3.0 ** (2.0 - x0))]), 0.5) at x0=2.0"


@given(expressions())
def test_formula_is_faithful(e):
    # The printed formula, read back as Python over Values, is the same computation.
    names = {name: (lambda n: lambda v: getattr(v, {"neg": "__neg__", "abs": "__abs__"}.get(n, n))())(name)
             for name in ops.UNARY}
    names.update(sum=lambda *xs: engine.sum(xs), dot=engine.dot)
    xs = [Value(x) for x in e.inputs]
    names.update({f"x{i}": x for i, x in enumerate(xs)})
    assert eval(e.formula(), names).data == e(*[Value(x) for x in e.inputs]).data  # noqa: S307


# --- users' own ops ------------------------------------------------------------

def softplus(x):
    return (x.exp() + 1.0).log()


def test_extra_user_ops_are_used_in_every_expression():
    try:
        import torch
    except ImportError:  # the torch comparison is a bonus here, not the point
        torch = None

    @settings(max_examples=50, database=None)
    @given(expressions(extra_unary={"softplus": softplus},
                       extra_binary={"hypot": lambda a, b: (a * a + b * b + 0.01).sqrt()}))
    def check(e):
        assert {"softplus", "hypot"} <= e.used_ops()
        assert gradcheck(e, e.inputs)
        if torch is None:
            return
        # the user's function is duck-typed: the same code runs on tensors
        xs, out = engine_grads(e)
        ts, tout = torch_run(torch, e)
        assert close(out.data, tout.item(), 1.0 + abs(out.data))

    check()


def cube_with_wrong_backward(x: Value) -> Value:
    """x ** 3 whose recorded local derivative is 2x² (should be 3x²)."""
    y = x ** 3.0
    y._local = 2.0 * x.data ** 2
    return y


def test_a_wrong_user_op_is_caught_and_shrinks_to_a_readable_formula():
    @settings(max_examples=100, database=None)
    @given(expressions(extra_unary={"cube": cube_with_wrong_backward}))
    def check(e):
        assert gradcheck(e, e.inputs)

    with pytest.raises(GradcheckError) as info:
        check()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    # Hypothesis prints the shrunk example with our __repr__: a formula, not an object dump
    assert "cube(" in notes and " at x0=" in notes and "Expression object" not in notes, notes
    msg = str(info.value)
    assert "MISMATCH" in msg and "analytic" in msg and "numeric" in msg


def test_gradcheck_report_on_a_wrong_op_reads_well():
    def wrong(a, b):
        y = a * b
        y._local = (b.data * 2.0, a.data)  # d/da should be b
        return y.tanh()

    with pytest.raises(GradcheckError) as info:
        gradcheck(wrong, [1.5, 0.2])
    lines = str(info.value).splitlines()
    assert lines[0].startswith("gradcheck: analytic and numeric gradients differ for input(s) [0]")
    assert lines[1].split() == ["input", "value", "analytic", "numeric", "abs", "err", "rel", "err"]
    assert lines[2].endswith("<-- MISMATCH") and lines[2].split()[0] == "0"
    assert "MISMATCH" not in lines[3]
    assert len({len(line.split("<--")[0].rstrip()) for line in lines[1:]}) == 1  # columns line up
    row = info.value.report[0]
    assert row["analytic"] == pytest.approx(2 * row["numeric"], rel=1e-6)


def test_gradcheck_at_a_non_finite_point_says_unreliable_not_mismatch():
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: x.log() * y, [0.0, 2.0])
    msg = str(info.value)
    assert "cannot compare" in msg and "unreliable" in msg and "MISMATCH" not in msg


# --- packaging ------------------------------------------------------------------

def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)


def test_import_engine_does_not_import_hypothesis():
    r = _run("import sys, engine; engine.Value(1.0).tanh(); "
             "assert 'hypothesis' not in sys.modules, 'engine imported hypothesis'")
    assert r.returncode == 0, r.stderr


def test_strategies_without_hypothesis_says_how_to_install():
    # sys.modules[name] = None makes `import name` raise ImportError, as if not installed
    r = _run("import sys; sys.modules['hypothesis'] = None\n"
             "try:\n    import engine.strategies\nexcept ImportError as e:\n    print(e)\n"
             "else:\n    raise SystemExit('imported without hypothesis')")
    assert r.returncode == 0, r.stderr
    assert "pip install chainrule[strategies]" in r.stdout and "pip install hypothesis" in r.stdout
