"""Loss functions and regularisation, named as in ``torch.nn.functional``.

Every loss takes the model's outputs (Values) and targets and returns one
Value.  Targets are numbers, or Values, which stay in the graph as in
PyTorch: ``backward()`` fills their ``.grad`` (pass ``t.data`` for a target
that must stay constant, such as a TD target), and a compiled step
(``engine.compile_graph``/``compile_step``) can feed them per call.  ``reduction`` is ``"mean"`` (default), ``"sum"`` or
``"none"`` (a list, one Value per sample), as in PyTorch.

Sums use the engine's fused ``sum``/``dot`` nodes: a mean over N samples
is 2 nodes, not N.

>>> from engine import Value
>>> from nn.losses import mse_loss
>>> mse_loss([Value(1.0), Value(3.0)], [0.0, 1.0]).data
2.5
"""
from __future__ import annotations

import math
from typing import List, Union

from engine import Value, dot
from engine import sum as vsum

from .checks import class_index, is_number, real, short

Number = Union[int, float]
REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction, where: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")


def _as_batch(x, where: str, what: str) -> list:
    """One Value/number as a batch of one, or a list of them as a list."""
    if isinstance(x, Value) or is_number(x):
        return [x]
    if isinstance(x, (str, bytes, dict)) or not hasattr(x, "__iter__"):
        raise TypeError(f"{where}: {what} must be a Value/number or a list of them, got {type(x).__name__}")
    return list(x)


def _check_inputs(xs: list, where: str) -> list:
    """The inputs with plain numbers (numpy scalars too) as floats; TypeError for anything else."""
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, Value):
            out.append(x)
        elif is_number(x):
            out.append(real(x, f"input[{i}]", where, finite=False))  # nan/inf propagate as in PyTorch
        else:
            raise TypeError(f"{where}: input[{i}] must be a Value or a number (one output per sample), "
                            f"got {type(x).__name__} {short(x)}")
    return out


def _pair(input, target, where: str):
    """Inputs and targets as equal-length lists, non-empty; targets as Values (kept) or floats."""
    xs = _check_inputs(_as_batch(input, where, "input"), where)
    ts = _as_batch(target, where, "target")
    if len(xs) != len(ts):
        raise ValueError(f"{where}: input and target must have the same length, got {len(xs)} and {len(ts)}")
    if not xs:
        raise ValueError(f"{where}: got an empty batch; pass at least one sample")
    out = []
    for i, t in enumerate(ts):
        out.append(t if isinstance(t, Value) else real(t, f"target[{i}]", where, finite=False))
    return xs, out


def _number(t) -> float:
    """A target's value, for checks (a Value target stays in the graph; its current value is checked)."""
    return t.data if isinstance(t, Value) else t


def _as_value(x) -> Value:
    return x if isinstance(x, Value) else Value(x)


def _reduce(losses: list, reduction: str):
    if reduction == "none":
        return losses
    total = vsum(losses)
    if reduction == "sum":
        return total
    return total * (1.0 / len(losses))


def mse_loss(input, target, reduction: str = "mean"):
    """Mean squared error, mean((input - target) ** 2).

    >>> mse_loss(Value(3.0), 1.0).data
    4.0
    """
    _check_reduction(reduction, "mse_loss")
    xs, ts = _pair(input, target, "mse_loss")
    diffs = [x - t for x, t in zip(xs, ts)]
    if reduction == "none":
        return [d * d for d in diffs]
    total = dot(diffs, diffs)  # the sum of squares as one node
    if not isinstance(total, Value):
        total = Value(total)
    return total if reduction == "sum" else total * (1.0 / len(diffs))


def l1_loss(input, target, reduction: str = "mean"):
    """Mean absolute error, mean(|input - target|).

    >>> l1_loss([Value(3.0), Value(-1.0)], [1.0, 1.0]).data
    2.0
    """
    _check_reduction(reduction, "l1_loss")
    xs, ts = _pair(input, target, "l1_loss")
    return _reduce([abs(_as_value(x - t)) for x, t in zip(xs, ts)], reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0):
    """Huber loss (``torch.nn.functional.huber_loss``): 0.5 d² where |d| <= delta, else delta (|d| - delta/2),
    with d = input - target.  Squared near the target, linear (robust to outliers) far from it.
    The piece is chosen from the data when the graph is recorded, so a compiled
    replay (``engine.compile_step``) keeps it even if |d| crosses delta:
    compile such steps with a branch-free loss (``nn.fit(compile=True)`` does).

    >>> huber_loss([Value(0.5), Value(3.0)], [0.0, 0.0]).data   # (0.125 + 2.5) / 2
    1.3125
    """
    _check_reduction(reduction, "huber_loss")
    xs, ts = _pair(input, target, "huber_loss")
    delta = real(delta, "delta", "huber_loss", minimum=0.0, low_open=True)
    losses = []
    for x, t in zip(xs, ts):
        d = _as_value(x - t)
        # which piece applies is a constant decision, as in PyTorch; both pieces meet at |d| = delta
        losses.append(d * d * 0.5 if abs(d.data) <= delta else (abs(d) - 0.5 * delta) * delta)
    return _reduce(losses, reduction)


