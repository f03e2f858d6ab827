"""W5: a character-level GPT step, written the way micrograd/microgpt-style code is written.

One scalar op at a time: linear layers as ``sum(w * x for ...)``, softmax with
the builtin ``sum``, RMSNorm with ``**``, attention over a KV cache built one
position at a time, a ReLU MLP, cross-entropy as ``-log(p)``, and Adam by
hand.  Our own code, written for this benchmark (no third-party code).  The
model never names a Value class: it only uses the operators and methods every
scalar engine has (``+ - * / **``, ``exp``, ``log``, ``relu``), so each
engine runs exactly this code on its own Values (``benchmarks/w5.py``).

Size (the issue's): 1 layer, 16-wide embeddings, 4 heads, context 16,
vocabulary 27 (a-z and one boundary token).  One step on the name in
``NAME`` builds ~42,000 nodes in a one-node-per-op engine.
"""
from __future__ import annotations

import math
import random

VOCAB = 27          # 0 is the boundary token (start and end of a name); 1..26 are a..z
N_EMBD = 16
N_HEAD = 4
N_LAYER = 1
BLOCK = 16          # context length: positions 0..15
HEAD_DIM = N_EMBD // N_HEAD
SEED = 1337
NAME = "emma"       # the name one W5 step trains on (5 positions, ~42,000 nodes one op at a time)
LR, BETA1, BETA2, EPS = 0.01, 0.85, 0.99, 1e-8


def tokens(name: str) -> list:
    """``"ann"`` -> ``[0, 1, 14, 14, 0]``: the boundary token, the letters, the boundary token."""
    return [0] + [ord(c) - ord("a") + 1 for c in name] + [0]


def param_shapes() -> dict:
    """Parameter name -> (rows, cols), in a fixed order."""
    shapes = {"wte": (VOCAB, N_EMBD), "wpe": (BLOCK, N_EMBD)}
    for i in range(N_LAYER):
        for w in ("wq", "wk", "wv", "wo"):
            shapes[f"layer{i}.{w}"] = (N_EMBD, N_EMBD)
        shapes[f"layer{i}.fc1"] = (4 * N_EMBD, N_EMBD)
        shapes[f"layer{i}.fc2"] = (N_EMBD, 4 * N_EMBD)
    shapes["lm_head"] = (VOCAB, N_EMBD)
    return shapes


def init_params(seed: int = SEED) -> dict:
    """Plain floats, N(0, 0.08), seeded: every engine starts from these."""
    rng = random.Random(seed)
    return {name: [[rng.gauss(0.0, 0.08) for _ in range(c)] for _ in range(r)]
            for name, (r, c) in param_shapes().items()}


# --- the model, one scalar op at a time ------------------------------------------

def linear(x, w):
    return [sum(wi * xi for wi, xi in zip(row, x)) for row in w]


def softmax(logits):
    top = max(v.data for v in logits)
    exps = [(v - top).exp() for v in logits]
    total = sum(exps)
    return [e / total for e in exps]


def rmsnorm(x):
    ms = sum(xi * xi for xi in x) / len(x)
    scale = (ms + 1e-5) ** -0.5
    return [xi * scale for xi in x]


def gpt(token: int, pos: int, keys: list, values: list, p: dict) -> list:
    """Logits for the next token, given this token and the KV cache of the positions before."""
    x = [t + q for t, q in zip(p["wte"][token], p["wpe"][pos])]
    x = rmsnorm(x)
    for i in range(N_LAYER):
        residual = x
        x = rmsnorm(x)
        q = linear(x, p[f"layer{i}.wq"])
        k = linear(x, p[f"layer{i}.wk"])
        v = linear(x, p[f"layer{i}.wv"])
        keys[i].append(k)
        values[i].append(v)
        heads = []
        for h in range(N_HEAD):
            lo = h * HEAD_DIM
            qh = q[lo:lo + HEAD_DIM]
            att = [sum(qh[j] * kt[lo + j] for j in range(HEAD_DIM)) / HEAD_DIM ** 0.5 for kt in keys[i]]
            w = softmax(att)
            heads += [sum(w[t] * vt[lo + j] for t, vt in enumerate(values[i])) for j in range(HEAD_DIM)]
        x = linear(heads, p[f"layer{i}.wo"])
        x = [a + b for a, b in zip(x, residual)]
        residual = x
        x = rmsnorm(x)
        x = [h.relu() for h in linear(x, p[f"layer{i}.fc1"])]
        x = linear(x, p[f"layer{i}.fc2"])
        x = [a + b for a, b in zip(x, residual)]
    return linear(x, p["lm_head"])


