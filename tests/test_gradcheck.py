"""gradcheck: the contract signature, bad input, readable failures."""
import math

import pytest

from engine import GradcheckError, Value, gradcheck


def test_passes_on_a_correct_function():
    assert gradcheck(lambda a, b: (a * b + a.exp()).tanh() / b, [0.3, -1.4]) is True


def test_catches_a_wrong_derivative_with_a_per_input_report():
    def wrong(a, b):
        y = a * b
        y._local = (b.data * 2.0, a.data)  # deliberately wrong d/da
        return y

    with pytest.raises(GradcheckError) as e:
        gradcheck(wrong, [1.5, 2.0])
    msg = str(e.value)
    assert "input(s) [0]" in msg
    assert "analytic" in msg and "numeric" in msg and "MISMATCH" in msg
    rows = e.value.report
    assert rows[0]["ok"] is False and rows[1]["ok"] is True
    assert rows[0]["analytic"] == pytest.approx(4.0) and rows[0]["numeric"] == pytest.approx(2.0)
    assert gradcheck(wrong, [1.5, 2.0], raise_exception=False) is False


def test_non_finite_point_is_reported_as_unreliable():
    with pytest.raises(GradcheckError, match="cannot compare"):
        gradcheck(lambda a: a.log(), [0.0])


@pytest.mark.parametrize("ret", [1.0, None, "x", [Value(1.0)]])
def test_fn_must_return_a_value(ret):
    with pytest.raises(TypeError, match="must return a Value"):
        gradcheck(lambda a: ret, [1.0])


@pytest.mark.parametrize("inputs", [["1"], [None], "12", 3.0, [True]])
def test_inputs_must_be_numbers(inputs):
    with pytest.raises(TypeError, match="gradcheck"):
        gradcheck(lambda a: a, inputs)


def test_fn_must_be_callable_and_tolerances_valid():
    with pytest.raises(TypeError, match="callable"):
        gradcheck(3, [1.0])
    with pytest.raises(ValueError, match="eps"):
        gradcheck(lambda a: a, [1.0], eps=0.0)
    with pytest.raises(ValueError, match="atol"):
        gradcheck(lambda a: a, [1.0], atol=math.nan)


@pytest.mark.parametrize("fn,x", [(lambda a: a.relu(), 0.0), (lambda a: abs(a), 1e-8)])
def test_a_kink_is_reported_as_such_not_as_a_wrong_derivative(fn, x):
    with pytest.raises(GradcheckError) as e:
        gradcheck(fn, [x])
    assert "not differentiable" in str(e.value) and "left slope" in str(e.value)
    assert "MISMATCH" not in str(e.value)


def test_a_wrong_derivative_at_a_smooth_point_is_still_a_mismatch():
    def wrong(a):
        y = a * a
        y._local = (a.data, 0.0)  # sums to a, should be 2a: off by a factor 2 everywhere
        return y
    with pytest.raises(GradcheckError, match="MISMATCH"):
        gradcheck(wrong, [3.0])


def test_arity_errors_and_empty_inputs_are_explained():
    with pytest.raises(TypeError, match=r"one Value per input \(1 given\)"):
        gradcheck(lambda a, b: a * b, [1.0])
    with pytest.raises(ValueError, match="inputs is empty"):
        gradcheck(lambda: Value(1.0), [])


def test_an_eps_below_the_inputs_precision_is_named():
    from engine import GradcheckError, gradcheck
    with pytest.raises(GradcheckError, match=r"eps=1e-06 is below the precision of input 0 = 1e\+20"):
        gradcheck(lambda x: x * 2, [1e20])  # it said the gradients differ
    assert gradcheck(lambda x: x * 2, [1e20], eps=1e14)
