"""detect_anomaly(): first nan/inf in forward or backward raises, naming the op."""
import math
import threading

import pytest

import engine
from engine import AnomalyError, Value, detect_anomaly


@pytest.mark.parametrize("make,op", [
    (lambda: Value(0.0, label="x").log(), "log"),
    (lambda: Value(-1.0, label="x").sqrt(), "sqrt"),
    (lambda: Value(1000.0, label="x").exp(), "exp"),
    (lambda: Value(1.0, label="x") / 0.0, "div"),
    (lambda: 1.0 / Value(0.0, label="x"), "rdiv"),
    (lambda: Value(0.0, label="x") ** -1, "pow"),
    (lambda: Value(-8.0, label="x") ** Value(0.5), "pow"),
    (lambda: engine.dot([Value(1e200, label="x")], [1e200]), "dot"),
    (lambda: engine.sum([Value(1e308, label="x"), Value(1e308)]), "sum"),
])
def test_forward_anomaly_names_op_and_inputs(make, op):
    with detect_anomaly():
        with pytest.raises(AnomalyError) as e:
            make()
    assert f"op '{op}'" in str(e.value)
    assert "x" in str(e.value)  # the input's label


def test_forward_anomaly_shows_the_formula_that_fed_it():
    a = Value(2.0, label="a")
    b = Value(2.0, label="b")
    with detect_anomaly():
        d = a - b
        with pytest.raises(AnomalyError, match=r"\(a - b\)"):
            d.log()


def test_backward_anomaly_names_the_op():
    x = Value(0.0, label="x")
    y = x.sqrt() * 0.0  # forward is finite (0), but d sqrt/dx at 0 is inf
    with detect_anomaly():
        with pytest.raises(AnomalyError, match="backward of op 'sqrt'"):
            y.backward()


def test_nan_inputs_do_not_blame_the_op():
    # a nan that was already there is not this op's anomaly
    with detect_anomaly():
        assert math.isnan((Value(math.nan) * 2.0).data)


def test_off_by_default_and_restored():
    assert math.isinf(Value(0.0).log().data)
    with pytest.raises(AnomalyError):
        with detect_anomaly():
            Value(0.0).log()
    assert math.isinf(Value(0.0).log().data)  # off again after the exception


def test_results_under_anomaly_mode_equal_normal_mode():
    def f():
        a, b = Value(0.3), Value(-1.2)
        y = (a * b).tanh() + engine.dot([a, b], [b, 2.0]) + (2 ** a) / b.exp()
        y.backward()
        return y.data, a.grad, b.grad
    plain = f()
    with detect_anomaly():
        checked = f()
    assert plain == checked


def test_anomaly_mode_is_thread_local():
    result = {}

    def worker():
        result["worker"] = Value(0.0).log().data  # must not raise: mode is per thread

    with detect_anomaly():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert result["worker"] == -math.inf


def test_no_grad_inside_anomaly_still_checks():
    with detect_anomaly(), engine.no_grad():
        with pytest.raises(AnomalyError):
            Value(-1.0).log()


def test_grad_checks_backward_as_backward_does():
    """engine.grad inside detect_anomaly() stops at the first nan from finite gradients, as y.backward() does
    (it returned nan)."""
    import engine
    x = Value(0.0)
    y = x.log() * 0.0
    assert engine.grad(y, [x])[0] != engine.grad(y, [x])[0]  # nan outside the mode
    with engine.detect_anomaly():
        for create_graph in (False, True):
            with pytest.raises(engine.AnomalyError):
                engine.grad(y, [x], create_graph=create_graph)
        z = Value(2.0)
        assert engine.grad(z * z, [z]) == (4.0,) and engine.grad(z * z, [z], create_graph=True)[0].data == 4.0
    x = Value(1e-300)
    y = (x * 1e200) * 1e200  # recorded outside the mode: finite values, an inf gradient
    with engine.detect_anomaly():
        with pytest.raises(engine.AnomalyError, match="backward of op 'mul'"):
            engine.grad(y, [x], create_graph=True)
