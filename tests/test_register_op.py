"""engine.register_op: a user's own op works everywhere a built-in op does, and bad definitions are refused."""
import math

import pytest

import engine
from engine import GradcheckError, OpError, Value, gradcheck, gradgradcheck, register_op


def softplus_float(x):
    return math.log1p(math.exp(x)) if x < 30 else x


@pytest.fixture
def softplus():
    # the CONTRACT's example; its derivative uses math, so it has no second derivative
    return register_op("softplus", softplus_float, [lambda x, y: 1 / (1 + math.exp(-x))])


@pytest.fixture
def hypot():
    return register_op("hypot", math.hypot, [lambda a, b, y: a / y, lambda a, b, y: b / y])


@pytest.fixture
def cube():
    # derivatives written with operations that also work on Values: differentiable twice
    return register_op("cube", lambda x: x ** 3, [lambda x, y: 3 * x * x])


def test_a_unary_op_end_to_end(softplus):
    x = Value(0.5, label="x")
    y = x.softplus()
    assert y.op == "softplus" and y.parents == (x,)
    assert y.data == softplus_float(0.5)
    assert softplus(x).data == y.data                       # the returned function
    assert isinstance(softplus(0.5), Value) and softplus(0.5).data == y.data  # numbers in: a constant Value
    y.backward()
    assert x.grad == pytest.approx(1 / (1 + math.exp(-0.5)), rel=1e-15)
    for point in (-3.0, -0.2, 0.0, 1.7, 12.0):
        assert gradcheck(lambda t: t.softplus() * t, [point])
    assert engine.formula((x * 2.0).softplus()) == "softplus((x * 2))"
    assert engine.grad((x.softplus() + x).tanh(), [x])[0] == pytest.approx(
        (1 - math.tanh(softplus_float(0.5) + 0.5) ** 2) * (1 / (1 + math.exp(-0.5)) + 1), rel=1e-12)


def test_a_binary_named_op_in_every_operand_form(hypot):
    a, b = Value(3.0), Value(4.0)
    y = a.hypot(b)
    assert y.data == 5.0 and y.op == "hypot" and y.parents == (a, b)
    y.backward()
    assert (a.grad, b.grad) == (0.6, 0.8)
    assert gradcheck(lambda s, t: s.hypot(t), [1.5, -2.0])
    assert gradcheck(lambda s: s.hypot(s), [1.5])               # one Value on both sides
    assert gradcheck(lambda s: s.hypot(2.0), [1.5])             # Value op number
    r = hypot(2.0, Value(1.5))                                   # number op Value: the reflected op
    assert r.op == "rhypot" and r.data == math.hypot(2.0, 1.5)
    assert gradcheck(lambda t: hypot(2.0, t), [1.5])
    assert engine.formula(r) == "hypot(2, 1.5)"
    with pytest.raises(TypeError, match="hypot: expected a Value or a number"):
        a.hypot("4")


def test_create_graph_works_when_the_derivatives_use_value_operations(cube):
    assert gradgradcheck(lambda t: t.cube(), [0.7])
    assert gradgradcheck(lambda t: (t.cube() * t).tanh(), [0.3])
    x = Value(2.0)
    (d,) = engine.grad(x.cube(), [x], create_graph=True)
    assert d.data == 12.0 and engine.grad(d, [x])[0] == 12.0


def test_create_graph_says_so_when_a_derivative_uses_math(softplus):
    x = Value(0.5)
    assert engine.grad(x.softplus(), [x])[0] == pytest.approx(0.6224593312018546)  # first order is fine
    with pytest.raises(TypeError, match="derivative of op 'softplus' turned a Value into a float"):
        engine.grad(x.softplus(), [x], create_graph=True)
    float(x)  # only while that derivative runs: float() works again afterwards


def test_registered_ops_are_drawn_replayed_and_checked(softplus, hypot):
    pytest.importorskip("graphviz")
    x = Value(0.5, label="x")
    y = x.softplus().hypot(x)
    y.backward()
    assert "softplus" in engine.draw_dot(y).source and "hypot" in engine.draw_dot(y).source
    f = engine.compile_graph(y, [x])
    out, (dx,) = f.run([0.5])
    assert out == y.data and dx == x.grad
    out, (dx,) = f.run([-1.25])
    z = Value(-1.25)
    w = z.softplus().hypot(z)
    w.backward()
    assert out == w.data and dx == z.grad


def test_domain_errors_follow_the_ieee_policy_and_anomaly_names_the_op():
    register_op("mylog", math.log, [lambda x, y: 1 / x])
    y = Value(-1.0).mylog()
    assert math.isnan(y.data) and y.local_grads == (-1.0,)  # math domain error -> nan, as log(-1) is
    with engine.detect_anomaly(), pytest.raises(engine.AnomalyError, match="op 'mylog'"):
        Value(-1.0).mylog()
    x = Value(0.0)
    z = x.mylog()  # math.log(0) and 1 / 0 both raise in Python; here they are nan
    assert math.isnan(z.data) and math.isnan(z.local_grads[0])