def loss(seq: list, p: dict):
    """Mean cross-entropy of predicting each next token of ``seq``."""
    keys = [[] for _ in range(N_LAYER)]
    values = [[] for _ in range(N_LAYER)]
    losses = []
    for pos in range(min(len(seq) - 1, BLOCK)):
        probs = softmax(gpt(seq[pos], pos, keys, values, p))
        losses.append(-probs[seq[pos + 1]].log())
    return sum(losses) / len(losses)


def flat(p: dict) -> list:
    """Every parameter, in a fixed order."""
    return [v for name in param_shapes() for row in p[name] for v in row]


class Adam:
    """Adam by hand, as such code writes it: moments in plain lists, updates on .data."""

    def __init__(self, params: list) -> None:
        self.params = params
        self.m = [0.0] * len(params)
        self.v = [0.0] * len(params)
        self.t = 0

    def step(self) -> None:
        self.t += 1
        c1 = 1 - BETA1 ** self.t
        c2 = 1 - BETA2 ** self.t
        m, v = self.m, self.v
        for i, p in enumerate(self.params):
            g = p.grad
            m[i] = BETA1 * m[i] + (1 - BETA1) * g
            v[i] = BETA2 * v[i] + (1 - BETA2) * g * g
            p.data -= LR * (m[i] / c1) / (math.sqrt(v[i] / c2) + EPS)
            p.grad = 0.0


def count_nodes(root) -> int:
    """Nodes of a graph, leaves included, walking ``_prev`` (micrograd's name) or ``parents``."""
    seen = {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        for c in (v._prev if hasattr(v, "_prev") else v.parents):
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return len(seen)


class MinimalValue:
    """The reference style of 2026: ``__slots__`` and local gradients, one node per op (~30 lines)."""

    __slots__ = ("data", "grad", "_prev", "_local")

    def __init__(self, data, children=(), local=()):
        self.data = data
        self.grad = 0.0
        self._prev = children
        self._local = local

    def __add__(self, o):
        o = o if isinstance(o, MinimalValue) else MinimalValue(o)
        return MinimalValue(self.data + o.data, (self, o), (1.0, 1.0))

    def __mul__(self, o):
        o = o if isinstance(o, MinimalValue) else MinimalValue(o)
        return MinimalValue(self.data * o.data, (self, o), (o.data, self.data))

    def __pow__(self, k):
        return MinimalValue(self.data ** k, (self,), (k * self.data ** (k - 1),))

    def exp(self):
        e = math.exp(self.data)
        return MinimalValue(e, (self,), (e,))

    def log(self):
        return MinimalValue(math.log(self.data), (self,), (1.0 / self.data,))

    def relu(self):
        return MinimalValue(max(0.0, self.data), (self,), (float(self.data > 0),))

    def __neg__(self): return self * -1.0
    def __radd__(self, o): return self + o
    def __sub__(self, o): return self + (-o)
    def __rsub__(self, o): return (-self) + o
    def __rmul__(self, o): return self * o
    def __truediv__(self, o): return self * o ** -1
    def __rtruediv__(self, o): return o * self ** -1

    def backward(self):
        order, seen, stack = [], set(), [(self, False)]
        while stack:
            v, done = stack.pop()
            if done:
                order.append(v)
            elif v not in seen:
                seen.add(v)
                stack.append((v, True))
                stack.extend((c, False) for c in v._prev)
        self.grad = 1.0
        for v in reversed(order):
            for c, d in zip(v._prev, v._local):
                c.grad += d * v.grad