def _relu(z: float) -> float:
    return 0.0 if z < 0.0 else z  # as Value.relu: nan stays nan (max(0.0, nan) is 0.0)


def _check_pm1(ts: list, where: str) -> None:
    for i, t in enumerate(ts):
        if type(t) is not float:  # (numbers are floats by now: a call per target only for Values)
            t = _number(t)
        if t != 1.0 and t != -1.0:
            raise ValueError(f"{where}: targets must be -1 or +1, got target[{i}] = {t!r}; "
                             f"convert 0/1 labels with y * 2 - 1")


def hinge_loss(input, target, margin: float = 1.0, reduction: str = "mean"):
    """Max-margin (SVM) loss for binary labels -1/+1: mean(relu(margin - target * input)).

    The loss of micrograd's demo.  (PyTorch has no functional with this
    exact name; ``torch.nn.functional.hinge_embedding_loss`` differs.)

    >>> hinge_loss([Value(0.5), Value(-2.0)], [1, -1]).data
    0.25
    """
    _check_reduction(reduction, "hinge_loss")
    xs, ts = _pair(input, target, "hinge_loss")
    _check_pm1(ts, "hinge_loss")
    m = real(margin, "margin", "hinge_loss")
    # (x * -t + m).relu(): 3 nodes per sample; -t and m are constants
    losses = [(x * -t + m).relu() if isinstance(x, Value) or isinstance(t, Value) else Value(_relu(x * -t + m))
              for x, t in zip(xs, ts)]
    return _reduce(losses, reduction)


def _bce_one(z, t) -> Value:
    """log(1 + e^z) - t * z, stable for any z, with the exact gradient sigmoid(z) - t everywhere.

    Branch on the sign of z (a constant decision, like PyTorch's
    max(z, 0) trick) so exp never overflows and there is no kink at z = 0:
      z >= 0:  (1 - t) * z + log(1 + e^-z)
      z <  0:  -t * z     + log(1 + e^z)
    """
    if not isinstance(z, Value):
        z = Value(z)
    if z.data >= 0.0:
        return z * (1.0 - t) + ((-z).exp() + 1.0).log()
    return z * -t + (z.exp() + 1.0).log()


def binary_cross_entropy_with_logits(input, target, reduction: str = "mean"):
    """Binary cross-entropy on raw scores (logits), targets in [0, 1]; numerically stable.

    Its stable form is chosen from the logit's sign when the graph is
    recorded, so a compiled replay (``engine.compile_step``) can overflow to
    inf if a logit changes sign and grows past ~700; ``nn.fit(compile=True)``
    uses a branch-free form.

    >>> round(binary_cross_entropy_with_logits(Value(0.0), 1.0).data, 6)
    0.693147
    >>> binary_cross_entropy_with_logits(Value(1000.0), 0.0).data   # no overflow
    1000.0
    """
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    xs, ts = _pair(input, target, "binary_cross_entropy_with_logits")
    for i, t in enumerate(ts):
        if not 0.0 <= _number(t) <= 1.0:
            raise ValueError(f"binary_cross_entropy_with_logits: targets must be in [0, 1], got target[{i}] = {_number(t)!r}; "
                             f"convert -1/+1 labels with (y + 1) / 2")
    return _reduce([_bce_one(z, t) for z, t in zip(xs, ts)], reduction)


