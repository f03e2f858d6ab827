"""The benchmark workloads: data, initial weights and sizes shared by every adapter.

Everything here is plain Python (no engine imports), seeded, and identical
for every engine, so all adapters compute the same numbers and the smoke
test (tests/test_benchmarks_smoke.py) can compare their losses/gradients.

W1  one training step of an MLP 2-16-16-1 on 100 two-moons points:
    max-margin loss mean(relu(1 - y*score)) + 1e-4 * sum(p*p), as in
    micrograd's demo.ipynb; forward and backward timed separately.
W2  chain y = (y*1.0001).tanh(), N steps, forward + backward.
W3  sum of N products a_i*b_i, forward + backward.
W4  micrograd's demo training loop: 100 steps, lr = 1.0 - 0.9*k/100.
MEM peak Python heap and bytes per graph node for W1 and W2 (tracemalloc).
"""
from __future__ import annotations

import math
import random

SEED = 1337
N_POINTS = 100
LAYERS = [2, 16, 16, 1]
ALPHA = 1e-4            # L2 coefficient of micrograd's demo
W2_START = 0.5          # x in y = x; y = (y*1.0001).tanh() ...
W2_FACTOR = 1.0001
W2_SIZES = (1_000, 100_000, 1_000_000)
W3_SIZE = 100_000
W4_STEPS = 100
MEM_W2_SIZE = 20_000    # chain length for the W2 memory measurement (bytes/node do not depend on it)
# Nodes micrograd 0.1.0 builds for one W1 step (counted by walking _prev,
# leaves included) when fed as in its demo (inputs wrapped in Values): 65,818.
# The 68,818 is the count when raw floats are fed to its MLP (each
# w*x then makes a Value leaf for x: +30 per point).  bytes / this = bytes per
# "micrograd-equivalent node", so fused engines are compared on the same
# arithmetic.  run.py uses micrograd's count measured in the same run if any.
MICROGRAD_W1_NODES = 65_818


def moons(n: int = N_POINTS, noise: float = 0.1, seed: int = SEED):
    """Two interleaving half circles (like sklearn's make_moons), labels -1/+1.

    Returns (X, Y): X a list of [x0, x1] float pairs, Y a list of -1.0/+1.0.
    """
    rng = random.Random(seed)
    n_out = n // 2
    n_in = n - n_out
    X, Y = [], []
    for i in range(n_out):  # upper moon, label -1
        t = math.pi * i / max(n_out - 1, 1)
        X.append([math.cos(t), math.sin(t)])
        Y.append(-1.0)
    for i in range(n_in):   # lower moon, label +1
        t = math.pi * i / max(n_in - 1, 1)
        X.append([1.0 - math.cos(t), 0.5 - math.sin(t)])
        Y.append(1.0)
    X = [[a + rng.gauss(0.0, noise), b + rng.gauss(0.0, noise)] for a, b in X]
    # shuffle points and labels together (deterministic)
    order = list(range(n))
    rng.shuffle(order)
    return [X[i] for i in order], [Y[i] for i in order]


def init_weights(layers=LAYERS, seed: int = SEED):
    """Initial weights, micrograd's scheme: w ~ U(-1, 1), b = 0.

    Returns a list with one (W, b) per layer: W is fan_out rows of fan_in
    floats (PyTorch's layout), b a list of fan_out floats.
    """
    rng = random.Random(seed + 1)
    out = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:]):
        W = [[rng.uniform(-1.0, 1.0) for _ in range(fan_in)] for _ in range(fan_out)]
        out.append((W, [0.0] * fan_out))
    return out


def flat_params(weights):
    """Weights in micrograd's parameter order: layer by layer, neuron by neuron, w... then b."""
    out = []
    for W, b in weights:
        for row, bj in zip(W, b):
            out.extend(row)
            out.append(bj)
    return out


def w3_vectors(n: int = W3_SIZE, seed: int = SEED):
    """The two float vectors of W3."""
    rng = random.Random(seed + 3)
    return [rng.uniform(-1.0, 1.0) for _ in range(n)], [rng.uniform(-1.0, 1.0) for _ in range(n)]


def lr_at(k: int, steps: int = W4_STEPS) -> float:
    """micrograd demo's learning-rate schedule."""
    return 1.0 - 0.9 * k / steps


def accuracy(scores, Y) -> float:
    """Fraction of points on the right side, as micrograd's demo reports it."""
    return sum((s > 0) == (y > 0) for s, y in zip(scores, Y)) / len(Y)