def test_a_bad_derivative_is_an_error_naming_the_op_and_inputs_never_a_silent_wrong_gradient():
    register_op("bad_none", lambda x: 2 * x, [lambda x, y: None])
    with pytest.raises(TypeError, match=r"op 'bad_none': its derivative 0 returned NoneType None at x=1.5, y=3.0"):
        Value(1.5).bad_none()
    register_op("bad_raise", lambda x: 2 * x, [lambda x, y: x.nonexistent])
    with pytest.raises(OpError, match=r"op 'bad_raise': its derivative 0 raised AttributeError.* at x=1.5, y=3.0"):
        Value(1.5).bad_raise()
    register_op("bad_str", lambda x: "2", [lambda x, y: 1.0])
    with pytest.raises(TypeError, match="op 'bad_str': its forward returned str '2' at x=1.5"):
        Value(1.5).bad_str()
    register_op("bad_bool", lambda x: x, [lambda x, y: True])
    with pytest.raises(TypeError, match="returned bool True"):
        Value(1.5).bad_bool()
    # a wrong (but well-formed) derivative is what gradcheck is for
    register_op("wrong", lambda x: x * x, [lambda x, y: x])
    with pytest.raises(GradcheckError, match="differ"):
        gradcheck(lambda t: t.wrong(), [1.5])


@pytest.mark.parametrize("call,exc,match", [
    (lambda: register_op("tanh", math.tanh, [lambda x, y: 1 - y * y]), ValueError, "'tanh' already exists"),
    (lambda: register_op("data", math.tanh, [lambda x, y: 1.0]), ValueError, "'data' clashes"),
    (lambda: register_op("backward", math.tanh, [lambda x, y: 1.0]), ValueError, "'backward' clashes"),
    (lambda: register_op("rsub", math.tanh, [lambda x, y: 1.0]), ValueError, "'rsub' clashes"),
    (lambda: register_op("2fast", math.tanh, [lambda x, y: 1.0]), ValueError, "identifier"),
    (lambda: register_op("_mine", math.tanh, [lambda x, y: 1.0]), ValueError, "identifier"),
    (lambda: register_op(3, math.tanh, [lambda x, y: 1.0]), ValueError, "identifier"),
    (lambda: register_op("f", math.tanh, []), TypeError, "1 \\(unary op\\) or 2 \\(binary op\\)"),
    (lambda: register_op("f", math.tanh, [lambda x, y: 1.0] * 3), TypeError, "got 3"),
    (lambda: register_op("f", math.tanh, lambda x, y: 1.0), TypeError, "list of 1 or 2 functions"),
    (lambda: register_op("f", lambda a, b: a, [lambda x, y: 1.0]), TypeError, "forward takes 2 input"),
    (lambda: register_op("f", math.tanh, [lambda x: 1.0]), TypeError, "called as d\\(x, y\\)"),
    (lambda: register_op("f", math.hypot, [lambda a, b, y: 1.0, lambda a, y: 1.0]), TypeError,
     "called as d\\(a, b, y\\)"),
    (lambda: register_op("f", 3.0, [lambda x, y: 1.0]), TypeError, "forward must be a function"),
    (lambda: register_op("f", math.tanh, [2.0]), TypeError, "derivatives\\[0\\] must be a function"),
    (lambda: register_op("f", math.tanh, [lambda x, y: 1.0], domain=3), TypeError, "domain"),
])
def test_bad_registrations_are_refused(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_replace_redefines_only_your_own_ops():
    register_op("twice", lambda x: 2 * x, [lambda x, y: 2.0])
    with pytest.raises(ValueError, match="replace=True"):
        register_op("twice", lambda x: 3 * x, [lambda x, y: 3.0])
    register_op("twice", lambda x: 3 * x, [lambda x, y: 3.0], replace=True)  # re-running a notebook cell
    assert Value(1.0).twice().data == 3.0
    with pytest.raises(ValueError, match="already exists"):
        register_op("exp", math.exp, [lambda x, y: y], replace=True)


def test_method_false_makes_only_a_function():
    f = register_op("quiet", lambda x: x + 1, [lambda x, y: 1.0], method=False)
    assert not hasattr(Value, "quiet")
    y = f(Value(1.0))
    assert y.data == 2.0 and y.op == "quiet"


def test_registered_ops_match_torch_where_it_has_them(softplus, hypot):
    torch = pytest.importorskip("torch")
    for x in (-2.0, 0.3, 4.0):
        v = Value(x)
        v.softplus().backward()
        t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        torch.nn.functional.softplus(t).backward()
        assert v.grad == pytest.approx(t.grad.item(), rel=1e-12)
    a, b = Value(-1.5), Value(0.25)
    a.hypot(b).backward()
    ta = torch.tensor(-1.5, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(0.25, dtype=torch.float64, requires_grad=True)
    torch.hypot(ta, tb).backward()
    assert (a.grad, b.grad) == pytest.approx((ta.grad.item(), tb.grad.item()), rel=1e-12)
