"""Training steps compiled once per batch shape and replayed: ``fit(..., compile=True)``.

A batch is replayed in chunks of up to ``CHUNK`` samples (a model with a
module nn does not know to be per-sample is compiled for the whole batch).
Each chunk size records ``loss(model(chunk), targets) * scale`` once, with
the chunk's numbers, targets and ``scale`` (1 / batch size) as *inputs* of
the graph (leaf Values fed per call), compiles it with
``engine.compile_graph`` and replays it for every later chunk of that size,
adding into the parameters' ``.grad``; L2/L1 terms are one more small
program.  Compiling costs the chunk, not the batch.  The graph must not
depend on the data:

* targets enter as numbers, not as indices (a class label becomes a one-hot
  row); the losses are written without data-dependent branches (relu and
  abs instead of ``if``), and log-sum-exp subtracts a max built from relu
  nodes, not a Python ``max``;
* Dropout (new random masks every step) and BatchNorm in training mode
  (running statistics updated as a side effect) cannot be replayed: such
  models are refused with a clear error.

The losses are the same functions as eager ``fit``'s, written this way, so
losses and gradients agree with eager training to rounding (the chunks' sums
are added one after another instead of all in one).
"""
from __future__ import annotations

from typing import List, Optional

from engine import UnusedInputError, Value, compile_graph, dot, enable_grad, gc_paused
from engine import sum as vsum

from .layers import MLP, Activation, BatchNorm, Dropout, Layer, Neuron, Sequential
from .module import Module
from .losses import l1_regularization, l2_regularization


def check_compilable(model, where: str) -> None:
    """ValueError naming the module when ``model`` holds one whose step cannot be replayed."""
    for name, m in model.named_modules():
        if isinstance(m, Dropout) and m.p > 0.0:
            raise ValueError(f"{where}: compile=True cannot replay Dropout ({name or 'model'}, p={m.p}): it draws new "
                             f"random masks every step; train with compile=False, or without dropout")
        if isinstance(m, BatchNorm):
            raise ValueError(f"{where}: compile=True cannot replay BatchNorm ({name or 'model'}) in training mode: "
                             f"it updates its running statistics as a side effect; train with compile=False")


def _relu_max(values: list) -> Value:
    """max(values) as graph nodes: max(a, b) = b + relu(a - b), so a replay recomputes it."""
    m = values[0]
    for v in values[1:]:
        m = v + (m - v).relu()
    return m


# target encoding and loss, per loss name: (numbers per target, encode(label) -> numbers, loss(out, t) -> Value)
def _hinge(out, t):
    return (out * -t[0] + 1.0).relu()


def _mse(out, t):
    d = out - t[0]
    return d * d


def _l1(out, t):
    return (out - t[0]).abs()


def _huber(out, t):
    a = (out - t[0]).abs()
    m = a - (a - 1.0).relu()          # min(a, delta) with delta = 1: no branch on the data
    return m * m * 0.5 + (a - m)


def _bce(out, t):
    # softplus(z) - t*z with softplus(z) = relu(z) + log(1 + e^-|z|): stable, no branch on the sign of z
    return out.relu() + ((-out.abs()).exp() + 1.0).log() - out * t[0]


def _cross_entropy(out, t):
    # log(sum(exp(z - m))) - sum(t * (z - m)): the max subtracted before the log (precision, as eager)
    m = _relu_max(out)
    shifted = [z - m for z in out]
    return vsum([z.exp() for z in shifted]).log() - dot(list(t), shifted)


def _multi_margin(out, t):
    k = len(out)
    zy = dot(list(t), list(out))
    return vsum([(z - zy + 1.0).relu() * (1.0 - tj) for z, tj in zip(out, t)]) * (1.0 / k)


def losses_for(loss, nout: int, regression: bool) -> tuple:
    """(encode(label) -> list of numbers, loss(output, encoded Values) -> Value) for a built-in loss name."""
    if regression:
        fn = {"auto": _mse, "mse": _mse, "l1": _l1, "huber": _huber}[loss]
        return (lambda y: [float(y)]), fn
    if nout == 1:
        name = "hinge" if loss == "auto" else loss
        if name == "hinge":
            return (lambda y: [2.0 * y - 1.0]), _hinge
        if name == "mse":
            return (lambda y: [2.0 * y - 1.0]), _mse
        return (lambda y: [float(y)]), _bce
    name = "cross_entropy" if loss == "auto" else loss

    def one_hot(y: int) -> list:
        row = [0.0] * nout
        row[y] = 1.0
        return row
    return one_hot, (_cross_entropy if name == "cross_entropy" else _multi_margin)


