"""PyTorch with one 0-dim float64 tensor per scalar: what a scalar engine in C++ costs per op."""
from __future__ import annotations

import torch

torch.set_num_threads(1)  # scalars gain nothing from threads; fewer threads = less noise here

NOTE = "torch_*: torch.set_num_threads(1), float64"
_t = torch.tensor


def _params(weights):
    return [([_t(w, dtype=torch.float64, requires_grad=True) for w in row] + [_t(bj, dtype=torch.float64, requires_grad=True)])
            for W, b in weights for row, bj in zip(W, b)]


def w1_setup(X, Y, weights):
    neurons = _params(weights)
    sizes = [len(b) for _, b in weights]
    layers, i = [], 0
    for n in sizes:
        layers.append(neurons[i:i + n])
        i += n
    return {"layers": layers, "params": [p for wb in neurons for p in wb], "X": X, "Y": Y}


def _mlp(layers, x):
    last = len(layers) - 1
    for i, layer in enumerate(layers):
        out = [sum((w * xi for w, xi in zip(wb, x)), wb[-1]) for wb in layer]
        x = out if i == last else [torch.relu(o) for o in out]
    return x[0]


def w1_forward(s):
    layers = s["layers"]
    s["scores"] = scores = [_mlp(layers, x) for x in s["X"]]
    losses = [torch.relu(1 + -y * sc) for y, sc in zip(s["Y"], scores)]
    return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in s["params"])


def w1_backward(s, loss):
    loss.backward()


def w1_zero_grad(s):
    for p in s["params"]:
        p.grad = None


def w1_result(s, loss):
    return loss.item(), [p.grad.item() for p in s["params"]]


def w2(n):
    x = _t(0.5, dtype=torch.float64, requires_grad=True)
    y = x
    for _ in range(n):
        y = (y * 1.0001).tanh()
    y.backward()
    return y.item(), x.grad.item()


def w3_setup(a, b):
    return ([_t(v, dtype=torch.float64, requires_grad=True) for v in a],
            [_t(v, dtype=torch.float64, requires_grad=True) for v in b])


def w3(s):
    a, b = s
    for v in a + b:
        v.grad = None
    out = sum(x * y for x, y in zip(a, b))
    out.backward()
    return out.item(), [x.grad.item() for x in a], [y.grad.item() for y in b]