def _shifted_lse(row: list) -> tuple:
    """(row - m, log(sum(exp(row - m)))) with m the row's max (a constant), as PyTorch's log_softmax.

    log_softmax_k = (row_k - m) - that log: subtracting the max before the
    log keeps the precision that row_k - (m + log) loses when |m| is large.
    """
    m = max(v.data if isinstance(v, Value) else v for v in row)
    if not math.isfinite(m):
        m = 0.0  # inf/nan logits: let them propagate as in PyTorch rather than make nan from inf - inf
    shifted = [v - m for v in row]
    lse = vsum([z.exp() if isinstance(z, Value) else Value(math.exp(z)) for z in shifted]).log()
    return shifted, lse


def _log_softmax_at(row: list, k: int) -> Value:
    """log_softmax(row)[k] = (row[k] - m) - log(sum(exp(row - m)))."""
    shifted, lse = _shifted_lse(row)
    return shifted[k] - lse


def _is_row(t) -> bool:
    """A target holding several numbers (a list, tuple or numpy row), not one class index."""
    if isinstance(t, (str, bytes, Value)):
        return False
    try:
        len(t)
    except TypeError:  # a number, or a 0-d numpy array
        return False
    return True


def _soft_target(t, k: int, i: int) -> list:
    """A target given as class probabilities (one-hot or soft): K numbers/Values, each in [0, 1]."""
    t = list(t)
    if len(t) != k:
        raise ValueError(f"cross_entropy: target[{i}] has {len(t)} class probabilities but the sample has {k} "
                         f"class scores; give one per class, or a class index (for one sample: the int, not a list)")
    for j, p in enumerate(t):
        if not (isinstance(p, Value) or is_number(p)):
            raise TypeError(f"cross_entropy: target[{i}][{j}] must be a probability (a number or Value), "
                            f"got {type(p).__name__} {short(p)}")
        x = p.data if isinstance(p, Value) else real(p, f"target[{i}][{j}]", "cross_entropy", finite=False)
        if not 0.0 <= x <= 1.0:
            raise ValueError(f"cross_entropy: target[{i}][{j}] = {x!r} is not a probability in [0, 1]")
    return t


def _check_logits(input, where: str) -> List[list]:
    """Logits as a list of rows (one per sample), accepting one sample's row too."""
    if isinstance(input, Value) or isinstance(input, (str, bytes)) or not hasattr(input, "__iter__"):
        raise TypeError(f"{where}: input must be a list of per-class scores (one sample) or a list of such "
                        f"lists (a batch), got {type(input).__name__}")
    rows = list(input)
    if not rows:
        raise ValueError(f"{where}: got an empty batch; pass at least one sample")
    batch = isinstance(rows[0], (list, tuple))
    checked = []
    for i, row in enumerate(rows if batch else [rows]):
        if batch and not isinstance(row, (list, tuple)):
            raise TypeError(f"{where}: sample {i} must be a list of class scores like sample 0, "
                            f"got {type(row).__name__}")
        if batch and len(row) != len(rows[0]):
            raise ValueError(f"{where}: sample {i} has {len(row)} class scores but sample 0 has {len(rows[0])}; "
                             f"every sample needs one score per class")
        for j, v in enumerate(row):
            if not (isinstance(v, Value) or is_number(v)):
                raise TypeError(f"{where}: score [{i}][{j}] must be a Value or a number, "
                                f"got {type(v).__name__} {short(v)}")
        if any(not isinstance(v, (Value, float)) for v in row):  # numpy scalars, ints -> float
            row = [v if isinstance(v, Value) else real(v, f"score [{i}][{j}]", where, finite=False)
                   for j, v in enumerate(row)]
        checked.append(row)
    return checked if batch else checked[0]