# Modules whose output for a sample depends on that sample alone: a batch of them can be
# replayed in chunks.  Any other forward_batch (a custom one may use batch statistics) is
# compiled for the whole batch, so it trains exactly as eager.
_PER_SAMPLE = (MLP, Sequential, Layer, Neuron, Activation, Dropout)


def per_sample(model) -> bool:
    """True when every module of ``model`` computes each sample from that sample alone."""
    return all(type(m) in _PER_SAMPLE or type(m).forward_batch is Module.forward_batch
               for _, m in model.named_modules())


# Samples per compiled program.  Compiling grows with the chunk, a replay's fixed cost hardly:
# digits' full batch of 1,347 compiles in 0.1-0.4 s instead of 3.2-3.6 s at once, peaks at
# 147 MB instead of 505 MB, and replays as fast (0.28-0.29 s, min of 8 interleaved calls).
CHUNK = 64


class CompiledSteps:
    """``step(xb, yb) -> (loss, outputs)``: one compiled program per chunk size, replayed.

    Adds d loss/d param into every parameter's ``.grad`` (as ``loss.backward()``).
    """

    def __init__(self, model, loss, nout: int, regression: bool, l2: float, l1: float) -> None:
        self.model = model
        self.params = model.parameters()
        self.nout = nout
        self.encode, self.loss = losses_for(loss, nout, regression)
        self.l2, self.l1 = l2, l1
        self.compiled = {}  # chunk size -> Compiled
        self.chunk = CHUNK if per_sample(model) else None  # None: the whole batch is one chunk
        # the L2/L1 terms' own program (params only), replayed once per batch
        self.regularization = self._build_regularization() if l2 or l1 else None

    def _build(self, n: int, width: int):
        xs = [[Value(0.0) for _ in range(width)] for _ in range(n)]
        ts = [[Value(0.0) for _ in self.encode(0)] for _ in range(n)]
        scale = Value(1.0)  # 1 / the whole batch's size: a chunk is part of a mean
        with enable_grad(), gc_paused():
            outs = self.model.forward_batch(xs)
            flat_out = [o[0] if isinstance(o, list) and len(o) == 1 else o for o in outs]
            total = vsum([self.loss(o, t) for o, t in zip(flat_out, ts)]) * scale
        watch = [v for o in outs for v in (o if isinstance(o, list) else [o])]
        inputs = [v for row in xs for v in row] + [v for row in ts for v in row] + [scale]
        try:
            return compile_graph(total, self.params, inputs, watch=watch)
        except UnusedInputError as e:
            if e.index >= n * width:  # a target or the scale: the built-in losses read them all
                raise
            raise ValueError(f"fit(compile=True): the model's output does not depend on feature {e.index % width} "
                             f"(of sample {e.index // width}) through Value operations. If the model ignores that "
                             f"column on purpose, drop it from X; if it reads it as a number (.data, float()), a "
                             f"replay would keep the recorded value: train with compile=False") from None

    def _build_regularization(self):
        with enable_grad():
            terms = [l2_regularization(self.params, self.l2)] if self.l2 else []
            if self.l1:
                terms.append(l1_regularization(self.params, self.l1))
            return compile_graph(vsum(terms) if len(terms) > 1 else terms[0], self.params)

    def __call__(self, xb: List[list], yb: list) -> tuple:
        n = len(xb)
        size = self.chunk or n
        loss = 0.0
        outputs = []
        for start in range(0, n, size):
            xc, yc = xb[start:start + size], yb[start:start + size]
            m = len(xc)
            c = self.compiled.get(m)
            if c is None:
                c = self.compiled[m] = self._build(m, len(xc[0]))
            numbers = [float(v) for row in xc for v in row]
            for y in yc:
                numbers += self.encode(y)
            numbers.append(1.0 / n)
            loss += c.step(numbers)
            w = c.watched
            k = len(w) // m
            outputs += [w[i * k:(i + 1) * k] if k > 1 else w[i] for i in range(m)]
        if self.regularization is not None:
            loss += self.regularization.step()
        return loss, outputs
