"""The pure-Python ceiling: every workload hand-written on plain floats, backward by hand.

No graph, no objects per scalar: the forward keeps only what the backward
needs (activations), and the backward is the chain rule written out.  An
engine cannot beat this in pure Python; "x float_limit" says how close it
gets.  Written the way a careful person writes fast pure Python (zip/map,
local names), nothing exotic.
"""
from __future__ import annotations

import math
from operator import mul

from workloads import ALPHA, accuracy, lr_at

NOTE = ""
_tanh = math.tanh


# --- W1 -----------------------------------------------------------------------
def w1_setup(X, Y, weights):
    # rows of [w..., b] per neuron, per layer; gradients laid out the same way
    layers = [[row + [bj] for row, bj in zip(W, b)] for W, b in weights]
    return {"layers": layers, "X": X, "Y": Y, "grads": None}


def w1_forward(s):
    """Scores and activations for every point, then the loss (a float)."""
    layers = s["layers"]
    last = len(layers) - 1
    acts = []     # per point: the input to each layer (with the trailing 1.0 for the bias)
    scores = []
    for x in s["X"]:
        per = []
        h = x
        for i, layer in enumerate(layers):
            hb = h + [1.0]
            per.append(hb)
            z = [sum(map(mul, wb, hb)) for wb in layer]
            h = z if i == last else [v if v > 0.0 else 0.0 for v in z]
        acts.append(per)
        scores.append(h[0])
    s["acts"], s["scores"] = acts, scores
    n = len(scores)
    data_loss = 0.0
    for sc, y in zip(scores, s["Y"]):
        m = 1.0 - y * sc
        if m > 0.0:
            data_loss += m
    reg = sum(w * w for layer in layers for wb in layer for w in wb)
    return data_loss / n + ALPHA * reg


def w1_backward(s, loss):
    layers = s["layers"]
    Y = s["Y"]
    inv_n = 1.0 / len(Y)
    two_alpha = 2.0 * ALPHA
    # start from the L2 term's gradient, 2 * alpha * w
    grads = [[[two_alpha * w for w in wb] for wb in layer] for layer in layers]
    for per, sc, y in zip(s["acts"], s["scores"], Y):
        if 1.0 - y * sc <= 0.0:
            continue  # relu of the margin is flat: no gradient from this point
        dz = [-y * inv_n]  # d loss / d (pre-activation) of the current layer's neurons
        for i in range(len(layers) - 1, -1, -1):
            hb = per[i]
            layer, glayer = layers[i], grads[i]
            for dzj, gwb in zip(dz, glayer):
                if dzj:
                    for k, hk in enumerate(hb):
                        gwb[k] += dzj * hk
            if i:
                # back through the weights, then through the previous layer's relu
                # (its output hb[k] > 0 exactly where relu was active)
                dz = [sum(dzj * wb[k] for dzj, wb in zip(dz, layer)) if hb[k] > 0.0 else 0.0
                      for k in range(len(hb) - 1)]
    s["grads"] = grads


def w1_zero_grad(s):
    s["grads"] = None


def w1_result(s, loss):
    return loss, [g for layer in s["grads"] for gwb in layer for g in gwb]


# --- W2, W3 -------------------------------------------------------------------
def w2(n):
    # forward: keep each step's local derivative, as a tape would
    y = 0.5
    local = []
    push = local.append
    for _ in range(n):
        y = _tanh(y * 1.0001)
        push((1.0 - y * y) * 1.0001)
    # backward: multiply them up in reverse
    g = 1.0
    for d in reversed(local):
        g *= d
    return y, g


def w3_setup(a, b):
    return a, b


def w3(s):
    a, b = s
    out = sum(map(mul, a, b))
    g = 1.0  # d out / d out
    return out, [g * v for v in b], [g * v for v in a]


# --- W4 -----------------------------------------------------------------------
def w4(X, Y, weights, steps):
    s = w1_setup(X, Y, weights)
    layers = s["layers"]
    for k in range(steps):
        loss = w1_forward(s)
        w1_backward(s, loss)
        lr = lr_at(k, steps)
        for layer, glayer in zip(layers, s["grads"]):
            for wb, gwb in zip(layer, glayer):
                for j, g in enumerate(gwb):
                    wb[j] -= lr * g
    return loss, accuracy(s["scores"], Y)