def cross_entropy(input, target, reduction: str = "mean"):
    """Softmax cross-entropy for K classes, stable (log-sum-exp with the max subtracted).

    ``input``: one sample's K logits with its target, or a batch (list of
    K-lists) with a list of targets.  A target is a class index (int in
    ``0..K-1``) or, as in PyTorch, K class probabilities (a one-hot or soft
    row of numbers or Values): the loss is then -sum(p_k * log_softmax_k).
    Probability rows are what a compiled step (``engine.compile_step``) can
    feed per call: a class index picks a logit, so it is fixed when recorded.
    (Like the other losses' Value targets, Value probabilities get gradients.)

    >>> round(cross_entropy([Value(1.0), Value(1.0)], 0).data, 6)   # log 2
    0.693147
    >>> round(cross_entropy([[Value(1.0), Value(3.0)]], [[0.0, 1.0]]).data, 6)   # = class index 1
    0.126928
    """
    _check_reduction(reduction, "cross_entropy")
    rows = _check_logits(input, "cross_entropy")
    single = not isinstance(rows[0], (list, tuple))
    if single:
        rows = [rows]
        targets = [target]
    else:
        targets = _as_batch(target, "cross_entropy", "target")
        if len(targets) != len(rows):
            raise ValueError(f"cross_entropy: got {len(rows)} samples but {len(targets)} targets")
    losses = []
    for i, (row, t) in enumerate(zip(rows, targets)):
        row = list(row)
        k = len(row)
        if k < 1:
            raise ValueError(f"cross_entropy: sample {i} has no class scores")
        if _is_row(t):
            probs = _soft_target(t, k, i)
            shifted, lse = _shifted_lse(row)
            losses.append(-dot(probs, [z - lse for z in shifted]))
            continue
        t0, t = t, class_index(t)
        if t is None:
            hint = ("; a Value cannot pick a class: give a one-hot row of K probabilities instead"
                    if isinstance(t0, Value) else "")
            raise TypeError(f"cross_entropy: target[{i}] must be a class index (int in 0..{k - 1}) or K class "
                            f"probabilities, got {type(t0).__name__} {short(t0)}{hint}")
        if not 0 <= t < k:
            raise ValueError(f"cross_entropy: target[{i}] = {t} is not a class index in 0..{k - 1}")
        losses.append(-_log_softmax_at(row, t))
    if single and reduction == "none":
        return losses
    return _reduce(losses, reduction)


def multi_margin_loss(input, target, margin: float = 1.0, reduction: str = "mean"):
    """Multi-class hinge loss (as ``torch.nn.functional.multi_margin_loss``, p=1):
    sum over j != y of relu(margin - x[y] + x[j]), divided by K.

    >>> multi_margin_loss([Value(2.0), Value(0.0), Value(1.5)], 0).data   # (0 + 0.5) / 3
    0.16666666666666666
    """
    _check_reduction(reduction, "multi_margin_loss")
    rows = _check_logits(input, "multi_margin_loss")
    single = not isinstance(rows[0], (list, tuple))
    rows, targets = ([rows], [target]) if single else (rows, _as_batch(target, "multi_margin_loss", "target"))
    if len(targets) != len(rows):
        raise ValueError(f"multi_margin_loss: got {len(rows)} samples but {len(targets)} targets")
    m = real(margin, "margin", "multi_margin_loss")
    losses = []
    for i, (row, t) in enumerate(zip(rows, targets)):
        row = list(row)
        k = len(row)
        t0, t = t, class_index(t)
        if t is None or not 0 <= t < k:
            raise ValueError(f"multi_margin_loss: target[{i}] must be a class index in 0..{k - 1}, got {t0!r}")
        terms = [(row[j] - row[t] + m).relu() for j in range(k) if j != t]
        losses.append(vsum(terms) * (1.0 / k))
    return losses if (single and reduction == "none") else _reduce(losses, reduction)


def _params(params, where: str) -> list:
    try:
        ps = list(params.parameters()) if hasattr(params, "parameters") else list(params)
    except TypeError:
        raise TypeError(f"{where}: expected a model or a list of Values, got {type(params).__name__}") from None
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            raise TypeError(f"{where}: parameter {i} must be a Value, got {type(p).__name__}")
    return ps


def l2_regularization(params, alpha: float = 1e-4) -> Value:
    """``alpha * sum(p ** 2)`` over a model's parameters (or a list of Values), as ONE dot node.

    >>> l2_regularization([Value(1.0), Value(2.0)], alpha=0.5).data
    2.5
    """
    alpha = real(alpha, "alpha", "l2_regularization", minimum=0.0)
    ps = _params(params, "l2_regularization")
    return dot(ps, ps) * alpha


def l1_regularization(params, alpha: float = 1e-4) -> Value:
    """``alpha * sum(|p|)`` over a model's parameters (or a list of Values).

    >>> l1_regularization([Value(1.0), Value(-2.0)], alpha=0.5).data
    1.5
    """
    alpha = real(alpha, "alpha", "l1_regularization", minimum=0.0)
    ps = _params(params, "l1_regularization")
    return vsum([abs(p) for p in ps]) * alpha


LOSSES = {
    "hinge": hinge_loss,
    "mse": mse_loss,
    "l1": l1_loss,
    "huber": huber_loss,
    "bce": binary_cross_entropy_with_logits,
    "cross_entropy": cross_entropy,
    "multi_margin": multi_margin_loss,
}
