"""PyTorch on whole tensors (float64): the speed of not being a scalar engine at all."""
from __future__ import annotations

import torch

from workloads import accuracy, lr_at

torch.set_num_threads(1)

NOTE = ""
_f64 = torch.float64


def w1_setup(X, Y, weights):
    params = []
    for W, b in weights:
        params += [torch.tensor(W, dtype=_f64, requires_grad=True), torch.tensor(b, dtype=_f64, requires_grad=True)]
    return {"params": params, "X": torch.tensor(X, dtype=_f64), "Y": torch.tensor(Y, dtype=_f64)}


def w1_forward(s):
    ps = s["params"]
    h = s["X"]
    for i in range(0, len(ps), 2):
        h = h @ ps[i].T + ps[i + 1]
        if i + 2 < len(ps):
            h = torch.relu(h)
    s["scores"] = score = h[:, 0]
    data_loss = torch.relu(1 - s["Y"] * score).mean()
    return data_loss + 1e-4 * sum((p * p).sum() for p in ps)


def w1_backward(s, loss):
    loss.backward()


def w1_zero_grad(s):
    for p in s["params"]:
        p.grad = None


def w1_result(s, loss):
    grads = []
    ps = s["params"]
    for i in range(0, len(ps), 2):  # back to micrograd's order: per neuron, w... then b
        for row, bj in zip(ps[i].grad.tolist(), ps[i + 1].grad.tolist()):
            grads += row + [bj]
    return loss.item(), grads


# no w2: a chain is inherently scalar, nothing to batch (see torch_scalar)


def w3_setup(a, b):
    return torch.tensor(a, dtype=_f64, requires_grad=True), torch.tensor(b, dtype=_f64, requires_grad=True)


def w3(s):
    a, b = s
    a.grad = b.grad = None
    out = (a * b).sum()
    out.backward()
    return out.item(), a.grad.tolist(), b.grad.tolist()


def w4(X, Y, weights, steps):
    s = w1_setup(X, Y, weights)
    for k in range(steps):
        loss = w1_forward(s)
        w1_zero_grad(s)
        loss.backward()
        lr = lr_at(k, steps)
        with torch.no_grad():
            for p in s["params"]:
                p -= lr * p.grad
    return loss.item(), accuracy(s["scores"].tolist(), Y)
